"""Spotter's page, served by ``spotter app`` (``streamlit run realtime/app_server.py``: this page plus the page
channel's routes on the same port; binds to localhost unless configured otherwise).

Live coaching through the webcam (the page channel, ``realtime/peer.py`` + ``realtime/web/spotter_live``: the
browser sends its camera over WebRTC and draws the skeleton, count and cue from the server's per-frame results
over its own picture; no ICE servers by default so nothing leaves the machine), a session timeline of set
reports, a history of past sessions, and an upload page for recorded video. Replays go through the same channel
(the page plays the file and sends it like a camera). All analysis happens in ``realtime/`` and ``pipeline/``;
this file only lays out the page.
"""
from __future__ import annotations

import html
import json
import os
import time
from pathlib import Path

import streamlit as st

from pipeline.errors import SpotterError
from pipeline.movement import exercises as exercise_registry
from realtime.paths import check_id
from realtime.session import SessionConfig
from realtime.store import Store

EXERCISES = {"Automatic": None, **{e.label: e.name for e in exercise_registry.REGISTRY.values()}}
STATE_TEXT = {"waiting": "Waiting for the camera", "no_person": "No one in view", "setup": "Set up the camera",
              "ready": "Ready: start your set", "in_set": "In set", "resting": "Resting", "ended": "Stopped"}

# the focus layout (?focus=1): the sidebar starts collapsed, no title, the live view across the whole width; the
# component's own Focus button (full screen) hides everything else (docs/voice.md, "The page")
FOCUS = str(st.query_params.get("focus", "")).lower() in ("1", "true", "yes", "on")
st.set_page_config(page_title="Spotter", layout="wide", initial_sidebar_state="collapsed" if FOCUS else "auto")

from realtime.compat import fix_streamlit_media  # noqa: E402

fix_streamlit_media()  # st.video and range responses under Starlette 1.x (realtime/compat.py); idempotent

from realtime.webrtc import client_allowed  # noqa: E402

if not client_allowed(getattr(st.context, "ip_address", None)):
    st.error("Spotter serves this computer only. To use it from another device, start it with "
             "SPOTTER_ALLOW_REMOTE=1 and --server.address (see docs/live.md).")
    st.stop()


@st.cache_resource(show_spinner=False)
def _store(root: str | None):
    store = Store(root or None)
    # once per server start: sessions a crash or a restart left open (their process is gone) are recovered
    # (recording finalised, sets rebuilt from the landmark log and stored with their reports)
    try:
        from realtime.history import recover_open_sessions

        store.recovered = recover_open_sessions(store)
    except SpotterError as e:
        store.recovered = []
        st.warning(f"Interrupted sessions could not be recovered: {e}")
    from realtime.history import clean_uploads

    clean_uploads(store.root)  # upload copies a crash left behind (realtime/history.py UploadCopy)
    return store


def get_store() -> Store | None:
    try:
        return _store(os.environ.get("SPOTTER_DATA"))
    except SpotterError as e:
        st.error(f"Session storage unavailable: {e}")
        return None


def _text(s) -> str:
    """Model or file text shown as plain text (never interpreted as Markdown/HTML)."""
    return html.escape(str(s))


# ---------------------------------------------------------------------------------------------- sidebar
page = st.sidebar.radio("Page", ["Live", "History", "Upload"], key="page")
st.sidebar.subheader("Training context")
goal = st.sidebar.selectbox("Goal", ["general fitness", "strength", "hypertrophy", "endurance", "rehab (cleared)"])
experience = st.sidebar.selectbox("Experience", ["beginner", "intermediate", "advanced"])
equipment = st.sidebar.selectbox("Equipment", ["bodyweight", "dumbbells", "barbell", "kettlebell", "machine"])
ex_label = st.sidebar.selectbox("Exercise", list(EXERCISES), help="Automatic: Spotter recognises the exercise")
rest_s = st.sidebar.slider("Set ends after this much rest (s)", 3, 30, 8)
profile = {"goal": goal, "experience": experience, "equipment": [equipment]}
exercise = EXERCISES[ex_label]


def _focus_changed() -> None:
    if st.session_state.get("focus_layout"):
        st.query_params["focus"] = "1"
    elif "focus" in st.query_params:
        del st.query_params["focus"]


st.session_state["focus_layout"] = FOCUS  # the address says (the toggle's callback has already updated it)
st.sidebar.toggle("Focus layout", key="focus_layout", on_change=_focus_changed,
                  help="The live view across the whole page, no title, the sidebar folded away (the page's address "
                       "gets ?focus=1). Switch it before START: it reloads the live view. For the whole screen, "
                       "press Focus under the picture.")

# a phone's narrow column: a title that takes two lines, not four
st.markdown("<style>@media (max-width: 640px) { h1 { font-size: 1.9rem !important; } }</style>",
            unsafe_allow_html=True)
if not FOCUS:
    st.title("Spotter — local workout form coach")
    st.caption("Runs entirely on this computer. Not a medical device: it does not diagnose or prevent injuries.")


def _profile_for_report() -> dict | None:
    try:
        from pipeline.schema import Profile

        p = dict(profile, intended_exercise=exercise) if exercise else dict(profile)
        return Profile(**p).model_dump(exclude_none=True)
    except Exception:
        return None


def _plural(n: int, word: str) -> str:
    from pipeline.report.view import plural

    return plural(n, word)


_KIND_PREFIX = {"good": "✓ ", "fix": "→ ", "note": "Note: ", "next": "Next time: "}


@st.cache_data(show_spinner=False, max_entries=256)
def _video_size(path: str, mtime: float) -> tuple[int, int]:
    from pipeline.intake.video import VideoReader

    try:
        r = VideoReader(path)
        r.close()
        return r.info.width, r.info.height  # upright (rotation applied)
    except SpotterError:
        return 0, 0


def _video(path: str | Path, size: tuple[int, int] | None = None) -> None:
    """A video at a size that leaves the page readable: across the column up to 720 px when it is landscape,
    360 px wide when it is portrait (a phone video across a laptop's column was 1350 px tall)."""
    p = Path(path)
    if not size or not size[0] or not size[1]:
        try:
            size = _video_size(str(p), p.stat().st_mtime)
        except OSError:
            size = (0, 0)
    w, h = size
    st.video(str(p), width=360 if h > w else 720 if w else "stretch")


def show_report(rep: dict, key: str, folder: str | Path | None = None, video: str | None = None,
                set_id: str | None = None) -> None:
    """One set's report in the page, in plain words: the coach's text, the joint-angle chart, the per-rep table,
    each issue with its clip, the annotated video (rendered in the background when the set ends: ``video`` is
    "pending" until then), the knowledge card; the figures and the files behind *Details*
    (``pipeline/report/view.py`` builds the pieces)."""
    from pipeline.report import view

    folder = Path(folder) if folder else None
    st.markdown(f"**{_text(view.title(rep))}**")
    lines = view.summary_lines(rep)
    head = [t for k, t in lines if k == "headline"][:1]
    if head:
        st.markdown(_text(head[0]))
    issues = view.issue_items(rep, folder)
    # the fixes are said once, under "What to work on" with their clips, when there are issues to show them with
    rest = "\n".join(_KIND_PREFIX.get(k, "") + t for k, t in lines
                     if k != "headline" and not (k == "fix" and issues))
    if rest:
        st.text(rest)
    med = view.media(rep, folder)
    if med["chart"] is not None:
        st.image(str(med["chart"]), caption="Joint angles over the set: shaded bands are the reps, red marks the "
                                            "issues, orange the borderline findings.")
    rows = view.rep_rows(rep)
    if rows:
        st.table(rows, hide_index=True, border="horizontal")
    size = ((rep.get("video") or {}).get("width") or 0, (rep.get("video") or {}).get("height") or 0)
    if issues:
        st.markdown("**What to work on**")
    for it in issues:
        where = f" (rep {it['rep']})" if it["rep"] else ""
        st.markdown(f"<div data-testid='spotter-issue'><b>{_text(it['title'])}</b>{_text(where)}: "
                    f"{_text(it['what'])}</div>", unsafe_allow_html=True)
        if it["clip"] is not None:
            _video(it["clip"], size)
        elif video == "pending":
            st.caption("Its clip is being prepared…")
    border = view.borderline_items(rep)
    if border:  # past a threshold but inside the measurement noise: shown apart, never as a fault
        st.markdown("<div data-testid='spotter-borderline'><b>Close to the line, not counted as faults</b>: the "
                    "camera cannot tell for sure — " + _text(", ".join(border)) + "</div>", unsafe_allow_html=True)
    nj = view.not_judged(rep)
    if nj:
        st.caption("Not judged from this camera angle: " + _text(", ".join(dict.fromkeys(nj))) + ".")
    for w in view.quality_notes(rep):
        st.caption(_text(w))
    if med["video"] is not None:
        st.markdown("**The set on video, with the skeleton and the count**")
        _video(med["video"], size)
    elif video == "pending":
        st.caption("The annotated video of this set is being prepared…")
    elif set_id is not None and video != "failed" and st.button("Make the annotated video", key=f"render-{key}"):
        from realtime.history import render_set_video

        try:
            with st.spinner("Making the annotated video…"):
                render_set_video(get_store(), set_id)
            st.rerun()
        except SpotterError as e:
            st.error(str(e))
    cards = view.cards(rep)
    if cards:
        with st.expander(f"About the {view.exercise_label(rep)}: what good looks like"):
            for c in cards:
                st.markdown(f"**{_text(c['title'])}**")
                st.text(f"What good looks like: {c['good']}\nWhy it matters: {c['why']}\n"
                        + "\n".join(f"• {x}" for x in c["fixes"]) + f"\nCue: {c['cue']}"
                        + "".join(f"\nNot an issue: {x}" for x in c["not_an_issue"]))
    summ = rep.get("summary") if isinstance(rep.get("summary"), dict) else {}
    if summ.get("disclaimer"):
        st.caption(_text(summ["disclaimer"]))
    if st.toggle("Details", key=f"details-{key}", help="The figures behind the words, and the report's files"):
        st.text("\n".join(view.details(rep)) or "No figures.")
        mrows = view.metric_rows(rep)
        if mrows:
            st.dataframe(mrows, hide_index=True, width="stretch", key=f"metrics-{key}")
        c1, c2 = st.columns(2)
        c1.download_button("report.json", json.dumps(rep, indent=2), file_name="report.json",
                           mime="application/json", key=f"dl-{key}")
        html_file = folder / "report.html" if folder is not None else None
        if html_file is not None and html_file.is_file():
            c2.download_button("report.html", html_file.read_bytes(), file_name="report.html", mime="text/html",
                               key=f"html-{key}")


# ---------------------------------------------------------------------------------------------- live
_LIVE_COMPONENT = Path(__file__).resolve().parent / "realtime" / "web" / "spotter_live"


def page_channel(link, key: str, media: Path | None = None, push_panel: bool = False,
                 media_name: str | None = None) -> bool:
    """The live view: the page's own picture (camera, or ``media`` played by the page) with the overlay drawn
    from the server's per-frame results (``realtime/peer.py``; a file is decoded and analysed frame by frame by the
    server, in step with the page's playback: ``realtime/filereplay.py``). With ``push_panel``: True while the page
    receives results; it then asks for a rerun itself whenever the session panel's content changes (``main.js``,
    "the session panel"). Not for the replays: on the History page a rerun during a replay lists the replay's own
    new session above the player, which moves the player and restarts it."""
    import streamlit.components.v1 as components

    from realtime import peer
    from realtime.webrtc import rtc_configuration

    component = components.declare_component("spotter_live", path=str(_LIVE_COMPONENT))
    token = peer.register(link)
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}" if base else ""
    args = {"token": token, "offer_url": prefix + peer.OFFER_ROUTE, "mode": "camera", "media_url": None,
            "ice": rtc_configuration()["iceServers"], "push_panel": push_panel,
            "send_long_side": SessionConfig.pose_long_side}
    if media is not None:
        link.replay_file, link.replay_name = Path(media), media_name or Path(media).name
        args.update(mode="file", media_url=prefix + peer.allow_media(token, media))
    value = component(**args, key=key, default=None)
    return push_panel and isinstance(value, dict) and value.get("live") is True


def _link(key: str):
    from realtime.webrtc import LiveLink

    store = get_store()
    if key not in st.session_state:
        st.session_state[key] = LiveLink(store_factory=(lambda: store) if store is not None else None)
    return st.session_state[key]


def live_page() -> None:
    link = _link("live_link")
    link.configure(SessionConfig(exercise=exercise, rest_s=float(rest_s), profile=_profile_for_report(),
                                 source="webcam", llm=None if os.environ.get("SPOTTER_LLM_MODEL") else False))
    if FOCUS:  # the live view across the page, the timeline below it
        live_status(link, page_channel(link, "spotter-live", push_panel=True))
        return
    left, right = st.columns([3, 2])
    with left:
        pushed = page_channel(link, "spotter-live", push_panel=True)
    with right:
        live_status(link, pushed)


def realtime_replay(path: Path, key: str, source: str, title: str | None = None) -> None:
    """Replay a file with the live overlay and voice: the server decodes it and analyses every frame through a
    live session while the page plays it in step (``realtime/filereplay.py``): the count is Analyse's on any
    machine; a slow machine replays slower. ``title``: the name the user knows the file by (History lists it)."""
    link = _link(f"replay_link_{key}")
    link.configure(SessionConfig(exercise=exercise, rest_s=float(rest_s), profile=_profile_for_report(),
                                 source=source, llm=False, title=(title or path.name)[:120], record_video=False,
                                 idle_close_s=None))
    left, right = st.columns([3, 2])
    with left:
        page_channel(link, f"spotter-replay-{key}", media=path, media_name=title)
    with right:
        live_status(link)


def live_status(link, pushed: bool = False) -> None:
    """The session panel beside the live view: the state, the finished sets and their reports (the count, phase
    and cue are drawn by the page from every result). While the page receives results (``pushed``) it asks for
    a rerun itself when the panel's content changes; otherwise the panel refreshes itself every 2 s. A rerun on a
    timer during a set cost the page's main thread ~0.1 s each time, which the overlay waited for (docs/live.md)."""
    st.fragment(run_every=None if pushed else 2.0)(_live_panel)(link, pushed)


def _live_panel(link, pushed: bool) -> None:
    s = link.current()
    if s is None:
        st.subheader("Session timeline")
        st.caption("Each finished set's report appears here, with its chart, its reps and a video of it.")
        return
    stt = s.status()
    done = sum(e.reps for e in stt.sets)
    state = STATE_TEXT.get(stt.state, stt.state)
    mode = "pushed" if pushed else "polled"
    if pushed:  # redrawn when the finished sets or their reports change: nothing here that changes during a set
        done_line = (f"{_plural(len(stt.sets), 'set')} done ({_plural(done, 'rep')})" if stt.sets
                     else "no set finished yet")
        st.markdown(f"<div data-testid='spotter-state' data-mode='{mode}'>Live · {done_line}</div>",
                    unsafe_allow_html=True)
        st.caption("The set, the count and the cues are on the picture.")
    else:
        from pipeline.report.view import pretty

        if stt.rest_left_s is not None:
            state += f" — the set ends in {stt.rest_left_s:.0f} s"
        ex = pretty(stt.exercise) if stt.exercise != "unknown" else "exercise not recognised yet"
        sets_line = f"{_plural(len(stt.sets), 'set')} done ({_plural(done, 'rep')})" if stt.sets else "no set done yet"
        now = f"{_text(ex.capitalize())}: {_plural(int(stt.count), 'rep')} in this set · " if stt.state != "ended" else ""
        st.markdown(f"<div data-testid='spotter-state' data-mode='{mode}'><b>{_text(state)}</b></div>"
                    f"<div data-testid='spotter-reps' data-reps='{int(stt.count)}' "
                    f"data-total='{int(stt.count + done)}'>{now}{_text(sets_line)}</div>",
                    unsafe_allow_html=True)
        if stt.cue:
            st.warning(stt.cue)
        if stt.state in ("setup", "no_person", "ready") and not stt.sets:
            for h in stt.hints[:3]:
                st.info(h)
    if stt.error:
        st.warning("Part of the analysis failed; the session goes on and is recorded.")
    if link.store_error:
        st.error(f"This session is not being recorded: {link.store_error}")
    st.subheader("Session timeline")
    if not stt.sets:
        st.caption("Each finished set's report appears here.")
    for k, e in enumerate(reversed(stt.sets)):
        with st.expander(f"Set {e.index}: {e.exercise.replace('_', ' ')} — {_plural(e.reps, 'rep')}",
                         expanded=k == 0):
            if e.report is None and e.report_in_store and e.set_id and s.store is not None:
                try:  # older sets' reports are not kept in memory during a long session
                    rep = s.store.report(e.set_id)
                except SpotterError as err:
                    rep = None
                    st.error(str(err))
                if rep:
                    show_report(rep, f"live-{s.session_id}-{e.index}-stored", folder=e.report_dir, video=e.video)
            elif e.report is None:
                st.caption("Report on its way…" if not e.error else "The report of this set could not be made.")
            else:
                show_report(e.report, f"live-{s.session_id}-{e.index}", folder=e.report_dir, video=e.video)
                if e.summary_status == "pending":
                    st.caption("Coach summary being written…")


# ---------------------------------------------------------------------------------------------- history
SOURCE_TEXT = {"webcam": "Live", "upload": "Upload", "replay": "Replay"}
STATUS_TEXT = {"live": "in progress", "interrupted": "interrupted", "ended": ""}


def _session_label(s: dict) -> str:
    """One History row: when, what (an upload's file name), how much, which exercises."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s["created_at"]))
    what = SOURCE_TEXT.get(s["source"], s["source"])
    if s.get("title") and s["source"] in ("upload", "replay"):
        what += f" “{s['title']}”"
    exercises = ", ".join(x.replace("_", " ") for x in (s["exercises"] or "").split(",") if x) or "no set"
    status = STATUS_TEXT.get(s["status"], s["status"])
    return (f"{when} · {what} · {_plural(s['n_sets'], 'set')}, {_plural(s['n_reps'], 'rep')} · {exercises}"
            + (f" · {status}" if status else ""))


def history_page() -> None:
    store = get_store()
    if store is None:
        return
    try:
        sessions = store.list_sessions()
    except SpotterError as e:
        st.error(str(e))
        return
    deleted = st.session_state.pop("deleted_session", None)
    if deleted:
        st.success(f"Deleted: {deleted}")
    if not sessions:
        st.info("No sessions yet: train on the Live page or upload a video.")
        return
    labels = {s["id"]: _session_label(s) for s in sessions}
    recovered = getattr(store, "recovered", None)
    if recovered:
        n = len(recovered)
        st.info(f"{_plural(n, 'session')} interrupted by a crash or a restart {'was' if n == 1 else 'were'} "
                "recovered at start-up.")
    # keyed: the choice stays when the list changes under it (a replay adds its own session at the top)
    if st.session_state.get("history_session") not in labels:
        st.session_state.pop("history_session", None)
    sid = st.selectbox("Session", list(labels), format_func=lambda k: labels[k], key="history_session")
    from realtime.history import export_paths, session_files

    try:
        sid = check_id(sid)
        sess = store.get_session(sid)
        sets = store.sets(sid)
        files = session_files(store, sid)
    except SpotterError as e:
        st.error(str(e))
        return
    if sess["status"] == "live" and st.button("Recover this interrupted session"):
        from realtime.history import recover_session

        n = recover_session(store, sid)
        st.success(f"Recovered {_plural(n, 'set')}.")
        st.rerun()
    video = files["video"]
    if video is not None and video.suffix in (".mp4", ".webm", ".mov", ".m4v"):
        _video(video)
        if st.toggle("Replay this recording in real time with the live overlay", key=f"rt-{sid}"):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(sess["created_at"]))
            realtime_replay(video, f"h{sid}", "replay", title=sess.get("title") or f"recording of {when}")
    if not sets:
        st.caption("No set was stored in this session.")
    for row in sets:
        end = max(0.0, row["end_s"])
        with st.expander(f"Set {row['idx']}: {row['exercise'].replace('_', ' ')} — {_plural(row['reps'], 'rep')} "
                         f"({max(0.0, row['start_s']):.1f}–{end:.1f} s)"):
            rep = json.loads(row["report_json"]) if row["report_json"] else None
            try:  # ids checked, paths resolved inside the data folder (no traversal, no symlinks out)
                exports = export_paths(store, row["id"])
                folder = store.path_of(row["report_dir"]) if row["report_dir"] else None
            except SpotterError as e:
                st.error(f"This set's files cannot be shown: {e}")
                continue
            if rep:
                show_report(rep, f"h-{row['id']}", folder=folder, set_id=row["id"] if video is not None else None,
                            video=None if video is not None else "failed")
            elif not exports:
                st.caption("The report of this set could not be made.")
    _delete_session(store, sid, labels[sid])


def _delete_session(store, sid: str, label: str) -> None:
    """Delete asks first: the recording and reports go for good."""
    want = st.session_state.get("confirm_delete")
    if want != sid:
        if st.button("Delete this session…", type="secondary"):
            st.session_state["confirm_delete"] = sid
            st.rerun()
        return
    st.warning(f"Delete {label}? Its recording, sets and reports are removed from this computer; this cannot be "
               "undone.")
    c1, c2 = st.columns(2)
    if c1.button("Yes, delete it", type="primary"):
        store.delete_session(sid)
        st.session_state.pop("confirm_delete", None)
        st.session_state["deleted_session"] = label
        st.rerun()
    if c2.button("Cancel"):
        st.session_state.pop("confirm_delete", None)
        st.rerun()


# ---------------------------------------------------------------------------------------------- upload
def _upload_copy(up, store):
    """The upload on disk, private, once per uploaded file (realtime/history.py UploadCopy); the previous one is
    removed when another file comes or the upload is cleared."""
    from realtime.history import UploadCopy

    cur = st.session_state.get("upload_copy")
    if up is None:
        if cur is not None:
            cur.remove()
            st.session_state.pop("upload_copy", None)
        return None
    if cur is not None and cur.key == up.file_id and cur.path.exists():
        return cur
    if cur is not None:
        cur.remove()
    cur = UploadCopy(store.root if store is not None else None, up.name, bytes(up.getbuffer()), key=up.file_id)
    from pipeline.intake.video import VideoReader

    try:  # a video at all? (opens it and decodes its first frame): one sentence now, not a failure later
        VideoReader(cur.path, name=cur.name).close()
    except SpotterError as e:
        cur.problem = str(e)
    else:
        cur.problem = None
    st.session_state["upload_copy"] = cur
    return cur


def upload_page() -> None:
    from pipeline.intake.config import IntakeLimits

    store = get_store()
    limits = IntakeLimits()
    up = st.file_uploader("Analyse a recorded set", type=["mp4", "mov", "m4v", "webm", "avi", "mkv"])
    if up is None:
        _upload_copy(None, store)
        st.session_state.pop("upload_result", None)
        return
    from realtime.history import check_upload

    try:  # type (extension + first bytes) and size, before anything is written or decoded
        check_upload(up.name, up.size, bytes(up.getbuffer()[:16]), limits.max_bytes)
        copy = _upload_copy(up, store)
    except SpotterError as e:
        st.error(str(e))
        return
    if copy.problem:
        st.error(copy.problem)
        return
    if st.toggle("Replay in real time with the live overlay (press START)", key="rt-upload"):
        realtime_replay(copy.path, "upload", "upload", title=copy.name)
        return
    done = st.session_state.get("upload_result")
    if done is not None and done[0] != up.file_id:
        done = None
    if st.button("Analyse (as fast as possible)"):
        from realtime.history import analyse_upload

        bar = st.progress(0.0, "Analysing…")
        try:
            res = analyse_upload(store, up.name, bytes(up.getbuffer()), exercise=exercise, rest_s=float(rest_s),
                                 profile=_profile_for_report(), progress=lambda f: bar.progress(min(1.0, f)))
        except SpotterError as e:
            bar.empty()
            st.error(str(e))
            return
        bar.empty()
        done = (up.file_id, res)
        st.session_state["upload_result"] = done
    if done is not None:
        st.fragment(run_every=2.0 if any(e.video == "pending" for e in done[1]["entries"]) else None)(
            _upload_result)(done[1])


def _upload_result(res: dict) -> None:
    entries = res["entries"]
    if not entries:
        st.warning("No completed reps of a supported exercise (" + ", ".join(k.lower() for k in list(EXERCISES)[1:])
                   + ") were found.")
    store = get_store()
    for e in entries:
        rep = e.report
        if rep is None and e.set_id and store is not None:
            rep = store.report(e.set_id)
        with st.expander(f"Set {e.index}: {e.exercise.replace('_', ' ')} — {_plural(e.reps, 'rep')}", expanded=True):
            if rep:
                show_report(rep, f"up-{res['session_id']}-{e.index}", folder=e.report_dir, video=e.video)
            else:
                st.caption("The report of this set could not be made.")


{"Live": live_page, "History": history_page, "Upload": upload_page}[page]()

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
    from realtime.taught import load_taught

    load_taught(store.root)  # a recovered session of a taught exercise is rebuilt with it
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


def _md(s) -> str:
    """User text (a taught exercise's name, a file name) inside Markdown: its Markdown characters escaped."""
    import re

    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", str(s))


def _taught_choices() -> dict[str, str]:
    """The taught exercises for the chooser ("<label> (taught)" -> name), loaded into the pipeline on every run (a few
    small files in the data folder's exercises/; realtime/taught.py)."""
    try:
        from pipeline.movement.taught import model_of
        from realtime.taught import TaughtLibrary

        store = get_store()
        names = TaughtLibrary(store.root if store is not None else None).load()
        return {f"{model_of(n).label} (taught)": n for n in names if model_of(n) is not None}
    except (SpotterError, OSError) as e:
        st.warning(f"Taught exercises could not be loaded: {e}")
        return {}


EXERCISES.update(_taught_choices())

# ---------------------------------------------------------------------------------------------- sidebar
@st.cache_resource
def _coach_models() -> dict:
    from pipeline.coach.llm import model_choices

    return dict(model_choices())  # label -> False (built-in writer) or the GGUF path


PAGES = ["Live", "History", "Upload", "Progress", "New exercise"]
_asked = str(st.query_params.get("page", "Live"))  # a link can open a page (the Progress page's links to a set)
page = st.sidebar.radio("Page", PAGES, key="page", index=PAGES.index(_asked) if _asked in PAGES else 0)
st.sidebar.subheader("Training context")
goal = st.sidebar.selectbox("Goal", ["general fitness", "strength", "hypertrophy", "endurance", "rehab (cleared)"])
experience = st.sidebar.selectbox("Experience", ["beginner", "intermediate", "advanced"])
equipment = st.sidebar.selectbox("Equipment", ["bodyweight", "dumbbells", "barbell", "kettlebell", "machine"])
ex_label = st.sidebar.selectbox("Exercise", list(EXERCISES), help="Automatic: Spotter recognises the exercise")
rest_s = st.sidebar.slider("Set ends after this much rest (s)", 3, 30, 8)
_writers = _coach_models()
writer = st.sidebar.selectbox("Coach summary written by", list(_writers), index=min(1, len(_writers) - 1)
                              if os.environ.get("SPOTTER_LLM_MODEL") else 0,
                              help="The built-in writer's summary shows at once; a local model's replaces it when it "
                                   "is ready and passes Spotter's checks. Every number and label comes from Spotter's "
                                   "measurements either way.")
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

        builtin = exercise in exercise_registry.REGISTRY  # the profile names built-in exercises only
        p = dict(profile, intended_exercise=exercise) if builtin else dict(profile)
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
    corr = rep.get("correction")  # the user's count (realtime/progress.py with_correction)
    if isinstance(corr, dict):
        st.caption(f"Count corrected by you (Spotter counted {int(corr.get('reps_counted', 0))}); the summary below "
                   "was written for Spotter's count.")
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
    summ0 = rep.get("summary") if isinstance(rep.get("summary"), dict) else {}
    if summ0.get("written_by") or summ0.get("source"):  # who wrote the summary, in plain words
        from pipeline.coach.prose import who_wrote

        st.caption(_text(who_wrote(summ0)))
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
                                 source="webcam", llm=_writers[writer]))
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
        st.info("Press START and allow the camera. Stand so your whole body is in view.")
        if exercise:
            last_session_note(last_session_for(exercise))
        st.subheader("Session timeline")
        st.caption("Each finished set's report appears here, with its chart, its reps and a video of it.")
        return
    stt = s.status()
    rows = stored_sets(s.store, stt.sets)  # the stored rows: counts as corrected, deleted sets left out
    entries = [e for e in stt.sets if rows.get(e.set_id, True) is not None]
    done = sum(rows[e.set_id]["reps"] if rows.get(e.set_id) else e.reps for e in entries)
    state = STATE_TEXT.get(stt.state, stt.state)
    mode = "pushed" if pushed else "polled"
    if pushed:  # redrawn when the finished sets or their reports change: nothing here that changes during a set
        done_line = (f"{_plural(len(entries), 'set')} done ({_plural(done, 'rep')})" if entries
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
    if stt.last_session:
        last_session_note(stt.last_session)
    st.subheader("Session timeline")
    if not entries:
        st.caption("Each finished set's report appears here.")
    for k, e in enumerate(reversed(entries)):
        row = rows.get(e.set_id)
        n_reps = row["reps"] if row else e.reps
        with st.expander(f"Set {e.index}: {e.exercise.replace('_', ' ')} — {_plural(n_reps, 'rep')}"
                         + (" (corrected)" if row and row["corrected"] else ""), expanded=k == 0):
            for news in e.news:
                st.success(news)
            if e.report is None and e.report_in_store and e.set_id and s.store is not None:
                try:  # older sets' reports are not kept in memory during a long session
                    rep = s.store.report(e.set_id)
                except SpotterError as err:
                    rep = None
                    st.error(str(err))
                if rep:
                    show_report(with_correction(rep, row), f"live-{s.session_id}-{e.index}-stored",
                                folder=e.report_dir, video=e.video)
            elif e.report is None:
                st.caption("Report on its way…" if not e.error else "The report of this set could not be made.")
            else:
                show_report(with_correction(e.report, row), f"live-{s.session_id}-{e.index}-{e.summary_status}",
                            folder=e.report_dir, video=e.video)
                if e.summary_status == "pending":
                    st.caption("Coach summary being written…")
            if row:
                set_controls(s.store, row, f"live-{e.set_id}", on_change=s.refresh_progress)


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
                         f"{'(corrected) ' if row['corrected'] else ''}({max(0.0, row['start_s']):.1f}–{end:.1f} s)"):
            rep = json.loads(row["report_json"]) if row["report_json"] else None
            try:  # ids checked, paths resolved inside the data folder (no traversal, no symlinks out)
                exports = export_paths(store, row["id"])
                folder = store.path_of(row["report_dir"]) if row["report_dir"] else None
            except SpotterError as e:
                st.error(f"This set's files cannot be shown: {e}")
                continue
            if rep:
                show_report(with_correction(rep, row), f"h-{row['id']}", folder=folder,
                            set_id=row["id"] if video is not None else None,
                            video=None if video is not None else "failed")
            elif not exports:
                st.caption("The report of this set could not be made.")
            set_controls(store, row, f"h-{row['id']}")
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


# ---------------------------------------------------------------------------------------------- progress
def with_correction(rep, row):
    from realtime.progress import with_correction as wc

    return wc(rep, row) if row else rep


def stored_sets(store, entries) -> dict:
    """A live session's finished sets as stored: {set_id: row, or None once the user deleted it}."""
    out: dict = {}
    if store is None:
        return out
    for e in entries:
        if e.set_id:
            try:
                out[e.set_id] = store.get_set(e.set_id)
            except SpotterError:
                pass
    return out


def last_session_for(ex: str | None) -> str | None:
    store = get_store()
    if store is None or not ex:
        return None
    from realtime import progress as prog

    try:
        return prog.last_session_line(prog.load_sets(store, ex), ex)
    except SpotterError:
        return None


def last_session_note(line: str | None) -> None:
    """The last session of the exercise in one line (before the first rep)."""
    if line:
        st.markdown(f"<div data-testid='spotter-last-session'>{_text(line)}</div>", unsafe_allow_html=True)


def set_controls(store, row: dict, key: str, on_change=None) -> None:
    """After a set: the load (kg or lb; 0 = bodyweight), the count corrected (Spotter's count is kept), delete.
    Everything is stored at once; the bests a change makes are said in words."""
    from realtime import progress as prog

    if store is None or not row:
        return
    unit0 = row.get("load_unit") or st.session_state.get("load_unit", "kg")
    with st.form(key=f"setform-{key}", border=False):
        c1, c2, c3 = st.columns([2, 1, 2])
        load = c1.number_input("Load (0 = bodyweight)", min_value=0.0, max_value=2000.0, step=2.5,
                               value=float(row.get("load_value") or 0.0), key=f"load-{key}")
        unit = c2.radio("Unit", ["kg", "lb"], index=1 if unit0 == "lb" else 0, horizontal=True, key=f"unit-{key}")
        reps = c3.number_input(f"Reps (Spotter counted {int(row['reps_counted'])})", min_value=0, max_value=1000,
                               step=1, value=int(row["reps"]), key=f"reps-{key}")
        saved = st.form_submit_button("Save load and count")
    if saved:
        try:
            before = prog.bests(prog.load_sets(store, row["exercise"]))
            store.set_load(row["id"], load if load > 0 else None, unit)
            new = store.correct_reps(row["id"], int(reps)) if int(reps) != int(row["reps"]) else store.get_set(
                row["id"])
            st.session_state["load_unit"] = unit
            after = prog.bests(prog.load_sets(store, row["exercise"]))
        except SpotterError as e:
            st.error(str(e))
            return
        st.caption(f"Saved: {prog.fmt_load(new['load_kg'], unit)}, {new['reps']} reps"
                   + (f" (Spotter counted {new['reps_counted']}; kept as a correction)" if new["corrected"] else ""))
        for news in prog.edit_news(before, after, row["id"], unit):
            st.success(news)
        if on_change is not None:
            on_change()
    if row["corrected"]:
        st.caption(f"Count corrected by you: {row['reps']} (Spotter counted {row['reps_counted']}).")
    ask = f"del-ask-{key}"
    if not st.session_state.get(ask):
        if st.button("Delete this set", key=f"del-{key}"):
            st.session_state[ask] = True
            st.rerun()
    else:
        st.warning("Delete this set, its report and its count? The session's recording stays.")
        c1, c2 = st.columns(2)
        if c1.button("Yes, delete the set", key=f"del-yes-{key}", type="primary"):
            try:
                store.delete_set(row["id"])
            except SpotterError as e:
                st.error(str(e))
            st.session_state[ask] = False
            if on_change is not None:
                on_change()
            st.rerun()
        if c2.button("Keep it", key=f"del-no-{key}"):
            st.session_state[ask] = False
            st.rerun()


SINCE = {"All time": None, "Last 4 weeks": 28, "Last 3 months": 91, "Last 12 months": 365}


def progress_page() -> None:
    """Per exercise over days, weeks or months: sessions, sets, reps, best set, volume, estimated 1RM, and what the
    camera measured (range, tempo, clean reps, each issue), the personal bests and the trends
    (realtime/progress.py, realtime/progress_charts.py)."""
    from realtime import progress as prog
    from realtime.progress_charts import charts, close

    store = get_store()
    if store is None:
        return
    try:
        all_sets = prog.load_sets(store)
    except SpotterError as e:
        st.error(str(e))
        return
    asked = st.query_params.get("set")
    if asked:
        _progress_set(store, str(asked))
    if not all_sets:
        st.info("No sets stored yet. Train on the Live page, analyse an upload, or import a video from the command "
                "line: spotter replay VIDEO --save --date YYYY-MM-DD.")
        return
    latest: dict = {}
    for x in all_sets:
        latest[x["exercise"]] = max(latest.get(x["exercise"], ""), x["time"])
    exs = sorted(latest, key=lambda k: latest[k], reverse=True)
    c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
    q_ex = str(st.query_params.get("exercise", ""))
    ex = c1.selectbox("Exercise", exs, format_func=lambda k: prog.exercise_info(k)["label"], key="prog-ex",
                      index=exs.index(q_ex) if q_ex in exs else 0)
    by = {"Days": "day", "Weeks": "week", "Months": "month"}[
        c2.radio("Group by", ["Days", "Weeks", "Months"], horizontal=True, key="prog-by")]
    since = SINCE[c3.selectbox("Since", list(SINCE), key="prog-since")]
    unit = c4.radio("Unit", ["kg", "lb"], horizontal=True, key="prog-unit")
    sets = [x for x in all_sets if x["exercise"] == ex]
    if since is not None:
        import datetime as _dt

        cut = (_dt.date.today() - _dt.timedelta(days=since)).isoformat()
        sets = [x for x in sets if x["date"] >= cut]
    if not sets:
        st.info("No sets of this exercise in that period.")
        return
    d = prog.summarise(sets)[ex]
    last_session_note(prog.last_session_line(sets, ex, unit))
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Sessions", len(d["sessions"]))
    m2.metric("Sets", len(d["sets"]))
    m3.metric("Reps", sum(x["reps"] for x in d["sets"]))
    vol = sum(x["volume_kg"] or 0.0 for x in d["sets"])
    m4.metric("Volume", prog.fmt_load(vol, unit) if vol else "–", help="reps × load, over the sets with a load entered")

    left, right = st.columns(2)
    left.subheader("Personal bests")
    for key, b in d["bests"].items():
        if b is None:
            continue
        val = prog.fmt_load(b["value"], unit) if b["unit"] == "kg" else (
            f"{b['value']:.0f}°" if b["unit"] == "°" else str(int(b["value"])))
        extra = f" ({b['reps']} × {prog.fmt_load(b['load_kg'], unit)})" if key == "best_e1rm" else ""
        left.markdown(f"<div data-testid='spotter-best' data-key='{key}'><b>{_text(b['label'])}</b>: {_text(val)}"
                    f"{_text(extra)} — {_text(b['date'])}, set {int(b['set'])} · "
                    f"<a href='?page=Progress&set={check_id(b['set_id'])}' target='_self'>the set's report</a></div>",
                    unsafe_allow_html=True)
    if d["bests"]["best_e1rm"] is None:
        left.caption("Enter the load after a set (History, or the Live timeline) for volume and an estimated 1RM.")

    right.subheader("Trends")
    shown = [tr for key, tr in d["trends"].items() if tr["status"] != "too_few" or key in ("reps_per_set", "rom_deg")]
    right.markdown("<div data-testid='spotter-trends'>" + "<br>".join(
        f"{'▲' if tr['status'] == 'up' else '▼' if tr['status'] == 'down' else '·'} {_text(tr['short'])}"
        for tr in shown) + "</div>", unsafe_allow_html=True)
    with st.expander("Details: the figures, and how a change is decided"):
        st.caption(f"A change is called only when it is beyond the session-to-session noise: the last third of the "
                   f"sessions (at least 2) against the ones before (at least 2); the noise is the typical difference "
                   f"between one session and the next; the difference of the two means must be at least "
                   f"{prog.Z_CHANGE:.0f} standard errors. Fewer than {prog.MIN_SESSIONS} sessions: too few to tell. "
                   "Borderline reps (past a line by less than the measurement can tell) and reps the camera's view "
                   "could not judge are counted apart, never as faults.")
        st.text("\n".join(tr["text"] for tr in d["trends"].values()))

    figs = charts(d, ex, by=by, unit=unit)
    try:
        for key, title, fig in figs:
            st.pyplot(fig, clear_figure=False)
    finally:
        close(figs)

    st.subheader("Sessions" if by == "day" else {"week": "Weeks", "month": "Months"}[by])
    if by == "day":
        st.dataframe([{"date": x["date"], "sets": x["sets"], "reps": x["reps"],
                       "reps per set": ", ".join(str(r) for r in x["reps_per_set"]),
                       "best set": (f"{x['best_set']['reps']} × {prog.fmt_load(x['best_set']['load_kg'], unit)}"
                                    if x["best_set"]["load_kg"] else f"{x['best_set']['reps']} reps"),
                       "volume": prog.fmt_load(x["volume_kg"], unit) if x["volume_kg"] else "",
                       "est. 1RM": prog.fmt_load(x["e1rm_kg"], unit) if x["e1rm_kg"] else "",
                       "range °": x["rom_deg"], "rep s": x["duration_s"], "lowering s": x["lowering_s"],
                       "clean": None if x["clean_share"] is None else f"{100 * x['clean_share']:.0f}%",
                       "borderline reps": x["borderline_reps"], "not judged reps": x["not_judged_reps"]}
                      for x in reversed(d["sessions"])], hide_index=True)
    else:
        st.dataframe([{by: p["period"], "sessions": p["sessions"], "sets": p["sets"], "reps": p["reps"],
                       "best set (reps)": p["best_set_reps"],
                       "volume": prog.fmt_load(p["volume_kg"], unit) if p["volume_kg"] else "",
                       "est. 1RM": prog.fmt_load(p["e1rm_kg"], unit) if p["e1rm_kg"] else "",
                       "range °": p["rom_deg"],
                       "clean": None if p["clean_share"] is None else f"{100 * p['clean_share']:.0f}%"}
                      for p in reversed(prog.periods(d["sessions"], by))], hide_index=True)
    issues: dict = {}
    for x in d["sessions"]:
        for code, v in x["issues"].items():
            t = issues.setdefault(code, {"issue": v["label"], "raised": 0, "borderline (not a fault)": 0,
                                         "not judged": 0, "judged reps": 0})
            t["raised"] += v["raised"]
            t["borderline (not a fault)"] += v["borderline"]
            t["not judged"] += v["not_judged"]
            t["judged reps"] += v["judged"]
    if issues:
        st.caption("Each issue over these sessions: reps it was raised on, borderline on, and reps the view could "
                   "not judge it on.")
        st.dataframe(list(issues.values()), hide_index=True)
    st.download_button("All sets (CSV)", prog.sets_csv(all_sets), file_name="spotter-sets.csv", mime="text/csv",
                       key="prog-csv")


def _progress_set(store, set_id: str) -> None:
    """One set's report, opened from a personal best's link (``?page=Progress&set=ID``)."""
    try:
        row = store.get_set(check_id(set_id))
        rep = store.report(set_id) if row else None
    except SpotterError as e:
        st.error(str(e))
        return
    if row is None:
        st.warning("That set is no longer stored.")
        return
    sess = store.get_session(row["session_id"]) or {}
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(sess.get("created_at") or 0))
    with st.container(border=True):
        st.markdown(f"<div data-testid='spotter-set-report'><b>Set {int(row['idx'])} of the session of "
                    f"{_text(when)}</b> ({_text(sess.get('title') or sess.get('source') or '')})</div>",
                    unsafe_allow_html=True)
        if rep:
            show_report(with_correction(rep, row), f"prog-{row['id']}")
        set_controls(store, row, f"prog-{row['id']}")
        if st.button("Close", key="prog-close"):
            del st.query_params["set"]
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


# ---------------------------------------------------------------------------------------------- new exercise
def teach_page() -> None:
    """New exercise: Spotter learns a movement from a demonstration (pipeline/movement/taught.py), shows what it learnt
    (a chart and the reps it found), and the user names and saves it; below, the taught exercises (delete, export,
    import: realtime/taught.py)."""
    from realtime.taught import TaughtLibrary

    store = get_store()
    lib = TaughtLibrary(store.root if store is not None else None)
    st.subheader("New exercise")
    st.caption("Show Spotter a movement it does not know and it learns to count it: two or three slow, full "
               "repetitions, each from your start posture out and back. It then counts your sets of it and compares "
               "each rep's range and time with your demonstration; it has no form rules for a movement it was shown.")
    saved = st.session_state.pop("teach_saved", None)
    if saved:
        st.success(f"Saved “{_md(saved)}”. Choose it in the sidebar's Exercise list, then count a set on the Live "
                   "page.")
    how = st.radio("Demonstration", ["Record with the camera", "Upload a clip"], horizontal=True, key="teach_how")
    if how == "Record with the camera":
        _teach_record(store)
    else:
        _teach_upload()
    _teach_result(lib, store)
    st.divider()
    _taught_list(lib)


def _teach_record(store) -> None:
    if store is None:
        st.error("Recording a demonstration needs the data folder (see the error above); upload a clip instead.")
        return
    st.markdown("1. Press **START** and step back until your whole body is in view.  \n"
                "2. Stand in your start posture, then do **two or three slow, full repetitions**.  \n"
                "3. Press **STOP**: Spotter learns the movement and shows you what it learnt.")
    link = _link("teach_link")
    link.configure(SessionConfig(exercise=None, rest_s=60.0, source="teach", title="demonstration", llm=False,
                                 record_video=False))
    left, right = st.columns([3, 2])
    with left:
        page_channel(link, "spotter-teach")
    with right:
        st.fragment(run_every=2.0)(_teach_watch)(link)


def _teach_watch(link) -> None:
    """Beside the camera: recording, then (once the recording is stored) learning from it."""
    s = link.current()
    if s is None:
        st.info("Press START when you are ready.")
        return
    if not s.finished.is_set():
        st.markdown("<div data-testid='spotter-teach-state'>Recording: press STOP after your repetitions.</div>",
                    unsafe_allow_html=True)
        return
    if st.session_state.get("teach_from") != s.session_id:
        from realtime.taught import learn_session

        st.session_state["teach_from"] = s.session_id
        try:
            with st.spinner("Learning the movement…"):
                st.session_state["teach_model"] = learn_session(get_store(), s.session_id)
            st.session_state["teach_error"] = None
        except SpotterError as e:
            st.session_state["teach_model"], st.session_state["teach_error"] = None, str(e)
        if st.session_state.get("teach_session") not in (None, s.session_id):
            _drop_teach_recording(get_store())  # the previous demonstration, not saved: replaced by this one
        st.session_state["teach_session"] = s.session_id
        st.rerun()
    st.caption("Recorded. Press START to record it again.")


def _teach_upload() -> None:
    from pipeline.intake.config import IntakeLimits
    from realtime.history import check_upload
    from realtime.taught import learn_upload

    up = st.file_uploader("A clip of your demonstration", type=["mp4", "mov", "m4v", "webm", "avi", "mkv"],
                          key="teach_upload")
    if up is None:
        return
    try:
        ext = check_upload(up.name, up.size, bytes(up.getbuffer()[:16]), IntakeLimits().max_bytes)
    except SpotterError as e:
        st.error(str(e))
        return
    c1, c2 = st.columns(2)
    t_from = c1.number_input("The demonstration starts at (s)", min_value=0.0, value=0.0, step=0.5)
    t_to = c2.number_input("… and ends at (s; 0: the end of the clip)", min_value=0.0, value=0.0, step=0.5)
    if not st.button("Learn from this clip"):
        return
    bar = st.progress(0.0, "Finding your pose in the clip…")
    try:
        model = learn_upload(up.name, up.getbuffer(), ext, t_from or None, t_to or None,
                             progress=lambda done, total: bar.progress(min(1.0, done / max(total, 1))))
        st.session_state["teach_model"], st.session_state["teach_error"] = model, None
    except SpotterError as e:
        st.session_state["teach_model"], st.session_state["teach_error"] = None, str(e)
    finally:
        bar.empty()
    st.session_state["teach_session"] = None


def _teach_result(lib, store) -> None:
    """What Spotter learnt: the chart, the reps it found, the joints and their range; the name; Save."""
    from pipeline.movement.taught import slug
    from pipeline.report.taught_chart import describe, taught_chart_png
    from realtime.taught import named

    if st.session_state.get("teach_error"):
        st.markdown("<div data-testid='spotter-teach-refused'></div>", unsafe_allow_html=True)
        st.error(st.session_state["teach_error"])
    m = st.session_state.get("teach_model")
    if m is None:
        return
    st.markdown("#### What Spotter learnt")
    st.image(taught_chart_png(m), width="stretch")
    st.markdown(f"<div data-testid='spotter-teach-learnt' data-reps='{len(m.demo_reps)}'>"
                f"{len(m.demo_reps)} repetitions found in your demonstration.</div>", unsafe_allow_html=True)
    st.text("\n".join(describe(m)[1:]))
    with st.expander("Details"):
        st.dataframe([{"rep": i, "start (s)": r.start_s, "far point (s)": r.far_s, "end (s)": r.end_s,
                       "range (% of the mean)": r.range_pct} for i, r in enumerate(m.demo_reps, 1)],
                     hide_index=True)
    label = st.text_input("Name of the exercise", key="teach_name", placeholder="e.g. Bicep curl", max_chars=60)
    replace = False
    if label and slug(label) and lib.exists(slug(label)):
        replace = st.checkbox(f"Replace the exercise “{_md(label)}” you already have", key="teach_replace")
    c1, c2 = st.columns(2)
    if c1.button("Save exercise", type="primary", disabled=not label.strip()):
        try:
            lib.save(named(m, label), replace=replace)
        except SpotterError as e:
            st.error(str(e))
            return
        _drop_teach_recording(store)
        st.session_state["teach_saved"] = label.strip()
        st.session_state["teach_model"] = None
        st.rerun()
    if c2.button("Discard"):
        _drop_teach_recording(store)
        st.session_state["teach_model"] = st.session_state["teach_error"] = None
        st.rerun()


def _drop_teach_recording(store) -> None:
    """The demonstration's recording is not a training session: once its exercise is saved or discarded it goes."""
    sid = st.session_state.pop("teach_session", None)
    if sid and store is not None:
        try:
            store.delete_session(check_id(sid))
        except SpotterError:
            pass


def _taught_list(lib) -> None:
    st.markdown("#### Your exercises")
    try:
        models = lib.list()
    except OSError as e:
        st.error(f"The taught exercises cannot be read: {e}")
        return
    for f, why in lib.errors:
        st.warning(f"{f} was skipped: {why}")
    if not models:
        st.caption("None yet. A coach can send you an exercise file to import below.")
    from pipeline.report.taught_chart import describe

    for m in models:
        with st.expander(f"{_md(m.label)} — taught from {_md(m.source or 'a demonstration')}, {m.created_at[:10]}"):
            st.text("\n".join(describe(m)[1:]))
            c1, c2 = st.columns(2)
            try:
                fname, data = lib.export([m.name])
                c1.download_button("Export", data, file_name=fname, mime="application/json", key=f"exp-{m.name}")
            except SpotterError as e:
                c1.error(str(e))
            if c2.button("Delete", key=f"del-{m.name}"):
                try:
                    lib.delete(m.name)
                except SpotterError as e:
                    st.error(str(e))
                st.rerun()
    if len(models) > 1:
        fname, data = lib.export(None)
        st.download_button("Export all as one file", data, file_name=fname, mime="application/json", key="exp-all")
    imp = st.file_uploader("Import an exercise file", type=["json"], key="teach_import")
    if imp is not None:
        replace = st.checkbox("Replace exercises of the same name", key="teach_import_replace")
        if st.button("Import"):
            try:
                got = lib.import_bytes(imp.getvalue(), replace=replace)
                st.success("Imported: " + ", ".join(_md(m.label) for m in got))
            except SpotterError as e:
                st.error(str(e))


{"Live": live_page, "History": history_page, "Upload": upload_page, "Progress": progress_page,
 "New exercise": teach_page}[page]()

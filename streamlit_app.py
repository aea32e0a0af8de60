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


def _finding(b: dict) -> str:
    """One borderline finding in words: label, rep, the measured value against the line and the noise margin."""
    text = f"{b.get('label', b.get('code', ''))} (rep {b.get('rep')})"
    unit = str(b.get("unit") or "")
    try:
        text += f": {float(b['value']):.1f}{unit} against {float(b['threshold']):.1f}{unit}"
        if b.get("uncertainty") is not None:
            text += f", noise ±{float(b['uncertainty']):.1f}{unit}"
    except (KeyError, TypeError, ValueError):
        pass
    return text


def show_report(rep: dict, key: str) -> None:
    reps = rep.get("reps") or {}
    ex = (rep.get("exercise") or {}).get("label", "?")
    st.markdown(f"**{_text(ex).replace('_', ' ')}** — {int(reps.get('count', 0))} reps")
    summ = rep.get("summary") or {}
    if isinstance(summ, dict):  # the coach summary (model or deterministic): always plain text, never HTML
        lines = [summ.get("text"), summ.get("headline"), summ.get("what_you_did")]
        lines += [f"+ {x}" for x in summ.get("looked_good") or [] if isinstance(x, str)]
        lines += [f"Fix: {f.get('text')}" for f in summ.get("fix_first") or [] if isinstance(f, dict)]
        lines += [f"Note: {v.get('text')}" for v in summ.get("variation_notes") or [] if isinstance(v, dict)]
        lines += [f"Next: {x}" for x in summ.get("next_session") or [] if isinstance(x, str)]
        text = "\n".join(str(x) for x in lines if x)
        if text:
            st.text(text)
        if summ.get("disclaimer"):
            st.caption(_text(summ["disclaimer"]))
    issues = [i for i in rep.get("issues") or [] if isinstance(i, dict) and i.get("status", "raised") != "borderline"]
    borderline = [i for i in rep.get("borderline") or [] if isinstance(i, dict)]
    borderline += [i for i in rep.get("issues") or [] if isinstance(i, dict) and i.get("status") == "borderline"]
    for iss in issues:
        st.text(f"• {iss.get('label', iss.get('code', ''))} (rep {iss.get('rep')})")
    if borderline:  # past a threshold but inside the measurement noise: shown apart, never as a fault
        st.markdown("<div data-testid='spotter-borderline'><b>Borderline — within measurement noise</b> "
                    "(not faults: the value is past the line by less than the measurement can tell)</div>",
                    unsafe_allow_html=True)
        st.text("\n".join(f"◦ {_finding(b)}" for b in borderline))
    for w in (rep.get("qc") or {}).get("warnings") or []:
        st.caption(_text(w.get("message", "")))
    st.download_button("report.json", json.dumps(rep, indent=2), file_name="report.json", mime="application/json",
                       key=f"dl-{key}")


# ---------------------------------------------------------------------------------------------- live
_LIVE_COMPONENT = Path(__file__).resolve().parent / "realtime" / "web" / "spotter_live"


def page_channel(link, key: str, media: Path | None = None, push_panel: bool = False) -> bool:
    """The live view: the page's own picture (camera, or ``media`` played by the page) with the overlay drawn
    from the server's per-frame results (``realtime/peer.py``). With ``push_panel``: True while the page receives
    results; it then asks for a rerun itself whenever the session panel's content changes (``main.js``, "the
    session panel"). Not for the replays: on the History page a rerun during a replay lists the replay's own new
    session above the player, which moves the player and restarts it."""
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


def realtime_replay(path: Path, key: str, source: str) -> None:
    """Replay a file in real time through the same loop as the webcam: the page plays the file and sends what
    it shows over the page channel into a live session; the overlay is drawn from the server's results."""
    link = _link(f"replay_link_{key}")
    link.configure(SessionConfig(exercise=exercise, rest_s=float(rest_s), profile=_profile_for_report(),
                                 source=source, llm=False, title=path.name))
    left, right = st.columns([3, 2])
    with left:
        page_channel(link, f"spotter-replay-{key}", media=path)
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
        return
    stt = s.status()
    done = sum(e.reps for e in stt.sets)
    state = STATE_TEXT.get(stt.state, stt.state)
    mode = "pushed" if pushed else "polled"
    if pushed:  # redrawn when the finished sets or their reports change: nothing here that changes during a set
        c1, c2 = st.columns(2)
        c1.metric("Sets done", len(stt.sets))
        c2.metric("Reps in finished sets", done)
        st.markdown(f"<div data-testid='spotter-state' data-mode='{mode}'>Live</div>", unsafe_allow_html=True)
        st.caption("The set state, the count, the phase and the cues are on the picture.")
    else:
        c1, c2, c3 = st.columns(3)
        c1.metric("Exercise", stt.exercise.replace("_", " "))
        c2.metric("Reps", stt.count)
        c3.metric("Set", stt.set_index)
        if stt.rest_left_s is not None:
            state += f" — set ends in {stt.rest_left_s:.0f} s"
        st.markdown(f"<div data-testid='spotter-state' data-mode='{mode}'>State: {_text(state)} · phase "
                    f"{_text(stt.phase)}</div><div data-testid='spotter-reps' data-reps='{int(stt.count)}' "
                    f"data-total='{int(stt.count + done)}'>Rep count: {int(stt.count)}</div>",
                    unsafe_allow_html=True)
        if stt.cue:
            st.warning(stt.cue)
        if stt.state in ("setup", "no_person", "ready") and not stt.sets:
            for h in stt.hints[:3]:
                st.info(h)
    if stt.error:
        st.error(f"Analysis error (the stream goes on): {stt.error}")
    if link.store_error:
        st.error(f"This session is not being recorded: {link.store_error}")
    st.subheader("Session timeline")
    if not stt.sets:
        st.caption("Each finished set's report appears here.")
    for e in reversed(stt.sets):
        with st.expander(f"Set {e.index}: {e.exercise.replace('_', ' ')} — {e.reps} reps", expanded=True):
            if e.report is None and e.report_in_store and e.set_id and s.store is not None:
                try:  # older sets' reports are not kept in memory during a long session
                    rep = s.store.report(e.set_id)
                except SpotterError as err:
                    rep = None
                    st.error(str(err))
                if rep:
                    show_report(rep, f"live-{s.session_id}-{e.index}-stored")
            elif e.report is None:
                st.caption("Report on its way…" if not e.error else f"Report failed: {e.error}")
            else:
                show_report(e.report, f"live-{s.session_id}-{e.index}-{e.summary_status}")
                if e.summary_status == "pending":
                    st.caption("Coach summary being written…")


# ---------------------------------------------------------------------------------------------- history
def history_page() -> None:
    store = get_store()
    if store is None:
        return
    try:
        sessions = store.list_sessions()
    except SpotterError as e:
        st.error(str(e))
        return
    if not sessions:
        st.info("No sessions yet.")
        return
    labels = {s["id"]: f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(s['created_at']))} · {s['source']} · "
                       f"{s['n_sets']} sets, {s['n_reps']} reps · {s['exercises'] or '-'} · {s['status']}"
              for s in sessions}
    recovered = getattr(store, "recovered", None)
    if recovered:
        st.info(f"{len(recovered)} session(s) interrupted by a crash or a restart were recovered at start-up.")
    sid = st.selectbox("Session", list(labels), format_func=lambda k: labels[k])
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
        st.success(f"Recovered {n} set(s).")
        st.rerun()
    video = files["video"]
    if video is not None and video.suffix == ".mp4":
        st.video(str(video))
        if st.toggle("Replay this recording in real time with the live overlay", key=f"rt-{sid}"):
            realtime_replay(video, f"h{sid}", "replay")
    for row in sets:
        with st.expander(f"Set {row['idx']}: {row['exercise'].replace('_', ' ')} — {row['reps']} reps "
                         f"({row['start_s']:.1f}–{row['end_s']:.1f} s)"):
            rep = json.loads(row["report_json"]) if row["report_json"] else None
            if rep:
                show_report(rep, f"h-{row['id']}")
            try:  # ids checked, paths resolved inside the data folder (no traversal, no symlinks out)
                exports = export_paths(store, row["id"])
            except SpotterError as e:
                st.error(f"This set's files cannot be exported: {e}")
                continue
            if "report.html" in exports:
                st.download_button("report.html", exports["report.html"].read_bytes(), file_name="report.html",
                                   mime="text/html", key=f"html-{row['id']}")
            if "annotated.mp4" in exports:
                st.download_button("annotated.mp4", exports["annotated.mp4"].read_bytes(),
                                   file_name=f"set{row['idx']}.mp4", mime="video/mp4", key=f"ann-{row['id']}")
            elif st.button("Render annotated video", key=f"render-{row['id']}"):
                from realtime.history import render_set_video

                try:
                    with st.spinner("Rendering…"):
                        render_set_video(store, row["id"])
                    st.rerun()
                except SpotterError as e:
                    st.error(str(e))
    if st.button("Delete this session", type="secondary"):
        store.delete_session(sid)
        st.rerun()


# ---------------------------------------------------------------------------------------------- upload
def upload_page() -> None:
    from pipeline.intake.config import IntakeLimits

    store = get_store()
    limits = IntakeLimits()
    up = st.file_uploader("Analyse a recorded set", type=["mp4", "mov", "m4v", "webm", "avi", "mkv"])
    if up is None:
        return
    from realtime.history import check_upload

    try:  # type (extension + first bytes) and size, before anything is written or decoded
        check_upload(up.name, up.size, bytes(up.getbuffer()[:16]), limits.max_bytes)
    except SpotterError as e:
        st.error(str(e))
        return
    if st.toggle("Replay in real time with the live overlay (press START)", key="rt-upload"):
        import hashlib
        import tempfile

        from realtime.history import check_upload as _check

        data = bytes(up.getbuffer())
        ext = _check(up.name, len(data), data[:16])
        tmp = Path(tempfile.gettempdir()) / f"spotter-upload-{hashlib.sha1(data).hexdigest()[:16]}{ext}"
        if not tmp.exists():
            tmp.write_bytes(data)
        realtime_replay(tmp, "upload", "upload")
        return
    if not st.button("Analyse (as fast as possible)"):
        return
    from realtime.history import analyse_upload

    bar = st.progress(0.0, "Analysing…")
    try:
        res = analyse_upload(store, up.name, bytes(up.getbuffer()), exercise=exercise, rest_s=float(rest_s),
                             profile=_profile_for_report(), progress=lambda f: bar.progress(min(1.0, f)))
    except SpotterError as e:
        st.error(str(e))
        return
    bar.empty()
    if not res["sets"]:
        st.warning("No completed reps of a supported exercise (" + ", ".join(k.lower() for k in list(EXERCISES)[1:])
                   + ") were found.")
    for k, (s, rep) in enumerate(zip(res["sets"], res["reports"]), 1):
        with st.expander(f"Set {k}: {s['exercise'].replace('_', ' ')} — {s['reps']} reps", expanded=True):
            if rep:
                show_report(rep, f"up-{res['session_id']}-{k}")


{"Live": live_page, "History": history_page, "Upload": upload_page}[page]()

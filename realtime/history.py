"""Past sessions: rebuild sets from the recorded landmarks and events (no pose pass), render a set's annotated
video from the recording, recover sessions a crash left open, upload analysis."""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np

from pipeline.errors import InputError
from pipeline.live import LivePipeline, SetResult
from pipeline.pose import PoseFrame
from pipeline.qc import FrameStats

from .recorder import finalize_recording, read_jsonl
from .store import Store

log = logging.getLogger(__name__)


def _pose(d: dict) -> tuple[PoseFrame, FrameStats]:
    t = float(d["t"])
    w, h = int(d.get("w") or 0), int(d.get("h") or 0)
    if d.get("p") and d.get("img") is not None:
        pf = PoseFrame(t=t, image=np.asarray(d["img"], np.float32), world=np.asarray(d["wld"], np.float32),
                       visibility=np.asarray(d["vis"], np.float32), present=True, width=w, height=h)
    else:
        pf = PoseFrame.empty(t, w, h)
    st = [math.nan if v is None else float(v) for v in (d.get("st") or [None] * 3)]
    return pf, FrameStats(t, *st)


def rebuild_sets(store: Store, session_id: str) -> list[SetResult]:
    """Feed the logged landmarks through a fresh LivePipeline, re-applying the user's commands (exercise choice,
    End set) at the times they happened: the same sets as live, from what was captured."""
    sess = store.get_session(session_id)
    if sess is None:
        raise InputError("no such session")
    lm = store.path_of(sess["landmarks"])
    ev = store.path_of(sess["events"])
    if lm is None or not lm.exists():
        raise InputError("this session has no landmark log")
    events = list(read_jsonl(ev)) if ev is not None and ev.exists() else []
    start = next((e for e in events if e.get("type") == "start"), {})
    cmds = [e for e in events if e.get("type") in ("override", "end_set")]
    lp = LivePipeline(exercise=start.get("exercise"), rest_s=float(start.get("rest_s") or 8.0),
                      router=None if start.get("exercise") else "auto")
    k = 0
    for d in read_jsonl(lm):
        pf, st = _pose(d)
        while k < len(cmds) and cmds[k]["t"] < pf.t:
            c = cmds[k]
            if c["type"] == "override":
                lp.override(c.get("label"))
            else:
                lp.end_set("user")
            k += 1
        lp.process_pose(pf, st)
    for c in cmds[k:]:
        if c["type"] == "end_set":
            lp.end_set("user")
    lp.finish("stream_ended")
    return list(lp.sets)


def recover_session(store: Store, session_id: str, reason: str = "interrupted") -> int:
    """A session left 'live' by a crash or a server restart: finish its recording and store the sets the logs
    contain that were not stored yet. Returns the number of sets added."""
    from pipeline.setreport import build_set_report, write_set_report

    sess = store.get_session(session_id)
    if sess is None:
        raise InputError("no such session")
    video = store.path_of(sess["video"])
    if video is not None and video.name.endswith(".part.mp4") and video.exists():
        try:
            final = finalize_recording(video, video.with_name(video.name.replace(".part.mp4", ".mp4")))
            store.set_files(session_id, video=final)
        except Exception as e:
            log.warning("recording %s kept as it is: %s", video, e)
    have = {s["idx"] for s in store.sets(session_id)}
    added = 0
    try:
        sets = rebuild_sets(store, session_id)
    except InputError:
        sets = []
    profile = json.loads(sess["profile_json"]) if sess.get("profile_json") else None
    for res in sets:
        if res.index in have:
            continue
        out = store.session_dir(session_id) / "sets" / f"set{res.index:03d}"
        report, run = build_set_report(res, source_name=f"live set {res.index}", profile=profile)
        write_set_report(report, run, res, out, llm=False)
        store.add_set(session_id, index=res.index, exercise=res.exercise, reps=res.reps, start_s=res.t_start,
                      end_s=res.t_end, reason=reason, report_json=report.model_dump_json(), report_dir=out)
        added += 1
    store.end_session(session_id, "interrupted", note=reason)
    return added


def render_set_video(store: Store, set_id: str) -> Path:
    """The annotated video of one stored set (from the session recording and its landmarks)."""
    from pipeline.setreport import build_set_report, write_set_report

    row = store.get_set(set_id)
    if row is None:
        raise InputError("no such set")
    sess = store.get_session(row["session_id"])
    video = store.path_of(sess["video"]) if sess else None
    if video is None or not video.exists():
        raise InputError("this session has no recording")
    res = next((r for r in rebuild_sets(store, row["session_id"]) if r.index == row["idx"]), None)
    if res is None:
        raise InputError("the set could not be rebuilt from the landmark log")
    out = store.path_of(row["report_dir"]) or (store.session_dir(row["session_id"]) / "sets" / f"set{row['idx']:03d}")
    report, run = build_set_report(res, source_name=f"live set {res.index}")
    write_set_report(report, run, res, out, video_src=str(video), llm=False)
    p = out / report.artifacts.get("annotated_video", "annotated.mp4")
    if not p.exists():
        raise InputError("the annotated video could not be rendered")
    return p


UPLOAD_TYPES = {".mp4", ".mov", ".m4v", ".webm", ".avi", ".mkv"}


def analyse_upload(store: Store | None, name: str, data: bytes, *, exercise: str | None = None, rest_s: float = 8.0,
                   profile: dict | None = None, progress=lambda f: None) -> dict:
    """An uploaded recording through the same LiveSession as the webcam (as fast as possible, every frame)."""
    import tempfile

    from pipeline.config import IntakeLimits
    from pipeline.video import VideoReader

    from .session import LiveSession, SessionConfig

    limits = IntakeLimits()
    ext = Path(name).suffix.lower()
    if ext not in UPLOAD_TYPES:
        raise InputError(f"unsupported file type {ext or '(none)'}: use {', '.join(sorted(UPLOAD_TYPES))}")
    if len(data) > limits.max_bytes:
        raise InputError(f"file is larger than {limits.max_bytes // (1024 * 1024)} MB (SPOTTER_MAX_MB)")
    cfg = SessionConfig(exercise=exercise, rest_s=rest_s, profile=profile, source="upload",
                        title=Path(name).name[:120], record=store is not None, record_video=False)
    tmpdir = None
    if store is None:
        tmpdir = tempfile.TemporaryDirectory()
        path = Path(tmpdir.name) / f"upload{ext}"
    session = LiveSession(cfg, store=store, threaded=False)
    try:
        if store is not None:
            path = store.session_dir(session.session_id) / f"upload{ext}"
        path.write_bytes(data)
        reader = VideoReader(str(path), limits)  # raises InputError for anything that is not a usable video
        if store is not None:
            store.set_files(session.session_id, video=path)
        n_est = max(1, int(reader.info.duration_s * max(1.0, reader.info.fps)))
        for fr in reader:
            session.process(fr.image, fr.t)
            if fr.index % 15 == 0:
                progress(fr.index / n_est)
        reader.close()
    except Exception:
        session.close("error")
        if store is not None and session.session_id:
            store.delete_session(session.session_id)
        raise
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()
    session.close("stream_ended")
    progress(1.0)
    return {"session_id": session.session_id, "sets": [e.brief() for e in session.sets],
            "reports": [e.report for e in session.sets]}

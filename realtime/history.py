"""Past sessions: rebuild sets from the recorded landmarks and events (no pose pass), render a set's annotated
video from the recording, recover sessions a crash left open, upload analysis."""
from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import numpy as np

from pipeline.errors import InputError
from pipeline.intake.imagestats import FrameStats
from pipeline.live import LivePipeline
from pipeline.movement.run import SetResult
from pipeline.pose.estimator import PoseFrame

from .paths import check_id
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
    from pipeline.report.setreport import build_set_report, write_set_report

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
    have = {s["idx"] for s in store.sets(session_id, include_deleted=True)}  # a set the user deleted stays deleted
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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except (OSError, OverflowError, ValueError):
        return False
    return True


def session_owner_pid(store: Store, session_id: str) -> int | None:
    """The pid of the process that started a session (its ``start`` event), or None if not recorded."""
    sess = store.get_session(session_id)
    ev = store.path_of(sess["events"]) if sess else None
    if ev is None or not ev.exists():
        return None
    for e in read_jsonl(ev):
        if e.get("type") == "start":
            pid = e.get("pid")
            return int(pid) if isinstance(pid, int) and pid > 0 else None
    return None


def recover_open_sessions(store: Store) -> list[tuple[str, int]]:
    """At start-up: every session still marked 'live' whose process is gone (SIGKILL, power cut, server
    restarted) is recovered (recording finalised, sets rebuilt from the landmark log and stored with their
    reports). Sessions of a process that is still running (another server on the same data folder, or this
    one) are left alone. Returns (session id, sets added) per recovered session; one bad session never stops
    the others (it stays 'live' and the History page offers to recover it by hand)."""
    out = []
    for sess in store.live_sessions():
        sid = sess["id"]
        try:
            pid = session_owner_pid(store, sid)
            if pid is not None and _pid_alive(pid):
                continue
            out.append((sid, recover_session(store, sid, "interrupted")))
            log.warning("recovered interrupted session %s", sid)
        except Exception as e:  # noqa: BLE001 - keep going with the others
            log.error("could not recover session %s: %s", sid, e)
    return out


def session_files(store: Store, session_id: str) -> dict[str, Path | None]:
    """A session's recording, landmark and event logs, validated: the id is checked, stored paths must resolve
    (symlinks followed) inside the data folder, else :class:`InputError`. Missing files are None."""
    sess = store.get_session(check_id(session_id))
    if sess is None:
        raise InputError("no such session")
    out: dict[str, Path | None] = {}
    for k in ("video", "landmarks", "events"):
        p = store.path_of(sess[k])
        out[k] = p if p is not None and p.is_file() else None
    return out


EXPORTS = ("report.json", "report.html", "annotated.mp4")


def export_paths(store: Store, set_id: str) -> dict[str, Path]:
    """The files of one stored set that may be downloaded (report.json, report.html, annotated.mp4), each
    resolved inside the data folder (ids checked, ``..``, absolute paths and symlinks out refused with
    :class:`InputError`). Only regular files that exist are returned."""
    row = store.get_set(check_id(set_id))
    if row is None:
        raise InputError("no such set")
    d = store.path_of(row["report_dir"])
    out = {}
    if d is None:
        return out
    for name in EXPORTS:
        p = store.path_of(str(Path(row["report_dir"]) / name))  # resolves symlinks: must stay inside
        if p is not None and p.is_file():
            out[name] = p
    return out


def render_set_video(store: Store, set_id: str) -> Path:
    """The annotated video of one stored set (from the session recording and its landmarks)."""
    from pipeline.report.setreport import build_set_report, write_set_report

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
_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")


def _magic_ok(ext: str, head: bytes) -> bool:
    if ext in (".mp4", ".mov", ".m4v"):
        return head[4:8] in _ISO_BOXES
    if ext in (".webm", ".mkv"):
        return head[:4] == b"\x1aE\xdf\xa3"  # EBML
    if ext == ".avi":
        return head[:4] == b"RIFF" and head[8:12] == b"AVI "
    return False


def check_upload(name: str, size: int, head: bytes, max_bytes: int | None = None) -> str:
    """Type and size of an upload, checked before anything is written or decoded: the extension is one of
    :data:`UPLOAD_TYPES`, the first bytes are that container's signature (ISO-BMFF box, EBML, RIFF/AVI), and the
    size is within ``SPOTTER_MAX_MB``. Returns the extension; raises :class:`InputError` with a plain message."""
    from pipeline.intake.config import IntakeLimits

    max_bytes = max_bytes or IntakeLimits().max_bytes
    ext = Path(str(name)).suffix.lower()
    if ext not in UPLOAD_TYPES:
        raise InputError(f"unsupported file type {ext or '(none)'}: use {', '.join(sorted(UPLOAD_TYPES))}")
    if size <= 0:
        raise InputError("the file is empty")
    if size > max_bytes:
        raise InputError(f"file is larger than {max_bytes // (1024 * 1024)} MB (SPOTTER_MAX_MB)")
    if not _magic_ok(ext, bytes(head[:16])):
        real = next((e for e in (".mp4", ".webm", ".avi") if _magic_ok(e, bytes(head[:16]))), None)
        if real is not None:  # a real video with the wrong name: say which
            what = {".mp4": "an MP4 or MOV", ".webm": "a WebM or MKV", ".avi": "an AVI"}[real]
            raise InputError(f"This file is named {ext}, but its first bytes are those of {what} video: rename it to "
                             f"{real} and upload it again.")
        kind = "a WebM" if ext == ".webm" else f"an {ext[1:].upper()}"  # MP4, MOV, M4V, MKV, AVI: vowel sounds
        raise InputError(f"This is not {kind} video: its first bytes do not match the file type.")
    return ext


def analyse_upload(store: Store | None, name: str, data: bytes, *, exercise: str | None = None, rest_s: float = 8.0,
                   profile: dict | None = None, progress=lambda f: None) -> dict:
    """An uploaded recording through the same LiveSession as the webcam (as fast as possible, every frame)."""
    import tempfile

    from pipeline.intake.config import IntakeLimits
    from pipeline.intake.video import VideoReader

    from .session import LiveSession, SessionConfig

    limits = IntakeLimits()
    ext = check_upload(name, len(data), data[:16])  # before anything is written or decoded
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
        # raises InputError for anything that is not a usable video, naming the file as the user knows it
        reader = VideoReader(str(path), limits, name=Path(str(name)).name[:120] or None)
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
    # entries: the sets as the page follows them (their annotated videos are rendered in the background)
    return {"session_id": session.session_id, "sets": [e.brief() for e in session.sets],
            "reports": [e.report for e in session.sets], "entries": session.sets}


# ------------------------------------------------------------------------------------------------ upload copies
_UPLOADS = "uploads"


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


class UploadCopy:
    """An uploaded file on disk for the page's player and a real-time replay (the browser holds the upload in
    memory; the page's ``<video>`` and the replay need a file).

    Written once, readable by this user only (0600, in a 0700 folder): the data folder's ``uploads/`` (the
    store's file system, so a replay's session keeps the file by a hard link, not a second copy), or a private
    temporary folder without a store. Removed by :meth:`remove` (another upload, the upload cleared), when the
    object is garbage-collected (the browser tab's Streamlit session ended) and, for copies a crash left behind,
    by :func:`clean_uploads` at the next start. Before issue 23 these were world-readable
    ``/tmp/spotter-upload-<hash>.mp4`` files that were never removed."""

    def __init__(self, root: Path | None, name: str, data: bytes, key: str = ""):
        import secrets
        import tempfile
        import weakref

        self.key = key
        self.problem: str | None = None  # why this file cannot be analysed (set by the page), or None
        self.name = Path(str(name)).name[:120] or "upload"
        ext = Path(self.name).suffix.lower()
        if ext not in UPLOAD_TYPES:
            raise InputError(f"unsupported file type {ext or '(none)'}: use {', '.join(sorted(UPLOAD_TYPES))}")
        if root is None:
            self._dir = Path(tempfile.mkdtemp(prefix="spotter-upload-"))  # 0700, this copy's own
        else:
            self._dir = Path(root) / _UPLOADS
            self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self._dir, 0o700)
        self.path = self._dir / f"{os.getpid()}-{secrets.token_hex(8)}{ext}"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        except BaseException:
            _remove_quietly(self.path)
            raise
        self._finalizer = weakref.finalize(self, UploadCopy._cleanup, self.path, self._dir if root is None else None)

    @staticmethod
    def _cleanup(path: Path, own_dir: Path | None) -> None:
        _remove_quietly(path)
        if own_dir is not None:
            try:
                own_dir.rmdir()
            except OSError:
                pass

    def remove(self) -> None:
        self._finalizer()

    @property
    def removed(self) -> bool:
        return not self._finalizer.alive


def clean_uploads(root: Path) -> int:
    """Upload copies whose process is gone (a crash, a kill): removed at start-up. Returns how many."""
    d = Path(root) / _UPLOADS
    n = 0
    if not d.is_dir():
        return 0
    for p in d.iterdir():
        pid = p.name.split("-", 1)[0]
        if p.is_file() and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            _remove_quietly(p)
            n += 1
    return n


def keep_replay_source(store: Store, session_id: str, src: Path) -> Path:
    """A file replayed in real time becomes the session's video (History shows it, renders its annotated video):
    a hard link in the session's folder when the file is on the store's file system (an upload copy, another
    session's recording), else a copy."""
    import shutil

    dest = store.session_dir(session_id) / ("source" + Path(src).suffix.lower())
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
        os.chmod(dest, 0o600)
    store.set_files(session_id, video=dest)
    return dest

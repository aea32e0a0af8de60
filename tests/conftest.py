"""Shared test fixtures. Real clips are read in place from ../shared (never copied into the repo)."""
from __future__ import annotations

import csv
import os
import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SPOTTER_SHARED", ROOT.parent / "shared"))
CLIPS = SHARED / "data" / "clips"
MANIFEST = CLIPS / "manifest.csv"

# pose results of the real clips are cached between runs (outside git)
os.environ.setdefault("SPOTTER_CACHE", str(ROOT / ".cache" / "spotter"))
os.environ.setdefault("GLOG_minloglevel", "2")


DEV_SETS = ("clips", "more_clips", "more_clips2")
# test files that read every dev clip (their pose, and for test_wire.py their pose over the webcam codec)
EVERY_CLIP = {"test_router.py", "test_wire.py", "test_realtime_session.py", "test_coach_dev_clips.py",
              "test_foundation_clips.py", "test_movement.py"}


def dev_clip_paths() -> list[Path]:
    from pipeline.tools.evaluate import read_manifest

    out = []
    for d in DEV_SETS:
        m = SHARED / "data" / d / "manifest.csv"
        if m.exists():
            base, rows = read_manifest(m)
            out += [base / r["file"] for r in rows]
    return [p for p in out if p.is_file()]


def pytest_collection_finish(session):
    """Before a run that reads every dev clip, fill the pose cache (and, when test_wire.py runs, the webcam-codec cache
    of the clips it sends through the codec) on every core at once (SPOTTER_PREFILL=0 turns it off)."""
    if os.environ.get("SPOTTER_PREFILL", "1") == "0" or session.config.option.collectonly:
        return
    files = {Path(str(i.fspath)).name for i in session.items}
    if not files & EVERY_CLIP:
        return
    paths = dev_clip_paths()
    if not paths:
        return
    from pipeline.tools.webcam import fill_caches

    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    say = tr.write_line if tr is not None else print
    last = [0.0]

    def progress(done, total):
        import time

        if time.time() - last[0] > 30 or done == total:
            last[0] = time.time()
            say(f"pose cache: {done}/{total} clips")

    try:
        res = fill_caches(paths, codec=False, progress=progress)
        if "test_wire.py" in files:  # the clips test_wire sends through the webcam codec
            from test_wire import ROWS, WIRE

            res += fill_caches([ROWS[k]["path"] for k in sorted(WIRE)], codec=True, progress=progress)
    except Exception as e:  # the tests fill what they need themselves
        say(f"pose cache: not filled ahead ({type(e).__name__}: {e})")
        return
    for kind, path, err in res:
        if err:
            say(f"pose cache: {kind} of {path} failed: {err}")


def free_port() -> int:
    """A TCP port on localhost that nothing listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manifest_rows() -> list[dict]:
    if not MANIFEST.exists():
        return []
    with open(MANIFEST, newline="") as f:
        return list(csv.DictReader(f))


def clip_path(name: str) -> Path:
    """Path of a dev clip by file stem or manifest path; skips if ../shared is missing."""
    for r in manifest_rows():
        if r["file"] == name or Path(r["file"]).stem == name or Path(r["file"]).stem.startswith(name + "_"):
            return CLIPS / r["file"]
    pytest.skip(f"clip {name} not available (../shared/data/clips missing)")


@pytest.fixture(scope="session")
def rows():
    r = manifest_rows()
    if not r:
        pytest.skip("../shared/data/clips/manifest.csv not found")
    return r


def write_video(path: Path, frames, times=None, fps: int = 30, codec: str = "libx264") -> Path:
    """Write RGB frames to an MP4 with optional explicit timestamps (seconds) for VFR files."""
    import av

    path = Path(path)
    frames = list(frames)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.time_base = Fraction(1, 1000)
        s.codec_context.time_base = Fraction(1, 1000)
        for i, img in enumerate(frames):
            fr = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            t = times[i] if times is not None else i / fps
            fr.pts = int(round(t * 1000))
            fr.time_base = Fraction(1, 1000)
            for p in s.encode(fr):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def set_mp4_rotation(path: Path, degrees_cw: int) -> None:
    """Patch the video track's tkhd display matrix so players rotate the picture clockwise."""
    data = bytearray(Path(path).read_bytes())
    i = data.find(b"tkhd")
    assert i > 0
    version = data[i + 4]
    off = i + 4 + 4 + (32 if version == 1 else 20) + 8 + 8
    one, m1 = 0x00010000, 0xFFFF0000
    mats = {0: (one, 0, 0, 0, one, 0), 90: (0, one, 0, m1, 0, 0), 180: (m1, 0, 0, 0, m1, 0),
            270: (0, m1, 0, one, 0, 0)}
    a, b, u, c, d, v = mats[degrees_cw % 360]
    struct.pack_into(">9I", data, off, a, b, u, c, d, v, 0, 0, 0x40000000)
    Path(path).write_bytes(bytes(data))


def read_clip_frames(path: Path, start_s: float = 0.0, end_s: float = 1e9, long_side: int = 640):
    from pipeline.intake.video import VideoReader

    out = []
    for fr in VideoReader(path, long_side=long_side):
        if start_s <= fr.t <= end_s:
            out.append(fr)
    return out


def history_page(tmp_path: Path, monkeypatch, report: dict, *, reps: int, end_s: float, title: str | None = None):
    """The app's History page (Streamlit AppTest) over a data folder holding one ended upload session with one squat
    set and its stored report."""
    import json

    from streamlit.testing.v1 import AppTest

    from realtime.store import Store

    store = Store(tmp_path / "data")
    sid = store.create_session("upload", title=title)
    store.add_set(sid, index=1, exercise="squat", reps=reps, start_s=0, end_s=end_s, reason="rest",
                  report_json=json.dumps(report), report_dir=None)
    store.end_session(sid)
    monkeypatch.setenv("SPOTTER_DATA", str(tmp_path / "data"))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.sidebar.radio[0].set_value("History").run()
    assert not at.exception, at.exception
    return at

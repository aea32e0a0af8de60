"""Faults on the live path: a browser tab closed without a goodbye, the server killed mid-session and started
again, the coach model crashing / corrupt / talking garbage at a live set end.

(Covered elsewhere: a connection dropped mid-set — tests/test_replay.py; SQLite locked/damaged and the recorder
surviving SIGKILL — tests/test_store.py; a worker exception inside the frame callback —
tests/test_realtime_session.py and tests/test_load_endurance.py; the model fallback chain — tests/test_coach.py.)
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import av
import pytest

from pipeline.analyze import analyze_file
from realtime.recorder import read_jsonl
from realtime.session import LiveSession, SessionConfig
from realtime.store import Store

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "data" / "clips"
CLIP = CLIPS / "squat/sq05_barbell_highbar_front.mp4"
pytestmark = pytest.mark.skipif(not CLIP.exists(), reason="real clips not found in ../shared")


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("GLOG_minloglevel", "2")
    if not os.environ.get("SPOTTER_CACHE") and (ROOT / ".cache" / "spotter").exists():
        monkeypatch.setenv("SPOTTER_CACHE", str(ROOT / ".cache" / "spotter"))


@pytest.fixture(scope="module")
def cut_s():
    """Mid-set in sq05: the first rep done, the second under way."""
    rep = analyze_file(CLIP, None, use_cache=True, exercise="squat").report
    ends = [it.end_s for it in rep.reps.items if not it.partial]
    assert len(ends) == 2
    return (ends[0] + ends[1]) / 2 + 0.5


def _recording_frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


# ------------------------------------------------------------------------------------------- tab closed
BROWSER = textwrap.dedent("""
    import asyncio, json, sys, time
    sys.path.insert(0, {root!r})
    from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    import av
    from fractions import Fraction
    from pipeline.intake.video import VideoReader
    from realtime.replay import _loopback_candidates

    frames = [(fr.image, fr.t) for fr in VideoReader({clip!r})]

    class Camera(MediaStreamTrack):
        kind = "video"
        def __init__(self):
            super().__init__()
            self.i, self.t0 = 0, None
        async def recv(self):
            img, t = frames[min(self.i, len(frames) - 1)]
            self.i += 1
            if self.t0 is None:
                self.t0 = time.perf_counter()
            d = self.t0 + t - time.perf_counter()
            if d > 0:
                await asyncio.sleep(d)
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts, vf.time_base = int(t * 90000), Fraction(1, 90000)
            return vf

    async def main():
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(Camera())
        with _loopback_candidates():
            await pc.setLocalDescription(await pc.createOffer())
        print(json.dumps({{"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}}), flush=True)
        ans = json.loads(await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline))
        await pc.setRemoteDescription(RTCSessionDescription(**ans))
        await asyncio.sleep(3600)  # streams until the test kills this "tab"

    asyncio.run(main())
""")


def test_browser_tab_closed_without_goodbye_stores_the_set(tmp_path, cut_s):
    """A browser (an aiortc peer in another process) streams sq05 into the page's ``LiveLink`` and is SIGKILLed
    mid-set: no BYE, no track end, no on_video_ended — frames just stop. The session notices (idle watchdog),
    stores the set with its report and finalises the recording; nothing raises on the server."""
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamError

    from realtime.replay import _loopback_candidates
    from realtime.webrtc import LiveLink

    store = Store(tmp_path / "data")
    link = LiveLink(store_factory=lambda: store)
    link.configure(SessionConfig(exercise="squat", source="webcam", idle_close_s=2.0))
    browser = subprocess.Popen([sys.executable, "-c", BROWSER.format(root=str(ROOT), clip=str(CLIP))],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               env=dict(os.environ, GLOG_minloglevel="2"))
    errors: list[BaseException] = []
    killed_at = None

    async def server():
        nonlocal killed_at
        loop = asyncio.get_running_loop()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        got = loop.create_future()
        pc.on("track", lambda tr: got.done() or got.set_result(tr))
        offer = json.loads(await asyncio.wait_for(loop.run_in_executor(None, browser.stdout.readline), 60))
        await pc.setRemoteDescription(RTCSessionDescription(**offer))
        with _loopback_candidates():
            await pc.setLocalDescription(await pc.createAnswer())
        browser.stdin.write(json.dumps({"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}) + "\n")
        browser.stdin.flush()
        track = await asyncio.wait_for(got, 30)
        t0 = None
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                frame = await asyncio.wait_for(track.recv(), 1.0)
            except asyncio.TimeoutError:
                s = link.current()
                if killed_at is not None and s is not None and s.status().closed:
                    break
                continue
            except MediaStreamError:
                break
            t0 = frame.time if t0 is None else t0
            try:  # what streamlit-webrtc does with video_frame_callback (in a worker thread)
                await loop.run_in_executor(None, link.callback, frame)
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
            if killed_at is None and frame.time - t0 > cut_s:
                browser.send_signal(signal.SIGKILL)  # the tab is gone
                killed_at = time.time()
        await pc.close()

    try:
        asyncio.run(server())
    finally:
        browser.kill()
        browser.wait()
    assert killed_at is not None, "the stream never reached the cut"
    s = link.current()
    deadline = time.time() + 120  # generous: under load the close (report, recording) takes longer; no timing asserted
    while time.time() < deadline and not (s.finished.is_set() and s.sets and s.sets[0].report is not None):
        time.sleep(0.2)
    assert not errors, errors
    assert s.close_reason == "connection_lost" and s.errors == 0, (s.close_reason, s.last_error)
    assert [(e.exercise, e.reps, e.reason) for e in s.sets] == [("squat", 1, "connection_lost")]
    sess = store.get_session(s.session_id)
    assert sess["status"] == "ended" and sess["note"] == "connection_lost"
    rows = store.sets(s.session_id)
    assert len(rows) == 1 and rows[0]["reps"] == 1 and json.loads(rows[0]["report_json"])["reps"]["count"] == 1
    assert (store.path_of(rows[0]["report_dir"]) / "report.html").exists()
    video = store.path_of(sess["video"])  # finalised: the faststart MP4, the fragmented part removed
    assert video.name == "recording.mp4" and not (video.parent / "recording.part.mp4").exists()
    assert _recording_frames(video) >= 0.8 * s.frames_in


# ------------------------------------------------------------------------------------------- server restart
SERVER = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {root!r})
    from pipeline.pose.track import extract_pose
    from pipeline.intake.video import VideoReader
    from realtime.session import LiveSession, SessionConfig
    from realtime.sources import CachedPose
    from realtime.store import Store

    _, track = extract_pose({clip!r}, use_cache=True)
    frames = list(VideoReader({clip!r}))
    store = Store({data!r})
    s = LiveSession(SessionConfig(exercise="squat", source="webcam"), store=store,
                    estimator=CachedPose(track.frames()), threaded=True)
    print("SID", s.session_id, flush=True)
    t0 = time.perf_counter()
    for fr in frames:
        d = t0 + fr.t - time.perf_counter()
        if d > 0:
            time.sleep(d)
        s.on_frame(fr.image, fr.t)
        print(fr.t, flush=True)
    time.sleep(3600)
""")


def _kill_server_mid_set(data: Path, cut_s: float) -> str:
    p = subprocess.Popen([sys.executable, "-c", SERVER.format(root=str(ROOT), clip=str(CLIP), data=str(data))],
                         stdout=subprocess.PIPE, text=True, env=dict(os.environ, GLOG_minloglevel="2"))
    sid = None
    try:
        for line in p.stdout:
            if line.startswith("SID "):
                sid = line.split()[1]
            elif float(line) > cut_s:
                break
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    assert sid and p.returncode == -signal.SIGKILL
    return sid


def test_server_killed_mid_session_is_recovered_at_the_next_start(tmp_path, cut_s):
    data = tmp_path / "data"
    sid = _kill_server_mid_set(data, cut_s)
    # the next start: the store opens, intact; the killed session is still marked live
    store = Store(data)
    with sqlite3.connect(store.db_path) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [s["id"] for s in store.live_sessions()] == [sid]
    sess = store.get_session(sid)
    # what was captured is readable: landmarks up to about the kill, the fragmented recording decodes
    lms = list(read_jsonl(store.path_of(sess["landmarks"])))
    assert lms and lms[-1]["t"] > cut_s - 1.5
    part = store.path_of(sess["video"])
    assert part.name == "recording.part.mp4" and _recording_frames(part) >= len(lms) - 45
    # a session of a process that is still running (this one) is not touched by the start-up recovery
    alive = LiveSession(SessionConfig(exercise="squat"), store=store, threaded=False)

    from realtime.history import recover_open_sessions

    assert recover_open_sessions(store) == [(sid, 1)]
    assert store.get_session(alive.session_id)["status"] == "live"
    alive.close()
    sess = store.get_session(sid)
    assert sess["status"] == "interrupted"
    rows = store.sets(sid)
    assert [(r["exercise"], r["reps"]) for r in rows] == [("squat", 1)]
    assert json.loads(rows[0]["report_json"])["reps"]["count"] == 1
    assert (store.path_of(rows[0]["report_dir"]) / "report.html").exists()
    video = store.path_of(sess["video"])
    assert video.name == "recording.mp4" and not part.exists() and _recording_frames(video) >= len(lms) - 45
    assert recover_open_sessions(store) == []  # idempotent


def test_the_app_recovers_interrupted_sessions_when_it_starts(tmp_path, cut_s, monkeypatch):
    """The same crash, then the page is opened: the app's start-up recovers the session on its own."""
    from streamlit.testing.v1 import AppTest

    data = tmp_path / "data"
    sid = _kill_server_mid_set(data, cut_s)
    monkeypatch.setenv("SPOTTER_DATA", str(data))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.sidebar.radio[0].set_value("History").run()
    assert not at.exception, at.exception
    store = Store(data)
    assert store.get_session(sid)["status"] == "interrupted"
    assert [r["reps"] for r in store.sets(sid)] == [1]
    assert any("recovered at start-up" in i.value for i in at.info), [i.value for i in at.info]


# ------------------------------------------------------------------------------------------- model faults
class _Crash:
    def __call__(self):
        from pipeline.coach.llm import LocalLLM

        class Crashing(LocalLLM):
            def generate(self, *a, **k):
                raise RuntimeError("llama.cpp segfault stand-in")
        return Crashing(path=Path("crashing.gguf")), "generation failed"


class _Garbage:
    def __call__(self):
        from pipeline.coach.llm import Generation, LocalLLM

        class Garbage(LocalLLM):
            def generate(self, *a, **k):
                return Generation('{"headline": <script>alert(1)</script> ]]', 9, 0.1)
        return Garbage(path=Path("garbage.gguf")), "invalid JSON"


class _Corrupt:
    def __init__(self, tmp):
        self.tmp = tmp

    def __call__(self):
        p = self.tmp / "broken.gguf"
        p.write_bytes(b"GGUF" + os.urandom(4096))
        return str(p), "failed to load"


@pytest.mark.parametrize("kind", ["crash", "garbage", "corrupt"])
def test_model_faults_at_a_live_set_end_give_the_deterministic_summary(tmp_path, kind):
    from pipeline.coach.llm import llama_available
    from pipeline.intake.video import VideoReader
    from pipeline.pose.track import extract_pose
    from realtime.sources import ReplayedPose

    if kind == "corrupt" and not llama_available():
        pytest.skip("llama-cpp-python not installed: a model file is never loaded")
    llm, why = {"crash": _Crash(), "garbage": _Garbage(), "corrupt": _Corrupt(tmp_path)}[kind]()
    _, track = extract_pose(CLIP, use_cache=True)
    store = Store(tmp_path / "data")
    s = LiveSession(SessionConfig(exercise="squat", llm=llm, record_video=False), store=store,
                    estimator=ReplayedPose(track.frames()), threaded=False)
    for fr in VideoReader(CLIP):
        s.on_frame(fr.image, fr.t)
    s.close("stream_ended")
    e = s.sets[0]
    deadline = time.time() + 60
    while time.time() < deadline and e.summary_status == "pending":
        time.sleep(0.1)
    assert e.summary_status == "deterministic", (e.summary_status, e.error)
    assert e.report["summary"]["source"] == "deterministic" and why in e.report["summary"]["reason"]
    assert e.error and why in e.error
    row = store.sets(s.session_id)[0]
    assert row["summary_status"] == "deterministic" and row["reps"] == 2
    stored = json.loads(row["report_json"])
    assert stored["summary"]["source"] == "deterministic" and stored["summary"]["headline"]
    html = (store.path_of(row["report_dir"]) / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert s.errors == 0

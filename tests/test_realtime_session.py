"""LiveSession on real clips, frame by frame: live counts == batch counts, two clips → two sets, threading.

Pose comes from the pose cache (``SPOTTER_CACHE``; computed once by MediaPipe on these very frames) through
:class:`realtime.sources.ReplayedPose`; the frames themselves are decoded for real and go through the session's
``on_frame`` (QC image statistics, overlay drawing, cue gate, set handling)."""
from __future__ import annotations

import csv
import dataclasses
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.intake.video import VideoReader
from pipeline.movement.run import MovementRun
from pipeline.pose.estimator import PoseFrame
from pipeline.pose.track import clean_track, extract_pose
from realtime.overlay import CueGate
from realtime.session import LiveSession, SessionConfig
from realtime.sources import ReplayedPose

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "data" / "clips"
SUPPORTED = ("squat", "push_up", "shoulder_press")

pytestmark = pytest.mark.skipif(not (CLIPS / "manifest.csv").exists(), reason="real clips not found in ../shared")


def _dev_clips():
    if not (CLIPS / "manifest.csv").exists():
        return []
    with open(CLIPS / "manifest.csv", newline="") as f:
        return [(r["file"], r["class"]) for r in csv.DictReader(f) if r["class"] in SUPPORTED]


@pytest.fixture(autouse=True)
def _cache(monkeypatch):
    if not os.environ.get("SPOTTER_CACHE") and (ROOT / ".cache" / "spotter").exists():
        monkeypatch.setenv("SPOTTER_CACHE", str(ROOT / ".cache" / "spotter"))


def _batch_count(path: Path, exercise: str) -> int:
    _, track = extract_pose(path, use_cache=True)
    clean, _ = clean_track(track)
    return MovementRun(exercise, clean).evidence.reps.count


@pytest.mark.parametrize("clip,exercise", _dev_clips())
def test_live_count_equals_batch_count(clip, exercise):
    path = CLIPS / clip
    _, track = extract_pose(path, use_cache=True)
    batch = _batch_count(path, exercise)
    s = LiveSession(SessionConfig(exercise=exercise), estimator=ReplayedPose(track.frames()), threaded=False)
    shown = []
    for fr in VideoReader(path):
        out = s.on_frame(fr.image, fr.t)
        assert out.shape == fr.image.shape and out is not fr.image  # the overlay is drawn on a copy
        shown.append(s.overlay().count)
    s.close()
    assert s.frames_processed == len(track) and s.frames_dropped == 0
    live = sum(e.reps for e in s.sets)
    assert live == batch, f"{clip}: live {live} != batch {batch}"
    # the count on screen only ever goes up within a set and reaches the set's count
    if s.sets:
        assert max(shown) == max(e.reps for e in s.sets)
        assert all(e.report is not None and e.report["reps"]["count"] == e.reps for e in s.sets)
    assert s.errors == 0, s.last_error


def _shifted(frames, dt):
    return [dataclasses.replace(pf, t=pf.t + dt) for pf in frames]


def _two_clip_stream(a: str, b: str, pause_s: float):
    """Frames of clip a, ``pause_s`` of an empty dark room, then clip b (timestamps continue)."""
    out = []
    end = 0.0
    for k, clip in enumerate((a, b)):
        _, track = extract_pose(CLIPS / clip, use_cache=True)
        frames = list(VideoReader(CLIPS / clip))
        off = end - frames[0].t + (pause_s if k else 0.0)
        if k:
            h, w = frames[0].image.shape[:2]
            t = end + 1 / 30
            while t < end + pause_s:
                out.append((np.full((h, w, 3), 12, np.uint8), t, PoseFrame.empty(t, w, h)))
                t += 1 / 30
        for fr, pf in zip(frames, _shifted(track.frames(), off)):
            out.append((fr.image, fr.t + off, pf))
        end = out[-1][1]
    return out


def _run_stream(stream, cfg, switch_at=None):
    s = LiveSession(cfg, estimator=ReplayedPose([pf for *_, pf in stream]), threaded=False)
    for img, t, _ in stream:
        if switch_at and t >= switch_at[0] and s.lp.user_exercise != switch_at[1]:
            s.set_exercise(switch_at[1])
        s.on_frame(img, t)
    s.close()
    return s


A, B = "squat/sq05_barbell_highbar_front.mp4", "push_up/pu01_outdoor_side.mp4"


def test_two_clips_with_a_pause_give_two_sets_user_choice():
    """The user picks squat, then push-up during the pause: two sets, right exercises and counts."""
    stream = _two_clip_stream(A, B, pause_s=9.0)
    t_b = next(t for img, t, pf in stream if t > 0 and pf.present and t > 13.0)
    s = _run_stream(stream, SessionConfig(exercise="squat"), switch_at=(t_b - 2.0, "push_up"))
    got = [(e.exercise, e.reps) for e in s.sets]
    assert got == [("squat", _batch_count(CLIPS / A, "squat")), ("push_up", _batch_count(CLIPS / B, "push_up"))]
    assert s.sets[0].end_s < s.sets[1].start_s


def test_two_clips_with_a_pause_give_two_sets_router():
    """Automatic exercise: the router (if its weights are installed) finds both exercises."""
    from pipeline.movement.routing import live_router

    if live_router() is None:
        pytest.skip("exercise router weights not installed (models/weights): the router path cannot run")
    stream = _two_clip_stream(A, B, pause_s=9.0)
    s = _run_stream(stream, SessionConfig(exercise=None))
    got = [(e.exercise, e.reps) for e in s.sets]
    assert got == [("squat", _batch_count(CLIPS / A, "squat")), ("push_up", _batch_count(CLIPS / B, "push_up"))]
    assert s.sets[0].reason in ("rest", "exercise_changed")


def test_router_scoring_runs_after_the_frames_result_is_out():
    """Automatic exercise: scoring a router window (~7 ms, every ~8th frame) runs once the frame that made it due
    has published its result (LiveRouter.flush after the result sink), not before; every window is still scored and
    the sets are the same as the batch count."""
    from pipeline.movement.router.features import HOP_S, WIN_S
    from pipeline.movement.routing import live_router

    if live_router() is None:
        pytest.skip("exercise router weights not installed (models/weights): the router path cannot run")
    _, track = extract_pose(CLIPS / A, use_cache=True)
    frames = list(VideoReader(CLIPS / A))
    s = LiveSession(SessionConfig(exercise=None), estimator=ReplayedPose(list(track.frames())), threaded=False)
    at_sink = []
    s.result_sink = lambda ov: at_sink.append(s.lp.router.n_evals)
    scored_after = 0
    for fr in frames:
        s.on_frame(fr.image, fr.t)
        scored_after += s.lp.router.n_evals - at_sink[-1]
    n_evals = s.lp.router.n_evals
    s.close()
    assert len(at_sink) == len(frames)
    assert n_evals >= (frames[-1].t - frames[0].t - WIN_S) / HOP_S - 2  # a window every HOP_S of the clip
    assert scored_after == n_evals  # each one after a result went out, none on a frame's own latency
    assert [(e.exercise, e.reps) for e in s.sets] == [("squat", _batch_count(CLIPS / A, "squat"))]


class SlowPose:
    """A pose estimator slower than the camera (sleeps), replaying real landmarks; can fail on one frame."""

    name = "slow"

    def __init__(self, frames, delay_s, fail_at=None):
        self.inner = ReplayedPose(frames, strict=False)
        self.delay_s = delay_s
        self.fail_at = fail_at
        self.calls = 0

    def process(self, rgb, t):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("boom in pose")
        time.sleep(self.delay_s)
        return self.inner.process(rgb, t)

    def close(self):
        pass


def test_slow_pose_never_blocks_the_frame_thread_and_drops_stale_frames():
    _, track = extract_pose(CLIPS / A, use_cache=True)
    frames = list(VideoReader(CLIPS / A))
    pose = SlowPose(list(track.frames()), delay_s=0.06, fail_at=5)  # ~16 fps of pose for a 30 fps camera
    s = LiveSession(SessionConfig(exercise="squat"), estimator=pose, threaded=True)
    cb_ms = []
    t0 = time.perf_counter()
    for fr in frames[:150]:
        due = t0 + fr.t
        while time.perf_counter() < due:
            time.sleep(0.002)
        a = time.perf_counter()
        out = s.on_frame(fr.image, fr.t)
        cb_ms.append((time.perf_counter() - a) * 1000)
        assert out.shape == fr.image.shape
    time.sleep(0.2)
    st = s.status()
    s.close()
    tm = s.timing()
    # the callback only hands over and draws: far below the 60 ms pose time
    assert np.percentile(cb_ms, 95) < 25, np.percentile(cb_ms, 95)
    assert tm["frames_dropped"] > 20 and tm["frames_processed"] + tm["frames_dropped"] + s.errors == 150
    # latest frame wins: latency stays about one pose time, it does not grow along the stream
    lat = list(s.latencies_ms)
    assert np.percentile(lat, 95) < 250
    assert np.mean(lat[-20:]) < np.mean(lat[5:25]) + 60
    # the worker error is counted and shown, and the stream went on
    assert st.error and "boom in pose" in st.error and s.frames_processed > 50


def test_commands_from_another_thread_end_the_set():
    _, track = extract_pose(CLIPS / A, use_cache=True)
    frames = list(VideoReader(CLIPS / A))
    s = LiveSession(SessionConfig(exercise="squat", rest_s=30.0), estimator=ReplayedPose(track.frames()),
                    threaded=True)
    for fr in frames:
        s.on_frame(fr.image, fr.t)
        # hand frames over no faster than they are processed so that none is dropped
        while s.frames_processed + s.frames_dropped < s.frames_in:
            time.sleep(0.001)
    assert s.status().count == _batch_count(CLIPS / A, "squat")
    th = threading.Thread(target=s.end_set)
    th.start()
    th.join()
    deadline = time.time() + 5
    while time.time() < deadline and not (s.sets and s.sets[0].report is not None):
        time.sleep(0.02)
    assert [e.reason for e in s.sets] == ["user"]
    assert s.sets[0].report_s is not None and s.sets[0].report_s < 2.0  # the set report within 2 s
    s.close()
    assert len(s.sets) == 1  # nothing left to close


def test_cue_gate_rate_limits():
    g = CueGate(show_s=2.0, gap_s=4.0, repeat_s=12.0)
    assert g.offer(1.0, "depth", "Go deeper")
    assert g.active(2.5)[0] == "Go deeper"
    assert g.active(3.5)[0] is None  # shown about two seconds
    assert not g.offer(3.0, "knees", "Knees out")  # too soon after the last cue
    assert g.offer(5.5, "knees", "Knees out")
    assert not g.offer(10.0, "depth", "Go deeper")  # gap ok, but "depth" was shown 9 s ago
    g2 = CueGate(show_s=2.0, gap_s=4.0, repeat_s=12.0)
    g2.offer(0.0, "depth", "Go deeper")
    assert not g2.offer(6.0, "depth", "Go deeper")  # the same cue is not repeated within 12 s
    assert g2.offer(12.5, "depth", "Go deeper")
    assert not g2.offer(20.0, None, None)

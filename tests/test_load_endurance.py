"""A long live session in fast-forward: thousands of frames through one ``LiveSession`` (cached poses of a real
clip, looped with pauses so sets keep ending) and every container the session keeps stays bounded: timing
samples, cue history, the set timeline's reports (older ones are read back from the store), the pipeline's
frames (finished sets release theirs), error logging. The 10-minute wall-clock run is ``realtime.tools.bench``
(figures in docs/live.md)."""
from __future__ import annotations

import dataclasses
import gc
import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.pose.estimator import PoseFrame
from realtime.overlay import CueGate
from realtime.session import MAX_LOGGED_ERRORS, MAX_TIMING_SAMPLES, LiveSession, SessionConfig
from realtime.store import Store

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "data" / "clips"
CLIP = CLIPS / "squat/sq05_barbell_highbar_front.mp4"
pytestmark = pytest.mark.skipif(not CLIP.exists(), reason="real clips not found in ../shared")

PAUSE_S = 4.0  # empty room between two passes of the clip: with rest_s=3 each pass is one set


@pytest.fixture(autouse=True)
def _cache(monkeypatch):
    if not os.environ.get("SPOTTER_CACHE") and (ROOT / ".cache" / "spotter").exists():
        monkeypatch.setenv("SPOTTER_CACHE", str(ROOT / ".cache" / "spotter"))


@pytest.fixture(scope="module")
def clip_poses():
    from pipeline.pose.track import extract_pose

    _, track = extract_pose(CLIP, use_cache=True)
    return list(track.frames())


class LoopedPose:
    """The clip's cached poses again and again, each pass followed by ``PAUSE_S`` of nobody; fails on every
    ``fail_every``-th call (a worker exception inside the frame path)."""

    name = "looped"

    def __init__(self, frames, fail_every=None):
        self.frames = frames
        self.span = frames[-1].t - frames[0].t + 1 / 30 + PAUSE_S
        self.calls = 0
        self.fail_every = fail_every

    def process(self, rgb, t):
        self.calls += 1
        if self.fail_every and self.calls % self.fail_every == 0:
            raise RuntimeError("pose worker blew up")
        local = (t % self.span)
        i = int(round(local * 30))
        if i >= len(self.frames):
            return PoseFrame.empty(t, self.frames[0].width, self.frames[0].height)
        return dataclasses.replace(self.frames[i], t=t)

    def close(self):
        pass


def test_long_session_keeps_every_container_bounded(tmp_path, clip_poses, caplog):
    store = Store(tmp_path / "data")
    keep = 3
    cfg = SessionConfig(exercise="squat", rest_s=3.0, keep_reports=keep, record_video=False)
    pose = LoopedPose(clip_poses, fail_every=97)
    s = LiveSession(cfg, store=store, estimator=pose, threaded=False)
    img = np.full((90, 160, 3), 90, np.uint8)
    per_pass = int(round(pose.span * 30))
    n_pass = 10
    n = per_pass * n_pass  # ~4800 frames, 160 s of stream
    sizes = []
    objs = []
    caplog.set_level(logging.ERROR, logger="realtime.session")
    for k in range(n):
        t = k / 30
        s.on_frame(img, t)
        if k % per_pass == per_pass - 1:
            deadline = time.time() + 20  # let the reporter thread finish the set that just ended
            while time.time() < deadline and not all(e.report is not None or e.report_in_store or e.error
                                                     for e in s.sets):
                time.sleep(0.02)
            gc.collect()
            sizes.append((len(s.lp.pose_frames), len(s.latencies_ms), len(s.pose_ms), len(s._proc_times),
                          len(s.cues.shown)))
            objs.append(len(gc.get_objects()))
    assert s.status().sets, "no set ended: the looped clip did not produce sets"
    s.close("stream_ended")

    # one set per pass, each with the clip's reps; every set stored with a report
    reps = [e.reps for e in s.sets]
    assert len(reps) >= n_pass - 1 and len(set(reps[:-1])) == 1 and reps[0] >= 2, reps
    rows = store.sets(s.session_id)
    assert len(rows) == len(s.sets) and all(r["report_json"] for r in rows)

    # timing samples and per-frame bookkeeping: capped
    assert s.frames_processed == n - s.errors
    for lp_frames, lat, pms, proc, shown in sizes:
        assert lat <= MAX_TIMING_SAMPLES and pms <= MAX_TIMING_SAMPLES and proc <= 120
        assert lp_frames <= 2 * per_pass, sizes  # the pipeline keeps the set in progress, not the session
    assert s._mailbox is None and s._posed.empty()
    # finished sets gave their frames back (the landmark log on disk has them)
    assert all(not r.clean and not r.pose and not r.stats and r.analyzer is None for r in s.lp.sets)
    # the timeline keeps only the last few reports in memory; older ones are read back from the store
    in_mem = [e for e in s.sets if e.report is not None]
    assert len(in_mem) <= keep + 1, [(e.index, e.report is not None) for e in s.sets]
    old = [e for e in s.sets if e.report_in_store]
    assert old and all(store.report(e.set_id)["reps"]["count"] == e.reps for e in old)
    # the number of live Python objects does not grow with the length of the session
    growth = float(np.median(np.diff(objs[2:])))
    print("python objects after each pass:", objs)
    assert growth < 150, objs  # ~50 per finished set (its timeline entry, its row); one per frame would be 480

    # a failing worker: the stream went on, every error counted, the log is not flooded
    assert s.errors == n // 97 and "pose worker blew up" in s.status().error
    records = [r for r in caplog.records if r.name == "realtime.session"]
    assert MAX_LOGGED_ERRORS <= len(records) <= MAX_LOGGED_ERRORS + s.errors // 100 + 1


def test_cue_history_is_bounded():
    g = CueGate(show_s=0.1, gap_s=0.2, repeat_s=0.3)
    for k in range(10000):
        g.offer(k * 1.0, f"code{k % 7}", "Cue")
    assert len(g.shown) <= g.shown.maxlen and g.shown.maxlen <= 1000
    assert g.shown[-1] == (9999.0, f"code{9999 % 7}")  # the newest are kept


def test_bench_live_json_has_the_documented_keys(capsys):
    """`spotter bench live --json` prints one JSON object with the figures the README table uses."""
    import json

    from pipeline.tools.cli import main

    rc = main(["bench", "live", str(CLIPS / "squat/sq05_barbell_highbar_front.mp4"), "--seconds", "3", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for k in ("processed_fps", "dropped_ratio", "latency_ms_p50", "latency_ms_p95", "latency_ms_p99",
              "pose_ms_per_frame", "overhead_ratio", "peak_rss_mb", "cpu_share"):
        assert k in out and out[k] is not None, k
    assert out["processed_fps"] > 0 and out["overhead_ratio"] >= 1.0

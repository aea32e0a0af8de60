"""``spotter bench live CLIP --seconds 60 [--webrtc] [--json]``: the live path under a real-time camera.

The clip is looped at its own frame rate for ``seconds`` (timestamps continue across loops) into a threaded
:class:`LiveSession`, directly or over aiortc loopback (``webrtc=True``). Reported: processed fps, dropped ratio,
frame latency p50/p95/p99 (frame arrival → its overlay ready; with WebRTC, frame sent → overlay ready), pose
ms/frame, overhead ratio (pipeline time / pose time), frame-callback ms, peak RSS and RSS growth between the first
and last tenth of the run (after a tenth for warm-up) (bounded buffers: no growth expected).
"""
from __future__ import annotations

import asyncio
import json
import resource
import threading
import time

import numpy as np

from pipeline.pose import MediaPipePose

from .replay import _open_reader
from .session import LiveSession, SessionConfig


class _TimedPose:
    name = "mediapipe-blazepose-full"

    def __init__(self):
        self.inner = MediaPipePose()
        self.ms: list[float] = []

    def process(self, rgb, t):
        a = time.perf_counter()
        pf = self.inner.process(rgb, t)
        self.ms.append((time.perf_counter() - a) * 1000)
        return pf

    def close(self):
        self.inner.close()


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return float("nan")


def _looped(frames: list, seconds: float):
    if not frames:
        return
    dt = float(np.median(np.diff([t for _, t in frames]))) if len(frames) > 1 else 1 / 30
    span = frames[-1][1] - frames[0][1] + dt
    k = 0
    while True:
        for img, t in frames:
            tt = k * span + t - frames[0][1]
            if tt > seconds:
                return
            yield type("F", (), {"image": img, "t": tt})()
        k += 1


def bench_live(clip: str, seconds: float = 60, webrtc: bool = False, json_out: bool = False,
               store=None, exercise: str | None = None) -> dict:
    frames = [(fr.image, fr.t) for fr in _open_reader(clip)]  # decoded up front: decoding is not measured
    pose = _TimedPose()
    pose.process(frames[0][0], -1.0)  # model loaded before the clock starts
    pose.inner.reset()
    pose.ms.clear()
    s = LiveSession(SessionConfig(exercise=exercise, source="bench", record=store is not None), store=store,
                    estimator=pose, threaded=True)
    rss: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            rss.append((time.perf_counter(), _rss_mb()))
            stop.wait(0.5)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    cb_ms: list[float] = []
    e2e: list[float] = []
    t0 = time.perf_counter()
    if webrtc:
        from .replay import _webrtc_replay

        orig = s.on_frame

        def timed(rgb, t):
            a = time.perf_counter()
            out = orig(rgb, t)
            cb_ms.append((time.perf_counter() - a) * 1000)
            return out

        s.on_frame = timed
        link = asyncio.run(_webrtc_replay(clip, s, True, frames=_looped(frames, seconds)))
        e2e = link["e2e_ms"]
    else:
        for fr in _looped(frames, seconds):
            due = t0 + fr.t
            while True:
                d = due - time.perf_counter()
                if d <= 0:
                    break
                time.sleep(min(d, 0.005))
            a = time.perf_counter()
            s.on_frame(fr.image, fr.t)
            cb_ms.append((time.perf_counter() - a) * 1000)
        s.close("stream_ended")
    stop.set()
    th.join()
    tm = s.timing()
    lat = np.array(e2e if e2e else list(s.latencies_ms), float)
    pms = np.array(pose.ms[1:] or [np.nan], float)
    pipe = np.array(list(s.pose_ms)[1:] or [np.nan], float)
    n = len(rss)
    head = np.nanmean([r for _, r in rss[n // 10: max(1, n // 5)]]) if n else float("nan")
    tail = np.nanmean([r for _, r in rss[-max(1, n // 10):]]) if n else float("nan")
    pct = lambda q: round(float(np.percentile(lat, q)), 2) if len(lat) else None  # noqa: E731
    res = {"clip": clip, "seconds": seconds, "transport": "webrtc-loopback" if webrtc else "direct",
           "processed_fps": tm["processed_fps"], "dropped_ratio": tm["dropped_ratio"],
           "latency_ms_p50": pct(50), "latency_ms_p95": pct(95), "latency_ms_p99": pct(99),
           "pose_ms": round(float(np.nanmean(pms)), 2), "pipeline_ms": round(float(np.nanmean(pipe)), 2),
           "overhead_ratio": round(float(np.nanmean(pipe) / np.nanmean(pms)), 3),
           "callback_ms_p95": round(float(np.percentile(cb_ms, 95)), 2) if cb_ms else None,
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
           "rss_growth_mb": round(float(tail - head), 1), "frames_in": tm["frames_in"],
           "sets": [e.brief() for e in s.sets]}
    if json_out:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:18s} {v}")
    return res


if __name__ == "__main__":
    import argparse
    import os

    os.environ.setdefault("GLOG_minloglevel", "2")
    p = argparse.ArgumentParser(prog="spotter bench live")
    p.add_argument("clip")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--webrtc", action="store_true")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    bench_live(a.clip, a.seconds, a.webrtc, a.json)

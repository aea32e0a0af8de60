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
import os
import resource
import threading
import time

import numpy as np

from pipeline.pose.estimator import MediaPipePose

from ..replay import _open_reader
from ..session import LiveSession, SessionConfig


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


def _by_minute(samples: list[tuple[float, float]], fn, seconds: float | None = None) -> list:
    """``samples``: (seconds since start, value). One figure per started minute (``fn`` of that minute's values);
    with ``seconds``, only the minutes of the stream (not the shutdown after it)."""
    if not samples:
        return []
    n = int(max(t for t, _ in samples) // 60) + 1
    if seconds:
        n = min(n, max(1, int(np.ceil(seconds / 60))))
    out = []
    for m in range(n):
        v = [x for t, x in samples if m * 60 <= t < (m + 1) * 60]
        out.append(round(float(fn(np.array(v, float))), 2) if v else None)
    return out


def _minute_figures(lat_at: list[tuple[float, float]], rss: list[tuple[float, float]],
                    done_at: list[float], seconds: float | None = None) -> dict:
    p50 = lambda a: np.percentile(a, 50)  # noqa: E731
    p95 = lambda a: np.percentile(a, 95)  # noqa: E731
    return {"latency_ms_p50_by_minute": _by_minute(lat_at, p50, seconds),
            "latency_ms_p95_by_minute": _by_minute(lat_at, p95, seconds),
            "processed_fps_by_minute": [
                round(c / max(1e-3, min(60.0, done_at[-1] - 60.0 * m)), 2) if c is not None else None
                for m, c in enumerate(_by_minute([(t, 1.0) for t in done_at], np.sum, seconds))],
            "rss_mb_by_minute": _by_minute(rss, np.max, seconds),
            "rss_mb_start": round(rss[0][1], 1) if rss else None,
            "rss_mb_end": round(rss[-1][1], 1) if rss else None}


def _progress(minute: int, lat_at: list, rss: list, done_at: list) -> None:
    import sys

    lat = np.array([ms for t, ms in list(lat_at) if minute * 60 <= t < (minute + 1) * 60], float)
    r = [x for t, x in list(rss) if minute * 60 <= t < (minute + 1) * 60]
    n = sum(1 for t in list(done_at) if minute * 60 <= t < (minute + 1) * 60)
    if len(lat):
        print(f"minute {minute + 1}: latency p50 {np.percentile(lat, 50):.1f} ms p95 {np.percentile(lat, 95):.1f} ms,"
              f" {n / 60:.1f} fps processed, RSS {max(r) if r else float('nan'):.0f} MB", file=sys.stderr, flush=True)


def _load(clip: str) -> list:
    return [(fr.image, fr.t) for fr in _open_reader(clip)]  # decoded up front: decoding is not measured


def _warm_pose(frames) -> "_TimedPose":
    pose = _TimedPose()
    pose.process(frames[0][0], -1.0)  # model loaded before the clock starts
    pose.inner.reset()
    pose.ms.clear()
    return pose


def _sampler(rss: list, t0: float, stop: threading.Event) -> threading.Thread:
    def sample():
        while not stop.is_set():
            rss.append((time.perf_counter() - t0, _rss_mb()))
            stop.wait(0.5)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    return th


def bench_live(clip: str, seconds: float = 60, webrtc: bool = False, json_out: bool = False,
               store=None, exercise: str | None = None) -> dict:
    frames = _load(clip)
    pose = _warm_pose(frames)
    s = LiveSession(SessionConfig(exercise=exercise, source="bench", record=store is not None), store=store,
                    estimator=pose, threaded=True)
    rss: list[tuple[float, float]] = []
    stop = threading.Event()
    cb_ms: list[float] = []
    e2e: list[float] = []
    lat_at: list[tuple[float, float]] = []  # (s since start, latency ms) of every processed frame
    done_at: list[float] = []
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    th = _sampler(rss, t0, stop)
    if webrtc:
        from ..replay import _webrtc_replay

        orig = s.on_frame

        def timed(rgb, t):
            a = time.perf_counter()
            out = orig(rgb, t)
            cb_ms.append((time.perf_counter() - a) * 1000)
            return out

        s.on_frame = timed
        link = asyncio.run(_webrtc_replay(clip, s, True, frames=_looped(frames, seconds)))
        e2e = link["e2e_ms"]
        lat_at = [(sent - t0, ms) for sent, ms in link["e2e_at"]]
        done_at = [sent - t0 for sent, _ in link["e2e_at"]]
    else:
        def done(t, when):  # the worker calls this right after appending this frame's latency
            lat_at.append((when - t0, s.latencies_ms[-1]))
            done_at.append(when - t0)

        s.frame_done = done
        minute = 0
        for fr in _looped(frames, seconds):
            if fr.t >= 60 * (minute + 1):  # progress on stderr, so a long run that dies still leaves figures
                _progress(minute, lat_at, rss, done_at)
                minute += 1
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
    wall = time.perf_counter() - t0
    cpu_share = (time.process_time() - cpu0) / wall / (os.cpu_count() or 1) if wall > 0 else None
    tm = s.timing()
    lat = np.array(e2e if e2e else [ms for _, ms in lat_at], float)
    pms = np.array(pose.ms[1:] or [np.nan], float)
    pipe = np.array(list(s.pose_ms)[1:] or [np.nan], float)
    n = len(rss)
    head = np.nanmean([r for _, r in rss[n // 10: max(1, n // 5)]]) if n else float("nan")
    tail = np.nanmean([r for _, r in rss[-max(1, n // 10):]]) if n else float("nan")
    pct = lambda q: round(float(np.percentile(lat, q)), 2) if len(lat) else None  # noqa: E731
    res = {"clip": clip, "seconds": seconds, "transport": "webrtc-loopback" if webrtc else "direct",
           "processed_fps": tm["processed_fps"], "dropped_ratio": tm["dropped_ratio"],
           "latency_ms_p50": pct(50), "latency_ms_p95": pct(95), "latency_ms_p99": pct(99),
           "pose_ms": round(float(np.nanmean(pms)), 2), "pose_ms_per_frame": round(float(np.nanmean(pms)), 2),
           "pipeline_ms": round(float(np.nanmean(pipe)), 2),
           "overhead_ratio": round(float(np.nanmean(pipe) / np.nanmean(pms)), 3),
           "callback_ms_p95": round(float(np.percentile(cb_ms, 95)), 2) if cb_ms else None,
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
           "cpu_share": round(cpu_share, 3) if cpu_share is not None else None,
           "rss_growth_mb": round(float(tail - head), 1), "frames_in": tm["frames_in"],
           **_minute_figures(lat_at, rss, done_at, seconds),
           "sets": [e.brief() for e in s.sets]}
    _print(res, json_out)
    return res


def _print(res: dict, json_out: bool) -> None:
    if json_out:
        print(json.dumps(res))
        return
    for k, v in res.items():
        if k == "sessions":
            for i, ss in enumerate(v, 1):
                print(f"session {i}:")
                for kk, vv in ss.items():
                    print(f"  {kk:24s} {vv}")
        else:
            print(f"{k:24s} {v}")


def bench_concurrent(clips: list[str], seconds: float = 60, webrtc: bool = True, json_out: bool = False,
                     exercises: list | None = None, store=None) -> dict:
    """Several live sessions on one server at once: one event loop receives every stream (one aiortc peer
    connection per simulated browser on 127.0.0.1), each stream feeds its own threaded :class:`LiveSession` with
    its own pose model, as the page does with several tabs. Per session: processed fps, dropped ratio, latency
    (frame sent → overlay ready) p50/p95, sets found. ``webrtc=False``: one feeding thread per session instead."""
    exercises = list(exercises) if exercises else [None] * len(clips)
    loaded = [_load(c) for c in clips]
    sessions = []
    for clip, frames, ex in zip(clips, loaded, exercises):
        sessions.append(LiveSession(SessionConfig(exercise=ex, source="bench", record=store is not None,
                                                  title=clip), store=store, estimator=_warm_pose(frames),
                                    threaded=True))
    rss: list[tuple[float, float]] = []
    stop = threading.Event()
    t0 = time.perf_counter()
    th = _sampler(rss, t0, stop)
    links: list[dict] = []
    if webrtc:
        from ..replay import _webrtc_replay

        async def all_links():
            return await asyncio.gather(*[_webrtc_replay(c, s, True, frames=_looped(f, seconds))
                                          for c, s, f in zip(clips, sessions, loaded)])

        links = asyncio.run(all_links())
    else:
        def feed(s, frames):
            for fr in _looped(frames, seconds):
                d = t0 + fr.t - time.perf_counter()
                if d > 0:
                    time.sleep(d)
                s.on_frame(fr.image, fr.t)
            s.close("stream_ended")

        ths = [threading.Thread(target=feed, args=(s, f)) for s, f in zip(sessions, loaded)]
        for x in ths:
            x.start()
        for x in ths:
            x.join()
    stop.set()
    th.join()
    per = []
    for k, (clip, s) in enumerate(zip(clips, sessions)):
        tm = s.timing()
        lat = np.array(links[k]["e2e_ms"] if links else list(s.latencies_ms), float)
        pct = lambda q: round(float(np.percentile(lat, q)), 2) if len(lat) else None  # noqa: E731
        per.append({"clip": clip, "exercise": exercises[k], "session_id": s.session_id,
                    "processed_fps": tm["processed_fps"], "dropped_ratio": tm["dropped_ratio"],
                    "frames_in": tm["frames_in"], "frames_processed": tm["frames_processed"],
                    "latency_ms_p50": pct(50), "latency_ms_p95": pct(95), "pose_ms": tm["pose_ms"],
                    "errors": s.errors, "sets": [e.brief() for e in s.sets]})
    res = {"seconds": seconds, "transport": "webrtc-loopback" if webrtc else "direct", "n_sessions": len(clips),
           "total_processed_fps": round(sum(p["processed_fps"] for p in per), 2),
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
           "rss_mb_start": round(rss[0][1], 1) if rss else None, "rss_mb_end": round(rss[-1][1], 1) if rss else None,
           "sessions": per}
    _print(res, json_out)
    return res


if __name__ == "__main__":
    import argparse
    import os

    os.environ.setdefault("GLOG_minloglevel", "2")
    p = argparse.ArgumentParser(prog="spotter bench live")
    p.add_argument("clip", nargs="+", help="one clip; several with --concurrent (one session each)")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--webrtc", action="store_true")
    p.add_argument("--concurrent", action="store_true", help="one live session per clip, all at once")
    p.add_argument("--exercise", action="append", default=None,
                   help="with --concurrent: one per clip, in order (default: automatic)")
    p.add_argument("--record", metavar="DIR", default=None,
                   help="record the sessions (video, landmarks, reports) into a store in DIR, as the app does")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    store = None
    if a.record:
        from ..store import Store

        store = Store(a.record)
    if a.concurrent:
        bench_concurrent(a.clip, a.seconds, webrtc=True, json_out=a.json, exercises=a.exercise, store=store)
    else:
        bench_live(a.clip[0], a.seconds, a.webrtc, a.json, store=store)

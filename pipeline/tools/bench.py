"""Speed benchmarks that print figures (never timed unit tests)."""
from __future__ import annotations

import json
import platform
import time

import numpy as np

from ..intake.imagestats import ImageStatsMeter
from ..intake.video import VideoReader
from ..pose.cleaning import PoseCleaner
from ..pose.estimator import MediaPipePose
from ..report.draw import draw_panel, draw_skeleton


def machine() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def bench_pose(clip: str, json_out: bool = False, max_frames: int = 300) -> int:
    """Per-stage ms/frame on a clip: decode(+resize), image stats, pose, cleaning, drawing."""
    est = MediaPipePose()
    cleaner = PoseCleaner()
    meter = ImageStatsMeter()
    reader = VideoReader(clip)
    it = iter(reader)
    times = {k: [] for k in ("decode", "qc_stats", "pose", "clean", "draw")}
    # warm-up frame (model load, first inference) is not timed
    fr = next(it)
    cleaner.update(est.process(fr.image, fr.t))
    n = 0
    while n < max_frames:
        t0 = time.perf_counter()
        try:
            fr = next(it)
        except StopIteration:
            break
        t1 = time.perf_counter()
        meter.update(fr.image, fr.t)
        t2 = time.perf_counter()
        pf = est.process(fr.image, fr.t)
        t3 = time.perf_counter()
        cf = cleaner.update(pf)
        t4 = time.perf_counter()
        if cf.valid:
            draw_skeleton(fr.image, cf.image, cf.mask)
        draw_panel(fr.image, ["squat 0.93", "reps 3", "phase rising"], None)
        t5 = time.perf_counter()
        for k, a, b in (("decode", t0, t1), ("qc_stats", t1, t2), ("pose", t2, t3), ("clean", t3, t4),
                        ("draw", t4, t5)):
            times[k].append((b - a) * 1000)
        n += 1
    reader.close()
    est.close()
    ms = {k: float(np.mean(v)) if v else 0.0 for k, v in times.items()}
    total = sum(ms.values())
    res = {"clip": clip, "frames": n, "pose_size": f"{reader.info.pose_width}x{reader.info.pose_height}",
           **{f"{k}_ms": round(v, 3) for k, v in ms.items()},
           "total_ms": round(total, 3), "overhead_ratio": round(total / ms["pose"], 3) if ms["pose"] else None,
           "machine": machine()}
    if json_out:
        print(json.dumps(res))
    else:
        print(f"{clip}: {n} frames at {res['pose_size']} on {res['machine']}")
        for k, v in ms.items():
            print(f"  {k:9s} {v:7.2f} ms/frame")
        print(f"  {'total':9s} {total:7.2f} ms/frame  ({1000 / total:.1f} fps)")
        print(f"  total / pose-only = {res['overhead_ratio']}")
    return 0

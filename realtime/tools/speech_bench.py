"""The voice's figures: synthesis per phrase, and rep → spoken count latency in a real-time live session.

    python -m realtime.tools.speech_bench [CLIP --exercise NAME] [--seconds S] [--json]

Without a clip: espeak-ng's start, then each phrase's first synthesis (+ WAV) and a cached one. With a clip: the
clip fed at its own pace into a threaded :class:`~realtime.session.LiveSession` (MediaPipe pose, direct feed),
twice (every phrase new, then all cached), measuring on the server the time from the arrival of the frame that
completes a rep to its spoken count's audio being ready. See docs/voice.md.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

from ..replay import replay
from ..speech import CACHE, PRAISE, REST_OVER, EspeakVoice, audio_ms_of, render, wav_bytes


def bench(clip: str | None = None, exercise: str | None = None, seconds: float | None = None) -> dict:
    """Synthesis per phrase (library start, first/cold phrase, cached) in this process, and — with ``clip`` — the
    server-side latency from the frame that completes a rep to its spoken count's audio being ready, on a real-time
    threaded live session fed the clip at its own pace (MediaPipe pose, direct feed)."""
    out: dict = {}
    t0 = time.perf_counter()
    voice = EspeakVoice()
    out["init_ms"] = round((time.perf_counter() - t0) * 1000.0, 2)
    phrases = ["1", "12", "Set done, 12 reps.", "Chest up.", PRAISE[0], REST_OVER,
               "Step back until your feet are in the frame."]
    rows = []
    for text in phrases:
        a = time.perf_counter()
        pcm, rate, _, cached = render(voice, text)
        wav = wav_bytes(pcm, rate)
        cold = (time.perf_counter() - a) * 1000.0
        reps = 200
        a = time.perf_counter()
        for _ in range(reps):
            pcm2, rate2, _, hit = render(voice, text)
            wav_bytes(pcm2, rate2)
        warm = (time.perf_counter() - a) * 1000.0 / reps
        rows.append({"text": text, "audio_ms": audio_ms_of(len(pcm), rate), "wav_bytes": len(wav),
                     "cold_ms": round(cold, 2), "cached_ms": round(warm, 4), "was_cached": cached})
    out["phrases"] = rows
    if clip:
        CACHE.clear()  # first pass: every phrase new (a first set); second pass: all from the cache
        for key in ("live", "live_cached"):
            r = replay(clip, realtime=True, exercise=exercise, webrtc=False, stop_after_s=seconds)
            out[key] = {"clip": clip, "sets": r["sets"], "speech": r["speech"], "speech_timing": r["speech_timing"],
                        "frame_latency_ms_p50": r["timing"]["latency_ms_p50"],
                        "frame_latency_ms_p95": r["timing"]["latency_ms_p95"],
                        "processed_fps": r["timing"]["processed_fps"], "dropped_ratio": r["timing"]["dropped_ratio"]}
    return out


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GLOG_minloglevel", "2")
    p = argparse.ArgumentParser(prog="python -m realtime.tools.speech_bench", description=__doc__.split("\n")[0])
    p.add_argument("clip", nargs="?")
    p.add_argument("--exercise", default=None)
    p.add_argument("--seconds", type=float, default=None, help="stop the clip after this many seconds")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    r = bench(a.clip, a.exercise, a.seconds)
    if a.json:
        print(json.dumps(r))
        return 0
    print(f"espeak-ng start: {r['init_ms']} ms")
    for row in r["phrases"]:
        print(f"  {row['text']!r:50s} audio {row['audio_ms']:7.1f} ms  first {row['cold_ms']:6.2f} ms  "
              f"cached {row['cached_ms']:.4f} ms")
    for key in ("live", "live_cached"):
        if key not in r:
            continue
        lv, st = r[key], r[key]["speech_timing"]
        print(f"{key} ({lv['clip']}): sets {[(x['exercise'], x['reps']) for x in lv['sets']]}, "
              f"{lv['processed_fps']} fps, dropped {lv['dropped_ratio']:.1%}, frame latency p50/p95 "
              f"{lv['frame_latency_ms_p50']}/{lv['frame_latency_ms_p95']} ms")
        print(f"  rep completed (frame arrival) → count audio ready: p50 {st['count_latency_ms_p50']} ms, "
              f"p95 {st['count_latency_ms_p95']} ms over {sum(1 for u in lv['speech'] if u['kind'] == 'count')} "
              f"counts ({st['cache_hits']} from the cache); of which the voice (decided → audio ready) p50 "
              f"{st['count_voice_ms_p50']} / p95 {st['count_voice_ms_p95']} ms; all utterances p50 "
              f"{st['latency_ms_p50']} / p95 {st['latency_ms_p95']} ms; dropped {st['dropped']}")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

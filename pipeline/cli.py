"""``spotter`` command line: analyze, eval, bench. Errors a user can fix print one line and exit 2."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from .errors import SpotterError


def _quiet_native_logs() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def cmd_analyze(a: argparse.Namespace) -> int:
    from .analyze import analyze_file, report_json

    res = analyze_file(a.video, a.out, exercise=a.exercise, use_cache=a.cache, progress=not a.no_progress,
                       render=not a.no_video)
    rep = res.report
    if a.json:
        print(report_json(rep))
    else:
        v = rep.video
        print(f"{v.path}: {v.duration_s:.1f}s {v.width}x{v.height} @ {v.fps:.1f} fps"
              f"{' (VFR)' if v.vfr else ''}{f' rotated {v.rotation}' if v.rotation else ''}")
        print(f"person found on {rep.pose.detected_ratio:.0%} of frames (usable {rep.pose.valid_ratio:.0%})")
        if rep.exercise:
            print(f"exercise: {rep.exercise.label} ({rep.exercise.confidence:.2f}, {rep.exercise.source})")
        if rep.reps is not None:
            print(f"reps: {rep.reps.count}" + (f" (+{rep.reps.partial} partial)" if rep.reps.partial else ""))
        for iss in rep.issues:
            print(f"  issue: {iss.label} (rep {iss.rep}) {iss.metric}={iss.value:.1f} vs {iss.threshold:.1f}")
        for w in rep.qc.warnings:
            print(f"  qc: {w.message}")
        print(f"wrote {os.path.join(a.out, 'report.json')}")
    if not rep.qc.ok:
        print("spotter: error: no person found in the video; nothing to analyse (see report.json qc)",
              file=sys.stderr)
        return 2
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    from .evaluate import run_eval

    return run_eval(a.manifest, a.exercise_from_manifest, a.json)


def cmd_bench(a: argparse.Namespace) -> int:
    from . import bench

    if a.what == "pose":
        return bench.bench_pose(a.clip, json_out=a.json, max_frames=a.frames)
    raise SpotterError(f"unknown benchmark: {a.what}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spotter", description="Spotter: local workout form coach")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = p.add_subparsers(dest="cmd", required=True)

    an = sub.add_parser("analyze", help="analyse a video file and write report.json + annotated.mp4")
    an.add_argument("video")
    an.add_argument("--out", default="out", help="output folder (default: ./out)")
    an.add_argument("--json", action="store_true", help="also print the report to stdout")
    an.add_argument("--exercise", choices=["squat", "push_up", "shoulder_press"], default=None,
                    help="force the exercise instead of detecting it")
    an.add_argument("--no-video", action="store_true", help="skip the annotated video")
    an.add_argument("--no-progress", action="store_true", help="no progress bar")
    an.add_argument("--cache", action="store_true", help="keep pose results in the cache folder (SPOTTER_CACHE)")
    an.set_defaults(func=cmd_analyze)

    ev = sub.add_parser("eval", help="evaluate rep counting and exercise routing on a manifest of clips")
    ev.add_argument("manifest")
    ev.add_argument("--exercise-from-manifest", action="store_true",
                    help="count reps with the manifest's exercise instead of the router's")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_eval)

    be = sub.add_parser("bench", help="speed benchmarks that print figures")
    be.add_argument("what", choices=["pose"])
    be.add_argument("clip")
    be.add_argument("--frames", type=int, default=300, help="frames to time (default 300)")
    be.add_argument("--json", action="store_true")
    be.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    _quiet_native_logs()
    parser = build_parser()
    a = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if a.debug else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return int(a.func(a) or 0)
    except SpotterError as e:
        print(f"spotter: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("spotter: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # last resort: one line, never a traceback (unless --debug)
        if a.debug:
            raise
        print(f"spotter: internal error: {type(e).__name__}: {e} (run with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

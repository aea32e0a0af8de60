"""``spotter`` command line: analyze, app, replay, progress, eval, bench. Errors a user can fix print one line and
exit 2."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from ..errors import SpotterError


def _quiet_native_logs() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def cmd_analyze(a: argparse.Namespace) -> int:
    from ..analyze import analyze_file
    from ..movement.exercises import names as builtin
    from ..report.artifacts import report_json
    from .teach import resolve_exercise

    a.exercise = resolve_exercise(a.exercise)  # a built-in or a taught exercise
    intended = a.exercise if a.exercise in builtin() else None  # the profile names built-in exercises only
    profile = {k: v for k, v in (("goal", a.goal), ("experience", a.experience),
                                 ("equipment", a.equipment.split(",") if a.equipment else None),
                                 ("intended_exercise", intended), ("intended_variation", a.variation)) if v}
    llm = False if a.no_llm else (a.llm or None)
    res = analyze_file(a.video, a.out, exercise=a.exercise, use_cache=a.cache, progress=not a.no_progress,
                       render=not a.no_video, profile=profile or None, llm=llm)
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
        for v in rep.variations:
            print(f"  variation: {v.label}")
        for w in rep.qc.warnings:
            print(f"  qc: {w.message}")
        if rep.summary is not None:
            print(f"summary ({rep.summary.source}): {rep.summary.headline}")
        print(f"wrote {os.path.join(a.out, 'report.json')}")
    if not rep.qc.ok:
        print("spotter: error: no person found in the video; nothing to analyse (see report.json qc)",
              file=sys.stderr)
        return 2
    return 0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the app gets SIGTERM if ``spotter app`` itself dies without a word (SIGKILL, a crash)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def cmd_app(a: argparse.Namespace) -> int:
    """Start the Streamlit app on this machine only (unless --address says otherwise).

    The app runs as a child process in its own process group. ``spotter app`` passes a stop on to it and waits
    for it: SIGTERM (a service manager, ``docker stop``), SIGHUP (the terminal closed) and Ctrl+C each reach the
    app exactly once as SIGTERM, which stores the sets in progress and ends (``realtime/app_server.py``); if it
    has not ended after 30 s it is killed. If ``spotter app`` is killed outright, the app is told to stop by the
    kernel (PR_SET_PDEATHSIG). Before issue 23 a SIGTERM ended ``spotter`` and left Streamlit serving the port."""
    import signal
    import subprocess
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    if not (root / "streamlit_app.py").exists() or not (root / "realtime" / "app_server.py").exists():
        raise SpotterError(f"streamlit_app.py / realtime/app_server.py not found in {root}")
    from realtime.app_server import command  # the page (streamlit_app.py) + the page channel's routes

    print(f"Spotter on http://{a.address}:{a.port}  (Ctrl+C to stop)", file=sys.stderr)
    proc = subprocess.Popen(command(a.port, a.address), cwd=root, start_new_session=True,
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
    stopping: list[float] = []  # when the first stop signal came

    def stop(_signum, _frame) -> None:
        if not stopping:
            stopping.append(time.monotonic())
            print("spotter: stopping (the sets in progress are stored)…", file=sys.stderr)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        while True:
            try:
                rc = proc.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                if stopping and time.monotonic() - stopping[0] > 30:
                    proc.kill()
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return 0 if stopping else rc


def cmd_replay(a: argparse.Namespace) -> int:
    from realtime.replay import run_replay

    from .teach import resolve_exercise

    a.exercise = resolve_exercise(a.exercise)
    return int(run_replay(a.video, realtime=a.realtime, json_out=a.json, exercise=a.exercise,
                          speak_count=a.speak_count, mute=a.mute, save=a.save, date=a.date,
                          direct=a.direct) or 0)


def cmd_progress(a: argparse.Namespace) -> int:
    """Progress across the stored sessions: the table and the bests (or JSON), and the CSV export of the sets."""
    import json

    from realtime import progress as prog
    from realtime.store import Store

    since = None
    if a.since:
        try:
            since = prog.parse_date(a.since)
        except ValueError as e:
            raise SpotterError(str(e)) from None
    data = prog.progress(Store(), exercise=a.exercise, since=since)
    if a.csv:
        text = prog.sets_csv(data)
        if a.csv == "-":
            sys.stdout.write(text)
        else:
            with open(a.csv, "w", newline="") as f:
                f.write(text)
            n = sum(len(d["sets"]) for d in data.values())
            print(f"wrote {n} sets to {a.csv}", file=sys.stderr)
        if a.csv == "-" or not a.json:
            return 0
    if a.json:
        print(json.dumps(data))
    else:
        sys.stdout.write(prog.format_progress(data, unit=a.unit, by=a.by))
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    if a.taught:
        from .teach_eval import run_taught_eval

        return run_taught_eval(a.manifest, a.json, movements=a.more or None)
    if a.coach:  # the coach's words: the local model's summaries through the verifier (docs/coach.md)
        from .coach_eval import run_coach_eval

        return run_coach_eval([m for m in [a.manifest, *a.more] if m], a.llm, a.json, limit=a.limit)
    if a.faults:
        from .faults import run_faults

        if not a.manifest:
            raise SpotterError("eval --faults needs a MANIFEST")
        return run_faults([a.manifest, *a.more], a.json, assume_clean=a.assume_clean,
                          constructed=not a.no_constructed)
    from .evaluate import run_eval

    manifests = [m for m in [a.manifest, *a.more] if m]
    return run_eval(manifests, a.exercise_from_manifest, a.json, router_report=not a.no_router_report,
                    codec_kbps=None if a.no_codec else a.codec_kbps, heldout=not a.no_heldout)


def cmd_bench(a: argparse.Namespace) -> int:
    from . import bench

    if a.what == "pose":
        if not a.clip:
            raise SpotterError("bench pose needs a CLIP")
        return bench.bench_pose(a.clip, json_out=a.json, max_frames=a.frames)
    if a.what == "report":
        from .bench_report import bench_report

        bench_report(json_out=a.json, model=a.llm)
        return 0
    if a.what == "live":
        if not a.clip:
            raise SpotterError("bench live needs a CLIP")
        from realtime.tools.bench import bench_live

        bench_live(a.clip, seconds=a.seconds or 60.0, webrtc=a.webrtc, json_out=a.json)
        return 0
    if a.what == "concurrent":
        clips = [c for c in [a.clip, *a.more] if c]
        if len(clips) < 2:
            raise SpotterError("bench concurrent needs two or more CLIPs")
        from realtime.tools.bench import bench_concurrent

        bench_concurrent(clips, seconds=a.seconds or 60.0, webrtc=True, json_out=a.json)
        return 0
    if a.what == "browser":
        if not a.clip:
            raise SpotterError("bench browser needs a CLIP")
        from realtime.tools.bench_browser import bench_browser

        bench_browser(a.clip, seconds=a.seconds, json_out=a.json, loops=a.loops)
        return 0
    raise SpotterError(f"unknown benchmark: {a.what}")


def build_parser() -> argparse.ArgumentParser:
    from ..movement.exercises import names as exercise_names

    exercises = exercise_names()
    p = argparse.ArgumentParser(prog="spotter", description="Spotter: local workout form coach")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = p.add_subparsers(dest="cmd", required=True)

    an = sub.add_parser("analyze", help="analyse a video file and write report.json + annotated.mp4")
    an.add_argument("video")
    an.add_argument("--out", default="out", help="output folder (default: ./out)")
    an.add_argument("--json", action="store_true", help="also print the report to stdout")
    an.add_argument("--exercise", default=None, metavar="NAME",
                    help=f"force the exercise instead of detecting it: {', '.join(exercises)} or a taught one "
                         "(spotter exercises)")
    an.add_argument("--no-video", action="store_true", help="skip the annotated video")
    an.add_argument("--no-progress", action="store_true", help="no progress bar")
    an.add_argument("--cache", action="store_true", help="keep pose results in the cache folder (SPOTTER_CACHE)")
    an.add_argument("--llm", default=None, metavar="GGUF",
                    help="chat model for the coach summary (default: $SPOTTER_LLM_MODEL, else deterministic)")
    an.add_argument("--no-llm", action="store_true", help="deterministic summary only")
    an.add_argument("--goal", help="training goal, e.g. strength")
    an.add_argument("--experience", choices=["beginner", "intermediate", "advanced"])
    an.add_argument("--equipment", help="comma-separated, e.g. barbell,rack")
    an.add_argument("--variation", help="intended variation code, e.g. pause_squat")
    an.set_defaults(func=cmd_analyze)

    ap = sub.add_parser("app", help="start the live coaching app (Streamlit) on localhost")
    ap.add_argument("--address", default="127.0.0.1", help="interface to listen on (default 127.0.0.1 only)")
    ap.add_argument("--port", type=int, default=8501)
    ap.set_defaults(func=cmd_app)

    rp = sub.add_parser("replay", help="stream a video over a loopback WebRTC connection into the live pipeline")
    rp.add_argument("video")
    rp.add_argument("--realtime", action="store_true", help="pace frames at the video's speed")
    rp.add_argument("--json", action="store_true")
    rp.add_argument("--exercise", default=None, metavar="NAME",
                    help=f"{', '.join(exercises)} or a taught exercise (default: automatic)")
    rp.add_argument("--speak-count", choices=["every", "5", "off"], default="every",
                    help="the voice counts every rep (default), every 5th, or not at all")
    rp.add_argument("--mute", action="store_true",
                    help="no audio: what the voice would say is still listed (\"muted\": true, audio_ms 0)")
    rp.add_argument("--save", action="store_true",
                    help="store the session ($SPOTTER_DATA) as the app does: it shows in History and Progress")
    rp.add_argument("--date", default=None, metavar="DATE",
                    help="with --save: when the session took place, YYYY-MM-DD or YYYY-MM-DDTHH:MM (local time)")
    rp.add_argument("--direct", action="store_true",
                    help="no WebRTC: the decoded frames go straight into the live session (for comparison)")
    rp.set_defaults(func=cmd_replay)

    pg = sub.add_parser("progress", help="progress across the stored sessions: per exercise, sets, bests, trends")
    pg.add_argument("--exercise", choices=exercises, default=None, help="one exercise (default: all)")
    pg.add_argument("--since", default=None, metavar="DATE", help="sessions from this date on (YYYY-MM-DD)")
    pg.add_argument("--json", action="store_true",
                    help="print {exercise: {sessions: [...], sets: [...], bests: {...}, trends: {...}}}")
    pg.add_argument("--csv", default=None, metavar="FILE", help="write every set as CSV to FILE ('-': stdout)")
    pg.add_argument("--by", choices=["day", "week", "month"], default="day", help="table rows: sessions by day "
                    "(default), or totals per ISO week or month")
    pg.add_argument("--unit", choices=["kg", "lb"], default="kg", help="loads in the table (JSON is in kg)")
    pg.set_defaults(func=cmd_progress)

    ev = sub.add_parser("eval", help="evaluate rep counting and exercise routing on manifests of clips")
    ev.add_argument("manifest", nargs="?", default=None,
                    help="a manifest.csv (default: the three dev sets in ../shared/data; --coach: every dev clip)")
    ev.add_argument("more", nargs="*", help="more manifests, scored together")
    ev.add_argument("--faults", action="store_true",
                    help="judge form faults: the manifest's fault column vs the issues raised, per rule and per clip, "
                         "plus constructed faults (see docs/judgement.md)")
    ev.add_argument("--taught", action="store_true",
                    help="taught exercises: teach each movement of the manifest (tests/data/taught_manifest.csv) from "
                         "its demonstration clip and count it on the other clips (more: only these movements)")
    ev.add_argument("--assume-clean", action="store_true",
                    help="--faults: score a manifest without a fault column as clean sets")
    ev.add_argument("--no-constructed", action="store_true", help="--faults: skip the constructed-fault table")
    ev.add_argument("--exercise-from-manifest", action="store_true",
                    help="count reps with the manifest's exercise instead of the router's")
    ev.add_argument("--coach", action="store_true",
                    help="the coach summary: local model's text through the verifier on every dev clip's report and "
                         "a few training profiles (pass rate, failures by check, tokens per second)")
    ev.add_argument("--llm", default=None, metavar="GGUF",
                    help="--coach: model to evaluate (default: $SPOTTER_LLM_MODEL, else SmolLM2 if installed)")
    ev.add_argument("--limit", type=int, default=None, help="--coach: only the first N reports")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--no-router-report", action="store_true",
                    help="skip the router's network-vs-baseline evaluation")
    ev.add_argument("--codec-kbps", type=int, default=1000, metavar="KBPS",
                    help="also count each clip as a webcam stream delivers it: 640x480, at most 30 fps, VP8 at this "
                         "bitrate and back (default 1000; cached after the first run)")
    ev.add_argument("--no-codec", action="store_true", help="skip the webcam (VP8) runs")
    ev.add_argument("--no-heldout", action="store_true",
                    help="route with the shipped ensemble instead of the fold model that never saw each clip's source")
    ev.set_defaults(func=cmd_eval)

    from .teach import add_parsers as add_teach

    add_teach(sub)

    be = sub.add_parser("bench", help="speed benchmarks that print figures")
    be.add_argument("what", choices=["pose", "live", "concurrent", "report", "browser"])
    be.add_argument("clip", nargs="?")
    be.add_argument("more", nargs="*", help="concurrent: more clips, one live session each")
    be.add_argument("--frames", type=int, default=300, help="pose: frames to time (default 300)")
    be.add_argument("--seconds", type=float, default=None,
                    help="live: seconds to stream (default 60); browser: seconds from START (default: the clip once)")
    be.add_argument("--loops", type=int, default=1, help="browser: play the clip this many times (no --seconds)")
    be.add_argument("--webrtc", action="store_true", help="live: over an aiortc loopback connection")
    be.add_argument("--llm", default=None, metavar="GGUF", help="report: model to time (default: SmolLM2 if installed)")
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
    except OSError as e:  # disk full, read-only folder, permissions: the user can act on these
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"spotter: error: cannot read or write a file: {e.strerror or e}{where}", file=sys.stderr)
        return 2
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

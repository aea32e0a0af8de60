"""``spotter eval --coach``: how often the local model's summary passes the verifier on held-out reports.

Held-out reports: every dev clip's report (the manifests' clips, analysed by the normal batch path with the pose
cache) and a few training profiles (synthetic sets with a user's goal, experience and intended exercise, covering
fixes, variations, borderline findings and low-confidence notes that the clips do not). The model never saw any of
them. For each report the model writes its prose (up to ``ATTEMPTS`` tries) and the verifier checks the whole
summary; the deterministic text is checked too. Prints the pass rate (first try and in the end), the failures by
check, invalid outputs and time-outs, tokens per second and the time per summary.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Optional

from ..coach import DEFAULT_TIMEOUT_S, load_cards, verify_summary, write_summary
from ..coach.deterministic import deterministic_summary
from ..coach.samples import sample_report
from ..schema import Profile, Report

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SPOTTER_SHARED", ROOT.parent / "shared"))  # the dev clips, read in place
DEV_MANIFESTS = tuple(SHARED / "data" / d / "manifest.csv" for d in ("clips", "more_clips", "more_clips2"))


def training_profiles() -> list[tuple[str, Report]]:
    """Synthetic sets with a user's training profile: what the dev clips lack (fixes, several issues, lunges'
    sides, borderline findings next to faults, low pose / router confidence, an intended exercise that differs)."""
    P = Profile
    out = [
        ("profile:squat_beginner_two_faults", sample_report(
            "squat", reps=8, partial=1, issues={"knee_valgus": [2, 4, 5], "shallow_squat": [7]},
            borderline={"forward_lean": [3]}, profile=P(goal="technique", experience="beginner",
                                                        equipment=["none"]))),
        ("profile:pushup_knee_strength", sample_report(
            "push_up", reps=10, variations=["knee_push_up"], not_judged=["elbow_flare"],
            profile=P(goal="strength", experience="intermediate"))),
        ("profile:press_lowconf", sample_report(
            "shoulder_press", reps=5, issues={"incomplete_lockout": [4, 5]}, variations=["push_press"],
            confidence=0.55, view=None, valid_ratio=0.7, profile=P(goal="strength", experience="advanced",
                                                                    equipment=["barbell"]))),
        ("profile:rdl_borderline", sample_report(
            "deadlift", reps=5, variations=["romanian_deadlift"], borderline={"soft_lockout": [2, 5]},
            not_judged=["bar_drift"], suppresses={"romanian_deadlift": ["hips_rise_first", "chest_down"]},
            profile=P(goal="general fitness", experience="intermediate", equipment=["dumbbells"]))),
        ("profile:deadlift_three_faults", sample_report(
            "deadlift", reps=6, issues={"hips_rise_first": [2, 3], "bar_drift": [5], "fast_lowering": [6]},
            profile=P(goal="strength", experience="beginner", equipment=["barbell"]))),
        ("profile:lunge_shallow", sample_report(
            "lunge", reps=6, issues={"shallow_lunge": [1, 3]}, variations=["reverse_lunge"],
            profile=P(goal="technique", experience="beginner"))),
        ("profile:squat_intent_dark", sample_report(
            "squat", reps=6, qc_warnings=("dark",), view="front", not_judged=["shallow_squat", "forward_lean"],
            profile=P(intended_exercise="push_up", experience="intermediate"))),
        ("profile:pushup_sag_flare", sample_report(
            "push_up", reps=12, issues={"hip_sag": [3, 4, 5, 6], "elbow_flare": [10]},
            profile=P(goal="strength", experience="advanced"))),
    ]
    for name, r in out:  # lunges lead with a leg each rep
        if r.exercise and r.exercise.label == "lunge" and r.reps:
            for it in r.reps.items:
                if it.index > 0:
                    it.side = "left" if it.index % 2 else "right"
    return out


def dev_reports(manifests: Iterable[Path] = DEV_MANIFESTS, progress: bool = True,
                limit: Optional[int] = None) -> list[tuple[str, Report]]:
    """Every dev clip's report (no summary), by the normal batch analysis with the pose cache (the first
    ``limit`` only, when given)."""
    from models.manifest import read_manifest

    from ..analyze import analyze_file

    out = []
    for m in manifests:
        m = Path(m)
        if not m.exists():
            continue
        rows = read_manifest(m)
        for k, r in enumerate(rows):
            if limit is not None and len(out) >= limit:
                return out
            if progress:
                print(f"[{m.parent.name} {k + 1}/{len(rows)}] {r.file}", file=sys.stderr, flush=True)
            a = analyze_file(r.path, None, use_cache=True)
            if a.report.qc.ok:  # a report without a person gets no summary at all
                out.append((f"{m.parent.name}/{r.stem}", a.report))
    return out


def default_model() -> Optional[str]:
    from ..coach.llm import smollm2_path

    p = os.environ.get("SPOTTER_LLM_MODEL") or smollm2_path()
    return str(p) if p else None


def evaluate_coach(reports: list[tuple[str, Report]], llm: Any, timeout_s: float = DEFAULT_TIMEOUT_S,
                   attempts: Optional[int] = None, progress: bool = True) -> dict:
    """Model summary (when ``llm``) and deterministic summary of each report, verified."""
    from ..coach.llm import load_llm

    cards = load_cards()
    model = None
    load_s = None
    if llm:
        t0 = time.perf_counter()
        model = load_llm(llm)
        load_s = time.perf_counter() - t0
    rows = []
    for k, (name, rep) in enumerate(reports):
        det = deterministic_summary(rep, cards)
        det_fails = verify_summary(det, rep, cards)
        row: dict[str, Any] = {"report": name, "deterministic_passed": not det_fails,
                               "deterministic_failures": sorted({f.check for f in det_fails})}
        if model is not None:
            t0 = time.perf_counter()
            s, v = write_summary(rep, cards=cards, llm=model, timeout_s=timeout_s, attempts=attempts)
            wall = time.perf_counter() - t0
            model_tries = [a for a in v.attempts if a.source == "model"]
            row.update(source=s.source, passed=s.source == "model", reason=s.reason, seconds=round(wall, 2),
                       tokens=s.tokens, tokens_per_s=s.tokens_per_s, tries=len(model_tries),
                       first_try_passed=bool(model_tries) and model_tries[0].passed and s.source == "model",
                       failures=[sorted({f.check for f in a.failures}) for a in model_tries if not a.passed],
                       failure_detail=[f"{f.check} [{f.section}] {f.detail}" for a in model_tries
                                       for f in a.failures][:6],
                       text=_prose(s) if s.source == "model" else None)
        rows.append(row)
        if progress:
            tag = ("model" if row.get("passed") else "FALLBACK") if model is not None else "deterministic"
            print(f"[{k + 1}/{len(reports)}] {name}: {tag} {row.get('reason', '')}", file=sys.stderr, flush=True)
    return {"model": Path(llm).name if llm else None, "model_load_s": load_s, "reports": rows,
            **_totals(rows, model is not None)}


def _prose(s) -> dict:
    return {"what_you_did": s.what_you_did, "looked_good": s.looked_good,
            "fix": s.fix_first[0].text if s.fix_first else None, "next_session": s.next_session}


def _totals(rows: list[dict], with_model: bool) -> dict:
    n = len(rows)
    out: dict[str, Any] = {"n": n, "deterministic_pass_rate": sum(r["deterministic_passed"] for r in rows) / n
                           if n else 0.0}
    if not with_model or not n:
        return out
    by_check: Counter = Counter()
    for r in rows:
        for checks in r["failures"]:
            by_check.update(checks)
    other: Counter = Counter()
    for r in rows:
        if not r["passed"]:
            for key in ("invalid JSON", "timed out", "generation failed", "unknown slot"):
                if key in r["reason"]:
                    other[key] += 1
    secs = sorted(r["seconds"] for r in rows)
    tps = [r["tokens_per_s"] for r in rows if r.get("tokens_per_s")]
    out.update(pass_rate=sum(r["passed"] for r in rows) / n,
               first_try_pass_rate=sum(r["first_try_passed"] for r in rows) / n,
               tries=sum(r["tries"] for r in rows), failed_tries=sum(len(r["failures"]) for r in rows),
               failures_by_check=dict(by_check.most_common()), other_failures=dict(other),
               tokens_per_s_median=statistics.median(tps) if tps else None,
               seconds_median=statistics.median(secs), seconds_p90=secs[min(n - 1, int(0.9 * n))],
               seconds_total=round(sum(secs), 1), tokens_total=sum(r["tokens"] or 0 for r in rows))
    return out


def format_coach_eval(res: dict) -> str:
    L = []
    n = res["n"]
    if res.get("model"):
        L.append(f"{'report':60s} {'writer':13s} {'tries':>5s} {'s':>6s} {'tok/s':>6s}  failed checks")
        for r in res["reports"]:
            fails = "; ".join(",".join(c) for c in r["failures"]) or "-"
            L.append(f"{r['report'][:60]:60s} {('model' if r['passed'] else 'deterministic'):13s} "
                     f"{r['tries']:>5d} {r['seconds']:>6.1f} {r['tokens_per_s'] or 0:>6.1f}  {fails}")
        L.append("")
        L.append(f"model: {res['model']} (loaded in {res['model_load_s']:.1f} s)")
        L.append(f"held-out reports: {n}")
        L.append(f"model text passed the verifier: {res['pass_rate']:.1%} "
                 f"({round(res['pass_rate'] * n)}/{n}); on the first try: {res['first_try_pass_rate']:.1%}")
        L.append(f"model tries: {res['tries']}, rejected by the verifier: {res['failed_tries']}")
        fb = res["failures_by_check"]
        L.append("failures by check (rejected tries): " + (", ".join(f"{k} {v}" for k, v in fb.items()) or "none"))
        if res["other_failures"]:
            L.append("other failures (reports): " + ", ".join(f"{k} {v}" for k, v in res["other_failures"].items()))
        tps = res["tokens_per_s_median"]
        L.append(f"tokens per second (median of reports): {tps:.1f}" if tps else "tokens per second: -")
        L.append(f"time per summary: median {res['seconds_median']:.1f} s, p90 {res['seconds_p90']:.1f} s, "
                 f"all {res['seconds_total']:.0f} s ({res['tokens_total']} tokens)")
    else:
        L.append("no local model (install one with .ci/install_llm.sh or pass --llm GGUF): deterministic text only")
    L.append(f"deterministic text passed the verifier: {res['deterministic_pass_rate']:.1%} of {n} reports")
    return "\n".join(L)


def run_coach_eval(manifests: Optional[list[str]], llm: Optional[str], json_out: bool, limit: Optional[int] = None,
                   profiles: bool = True) -> int:
    from ..coach.llm import llama_available

    reps = dev_reports([Path(m) for m in manifests] if manifests else DEV_MANIFESTS, progress=not json_out,
                       limit=limit)
    if profiles:
        reps += training_profiles()
    if limit:
        reps = reps[:limit]
    path = llm or default_model()
    if path and not llama_available():
        print("spotter: llama-cpp-python is not installed (.ci/install_llm.sh): deterministic text only",
              file=sys.stderr)
        path = None
    res = evaluate_coach(reps, path, progress=not json_out)
    if json_out:
        print(json.dumps(res))
    else:
        print(format_coach_eval(res))
    return 0

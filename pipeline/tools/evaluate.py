"""``spotter eval``: rep counting (live path vs batch path) and exercise routing on a manifest of clips."""
from __future__ import annotations

import csv
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..live import LivePipeline
from ..movement.routing import SUPPORTED, batch_decision
from ..movement.run import MovementRun
from ..pose.track import clean_track, extract_pose

LABELS = (*SUPPORTED, "unknown")


def read_manifest(path: str | Path) -> tuple[Path, list[dict]]:
    """The manifest's rows as dicts (``file``, ``class``, ``reps``, ``fault``). The true class and reps follow
    ``models/manifest.py``: clips the data README re-files once their exercise is supported (the two lunges under
    ``unknown/``) are scored as that exercise; reps that are not a number are not scored."""
    from models.manifest import read_manifest as read_rows

    p = Path(path)
    if not p.exists():
        raise InputError(f"manifest not found: {p}")
    with open(p, newline="") as f:
        header = next(csv.reader(f), [])
    if not {"file", "class", "reps"} <= set(header):
        raise InputError(f"manifest needs the columns file, class, reps: {p}")
    rows = [{"file": r.file, "class": r.label, "reps": "" if r.reps is None else str(r.reps), "fault": r.fault}
            for r in read_rows(p, labels=SUPPORTED)]
    if not rows:
        raise InputError(f"manifest has no clips: {p}")
    return p.parent, rows


def live_count(track, exercise: str | None, router="auto") -> tuple[int, str, float | None]:
    """Feed the clip's frames one at a time through the live pipeline (no look-ahead)."""
    lp = LivePipeline(exercise=exercise, router=router if exercise is None else None, keep_frames=False)
    for pf, st in zip(track.frames(), track.frame_stats()):
        lp.process_pose(pf, st)
    count = lp.total_reps
    return count, lp.label, lp.t_commit


def evaluate(manifest: str | Path, exercise_from_manifest: bool = False, use_cache: bool = True,
             progress: bool = True) -> dict:
    base, rows = read_manifest(manifest)
    clips = []
    for k, r in enumerate(rows):
        path = base / r["file"]
        true_cls = r["class"]
        if progress:
            print(f"[{k + 1}/{len(rows)}] {r['file']}", file=sys.stderr, flush=True)
        info, track = extract_pose(path, use_cache=use_cache)
        clean, _ = clean_track(track)
        forced = true_cls if exercise_from_manifest and true_cls in SUPPORTED else None
        dec = batch_decision(clean, forced=forced, with_live_commit=False)
        routed = batch_decision(clean, with_live_commit=False) if forced else dec
        label = dec.label
        batch = MovementRun(label, clean).evidence.reps.count if label in SUPPORTED else None
        live, live_label, t_commit = live_count(track, forced)
        live = live if live_label in SUPPORTED else None
        true_reps = int(r["reps"]) if r["reps"].strip().isdigit() else None
        clips.append(dict(file=r["file"], cls=true_cls, true_reps=true_reps, label=label, source=dec.source,
                          routed=routed.label, routed_conf=routed.confidence, live_label=live_label,
                          t_commit=t_commit, batch=batch, live=live))
    return {"clips": clips, **_summaries(clips, exercise_from_manifest)}


def _count_stats(cs: list[dict]) -> dict:
    scored = [c for c in cs if c["true_reps"] is not None and c["cls"] in SUPPORTED]
    if not scored:
        return {"n": 0}
    err = np.array([(c["live"] if c["live"] is not None else 0) - c["true_reps"] for c in scored], float)
    return {"n": len(scored), "exact": float(np.mean(err == 0)), "mae": float(np.mean(np.abs(err))),
            "off_by_one": float(np.mean(np.abs(err) <= 1))}


def _summaries(clips: list[dict], from_manifest: bool) -> dict:
    per_class = {c: _count_stats([x for x in clips if x["cls"] == c]) for c in SUPPORTED}
    overall = _count_stats(clips)
    mismatch = [c["file"] for c in clips if c["batch"] != c["live"] and (c["batch"] is not None or
                                                                         c["live"] is not None)]
    conf = defaultdict(int)
    for c in clips:
        conf[(c["cls"], c["routed"])] += 1
    acc = float(np.mean([c["cls"] == c["routed"] for c in clips])) if clips else 0.0
    unk_ok = all(c["routed"] == "unknown" or c["routed_conf"] < 0.8 for c in clips if c["cls"] == "unknown")
    live_agree = float(np.mean([c["live_label"] == c["routed"] for c in clips])) if clips else 0.0
    return {"counting": {"per_class": per_class, "overall": overall, "live_batch_mismatch": mismatch,
                         "exercise_from_manifest": from_manifest},
            "routing": {"accuracy": acc, "unknown_ok": unk_ok, "live_batch_agreement": live_agree,
                        "confusion": {f"{a}->{b}": n for (a, b), n in sorted(conf.items())}}}


def format_eval(res: dict) -> str:
    L = []
    L.append(f"{'clip':58s} {'class':15s} {'routed':15s} {'true':>4s} {'live':>4s} {'batch':>5s}")
    for c in res["clips"]:
        f = lambda v: "-" if v is None else str(v)  # noqa: E731
        flag = "" if c["true_reps"] is None or c["live"] == c["true_reps"] else "  <-- off"
        if c["batch"] != c["live"]:
            flag += "  (live != batch)"
        routed = f"{c['routed']} {c['routed_conf']:.2f}"
        L.append(f"{c['file'][:58]:58s} {c['cls']:15s} {routed:15s} "
                 f"{f(c['true_reps']):>4s} {f(c['live']):>4s} {f(c['batch']):>5s}{flag}")
    cnt = res["counting"]
    L.append("")
    L.append("rep counting (frames fed one at a time through the live path"
             + (", exercise from the manifest)" if cnt["exercise_from_manifest"] else ", exercise from the router)"))
    for k, v in list(cnt["per_class"].items()) + [("overall", cnt["overall"])]:
        if v.get("n"):
            L.append(f"  {k:15s} n={v['n']:2d}  exact {v['exact']:.1%}  MAE {v['mae']:.3f}  "
                     f"off-by-one {v['off_by_one']:.1%}")
    L.append(f"  live vs batch count differs on: {', '.join(cnt['live_batch_mismatch']) or 'none'}")
    ro = res["routing"]
    L.append("")
    L.append(f"exercise routing (batch): clip accuracy {ro['accuracy']:.1%}; unknown clips unknown or < 0.8: "
             f"{'yes' if ro['unknown_ok'] else 'NO'}; live label == batch label on {ro['live_batch_agreement']:.1%}")
    L.append("confusion matrix (rows true, columns predicted):")
    L.append("  " + " " * 15 + "".join(f"{c[:9]:>10s}" for c in LABELS))
    conf = ro["confusion"]
    for a in LABELS:
        L.append(f"  {a:15s}" + "".join(f"{conf.get(f'{a}->{b}', 0):>10d}" for b in LABELS))
    commits = [c["t_commit"] for c in res["clips"] if c["t_commit"] is not None and c["live_label"] in SUPPORTED]
    if commits:
        L.append(f"live router commit time: median {np.median(commits):.2f} s, max {max(commits):.2f} s")
    return "\n".join(L)


def router_reports(manifest: str) -> dict:
    """The router's own evaluation (network and gradient-boosted baseline, side by side)."""
    from models.evaluate_router import evaluate_router

    out = {}
    for kind in ("model", "baseline"):
        try:
            out[kind] = evaluate_router(manifest, kind)
        except Exception as e:  # missing weights: say so, keep the rest of the evaluation
            out[kind] = {"error": str(e)}
    return out


def run_eval(manifest: str, exercise_from_manifest: bool, json_out: bool, router_report: bool = True) -> int:
    res = evaluate(manifest, exercise_from_manifest, progress=not json_out)
    rr = router_reports(manifest) if router_report else {}
    if json_out:
        res["router"] = rr
        print(json.dumps(res, default=lambda o: None if isinstance(o, float) and math.isnan(o) else str(o)))
    else:
        print(format_eval(res))
        if rr:
            from models.evaluate_router import format_router_eval

            for kind, r in rr.items():
                print()
                print(f"=== router evaluation: {kind} ===")
                print(r["error"] if "error" in r else format_router_eval(r))
    return 0

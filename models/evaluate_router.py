"""Evaluate the router on real clips (a TEST set: never used for training or tuning).

``evaluate_router(manifest_path, kind)`` runs pose (cached), the causal cleaner, the batch decision and the
live router on every clip of the manifest and returns per-clip results, clip-level accuracy over the
four labels, the unknown-confidence check, the confusion matrix, and live-vs-batch agreement with the
live commit time. ``format_router_eval`` prints it.
"""
from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import numpy as np

from .router import LABELS, Router, live_run, load_router

UNKNOWN_MAX_CONF = 0.8


def default_manifest() -> str:
    return str((Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "clips" / "manifest.csv").resolve())


def _load_clean(path: str):
    from pipeline.pose.track import clean_track, extract_pose

    _, track = extract_pose(path, use_cache=True)
    clean, _ = clean_track(track)
    return clean


def evaluate_router(manifest_path: str | os.PathLike | None = None, kind: str = "model",
                    weights_dir: str | os.PathLike | None = None, live: bool = True) -> dict:
    manifest_path = Path(manifest_path or default_manifest())
    root = manifest_path.parent
    router = Router(kind, Path(weights_dir)) if weights_dir else load_router(kind)
    rows = list(csv.DictReader(open(manifest_path, newline="")))
    clips = []
    t_win = []
    for r in rows:
        clean = _load_clean(str(root / r["file"]))
        t0 = time.perf_counter()
        dec = router.classify(clean)
        t_batch = time.perf_counter() - t0
        n_win = max(1, len(dec.windows))
        t_win.append(t_batch / n_win)
        item = {"file": r["file"], "true": r["class"], "view": r.get("camera_view", ""), "pred": dec.label,
                "confidence": dec.confidence, "probs": dec.probs, "active_s": dec.active_s, "note": dec.note,
                "windows": len(dec.windows)}
        if live:
            st, lr = live_run(router, clean)
            item.update(live_label=st.label if st else "unknown", live_commit_s=lr.t_commit,
                        live_agrees=(st.label if st else "unknown") == dec.label, live_evals=lr.n_evals)
        clips.append(item)
    n = len(clips)
    correct = sum(c["pred"] == c["true"] for c in clips)
    cm = np.zeros((4, 4), int)
    for c in clips:
        cm[LABELS.index(c["true"]), LABELS.index(c["pred"])] += 1
    unk = [c for c in clips if c["true"] == "unknown"]
    unk_ok = [c["pred"] == "unknown" or c["confidence"] < UNKNOWN_MAX_CONF for c in unk]
    res = {"kind": kind, "manifest": str(manifest_path), "n": n, "correct": int(correct),
           "accuracy": round(correct / n, 4) if n else 0.0, "confusion": cm.tolist(), "labels": list(LABELS),
           "unknown_ok": int(sum(unk_ok)), "unknown_n": len(unk),
           "unknown_check_passed": bool(all(unk_ok)), "clips": clips,
           "ms_per_window_batch": round(1000 * float(np.median(t_win)), 3) if t_win else None}
    if live:
        res["live_agree"] = int(sum(c["live_agrees"] for c in clips))
        commits = [c["live_commit_s"] for c in clips if c["live_commit_s"] is not None]
        res["live_commit_median_s"] = round(float(np.median(commits)), 2) if commits else None
    res["ms_per_window_model"] = _time_one_window(router)
    return res


def _time_one_window(router: Router, reps: int = 50) -> float:
    from .features import N_FEAT, T

    x = np.random.default_rng(0).normal(0, 1, (1, T, N_FEAT)).astype(np.float32)
    e = np.array([0.1], np.float32)
    router.window_probs(x, e)
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        router.window_probs(x, e)
        ts.append(time.perf_counter() - t0)
    return round(1000 * float(np.median(ts)), 3)


def format_confusion(cm, labels=LABELS) -> str:
    short = {"squat": "squat", "push_up": "push_up", "shoulder_press": "press", "unknown": "unknown"}
    head = "true \\ pred".ljust(16) + "".join(short[l].rjust(9) for l in labels)
    out = [head]
    for i, l in enumerate(labels):
        out.append(short[l].ljust(16) + "".join(str(v).rjust(9) for v in cm[i]))
    return "\n".join(out)


def format_router_eval(res: dict) -> str:
    name = {"model": "network (temporal CNN)", "baseline": "baseline (boosted trees)"}.get(res["kind"], res["kind"])
    L = [f"== exercise router: {name} on {res['n']} real clips (split by clip; never trained on) =="]
    live = "live_agree" in res
    L.append(f"{'clip':46s} {'true':15s} {'pred':15s} {'conf':>5s}" + ("  live            commit_s" if live else ""))
    for c in res["clips"]:
        mark = "" if c["pred"] == c["true"] else "  <-- wrong"
        s = f"{c['file'][:46]:46s} {c['true']:15s} {c['pred']:15s} {c['confidence']:5.2f}"
        if live:
            cs = "-" if c["live_commit_s"] is None else f"{c['live_commit_s']:.2f}"
            s += f"  {c['live_label']:15s} {cs:>6s}" + ("" if c["live_agrees"] else " (!= batch)")
        L.append(s + mark)
    L.append(f"clip-level accuracy: {res['correct']}/{res['n']} = {100 * res['accuracy']:.1f}%")
    L.append(f"unknown clips called unknown or < {UNKNOWN_MAX_CONF} confidence: {res['unknown_ok']}/{res['unknown_n']}"
             f" ({'PASS' if res['unknown_check_passed'] else 'FAIL'})")
    L.append("confusion matrix (rows true, columns predicted):")
    L.append(format_confusion(res["confusion"]))
    if live:
        L.append(f"live vs batch agreement: {res['live_agree']}/{res['n']}; median live commit "
                 f"{res['live_commit_median_s']} s after the clip start")
    L.append(f"inference: {res['ms_per_window_model']} ms per window (scoring only, 1 window, CPU); "
             f"{res['ms_per_window_batch']} ms per window in batch incl. features")
    return "\n".join(L)


def write_model_card(meta: dict, results: dict, train_log: list[str], seconds: float,
                     path: Path | None = None) -> Path:
    from .nets import RouterNet, n_params
    from .features import NEG_RANGE, POS_RANGE

    path = path or Path(__file__).resolve().parent / "MODEL_CARD.md"
    m, b = results["model"], results["baseline"]
    d = meta["decision"]

    def row(r):
        return (f"| {r['kind']} | {r['correct']}/{r['n']} ({100 * r['accuracy']:.1f}%) | {r['unknown_ok']}/{r['unknown_n']} "
                f"| {r.get('live_agree', '-')}/{r['n']} | {r.get('live_commit_median_s')} | {r['ms_per_window_model']} |")

    def wrong(r):
        w = [f"{c['file'].split('/')[-1]} ({c['true']} -> {c['pred']}, {c['confidence']:.2f})" for c in r["clips"]
             if c["pred"] != c["true"]]
        return ", ".join(w) or "none"

    per_clip = ["| clip | true | network | conf | baseline | conf | live commit (s) |", "|---|---|---|---|---|---|---|"]
    for cm_, cb in zip(m["clips"], b["clips"]):
        lc = "-" if cm_["live_commit_s"] is None else f"{cm_['live_commit_s']:.2f}"
        per_clip.append(f"| {cm_['file']} | {cm_['true']} | {cm_['pred']} | {cm_['confidence']:.2f} | {cb['pred']} | "
                        f"{cb['confidence']:.2f} | {lc} |")
    text = f"""# Model card: Spotter exercise router

Generated by `python -m models.train_router --seed {meta['seed']}` (training took {meta.get('train_minutes', round(seconds / 60, 1))} min on
this 2-core machine, shared with other work); metrics refreshed with `python -m models.evaluate_router --write-card`.
Labels: {', '.join(meta['labels'])}.

## What it is
* **Network** (`models/weights/router.pt`): residual temporal CNN (1x1 input conv, three dilated 5-tap conv
  blocks, mean+max pooling, linear head), {n_params(RouterNet(meta['n_feat']))} parameters, over windows of
  {meta['samples']} samples at {meta['rate_hz']:g} Hz (~{meta['window_s']} s) resampled from the real timestamps of the
  cleaned pose. Features (`models/features.py`, shared by training and inference, {meta['n_feat']} per step):
  body-scale-normalised 2D and 3D landmarks, 2D/3D joint angles, segment directions, visibility, and the
  velocities of landmarks and angles; canonicalised for mirror and scale invariance.
* **Baseline** (`models/weights/router_baseline.npz`): scikit-learn HistGradientBoosting over window statistics
  (mean, std, min, max, mean |delta| of the 2D landmarks, angles, segment directions, visibility + motion energy),
  trained on the same windows, exported to plain arrays and evaluated with numpy (no pickle, no version lock).
* **Decision**: a window every {meta['hop_s']} s. Motion gate {d['gate']} (body-scale units, calibrated on synthetic still
  poses): windows below it are idle and do not vote. Batch: mean probabilities over active windows; an exercise
  needs mean probability >= {d['min_conf']}, margin >= {d['min_margin']} and a streak of >= {d['commit_s']} s of consistent windows
  (top label, p >= {d['min_p']}); else `unknown`. Live: commit after the same {d['commit_s']} s streak, switch only after
  {d['switch_s']} s with mean p >= {d['switch_p']}, back to `unknown` after {d['drop_s']} s of moving-but-unknown windows; user override.

## Training data (synthetic only)
`models/synth.py`: a 3D skeleton with MediaPipe's 33-landmark topology, random body proportions
(height 1.45-1.98 m, each segment +-6 %), limbs placed by two-bone IK so bone lengths are constant.
{meta['synthetic_clips']} clips of 4-12 s ({meta['synthetic_windows']} labelled windows): squats (stance, toe-out, depth, lean,
tempo, pauses, arm styles), push-ups (full, knee, wide, close, incline, decline), presses (seated/standing,
dumbbell, barbell, Arnold, machine, push press, single-arm), and negatives: lunges (split, forward, reverse,
walking, side), hinges (RDL, deadlift, good morning, swing, bent-over row), arm work (curls, hammer, front/lateral/Y
raises, upright row, overhead triceps, fly), jumping jacks, gait (walking, treadmill, marching, high knees, jogging),
idle (standing, sitting, gestures, planks, forearm/side planks, kneeling, lying), floor moves (mountain climbers,
shoulder taps, down-dog, sit-ups, bridges), stretches/random motion, sit-to-stand. Random cameras
(front/side/diagonal/any/top-down, height 0.1-1.9 m, distance by framing incl. cut-off bodies, FOV 38-70 deg, roll,
handheld shake, slow turns), portrait/landscape frames, MediaPipe-like jitter and drift, far-side and out-of-frame
visibility loss, left/right limb swaps, dropped frames, variable frame rate; then the real causal `PoseCleaner`.
Windows are labelled with the exercise when they span >= {POS_RANGE} of a repetition's range, `unknown` when still
(< {NEG_RANGE}) or a negative, and left out in between. The MIT keypoint tables in `shared/data/keypoints` were not
used: they are single frames without time, and the router classifies movement.
Synthetic held-out window accuracy (split by clip): {meta['synthetic_val_window_acc']}.

## Metrics on the 27 real dev clips (test only: never trained or tuned on)
| router | clip accuracy | unknown clips unknown or conf < 0.8 | live = batch | median live commit (s) | ms / window |
|---|---|---|---|---|---|
{row(m)}
{row(b)}

Network confusion matrix (rows true, columns predicted; squat, push_up, press, unknown):
```
{format_confusion(m['confusion'])}
```
Baseline confusion matrix:
```
{format_confusion(b['confusion'])}
```

{chr(10).join(per_clip)}

## Limits
* Dev clips it gets wrong: network: {wrong(m)}; baseline: {wrong(b)}.
* Trained only on synthetic motion; real-world errors come from motions or views the synthesiser does not cover.
* Needs movement: a clip with a single slow rep or mostly rests may not reach a 1 s consistent streak -> `unknown`.
* Lower-body-only or upper-body-only framing removes the cues that tell a squat from a lunge or a press from a raise.
* The 27 dev clips are few; the accuracy has a wide uncertainty (one clip = 3.7 points).

## Training log
```
{chr(10).join(train_log)}
```
"""
    path.write_text(text)
    return path


def main(argv=None) -> int:
    import argparse
    import json

    from .router import WEIGHTS_DIR

    ap = argparse.ArgumentParser(description="Evaluate the exercise router on real clips (test only).")
    ap.add_argument("--manifest", default=None)
    ap.add_argument("--kind", choices=["model", "baseline", "both"], default="both")
    ap.add_argument("--write-card", action="store_true", help="rewrite models/MODEL_CARD.md with these numbers")
    a = ap.parse_args(argv)
    kinds = ["model", "baseline"] if a.kind == "both" or a.write_card else [a.kind]
    res = {k: evaluate_router(a.manifest, kind=k) for k in kinds}
    for k in kinds:
        print(format_router_eval(res[k]))
    if a.write_card:
        meta = json.loads((WEIGHTS_DIR / "router_meta.json").read_text())
        log_path = WEIGHTS_DIR / "train_log.txt"
        lines = log_path.read_text().splitlines() if log_path.exists() else []
        print(f"model card written to {write_model_card(meta, res, lines, 0.0)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

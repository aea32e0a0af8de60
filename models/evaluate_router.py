"""Evaluate the router on the real dev clips, split by clip: no figure comes from a model trained on the clip it scores.

``evaluate_router(manifest_path, kind)`` runs pose (cached), the causal cleaner, the batch decision and the live router
on every clip of a manifest and returns per-clip results, clip-level accuracy over the six labels, the unknown check,
the confusion matrix, and live-vs-batch agreement with the live commit time, the live router being fed

* every frame (``all``), every other frame (``half``), and an irregular 8-15 fps pattern (``irregular``, seeded by
  the clip's name), each through its own causal cleaner, as a live session that has to drop frames would.

Which model scores a clip (``heldout=True``, the default): the shipped network is an ensemble of fold models, fold
model k trained on synthetic motion + the dev clips outside fold k; a dev clip is scored by the fold model that never
saw it, a clip outside the folds by the whole ensemble (none of its members saw it). ``heldout=False`` scores every clip
with the whole ensemble: on the dev clips that is a training fit, reported as such. The baseline is trained on synthetic motion only, so its figures are
held out as they are. ``format_router_eval`` prints a result.
"""
from __future__ import annotations

import json
import os
import time
import zlib
from pathlib import Path

import numpy as np

from pipeline.movement.router import LABELS, WEIGHTS_DIR, LiveRouter, Router, load_router

from .manifest import read_manifest

UNKNOWN_MAX_CONF = 0.8
PATTERNS = ("all", "half", "irregular")
SHORT = {"squat": "squat", "push_up": "push_up", "shoulder_press": "press", "deadlift": "deadlift", "lunge": "lunge",
         "unknown": "unknown"}


def _shared() -> Path:
    return Path(os.environ.get("SPOTTER_SHARED") or Path(__file__).resolve().parents[1] / ".." / "shared").resolve()


def default_manifest() -> str:
    return str(_shared() / "data" / "clips" / "manifest.csv")


def more_manifest() -> str:
    return str(_shared() / "data" / "more_clips" / "manifest.csv")


def dev_manifests() -> list[str]:
    """The three dev sets' manifests present here."""
    return [m for m in (str(_shared() / "data" / d / "manifest.csv") for d in ("clips", "more_clips", "more_clips2"))
            if Path(m).exists()]


def _clip_key(manifest_path: Path, file: str) -> str:
    return f"{Path(manifest_path).parent.name}/{file}"


def pattern_frames(track, pattern: str, key: str):
    """The raw pose frames a live clock would process under ``pattern``."""
    frames = list(track.frames())
    if pattern == "all" or len(frames) < 3:
        return frames
    if pattern == "half":
        return frames[::2]
    from .synth import drop_frames

    t = np.array([f.t for f in frames])
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    keep = np.searchsorted(t, drop_frames(t, rng))
    return [frames[i] for i in keep]


def live_label(router: Router, clean) -> tuple[str, float | None, LiveRouter]:
    """Feed cleaned frames one at a time through a LiveRouter: (last committed label, its commit time, router)."""
    lr = LiveRouter(router)
    for cf in clean:
        lr.update(cf)
    lr.finish()
    return lr.last_label, lr.last_t_commit, lr


def _fold_routers(kind: str, weights_dir: Path):
    """clip key -> fold Router, from the shipped meta (empty when there are no fold models)."""
    meta = json.loads((weights_dir / "router_meta.json").read_text())
    real = meta.get("real") or {}
    fold_of = real.get("folds") or {}
    if kind != "model" or not fold_of:
        return {}, {}
    routers = {f: Router("model", weights_dir, member=f) for f in sorted(set(fold_of.values()))}
    return fold_of, routers


def evaluate_router(manifest_path: str | os.PathLike | None = None, kind: str = "model",
                    weights_dir: str | os.PathLike | None = None, live: bool = True, heldout: bool = True,
                    patterns: tuple[str, ...] = PATTERNS) -> dict:
    from pipeline.pose.cleaning import PoseCleaner
    from pipeline.pose.track import extract_pose

    manifest_path = Path(manifest_path or default_manifest())
    wd = Path(weights_dir) if weights_dir else WEIGHTS_DIR
    shipped = Router(kind, wd) if weights_dir else load_router(kind)
    fold_of, fold_routers = _fold_routers(kind, wd) if heldout else ({}, {})
    rows = read_manifest(manifest_path, LABELS)
    clips = []
    t_win = []
    for r in rows:
        key = _clip_key(manifest_path, r.file)
        f = fold_of.get(key)
        router, scored_by = shipped, "shipped"
        if f is not None and f in fold_routers:
            router, scored_by = fold_routers[f], f"fold{f}"
        _, track = extract_pose(r.path, use_cache=True)
        cl = PoseCleaner()
        clean = [cl.update(pf) for pf in track.frames()]
        t0 = time.perf_counter()
        dec = router.classify(clean)
        t_win.append((time.perf_counter() - t0) / max(1, len(dec.windows)))
        item = {"file": r.file, "key": key, "true": r.label, "view": r.view, "pred": dec.label,
                "confidence": dec.confidence, "probs": dec.probs, "active_s": dec.active_s, "note": dec.note,
                "suggestion": dec.suggestion, "windows": len(dec.windows), "batch_commit_s": dec.t_commit,
                "scored_by": scored_by, "trained_on": scored_by == "shipped" and key in fold_of}
        if live:
            lv = {}
            for pat in patterns:
                if pat == "all":
                    cc = clean
                else:
                    c2 = PoseCleaner()
                    cc = [c2.update(pf) for pf in pattern_frames(track, pat, key)]
                lab, tc, _ = live_label(router, cc)
                lv[pat] = {"label": lab, "commit_s": tc}
            item["live"] = lv
            item["live_label"] = lv[patterns[0]]["label"]
            item["live_commit_s"] = lv[patterns[0]]["commit_s"]
            item["live_agrees"] = all(v["label"] == dec.label for v in lv.values())
        clips.append(item)
    res = summarise(clips, kind, str(manifest_path), live)
    res["heldout"] = heldout
    res["ms_per_window_batch"] = round(1000 * float(np.median(t_win)), 3) if t_win else None
    res["ms_per_window_model"] = _time_one_window(shipped)
    return res


def summarise(clips: list[dict], kind: str, manifest: str, live: bool = True) -> dict:
    n = len(clips)
    correct = sum(c["pred"] == c["true"] for c in clips)
    cm = np.zeros((len(LABELS), len(LABELS)), int)
    for c in clips:
        cm[LABELS.index(c["true"]), LABELS.index(c["pred"])] += 1
    unk = [c for c in clips if c["true"] == "unknown"]
    unk_ok = [c["pred"] == "unknown" or c["confidence"] < UNKNOWN_MAX_CONF for c in unk]
    res = {"kind": kind, "manifest": manifest, "n": n, "correct": int(correct),
           "accuracy": round(correct / n, 4) if n else 0.0, "confusion": cm.tolist(), "labels": list(LABELS),
           "unknown_ok": int(sum(unk_ok)), "unknown_n": len(unk), "unknown_check_passed": bool(all(unk_ok)),
           "negatives_called_exercise": [c["file"] for c in unk if c["pred"] != "unknown"],
           "clips": clips}
    if live:
        res["live_agree"] = int(sum(c["live_agrees"] for c in clips))
        commits = [c["live_commit_s"] for c in clips if c["live_commit_s"] is not None]
        res["live_commit_median_s"] = round(float(np.median(commits)), 2) if commits else None
    return res


def _time_one_window(router: Router, reps: int = 50) -> float:
    from pipeline.movement.router.features import N_FEAT, T

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
    head = "true \\ pred".ljust(16) + "".join(SHORT[lab].rjust(9) for lab in labels)
    out = [head]
    for i, lab in enumerate(labels):
        out.append(SHORT[lab].ljust(16) + "".join(str(v).rjust(9) for v in cm[i]))
    return "\n".join(out)


def format_router_eval(res: dict) -> str:
    name = {"model": "network (temporal CNN)", "baseline": "baseline (boosted trees)"}.get(res["kind"], res["kind"])
    how = "each clip scored by a model that never saw it" if res.get("heldout", True) else \
        "shipped network on every clip (a training fit on the dev clips)"
    L = [f"== exercise router: {name} on {res['n']} real clips ({Path(res['manifest']).parent.name}; {how}) =="]
    live = "live_agree" in res
    L.append(f"{'clip':46s} {'true':15s} {'pred':15s} {'conf':>5s} {'by':8s}" +
             ("  live (all/half/irregular)          commit_s" if live else ""))
    for c in res["clips"]:
        mark = "" if c["pred"] == c["true"] else "  <-- wrong"
        s = f"{c['file'][:46]:46s} {c['true']:15s} {c['pred']:15s} {c['confidence']:5.2f} {c['scored_by']:8s}"
        if live:
            cs = "-" if c["live_commit_s"] is None else f"{c['live_commit_s']:.2f}"
            labs = "/".join(SHORT[v["label"]] for v in c["live"].values())
            s += f"  {labs:34s} {cs:>6s}" + ("" if c["live_agrees"] else " (!= batch)")
        if c["pred"] == "unknown" and c.get("suggestion"):
            s += "  suggest " + ",".join(f"{SHORT[a]} {p:.2f}" for a, p in c["suggestion"])
        L.append(s + mark)
    L.append(f"clip-level accuracy: {res['correct']}/{res['n']} = {100 * res['accuracy']:.1f}%")
    L.append(f"unknown clips routed unknown or below {UNKNOWN_MAX_CONF} confidence: {res['unknown_ok']}/{res['unknown_n']}"
             f" ({'PASS' if res['unknown_check_passed'] else 'FAIL'}); negatives called an exercise: "
             f"{', '.join(res['negatives_called_exercise']) or 'none'}")
    L.append("confusion matrix (rows true, columns predicted):")
    L.append(format_confusion(res["confusion"]))
    if live:
        L.append(f"live vs batch agreement (every frame, every other frame, irregular 8-15 fps): {res['live_agree']}/"
                 f"{res['n']}; median live commit {res['live_commit_median_s']} s after the clip start")
    L.append(f"inference: {res['ms_per_window_model']} ms per window (scoring only, 1 window, CPU); "
             f"{res['ms_per_window_batch']} ms per window in batch incl. features")
    return "\n".join(L)


def evaluate_all(weights_dir: Path | None = None, manifests: list[str] | None = None, kinds=("model", "baseline"),
                 fit: bool = True) -> dict:
    """Everything the model card reports: per manifest and kind, held out; plus the shipped network's fit."""
    manifests = manifests or dev_manifests()
    out = {"heldout": {}, "fit": {}}
    for m in manifests:
        name = Path(m).parent.name
        out["heldout"][name] = {k: evaluate_router(m, kind=k, weights_dir=weights_dir) for k in kinds}
        if fit:
            out["fit"][name] = evaluate_router(m, kind="model", weights_dir=weights_dir, heldout=False,
                                               patterns=("all",))
    return out


def _row(r: dict, what: str) -> str:
    return (f"| {what} | {r['correct']}/{r['n']} ({100 * r['accuracy']:.1f}%) | {r['unknown_ok']}/{r['unknown_n']} "
            f"| {len(r['negatives_called_exercise'])} | {r.get('live_agree', '-')}/{r['n']} "
            f"| {r.get('live_commit_median_s')} |")


def write_model_card(meta: dict, results: dict, train_log: list[str], path: Path | None = None) -> Path:
    from pipeline.movement.router.features import NEG_RANGE, POS_RANGE
    from pipeline.movement.router.nets import RouterNet, n_params

    path = path or Path(__file__).resolve().parent / "MODEL_CARD.md"
    d = meta["decision"]
    calib_txt = ""
    if meta.get("calibration"):
        from .calibrate import format_calibration

        calib_txt = ("## Calibration (`python -m models.calibrate`)\nThe confidence Spotter shows is a calibrated "
                     "probability: the networks' logits are divided by a temperature fitted on held-out windows.\n\n"
                     + format_calibration(meta["calibration"]) + "\n")
    real = meta.get("real") or {}
    n_members = len(set((real.get("folds") or {0: 0}).values()))
    H, F = results["heldout"], results.get("fit", {})
    tables = []
    for name, kinds in H.items():
        m, b = kinds["model"], kinds["baseline"]
        tables.append(f"### {name} ({m['n']} clips)\n\n"
                      "| router | clip accuracy | unknown clips unknown or conf < 0.8 | negatives called an exercise | "
                      "live = batch (all / half / irregular frames) | median live commit (s) |\n|---|---|---|---|---|---|\n"
                      + _row(m, "network, held out (fold models)") + "\n" + _row(b, "baseline (synthetic only)") + "\n"
                      + (_row(F[name], "network as shipped (training fit, not an accuracy)") + "\n" if name in F else "")
                      + f"\nNetwork (held out) confusion matrix:\n```\n{format_confusion(m['confusion'])}\n```\n"
                      + f"Baseline confusion matrix:\n```\n{format_confusion(b['confusion'])}\n```\n")
        per = ["| clip | true | network (held out) | conf | scored by | live all/half/irregular | commit (s) | "
               "baseline | shipped (fit) |", "|---|---|---|---|---|---|---|---|---|"]
        fit_by = {c["key"]: c for c in F[name]["clips"]} if name in F else {}
        for cm_, cb in zip(m["clips"], b["clips"]):
            lc = "-" if cm_["live_commit_s"] is None else f"{cm_['live_commit_s']:.2f}"
            labs = "/".join(SHORT[v["label"]] for v in cm_["live"].values())
            fc = fit_by.get(cm_["key"])
            per.append(f"| {cm_['file']} | {cm_['true']} | {cm_['pred']} | {cm_['confidence']:.2f} | {cm_['scored_by']} | "
                       f"{labs} | {lc} | {cb['pred']} | {fc['pred'] if fc else '-'} |")
        tables.append("\n".join(per) + "\n")

    def wrong(r):
        w = [f"{c['file'].split('/')[-1]} ({c['true']} -> {c['pred']}, {c['confidence']:.2f})" for c in r["clips"]
             if c["pred"] != c["true"]]
        return ", ".join(w) or "none"

    folds_txt = ""
    if real.get("folds"):
        fo = real["folds"]
        lines = []
        for f in sorted(set(fo.values())):
            mem = sorted(k for k, v in fo.items() if v == f)
            lines.append(f"* fold model {f} (member {f} of `models/weights/router.pt`) was trained on synthetic motion + "
                         f"every dev clip except these {len(mem)}, and is the only model that reports them: "
                         + ", ".join(f"`{k.split('/')[-1]}`" for k in mem))
        folds_txt = "\n".join(lines)
    limits = []
    for name, kinds in H.items():
        limits.append(f"* {name}, held out: network: {wrong(kinds['model'])}; baseline: {wrong(kinds['baseline'])}.")
    text = f"""# Model card: Spotter exercise router

Generated by `python -m models.train_router --seed {meta['seed']}` (training took {meta.get('train_minutes')} min on
this 2-core machine, shared with other work); figures refreshed with `python -m models.evaluate_router --write-card`.
Labels: {', '.join(meta['labels'])}.

## What it is
* **Network** (`models/weights/router.pt`): the mean probability of {n_members} residual temporal CNNs (the fold models
  below; 1x1 input conv, three dilated 5-tap conv blocks, mean+max pooling, linear head), {n_params(RouterNet(meta['n_feat'], n_cls=len(meta['labels'])))} parameters each, over windows of
  {meta['samples']} samples at {meta['rate_hz']:g} Hz (~{meta['window_s']} s) resampled from the real timestamps of the
  cleaned pose. Features (`pipeline/movement/router/features.py`, shared by training and inference, {meta['n_feat']} per step):
  body-scale-normalised 2D and 3D landmarks, 2D/3D joint angles, segment directions, visibility, and the
  velocities of landmarks and angles; canonicalised for mirror and scale invariance.
* **Baseline** (`models/weights/router_baseline.npz`): scikit-learn HistGradientBoosting over window statistics
  (mean, std, min, max, mean |delta| of the 2D landmarks, angles, segment directions, visibility + motion energy),
  trained on the synthetic windows only, exported to plain arrays and evaluated with numpy (no pickle).
* **Decision** (`pipeline/movement/router/core.py: Decider`, one causal procedure for both clocks): a window every {meta['hop_s']} s;
  windows below the motion gate {d['gate']} (body-scale units, calibrated on synthetic still poses) are idle and do not
  vote. Commit when, over the last {d['commit_s']} s of moving windows, an exercise has mean probability >= {d['commit_p']},
  leads every other label (unknown included) by >= {d['margin']} and is the top label (p >= {d['min_p']}) of >= {d['vote_frac']:.0%} of
  them; switch with the same vote over {d['switch_s']} s and p >= {d['switch_p']}; back to `unknown` after {d['drop_s']} s of
  moving windows voted unknown; user override. Plausibility: in each vote an exercise counts as unknown when the
  range of motion of its joints over the span (75th percentile of the windows) is below {'/'.join(f'{x:g}' for x in d['min_rom'])} deg
  (knees for a squat, elbows for a push-up and a press, hips for a deadlift, knees for a lunge) or, for the lower-body
  exercises, when the knees and ankles are not seen (median visibility < {d['min_leg_vis']}); a push-up also needs the
  wrists >= {d.get('min_hands_below', 1.0)} body-scale unit below the shoulders at some moment of its windows (on its hands, not lying face down).
  The batch label of a clip is the exercise this procedure, run over
  every window, was last committed to, so batch and live agree by construction on the same frames.
  While uncommitted, when an exercise has mean probability >= {d['suggest_p']} over the last {d['suggest_s']} s of moving
  windows (unknown < {d['suggest_max_unknown']}) and the joint angles repeat (autocorrelation peak >= {d['repeat_min']}),
  the live state carries a suggestion: the candidate exercises with their probabilities.

## Training data
**Synthetic** (`models/synth.py`): a 3D skeleton with MediaPipe's 33-landmark topology, random body proportions
(height 1.45-1.98 m, each segment +-6 %), limbs placed by two-bone IK so bone lengths are constant.
{meta['synthetic_clips']} clips of 4-12 s ({meta['synthetic_windows']} labelled windows): squats (stance, toe-out, depth,
lean, tempo, pauses, arm styles), push-ups (full, knee, wide, close, incline, decline), presses (seated/standing,
dumbbell, barbell, Arnold, machine, push press, single-arm), deadlifts (conventional, sumo, trap bar and dumbbell from
the floor; Romanian, dumbbell Romanian and stiff-legged from the top: hips lead the descent, knees bend late),
lunges (static split squat, forward, reverse, walking with the trailing foot joining, lateral; the back heel up; some
shallow), a fifth of the squats deliberately shallow, and
negatives: hinges that are not deadlifts (good mornings, kettlebell swings, bent-over/hinge rows, Pendlay rows,
one-arm rows), hanging from a bar (pull-ups, chin-ups, knee and leg raises, kips), burpees, arm work (curls, hammer, front/lateral/Y raises, upright row, overhead triceps, fly),
jumping jacks, gait (walking, treadmill, marching, high knees, jogging), idle (standing, sitting, gestures, planks,
kneeling, lying), floor moves (mountain climbers, shoulder taps, down-dog, sit-ups, bridges), dancing (bounces and
drops to a beat, side steps, sways, twists, turns, arm waves/pumps/claps), jumps (countermovement, squat and tuck
jumps, broad jumps, jump rope, lateral hops), stretches/random motion, sit-to-stand. Random cameras
(front/side/diagonal/any/top-down, height 0.1-1.9 m, framing incl. cut-off bodies, FOV 38-70 deg, roll, shake,
turns), MediaPipe-like jitter and drift, far-side and out-of-frame visibility loss, left/right swaps, dropped
detections, variable frame rate and, in a fifth of the clips, an irregular 8-15 fps live clock; then the real causal
`PoseCleaner`. Windows are labelled with the exercise when they span >= {POS_RANGE} of a repetition's range, `unknown`
when still (< {NEG_RANGE}) or a negative, and left out in between.
Synthetic held-out window accuracy (split by clip): {meta['synthetic_val_window_acc']}.

**Real** (`models/realdata.py`, network only): the pose landmarks of the {len(real.get('clips', []))} dev clips (never the
clips), {real.get('augmented_copies', 0)} copies each, every other one from the clip as a webcam stream delivers it (640x480,
VP8 at 1 Mbit/s and back: `pipeline/tools/webcam.py`) (time stretch 0.8-1.25x, later start, every/every other/irregular
8-15 fps frames, flip, roll, jitter, visibility noise, dropped detections), {real.get('windows', 0)} labelled windows;
a window of a positive clip takes the exercise when half of it lies in the clip's exercise spans
(`models/data/dev_segments.json`, from the rep counter or the span of movement), `unknown` when >= 0.75 s away from
them. Cross-validation split by clip, clips grouped by the repository they came from (same person and scene):
{folds_txt}
* the shipped network is the mean of the fold models: each dev clip was seen by all but one of them, so its figures
  on the dev clips are a fit.

## Figures on the real dev clips
Held out = every clip scored by a model that never saw it (the network's fold models; the baseline never saw any).
`live = batch` counts the clips whose live label equals the batch label when the live router is fed every frame,
every other frame, and an irregular 8-15 fps pattern (each through its own cleaner).
`un04`/`un10` are scored as lunges and `un01` (a dumbbell Romanian deadlift) as a deadlift (`models/manifest.py`).

{chr(10).join(tables)}
{calib_txt}
## Limits
{chr(10).join(limits)}
* Real movement in training comes from {len(real.get('clips', []))} dev clips only (two real lunges, five deadlifts); the
  held-out figures are therefore the honest ones, and they have a wide uncertainty (one clip = 2-4 points).
* Needs movement: a clip with a single slow rep or mostly rests may not reach a {d['commit_s']} s vote -> `unknown` (live: a
  suggestion when the movement repeats).
* Lower-body-only or upper-body-only framing removes the cues that tell a squat from a lunge or a deadlift, or a press
  from a raise.

## Training log
```
{chr(10).join(train_log)}
```
"""
    path.write_text(text)
    return path


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Evaluate the exercise router on the real dev clips (split by clip).")
    ap.add_argument("--manifest", default=None, help="one manifest (default: both dev manifests)")
    ap.add_argument("--kind", choices=["model", "baseline", "both"], default="both")
    ap.add_argument("--fit", action="store_true", help="score every clip with the shipped network (a training fit)")
    ap.add_argument("--write-card", action="store_true", help="rewrite models/MODEL_CARD.md with these figures")
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    a = ap.parse_args(argv)
    from .realdata import use_repo_cache

    use_repo_cache()
    if a.write_card:
        res = evaluate_all()
        for name, kinds in res["heldout"].items():
            for r in kinds.values():
                print(format_router_eval(r))
            print(format_router_eval(res["fit"][name]))
        meta = json.loads((WEIGHTS_DIR / "router_meta.json").read_text())
        log_path = WEIGHTS_DIR / "train_log.txt"
        lines = log_path.read_text().splitlines() if log_path.exists() else []
        print(f"model card written to {write_model_card(meta, res, lines)}")
    else:
        kinds = ["model", "baseline"] if a.kind == "both" else [a.kind]
        mans = [a.manifest] if a.manifest else dev_manifests()
        res = {}
        for m in mans:
            for k in kinds:
                r = evaluate_router(m, kind=k, heldout=not a.fit)
                res[f"{Path(m).parent.name}/{k}"] = r
                print(format_router_eval(r))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Real movement for the router: augmented landmark sequences from the dev clips, and the folds that keep every
reported figure on clips the reported model never saw.

* **Clips**: the rows of ``../shared/data/{clips,more_clips,more_clips2}/manifest.csv`` (labels as
  :mod:`models.manifest` files them). Only their pose landmarks are used (from the pose cache, or computed once);
  the clips themselves are never copied. Each clip is also used as a webcam stream would deliver it: 640x480, at most
  30 fps, through VP8 at 1 Mbit/s and back (:func:`pipeline.tools.webcam.codec_track`, cached): every other
  augmented copy starts from those landmarks, so the router learns the codec's noise too.
* **Folds** (:func:`folds`): clips are grouped by the repository they came from (same person, scene and camera),
  and the groups are split into ``K`` folds. A fold model is trained on synthetic motion + the real clips of the
  other folds and scored only on its own fold; the shipped model is trained on synthetic motion + every dev clip,
  so its figures on the dev clips are a training fit, never reported as accuracy.
* **Window labels** (:func:`window_labels`): ``models/data/dev_segments.json`` holds, per clip, the time spans of
  its exercise (rep intervals). A window of a positive clip is labelled with the exercise when at least half of it
  lies inside those spans, ``unknown`` when it is at least ``FAR_S`` away from them, and left out in between; every
  window of a negative clip is ``unknown``. ``python -m models.realdata --segments`` rebuilds the file from the rep
  counter (the exercise forced) or, for an exercise without a module yet, from the span of movement; the file is
  committed so training does not depend on the state of the exercise modules.
* **Augmentation** (:func:`augment`): time stretch (0.8-1.25x), a later start, the frame patterns of the live clock
  (every frame, every other frame, an irregular 8-15 fps), horizontal flip, camera roll, landmark jitter,
  visibility noise and dropped detections; then the real causal cleaner, as live.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from pipeline.movement.router.features import HOP_S, WIN_S, ClipArrays, clip_windows

from .manifest import ClipRow, read_manifest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SPOTTER_SHARED", ROOT.parent / "shared"))
MANIFESTS = tuple(SHARED / "data" / d / "manifest.csv" for d in ("clips", "more_clips", "more_clips2"))
SEGMENTS = Path(__file__).resolve().parent / "data" / "dev_segments.json"
FAR_S = 0.75  # a positive clip's window this far from every exercise span is unknown
# spans set by hand where the manifest's notes say more than the rep counter or the span of movement can
MANUAL_SPANS = {
    "more_clips/deadlift/dl_2reps_studio_side_jrplatin.mp4": ([[0.0, 10.0]], "from ~10 s lowers the bar and crouches"),
    "more_clips/squat/sq_wrong_fwdlean_vs_correct_2person_formguard.mp4": (
        [[0.0, 5.5], [11.0, 15.05]], "one person squats 0-5.5 s, the other 11-14.3 s"),
}
K_FOLDS = 3


def dev_rows(labels) -> list[ClipRow]:
    """Rows of both dev manifests that exist here, labels as :func:`models.manifest.read_manifest` files them."""
    out = []
    for m in MANIFESTS:
        if m.exists():
            out.extend(read_manifest(m, labels))
    return out


def clip_key(row: ClipRow) -> str:
    """A clip's name across both manifests: ``clips/squat/sq01...mp4`` or ``more_clips/deadlift/...``."""
    return f"{Path(row.path).parents[len(Path(row.file).parts) - 1].name}/{row.file}"


def folds(rows: list[ClipRow], k: int = K_FOLDS) -> dict[str, int]:
    """clip key -> fold (0..k-1). Groups (source repository) never straddle folds; greedy, deterministic: the largest
    groups first, each to the fold with the fewest clips of that group's most common label, then the fewest clips."""
    groups: dict[str, list[ClipRow]] = {}
    for r in rows:
        groups.setdefault(r.raw.get("source_repo") or r.file, []).append(r)
    order = sorted(groups, key=lambda g: (-len(groups[g]), g))
    count = [0] * k
    per_label = [dict() for _ in range(k)]
    out = {}
    for g in order:
        labs = [r.label for r in groups[g]]
        top = max(set(labs), key=lambda lab: (labs.count(lab), lab))
        f = min(range(k), key=lambda i: (per_label[i].get(top, 0), count[i], i))
        for r in groups[g]:
            out[clip_key(r)] = f
            per_label[f][r.label] = per_label[f].get(r.label, 0) + 1
        count[f] += len(groups[g])
    return out


def use_repo_cache() -> None:
    """The command-line tools share the pose cache of the tests (``.cache/spotter`` in the repository) unless
    ``SPOTTER_CACHE`` says otherwise."""
    os.environ.setdefault("SPOTTER_CACHE", str(ROOT / ".cache" / "spotter"))


def load_track(row: ClipRow):
    """The clip's raw pose track (cached under ``SPOTTER_CACHE``; computed once when missing)."""
    from pipeline.pose.track import extract_pose

    return extract_pose(row.path, use_cache=True)[1]


def load_codec_track(row: ClipRow):
    """The clip's pose as a webcam stream delivers it (VP8 round trip at 640x480; cached like the pose)."""
    from pipeline.tools.webcam import codec_track

    return codec_track(row.path)[1]


# ----------------------------------------------------------------------------- labels

def load_segments(path: Path = SEGMENTS) -> dict:
    return json.loads(Path(path).read_text()) if Path(path).exists() else {}


def window_labels(ends: np.ndarray, label_idx: int, segments: list[list[float]] | None, unknown_idx: int,
                  positive: bool) -> np.ndarray:
    """Label per window end (``-1`` = left out): see the module docstring."""
    y = np.full(len(ends), unknown_idx, np.int64)
    if not positive:
        return y
    segs = np.array(segments or [], float).reshape(-1, 2)
    for k, te in enumerate(ends):
        t0 = te - WIN_S
        inside = float(np.clip(np.minimum(segs[:, 1], te) - np.maximum(segs[:, 0], t0), 0, None).sum()) if len(segs) else 0.0
        gap = float(np.min(np.maximum(segs[:, 0] - te, t0 - segs[:, 1]))) if len(segs) else np.inf
        if inside >= 0.5 * WIN_S:
            y[k] = label_idx
        elif gap < FAR_S:
            y[k] = -1
    return y


def make_segments(rows: list[ClipRow], gate: float = 0.05) -> dict:
    """Exercise spans per positive clip: the rep intervals of the exercise module for squat, push-up and press (partial reps
    included; spans closer than 1 s merged), else (or when it finds none) the span of movement (windows above the motion
    gate); ``MANUAL_SPANS`` where the manifest's notes say more."""
    from pipeline.movement.exercises import names
    from pipeline.movement.run import MovementRun
    from pipeline.pose.track import clean_track

    from pipeline.movement.router import EXERCISES

    out = {}
    for r in rows:
        if r.label not in EXERCISES:
            continue
        clean, _ = clean_track(load_track(r))
        spans = []
        if clip_key(r) in MANUAL_SPANS:
            spans, how = MANUAL_SPANS[clip_key(r)][0], "manifest notes: " + MANUAL_SPANS[clip_key(r)][1]
        elif r.label in names() and r.label in ("squat", "push_up", "shoulder_press"):
            items = MovementRun(r.label, clean).evidence.reps.items
            spans = sorted([float(it.start_s), float(it.end_s)] for it in items)
            how = "rep counter"
        if not spans:
            clip = ClipArrays.from_frames(clean)
            ends, _, e, ok = clip_windows(clip)
            act = ends[ok][e >= gate]
            spans = [[float(act[0] - WIN_S), float(act[-1])]] if len(act) else []
            how = "movement span"
        merged: list[list[float]] = []
        for a, b in spans:
            if merged and a - merged[-1][1] < 1.0:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([round(a, 2), round(b, 2)])
        out[clip_key(r)] = {"label": r.label, "segments": [[round(a, 2), round(b, 2)] for a, b in merged],
                            "from": how}
    return out


# ----------------------------------------------------------------------------- augmentation

def augment(track, rng: np.random.Generator, plain: bool = False):
    """Augmented copy of a raw pose track as a list of PoseFrames, and the time map (scale, shift) applied to it:
    new_t = (old_t - shift) * scale."""
    from pipeline.pose.estimator import PoseFrame
    from pipeline.pose.landmarks import MIRROR

    from .synth import drop_frames

    t = track.t.astype(np.float64)
    img = track.image.astype(np.float32).copy()
    world = track.world.astype(np.float32).copy()
    vis = track.visibility.astype(np.float32).copy()
    present = track.present.copy()
    W, H = track.width or 1, track.height or 1
    scale, shift = 1.0, float(t[0]) if len(t) else 0.0
    idx = np.arange(len(t))
    if not plain:
        if rng.random() < 0.7:
            scale = float(rng.uniform(0.8, 1.25))
        if rng.random() < 0.5:
            shift += float(rng.uniform(0.0, 1.0))
        keep = t >= shift - 1e-9
        idx = idx[keep]
        tt = (t[idx] - shift) * scale
        u = rng.random()
        if u < 0.2:
            sel = np.arange(0, len(idx), 2)
        elif u < 0.6:
            sel = np.searchsorted(tt, drop_frames(tt, rng))
        else:
            sel = np.arange(len(idx))
        idx = idx[sel]
        img, world, vis, present = img[idx], world[idx], vis[idx], present[idx].copy()
        if rng.random() < 0.5:  # horizontal flip: the mirror image of the scene
            img = img[:, MIRROR]
            img[..., 0] = 1.0 - img[..., 0]
            world = world[:, MIRROR]
            world[..., 0] *= -1
            vis = vis[:, MIRROR]
        if rng.random() < 0.5:  # camera roll about the frame centre (in pixels, so the aspect ratio is kept)
            a = np.deg2rad(rng.uniform(-8, 8))
            c, s = np.cos(a), np.sin(a)
            x = (img[..., 0] - 0.5) * W
            y = (img[..., 1] - 0.5) * H
            img[..., 0] = (c * x - s * y) / W + 0.5
            img[..., 1] = (s * x + c * y) / H + 0.5
            wx, wy = world[..., 0].copy(), world[..., 1].copy()
            world[..., 0], world[..., 1] = c * wx - s * wy, s * wx + c * wy
        n = len(idx)
        ok = np.isfinite(img[..., 1]).all(1)
        body = float(np.median(np.ptp(img[ok, :, 1], 1))) if ok.any() else 0.5
        sig = rng.uniform(0.0, 0.006) * body
        img[..., :2] += rng.normal(0, 1, (n, 33, 2)).astype(np.float32) * sig * (1 + 2 * (1 - vis))[..., None]
        world += rng.normal(0, 1, world.shape).astype(np.float32) * rng.uniform(0.0, 0.015)
        vis = np.clip(vis + rng.normal(0, 0.05, vis.shape), 0, 1).astype(np.float32)
        if rng.random() < 0.3:
            drop = rng.random(n) < rng.uniform(0.0, 0.04)
            present = present & ~drop
        t_new = (t[idx] - shift) * scale
    else:
        t_new = t - shift
    frames = []
    for i in range(len(t_new)):
        if present[i]:
            frames.append(PoseFrame(t=float(t_new[i]), image=img[i], world=world[i], visibility=vis[i], present=True,
                                    width=W, height=H))
        else:
            frames.append(PoseFrame.empty(float(t_new[i]), W, H))
    return frames, (scale, shift)


def clip_real_windows(row: ClipRow, track, seg: dict | None, n_aug: int, seed: int, labels, hop: float = HOP_S,
                      codec=None):
    """Windows of ``n_aug`` augmented copies of one clip: (X float16 (M,T,F), energy (M,), y (M,)). With ``codec`` (the
    clip's webcam-stream track), the odd copies are augmented from it instead."""
    from pipeline.pose.cleaning import PoseCleaner

    unknown_idx = len(labels) - 1
    positive = row.label != "unknown"
    li = labels.index(row.label)
    segs = (seg or {}).get("segments") if positive else None
    X, E, Y = [], [], []
    for a in range(n_aug):
        rng = np.random.default_rng([seed, a, _stable_hash(clip_key(row))])
        src = codec if codec is not None and a % 2 == 1 else track
        frames, (scale, shift) = augment(src, rng, plain=(a == 0))
        if len(frames) < 4:
            continue
        cl = PoseCleaner()
        clean = [cl.update(pf) for pf in frames]
        clip = ClipArrays.from_frames(clean)
        ends, f, e, ok = clip_windows(clip, hop=hop)
        ends = ends[ok]
        s2 = [[(s0 - shift) * scale, (s1 - shift) * scale] for s0, s1 in (segs or [])]
        y = window_labels(ends, li, s2, unknown_idx, positive)
        X.append(f.astype(np.float16))
        E.append(e.astype(np.float32))
        Y.append(y)
    if not X:
        from pipeline.movement.router.features import N_FEAT, T

        return np.zeros((0, T, N_FEAT), np.float16), np.zeros(0, np.float32), np.zeros(0, np.int64)
    return np.concatenate(X), np.concatenate(E), np.concatenate(Y)


def _stable_hash(s: str) -> int:
    import zlib

    return zlib.crc32(s.encode())


def real_dataset(rows: list[ClipRow], labels, n_aug: int, seed: int, log=print):
    """Augmented windows of every clip: X, E, Y, clip index per window (into ``rows``)."""
    segs = load_segments()
    Xs, Es, Ys, Gs = [], [], [], []
    for i, r in enumerate(rows):
        track = load_track(r)
        try:
            codec = load_codec_track(r)
        except Exception as e:  # a clip the codec path cannot read: its plain copies still count
            log(f"  real: no webcam-stream track for {clip_key(r)}: {e}")
            codec = None
        seg = segs.get(clip_key(r))
        if r.label != "unknown" and not seg:
            log(f"  real: no exercise spans for {clip_key(r)}; its exercise windows are left out")
        X, E, Y = clip_real_windows(r, track, seg, n_aug, seed + _stable_hash(clip_key(r)) % 100000, labels,
                                    codec=codec)
        Xs.append(X)
        Es.append(E)
        Ys.append(Y)
        Gs.append(np.full(len(Y), i))
    return np.concatenate(Xs), np.concatenate(Es), np.concatenate(Ys), np.concatenate(Gs)


def main(argv=None) -> int:
    import argparse

    from pipeline.movement.router import LABELS

    ap = argparse.ArgumentParser(description="Dev-clip spans and folds for the router's real training data.")
    ap.add_argument("--segments", action="store_true", help=f"rebuild {SEGMENTS.relative_to(ROOT)}")
    ap.add_argument("--folds", action="store_true", help="print the folds")
    a = ap.parse_args(argv)
    use_repo_cache()
    rows = dev_rows(LABELS)
    if a.segments:
        seg = make_segments(rows)
        SEGMENTS.parent.mkdir(parents=True, exist_ok=True)
        SEGMENTS.write_text(json.dumps(seg, indent=1) + "\n")
        for k, v in seg.items():
            print(f"{k:70s} {v['label']:15s} {v['from']:14s} {v['segments']}")
    if a.folds or not a.segments:
        fo = folds(rows)
        for f in range(K_FOLDS):
            mem = [r for r in rows if fo[clip_key(r)] == f]
            print(f"fold {f}: {len(mem)} clips: " + ", ".join(f"{Path(r.file).stem} ({r.label})" for r in mem))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Calibrating the router's probabilities on held-out windows, so the confidence Spotter shows is a probability.

* **Held-out windows**: every moving window (motion energy over the gate) of every dev clip, scored by the fold model
  that never saw the clip's source (``models/train_router.py``: one network per fold), labelled as in training
  (``models/realdata.window_labels``: the exercise inside its rep spans, ``unknown`` well away from them, the margin
  between left out; every window of a negative clip ``unknown``). Both the file's landmarks and the webcam stream's
  (VP8 round trip) are used: users see the second.
* **Temperature scaling** (Guo et al. 2017): the networks' logits are divided by one temperature ``T`` fitted to
  minimise the negative log-likelihood of the held-out windows. One number, so it cannot overfit 60 clips; the
  ranking of the labels (and so every decision) is unchanged, only how sure the probabilities say they are.
* **Figures**: the expected calibration error (ECE, 10 bins of the top label's probability) and a reliability table,
  before and after; the fit is cross-checked by fitting ``T`` on two folds' windows and scoring the third.

``python -m models.calibrate [--weights DIR] [--write]`` prints the figures and, with ``--write``, stores ``T`` and the
figures in ``router_meta.json`` ("calibration"), which :class:`pipeline.movement.router.Router` reads.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from pipeline.movement.router import LABELS, UNKNOWN, WEIGHTS_DIR, Router
from pipeline.movement.router.features import ClipArrays, clip_windows

from .realdata import clip_key, dev_rows, load_codec_track, load_segments, load_track, use_repo_cache, window_labels

BINS = 10


def heldout_windows(weights_dir: Path = WEIGHTS_DIR, codec: bool = True, log=print):
    """(logits (N, L), labels (N,), fold (N,), source ("file" | "webcam") (N,)) of the moving dev windows, each scored
    by the fold model that never saw its clip."""
    from pipeline.pose.cleaning import PoseCleaner

    meta = json.loads((Path(weights_dir) / "router_meta.json").read_text())
    fold_of = (meta.get("real") or {}).get("folds") or {}
    gate = float((meta.get("decision") or {}).get("gate", 0.05))
    nets = {f: Router("model", weights_dir, member=f) for f in sorted(set(fold_of.values()))}
    segs = load_segments()
    Ls, Ys, Fs, Ss = [], [], [], []
    for r in dev_rows(LABELS):
        key = clip_key(r)
        f = fold_of.get(key)
        if f is None:
            continue
        tracks = [("file", load_track(r))]
        if codec:
            try:
                tracks.append(("webcam", load_codec_track(r)))
            except Exception as e:  # noqa: BLE001 - a clip the codec path cannot read keeps its file windows
                log(f"  {key}: no webcam-stream track ({e})")
        for src, tr in tracks:
            cl = PoseCleaner()
            clip = ClipArrays.from_frames([cl.update(pf) for pf in tr.frames()])
            ends, feats, energy, ok = clip_windows(clip)
            ends = ends[ok]
            if not len(ends):
                continue
            y = window_labels(ends, LABELS.index(r.label), (segs.get(key) or {}).get("segments"), UNKNOWN,
                              r.label != "unknown")
            keep = (energy >= gate) & (y >= 0)
            if not keep.any():
                continue
            Ls.append(nets[f].member_logits(feats[keep])[0])
            Ys.append(y[keep])
            Fs.append(np.full(int(keep.sum()), f))
            Ss.append(np.full(int(keep.sum()), src))
    return np.concatenate(Ls), np.concatenate(Ys), np.concatenate(Fs), np.concatenate(Ss)


def softmax(z: np.ndarray, T: float = 1.0) -> np.ndarray:
    z = z / T
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def nll(logits: np.ndarray, y: np.ndarray, T: float) -> float:
    p = softmax(logits, T)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1))))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising the NLL (golden-section search on log T over [1/4, 8])."""
    lo, hi = np.log(0.25), np.log(8.0)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(logits, y, np.exp(a)), nll(logits, y, np.exp(b))
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(logits, y, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(logits, y, np.exp(b))
    return float(np.exp((lo + hi) / 2))


def reliability(p: np.ndarray, y: np.ndarray) -> tuple[float, list[dict]]:
    """ECE of the top label's probability and the table behind it: per bin, windows, mean confidence, accuracy."""
    conf = p.max(1)
    right = p.argmax(1) == y
    edges = np.linspace(0, 1, BINS + 1)
    rows, ece = [], 0.0
    for i in range(BINS):
        m = (conf > edges[i]) & (conf <= edges[i + 1]) if i else (conf >= 0) & (conf <= edges[1])
        if not m.any():
            continue
        c, a = float(conf[m].mean()), float(right[m].mean())
        ece += m.mean() * abs(c - a)
        rows.append({"bin": f"{edges[i]:.1f}-{edges[i + 1]:.1f}", "windows": int(m.sum()), "confidence": round(c, 3),
                     "accuracy": round(a, 3)})
    return round(float(ece), 4), rows


def calibrate(weights_dir: Path = WEIGHTS_DIR, log=print) -> dict:
    logits, y, fold, src = heldout_windows(weights_dir, log=log)
    T = fit_temperature(logits, y)
    # cross-check: T fitted on two folds' windows, scored on the third
    cross_p = np.zeros((len(y), logits.shape[1]))
    for f in np.unique(fold):
        m = fold == f
        cross_p[m] = softmax(logits[m], fit_temperature(logits[~m], y[~m]))
    out = {"temperature": round(T, 4), "windows": int(len(y)), "bins": BINS}
    for name, p in (("before", softmax(logits, 1.0)), ("after", softmax(logits, T)), ("cross_fitted", cross_p)):
        ece, table = reliability(p, y)
        out[f"ece_{name}"] = ece
        out[f"reliability_{name}"] = table
    for s in ("file", "webcam"):
        m = src == s
        if m.any():
            out[f"ece_after_{s}"] = reliability(softmax(logits[m], T), y[m])[0]
            out[f"ece_before_{s}"] = reliability(softmax(logits[m], 1.0), y[m])[0]
    out["accuracy"] = round(float(np.mean(logits.argmax(1) == y)), 4)
    return out


def format_calibration(c: dict) -> str:
    L = [f"held-out moving windows: {c['windows']} (each scored by the fold model that never saw its clip's source; "
         f"file and webcam-stream landmarks), top-label accuracy {100 * c['accuracy']:.1f}%",
         f"temperature {c['temperature']}: ECE {c['ece_before']:.3f} before, {c['ece_after']:.3f} after "
         f"({c['ece_cross_fitted']:.3f} with T fitted on the other folds' windows)",
         "", "| confidence | windows | mean confidence (before) | accuracy | windows | mean confidence (after) | accuracy |",
         "| --- | --- | --- | --- | --- | --- | --- |"]
    before = {r["bin"]: r for r in c["reliability_before"]}
    after = {r["bin"]: r for r in c["reliability_after"]}
    for b in sorted(set(before) | set(after)):
        x, z = before.get(b), after.get(b)
        cells = [b] + ([str(x["windows"]), f"{x['confidence']:.2f}", f"{x['accuracy']:.2f}"] if x else ["-"] * 3) + \
            ([str(z["windows"]), f"{z['confidence']:.2f}", f"{z['accuracy']:.2f}"] if z else ["-"] * 3)
        L.append("| " + " | ".join(cells) + " |")
    return "\n".join(L)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Fit and report the router's calibration on held-out windows.")
    ap.add_argument("--weights", default=str(WEIGHTS_DIR))
    ap.add_argument("--write", action="store_true", help="store the temperature and figures in router_meta.json")
    a = ap.parse_args(argv)
    use_repo_cache()
    wd = Path(a.weights)
    c = calibrate(wd)
    print(format_calibration(c))
    if a.write:
        p = wd / "router_meta.json"
        meta = json.loads(p.read_text())
        meta["calibration"] = c
        p.write_text(json.dumps(meta, indent=2) + "\n")
        print(f"written to {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

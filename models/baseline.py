"""Baseline: gradient-boosted trees (scikit-learn HistGradientBoosting) over window statistics.

The fitted trees are exported to plain numpy arrays (``.npz``) and evaluated here without
scikit-learn, so the shipped file does not depend on the scikit-learn version (pickles do).
"""
from __future__ import annotations

import numpy as np

from .features import ANGLES, NK, SEGMENTS

# columns of the per-step features summarised by the statistics: 2D landmarks, angles, segments, visibility
_A = NK * 2
_B = NK * 2 + NK * 3
_C = _B + len(ANGLES) * 2 + len(SEGMENTS) * 2 + NK
STAT_COLS = np.r_[0:_A, _B:_C]


def window_stats(feats: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """(M, T, F) window features + (M,) motion energy -> (M, S) statistics."""
    x = feats[:, :, STAT_COLS].astype(np.float32)
    d = np.diff(x, axis=1)
    return np.concatenate([x.mean(1), x.std(1), x.min(1), x.max(1), np.abs(d).mean(1),
                           np.asarray(energy, np.float32)[:, None]], 1)


FIELDS = ("value", "feature_idx", "num_threshold", "missing_go_to_left", "left", "right", "is_leaf")


def export_hgb(clf) -> dict:
    """Flatten a fitted HistGradientBoostingClassifier into arrays."""
    trees = [p for it in clf._predictors for p in it]
    n_cls = len(clf._predictors[0])
    offs, arrs = [0], {f: [] for f in FIELDS}
    for tr in trees:
        nd = tr.nodes
        for f in FIELDS:
            arrs[f].append(np.asarray(nd[f]))
        offs.append(offs[-1] + len(nd))
    out = {f: np.concatenate(v) for f, v in arrs.items()}
    out["offsets"] = np.array(offs, np.int64)
    out["n_cls"] = np.array(n_cls)
    out["baseline"] = np.asarray(clf._baseline_prediction, np.float64).reshape(-1)
    out["classes"] = np.asarray(clf.classes_)
    return out


class TreeEnsemble:
    """numpy evaluation of exported boosted trees -> class probabilities."""

    def __init__(self, d: dict):
        self.d = {k: np.asarray(v) for k, v in d.items()}
        self.n_cls = int(self.d["n_cls"])
        self.offsets = self.d["offsets"]

    def raw(self, X: np.ndarray) -> np.ndarray:
        d = self.d
        X = np.asarray(X, np.float64)
        n = len(X)
        raw = np.tile(d["baseline"], (n, 1)) if d["baseline"].size == self.n_cls else \
            np.zeros((n, self.n_cls)) + d["baseline"]
        rows = np.arange(n)
        for k in range(len(self.offsets) - 1):
            o = self.offsets[k]
            node = np.zeros(n, np.int64)
            while True:
                g = o + node
                leaf = d["is_leaf"][g].astype(bool)
                if leaf.all():
                    break
                xv = X[rows, d["feature_idx"][g]]
                go_left = np.where(np.isnan(xv), d["missing_go_to_left"][g].astype(bool), xv <= d["num_threshold"][g])
                nxt = np.where(go_left, d["left"][g], d["right"][g])
                node = np.where(leaf, node, nxt)
            raw[:, k % self.n_cls] += d["value"][o + node]
        return raw

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        r = self.raw(X)
        if self.n_cls == 1:
            p = 1 / (1 + np.exp(-r[:, 0]))
            return np.stack([1 - p, p], 1)
        r = r - r.max(1, keepdims=True)
        e = np.exp(r)
        return e / e.sum(1, keepdims=True)

    @classmethod
    def load(cls, path) -> "TreeEnsemble":
        with np.load(path, allow_pickle=False) as z:
            return cls({k: z[k] for k in z.files})

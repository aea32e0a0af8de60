"""The boosted-trees baseline at run time: window statistics and a numpy evaluation of the exported trees (no
scikit-learn, so the shipped file does not depend on its version). Training and export: ``models/baseline.py``."""
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


class TreeEnsemble:
    """numpy evaluation of exported boosted trees -> class probabilities."""

    def __init__(self, d: dict):
        self.d = {k: np.asarray(v) for k, v in d.items()}
        self.n_cls = int(self.d["n_cls"])
        self.offsets = self.d["offsets"]

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Raw class scores: every tree walked at once (one step of every tree per iteration), so a single live
        window costs a few dozen array operations instead of a loop over hundreds of trees."""
        d = self.d
        X = np.asarray(X, np.float64)
        n = len(X)
        raw = np.tile(d["baseline"], (n, 1)) if d["baseline"].size == self.n_cls else \
            np.zeros((n, self.n_cls)) + d["baseline"]
        roots = np.asarray(self.offsets[:-1], np.int64)[None, :]  # (1, trees)
        rows = np.arange(n)[:, None]
        node = np.zeros((n, roots.shape[1]), np.int64)
        is_leaf = d["is_leaf"].astype(bool)
        miss_left = d["missing_go_to_left"].astype(bool)
        while True:
            g = roots + node
            leaf = is_leaf[g]
            if leaf.all():
                break
            xv = X[rows, d["feature_idx"][g]]
            go_left = np.where(np.isnan(xv), miss_left[g], xv <= d["num_threshold"][g])
            node = np.where(leaf, node, np.where(go_left, d["left"][g], d["right"][g]))
        vals = d["value"][roots + node]  # (n, trees); tree k adds to class k % n_cls
        for c in range(self.n_cls):
            raw[:, c] += vals[:, c::self.n_cls].sum(1)
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

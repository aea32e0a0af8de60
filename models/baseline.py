"""Baseline: gradient-boosted trees (scikit-learn HistGradientBoosting) over window statistics.

The fitted trees are exported to plain numpy arrays (``.npz``) and evaluated at run time by
``pipeline/movement/router/trees.py`` without scikit-learn, so the shipped file does not depend on the scikit-learn
version (pickles do).
"""
from __future__ import annotations

import numpy as np

from pipeline.movement.router.trees import FIELDS, STAT_COLS, TreeEnsemble, window_stats  # noqa: F401


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



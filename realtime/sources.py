"""Pose estimators that replay known landmarks (tests, benchmarks, recovery): same LiveSession code path,
without paying for MediaPipe again."""
from __future__ import annotations

import dataclasses
from typing import Iterable

import numpy as np

from pipeline.pose.estimator import PoseFrame


class ReplayedPose:
    """Returns the given PoseFrames in order, re-timed to the timestamps the session receives.

    ``strict``: the frame's own timestamp must match the one passed to ``process`` (same frames, same order)."""

    name = "replayed"

    def __init__(self, frames: Iterable[PoseFrame], strict: bool = True, tol: float = 1e-3):
        self._frames = list(frames)
        self._i = 0
        self.strict = strict
        self.tol = tol

    def process(self, rgb: np.ndarray, t: float) -> PoseFrame:
        if self._i >= len(self._frames):
            h, w = rgb.shape[:2]
            return PoseFrame.empty(t, w, h)
        pf = self._frames[self._i]
        self._i += 1
        if self.strict and abs(pf.t - t) > self.tol:
            raise AssertionError(f"frame {self._i - 1}: pose at t={pf.t:.4f} but frame at t={t:.4f}")
        return dataclasses.replace(pf, t=t)

    def close(self) -> None:
        pass


class CachedPose:
    """Known landmarks looked up by timestamp (nearest within ``tol``): right even when the session drops frames
    (a threaded session under a real-time feed), unlike :class:`ReplayedPose`. Frames with no known pose at
    their time get an empty pose. ``offset``: added to the cached timestamps (a clip played from ``offset`` s)."""

    name = "cached"

    def __init__(self, frames: Iterable[PoseFrame], tol: float = 0.02, offset: float = 0.0):
        self._frames = list(frames)
        self._t = np.array([pf.t + offset for pf in self._frames], float)
        self.tol = tol

    def process(self, rgb: np.ndarray, t: float) -> PoseFrame:
        if len(self._t):
            i = int(np.clip(np.searchsorted(self._t, t), 1, len(self._t) - 1)) if len(self._t) > 1 else 0
            j = min((i - 1, i) if i > 0 else (i,), key=lambda k: abs(self._t[k] - t))
            if abs(self._t[j] - t) <= self.tol:
                return dataclasses.replace(self._frames[j], t=t)
        h, w = rgb.shape[:2]
        return PoseFrame.empty(t, w, h)

    def close(self) -> None:
        pass

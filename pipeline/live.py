"""The live clock: pose → clean → QC → router → movement, one frame at a time, never looking ahead.

:class:`LivePipeline` is transport-free (no threads, no WebRTC): ``realtime/`` wraps it with frame dropping
and thread hand-off, ``spotter eval`` and the tests feed it frames directly. It keeps the per-frame data
(landmarks, signals) so the batch analysis at set end reuses them without running pose again.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .cleaning import CleanFrame, PoseCleaner
from .exercises import get as get_exercise
from .movement import MovementAnalyzer, MovementState, SetEvidence
from .pose import PoseEstimator, PoseFrame
from .qc import FrameStats, ImageStatsMeter, QCMonitor, QCWarning, pose_box
from .routing import SUPPORTED, live_router
from .signals import frame_signals


@dataclass
class LiveState:
    t: float
    valid: bool
    exercise: str  # committed label or "unknown"
    confidence: float
    committed: bool
    source: str  # model | user | none
    count: int
    partial: int
    phase: str
    cue: Optional[str] = None
    cue_code: Optional[str] = None
    new_rep: bool = False
    hints: list[QCWarning] = field(default_factory=list)


class LivePipeline:
    """Per-connection live analysis state. Not thread-safe: one thread feeds it."""

    def __init__(self, exercise: str | None = None, estimator: PoseEstimator | None = None, router="auto",
                 replay_s: float = 12.0, keep_frames: bool = True):
        self.estimator = estimator
        self.cleaner = PoseCleaner()
        self.meter = ImageStatsMeter()
        self.qc = QCMonitor(keep_s=30.0)
        self.user_exercise = exercise if exercise in SUPPORTED else None
        self.router = live_router() if router == "auto" else router
        if self.router is not None and self.user_exercise:
            self.router.override(self.user_exercise)
        self.replay_s = replay_s
        self._recent: deque = deque()  # (cf, signals, index) for the router's replay into a new exercise
        self.movement: MovementAnalyzer | None = None
        self.label = "unknown"
        self.t_commit: float | None = None
        self.keep_frames = keep_frames
        self.pose_frames: list[PoseFrame] = []
        self.clean_frames: list[CleanFrame] = []
        self.stats: list[FrameStats] = []
        self.finished: list[SetEvidence] = []  # sets of earlier exercises (exercise changed)
        self._n = 0
        self._last_state: LiveState | None = None
        if self.user_exercise:
            self._switch(self.user_exercise, 0.0)

    # ------------------------------------------------------------------
    def process(self, rgb: np.ndarray, t: float) -> LiveState:
        """One camera frame (RGB, upright, pose resolution) at time ``t`` seconds."""
        if self.estimator is None:
            from .pose import MediaPipePose

            self.estimator = MediaPipePose()
        pf = self.estimator.process(rgb, t)
        st = self.meter.update(rgb, t, pose_box(pf.image, pf.visibility) if pf.present else None)
        return self.process_pose(pf, st)

    def process_pose(self, pf: PoseFrame, stats: FrameStats | None = None) -> LiveState:
        """The part after pose (used directly when landmarks are already known, e.g. replaying a cache)."""
        cf = self.cleaner.update(pf)
        stats = stats or FrameStats(pf.t, math.nan, math.nan, math.nan)
        self.qc.update(stats, cf)
        idx = self._n
        self._n += 1
        if self.keep_frames:
            self.pose_frames.append(pf)
            self.clean_frames.append(cf)
            self.stats.append(stats)
        s = frame_signals(cf) if cf.valid else {}
        # exercise decision
        conf, committed, source = 0.0, False, "none"
        if self.user_exercise:
            conf, committed, source = 1.0, True, "user"
        elif self.router is not None:
            rs = self.router.update(cf)
            conf, committed, source = float(rs.confidence), bool(rs.committed), "model"
            new_label = rs.label if rs.committed else self.label
            if new_label in SUPPORTED and new_label != self.label:
                self._switch(new_label, cf.t)
        self._recent.append((cf, s, idx))
        while self._recent and self._recent[0][0].t < cf.t - self.replay_s:
            self._recent.popleft()
        ms: MovementState | None = None
        if self.movement is not None:
            ms = self.movement.update(cf, s, idx)
        state = LiveState(
            t=cf.t, valid=cf.valid, exercise=self.label, confidence=conf, committed=committed, source=source,
            count=ms.count if ms else 0, partial=ms.partial if ms else 0, phase=ms.phase if ms else "idle",
            cue=ms.cue if ms else None, cue_code=ms.cue_code if ms else None,
            new_rep=bool(ms and ms.new_rep is not None))
        if idx % 15 == 0 or self._last_state is None:
            state.hints = self.qc.live_hints()
        else:
            state.hints = self._last_state.hints
        self._last_state = state
        return state

    def _switch(self, label: str, t: float) -> None:
        """Commit to an exercise: close the previous one's set, replay the recent past into the new one."""
        if self.movement is not None:
            ev = self.movement.finish()
            if ev.reps.count or ev.reps.partial:
                self.finished.append(ev)
        self.label = label
        self.t_commit = t
        self.movement = MovementAnalyzer(get_exercise(label))
        # the reps that started before the router was sure are not lost: replay the recent frames (all past)
        for cf, s, idx in list(self._recent):
            self.movement.update(cf, s, idx)

    def override(self, label: str | None) -> None:
        """The user picks the exercise (or None to go back to automatic)."""
        self.user_exercise = label if label in SUPPORTED else None
        if self.router is not None:
            self.router.override(self.user_exercise)
        if self.user_exercise and self.user_exercise != self.label:
            self._switch(self.user_exercise, self._recent[-1][0].t if self._recent else 0.0)

    def finish(self) -> SetEvidence | None:
        if self.movement is None:
            return None
        return self.movement.finish()

    @property
    def count(self) -> int:
        return self.movement.counter.count if self.movement is not None else 0

    def close(self) -> None:
        if self.estimator is not None and hasattr(self.estimator, "close"):
            self.estimator.close()
            self.estimator = None

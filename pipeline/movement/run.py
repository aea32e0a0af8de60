"""The movement stage over a whole set: :class:`MovementRun` (the batch clock's loop over the analyzer) and
:class:`SetResult` (a set the live clock closed, with the frames it was computed from).

Takes cleaned frames, gives :class:`~pipeline.movement.analyzer.SetEvidence`."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..intake.imagestats import FrameStats
from ..pose.cleaning import CleanFrame
from ..pose.estimator import PoseFrame
from .analyzer import MovementAnalyzer, SetEvidence
from .exercises import get


@dataclass
class SetResult:
    """A finished set: the live evidence plus the frames it was computed from (for the set report)."""

    index: int
    exercise: str
    evidence: SetEvidence
    analyzer: MovementAnalyzer
    t_start: float
    t_end: float
    clean: list[CleanFrame]
    pose: list[PoseFrame]
    stats: list[FrameStats]
    confidence: float
    source: str
    t_commit: float | None
    reason: str  # "rest" | "user" | "exercise_changed" | "stream_ended"

    @property
    def reps(self) -> int:
        return self.evidence.reps.count


class MovementRun:
    """The movement stage looped over a clip (the batch clock of the live stage)."""

    def __init__(self, label: str, clean: list[CleanFrame], analyzer=None):
        self.ex = get(label)
        if analyzer is None:
            analyzer = MovementAnalyzer(self.ex)
            for i, cf in enumerate(clean):
                analyzer.update(cf, frame_index=i)
        self.analyzer = analyzer
        self.evidence = analyzer.finish()

    def series(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        s = self.analyzer.series(self.ex.primary_angles)
        return s.pop("t"), s

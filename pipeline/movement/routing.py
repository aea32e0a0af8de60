"""Glue between the pipeline and the exercise router in ``models/`` (batch and live).

When the router's weights are missing or broken the pipeline still runs: the exercise is ``unknown``
with a note saying why, and the user can choose the exercise.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ..schema import ExerciseModel, WindowDecision
from .exercises import names as _exercise_names
from .taught import is_taught

log = logging.getLogger(__name__)
SUPPORTED = tuple(_exercise_names())  # the exercise modules registered in exercises/ (one place for the labels)
# the router's labels (pipeline/movement/router/core.py) may run ahead of the modules: a label without a module is reported as unknown


@dataclass
class Decision:
    label: str
    confidence: float
    source: str
    windows: list = field(default_factory=list)
    note: str | None = None
    probs: dict = field(default_factory=dict)
    live_commit_s: float | None = None
    # the router's scored windows (router.core.RouterDecision: ends, calibrated P, active) and the confidence a set
    # needs to be counted, for :meth:`set_confidence`
    arrays: dict | None = field(default=None, repr=False)
    count_min: float = 0.0

    def set_confidence(self, reps) -> float | None:
        """The label's confidence over a set (its first rep's start to its last rep's end: ``reps`` are the rep
        machine's reps, partial ones included), as the live session computes it; None without the router's windows
        or reps."""
        if not self.arrays or not reps or self.source == "user":
            return None
        from .router import span_confidence

        return span_confidence(self.arrays["ends"], self.arrays["P"], self.arrays["active"], self.label,
                               reps[0].start_t, reps[-1].end_t)

    def model(self, view: str | None = None, live_commit_s: float | None = None) -> ExerciseModel:
        live_commit_s = self.live_commit_s if live_commit_s is None else live_commit_s
        return ExerciseModel(
            label=self.label, confidence=round(float(self.confidence), 4), source=self.source, view=view,
            windows=[WindowDecision(t_start=round(a, 3), t_end=round(b, 3), label=lab, confidence=round(c, 4))
                     for a, b, lab, c in self.windows],
            live_commit_s=None if live_commit_s is None else round(float(live_commit_s), 3), note=self.note)


def _load(kind: str = "model"):
    try:
        from .router import load_router

        return load_router(kind)
    except Exception as e:  # missing or corrupt weights: degrade, never crash
        log.warning("exercise router unavailable (%s): %s", kind, e)
        return None


def batch_decision(clean, forced: str | None = None, kind: str = "model", with_live_commit: bool = True) -> Decision:
    if forced:
        if forced not in SUPPORTED and not is_taught(forced):
            raise ValueError(f"unsupported exercise {forced!r}")
        return Decision(forced, 1.0, "user", note="chosen by the user")
    router = _load(kind)
    if router is None:
        return Decision("unknown", 0.0, kind, note="the exercise router could not be loaded; choose the exercise")
    d = router.classify(clean)
    note = getattr(d, "note", None)
    label = d.label
    if label != "unknown" and label not in SUPPORTED:  # the router knows it, this build has no module for it
        note = f"recognised as {label}, which this version cannot analyse; choose the exercise"
        label = "unknown"
    if label == "unknown" and not note:
        note = "this movement does not look like a " + ", ".join(SUPPORTED[:-1]) + f" or {SUPPORTED[-1]}"
    dec = Decision(label, float(d.confidence), d.source, list(d.windows), note, dict(d.probs),
                   arrays=dict(ends=d.ends, P=d.P, active=d.active) if d.P is not None else None,
                   count_min=float(getattr(router.params, "count_min", 0.0)))
    if with_live_commit and label in SUPPORTED:
        # the batch decision is the live procedure run over the clip: its commit time is the live router's
        dec.live_commit_s = getattr(d, "t_commit", None)
    return dec


def live_router(kind: str = "model"):
    """A fresh causal router for one live session, or None when unavailable."""
    router = _load(kind)
    if router is None:
        return None
    from .router import LiveRouter

    return LiveRouter(router)

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
    dec = Decision(label, float(d.confidence), d.source, list(d.windows), note, dict(d.probs))
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

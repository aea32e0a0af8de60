"""What an exercise module provides. Each exercise keeps *all* its knowledge in its own module:
the signal it counts on, the rep thresholds, per-rep metrics, issue rules (with the views that can judge
them), valid variations (and which issues they explain away) and the live cue texts.

Adding an exercise = writing one module with a subclass of :class:`Exercise` and calling ``register``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..repcount import Rep, RepParams

Signals = dict[str, np.ndarray]  # name -> values over a window of frames (NaN where unknown)


@dataclass(frozen=True)
class IssueRule:
    """A form issue: fires when ``metric`` is past ``threshold`` (``op`` '>' or '<') on a counted rep."""

    code: str
    label: str
    metric: str
    op: str
    threshold: float
    unit: str
    cue: str
    joints: tuple[int, ...] = ()
    views: tuple[str, ...] = ("front", "side", "diagonal")
    severity_span: float = 1.0  # how far past the threshold counts as the most severe
    weight: float = 0.7  # base importance of this issue among the exercise's issues
    view_reason: str = ""  # shown when the view cannot judge this rule

    def fires(self, value: float | None) -> bool:
        if value is None or not math.isfinite(value):
            return False
        return value > self.threshold if self.op == ">" else value < self.threshold

    def severity(self, value: float) -> float:
        past = (value - self.threshold) if self.op == ">" else (self.threshold - value)
        return float(min(1.0, max(0.0, self.weight * (0.5 + 0.5 * min(1.0, past / self.severity_span)))))


@dataclass(frozen=True)
class RangeTarget:
    """What the live range bar of a rep in progress fills toward (the page's distance display).

    ``depth``: from the athlete's own top (the rep machine's running top) down to ``value`` — 0 standing / at the
    top, 1 at the target depth (squat, push-up). ``lockout``: from the bottom (the athlete's working bottom, or
    ``floor`` before one is known) up to ``value`` — 0 at the bottom, 1 at the target lockout (press).
    ``value`` is in the unit of the exercise's counting signal (a joint angle)."""

    kind: str  # depth | lockout
    value: float
    floor: float | None = None  # lockout: the bottom used before the athlete's own is known


@dataclass(frozen=True)
class VariationRule:
    """A valid variation, detected from rep metrics, that suppresses the issues it explains."""

    code: str
    label: str
    detect: Callable[[list[dict], dict], tuple[bool, float, dict]]  # (rep metrics, set context)
    suppresses: tuple[str, ...] = ()
    note: str = ""
    views: tuple[str, ...] = ("front", "side", "diagonal", "unknown")  # views that can see it


@dataclass
class Exercise:
    name: str
    label: str
    signal: str  # key of pipeline.movement.signals.frame_signals used for counting (top = high value)
    params: RepParams
    required_landmarks: list[int]
    issue_rules: list[IssueRule] = field(default_factory=list)
    variation_rules: list[VariationRule] = field(default_factory=list)
    primary_angles: tuple[str, ...] = ()  # signals plotted in the report chart
    range_target: RangeTarget | None = None  # the live range bar's target; None: depth to params.start_bottom_max

    # -- hooks an exercise overrides --------------------------------------
    def gate(self, s: dict) -> bool:
        """Is this frame's posture compatible with the exercise (else the rep in progress is dropped)?"""
        return True

    def at_bottom(self, s: dict) -> bool:
        """Exercise-specific judgement that a pose is a bottom position (start of a set at the bottom)."""
        return False

    def valid_top(self, s: dict) -> bool:
        """Is this a valid top/lockout posture (a rep can only complete on one)?"""
        return True

    def rep_metrics(self, w: Signals, rep: Rep) -> dict[str, float | None]:
        """Per-rep metrics from the signals of the rep's frames (shared ones are added by the caller)."""
        return {}

    def target(self) -> RangeTarget:
        """The range bar's target: the exercise's own, else a depth target from its rep parameters (the value below
        which a set counts as starting at the bottom)."""
        return self.range_target or RangeTarget("depth", float(self.params.start_bottom_max))

    def range_progress(self, x: float, top: float = math.nan, bottom: float = math.nan) -> float | None:
        """0..1 progress of the rep in progress toward :meth:`target` for the counting signal ``x``, given the
        athlete's running ``top`` and working ``bottom`` (NaN when not known yet). None when ``x`` is unknown."""
        if x is None or not math.isfinite(x):
            return None
        tg = self.target()
        if tg.kind == "lockout":
            floor = tg.floor if tg.floor is not None else self.params.start_bottom_max
            lo = bottom if math.isfinite(bottom) else floor
            lo = min(lo, tg.value - self.params.min_rom)  # never a range narrower than the smallest rep
            return float(min(1.0, max(0.0, (x - lo) / (tg.value - lo))))
        hi = top if math.isfinite(top) else self.params.prior_top
        hi = max(hi, tg.value + self.params.min_rom)
        return float(min(1.0, max(0.0, (hi - x) / (hi - tg.value))))

    def live_cue(self, code: str) -> str:
        for r in self.issue_rules:
            if r.code == code:
                return r.cue
        return ""


# ---------------------------------------------------------------------------
# helpers shared by the modules
def at(w: Signals, key: str, i: int) -> float | None:
    a = w.get(key)
    if a is None or len(a) == 0:
        return None
    v = float(a[min(max(i, 0), len(a) - 1)])
    return v if math.isfinite(v) else None


def near(w: Signals, key: str, i: int, k: int = 2, fn=np.nanmedian) -> float | None:
    """Robust value around index ``i`` (median of +-k frames)."""
    a = w.get(key)
    if a is None or len(a) == 0:
        return None
    lo, hi = max(0, i - k), min(len(a), i + k + 1)
    seg = a[lo:hi]
    if not np.isfinite(seg).any():
        return None
    return float(fn(seg))


def agg(w: Signals, key: str, fn=np.nanmax) -> float | None:
    a = w.get(key)
    if a is None or len(a) == 0 or not np.isfinite(a).any():
        return None
    return float(fn(a))


def pct(w: Signals, key: str, q: float) -> float | None:
    a = w.get(key)
    if a is None or len(a) == 0 or not np.isfinite(a).any():
        return None
    return float(np.nanpercentile(a, q))


def median_of(reps: list[dict], key: str) -> float | None:
    """Median of a per-rep metric over the reps that have it."""
    v = [r.get(key) for r in reps if r.get(key) is not None]
    return float(np.median(v)) if v else None


def lr_diff(w: Signals, left: str, right: str, i: int) -> float | None:
    """|left - right| of a paired signal around frame ``i`` (asymmetry)."""
    a, b = near(w, left, i), near(w, right, i)
    return abs(a - b) if a is not None and b is not None else None


_OPS = {">": float.__gt__, "<": float.__lt__, ">=": float.__ge__}


def threshold_variation(metric: str, op: str, threshold: float, confidence: float):
    """A variation detector: the set's median ``metric`` is ``op`` ``threshold``."""
    cmp = _OPS[op]

    def detect(reps: list[dict], ctx: dict) -> tuple[bool, float, dict]:
        m = median_of(reps, metric)
        return (m is not None and cmp(m, float(threshold))), confidence, {metric: m, "threshold": threshold}

    return detect

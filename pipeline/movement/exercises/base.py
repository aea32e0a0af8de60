"""What an exercise module provides. Each exercise keeps *all* its knowledge in its own module:
the signal it counts on, the rep thresholds, per-rep metrics, issue rules (with the views that can judge
them), valid variations (and which issues they explain away) and the live cue texts.

Adding an exercise = writing one module with a subclass of :class:`Exercise` and calling ``register``.

Every issue rule also declares how well its metric can be measured (``noise``, the one-sigma measurement
noise in the metric's unit for the best view and clearly visible joints). The analyzer scales it with the view,
the visibility of the rule's joints and how many frames cover the moment that decides it, and
:meth:`IssueRule.judge` turns the measured value into a probability: an issue is *raised* only when the
value is past the threshold by more than the uncertainty (``Z_RAISE`` sigmas), *borderline* when it is past
the threshold but inside that margin. See ``docs/judgement.md``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..repcount import Rep, RepParams

Signals = dict[str, np.ndarray]  # name -> values over a window of frames (NaN where unknown)


# -- measurement uncertainty ------------------------------------------------------------------------
Z_RAISE = 1.645  # an issue is raised when it is past the threshold by more than this many sigmas (P > 0.95)
VIEW_NOISE = {"side": 1.0, "front": 1.0, "diagonal": 1.5, "unknown": 2.0}  # noise multiplier per view
DEFAULT_NOISE_FRAC = 0.15  # a rule without a noise figure: 15 % of its severity span
MOMENTS = ("bottom", "top", "peak")


def visibility_factor(v: float) -> float:
    """Noise multiplier for the mean visibility of a rule's joints: 1 at 0.9 or more, 3 at 0.5."""
    if v is None or not math.isfinite(v):
        return 3.0
    return 1.0 + 5.0 * min(0.4, max(0.0, 0.9 - float(v)))


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@dataclass(frozen=True)
class Judgement:
    """What a rule concluded about one measured value."""

    status: str  # "raised" | "borderline" | "clear"
    confidence: float  # P(the true value is past the threshold | measured value, sigma)
    sigma: float  # one-sigma measurement uncertainty, in the metric's unit
    margin: float  # Z_RAISE * sigma: how far past the threshold a value must be to be raised
    past: float  # how far the value is past the threshold (negative = on the good side)


@dataclass(frozen=True)
class IssueRule:
    """A form issue: fires when ``metric`` is past ``threshold`` (``op`` '>' or '<') on a counted rep.

    Measurement uncertainty (all optional, so older rules keep working):

    * ``noise``: one-sigma noise of ``metric`` (its unit) from the best view with clearly visible joints,
      e.g. the rep-to-rep spread of the metric on clean real sets. 0 = ``DEFAULT_NOISE_FRAC * severity_span``.
    * ``view_noise``: ``(view, multiplier)`` pairs overriding ``VIEW_NOISE`` for this rule.
    * ``moment``: what decides the metric: ``"bottom"`` (the deepest point), ``"top"`` (the lockout) or
      ``"peak"`` (the frame where the metric's signal is most extreme anywhere in the rep).
    * ``signal``: the per-frame signal the metric is read from (frame coverage and sampling error use it).
    * ``alt``: the same issue measured another way in views this rule does not judge (same code, label and
      cue), e.g. the press lockout from the front.
    * ``unmeasured_reason``: what the report says when the metric could not be measured on a rep.
    """

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
    noise: float = 0.0
    view_noise: tuple[tuple[str, float], ...] = ()
    moment: str = "peak"
    signal: str = ""
    alt: tuple["IssueRule", ...] = ()
    unmeasured_reason: str = ""  # shown when the metric could not be measured on a rep

    def past(self, value: float) -> float:
        """How far ``value`` is past the threshold, in the metric's unit (negative: on the good side)."""
        return (value - self.threshold) if self.op == ">" else (self.threshold - value)

    def severity(self, value: float) -> float:
        past = self.past(value)
        return float(min(1.0, max(0.0, self.weight * (0.5 + 0.5 * min(1.0, past / self.severity_span)))))

    def for_view(self, view: str) -> "IssueRule | None":
        """The rule that judges this issue from ``view`` (this one or an ``alt``), or None."""
        for r in (self, *self.alt):
            if view in r.views:
                return r
        return None

    @property
    def all_views(self) -> tuple[str, ...]:
        return tuple(v for r in (self, *self.alt) for v in r.views)

    def base_noise(self) -> float:
        return self.noise if self.noise > 0 else DEFAULT_NOISE_FRAC * self.severity_span

    def sigma(self, view: str = "side", visibility: float = 1.0, coverage: float = 1.0,
              sampling: float = 0.0) -> float:
        """One-sigma uncertainty of this rule's metric for ``view``, the joints' mean ``visibility``, a frame
        ``coverage`` multiplier (>= 1 when fewer frames than at 30 fps cover the decisive moment) and an extra
        ``sampling`` error (the metric's change between the frames around that moment)."""
        f_view = dict(self.view_noise).get(view, VIEW_NOISE.get(view, VIEW_NOISE["unknown"]))
        s = self.base_noise() * f_view * visibility_factor(visibility) * max(1.0, coverage)
        return float(math.hypot(s, max(0.0, sampling)))

    def judge(self, value: float, sigma: float) -> Judgement:
        """raised (past the threshold by more than ``Z_RAISE`` sigmas), borderline (past it, inside that margin)
        or clear; ``confidence`` = P(true value past the threshold) under a normal measurement error."""
        past = self.past(float(value))
        sigma = max(float(sigma), 1e-9)
        conf = normal_cdf(past / sigma)
        margin = Z_RAISE * sigma
        status = "raised" if past > margin else "borderline" if past > 0 else "clear"
        return Judgement(status=status, confidence=conf, sigma=sigma, margin=margin, past=past)


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
    # abort a rep in progress when the hips move sideways at walking speed (walking away). Off for exercises whose
    # athletes travel by design (walking lunges) or whose hinge changes the apparent body scale (a deadlift filmed
    # from the front: the normalised hip position jumps when the torso foreshortens)
    walk_gate: bool = True
    range_target: RangeTarget | None = None  # the live range bar's target; None: depth to params.start_bottom_max
    # the joint angle whose range the report gives per rep (rom_deg, top_deg, bottom_deg); "" = the counting signal
    angle_signal: str = ""

    @property
    def angle(self) -> str:
        return self.angle_signal or self.signal

    # -- hooks an exercise overrides --------------------------------------
    def prepare(self, s: dict, cf) -> None:
        """Add this exercise's own per-frame signals to the frame's signals ``s`` (computed from the cleaned frame
        ``cf``) before anything reads them; a taught exercise adds its progress signal here."""

    def accept(self, w: Signals, rep: Rep) -> bool:
        """Was a rep (counted or partial) this exercise's movement at all? False = forget it: neither counted nor
        reported (a taught exercise rejects other movements this way)."""
        return True

    def gate(self, s: dict) -> bool:
        """Is this frame's posture compatible with the exercise (else the rep in progress is dropped)?"""
        return True

    def at_bottom(self, s: dict) -> bool:
        """Exercise-specific judgement that a pose is a bottom position (start of a set at the bottom)."""
        return False

    def valid_bottom(self, s: dict) -> bool:
        """Is a low pose the exercise's own bottom position (a set can start there)?"""
        return True

    def valid_top(self, s: dict) -> bool:
        """Is this a valid top/lockout posture (a rep can only complete on one)?"""
        return True

    def same_posture(self, s: dict, ref: dict) -> bool:
        """Is this top the exercise's start posture again, compared with ``ref`` (the signals where the first
        full rep of the set completed)? A rep counts only on a return to the start posture."""
        return True

    def full_depth(self, w: Signals, rep: Rep) -> bool | None:
        """Did a rep the counter just counted reach the depth of a full rep by this exercise's own measure?
        False = report it as partial (never counted as full); None = no opinion (the counter decides)."""
        return None

    def not_this(self, w: Signals, rep: Rep, settled: bool) -> str | None:
        """Why a counted rep is not this exercise at all (another movement that moves the same joint: a jump for a
        squat, a pull-up for a press), or None. A rep with a reason is reported as partial, never counted. Asked
        twice: when the rep counts (``settled`` False: ``w`` from a little before the descent to the count) and once
        its top has settled (``w`` up to then: a jump takes off after the count)."""
        return None

    def rep_metrics(self, w: Signals, rep: Rep) -> dict[str, float | None]:
        """Per-rep metrics from the signals of the rep's frames (shared ones are added by the caller)."""
        return {}

    def rep_side(self, w: Signals, rep: Rep) -> str | None:
        """The side that led or worked this rep ("left" / "right"; a lunge's front leg), None when not one-sided."""
        return None

    def set_metrics(self, reps: list) -> dict[str, float | None]:
        """Set-level metrics from the counted reps (``RepItem``s: metrics and side), e.g. left/right asymmetry."""
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


def near_t(w: Signals, key: str, i: int, half_s: float = 0.1, fn=np.nanmedian) -> float | None:
    """Robust value around index ``i`` over +-``half_s`` seconds: the same window whatever the frame rate
    (live drops frames; a window of +-k frames would stretch in time and read a different part of the rep)."""
    a, t = w.get(key), w.get("t")
    if t is None or a is None or len(a) != len(t) or len(a) == 0:
        return near(w, key, i, 2, fn)
    i = min(max(i, 0), len(a) - 1)
    lo = int(np.searchsorted(t, t[i] - half_s - 1e-9, "left"))
    hi = int(np.searchsorted(t, t[i] + half_s + 1e-9, "right"))
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


def _scale(w: Signals) -> float | None:
    sc = w.get("scale_px")
    if sc is None or not np.isfinite(sc).any():
        return None
    v = float(np.nanmedian(sc))
    return v if v > 1.0 else None


def body_rise(w: Signals, signal: str) -> float | None:
    """How far the hips rose above standing height during a window, in torso lengths: standing is the hips' median
    height while the counting ``signal`` is in the top tenth of its range (the athlete upright), the rise is their
    highest point above it. A squat or a deadlift stands up to standing height and no higher (a few hundredths of
    landmark jitter); a jump carries the whole body up by a fifth of a torso or more. The hips, not the feet: a bar
    passing the shins hides the ankles, and their landmarks jump up with it. Only the frames of the window's last
    camera segment count: after a camera cut the hips sit elsewhere in the picture without the body moving."""
    sc, y, x = _scale(w), w.get("hip_px_y"), w.get(signal)
    if sc is None or y is None or x is None:
        return None
    ok = np.isfinite(y) & np.isfinite(x)
    seg = w.get("segment")
    if seg is not None and ok.any():
        ok &= seg == seg[np.flatnonzero(ok)[-1]]
    if ok.sum() < 5:
        return None
    hi, lo = float(np.max(x[ok])), float(np.min(x[ok]))
    standing = ok & (x >= hi - (hi - lo) / 10.0)
    if standing.sum() < 2:
        return None
    return float(np.median(y[standing]) - np.min(y[ok])) / sc  # y down: up is smaller


def travel(w: Signals, key: str) -> float | None:
    """The vertical travel of a picture position (pixels) over a window, in torso lengths (5th to 95th percentile)."""
    sc, y = _scale(w), w.get(key)
    if sc is None or y is None or np.isfinite(y).sum() < 5:
        return None
    return float(np.nanpercentile(y, 95) - np.nanpercentile(y, 5)) / sc


JUMP_RISE = 0.2  # torso lengths above standing height: the body left the floor (a jump); squats and deadlifts read <= 0.12


def median_of(reps: list[dict], key: str) -> float | None:
    """Median of a per-rep metric over the reps that have it."""
    v = [r.get(key) for r in reps if r.get(key) is not None]
    return float(np.median(v)) if v else None


def lr_diff(w: Signals, left: str, right: str, i: int) -> float | None:
    """|left - right| of a paired signal around frame ``i`` (asymmetry)."""
    a, b = near_t(w, left, i), near_t(w, right, i)
    return abs(a - b) if a is not None and b is not None else None


_OPS = {">": float.__gt__, "<": float.__lt__, ">=": float.__ge__}


def threshold_variation(metric: str, op: str, threshold: float, confidence: float):
    """A variation detector: the set's median ``metric`` is ``op`` ``threshold``."""
    cmp = _OPS[op]

    def detect(reps: list[dict], ctx: dict) -> tuple[bool, float, dict]:
        m = median_of(reps, metric)
        return (m is not None and cmp(m, float(threshold))), confidence, {metric: m, "threshold": threshold}

    return detect

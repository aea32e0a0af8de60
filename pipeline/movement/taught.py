"""Taught exercises: Spotter learns a movement from one demonstration and counts it like a built-in exercise.

**What is learnt** (:func:`learn`, from the cleaned frames of a demonstration: a clip or the webcam):

* every frame becomes 17 *body features*: angles of the limbs in the body's own frame (elbows, knees; each upper
  arm's and thigh's elevation from the torso, its sideways and its forward component; the torso's tilt), from
  MediaPipe's 3D world landmarks. They do not depend on where the camera stands, how far away it is or how tall the
  person is;
* a first progress signal along the demonstration's first principal component finds its reps (the same
  :class:`~pipeline.movement.repcount.RepCounter` that counts every exercise); from those reps: the features that
  moved consistently, the *start posture* (the end of the movement nearer a neutral stance: ``NEUTRAL``) and the far
  posture, the direction between them, one side or both (a movement unlike its mirror image is one-sided: each rep
  is counted in the orientation it was done in), the mean rep (all 17 features, time-normalised) and the tempo;
* the *progress* of a frame is its position along that direction: 100 at the start posture, 0 at the
  demonstration's far point.

A demonstration is refused with a plain reason (:class:`TeachError`) when it is too short, when no one is seen
clearly, when it barely moves, when it does not repeat (fewer than two reps) or when its reps are not alike.

**How it counts** (:class:`TaughtExercise`, an :class:`~pipeline.movement.exercises.base.Exercise`): the progress
signal goes through the generic rep machine with thresholds in per cent of the demonstration's range (so live
equals batch, partial reps, tempo and the range bar come from the shared machinery). Other movements are kept out
by three checks:

* *posture* (:meth:`Scorer.score`, :meth:`TaughtExercise.gate`): every frame's moving joints must lie near the
  demonstration's line, and the still joints of the limbs that move near their demo values; a frame far past either
  end of the demo's range does not fit either;
* *coordination* (:meth:`TaughtExercise.accept`): a rep (from a little before it) must stay on that path, and its
  joints must have moved together as in the demonstration (each within a tolerance, no still joint of a moving limb
  moving a lot, not far past the demonstration's range, both sides in step if they were): a rep that fails is
  forgotten, neither counted nor reported;
* *range*: a rep under half of the demonstration's range is a partial rep.

Nothing here judges form: a taught exercise has no form rules, and its report says so (``NOT_JUDGED``). See
``docs/taught.md``.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass
from typing import Literal, Optional

import numpy as np
from pydantic import BaseModel, Field, field_validator, model_validator

from ..pose.landmarks import (
    L_ANKLE,
    L_ELBOW,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    L_WRIST,
    R_ANKLE,
    R_ELBOW,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    R_WRIST,
)
from .exercises.base import Exercise, RangeTarget, Signals
from .repcount import Rep, RepCounter, RepParams

FORMAT = "spotter-taught-exercise"
VERSION = 1

# -- body features ----------------------------------------------------------------------------------------------
SIDE_FEATURES = ("elbow", "knee", "arm_raise", "arm_out", "arm_forward", "thigh_raise", "thigh_out", "thigh_forward")
FEATURES = tuple(f"{f}_l" for f in SIDE_FEATURES) + tuple(f"{f}_r" for f in SIDE_FEATURES) + ("torso_tilt",)
NS = len(SIDE_FEATURES)
NF = len(FEATURES)
MIRROR = np.r_[np.arange(NS, 2 * NS), np.arange(0, NS), 2 * NS]  # left block <-> right block
# how much each moving feature counts along and off the rep's line: the arm's and the thigh's elevation, the elbow,
# the knee and the torso fully; the plane they move in (out to the side, forward) half, as it varies between
# people and variants of the same movement (elbows out or forward in a press, a wider stance) and between the
# camera's views of them (the depth of a limb moving toward the camera). The joints that stay still are held at full
# weight: a front raise taught keeps the arm out of the side plane
FEATURE_W = np.array([1.0, 1.0, 1.0, 0.5, 0.5, 1.0, 0.5, 0.5] * 2 + [1.0])
WORDS = {"elbow": "elbow", "knee": "knee", "arm_raise": "shoulder (arm raised)",
         "arm_out": "shoulder (arm out to the side)", "arm_forward": "shoulder (arm forward)",
         "thigh_raise": "hip (thigh raised)", "thigh_out": "hip (leg out to the side)",
         "thigh_forward": "hip (thigh forward)", "torso_tilt": "torso tilt"}
JOINT = {"elbow": "elbow", "knee": "knee", "arm_raise": "shoulder", "arm_out": "shoulder", "arm_forward": "shoulder",
         "thigh_raise": "hip", "thigh_out": "hip", "thigh_forward": "hip", "torso_tilt": "torso"}
# the landmarks each feature reads (for its visibility and for the QC of the body parts a taught exercise needs)
_LMK = {"elbow": ((L_SHOULDER, L_ELBOW, L_WRIST), (R_SHOULDER, R_ELBOW, R_WRIST)),
        "knee": ((L_HIP, L_KNEE, L_ANKLE), (R_HIP, R_KNEE, R_ANKLE)),
        "arm": ((L_SHOULDER, L_ELBOW), (R_SHOULDER, R_ELBOW)),
        "thigh": ((L_HIP, L_KNEE), (R_HIP, R_KNEE))}


def feature_landmarks(i: int) -> tuple[int, ...]:
    name = FEATURES[i]
    if name == "torso_tilt":
        return (L_SHOULDER, R_SHOULDER, L_HIP, R_HIP)
    base, side = name.rsplit("_", 1)
    key = base if base in _LMK else base.split("_")[0]
    return _LMK[key][0 if side == "l" else 1]


_FEAT_LMK = [np.array(feature_landmarks(i)) for i in range(NF)]
# the features of each limb (left arm, left leg, right arm, right leg)
LIMBS = [np.array([o + SIDE_FEATURES.index(f) for f in names]) for o in (0, NS)
         for names in (("elbow", "arm_raise", "arm_out", "arm_forward"), ("knee", "thigh_raise", "thigh_out",
                                                                          "thigh_forward"))]
# (NF, 4) landmark indices per feature, padded by repeating the first (for a vectorised minimum)
_VIS_PAD = np.array([list(ix) + [ix[0]] * (4 - len(ix)) for ix in _FEAT_LMK])


def feature_words(name: str) -> str:
    """'elbow_l' -> 'left elbow'."""
    if name == "torso_tilt":
        return WORDS[name]
    base, side = name.rsplit("_", 1)
    return f"{'left' if side == 'l' else 'right'} {WORDS[base]}"


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / np.where(n > 1e-9, n, np.nan)


def _deg_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(np.arccos(np.clip(np.sum(a * b, -1), -1.0, 1.0)))


def body_features(world: np.ndarray) -> np.ndarray:
    """The 17 body features (degrees) of one pose ``(33, 3)`` or of many ``(T, 33, 3)`` world landmarks (metres,
    y down). The torso frame: *up* from the hips' to the shoulders' centre, *lateral* toward the body's left,
    *forward* out of the chest. NaN where the pose has NaN."""
    W = np.asarray(world, np.float64)
    if W.ndim == 2:
        return _features_one(W)
    up = _unit((W[:, L_SHOULDER] + W[:, R_SHOULDER]) / 2 - (W[:, L_HIP] + W[:, R_HIP]) / 2)
    lat = (W[:, L_SHOULDER] - W[:, R_SHOULDER]) + (W[:, L_HIP] - W[:, R_HIP])
    lat = _unit(lat - np.sum(lat * up, -1, keepdims=True) * up)
    fwd = np.cross(lat, up)
    out = np.full((len(W), NF), np.nan)

    def limb(a, b):
        return _unit(W[:, b] - W[:, a])

    for k, (sh, el, wr, hp, kn, an, sign) in enumerate(_SIDES):
        o = k * NS
        out[:, o + 0] = _deg_between(limb(el, sh), limb(el, wr))
        out[:, o + 1] = _deg_between(limb(kn, hp), limb(kn, an))
        for j, (a, b) in ((2, (sh, el)), (5, (hp, kn))):
            d = limb(a, b)
            out[:, o + j] = _deg_between(d, -up)
            out[:, o + j + 1] = np.degrees(np.arcsin(np.clip(np.sum(d * lat, -1) * sign, -1.0, 1.0)))
            out[:, o + j + 2] = np.degrees(np.arcsin(np.clip(np.sum(d * fwd, -1), -1.0, 1.0)))
    out[:, 2 * NS] = _deg_between(up, np.array([0.0, -1.0, 0.0])[None])
    return out


_SIDES = ((L_SHOULDER, L_ELBOW, L_WRIST, L_HIP, L_KNEE, L_ANKLE, 1.0),
          (R_SHOULDER, R_ELBOW, R_WRIST, R_HIP, R_KNEE, R_ANKLE, -1.0))


def _features_one(W: np.ndarray) -> np.ndarray:
    """:func:`body_features` of one pose in plain floats: a few tens of microseconds a frame on the live path."""
    P = W.tolist()
    nan = math.nan

    def sub(a, b):
        return (a[0] - b[0], a[1] - b[1], a[2] - b[2])

    def dot(a, b):
        return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]

    def unit(v):
        n = math.sqrt(dot(v, v))
        return (v[0] / n, v[1] / n, v[2] / n) if n > 1e-9 and math.isfinite(n) else None

    def ang(a, b):
        return math.degrees(math.acos(max(-1.0, min(1.0, dot(a, b))))) if a and b else nan

    def asin_deg(x):
        return math.degrees(math.asin(max(-1.0, min(1.0, x))))

    ls, rs, lh, rh = P[L_SHOULDER], P[R_SHOULDER], P[L_HIP], P[R_HIP]
    up = unit(((ls[0] + rs[0] - lh[0] - rh[0]) / 2, (ls[1] + rs[1] - lh[1] - rh[1]) / 2,
               (ls[2] + rs[2] - lh[2] - rh[2]) / 2))
    out = [nan] * NF
    if up is None:
        return np.array(out)
    lat0 = (ls[0] - rs[0] + lh[0] - rh[0], ls[1] - rs[1] + lh[1] - rh[1], ls[2] - rs[2] + lh[2] - rh[2])
    k = dot(lat0, up)
    lat = unit((lat0[0] - k * up[0], lat0[1] - k * up[1], lat0[2] - k * up[2]))
    fwd = (lat[1] * up[2] - lat[2] * up[1], lat[2] * up[0] - lat[0] * up[2], lat[0] * up[1] - lat[1] * up[0]) \
        if lat else None
    down = (-up[0], -up[1], -up[2])
    for s, (sh, el, wr, hp, kn, an, sign) in enumerate(_SIDES):
        o = s * NS
        out[o] = ang(unit(sub(P[sh], P[el])), unit(sub(P[wr], P[el])))
        out[o + 1] = ang(unit(sub(P[hp], P[kn])), unit(sub(P[an], P[kn])))
        for j, (a, b) in ((2, (sh, el)), (5, (hp, kn))):
            d = unit(sub(P[b], P[a]))
            if d is None:
                continue
            out[o + j] = ang(d, down)
            if lat is not None:
                out[o + j + 1] = asin_deg(dot(d, lat) * sign)
                out[o + j + 2] = asin_deg(dot(d, fwd))
    out[2 * NS] = ang(up, (0.0, -1.0, 0.0))
    return np.array(out)


def feature_visibility(vis: np.ndarray) -> np.ndarray:
    """Per feature, the lowest visibility of the landmarks it reads (``vis``: (33,) or (T, 33))."""
    v = np.asarray(vis, np.float64)
    return np.min(v[..., _VIS_PAD], axis=-1)


# -- learning ---------------------------------------------------------------------------------------------------
class TeachError(ValueError):
    """A demonstration Spotter cannot learn from; the message says why in plain words."""


MIN_MOVE_DEG = 20.0  # a feature whose range is below this (or below MOVE_SHARE of the largest) did not move
MOVE_SHARE = 0.3
BARELY_MOVES_DEG = 25.0  # the largest range below this: the demonstration barely moves
ASYMMETRIC = 0.3  # a rep's movement this far from its mirror image (0: symmetric, 0.71: one side only) is one-sided
TEMPLATE_N = 24  # points of the learnt rep trajectory
MIN_REPS = 2
COUNT = dict(prior_top=100.0, start_bottom_max=30.0, min_rom=40.0, enter_abs=15.0, enter_frac=0.2, turn_abs=12.0,
             turn_frac=0.2, finish_frac=0.75, partial_frac=0.6, stall_frac=0.35, first_partial_bottom=50.0,
             min_phase_s=0.15)
PARTIAL_OF_DEMO = 0.5  # a rep below this share of the demonstration's range is a partial rep
# a rep's start posture is the end of the movement nearer a neutral stance: joints straight (elbows, knees, hips),
# then arms by the sides and the torso upright (half weight): standing for squats, arms down for curls and raises,
# the arm hanging for a row, the lockout for a press, the top for a push-up
NEUTRAL = np.array([180.0, 180.0, 0, 0, 0, 0, 0, 0] * 2 + [0.0])
NEUTRAL_W = np.array([1.0, 1.0, 0.5, 0.5, 0.5, 1.0, 0.5, 0.5] * 2 + [0.5])


def _interp(t: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Fill NaN rows by linear interpolation in time (ends held)."""
    X = X.copy()
    for j in range(X.shape[1]):
        ok = np.isfinite(X[:, j])
        if ok.sum() >= 2 and not ok.all():
            X[~ok, j] = np.interp(t[~ok], t[ok], X[ok, j])
    return X


def _rom(X: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.nanpercentile(X, 95, axis=0) - np.nanpercentile(X, 5, axis=0)


NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def slug(label: str) -> str:
    """The exercise's name from the label the user typed: 'Bicep curl (DB)' -> 'bicep_curl_db'."""
    s = re.sub(r"[^a-z0-9]+", "_", str(label).strip().lower()).strip("_")
    if s and not s[0].isalpha():
        s = "x_" + s
    return s[:40].rstrip("_")


class DemoRep(BaseModel):
    start_s: float
    far_s: float
    end_s: float
    range_pct: float = Field(description="the rep's range, in per cent of the demonstration's mean range")


class JointRange(BaseModel):
    feature: str
    words: str
    low: float
    high: float


def _vec(n: int):
    def check(v: list[float]) -> list[float]:
        if len(v) != n or not all(math.isfinite(float(x)) for x in v):
            raise ValueError(f"expected {n} finite numbers")
        return [float(x) for x in v]
    return check


class TaughtModel(BaseModel):
    """What Spotter learnt from one demonstration: small, JSON, shareable (``realtime/taught.py`` stores it)."""

    format: Literal["spotter-taught-exercise"] = FORMAT
    version: int = VERSION
    name: str = Field(description="identifier: lowercase letters, digits and _ (from the label)")
    label: str = Field(min_length=1, max_length=60)
    created_at: str = Field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    source: str = Field("", max_length=200, description="the demonstration: a file name or 'webcam'")
    span_s: tuple[float, float] = (0.0, 0.0)
    features: list[str] = Field(default_factory=lambda: list(FEATURES))
    sided: Literal["both", "one"] = "both"
    side: Optional[Literal["left", "right"]] = Field(None, description="one-sided: the side the demo worked with")
    alternating: bool = False
    moving: list[str] = Field(description="features that moved (the demo's working side as the left one)")
    start: list[float] = Field(description="the start posture (17 features, degrees)")
    far: list[float] = Field(description="the far posture of the demo's reps")
    direction: list[float] = Field(description="unit direction from the start to the far posture (moving features, "
                                               "weighted)")
    depth: float = Field(gt=0, description="the demo's mean range along the direction (weighted degrees)")
    weights: list[float] = Field(default_factory=lambda: FEATURE_W.tolist(), description="feature weights (FEATURE_W)")
    spread: list[float] = Field(description="per feature, how much it varied over the demo's reps (degrees)")
    template: list[list[float]] = Field(description="the mean rep, TEMPLATE_N x 17 features")
    rep_s: float = Field(gt=0, description="the demo's median rep duration")
    out_s: float = Field(ge=0, description="start -> far point")
    back_s: float = Field(ge=0, description="far point -> start")
    demo_reps: list[DemoRep] = Field(default_factory=list)
    joints: list[JointRange] = Field(default_factory=list, description="the moving joints and their demo ranges")
    curve: list[tuple[float, float]] = Field(default_factory=list, description="the demo's progress (t, %)")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError("a name is 1-40 lowercase letters, digits or _, starting with a letter")
        return v

    @model_validator(mode="after")
    def _shapes(self) -> "TaughtModel":
        if tuple(self.features) != FEATURES:
            raise ValueError("this exercise was taught with another feature set (a newer or older Spotter)")
        for key in ("start", "far", "direction", "spread", "weights"):
            _vec(NF)(getattr(self, key))
        if not (len(self.template) == TEMPLATE_N and all(len(r) == NF for r in self.template)):
            raise ValueError(f"template must be {TEMPLATE_N} x {NF}")
        if not np.isfinite(np.asarray(self.template, float)).all():
            raise ValueError("template has non-finite values")
        unknown = [m for m in self.moving if m not in FEATURES]
        if unknown or not self.moving:
            raise ValueError(f"moving features must be among {FEATURES}")
        d = np.asarray(self.direction, float)
        if not 0.99 < float(np.linalg.norm(d)) < 1.01:
            raise ValueError("direction must be a unit vector")
        if len(self.curve) > 2000 or len(self.demo_reps) > 500:
            raise ValueError("too many points")
        return self


# -- scoring one frame against a model ---------------------------------------------------------------------------
TOL_MOVE_DEG = 30.0  # the moving joints may leave the demo's line by this much (or TOL_MOVE_REL of its range)
TOL_MOVE_REL = 0.45
TOL_STATIC_DEG = 35.0  # a joint that stayed still in the demo may differ from its demo value by this much
MIN_VIS = 0.5  # features of landmarks less visible than this are not held against a frame
PROGRESS_RANGE = (-50.0, 170.0)  # progress outside this is far past either end of the demo's range


@dataclass
class Score:
    progress: float  # 100 at the start posture, 0 at the demo's far point (NaN: not measurable)
    side: int  # 0: the demo's orientation, 1: mirrored (one-sided exercises: the other side works)
    off_line: float  # the moving joints' distance from the demo's line (degrees)
    off_still: float  # the largest excess of a still joint over its tolerance (degrees, <= 0 is fine)
    fit: bool


class Scorer:
    """A model's numbers as arrays, and the per-frame score."""

    def __init__(self, m: TaughtModel):
        self.m = m
        self.start = np.asarray(m.start, float)
        self.w = np.asarray(m.weights, float)
        self.dir = np.asarray(m.direction, float)
        self.depth = float(m.depth)
        self.moving = np.array([f in m.moving for f in FEATURES])
        self.still = ~self.moving
        # joints held against a frame: the still ones of the limbs that move (and the torso). The other limbs are
        # incidental (hands on a bar or forward in a squat, sitting or standing for a curl; one-sided, the other arm
        # may hold on to a bench or a machine, or work too: a one-arm demonstration also counts two-arm reps)
        involved = np.zeros(NF, bool)
        for limb in LIMBS:
            if self.moving[limb].any():
                involved[limb] = True
                if m.sided == "both":
                    involved[MIRROR[limb]] = True
        involved[2 * NS] = True
        self.gated = self.still & involved
        self.tol_still = TOL_STATIC_DEG + 0.5 * np.asarray(m.spread, float)
        self.tol_line = max(TOL_MOVE_DEG, TOL_MOVE_REL * self.depth)
        self.orients = (np.arange(NF), MIRROR) if m.sided == "one" else (np.arange(NF),)
        self.half_spread = 0.5 * np.asarray(m.spread, float)
        self._oix = np.array(self.orients)

    def score(self, f: np.ndarray, vis: np.ndarray | None = None) -> Score:
        """The frame's progress and fit, in each orientation at once (one-sided: the demo's side working, or the
        other); the orientation kept is the one nearer the demonstration's whole posture."""
        G = f[self._oix]  # (orientations, NF)
        Z = G - self.start
        zm = np.where(self.moving, Z * self.w, 0.0)  # the moving joints, weighted: along and off the rep's line
        a = zm @ self.dir
        prog = 100.0 * (1.0 - a / self.depth)
        off_line = np.linalg.norm(zm - a[:, None] * self.dir, axis=1)
        fin = np.isfinite(Z)
        if vis is not None:
            fin &= vis[self._oix] >= MIN_VIS
        absz = np.where(fin, np.abs(Z), 0.0)
        off_still = np.max(np.where(self.gated & fin, absz - self.tol_still, -np.inf), axis=1)
        off_still = np.where(np.isfinite(off_still), off_still, 0.0)
        path = off_line ** 2 + np.sum(np.where(self.still & fin, np.maximum(0.0, absz - self.half_spread), 0.0) ** 2,
                                      axis=1)
        ok = np.isfinite(prog)
        if not ok.any():
            return Score(math.nan, 0, math.nan, math.nan, False)
        k = int(np.lexsort((np.where(ok, prog, np.inf), np.where(ok, path, np.inf)))[0])
        p = float(prog[k])
        fit = bool(off_line[k] <= self.tol_line and off_still[k] <= 0.0 and PROGRESS_RANGE[0] <= p <= PROGRESS_RANGE[1])
        return Score(p, k, float(off_line[k]), float(off_still[k]), fit)


def counting_params(rep_s: float | None = None, phase_s: float | None = None) -> RepParams:
    """The rep machine's thresholds for a taught exercise, in per cent of the demonstration's range. A set may be
    much faster or slower than the demonstration: only very short reps and very long pauses are ruled out."""
    min_rep = 0.4 if not rep_s else min(0.8, max(0.3, 0.25 * rep_s))
    max_phase = 8.0 if not phase_s else max(8.0, 3.0 * phase_s)
    return RepParams(**COUNT, min_rep_s=min_rep, max_phase_s=max_phase)


def _count(t: np.ndarray, prog: np.ndarray, ok: np.ndarray, params: RepParams) -> list[Rep]:
    rc = RepCounter(params)
    for i in range(len(t)):
        rc.update(float(t[i]), float(prog[i]), bool(ok[i]))
    return [r for r in rc.reps if not r.partial]


def _at(t: np.ndarray, X: np.ndarray, when: float, half: float = 0.1) -> np.ndarray:
    sel = np.abs(t - when) <= half
    if not sel.any():
        sel = np.abs(t - when) == np.min(np.abs(t - when))
    return np.nanmedian(X[sel], axis=0)


def _resample(t: np.ndarray, X: np.ndarray, t0: float, t1: float, n: int = TEMPLATE_N) -> np.ndarray:
    tq = np.linspace(t0, t1, n)
    return np.stack([np.interp(tq, t, X[:, j]) for j in range(X.shape[1])], 1)


def frames_features(clean) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(t, features (T, 17), feature visibility (T, 17), valid) of cleaned frames."""
    t = np.array([c.t for c in clean], float)
    valid = np.array([bool(c.valid) for c in clean], bool)
    if not len(clean):
        return t, np.zeros((0, NF)), np.zeros((0, NF)), valid
    F = body_features(np.stack([c.world for c in clean]))
    V = feature_visibility(np.stack([c.visibility for c in clean]))
    F[~valid] = np.nan
    return t, F, V, valid


def learn_frames(clean, *, name: str, label: str, source: str = "") -> TaughtModel:
    """Learn from cleaned frames (``pipeline.pose.track.clean_track`` of a clip, or the frames of a live
    recording). Raises :class:`TeachError` with a plain reason."""
    t, F, _, valid = frames_features(clean)
    return learn(t, F, valid, name=name, label=label, source=source)


def learn(t, F, valid, *, name: str, label: str, source: str = "") -> TaughtModel:
    """Learn a movement from a demonstration's body features (:func:`frames_features`)."""
    t = np.asarray(t, float)
    valid = np.asarray(valid, bool) & np.isfinite(F).all(1)
    short = TeachError("the demonstration is too short: record two or three slow, full repetitions (at least a few "
                       "seconds)")
    if len(t) < 2 or t[-1] - t[0] < 1.5:
        raise short
    if valid.mean() < 0.5:
        raise TeachError(f"Spotter saw you clearly on only {valid.mean():.0%} of the demonstration: stand so that "
                         "your whole body is in view, in good light, and record it again")
    if valid.sum() < 20:
        raise short
    X = _interp(t, np.where(valid[:, None], F, np.nan))
    rom = _rom(X[valid])
    big = float(np.max(rom))
    if big < BARELY_MOVES_DEG:
        raise TeachError(f"the demonstration barely moves: no joint moved more than {big:.0f}°. Show two or three "
                         "full repetitions of the movement, through its whole range")
    params = counting_params()
    # 1. a first progress signal: the demo's main direction of movement (the first principal component of the joints
    #    that moved), its start posture the end nearer a neutral stance; the reps it shows
    cand = rom >= MIN_MOVE_DEG
    Z = (X * FEATURE_W)[valid][:, cand]
    vt = np.linalg.svd(Z - Z.mean(0), full_matrices=False)[2]
    u = np.zeros(NF)
    u[cand] = vt[0]
    p = (X * FEATURE_W) @ u
    lo, hi = np.percentile(p[valid], [3, 97])
    if hi - lo < 1e-6:
        raise TeachError(_no_repeat(0))
    r = (p - lo) / (hi - lo)
    far_hi = np.nanmedian(X[valid & (r >= 0.85)], 0)
    far_lo = np.nanmedian(X[valid & (r <= 0.15)], 0)
    near_hi = np.linalg.norm(NEUTRAL_W * (far_hi - NEUTRAL)) <= np.linalg.norm(NEUTRAL_W * (far_lo - NEUTRAL))
    prog0 = 100.0 * (r if near_hi else 1.0 - r)
    reps = _count(t, prog0, valid, params)
    if len(reps) < MIN_REPS:
        raise TeachError(_no_repeat(len(reps)))

    # 2. what moved from the start posture to the far point, consistently over the reps
    def settled(r) -> float:  # the top after a rep: the highest progress within 0.6 s, before the next descent
        sel = (t >= r.end_t) & (t <= r.end_t + 0.6)
        nxt = [q.start_t for q in reps if q.start_t > r.end_t]
        if nxt:
            sel &= t < nxt[0]
        return float(t[sel][int(np.argmax(prog0[sel]))]) if sel.any() else r.end_t

    def start_of(r) -> np.ndarray:
        ts = ([] if r.first_ascent else [r.start_t]) + [settled(r)]
        return np.nanmedian([_at(t, X, w) for w in ts], 0)

    disp = np.array([_at(t, X, r.bottom_t) - start_of(r) for r in reps])
    med = np.median(disp, 0)
    same = np.mean(np.sign(disp) == np.sign(med)[None], 0)
    moving = (np.abs(med) >= MIN_MOVE_DEG) & (same >= 0.75)
    if moving.any():
        moving &= np.abs(med) >= MOVE_SHARE * float(np.max(np.abs(med[moving])))
    if not moving.any():
        raise TeachError("the demonstration's repetitions barely move: show two or three full repetitions, through "
                         "the movement's whole range")
    # 3. one side or both: a movement whose mirror image differs (one arm, a lunge's front leg) is one-sided, each
    #    rep counted in the orientation it was done in (the demo's side working, or the other)
    Dm = np.where(moving, med, 0.0)
    asym = float(np.linalg.norm(Dm - Dm[MIRROR])) / max(float(np.linalg.norm(Dm) + np.linalg.norm(Dm[MIRROR])), 1e-9)
    one = asym > ASYMMETRIC
    rl, rr = float(np.linalg.norm(Dm[:NS])), float(np.linalg.norm(Dm[NS:2 * NS]))
    side = "left" if rl >= rr else "right"
    ix = MIRROR if (one and side == "right") else np.arange(NF)
    mov = moving[ix].copy()
    Xc = X[:, ix]
    starts = np.array([start_of(r)[ix] for r in reps])
    fars = np.array([_at(t, Xc, r.bottom_t) for r in reps])
    start, far = np.median(starts, 0), np.median(fars, 0)
    D = np.where(mov, (far - start) * FEATURE_W, 0.0)
    depth = float(np.linalg.norm(D))
    if depth < BARELY_MOVES_DEG:
        raise TeachError(f"the demonstration's repetitions barely move (about {depth:.0f}°): show full repetitions")
    model = TaughtModel(name=name, label=label, source=source, span_s=(float(t[0]), float(t[-1])),
                        sided="one" if one else "both", side=side if one else None,
                        moving=[FEATURES[j] for j in np.flatnonzero(mov)], start=start.tolist(),
                        far=far.tolist(), direction=(D / depth).tolist(), depth=depth, spread=[0.0] * NF,
                        template=np.zeros((TEMPLATE_N, NF)).tolist(), rep_s=1.0, out_s=0.0, back_s=0.0)
    # 4. the demo's reps by the learnt model, each side in its own orientation (alternating sides: both count)
    sc = Scorer(model)
    scores = [sc.score(Xc[i]) for i in range(len(t))]
    prog = np.array([s.progress for s in scores])
    reps = _count(t, prog, valid & np.isfinite(prog), params)
    if len(reps) < MIN_REPS:
        raise TeachError(_no_repeat(len(reps)))
    orients = [Xc[:, o] for o in sc.orients]
    trajs, inside = [], np.zeros(len(t), bool)
    for r in reps:
        sel = (t >= r.start_t) & (t <= r.end_t)
        inside |= sel
        k = scores[int(np.argmin(np.abs(t - r.bottom_t)))].side
        trajs.append(_resample(t, orients[k], r.start_t, r.end_t))
    trajs = np.array(trajs)
    template = trajs.mean(0)
    # how alike the reps are: each rep's distance from the mean rep, against the range
    alike = np.sqrt(np.mean(((trajs - template[None]) * FEATURE_W)[:, :, mov] ** 2, axis=(1, 2))) / depth
    if float(np.median(alike)) > 0.5:
        raise TeachError("the repetitions are not alike: show the same movement two or three times, slowly and "
                         "through the same range")
    ins = np.array([orients[scores[i].side][i] for i in np.flatnonzero(inside)])
    spread = np.where(mov, 0.0, np.percentile(ins, 95, 0) - np.percentile(ins, 5, 0))
    dur = np.array([r.end_t - r.start_t for r in reps])
    mean_depth = float(np.mean([r.rom for r in reps]))
    sides = [scores[int(np.argmin(np.abs(t - r.bottom_t)))].side for r in reps]
    demo_reps = [DemoRep(start_s=round(r.start_t, 3), far_s=round(r.bottom_t, 3), end_s=round(r.end_t, 3),
                         range_pct=round(100.0 * r.rom / mean_depth, 1)) for r in reps]
    back = np.arange(NF) if side == "left" or not one else MIRROR
    joints = []
    for j in np.flatnonzero(mov):
        fname = FEATURES[back[j]]
        lo_, hi_ = sorted((float(start[j]), float(far[j])))
        joints.append(JointRange(feature=fname, words=feature_words(fname), low=round(lo_, 1), high=round(hi_, 1)))
    joints.sort(key=lambda jr: -(jr.high - jr.low))
    step = max(1, len(t) // 600)
    curve = [(round(float(t[i]), 3), round(float(prog[i]), 1)) for i in range(0, len(t), step)
             if np.isfinite(prog[i])]
    return model.model_copy(update=dict(
        alternating=bool(one and len(set(sides)) > 1 and min(sides.count(0), sides.count(1)) >= 1),
        spread=spread.tolist(), template=template.tolist(), rep_s=float(np.median(dur)),
        out_s=float(np.median([r.bottom_t - r.start_t for r in reps])),
        back_s=float(np.median([r.end_t - r.bottom_t for r in reps])), demo_reps=demo_reps, joints=joints,
        curve=curve))


def _no_repeat(n: int) -> str:
    what = "no complete repetition" if n == 0 else "only one complete repetition"
    return (f"the demonstration does not repeat: Spotter found {what}. Show two or three slow, full repetitions, "
            "each from the start posture out and back")


# -- the exercise ----------------------------------------------------------------------------------------------
FEATURE_KEY = "tf:"  # per-frame body features in the frame's signals (shared by every taught exercise)
_FKEYS = tuple(FEATURE_KEY + k for k in FEATURES)
FIT_SHARE = 0.8  # share of a rep's frames (from a little before it) on the demonstration's path
FIT_GAP_S = 0.3  # the longest stretch off the path a rep may have
TOL_COORD_DEG = 40.0  # coordination: a moving joint's part of a rep may differ from the demo's by this much ...
TOL_COORD_REL = 0.4  # ... or by this share of its expected part
COORD_RESID = 0.4  # ... and all of them together by this share of the rep's expected movement
OVER_RANGE = 1.5  # a rep that moved this many times the demonstration's range is not the demonstrated movement
REP_ASYMMETRIC = 0.35  # a two-sided exercise's rep whose movement is this far from its mirror image is one-sided
TOL_COORD_STILL = 40.0  # a joint of a moving limb that stayed (nearly) still in the demo may move this much more/less
NOT_JUDGED = ("no form rules exist for this movement: Spotter learnt it from your demonstration and judges only "
              "range and tempo against it")


@dataclass
class TaughtExercise(Exercise):
    """A movement learnt from a demonstration (:func:`taught_exercise` builds one from a :class:`TaughtModel`)."""

    model: Optional[TaughtModel] = None

    def __post_init__(self):
        self.scorer = Scorer(self.model)
        self._fit = self.signal + ":fit"
        self._side = self.signal + ":side"
        self._W = np.asarray(self.model.weights, float)
        self._D = np.asarray(self.model.far, float) - np.asarray(self.model.start, float)
        self._spread = np.asarray(self.model.spread, float)

    # -- per frame
    def prepare(self, s: dict, cf) -> None:
        """Add this exercise's progress (its counting signal), posture fit and working side to a frame's signals,
        and the body features (every taught exercise reads the same ones)."""
        if not s or cf is None or not cf.valid:
            return
        if FEATURE_KEY + FEATURES[0] in s:  # another taught exercise computed them for this frame
            f = np.array([s[k] for k in _FKEYS])
        else:
            f = body_features(cf.world)
            s.update(zip(_FKEYS, f.tolist()))
        sc = self.scorer.score(f, feature_visibility(cf.visibility))
        s[self.signal] = sc.progress
        s[self._fit] = 1.0 if sc.fit else 0.0
        s[self._side] = float(sc.side)

    def rep_side(self, w: Signals, rep: Rep) -> str | None:
        """One-sided exercises: the side that worked this rep (the orientation kept at its far point)."""
        if self.model.sided != "one":
            return None
        t, side = w.get("t"), w.get(self._side)
        if t is None or side is None or not len(t):
            return None
        k = side[int(np.argmin(np.abs(t - rep.bottom_t)))]
        if not np.isfinite(k):
            return None
        demo = self.model.side or "left"
        return demo if int(k) == 0 else ("right" if demo == "left" else "left")

    def rep_metrics(self, w: Signals, rep: Rep) -> dict[str, float | None]:
        """Range and tempo against the demonstration (the only things judged), and the main joints' range."""
        m = self.model
        out: dict[str, float | None] = {
            "range_of_demo_frac": rep.rom / 100.0,  # the rep's range, as a share of the demonstration's
            "pace_of_demo_frac": (rep.end_t - rep.start_t) / m.rep_s if m.rep_s > 0 else None,  # 1.2: 20 % slower
        }
        # the counting signal is a share of the demonstration's range: the generic range and top/bottom figures
        # are given in degrees of the joint that moves most instead (its angle at the start and at the far point)
        out.update(rom_deg=None, top_deg=None, bottom_deg=None)
        t = w.get("t")
        if t is not None and len(t):
            for k, jr in enumerate(m.joints[:2]):
                x = w.get(FEATURE_KEY + jr.feature)
                if x is None:
                    continue
                if m.sided == "one" and self.rep_side(w, rep) not in (None, m.side):
                    x = w.get(FEATURE_KEY + FEATURES[MIRROR[FEATURES.index(jr.feature)]])
                sel = (t >= rep.start_t) & (t <= rep.end_t) & np.isfinite(x)
                if sel.sum() >= 2:
                    base = jr.feature.rsplit("_", 1)[0] if jr.feature != "torso_tilt" else jr.feature
                    rng = float(np.max(x[sel]) - np.min(x[sel]))
                    out[f"{base}_range_deg"] = rng
                    if k == 0:
                        ib = int(np.argmin(np.abs(t - rep.bottom_t)))
                        i0 = int(np.argmin(np.abs(t - (rep.end_t if rep.first_ascent else rep.start_t))))
                        out.update(rom_deg=rng, top_deg=float(x[i0]), bottom_deg=float(x[ib]))
        return out

    def set_metrics(self, reps) -> dict[str, float | None]:
        """The set against the demonstration: mean, lowest and highest range share, the demonstration's rep
        duration; one-sided: reps and mean range per side (left/right asymmetry)."""
        fr = [r.metrics.get("range_of_demo_frac") for r in reps if r.metrics.get("range_of_demo_frac") is not None]
        out: dict[str, float | None] = {
            "demo_rep_s": round(self.model.rep_s, 2),
            "mean_range_of_demo_frac": round(float(np.mean(fr)), 3) if fr else None,
            "min_range_of_demo_frac": round(float(np.min(fr)), 3) if fr else None,
            "max_range_of_demo_frac": round(float(np.max(fr)), 3) if fr else None,
        }
        if self.model.sided == "one":
            for side in ("left", "right"):
                sr = [r.metrics.get("range_of_demo_frac") for r in reps if r.side == side]
                sr = [x for x in sr if x is not None]
                out[f"reps_{side}"] = float(len([r for r in reps if r.side == side]))
                out[f"{side}_range_of_demo_frac"] = round(float(np.mean(sr)), 3) if sr else None
        return out

    def gate(self, s):
        return s.get(self._fit, 0.0) > 0.0

    def full_depth(self, w: Signals, rep: Rep) -> bool | None:
        return False if rep.rom < 100.0 * PARTIAL_OF_DEMO else None

    def accept(self, w: Signals, rep: Rep) -> bool:
        """A rep counts as this movement only if the posture stayed on the demonstration's path through it (from a
        little before it left the start posture) and the joints moved together as in the demonstration."""
        return self.check(w, rep)[0]

    def check(self, w: Signals, rep: Rep) -> tuple[bool, str]:
        if rep.stalled:  # went back out before returning to the start posture: not counted, not reported either
            return False, "stalled"
        t, fit = w.get("t"), w.get(self._fit)
        if t is None or fit is None or not len(t):
            return False, "no frames"
        t0 = rep.start_t if rep.first_ascent else rep.start_t - 0.5
        # the frames with a pose (no one in view before the rep, a frame dropped: neither for nor against)
        sel = (t >= t0 - 1e-6) & (t <= rep.end_t + 1e-6) & np.isfinite(fit)
        if sel.sum() < 3:
            return False, "too few frames"
        ok = fit[sel] > 0
        share = float(ok.mean())
        gap, run_start = 0.0, None
        for tt, o in zip(t[sel], ok):
            if not o and run_start is None:
                run_start = tt
            elif o and run_start is not None:
                gap, run_start = max(gap, tt - run_start), None
        if run_start is not None:
            gap = max(gap, float(t[sel][-1]) - run_start)
        if share < FIT_SHARE or gap > FIT_GAP_S:
            return False, f"off the demonstration's path ({share:.0%} of the rep on it, a {gap:.2f} s gap)"
        return self.coordination(w, rep)

    def coordination(self, w: Signals, rep: Rep) -> tuple[bool, str]:
        """Did the joints move together as in the demonstration over this rep? (ok, what differed)"""
        t = w.get("t")
        if t is None or not len(t):
            return True, ""
        F = np.stack([w.get(FEATURE_KEY + k, np.full(len(t), np.nan)) for k in FEATURES], 1)
        side = w.get(self._side)
        ib = int(np.argmin(np.abs(t - rep.bottom_t)))
        k = int(side[ib]) if side is not None and np.isfinite(side[ib]) else 0
        ix = self.scorer.orients[min(k, len(self.scorer.orients) - 1)]
        G = F[:, ix]
        sel = (t >= rep.start_t - 1e-6) & (t <= rep.end_t + 1e-6)
        if sel.sum() < 3:
            return True, ""
        G = G[sel]
        tt = t[sel]
        prog = w.get(self.signal)
        pp = prog[sel] if prog is not None else None
        if pp is None or not np.isfinite(pp).any():
            return True, ""
        ihi, ilo = int(np.nanargmax(pp)), int(np.nanargmin(pp))
        g_ref = np.nanmedian(G[np.abs(tt - tt[ihi]) <= 0.1], 0)
        g_far = np.nanmedian(G[np.abs(tt - tt[ilo]) <= 0.1], 0)
        d = g_far - g_ref
        mv = self.scorer.moving
        dw, Dw = d * self._W, self._D * self._W  # the moving joints weighted (FEATURE_W), the still ones not
        Dm = np.where(mv, Dw, 0.0)
        scale = float(np.nansum(np.where(mv, dw, 0.0) * Dm) / max(float(Dm @ Dm), 1e-9))
        if not math.isfinite(scale) or scale <= 0:
            return False, "moved the other way"
        if scale > OVER_RANGE:  # a demonstration shows the full range: far past it is another movement
            return False, f"went {scale:.0%} of the demonstration's range"
        if self.model.sided == "both":  # both sides in step in the demonstration: a one-sided rep is another movement
            both = mv | mv[MIRROR]
            a, b = np.where(both, dw, 0.0), np.where(both, dw[MIRROR], 0.0)
            if np.isfinite(a).all():
                asym = float(np.linalg.norm(a - b)) / max(float(np.linalg.norm(a) + np.linalg.norm(b)), 1e-9)
                if asym > REP_ASYMMETRIC:
                    return False, f"one side moved unlike the other ({asym:.2f})"
        e = np.where(mv, dw - scale * Dw, d - scale * self._D)
        self.last_check = st = {"scale": scale,
                                "resid": float(np.linalg.norm(np.where(mv & np.isfinite(e), e, 0.0))) /
                                max(scale * float(np.linalg.norm(Dm)), 1e-9)}
        bad_m = [(abs(e[j]) - max(TOL_COORD_DEG, TOL_COORD_REL * scale * abs(Dw[j])), j)
                 for j in np.flatnonzero(mv) if math.isfinite(e[j])]
        bad_s = [(abs(e[j]) - TOL_COORD_STILL, j) for j in np.flatnonzero(self.scorer.gated) if math.isfinite(e[j])]
        st["move_excess"] = max(bad_m)[0] if bad_m else -99.0
        st["still_excess"] = max(bad_s)[0] if bad_s else -99.0
        st["move_worst"] = FEATURES[max(bad_m)[1]] if bad_m else ""
        st["still_worst"] = FEATURES[max(bad_s)[1]] if bad_s else ""
        if st["resid"] > COORD_RESID:
            return False, f"the joints moved unlike the demonstration ({st['resid']:.0%} off)"
        if st["move_excess"] > 0:
            return False, f"{st['move_worst']} off by {st['move_excess']:.0f}°"
        if st["still_excess"] > 0:
            return False, f"{st['still_worst']} moved {st['still_excess']:.0f}° more than in the demo"
        return True, ""


def taught_exercise(model: TaughtModel) -> TaughtExercise:
    key = f"taught:{model.name}"
    real = MIRROR if model.sided == "one" and model.side == "right" else np.arange(NF)  # the demo's own side
    main = [FEATURE_KEY + FEATURES[real[j]] for j in np.argsort(-np.abs(np.asarray(model.direction)))[:2]
            if abs(model.direction[j]) > 0.2]
    lm = sorted({i for m in model.moving for i in feature_landmarks(FEATURES.index(m))} |
                ({i for m in model.moving for i in feature_landmarks(int(MIRROR[FEATURES.index(m)]))}
                 if model.sided == "one" else set()))
    return TaughtExercise(name=model.name, label=model.label, signal=key,
                          params=counting_params(model.rep_s, max(model.out_s, model.back_s)),
                          required_landmarks=lm, primary_angles=tuple(main) or (key,),
                          range_target=RangeTarget("depth", 0.0), model=model)


# -- the taught exercises this process knows (the data folder's, registered by realtime/taught.py) ---------------
_MODELS: dict[str, TaughtModel] = {}


def use(model: TaughtModel) -> None:
    """Make a taught exercise known to the pipeline (``exercises.get``, live sessions, the batch analysis)."""
    from .exercises import REGISTRY

    if model.name in REGISTRY or model.name == "unknown":
        raise ValueError(f"{model.name!r} is a built-in exercise's name")
    _MODELS[model.name] = model


def forget(name: str) -> None:
    _MODELS.pop(name, None)


def taught_names() -> list[str]:
    return sorted(_MODELS)


def is_taught(name: object) -> bool:
    return isinstance(name, str) and name in _MODELS


def model_of(name: str) -> TaughtModel | None:
    return _MODELS.get(name)


def report_info(name: str):
    """What a set report says about a taught exercise (None for any other exercise)."""
    from ..schema import TaughtInfo

    m = _MODELS.get(name)
    if m is None:
        return None
    return TaughtInfo(label=m.label, source=m.source, created_at=m.created_at, sided=m.sided,
                      demo_reps=len(m.demo_reps), demo_rep_s=round(m.rep_s, 2), note=NOT_JUDGED)


def lookup(name: str) -> TaughtExercise | None:
    """A fresh :class:`TaughtExercise` for one analyzer (None if no such taught exercise)."""
    m = _MODELS.get(name)
    return taught_exercise(m) if m is not None else None


class TaughtWatch:
    """Automatic mode: does the movement match a taught exercise? Each taught exercise known (at most ``MAX_WATCH``)
    runs its own analyzer over the frames no built-in exercise has claimed; one that has counted ``PROPOSE_REPS``
    reps (each accepted as its movement) in the last ``WINDOW_S`` seconds is proposed to the user. A proposal never
    replaces the router's label: the user chooses."""

    MAX_WATCH = 6
    PROPOSE_REPS = 2
    WINDOW_S = 20.0

    def __init__(self):
        self._an: dict[str, tuple[TaughtModel, object]] = {}

    def reset(self) -> None:
        self._an = {}

    def update(self, cf, s: dict, idx: int) -> list[str]:
        from .analyzer import MovementAnalyzer

        names = taught_names()[: self.MAX_WATCH]
        if not names:
            self._an = {}
            return []
        out = []
        for n in names:
            m = _MODELS[n]
            cur = self._an.get(n)
            an = cur[1] if cur is not None and cur[0] is m else None
            if an is not None and (an.counter.reps and an.counter.reps[-1].end_t < cf.t - self.WINDOW_S
                                   or len(an._t) > 2400):
                an = None  # nothing recent: start afresh (bounded memory)
            if an is None:
                an = MovementAnalyzer(taught_exercise(m), keep_s=self.WINDOW_S)
                self._an[n] = (m, an)
            an.update(cf, s, idx)
            recent = [r for r in an.counter.reps if not r.partial and r.end_t >= cf.t - self.WINDOW_S]
            if len(recent) >= self.PROPOSE_REPS:
                out.append(n)
        for n in list(self._an):
            if n not in names:
                del self._an[n]
        return out

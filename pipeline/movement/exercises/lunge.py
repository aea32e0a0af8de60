"""Lunge: everything Spotter knows about it.

Counting signal: the hips' height over the feet in the picture (torso lengths). Every lunge -- forward, reverse,
walking, a split squat, a lateral lunge -- lowers the hips by a third of a leg or more once per rep, whichever leg
steps, and they come back up as the athlete stands on one leg; walking bobs them by a few hundredths. The straighter
knee (the old signal) needs both knee angles, and a leg pointing at the camera reads a knee angle that jumps by 60
degrees for a fifth of a second. A rep completes standing on one straight leg (the straighter knee >= 135 deg).
Each leg's lunge is one rep.

The front leg of each rep is the one whose hip is more flexed at the bottom (3D world landmarks: it works from
the front and from the side). Walking lunges travel across (or toward) the picture: the module turns the
analyzer's walking gate off (``walk_gate=False``) so they are not aborted.

Which foot moved tells the variation apart: the front foot steps out and back (forward lunge), the back foot
steps back and returns (reverse lunge), the back foot comes through to the front (walking lunge) or neither
moves (split squat).
"""
from __future__ import annotations

import math

import numpy as np

from ...pose.landmarks import (
    L_ANKLE,
    L_FOOT,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    R_ANKLE,
    R_FOOT,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
)
from ..repcount import Rep, RepParams
from .base import Exercise, IssueRule, RangeTarget, Signals, VariationRule, median_of, near_t

LEAD_MIN_DEG = 12.0  # hip flexion difference needed to say which leg is in front
NO_LEAD = ("not measured on this rep: which leg was in front could not be told (both hips bent about the same) or "
           "the front leg was not clearly visible")


def _bottom(w: Signals, signal: str) -> int:
    x = w[signal]
    return int(np.nanargmin(x)) if np.isfinite(x).any() else 0


def _lead(w: Signals, ib: int) -> str | None:
    d = near_t(w, "hip_flex_lr", ib, 0.15)
    if d is None or abs(d) < LEAD_MIN_DEG:
        return None
    return "left" if d > 0 else "right"


def _foot_move(w: Signals, side: str, i0: int, i1: int) -> float | None:
    """How far one ankle moved in the picture between two frames, in torso lengths."""
    pts = []
    for i in (i0, i1):
        x, y = near_t(w, f"ankle_px_x_{side}", i, 0.1), near_t(w, f"ankle_px_y_{side}", i, 0.1)
        if x is None or y is None:
            return None
        pts.append((x, y))
    sc = near_t(w, "scale_px", i0, 0.1)
    if not sc:
        return None
    return math.hypot(pts[1][0] - pts[0][0], pts[1][1] - pts[0][1]) / sc


STEP = 0.2  # a foot that moved this far in the picture (torso lengths) took a step...
STILL = 0.5  # ...when the other foot moved less than this share of it
TRAVEL = 0.8  # the body moved this far from the start to the end of a rep (torso lengths): walking lunges


def _stepper(r: dict, phase: str) -> str | None:
    """Which foot stepped in one phase of a rep ("in": top -> bottom, "out": bottom -> top)."""
    f, b = r.get(f"front_foot_{phase}"), r.get(f"back_foot_{phase}")
    if f is None or b is None:
        return None
    if f >= STEP and b <= STILL * f:
        return "front"
    if b >= STEP and f <= STILL * b:
        return "back"
    return "none" if max(f, b) < STEP else None


def _walking_set(reps: list[dict]) -> tuple[bool, dict]:
    tr = median_of(reps, "body_travel")
    return tr is not None and tr >= TRAVEL, {"body_travel": tr, "threshold": TRAVEL}


def _share(reps: list[dict], want: str) -> tuple[float, int]:
    """Share of the reps whose stepping foot (in either phase) is ``want``."""
    votes = []
    for r in reps:
        steps = {_stepper(r, "in"), _stepper(r, "out")} - {None}
        if steps:
            votes.append(want in steps and len(steps - {want, "none"}) == 0)
    return (float(np.mean(votes)) if votes else 0.0), len(votes)


def _walking(reps, ctx):
    ok, ev = _walking_set(reps)
    return ok, 0.8, ev


def _forward(reps, ctx):
    walking, _ = _walking_set(reps)
    share, n = _share(reps, "front")
    return not walking and n > 0 and share >= 0.5, min(0.9, 0.5 + share / 2), {"front_foot_steps": share,
                                                                                "reps_judged": n}


def _reverse(reps, ctx):
    walking, _ = _walking_set(reps)
    share, n = _share(reps, "back")
    return not walking and n > 0 and share >= 0.5, min(0.9, 0.5 + share / 2), {"back_foot_steps": share,
                                                                               "reps_judged": n}


def _split_squat(reps, ctx):
    walking, _ = _walking_set(reps)
    st = median_of(reps, "stance_top")
    share, n = _share(reps, "none")
    ok = not walking and st is not None and st > 1.6 and (n == 0 or share >= 0.5)
    return ok, 0.7, {"stance_top": st, "threshold": 1.6, "no_step_share": share}


def _travel(w: Signals, i0: int, i1: int) -> float | None:
    """How far the body moved between two frames, in torso lengths: across the picture (hip centre) and
    toward or away from the camera (change of the estimated camera distance)."""
    vals = [near_t(w, k, i, 0.1) for i in (i0, i1) for k in ("hip_px_x", "scale_px", "cam_dist")]
    if any(v is None for v in vals):
        return None
    x0, s0, d0, x1, s1, d1 = vals
    return math.hypot((x1 - x0) / max(0.5 * (s0 + s1), 1.0), d1 - d0)


class Lunge(Exercise):
    def gate(self, s):
        # upright enough to be lunging (not crawling, lying or folded over)
        return s.get("torso_vertical", 0) > 0.5

    def at_bottom(self, s):
        # both knees bent (the straighter one too), or the hips low over the feet
        return s.get("knee_max", 180) <= 115 or s.get(self.signal, 999) <= self.params.start_bottom_max

    def valid_top(self, s):
        # standing up out of the lunge on at least one straight leg (the other may be swinging through)
        return s.get("knee_max", 0) >= 135

    def rep_side(self, w: Signals, rep: Rep) -> str | None:
        return _lead(w, _bottom(w, self.signal))

    def rep_metrics(self, w: Signals, rep: Rep):
        ib = _bottom(w, self.signal)
        it = len(w[self.signal]) - 1
        lead = _lead(w, ib)
        f, b = ("l", "r") if lead == "left" else ("r", "l") if lead == "right" else (None, None)
        m: dict[str, float | None] = {
            "torso_lean_bottom": near_t(w, "torso_lean", ib, 0.1),
            "stance_top": near_t(w, "ankle_w_ratio", it, 0.1),
        }
        m["body_travel"] = _travel(w, 0, it)
        hx = w.get("hip_over_feet_x")
        if hx is not None and np.isfinite(hx).any():
            m["lateral_shift"] = float(np.nanpercentile(hx, 95) - np.nanpercentile(hx, 5))
        if f is None:
            return m
        m["front_knee_angle_bottom"] = near_t(w, f"knee_{f}", ib, 0.1)
        m["back_knee_angle_bottom"] = near_t(w, f"knee_{b}", ib, 0.1)
        m["back_knee_height"] = near_t(w, f"knee_floor_{b}", ib, 0.1)
        m["knee_past_toes"] = near_t(w, f"knee_past_toe_{f}", ib, 0.1)
        kin = w.get(f"knee_in_{f}")
        if kin is not None and np.isfinite(kin[ib:]).any():
            # worst inward drift of the front knee from the bottom through the drive up
            m["front_knee_valgus"] = float(np.nanpercentile(kin[ib:], 90))
        # which foot moved: in (top before the rep -> bottom) and out (bottom -> top after it)
        if not rep.first_ascent:
            m["front_foot_in"] = _foot_move(w, f, 0, ib)
            m["back_foot_in"] = _foot_move(w, b, 0, ib)
        m["front_foot_out"] = _foot_move(w, f, ib, it)
        m["back_foot_out"] = _foot_move(w, b, ib, it)
        return m

    def set_metrics(self, reps) -> dict[str, float | None]:
        left = [r for r in reps if r.side == "left"]
        right = [r for r in reps if r.side == "right"]
        out: dict[str, float | None] = {"reps_left_leg": float(len(left)), "reps_right_leg": float(len(right)),
                                        "lr_depth_diff_deg": None, "lr_lean_diff_deg": None}
        if left and right:
            for key, name in (("front_knee_angle_bottom", "lr_depth_diff_deg"), ("torso_lean_bottom",
                                                                                 "lr_lean_diff_deg")):
                a = median_of([r.metrics for r in left], key)
                b = median_of([r.metrics for r in right], key)
                if a is not None and b is not None:
                    out[name] = round(a - b, 1)  # + = the left-leg reps measure higher
        return out


LUNGE = Lunge(
    name="lunge", label="Lunge", signal="hip_height", angle_signal="knee_max",
    # counted on the hips' height over the feet (per cent of a torso length: ~130-200 standing, 60-110 at the bottom
    # of a lunge, whichever leg steps and whichever way: forward, back, walking, to the side); walking bobs the hips
    # by 5-10. The knee angles of legs pointing at the camera jump by 60 degrees for a fifth of a second (a walking
    # lunge toward the camera); the hips' height does not
    params=RepParams(prior_top=150, start_bottom_max=90, min_rom=25, first_partial_bottom=125),
    required_landmarks=[L_SHOULDER, R_SHOULDER, L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE],
    primary_angles=("knee_l", "knee_r", "torso_lean"),
    walk_gate=False,
    range_target=RangeTarget("depth", 100.0),  # live range bar: full with both knees near a right angle
    issue_rules=[
        IssueRule("shallow_lunge", "Shallow lunge", "front_knee_angle_bottom", ">", 110.0, "deg",
                  "Lower the back knee", (L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE), views=("side", "diagonal"),
                  severity_span=25, weight=0.8, noise=4.0, moment="bottom", signal="knee_max",
                  unmeasured_reason=NO_LEAD,
                  view_reason="the front-knee angle is foreshortened from the front; depth is judged from the side "
                              "or a diagonal"),
        IssueRule("lunge_forward_lean", "Leaning forward", "torso_lean_bottom", ">", 35.0, "deg",
                  "Tall chest, hips under you", (L_SHOULDER, R_SHOULDER, L_HIP, R_HIP), views=("side", "diagonal"),
                  severity_span=20, weight=0.6, noise=3.0, moment="bottom", signal="torso_lean",
                  view_reason="torso lean is judged from the side or a diagonal"),
        IssueRule("knee_past_toes", "Front knee far past the toes", "knee_past_toes", ">", 0.3, "torso lengths",
                  "Step a little longer", (L_KNEE, R_KNEE, L_FOOT, R_FOOT), views=("side",), severity_span=0.3,
                  weight=0.5, noise=0.06, moment="bottom",
                  unmeasured_reason=NO_LEAD,
                  view_reason="where the knee is over the foot is judged from the side"),
        IssueRule("front_knee_valgus", "Front knee caving in", "front_knee_valgus", ">", 0.2, "torso lengths",
                  "Knee over your middle toes", (L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE), views=("front",),
                  severity_span=0.25, weight=0.8, noise=0.05, moment="bottom",
                  unmeasured_reason=NO_LEAD,
                  view_reason="knee valgus needs a front view"),
        IssueRule("lateral_balance", "Wobbling sideways", "lateral_shift", ">", 0.35, "torso lengths",
                  "Stay steady over your front foot", (L_HIP, R_HIP, L_ANKLE, R_ANKLE), views=("front",),
                  severity_span=0.3, weight=0.5, noise=0.06, moment="bottom",
                  view_reason="sideways balance needs a front view"),
    ],
    variation_rules=[
        VariationRule("walking_lunge", "Walking lunge", _walking, (),
                      "stepping through into the next lunge: travelling across the room is the exercise"),
        VariationRule("forward_lunge", "Forward lunge", _forward, (),
                      "the front foot steps out and back"),
        VariationRule("reverse_lunge", "Reverse lunge", _reverse, (),
                      "the back foot steps back and returns"),
        VariationRule("split_squat", "Split squat", _split_squat, (),
                      "the feet stay split between reps (no step): a static lunge"),
    ],
)

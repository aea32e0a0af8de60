"""Squat: everything Spotter knows about it."""
from __future__ import annotations

import numpy as np

from ...pose.landmarks import (
    L_ANKLE,
    L_FOOT,
    L_HEEL,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    R_ANKLE,
    R_FOOT,
    R_HEEL,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
)
from ..repcount import Rep, RepParams
from .base import RangeTarget
from .base import (JUMP_RISE, Exercise, IssueRule, Signals, VariationRule, agg, body_rise, lr_diff, near_t, pct,
                   threshold_variation)


def _pause(reps, ctx):
    v = [r.get("pause_bottom_s") or 0.0 for r in reps]
    share = float(np.mean([x >= 1.0 for x in v])) if v else 0.0
    return share >= 0.5, min(1.0, 0.5 + share / 2), {"pause_bottom_s_median": float(np.median(v)) if v else None}


def heel_lift(w: Signals, k: np.ndarray, ib: int) -> float | None:
    """How far the heels rose at the bottom, in degrees of foot pitch (heel above toe, in the picture): the
    foot's pitch around the bottom (median over +-0.2 s) against its pitch while standing at the start and end
    of the rep, so the camera's own tilt cancels out."""
    fp = w.get("foot_pitch")
    if fp is None or not np.isfinite(fp).any() or not np.isfinite(k).any():
        return None
    hi, lo = np.nanmax(k), np.nanmin(k)
    top = np.isfinite(fp) & (k >= hi - 0.2 * (hi - lo))
    bottom = near_t(w, "foot_pitch", ib, 0.2)
    if top.sum() < 2 or bottom is None:
        return None
    return float(bottom - np.median(fp[top]))


class Squat(Exercise):
    def gate(self, s):
        # standing/squatting, not lying or crawling
        return s.get("torso_vertical", 0) > 0.35

    def at_bottom(self, s):
        return s.get("knee", 180) <= self.params.start_bottom_max

    def valid_top(self, s):
        # standing up: torso more upright than not
        return s.get("torso_vertical", 1) > 0.5

    def same_posture(self, s, ref):
        # back up as in the first rep (a rep that ends bent over, or kneeling on the floor, is not a squat rep)
        return s.get("torso_vertical", 1) >= ref.get("torso_vertical", 1) - 0.3

    def not_this(self, w: Signals, rep: Rep, settled: bool):
        f = body_rise(w, self.signal) if settled else None  # standing height is known once the top has settled
        if f is not None and f > JUMP_RISE:
            return "the body left the floor: a jump, not a squat"
        return None

    def rep_metrics(self, w: Signals, rep: Rep):
        k = w["knee"]
        ib = int(np.nanargmin(k)) if np.isfinite(k).any() else 0
        shift = near_t(w, "hip_over_feet_x", ib)
        return {
            "knee_angle_bottom": near_t(w, "knee", ib),
            "hip_angle_bottom": near_t(w, "hip", ib),
            "hip_crease_vs_knee": near_t(w, "hip_below_knee", ib),
            "torso_lean_max": pct(w, "torso_lean", 95),
            "knee_valgus_ratio": near_t(w, "knee_ankle_gap", ib),
            "stance_ratio": agg(w, "ankle_w_ratio", np.nanmedian),
            "lateral_shift": abs(shift) if shift is not None else None,
            "asymmetry_deg": lr_diff(w, "knee_l", "knee_r", ib),
            "heel_lift_deg": heel_lift(w, k, ib),
        }


SQUAT = Squat(
    name="squat", label="Squat", signal="knee",
    # a set of quarter squats (the knees to ~140 deg) is counted, each rep judged shallow; before the first full rep a
    # bottom above 145 deg is a partial rep
    params=RepParams(prior_top=155, start_bottom_max=95, min_rom=28, first_partial_bottom=145),
    range_target=RangeTarget("depth", 80.0),  # live range bar: full at a knee angle of ~80 deg (thighs ~parallel)
    required_landmarks=[L_SHOULDER, R_SHOULDER, L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE],
    primary_angles=("knee", "hip", "torso_lean"),
    issue_rules=[
        IssueRule("shallow_squat", "Shallow squat", "hip_crease_vs_knee", "<", -0.25, "torso lengths",
                  "Sit deeper", (L_HIP, R_HIP, L_KNEE, R_KNEE), views=("side", "diagonal"), severity_span=0.4,
                  weight=0.8, view_reason="depth (hip crease against the knee) is judged from the side or a diagonal",
                  noise=0.06, moment="bottom", signal="hip_below_knee",
                  # from the front the hip crease hides behind the thigh: the knee angle at the bottom is read instead
                  # (noise: the rep-to-rep spread of the knee angle at the bottom of front-view dev sets, 4-5 deg)
                  alt=(IssueRule("shallow_squat", "Shallow squat", "knee_angle_bottom", ">", 115.0, "deg", "Sit deeper",
                                 (L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE), views=("front",), severity_span=30,
                                 weight=0.8, noise=4.0, moment="bottom", signal="knee"),)),
        IssueRule("forward_lean", "Excessive forward lean", "torso_lean_max", ">", 55.0, "deg", "Chest up",
                  (L_SHOULDER, R_SHOULDER, L_HIP, R_HIP), views=("side", "diagonal"), severity_span=20, weight=0.7,
                  view_reason="torso lean is judged from the side or a diagonal",
                  noise=2.5, moment="peak", signal="torso_lean"),
        IssueRule("knee_valgus", "Knees caving in", "knee_valgus_ratio", "<", 0.8, "knee gap / ankle gap",
                  "Push your knees out", (L_KNEE, R_KNEE), views=("front",), severity_span=0.3, weight=0.9,
                  view_reason="knee valgus needs a front view", noise=0.05, moment="bottom", signal="knee_ankle_gap"),
        IssueRule("lateral_shift", "Hips shifting to one side", "lateral_shift", ">", 0.3, "torso lengths",
                  "Stay centred", (L_HIP, R_HIP), views=("front",), severity_span=0.3, weight=0.6,
                  view_reason="a sideways hip shift needs a front view", noise=0.04, moment="bottom"),
        IssueRule("heel_rise", "Heels lifting", "heel_lift_deg", ">", 15.0, "deg", "Keep your heels down",
                  (L_HEEL, R_HEEL, L_FOOT, R_FOOT), views=("side", "diagonal"), severity_span=15, weight=0.7,
                  view_reason="heel lift is judged from the side or a diagonal: from the front the heel is hidden "
                              "behind the foot", noise=5.0, moment="bottom", signal="foot_pitch"),
    ],
    variation_rules=[
        VariationRule("pause_squat", "Pause squat", _pause, (),
                      "a deliberate pause at the bottom is a valid variation, not a sticking point"),
        VariationRule("wide_stance", "Wide stance",
                      threshold_variation("stance_ratio", ">", 2.4, 0.7), ("knee_valgus",),
                      "with a wide stance the knees sit inside the feet in the picture; the knee-gap proxy is "
                      "not judged", views=("front", "diagonal")),
        VariationRule("narrow_stance", "Narrow stance",
                      threshold_variation("stance_ratio", "<", 1.1, 0.6), (),
                      "a narrow stance is a valid variation; expect a little more forward lean",
                      views=("front", "diagonal")),
    ],
)

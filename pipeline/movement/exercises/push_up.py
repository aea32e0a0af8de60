"""Push-up: everything Spotter knows about it."""
from __future__ import annotations

import numpy as np

from ...pose.landmarks import (
    L_ELBOW,
    L_HIP,
    L_SHOULDER,
    L_WRIST,
    R_ELBOW,
    R_HIP,
    R_SHOULDER,
    R_WRIST,
)
from ..repcount import Rep, RepParams
from .base import RangeTarget
from .base import Exercise, IssueRule, Signals, VariationRule, agg, lr_diff, near_t, threshold_variation


def shoulder_drop(w: Signals, e: np.ndarray) -> float | None:  # e: the counting signal (top = high)
    """How far the shoulders came down towards the hands, as a share of their height over the hands at the top
    (0 = not at all, 1 = shoulders at hand level): a depth measure that does not depend on the elbow landmark."""
    h = w.get("wrist_above_shoulder")
    if h is None or not np.isfinite(h).any() or not np.isfinite(e).any():
        return None
    hi, lo = np.nanmax(e), np.nanmin(e)
    top = np.isfinite(h) & (e >= hi - 0.2 * (hi - lo))
    # the shoulders' own lowest point (the elbow landmark is often wrong at the bottom, seen from the floor)
    bottom = near_t(w, "wrist_above_shoulder", int(np.nanargmax(h)))
    if top.sum() < 2 or bottom is None:
        return None
    h_top = float(np.percentile(-h[top], 75))  # the shoulders' height over the hands with the arms straight
    if h_top < 0.2:
        return None
    return float(min(1.5, max(-0.5, 1.0 - (-bottom) / h_top)))


HANDS_UP = 0.35  # torso lengths: the hands came off the floor (planted hands jitter by a few hundredths)
FULL_DROP = 0.3  # shoulders must come down at least this share of their height over the hands for a full rep


class PushUp(Exercise):
    def gate(self, s):
        # body not upright and hands not above the shoulders (hands on the floor)
        return s.get("torso_vertical", 1) < 0.8 and s.get("wrist_above_shoulder", 1) < 0.3

    def at_bottom(self, s):
        # the shoulders low over the hands, or the elbows bent (filmed from a diagonal the shoulders of a shallow
        # bottom can read higher than start_bottom_max)
        return s.get(self.signal, 999) <= self.params.start_bottom_max or s.get("elbow", 180) <= 100

    def valid_bottom(self, s):
        # a set starting at the bottom starts in a plank (full or from the knees), not on the way down into one
        return max(s.get("line_ankle", 0) or 0, s.get("line_knee", 0) or 0) >= 135

    def valid_top(self, s):
        # a plank (full or from the knees): shoulders, hips and ankles or knees roughly in line, hands below the
        # shoulders
        line = max(s.get("line_ankle", 0) or 0, s.get("line_knee", 0) or 0)
        return line >= 135 and s.get("wrist_above_shoulder", 0) < -0.3

    def same_posture(self, s, ref):
        # back in the plank of the first rep: kneeling up or getting up off the floor after the last rep
        # straightens the arms too, but the torso rises and the body line breaks
        line = max(s.get("line_ankle", 0) or 0, s.get("line_knee", 0) or 0)
        ref_line = max(ref.get("line_ankle", 0) or 0, ref.get("line_knee", 0) or 0)
        tv, ref_tv = s.get("torso_vertical", 0), ref.get("torso_vertical", 0)
        # (a plank reads a torso verticality of 0.1-0.5 from the world landmarks, more seen from the front and low;
        # kneeling up or standing reads 0.7-1)
        return (tv <= 0.55 or abs(tv - ref_tv) <= 0.25) and line >= ref_line - 20

    def not_this(self, w: Signals, rep: Rep, settled: bool):
        # getting up off the floor after the last rep pushes the shoulders up too (on the knees the body line can even
        # read like a knee push-up's), but the hands leave the floor before the top settles; in a push-up they stay
        # planted. (The torso's verticality cannot tell: a plank filmed head-on from the floor reads 0.7-0.8.)
        if not settled:
            return None
        y, t, sc = w.get("wrist_px_y"), w.get("t"), w.get("scale_px")
        if y is None or t is None or sc is None or not np.isfinite(sc).any():
            return None
        during = (t <= rep.end_t) & np.isfinite(y)
        after = (t > rep.end_t) & np.isfinite(y)
        if during.sum() < 3 or not after.any():
            return None
        rise = (float(np.median(y[during])) - float(np.min(y[after]))) / float(np.nanmedian(sc))  # y down
        return "the hands left the floor: getting up, not a push-up" if rise > HANDS_UP else None

    def full_depth(self, w: Signals, rep: Rep):
        d = shoulder_drop(w, w[self.signal]) if self.signal in w else None
        return None if d is None else d >= FULL_DROP

    def rep_metrics(self, w: Signals, rep: Rep):
        e = w["elbow"]
        ib = int(np.nanargmin(e)) if np.isfinite(e).any() else 0
        off = w.get("hip_offset")
        return {
            "elbow_angle_bottom": near_t(w, "elbow", ib),
            "elbow_img_bottom": near_t(w, "elbow_img", ib),
            "shoulder_drop": shoulder_drop(w, e),
            "body_line_min": agg(w, "line_ankle", np.nanmin),
            "hip_sag": agg(w, "hip_offset", np.nanmax) if off is not None else None,
            "hip_pike": -agg(w, "hip_offset", np.nanmin) if off is not None and np.isfinite(off).any() else None,
            "elbow_flare_bottom": near_t(w, "flare", ib),
            "grip_ratio": agg(w, "wrist_w_ratio", np.nanmedian),
            "knee_angle_median": agg(w, "knee", np.nanmedian),
            "asymmetry_deg": lr_diff(w, "elbow_l", "elbow_r", ib),
        }


PUSH_UP = PushUp(
    name="push_up", label="Push-up", signal="shoulder_height", angle_signal="elbow",
    # counted on the shoulders' height over the hands (per cent of a torso length: ~105-140 with the arms straight,
    # 20-60 at the bottom), which survives the webcam's codec and a dark room where the elbow angle does not
    # a rep completes at 65 % of the way back up: on the dev clips counted push-ups come back 76-100 % of the way to
    # the top they started from (a set's first top is often higher than its working top), and the only ascents that
    # stalled at 72-74 % were real reps
    params=RepParams(prior_top=110, start_bottom_max=55, min_rom=20, first_partial_bottom=75, enter_abs=10,
                     turn_abs=8, finish_frac=0.65),
    range_target=RangeTarget("depth", 40.0),  # live range bar: full with the shoulders ~0.4 torso over the hands
    required_landmarks=[L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST, L_HIP, R_HIP],
    primary_angles=("elbow", "line_ankle", "flare"),
    issue_rules=[
        IssueRule("hip_sag", "Hips sagging", "hip_sag", ">", 0.3, "torso lengths below the line",
                  "Squeeze glutes, hips in line", (L_HIP, R_HIP), views=("side", "diagonal"), severity_span=0.4,
                  weight=0.9, view_reason="the body line is judged from the side or a diagonal",
                  noise=0.03, moment="peak", signal="hip_offset"),
        IssueRule("hip_pike", "Hips piking up", "hip_pike", ">", 0.35, "torso lengths above the line",
                  "Lower your hips into line", (L_HIP, R_HIP), views=("side", "diagonal"), severity_span=0.4,
                  weight=0.7, view_reason="the body line is judged from the side or a diagonal",
                  noise=0.04, moment="peak", signal="hip_offset"),
        IssueRule("shallow_push_up", "Shallow push-up", "shoulder_drop", "<", 0.5, "of the shoulders' height",
                  "Chest closer to the floor", (L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST), severity_span=0.2,
                  weight=0.8, noise=0.04, moment="bottom",
                  view_reason="depth (the shoulders' drop towards the hands) needs the shoulders and hands in view"),
        IssueRule("elbow_flare", "Elbows flaring", "elbow_flare_bottom", ">", 80.0, "deg", "Tuck your elbows",
                  (L_ELBOW, R_ELBOW, L_SHOULDER, R_SHOULDER), views=("front", "diagonal"), severity_span=15,
                  weight=0.6, view_reason="elbow flare is judged from the front or a diagonal",
                  noise=3.0, moment="bottom", signal="flare"),
    ],
    variation_rules=[
        VariationRule("knee_push_up", "Knee push-up",
                      threshold_variation("knee_angle_median", "<", 125, 0.75), ("hip_sag", "hip_pike"),
                      "knees on the floor: the body line is judged from shoulders to knees, not as a sagging "
                      "full push-up"),
        VariationRule("wide_grip_push_up", "Wide-grip push-up",
                      threshold_variation("grip_ratio", ">", 1.9, 0.65), ("elbow_flare",),
                      "hands wide apart: the elbows open out by design", views=("front", "diagonal")),
        VariationRule("close_grip_push_up", "Close-grip push-up",
                      threshold_variation("grip_ratio", "<", 0.75, 0.65), (),
                      "hands close together: a valid triceps-focused variation", views=("front", "diagonal")),
    ],
)

"""Shoulder (overhead) press: everything Spotter knows about it."""
from __future__ import annotations

import numpy as np

from ...pose.landmarks import L_ELBOW, L_HIP, L_SHOULDER, L_WRIST, R_ELBOW, R_HIP, R_SHOULDER, R_WRIST
from ..repcount import Rep, RepParams
from .base import RangeTarget
from .base import (
    Exercise,
    IssueRule,
    Signals,
    VariationRule,
    agg,
    lr_diff,
    median_of,
    travel,
    near_t,
    pct,
    threshold_variation,
)


def _push(reps, ctx):
    m = median_of(reps, "knee_dip_deg")
    seated = (median_of(reps, "knee_angle_median") or 180) < 125
    return (not seated and m is not None and m > 15), 0.7, {"knee_dip_deg_median": m, "threshold": 15}


def _arnold(reps, ctx):
    b = median_of(reps, "elbow_width_bottom")
    t = median_of(reps, "elbow_width_top")
    ok = b is not None and t is not None and b < 1.0 and t - b > 0.4
    return ok, 0.6, {"elbow_width_bottom": b, "elbow_width_top": t}


FOREARM_VERTICAL_DEG = 25.0  # the front-view lockout is read only with forearms within this of vertical


class ShoulderPress(Exercise):
    def gate(self, s):
        return s.get("torso_vertical", 0) > 0.6

    def at_bottom(self, s):
        # hands at or below the chin: the press starts from the bottom
        return s.get(self.signal, 999) <= self.params.start_bottom_max or s.get("wrist_above_nose", 1) < 0.05

    def not_this(self, w: Signals, rep: Rep, settled: bool):
        # a press moves the hands up over a still body; hanging from a bar (a pull-up) moves the body up to still
        # hands. Both bend and straighten the elbows overhead
        hands, body = travel(w, "wrist_px_y"), travel(w, "shoulder_px_y")
        if hands is not None and body is not None and body > 0.3 and body > 0.6 * hands:
            return "the body moved up to the hands, not the hands up: hanging from a bar, not a press"
        return None

    def valid_top(self, s):
        # at lockout at least one hand is above the shoulders
        return max(s.get("wrist_l_above", -9), s.get("wrist_r_above", -9)) > 0.0

    def rep_metrics(self, w: Signals, rep: Rep):
        e = w["elbow"]
        ib = int(np.nanargmin(e)) if np.isfinite(e).any() else 0
        it = len(e) - 1
        # lockout = the best extension in the last part of the rep
        seg = e[ib:]
        if np.isfinite(seg).any():
            it = ib + int(np.nanargmax(seg))
        knee = w.get("knee")
        dip = None
        if knee is not None and np.isfinite(knee[ib:]).sum() > 2:
            kb = knee[max(0, ib - 10):]
            dip = float(np.nanmax(kb) - np.nanmin(kb))
        la, lb = near_t(w, "wrist_l_above", it), near_t(w, "wrist_r_above", it)
        reach, tilt = near_t(w, "wrist_reach", it), near_t(w, "forearm_tilt", it)
        return {
            "elbow_angle_top": near_t(w, "elbow", it, 0.07, np.nanmax),
            "elbow_angle_bottom": near_t(w, "elbow", ib),
            "wrist_height_top": near_t(w, "wrist_above_shoulder", it),
            "elbow_img_top": near_t(w, "elbow_img", it),
            "forearm_tilt_top": near_t(w, "forearm_tilt", it),
            # from the front: how high the wrists rose over the shoulders (share of the arm's length), read only
            # when the forearms are vertical at the top (otherwise a wide or angled arm looks like a bent one)
            "lockout_reach": reach if reach is not None and tilt is not None and tilt <= FOREARM_VERTICAL_DEG
            else None,
            "back_lean_max": pct(w, "torso_lean", 95),
            "uneven_top": abs(la - lb) if la is not None and lb is not None else None,
            "bar_path_drift": (pct(w, "wrist_x", 95) - pct(w, "wrist_x", 5)) if pct(w, "wrist_x", 5) is not None
            else None,
            "knee_angle_median": agg(w, "knee", np.nanmedian),
            "knee_dip_deg": dip,
            "grip_ratio": near_t(w, "wrist_w_ratio", ib),
            "elbow_width_bottom": near_t(w, "elbow_w_ratio", ib),
            "elbow_width_top": near_t(w, "elbow_w_ratio", it),
            "asymmetry_deg": lr_diff(w, "elbow_l", "elbow_r", it),
        }


SHOULDER_PRESS = ShoulderPress(
    name="shoulder_press", label="Shoulder press", signal="hand_reach", angle_signal="elbow",
    # counted on the hands' reach over the shoulders (per cent of the arm's length: ~95-100 at lockout, -60..30 at
    # the bottom, from a bar on the chest to dumbbells at the ears): the elbow angle at the bottom of a press jumps by
    # 50 degrees from frame to frame (the forearm points at the camera), the hands' height does not. A rep completes
    # at 80 % of its own range and only with a hand above the shoulders (valid_top); the lockout itself is judged by
    # incomplete_lockout, not by the count
    params=RepParams(prior_top=95, start_bottom_max=35, min_rom=35, first_partial_bottom=60, finish_frac=0.8,
                     enter_abs=10, turn_abs=8),
    # live range bar: fills from the bottom up to the hands straight overhead
    range_target=RangeTarget("lockout", 92.0, floor=20.0),
    required_landmarks=[L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST, L_HIP, R_HIP],
    primary_angles=("elbow", "wrist_above_shoulder", "torso_lean"),
    issue_rules=[
        # the lockout, three ways: from the side the arm moves in the picture's plane, so the picture's own elbow
        # angle is read (the world landmarks' depth guess bends a locked arm by 20-25° there); from a diagonal
        # the 3D elbow angle; from the front how high the wrists rise over the shoulders
        IssueRule("incomplete_lockout", "Incomplete lockout", "elbow_img_top", "<", 145.0, "deg",
                  "Finish the press overhead", (L_ELBOW, R_ELBOW, L_WRIST, R_WRIST), views=("side",),
                  severity_span=25, weight=0.8, noise=3.0, moment="top", signal="elbow_img",
                  alt=(IssueRule("incomplete_lockout", "Incomplete lockout", "elbow_angle_top", "<", 145.0, "deg",
                                 "Finish the press overhead", (L_ELBOW, R_ELBOW, L_WRIST, R_WRIST),
                                 views=("diagonal",), severity_span=25, weight=0.8, noise=4.0, moment="top",
                                 signal="elbow"),
                       IssueRule("incomplete_lockout", "Incomplete lockout", "lockout_reach", "<", 0.85,
                                 "of the arm's reach", "Finish the press overhead",
                                 (L_ELBOW, R_ELBOW, L_WRIST, R_WRIST), views=("front",), severity_span=0.15,
                                 weight=0.8, noise=0.02, moment="top", signal="wrist_reach",
                                 unmeasured_reason=(
                                     "from the front the lockout is read from how high the wrists rise over the "
                                     "shoulders with the forearms vertical; the forearms were not vertical at the "
                                     "top (or not visible)")))),
        IssueRule("back_arch", "Leaning back to press", "back_lean_max", ">", 20.0, "deg",
                  "Ribs down, squeeze glutes", (L_SHOULDER, R_SHOULDER, L_HIP, R_HIP), views=("side", "diagonal"),
                  severity_span=15, weight=0.8, view_reason="leaning back is judged from the side or a diagonal",
                  noise=2.5, moment="peak", signal="torso_lean"),
        IssueRule("uneven_press", "Uneven arms", "uneven_top", ">", 0.3, "torso lengths",
                  "Press both arms evenly", (L_WRIST, R_WRIST, L_ELBOW, R_ELBOW), views=("front", "diagonal"),
                  severity_span=0.3, weight=0.6, view_reason="arm symmetry is judged from the front",
                  noise=0.03, moment="top"),
        IssueRule("bar_path_drift", "Bar path drifting", "bar_path_drift", ">", 0.6, "torso lengths",
                  "Press straight up", (L_WRIST, R_WRIST), views=("side",), severity_span=0.4, weight=0.5,
                  view_reason="the bar path is judged from the side", noise=0.08, moment="peak"),
    ],
    variation_rules=[
        VariationRule("seated_press", "Seated press",
                      threshold_variation("knee_angle_median", "<", 125, 0.8), ("back_arch",),
                      "seated: the back rest shapes the torso angle"),
        VariationRule("standing_press", "Standing press",
                      threshold_variation("knee_angle_median", ">=", 125, 0.8), (), "standing press"),
        VariationRule("push_press", "Push press", _push, ("back_arch",),
                      "a knee dip and drive is a push press, not a squat and not a fault"),
        VariationRule("arnold_press", "Arnold press", _arnold, ("bar_path_drift", "uneven_press"),
                      "the rotation of an Arnold press moves the hands by design"),
        VariationRule("wide_grip_press", "Wide-grip press",
                      threshold_variation("grip_ratio", ">", 2.3, 0.6), (), "wide grip", views=("front", "diagonal")),
        VariationRule("close_grip_press", "Close-grip press",
                      threshold_variation("grip_ratio", "<", 1.0, 0.6), (), "close grip", views=("front", "diagonal")),
    ],
)

"""Synthetic set evidence for tests, the verifier corpus and the report benchmark (no video needed)."""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from ..schema import (
    ExerciseModel,
    IssueModel,
    NotJudged,
    PoseModel,
    Profile,
    QCModel,
    QCWarningModel,
    RepItem,
    Report,
    RepsModel,
    VariationModel,
    VideoMeta,
)

# code -> (label, metric, unit, value, threshold, cue)
ISSUE_DEFAULTS: dict[str, tuple[str, str, str, float, float, str]] = {
    "shallow_squat": ("Shallow squat", "knee_angle_min_deg", "deg", 112.0, 100.0, "Sit deeper"),
    "knee_valgus": ("Knees caving in", "knee_valgus_deg", "deg", 14.0, 8.0, "Push your knees out"),
    "forward_lean": ("Too much forward lean", "trunk_lean_deg", "deg", 52.0, 45.0, "Chest up"),
    "lateral_shift": ("Shifting to one side", "hip_shift_ratio", "ratio", 0.12, 0.08, "Stay centred"),
    "hip_sag": ("Hips sagging", "hip_line_deg", "deg", 18.0, 10.0, "Squeeze glutes, hips in line"),
    "hip_pike": ("Hips piking up", "hip_line_deg", "deg", 21.0, 12.0, "Lower your hips into line"),
    "shallow_push_up": ("Shallow push-up", "elbow_angle_min_deg", "deg", 118.0, 100.0, "Chest closer to the floor"),
    "elbow_flare": ("Elbows flaring", "elbow_flare_deg", "deg", 78.0, 65.0, "Tuck your elbows"),
    "incomplete_lockout": ("Incomplete lockout", "elbow_angle_top_deg", "deg", 152.0, 165.0,
                           "Finish the press overhead"),
    "back_arch": ("Back arching", "trunk_extension_deg", "deg", 19.0, 12.0, "Ribs down, squeeze glutes"),
    "uneven_press": ("Uneven press", "wrist_height_diff_ratio", "ratio", 0.15, 0.08, "Press both arms evenly"),
    "bar_path_drift": ("Bar path drifting", "wrist_drift_ratio", "ratio", 0.22, 0.15, "Press straight up"),
    "heel_rise": ("Heels lifting", "heel_lift_deg", "deg", 24.0, 15.0, "Keep your heels down"),
    "hips_rise_first": ("Hips rising first", "early_lean_increase", "deg", 16.0, 12.0, "Chest and hips up together"),
    "chest_down": ("Chest too low at the start", "torso_lean_first_pull", "deg", 82.0, 78.0,
                   "Chest up before you pull"),
    "soft_lockout": ("Hips not locked out", "hip_angle_lockout", "deg", 150.0, 160.0, "Squeeze your glutes to finish"),
    "bar_drift": ("Bar drifting away from the legs", "bar_drift", "torso lengths", 0.62, 0.45, "Keep the bar close"),
    "heel_lift": ("Heels lifting", "heel_lift_deg", "deg", 15.0, 8.0, "Drive through your heels"),
    "arms_bending": ("Arms bending", "elbow_angle_min_pull", "deg", 120.0, 135.0, "Long arms, pull with the legs"),
    "fast_lowering": ("Lowering without control", "lowering_s", "s", 0.4, 0.8, "Lower the bar with control"),
    "shallow_lunge": ("Shallow lunge", "front_knee_angle_bottom", "deg", 122.0, 110.0, "Lower the back knee"),
    "lunge_forward_lean": ("Leaning forward", "torso_lean_bottom", "deg", 42.0, 35.0, "Tall chest, hips under you"),
    "knee_past_toes": ("Front knee far past the toes", "knee_past_toes", "torso lengths", 0.42, 0.3,
                       "Step a little longer"),
    "front_knee_valgus": ("Front knee caving in", "front_knee_valgus", "torso lengths", 0.28, 0.2,
                          "Knee over your middle toes"),
    "lateral_balance": ("Wobbling sideways", "lateral_shift", "torso lengths", 0.45, 0.35,
                        "Stay steady over your front foot"),
}
VARIATION_LABELS = {
    "pause_squat": "Pause squat", "wide_stance": "Wide-stance squat", "narrow_stance": "Narrow-stance squat",
    "knee_push_up": "Knee push-up", "wide_grip_push_up": "Wide-grip push-up", "close_grip_push_up": "Close-grip push-up",
    "seated_press": "Seated press", "standing_press": "Standing press", "push_press": "Push press",
    "arnold_press": "Arnold press", "wide_grip_press": "Wide-grip press", "close_grip_press": "Close-grip press",
    "romanian_deadlift": "Romanian deadlift", "sumo_deadlift": "Sumo deadlift",
    "conventional_deadlift": "Conventional deadlift", "walking_lunge": "Walking lunge",
    "forward_lunge": "Forward lunge",
    "reverse_lunge": "Reverse lunge", "split_squat": "Split squat",
}
EXERCISE_ISSUES = {
    "squat": ["shallow_squat", "knee_valgus", "forward_lean", "lateral_shift", "heel_rise"],
    "push_up": ["hip_sag", "hip_pike", "shallow_push_up", "elbow_flare"],
    "shoulder_press": ["incomplete_lockout", "back_arch", "uneven_press", "bar_path_drift"],
    "deadlift": ["hips_rise_first", "chest_down", "soft_lockout", "bar_drift", "heel_lift", "arms_bending",
                 "fast_lowering"],
    "lunge": ["shallow_lunge", "lunge_forward_lean", "knee_past_toes", "front_knee_valgus", "lateral_balance"],
}
EXERCISE_VARIATIONS = {
    "squat": ["pause_squat", "wide_stance", "narrow_stance"],
    "push_up": ["knee_push_up", "wide_grip_push_up", "close_grip_push_up"],
    "shoulder_press": ["seated_press", "standing_press", "push_press", "arnold_press", "wide_grip_press",
                       "close_grip_press"],
    "deadlift": ["romanian_deadlift", "sumo_deadlift", "conventional_deadlift"],
    "lunge": ["walking_lunge", "forward_lunge", "reverse_lunge", "split_squat"],
}
MAIN_ANGLES = {
    "squat": ("knee", "hip", "trunk_lean"),
    "push_up": ("elbow", "hip_line", "shoulder"),
    "shoulder_press": ("elbow", "shoulder", "trunk_extension"),
    "deadlift": ("hip", "knee", "torso_lean"),
    "lunge": ("knee_l", "knee_r", "torso_lean"),
    "unknown": ("knee", "elbow"),
}


def sample_report(exercise: str = "squat", reps: int = 8, partial: int = 0, rep_s: float = 3.0,
                  issues: Optional[dict[str, Sequence[int]]] = None, variations: Sequence[str] = (),
                  suppresses: Optional[dict[str, list[str]]] = None, confidence: float = 0.93,
                  view: Optional[str] = "side", valid_ratio: float = 0.97, not_judged: Sequence[str] = (),
                  qc_warnings: Sequence[str] = (), profile: Optional[Profile] = None,
                  severities: Optional[dict[str, float]] = None,
                  borderline: Optional[dict[str, Sequence[int]]] = None) -> Report:
    """A report for a set of ``reps`` full reps; ``issues`` maps code -> rep numbers (empty = set-level);
    ``borderline`` the same for findings inside the measurement uncertainty (a value just past the threshold)."""
    issues = issues or {}
    items = []
    t = 1.0
    for i in range(reps + partial):
        is_partial = i >= reps
        items.append(RepItem(index=0 if is_partial else i + 1, start_s=round(t, 2), bottom_s=round(t + rep_s * 0.45, 2),
                             end_s=round(t + rep_s, 2), partial=is_partial,
                             metrics={"knee_angle_min_deg": 88.0 + 3 * (i % 3), "rep_time_s": rep_s}))
        t += rep_s + 0.3
    duration = round(t + 1.0, 2)
    iss = []
    sev = severities or {}
    for k, (code, reps_) in enumerate(issues.items()):
        label, metric, unit, value, thr, cue = ISSUE_DEFAULTS[code]
        base = sev.get(code, 0.8 - 0.15 * k)
        for j, r in enumerate(reps_ or [None]):
            it = items[r - 1] if r else None
            iss.append(IssueModel(code=code, label=label, severity=round(max(0.05, base - 0.02 * j), 3), rep=r,
                                  metric=metric, value=value + (0.5 * j if unit == "deg" else 0.0), threshold=thr,
                                  unit=unit, t_start=it.start_s if it else 1.0, t_end=it.end_s if it else duration - 1,
                                  confidence=0.85, cue=cue))
    border = []
    for code, reps_ in (borderline or {}).items():
        label, metric, unit, value, thr, cue = ISSUE_DEFAULTS[code]
        for r in reps_ or [None]:
            it = items[r - 1] if r else None
            v = round(thr + 0.1 * (value - thr), 3)
            border.append(IssueModel(code=code, label=label, severity=0.4, rep=r, metric=metric, value=v,
                                     threshold=thr, unit=unit, t_start=it.start_s if it else 1.0,
                                     t_end=it.end_s if it else duration - 1, confidence=0.7, cue=cue,
                                     status="borderline", uncertainty=round(abs(value - thr) * 0.5, 3)))
    ex_label = exercise
    return Report(
        video=VideoMeta(path="set.mp4", duration_s=duration, fps=30.0, width=1280, height=720,
                        frames=int(duration * 30)),
        qc=QCModel(ok=True, warnings=[QCWarningModel(code=w, message=w.replace("_", " ")) for w in qc_warnings]),
        pose=PoseModel(backend="synthetic", frames=int(duration * 30), detected_ratio=min(1.0, valid_ratio + 0.02),
                       valid_ratio=valid_ratio),
        exercise=ExerciseModel(label=ex_label, confidence=confidence, source="model", view=view),
        reps=RepsModel(count=reps, partial=partial, items=items, set_metrics={"mean_rep_time_s": rep_s}),
        issues=iss,
        borderline=border,
        variations=[VariationModel(code=v, label=VARIATION_LABELS[v], confidence=0.9,
                                   suppresses=(suppresses or {}).get(v, [])) for v in variations],
        not_judged=[NotJudged(code=c, reason="needs a front view") for c in not_judged],
        profile=profile,
    )


def sample_series(report: Report, fps: float = 30.0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Smooth joint-angle curves that dip once per rep (for charts and the benchmark)."""
    dur = report.video.duration_s
    t = np.arange(0.0, dur, 1.0 / fps)
    names = MAIN_ANGLES.get(report.exercise.label if report.exercise else "unknown", MAIN_ANGLES["unknown"])
    phase = np.zeros_like(t)
    for it in (report.reps.items if report.reps else []):
        m = (t >= it.start_s) & (t <= it.end_s)
        phase[m] = np.sin(math.pi * (t[m] - it.start_s) / max(1e-3, it.end_s - it.start_s))
    series = {}
    for k, n in enumerate(names):
        series[f"{n}_deg"] = 170.0 - (80.0 - 15 * k) * phase + np.random.default_rng(k).normal(0, 1.0, t.size)
    return t, series

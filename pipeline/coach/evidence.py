"""The facts a summary may state, pulled out of a :class:`~pipeline.schema.Report`.

Everything the verifier checks against lives here: issue codes with their reps and numbers, variation
codes, rep numbers and counts, and which confidence notes are required.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..schema import Report

# When these hold, the summary must carry a confidence note for that reason.
POSE_VALID_MIN = 0.80        # share of frames with a usable pose
ROUTER_CONF_MIN = 0.70       # exercise router confidence
LOW_VIEWS = (None, "unknown")

ANGLE_UNITS = {"deg", "degree", "degrees", "°"}
TIME_UNITS = {"s", "sec", "secs", "second", "seconds"}
RATIO_UNITS = {"ratio", "fraction", "frac"}
PERCENT_UNITS = {"%", "percent", "pct"}


@dataclass
class IssueFacts:
    code: str
    label: str
    severity: float              # max over occurrences
    reps: list[int]              # rep numbers where detected (sorted, unique)
    count: int                   # occurrences
    metric: str
    value: float                 # value of the most severe occurrence
    threshold: float
    unit: str
    cue: str
    worst_rep: Optional[int] = None
    numbers: list[float] = field(default_factory=list)   # every value/threshold/rep metric of this issue


@dataclass
class Evidence:
    exercise: str
    exercise_confidence: Optional[float]
    view: Optional[str]
    rep_count: int
    partial: int
    rep_numbers: list[int]
    issues: list[IssueFacts]                 # ordered by severity, highest first
    variations: dict[str, str]               # code -> label
    not_judged: dict[str, str]               # code -> reason
    required_notes: dict[str, str]           # reason -> why it is required (facts)
    duration_s: float
    angles: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    percents: list[float] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)
    borderline: list[IssueFacts] = field(default_factory=list)  # inside the measurement uncertainty: not faults
    sides: dict[str, list[int]] = field(default_factory=dict)  # "left"/"right" -> counted reps it led (lunges)
    taught_label: Optional[str] = None  # an exercise taught by demonstration: the name the user gave it
    not_judged_reps: dict[str, list[int]] = field(default_factory=dict)  # code -> reps not judged ([]: whole set)

    @property
    def issue_codes(self) -> list[str]:
        return [i.code for i in self.issues]

    def issue(self, code: str) -> Optional[IssueFacts]:
        return next((i for i in self.issues if i.code == code), None)

    @property
    def borderline_codes(self) -> list[str]:
        return [i.code for i in self.borderline if i.code not in self.issue_codes]

    def borderline_issue(self, code: str) -> Optional[IssueFacts]:
        return next((i for i in self.borderline if i.code == code), None)

    def allowed_counts(self) -> set[int]:
        s = {self.rep_count, self.partial, self.rep_count + self.partial}
        for i in self.issues:
            s.add(len(i.reps))
            s.add(i.count)
        return s


def unit_kind(unit: str) -> str:
    u = (unit or "").strip().lower()
    if u in ANGLE_UNITS:
        return "angle"
    if u in TIME_UNITS:
        return "time"
    if u in RATIO_UNITS:
        return "ratio"
    if u in PERCENT_UNITS:
        return "percent"
    return "plain"


def metric_kind(name: str) -> str:
    """Guess the kind of a per-rep metric from its name (metrics carry no unit)."""
    n = name.lower()
    if n.endswith("_s") or "time" in n or "duration" in n or "tempo" in n or "pause" in n:
        return "time"
    if "ratio" in n or n.endswith("_frac") or "share" in n or "pct" in n:
        return "ratio"
    if "deg" in n or "angle" in n or "tilt" in n or "lean" in n or "flare" in n:
        return "angle"
    return "plain"


def _add(ev: Evidence, kind: str, v: Optional[float]) -> None:
    if v is None:
        return
    try:
        v = float(v)
    except (TypeError, ValueError):
        return
    if v != v:  # NaN
        return
    if kind == "angle":
        ev.angles.append(v)
    elif kind == "time":
        ev.seconds.append(v)
    elif kind == "ratio":
        ev.percents.append(v * 100.0)
    elif kind == "percent":
        ev.percents.append(v)
    else:
        ev.plain.append(v)


def _facts(found: list, reps) -> list[IssueFacts]:
    """Occurrences of issues (IssueModel) grouped by code, most severe first."""
    by_code: dict[str, list] = {}
    for iss in found:
        by_code.setdefault(iss.code, []).append(iss)
    out: list[IssueFacts] = []
    for code, occ in by_code.items():
        worst = max(occ, key=lambda i: (i.severity, i.confidence))
        rnums = sorted({i.rep for i in occ if i.rep is not None and i.rep > 0})
        nums = [float(i.value) for i in occ] + [float(i.threshold) for i in occ]
        if reps:
            for it in reps.items:
                v = it.metrics.get(worst.metric)
                if v is not None:
                    nums.append(float(v))
        out.append(IssueFacts(code=code, label=worst.label, severity=max(i.severity for i in occ), reps=rnums,
                              count=len(occ), metric=worst.metric, value=float(worst.value),
                              threshold=float(worst.threshold), unit=worst.unit, cue=worst.cue,
                              worst_rep=worst.rep if worst.rep and worst.rep > 0 else None, numbers=nums))
    out.sort(key=lambda f: (-f.severity, -f.count, f.code))
    return out


def extract_evidence(report: Report) -> Evidence:
    ex = report.exercise
    reps = report.reps
    rep_numbers = sorted({it.index for it in (reps.items if reps else []) if it.index > 0 and not it.partial})
    if reps and not rep_numbers and reps.count:
        rep_numbers = list(range(1, reps.count + 1))
    issues = _facts(report.issues, reps)
    borderline = _facts(getattr(report, "borderline", []) or [], reps)

    required: dict[str, str] = {}
    valid = report.pose.valid_ratio if report.pose else 0.0
    if valid < POSE_VALID_MIN:
        required["pose"] = f"usable pose on {valid:.0%} of frames"
    if ex is None or ex.label == "unknown" or ex.confidence < ROUTER_CONF_MIN:
        required["router"] = (f"exercise recognised as {ex.label} with confidence {ex.confidence:.2f}" if ex
                              else "no exercise recognised")
    if ex is None or ex.view in LOW_VIEWS:
        required["view"] = "camera view could not be determined"
    if report.not_judged:
        required["not_judged"] = ", ".join(n.code for n in report.not_judged) + " not judged from this view"
    issue_codes = {f.code for f in issues}
    if any(f.code not in issue_codes for f in borderline):
        required["borderline"] = (", ".join(f.code for f in borderline if f.code not in issue_codes)
                                  + " past the threshold but inside the measurement uncertainty (not a fault)")
    if not report.qc.ok or report.qc.warnings:
        required["video"] = "; ".join(w.code for w in report.qc.warnings) or "video quality check failed"
    prof = report.profile
    if prof is not None and prof.intended_exercise and ex is not None and prof.intended_exercise != ex.label:
        required["intent"] = f"you chose {prof.intended_exercise}, Spotter saw {ex.label}"

    ev = Evidence(exercise=ex.label if ex else "unknown", exercise_confidence=ex.confidence if ex else None,
                  view=ex.view if ex else None, rep_count=reps.count if reps else 0,
                  partial=reps.partial if reps else 0, rep_numbers=rep_numbers, issues=issues,
                  variations={v.code: v.label for v in report.variations},
                  not_judged={n.code: n.reason for n in report.not_judged}, required_notes=required,
                  duration_s=float(report.video.duration_s), borderline=borderline,
                  taught_label=ex.taught.label if ex is not None and ex.taught is not None else None)
    for n in report.not_judged:
        if not n.reps:
            ev.not_judged_reps[n.code] = []
        elif ev.not_judged_reps.get(n.code, None) != []:
            ev.not_judged_reps[n.code] = sorted({*ev.not_judged_reps.get(n.code, []), *n.reps})
    for it in (reps.items if reps else []):
        if getattr(it, "side", None) and it.index > 0 and not it.partial:
            ev.sides.setdefault(it.side, []).append(it.index)
    # number pools
    for iss in getattr(report, "borderline", []) or []:
        _add(ev, unit_kind(iss.unit), iss.value)
        _add(ev, unit_kind(iss.unit), iss.threshold)
    ev.plain.append(float(len(issues)))  # "2 issues"
    for iss in report.issues:
        k = unit_kind(iss.unit)
        _add(ev, k, iss.value)
        _add(ev, k, iss.threshold)
        _add(ev, "time", iss.t_start)
        _add(ev, "time", iss.t_end)
        _add(ev, "time", iss.t_end - iss.t_start)
        _add(ev, "percent", iss.confidence * 100)
        _add(ev, "percent", iss.severity * 100)
    if reps:
        for it in reps.items:
            for t in (it.start_s, it.bottom_s, it.end_s, it.end_s - it.start_s, it.bottom_s - it.start_s,
                      it.end_s - it.bottom_s):
                _add(ev, "time", t)
            for name, v in it.metrics.items():
                _add(ev, metric_kind(name), v)
        for name, v in reps.set_metrics.items():
            _add(ev, metric_kind(name), v)
    for v in report.variations:
        _add(ev, "percent", v.confidence * 100)
        for name, val in v.evidence.items():
            if isinstance(val, (int, float)) and not isinstance(val, bool):
                _add(ev, metric_kind(name), val)
    _add(ev, "time", report.video.duration_s)
    if report.pose:
        _add(ev, "ratio", report.pose.detected_ratio)
        _add(ev, "ratio", report.pose.valid_ratio)
    if ex is not None:
        _add(ev, "ratio", ex.confidence)
        ev.plain.append(ex.confidence)
    return ev


def fmt_value(value: float, unit: str) -> str:
    """How a number with a unit is written in a summary (the verifier parses these forms)."""
    k = unit_kind(unit)
    if k == "angle":
        return f"{value:.0f}°"
    if k == "time":
        return f"{value:.1f} s"
    if k == "ratio":
        return f"{value * 100:.0f}%"
    if k == "percent":
        return f"{value:.0f}%"
    return f"{value:.2f}"

"""The report: one versioned pydantic model for everything Spotter says about a set or a file."""
from __future__ import annotations

import datetime as _dt
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, Field, StringConstraints

SCHEMA_VERSION = "1.0"
ExerciseLabel = Literal["squat", "push_up", "shoulder_press", "deadlift", "lunge", "unknown"]
# an exercise the user taught Spotter by showing it (pipeline/movement/taught.py): its name
TaughtName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class VideoMeta(BaseModel):
    path: str
    duration_s: float
    fps: float
    width: int
    height: int
    rotation: int = 0
    frames: int = 0
    vfr: bool = False
    codec: str = ""
    pose_width: int = 0
    pose_height: int = 0


class QCWarningModel(BaseModel):
    code: str
    message: str
    value: Optional[float] = None


class QCModel(BaseModel):
    ok: bool
    warnings: list[QCWarningModel] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)


class PoseModel(BaseModel):
    backend: str
    frames: int
    detected_ratio: float = Field(description="share of frames where the pose model found a person")
    valid_ratio: float = Field(description="share of frames with a usable pose of the tracked subject")
    subject_jumps: int = 0
    subject_changes: int = 0


class WindowDecision(BaseModel):
    t_start: float
    t_end: float
    label: ExerciseLabel
    confidence: float


class TaughtInfo(BaseModel):
    """A taught exercise: the set is compared with the user's demonstration, and no form rule exists for it."""
    label: str = Field(description="the name the user gave it")
    source: str = Field("", description="the demonstration it was learnt from (a file name or 'webcam')")
    created_at: str = ""
    sided: Literal["both", "one"] = "both"
    demo_reps: int = Field(description="reps in the demonstration")
    demo_rep_s: float = Field(description="the demonstration's median rep duration (seconds)")
    judged: str = Field("range and tempo against the demonstration", description="what Spotter judges")
    note: str = Field(description="what it does not judge, in words")


class ExerciseModel(BaseModel):
    label: Union[ExerciseLabel, TaughtName]
    taught: Optional[TaughtInfo] = Field(None, description="set for an exercise taught by demonstration")
    confidence: float
    source: Literal["model", "baseline", "user", "manifest", "rules"] = "model"
    view: Optional[Literal["front", "side", "diagonal", "unknown"]] = None
    windows: list[WindowDecision] = Field(default_factory=list)
    live_commit_s: Optional[float] = Field(None, description="time the live router committed to the label")
    note: Optional[str] = None


class RepItem(BaseModel):
    index: int = Field(description="1-based rep number among counted (full) reps; 0 for partial reps")
    start_s: float
    bottom_s: float
    end_s: float
    partial: bool = False
    start_frame: int = 0
    end_frame: int = 0
    metrics: dict[str, Optional[float]] = Field(default_factory=dict)
    side: Optional[Literal["left", "right"]] = Field(
        None, description="the side that led the rep (a lunge's front leg); None for two-sided exercises")


class RepsModel(BaseModel):
    count: int
    partial: int = 0
    items: list[RepItem] = Field(default_factory=list)
    set_metrics: dict[str, Optional[float]] = Field(default_factory=dict)


class IssueModel(BaseModel):
    code: str
    label: str
    severity: float = Field(ge=0, le=1)
    rep: Optional[int] = None
    metric: str
    value: float
    threshold: float
    unit: str = ""
    t_start: float
    t_end: float
    frame_start: int = 0
    frame_end: int = 0
    confidence: float = Field(ge=0, le=1, description="probability that the true value is past the threshold, "
                                                      "given the measurement uncertainty (docs/judgement.md)")
    cue: str
    joints: list[int] = Field(default_factory=list)
    status: Literal["raised", "borderline"] = Field(
        "raised", description="raised: past the threshold by more than the uncertainty; borderline: past it but "
                              "inside the uncertainty (reported, never cued live, never a fix)")
    uncertainty: Optional[float] = Field(None, description="the margin (metric units) a value must be past the "
                                                           "threshold by to be raised, for this view, visibility and "
                                                           "frame coverage")
    frames: Optional[int] = Field(None, description="frames covering the moment that decided it")


class VariationModel(BaseModel):
    code: str
    label: str
    confidence: float = Field(ge=0, le=1)
    evidence: dict[str, Any] = Field(default_factory=dict)
    suppresses: list[str] = Field(default_factory=list)


class NotJudged(BaseModel):
    code: str
    reason: str
    reps: list[int] = Field(default_factory=list, description="the reps it was not judged on (empty: the whole set)")


# ---- language layer (summary, verification, profile) -------------------------------------------

class Profile(BaseModel):
    """What the user told Spotter about themselves. Free text here is user data, never instructions."""
    goal: Optional[str] = Field(None, max_length=200, description="e.g. 'strength', 'technique', 'general fitness'")
    experience: Optional[Literal["beginner", "intermediate", "advanced"]] = None
    equipment: list[str] = Field(default_factory=list, description="e.g. ['barbell', 'dumbbells', 'none']")
    intended_exercise: Optional[ExerciseLabel] = None
    intended_variation: Optional[str] = Field(None, description="a variation code, e.g. 'pause_squat'")
    limitations: list[str] = Field(default_factory=list,
                                   description="known limitations the user chose to note (not interpreted)")


class FixItem(BaseModel):
    """One fix per detected issue. code/label/reps/cue/value are filled in by code from the evidence."""
    code: str
    label: str
    severity: float
    reps: list[int] = Field(default_factory=list, description="rep numbers where the issue was detected")
    focus_rep: Optional[int] = None
    value: Optional[float] = None
    threshold: Optional[float] = None
    unit: str = ""
    cue: str = ""
    text: str = Field(description="the wording: what to do about it")


class VariationNote(BaseModel):
    code: str
    label: str
    text: str


class ConfidenceNote(BaseModel):
    reason: Literal["pose", "view", "router", "video", "not_judged", "intent", "borderline"]
    text: str


class Summary(BaseModel):
    source: Literal["model", "deterministic"]
    reason: str = Field(description="why this path produced the summary")
    model: Optional[str] = Field(None, description="model file name when a local model was tried")
    headline: str = Field(description="facts line written by code")
    what_you_did: str
    looked_good: list[str] = Field(default_factory=list)
    fix_first: list[FixItem] = Field(default_factory=list, description="ordered by severity, highest first")
    variation_notes: list[VariationNote] = Field(default_factory=list)
    next_session: list[str] = Field(default_factory=list)
    confidence_notes: list[ConfidenceNote] = Field(default_factory=list)
    disclaimer: str
    generation_s: Optional[float] = None
    tokens: Optional[int] = None
    tokens_per_s: Optional[float] = None
    written_by: str = Field("", description="who wrote the wording, in plain words (shown with the summary)")


class CheckFailure(BaseModel):
    check: str = Field(description="name of the failed check, e.g. 'issue_label', 'rep_count', 'medical_claim'")
    section: str = ""
    text: str = Field("", description="the offending span or sentence")
    detail: str = ""


class VerificationAttempt(BaseModel):
    source: Literal["model", "deterministic"]
    passed: bool
    failures: list[CheckFailure] = Field(default_factory=list)


class Verification(BaseModel):
    """Verifier result. It always runs; there is no switch to turn it off."""
    passed: bool = Field(description="the stored summary passed every check")
    checks: list[str] = Field(default_factory=list, description="checks that were run")
    failures: list[CheckFailure] = Field(default_factory=list, description="failures of the stored summary")
    attempts: list[VerificationAttempt] = Field(default_factory=list,
                                                description="every summary tried, in order (model first)")


class Report(BaseModel):
    schema_version: str = SCHEMA_VERSION
    created_at: str = Field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    video: VideoMeta
    qc: QCModel
    pose: PoseModel
    exercise: Optional[ExerciseModel] = None
    reps: Optional[RepsModel] = None
    variations: list[VariationModel] = Field(default_factory=list)
    issues: list[IssueModel] = Field(default_factory=list)
    borderline: list[IssueModel] = Field(default_factory=list, description="past the threshold but inside the "
                                                                         "measurement uncertainty: not faults")
    not_judged: list[NotJudged] = Field(default_factory=list)
    summary: Optional[Summary] = None
    verification: Optional[Verification] = None
    artifacts: dict[str, str] = Field(default_factory=dict)
    profile: Optional[Profile] = None

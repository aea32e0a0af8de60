"""The report: one versioned pydantic model for everything Spotter says about a set or a file."""
from __future__ import annotations

import datetime as _dt
from typing import Any, Literal, Optional

from pydantic import BaseModel, Field

SCHEMA_VERSION = "1.0"
ExerciseLabel = Literal["squat", "push_up", "shoulder_press", "unknown"]


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


class ExerciseModel(BaseModel):
    label: ExerciseLabel
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
    confidence: float = Field(ge=0, le=1)
    cue: str
    joints: list[int] = Field(default_factory=list)


class VariationModel(BaseModel):
    code: str
    label: str
    confidence: float = Field(ge=0, le=1)
    evidence: dict[str, Any] = Field(default_factory=dict)
    suppresses: list[str] = Field(default_factory=list)


class NotJudged(BaseModel):
    code: str
    reason: str


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
    not_judged: list[NotJudged] = Field(default_factory=list)
    summary: Optional[dict[str, Any]] = None
    verification: Optional[dict[str, Any]] = None
    artifacts: dict[str, str] = Field(default_factory=dict)
    profile: Optional[dict[str, Any]] = None

"""Batch analysis of a file: intake -> QC -> pose -> cleaning -> (movement) -> report + artifacts.

Every stage here is the live stage run in a loop; there is no private batch implementation.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputError
from .intake.config import IntakeLimits
from .intake.video import VideoInfo
from .movement.exercises import known as known_exercises
from .movement.exercises import names as exercise_names
from .movement.routing import batch_decision
from .movement.run import MovementRun
from .pose.cleaning import CleanFrame
from .pose.qc import QCResult, run_qc
from .pose.track import PoseTrack, clean_track, extract_pose
from .report.artifacts import _progress_bar, build_report, fill_evidence, write_artifacts
from .schema import QCModel, QCWarningModel, Report

log = logging.getLogger(__name__)


@dataclass
class Analysis:
    info: VideoInfo
    track: PoseTrack
    clean: list[CleanFrame]
    qc: QCResult
    report: Report
    movement: "MovementRun | None" = None


def _check_out_dir(out: Path, create: bool = False) -> None:
    """Fail early (before the long pose pass) if the output folder cannot be written."""
    probe = out
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and (not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK)):
        raise OutputError(f"output folder is not writable: {probe}")
    if create:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"cannot create output folder {out}: {e.strerror or e}") from None


def analyze_file(path: str | os.PathLike, out_dir: str | os.PathLike | None = None, *,
                 exercise: str | None = None, use_cache: bool = False, progress: bool = False,
                 render: bool = True, limits: IntakeLimits | None = None, router_kind: str = "model",
                 profile: dict | None = None, llm=None, summary: bool = True) -> Analysis:
    """Analyse a video file. Raises :class:`~pipeline.errors.SpotterError` for bad input.

    ``llm``: None = the model configured in ``SPOTTER_LLM_MODEL`` (if any), False = deterministic summary,
    or a GGUF path."""
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        _check_out_dir(out)
    bar, cb = _progress_bar(progress, "pose")
    try:
        info, track = extract_pose(path, limits=limits, progress=cb, use_cache=use_cache)
    finally:
        if bar is not None:
            bar.close()
    clean, cleaner = clean_track(track)
    qc = run_qc(track, clean, info)
    report = build_report(info, track, clean, qc, cleaner)
    if profile:
        from .schema import Profile

        report.profile = Profile(**profile)
        if not exercise and report.profile.intended_exercise in exercise_names():
            exercise = report.profile.intended_exercise
    movement = None
    if qc.ok:
        decision = batch_decision(clean, forced=exercise, kind=router_kind)
        movement = analyze_movement(report, track, clean, decision, info)
    if out is not None:
        _check_out_dir(out, create=True)
        write_artifacts(report, out, clean=clean, movement=movement, video_src=path if (render and qc.ok) else None,
                        limits=limits, progress=progress, llm=llm, summary=summary and qc.ok)
    return Analysis(info=info, track=track, clean=clean, qc=qc, report=report, movement=movement)


def analyze_movement(report: Report, track: PoseTrack | None, clean: list[CleanFrame], decision,
                     info: VideoInfo | None, run: "MovementRun | None" = None):
    """Route, count and judge; fills ``exercise``, ``reps``, ``issues``, ``variations``, ``not_judged``."""
    label = decision.label
    if label not in known_exercises():  # built-in or taught
        report.exercise = decision.model()
        return None
    run = run or MovementRun(label, clean)
    conf = decision.set_confidence(run.analyzer.counter.reps)
    if conf is not None:
        decision.confidence = conf  # over the set, as the live session says it
        if conf < decision.count_min:
            # not sure enough of the exercise over the set: nothing is counted (as live); the user can choose it
            decision.note = (f"not sure which exercise: looks most like {label} ({conf:.0%}), not sure enough to "
                             "count; choose the exercise")
            decision.label = "unknown"
            report.exercise = decision.model()
            return None
    fill_evidence(report, run.evidence, decision)
    if track is not None:  # QC again with the body parts this exercise needs in view
        qc = run_qc(track, clean, info, required=run.ex.required_landmarks)
        report.qc = QCModel(ok=qc.ok, warnings=[QCWarningModel(**w.as_dict()) for w in qc.warnings],
                            metrics=qc.metrics)
    return run



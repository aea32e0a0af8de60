"""Batch analysis of a file: intake -> QC -> pose -> cleaning -> (movement) -> report + artifacts.

Every stage here is the live stage run in a loop; there is no private batch implementation.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cleaning import CleanFrame, PoseCleaner
from .config import IntakeLimits
from .errors import OutputError
from .qc import QCMonitor, QCResult
from .routing import batch_decision
from .report import PoseModel, QCModel, QCWarningModel, Report, VideoMeta
from .track import PoseTrack, atomic_write, extract_pose
from .video import VideoInfo

log = logging.getLogger(__name__)


def clean_track(track: PoseTrack, cleaner: PoseCleaner | None = None) -> tuple[list[CleanFrame], PoseCleaner]:
    cleaner = cleaner or PoseCleaner()
    return [cleaner.update(pf) for pf in track.frames()], cleaner


def run_qc(track: PoseTrack, clean: list[CleanFrame], info: VideoInfo | None,
           required: list[int] | None = None) -> QCResult:
    qc = QCMonitor(required=required)
    for st, cf in zip(track.frame_stats(), clean):
        qc.update(st, cf)
    return qc.result(info)


@dataclass
class Analysis:
    info: VideoInfo
    track: PoseTrack
    clean: list[CleanFrame]
    qc: QCResult
    report: Report
    movement: "MovementRun | None" = None


def _progress_bar(enabled: bool, desc: str):
    if not enabled:
        return None, (lambda *a: None)
    from tqdm import tqdm

    bar = tqdm(total=0, desc=desc, unit="frame", file=sys.stderr, leave=False, dynamic_ncols=True)

    def cb(done: int, total: int) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    return bar, cb


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
        from .report import Profile

        report.profile = Profile(**profile)
        if not exercise and report.profile.intended_exercise in ("squat", "push_up", "shoulder_press"):
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


class EvidenceOverlay:
    """Per-time overlay for the annotated video from a set's evidence (rep count, phase, issue highlights).
    Works the same for a file and for a live set, since it needs only the evidence and timestamps."""

    def __init__(self, label: str, evidence):
        self.label = label
        self.ev = evidence
        self.ends = np.array(sorted(it.end_s for it in evidence.reps.items if not it.partial), float)
        self.items = evidence.reps.items

    def __call__(self, t: float, cf: CleanFrame | None):
        count = int(np.searchsorted(self.ends, t, "right"))
        phase = "top"
        for it in self.items:
            if it.start_s <= t < it.bottom_s:
                phase = "lowering"
            elif it.bottom_s <= t <= it.end_s:
                phase = "rising"
        lines = [self.label, f"reps {count}", phase]
        hl, cue = [], None
        for iss in self.ev.issues:
            if iss.t_start <= t <= iss.t_end:
                hl.extend(iss.joints)
                cue = cue or iss.cue
        return lines, cue, hl


class MovementRun:
    """The movement stage looped over a clip (the batch clock of the live stage)."""

    def __init__(self, label: str, clean: list[CleanFrame], analyzer=None):
        from .exercises import get
        from .movement import MovementAnalyzer

        self.ex = get(label)
        if analyzer is None:
            analyzer = MovementAnalyzer(self.ex)
            for i, cf in enumerate(clean):
                analyzer.update(cf, frame_index=i)
        self.analyzer = analyzer
        self.evidence = analyzer.finish()
        self.overlay = EvidenceOverlay(self.ex.label, self.evidence)

    def series(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        s = self.analyzer.series(self.ex.primary_angles)
        return s.pop("t"), s


def analyze_movement(report: Report, track: PoseTrack | None, clean: list[CleanFrame], decision,
                     info: VideoInfo | None, run: "MovementRun | None" = None):
    """Route, count and judge; fills ``exercise``, ``reps``, ``issues``, ``variations``, ``not_judged``."""
    label = decision.label
    if label not in ("squat", "push_up", "shoulder_press"):
        report.exercise = decision.model()
        return None
    run = run or MovementRun(label, clean)
    fill_evidence(report, run.evidence, decision)
    if track is not None:  # QC again with the body parts this exercise needs in view
        qc = run_qc(track, clean, info, required=run.ex.required_landmarks)
        report.qc = QCModel(ok=qc.ok, warnings=[QCWarningModel(**w.as_dict()) for w in qc.warnings],
                            metrics=qc.metrics)
    return run


def fill_evidence(report: Report, ev, decision, live_commit_s: float | None = None) -> Report:
    report.exercise = decision.model(view=ev.view, live_commit_s=live_commit_s)
    report.reps = ev.reps
    report.issues = ev.issues
    report.variations = ev.variations
    report.not_judged = ev.not_judged
    return report


def write_artifacts(report: Report, out: Path, *, clean: list[CleanFrame], movement: "MovementRun | None",
                    video_src=None, t_range: tuple[float, float] | None = None, limits: IntakeLimits | None = None,
                    progress: bool = False, llm=None, summary: bool = True, render_video: bool = True) -> Report:
    """Everything after the evidence: summary (+ verifier), chart, video artifacts, report.html, report.json.

    Used for an analysed file and for a live set (then ``video_src`` is the session recording and
    ``t_range`` the set's span)."""
    out = Path(out)
    if summary:
        from .coach import write_summary

        report.summary, report.verification = write_summary(report, llm=llm)
    if movement is not None:
        from .charts import write_angle_chart

        t, series = movement.series()
        try:
            write_angle_chart(t, series, report.reps, report.issues, out / "angles.png",
                              title=f"{movement.ex.label}: joint angles")
            report.artifacts["angle_chart"] = "angles.png"
        except OSError as e:
            raise OutputError(f"cannot write {out / 'angles.png'}: {e.strerror or e}") from None
    if video_src is not None and render_video:
        from .render import render_video_artifacts

        bar, cb = _progress_bar(progress, "render")
        try:
            arts = render_video_artifacts(video_src, out, clean,
                                          overlay=movement.overlay if movement is not None else None,
                                          issues=report.issues, reps=report.reps, t_range=t_range,
                                          limits=limits, progress=cb)
        finally:
            if bar is not None:
                bar.close()
        report.artifacts.update(arts)
    from .report_html import write_report_html

    report.artifacts["report_html"] = "report.html"
    report.artifacts["report_json"] = "report.json"
    try:
        write_report_html(report, out)
    except OSError as e:
        raise OutputError(f"cannot write {out / 'report.html'}: {e.strerror or e}") from None
    write_report(report, out / "report.json")
    return report


def build_report(info: VideoInfo, track: PoseTrack, clean: list[CleanFrame], qc: QCResult,
                 cleaner: PoseCleaner) -> Report:
    valid = np.array([c.valid for c in clean], bool)
    return Report(
        video=VideoMeta(path=os.path.basename(info.path), duration_s=round(info.duration_s, 3),
                        fps=round(info.measured_fps, 3), width=info.width, height=info.height,
                        rotation=info.rotation, frames=len(track), vfr=info.vfr, codec=info.codec,
                        pose_width=info.pose_width, pose_height=info.pose_height),
        qc=QCModel(ok=qc.ok, warnings=[QCWarningModel(**w.as_dict()) for w in qc.warnings], metrics=qc.metrics),
        pose=PoseModel(backend="mediapipe-blazepose-full", frames=len(track),
                       detected_ratio=round(track.detected_ratio, 4),
                       valid_ratio=round(float(valid.mean()) if len(valid) else 0.0, 4),
                       subject_jumps=cleaner.jumps, subject_changes=cleaner.reanchors),
    )


def write_report(report: Report, path: Path) -> None:
    data = report.model_dump_json(indent=2).encode()
    try:
        atomic_write(path, lambda f: f.write(data))
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None


def report_json(report: Report) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2)

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
from typing import Callable

import numpy as np

from .cleaning import CleanFrame, PoseCleaner
from .config import IntakeLimits
from .draw import draw_panel, draw_skeleton
from .errors import NoPersonError, OutputError
from .qc import QCMonitor, QCResult
from .routing import batch_decision
from .report import PoseModel, QCModel, QCWarningModel, Report, VideoMeta
from .track import PoseTrack, atomic_write, extract_pose
from .video import VideoInfo, VideoReader
from .writer import Mp4Writer

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
                 render: bool = True, limits: IntakeLimits | None = None, router_kind: str = "model") -> Analysis:
    """Analyse a video file. Raises :class:`~pipeline.errors.SpotterError` for bad input."""
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
    movement = None
    if qc.ok:
        decision = batch_decision(clean, forced=exercise, kind=router_kind)
        movement = analyze_movement(report, track, clean, decision, info)
    if out is not None:
        _check_out_dir(out, create=True)
        if render and qc.ok:
            report.artifacts["annotated_video"] = "annotated.mp4"
            render_annotated(path, out / "annotated.mp4", info, clean, limits=limits, progress=progress,
                             overlay=movement.overlay if movement is not None else None)
        write_report(report, out / "report.json")
    return Analysis(info=info, track=track, clean=clean, qc=qc, report=report, movement=movement)


class MovementRun:
    """The movement stage looped over a clip, keeping per-frame state for the annotated video."""

    def __init__(self, label: str, clean: list[CleanFrame]):
        from .exercises import get
        from .movement import MovementAnalyzer

        self.ex = get(label)
        self.analyzer = MovementAnalyzer(self.ex)
        self.states = []
        for i, cf in enumerate(clean):
            st = self.analyzer.update(cf, frame_index=i)
            self.states.append((st.count, st.phase))
        self.evidence = self.analyzer.finish()

    def overlay(self, i: int, cf: CleanFrame):
        count, phase = self.states[min(i, len(self.states) - 1)]
        lines = [f"{self.ex.label}", f"reps {count}", f"{phase}"]
        hl, cue = [], None
        for iss in self.evidence.issues:
            if iss.frame_start <= i <= iss.frame_end:
                hl.extend(iss.joints)
                cue = cue or iss.cue
        return lines, cue, hl


def analyze_movement(report: Report, track: PoseTrack, clean: list[CleanFrame], decision, info: VideoInfo):
    """Route, count and judge; fills ``exercise``, ``reps``, ``issues``, ``variations``, ``not_judged``."""
    label = decision.label
    if label not in ("squat", "push_up", "shoulder_press"):
        report.exercise = decision.model()
        return None
    run = MovementRun(label, clean)
    ev = run.evidence
    report.exercise = decision.model(view=ev.view)
    report.reps = ev.reps
    report.issues = ev.issues
    report.variations = ev.variations
    report.not_judged = ev.not_judged
    # QC again with the body parts this exercise needs in view
    qc = run_qc(track, clean, info, required=run.ex.required_landmarks)
    report.qc = QCModel(ok=qc.ok, warnings=[QCWarningModel(**w.as_dict()) for w in qc.warnings], metrics=qc.metrics)
    return run


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


def render_annotated(src: str | os.PathLike, dst: Path, info: VideoInfo, clean: list[CleanFrame], *,
                     overlay: Callable[[int, CleanFrame], tuple[list[str], str | None, list[int]]] | None = None,
                     limits: IntakeLimits | None = None, progress: bool = False) -> Path:
    """Second, pose-free pass: decode again and draw the stored landmarks and overlay."""
    bar, cb = _progress_bar(progress, "render")
    reader = VideoReader(src, limits)
    n = len(clean)
    try:
        with Mp4Writer(dst, reader.info.pose_width, reader.info.pose_height, fps=info.fps) as w:
            for fr in reader:
                i = fr.index
                if i >= n:
                    break
                cf = clean[i]
                img = fr.image
                if overlay is not None:
                    lines, cue, hl = overlay(i, cf)
                else:
                    lines, cue, hl = [f"t {cf.t:5.1f}s"], None, []
                if cf.valid:
                    draw_skeleton(img, cf.image, cf.mask | cf.filled, highlight=hl)
                draw_panel(img, lines, cue)
                w.write(img, fr.t)
                cb(i + 1, n)
    finally:
        reader.close()
        if bar is not None:
            bar.close()
    return dst


def report_json(report: Report) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2)

"""Everything after the evidence: the report skeleton, the evidence copied into it, the coach summary, the chart,
the annotated video and issue clips, report.html and report.json.

Takes a :class:`~pipeline.schema.Report` with its evidence (from a file or a live set), gives the files."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from ..errors import OutputError
from ..intake.config import IntakeLimits
from ..intake.video import VideoInfo
from ..movement.run import MovementRun
from ..pose.cleaning import CleanFrame, PoseCleaner
from ..pose.qc import QCResult
from ..pose.track import PoseTrack, atomic_write
from ..schema import NotJudged, PoseModel, QCModel, QCWarningModel, Report, VideoMeta


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


def fill_evidence(report: Report, ev, decision, live_commit_s: float | None = None) -> Report:
    report.exercise = decision.model(view=ev.view, live_commit_s=live_commit_s)
    report.reps = ev.reps
    report.issues = ev.issues
    report.borderline = list(getattr(ev, "borderline", []))
    report.variations = ev.variations
    report.not_judged = ev.not_judged
    from ..movement.taught import report_info  # a taught exercise: judged against its demonstration, no form rules

    info = report_info(ev.exercise)
    if info is not None:
        report.exercise.taught = info
        report.not_judged = [*ev.not_judged, NotJudged(code="form", reason=info.note)]
    return report


def write_artifacts(report: Report, out: Path, *, clean: list[CleanFrame], movement: "MovementRun | None",
                    video_src=None, t_range: tuple[float, float] | None = None, limits: IntakeLimits | None = None,
                    progress: bool = False, llm=None, summary: bool = True, render_video: bool = True) -> Report:
    """Everything after the evidence: summary (+ verifier), chart, video artifacts, report.html, report.json.

    Used for an analysed file and for a live set (then ``video_src`` is the session recording and
    ``t_range`` the set's span)."""
    out = Path(out)
    if summary:
        from ..coach import write_summary

        report.summary, report.verification = write_summary(report, llm=llm)
    if movement is not None:
        from .charts import write_angle_chart

        t, series = movement.series()
        try:
            write_angle_chart(t, series, report.reps, report.issues, out / "angles.png",
                              title=f"{movement.ex.label}: joint angles", borderline=report.borderline)
            report.artifacts["angle_chart"] = "angles.png"
        except OSError as e:
            raise OutputError(f"cannot write {out / 'angles.png'}: {e.strerror or e}") from None
    if video_src is not None and render_video:
        from .render import render_video_artifacts

        bar, cb = _progress_bar(progress, "render")
        try:
            arts = render_video_artifacts(video_src, out, clean,
                                          overlay=EvidenceOverlay(movement.ex.label, movement.evidence)
                                          if movement is not None else None,
                                          issues=report.issues, reps=report.reps, t_range=t_range,
                                          limits=limits, progress=cb)
        finally:
            if bar is not None:
                bar.close()
        report.artifacts.update(arts)
    from .html import write_report_html

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

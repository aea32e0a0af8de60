"""The report of a live set, built from what the live pipeline already computed (no second pose pass).

    res = live_pipeline.end_set("user")            # or a SetResult from LiveState.set_ended
    report, run = build_set_report(res)            # evidence → Report in milliseconds
    write_set_report(report, run, res, out_dir)    # summary + verifier, chart, report.html, report.json
    write_set_report(..., video_src=recording)     # later, in a worker: annotated video + issue clips
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..movement.exercises import get as get_exercise
from ..movement.routing import Decision
from ..movement.run import MovementRun, SetResult
from ..pose.qc import QCMonitor
from ..schema import PoseModel, QCModel, QCWarningModel, Report, VideoMeta
from .artifacts import fill_evidence, write_artifacts


def build_set_report(res: SetResult, *, source_name: str | None = None, profile: dict | None = None) -> tuple[
        Report, MovementRun]:
    ex = get_exercise(res.exercise)
    qc = QCMonitor(required=ex.required_landmarks)
    for st, cf in zip(res.stats, res.clean):
        qc.update(st, cf)
    t = np.array([c.t for c in res.clean], float)
    fps = float(1.0 / np.median(np.diff(t))) if len(t) > 2 else 0.0
    w = res.clean[0].width if res.clean else 0
    h = res.clean[0].height if res.clean else 0
    present = np.array([p.present for p in res.pose], bool) if res.pose else np.zeros(0, bool)
    valid = np.array([c.valid for c in res.clean], bool)
    qr = qc.result(None)
    report = Report(
        video=VideoMeta(path=source_name or f"live set {res.index}", duration_s=round(res.t_end - res.t_start, 3),
                        fps=round(fps, 2), width=w, height=h, frames=len(res.clean), pose_width=w, pose_height=h),
        qc=QCModel(ok=qr.ok, warnings=[QCWarningModel(**x.as_dict()) for x in qr.warnings], metrics=qr.metrics),
        pose=PoseModel(backend="mediapipe-blazepose-full", frames=len(res.clean),
                       detected_ratio=round(float(present.mean()), 4) if len(present) else 0.0,
                       valid_ratio=round(float(valid.mean()), 4) if len(valid) else 0.0),
    )
    if profile:
        from ..schema import Profile

        report.profile = Profile(**profile)
    run = MovementRun(res.exercise, [], analyzer=res.analyzer)
    decision = Decision(res.exercise, res.confidence, res.source if res.source != "none" else "model")
    fill_evidence(report, run.evidence, decision, live_commit_s=res.t_commit)
    report.artifacts["set_index"] = str(res.index)
    return report, run


def write_set_report(report: Report, run: MovementRun, res: SetResult, out_dir: str | Path, *, video_src=None,
                     llm=False, summary: bool = True) -> Report:
    """Write the set's artifacts. Without ``video_src`` no video is rendered (the fast path at set end);
    with the session recording, the annotated set video and issue clips are added."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return write_artifacts(report, out, clean=res.clean, movement=run, video_src=video_src,
                           t_range=(res.t_start, res.t_end), llm=llm, summary=summary,
                           render_video=video_src is not None)

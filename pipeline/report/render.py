"""Video artifacts in one decode pass, with no pose: the annotated video (skeleton, rep counter, phase, issue
highlights on the joints involved), one short clip per issue (about 1 s either side) and a thumbnail at its
peak. Landmarks come from the analysis (batch) or from the live session; frames are matched by timestamp,
so a live recording with dropped frames renders the same way as a file."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from ..errors import OutputError
from ..intake.config import IntakeLimits
from ..intake.video import VideoReader
from ..pose.cleaning import CleanFrame
from ..pose.track import atomic_write
from ..schema import IssueModel, RepsModel
from .draw import draw_panel, draw_skeleton
from .writer import Mp4Writer

Overlay = Callable[[float, CleanFrame | None], tuple[list[str], str | None, list[int]]]


@dataclass
class ClipJob:
    name: str
    t0: float
    t1: float
    peak_t: float
    joints: list[int]
    cue: str
    writer: Mp4Writer | None = None
    thumb_done: bool = False


def issue_artifact_names(issues: Sequence[IssueModel]) -> list[tuple[str, str]]:
    out = []
    for k, iss in enumerate(issues, 1):
        base = f"issue_{k:02d}_{iss.code}" + (f"_rep{iss.rep}" if iss.rep else "")
        out.append((f"{base}.mp4", f"{base}.jpg"))
    return out


def render_video_artifacts(src: str | os.PathLike, out_dir: Path, clean: Sequence[CleanFrame], *,
                           overlay: Overlay | None = None, issues: Sequence[IssueModel] = (),
                           reps: RepsModel | None = None, t_range: tuple[float, float] | None = None,
                           annotated: bool = True, limits: IntakeLimits | None = None,
                           progress: Callable[[int, int], None] | None = None, pad_s: float = 1.0) -> dict[str, str]:
    """Returns the artifact names written (relative to ``out_dir``)."""
    out_dir = Path(out_dir)
    times = np.array([c.t for c in clean], float)
    t_lo, t_hi = t_range if t_range is not None else (-np.inf, np.inf)
    reader = VideoReader(src, limits)
    info = reader.info
    artifacts: dict[str, str] = {}
    jobs: list[ClipJob] = []
    bottoms = {it.index: it.bottom_s for it in (reps.items if reps else []) if it.index}
    for iss, (clip_name, thumb_name) in zip(issues, issue_artifact_names(issues)):
        peak = bottoms.get(iss.rep, (iss.t_start + iss.t_end) / 2)
        jobs.append(ClipJob(clip_name, iss.t_start - pad_s, iss.t_end + pad_s, peak, list(iss.joints), iss.cue))
    main = None
    written: list[Mp4Writer] = []
    try:
        if annotated:
            main = Mp4Writer(out_dir / "annotated.mp4", info.pose_width, info.pose_height, fps=info.fps)
            written.append(main)
        n_total = info.frames_declared or 0
        for fr in reader:
            t = fr.t
            if t < t_lo - pad_s:
                continue
            if t > t_hi + pad_s:
                break
            i = int(np.searchsorted(times, t + 1e-6, "right")) - 1
            cf = clean[i] if 0 <= i < len(clean) and abs(times[i] - t) < 0.5 else None
            img = fr.image
            lines, cue, hl = overlay(t, cf) if overlay else ([f"t {t:5.1f}s"], None, [])
            if cf is not None and cf.valid:
                draw_skeleton(img, cf.image, cf.mask | cf.filled, highlight=hl)
            draw_panel(img, lines, cue)
            rel_t = t - (t_lo if np.isfinite(t_lo) else 0.0)
            if main is not None and t_lo <= t <= t_hi:
                main.write(img, max(0.0, rel_t))
            for job in jobs:
                if job.t0 <= t <= job.t1:
                    if job.writer is None:
                        job.writer = Mp4Writer(out_dir / job.name, info.pose_width, info.pose_height, fps=info.fps)
                        written.append(job.writer)
                    job.writer.write(img, t - job.t0)
                    if not job.thumb_done and t >= job.peak_t:
                        _write_jpeg(out_dir / job.name.replace(".mp4", ".jpg"), img)
                        job.thumb_done = True
            if progress:
                progress(fr.index + 1, n_total)
        if main is not None:
            main.close()
            written.remove(main)
            artifacts["annotated_video"] = "annotated.mp4"
        for job in jobs:
            if job.writer is not None:
                job.writer.close()
                written.remove(job.writer)
                artifacts[f"clip:{job.name[:-4]}"] = job.name
                if job.thumb_done:
                    artifacts[f"thumb:{job.name[:-4]}"] = job.name.replace(".mp4", ".jpg")
    except BaseException:
        for w in written:
            w.abort()
        raise
    finally:
        reader.close()
    return artifacts


def _write_jpeg(path: Path, rgb: np.ndarray) -> None:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:  # pragma: no cover
        raise OutputError(f"cannot encode thumbnail {path.name}")
    try:
        atomic_write(path, lambda f: f.write(buf.tobytes()))
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None

"""Video quality checks, incremental: ``update()`` per frame, ``live_hints()`` for camera set-up
coaching before a set, ``result()`` for the report. Only "no person found" blocks analysis."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..intake.imagestats import FrameStats, pose_box
from ..intake.video import VideoInfo
from .cleaning import CleanFrame
from .landmarks import (
    FULL_BODY,
    L_ANKLE,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    L_WRIST,
    MIRROR,
    NAMES,
    R_ANKLE,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    R_WRIST,
)
from .track import PoseTrack


@dataclass
class QCWarning:
    code: str
    message: str
    value: float | None = None

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "value": self.value}


@dataclass
class QCResult:
    ok: bool
    warnings: list[QCWarning]
    metrics: dict


_PART_FIX = {
    "feet": "step back until your feet are in the frame",
    "knees": "step back or lower the camera until your knees and feet are in the frame",
    "hips": "step back until your hips and legs are in the frame",
    "head": "tilt the camera up or step back so your head and shoulders are in the frame",
    "hands": "step back so your hands stay in the frame at the top of each rep",
}
_PART_OF = {L_ANKLE: "feet", R_ANKLE: "feet", L_KNEE: "knees", R_KNEE: "knees", L_HIP: "hips", R_HIP: "hips",
            L_SHOULDER: "head", R_SHOULDER: "head", L_WRIST: "hands", R_WRIST: "hands"}


def _in_frame(cf: CleanFrame, idx: list[int], margin: float = 0.02) -> np.ndarray:
    xy = cf.image[idx, :2]
    inside = (xy[:, 0] > -margin) & (xy[:, 0] < 1 + margin) & (xy[:, 1] > -margin) & (xy[:, 1] < 1 + margin)
    return inside & (cf.visibility[idx] >= 0.5)


class QCMonitor:
    """Accumulates per-frame evidence; cheap enough to run on every live frame."""

    # thresholds (documented in the README's QC table)
    DARK = 50.0
    BRIGHT = 215.0
    BLUR = 15.0
    SMALL = 0.30  # body height / frame height
    MOVING = 0.01  # background drift, fraction of the image width per second
    MIN_PERSON = 0.80
    MIN_BODY = 0.70

    def __init__(self, required: list[int] | None = None, window_s: float = 2.0, keep_s: float | None = None):
        self.required = list(required or FULL_BODY)
        self.window_s = window_s
        self._rows = deque(maxlen=None if keep_s is None else int(keep_s * 60))
        self._missing = np.zeros(len(NAMES), np.int64)

    def update(self, stats: FrameStats, cf: CleanFrame) -> None:
        person = bool(cf.valid and cf.raw_present)
        body_ok = False
        size = float("nan")
        if person:
            inside = dict(zip(self.required, _in_frame(cf, self.required)))
            # a body part is in view when either side is (the far side is often hidden in a side view)
            body_ok = True
            for i in self.required:
                j = MIRROR[i]
                if not (inside[i] or inside.get(j, False)):
                    body_ok = False
                    self._missing[i] += 1
            box = pose_box(cf.image, cf.visibility)
            if box is not None:
                size = box[3] - box[1]
        self._rows.append((stats.t, stats.brightness, stats.blur, stats.motion, person, body_ok, size))

    # ------------------------------------------------------------------
    def _arr(self, since: float | None = None) -> np.ndarray:
        if not self._rows:
            return np.zeros((0, 7))
        a = np.asarray(self._rows, dtype=np.float64)
        if since is not None:
            a = a[a[:, 0] >= since]
        return a

    def _missing_part(self) -> str:
        if not self._missing.any():
            return "feet"
        return _PART_OF.get(int(np.argmax(self._missing)), "feet")

    def _checks(self, a: np.ndarray, live: bool) -> list[QCWarning]:
        out: list[QCWarning] = []
        if len(a) == 0:
            return out
        person = a[:, 4] > 0
        pr = float(person.mean())
        if pr == 0:
            out.append(QCWarning("no_person", "No person found: stand in front of the camera with your whole "
                                              "body in view.", 0.0))
            return out
        if not live and pr < self.MIN_PERSON:
            out.append(QCWarning("person_missing", f"A person was found on only {pr:.0%} of frames: stay in "
                                                   "view for the whole set.", pr))
        body = float(a[person, 5].mean())
        if body < self.MIN_BODY:
            part = self._missing_part()
            out.append(QCWarning("body_cut_off", f"The body needed for this exercise is fully visible on only "
                                                 f"{body:.0%} of frames: {_PART_FIX[part]}.", body))
        size = np.nanmedian(a[person, 6]) if np.isfinite(a[person, 6]).any() else np.nan
        if np.isfinite(size) and size < self.SMALL:
            out.append(QCWarning("person_small", f"You fill only {size:.0%} of the frame height: move closer "
                                                 "to the camera (or zoom in) so your body fills at least half of it.",
                                 float(size)))
        bright = float(np.median(a[:, 1]))
        if bright < self.DARK:
            out.append(QCWarning("too_dark", "The video is dark: turn on a light or face a window.", bright))
        elif bright > self.BRIGHT:
            out.append(QCWarning("too_bright", "The video is overexposed: do not point the camera at a window "
                                               "or bright light.", bright))
        blur = float(np.median(a[:, 2]))
        if blur < self.BLUR:
            out.append(QCWarning("blurry", "The picture is blurry: clean the lens, add light and keep the camera "
                                           "still.", blur))
        mot = a[:, 3][np.isfinite(a[:, 3])]
        if len(mot) >= 3:
            moving_share = float((mot > self.MOVING).mean())
            if moving_share > 0.5:
                out.append(QCWarning("camera_moving", "The camera is moving: put it on a stable surface; a moving "
                                                      "camera makes angles less reliable.", moving_share))
        return out

    def live_hints(self, now: float | None = None) -> list[QCWarning]:
        """Set-up coaching over the last ``window_s`` seconds (for the live page)."""
        if not self._rows:
            return []
        now = self._rows[-1][0] if now is None else now
        return self._checks(self._arr(since=now - self.window_s), live=True)

    def result(self, info=None) -> QCResult:
        a = self._arr()
        warns = self._checks(a, live=False)
        metrics: dict = {"frames": int(len(a))}
        if len(a):
            person = a[:, 4] > 0
            metrics.update(
                person_ratio=float(person.mean()),
                body_visible_ratio=float(a[person, 5].mean()) if person.any() else 0.0,
                brightness=float(np.median(a[:, 1])),
                blur=float(np.median(a[:, 2])),
                camera_motion=float(np.nanmedian(a[:, 3])) if np.isfinite(a[:, 3]).any() else None,
                person_height=float(np.nanmedian(a[person, 6])) if person.any() and
                np.isfinite(a[person, 6]).any() else None,
            )
        if info is not None:
            fps = info.measured_fps
            metrics.update(duration_s=info.duration_s, fps=fps, width=info.width, height=info.height,
                           vfr=info.vfr)
            if fps < 15:
                warns.append(QCWarning("low_fps", f"The video runs at {fps:.0f} fps: record at 24 fps or more "
                                                  "so fast reps are not missed.", fps))
            if min(info.width, info.height) < 240:
                warns.append(QCWarning("low_resolution", f"The video is only {info.width}x{info.height}: record "
                                                         "at 480p or more.", float(min(info.width, info.height))))
            if 0 < info.duration_s < 2.0:
                warns.append(QCWarning("too_short", "The video is shorter than 2 s: record the whole set.",
                                       info.duration_s))
            if info.truncated:
                warns.append(QCWarning("truncated", "The file ends early (truncated or corrupt): only the part "
                                                    "that could be decoded was analysed.", None))
        ok = not any(w.code == "no_person" for w in warns)
        return QCResult(ok=ok, warnings=warns, metrics=metrics)


def run_qc(track: PoseTrack, clean: list[CleanFrame], info: VideoInfo | None,
           required: list[int] | None = None) -> QCResult:
    qc = QCMonitor(required=required)
    for st, cf in zip(track.frame_stats(), clean):
        qc.update(st, cf)
    return qc.result(info)

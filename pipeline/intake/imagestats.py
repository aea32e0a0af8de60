"""Image statistics per frame (brightness, blur, camera motion): the intake's cheap look at each picture.

Takes an RGB frame and its time, gives :class:`FrameStats`; the pose QC (``pipeline.pose.qc``) turns them into
warnings together with what the pose saw."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

STATS_W = 160  # small grey image for brightness / blur / motion


@dataclass
class FrameStats:
    t: float
    brightness: float  # mean luma 0-255
    blur: float  # variance of the Laplacian on a 160 px wide grey image (higher = sharper)
    motion: float  # global shift from the previous frame, as a fraction of the image width


class ImageStatsMeter:
    """Cheap per-frame image statistics (well under 1 ms a frame at 160 px).

    Camera motion is the median optical flow of background corners (outside the person's box),
    so a person moving in front of a still camera does not count as camera motion.
    """

    def __init__(self, motion_interval_s: float = 0.5, every: int = 3):
        self.every = max(1, every)
        self._n = 0
        self._last = None
        self._ref = None
        self._ref_t = None
        self.motion_interval_s = motion_interval_s
        self._lk = dict(winSize=(21, 21), maxLevel=3,
                        criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.01))

    def update(self, rgb: np.ndarray, t: float, box: tuple[float, float, float, float] | None = None) -> FrameStats:
        h, w = rgb.shape[:2]
        sw = STATS_W
        sh = max(2, int(round(h * sw / w)))
        self._n += 1
        due_motion = self._ref is None or self._ref.shape[0] != sh or t - self._ref_t >= self.motion_interval_s
        if self._last is not None and self._n % self.every and not due_motion:
            # brightness and blur change slowly: measured every few frames, reused in between
            return FrameStats(t=t, brightness=self._last[0], blur=self._last[1], motion=float("nan"))
        small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        brightness = float(grey.mean())
        blur = float(cv2.Laplacian(grey, cv2.CV_32F).var())
        self._last = (brightness, blur)
        motion = float("nan")
        ref = self._ref
        if ref is None or ref.shape != grey.shape:
            self._ref, self._ref_t = grey, t
        elif t - self._ref_t >= self.motion_interval_s:
            # background flow between this frame and one ~0.5 s ago, person masked out
            mask = np.full(grey.shape, 255, np.uint8)
            if box is not None and all(np.isfinite(box)):
                x0, y0, x1, y1 = box
                mx, my = 0.2 * (x1 - x0), 0.2 * (y1 - y0)
                xa, xb = int(max(0, (x0 - mx) * sw)), int(min(sw, (x1 + mx) * sw))
                ya, yb = int(max(0, (y0 - my) * sh)), int(min(sh, (y1 + my) * sh))
                mask[ya:yb, xa:xb] = 0
            pts = cv2.goodFeaturesToTrack(ref, maxCorners=60, qualityLevel=0.01, minDistance=5, mask=mask)
            if pts is not None and len(pts) >= 6:
                nxt, st, _ = cv2.calcOpticalFlowPyrLK(ref, grey, pts, None, **self._lk)
                ok = st.ravel() == 1
                if ok.sum() >= 6:
                    d = (nxt[ok] - pts[ok]).reshape(-1, 2)
                    # fraction of the image width per second
                    motion = float(np.hypot(*np.median(d, axis=0))) / sw / (t - self._ref_t)
            self._ref, self._ref_t = grey, t
        return FrameStats(t=t, brightness=brightness, blur=blur, motion=motion)


def pose_box(image_lm: np.ndarray, visibility: np.ndarray) -> tuple[float, float, float, float] | None:
    """Normalised bounding box of the visible landmarks, or None."""
    ok = visibility >= 0.3
    if ok.sum() < 4:
        return None
    xy = image_lm[ok, :2]
    lo, hi = np.clip(xy.min(axis=0), 0, 1), np.clip(xy.max(axis=0), 0, 1)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

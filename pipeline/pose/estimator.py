"""Pose estimation behind a small interface. The default backend is MediaPipe BlazePose full,
bundled inside the ``mediapipe`` wheel (``model_complexity=1``): it never downloads anything."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .landmarks import N


@dataclass
class PoseFrame:
    """Raw pose for one frame. Coordinates are NaN when no person was found."""

    t: float
    image: np.ndarray  # (33, 3): x, y normalised to the frame [0, 1], z relative depth
    world: np.ndarray  # (33, 3): metres, origin between the hips, y down
    visibility: np.ndarray  # (33,)
    present: bool
    width: int = 0  # frame size the normalised coordinates refer to
    height: int = 0

    @classmethod
    def empty(cls, t: float, width: int = 0, height: int = 0) -> "PoseFrame":
        nan = np.full((N, 3), np.nan, dtype=np.float32)
        return cls(t=t, image=nan, world=nan.copy(), visibility=np.zeros(N, np.float32), present=False,
                   width=width, height=height)


class PoseEstimator(Protocol):
    """Anything that turns an RGB frame and its timestamp into a PoseFrame."""

    name: str

    def process(self, rgb: np.ndarray, t: float) -> PoseFrame: ...

    def close(self) -> None: ...


class MediaPipePose:
    """BlazePose full through ``mediapipe.solutions.pose`` in tracking mode.

    Only ``model_complexity=1`` is allowed: its model file ships in the wheel, while
    0 (lite) and 2 (heavy) would be fetched from the internet on first use.
    """

    name = "mediapipe-blazepose-full"

    def __init__(self, min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5):
        import mediapipe as mp  # imported lazily: it is slow to import

        self._mp_pose = mp.solutions.pose
        self._pose = self._mp_pose.Pose(
            static_image_mode=False,
            model_complexity=1,
            smooth_landmarks=False,  # our own causal filter uses real timestamps
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )

    def process(self, rgb: np.ndarray, t: float) -> PoseFrame:
        h, w = rgb.shape[:2]
        if not rgb.flags["C_CONTIGUOUS"]:
            rgb = np.ascontiguousarray(rgb)
        res = self._pose.process(rgb)
        if res.pose_landmarks is None:
            return PoseFrame.empty(t, w, h)
        lm = res.pose_landmarks.landmark
        img = np.array([(p.x, p.y, p.z, p.visibility) for p in lm], dtype=np.float32)
        if res.pose_world_landmarks is not None:
            world = np.array([(p.x, p.y, p.z) for p in res.pose_world_landmarks.landmark], dtype=np.float32)
        else:  # pragma: no cover - mediapipe returns both together
            world = np.full((N, 3), np.nan, np.float32)
        return PoseFrame(t=t, image=img[:, :3].copy(), world=world, visibility=img[:, 3].copy(),
                         present=True, width=w, height=h)

    def reset(self) -> None:
        """Forget tracking state (new subject / new video)."""
        self._pose.reset()

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None


class StillPictureGuard:
    """A picture that stopped changing gets its pose no more: once a frame has stayed (nearly) identical for
    ``hold_after_s`` seconds, the pose measured then is repeated, at each frame's own time, until the picture
    changes. Identical pictures carry no motion, and must never make one: a camera whose picture froze (or a file
    that holds its last frame) otherwise fed pose the same picture again and again, and the tracker's small drift
    on it, or the codec's noise, became motion downstream (issue 23: a replay counted a rep from a frozen picture
    of a person standing on one leg).

    "Nearly identical" is measured on a 64x48 grey thumbnail against the first picture of the still stretch (so
    slow motion adds up and ends it): no cell more than ``max_diff`` grey levels apart and ``mean_diff`` on
    average. A still picture through Chromium's VP8 encoder and back differs by at most 2 levels (mean 0.08;
    docs/live.md); a moving person changes far more. Pictures repeated for less than ``hold_after_s`` (a 25 fps
    video converted to 30 fps repeats every sixth frame) are posed as usual: the counts of every real clip stay
    what they were (holding every repeated frame changed sp01's count, 4 → 3). ``held`` counts the frames whose
    pose was repeated. Wraps any estimator (``inner``; MediaPipe by default)."""

    name = "still-guard"

    def __init__(self, inner: PoseEstimator | None = None, max_diff: float = 4.0, mean_diff: float = 0.3,
                 hold_after_s: float = 0.5):
        self.inner = inner
        self.max_diff = max_diff
        self.mean_diff = mean_diff
        self.hold_after_s = hold_after_s
        self._anchor: tuple[np.ndarray, float, tuple] | None = None  # thumbnail, time, frame shape
        self._last: PoseFrame | None = None  # the last pose measured
        self.held = 0

    @staticmethod
    def thumb(rgb: np.ndarray) -> np.ndarray:
        import cv2

        g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
        return cv2.resize(g, (64, 48), interpolation=cv2.INTER_AREA).astype(np.int16)

    def same(self, a: np.ndarray, b: np.ndarray) -> bool:
        d = np.abs(a - b)
        return bool(d.max() <= self.max_diff and d.mean() <= self.mean_diff)

    def process(self, rgb: np.ndarray, t: float) -> PoseFrame:
        th = self.thumb(rgb)
        a = self._anchor
        if a is None or a[2] != rgb.shape or not self.same(th, a[0]):
            self._anchor = a = (th, t, rgb.shape)
        last = self._last
        if last is not None and t - a[1] >= self.hold_after_s:
            self.held += 1
            return PoseFrame(t=t, image=last.image.copy(), world=last.world.copy(),
                             visibility=last.visibility.copy(), present=last.present, width=last.width,
                             height=last.height)
        if self.inner is None:
            self.inner = MediaPipePose()
        pf = self._last = self.inner.process(rgb, t)
        return pf

    def reset(self) -> None:
        self._anchor = self._last = None
        if self.inner is not None and hasattr(self.inner, "reset"):
            self.inner.reset()

    def close(self) -> None:
        if self.inner is not None and hasattr(self.inner, "close"):
            self.inner.close()
        self.inner = None

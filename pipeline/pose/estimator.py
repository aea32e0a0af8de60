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

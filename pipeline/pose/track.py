"""Whole-clip containers and the first (pose) pass over a file.

The live stream produces the same per-frame objects one at a time; a :class:`PoseTrack`
is just those frames stacked, so the batch analysis at set end reuses the landmarks
computed live and never runs pose again.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..intake.config import IntakeLimits, cache_dir
from ..intake.imagestats import FrameStats, ImageStatsMeter, pose_box
from ..intake.video import VideoInfo, VideoReader
from .cleaning import CleanFrame, PoseCleaner
from .estimator import PoseEstimator, PoseFrame

log = logging.getLogger(__name__)
CACHE_VERSION = 5


@dataclass
class PoseTrack:
    t: np.ndarray  # (N,)
    image: np.ndarray  # (N, 33, 3)
    world: np.ndarray  # (N, 33, 3)
    visibility: np.ndarray  # (N, 33)
    present: np.ndarray  # (N,) bool
    stats: np.ndarray  # (N, 3): brightness, blur, motion
    width: int
    height: int

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def from_frames(cls, frames: list[PoseFrame], stats: list[FrameStats] | None = None) -> "PoseTrack":
        n = len(frames)
        w = frames[0].width if n else 0
        h = frames[0].height if n else 0
        st = np.array([(s.brightness, s.blur, s.motion) for s in stats], np.float32) if stats else \
            np.zeros((n, 3), np.float32)
        return cls(
            t=np.array([f.t for f in frames], np.float64),
            image=np.stack([f.image for f in frames]).astype(np.float32) if n else np.zeros((0, 33, 3), np.float32),
            world=np.stack([f.world for f in frames]).astype(np.float32) if n else np.zeros((0, 33, 3), np.float32),
            visibility=np.stack([f.visibility for f in frames]).astype(np.float32) if n else np.zeros((0, 33)),
            present=np.array([f.present for f in frames], bool),
            stats=st, width=w, height=h)

    def frames(self) -> Iterator[PoseFrame]:
        for i in range(len(self.t)):
            yield PoseFrame(t=float(self.t[i]), image=self.image[i], world=self.world[i],
                            visibility=self.visibility[i], present=bool(self.present[i]),
                            width=self.width, height=self.height)

    def frame_stats(self) -> Iterator[FrameStats]:
        for i in range(len(self.t)):
            b, bl, m = self.stats[i]
            yield FrameStats(t=float(self.t[i]), brightness=float(b), blur=float(bl), motion=float(m))

    @property
    def detected_ratio(self) -> float:
        return float(self.present.mean()) if len(self.present) else 0.0

    def save(self, path: Path, info: VideoInfo | None = None) -> None:
        meta = {"width": self.width, "height": self.height}
        if info is not None:
            d = dataclasses.asdict(info)
            d.pop("intervals", None)
            meta["info"] = d
        atomic_write(path, lambda f: np.savez_compressed(
            f, t=self.t, image=self.image, world=self.world, visibility=self.visibility, present=self.present,
            stats=self.stats, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8)))

    @classmethod
    def load(cls, path: Path) -> tuple["PoseTrack", dict]:
        z = np.load(path)
        meta = json.loads(bytes(z["meta"]).decode())
        tr = cls(t=z["t"], image=z["image"], world=z["world"], visibility=z["visibility"], present=z["present"],
                 stats=z["stats"], width=meta["width"], height=meta["height"])
        return tr, meta


def atomic_write(path: Path, write: Callable) -> None:
    """Write through a temporary file in the same folder, then rename: no partial files on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _file_mode() -> int:
    """Regular file permissions under the current umask (mkstemp creates 0600 files)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _cache_key(path: Path, long_side: int, backend: str) -> str:
    st = path.stat()
    h = hashlib.sha1()
    h.update(f"{CACHE_VERSION}|{path.resolve()}|{st.st_size}|{int(st.st_mtime)}|{long_side}|{backend}".encode())
    return h.hexdigest()[:20]


def pose_cache_path(path: str | os.PathLike, limits: IntakeLimits | None = None,
                    backend: str = "mediapipe-blazepose-full") -> Path:
    """Where ``extract_pose(path, use_cache=True)`` keeps the clip's pose."""
    limits = limits or IntakeLimits()
    return cache_dir() / "pose" / f"{_cache_key(Path(path), limits.pose_long_side, backend)}.npz"


def extract_pose(path: str | os.PathLike, estimator: PoseEstimator | None = None,
                 limits: IntakeLimits | None = None, progress: Callable[[int, int], None] | None = None,
                 use_cache: bool = False) -> tuple[VideoInfo, PoseTrack]:
    """Decode a file and run pose on every frame (the batch clock's first pass).

    With ``use_cache`` the result is kept under the cache folder (``SPOTTER_CACHE``), keyed by file
    identity and settings, so re-analysing the same clip does not run pose again.
    """
    limits = limits or IntakeLimits()
    p = Path(path)
    backend = getattr(estimator, "name", "mediapipe-blazepose-full")
    cpath = None
    if use_cache and p.is_file():
        cpath = pose_cache_path(p, limits, backend)
        if cpath.exists():
            try:
                track, meta = PoseTrack.load(cpath)
                mi = meta.get("info") or {}
                info = VideoInfo(**{k: v for k, v in mi.items() if k in VideoInfo.__dataclass_fields__})
                info.intervals = list(np.diff(track.t))
                return info, track
            except Exception as e:  # corrupt or old cache: recompute
                log.warning("ignoring unreadable pose cache %s: %s", cpath, e)
    reader = VideoReader(p, limits)  # validates before anything else
    info = reader.info
    own = estimator is None
    if own:
        from .estimator import MediaPipePose
        estimator = MediaPipePose()
    frames: list[PoseFrame] = []
    stats: list[FrameStats] = []
    meter = ImageStatsMeter()
    total = info.frames_declared or int(info.duration_s * info.fps) or 0
    try:
        for fr in reader:
            pf = estimator.process(fr.image, fr.t)
            stats.append(meter.update(fr.image, fr.t, pose_box(pf.image, pf.visibility) if pf.present else None))
            frames.append(pf)
            if progress:
                progress(len(frames), total)
    finally:
        reader.close()
        if own:
            estimator.close()
    track = PoseTrack.from_frames(frames, stats)
    if cpath is not None:
        try:
            track.save(cpath, info)
        except OSError as e:
            log.warning("could not write pose cache: %s", e)
    return info, track


def clean_track(track: PoseTrack, cleaner: PoseCleaner | None = None) -> tuple[list[CleanFrame], PoseCleaner]:
    cleaner = cleaner or PoseCleaner()
    return [cleaner.update(pf) for pf in track.frames()], cleaner

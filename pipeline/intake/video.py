"""Video intake: decode with PyAV, honour rotation, real timestamps, downscale for pose.

The reader yields :class:`Frame` objects one at a time, the same type the live
stream produces, so every later stage is shared between the two clocks.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from ..errors import InputError
from .config import IntakeLimits

log = logging.getLogger(__name__)
av.logging.set_level(av.logging.PANIC)  # ffmpeg's own chatter never reaches the user


@dataclass
class Frame:
    """One decoded RGB frame at pose resolution and its timestamp in seconds."""

    image: np.ndarray  # HxWx3 uint8 RGB, upright
    t: float
    index: int


@dataclass
class VideoInfo:
    path: str
    width: int  # upright (after rotation) source size
    height: int
    rotation: int  # degrees clockwise applied to make the picture upright
    fps: float
    duration_s: float
    frames_declared: int
    codec: str
    size_bytes: int
    pose_width: int = 0
    pose_height: int = 0
    # filled while decoding
    frames_decoded: int = 0
    vfr: bool = False
    truncated: bool = False
    decode_error: str | None = None
    intervals: list[float] = field(default_factory=list, repr=False)

    @property
    def measured_fps(self) -> float:
        """Average frame rate from the real timestamps (robust to VFR and to coarse time bases)."""
        if len(self.intervals) < 2:
            return self.fps
        span = float(np.sum(self.intervals))
        return len(self.intervals) / span if span > 0 else self.fps


def _even(x: float) -> int:
    return max(2, int(round(x / 2.0)) * 2)


def pose_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """Size to decode to: the long side capped at ``long_side``; never upscaled; even."""
    scale = min(1.0, long_side / float(max(width, height)))
    return _even(width * scale), _even(height * scale)


def _rotation_of(stream, first_frame) -> int:
    """Clockwise degrees needed to show the frame upright (0, 90, 180, 270)."""
    angle = None
    rot = getattr(first_frame, "rotation", None)  # PyAV >= 13: display matrix, counter-clockwise
    if rot:
        angle = -float(rot)
    if angle is None:
        tag = stream.metadata.get("rotate")  # legacy tag: clockwise degrees
        if tag:
            try:
                angle = float(tag)
            except ValueError:
                angle = None
    if angle is None:
        return 0
    return int(round(angle / 90.0)) * 90 % 360


class VideoReader:
    """Opens and validates a video file, then iterates over upright, downscaled frames.

    All problems a user can cause become :class:`InputError` with a one-line message.
    A decode error after some frames were read ends the iteration and sets
    ``info.truncated`` (QC turns it into a warning); with no frame at all it is an error.

    Messages are one plain sentence about the file, named as the user knows it (``name``: an upload's own file
    name, not the copy's), with no error numbers or library words; FFmpeg's own wording goes to the log.
    """

    def __init__(self, path: str | os.PathLike, limits: IntakeLimits | None = None,
                 long_side: int | None = None, name: str | None = None):
        self.limits = limits or IntakeLimits()
        self.long_side = long_side or self.limits.pose_long_side
        self.path = Path(path)
        self.name = name or self.path.name
        self._container = None
        self.info = self._open()

    # -- validation -------------------------------------------------------
    def _open(self) -> VideoInfo:
        p, name = self.path, self.name
        if not p.exists():
            raise InputError(f"file not found: {p}")
        if p.is_dir():
            raise InputError(f"expected a video file, got a folder: {p}")
        size = p.stat().st_size
        if size == 0:
            raise InputError(f"{name} is empty (0 bytes).")
        if size > self.limits.max_bytes:
            raise InputError(
                f"{name} is {size / 2**20:.0f} MB, over the {self.limits.max_bytes / 2**20:.0f} MB limit "
                f"(SPOTTER_MAX_MB raises it).")
        try:
            self._container = av.open(str(p), mode="r", metadata_errors="ignore")
        except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
            log.info("cannot open %s: %s", p, e)
            raise InputError(f"{name} cannot be read as a video: the file is damaged or incomplete, perhaps cut off "
                             f"while it was copied or downloaded; copy or export it again.") from None
        c = self._container
        if not c.streams.video:
            self.close()
            raise InputError(f"{name} has no picture: it holds sound only." if c.streams.audio
                             else f"{name} has no video in it.")
        s = c.streams.video[0]
        # default (single-threaded) decoding: frame threads occasionally deadlocked when a reader was closed
        # before the end of the file
        cc = s.codec_context
        if not cc.width or not cc.height:
            self.close()
            raise InputError(f"{name} cannot be read as a video: its header is damaged.")
        duration = 0.0
        if s.duration and s.time_base:
            duration = float(s.duration * s.time_base)
        elif c.duration:
            duration = c.duration / 1_000_000.0
        if duration > self.limits.max_duration_s:
            self.close()
            raise InputError(
                f"{name} is {duration / 60:.1f} minutes long, over the {self.limits.max_duration_s / 60:.0f} minute "
                f"limit (SPOTTER_MAX_MINUTES raises it).")
        fps = float(s.average_rate) if s.average_rate else (float(s.guessed_rate) if s.guessed_rate else 30.0)
        self._stream = s
        # Peek at the first frame: rotation lives in frame side data on recent FFmpeg.
        self._first = None
        self._decoder = self._decode_iter()
        try:
            self._first = next(self._decoder)
        except StopIteration:
            self.close()
            raise InputError(f"{name} has no picture that can be decoded: it is damaged or incomplete.") from None
        except av.error.FFmpegError as e:
            self.close()
            log.info("cannot decode %s: %s", p, e)
            raise InputError(f"{name} cannot be decoded: it is damaged, incomplete or in a format this computer "
                             f"cannot play.") from None
        rot = _rotation_of(s, self._first)
        w, h = cc.width, cc.height
        if rot in (90, 270):
            w, h = h, w
        pw, ph = pose_size(w, h, self.long_side)
        info = VideoInfo(path=str(p), width=w, height=h, rotation=rot, fps=fps, duration_s=duration,
                         frames_declared=int(s.frames or 0), codec=cc.name, size_bytes=size,
                         pose_width=pw, pose_height=ph)
        return info

    def _decode_iter(self):
        for packet in self._container.demux(self._stream):
            for fr in packet.decode():
                yield fr

    # -- iteration --------------------------------------------------------
    def __iter__(self) -> Iterator[Frame]:
        info = self.info
        rot = info.rotation
        # decode size before rotation
        dw, dh = (info.pose_height, info.pose_width) if rot in (90, 270) else (info.pose_width, info.pose_height)
        k = (-rot // 90) % 4  # np.rot90 turns counter-clockwise
        t0 = None
        prev_t = None
        idx = 0
        frames = [self._first] if self._first is not None else []
        self._first = None
        src = _chain(frames, self._decoder)
        while True:
            try:
                fr = next(src)
            except StopIteration:
                break
            except (av.error.FFmpegError, EOFError) as e:
                info.truncated = True
                info.decode_error = _short(e)
                log.warning("decode stopped early at frame %d: %s", idx, info.decode_error)
                break
            if fr.time is not None:
                t_abs = float(fr.time)
            else:
                t_abs = idx / (info.fps or 30.0)
            if t0 is None:
                t0 = t_abs
            t = t_abs - t0
            if prev_t is not None:
                if t <= prev_t:  # duplicate / out-of-order timestamps: keep order, nudge forward
                    t = prev_t + 1e-3
                info.intervals.append(t - prev_t)
            if t > self.limits.max_duration_s:
                raise InputError(f"{self.name} runs past the {self.limits.max_duration_s / 60:.0f} minute limit "
                                 f"(SPOTTER_MAX_MINUTES raises it).")
            img = fr.to_ndarray(format="rgb24", width=dw, height=dh)
            if k:
                img = np.ascontiguousarray(np.rot90(img, k))
            prev_t = t
            yield Frame(image=img, t=t, index=idx)
            idx += 1
        info.frames_decoded = idx
        if info.intervals:
            iv = np.asarray(info.intervals)
            med = float(np.median(iv))
            info.vfr = bool(med > 0 and np.mean(np.abs(iv - med) > 0.25 * med) > 0.05)
        if idx == 0:
            raise InputError(f"{self.name} has no picture that can be decoded: it is damaged or incomplete.")
        if info.duration_s <= 0 and prev_t is not None:
            info.duration_s = prev_t
        self.close()

    def close(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # pragma: no cover - best effort
                pass
            self._container = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _chain(first: list, rest):
    for x in first:
        yield x
    yield from rest


def _short(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    # PyAV messages repeat the path; keep them short
    return msg.split(": '")[0][:120]

"""H.264 / yuv420p MP4 writing through PyAV, with faststart so browsers play it while loading.
Frames carry real timestamps (variable frame rate is kept). The file appears only when complete."""
from __future__ import annotations

import contextlib
import os
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import OutputError


class Mp4Writer:
    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: float = 30.0, crf: int = 23):
        self.path = Path(path)
        self.width, self.height = width - width % 2, height - height % 2
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".mp4", dir=self.path.parent)
            os.close(fd)
        except OSError as e:
            raise OutputError(f"cannot write to {self.path.parent}: {e.strerror or e}") from None
        self._c = av.open(self._tmp, mode="w", format="mp4", options={"movflags": "+faststart"})
        s = self._c.add_stream("libx264", rate=max(1, int(round(fps))))
        s.width, s.height = self.width, self.height
        s.pix_fmt = "yuv420p"
        s.time_base = Fraction(1, 1000)
        s.codec_context.time_base = Fraction(1, 1000)
        s.options = {"crf": str(crf), "preset": "veryfast"}
        self._s = s
        self._last_pts = -1
        self.frames = 0

    def write(self, rgb: np.ndarray, t: float) -> None:
        if rgb.shape[0] != self.height or rgb.shape[1] != self.width:
            rgb = np.ascontiguousarray(rgb[: self.height, : self.width])
        fr = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        pts = int(round(t * 1000))
        if pts <= self._last_pts:
            pts = self._last_pts + 1
        fr.pts = pts
        fr.time_base = Fraction(1, 1000)
        self._last_pts = pts
        try:
            for pkt in self._s.encode(fr):
                self._c.mux(pkt)
        except OSError as e:
            self.abort()
            raise OutputError(f"cannot write video {self.path.name}: {e.strerror or e}") from None
        self.frames += 1

    def close(self) -> Path:
        try:
            for pkt in self._s.encode(None):
                self._c.mux(pkt)
            self._c.close()
            from ..pose.track import _file_mode

            os.chmod(self._tmp, _file_mode())
            os.replace(self._tmp, self.path)
        except OSError as e:
            self.abort()
            raise OutputError(f"cannot write video {self.path.name}: {e.strerror or e}") from None
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._c.close()
        with contextlib.suppress(OSError):
            os.unlink(self._tmp)

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            self.close()
        else:
            self.abort()

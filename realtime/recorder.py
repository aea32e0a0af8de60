"""Recording a session as it happens, so a dropped connection or a crash loses at most about a second.

* :class:`VideoRecorder`: raw frames → H.264 yuv420p through PyAV in its own thread, behind a bounded queue
  (memory stays bounded: when the encoder falls behind, frames are left out of the recording and counted, the
  live stream is never slowed). It writes a *fragmented* MP4 (``frag_keyframe+empty_moov``, a keyframe and a
  fragment about every second), which stays decodable up to the last complete fragment if the process dies.
  On a clean close it is remuxed (stream copy, no re-encode) into an ordinary MP4 with ``+faststart``.
* :class:`JsonlLog`: one JSON object per line (landmarks per frame, events), flushed to the OS at least every
  second; a torn last line after a crash is skipped by :func:`read_jsonl`.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import numpy as np

log = logging.getLogger(__name__)
_STOP = object()


def _even(x: int) -> int:
    return max(2, x - x % 2)


class VideoRecorder:
    """Non-blocking H.264 recorder. ``push`` never waits; ``close`` finishes the file."""

    def __init__(self, path: str | os.PathLike, fps: float = 30.0, max_queue: int = 32, crf: int = 26,
                 gop_s: float = 1.0, long_side: int | None = None):
        self.path = Path(path)
        self.part = self.path.with_name(self.path.stem + ".part.mp4")
        self.fps = fps
        self.crf = crf
        self.gop = max(1, int(round(fps * gop_s)))
        self.long_side = long_side  # decoded frames (av.VideoFrame) larger than this are scaled down
        self._q: queue.Queue = queue.Queue(maxsize=max_queue)
        self.frames_written = 0
        self.frames_dropped = 0
        self.error: str | None = None
        self._size: tuple[int, int] | None = None
        self._closed = False
        self.closed = False  # close() has finished: ``result`` is the final file (or None)
        self.result: Path | None = None
        self.t_on_disk = float("-inf")  # frames up to this time (s) are in the file (complete fragments)
        self._th = threading.Thread(target=self._run, name="spotter-recorder", daemon=True)
        self._th.start()

    # called from the frame thread ----------------------------------------------------------------------
    def push(self, rgb, t: float) -> bool:
        """``rgb``: an RGB uint8 array, or a decoded ``av.VideoFrame`` (the browser's YUV frame, encoded as it
        is: no RGB round trip, which costs more than the encoding itself)."""
        if self._closed or self.error:
            return False
        try:
            self._q.put_nowait((rgb, t))
            return True
        except queue.Full:
            self.frames_dropped += 1
            return False

    def close(self, timeout: float = 30.0) -> Path | None:
        """Flush, then remux to a faststart MP4. Returns the final file (or the fragmented one if remux failed,
        or None if nothing was recorded)."""
        if self._closed:
            return self.result
        self._closed = True
        try:
            return self._close(timeout)
        finally:
            self.closed = True

    def _close(self, timeout: float) -> Path | None:
        with contextlib.suppress(Exception):
            self._q.put(_STOP, timeout=timeout)
        self._th.join(timeout)
        self.result = None
        if self.frames_written == 0:
            with contextlib.suppress(OSError):
                self.part.unlink()
            return None
        try:
            finalize_recording(self.part, self.path)
            self.result = self.path
        except Exception as e:  # keep the fragmented file: it is readable as it is
            log.warning("could not finalise %s: %s", self.part, e)
            self.result = self.part
        return self.result

    # writer thread -------------------------------------------------------------------------------------
    def _open(self, w: int, h: int):
        self.part.parent.mkdir(parents=True, exist_ok=True)
        c = av.open(str(self.part), mode="w", format="mp4",
                    options={"movflags": "frag_keyframe+empty_moov+default_base_moof",
                             "frag_duration": "1000000", "flush_packets": "1"})
        s = c.add_stream("libx264", rate=max(1, int(round(self.fps))))
        s.width, s.height = w, h
        s.pix_fmt = "yuv420p"
        s.time_base = Fraction(1, 1000)
        s.codec_context.time_base = Fraction(1, 1000)
        s.codec_context.gop_size = self.gop
        s.options = {"crf": str(self.crf), "preset": "ultrafast", "tune": "zerolatency", "threads": "1",
                     "keyint_min": str(self.gop)}
        return c, s

    def _run(self) -> None:
        from .threads import background_priority, name_os_thread

        name_os_thread()
        background_priority()  # the recording may lag (its queue drops frames): pose and the receive loop first
        from av.video.reformatter import VideoReformatter

        c = s = None
        last_pts = -1
        scaler = VideoReformatter()
        try:
            while True:
                item = self._q.get()
                if item is _STOP:
                    break
                rgb, t = item
                if c is None:
                    h, w = rgb.shape[:2] if isinstance(rgb, np.ndarray) else (rgb.height, rgb.width)
                    if not isinstance(rgb, np.ndarray) and self.long_side and max(w, h) > self.long_side:
                        k = self.long_side / max(w, h)
                        w, h = int(round(w * k / 2)) * 2, int(round(h * k / 2)) * 2
                    self._size = (_even(w), _even(h))
                    c, s = self._open(*self._size)
                w, h = self._size
                if not isinstance(rgb, np.ndarray):  # (its pts/time_base are set below: nobody else reads them)
                    fr = rgb
                    if (fr.width, fr.height, fr.format.name) != (w, h, "yuv420p"):
                        # with this thread's own scaler, never the frame's: the pose thread converts the same
                        # frame at the same time (see realtime/session.py _scaler)
                        fr = scaler.reformat(fr, width=w, height=h, format="yuv420p")
                else:
                    if rgb.shape[1] != w or rgb.shape[0] != h:
                        import cv2

                        rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
                    fr = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
                pts = max(int(round(t * 1000)), last_pts + 1)
                fr.pts, fr.time_base, last_pts = pts, Fraction(1, 1000), pts
                for pkt in s.encode(fr):
                    c.mux(pkt)
                    if pkt.is_keyframe and pkt.pts is not None:  # a keyframe starts a fragment: what came before
                        self.t_on_disk = max(self.t_on_disk, float(pkt.pts * pkt.time_base) - 1e-3)  # is on disk
                self.frames_written += 1
            if c is not None:
                for pkt in s.encode(None):
                    c.mux(pkt)
        except Exception as e:  # disk full, codec failure: the live stream goes on without a recording
            self.error = f"{type(e).__name__}: {e}"
            log.error("recording stopped: %s", self.error)
            while True:  # drain so producers never block
                try:
                    if self._q.get_nowait() is _STOP:
                        break
                except queue.Empty:
                    break
        finally:
            if c is not None:
                with contextlib.suppress(Exception):
                    c.close()


def finalize_recording(part: Path, dest: Path) -> Path:
    """Remux a (possibly torn) fragmented MP4 into a faststart MP4 without re-encoding; removes ``part``."""
    tmp = dest.with_name(".tmp-" + dest.name)
    with av.open(str(part)) as src:
        ins = src.streams.video[0]
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as dst:
            out = dst.add_stream_from_template(ins)
            for pkt in src.demux(ins):
                if pkt.dts is None:
                    continue
                pkt.stream = out
                dst.mux(pkt)
    os.replace(tmp, dest)
    with contextlib.suppress(OSError):
        part.unlink()
    return dest


class JsonlLog:
    """Append-only JSON lines, flushed at least every ``flush_s`` seconds (and fsync'd on close)."""

    def __init__(self, path: str | os.PathLike, flush_s: float = 1.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self._flush_s = flush_s
        self._last = time.monotonic()

    def write(self, obj: dict) -> None:
        line = json.dumps(obj, separators=(",", ":"), allow_nan=False, default=_json_default)
        with self._lock:
            if self._f is None:
                return
            self._f.write(line + "\n")
            now = time.monotonic()
            if now - self._last >= self._flush_s:
                self._f.flush()
                self._last = now

    def flush(self) -> None:
        with self._lock:
            if self._f is not None:
                self._f.flush()

    def close(self) -> None:
        with self._lock:
            if self._f is None:
                return
            self._f.flush()
            with contextlib.suppress(OSError):
                os.fsync(self._f.fileno())
            self._f.close()
            self._f = None


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def read_jsonl(path: str | os.PathLike) -> Iterator[dict]:
    """Every complete line; a torn or garbled line (crash mid-write) is skipped."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue

"""A file replayed on the page with the live overlay (Upload → "Replay in real time", History → replay a recording).

The server decodes the file itself (``VideoReader``: the frames and timestamps "Analyse" uses) and hands every
frame, in order, to the page's :class:`~realtime.session.LiveSession` (``LiveSession.feed``: none is dropped, the
replay waits for the pipeline instead). The page plays the same file in its ``<video>`` and reports where its
playback is (``{"type": "command", "name": "clock", "t", "playing", "rate", "at"}`` every 150 ms); the replay
keeps at most :data:`LEAD_S` ahead of it, and the page slows its playback down (or pauses) when the analysis is
behind, so the overlay painted over each frame is that frame's result, on a fast machine and a slow one alike.

Why not the webcam's way (the page plays the file and sends what it shows over WebRTC, as before issue 23): the
server then analysed whatever frames it could keep up with, so a replay counted what the machine's load allowed
(pu01 1280x720 on a loaded 2-core machine: 3, 4 or 5 push-ups from one run to the next, where Analyse counts 4),
and every frame was encoded by the browser and decoded by the server for nothing. A replay is not a camera: it
can wait. Events for the page (``{"type": "replay", "state": "end" | "error", ...}``) go on the reliable channel.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Callable, Optional

log = logging.getLogger(__name__)

LEAD_S = 0.25  # the analysis runs at most this far ahead of the page's playback (the voice says a rep on time)


class FileReplay:
    """Feeds one file to a link's session, paced by the page's playback clock. One per page connection."""

    def __init__(self, link, path: Path, name: Optional[str], send_event: Callable[[str], None]):
        self.link = link
        self.path = Path(path)
        self.name = name or self.path.name
        self.send_event = send_event
        self._cv = threading.Condition()
        self._clock: Optional[tuple[float, bool, float, float, float]] = None  # t, playing, rate, got, page at
        self._stop = False
        self.frames = 0
        self.last_t: Optional[float] = None
        self.duration_s: Optional[float] = None
        self.error: Optional[str] = None
        self.done = threading.Event()
        self._th: Optional[threading.Thread] = None

    # -- the page's clock (loop thread) ----------------------------------------------------------------------
    def clock(self, t, playing, rate, at) -> None:
        """Where the page's playback is: ``t`` seconds into the file, playing or not, at ``rate``; ``at`` is the
        page's own time of the reading (the channel may deliver an older one after a newer one: ignored)."""
        try:
            t, rate, at = float(t), float(rate), float(at)
        except (TypeError, ValueError):
            return
        if not (t == t and rate == rate and at == at) or t < 0 or not 0 <= rate <= 16:  # NaN, nonsense
            return
        with self._cv:
            if self._clock is not None and at <= self._clock[4]:
                return
            self._clock = (t, bool(playing), rate, time.monotonic(), at)
            self._cv.notify_all()

    def _page_time(self) -> Optional[float]:
        c = self._clock
        if c is None:
            return None
        t, playing, rate, got, _ = c
        return t + ((time.monotonic() - got) * rate if playing else 0.0)

    def _wait_for_page(self, t: float) -> bool:
        with self._cv:
            while not self._stop:
                pt = self._page_time()
                if pt is not None and t <= pt + LEAD_S:
                    return True
                self._cv.wait(0.02)
        return False

    # -- the feeder thread -----------------------------------------------------------------------------------
    def start(self) -> None:
        self._th = threading.Thread(target=self._run, name="spotter-file", daemon=True)
        self._th.start()

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()

    def _event(self, **kw) -> None:
        try:
            self.send_event(json.dumps({"type": "replay", **kw}))
        except Exception:  # the page went away: nothing to tell
            log.debug("replay event not sent", exc_info=True)

    def _run(self) -> None:
        from pipeline.errors import SpotterError
        from pipeline.intake.video import VideoReader

        from .threads import name_os_thread

        name_os_thread()
        try:
            session = self.link.current()
            if session is None:
                raise RuntimeError("no live session")
            reader = VideoReader(self.path, name=self.name)
            self.duration_s = reader.info.duration_s
            if session.store is not None and session.session_id:  # History shows the file with the session
                from .history import keep_replay_source

                try:
                    keep_replay_source(session.store, session.session_id, self.path)
                except (OSError, SpotterError) as e:
                    log.warning("the replayed file is not kept with its session: %s", e)
            try:
                for fr in reader:
                    if not self._wait_for_page(fr.t) or not session.feed(fr.image, fr.t):
                        break
                    self.frames += 1
                    self.last_t = fr.t
            finally:
                reader.close()
            # every frame is handed in: let the pipeline finish them before the page closes the set
            deadline = time.monotonic() + 30.0
            while (session.frames_processed + session.errors < self.frames and not session._closed
                   and time.monotonic() < deadline and not self._stop):
                time.sleep(0.02)
            self._event(state="end", frames=self.frames, t=self.last_t)
        except SpotterError as e:
            self.error = str(e)
            self._event(state="error", error=self.error, frames=self.frames)
        except Exception as e:  # never a traceback on the page: one sentence, details in the log
            log.exception("file replay")
            self.error = "the replay stopped: this video could not be read to the end"
            self._event(state="error", error=self.error, frames=self.frames)
            del e
        finally:
            self.done.set()

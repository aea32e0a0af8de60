"""One live session per connection: frames in, overlay out, sets and reports as they finish.

    s = LiveSession(SessionConfig(exercise=None), store=Store())     # one per WebRTC connection
    out_rgb = s.on_frame(rgb, t)     # WebRTC thread: never blocks; latest frame wins; last overlay reused
    s.status()                       # the page polls this (thread-safe copy)
    s.end_set(); s.set_exercise("squat")
    s.close("stream_ended")          # closes the set in progress, finishes the recording and the reports

Threads (all owned by the session, none shared between sessions):

* the caller's frame thread runs :meth:`on_frame`: it hands the frame to the recorder queue and to a one-slot
  mailbox, draws the latest overlay on the frame and returns — it never waits for pose;
* the pose stage ("spotter-pose") takes the newest frame from the mailbox (older ones are dropped and counted)
  and runs :meth:`~pipeline.live.LivePipeline.pose` on it (MediaPipe runs without the GIL);
* the live stage ("spotter-live") runs :meth:`~pipeline.live.LivePipeline.process_pose` on each posed frame in
  order, logs landmarks and events, and publishes a new :class:`Overlay` — while the pose stage poses the next
  frame; commands reach it in order with the frames;
* the recorder thread encodes the raw video; the reporter threads build set reports;
* with a store, a short-lived "spotter-progress" thread reads the exercise's history once when the exercise is
  chosen or recognised (and again after the user corrects a set): the one-line last session shown before the
  first rep (``status().last_session``) and the personal bests a finished set is checked against ("new best", in
  words on the set's entry and by voice), realtime/progress.py. Nothing of it runs per frame.

With ``threaded=False`` :meth:`process` runs the pipeline in the caller's thread on every frame (replay as fast
as possible, tests): same code path, no frame dropped.
"""
from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from pipeline.live import LivePipeline, LiveState
from pipeline.movement.routing import SUPPORTED
from pipeline.movement.run import SetResult
from pipeline.movement.taught import is_taught

from . import progress as prog
from .overlay import CueGate, Overlay
from .recorder import JsonlLog, VideoRecorder
from .reports import SetEntry, SetReporter
from .speech import Speech, SpeechConfig

log = logging.getLogger(__name__)


@dataclass
class SessionConfig:
    exercise: Optional[str] = None  # None = automatic (router)
    rest_s: float = 8.0  # a set ends after this long without a rep
    profile: Optional[dict] = None  # training context (goal, experience, equipment) for the report
    record: bool = True  # record video + landmarks + events (needs a store)
    pose_long_side: int = 640
    cue_show_s: float = 2.0
    cue_gap_s: float = 4.0
    llm: object = False  # False: deterministic summary; None: $SPOTTER_LLM_MODEL in a background worker
    source: str = "webcam"  # webcam | upload | replay | teach (a demonstration: recorded, nothing counted)
    title: Optional[str] = None
    record_fps: float = 30.0
    record_video: bool = True  # False when the source is already a file (upload, replay of a recording)
    idle_close_s: Optional[float] = 10.0  # no frame for this long after the first: the peer is gone (tab
    #                                       closed without a goodbye) → close as "connection_lost"; None: never
    keep_reports: int = 20  # finished sets whose report JSON stays in memory; older ones are read from the store
    speech: Optional[SpeechConfig] = None  # the voice (realtime/speech.py); None: the defaults (on, every rep)


# Everything a session keeps in memory is bounded by these (tests/test_load_endurance.py checks them):
MAX_TIMING_SAMPLES = 4000  # latency / pose-time samples for status() and timing()
POSED_DEPTH = 3  # posed frames waiting for the live stage (see LiveSession._run)
MAX_LOGGED_ERRORS = 5  # full tracebacks logged per session; later errors are counted, logged every 100th


@dataclass
class LiveStatus:
    """What the page shows outside the video. A copy: safe to read from any thread."""

    state: str  # waiting | no_person | setup | ready | in_set | resting | ended
    exercise: str
    confidence: float
    source: str
    count: int
    set_index: int
    phase: str
    cue: Optional[str]
    hints: list[str]
    sets: list[SetEntry]
    frames_in: int
    frames_processed: int
    frames_dropped: int
    processed_fps: float
    latency_ms_p50: Optional[float]
    latency_ms_p95: Optional[float]
    rest_left_s: Optional[float]
    error: Optional[str]
    session_id: Optional[str]
    closed: bool
    # the distance display (docs/voice.md): the rep in progress 0..1 toward the exercise's range target, and what
    # that target is (depth: fills going down; lockout: fills pressing up); the set state in one word
    # (before | in_set | resting | set_done), the rest between sets left after a set, the last set's reps; the
    # highest speech sequence number ready for the page (the page channel pushes them: session.speech.sink)
    progress: Optional[float] = None
    progress_kind: Optional[str] = None
    set_state: str = "before"
    break_left_s: Optional[float] = None
    last_set_reps: Optional[int] = None
    speech_seq: int = 0
    # the last stored session of the exercise in one line (realtime/progress.py), until a set of it is done here
    last_session: Optional[str] = None


def _resize_long(rgb: np.ndarray, long_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    if max(h, w) <= long_side:
        return rgb
    import cv2

    s = long_side / float(max(h, w))
    nw, nh = max(2, int(round(w * s / 2)) * 2), max(2, int(round(h * s / 2)) * 2)
    return cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)


_SCALERS = threading.local()


def _scaler():
    """This thread's own swscale context. ``av.VideoFrame.to_ndarray``/``reformat`` use one context cached on the
    frame object, and the same decoded frame also goes to the recorder thread: two threads converting one frame
    at once (pose wants RGB, the recorder a smaller YUV picture, which happens whenever the picture is wider than
    the pose size, e.g. a 1280x720 upload replayed in real time) raced on that context, and the pose thread hung
    in it for good (no result after the first second, issue 23). A context per thread also avoids building a new
    one for every frame."""
    rf = getattr(_SCALERS, "rf", None)
    if rf is None:
        from av.video.reformatter import VideoReformatter

        rf = _SCALERS.rf = VideoReformatter()
    return rf


def _rgb(frame, long_side: int) -> np.ndarray:
    """A decoded frame (``av.VideoFrame``, e.g. the browser's YUV picture) as RGB, scaled to ``long_side`` in
    the same conversion (only frames the pose worker takes are converted), with this thread's own scaler."""
    w, h = frame.width, frame.height
    if max(w, h) <= long_side:
        return _scaler().reformat(frame, format="rgb24").to_ndarray()
    s = long_side / float(max(w, h))
    nw, nh = max(2, int(round(w * s / 2)) * 2), max(2, int(round(h * s / 2)) * 2)
    return _scaler().reformat(frame, width=nw, height=nh, format="rgb24", interpolation="AREA").to_ndarray()


def _arr(a: np.ndarray, nd: int = 5):
    if a is None or not np.isfinite(a).all():
        return None
    return np.round(a.astype(np.float64), nd).tolist()


def _num(x):
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


class LiveSession:
    def __init__(self, config: SessionConfig | None = None, *, store=None, estimator=None, router="auto",
                 threaded: bool = True, session_id: str | None = None):
        self.cfg = cfg = config or SessionConfig()
        self.store = store
        self.threaded = threaded
        from pipeline.pose.estimator import StillPictureGuard

        if estimator is None:  # MediaPipe; a picture that stopped changing keeps its pose (frozen: no motion)
            estimator = StillPictureGuard()
        self._still = estimator if isinstance(estimator, StillPictureGuard) else None
        self.lp = LivePipeline(exercise=cfg.exercise, estimator=estimator,
                               router=None if cfg.exercise or cfg.source == "teach" else router, rest_s=cfg.rest_s)
        self.cues = CueGate(show_s=cfg.cue_show_s, gap_s=cfg.cue_gap_s)
        self._lock = threading.Lock()  # guards the published overlay/status and the mailbox
        self._wake = threading.Condition(self._lock)
        self._mailbox: Optional[tuple] = None  # (rgb, t, arrival, tag)
        # stage 2's inbox: ("frame", posed) from the pose stage, ("cmd", command) from any thread, None = stop
        self._posed: queue.Queue = queue.Queue()
        self._slots = threading.BoundedSemaphore(POSED_DEPTH)  # posed frames stage 2 has not finished yet
        self._overlay = Overlay()
        self._state: Optional[LiveState] = None
        self._entries: list[SetEntry] = []
        self._hints: list[str] = []
        self._cue_text: Optional[str] = None
        self.frames_in = self.frames_processed = self.frames_dropped = 0
        self.latencies_ms: deque = deque(maxlen=MAX_TIMING_SAMPLES)  # bounded
        self.pose_ms: deque = deque(maxlen=MAX_TIMING_SAMPLES)
        self._proc_times: deque = deque(maxlen=120)
        self.errors = 0
        self.last_error: Optional[str] = None
        self._t_last: Optional[float] = None
        self._t0_wall: Optional[float] = None
        self._t_last_done: Optional[float] = None
        self._last_arrival: Optional[float] = None  # perf_counter of the last frame handed in (idle watchdog)
        self._closed = False
        self._close_lock = threading.Lock()
        self.finished = threading.Event()  # set when close() has stored everything (sets, recording, session row)
        self.close_reason: Optional[str] = None
        self.frame_done = None  # optional callable(t, perf_counter) when a frame's overlay is ready (timing)
        # optional callable(overlay) from the pose worker each time a frame's overlay is published: the page
        # channel (realtime/peer.py) sends it to the browser; it must not block
        self.result_sink = None
        # progress (realtime/progress.py): the exercise's history, read once per exercise in the background
        self._prog_lock = threading.Lock()
        self._prog_ex: Optional[str] = None  # the exercise whose history is loaded or being loaded
        self._prog: Optional[dict] = None  # {"exercise", "line", "bests", "unit"}
        self._session_bests: dict[str, dict[int, dict]] = {}  # exercise -> set index -> this session's figures

        # storage: session row, folder, recording, logs
        self.session_id = None
        self.video = self.landmarks_log = self.events_log = None
        out_root = None
        if store is not None:
            self.session_id = store.create_session(cfg.source, title=cfg.title, profile=cfg.profile,
                                                   session_id=session_id)
            d = store.session_dir(self.session_id)
            out_root = d / "sets"
            self.lp.frames.set_spill_dir(d / "frames")  # long sets spill landmarks here, not to /tmp
            if cfg.record:
                self.landmarks_log = JsonlLog(d / "landmarks.jsonl")
                self.events_log = JsonlLog(d / "events.jsonl", flush_s=0.0)  # rare: each event reaches the OS
                if cfg.record_video:
                    self.video = VideoRecorder(d / "recording.mp4", fps=cfg.record_fps, long_side=cfg.pose_long_side)
                store.set_files(self.session_id, video=self.video.part if self.video else None,
                                landmarks=d / "landmarks.jsonl", events=d / "events.jsonl")
                # pid: at start-up the app recovers sessions left 'live' whose process is gone (history.py)
                self._event("start", 0.0, exercise=cfg.exercise, rest_s=cfg.rest_s, profile=cfg.profile,
                            pid=os.getpid())
        self.reporter = SetReporter(self.session_id, store=store, out_root=out_root, profile=cfg.profile,
                                    llm=cfg.llm if out_root is not None else False,
                                    video=self._video_source if out_root is not None else None,
                                    video_covers=self._video_covers)
        self.speech = Speech(cfg.speech, threaded=threaded, log_event=self._event)  # the voice: own worker thread
        if cfg.exercise:
            self._want_progress(cfg.exercise)
        self._worker = self._stage2 = None
        if threaded:
            self._stage2 = threading.Thread(target=self._run_stage2, name="spotter-live", daemon=True)
            self._stage2.start()
            self._worker = threading.Thread(target=self._run, name="spotter-pose", daemon=True)
            self._worker.start()

    # ------------------------------------------------------------------ frame thread (must never block long)
    def on_frame(self, rgb: np.ndarray, t: float, tag=None, draw: bool = True) -> Optional[np.ndarray]:
        """Take a frame (RGB uint8, upright) and its timestamp; return the frame with the latest overlay.

        Threaded: O(1) hand-off + ~1 ms drawing. Any error is logged and the raw frame returned, so the stream
        never stops because of the analysis. ``tag``: an opaque id of the frame (the browser path passes its
        RTP timestamp) carried to the :class:`Overlay` computed from it. ``draw=False``: the page draws the
        overlay itself (realtime/peer.py): nothing is drawn or copied and None is returned. ``rgb`` may also be
        a decoded ``av.VideoFrame``: the recorder encodes it as it is and only the frames the pose worker takes
        are converted to RGB."""
        arrival = time.perf_counter()
        try:
            if not isinstance(rgb, np.ndarray) and (draw or not self.threaded):
                rgb = _rgb(rgb, self.cfg.pose_long_side)
            small = _resize_long(rgb, self.cfg.pose_long_side) if isinstance(rgb, np.ndarray) else rgb
            if self.video is not None:
                self.video.push(small, t)
            if self.threaded:
                with self._lock:
                    if self._closed:
                        return rgb
                    self.frames_in += 1
                    self._last_arrival = arrival
                    if self._mailbox is not None:
                        self.frames_dropped += 1  # stale: the newer frame wins
                    self._mailbox = (small, t, arrival, tag)
                    self._wake.notify_all()  # the pose stage (and a waiting file replay, see feed)
                    ov = self._overlay
            else:
                with self._lock:
                    self.frames_in += 1
                ov = self._step(small, t, arrival, tag)
            if not draw:
                return None
            out = rgb.copy()
            return ov.draw(out)
        except Exception as e:
            self._fail(e)
            return rgb if draw else None

    def feed(self, rgb, t: float, timeout: float = 60.0) -> bool:
        """A file replayed with the live overlay (realtime/filereplay.py): wait until the pose stage has taken the
        previous frame, then hand this one in, so that no frame is dropped (the replay waits instead, as Analyse
        does; the stages still overlap). Threaded sessions only. False if the session closed meanwhile or the
        previous frame was not taken within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._mailbox is not None and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(min(left, 0.5))
            if self._closed:
                return False
        self.on_frame(rgb, t, draw=False)
        return True

    def process(self, rgb: np.ndarray, t: float) -> Overlay:
        """Synchronous: run the pipeline on this very frame (no dropping) and return its overlay."""
        if self.threaded:
            raise RuntimeError("process() is for threaded=False sessions; use on_frame()")
        arrival = time.perf_counter()
        small = _resize_long(rgb, self.cfg.pose_long_side)
        if self.video is not None:
            self.video.push(small, t)
        with self._lock:
            self.frames_in += 1
        return self._step(small, t, arrival)

    def warm_up(self, size: tuple[int, int] = (480, 640)) -> None:
        """Load the pose model and run it once on an empty picture before frames flow: MediaPipe builds its
        graph on the first call (seconds on a busy machine), which would otherwise swallow the first frames of a
        replay. Only for the real estimator (test estimators replay frames in order)."""
        try:
            from pipeline.pose.estimator import MediaPipePose, StillPictureGuard

            if self.lp.estimator is None:
                self.lp.estimator = MediaPipePose()
            est = self.lp.estimator
            if isinstance(est, StillPictureGuard):
                if est.inner is None:
                    est.inner = MediaPipePose()
                est = est.inner
            if isinstance(est, MediaPipePose):
                est.process(np.zeros((size[0], size[1], 3), np.uint8), 0.0)
                est.reset()
        except Exception as e:
            self._fail(e)

    # ------------------------------------------------------------------ commands (any thread)
    def end_set(self) -> None:
        """The user pressed "End set"."""
        self._command(("end_set",))

    def set_exercise(self, label: Optional[str]) -> None:
        """The user chose an exercise: a built-in or a taught one (or None for automatic)."""
        self._command(("override", label if label in SUPPORTED or is_taught(label) else None))

    def _command(self, cmd: tuple) -> None:
        if self.threaded:
            self._posed.put(("cmd", cmd))  # in order with the frames already posed
        else:
            self._apply(cmd)

    def _apply(self, cmd: tuple) -> None:
        t = self._t_last or 0.0
        if cmd[0] == "end_set":
            self._event("end_set", t)
            res = self.lp.end_set("user")
            if res is not None:
                self._set_done(res)
        elif cmd[0] == "override":
            self._event("override", t, label=cmd[1])
            before = len(self.lp.sets)
            self.lp.override(cmd[1])
            for res in self.lp.sets[before:]:  # an exercise change closes the set in progress
                self._set_done(res)

    # ------------------------------------------------------------------ the two worker stages
    # Stage 1 ("spotter-pose") takes the newest frame from the mailbox and runs the image stage (MediaPipe, which
    # releases the GIL while its graph runs, and the image statistics); stage 2 ("spotter-live") runs everything
    # after pose on each posed frame in order: cleaning, router, rep machine, cues, voice, logs, the result. While
    # stage 2 handles frame n, stage 1 is already posing frame n+1, so a frame no longer waits for the previous
    # frame's bookkeeping as well as its pose. At most POSED_DEPTH posed frames wait for stage 2 (then stage 1 waits
    # and the mailbox drops stale camera frames, as before); commands go to stage 2 in order with the frames.
    def _run(self) -> None:
        from .threads import name_os_thread

        name_os_thread()
        idle = self.cfg.idle_close_s
        try:
            while True:
                with self._lock:
                    while self._mailbox is None and not self._closed:
                        self._wake.wait(0.5)
                        if (idle is not None and self._last_arrival is not None and self._mailbox is None
                                and time.perf_counter() - self._last_arrival > idle):
                            self._last_arrival = None  # once
                            # the peer vanished without ending the track (tab closed, network gone): close from
                            # another thread (close() joins this one), the set in progress is stored
                            log.warning("no frame for %.0f s: closing the session as connection_lost", idle)
                            threading.Thread(target=self.close, args=("connection_lost",),
                                             name="spotter-idle-close", daemon=True).start()
                    item, self._mailbox = self._mailbox, None
                    closing = self._closed
                    if item is not None:
                        self._wake.notify_all()  # a file replay waits for the mailbox to empty (feed)
                if item is not None:
                    posed = self._pose(*item)
                    if posed is not None:
                        self._slots.acquire()  # released by stage 2 once it has handled the frame
                        self._posed.put(("frame", posed))
                if closing and item is None:
                    return
        finally:
            self._posed.put(None)  # stage 2 ends after what is queued

    def _run_stage2(self) -> None:
        from .threads import name_os_thread

        name_os_thread()
        while True:
            msg = self._posed.get()
            if msg is None:
                return
            kind, payload = msg
            if kind == "cmd":
                try:
                    self._apply(payload)
                except Exception as e:
                    self._fail(e)
            else:
                try:
                    self._advance(*payload)
                finally:
                    self._slots.release()

    def _step(self, rgb: np.ndarray, t: float, arrival: float, tag=None) -> Overlay:
        """Both stages on one frame, in the caller's thread (``threaded=False``)."""
        posed = self._pose(rgb, t, arrival, tag)
        return self._overlay if posed is None else self._advance(*posed)

    def _pose(self, rgb, t: float, arrival: float, tag=None) -> Optional[tuple]:
        """Stage 1: the frame as RGB, its landmarks and image statistics (None if that failed: counted)."""
        try:
            wait_ms = (time.perf_counter() - arrival) * 1000.0  # in the mailbox, waiting for this stage
            if not isinstance(rgb, np.ndarray):
                rgb = _rgb(rgb, self.cfg.pose_long_side)
            if self._t0_wall is None:
                self._t0_wall = time.perf_counter()
            t0 = time.perf_counter()
            pf, stats = self.lp.pose(rgb, t)
            return pf, stats, t, arrival, tag, (time.perf_counter() - t0) * 1000.0, wait_ms
        except Exception as e:
            self._fail(e)
            return None

    def _advance(self, pf, stats, t: float, arrival: float, tag, pose_ms: float, wait_ms: float) -> Overlay:
        """Stage 2: everything after pose for one posed frame; publishes its overlay and result."""
        try:
            n_sets = len(self.lp.sets)
            st = self.lp.process_pose(pf, stats)
            self._t_last = t
            if st.exercise != self._prog_ex:  # a string compare per frame; the history is read once, elsewhere
                self._want_progress(st.exercise)
            if st.new_rep:
                self._event("rep", t, exercise=st.exercise, count=st.count)
            joints = ()
            if st.cue_code and self.lp.movement is not None and self.lp.movement.results:
                for iss in self.lp.movement.results[-1].issues:
                    if iss.code == st.cue_code:
                        joints = tuple(iss.joints)
            cue_shown = self.cues.offer(t, st.cue_code, st.cue, joints)
            if cue_shown:
                self._event("cue", t, code=st.cue_code, text=st.cue)
            cue, hl = self.cues.active(t)
            for res in self.lp.sets[n_sets:]:  # rest timeout or an exercise change closed a set
                self._set_done(res, arrival)
            cf = self.lp.clean_frames[-1] if self.lp.clean_frames else None
            hints = [h.message for h in st.hints]
            no_reps_yet = st.count == 0 and not self._entries
            self._speak(st, arrival, cue_shown, no_reps_yet)
            ov = Overlay(t=t, landmarks=cf.image if cf is not None and cf.valid else None,
                         mask=cf.mask if cf is not None and cf.valid else None, exercise=st.exercise,
                         confidence=st.confidence, source=st.source, count=st.count, set_index=st.set_index,
                         phase=st.phase, cue=cue, highlight=hl,
                         hint=hints[0] if hints and no_reps_yet else None, tag=tag,
                         latency_ms=(time.perf_counter() - arrival) * 1000.0, wait_ms=wait_ms, pose_ms=pose_ms,
                         suggestion=getattr(st, "suggestion", None))
            done = time.perf_counter()
            with self._lock:
                self._overlay, self._state, self._hints, self._cue_text = ov, st, hints, cue
                self.frames_processed += 1
                self.latencies_ms.append((done - arrival) * 1000.0)
                self.pose_ms.append(pose_ms)
                self._proc_times.append(done)
                self._t_last_done = done
            if self.frame_done is not None:
                self.frame_done(t, done)
            if self.result_sink is not None:
                try:
                    self.result_sink(ov)
                except Exception:  # the page channel failing never stops the analysis
                    log.exception("result sink")
            # what this frame's result does not wait for: its landmark log line and the router's window scoring
            # (LiveRouter.flush; ~7 ms every ~8th frame, which the next frame would otherwise do first)
            self._log_frame()
            self.lp.flush()
            return ov
        except Exception as e:
            self._fail(e)
            return self._overlay

    def _speak(self, st: LiveState, arrival: float, cue_shown: bool, no_reps_yet: bool) -> None:
        """Hand this frame to the voice (decisions only: synthesis runs in the speech worker)."""
        try:
            mv = self.lp.movement
            rep = mv.results[-1] if st.new_rep and mv is not None and mv.results else None
            self.speech.frame(st.t, arrival, count=st.count, set_index=st.set_index, phase=st.phase,
                              cue=(st.cue_code, st.cue) if cue_shown else None, rep=rep, hints=st.hints,
                              first_rep_pending=no_reps_yet)
        except Exception as e:  # the voice never stops the analysis
            self._fail(e)

    def _set_done(self, res: SetResult, arrival: Optional[float] = None) -> None:
        entry = SetEntry(index=res.index, exercise=res.exercise, reps=res.reps, start_s=res.t_start,
                         end_s=res.t_end, reason=res.reason, ended_at=time.monotonic())
        best_said = None
        try:
            entry.news, best_said = self._check_bests(res)
        except Exception as e:  # progress never stops the session
            self._fail(e)
        self._event("set_end", self._t_last or res.t_end, index=res.index, exercise=res.exercise, reps=res.reps,
                    start_s=res.t_start, end_s=res.t_end, reason=res.reason)
        with self._lock:
            self._entries.append(entry)
            # bounded memory over a long session: older sets' report JSON is in the store (the page reads it
            # back by set_id); the timeline entry itself (a few numbers) stays
            for old in self._entries[:-max(1, self.cfg.keep_reports)]:
                if old.report is not None and old.set_id is not None and old.summary_status != "pending":
                    old.report = None
                    old.report_in_store = True
        self.reporter.submit(res, entry)
        try:
            self.speech.set_done(self._t_last or res.t_end, arrival or time.perf_counter(), res.reps, res.reason,
                                 best=best_said)
        except Exception as e:
            self._fail(e)

    # ------------------------------------------------------------------ progress (realtime/progress.py)
    def _want_progress(self, exercise: Optional[str]) -> None:
        """Read ``exercise``'s history once, in a short background thread (never in the frame path)."""
        if self.store is None or exercise not in SUPPORTED:
            return
        with self._prog_lock:
            if self._prog_ex == exercise:
                return
            self._prog_ex = exercise
        threading.Thread(target=self._load_progress, args=(exercise,), name="spotter-progress", daemon=True).start()

    def _load_progress(self, exercise: str) -> None:
        try:
            sets = prog.load_sets(self.store, exercise)
            before = [x for x in sets if x["session_id"] != self.session_id]
            units = [x["load_unit"] for x in sets if x["load_unit"] in ("kg", "lb")]
            unit = units[-1] if units else "kg"
            data = {"exercise": exercise, "line": prog.last_session_line(before, exercise, unit),
                    "bests": prog.best_values(before), "unit": unit}
            mine = {x["index"]: x for x in sets if x["session_id"] == self.session_id}
            stored = self._stored_indices(exercise) if mine or self._session_bests.get(exercise) else set()
            with self._prog_lock:  # no store call while holding it: the live stage takes it at set end
                if self._prog_ex == exercise:
                    self._prog = data
                # this session's stored sets as the user left them (corrected count; deleted ones gone)
                known = self._session_bests.get(exercise, {})
                for idx in list(known):
                    if idx in mine:
                        known[idx] = {**known[idx], "reps": mine[idx]["reps"]}
                    elif idx in stored:
                        known.pop(idx)
        except Exception as e:  # progress never stops the session
            log.warning("progress: could not read the history of %s: %s", exercise, e)

    def _stored_indices(self, exercise: str) -> set[int]:
        """Indices of this session's sets of ``exercise`` that reached the store (deleted ones included)."""
        if self.store is None or not self.session_id:
            return set()
        return {r["idx"] for r in self.store.sets(self.session_id, include_deleted=True) if r["exercise"] == exercise}

    def refresh_progress(self) -> None:
        """The user changed a stored set (count, load, deletion): read the history again (background)."""
        with self._prog_lock:
            ex, self._prog_ex = self._prog_ex, None
        if ex:
            self._want_progress(ex)

    def _check_bests(self, res: SetResult) -> tuple[list[str], Optional[str]]:
        """A finished set against the personal bests (history read at the start + this session's earlier sets):
        the new bests in words and the sentence to say. Nothing without a history (the first set of an exercise
        ever is no "new best") or before the history is read. Runs once per set (a few dozen reps at most)."""
        if self.store is None or res.exercise not in SUPPORTED:
            return [], None
        figs = prog.set_figures(prog.evidence_report(res.evidence), res.exercise)
        now = {"reps": res.reps, "rom_deg": figs["rom_deg"] if figs["measured"] else None,
               "clean_streak": figs["clean_streak"], "e1rm_kg": None}
        with self._prog_lock:
            p = self._prog if self._prog is not None and self._prog["exercise"] == res.exercise else None
            mine = self._session_bests.setdefault(res.exercise, {})
            prior = dict(p["bests"]) if p is not None else {}
            for x in mine.values():
                for key, field in (("most_reps", "reps"), ("deepest_range", "rom_deg"),
                                   ("clean_streak", "clean_streak")):
                    if x.get(field) is not None and (key not in prior or x[field] > prior[key]):
                        prior[key] = x[field]
            mine[res.index] = now
        if p is None and len(mine) == 1:
            return [], None
        found = prog.new_bests(prior, now)
        unit = p["unit"] if p is not None else "kg"
        return prog.best_words(found, unit), prog.best_speech(found, unit)

    def last_session(self) -> Optional[str]:
        """The last stored session of the current exercise in one line, while no set of it is done here."""
        with self._prog_lock:
            p = self._prog
            if p is None or p["exercise"] != self._prog_ex or self._session_bests.get(p["exercise"]):
                return None
            return p["line"]

    def _log_frame(self) -> None:
        if self.landmarks_log is None or not self.lp.pose_frames:
            return
        pf, s = self.lp.pose_frames[-1], self.lp.stats[-1]
        self.landmarks_log.write({
            "t": round(pf.t, 4), "p": bool(pf.present), "w": pf.width, "h": pf.height,
            "img": _arr(pf.image) if pf.present else None, "wld": _arr(pf.world) if pf.present else None,
            "vis": _arr(pf.visibility, 4) if pf.present else None,
            "st": [_num(s.brightness), _num(s.blur), _num(s.motion)]})

    def _event(self, kind: str, t: float, **kw) -> None:
        if self.events_log is not None:
            try:
                self.events_log.write({"type": kind, "t": round(float(t), 4), "wall": round(time.time(), 3), **kw})
            except Exception:
                log.exception("event log")

    def _fail(self, e: Exception) -> None:
        with self._lock:
            self.errors += 1
            self.last_error = f"{type(e).__name__}: {e}"
            n = self.errors
        # a failure on every frame must not flood the log (30 tracebacks a second): the first few in full,
        # then one line every 100th; the count and the last error are always in status()
        if n <= MAX_LOGGED_ERRORS:
            log.exception("live session error")
        elif n % 100 == 0:
            log.error("live session error (%d so far): %s", n, self.last_error)

    # ------------------------------------------------------------------ the session's video (set videos)
    def _video_source(self):
        """The video the sets' annotated videos are rendered from: the recording (in progress: its fragmented
        file; once closed, the final one), or the file this session replays or analyses (the store's video)."""
        if self.video is not None:
            return self.video.result if self.video.closed else self.video.part
        if self.store is None or not self.session_id:
            return None
        try:
            sess = self.store.get_session(self.session_id)
            return self.store.path_of(sess["video"]) if sess else None
        except Exception:
            return None

    def _video_covers(self, t: float) -> bool:
        """Whether the session's video holds second ``t`` on disk yet (a recording in progress writes a
        fragment about every second; a file holds everything)."""
        v = self.video
        return v is None or v.closed or v.error is not None or v.t_on_disk >= t

    # ------------------------------------------------------------------ the page's view
    def overlay(self) -> Overlay:
        with self._lock:
            return self._overlay

    def status(self) -> LiveStatus:
        with self._lock:
            st, ov = self._state, self._overlay
            entries = [replace(e) for e in self._entries]
            lat = np.array(self.latencies_ms, float) if self.latencies_ms else None
            pt = list(self._proc_times)
            hints = list(self._hints)
            counts = (self.frames_in, self.frames_processed, self.frames_dropped)
            err = self.last_error
            closed = self._closed
        fps = (len(pt) - 1) / (pt[-1] - pt[0]) if len(pt) > 2 and pt[-1] > pt[0] else 0.0
        state, rest_left = self._state_name(st, closed, bool(hints), bool(entries))
        return LiveStatus(
            state=state, exercise=ov.exercise, confidence=ov.confidence, source=ov.source, count=ov.count,
            set_index=ov.set_index, phase=ov.phase, cue=ov.cue, hints=hints, sets=entries,
            frames_in=counts[0], frames_processed=counts[1], frames_dropped=counts[2], processed_fps=fps,
            latency_ms_p50=float(np.percentile(lat, 50)) if lat is not None else None,
            latency_ms_p95=float(np.percentile(lat, 95)) if lat is not None else None,
            rest_left_s=rest_left, error=err, session_id=self.session_id, closed=closed,
            last_session=self.last_session(), **self._display(st, state))

    def _display(self, st: Optional[LiveState], state: str) -> dict:
        """The distance display's live data (see :class:`LiveStatus`), for status() and brief()."""
        mv = self.lp.movement
        t = st.t if st is not None else 0.0
        brk = self.speech.planner.break_left(t)
        if state in ("in_set", "resting"):
            set_state = state
        elif st is not None and state != "ended" and self._first_rep_under_way(st):
            set_state = "in_set"  # the first rep of a set, under way
        elif brk is not None and (st is None or st.count == 0):
            set_state = "set_done"
        else:
            set_state = "before"
        prog = st.progress if st is not None and st.valid and state != "ended" else None
        return {"progress": None if prog is None else round(float(prog), 3),
                "progress_kind": mv.ex.target().kind if mv is not None else None,
                "set_state": set_state, "break_left_s": None if brk is None else round(brk, 1),
                "last_set_reps": self.speech.planner.last_set_reps, "speech_seq": self.speech.seq}

    def _first_rep_under_way(self, st: LiveState) -> bool:
        """The set's first rep has begun: going down or up, and once at least a quarter of the way to the
        exercise's target in this set. Standing still between sets, a little sway turned the phase to "lowering" for
        a frame now and then, and the picture flipped between "SET 2 · IN SET" and "SET 1 DONE / REST" (issue 23)."""
        if st.phase not in ("lowering", "bottom", "rising"):
            return False
        if st.progress is not None and st.progress >= 0.25:
            self._under_way_set = st.set_index
        return getattr(self, "_under_way_set", None) == st.set_index

    # ------------------------------------------------------------------ the voice, for the page

    def set_speech(self, *, muted: Optional[bool] = None, count: Optional[str] = None,
                   volume: Optional[float] = None) -> None:
        """The page's mute toggle, count mode (every | 5 | off) and volume (0..1); from the next utterance on."""
        self.speech.configure(muted=muted, count=count, volume=volume)

    def _state_name(self, st: Optional[LiveState], closed: bool, hints: bool, entries: bool):
        """(state, seconds of rest left before the set ends or None) — see :class:`LiveStatus`."""
        if st is None:
            return ("ended" if closed else "waiting"), None
        if closed:
            return "ended", None
        if not st.valid:
            return "no_person", None
        if st.count > 0:
            mv = self.lp.movement
            reps = mv.counter.reps if mv is not None else None
            last_rep = reps[-1].end_t if reps else None
            idle = st.t - last_rep if last_rep is not None else 0.0
            if st.phase in ("top", "idle") and idle > 2.0:
                return "resting", max(0.0, self.cfg.rest_s - idle)
            return "in_set", None
        return ("setup" if hints and not entries else "ready"), None

    def brief(self) -> dict:
        """What the page needs with every result, cheap enough to build for each processed frame (the pose
        worker calls it): state, rest left, finished sets and reps, a number that changes whenever a finished
        set's report or summary changes or the last-session line appears (``timeline``), frame counters, processed
        fps, the last-session line."""
        with self._lock:
            st = self._state
            hints = bool(self._hints)
            n_sets = len(self._entries)
            done_reps = sum(e.reps for e in self._entries)
            timeline = zlib.crc32(repr([(e.index, e.report is not None or e.report_in_store, e.summary_status,
                                         e.error, e.video) for e in self._entries]).encode())
            pt = self._proc_times
            fps = (len(pt) - 1) / (pt[-1] - pt[0]) if len(pt) > 2 and pt[-1] > pt[0] else 0.0
            counts = (self.frames_in, self.frames_processed, self.frames_dropped)
            closed, err = self._closed, self.last_error
        last = self.last_session()
        if last:  # the panel shows the last-session line: redraw it once the history is read
            timeline = zlib.crc32(last.encode(), timeline)
        state, rest_left = self._state_name(st, closed, hints, n_sets > 0)
        return {"state": state, "rest_left_s": None if rest_left is None else round(rest_left, 1),
                "sets_done": n_sets, "reps_done": done_reps, "timeline": timeline, "frames_in": counts[0],
                "frames_processed": counts[1], "frames_dropped": counts[2], "frames_still": self.frames_still,
                "processed_fps": round(fps, 1), "error": err, "last_session": last, **self._display(st, state)}

    @property
    def frames_still(self) -> int:
        """Frames whose picture had not changed: their pose is the previous one (StillPictureGuard)."""
        return self._still.held if self._still is not None else 0

    @property
    def sets(self) -> list[SetEntry]:
        with self._lock:
            return list(self._entries)

    # ------------------------------------------------------------------ end of the session
    def close(self, reason: str = "stream_ended", wait_reports: bool = True, timeout: float = 60.0) -> None:
        """End of the stream (STOP, tab closed, connection dropped): close the set in progress from what was
        captured, store it, finish the recording. Idempotent; safe from any thread."""
        with self._close_lock:
            if self._closed:
                return
            self.close_reason = reason
            with self._lock:
                self._closed = True
                self._wake.notify_all()
            if self._worker is not None:  # stage 1 poses what is in the mailbox, then stage 2 drains its inbox
                self._worker.join(timeout)
            if self._stage2 is not None:
                self._stage2.join(timeout)
            try:
                res = self.lp.finish(reason)
                if res is not None:
                    self._set_done(res)
            except Exception as e:
                self._fail(e)
            self.speech.close(timeout=min(timeout, 10.0))  # says what is queued (set done), then stops
            self._event("end", self._t_last or 0.0, reason=reason)
            for lg in (self.landmarks_log, self.events_log):
                if lg is not None:
                    lg.close()
            video = self.video.close() if self.video is not None else None
            self.reporter.close(timeout if wait_reports else 0.01)
            if self.store is not None and self.session_id:
                try:
                    if video is not None:
                        self.store.set_files(self.session_id, video=video)
                    self.store.end_session(self.session_id, "ended", note=reason)
                except Exception as e:
                    self._fail(e)
            try:
                self.lp.close()
            except Exception:
                pass
            self.finished.set()

    def timing(self) -> dict:
        """Processed fps, dropped ratio and frame latency (arrival → overlay ready) percentiles."""
        with self._lock:
            lat = np.array(self.latencies_ms, float)
            pose = np.array(self.pose_ms, float)
            n_in, n_proc, n_drop = self.frames_in, self.frames_processed, self.frames_dropped
        # processing span: first frame taken → last overlay ready (excludes set-up and shutdown)
        wall = (self._t_last_done - self._t0_wall) if self._t0_wall and self._t_last_done else 0.0
        pct = lambda a, q: round(float(np.percentile(a, q)), 2) if len(a) else None  # noqa: E731
        return {"frames_in": n_in, "frames_processed": n_proc, "frames_dropped": n_drop,
                "dropped_ratio": round(n_drop / n_in, 4) if n_in else 0.0,
                "latency_ms_p50": pct(lat, 50), "latency_ms_p95": pct(lat, 95), "latency_ms_p99": pct(lat, 99),
                "pose_ms": round(float(pose.mean()), 2) if len(pose) else None, "wall_s": round(wall, 3),
                "processed_fps": round((n_proc - 1) / wall, 2) if wall > 0 and n_proc > 1 else 0.0}

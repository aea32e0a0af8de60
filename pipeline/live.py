"""The live clock: pose → clean → QC → router → movement, one frame at a time, never looking ahead.

:class:`LivePipeline` is transport-free (no threads, no WebRTC): ``realtime/`` wraps it with frame dropping
and thread hand-off, ``spotter eval`` and the tests feed it frames directly. It keeps the per-frame data
(landmarks, signals) so the batch analysis at set end reuses them without running pose again.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .intake.imagestats import FrameStats, ImageStatsMeter, pose_box
from .movement.analyzer import MovementAnalyzer, MovementState
from .movement.exercises import get as get_exercise
from .movement.routing import SUPPORTED, live_router
from .movement.run import SetResult
from .movement.signals import frame_signals
from .movement.taught import TaughtWatch, is_taught, model_of
from .pose.cleaning import PoseCleaner
from .pose.estimator import PoseEstimator, PoseFrame
from .pose.framestore import Column, FrameStore
from .pose.qc import QCMonitor, QCWarning


@dataclass
class LiveState:
    t: float
    valid: bool
    exercise: str  # committed label or "unknown"
    confidence: float
    committed: bool
    source: str  # model | user | none
    count: int
    partial: int
    phase: str
    cue: Optional[str] = None
    cue_code: Optional[str] = None
    progress: Optional[float] = None  # the rep in progress, 0..1 toward the exercise's range target (Exercise.target)
    new_rep: bool = False
    hints: list[QCWarning] = field(default_factory=list)
    set_index: int = 1  # the set in progress (1-based)
    set_ended: Optional[SetResult] = None  # set when this frame closed a set (rest timeout)
    # Automatic mode, router unsure while a supported-looking movement repeats: the candidate exercises, best first,
    # as (label, probability) -- the page says so and offers the choice (``LivePipeline.override``). None otherwise.
    suggestion: Optional[list[tuple[str, float]]] = None


class LivePipeline:
    """Per-connection live analysis state. Not thread-safe: one thread feeds it, or two in stages — one calls
    :meth:`pose`, the other :meth:`process_pose` with its results, in order (``realtime/session.py``)."""

    def __init__(self, exercise: str | None = None, estimator: PoseEstimator | None = None, router="auto",
                 replay_s: float = 20.0, keep_frames: bool = True, rest_s: float = 8.0,
                 spill_dir: str | None = None, max_mem_frames: int = 5400):
        self.estimator = estimator
        self.cleaner = PoseCleaner()
        self.meter = ImageStatsMeter()
        self.qc = QCMonitor(keep_s=30.0)
        self.user_exercise = exercise if _choosable(exercise) else None
        self.router = live_router() if router == "auto" else router
        if self.router is not None and self.user_exercise in SUPPORTED:
            self.router.override(self.user_exercise)
        self.watch = TaughtWatch()  # Automatic mode: proposes a taught exercise the movement matches
        self.replay_s = replay_s
        self._recent: deque = deque()  # (cf, signals, index) for the router's replay into a new exercise
        self._replay_after = -math.inf  # frames up to here belong to a closed set or to a movement the router dropped
        self._suggestion: Optional[list[tuple[str, float]]] = None
        self.movement: MovementAnalyzer | None = None
        self.label = "unknown"
        self.t_commit: float | None = None
        self.keep_frames = keep_frames
        # frames of the set in progress: a bounded tail in memory, older ones spilled to disk
        self.frames = FrameStore(spill_dir, max_mem_frames=max_mem_frames)
        self.pose_frames = Column(self.frames, 0)
        self.clean_frames = Column(self.frames, 1)
        self.stats = Column(self.frames, 2)
        self.rest_s = rest_s
        self.sets: list[SetResult] = []
        self.uncounted: list[tuple[str, float, int]] = []  # (exercise, confidence, reps) of sets not counted (unsure)
        self._conf = (0.0, "none")
        self._n = 0
        self._last_state: LiveState | None = None
        if self.user_exercise:
            self._switch(self.user_exercise, 0.0)

    # ------------------------------------------------------------------
    def process(self, rgb: np.ndarray, t: float) -> LiveState:
        """One camera frame (RGB, upright, pose resolution) at time ``t`` seconds."""
        return self.process_pose(*self.pose(rgb, t))

    def pose(self, rgb: np.ndarray, t: float) -> tuple[PoseFrame, FrameStats]:
        """The image stage alone: landmarks and image statistics of one frame. It touches only the estimator and
        the image meter, so a live session may run it in one thread while :meth:`process_pose` handles the
        previous frame in another (one thread each: the two stages' states are disjoint)."""
        if self.estimator is None:
            from .pose.estimator import MediaPipePose

            self.estimator = MediaPipePose()
        pf = self.estimator.process(rgb, t)
        return pf, self.meter.update(rgb, t, pose_box(pf.image, pf.visibility) if pf.present else None)

    def process_pose(self, pf: PoseFrame, stats: FrameStats | None = None) -> LiveState:
        """The part after pose (used directly when landmarks are already known, e.g. replaying a cache)."""
        cf = self.cleaner.update(pf)
        stats = stats or FrameStats(pf.t, math.nan, math.nan, math.nan)
        self.qc.update(stats, cf)
        idx = self._n
        self._n += 1
        if self.keep_frames:
            self.frames.append(pf, cf, stats)
        s = frame_signals(cf) if cf.valid else {}
        # exercise decision
        conf, committed, source = 0.0, False, "none"
        if self.user_exercise:
            conf, committed, source = 1.0, True, "user"
        elif self.router is not None:
            rs = self.router.update(cf)
            conf, committed, source = float(rs.confidence), bool(rs.committed), "model"
            self._suggestion = getattr(rs, "suggestion", None)
            if getattr(rs, "dropped", False) and self.movement is not None:
                # the router went back to unknown after a stretch of other movement: stop counting it as the
                # exercise (the set so far is kept) until the router commits again
                self.end_set("movement_changed")
                self.movement = None  # ``label`` keeps the last exercise counted, as the batch decision does
                self._replay_after = cf.t
            new_label = rs.label if rs.committed else self.label
            if new_label in SUPPORTED and (new_label != self.label or self.movement is None):
                self._switch(new_label, cf.t)
            if self.movement is None and s:  # nothing built-in claimed the movement: is it a taught one?
                self._suggestion = _with_taught(self._suggestion, self.watch.update(cf, s, idx))
        self._recent.append((cf, s, idx))
        while self._recent and self._recent[0][0].t < cf.t - self.replay_s:
            self._recent.popleft()
        self._conf = (conf, source)
        if self.keep_frames and idx % 300 == 0 and (self.movement is None or not self.movement.counter.reps):
            self.frames.drop_until(cf.t - 30.0)  # no set in progress: only the recent past can become one
        ms: MovementState | None = None
        ended = None
        unsure = False
        if self.movement is not None:
            ms = self.movement.update(cf, s, idx)
            reps = self.movement.counter.reps
            if reps and ms.phase in ("top", "idle") and cf.t - reps[-1].end_t >= self.rest_s:
                ended = self.end_set("rest")
            elif source == "model":
                # the label's confidence over this set so far (the number the set report will carry); below the
                # router's count_min nothing is counted and the page asks the user to choose
                c = self._set_confidence(cf.t)
                if c is not None:
                    conf = c
                    unsure = c < self._count_min
        state = LiveState(
            t=cf.t, valid=cf.valid, exercise=self.label if self.movement is not None else "unknown",
            confidence=conf, committed=committed, source=source,
            count=ms.count if ms else 0, partial=ms.partial if ms else 0, phase=ms.phase if ms else "idle",
            cue=ms.cue if ms else None, cue_code=ms.cue_code if ms else None,
            new_rep=bool(ms and ms.new_rep is not None), set_index=len(self.sets) + 1, set_ended=ended,
            suggestion=self._suggestion if self.movement is None and not self.user_exercise else None)
        if ended is not None:
            state.count, state.partial, state.phase = 0, 0, "idle"
            if ended.source == "model":
                state.confidence = ended.confidence  # the set's own confidence, as its report says
        elif unsure:
            # committed, but not sure enough of the exercise over this set: count nothing, offer the choice
            state.exercise, state.count, state.partial, state.cue, state.cue_code = "unknown", 0, 0, None, None
            state.new_rep = False
            state.suggestion = self._unsure_candidates(conf)
        elif ms is not None:
            state.progress = ms.progress
        if idx % 15 == 0 or self._last_state is None:
            state.hints = self.qc.live_hints()
        else:
            state.hints = self._last_state.hints
        self._last_state = state
        return state

    def flush(self) -> None:
        """Work the last frame made due that its own state does not need: the router's window scoring
        (:meth:`pipeline.movement.router.LiveRouter.flush`). A live session calls it once the frame's result has gone out; the
        next :meth:`process_pose` or :meth:`finish` does it first otherwise, so the decisions are the same."""
        if self.router is not None and hasattr(self.router, "flush"):
            self.router.flush()

    @property
    def _count_min(self) -> float:
        prm = getattr(self.router, "prm", None)
        return float(getattr(prm, "count_min", 0.0)) if prm is not None else 0.0

    def _set_span(self, t_now: float) -> tuple[float, float]:
        """The stretch whose windows decide the set's confidence: its first rep's start (before any rep: the
        commit) to its last rep's end, or to now while a rep is in progress."""
        mv = self.movement
        reps = mv.counter.reps if mv is not None else []
        t0 = reps[0].start_t if reps else max(self.t_commit if self.t_commit is not None else t_now,
                                               self._replay_after)  # not the windows of a set already closed
        if mv is not None and mv.counter.phase in ("lowering", "rising"):
            return t0, t_now
        return t0, reps[-1].end_t if reps else t_now

    def _set_confidence(self, t_now: float, final: bool = False) -> float | None:
        if self.router is None or not hasattr(self.router, "span_confidence") or self.movement is None:
            return None
        t0, t1 = self._set_span(t_now)
        return self.router.span_confidence(self.label, t0, t1, flush=final)

    def _unsure_candidates(self, conf: float) -> list[tuple[str, float]]:
        """The exercise the router committed to, with its confidence, and the router's other candidates."""
        out = [(self.label, round(float(conf), 3))]
        for lab, p in (self._suggestion or []):
            if lab != self.label:
                out.append((lab, p))
        return out[:3]

    def _switch(self, label: str, t: float) -> None:
        """Commit to an exercise: close the previous one's set, replay the recent past into the new one."""
        if self.movement is not None:
            self.end_set("exercise_changed")
        self.label = label
        self.t_commit = t
        self.movement = MovementAnalyzer(get_exercise(label))
        # the reps that started before the router was sure are not lost: replay the recent frames (all past), except
        # those of a closed set or of a movement the router dropped
        for cf, s, idx in list(self._recent):
            if cf.t > self._replay_after:
                self.movement.update(cf, s, idx)

    def override(self, label: str | None) -> None:
        """The user picks the exercise (a built-in or a taught one; None to go back to automatic)."""
        self.user_exercise = label if _choosable(label) else None
        if self.router is not None:
            self.router.override(self.user_exercise if self.user_exercise in SUPPORTED else None)
        if self.user_exercise and self.user_exercise != self.label:
            self._switch(self.user_exercise, self._recent[-1][0].t if self._recent else 0.0)

    def end_set(self, reason: str = "user") -> SetResult | None:
        """Close the set in progress (no-op without any rep). A fresh set of the same exercise follows."""
        mv = self.movement
        if mv is None or not mv.counter.reps:
            return None
        conf, source = self._conf
        if source == "model":
            c = self._set_confidence(mv.counter.reps[-1].end_t, final=True)
            conf = c if c is not None else conf
            if conf < self._count_min:
                # not sure enough of the exercise over this set: nothing is counted (the recording keeps the frames;
                # a replay with the exercise chosen counts them)
                self.uncounted.append((mv.ex.name, round(float(conf), 4), mv.counter.count))
                self._replay_after = max(self._replay_after, mv.counter.reps[-1].end_t)
                self.movement = MovementAnalyzer(get_exercise(mv.ex.name))
                return None
        ev = mv.finish()
        items = ev.reps.items
        t0 = (items[0].start_s if items else mv.counter.reps[0].start_t) - 1.0
        t1 = (items[-1].end_s if items else mv.counter.reps[-1].end_t) + 1.0
        pose, clean, stats = self.frames.span(t0, t1)
        res = SetResult(index=len(self.sets) + 1, exercise=mv.ex.name, evidence=ev, analyzer=mv, t_start=t0,
                        t_end=t1, clean=clean, pose=pose, stats=stats, confidence=conf, source=source,
                        t_commit=self.t_commit, reason=reason)
        self.sets.append(res)
        self._replay_after = max(self._replay_after, mv.counter.reps[-1].end_t)
        # frames up to the end of this set are no longer needed here
        self.frames.drop_until(t1)
        self.movement = MovementAnalyzer(get_exercise(mv.ex.name))
        return res

    def finish(self, reason: str = "stream_ended") -> SetResult | None:
        """End of stream: close the set in progress. In Automatic mode the router first settles a stream too short
        for its vote (as the batch decision does); an exercise it commits to then replays the stream."""
        if self.router is not None and not self.user_exercise and hasattr(self.router, "finish"):
            rs = self.router.finish()
            if rs.committed and rs.label in SUPPORTED and (rs.label != self.label or self.movement is None):
                self._switch(rs.label, rs.t)
        return self.end_set(reason)

    @property
    def count(self) -> int:
        """Reps in the set in progress (none while the router is not sure enough of its exercise)."""
        if self.movement is None:
            return 0
        if self._conf[1] == "model" and self.movement.counter.reps:
            c = self._set_confidence(self.movement.counter.reps[-1].end_t)
            if c is not None and c < self._count_min:
                return 0
        return self.movement.counter.count

    @property
    def total_reps(self) -> int:
        return self.count + sum(s.reps for s in self.sets)

    def close(self) -> None:
        self.frames.close()
        if self.estimator is not None and hasattr(self.estimator, "close"):
            self.estimator.close()
            self.estimator = None


def _choosable(label) -> bool:
    """An exercise the user may choose: a built-in one or one taught by demonstration."""
    return label in SUPPORTED or is_taught(label)


def _with_taught(suggestion, taught: list[str]):
    """The router's suggestion, with the taught exercises the movement matches (no probability: a match is not a
    calibrated one); a proposal of taught exercises alone says whose they are."""
    if not taught:
        return suggestion
    opts = [[n, None] for n in taught]
    if suggestion:
        return [*[list(o) for o in suggestion], *opts]
    labels = ", ".join(m.label for m in (model_of(n) for n in taught) if m is not None)
    return {"text": f"This looks like your exercise {labels}. Count it?", "options": opts}

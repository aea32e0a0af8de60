"""What the live video shows, and the rule that keeps cues rare.

:class:`Overlay` is an immutable snapshot computed by the pose worker; the frame callback draws the latest
one onto each outgoing frame (drawing costs ~1 ms, so the callback stays fast even when pose is slow).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from pipeline.report.draw import draw_panel, draw_skeleton

PHASE_TEXT = {"idle": "ready", "top": "top", "lowering": "lowering", "bottom": "bottom", "rising": "rising"}


@dataclass(frozen=True)
class Overlay:
    t: float = 0.0
    landmarks: Optional[np.ndarray] = None  # (33, 3) normalised image coordinates of the last pose
    mask: Optional[np.ndarray] = None
    exercise: str = "unknown"
    confidence: float = 0.0
    source: str = "none"
    count: int = 0
    set_index: int = 1
    phase: str = "idle"
    cue: Optional[str] = None
    highlight: tuple = ()
    hint: Optional[str] = None  # camera set-up guidance (before the first rep)
    tag: object = None  # the id of the frame this overlay was computed from (the browser path: its RTP timestamp)
    latency_ms: Optional[float] = None  # frame arrival on the server → this overlay ready
    wait_ms: Optional[float] = None  # of which: arrival → taken by the pose stage (the mailbox)
    pose_ms: Optional[float] = None  # of which: the pose model itself
    suggestion: object = None  # the router's suggestion when it is unsure (LiveState.suggestion, when it exists)

    def lines(self) -> list[str]:
        ex = self.exercise.replace("_", " ")
        head = ex if self.exercise == "unknown" else f"{ex} {self.confidence:.0%}" if self.source == "model" else ex
        return [head, f"set {self.set_index}  reps {self.count}", PHASE_TEXT.get(self.phase, self.phase)]

    def draw(self, rgb: np.ndarray) -> np.ndarray:
        """Draw in place on an RGB uint8 frame of any size (landmarks are normalised)."""
        if self.landmarks is not None:
            draw_skeleton(rgb, self.landmarks, self.mask, highlight=self.highlight)
        draw_panel(rgb, self.lines(), self.cue or self.hint)
        return rgb


@dataclass
class CueGate:
    """At most one cue at a time, shown ``show_s`` seconds, at least ``gap_s`` between two cues, and the same
    cue not repeated within ``repeat_s`` — constant corrections demoralise. Times are stream timestamps."""

    show_s: float = 2.0
    gap_s: float = 4.0
    repeat_s: float = 12.0
    _current: Optional[tuple[str, str, float, tuple]] = None  # code, text, shown_at, joints
    _last_shown: float = -1e9
    _last_by_code: dict = field(default_factory=dict)
    shown: deque = field(default_factory=lambda: deque(maxlen=200))  # (t, code) of the last cues shown (tests);
    #                                                                    the events log has all of them

    def offer(self, t: float, code: Optional[str], text: Optional[str], joints=()) -> bool:
        """A cue proposed by a completed rep (already only confident issues). Returns True when shown."""
        if not code or not text:
            return False
        if t - self._last_shown < self.gap_s:
            return False
        if t - self._last_by_code.get(code, -1e9) < self.repeat_s:
            return False
        self._current = (code, text, t, tuple(joints))
        self._last_shown = t
        self._last_by_code[code] = t
        self.shown.append((t, code))
        return True

    def active(self, t: float) -> tuple[Optional[str], tuple]:
        if self._current is None:
            return None, ()
        code, text, t0, joints = self._current
        if t - t0 > self.show_s or t < t0:
            self._current = None
            return None, ()
        return text, joints

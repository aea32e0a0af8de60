"""Exercise router: which exercise is the athlete doing (squat, push_up, shoulder_press) or ``unknown``.

* Windows of ~1.5 s of cleaned pose, on a fixed grid every ``HOP_S`` from the first frame, are turned into
  features by :func:`models.features.window_features` (the same function used in training) and scored by
  the network (``kind="model"``) or the boosted-trees baseline (``kind="baseline"``).
* A motion-energy gate marks windows where the body barely moves (standing still, a held plank, rests
  between reps) as *idle*: they neither vote nor break a streak. The network is the classifier; the gate
  only says "no movement to classify here".
* Batch (:meth:`Router.classify`): mean window probabilities over the active windows; the best exercise is
  chosen only with enough confidence and margin AND a streak of consistent windows (~1 s) somewhere in
  the clip (the same rule the live router uses to commit); otherwise ``unknown``.
* Live (:class:`LiveRouter`): causal, evaluates a window every ``HOP_S``; commits when the batch rule holds on
  the recent past (which needs ~1 s of consistent windows), switches only after a longer, confident streak, and returns to ``unknown`` after a long stretch
  of moving-but-unknown windows; the user can override.
"""
from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .features import HOP_S, MAX_GAP_S, WIN_S, ClipArrays, clip_windows, window_ends, window_features

LABELS = ("squat", "push_up", "shoulder_press", "unknown")
EXERCISES = LABELS[:3]
UNKNOWN = 3
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass
class DecisionParams:
    gate: float = 0.05  # motion energy below which a window is idle (overridden by the shipped meta)
    min_p: float = 0.5  # a window counts toward a streak when its top exercise has at least this probability
    commit_s: float = 1.0  # streak length (span of window ends) needed to commit
    switch_s: float = 1.5  # longer streak needed to switch from one committed exercise to another
    switch_p: float = 0.7  # ... with this mean probability
    drop_s: float = 3.0  # moving-but-unknown time after which live goes back to unknown
    horizon_s: float = 30.0  # live: the batch rule is applied to the active windows of the last horizon_s
    min_conf: float = 0.5  # batch: mean probability of the chosen exercise over active windows
    min_margin: float = 0.15  # batch: over the second best label

    def n(self, s: float) -> int:
        return int(round(s / HOP_S)) + 1


@dataclass
class RouterDecision:
    label: str
    confidence: float
    source: str  # "model" | "baseline" | "user"
    windows: list[tuple[float, float, str, float]]  # (t_start, t_end, label, confidence)
    probs: dict[str, float]
    active_s: float = 0.0  # seconds of moving windows
    note: str | None = None


@dataclass
class LiveRouterState:
    label: str
    confidence: float
    committed: bool
    t_commit: float | None
    probs: dict[str, float]
    source: str = "model"
    t: float = 0.0
    window: tuple[float, float, str, float] | None = None  # the window evaluated at this update, if any


class Streak:
    """Consecutive active windows whose top label is the same exercise with enough probability.
    Idle windows are skipped; anything else breaks the streak. Shared by batch and live."""

    def __init__(self, prm: DecisionParams):
        self.prm = prm
        self.label: int | None = None
        self.n = 0
        self.psum = 0.0
        self.unknown_n = 0

    def push(self, p: np.ndarray, active: bool) -> None:
        if not active:
            return
        a = int(np.argmax(p))
        if a != UNKNOWN and p[a] >= self.prm.min_p:
            if a == self.label:
                self.n += 1
                self.psum += float(p[a])
            else:
                self.label, self.n, self.psum = a, 1, float(p[a])
            self.unknown_n = 0
        else:
            self.label, self.n, self.psum = None, 0, 0.0
            self.unknown_n += 1

    @property
    def mean_p(self) -> float:
        return self.psum / self.n if self.n else 0.0


def _probs_dict(p) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in zip(LABELS, p)}


def _window_label(p: np.ndarray, active: bool) -> tuple[str, float]:
    if not active:
        return "unknown", round(float(1.0 - p[:3].max()), 4)
    a = int(np.argmax(p))
    return LABELS[a], round(float(p[a]), 4)


class Router:
    """Scores windows with the network or the baseline and makes the batch decision."""

    def __init__(self, kind: str = "model", weights_dir: Path | None = None):
        wd = Path(weights_dir) if weights_dir else WEIGHTS_DIR
        meta = json.loads((wd / "router_meta.json").read_text())
        self.meta = meta
        self.kind = kind
        self.params = DecisionParams(**meta.get("decision", {}))
        if kind == "model":
            import torch

            from .nets import RouterNet

            torch.set_num_threads(1)  # a tiny net: one thread is faster, and pose keeps the other core
            ck = torch.load(wd / "router.pt", map_location="cpu", weights_only=True)
            self.net = RouterNet(**ck["config"])
            self.net.load_state_dict(ck["state_dict"])
            self.net.eval()
            self._torch = torch
        elif kind == "baseline":
            from .baseline import TreeEnsemble

            self.trees = TreeEnsemble.load(wd / "router_baseline.npz")
        else:
            raise ValueError(f"unknown router kind: {kind}")

    # -- window scoring ---------------------------------------------------
    def window_probs(self, feats: np.ndarray, energy: np.ndarray) -> np.ndarray:
        if len(feats) == 0:
            return np.zeros((0, len(LABELS)), np.float32)
        if self.kind == "model":
            with self._torch.inference_mode():
                logits = self.net(self._torch.from_numpy(np.ascontiguousarray(feats, np.float32)))
                return self._torch.softmax(logits, -1).numpy()
        from .baseline import window_stats

        return self.trees.predict_proba(window_stats(feats, energy)).astype(np.float32)

    def score_clip(self, clip: ClipArrays):
        """(ends (M,), probs (M,4), energy (M,)) for the windows of a clip that have pose."""
        ends, f, e, ok = clip_windows(clip)
        return ends[ok], self.window_probs(f, e), e

    # -- batch decision ---------------------------------------------------
    def classify(self, frames) -> RouterDecision:
        clip = frames if isinstance(frames, ClipArrays) else ClipArrays.from_frames(frames)
        ends, P, E = self.score_clip(clip)
        return decide(ends, P, E, self.params, self.kind)


def decide(ends: np.ndarray, P: np.ndarray, E: np.ndarray, prm: DecisionParams, source: str) -> RouterDecision:
    active = E >= prm.gate
    windows = []
    st = Streak(prm)
    streaks = set()
    for te, p, a in zip(ends, P, active):
        lab, conf = _window_label(p, bool(a))
        windows.append((round(float(te - WIN_S), 3), round(float(te), 3), lab, conf))
        st.push(p, bool(a))
        if st.label is not None and st.n >= prm.n(prm.commit_s):
            streaks.add(st.label)
    active_s = float(active.sum() * HOP_S)
    if not active.any():
        note = "no pose" if len(ends) == 0 else "no movement"
        probs = P.mean(0) if len(P) else np.array([0, 0, 0, 1.0])
        return RouterDecision("unknown", 1.0 if len(P) else 0.0, source, windows, _probs_dict(probs), 0.0, note)
    S = P[active].mean(0)
    best = _batch_rule(S, streaks, prm)
    if best is not None:
        return RouterDecision(LABELS[best], round(float(S[best]), 4), source, windows, _probs_dict(S), active_s)
    ex = int(np.argmax(S[:3]))
    why = None if best == UNKNOWN else f"best guess {LABELS[ex]} ({S[ex]:.2f}) not confident or consistent enough"
    return RouterDecision("unknown", round(float(1.0 - S[ex]), 4), source, windows, _probs_dict(S), active_s, why)


def _batch_rule(S: np.ndarray, streaks, prm: DecisionParams) -> int | None:
    """The exercise chosen from mean active-window probabilities ``S`` and the labels that had a streak."""
    order = np.argsort(S)[::-1]
    best = int(order[0])
    if best != UNKNOWN and S[best] >= prm.min_conf and S[best] - S[order[1]] >= prm.min_margin and best in streaks:
        return best
    return None


_CACHE: dict[str, Router] = {}
_LOCK = threading.Lock()


def load_router(kind: str = "model") -> Router:
    """Cached router per kind, loaded from the shipped weights in ``models/weights``."""
    with _LOCK:
        if kind not in _CACHE:
            _CACHE[kind] = Router(kind)
        return _CACHE[kind]


class LiveRouter:
    """Causal frame-by-frame router with hysteresis (one per live session)."""

    def __init__(self, router: Router | None = None, commit_s: float | None = None, switch_s: float | None = None,
                 drop_s: float | None = None, kind: str = "model"):
        self.router = router or load_router(kind)
        prm = DecisionParams(**vars(self.router.params))
        if commit_s is not None:
            prm.commit_s = commit_s
        if switch_s is not None:
            prm.switch_s = switch_s
        if drop_s is not None:
            prm.drop_s = drop_s
        self.prm = prm
        self.reset()

    def reset(self) -> None:
        self._buf: deque = deque()
        self._t0: float | None = None
        self._next_end: float | None = None
        self._last_valid_t: float | None = None
        self._streak = Streak(self.prm)
        self._label: int | None = None
        self._t_commit: float | None = None
        self._ema: np.ndarray | None = None
        self._override: str | None = None
        self._last_probs = np.array([0, 0, 0, 1.0])
        self._active: deque = deque()  # (t_end, probs) of active windows within the horizon
        self._streak_t: dict[int, float] = {}  # label -> last time a full streak was seen
        self.windows: list[tuple[float, float, str, float]] = []
        self.n_evals = 0

    def override(self, label: str | None) -> None:
        if label is not None and label not in LABELS:
            raise ValueError(f"unknown exercise label: {label}")
        self._override = label

    @property
    def t_commit(self) -> float | None:
        return self._t_commit

    def update(self, cf) -> LiveRouterState:
        t = float(cf.t)
        if self._t0 is None:
            self._t0 = t
            self._next_end = t + WIN_S
        self._buf.append(cf)
        if cf.valid:
            self._last_valid_t = t
        while self._buf and self._buf[0].t < t - WIN_S - 2 * MAX_GAP_S - 0.5:
            self._buf.popleft()
        win = None
        # a window is scored once a valid frame at/after its end exists (as in batch), or the gap is too long
        while self._next_end is not None and (
                (self._last_valid_t is not None and self._last_valid_t >= self._next_end - 1e-9)
                or t > self._next_end + MAX_GAP_S):
            win = self._evaluate(self._next_end) or win
            self._next_end += HOP_S
        return self._state(t, win)

    def _evaluate(self, t_end: float):
        clip = ClipArrays.from_frames([f for f in self._buf if f.t <= t_end + MAX_GAP_S + 1e-9])
        # batch only sees frames inside the clip; the grid end must lie within the frames seen so far
        r = window_features(clip, t_end)
        if r is None:
            return None
        feats, e = r
        p = self.router.window_probs(feats[None], np.array([e]))[0]
        self.n_evals += 1
        active = e >= self.prm.gate
        self._last_probs = p
        lab, conf = _window_label(p, active)
        w = (round(t_end - WIN_S, 3), round(t_end, 3), lab, conf)
        self.windows.append(w)
        st = self._streak
        st.push(p, active)
        if active:
            self._ema = p.copy() if self._ema is None else 0.75 * self._ema + 0.25 * p
        prm = self.prm
        if active:
            self._active.append((t_end, p))
        while self._active and self._active[0][0] < t_end - prm.horizon_s:
            self._active.popleft()
        if st.label is not None and st.n >= prm.n(prm.commit_s):
            self._streak_t[st.label] = t_end
        if self._label is None:
            # commit with the batch rule applied to the recent past (so live ends where batch ends)
            if self._active:
                S = np.mean([q for _, q in self._active], axis=0)
                recent = {k for k, tk in self._streak_t.items() if tk >= t_end - prm.horizon_s}
                best = _batch_rule(S, recent, prm)
                if best is not None:
                    self._label, self._t_commit = best, t_end
        elif st.label is not None and st.label != self._label:
            if st.n >= prm.n(prm.switch_s) and st.mean_p >= prm.switch_p:
                self._label, self._t_commit = st.label, t_end
        elif st.unknown_n >= prm.n(prm.drop_s):
            self._label, self._t_commit = None, None
        return w

    def _state(self, t: float, win) -> LiveRouterState:
        probs = _probs_dict(self._ema if self._ema is not None else self._last_probs)
        if self._override is not None:
            return LiveRouterState(self._override, 1.0, True, self._t_commit, probs, "user", t, win)
        if self._label is None:
            ex = max(probs[k] for k in EXERCISES)
            return LiveRouterState("unknown", round(1.0 - ex, 4), False, None, probs, self.router.kind, t, win)
        lab = LABELS[self._label]
        return LiveRouterState(lab, probs[lab], True, self._t_commit, probs, self.router.kind, t, win)


def live_run(router: Router, frames) -> tuple[LiveRouterState | None, LiveRouter]:
    """Feed a whole clip through a LiveRouter; returns the last state."""
    lr = LiveRouter(router)
    st = None
    for cf in frames:
        st = lr.update(cf)
    return st, lr


def exercise_dict(dec: RouterDecision, live_commit_s: float | None = None) -> dict:
    """The decision as a dict for ``pipeline.schema.ExerciseModel(**d)``."""
    return {"label": dec.label, "confidence": float(dec.confidence), "source": dec.source,
            "windows": [{"t_start": a, "t_end": b, "label": lab, "confidence": float(c)} for a, b, lab, c in dec.windows],
            "live_commit_s": live_commit_s, "note": dec.note}


__all__ = ["exercise_dict", "LABELS", "RouterDecision", "LiveRouterState", "Router", "LiveRouter", "load_router", "decide",
           "DecisionParams", "live_run", "window_ends"]

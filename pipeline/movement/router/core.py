"""Exercise router: which exercise is the athlete doing (squat, push_up, shoulder_press, deadlift, lunge) or ``unknown``.

* Windows of ~1.5 s of cleaned pose, on a fixed grid every ``HOP_S`` from the first frame, are turned into
  features by :func:`.features.window_features` (the same function used in training) and scored by
  the network (``kind="model"``) or the boosted-trees baseline (``kind="baseline"``).
* A motion-energy gate marks windows where the body barely moves (standing still, a held plank, rests
  between reps) as *idle*: they neither vote nor break a vote. The network is the classifier; the gate
  only says "no movement to classify here".
* ONE causal decision procedure (:class:`Decider`) serves both clocks. Live (:class:`LiveRouter`) feeds it a window
  every ``HOP_S`` as frames arrive; batch (:meth:`Router.classify`, :func:`decide`) feeds it every window of the
  clip in order and reports the exercise it was committed to at the end (the last one it committed to, when it
  dropped back to ``unknown``). So a clip gets the same label on both clocks by construction; only the frames
  differ when the live clock drops some, and the vote below is what keeps that from changing the label.
* The vote: over the last ``commit_s`` of moving windows, the exercise must have the highest mean probability
  (>= ``commit_p``, ahead of every other label incl. ``unknown`` by ``margin``) and be the top label of at least
  ``vote_frac`` of those windows. Switching to another exercise takes the same vote over ``switch_s`` with
  ``switch_p``; ``drop_s`` of moving windows voted ``unknown`` goes back to ``unknown``; the user can override.
* Unsure but repeating: while uncommitted, when the recent moving windows give an exercise a fair probability and
  the pose repeats (autocorrelation of joint angles), the state carries ``suggestion``: candidate exercises with
  their probabilities, so the page can offer the choice instead of silently counting nothing.
"""
from __future__ import annotations

import json
import os
import threading
from collections import deque
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from .features import HOP_S, MAX_GAP_S, WIN_S, ClipArrays, clip_windows, window_ends, window_features

LABELS = ("squat", "push_up", "shoulder_press", "deadlift", "lunge", "unknown")
UNKNOWN = len(LABELS) - 1
EXERCISES = LABELS[:UNKNOWN]
# the shipped weights live with their training code in models/weights (read as files; nothing here imports models/);
# SPOTTER_ROUTER_WEIGHTS points elsewhere (a retrained router)
WEIGHTS_DIR = Path(os.environ.get("SPOTTER_ROUTER_WEIGHTS") or Path(__file__).resolve().parents[3] / "models" / "weights")
# columns of the per-step features holding the 2D and 3D joint angles (elbow, shoulder, hip, knee; left, right), and
# the visibility of the knees and ankles (pipeline/movement/router/features.py)
_ANG0 = 15 * 2 + 15 * 3
_VIS_LEGS = [15 * 2 + 15 * 3 + 16 + 18 + k for k in (9, 10, 11, 12)]
# the image y (down) of the wrists and the shoulders among the first 30 columns (the 15 key points' x, y)
_K_WRISTS_Y, _K_SHOULDERS_Y = [2 * 5 + 1, 2 * 6 + 1], [2 * 1 + 1, 2 * 2 + 1]
# the joint angles (indices into the 8 above; 2D and 3D both count) whose range of motion a rep of each exercise needs
ROM_JOINTS = {"squat": (6, 7), "push_up": (0, 1), "shoulder_press": (0, 1), "deadlift": (4, 5), "lunge": (6, 7)}
LOWER_BODY = ("squat", "deadlift", "lunge")  # need the legs in view


@dataclass
class DecisionParams:
    gate: float = 0.05  # motion energy below which a window is idle (overridden by the shipped meta)
    min_p: float = 0.5  # a window votes for its top label when that label has at least this probability
    commit_s: float = 1.5  # span of moving windows the vote to commit is taken over
    commit_p: float = 0.6  # mean probability of the exercise over that span
    margin: float = 0.2  # ... ahead of every other label (unknown included)
    vote_frac: float = 0.75  # share of the span's windows whose top label is the exercise
    switch_s: float = 2.5  # the vote needed to switch from one committed exercise to another
    switch_p: float = 0.7
    drop_s: float = 3.0  # moving windows voted unknown after which live goes back to unknown
    suggest_s: float = 4.0  # span of moving windows a suggestion is drawn from
    suggest_p: float = 0.2  # a candidate exercise needs this mean probability over that span
    suggest_max_unknown: float = 0.85  # no suggestion when unknown is this sure
    repeat_min: float = 0.5  # autocorrelation peak that counts as a repeating movement
    # plausibility: over a vote's span (75th percentile of its windows), the range of motion (degrees) of the joints a rep
    # of each exercise moves (squat, push_up, shoulder_press, deadlift, lunge: knees, elbows, elbows, hips, knees) must
    # reach these, and a lower-body exercise needs its knees and ankles seen (median visibility); a label that fails is
    # counted as unknown in that vote
    min_rom: tuple = (30.0, 25.0, 30.0, 40.0, 60.0)  # (squat 30: a set of quarter squats is a squat, judged shallow)
    min_leg_vis: float = 0.5
    # a push-up is done on the hands: at some moment of its windows (75th percentile over the span) the wrists are this
    # far below the shoulders in the picture (body-scale units; real push-ups seen from the side or the front: 0.85-2.6,
    # lying face down (supermans) 0.4-0.75); a camera looking straight down cannot show it, so it is not judged there
    min_hands_below: float = 1.0
    # a set is counted only when its exercise's confidence (span_confidence over the set) is at least this; below it
    # the page says "not sure which exercise: choose one" and nothing is counted until the user chooses
    count_min: float = 0.5

    def n(self, s: float) -> int:
        return int(round(s / HOP_S)) + 1

    @classmethod
    def from_meta(cls, d: dict | None) -> "DecisionParams":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in names})


@dataclass
class RouterDecision:
    label: str
    confidence: float
    source: str  # "model" | "baseline" | "user"
    windows: list[tuple[float, float, str, float]]  # (t_start, t_end, label, confidence)
    probs: dict[str, float]
    active_s: float = 0.0  # seconds of moving windows
    note: str | None = None
    t_commit: float | None = None  # end of the window that committed the label (the live commit time)
    suggestion: list[tuple[str, float]] | None = None  # candidates when unsure while the movement repeats
    # every scored window: end times (M,), calibrated probabilities (M, len(LABELS)), moving or idle (M,): what
    # :func:`span_confidence` reads the confidence of a set from
    ends: np.ndarray | None = field(default=None, repr=False)
    P: np.ndarray | None = field(default=None, repr=False)
    active: np.ndarray | None = field(default=None, repr=False)


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
    # unsure while a supported-looking movement repeats: [(exercise, probability), ...] best first, else None
    suggestion: list[tuple[str, float]] | None = None
    dropped: bool = False  # this update went back from an exercise to unknown


def _probs_dict(p) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in zip(LABELS, p)}


def _window_label(p: np.ndarray, active: bool) -> tuple[str, float]:
    if not active:
        return "unknown", round(float(1.0 - p[:UNKNOWN].max()), 4)
    a = int(np.argmax(p))
    return LABELS[a], round(float(p[a]), 4)


def repetition_score(x: np.ndarray, min_std: float = 0.02, lags: tuple[int, int] = (3, 24)) -> float:
    """How strongly a movement repeats: the highest autocorrelation peak of any joint-angle signal ``x`` (N, S)
    sampled every ``HOP_S`` (lags 0.75-6 s); signals that barely move (std < ``min_std``, angles / pi) are ignored."""
    if len(x) < 2 * lags[0] + 2:
        return 0.0
    best = 0.0
    for j in range(x.shape[1]):
        v = x[:, j] - x[:, j].mean()
        if v.std() < min_std:
            continue
        hi = min(lags[1], len(v) // 2)
        e = float(np.dot(v, v)) + 1e-9
        r = np.array([np.dot(v[:-k], v[k:]) / e for k in range(1, hi + 2)])  # biased: long lags need long support
        for k in range(lags[0], hi + 1):  # a local maximum of the autocorrelation
            if r[k - 1] >= r[k - 2] and r[k - 1] >= r[k]:
                best = max(best, float(r[k - 1]))
    return best


class Decider:
    """The causal decision over scored windows, shared by batch and live. ``push`` one window at a time."""

    def __init__(self, prm: DecisionParams):
        self.prm = prm
        n_keep = max(prm.n(prm.commit_s), prm.n(prm.switch_s), prm.n(prm.drop_s), prm.n(prm.suggest_s))
        self._act: deque = deque(maxlen=n_keep)  # probabilities of the recent moving windows
        self._sum: deque = deque(maxlen=n_keep)  # their summaries (window_summary), None when not given
        self._rom = np.array(prm.min_rom, np.float64)
        self._lower = np.array([lab in LOWER_BODY for lab in EXERCISES])
        self._rep: deque = deque(maxlen=48)  # joint-angle summary of every window (12 s) for the repetition score
        self.label: int | None = None
        self.t_commit: float | None = None
        self.last_label: int | None = None  # the last exercise committed to (kept after a drop)
        self.last_t_commit: float | None = None
        self.committed_p: dict[int, list[float]] = {}  # label -> probabilities while committed to it
        self.active_n = 0
        self.dropped = False

    def _span(self, n: int) -> np.ndarray:
        """Probabilities of the last ``n`` moving windows, the exercises the span cannot be (range of motion too small,
        legs not seen, a push-up not on its hands) moved to unknown."""
        Q = np.array(list(self._act)[-n:])
        S = [x for x in list(self._sum)[-n:] if x is not None]
        if S:
            S = np.array(S)
            rom = np.percentile(S[:, 8:8 + UNKNOWN], 75, axis=0)
            legs = float(np.median(S[:, 8 + UNKNOWN]))
            bad = (rom < self._rom) | (self._lower & (legs < self.prm.min_leg_vis))
            bad[EXERCISES.index("push_up")] |= float(np.percentile(S[:, 14], 75)) < self.prm.min_hands_below
            if bad.any():
                Q = Q.copy()
                Q[:, UNKNOWN] += Q[:, :UNKNOWN][:, bad].sum(1)
                Q[:, :UNKNOWN][:, bad] = 0.0
        return Q

    def _vote(self, n: int, exclude: int | None = None):
        """(label, mean p, margin, vote share) of the best exercise over the last ``n`` moving windows."""
        if len(self._act) < n:
            return None
        Q = self._span(n)
        m = Q.mean(0)
        ex = m[:UNKNOWN].copy()
        if exclude is not None:
            ex[exclude] = -1.0
        L = int(np.argmax(ex))
        others = np.delete(m, L).max()
        frac = float(np.mean((Q.argmax(1) == L) & (Q[:, L] >= self.prm.min_p)))
        return L, float(m[L]), float(m[L] - others), frac

    def push(self, t_end: float, p: np.ndarray, active: bool, summary: np.ndarray | None = None) -> None:
        prm = self.prm
        self.dropped = False
        if summary is not None:
            self._rep.append(summary[:8])
        if not active:
            return
        self.active_n += 1
        self._act.append(np.asarray(p, np.float64))
        self._sum.append(summary)
        if self.label is None:
            v = self._vote(prm.n(prm.commit_s))
            if v and v[1] >= prm.commit_p and v[2] >= prm.margin and v[3] >= prm.vote_frac:
                self._commit(v[0], t_end)
        else:
            v = self._vote(prm.n(prm.switch_s), exclude=self.label)
            if v and v[1] >= prm.switch_p and v[2] >= prm.margin and v[3] >= prm.vote_frac:
                self._commit(v[0], t_end)
            elif len(self._act) >= prm.n(prm.drop_s):
                Q = self._span(prm.n(prm.drop_s))
                if np.mean(Q.argmax(1) == UNKNOWN) >= prm.vote_frac and Q[:, UNKNOWN].mean() >= 0.5:
                    self.label, self.t_commit, self.dropped = None, None, True
        if self.label is not None:
            self.committed_p.setdefault(self.label, []).append(float(p[self.label]))

    def finish(self, t_end: float) -> bool:
        """End of the stream: a clip too short for the vote (fewer moving windows than ``commit_s`` needs) is decided
        by the same vote over all its moving windows. True when that commits."""
        prm = self.prm
        if self.last_label is not None or not 0 < len(self._act) < prm.n(prm.commit_s) \
                or self.active_n >= prm.n(prm.commit_s):
            return False
        v = self._vote(len(self._act))
        if v and v[1] >= prm.commit_p and v[2] >= prm.margin and v[3] >= prm.vote_frac:
            self._commit(v[0], t_end)
            self.committed_p[v[0]] = [float(q[v[0]]) for q in self._span(len(self._act))]
            return True
        return False

    def _commit(self, label: int, t_end: float) -> None:
        self.label, self.t_commit = label, t_end
        self.last_label, self.last_t_commit = label, t_end

    def suggestion(self) -> list[tuple[str, float]] | None:
        """Candidate exercises while uncommitted and the recent movement repeats; None otherwise."""
        prm = self.prm
        n = prm.n(prm.suggest_s)
        if self.label is not None or len(self._act) < prm.n(2.0):
            return None
        m = self._span(min(n, len(self._act))).mean(0)
        if m[UNKNOWN] >= prm.suggest_max_unknown:
            return None
        cands = [(LABELS[i], round(float(m[i]), 3)) for i in np.argsort(-m[:UNKNOWN]) if m[i] >= prm.suggest_p][:3]
        if not cands:
            return None
        if repetition_score(np.array(self._rep)) < prm.repeat_min:
            return None
        return cands


def final_window_end(t_last_valid: float | None, last_grid_end: float | None) -> float | None:
    """End of the extra window scored when a clip ends: at its last valid frame, when that lies at least 0.1 s past the
    last window of the grid (or the clip is shorter than one window). Batch and live use the same rule."""
    if t_last_valid is None:
        return None
    if last_grid_end is None or t_last_valid - last_grid_end >= 0.1:
        return float(t_last_valid)
    return None


def window_summary(feats: np.ndarray) -> np.ndarray:
    """What the decision needs from a window besides its probabilities (mirror-invariant), 15 values:
    [0:8] left+right sums of the 2D and 3D joint angles at its end (for the repetition score);
    [8:13] per exercise (``EXERCISES`` order), the range of motion in degrees of the joints a rep of it moves
    (``ROM_JOINTS``: the largest over left/right and 2D/3D); [13] mean visibility of the knees and ankles; [14] how far
    the wrists come below the shoulders in the picture (the largest over the window, body-scale units)."""
    a = feats[-1, _ANG0:_ANG0 + 16]
    ang = feats[:, _ANG0:_ANG0 + 16]
    rng = (ang.max(0) - ang.min(0)) * 180.0  # angle features are radians / pi
    rom = [max(max(rng[j], rng[j + 8]) for j in ROM_JOINTS[lab]) for lab in EXERCISES]
    legs = float(feats[:, _VIS_LEGS].mean())
    k2 = feats[:, _K_WRISTS_Y + _K_SHOULDERS_Y]
    hands_below = float(np.max((k2[:, 0] + k2[:, 1]) / 2 - (k2[:, 2] + k2[:, 3]) / 2))
    return np.r_[(a[0::2] + a[1::2]), rom, legs, hands_below].astype(np.float32)


def span_confidence(ends: np.ndarray, P: np.ndarray, active: np.ndarray, label: str, t0: float,
                    t1: float) -> float | None:
    """The confidence of ``label`` over a stretch of time (a set: its first rep's start to its last rep's end): the
    mean calibrated probability of the label over the moving windows whose middle lies in ``[t0, t1]`` (or, when the
    stretch is shorter than a window, that end in it or up to a window after it). None when no moving window covers
    it. One definition for the live overlay, the set report and the summary (batch and live feed it the same
    windows)."""
    if label not in LABELS or P is None or len(P) == 0:
        return None
    ends, act = np.asarray(ends, float), np.asarray(active, bool)
    mid = ends - WIN_S / 2
    sel = act & (mid >= t0 - 1e-9) & (mid <= t1 + 1e-9)
    if not sel.any():
        sel = act & (ends >= t0 - 1e-9) & (ends <= t1 + WIN_S + 1e-9)
    if not sel.any():
        return None
    return round(float(np.mean(np.asarray(P)[sel, LABELS.index(label)])), 4)


class Router:
    """Scores windows with the network or the baseline and makes the batch decision."""

    def __init__(self, kind: str = "model", weights_dir: Path | None = None, member: int | None = None):
        """``member``: one network of the shipped ensemble only (the fold model that never saw fold ``member``'s dev
        clips, for held-out figures); None = the mean of all of them."""
        wd = Path(weights_dir) if weights_dir else WEIGHTS_DIR
        meta = json.loads((wd / "router_meta.json").read_text())
        self.meta = meta
        self.kind = kind
        self.labels = tuple(meta.get("labels", LABELS))
        self._cols = [LABELS.index(lab) for lab in self.labels]  # output column -> position in LABELS
        self.params = DecisionParams.from_meta(meta.get("decision"))
        # calibration (models/evaluate_router.py, fitted on held-out windows): the networks' logits are divided by
        # this temperature, so a window's probability is a calibrated probability
        self.temperature = float((meta.get("calibration") or {}).get("temperature", 1.0)) if kind == "model" else 1.0
        if kind == "model":
            import torch

            from .nets import RouterNet

            torch.set_num_threads(1)  # a tiny net: one thread is faster, and pose keeps the other core
            ck = torch.load(wd / "router.pt", map_location="cpu", weights_only=True)
            members = ck["members"] if "members" in ck else [ck["state_dict"]]
            if member is not None:
                members = [members[member]]
            self.nets = []
            for sd in members:
                net = RouterNet(**ck["config"])
                net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()})
                net.eval()
                self.nets.append(net)
            self.member = member
            self._torch = torch
        elif kind == "baseline":
            from .trees import TreeEnsemble

            self.trees = TreeEnsemble.load(wd / "router_baseline.npz")
        else:
            raise ValueError(f"unknown router kind: {kind}")

    # -- window scoring ---------------------------------------------------
    def member_logits(self, feats: np.ndarray) -> np.ndarray:
        """(members, M, len(labels)) raw logits of each network (before the calibration temperature), in the weights'
        label order (models/calibrate.py fits the temperature on them)."""
        if self.kind != "model":
            raise ValueError("logits exist for the network only")
        with self._torch.inference_mode():
            x = self._torch.from_numpy(np.ascontiguousarray(feats, np.float32))
            return np.stack([net(x).numpy() for net in self.nets])

    def window_probs(self, feats: np.ndarray, energy: np.ndarray) -> np.ndarray:
        """(M, len(LABELS)) probabilities in ``LABELS`` order (labels the weights do not know get 0)."""
        if len(feats) == 0:
            return np.zeros((0, len(LABELS)), np.float32)
        if self.kind == "model":
            with self._torch.inference_mode():
                x = self._torch.from_numpy(np.ascontiguousarray(feats, np.float32))
                p = sum(self._torch.softmax(net(x) / self.temperature, -1) for net in self.nets).numpy() / len(self.nets)
        else:
            from .trees import window_stats

            p = self.trees.predict_proba(window_stats(feats, energy)).astype(np.float32)
        if self._cols == list(range(len(LABELS))):
            return p
        out = np.zeros((len(p), len(LABELS)), np.float32)
        out[:, self._cols] = p
        return out

    def score_clip(self, clip: ClipArrays, with_feats: bool = False):
        """(ends (M,), probs (M,L), energy (M,)) for the windows of a clip that have pose (+ summaries (M,15))."""
        ends, f, e, ok = clip_windows(clip)
        P = self.window_probs(f, e)
        if with_feats:
            A = np.array([window_summary(x) for x in f]) if len(f) else np.zeros((0, 15), np.float32)
            return ends[ok], P, e, A
        return ends[ok], P, e

    # -- batch decision ---------------------------------------------------
    def classify(self, frames) -> RouterDecision:
        clip = frames if isinstance(frames, ClipArrays) else ClipArrays.from_frames(frames)
        ends, P, E, A = self.score_clip(clip, with_feats=True)
        final = None
        if len(clip) and clip.valid.any():
            grid = window_ends(float(clip.t[0]), float(clip.t[-1]))
            te = final_window_end(float(clip.t[clip.valid][-1]), float(grid[-1]) if len(grid) else None)
            r = window_features(clip, te) if te is not None else None
            if r is not None:
                p = self.window_probs(r[0][None], np.array([r[1]]))[0]
                final = (te, p, float(r[1]), window_summary(r[0]))
        return decide(ends, P, E, self.params, self.kind, angles=A, final=final)


def decide(ends: np.ndarray, P: np.ndarray, E: np.ndarray, prm: DecisionParams, source: str,
           angles: np.ndarray | None = None, final: tuple | None = None) -> RouterDecision:
    """The batch decision: the live procedure run over every window of the clip, in order, then the end of the clip
    (``final``: the extra window (t_end, probs, energy, summary) scored at the last valid frame, if any); ``angles``: the
    windows' summaries (:func:`window_summary`), without which neither the plausibility check nor the suggestion
    can run."""
    if final is not None:
        ends = np.r_[ends, final[0]]
        P = np.concatenate([P, np.asarray(final[1], P.dtype)[None]]) if len(P) else np.asarray(final[1])[None]
        E = np.r_[E, final[2]]
        if angles is not None:
            angles = np.concatenate([angles, np.asarray(final[3])[None]]) if len(angles) else np.asarray(final[3])[None]
    active = E >= prm.gate
    windows = []
    d = Decider(prm)
    sugg = None
    for k, (te, p, a) in enumerate(zip(ends, P, active)):
        lab, conf = _window_label(p, bool(a))
        windows.append((round(float(te - WIN_S), 3), round(float(te), 3), lab, conf))
        d.push(float(te), p, bool(a), None if angles is None else angles[k])
        if d.last_label is None:
            s = d.suggestion()
            if s is not None and (sugg is None or s[0][1] > sugg[0][1]):
                sugg = s
    if len(ends):
        d.finish(float(ends[-1]))
    active_s = float(active.sum() * HOP_S)
    arrays = dict(ends=np.asarray(ends, float), P=np.asarray(P, np.float32), active=np.asarray(active, bool))
    if not active.any():
        note = "no pose" if len(ends) == 0 else "no movement"
        probs = P.mean(0) if len(P) else np.eye(len(LABELS))[UNKNOWN]
        return RouterDecision("unknown", 1.0 if len(P) else 0.0, source, windows, _probs_dict(probs), 0.0, note,
                              **arrays)
    S = P[active].mean(0)
    if d.last_label is not None:
        L = d.last_label
        # until the set's own span is known (pipeline/movement/routing.py), the label's mean over the moving windows
        conf = span_confidence(ends, P, active, LABELS[L], -np.inf, np.inf)
        return RouterDecision(LABELS[L], conf, source, windows, _probs_dict(S), active_s,
                              t_commit=d.last_t_commit, **arrays)
    ex = int(np.argmax(S[:UNKNOWN]))
    why = None
    if sugg:
        why = "looks like " + " or ".join(f"{lab} ({p:.2f})" for lab, p in sugg) + ", but not sure enough"
    elif S[ex] >= 0.3:
        why = f"best guess {LABELS[ex]} ({S[ex]:.2f}) not confident or consistent enough"
    return RouterDecision("unknown", round(float(1.0 - S[ex]), 4), source, windows, _probs_dict(S), active_s, why,
                          suggestion=sugg, **arrays)


_CACHE: dict[str, Router] = {}
_LOCK = threading.Lock()


def load_router(kind: str = "model") -> Router:
    """Cached router per kind, loaded from the shipped weights in ``models/weights``."""
    with _LOCK:
        if kind not in _CACHE:
            _CACHE[kind] = Router(kind)
        return _CACHE[kind]


class LiveRouter:
    """Causal frame-by-frame router (one per live session): scores a window every ``HOP_S`` on the clip's grid
    and feeds it to the same :class:`Decider` as the batch decision.

    Scoring a window (features, the networks, the decider: ~7 ms, every ~8th frame at 30 fps) is not done inside
    the :meth:`update` of the frame that makes the window due but in :meth:`flush`, which the live session calls
    after that frame's result has gone to the page; :meth:`update` and :meth:`finish` flush first anyway. Scoring
    then stays off the latency of the frame whose result the user waits for, and every caller sees the same
    decisions in the same order: a decision shows in the state of the frame after the one that made its window
    due (1/30 s later), with the same times (a window's end, the decider's commit time) as before.
    """

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
        self._dec = Decider(self.prm)
        self._ema: np.ndarray | None = None
        self._override: str | None = None
        self._last_probs = np.eye(len(LABELS))[UNKNOWN]
        self._suggestion: list[tuple[str, float]] | None = None
        self._dropped = False
        self._finished_t: float | None = None
        self._due: list[float] = []  # ends of the windows made due by the last update, scored by flush()
        self._win: tuple[float, float, str, float] | None = None  # the last window flush() scored, not yet reported
        self.windows: list[tuple[float, float, str, float]] = []
        self._hist_t: list[float] = []  # every scored window: end, calibrated probabilities, moving (span_confidence)
        self._hist_p: list[np.ndarray] = []
        self._hist_a: list[bool] = []
        self.n_evals = 0

    def override(self, label: str | None) -> None:
        if label is not None and label not in LABELS:
            raise ValueError(f"unknown exercise label: {label}")
        self._override = label

    @property
    def t_commit(self) -> float | None:
        return self._dec.t_commit

    def span_confidence(self, label: str, t0: float, t1: float, flush: bool = False) -> float | None:
        """:func:`span_confidence` over the windows scored so far; ``flush`` scores the due ones first (at the end of a
        set: the same windows batch sees; not on every frame, where scoring waits for :meth:`flush`)."""
        if flush:
            self.flush()
        if not self._hist_t:
            return None
        return span_confidence(np.array(self._hist_t), np.array(self._hist_p), np.array(self._hist_a), label, t0, t1)

    @property
    def last_label(self) -> str:
        """The last exercise committed to (kept after a drop back to unknown), as the batch decision reports."""
        return "unknown" if self._dec.last_label is None else LABELS[self._dec.last_label]

    @property
    def last_t_commit(self) -> float | None:
        return self._dec.last_t_commit

    def flush(self) -> None:
        """Score the windows the last :meth:`update` made due (nothing if none or already done)."""
        due, self._due = self._due, []
        for te in due:
            self._win = self._evaluate(te) or self._win

    def update(self, cf) -> LiveRouterState:
        self.flush()  # the windows due since the last frame, with the frames seen until then (as before)
        t = float(cf.t)
        if self._t0 is None:
            self._t0 = t
            self._next_end = t + WIN_S
        self._buf.append(cf)
        if cf.valid:
            self._last_valid_t = t
        while self._buf and self._buf[0].t < t - WIN_S - 2 * MAX_GAP_S - 0.5:
            self._buf.popleft()
        # a window is due once a valid frame at/after its end exists (as in batch), or the gap is too long
        while self._next_end is not None and (
                (self._last_valid_t is not None and self._last_valid_t >= self._next_end - 1e-9)
                or t > self._next_end + MAX_GAP_S):
            self._due.append(self._next_end)
            self._next_end += HOP_S
        st = self._state(t, self._win)
        self._win, self._dropped = None, False  # reported once
        return st

    def finish(self) -> LiveRouterState:
        """End of the stream: score the grid windows still pending and the final window (as the batch decision does),
        then let the decider settle a clip too short for the vote."""
        self.flush()
        self._win = None
        if not self._buf:
            return self._state(0.0, None)
        t = float(self._buf[-1].t)
        if self._finished_t == t:  # already settled, no frame since
            return self._state(t, None)
        self._finished_t = t
        while self._next_end is not None and self._next_end <= t + 1e-9:
            self._evaluate(self._next_end)
            self._next_end += HOP_S
        last_grid = self._next_end - HOP_S if self._next_end is not None and self._t0 is not None and \
            self._next_end - HOP_S >= self._t0 + WIN_S - 1e-9 else None
        te = final_window_end(self._last_valid_t, last_grid)
        win = self._evaluate(te) if te is not None else None
        if self._dec.active_n:
            self._dec.finish(te if te is not None else (last_grid or t))
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
        active = bool(e >= self.prm.gate)
        self._last_probs = p
        lab, conf = _window_label(p, active)
        w = (round(t_end - WIN_S, 3), round(t_end, 3), lab, conf)
        self.windows.append(w)
        self._hist_t.append(float(t_end))
        self._hist_p.append(np.asarray(p, np.float32))
        self._hist_a.append(active)
        while len(self._hist_t) > 4 and self._hist_t[0] < t_end - 900.0:  # a set is never 15 minutes long
            del self._hist_t[0], self._hist_p[0], self._hist_a[0]
        if active:
            self._ema = p.copy() if self._ema is None else 0.75 * self._ema + 0.25 * p
        self._dec.push(t_end, p, active, window_summary(feats))
        self._dropped = self._dropped or self._dec.dropped
        self._suggestion = self._dec.suggestion()
        return w

    def _state(self, t: float, win) -> LiveRouterState:
        probs = _probs_dict(self._ema if self._ema is not None else self._last_probs)
        if self._override is not None:
            return LiveRouterState(self._override, 1.0, True, self._dec.t_commit, probs, "user", t, win)
        if self._dec.label is None:
            ex = max(probs[k] for k in EXERCISES)
            return LiveRouterState("unknown", round(1.0 - ex, 4), False, None, probs, self.router.kind, t, win,
                                   suggestion=self._suggestion, dropped=self._dropped)
        lab = LABELS[self._dec.label]
        return LiveRouterState(lab, probs[lab], True, self._dec.t_commit, probs, self.router.kind, t, win)


def live_run(router: Router, frames) -> tuple[LiveRouterState | None, LiveRouter]:
    """Feed a whole clip through a LiveRouter, then end the stream; returns the last state."""
    lr = LiveRouter(router)
    st = None
    for cf in frames:
        st = lr.update(cf)
    if st is not None:
        st = lr.finish()
    return st, lr


def exercise_dict(dec: RouterDecision, live_commit_s: float | None = None) -> dict:
    """The decision as a dict for ``pipeline.schema.ExerciseModel(**d)``."""
    return {"label": dec.label, "confidence": float(dec.confidence), "source": dec.source,
            "windows": [{"t_start": a, "t_end": b, "label": lab, "confidence": float(c)} for a, b, lab, c in dec.windows],
            "live_commit_s": live_commit_s, "note": dec.note}


__all__ = ["exercise_dict", "LABELS", "EXERCISES", "UNKNOWN", "WEIGHTS_DIR", "HOP_S", "WIN_S", "span_confidence", "RouterDecision", "LiveRouterState", "Router", "LiveRouter",
           "load_router", "decide", "Decider", "DecisionParams", "live_run", "window_ends", "repetition_score",
           "final_window_end"]

"""The movement stage: one exercise module + the generic rep machine, fed one cleaned frame at a time.

``update(cf)`` is the live clock (returns the overlay state and, when a rep completes, its metrics, issues
and at most one cue); ``finish()`` closes the set and returns the evidence for the report. Batch analysis is
the same object fed in a loop, so live and batch give the same answer by construction.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..pose.cleaning import CleanFrame
from ..pose.landmarks import MIRROR
from ..schema import IssueModel, NotJudged, RepItem, RepsModel, VariationModel
from .exercises import Exercise
from .exercises.base import IssueRule, Judgement
from .repcount import Rep, RepCounter
from .signals import frame_signals, view_of

REF_FPS = 30.0  # the frame rate the noise figures were measured at
MOMENT_S = 0.2  # half-width of the window around the moment that decides a rule (bottom, lockout, peak)
MAX_GAP_S = 0.3  # a larger hole in the frames around that moment: not judged on that rep
MOMENT_WORDS = {"bottom": "bottom", "top": "lockout/top", "peak": "decisive moment"}


@dataclass
class RepResult:
    rep: Rep
    item: RepItem
    view: str
    issues: list[IssueModel]  # raised: past the threshold by more than the measurement uncertainty
    unjudged: list[NotJudged]
    borderline: list[IssueModel] = field(default_factory=list)  # past the threshold, inside the uncertainty


@dataclass
class Coverage:
    """How well the frames cover the moment that decides a rule on one rep."""

    n: int  # frames with the rule's signal within +-MOMENT_S of the moment
    factor: float  # noise multiplier (>= 1) for fewer frames than at REF_FPS
    sampling: float  # the signal's change and jitter between neighbouring frames there (metric units)
    reason: str = ""  # set when too few frames cover the moment to judge it at all


@dataclass
class MovementState:
    exercise: str
    phase: str
    count: int
    partial: int
    new_rep: Optional[RepResult] = None
    cue: Optional[str] = None  # cue suggested by the rep that just completed (the live session rate-limits)
    cue_code: Optional[str] = None
    progress: Optional[float] = None  # 0..1 toward the exercise's range target (Exercise.target), None: unknown


@dataclass
class SetEvidence:
    exercise: str
    view: str
    reps: RepsModel
    issues: list[IssueModel]
    variations: list[VariationModel]
    not_judged: list[NotJudged]
    rep_results: list[RepResult] = field(default_factory=list)
    borderline: list[IssueModel] = field(default_factory=list)  # in the report; never cued, never a fix

    @property
    def count(self) -> int:
        return self.reps.count


class MovementAnalyzer:
    def __init__(self, exercise: Exercise, walk_speed: float = 1.2, settle_s: float = 0.5, keep_s: float = 60.0,
                 chart_dt: float = 0.05):
        self.ex = exercise
        self.counter = RepCounter(exercise.params)
        self.walk_speed = walk_speed  # torso lengths per second of sideways hip travel = walking away
        self._t: list[float] = []
        self._sig: list[dict] = []
        self._vis: list[np.ndarray] = []
        self._frame: list[int] = []
        self._hip = deque(maxlen=64)
        self.results: list[RepResult] = []
        self.not_this: list[tuple[float, float, str]] = []  # reps that were another movement: (start, end, why)
        self._pending: Rep | None = None
        self.settle_s = settle_s
        self.max_settle_s = max(settle_s, 2.0)  # a slow lockout: wait at most this long for the real top
        self.still_s = 0.3  # the top has settled when the signal set no new high for this long
        self._peak = (math.nan, -math.inf)  # (t, value) of the highest signal since the pending rep counted
        self._close_t = math.nan  # the time up to which the pending rep's top was searched
        self._ref_top: dict | None = None  # signals where the set's first full rep completed
        # bounded memory: full per-frame signals only for the last keep_s seconds (enough for any rep);
        # a decimated copy of the chart signals for the whole set
        self.keep_s = keep_s
        self.chart_dt = chart_dt
        self._chart_keys = tuple(exercise.primary_angles) or (exercise.signal,)
        self._hist_t: list[float] = []
        self._hist: list[tuple] = []
        self._n = 0

    # -- live ---------------------------------------------------------------
    def update(self, cf: CleanFrame, signals: dict | None = None, frame_index: int | None = None) -> MovementState:
        s = signals if signals is not None else frame_signals(cf)
        if s:
            self.ex.prepare(s, cf)
        idx = self._n if frame_index is None else frame_index
        self._n += 1
        self._t.append(cf.t)
        self._sig.append(s)
        self._vis.append(cf.visibility if cf.valid else np.zeros(33, np.float32))
        self._frame.append(idx)
        if not self._hist_t or cf.t - self._hist_t[-1] >= self.chart_dt:
            self._hist_t.append(cf.t)
            self._hist.append(tuple(s.get(k, math.nan) if s else math.nan for k in self._chart_keys))
        if len(self._t) > 600 and cf.t - self._t[0] > self.keep_s * 1.5:
            self._trim(cf.t - self.keep_s)
        ok = bool(s) and cf.valid and self.ex.gate(s) and (not self.ex.walk_gate or not self._walking(cf.t, s))
        x = s.get(self.ex.signal, math.nan) if s else math.nan
        top_ok = bool(s) and self.ex.valid_top(s) and (self._ref_top is None or self.ex.same_posture(s, self._ref_top))
        rep = self.counter.update(cf.t, x, ok, at_bottom=bool(s) and self.ex.at_bottom(s), top_ok=top_ok,
                                  bottom_ok=bool(s) and self.ex.valid_bottom(s))
        # (the window starts a little before the descent so that the top it started from is in it)
        if rep is not None and not self.ex.accept(self._window(rep.start_t - 0.5, rep.end_t)[0], rep):
            self.counter.discard(rep)  # not this (taught) exercise's movement: forgotten
            rep = None
        if rep is not None and not rep.partial:
            w = self._window(rep.start_t - 0.5, rep.end_t)[0]
            why = self.ex.not_this(w, rep, settled=False)
            if why is not None or self.ex.full_depth(w, rep) is False:
                # another movement (a jump, a pull-up), or too shallow by the exercise's own depth measure: partial
                self.counter.demote(rep)
                if why is not None:
                    self.not_this.append((rep.start_t, rep.end_t, why))
        if rep is not None and not rep.partial and self._ref_top is None:
            self._ref_top = self._top_posture(rep, s)  # the start posture later reps must return to
        st = MovementState(exercise=self.ex.name, phase=self.counter.phase, count=self.counter.count,
                           partial=sum(1 for r in self.counter.reps if r.partial))
        st.progress = self._progress(x) if ok else None
        # a rep counts the moment it completes; its metrics wait until the top has settled (no new high for
        # still_s, at most max_settle_s) or the next descent starts, so lockout and top angles are measured at
        # the real top even when the lockout is slow
        if self._pending is not None:
            if math.isfinite(x) and x > self._peak[1]:
                self._peak = (cf.t, x)
            settled = cf.t >= self._pending.end_t + self.settle_s and cf.t - self._peak[0] >= self.still_s
            if settled or cf.t >= self._pending.end_t + self.max_settle_s or self.counter.phase == "lowering" \
                    or rep is not None:
                self._close_t = cf.t if rep is None else self._t[-2] if len(self._t) > 1 else cf.t
                st.new_rep = self._close_pending(st)
        if rep is not None:
            self._pending = rep
            self._peak = (rep.end_t, rep.end_value)
        return st

    def _top_posture(self, rep: Rep, s: dict) -> dict:
        """The posture at the top of a rep: each signal's median over the frames near the top (the counting signal in
        the upper fifth of the rep's range, before the descent and at the finish), not one frame's reading."""
        w, _ = self._window(rep.start_t - 0.5, rep.end_t)
        x = w.get(self.ex.signal)
        if x is None or not np.isfinite(x).any():
            return dict(s)
        near = np.isfinite(x) & (x >= rep.bottom_value + 0.8 * max(rep.rom, 1e-6))
        if near.sum() < 3:
            return dict(s)
        out = {}
        for k, v in w.items():
            if k != "t" and np.isfinite(v[near]).any():
                out[k] = float(np.nanmedian(v[near]))
        return out or dict(s)

    def _close_pending(self, st: MovementState | None = None) -> RepResult:
        rep, self._pending = self._pending, None
        if not rep.partial:
            # once the top has settled: was the rep another movement after all (a jump takes off after the count)?
            t_close = self._close_t if math.isfinite(self._close_t) else rep.end_t + self.max_settle_s
            why = self.ex.not_this(self._window(rep.start_t - 0.5, t_close)[0], rep, settled=True)
            if why is not None:
                self.counter.demote(rep)
                self.not_this.append((rep.start_t, rep.end_t, why))
                if st is not None:
                    st.count = self.counter.count
                    st.partial = sum(1 for r in self.counter.reps if r.partial)
        res = self._evaluate(rep)
        self.results.append(res)
        if st is not None:
            sup = self._suppressed(self._variations())
            live = [i for i in res.issues if i.code not in sup and i.confidence >= 0.6]
            if live:
                top = max(live, key=lambda i: i.severity)
                st.cue, st.cue_code = top.cue, top.code
        return res

    def _progress(self, x: float) -> float | None:
        """The live range bar: the counting signal against the athlete's running top (the rep machine's) and working
        bottom (median bottom of the counted reps), toward the exercise's own target."""
        c = self.counter
        bottoms = c._bottoms  # the rep machine's own record (read-only here)
        bottom = float(np.median(bottoms)) if bottoms else math.nan
        return self.ex.range_progress(x, c._top if c.phase != "idle" else math.nan, bottom)

    def _walking(self, t: float, s: dict) -> bool:
        if not s or not math.isfinite(s.get("hip_x", math.nan)):
            return False
        self._hip.append((t, s["hip_x"]))
        while len(self._hip) > 2 and self._hip[0][0] < t - 0.6:
            self._hip.popleft()
        if len(self._hip) < 3:
            return False
        (t0, x0), (t1, x1) = self._hip[0], self._hip[-1]
        return t1 > t0 and abs(x1 - x0) / (t1 - t0) > self.walk_speed

    # -- per rep ------------------------------------------------------------
    def _window(self, t0: float, t1: float) -> tuple[dict[str, np.ndarray], slice]:
        ts = np.asarray(self._t)
        i0 = int(np.searchsorted(ts, t0, "left"))
        i1 = int(np.searchsorted(ts, t1, "right"))
        rows = self._sig[i0:i1]
        keys = set().union(*[r.keys() for r in rows]) if rows else set()
        w = {k: np.array([r.get(k, np.nan) for r in rows], float) for k in keys}
        w["t"] = ts[i0:i1]
        return w, slice(i0, i1)

    def _evaluate(self, rep: Rep) -> RepResult:
        # the top after the count: until the top settled, never into the next descent
        ts = np.asarray(self._t)
        t_close = self._close_t if math.isfinite(self._close_t) else rep.end_t + self.max_settle_s
        self._close_t = math.nan
        j0 = int(np.searchsorted(ts, rep.end_t, "left"))
        j1 = int(np.searchsorted(ts, min(t_close, rep.end_t + self.max_settle_s), "right"))
        xs = np.array([self._sig[j].get(self.ex.signal, np.nan) if self._sig[j] else np.nan for j in range(j0, j1)])
        if len(xs) and np.isfinite(xs).any():
            k = int(np.nanargmax(xs))
            # stop at the first frame past the peak that falls again by a clear margin
            rep.end_t = float(ts[j0 + k])
            rep.end_value = float(xs[k])
        w, sl = self._window(rep.start_t, rep.end_t)
        x = w.get(self.ex.signal, np.array([]))
        view = view_of(w.get("yaw", np.array([])))
        top_v, bottom_v, rom_v = max(rep.top_value, rep.end_value), rep.bottom_value, rep.rom
        if self.ex.angle != self.ex.signal:
            # counted on a position signal: the range is reported in degrees of the exercise's joint angle, from a
            # little before the descent (the top it started from) to the settled top
            a = self._window(rep.start_t - 0.3, rep.end_t)[0].get(self.ex.angle)
            if a is not None and np.isfinite(a).any():
                top_v, bottom_v = float(np.nanpercentile(a, 98)), float(np.nanpercentile(a, 2))
                rom_v = top_v - bottom_v
            else:
                top_v = bottom_v = rom_v = math.nan
        m: dict[str, float | None] = {
            "rom_deg": round(rom_v, 1) if math.isfinite(rom_v) else None,
            "top_deg": round(top_v, 1) if math.isfinite(top_v) else None,
            "bottom_deg": round(bottom_v, 1) if math.isfinite(bottom_v) else None,
            "eccentric_s": round(rep.bottom_t - rep.start_t, 2),
            "concentric_s": round(rep.end_t - rep.bottom_t, 2),
            "duration_s": round(rep.end_t - rep.start_t, 2),
            "pause_bottom_s": _pause(w.get("t"), x, rep.bottom_value, rep.rom),
        }
        for k, v in self.ex.rep_metrics(w, rep).items():
            m[k] = None if v is None or not math.isfinite(v) else round(float(v), 3)
        frames = self._frame[sl]
        item = RepItem(index=rep.index, start_s=round(rep.start_t, 3), bottom_s=round(rep.bottom_t, 3),
                       end_s=round(rep.end_t, 3), partial=rep.partial,
                       start_frame=frames[0] if frames else 0, end_frame=frames[-1] if frames else 0, metrics=m,
                       side=self.ex.rep_side(w, rep))
        issues, borderline, unjudged = [], [], []
        if not rep.partial:
            for rule0 in self.ex.issue_rules:
                rule = rule0.for_view(view)
                if rule is None:
                    unjudged.append(NotJudged(code=rule0.code, reps=[rep.index], reason=rule0.view_reason or
                                              f"the {view} view cannot judge this"))
                    continue
                val = m.get(rule.metric)
                if val is None:
                    unjudged.append(NotJudged(code=rule0.code, reps=[rep.index], reason=rule.unmeasured_reason or (
                        f"{rule.label.lower()} could not be measured: the body parts it needs were not visible")))
                    continue
                cov = self._coverage(rule, rep, float(val))
                if cov.reason:
                    unjudged.append(NotJudged(code=rule0.code, reps=[rep.index], reason=cov.reason))
                    continue
                vis = self._visibility(rule, rep)
                j = rule.judge(float(val), rule.sigma(view, vis, cov.factor, cov.sampling))
                if j.status != "clear":
                    (issues if j.status == "raised" else borderline).append(self._issue(rule, float(val), rep, item, j,
                                                                                         cov.n))
        return RepResult(rep=rep, item=item, view=view, issues=issues, unjudged=unjudged, borderline=borderline)

    def _moment_t(self, rule: IssueRule, rep: Rep, val: float) -> float:
        if rule.moment == "bottom":
            return rep.bottom_t
        if rule.moment == "top":
            return rep.end_t
        # the frame whose signal value is closest to the metric (the one that decided it)
        if rule.signal:
            w, _ = self._window(rep.start_t, rep.end_t)
            x = w.get(rule.signal)
            if x is not None and np.isfinite(x).any():
                d = np.abs(np.abs(x) - abs(val))
                return float(w["t"][int(np.nanargmin(np.where(np.isfinite(d), d, np.inf)))])
        return rep.bottom_t

    def _coverage(self, rule: IssueRule, rep: Rep, val: float) -> Coverage:
        """Frames around the moment that decides ``rule`` on ``rep``: too few = not judged; fewer than at
        REF_FPS = more noise; the signal's change between neighbouring frames = sampling error."""
        tc = self._moment_t(rule, rep, val)
        ts = np.asarray(self._t)
        i0 = int(np.searchsorted(ts, tc - MOMENT_S - 1e-9, "left"))
        i1 = int(np.searchsorted(ts, tc + MOMENT_S + 1e-9, "right"))
        key = rule.signal or self.ex.signal
        x = np.array([self._sig[j].get(key, np.nan) if self._sig[j] else np.nan for j in range(i0, i1)], float)
        tt = ts[i0:i1]
        ok = np.isfinite(x)
        n = int(ok.sum())
        where = MOMENT_WORDS.get(rule.moment, "decisive moment")
        if n < 2:
            return Coverage(n, math.inf, 0.0, f"only {n} usable frame{'s' if n != 1 else ''} around the {where} of "
                                              f"rep {rep.index}: too few to judge it")
        tv, xv = tt[ok], x[ok]
        gap = float(np.max(np.diff(tv)))
        # the frames next to the moment on either side: a hole there may hide the real bottom or lockout
        j0 = int(np.searchsorted(ts, tc - 1.0, "left"))
        j1 = int(np.searchsorted(ts, tc + 1.0, "right"))
        tw = np.array([ts[j] for j in range(j0, j1) if self._sig[j] and math.isfinite(self._sig[j].get(key, math.nan))])
        k = int(np.argmin(np.abs(tw - tc)))
        hole = max(tw[k] - tw[k - 1] if k > 0 else 0.0, tw[k + 1] - tw[k] if k + 1 < len(tw) else 0.0,
                   2 * abs(tw[k] - tc), gap)
        if hole > MAX_GAP_S:
            return Coverage(n, math.inf, 0.0, f"frames were missing around the {where} of rep {rep.index} "
                                              f"(a {hole:.2f} s hole): too few to judge it")
        # the span the stream could have covered (a rep at the very start or end of a stream has less)
        span = min(tc + MOMENT_S, ts[-1]) - max(tc - MOMENT_S, ts[0])
        n_ref = max(2.0, REF_FPS * span)
        factor = math.sqrt(max(1.0, n_ref / n))
        sampling = 0.0
        if rule.signal and n >= 3:
            dx = np.diff(xv)
            # the signal's typical change between the frames at hand (where the true extreme may hide) ...
            slope = np.abs(dx / np.maximum(np.diff(tv), 1e-3))
            sampling = 0.5 * float(np.median(slope)) * gap
            # ... and its frame-to-frame jitter around its own trend (pose quality on this rep)
            jitter = 1.4826 * float(np.median(np.abs(dx - np.median(dx)))) / math.sqrt(2.0)
            sampling = math.hypot(sampling, jitter)
        return Coverage(n, factor, sampling)

    def _visibility(self, rule: IssueRule, rep: Rep) -> float:
        """Mean visibility of the rule's joints over the rep (each joint or its mirror, whichever is clearer)."""
        if not rule.joints:
            return 0.9
        ts = np.asarray(self._t)
        i0 = int(np.searchsorted(ts, rep.start_t, "left"))
        i1 = int(np.searchsorted(ts, rep.end_t, "right"))
        rows = [v for v in self._vis[i0:i1] if v.any()]
        if not rows:
            return 0.0
        vis = np.stack(rows)
        j = list(rule.joints)
        return float(np.mean(np.maximum(vis[:, j], vis[:, [MIRROR[k] for k in j]])))

    def _issue(self, rule: IssueRule, val: float, rep: Rep, item: RepItem, j: Judgement, frames: int) -> IssueModel:
        return IssueModel(code=rule.code, label=rule.label, severity=round(rule.severity(val), 3), rep=rep.index,
                          metric=rule.metric, value=round(float(val), 3), threshold=rule.threshold, unit=rule.unit,
                          t_start=item.start_s, t_end=item.end_s, frame_start=item.start_frame,
                          frame_end=item.end_frame, confidence=round(min(1.0, max(0.0, j.confidence)), 3),
                          cue=rule.cue, joints=list(rule.joints), status=j.status,
                          uncertainty=round(j.margin, 3), frames=frames)

    # -- set level ------------------------------------------------------------
    def _variations(self) -> list[VariationModel]:
        reps = [r.item.metrics for r in self.results if not r.rep.partial]
        if not reps:
            return []
        out = []
        views = [r.view for r in self.results if not r.rep.partial]
        ctx = {"view": max(set(views), key=views.count) if views else "unknown"}
        for v in self.ex.variation_rules:
            if ctx["view"] not in v.views:
                continue
            ok, conf, ev = v.detect(reps, ctx)
            if ok:
                out.append(VariationModel(code=v.code, label=v.label, confidence=round(conf, 3),
                                          evidence={k: (round(x, 3) if isinstance(x, float) else x)
                                                    for k, x in ev.items()} | {"note": v.note},
                                          suppresses=list(v.suppresses)))
        return out

    @staticmethod
    def _suppressed(variations: list[VariationModel]) -> set[str]:
        return {c for v in variations for c in v.suppresses}

    def finish(self) -> SetEvidence:
        if self._pending is not None:
            self._close_pending()
        variations = self._variations()
        sup = self._suppressed(variations)
        issues = [i for r in self.results for i in r.issues if i.code not in sup]
        borderline = [i for r in self.results for i in r.borderline if i.code not in sup]
        seen: dict[str, NotJudged] = {}
        for r in self.results:
            for nj in r.unjudged:
                if nj.code in seen:
                    seen[nj.code].reps = sorted(set(seen[nj.code].reps) | set(nj.reps))
                else:
                    seen[nj.code] = nj.model_copy(deep=True)
        for v in variations:
            for code in v.suppresses:
                seen.setdefault(code, NotJudged(code=code, reason=f"explained by the {v.label.lower()} variation"))
        items = [r.item for r in self.results]
        full = [r for r in self.results if not r.rep.partial]
        reps = RepsModel(count=self.counter.count, partial=len(self.results) - len(full), items=items,
                         set_metrics=_set_metrics([r.item.metrics for r in full]) |
                         self.ex.set_metrics([r.item for r in full]))
        views = [r.view for r in full] or [view_of(np.array([s.get("yaw", np.nan) for s in self._sig if s]))]
        view = max(set(views), key=views.count)
        issues.sort(key=lambda i: (-i.severity, i.rep or 0))
        borderline.sort(key=lambda i: (-i.confidence, i.rep or 0))
        return SetEvidence(exercise=self.ex.name, view=view, reps=reps, issues=issues, variations=variations,
                           not_judged=list(seen.values()), rep_results=self.results, borderline=borderline)

    def _trim(self, t_min: float) -> None:
        if self._pending is not None:
            t_min = min(t_min, self._pending.start_t - 1.0)
        k = int(np.searchsorted(np.asarray(self._t), t_min, "left"))
        if k > 0:
            del self._t[:k], self._sig[:k], self._vis[:k], self._frame[:k]

    # -- data for plots -------------------------------------------------------
    def series(self, keys: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
        """The chart signals over the whole set (decimated to ``chart_dt``)."""
        keys = tuple(keys or self._chart_keys)
        out = {"t": np.asarray(self._hist_t, float)}
        arr = np.asarray(self._hist, float).reshape(len(self._hist_t), len(self._chart_keys))
        for k in keys:
            if k in self._chart_keys:
                out[k] = arr[:, self._chart_keys.index(k)]
        return out


def _pause(t, x, bottom: float, rom: float) -> float | None:
    """Time spent within 5 % of the range from the bottom (a held bottom, not a slow turn)."""
    if t is None or x is None or len(t) < 2 or not math.isfinite(rom) or rom <= 0:
        return None
    near_bottom = np.isfinite(x) & (x <= bottom + max(0.05 * rom, 3.0))
    dt = np.diff(t, append=t[-1])
    return round(float(np.sum(dt[near_bottom])), 2)


def _set_metrics(reps: list[dict]) -> dict[str, float | None]:
    """Tempo consistency and fatigue trend (first reps vs last)."""
    out: dict[str, float | None] = {"tempo_cv": None, "rom_change_pct": None, "concentric_change_pct": None,
                                    "mean_duration_s": None, "mean_rom_deg": None}
    if not reps:
        return out
    dur = np.array([r.get("duration_s") or np.nan for r in reps], float)
    rom = np.array([r.get("rom_deg") or np.nan for r in reps], float)
    con = np.array([r.get("concentric_s") or np.nan for r in reps], float)
    out["mean_duration_s"] = round(float(np.nanmean(dur)), 2)
    out["mean_rom_deg"] = round(float(np.nanmean(rom)), 1)
    if len(reps) >= 2:
        out["tempo_cv"] = round(float(np.nanstd(dur) / max(np.nanmean(dur), 1e-6)), 3)
    if len(reps) >= 3:
        k = max(1, len(reps) // 3)
        first, last = slice(0, k), slice(len(reps) - k, len(reps))
        out["rom_change_pct"] = round(float((np.nanmean(rom[last]) / np.nanmean(rom[first]) - 1) * 100), 1)
        out["concentric_change_pct"] = round(float((np.nanmean(con[last]) / np.nanmean(con[first]) - 1) * 100), 1)
    return out

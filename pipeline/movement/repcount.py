"""Generic incremental rep state machine, fed one (t, value) at a time.

The exercise supplies a signal where the *top* (standing, arms locked out) is a high value and the
*bottom* a low value (a joint angle), plus its priors in :class:`RepParams`. The machine:

* goes top → lowering → bottom → rising → top with two-threshold hysteresis: it leaves the top when the
  signal drops ``enter`` below the running top, confirms a bottom only when the signal has turned and risen
  ``turn`` above its minimum, and completes the rep when it has come back ``finish`` of the way up;
* measures every phase in seconds from timestamps (frames may be dropped live);
* adapts to this athlete: the top is the running top of the current set, the working depth is the median
  depth of the counted reps, and thresholds scale with them;
* counts a rep only when the top is reached after a real bottom, in the exercise's start posture (``top_ok``);
  a set that begins at the bottom counts its first ascent; an unfinished final descent is not a rep; a rep that
  did not reach the working depth is reported as partial and not counted (the exercise can also
  :meth:`~RepCounter.demote` a rep its own depth measure finds too shallow); an ascent that stalls and goes back
  down before the top (a failed pull, a half rep) is reported as a partial rep; a posture change (getting up,
  walking away) aborts the rep.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class RepParams:
    prior_top: float  # typical top value before the athlete's own is known
    start_bottom_max: float  # a set starting at or below this value starts "at the bottom"
    min_rom: float  # smallest movement (signal units) that can be a rep at all
    enter_abs: float = 12.0  # leave the top after dropping this much (or enter_frac of working ROM)
    enter_frac: float = 0.2
    turn_abs: float = 10.0  # confirm a bottom after rising this much from the minimum
    turn_frac: float = 0.2
    finish_frac: float = 0.75  # rep done when back up this share of its own range
    partial_frac: float = 0.6  # depth below this share of the working depth = partial rep
    stall_frac: float = 0.35  # an ascent that rose this share of its depth, then fell back by `turn`, = partial
    first_partial_bottom: Optional[float] = None  # before any full rep: bottoms above this are partial
    min_phase_s: float = 0.15  # minimum lowering and rising durations
    min_rep_s: float = 0.5
    max_phase_s: float = 8.0  # a phase longer than this resets the machine (athlete stopped)
    top_window_s: float = 4.0  # the running top forgets values older than this while at the top
    # noise: the machine reads the causal median of the last ``smooth_s`` seconds of the signal (a glitch of a frame or
    # two -- a landmark that jumped, a codec artefact -- never turns a phase), and its hysteresis is at least
    # ``noise_k`` times the signal's own measured jitter (the robust spread of the raw signal around that median)
    smooth_s: float = 0.1
    noise_k: float = 3.0


@dataclass
class Rep:
    start_t: float
    bottom_t: float
    end_t: float
    top_value: float
    bottom_value: float
    end_value: float
    partial: bool = False
    first_ascent: bool = False  # the set began at the bottom
    stalled: bool = False  # the ascent turned back down before the top (always partial)
    index: int = 0  # 1-based among counted reps; 0 for partial reps

    @property
    def rom(self) -> float:
        return max(self.top_value, self.end_value) - self.bottom_value


TOP, LOWERING, RISING, IDLE = "top", "lowering", "rising", "idle"


@dataclass
class RepCounter:
    params: RepParams
    phase: str = IDLE
    count: int = 0
    reps: list = field(default_factory=list)
    _top: float = math.nan
    _top_hist: list = field(default_factory=list)  # (t, value) while at the top
    _start_t: float = math.nan
    _min: float = math.nan
    _min_t: float = math.nan
    _phase_t: float = math.nan
    _from_bottom: bool = False
    _last_t: float = math.nan
    _roms: list = field(default_factory=list)
    _rom_reps: list = field(default_factory=list)  # the rep each of _roms came from
    _bottoms: list = field(default_factory=list)
    _last_rom_added: bool = False
    _peak: float = math.nan  # highest value since the bottom (an ascent in progress)
    _peak_t: float = math.nan
    _raw: list = field(default_factory=list)  # (t, x) of the last smooth_s seconds
    _hist3: list = field(default_factory=list)  # the last three raw values (second differences)
    _resid: list = field(default_factory=list)  # |raw - median| of the last ~3 s (the jitter estimate)
    noise: float = 0.0  # robust one-sigma jitter of the signal (its unit)

    # -- adaptive thresholds ------------------------------------------------
    @property
    def working_rom(self) -> float:
        if self._roms:
            r = sorted(self._roms)
            return r[len(r) // 2]
        return math.nan

    def _enter(self) -> float:
        p, w = self.params, self.working_rom
        e = max(p.enter_abs, p.enter_frac * w) if math.isfinite(w) else p.enter_abs
        return max(e, p.noise_k * self.noise)

    def _turn(self, depth: float) -> float:
        p = self.params
        return max(p.turn_abs, p.turn_frac * depth, p.noise_k * self.noise)

    def _smooth(self, t: float, x: float) -> float:
        """The causal median of the last ``smooth_s`` seconds (the current sample included); updates the jitter
        estimate: the robust spread of the raw signal's second differences over the last 3 s (a smooth movement's
        second difference is a fraction of a unit at camera rates; white jitter of sigma gives sigma * sqrt(6))."""
        raw = self._raw
        raw.append((t, x))
        h = self._hist3
        h.append(x)
        if len(h) > 3:
            h.pop(0)
        if len(h) == 3:
            self._resid.append((t, abs(h[2] - 2 * h[1] + h[0])))
            while self._resid and self._resid[0][0] < t - 3.0:
                self._resid.pop(0)
            if len(self._resid) >= 5:
                r = sorted(v for _, v in self._resid)
                self.noise = 1.4826 * r[len(r) // 2] / math.sqrt(6.0)
        while len(raw) > 1 and raw[0][0] < t - self.params.smooth_s - 1e-9:
            raw.pop(0)
        vals = sorted(v for _, v in raw)
        n = len(vals)
        med = vals[n // 2] if n % 2 else 0.5 * (vals[n // 2 - 1] + vals[n // 2])
        return med

    def reset(self) -> None:
        """Forget the rep in progress (invalid pose, posture change); keep counted reps and learnt depth."""
        self.phase = IDLE
        self._top = math.nan
        self._top_hist = []
        self._min = math.nan
        self._from_bottom = False

    # -- the machine --------------------------------------------------------
    def update(self, t: float, x: float, ok: bool = True, at_bottom: bool = False,
               top_ok: bool = True, bottom_ok: bool = True) -> Optional[Rep]:
        """Feed one sample. Returns a :class:`Rep` (counted or partial) when one completes.

        ``at_bottom`` is the exercise's own judgement that the pose is a bottom position (used only to
        decide whether a set starts at the bottom); ``top_ok`` says whether the pose is a valid top (a
        plank at the top of a push-up, hands overhead at a press lockout): a rep only completes on one, so
        pushing up off the floor to stand after the last rep is not counted. ``bottom_ok`` says whether a low pose is
        the exercise's own bottom (a plank for push-ups): a set only starts at the bottom from one, so getting down
        into position is not a first ascent."""
        p = self.params
        if not ok or x is None or not math.isfinite(x):
            if math.isfinite(self._last_t) and t - self._last_t > 1.0:
                self.reset()
            return None
        if math.isfinite(self._last_t) and t - self._last_t > 0.5:
            self._raw.clear()  # after a gap the median and the differences start afresh
            self._hist3.clear()
        self._last_t = t
        x = self._smooth(t, float(x))
        if self.phase == IDLE:
            if (x <= p.start_bottom_max or at_bottom) and not bottom_ok:
                return None  # low, but not in the exercise's bottom position: wait
            if x <= p.start_bottom_max or at_bottom:
                # the set starts at (or near) the bottom: wait for the first ascent
                self.phase = LOWERING
                self._top = max(p.prior_top, x)
                self._start_t, self._phase_t = t, t
                self._min, self._min_t = x, t
                self._from_bottom = True
            elif top_ok:  # the set starts at the top once the athlete is in the top posture
                self.phase = TOP
                self._top = x
                self._top_hist = [(t, x)]
                self._phase_t = t
            return None

        if self.phase == TOP:
            if top_ok:
                # the running top is the athlete's top posture (a plank, standing tall): getting into position --
                # kneeling, bent over -- can read higher and must not become the height later reps are measured from
                self._top_hist.append((t, x))
            cut = t - p.top_window_s
            while len(self._top_hist) > 2 and self._top_hist[0][0] < cut:
                self._top_hist.pop(0)
            self._top = max(v for _, v in self._top_hist)
            if x < self._top - self._enter():
                # the descent started at the last time we were near the top
                start = t
                for tt, vv in reversed(self._top_hist):
                    if vv >= self._top - 0.35 * self._enter():
                        start = tt
                        break
                self.phase = LOWERING
                self._start_t, self._phase_t = start, t
                self._min, self._min_t = x, t
                self._from_bottom = False
            return None

        if self.phase == LOWERING:
            if x < self._min:
                self._min, self._min_t = x, t
            depth = self._top - self._min
            if t - self._phase_t > p.max_phase_s and t - self._min_t > p.max_phase_s / 2:
                self._restart_top(t, x)
                return None
            if x > self._min + self._turn(depth):
                if depth >= p.min_rom and (self._min_t - self._start_t >= p.min_phase_s or self._from_bottom):
                    self.phase = RISING
                    self._phase_t = t
                    self._peak, self._peak_t = x, t
                elif x >= self._top - self._enter():
                    # a wobble at the top, not a rep
                    self._restart_top(t, x)
            return None

        if self.phase == RISING:
            if x < self._min:  # went down again before finishing: still the same descent
                self._min, self._min_t = x, t
                self.phase = LOWERING
                return None
            depth = self._top - self._min
            if x > self._peak:
                self._peak, self._peak_t = x, t
            rise = self._peak - self._min
            if x < self._peak - self._turn(rise) and rise >= max(p.turn_abs, p.stall_frac * depth):
                # the ascent stalled and went back down before the top (a failed pull, a half rep): report it
                # as a partial rep, then follow the new descent from where the ascent stalled
                rep = Rep(start_t=self._start_t, bottom_t=self._min_t, end_t=self._peak_t, top_value=self._top,
                          bottom_value=self._min, end_value=self._peak, partial=True,
                          first_ascent=self._from_bottom, stalled=True)
                self.reps.append(rep)
                self._last_rom_added = False
                self.phase = LOWERING
                self._start_t, self._phase_t = self._peak_t, t
                self._min, self._min_t = x, t
                return rep
            if t - self._phase_t > p.max_phase_s:
                self._restart_top(t, x)
                return None
            if x >= self._min + p.finish_frac * depth and t - self._min_t >= p.min_phase_s and \
                    t - self._start_t >= p.min_rep_s and top_ok:
                rep = self._complete(t, x, depth)
                self._restart_top(t, x)
                return rep
            return None
        return None

    def demote(self, rep: Rep) -> None:
        """The exercise judged a counted rep not a full rep of it (too shallow, or another movement altogether): report
        it as partial instead, and keep its depth out of the working depth. Only the last counted rep can be
        demoted (right after it counted, or once its top settled: a jump's take-off comes after the count)."""
        if rep.partial or rep.index == 0 or rep.index != self.count:
            return
        rep.partial, rep.index = True, 0
        self.count -= 1
        if self._rom_reps and self._rom_reps[-1] is rep:
            self._roms.pop()
            self._rom_reps.pop()
        if self._bottoms:
            self._bottoms.pop()
        self._last_rom_added = False

    def discard(self, rep: Rep) -> None:
        """The exercise found that a rep the machine just returned (counted or partial) was not its movement at all:
        forget it. Call it before the next ``update``."""
        if not self.reps or self.reps[-1] is not rep:
            return
        self.demote(rep)
        self.reps.pop()

    def _restart_top(self, t: float, x: float) -> None:
        self.phase = TOP
        self._top = x
        self._top_hist = [(t, x)]
        self._phase_t = t
        self._from_bottom = False

    def _complete(self, t: float, x: float, depth: float) -> Rep:
        p = self.params
        w = self.working_rom
        if math.isfinite(w):
            # a rep that reached the exercise's bottom zone (start_bottom_max: thighs about parallel, the bar at the
            # shoulders) is a full rep whatever the athlete's deeper reps did
            partial = depth < p.partial_frac * w and self._min > p.start_bottom_max
        else:
            partial = p.first_partial_bottom is not None and self._min > p.first_partial_bottom
        rep = Rep(start_t=self._start_t, bottom_t=self._min_t, end_t=t, top_value=self._top,
                  bottom_value=self._min, end_value=x, partial=partial, first_ascent=self._from_bottom)
        self._last_rom_added = False
        if not partial:
            self.count += 1
            rep.index = self.count
            # the start-at-bottom ascent measures against a prior top: keep it out of the working depth
            if not self._from_bottom:
                self._roms.append(depth)
                self._rom_reps.append(rep)
                self._last_rom_added = True
            self._bottoms.append(self._min)
        self.reps.append(rep)
        return rep

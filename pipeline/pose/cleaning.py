"""Causal pose cleaning, usable frame by frame on the live clock.

* One Euro filter (Casiez et al. 2012) on image and world landmarks, driven by real timestamps;
* short-gap fill: a missed detection shorter than ``max_gap_s`` repeats the last pose (marked ``filled``);
* low-visibility masking: landmarks under ``min_visibility`` are kept but flagged in ``mask``;
* body-scale normalisation: image landmarks relative to the hip centre, divided by a running torso length;
* subject persistence: when the detection jumps to another person the frames are marked invalid; if the
  new subject stays for ``reanchor_s`` seconds it becomes the subject (the first one left).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from .estimator import PoseFrame
from .landmarks import L_HIP, L_KNEE, L_SHOULDER, R_HIP, R_KNEE, R_SHOULDER, N


class OneEuro:
    """Vectorised One Euro filter over an array of any shape. Time in seconds."""

    def __init__(self, min_cutoff: float = 1.7, beta: float = 1.5, d_cutoff: float = 1.0):
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self.reset()

    def reset(self) -> None:
        self._x = None
        self._dx = None
        self._t = None

    @staticmethod
    def _alpha(cutoff, dt):
        tau = 1.0 / (2.0 * np.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None or t <= self._t:
            if self._x is None or self._t is None:
                self._x = x.copy()
                self._dx = np.zeros_like(x)
                self._t = t
                return x.copy()
            t = self._t + 1e-3
        dt = t - self._t
        # landmarks that were NaN before take the new value directly
        bad = ~np.isfinite(self._x)
        if bad.any():
            self._x = np.where(bad, x, self._x)
            self._dx = np.where(bad, 0.0, self._dx)
        dx = (x - self._x) / dt
        a_d = self._alpha(self.d_cutoff, dt)
        dx_hat = a_d * dx + (1 - a_d) * self._dx
        cutoff = self.min_cutoff + self.beta * np.abs(dx_hat)
        a = self._alpha(cutoff, dt)
        x_hat = a * x + (1 - a) * self._x
        x_hat = np.where(np.isfinite(x), x_hat, self._x)
        self._x, self._dx, self._t = x_hat, dx_hat, t
        return x_hat.copy()


@dataclass
class CleanFrame:
    t: float
    image: np.ndarray  # (33, 3) filtered, normalised frame coordinates
    world: np.ndarray  # (33, 3) filtered, metres
    visibility: np.ndarray  # (33,)
    mask: np.ndarray  # (33,) bool: landmark visible enough to trust
    valid: bool  # a pose of the tracked subject is available
    filled: bool  # pose repeated over a short gap
    reason: str | None  # why invalid: "no_person", "subject_jump"
    scale_px: float  # running body scale in pixels (about a torso length, robust to foreshortening)
    norm: np.ndarray  # (33, 2) image landmarks relative to hip centre / torso length (pixel aspect kept)
    width: int
    height: int
    raw_present: bool = False
    # camera segment: how many times the subject was started afresh (camera cut or moved, a new person, the athlete
    # back after a while); picture positions compare only within one segment
    segment: int = 0

    @classmethod
    def invalid(cls, t: float, reason: str, width: int = 0, height: int = 0) -> "CleanFrame":
        nan3 = np.full((N, 3), np.nan, np.float32)
        return cls(t=t, image=nan3, world=nan3.copy(), visibility=np.zeros(N, np.float32),
                   mask=np.zeros(N, bool), valid=False, filled=False, reason=reason, scale_px=float("nan"),
                   norm=np.full((N, 2), np.nan, np.float32), width=width, height=height)


def _mid(a: np.ndarray, i: int, j: int) -> np.ndarray:
    return (a[i] + a[j]) / 2.0


def body_box(img_px: np.ndarray, vis: np.ndarray, min_vis: float = 0.3):
    """Centre (x, y) and size (pixels) of the body from image landmarks in pixels."""
    pts = img_px[vis >= min_vis]
    if len(pts) < 4:
        pts = img_px[np.isfinite(img_px[:, 0])]
    if len(pts) == 0:
        return None, None
    lo, hi = np.nanmin(pts[:, :2], axis=0), np.nanmax(pts[:, :2], axis=0)
    centre = (lo + hi) / 2.0
    size = float(max(hi[0] - lo[0], hi[1] - lo[1], 1.0))
    return centre, size


class PoseCleaner:
    """Stateful causal cleaner: ``update(PoseFrame) -> CleanFrame``, one frame at a time."""

    def __init__(self, min_visibility: float = 0.5, max_gap_s: float = 0.35, jump_frac: float = 0.45,
                 reanchor_s: float = 1.5, lost_s: float = 2.5, min_cutoff: float = 1.7, beta: float = 1.5):
        self.min_visibility = min_visibility
        self.max_gap_s = max_gap_s
        self.jump_frac = jump_frac
        self.reanchor_s = reanchor_s
        self.lost_s = lost_s
        self._f_img = OneEuro(min_cutoff, beta)
        self._f_world = OneEuro(min_cutoff, beta * 0.5)
        self._f_vis = OneEuro(3.0, 0.0)  # visibility: a plain low-pass (~50 ms), so a side's weight does not flicker
        self._last: CleanFrame | None = None
        self._last_good_t: float | None = None
        self._ref_centre = None
        self._ref_size = None
        self._jump_since: float | None = None
        self._jump_centre = None
        self._torso = deque(maxlen=90)
        self.jumps = 0
        self.reanchors = 0
        self.view_changes = 0
        self.segment = 0
        self._last_angles = None

    def _same_athlete(self, pf: PoseFrame, tol_deg: float = 12.0) -> bool:
        if self._last_angles is None:
            return False
        a = pose_angles(pf.world)
        ok = np.isfinite(a) & np.isfinite(self._last_angles)
        return bool(ok.sum() >= 6 and float(np.mean(np.abs(a[ok] - self._last_angles[ok]))) < tol_deg)

    def _start_subject(self, centre, size) -> None:
        self.segment += 1
        self._f_img.reset()
        self._f_world.reset()
        self._f_vis.reset()
        self._torso.clear()
        self._ref_centre, self._ref_size = centre, size
        self._jump_since = None
        self._jump_centre = None

    def reset(self) -> None:
        self.__init__(self.min_visibility, self.max_gap_s, self.jump_frac, self.reanchor_s, self.lost_s,
                      self._f_img.min_cutoff, self._f_img.beta)

    # ------------------------------------------------------------------
    def update(self, pf: PoseFrame) -> CleanFrame:
        t = pf.t
        w, h = pf.width or 1, pf.height or 1
        if not pf.present:
            return self._gap(t, "no_person", w, h)
        px = pf.image[:, :2] * np.array([w, h], np.float32)
        centre, size = body_box(px, pf.visibility)
        if centre is None:
            return self._gap(t, "no_person", w, h)

        # -- subject persistence --------------------------------------
        if self._ref_centre is not None and self._last_good_t is not None:
            gap = t - self._last_good_t
            if gap > self.lost_s:  # subject gone for a while: whoever is here now is the subject
                self._start_subject(centre, size)
            else:
                dist = float(np.linalg.norm(centre - self._ref_centre))
                ratio = max(size, self._ref_size) / max(1.0, min(size, self._ref_size))
                jumped = dist > self.jump_frac * max(self._ref_size, size) or ratio > 2.2
                if jumped and self._same_athlete(pf):
                    # same posture, different place/size: the camera moved or cut, not another person
                    self.view_changes += 1
                    self._start_subject(centre, size)
                    jumped = False
                if jumped:
                    if self._jump_since is None or self._jump_centre is None or \
                            np.linalg.norm(centre - self._jump_centre) > self.jump_frac * size:
                        self._jump_since = t
                        self._jump_centre = centre
                        self.jumps += 1
                    if t - self._jump_since < self.reanchor_s:
                        self._jump_centre = 0.8 * self._jump_centre + 0.2 * centre
                        return self._gap(t, "subject_jump", w, h, allow_fill=False)
                    # the other person stayed: they are the subject now
                    self.reanchors += 1
                    self._start_subject(centre, size)
                self._jump_since = None
                self._jump_centre = None

        img = self._f_img(pf.image, t).astype(np.float32)
        world = self._f_world(pf.world, t).astype(np.float32)
        vis = np.clip(self._f_vis(pf.visibility, t), 0.0, 1.0).astype(np.float32)
        mask = vis >= self.min_visibility
        fpx = img[:, :2] * np.array([w, h], np.float32)
        # running body scale in pixels: the torso length, or the shoulder width / thigh length when the
        # torso is foreshortened (a push-up seen from the front), whichever is larger
        sh, hp = _mid(fpx, L_SHOULDER, R_SHOULDER), _mid(fpx, L_HIP, R_HIP)
        thigh = (np.linalg.norm(fpx[L_HIP] - fpx[L_KNEE]) + np.linalg.norm(fpx[R_HIP] - fpx[R_KNEE])) / 2
        torso = float(max(np.linalg.norm(sh - hp), 1.25 * np.linalg.norm(fpx[L_SHOULDER] - fpx[R_SHOULDER]),
                          1.1 * thigh))
        if np.isfinite(torso) and torso > 1.0:
            self._torso.append(torso)
        scale = float(np.median(self._torso)) if self._torso else float(size) / 3.0
        norm = ((fpx - hp) / max(scale, 1e-3)).astype(np.float32)
        c, s = centre, size
        if self._ref_centre is None:
            self._ref_centre, self._ref_size = c, s
        else:  # follow the subject smoothly
            self._ref_centre = 0.7 * self._ref_centre + 0.3 * c
            self._ref_size = 0.9 * self._ref_size + 0.1 * s
        out = CleanFrame(t=t, image=img, world=world, visibility=vis, mask=mask, valid=True, filled=False,
                         reason=None, scale_px=scale, norm=norm, width=w, height=h, raw_present=True,
                         segment=self.segment)
        self._last = out
        self._last_good_t = t
        self._last_angles = pose_angles(pf.world)
        return out

    def _gap(self, t: float, reason: str, w: int, h: int, allow_fill: bool = True) -> CleanFrame:
        last = self._last
        if allow_fill and last is not None and self._last_good_t is not None and \
                t - self._last_good_t <= self.max_gap_s:
            return CleanFrame(t=t, image=last.image, world=last.world, visibility=last.visibility,
                              mask=last.mask, valid=True, filled=True, reason=None, scale_px=last.scale_px,
                              norm=last.norm, width=w, height=h, raw_present=False, segment=last.segment)
        if self._last_good_t is None or t - self._last_good_t > self.max_gap_s:
            self._f_img.reset()
            self._f_world.reset()
            self._f_vis.reset()
        return CleanFrame.invalid(t, reason, w, h)


_ANGLES = [(11, 13, 15), (12, 14, 16), (13, 11, 23), (14, 12, 24), (11, 23, 25), (12, 24, 26), (23, 25, 27),
           (24, 26, 28)]


def pose_angles(world: np.ndarray) -> np.ndarray:
    """Eight view-invariant joint angles (elbows, shoulders, hips, knees) in degrees."""
    a = world[[i for i, _, _ in _ANGLES]] - world[[j for _, j, _ in _ANGLES]]
    b = world[[k for _, _, k in _ANGLES]] - world[[j for _, j, _ in _ANGLES]]
    cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-9)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))

"""Window features for the exercise router: ONE function shared by training and inference.

A clip (list of :class:`pipeline.pose.cleaning.CleanFrame`, or the same data as arrays) is turned into
``ClipArrays``; a window ending at ``t_end`` is resampled from the real timestamps to ``RATE`` Hz
(``T`` samples, ~1.5 s) and described per time step by

* 2D image landmarks (pixels), hip-centred, divided by a view-robust body scale (RMS bone length);
* 3D world landmarks (metres, MediaPipe camera-aligned axes), hip-centred, divided by their RMS bone length;
* joint angles (elbow, shoulder, hip, knee; left and right) in 2D and 3D;
* 2D segment directions (torso, upper arms, forearms, thighs, shins) relative to the image vertical;
* landmark visibility;
* velocities of the 2D landmarks and of the angles.

Invariances: body scale (everything is divided by a bone-length scale) and mirroring (the window is
canonicalised so that the subject faces +x; a mirrored input gives the same features).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...pose.landmarks import MIRROR

RATE = 16.0  # Hz after resampling
T = 24  # samples per window -> (T-1)/RATE = 1.44 s
WIN_S = T / RATE  # 1.5 s nominal window length
HOP_S = 0.25  # batch and live evaluate a window every HOP_S
MAX_GAP_S = 0.4  # longest invalid stretch a window may bridge by interpolation
POS_RANGE = 0.3  # training label: a positive window needs at least this much of a repetition's range
NEG_RANGE = 0.1  # ... and below this it is a still stretch -> unknown; between: left out
MIN_COVER = 0.7  # share of window samples that must be near a valid frame

# landmark subset: nose, shoulders, elbows, wrists, hips, knees, ankles, foot tips
K = [0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28, 31, 32]
_KI = {j: i for i, j in enumerate(K)}
NK = len(K)
# bones for the body scale (all symmetric: mirror-invariant)
SCALE_BONES = [(11, 23), (12, 24), (11, 13), (12, 14), (13, 15), (14, 16), (23, 25), (24, 26), (25, 27),
               (26, 28), (11, 12)]
# angles (a, b, c): angle at b between b->a and b->c
ANGLES = [(11, 13, 15), (12, 14, 16),  # elbows
          (23, 11, 13), (24, 12, 14),  # shoulders (torso vs upper arm)
          (11, 23, 25), (12, 24, 26),  # hips (torso vs thigh)
          (23, 25, 27), (24, 26, 28)]  # knees
# 2D segment directions; (-1, j) means hip-centre -> shoulder-centre (torso)
SEGMENTS = [(-1, -1), (11, 13), (12, 14), (13, 15), (14, 16), (23, 25), (24, 26), (25, 27), (26, 28)]
# joints used for the motion energy (how much the body moves in the window)
MOTION_PAIRS = [(11, 12), (13, 14), (15, 16), (25, 26)]

N_FEAT = NK * 2 + NK * 3 + len(ANGLES) * 2 + len(SEGMENTS) * 2 + NK + NK * 2 + len(ANGLES) * 2
FEATURE_VERSION = 1


@dataclass
class ClipArrays:
    """Per-frame arrays of a clip (what the cleaner produced), in the form the features need."""

    t: np.ndarray  # (N,)
    px: np.ndarray  # (N, 33, 2) image landmarks in pixels (NaN when invalid)
    world: np.ndarray  # (N, 33, 3)
    vis: np.ndarray  # (N, 33)
    valid: np.ndarray  # (N,) bool

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def from_frames(cls, frames) -> "ClipArrays":
        n = len(frames)
        t = np.array([f.t for f in frames], np.float64)
        px = np.full((n, 33, 2), np.nan, np.float32)
        world = np.full((n, 33, 3), np.nan, np.float32)
        vis = np.zeros((n, 33), np.float32)
        valid = np.zeros(n, bool)
        for i, f in enumerate(frames):
            if not f.valid:
                continue
            w, h = (f.width or 1), (f.height or 1)
            px[i] = f.image[:, :2] * np.array([w, h], np.float32)
            world[i] = f.world
            vis[i] = f.visibility
            valid[i] = bool(np.isfinite(px[i]).all() and np.isfinite(world[i]).all())
        return cls(t=t, px=px, world=world, vis=vis, valid=valid)


def window_ends(t0: float, t_last: float, hop: float = HOP_S) -> np.ndarray:
    """End times of the windows of a clip whose first frame is at ``t0``: a fixed grid shared by batch and live."""
    first = t0 + WIN_S
    if t_last + 1e-9 < first:
        return np.zeros(0)
    n = int(np.floor((t_last - first) / hop + 1e-9)) + 1
    return first + hop * np.arange(n)


def resample(clip: ClipArrays, t_end: float):
    """Resample the window ending at ``t_end`` to ``T`` samples. Returns (px, world, vis) or None."""
    ts = t_end - (T - 1 - np.arange(T)) / RATE
    vidx = np.flatnonzero(clip.valid)
    if len(vidx) < 2:
        return None
    tv = clip.t[vidx]
    # only frames near the window matter
    lo = np.searchsorted(tv, ts[0] - MAX_GAP_S, "left")
    hi = np.searchsorted(tv, ts[-1] + MAX_GAP_S, "right")
    if hi - lo < 2:
        return None
    tv = tv[lo:hi]
    vidx = vidx[lo:hi]
    j = np.clip(np.searchsorted(tv, ts), 1, len(tv) - 1)
    t_a, t_b = tv[j - 1], tv[j]
    # a sample is covered when the valid frames around it are close enough
    near = np.minimum(np.abs(ts - t_a), np.abs(ts - t_b))
    covered = (near <= MAX_GAP_S / 2) & (ts >= tv[0] - 0.1) & (ts <= tv[-1] + 0.1)
    if covered.mean() < MIN_COVER:
        return None
    w = np.clip((ts - t_a) / np.maximum(t_b - t_a, 1e-6), 0.0, 1.0)
    ia, ib = vidx[j - 1], vidx[j]

    def lerp(a):
        wa = w.reshape((-1,) + (1,) * (a.ndim - 1))
        return (a[ia] * (1 - wa) + a[ib] * wa).astype(np.float32)

    return lerp(clip.px), lerp(clip.world), lerp(clip.vis)


def _bone_scale(p: np.ndarray) -> float:
    """Median over time of the RMS length of a fixed set of bones (2D or 3D)."""
    d = np.stack([np.linalg.norm(p[:, a] - p[:, b], axis=-1) for a, b in SCALE_BONES], -1)
    s = np.sqrt(np.mean(d ** 2, axis=-1))
    s = s[np.isfinite(s)]
    return float(np.median(s)) if len(s) else 1.0


def _facing(px: np.ndarray) -> float:
    """Signed facing direction in the image: > 0 when the subject faces +x (nose ahead of ears, toes
    ahead of heels). Mirroring the input flips its sign exactly."""
    ear = (px[:, 7, 0] + px[:, 8, 0]) / 2
    heel = px[:, 29, 0] + px[:, 30, 0]
    toe = px[:, 31, 0] + px[:, 32, 0]
    return float(np.mean(px[:, 0, 0] - ear) + 0.5 * np.mean(toe - heel))


def _angle(p: np.ndarray, a: int, b: int, c: int) -> np.ndarray:
    u = p[:, a] - p[:, b]
    v = p[:, c] - p[:, b]
    cos = (u * v).sum(-1) / np.maximum(np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1), 1e-6)
    return np.arccos(np.clip(cos, -1.0, 1.0)) / np.pi


def features_from_window(px: np.ndarray, world: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """(T,33,2) pixels, (T,33,3) world, (T,33) visibility -> (T, N_FEAT) float32 features."""
    px = px.astype(np.float32)
    world = world.astype(np.float32)
    # canonical orientation: mirror so the subject faces +x
    if _facing(px) < 0:
        px = px[:, MIRROR].copy()
        px[..., 0] *= -1
        world = world[:, MIRROR].copy()
        world[..., 0] *= -1
        vis = vis[:, MIRROR]
    hip2 = (px[:, 23] + px[:, 24]) / 2
    p2 = (px - hip2[:, None]) / max(_bone_scale(px), 1e-3)
    hip3 = (world[:, 23] + world[:, 24]) / 2
    p3 = (world - hip3[:, None]) / max(_bone_scale(world), 1e-4)
    a2 = np.stack([_angle(p2, *abc) for abc in ANGLES], -1)
    a3 = np.stack([_angle(p3, *abc) for abc in ANGLES], -1)
    segs = []
    for a, b in SEGMENTS:
        if a < 0:
            d = (p2[:, 11] + p2[:, 12]) / 2  # hip centre is the origin
        else:
            d = p2[:, b] - p2[:, a]
        segs.append(d / (np.linalg.norm(d, axis=-1, keepdims=True) + 0.15))
    seg = np.concatenate(segs, -1)
    k2 = p2[:, K].reshape(T, -1)
    k3 = p3[:, K].reshape(T, -1)
    ang = np.concatenate([a2, a3], -1)
    v2 = np.gradient(k2, axis=0) * (RATE * 0.25)
    va = np.gradient(ang, axis=0) * (RATE * 0.5)
    f = np.concatenate([k2, k3, ang, seg, vis[:, K], v2, va], -1)
    f = np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(f, -6.0, 6.0).astype(np.float32)


def motion_energy(px: np.ndarray) -> float:
    """How much the body moves in the window: the largest temporal std of a key point, in body-scale units.
    Key points are midpoints of left/right pairs (shoulders, elbows, wrists, knees) relative to the hip centre,
    the nose, and the hip centre itself, so left/right label swaps of the pose model add no false motion."""
    px = px.astype(np.float64)
    hip2 = (px[:, 23] + px[:, 24]) / 2
    s = max(_bone_scale(px), 1e-3)
    pts = [px[:, 0]] + [(px[:, a] + px[:, b]) / 2 for a, b in MOTION_PAIRS]
    rel = (np.stack(pts, 1) - hip2[:, None]) / s
    e = rel.std(axis=0).max(axis=-1).max()
    e_hip = (hip2 / s).std(axis=0).max()
    return float(max(e, e_hip))


def window_features(clip: ClipArrays, t_end: float):
    """Features and motion energy of the window ending at ``t_end``; None when the window lacks pose."""
    r = resample(clip, t_end)
    if r is None:
        return None
    px, world, vis = r
    return features_from_window(px, world, vis), motion_energy(px)


def clip_windows(clip: ClipArrays, hop: float = HOP_S, t0: float | None = None):
    """All windows of a clip on the shared grid: (ends (M,), feats (M', T, F), energy (M',), ok (M,) bool)."""
    if len(clip) == 0:
        return np.zeros(0), np.zeros((0, T, N_FEAT), np.float32), np.zeros(0), np.zeros(0, bool)
    t0 = float(clip.t[0]) if t0 is None else t0
    ends = window_ends(t0, float(clip.t[-1]), hop)
    feats, energy, ok = [], [], np.zeros(len(ends), bool)
    for i, te in enumerate(ends):
        r = window_features(clip, te)
        if r is None:
            continue
        ok[i] = True
        feats.append(r[0])
        energy.append(r[1])
    f = np.stack(feats) if feats else np.zeros((0, T, N_FEAT), np.float32)
    return ends, f, np.array(energy, np.float32), ok

"""Motion synthesiser: a 3D skeleton with MediaPipe's 33-landmark topology performing exercises and
many other movements, seen through random cameras with MediaPipe-like noise.

Body frame (metres): x = the subject's left, y = up, z = the subject's forward; the floor is y = 0.
Limbs are placed by two-bone inverse kinematics from end-effector targets, so every bone keeps its
length in every frame. ``render`` projects a motion through a camera and returns what MediaPipe would
give: normalised image landmarks (perspective, possibly outside [0, 1]), camera-aligned hip-centred
world landmarks (y down), visibility (low for the far side and out of frame), jitter, left/right swaps
and dropped frames.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.pose.landmarks import MIRROR

LABELS = ("squat", "push_up", "shoulder_press", "deadlift", "lunge", "unknown")

# ----------------------------------------------------------------------------- skeleton


@dataclass
class Body:
    height: float
    hip_w: float
    sh_w: float
    torso: float
    ua: float  # upper arm
    fa: float  # forearm
    hand: float
    thigh: float
    shin: float
    ankle_h: float
    foot: float
    heel: float
    neck: float  # shoulder centre -> nose (up)
    head_fwd: float

    @classmethod
    def random(cls, rng: np.random.Generator) -> "Body":
        H = rng.uniform(1.45, 1.98)

        def f(x, sd=0.06):
            return x * H * float(np.clip(rng.normal(1.0, sd), 0.82, 1.18))

        return cls(height=H, hip_w=f(0.115), sh_w=f(0.20, 0.08), torso=f(0.30), ua=f(0.17), fa=f(0.15),
                   hand=f(0.055), thigh=f(0.245), shin=f(0.245), ankle_h=f(0.04), foot=f(0.11), heel=f(0.035),
                   neck=f(0.125), head_fwd=f(0.045))

    @property
    def leg(self) -> float:
        return self.thigh + self.shin

    @property
    def arm(self) -> float:
        return self.ua + self.fa


def _unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def ik(a, c, l1, l2, pole):
    """Two-bone IK: joint b with |b-a| = l1 and end e with |e-b| = l2, e as close to c as reachable,
    b bent toward ``pole`` (a direction). Arrays (T, 3)."""
    d = c - a
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    u = d / np.maximum(dist, 1e-9)
    dist = np.clip(dist, abs(l1 - l2) + 1e-4, l1 + l2 - 1e-5)
    x = (l1 ** 2 - l2 ** 2 + dist ** 2) / (2 * dist)
    h = np.sqrt(np.maximum(l1 ** 2 - x ** 2, 0.0))
    p = pole - (pole * u).sum(-1, keepdims=True) * u
    bad = np.linalg.norm(p, axis=-1, keepdims=True) < 1e-6
    alt = np.cross(u, np.array([1.0, 0.0, 0.0]))
    p = np.where(bad, alt, p)
    v = _unit(p)
    b = a + x * u + h * v
    e = a + dist * u
    return b, e


def rot_x(a):
    """Rotation about x (pitch): positive a turns +y toward +z (leaning forward). a: (T,)."""
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def rot_y(a):
    """Rotation about the vertical axis (yaw). a: (T,)."""
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def rot_z(a):
    """Rotation about the forward axis (roll / lateral bend)."""
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def _mv(R, v):
    """Rotate vector(s) v (3,) or (T,3) by R (T,3,3)."""
    v = np.broadcast_to(v, R.shape[:-1])
    return np.einsum("tij,tj->ti", R, v)


@dataclass
class Controls:
    """Per-frame pose controls (T frames); everything in the body/world frame."""

    pelvis: np.ndarray  # (T,3) hip centre
    R_pelvis: np.ndarray  # (T,3,3)
    R_trunk: np.ndarray  # (T,3,3)
    R_head: np.ndarray  # (T,3,3) relative to trunk
    wrist: np.ndarray  # (T,2,3) targets [left, right]
    elbow_pole: np.ndarray  # (T,2,3)
    ankle: np.ndarray  # (T,2,3) targets
    knee_pole: np.ndarray  # (T,2,3)
    foot_dir: np.ndarray  # (T,2,3) heel->toe direction
    hand_dir: np.ndarray | None = None  # (T,2,3) direction of the hand beyond the wrist


def skeleton(b: Body, c: Controls) -> np.ndarray:
    """Controls -> (T, 33, 3) landmark positions."""
    Tn = len(c.pelvis)
    P = np.zeros((Tn, 33, 3))
    Rp, Rt = c.R_pelvis, c.R_trunk
    hipL = c.pelvis + _mv(Rp, np.array([b.hip_w / 2, 0, 0]))
    hipR = c.pelvis + _mv(Rp, np.array([-b.hip_w / 2, 0, 0]))
    shc = c.pelvis + _mv(Rt, np.array([0, b.torso, 0]))
    shL = shc + _mv(Rt, np.array([b.sh_w / 2, 0, 0]))
    shR = shc + _mv(Rt, np.array([-b.sh_w / 2, 0, 0]))
    P[:, 23], P[:, 24], P[:, 11], P[:, 12] = hipL, hipR, shL, shR
    Rh = np.einsum("tij,tjk->tik", Rt, c.R_head)
    nose = shc + _mv(Rh, np.array([0, b.neck, b.head_fwd]))
    H = b.height
    head_pts = {  # offsets from the nose in the head frame
        0: (0, 0, 0), 1: (0.012, 0.018, -0.012), 2: (0.022, 0.019, -0.014), 3: (0.032, 0.018, -0.018),
        4: (-0.012, 0.018, -0.012), 5: (-0.022, 0.019, -0.014), 6: (-0.032, 0.018, -0.018),
        7: (0.045, 0.008, -0.06), 8: (-0.045, 0.008, -0.06), 9: (0.016, -0.025, -0.008),
        10: (-0.016, -0.025, -0.008)}
    for j, off in head_pts.items():
        P[:, j] = nose + _mv(Rh, np.array(off) * H / 1.0 * 0.95)
    for k, (sh, hip, ie, iw, ik_, ia) in enumerate([(shL, hipL, 13, 15, 25, 27), (shR, hipR, 14, 16, 26, 28)]):
        el, wr = ik(sh, c.wrist[:, k], b.ua, b.fa, c.elbow_pole[:, k])
        P[:, ie], P[:, iw] = el, wr
        hd = c.hand_dir[:, k] if c.hand_dir is not None else _unit(wr - el)
        hd = _unit(hd)
        side = _unit(np.cross(hd, _unit(wr - el) + 1e-3 * np.array([0, 0, 1]))) * (1 if k == 0 else -1)
        P[:, 17 + k] = wr + hd * b.hand * 0.8 + side * b.hand * 0.35  # pinky
        P[:, 19 + k] = wr + hd * b.hand * 1.0 - side * b.hand * 0.1  # index
        P[:, 21 + k] = wr + hd * b.hand * 0.45 - side * b.hand * 0.4  # thumb
        kn, an = ik(hip, c.ankle[:, k], b.thigh, b.shin, c.knee_pole[:, k])
        P[:, ik_], P[:, ia] = kn, an
        fd = _unit(c.foot_dir[:, k])
        P[:, 29 + k] = an - fd * b.heel + np.array([0, -b.ankle_h * 0.6, 0])
        P[:, 31 + k] = an + fd * b.foot + np.array([0, -b.ankle_h * 0.8, 0])
    return P


# ----------------------------------------------------------------------------- motion helpers

def smoothstep(x):
    x = np.clip(x, 0, 1)
    return x * x * (3 - 2 * x)


def rep_signal(t, rng, period=(1.6, 4.0), pause_top=(0.0, 1.0), pause_bottom=(0.0, 0.5), start_delay=(0, 0),
               p_pause=0.5, depth_jitter=0.1, start_bottom=0.0):
    """Repetition phase s(t) in [0, 1] (0 = start position, 1 = end of range), with random tempo and pauses."""
    out = np.zeros_like(t)
    cur = float(t[0]) + rng.uniform(*start_delay) if start_delay[1] > 0 else float(t[0]) - rng.uniform(0, 1.0)
    T_end = float(t[-1]) + 1.0
    P = rng.uniform(*period)
    first = True
    while cur < T_end:
        per = P * rng.uniform(0.85, 1.15)
        down = per * rng.uniform(0.35, 0.6)
        up = per - down
        pb = rng.uniform(*pause_bottom) if rng.random() < p_pause else 0.0
        pt = rng.uniform(*pause_top) if rng.random() < p_pause else 0.0
        depth = float(np.clip(rng.normal(1.0, depth_jitter), 0.6, 1.1))
        if first and rng.random() < start_bottom:  # clip opens at the bottom
            cur -= down + pb
        first = False
        m1, m2, m3, m4 = cur + down, cur + down + pb, cur + down + pb + up, cur + down + pb + up + pt
        seg = (t >= cur) & (t < m4)
        ph = np.where(t < m1, smoothstep((t - cur) / down), np.where(t < m2, 1.0, np.where(
            t < m3, 1 - smoothstep((t - m2) / up), 0.0)))
        out = np.where(seg, ph * depth, out)
        cur = m4
    return out


def smooth_noise(t, rng, sd=1.0, tau=1.0, n=1):
    """Smooth random signal(s) with time scale tau (sum of random sinusoids)."""
    out = np.zeros((len(t), n))
    for _ in range(4):
        f = rng.uniform(0.3, 1.5) / tau
        ph = rng.uniform(0, 2 * np.pi, n)
        a = rng.normal(0, sd / 2, n)
        out += a * np.sin(2 * np.pi * f * t[:, None] + ph)
    return out if n > 1 else out[:, 0]


def _const(Tn, v):
    return np.tile(np.asarray(v, float), (Tn, 1))


def _pair(Tn, l, r):
    return np.stack([_const(Tn, l), _const(Tn, r)], 1)


def _eye(Tn):
    return np.tile(np.eye(3), (Tn, 1, 1))


@dataclass
class Motion:
    P: np.ndarray  # (T,33,3)
    active: np.ndarray  # (T,) phase signal of the labelled exercise (zeros for negatives)
    label: str
    kind: str


def _standing(b: Body, t, rng, stance=None, toe_out=None, sway=0.01):
    """Default standing controls with feet planted."""
    Tn = len(t)
    stance = stance if stance is not None else b.hip_w * rng.uniform(0.9, 1.6)
    toe_out = np.deg2rad(toe_out if toe_out is not None else rng.uniform(0, 25))
    sw = smooth_noise(t, rng, sway, 2.0, 3)
    stand_h = b.ankle_h + b.leg * 0.985
    pelvis = np.stack([sw[:, 0], stand_h + sw[:, 1] * 0.3, sw[:, 2]], -1)
    ank = _pair(Tn, [stance / 2, b.ankle_h, 0], [-stance / 2, b.ankle_h, 0])
    fd = _pair(Tn, [np.sin(toe_out), 0, np.cos(toe_out)], [-np.sin(toe_out), 0, np.cos(toe_out)])
    kp = _pair(Tn, [np.sin(toe_out) + 0.1, 0, 1], [-np.sin(toe_out) - 0.1, 0, 1])
    return dict(pelvis=pelvis, R_pelvis=_eye(Tn), R_trunk=_eye(Tn), R_head=_eye(Tn), ankle=ank, knee_pole=kp,
                foot_dir=fd, stance=stance)


def _shoulders(b: Body, c):
    shc = c["pelvis"] + _mv(c["R_trunk"], np.array([0, b.torso, 0]))
    shL = shc + _mv(c["R_trunk"], np.array([b.sh_w / 2, 0, 0]))
    shR = shc + _mv(c["R_trunk"], np.array([-b.sh_w / 2, 0, 0]))
    return shc, shL, shR


def _arms_hanging(b, c, rng, fwd=0.05, out=0.04, swing=None):
    _, shL, shR = _shoulders(b, c)
    Tn = len(shL)
    down = np.array([0, -b.arm * 0.97, 0])
    wl = shL + down + np.array([out, 0, fwd])
    wr = shR + down + np.array([-out, 0, fwd])
    if swing is not None:
        wl = wl + swing[:, None] * np.array([0, 0, 1.0])
        wr = wr - swing[:, None] * np.array([0, 0, 1.0])
    c["wrist"] = np.stack([wl, wr], 1)
    c["elbow_pole"] = _pair(Tn, [0.3, 0, -1], [-0.3, 0, -1])


def _arm_pose(b, c, rng, style):
    """Static-ish arm styles for squats, lunges, etc. (relative to the trunk)."""
    shc, shL, shR = _shoulders(b, c)
    Tn = len(shc)
    Rt = c["R_trunk"]
    if style == "hang":
        _arms_hanging(b, c, rng)
        return
    if style == "forward":
        h = rng.uniform(-0.05, 0.1)
        wl = shL + _mv(Rt, np.array([-0.03, h, b.arm * 0.95]))
        wr = shR + _mv(Rt, np.array([0.03, h, b.arm * 0.95]))
        pole = [0, -1, 0]
    elif style == "chest":  # crossed / goblet
        wl = shc + _mv(Rt, np.array([0.04, -0.12, 0.22]))
        wr = shc + _mv(Rt, np.array([-0.04, -0.12, 0.22]))
        pole = [0, -1, -0.3]
    elif style == "hips":
        wl = shL + _mv(Rt, np.array([0.05, -b.torso * 0.85, 0.0]))
        wr = shR + _mv(Rt, np.array([-0.05, -b.torso * 0.85, 0.0]))
        pole = [0, 0, -1]
    elif style == "backbar":
        g = rng.uniform(1.3, 2.0)
        wl = shc + _mv(Rt, np.array([b.sh_w / 2 * g, 0.02, -0.08]))
        wr = shc + _mv(Rt, np.array([-b.sh_w / 2 * g, 0.02, -0.08]))
        pole = [0, -1, -0.8]
    elif style == "frontrack":
        wl = shL + _mv(Rt, np.array([-0.02, 0.02, 0.12]))
        wr = shR + _mv(Rt, np.array([0.02, 0.02, 0.12]))
        pole = [0, -0.3, 1]
    elif style == "overhead":
        g = rng.uniform(1.5, 2.4)
        wl = shc + _mv(Rt, np.array([b.sh_w / 2 * g, b.arm * 0.93, -0.02]))
        wr = shc + _mv(Rt, np.array([-b.sh_w / 2 * g, b.arm * 0.93, -0.02]))
        pole = [1, 0, 0]
    else:  # behind head
        wl = shc + _mv(Rt, np.array([0.08, b.neck + 0.02, -0.1]))
        wr = shc + _mv(Rt, np.array([-0.08, b.neck + 0.02, -0.1]))
        pole = [1, 0, 0.5]
    c["wrist"] = np.stack([wl, wr], 1)
    c["elbow_pole"] = np.stack([_mv(Rt, np.array([1, pole[1], pole[2]]) * [abs(pole[0]) + 0.3, 1, 1]),
                                _mv(Rt, np.array([-1, pole[1], pole[2]]) * [abs(pole[0]) + 0.3, 1, 1])], 1)


def _finish(b, c, label, s, kind, feet_planted=True):
    ctrl = Controls(pelvis=c["pelvis"], R_pelvis=c["R_pelvis"], R_trunk=c["R_trunk"], R_head=c["R_head"],
                    wrist=c["wrist"], elbow_pole=c["elbow_pole"], ankle=c["ankle"], knee_pole=c["knee_pole"],
                    foot_dir=c["foot_dir"], hand_dir=c.get("hand_dir"))
    return Motion(P=skeleton(b, ctrl), active=s if label != "unknown" else np.zeros(len(s)), label=label, kind=kind)


# ----------------------------------------------------------------------------- exercises (positives)

def m_squat(b, t, rng):
    stance = b.hip_w * rng.uniform(1.1, 2.6)
    c = _standing(b, t, rng, stance=stance, toe_out=rng.uniform(0, 35))
    s = rep_signal(t, rng, period=(1.3, 4.5), pause_top=(0.1, 1.5), pause_bottom=(0.1, 1.2), start_bottom=0.2)
    # one set in five is deliberately shallow (quarter and half squats: a squat all the same, its depth judged apart)
    depth = (rng.uniform(0.12, 0.3) if rng.random() < 0.2 else rng.uniform(0.3, 0.52)) * b.leg
    back = depth * rng.uniform(0.25, 0.7)
    lean = np.deg2rad(rng.uniform(8, 45)) * smoothstep(s * 1.1)
    c["pelvis"] = c["pelvis"] + np.stack([0 * s, -depth * s, -back * s], -1)
    c["R_trunk"] = rot_x(lean)
    c["R_head"] = rot_x(-lean * rng.uniform(0.2, 0.8))
    style = rng.choice(["forward", "chest", "hips", "backbar", "frontrack", "overhead", "behind", "hang",
                        "forward_dyn"], p=[0.12, 0.18, 0.1, 0.18, 0.06, 0.05, 0.1, 0.06, 0.15])
    if style == "forward_dyn":  # arms rise forward as the body goes down (air squat)
        _arm_pose(b, c, rng, "forward")
        _, shL, shR = _shoulders(b, c)
        hang = np.stack([shL, shR], 1) + np.array([0, -b.arm * 0.95, 0.05])
        w = smoothstep(s * 1.3)[:, None, None]
        c["wrist"] = c["wrist"] * w + hang * (1 - w)
    else:
        _arm_pose(b, c, rng, style)
    # heels stay down; small knee-out
    c["knee_pole"] = c["knee_pole"] + np.array([[0.15, 0, 0], [-0.15, 0, 0]])
    return _finish(b, c, "squat", s, "squat")


def m_push_up(b, t, rng, kind=None):
    Tn = len(t)
    kind = kind or rng.choice(["full", "knee", "wide", "close", "decline", "incline"], p=[0.4, 0.17, 0.15, 0.13,
                                                                                             0.07, 0.08])
    s = rep_signal(t, rng, period=(1.2, 4.0), pause_top=(0.2, 2.0), pause_bottom=(0.1, 1.5), start_bottom=0.1)
    pivot_len = b.leg + b.ankle_h if kind != "knee" else b.thigh
    body_len = pivot_len + b.torso  # pivot -> shoulder centre
    hands_h = {"incline": rng.uniform(0.3, 0.6)}.get(kind, 0.0)
    feet_h = {"decline": rng.uniform(0.3, 0.5)}.get(kind, 0.0)
    # at the top the arms are ~straight below the shoulders
    sh_top = b.arm * rng.uniform(0.9, 0.98) + hands_h + 0.03
    sh_bot = rng.uniform(0.22, 0.4) * b.arm + hands_h + 0.06  # the elbows must stay above the floor
    sh_h = sh_top + (sh_bot - sh_top) * s
    toe_up = 0.95 * b.foot + 0.8 * b.ankle_h  # ankle height that puts the toes on the floor
    piv_h = feet_h + (toe_up if kind != "knee" else 0.05)
    beta = np.arcsin(np.clip((sh_h - piv_h) / body_len, -0.9, 0.9))
    sag = np.deg2rad(rng.normal(0, 6)) + smooth_noise(t, rng, 0.02, 2.0)
    axis = np.stack([0 * beta, np.sin(beta), np.cos(beta)], -1)
    pivot = np.array([0, piv_h, 0.0])
    pelvis = pivot + axis * pivot_len + np.stack([0 * beta, np.cos(beta), -np.sin(beta)], -1) * np.sin(sag)[:, None] * 0.1
    pitch = np.pi / 2 - beta
    Rp = rot_x(pitch)
    Rt = rot_x(pitch - sag * 0.5)
    c = dict(pelvis=pelvis, R_pelvis=Rp, R_trunk=Rt, R_head=rot_x(-np.deg2rad(rng.uniform(0, 35)) * np.ones(Tn)))
    shc, shL, shR = _shoulders(b, c)
    width = {"wide": rng.uniform(1.5, 2.2), "close": rng.uniform(0.5, 0.9)}.get(kind, rng.uniform(0.95, 1.4))
    fwd = rng.uniform(-0.05, 0.12)
    top_shc = shc[np.argmin(s)]
    hL = np.array([b.sh_w / 2 * width, hands_h, top_shc[2] + fwd])
    hR = np.array([-b.sh_w / 2 * width, hands_h, top_shc[2] + fwd])
    c["wrist"] = _pair(Tn, hL, hR)
    flare = {"wide": 1.0, "close": 0.15}.get(kind, rng.uniform(0.3, 0.8))
    c["elbow_pole"] = _pair(Tn, [flare, 0.3, -1], [-flare, 0.3, -1])
    c["hand_dir"] = _pair(Tn, [0, 0, 1], [0, 0, 1])
    if kind == "knee":
        # knees rest on the floor at the pivot; shins go back, feet on the floor or raised
        g = np.deg2rad(rng.uniform(3, 40))
        shin = np.array([0, np.sin(g), -np.cos(g)]) * b.shin
        ank = np.stack([pivot + [b.hip_w / 2, 0, 0] + shin, pivot + [-b.hip_w / 2, 0, 0] + shin], 0)
        c["ankle"] = np.tile(ank, (Tn, 1, 1))
        c["knee_pole"] = _pair(Tn, [0, -1, 0.2], [0, -1, 0.2])
        c["foot_dir"] = _pair(Tn, [0, -0.3, -1], [0, -0.3, -1])
    else:
        feet_w = rng.uniform(0.5, 1.5) * b.hip_w / 2
        c["ankle"] = _pair(Tn, [feet_w, piv_h, 0], [-feet_w, piv_h, 0])
        c["knee_pole"] = _pair(Tn, [0, -1, 0], [0, -1, 0])
        c["foot_dir"] = _pair(Tn, [0, -1, 0.3], [0, -1, 0.3])
    return _finish(b, c, "push_up", s, "push_up_" + kind)


def m_press(b, t, rng, kind=None):
    Tn = len(t)
    seated = rng.random() < 0.5
    kind = kind or rng.choice(["dumbbell", "barbell", "arnold", "machine", "push_press", "single"],
                              p=[0.3, 0.2, 0.15, 0.12, 0.1, 0.13])
    if kind == "push_press":
        seated = False
    s = rep_signal(t, rng, period=(1.4, 4.0), pause_top=(0.1, 1.5), pause_bottom=(0.1, 1.2), start_bottom=0.15)
    if seated:
        c = _seated(b, t, rng)
    else:
        c = _standing(b, t, rng, stance=b.hip_w * rng.uniform(0.9, 1.8))
    recline = np.deg2rad(rng.uniform(-15, 5)) if seated else np.deg2rad(rng.uniform(-8, 3))
    c["R_trunk"] = np.einsum("tij,tjk->tik", c["R_trunk"], rot_x(recline * np.ones(Tn)))
    if kind == "push_press":
        dip = np.clip(s * 4, 0, 1) * (s < 0.4) * rng.uniform(0.04, 0.1)
        c["pelvis"] = c["pelvis"] - np.stack([0 * s, dip, 0 * s], -1)
    shc, shL, shR = _shoulders(b, c)
    Rt = c["R_trunk"]
    top_h = b.torso * 0 + b.arm * rng.uniform(0.86, 0.99)
    if kind == "barbell":
        g = rng.uniform(1.2, 1.8) * b.sh_w / 2
        bot = [g, rng.uniform(-0.02, 0.08), rng.uniform(0.12, 0.22)]
        top = [g * 0.95, top_h, rng.uniform(-0.02, 0.06)]
        pole_b, pole_t = [0.3, -1, 0.8], [1, -0.3, 0.2]
    elif kind == "arnold":
        bot = [rng.uniform(0.06, 0.12), rng.uniform(0.0, 0.1), rng.uniform(0.15, 0.25)]
        top = [b.sh_w / 2 * rng.uniform(0.8, 1.2), top_h, 0.02]
        pole_b, pole_t = [0.1, -1, 1.0], [1, -0.2, 0]
    else:
        g = rng.uniform(1.0, 1.7) * b.sh_w / 2 + 0.03
        bot = [g, rng.uniform(-0.05, 0.08), rng.uniform(-0.02, 0.12)]
        top = [g * rng.uniform(0.6, 1.0), top_h, rng.uniform(-0.03, 0.06)]
        pole_b, pole_t = [1, -0.6, 0.2], [1, -0.2, 0]
    bot, top = np.array(bot), np.array(top)
    ss = s[:, None]
    arc = np.sin(np.pi * s)[:, None] * np.array([0.04, 0, 0.02])
    rel = bot * (1 - ss) + top * ss + arc
    sgn = np.array([-1, 1, 1])
    relR = rel * sgn
    if kind == "single":  # alternating / single-arm: other arm holds at the bottom or rests
        s2 = rep_signal(t, rng, period=(1.4, 4.0)) if rng.random() < 0.5 else 0 * s
        relR = (bot * (1 - s2[:, None]) + top * s2[:, None]) * sgn
    wl = shc + _mv(Rt, rel)
    wr = shc + np.einsum("tij,tj->ti", Rt, relR)
    c["wrist"] = np.stack([wl, wr], 1)
    pb, pt = np.array(pole_b, float), np.array(pole_t, float)
    pl = pb * (1 - ss) + pt * ss
    c["elbow_pole"] = np.stack([_mv(Rt, pl), np.einsum("tij,tj->ti", Rt, pl * sgn)], 1)
    return _finish(b, c, "shoulder_press", s, "press_" + kind + ("_seated" if seated else "_standing"))


def _seated(b, t, rng, seat_h=None):
    Tn = len(t)
    seat_h = seat_h if seat_h is not None else rng.uniform(0.38, 0.55)
    knee_x = b.hip_w / 2 * rng.uniform(1.0, 2.2)
    sw = smooth_noise(t, rng, 0.008, 2.0, 3)
    pelvis = np.array([0, seat_h + 0.05, 0]) + sw
    fz = b.thigh * rng.uniform(0.7, 1.0)
    ank = _pair(Tn, [knee_x, b.ankle_h, fz], [-knee_x, b.ankle_h, fz])
    return dict(pelvis=pelvis, R_pelvis=_eye(Tn), R_trunk=_eye(Tn), R_head=_eye(Tn), ankle=ank,
                knee_pole=_pair(Tn, [0.2, 1, 1], [-0.2, 1, 1]), foot_dir=_pair(Tn, [0.1, 0, 1], [-0.1, 0, 1]))


# ----------------------------------------------------------------------------- lunges and deadlifts (positives)

def _rep_index(s):
    """Per-frame repetition index (counts rep starts) and whether the rep is past its bottom (rising)."""
    moving = (s > 0.02).astype(int)
    starts = np.cumsum(np.r_[0, (np.diff(moving) == 1).astype(int)])
    rising = np.zeros(len(s), bool)
    for r in np.unique(starts):
        idx = np.flatnonzero(starts == r)
        if len(idx):
            k = idx[int(np.argmax(s[idx]))]
            rising[idx[idx > k]] = True
    return starts, rising


def _toes_down(b, c):
    """Point the feet down as far as a raised ankle allows (heel up, toes on the floor; flat when the ankle is down or
    the whole foot is in the air)."""
    fd = c["foot_dir"].copy()
    h = fd * np.array([1.0, 0.0, 1.0])
    h = h / np.maximum(np.linalg.norm(h, axis=-1, keepdims=True), 1e-9)
    lift = c["ankle"][..., 1] - b.ankle_h  # how far the ankle is above its standing height
    sin = np.clip((lift + 0.2 * b.ankle_h) / b.foot, 0.0, 0.9)
    sin = np.where(lift > 0.6 * b.foot, 0.5 * sin, sin)  # foot in the air: half pointed
    c["foot_dir"] = h * np.sqrt(1 - sin ** 2)[..., None] + np.array([0.0, -1.0, 0.0]) * sin[..., None]


def m_lunge(b, t, rng, kind=None):
    """Lunges: static split squat, forward, reverse, walking and lateral (side) lunges, one rep per leg."""
    Tn = len(t)
    kind = kind or rng.choice(["split", "reverse", "forward", "walking", "side"], p=[0.2, 0.22, 0.17, 0.26, 0.15])
    s = rep_signal(t, rng, period=(1.5, 4.0), pause_top=(0.1, 1.0), pause_bottom=(0.0, 0.8),
                   start_bottom=0.25 if kind in ("split", "walking") else 0.1)
    step = b.leg * rng.uniform(0.7, 1.15)
    c = _standing(b, t, rng, stance=b.hip_w * rng.uniform(0.8, 1.3), toe_out=rng.uniform(0, 12))
    starts, rising = _rep_index(s)
    alternate = kind != "split" and rng.random() < 0.85
    lead = (starts % 2) if alternate else np.full(Tn, int(rng.integers(0, 2)))
    ext = smoothstep(s * 2.5)  # stepping phase: the foot travels early in the rep
    drop = s * b.leg * (rng.uniform(0.2, 0.3) if rng.random() < 0.15 else rng.uniform(0.3, 0.47))  # some shallow
    ank = c["ankle"].copy()
    back_leg = np.zeros((Tn, 2))  # how much each leg is the back leg (heel up, knee toward the floor)
    if kind == "walking":
        # the lead foot steps forward and stays; while rising the trailing foot comes up to it; the next rep
        # starts from there with the other leg
        z0 = starts * step
        join = np.where(rising, smoothstep((0.6 - s) / 0.6), 0.0)
        reach = np.where(rising, 1.0, ext)
        for k in (0, 1):
            is_lead = lead == k
            ank[:, k, 2] = z0 + np.where(is_lead, step * reach, step * join)
            ank[:, k, 1] += 0.08 * np.sin(np.pi * np.clip(s * 2.5, 0, 1)) * is_lead * ~rising
            ank[:, k, 1] += 0.06 * np.sin(np.pi * join) * ~is_lead
            back_leg[:, k] = (~is_lead) * np.clip(s * 2, 0, 1)
    elif kind == "side":
        for k in (0, 1):
            ank[:, k, 0] += (1 if k == 0 else -1) * step * 0.8 * ext * (lead == k)
    else:
        for k in (0, 1):
            is_lead = lead == k
            if kind == "split":
                front = k == lead[0]
                ank[:, k, 2] += step / 2 if front else -step / 2
                back_leg[:, k] = 0.0 if front else 0.4 + 0.6 * s
            else:
                sign = 1 if kind == "forward" else -1
                ank[:, k, 2] += sign * step * ext * is_lead
                ank[:, k, 1] += 0.08 * np.sin(np.pi * np.clip(s * 2.5, 0, 1)) * is_lead
                back = is_lead if kind == "reverse" else ~is_lead
                back_leg[:, k] = back * np.clip(s * 2, 0, 1)
    # back foot on its toes: heel up, toes on the floor
    ank[..., 1] += rng.uniform(0.05, 0.1) * back_leg
    c["ankle"] = ank
    _toes_down(b, c)
    mid = ank.mean(1)
    c["pelvis"] = np.stack([mid[:, 0] * 0.8 + c["pelvis"][:, 0], c["pelvis"][:, 1] - drop,
                            mid[:, 2] + c["pelvis"][:, 2]], -1)
    if kind == "side":
        # lateral lunge: the hips sit back and over the stepping foot, whose knee bends deeply; the other leg stays
        # straight
        lead_x = np.where(lead == 0, ank[:, 0, 0], ank[:, 1, 0])
        over = rng.uniform(0.55, 0.8)
        c["pelvis"][:, 0] = c["pelvis"][:, 0] * (1 - ext) + lead_x * over * ext
        c["pelvis"][:, 2] = c["pelvis"][:, 2] - drop * rng.uniform(0.3, 0.6)
    lean = np.deg2rad(rng.uniform(-3, 22)) * s
    c["R_trunk"] = rot_x(lean)
    kp = np.zeros((Tn, 2, 3))
    for k in (0, 1):
        bl = back_leg[:, k:k + 1]
        kp[:, k] = np.array([0.05 if k == 0 else -0.05, 0, 1]) * (1 - bl) + np.array([0, -0.6, 1]) * bl
    c["knee_pole"] = kp
    style = rng.choice(["hang", "hips", "chest", "backbar", "behind", "forward"],
                       p=[0.4, 0.2, 0.15, 0.1, 0.1, 0.05])
    _arm_pose(b, c, rng, style)
    return _finish(b, c, "lunge", s, "lunge_" + kind)


def _hinge_arms(b, c, bar_z, grip_x, reach):
    """Straight arms holding a bar (or handles) that stays over the mid-foot: wrists at ``bar_z`` when the arms
    can reach it, as low as straight arms allow."""
    _, shL, shR = _shoulders(b, c)
    ws = []
    for k, sh in enumerate([shL, shR]):
        gx = grip_x if k == 0 else -grip_x
        dx = gx - sh[:, 0]
        dz = bar_z - sh[:, 2]
        horiz2 = dx ** 2 + dz ** 2
        L = b.arm * reach
        scale = np.minimum(1.0, 0.97 * L / np.sqrt(np.maximum(horiz2, 1e-9)))
        dx, dz = dx * scale, dz * scale
        dy = -np.sqrt(np.maximum(L ** 2 - (dx ** 2 + dz ** 2), 0.0))
        ws.append(np.stack([sh[:, 0] + dx, sh[:, 1] + dy, sh[:, 2] + dz], -1))
    c["wrist"] = np.stack(ws, 1)
    Tn = len(shL)
    c["elbow_pole"] = _pair(Tn, [0.3, 0.2, -1], [-0.3, 0.2, -1])


def m_deadlift(b, t, rng, kind=None):
    """Deadlifts: conventional, sumo, trap bar and dumbbell from the floor; Romanian and stiff-legged from the top.
    Lowering: the hips go back first and the knees bend later; pulling: the knees extend first, the hips last."""
    Tn = len(t)
    kind = kind or rng.choice(["conventional", "sumo", "romanian", "stiff_leg", "trap_bar", "dumbbell",
                               "dumbbell_rdl"], p=[0.27, 0.17, 0.25, 0.06, 0.07, 0.08, 0.1])
    floor = kind in ("conventional", "sumo", "trap_bar", "dumbbell")
    if floor:
        s = rep_signal(t, rng, period=(2.0, 5.0), pause_top=(0.2, 1.5), pause_bottom=(0.2, 2.0), p_pause=0.7,
                       start_bottom=0.6, depth_jitter=0.02)
        s = np.minimum(s, 1.0)
    else:
        s = rep_signal(t, rng, period=(2.0, 5.0), pause_top=(0.1, 1.5), pause_bottom=(0.0, 0.5), start_bottom=0.1,
                       depth_jitter=0.08)
    stance = b.hip_w * {"sumo": rng.uniform(2.0, 3.2), "trap_bar": rng.uniform(1.0, 1.6)}.get(kind, rng.uniform(0.8, 1.5))
    toe = rng.uniform(25, 45) if kind == "sumo" else rng.uniform(0, 20)
    c = _standing(b, t, rng, stance=stance, toe_out=toe)
    lean_b = np.deg2rad({"conventional": rng.uniform(45, 72), "sumo": rng.uniform(25, 50),
                         "romanian": rng.uniform(55, 88), "stiff_leg": rng.uniform(65, 95),
                         "trap_bar": rng.uniform(30, 50), "dumbbell": rng.uniform(40, 65),
                         "dumbbell_rdl": rng.uniform(55, 85)}[kind])
    lean_t = np.deg2rad(rng.uniform(-8, 4))
    s_h = smoothstep(np.minimum(1.0, s * rng.uniform(1.2, 1.6)))  # hinge leads the descent
    k0 = rng.uniform(0.15, 0.35)
    s_k = smoothstep(np.clip((s - k0) / (1 - k0), 0, 1))  # knees bend late, extend early
    lean = lean_t + (lean_b - lean_t) * s_h
    y_top = c["pelvis"][:, 1].copy()
    bar_z = rng.uniform(0.0, 0.07)
    sides = kind in ("trap_bar", "dumbbell", "dumbbell_rdl")
    reach = 0.985
    if floor:
        bar_h = {"trap_bar": rng.uniform(0.24, 0.34), "dumbbell": rng.uniform(0.12, 0.2)}.get(kind, rng.uniform(0.2, 0.24))
        y_bot = bar_h + b.arm * reach * 0.99 - b.torso * np.cos(lean_b)
        z_bot = bar_z - b.torso * np.sin(lean_b) + rng.uniform(-0.04, 0.02)
        y_bot = min(y_bot, float(y_top.mean()) - 0.1 * b.leg)
        pel_y = y_top + (y_bot - y_top) * s_k
        pel_z = z_bot * s_h
    else:
        drop = (rng.uniform(0.0, 0.03) if kind == "stiff_leg" else rng.uniform(0.03, 0.09)) * b.leg
        back = rng.uniform(0.08, 0.25)
        pel_y = y_top - drop * s_k
        pel_z = -back * s_h
    c["pelvis"] = np.stack([c["pelvis"][:, 0], pel_y, c["pelvis"][:, 2] + pel_z], -1)
    c["R_pelvis"] = rot_x(lean * rng.uniform(0.5, 0.75))
    c["R_trunk"] = rot_x(lean)
    c["R_head"] = rot_x(-lean * rng.uniform(0.2, 0.7))
    if kind == "sumo":
        grip = b.sh_w / 2 * rng.uniform(0.7, 1.0)
        c["knee_pole"] = _pair(Tn, [np.sin(np.deg2rad(toe)) + 0.3, 0, 1], [-np.sin(np.deg2rad(toe)) - 0.3, 0, 1])
    elif sides:
        grip = b.sh_w / 2 + rng.uniform(0.02, 0.08)
        bar_z = rng.uniform(-0.03, 0.05)
    else:
        grip = max(stance / 2 + rng.uniform(0.05, 0.1), b.sh_w / 2 * rng.uniform(0.9, 1.2))
    _hinge_arms(b, c, bar_z, grip, reach)
    return _finish(b, c, "deadlift", s, "deadlift_" + kind)


# ----------------------------------------------------------------------------- negatives

def m_hinge(b, t, rng):
    """Hinges that are not deadlifts: good mornings, kettlebell swings, bent-over (hinge) rows, Pendlay rows,
    one-arm rows with a hand on a bench."""
    Tn = len(t)
    kind = rng.choice(["good_morning", "swing", "bentrow", "pendlay", "one_arm_row"], p=[0.3, 0.2, 0.25, 0.1, 0.15])
    s = rep_signal(t, rng, period=(1.0, 2.2) if kind == "swing" else (1.6, 4.5), pause_top=(0.1, 1.0),
                   pause_bottom=(0.0, 0.6))
    rows = kind in ("bentrow", "pendlay", "one_arm_row")
    if rows:  # hold the hinge, the arms row
        s_h = np.full(Tn, rng.uniform(0.6, 1.0)) + smooth_noise(t, rng, 0.03, 1.5)
    else:
        s_h = s
    c = _standing(b, t, rng, stance=b.hip_w * rng.uniform(0.9, 1.8))
    flex = np.deg2rad(rng.uniform(45, 95) if kind != "swing" else rng.uniform(35, 70)) * s_h
    knee_drop = (rng.uniform(0.12, 0.2) if kind == "swing" else rng.uniform(0.02, 0.1)) * b.leg * s_h
    back = rng.uniform(0.08, 0.2) * s_h
    c["pelvis"] = c["pelvis"] + np.stack([0 * s, -knee_drop, -back], -1)
    if kind == "one_arm_row":  # staggered stance
        c["ankle"] = c["ankle"] + np.array([[0, 0, 0.25], [0, 0, -0.25]]) * rng.choice([-1, 1])
    c["R_pelvis"] = rot_x(flex * 0.6)
    c["R_trunk"] = rot_x(flex)
    c["R_head"] = rot_x(-flex * rng.uniform(0.2, 0.7))
    shc, shL, shR = _shoulders(b, c)
    if kind == "good_morning":
        _arm_pose(b, c, rng, "behind" if rng.random() < 0.5 else "backbar")
    elif kind == "swing":
        ang = (1 - s) * np.deg2rad(rng.uniform(60, 110))  # arms swing forward when standing up
        d = np.stack([0 * ang, -np.cos(ang), np.sin(ang)], -1) * b.arm * 0.97
        c["wrist"] = np.stack([shc + d + [0.05, 0, 0], shc + d - [0.05, 0, 0]], 1)
        c["elbow_pole"] = _pair(Tn, [0.2, -1, 0], [-0.2, -1, 0])
    else:
        down = np.array([0, -b.arm * 0.97, 0.02])
        row = rep_signal(t, rng, period=(1.2, 3.0), pause_top=(0.0, 0.8))[:, None]
        up = np.array([0, b.arm * rng.uniform(0.35, 0.55), -0.1])
        wl = shL + down + up * row + [-0.02, 0, 0]
        wr = shR + down + up * row + [0.02, 0, 0]
        if kind == "pendlay":  # the bar goes back to the floor each rep
            floor = np.array([0, 0.22, 0])
            wl[:, 1] = np.maximum(wl[:, 1], floor[1])
            wr[:, 1] = np.maximum(wr[:, 1], floor[1])
        if kind == "one_arm_row":  # the other hand rests on a bench at knee height
            side = int(rng.integers(0, 2))
            sup = (shL if side == 0 else shR) + np.array([0, -b.arm * 0.9, 0.15])
            if side == 0:
                wl = sup
            else:
                wr = sup
        c["wrist"] = np.stack([wl, wr], 1)
        c["elbow_pole"] = _pair(Tn, [0.3, 0.5, -1], [-0.3, 0.5, -1])
        s = row[:, 0]
    return _finish(b, c, "unknown", s, "hinge_" + kind)


def m_dance(b, t, rng):
    """Dancing to a beat: bounces and drops, side steps, sways and twists, turns, arm waves/pumps/claps."""
    Tn = len(t)
    beat = 60.0 / rng.uniform(85, 135)
    ph = 2 * np.pi * (t - t[0]) / beat + rng.uniform(0, 2 * np.pi)
    c = _standing(b, t, rng, stance=b.hip_w * rng.uniform(0.9, 2.2), toe_out=rng.uniform(0, 30))
    bounce = rng.uniform(0.01, 0.1) * b.leg * (0.5 - 0.5 * np.cos(ph * rng.choice([0.5, 1.0])))
    if rng.random() < 0.5:  # occasional deeper drops, squat-like, every few beats
        every = int(rng.integers(2, 5))
        drop = rng.uniform(0.1, 0.35) * b.leg * np.clip(np.sin(ph / every), 0, 1) ** 2
    else:
        drop = 0 * t
    sway = rng.uniform(0.0, 0.12) * np.sin(ph / 2 + rng.uniform(0, np.pi))
    ank = c["ankle"].copy()
    step_amp = rng.uniform(0.0, 0.3)
    for k in (0, 1):
        on = np.clip(np.sin(ph / 2 + np.pi * k), 0, 1)
        ank[:, k, 0] += (1 if k == 0 else -1) * step_amp * on * rng.uniform(0.3, 1.0)
        ank[:, k, 2] += rng.uniform(-0.2, 0.2) * on
        ank[:, k, 1] += rng.uniform(0.0, 0.12) * np.clip(np.sin(ph + np.pi * k), 0, 1) ** 2
    c["ankle"] = ank
    c["pelvis"] = np.stack([c["pelvis"][:, 0] + sway + ank[:, :, 0].mean(1) * 0.5, c["pelvis"][:, 1] - bounce - drop,
                            c["pelvis"][:, 2] + ank[:, :, 2].mean(1) * 0.5], -1)
    twist = np.deg2rad(rng.uniform(0, 30)) * np.sin(ph / 2 + rng.uniform(0, np.pi))
    bend = np.deg2rad(rng.uniform(0, 15)) * np.sin(ph / 2)
    lean = np.deg2rad(rng.uniform(-5, 25)) * (0.5 - 0.5 * np.cos(ph)) * rng.random()
    c["R_trunk"] = rot_y(twist) @ rot_z(bend) @ rot_x(lean)
    c["R_pelvis"] = rot_y(twist * 0.4)
    c["R_head"] = rot_x(np.deg2rad(rng.uniform(-10, 10)) * np.sin(ph))
    c["knee_pole"] = _pair(Tn, [0.2, 0, 1], [-0.2, 0, 1])
    shc, shL, shR = _shoulders(b, c)
    Rt = c["R_trunk"]
    style = rng.choice(["wave", "pump", "clap", "swing", "random", "overhead"])
    ws = []
    for k, sh in enumerate([shL, shR]):
        sg = 1 if k == 0 else -1
        if style == "wave":
            a = np.deg2rad(60) + np.deg2rad(40) * np.sin(ph + k * np.pi * rng.random())
            d = np.stack([sg * np.sin(a), -np.cos(a), 0.3 + 0 * a], -1)
        elif style == "pump":
            u = np.clip(np.sin(ph + np.pi * k * rng.integers(0, 2)), 0, 1)
            d = np.stack([sg * 0.3 + 0 * u, -1 + 2.1 * u, 0.4 + 0 * u], -1)
        elif style == "clap":
            u = 0.5 - 0.5 * np.cos(ph)
            d = np.stack([sg * (0.8 - 0.9 * u), -0.3 + 0.4 * u, 0.8 + 0 * u], -1)
        elif style == "swing":
            d = np.stack([sg * 0.2 + 0 * ph, -1 + 0 * ph, 0.8 * np.sin(ph / 2 + np.pi * k)], -1)
        elif style == "overhead":
            u = 0.5 - 0.5 * np.cos(ph / 2 + k * np.pi * 0.5)
            d = np.stack([sg * (0.2 + 0.5 * u), 0.3 + 0.7 * u, 0.1 + 0 * u], -1)
        else:
            g = smooth_noise(t, rng, 0.8, beat * 2, 3)
            d = np.array([sg * 0.5, -0.3, 0.5]) + g
        dd = _mv(Rt, _unit(d))
        ws.append(sh + dd * b.arm * rng.uniform(0.75, 0.97))
    c["wrist"] = np.stack(ws, 1)
    c["elbow_pole"] = _pair(Tn, [0.5, -1, -0.3], [-0.5, -1, -0.3])
    m = _finish(b, c, "unknown", 0 * t, "dance_" + style)
    # turns: the whole body rotates about the vertical axis through the hips
    if rng.random() < 0.5:
        yaw = np.deg2rad(rng.uniform(30, 200)) * smooth_noise(t, rng, 1.0, 3.0)
        m.P[:] = _yaw_body(m.P, yaw)
    return m


def _yaw_body(P, yaw):
    hc = (P[:, 23] + P[:, 24]) / 2
    hc[:, 1] = 0
    R = rot_y(yaw)
    return np.einsum("tij,tkj->tki", R, P - hc[:, None]) + hc[:, None]


def m_jump(b, t, rng):
    """Jumps: countermovement and squat jumps, tuck jumps, broad jumps, jump rope, lateral hops."""
    Tn = len(t)
    kind = rng.choice(["cmj", "squat_jump", "tuck", "broad", "rope", "lateral"], p=[0.22, 0.22, 0.14, 0.12, 0.18, 0.12])
    dip = np.zeros(Tn)
    fl = np.zeros(Tn)
    arm = np.zeros(Tn)  # -1 back, 0 down, 1 up
    tuck = np.zeros(Tn)
    travel = np.zeros(Tn)
    rope = kind in ("rope", "lateral")
    cur = float(t[0]) - rng.uniform(0, 1.5)
    pos = 0.0
    while cur < t[-1] + 1:
        if rope:
            depth = rng.uniform(0.02, 0.06) * b.leg
            d_down, d_push, d_land, rest = rng.uniform(0.08, 0.14), rng.uniform(0.06, 0.1), rng.uniform(0.06, 0.12), 0.0
            h = rng.uniform(0.03, 0.1)
        else:
            depth = (rng.uniform(0.3, 0.5) if kind == "squat_jump" else rng.uniform(0.12, 0.3)) * b.leg
            d_down, d_push, d_land = rng.uniform(0.25, 0.7), rng.uniform(0.12, 0.25), rng.uniform(0.15, 0.35)
            rest = rng.uniform(0.2, 1.8)
            h = rng.uniform(0.12, 0.4)
        tf = 2 * np.sqrt(2 * h / 9.81)
        a1, a2, a3, a4, a5 = cur + d_down, cur + d_down + d_push, cur + d_down + d_push + tf, \
            cur + d_down + d_push + tf + d_land, cur + d_down + d_push + tf + d_land + rest
        m1 = (t >= cur) & (t < a1)
        u = smoothstep((t - cur) / d_down)
        dip = np.where(m1, depth * u, dip)
        arm = np.where(m1, -u, arm)
        m2 = (t >= a1) & (t < a2)
        u = smoothstep((t - a1) / d_push)
        dip = np.where(m2, depth * (1 - u), dip)
        arm = np.where(m2, -1 + 2 * u, arm)
        m3 = (t >= a2) & (t < a3)
        tau = (t - a2) / tf
        fl = np.where(m3, 4 * h * tau * (1 - tau), fl)
        tuck = np.where(m3 & (kind == "tuck"), np.sin(np.pi * np.clip(tau, 0, 1)), tuck)
        arm = np.where(m3, 1.0, arm)
        step = {"broad": rng.uniform(0.5, 1.2), "lateral": rng.choice([-1, 1]) * rng.uniform(0.1, 0.3)}.get(kind, 0.0)
        travel = np.where(m3, pos + step * tau, travel)
        m4 = (t >= a3) & (t < a4)
        u = (t - a3) / d_land
        dip = np.where(m4, depth * 0.7 * np.sin(np.pi * np.clip(u, 0, 1)), dip)
        arm = np.where(m4, 1 - smoothstep(u), arm)
        pos += step
        travel = np.where(t >= a3, pos, travel)
        cur = a5
    c = _standing(b, t, rng, stance=b.hip_w * rng.uniform(0.9, 1.6), toe_out=rng.uniform(0, 20))
    ank = c["ankle"].copy()
    ank[..., 1] += fl[:, None] + tuck[:, None] * b.shin * 0.6
    ank[..., 2] += -tuck[:, None] * b.shin * 0.3
    lat = kind == "lateral"
    ank[..., 0 if lat else 2] += travel[:, None]
    c["ankle"] = ank
    c["pelvis"] = np.stack([c["pelvis"][:, 0] + (travel if lat else 0), c["pelvis"][:, 1] - dip + fl,
                            c["pelvis"][:, 2] - dip * 0.5 + (0 if lat else travel)], -1)
    c["R_trunk"] = rot_x(np.deg2rad(rng.uniform(15, 40)) * dip / max(dip.max(), 1e-6))
    c["knee_pole"] = _pair(Tn, [0.1, 0, 1], [-0.1, 0, 1])
    _toes_down(b, c)
    shc, shL, shR = _shoulders(b, c)
    if rope:
        a = 2 * np.pi * (t - t[0]) / rng.uniform(0.4, 0.6)
        ws = [sh + np.stack([sg * (0.15 + 0.04 * np.cos(a)), -b.arm * 0.75 + 0.04 * np.sin(a), 0.12 + 0 * a], -1)
              for sg, sh in ((1, shL), (-1, shR))]
    else:
        ang = np.where(arm < 0, arm * np.deg2rad(40), arm * np.deg2rad(rng.uniform(90, 170)))
        ws = [sh + _unit(np.stack([sg * 0.15 + 0 * ang, -np.cos(ang), np.sin(ang)], -1)) * b.arm * 0.96
              for sg, sh in ((1, shL), (-1, shR))]
    c["wrist"] = np.stack(ws, 1)
    c["elbow_pole"] = _pair(Tn, [0.3, -0.5, -1], [-0.3, -0.5, -1])
    return _finish(b, c, "unknown", 0 * t, "jump_" + kind)


def m_hang(b, t, rng):
    """Hanging from a bar: pull-ups and chin-ups (the body rises to the hands), hanging knee and leg raises, a kipping
    swing. Hard negatives for the press: the arms are overhead and the elbows bend and straighten, but the hands stay
    where they are while the body moves, and the feet are off the floor."""
    Tn = len(t)
    kind = rng.choice(["pullup", "chinup", "knee_raise", "leg_raise", "kip"], p=[0.35, 0.2, 0.2, 0.1, 0.15])
    s = rep_signal(t, rng, period=(1.4, 4.0), pause_top=(0.0, 0.8), pause_bottom=(0.2, 1.5))
    c = _standing(b, t, rng, stance=b.hip_w * rng.uniform(0.6, 1.1))
    bar_h = b.ankle_h + b.leg + b.torso + b.arm * 0.97 + rng.uniform(0.1, 0.35)
    grip = b.sh_w / 2 * (rng.uniform(1.1, 1.9) if kind != "chinup" else rng.uniform(0.7, 1.0))
    pulls = kind in ("pullup", "chinup", "kip")
    lift = b.arm * rng.uniform(0.45, 0.75) * s if pulls else 0 * s
    swing = smooth_noise(t, rng, 0.04, 1.5) + (0.12 * np.sin(2 * np.pi * t / rng.uniform(1.2, 2.0))
                                                 if kind == "kip" else 0.0)
    hang = bar_h - b.arm * 0.97 - b.torso
    c["pelvis"] = np.stack([0 * s + smooth_noise(t, rng, 0.01, 2.0), hang + lift, swing], -1)
    c["R_trunk"] = rot_x(-np.deg2rad(rng.uniform(0, 20)) * s - swing)
    c["R_pelvis"] = rot_x(-swing)
    c["wrist"] = _pair(Tn, [grip, bar_h, 0.0], [-grip, bar_h, 0.0])
    c["elbow_pole"] = _pair(Tn, [1.0, 0, -0.2 if kind != "chinup" else 1.0], [-1.0, 0, -0.2 if kind != "chinup" else 1.0])
    # legs hang below the pelvis (knees bent with the feet crossed behind, or straight); a raise flexes the hips
    flex = (np.deg2rad(rng.uniform(70, 110)) * s) if kind in ("knee_raise", "leg_raise") else 0 * s
    bend = np.deg2rad(rng.uniform(50, 100)) if kind == "knee_raise" or rng.random() < 0.5 else np.deg2rad(5)
    ank = []
    for k, sg in ((0, 1), (1, -1)):
        hip = c["pelvis"] + np.array([sg * b.hip_w / 2, 0, 0])
        knee = hip + np.stack([0 * flex, -np.cos(flex), np.sin(flex)], -1) * b.thigh
        a = flex - bend
        ank.append(knee + np.stack([0 * a, -np.cos(a), np.sin(a)], -1) * b.shin)
    c["ankle"] = np.stack(ank, 1)
    c["knee_pole"] = _pair(Tn, [0, 0, 1], [0, 0, 1])
    c["foot_dir"] = _pair(Tn, [0, -0.8, 0.4], [0, -0.8, 0.4])
    return _finish(b, c, "unknown", 0 * t, "hang_" + kind)


def _keyposes(t: np.ndarray, keys: list[tuple[float, np.ndarray]]) -> np.ndarray:
    """Landmarks over ``t`` moving through key poses (time, (33, 3)) with smooth transitions."""
    P = np.repeat(keys[0][1][None], len(t), 0).astype(float)
    for (t0, A), (t1, B) in zip(keys, keys[1:]):
        m = (t >= t0) & (t < t1)
        if m.any():
            u = smoothstep((t[m] - t0) / max(t1 - t0, 1e-6))[:, None, None]
            P[m] = A[None] * (1 - u) + B[None] * u
    P[t >= keys[-1][0]] = keys[-1][1]
    return P


_LIMB_TREE = [(11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (12, 14), (14, 16), (16, 18), (16, 20), (16, 22),
              (23, 25), (25, 27), (27, 29), (27, 31), (24, 26), (26, 28), (28, 30), (28, 32)]


def _keep_bones(P: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Put the limbs' bone lengths back to those of ``ref`` (33, 3) after blending key poses (a straight-line blend
    between two poses shortens a limb mid-way): each bone keeps its direction, from the shoulders and hips out,
    and the rest of the limb follows its end."""
    P = P.copy()
    kids: dict[int, list[int]] = {}
    for a, c in _LIMB_TREE:
        kids.setdefault(a, []).append(c)

    def below(j):
        out = [j]
        for c in kids.get(j, []):
            out += below(c)
        return out

    for a, c in _LIMB_TREE:
        L = float(np.linalg.norm(ref[c] - ref[a]))
        v = P[:, c] - P[:, a]
        n = np.linalg.norm(v, axis=-1, keepdims=True)
        d = P[:, a] + v / np.maximum(n, 1e-9) * L - P[:, c]
        P[:, below(c)] += d[:, None, :]
    return P


def m_burpee(b, t, rng):
    """Burpees and sprawls: squat down, hands to the floor, jump the feet back to a plank (with or without a push-up),
    jump them in again, stand up and jump. Hard negative for the squat, the deadlift and the push-up: each piece
    looks like one of them for a moment, the whole never repeats as one."""
    Tn = len(t)
    tt = np.linspace(0, 8, 241)
    sq = m_squat(b, tt, rng)
    pu = m_push_up(b, tt, rng, kind="full")
    jp = m_jump(b, tt, rng)
    stand = sq.P[int(np.argmin(sq.active))].copy()
    low = sq.P[int(np.argmax(sq.active))].copy()
    plank = pu.P[int(np.argmin(pu.active))].copy()
    plank_low = pu.P[int(np.argmax(pu.active))].copy()
    flight = jp.P[int(np.argmax(jp.P[:, 27, 1] + jp.P[:, 28, 1]))].copy()
    flight += (stand[[23, 24]].mean(0) - flight[[23, 24]].mean(0)) * np.array([1, 0, 1])
    # hands on the floor in front of the feet at the bottom of the squat
    feet_z = float(low[[27, 28], 2].mean())
    hand_z = feet_z + rng.uniform(0.3, 0.5)
    for k, (ie, iw) in enumerate(((13, 15), (14, 16))):
        w = np.array([(1 if k == 0 else -1) * b.sh_w / 2, 0.02, hand_z])
        low[iw] = w
        low[ie] = (low[11 + k] + w) / 2 + np.array([(1 if k == 0 else -1) * 0.05, 0, 0.02])
        for j in (17 + k, 19 + k, 21 + k):
            low[j] = w + np.array([0, 0, 0.05])
    # the plank with its hands where they were put down
    shift = np.array([0, 0, hand_z - float(plank[[15, 16], 2].mean())])
    plank, plank_low = plank + shift, plank_low + shift
    pushup = rng.random() < 0.5
    keys, cur = [], float(t[0]) - rng.uniform(0, 2.0)
    while cur < t[-1] + 1:
        sp = rng.uniform(0.8, 1.25)
        seq = [(0.0, stand), (rng.uniform(0.2, 1.2), stand), (0.5, low), (0.3, plank)]
        if pushup:
            seq += [(0.45, plank_low), (0.45, plank)]
        else:
            seq += [(rng.uniform(0.1, 0.4), plank)]
        seq += [(0.3, low), (0.45, stand), (0.25, flight), (0.25, stand)]
        for dt, pose in seq:
            cur += dt * sp
            keys.append((cur, pose))
    P = _keep_bones(_keyposes(t, keys), stand)
    P[..., 1] += np.maximum(0.0, -P[..., 1].min(1))[:, None]  # a limb put back to length lifts the body off the floor
    P += smooth_noise(t, rng, 0.01, 1.0, 3)[:, None, :]
    return Motion(P=P, active=np.zeros(Tn), label="unknown", kind="burpee")


def m_arm_exercise(b, t, rng):
    """Curls, front/lateral raises, upright rows, triceps, and other standing/seated arm work."""
    Tn = len(t)
    kind = rng.choice(["curl", "hammer", "front_raise", "lateral_raise", "upright_row", "triceps_oh",
                       "y_raise", "chest_fly"], p=[0.22, 0.1, 0.2, 0.15, 0.1, 0.08, 0.08, 0.07])
    seated = rng.random() < 0.25
    c = _seated(b, t, rng) if seated else _standing(b, t, rng)
    s = rep_signal(t, rng, period=(1.3, 3.5), pause_top=(0.0, 1.0), pause_bottom=(0.0, 0.8), start_bottom=0.1)
    alt = rng.random() < 0.3
    s2 = rep_signal(t, rng, period=(1.3, 3.5)) if alt else s
    shc, shL, shR = _shoulders(b, c)
    lean = np.deg2rad(rng.uniform(-5, 12))
    c["R_trunk"] = rot_x(lean * np.ones(Tn) + np.deg2rad(3) * s)
    shc, shL, shR = _shoulders(b, c)
    wr, poles = [], []
    for k, (sh, ss) in enumerate([(shL, s), (shR, s2)]):
        sg = 1 if k == 0 else -1
        if kind in ("curl", "hammer"):
            th = np.deg2rad(rng.uniform(120, 150)) * ss  # forearm flexion
            swing = np.deg2rad(rng.uniform(0, 25)) * ss
            el = sh + np.stack([0 * ss + sg * 0.03, -b.ua * np.cos(swing), b.ua * np.sin(swing)], -1)
            w = el + np.stack([0 * ss + sg * 0.02, -b.fa * np.cos(th + swing), b.fa * np.sin(th + swing)], -1)
            pole = np.stack([0 * ss + sg * 0.2, 0 * ss, -1 + 0 * ss], -1)
        elif kind in ("front_raise", "lateral_raise", "y_raise"):
            top = np.deg2rad(rng.uniform(80, 115) if kind != "y_raise" else rng.uniform(130, 160))
            a = np.deg2rad(-5) + (top - np.deg2rad(-5)) * ss  # elevation from hanging (0) to top
            if kind == "front_raise":
                d = np.stack([0 * a + sg * 0.08, -np.cos(a), np.sin(a)], -1)
            elif kind == "lateral_raise":
                d = np.stack([sg * np.sin(a), -np.cos(a), 0 * a + 0.15], -1)
            else:
                d = np.stack([sg * np.sin(a) * 0.6, -np.cos(a), np.sin(a) * 0.6], -1)
            w = sh + _unit(d) * b.arm * 0.96
            pole = np.stack([0 * a + sg * 0.2, 0 * a - 1, 0 * a - 0.3], -1)
        elif kind == "upright_row":
            w = sh + np.stack([0 * ss - sg * b.sh_w * 0.3, -b.arm * 0.95 + ss * b.arm * 0.8, 0 * ss + 0.12], -1)
            pole = np.stack([0 * ss + sg, 0 * ss + 0.6, 0 * ss - 0.2], -1)
        elif kind == "triceps_oh":
            th = np.deg2rad(150) * (1 - ss)
            el = sh + np.array([sg * 0.05, b.ua * 0.97, -0.05])
            w = el + np.stack([0 * th, b.fa * np.cos(th), -b.fa * np.sin(th)], -1)
            pole = np.stack([0 * th + sg * 0.2, 0 * th + 1, 0 * th], -1)
        else:  # chest fly
            a = np.deg2rad(90) * ss
            d = np.stack([sg * np.cos(a), 0 * a - 0.1, np.sin(a)], -1)
            w = sh + _unit(d) * b.arm * 0.93
            pole = np.stack([0 * a, 0 * a - 1, 0 * a - 0.5], -1)
        wr.append(w)
        poles.append(pole)
    c["wrist"] = np.stack(wr, 1)
    c["elbow_pole"] = np.stack(poles, 1)
    return _finish(b, c, "unknown", s, "arm_" + kind + ("_seated" if seated else ""))


def m_jacks(b, t, rng):
    Tn = len(t)
    kind = rng.choice(["jacks", "half_jacks", "seal"], p=[0.7, 0.15, 0.15])
    s = rep_signal(t, rng, period=(0.6, 1.4), pause_top=(0, 0.1), pause_bottom=(0, 0.1), p_pause=0.2)
    c = _standing(b, t, rng, stance=b.hip_w * 1.0)
    spread = b.leg * rng.uniform(0.35, 0.6) * s
    c["ankle"] = c["ankle"] + np.stack([np.stack([spread / 2, 0 * s, 0 * s], -1),
                                        np.stack([-spread / 2, 0 * s, 0 * s], -1)], 1)
    hop = 0.04 * np.abs(np.sin(np.pi * s * 2))
    c["pelvis"] = c["pelvis"] + np.stack([0 * s, hop - spread * 0.1, 0 * s], -1)
    c["ankle"][..., 1] += hop[:, None]
    shc, shL, shR = _shoulders(b, c)
    top = np.deg2rad({"jacks": rng.uniform(150, 178), "half_jacks": rng.uniform(80, 100),
                      "seal": rng.uniform(70, 90)}[kind])
    a = np.deg2rad(5) + (top - np.deg2rad(5)) * s
    ws = []
    for k, sh in enumerate([shL, shR]):
        sg = 1 if k == 0 else -1
        if kind == "seal":
            d = np.stack([sg * np.sin(a) * np.cos(0 * a), 0 * a, np.cos(a)], -1)
        else:
            d = np.stack([sg * np.sin(a), -np.cos(a), 0 * a + 0.1], -1)
        ws.append(sh + _unit(d) * b.arm * 0.97)
    c["wrist"] = np.stack(ws, 1)
    c["elbow_pole"] = _pair(Tn, [0, -1, -0.5], [0, -1, -0.5])
    return _finish(b, c, "unknown", s, "jacks_" + kind)


def m_gait(b, t, rng):
    """Walking (across / toward / away from the camera), treadmill walking, marching, high knees, jogging."""
    Tn = len(t)
    kind = rng.choice(["walk", "treadmill", "march", "high_knees", "jog"], p=[0.3, 0.25, 0.2, 0.1, 0.15])
    f = {"walk": rng.uniform(0.8, 1.1), "treadmill": rng.uniform(0.8, 1.1), "march": rng.uniform(0.6, 1.1),
         "high_knees": rng.uniform(1.3, 2.0), "jog": rng.uniform(1.2, 1.6)}[kind]
    ph = 2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)
    c = _standing(b, t, rng, stance=b.hip_w * 1.0, toe_out=5)
    stride = b.leg * (rng.uniform(0.25, 0.4) if kind in ("walk", "treadmill", "jog") else 0.02)
    lift = {"walk": 0.06, "treadmill": 0.06, "march": rng.uniform(0.15, 0.3), "high_knees": rng.uniform(0.3, 0.45),
            "jog": 0.15}[kind] * b.leg
    speed = stride * 2 * f if kind == "walk" else 0.0
    ank = c["ankle"].copy()
    for k in (0, 1):
        p = ph + np.pi * k
        ank[:, k, 2] += stride * np.sin(p)
        up = np.maximum(0, np.cos(p)) ** 2 if kind in ("walk", "treadmill", "jog") else np.maximum(0, np.sin(p)) ** 1.5
        ank[:, k, 1] += lift * up * (0.5 if kind in ("walk", "treadmill") else 1.0)
        if kind in ("march", "high_knees"):
            ank[:, k, 2] += 0.3 * lift * up
    bob = 0.015 * np.cos(2 * ph)
    ank[..., 2] += (speed * (t - t[0]))[:, None]
    c["ankle"] = ank
    c["pelvis"] = np.stack([c["pelvis"][:, 0], c["pelvis"][:, 1] + bob - 0.02 * b.leg,
                            ank[:, :, 2].mean(1)], -1)
    knee_lift = np.stack([np.maximum(0, np.sin(ph)), np.maximum(0, np.sin(ph + np.pi))], 1)
    c["knee_pole"] = np.stack([np.stack([0 * ph + 0.05, 0.3 * knee_lift[:, k], 0 * ph + 1], -1) for k in (0, 1)], 1)
    c["R_trunk"] = rot_x(np.deg2rad(rng.uniform(0, 10)) * np.ones(Tn))
    sw = 0.15 * np.sin(ph) * (1.5 if kind in ("jog", "high_knees") else 1.0)
    if rng.random() < 0.25 and kind == "treadmill":  # holding the rails
        _arm_pose(b, c, rng, "forward")
    else:
        _arms_hanging(b, c, rng, swing=sw)
        if kind in ("jog", "high_knees"):
            c["wrist"][..., 1] += 0.25
            c["elbow_pole"] = _pair(Tn, [0.2, -0.5, -1], [-0.2, -0.5, -1])
    m = _finish(b, c, "unknown", 0 * t, "gait_" + kind)
    # walking direction relative to the body stays +z; the camera decides what the view looks like
    return m


def m_idle(b, t, rng):
    """Standing still, sitting, fidgeting, talking with gestures, static planks, kneeling, lying."""
    Tn = len(t)
    kind = rng.choice(["stand", "stand_gesture", "sit", "sit_gesture", "plank", "forearm_plank", "kneel",
                       "lying", "side_plank"], p=[0.17, 0.13, 0.12, 0.08, 0.17, 0.13, 0.07, 0.06, 0.07])
    if kind.startswith("stand"):
        c = _standing(b, t, rng, sway=0.02)
    elif kind.startswith("sit"):
        c = _seated(b, t, rng)
    elif kind in ("plank", "forearm_plank", "side_plank"):
        m = m_push_up(b, t, rng, kind="full" if rng.random() < 0.8 else "knee")
        P = m.P
        idx = int(rng.integers(0, len(t)))
        P = np.repeat(P[idx:idx + 1], Tn, 0)
        if kind == "forearm_plank":  # drop the shoulders to elbow height: rebuild with forearms on the floor
            P = _forearm_plank(b, t, rng)
        P = P + smooth_noise(t, rng, 0.01, 1.5, 3)[:, None, :] * np.array([1.0, 0.5, 1.0])
        if kind == "side_plank":
            P = _roll_body(P, np.deg2rad(rng.uniform(60, 90)))
        return Motion(P=P, active=np.zeros(Tn), label="unknown", kind="idle_" + kind)
    elif kind == "kneel":
        c = _standing(b, t, rng)
        c["pelvis"] = c["pelvis"] - np.array([0, b.shin + b.ankle_h - 0.05, -0.0])
        c["ankle"] = c["ankle"] + np.array([0, 0.02, -b.shin * 0.95])
        c["knee_pole"] = _pair(Tn, [0, -0.2, 1], [0, -0.2, 1])
        c["foot_dir"] = _pair(Tn, [0, -0.2, -1], [0, -0.2, -1])
    else:  # lying on the back
        c = _standing(b, t, rng)
        c["pelvis"] = np.array([0, 0.12, 0]) + 0 * c["pelvis"]
        c["R_pelvis"] = rot_x(-np.pi / 2 * np.ones(Tn))
        c["R_trunk"] = c["R_pelvis"]
        c["ankle"] = _pair(Tn, [b.hip_w / 2, 0.08, -b.leg * 0.97], [-b.hip_w / 2, 0.08, -b.leg * 0.97])
        c["knee_pole"] = _pair(Tn, [0, 1, 0], [0, 1, 0])
        c["foot_dir"] = _pair(Tn, [0, 1, 0], [0, 1, 0])
    if kind.endswith("gesture"):
        _arm_pose(b, c, rng, "hang")
        g = smooth_noise(t, rng, 0.25, 1.2, 6).reshape(Tn, 2, 3)
        g[..., 1] = np.abs(g[..., 1]) * 2
        c["wrist"] = c["wrist"] + g
    else:
        _arm_pose(b, c, rng, rng.choice(["hang", "hips", "chest"]))
        if kind.startswith("sit"):
            _, shL, shR = _shoulders(b, c)
            c["wrist"] = np.stack([shL + [0.05, -b.torso * 0.8, 0.3], shR + [-0.05, -b.torso * 0.8, 0.3]], 1)
    return _finish(b, c, "unknown", 0 * t, "idle_" + kind)


def _forearm_plank(b, t, rng):
    Tn = len(t)
    pivot_len = b.leg + b.ankle_h
    body_len = pivot_len + b.torso
    sh_h = b.ua * rng.uniform(0.85, 1.0)
    toe_up = 0.95 * b.foot + 0.8 * b.ankle_h
    beta = np.full(Tn, np.arcsin(np.clip((sh_h - toe_up) / body_len, -0.9, 0.9)))
    axis = np.stack([0 * beta, np.sin(beta), np.cos(beta)], -1)
    pelvis = np.array([0, toe_up, 0]) + axis * pivot_len
    Rp = rot_x(np.pi / 2 - beta)
    c = dict(pelvis=pelvis, R_pelvis=Rp, R_trunk=Rp, R_head=_eye(Tn))
    shc, shL, shR = _shoulders(b, c)
    el_z = shc[0, 2] + rng.uniform(-0.02, 0.08)
    c["wrist"] = _pair(Tn, [0.08, 0.03, el_z + b.fa * 0.95], [-0.08, 0.03, el_z + b.fa * 0.95])
    c["elbow_pole"] = _pair(Tn, [0.3, -1, -0.2], [-0.3, -1, -0.2])
    c["ankle"] = _pair(Tn, [b.hip_w / 2, toe_up, 0], [-b.hip_w / 2, toe_up, 0])
    c["knee_pole"] = _pair(Tn, [0, -1, 0], [0, -1, 0])
    c["foot_dir"] = _pair(Tn, [0, -1, 0.3], [0, -1, 0.3])
    return _finish(b, c, "unknown", 0 * t, "forearm_plank").P


def _roll_body(P, a):
    """Rotate a whole pose about its long (z) axis through the hip centre (side plank etc.)."""
    hc = (P[:, 23] + P[:, 24]) / 2
    R = rot_z(np.full(len(P), a))
    Q = np.einsum("tij,tkj->tki", R, P - hc[:, None]) + hc[:, None]
    Q[..., 1] -= Q[..., 1].min() - 0.03
    return Q


def m_floor(b, t, rng):
    """Floor negatives with motion: mountain climbers, shoulder taps, plank to push-up hold, sit-ups, bridges."""
    Tn = len(t)
    kind = rng.choice(["mountain_climber", "shoulder_tap", "situp", "bridge", "downdog", "superman", "swimmer", "cobra"],
                      p=[0.17, 0.17, 0.13, 0.1, 0.1, 0.12, 0.08, 0.13])
    if kind in ("superman", "swimmer", "cobra"):
        return _prone(b, t, rng, kind)
    if kind in ("mountain_climber", "shoulder_tap", "downdog"):
        m = m_push_up(b, t, rng, kind="full")
        P0 = m.P[int(np.argmin(m.active))]  # top of the push-up
        P = np.repeat(P0[None], Tn, 0).copy()
        s = rep_signal(t, rng, period=(0.5, 1.2) if kind == "mountain_climber" else (1.0, 2.5), p_pause=0.2)
        alt = np.cumsum(np.r_[0, (np.diff((s > 0.02).astype(int)) == 1).astype(int)]) % 2
        if kind == "mountain_climber":
            for k, (ik_, ia, ih, ifo) in enumerate([(25, 27, 29, 31), (26, 28, 30, 32)]):
                on = (alt == k) * s
                hip = P[:, 23 + k]
                tgt = P[:, ia] + (hip - P[:, ia]) * (0.6 * on)[:, None] + np.array([0, 0.05, 0]) * on[:, None]
                kn, an = ik(hip, tgt, b.thigh, b.shin, np.tile([0, -1, 0.3], (Tn, 1)))
                d = an - P[:, ia]
                P[:, ik_], P[:, ia], P[:, ih], P[:, ifo] = kn, an, P[:, ih] + d, P[:, ifo] + d
        elif kind == "shoulder_tap":
            for k, (ie, iw) in enumerate([(13, 15), (14, 16)]):
                on = (alt == k) * s
                tgt = P[:, iw] * (1 - on[:, None]) + P[:, 12 - k] * on[:, None]
                el, wr = ik(P[:, 11 + k], tgt, b.ua, b.fa, np.tile([0, 0.5, -1], (Tn, 1)))
                d = wr - P[:, iw]
                P[:, ie], P[:, iw] = el, wr
                for j in (17 + k, 19 + k, 21 + k):
                    P[:, j] = P[:, j] + d
        else:  # downward dog <-> plank: hips rise and go back
            hc = (P[:, 23] + P[:, 24]) / 2
            up = s[:, None] * np.array([0, 0.35, -0.15]) * b.height
            for j in list(range(0, 23)) + [23, 24]:
                w = 1.0 if j >= 23 else 0.5
                P[:, j] = P[:, j] + up * w
            P = _relimb_legs(b, P, rng)
        return Motion(P=P, active=np.zeros(Tn), label="unknown", kind="floor_" + kind)
    s = rep_signal(t, rng, period=(1.5, 3.5), p_pause=0.4)
    c = _standing(b, t, rng)
    if kind == "situp":
        ang = np.pi / 2 * (1 - s * rng.uniform(0.5, 0.95))
        c["pelvis"] = np.array([0, 0.12, 0]) + 0 * c["pelvis"]
        c["R_pelvis"] = rot_x(-np.pi / 2 * np.ones(Tn))
        c["R_trunk"] = rot_x(-ang)
        c["ankle"] = _pair(Tn, [b.hip_w / 2, b.ankle_h, b.leg * 0.7], [-b.hip_w / 2, b.ankle_h, b.leg * 0.7])
        c["knee_pole"] = _pair(Tn, [0, 1, 0], [0, 1, 0])
        _arm_pose(b, c, rng, "behind" if rng.random() < 0.5 else "chest")
    else:  # glute bridge
        c["pelvis"] = np.stack([0 * s, 0.12 + s * 0.25, 0 * s], -1)
        c["R_pelvis"] = rot_x(-np.pi / 2 + np.deg2rad(35) * s)
        c["R_trunk"] = rot_x(-np.pi / 2 * np.ones(Tn) + np.deg2rad(15) * s)
        c["ankle"] = _pair(Tn, [b.hip_w / 2, b.ankle_h, b.leg * 0.6], [-b.hip_w / 2, b.ankle_h, b.leg * 0.6])
        c["knee_pole"] = _pair(Tn, [0, 1, 0], [0, 1, 0])
        _, shL, shR = _shoulders(b, c)
        c["wrist"] = np.stack([shL + [0.05, -0.05, b.arm * 0.9], shR + [-0.05, -0.05, b.arm * 0.9]], 1)
        c["elbow_pole"] = _pair(Tn, [0.2, 1, 0], [-0.2, 1, 0])
    return _finish(b, c, "unknown", s, "floor_" + kind)


def _prone(b, t, rng, kind):
    """Lying face down: supermans (arms and legs lift together), swimmers (alternating), cobra / up-dog (the hands push
    the chest up while the hips stay on the floor: elbows straighten as in a push-up, but the body is not lifted)."""
    Tn = len(t)
    s = rep_signal(t, rng, period=(1.2, 3.5) if kind != "swimmer" else (0.6, 1.4), pause_top=(0.2, 1.5), p_pause=0.5)
    c = _standing(b, t, rng)
    c["pelvis"] = np.array([0, 0.11, 0]) + 0 * c["pelvis"]
    c["R_pelvis"] = rot_x(np.pi / 2 * np.ones(Tn))  # face down, head toward +z
    lift = np.deg2rad(rng.uniform(35, 60) if kind == "cobra" else rng.uniform(8, 22)) * s
    c["R_trunk"] = rot_x(np.pi / 2 - lift)
    c["R_head"] = rot_x(-lift * 0.5)
    legs_up = (0 if kind == "cobra" else rng.uniform(0.05, 0.18)) * s
    alt = np.cumsum(np.r_[0, (np.diff((s > 0.02).astype(int)) == 1).astype(int)]) % 2 if kind == "swimmer" else None
    ank = _pair(Tn, [b.hip_w / 2, 0.07, -b.leg * 0.97], [-b.hip_w / 2, 0.07, -b.leg * 0.97])
    for k in (0, 1):
        on = 1.0 if alt is None else (alt == k)
        ank[:, k, 1] += legs_up * on
    c["ankle"] = ank
    c["knee_pole"] = _pair(Tn, [0, -1, 0], [0, -1, 0])
    c["foot_dir"] = _pair(Tn, [0, -0.3, -1], [0, -0.3, -1])  # toes back and down, resting on the floor
    _, shL, shR = _shoulders(b, c)
    if kind == "cobra":
        z0 = float(shL[0, 2]) + rng.uniform(0.0, 0.12)
        c["wrist"] = _pair(Tn, [b.sh_w / 2 * 1.2, 0.02, z0], [-b.sh_w / 2 * 1.2, 0.02, z0])
        c["elbow_pole"] = _pair(Tn, [0.4, 1, -0.6], [-0.4, 1, -0.6])
    else:
        ws = []
        for k, sh in enumerate([shL, shR]):
            sg = 1 if k == 0 else -1
            on = 1.0 if alt is None else (alt == (1 - k))
            up = rng.uniform(0.05, 0.2) * s * on
            ws.append(sh + np.stack([sg * 0.08 + 0 * s, 0.0 + up, b.arm * 0.95 + 0 * s], -1))
        c["wrist"] = np.stack(ws, 1)
        c["elbow_pole"] = _pair(Tn, [0.3, -1, 0], [-0.3, -1, 0])
    return _finish(b, c, "unknown", s, "floor_" + kind)


def _relimb_legs(b, P, rng):
    Tn = len(P)
    for k, (ih, ik_, ia) in enumerate([(23, 25, 27), (24, 26, 28)]):
        kn, an = ik(P[:, ih], P[:, ia], b.thigh, b.shin, np.tile([0, 0, 1.0], (Tn, 1)))
        P[:, ik_] = kn
        d = an - P[:, ia]
        P[:, ia] = an
        P[:, 29 + k] += d
        P[:, 31 + k] += d
    return P


def m_stretch(b, t, rng):
    """Stretching, arm circles, torso twists, reaching overhead, random limb motion."""
    Tn = len(t)
    kind = rng.choice(["overhead_reach", "arm_circles", "twist", "side_bend", "random", "random_fast",
                       "toe_touch"], p=[0.18, 0.14, 0.12, 0.12, 0.22, 0.12, 0.1])
    c = _standing(b, t, rng, sway=0.02) if rng.random() < 0.8 else _seated(b, t, rng)
    s = rep_signal(t, rng, period=(2.0, 6.0), pause_top=(0.5, 3.0), pause_bottom=(0.2, 2.0), p_pause=0.7)
    if kind == "twist":
        c["R_trunk"] = rot_y(np.deg2rad(rng.uniform(25, 60)) * (2 * s - 1))
    elif kind == "side_bend":
        c["R_trunk"] = rot_z(np.deg2rad(rng.uniform(15, 35)) * (2 * s - 1))
    elif kind == "toe_touch":
        c["R_trunk"] = rot_x(np.deg2rad(rng.uniform(60, 100)) * s)
        c["R_pelvis"] = rot_x(np.deg2rad(40) * s)
        c["pelvis"] = c["pelvis"] - np.stack([0 * s, 0 * s, 0.15 * s], -1)
    shc, shL, shR = _shoulders(b, c)
    if kind == "overhead_reach":
        # arms go up and STAY up (a stretch, not a press): slow, held
        hang = np.stack([shL, shR], 1) + np.array([0, -b.arm * 0.95, 0.05])
        up = np.stack([shL + [0.05, b.arm * 0.97, 0.0], shR + [-0.05, b.arm * 0.97, 0.0]], 1)
        w = s[:, None, None]
        c["wrist"] = hang * (1 - w) + up * w
        c["elbow_pole"] = _pair(Tn, [1, 0, -0.2], [-1, 0, -0.2])
    elif kind == "arm_circles":
        a = 2 * np.pi * rng.uniform(0.5, 1.2) * t
        r = rng.uniform(0.3, 1.0)
        ws = []
        for k, sh in enumerate([shL, shR]):
            sg = 1 if k == 0 else -1
            d = np.stack([sg * np.ones(Tn), r * np.sin(a), r * np.cos(a)], -1)
            ws.append(sh + _unit(d) * b.arm * 0.97)
        c["wrist"] = np.stack(ws, 1)
        c["elbow_pole"] = _pair(Tn, [0, -1, -0.5], [0, -1, -0.5])
    elif kind.startswith("random"):
        tau = 0.6 if kind == "random_fast" else 1.5
        g = smooth_noise(t, rng, 0.5, tau, 6).reshape(Tn, 2, 3)
        c["wrist"] = np.stack([shL, shR], 1) + g + np.array([0, -0.25, 0.15])
        c["elbow_pole"] = _pair(Tn, [0.5, -1, -0.3], [-0.5, -1, -0.3])
        if rng.random() < 0.5:
            c["pelvis"] = c["pelvis"] + smooth_noise(t, rng, 0.15, tau, 3) * np.array([1, 0.4, 1])
            c["R_trunk"] = rot_x(smooth_noise(t, rng, 0.4, tau)) @ rot_y(smooth_noise(t, rng, 0.5, tau))
            shc, shL, shR = _shoulders(b, c)
            c["wrist"] = np.stack([shL, shR], 1) + g + np.array([0, -0.25, 0.15])
        if rng.random() < 0.4:
            c["ankle"] = c["ankle"] + np.abs(smooth_noise(t, rng, 0.2, tau, 6).reshape(Tn, 2, 3)) * [0.5, 1, 0.5]
    else:
        _arms_hanging(b, c, rng)
        if kind == "side_bend":
            c["wrist"][:, 0] += np.array([0, b.arm * 1.5, 0]) * s[:, None] * 0.8
    return _finish(b, c, "unknown", s, "stretch_" + kind)


def m_sit_stand(b, t, rng):
    """Sitting down / standing up / getting up from the floor once (single transitions, not reps)."""
    Tn = len(t)
    u = smoothstep((t - t[0] - rng.uniform(0.5, 2.0)) / rng.uniform(1.0, 2.5))
    if rng.random() < 0.5:
        u = 1 - u
    c = _standing(b, t, rng)
    seat = _seated(b, t, rng)
    for k in ("pelvis", "ankle"):
        uu = u[:, None] if c[k].ndim == 2 else u[:, None, None]
        c[k] = c[k] * uu + seat[k] * (1 - uu)
    lean = np.deg2rad(35) * np.sin(np.pi * u)
    c["R_trunk"] = rot_x(lean)
    c["knee_pole"] = _pair(Tn, [0.1, 0, 1], [-0.1, 0, 1])
    _arm_pose(b, c, rng, rng.choice(["hang", "forward", "hips"]))
    return _finish(b, c, "unknown", 0 * t, "sit_stand")


POSITIVES = {"squat": m_squat, "push_up": m_push_up, "shoulder_press": m_press, "deadlift": m_deadlift,
             "lunge": m_lunge}
NEGATIVES = {"hinge": (m_hinge, 0.12), "arm": (m_arm_exercise, 0.15), "jacks": (m_jacks, 0.05),
             "gait": (m_gait, 0.13), "idle": (m_idle, 0.08), "floor": (m_floor, 0.06), "stretch": (m_stretch, 0.05),
             "sit_stand": (m_sit_stand, 0.04), "dance": (m_dance, 0.1), "jump": (m_jump, 0.1),
             "hang": (m_hang, 0.06), "burpee": (m_burpee, 0.06)}


def make_motion(label: str, t: np.ndarray, rng: np.random.Generator, body: Body | None = None) -> Motion:
    b = body or Body.random(rng)
    if label == "unknown":
        names = list(NEGATIVES)
        p = np.array([NEGATIVES[n][1] for n in names])
        fn = NEGATIVES[names[rng.choice(len(names), p=p / p.sum())]][0]
        return fn(b, t, rng)
    return POSITIVES[label](b, t, rng)


def with_idle(m: Motion, t, rng, b: Body | None = None) -> Motion:
    """Prefix/suffix a positive with a still stretch (standing, or holding the start position)."""
    Tn = len(t)
    n0 = int(Tn * rng.uniform(0.1, 0.3)) if rng.random() < 0.5 else 0
    n1 = int(Tn * rng.uniform(0.1, 0.25)) if rng.random() < 0.4 else 0
    if n0 + n1 >= Tn - 10:
        return m
    P, act = m.P.copy(), m.active.copy()
    jit = smooth_noise(t, rng, 0.01, 1.5, 3)[:, None, :]
    if n0:
        k = int(np.argmin(act[n0:n0 + 30])) + n0
        P[:n0] = P[k] + jit[:n0]
        act[:n0] = 0
    if n1:
        k = Tn - n1 - 1
        P[Tn - n1:] = P[k] + jit[Tn - n1:]
        act[Tn - n1:] = act[k]
    return Motion(P=P, active=act, label=m.label, kind=m.kind)


# ----------------------------------------------------------------------------- camera + MediaPipe model

@dataclass
class Rendered:
    t: np.ndarray
    image: np.ndarray  # (T,33,3)
    world: np.ndarray  # (T,33,3)
    visibility: np.ndarray  # (T,33)
    present: np.ndarray  # (T,)
    width: int
    height: int
    info: dict


def _look_rot(fwd):
    """Camera rotation (rows: right, down, forward) looking along ``fwd`` (T,3)."""
    f = _unit(fwd)
    up = np.array([0, 1.0, 0])
    r = np.cross(f, up)
    alt = np.cross(f, np.array([0, 0, 1.0]))
    r = _unit(np.where(np.linalg.norm(r, axis=-1, keepdims=True) < 1e-3, alt, r))
    d = np.cross(f, r)
    return np.stack([r, d, f], -2)


def render(m: Motion, t: np.ndarray, rng: np.random.Generator, view: str | None = None) -> Rendered:
    Tn = len(t)
    P = m.P
    # subject yaw relative to the camera; camera azimuth around the subject
    view = view or rng.choice(["front", "side", "diag", "any", "top"], p=[0.3, 0.3, 0.25, 0.12, 0.03])
    az = {"front": rng.normal(0, 12), "side": rng.choice([-1, 1]) * rng.normal(90, 12),
          "diag": rng.choice([-1, 1]) * rng.uniform(25, 65), "any": rng.uniform(-180, 180),
          "top": rng.uniform(-180, 180)}[view]
    az = np.deg2rad(az)
    if rng.random() < 0.12:  # the camera (or the person) turns during the clip
        az = az + np.deg2rad(rng.uniform(-60, 60)) * smoothstep((t - t[0]) / max(t[-1] - t[0], 1e-3))
    else:
        az = az + np.zeros(Tn)
    lo, hi = P.reshape(-1, 3).min(0), P.reshape(-1, 3).max(0)
    centre = (lo + hi) / 2
    ext = float(max(hi[1] - lo[1], 0.5 * max(hi[0] - lo[0], hi[2] - lo[2]), 0.6))
    portrait = rng.random() < 0.4
    W, H = (360, 640) if portrait else (640, 360)
    if rng.random() < 0.08:
        W, H = 480, 480
    vfov = np.deg2rad(rng.uniform(38, 70))
    fy = (H / 2) / np.tan(vfov / 2)
    # framing: how much of the frame height the subject's extent fills (>1: cut off)
    fill = rng.uniform(0.5, 0.95) if rng.random() < 0.8 else rng.uniform(0.95, 1.5)
    tan = np.tan(vfov / 2)
    ext_y = float(hi[1] - lo[1])
    ext_h = float(np.hypot(hi[0] - lo[0], hi[2] - lo[2]))
    dist = max(ext_y / (fill * 2 * tan), 0.8 * ext_h / (fill * 2 * tan * W / H)) + ext_h / 2
    dist = float(np.clip(dist, 1.0, 12.0))
    cam_h = rng.uniform(0.1, 1.9) if view != "top" else rng.uniform(2.2, 3.5)
    if view == "top":
        dist = rng.uniform(0.3, 1.0)
    dist_t = dist * (1 + (rng.uniform(-0.2, 0.2) if rng.random() < 0.15 else 0) * (t - t[0]) / max(t[-1] - t[0], 1))
    cam = np.stack([centre[0] + dist_t * np.sin(az), cam_h + 0 * az, centre[2] + dist_t * np.cos(az)], -1)
    # walking subjects: the camera follows (panning) or the subject walks through the view
    hipc = (P[:, 23] + P[:, 24]) / 2
    follow = rng.random() < 0.5
    target = np.where(follow, hipc, np.tile(centre, (Tn, 1))) if m.kind == "gait_walk" else np.tile(centre, (Tn, 1))
    if m.kind == "gait_walk" and not follow:
        cam = cam + hipc.mean(0) - centre
        target = np.tile(hipc.mean(0), (Tn, 1))
    off = rng.normal(0, 0.06, 3) * ext
    fwd = target + off - cam
    R = _look_rot(fwd)
    roll = np.deg2rad(rng.normal(0, 3))
    R = np.einsum("ij,tjk->tik", rot_z(np.array([roll]))[0], R)
    if rng.random() < 0.1:  # handheld shake
        R = np.einsum("tij,tjk->tik", rot_x(smooth_noise(t, rng, 0.02, 1.0)), R)
    Pc = np.einsum("tij,tkj->tki", R, P - cam[:, None])  # camera coords: x right, y down, z forward
    z = np.maximum(Pc[..., 2], 0.05)
    fx = fy
    u = (fx * Pc[..., 0] / z + W / 2) / W
    v = (fy * Pc[..., 1] / z + H / 2) / H
    hip_c = (Pc[:, 23] + Pc[:, 24]) / 2
    zi = (Pc[..., 2] - hip_c[:, None, 2]) * fx / np.maximum(hip_c[:, None, 2], 0.1) / W
    img = np.stack([u, v, zi], -1)
    world = Pc - hip_c[:, None]

    # --- visibility: base, far side, out of frame
    lat = _unit(P[:, 11] - P[:, 12] + P[:, 23] - P[:, 24])  # subject's left
    to_cam = _unit(cam - hipc)
    side = (lat * to_cam).sum(-1)  # +1: left side faces the camera
    vis = np.full((Tn, 33), 0.995) - np.abs(rng.normal(0, 0.01, (Tn, 33)))
    left_idx = [1, 2, 3, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31]
    right_idx = [MIRROR[i] for i in left_idx]
    distal = np.zeros(33)
    distal[[13, 14]] = 0.4
    distal[[15, 16, 17, 18, 19, 20, 21, 22]] = 0.8
    distal[[25, 26]] = 0.4
    distal[[27, 28, 29, 30, 31, 32]] = 0.8
    occl_strength = rng.uniform(0.4, 1.0)
    for idx, sg in ((left_idx, -1), (right_idx, 1)):
        far = np.clip(sg * side, 0, 1)[:, None]  # how much this side faces away
        drop = far * (0.25 + 0.6 * distal[idx]) * occl_strength
        vis[:, idx] -= drop * rng.uniform(0.6, 1.1)
    out = np.maximum.reduce([-u, u - 1, -v, v - 1, np.zeros_like(u)])
    vis -= np.clip(out * 8, 0, 0.95)
    if rng.random() < 0.25:  # lower body hidden by equipment / bad light
        vis[:, 25:] -= rng.uniform(0.3, 0.8)
    vis = np.clip(vis + rng.normal(0, 0.03, vis.shape), 0.0, 1.0)

    # --- jitter: white + slow drift, larger for low-visibility and distal landmarks
    body_h = float(np.nanmedian(np.ptp(v, axis=1)))
    sig = rng.uniform(0.002, 0.01) * max(body_h, 0.2)
    scale = (1 + 2.5 * (1 - vis)) * (1 + 0.6 * distal)
    img[..., :2] += rng.normal(0, 1, (Tn, 33, 2)) * (sig * scale)[..., None]
    drift = smooth_noise(t, rng, 1.0, 0.8, 66).reshape(Tn, 33, 2)
    img[..., :2] += drift * (sig * 1.5 * scale)[..., None]
    # world: noise, depth compressed / exaggerated, small global rotation error
    zs = rng.uniform(0.5, 1.2)
    world[..., 2] *= zs
    world += rng.normal(0, 1, world.shape) * rng.uniform(0.005, 0.02) * (1 + 2 * (1 - vis))[..., None]
    world[..., 2] += smooth_noise(t, rng, 1.0, 1.0, 33) * rng.uniform(0.01, 0.05)
    werr = rot_x(np.full(Tn, np.deg2rad(rng.normal(0, 8)))) @ rot_y(np.full(Tn, np.deg2rad(rng.normal(0, 8))))
    world = np.einsum("tij,tkj->tki", werr, world)

    # --- left/right confusion of the limbs for stretches of frames (frequent in side views)
    if rng.random() < (0.35 if abs(np.mean(side)) > 0.6 else 0.08):
        n_sw = rng.integers(1, 4)
        for _ in range(n_sw):
            a = int(rng.integers(0, Tn))
            L = int(rng.integers(3, max(4, Tn // 4)))
            grp = [25, 26, 27, 28, 29, 30, 31, 32] if rng.random() < 0.7 else [13, 14, 15, 16, 17, 18, 19, 20, 21, 22]
            perm = np.arange(33)
            perm[grp] = [MIRROR[g] for g in grp]
            img[a:a + L] = img[a:a + L][:, perm]
            world[a:a + L] = world[a:a + L][:, perm]
    # --- dropped detections
    present = np.ones(Tn, bool)
    present[rng.random(Tn) < rng.uniform(0, 0.03)] = False
    for _ in range(rng.poisson(0.5)):
        a = int(rng.integers(0, Tn))
        present[a:a + int(rng.integers(3, 20))] = False
    img[~present] = np.nan
    world[~present] = np.nan
    vis[~present] = 0
    return Rendered(t=t, image=img.astype(np.float32), world=world.astype(np.float32),
                    visibility=vis.astype(np.float32), present=present, width=W, height=H,
                    info=dict(view=view, az=float(np.rad2deg(az[0])), cam_h=cam_h, dist=dist, kind=m.kind))


def timestamps(duration: float, rng: np.random.Generator) -> np.ndarray:
    fps = float(rng.choice([24.0, 25.0, 30.0, 30.0, 30.0, 60.0]))
    n = int(duration * fps)
    t = np.arange(n) / fps
    if rng.random() < 0.2:  # variable frame rate
        t = np.cumsum(np.r_[0, np.clip(rng.normal(1 / fps, 0.15 / fps, n - 1), 0.3 / fps, 3 / fps)])
    if fps == 60.0:  # keep the cost down: drop every other frame like a 30 fps pose stream
        t = t[::2]
    if rng.random() < 0.2:  # a loaded live session: the pose worker keeps an irregular 8-15 fps
        t = drop_frames(t, rng)
    return t


def drop_frames(t: np.ndarray, rng: np.random.Generator, fps=(8.0, 15.0)) -> np.ndarray:
    """The timestamps a live clock that can only process ``fps`` frames a second (irregularly) would keep."""
    keep, nxt = [], float(t[0])
    target = rng.uniform(*fps)
    for i, ti in enumerate(t):
        if ti + 1e-9 >= nxt:
            keep.append(i)
            nxt = ti + rng.uniform(0.7, 1.4) / target
    return t[np.array(keep, int)]


def synth_clip(label: str, rng: np.random.Generator, duration: float | None = None):
    """One synthetic clip: (Motion, Rendered)."""
    duration = duration or rng.uniform(4.0, 12.0)
    t = timestamps(duration, rng)
    b = Body.random(rng)
    m = make_motion(label, t, rng, b)
    if label != "unknown" and rng.random() < 0.35:
        m = with_idle(m, t, rng, b)
    r = render(m, t, rng)
    return m, r


def to_pose_frames(r: Rendered):
    from pipeline.pose.estimator import PoseFrame

    return [PoseFrame(t=float(r.t[i]), image=r.image[i], world=r.world[i], visibility=r.visibility[i],
                      present=bool(r.present[i]), width=r.width, height=r.height) for i in range(len(r.t))]

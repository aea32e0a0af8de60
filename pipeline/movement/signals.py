"""Per-frame body signals from cleaned landmarks: joint angles in 3D (world landmarks), the more
visible side preferred, torso orientation, widths, and the camera view. Computed once per frame
and shared by every exercise module (they pick what they need)."""
from __future__ import annotations

import math

import numpy as np

from ..pose.cleaning import CleanFrame
from ..pose.landmarks import (
    L_ANKLE,
    L_ELBOW,
    L_FOOT,
    L_HEEL,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    L_WRIST,
    NOSE,
    R_ANKLE,
    R_ELBOW,
    R_FOOT,
    R_HEEL,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    R_WRIST,
)

NAN = float("nan")


def angle3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """Angle ABC in degrees."""
    v1, v2 = a - b, c - b
    n = float(np.linalg.norm(v1) * np.linalg.norm(v2))
    if not n or not math.isfinite(n):
        return NAN
    return math.degrees(math.acos(max(-1.0, min(1.0, float(np.dot(v1, v2)) / n))))


def _side_pick(left: float, right: float, vl: float, vr: float, span: float = 0.3) -> float:
    """The two sides' values weighted by how much more visible each is: all of one side when it is more visible by
    ``span`` or more, the mean when both are as visible, a linear blend between. A hard switch at a visibility margin
    made the signal jump between two different angles whenever the visibilities hovered about the margin (a hip seen
    from behind: 60 and 100 degrees, frame after frame), which the rep machine read as reps."""
    if not math.isfinite(left):
        return right
    if not math.isfinite(right):
        return left
    w = min(1.0, max(0.0, 0.5 + (vl - vr) / (2.0 * span))) if math.isfinite(vl) and math.isfinite(vr) else 0.5
    return w * left + (1.0 - w) * right


def frame_signals(cf: CleanFrame) -> dict[str, float]:
    """All per-frame quantities the exercise modules use. NaN when not measurable."""
    if not cf.valid:
        return {}
    W, v = cf.world.astype(np.float64), cf.visibility
    P = cf.image[:, :2].astype(np.float64) * (cf.width, cf.height)  # pixels, y down
    s = {}
    kl, kr = angle3(W[L_HIP], W[L_KNEE], W[L_ANKLE]), angle3(W[R_HIP], W[R_KNEE], W[R_ANKLE])
    el, er = angle3(W[L_SHOULDER], W[L_ELBOW], W[L_WRIST]), angle3(W[R_SHOULDER], W[R_ELBOW], W[R_WRIST])
    hl, hr = angle3(W[L_SHOULDER], W[L_HIP], W[L_KNEE]), angle3(W[R_SHOULDER], W[R_HIP], W[R_KNEE])
    vleg_l = min(v[L_HIP], v[L_KNEE], v[L_ANKLE])
    vleg_r = min(v[R_HIP], v[R_KNEE], v[R_ANKLE])
    varm_l = min(v[L_SHOULDER], v[L_ELBOW], v[L_WRIST])
    varm_r = min(v[R_SHOULDER], v[R_ELBOW], v[R_WRIST])
    s["knee_l"], s["knee_r"], s["elbow_l"], s["elbow_r"], s["hip_l"], s["hip_r"] = kl, kr, el, er, hl, hr
    s["knee"] = _side_pick(kl, kr, vleg_l, vleg_r)
    s["elbow"] = _side_pick(el, er, varm_l, varm_r)
    s["hip"] = _side_pick(hl, hr, vleg_l, vleg_r)
    # the hip angle in the body's sagittal plane (torso and thigh projected onto the plane across the hip axis): a
    # wide (sumo) stance abducts the thighs, which closes the plain 3D angle of a fully extended hip by 10-20 degrees
    axis = W[L_HIP] - W[R_HIP]
    an = float(np.linalg.norm(axis))
    if an > 1e-6 and math.isfinite(an):
        axis = axis / an
        sag = []
        for sh_i, hp_i, kn_i in ((L_SHOULDER, L_HIP, L_KNEE), (R_SHOULDER, R_HIP, R_KNEE)):
            a, b = W[sh_i] - W[hp_i], W[kn_i] - W[hp_i]
            a, b = a - np.dot(a, axis) * axis, b - np.dot(b, axis) * axis
            sag.append(angle3(a, np.zeros(3), b))
        s["hip_sagittal"] = _side_pick(sag[0], sag[1], vleg_l, vleg_r)
    else:
        s["hip_sagittal"] = NAN
    sh_w, hp_w = (W[L_SHOULDER] + W[R_SHOULDER]) / 2, (W[L_HIP] + W[R_HIP]) / 2
    torso = sh_w - hp_w
    tn = float(np.linalg.norm(torso)) or NAN
    # world y points down (camera-aligned): verticality 1 = upright torso, 0 = horizontal
    s["torso_vertical"] = abs(float(torso[1])) / tn
    s["torso_lean"] = math.degrees(math.acos(min(1.0, s["torso_vertical"])))  # 0 = upright
    # body line: shoulder-hip-ankle (full push-up) and shoulder-hip-knee (knee push-up)
    s["line_ankle"] = _side_pick(angle3(W[L_SHOULDER], W[L_HIP], W[L_ANKLE]),
                                 angle3(W[R_SHOULDER], W[R_HIP], W[R_ANKLE]), vleg_l, vleg_r)
    s["line_knee"] = s["hip"]
    # signed hip offset from the shoulder-ankle line in the image (pixels / torso px); + = hips below the line
    sh_p, hp_p, an_p = (P[L_SHOULDER] + P[R_SHOULDER]) / 2, (P[L_HIP] + P[R_HIP]) / 2, (P[L_ANKLE] + P[R_ANKLE]) / 2
    d = an_p - sh_p
    dn = float(np.linalg.norm(d))
    if dn > 1:
        nrm = np.array([-d[1], d[0]]) / dn
        if nrm[1] < 0:
            nrm = -nrm  # normal pointing down in the image
        s["hip_offset"] = float(np.dot(hp_p - sh_p, nrm)) / max(cf.scale_px, 1.0)
    else:
        s["hip_offset"] = NAN
    # widths (world, metres) and ratios
    shw = float(np.linalg.norm(W[L_SHOULDER] - W[R_SHOULDER]))
    hpw = float(np.linalg.norm(W[L_HIP] - W[R_HIP]))
    s["ankle_w_ratio"] = float(np.linalg.norm(W[L_ANKLE] - W[R_ANKLE])) / max(hpw, 1e-3)
    s["wrist_w_ratio"] = float(np.linalg.norm(W[L_WRIST] - W[R_WRIST])) / max(shw, 1e-3)
    s["elbow_w_ratio"] = float(np.linalg.norm(W[L_ELBOW] - W[R_ELBOW])) / max(shw, 1e-3)
    # heights in torso lengths (image, y up positive)
    scale = max(cf.scale_px, 1.0)
    wr_p = (P[L_WRIST] + P[R_WRIST]) / 2
    s["wrist_above_shoulder"] = float(sh_p[1] - wr_p[1]) / scale
    s["wrist_above_nose"] = float(P[NOSE][1] - wr_p[1]) / scale
    s["wrist_l_above"] = float(P[L_SHOULDER][1] - P[L_WRIST][1]) / scale
    s["wrist_r_above"] = float(P[R_SHOULDER][1] - P[R_WRIST][1]) / scale
    s["wrist_x"] = float(wr_p[0] - hp_p[0]) / scale
    s["hip_x"] = float(hp_p[0]) / scale
    s["hip_over_feet_x"] = float(hp_p[0] - an_p[0]) / scale
    s["hip_below_knee"] = float(hp_p[1] - ((P[L_KNEE] + P[R_KNEE]) / 2)[1]) / scale
    # knee valgus proxy (front view): knee gap relative to ankle gap in the image
    kgap = abs(float(P[L_KNEE][0] - P[R_KNEE][0]))
    agap = abs(float(P[L_ANKLE][0] - P[R_ANKLE][0]))
    s["knee_ankle_gap"] = kgap / agap if agap > 2 else NAN
    # elbow flare: angle between upper arm and torso (world), mean of both sides
    fl = []
    for sh_i, el_i, hp_i in ((L_SHOULDER, L_ELBOW, L_HIP), (R_SHOULDER, R_ELBOW, R_HIP)):
        fl.append(angle3(W[el_i], W[sh_i], W[hp_i]))
    s["flare"] = _side_pick(fl[0], fl[1], varm_l, varm_r)
    # heel lift (side view): foot pitch in the image, heel above toe positive, the more visible foot; NaN when
    # the foot is too short in the picture to measure (filmed from the front)
    pitch = []
    for heel, toe in ((L_HEEL, L_FOOT), (R_HEEL, R_FOOT)):
        d = P[toe] - P[heel]
        ok = float(np.linalg.norm(d)) >= 0.2 * scale
        pitch.append(math.degrees(math.atan2(float(d[1]), abs(float(d[0])) + 1e-6)) if ok else NAN)
    s["foot_pitch"] = _side_pick(pitch[0], pitch[1], min(v[L_HEEL], v[L_FOOT]), min(v[R_HEEL], v[R_FOOT]))
    # the arm in the picture (front view): image-plane elbow angle and forearm tilt from vertical
    ei, ft, reach = [], [], []
    for sh_i, el_i, wr_i in ((L_SHOULDER, L_ELBOW, L_WRIST), (R_SHOULDER, R_ELBOW, R_WRIST)):
        ei.append(angle3(P[sh_i], P[el_i], P[wr_i]))
        f = P[wr_i] - P[el_i]
        ft.append(math.degrees(math.atan2(abs(float(f[0])), -float(f[1]))) if np.linalg.norm(f) > 1 else NAN)
        arm = float(np.linalg.norm(P[el_i] - P[sh_i]) + np.linalg.norm(f))
        # wrist height over the shoulder as a share of the arm's length: 1 = arm straight up
        reach.append(float(P[sh_i][1] - P[wr_i][1]) / arm if arm > 0.2 * scale else NAN)
    s["elbow_img"] = _side_pick(ei[0], ei[1], varm_l, varm_r)
    # counting signals read from landmark positions, in hundredths (docs/wire.md: on real footage through the
    # webcam's codec they keep their shape where the elbow angle does not: the elbow landmark is the least certain
    # of the arm's three, worst seen from the front and in the dark): the shoulders' height over the hands (push-up,
    # per cent of a torso length) and the hands' reach over the shoulders (press, per cent of the arm's length)
    s["shoulder_height"] = -100.0 * s["wrist_above_shoulder"]
    s["forearm_tilt"] = _side_pick(ft[0], ft[1], varm_l, varm_r)
    s["wrist_reach"] = _side_pick(reach[0], reach[1], varm_l, varm_r)
    s["hand_reach"] = 100.0 * s["wrist_reach"]
    s["yaw"] = view_yaw(W)
    _hinge_lunge_signals(s, W, P, v, scale, max(cf.width, cf.height))
    s["segment"] = float(cf.segment)  # picture positions compare within one camera segment (pose/cleaning.py)
    return s


def _hinge_lunge_signals(s: dict, W: np.ndarray, P: np.ndarray, v: np.ndarray, scale: float,
                         long_side: int) -> None:
    """Signals of the deadlift and the lunge (``exercises/deadlift.py``, ``exercises/lunge.py``).

    Image heights and offsets are in torso lengths (``scale``), y up positive; world widths are ratios."""
    vleg_l = min(v[L_HIP], v[L_KNEE], v[L_ANKLE])
    vleg_r = min(v[R_HIP], v[R_KNEE], v[R_ANKLE])
    sh_p, hp_p = (P[L_SHOULDER] + P[R_SHOULDER]) / 2, (P[L_HIP] + P[R_HIP]) / 2
    an_p, kn_p = (P[L_ANKLE] + P[R_ANKLE]) / 2, (P[L_KNEE] + P[R_KNEE]) / 2
    wr_p = (P[L_WRIST] + P[R_WRIST]) / 2
    # heights above the ankles: the hips and shoulders rise together off the floor in a good pull
    s["hip_h"] = float(an_p[1] - hp_p[1]) / scale
    s["hip_height"] = 100.0 * s["hip_h"]  # the lunge's counting signal: per cent of a torso length
    s["shoulder_h"] = float(an_p[1] - sh_p[1]) / scale
    shin = float(an_p[1] - kn_p[1])
    s["wrist_h"] = float(an_p[1] - wr_p[1]) / shin if shin > 0.15 * scale else NAN  # 1 = knee height
    # bar path: the hands' horizontal position over the feet
    s["wrist_over_ankle_x"] = float(wr_p[0] - an_p[0]) / scale
    # the straighter knee (a lunge bends both) and which hip is more flexed (+ = the left: the left leg is in front)
    kl, kr = s["knee_l"], s["knee_r"]
    s["knee_max"] = max(kl, kr) if math.isfinite(kl) and math.isfinite(kr) else NAN
    s["hip_flex_lr"] = s["hip_r"] - s["hip_l"]
    # stance and grip widths (world): sumo = wide feet, hands inside the knees
    knw = float(np.linalg.norm(W[L_KNEE] - W[R_KNEE]))
    s["hands_in_knees"] = float(np.linalg.norm(W[L_WRIST] - W[R_WRIST])) / max(knw, 1e-3)
    floor = max(float(P[i][1]) for i in (L_ANKLE, R_ANKLE, L_HEEL, R_HEEL, L_FOOT, R_FOOT))
    for side, hip, knee, ank, heel, toe, other in (("l", L_HIP, L_KNEE, L_ANKLE, L_HEEL, L_FOOT, R_HIP),
                                                    ("r", R_HIP, R_KNEE, R_ANKLE, R_HEEL, R_FOOT, L_HIP)):
        # knee past the toes along the foot's own direction (side view), + = past
        f = P[toe] - P[heel]
        fd = 1.0 if f[0] >= 0 else -1.0
        s[f"knee_past_toe_{side}"] = float(P[knee][0] - P[toe][0]) * fd / scale if abs(f[0]) > 0.1 * scale else NAN
        # knee inside the hip-ankle line in the picture (front view), + = toward the mid line (caving in)
        h, k, a = P[hip], P[knee], P[ank]
        if abs(float(a[1] - h[1])) > 0.3 * scale:
            x_line = h[0] + (a[0] - h[0]) * (k[1] - h[1]) / (a[1] - h[1])
            inward = 1.0 if P[other][0] >= h[0] else -1.0
            s[f"knee_in_{side}"] = float(k[0] - x_line) * inward / scale
        else:
            s[f"knee_in_{side}"] = NAN
        # knee height above the floor (the lowest foot point in the picture)
        s[f"knee_floor_{side}"] = float(floor - P[knee][1]) / scale
    s["leg_vis_l"], s["leg_vis_r"] = float(vleg_l), float(vleg_r)
    # where the shoulders and the hands are in the picture (pixels, y down): a press moves the hands, a pull-up the body
    s["shoulder_px_y"], s["wrist_px_y"] = float(sh_p[1]), float(wr_p[1])
    # where the body is in the picture (travel: walking lunges) and how big (walking toward the camera)
    s["hip_px_x"], s["hip_px_y"], s["scale_px"] = float(hp_p[0]), float(hp_p[1]), float(scale)
    # distance from the camera in torso lengths, for a typical phone/webcam lens (focal ~0.75 x the long side)
    s["cam_dist"] = 0.75 * long_side / scale
    for side, ank in (("l", L_ANKLE), ("r", R_ANKLE)):
        s[f"ankle_px_x_{side}"], s[f"ankle_px_y_{side}"] = float(P[ank][0]), float(P[ank][1])


def view_yaw(W: np.ndarray) -> float:
    """Body yaw relative to the camera in degrees: 0 = facing the camera, 90 = side on."""
    yaws = []
    for a, b in ((L_SHOULDER, R_SHOULDER), (L_HIP, R_HIP)):
        d = W[a] - W[b]
        yaws.append(math.degrees(math.atan2(abs(float(d[2])), abs(float(d[0])) + 1e-6)))
    return float(np.mean(yaws))


def view_of(yaws: np.ndarray) -> str:
    """front / side / diagonal from the median yaw over a set."""
    y = np.asarray(yaws, float)
    y = y[np.isfinite(y)]
    if len(y) == 0:
        return "unknown"
    m = float(np.median(y))
    if m < 30:
        return "front"
    if m > 60:
        return "side"
    return "diagonal"

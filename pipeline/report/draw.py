"""Drawing on RGB frames: skeleton, highlighted joints, and a status panel. Shared by the live
overlay and the annotated video so both look the same."""
from __future__ import annotations

from typing import Iterable, Sequence

import cv2
import numpy as np

from ..pose.landmarks import CONNECTIONS

_CONN = np.array(CONNECTIONS, dtype=np.int32)
BONE = (80, 220, 120)
JOINT = (255, 255, 255)
ISSUE = (255, 60, 60)
FILLED = (170, 170, 170)


def draw_skeleton(img: np.ndarray, image_lm: np.ndarray, mask: np.ndarray | None = None,
                  highlight: Iterable[int] = (), color=BONE) -> np.ndarray:
    """Draw in place. ``image_lm``: (33, >=2) normalised coordinates; NaNs are skipped."""
    h, w = img.shape[:2]
    if image_lm is None or not np.isfinite(image_lm[:, 0]).any():
        return img
    pts = image_lm[:, :2] * (w, h)
    ok = np.isfinite(pts).all(axis=1)
    if mask is not None:
        ok &= mask
    ipts = np.nan_to_num(pts).astype(np.int32)
    th = max(2, int(round(min(w, h) / 180)))
    good = ok[_CONN[:, 0]] & ok[_CONN[:, 1]]
    lines = [np.stack([ipts[a], ipts[b]]) for a, b in _CONN[good]]
    if lines:
        cv2.polylines(img, lines, False, color, th, cv2.LINE_AA)
    r = th + 1
    for i in np.flatnonzero(ok[11:]) + 11:
        cv2.circle(img, (int(ipts[i, 0]), int(ipts[i, 1])), r, JOINT, -1, cv2.LINE_AA)
    hl = [i for i in highlight if ok[i]]
    for i in hl:
        cv2.circle(img, (int(ipts[i, 0]), int(ipts[i, 1])), r * 3, ISSUE, th, cv2.LINE_AA)
    return img


def draw_panel(img: np.ndarray, lines: Sequence[str], cue: str | None = None) -> np.ndarray:
    """A translucent status panel top-left and an optional cue banner at the bottom (in place)."""
    h, w = img.shape[:2]
    scale = max(0.45, min(w, h) / 720.0)
    th = max(1, int(round(scale * 2)))
    pad = int(8 * scale)
    lh = int(28 * scale)
    if lines:
        bw = int(max(cv2.getTextSize(s, cv2.FONT_HERSHEY_SIMPLEX, scale, th)[0][0] for s in lines) + 2 * pad)
        bh = lh * len(lines) + pad
        roi = img[0:min(h, bh), 0:min(w, bw)]
        roi[:] = (roi * 0.45).astype(np.uint8)
        for k, s in enumerate(lines):
            cv2.putText(img, s, (pad, (k + 1) * lh), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), th,
                        cv2.LINE_AA)
    if cue:
        (tw, tht), _ = cv2.getTextSize(cue, cv2.FONT_HERSHEY_SIMPLEX, scale * 1.1, th + 1)
        y0 = h - tht - 3 * pad
        roi = img[max(0, y0):h, :]
        roi[:] = (roi * 0.4).astype(np.uint8)
        cv2.putText(img, cue, (max(pad, (w - tw) // 2), h - 2 * pad), cv2.FONT_HERSHEY_SIMPLEX, scale * 1.1,
                    (255, 210, 60), th + 1, cv2.LINE_AA)
    return img

"""The live page's distance display on a synthetic picture: a drawn figure in a drawn room (no clip, no camera, no
server) under the overlay ``realtime/web/spotter_live/draw.js`` paints from made-up result messages.

    python -m realtime.tools.page_demo docs/img      # the focus-mode screenshots of docs/voice.md

The component's own ``index.html`` is opened from the repository in headless Chromium (Playwright, Debian's
``chromium``), the synthetic picture is its video's poster, and :func:`draw` calls ``SpotterDraw.draw`` with a
result exactly as the page does for each result from the server. Used by ``tests/test_page_display.py`` (what is
drawn, where and how large) and for the screenshots in ``docs/img`` (the shared clips' licences forbid copying
their frames, so every picture in the docs is made here).
"""
from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path
from typing import Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "realtime" / "web" / "spotter_live" / "index.html"
W, H = 640, 480

# made-up BlazePose landmarks (normalised image x, y) of a person seen from the side, facing right: the bottom
# of a squat and standing tall; the far side a few pixels behind the near one
_SQUAT = {0: (0.585, 0.305), 7: (0.535, 0.300), 8: (0.535, 0.300), 11: (0.500, 0.400), 13: (0.585, 0.455),
          15: (0.680, 0.440), 17: (0.700, 0.445), 19: (0.705, 0.438), 21: (0.690, 0.432), 23: (0.405, 0.650),
          25: (0.585, 0.690), 27: (0.500, 0.850), 29: (0.470, 0.870), 31: (0.575, 0.875)}
_STAND = {0: (0.525, 0.200), 7: (0.485, 0.200), 8: (0.485, 0.200), 11: (0.490, 0.290), 13: (0.500, 0.385),
          15: (0.510, 0.500), 17: (0.515, 0.520), 19: (0.520, 0.515), 21: (0.505, 0.510), 23: (0.480, 0.515),
          25: (0.500, 0.690), 27: (0.490, 0.850), 29: (0.465, 0.870), 31: (0.565, 0.875)}
_EXTRA = {1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 9: 0, 10: 0}  # eyes and mouth at the nose


def landmarks(pose: str = "squat") -> list:
    """33 [x, y] (normalised) for ``pose`` ("squat" bottom or "stand"): the near (odd) side as given, the far
    (even) side 1 % behind."""
    base = _SQUAT if pose == "squat" else _STAND
    out: list = [None] * 33
    for i, (x, y) in base.items():
        out[i] = [x, y]
        if i >= 11 and i + 1 < 33 and i % 2 == 1:
            out[i + 1] = [round(x - 0.012, 4), y]
    for i, j in _EXTRA.items():
        out[i] = list(base[j])
    return out


def picture(pose: Optional[str] = "squat", size=(W, H)) -> np.ndarray:
    """A synthetic camera picture: a plain room (wall, floor, a window) and a drawn figure in ``pose`` (None:
    the room alone)."""
    import cv2

    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    wall = np.linspace(205, 180, h)[:, None, None] * np.array([1.0, 0.96, 0.88])[None, None, :]
    img[:] = wall.astype(np.uint8)
    floor = int(0.87 * h)
    img[floor:] = (120, 105, 90)
    cv2.line(img, (0, floor), (w, floor), (95, 80, 70), 3)
    cv2.rectangle(img, (int(0.07 * w), int(0.12 * h)), (int(0.27 * w), int(0.52 * h)), (225, 235, 240), -1)
    cv2.rectangle(img, (int(0.07 * w), int(0.12 * h)), (int(0.27 * w), int(0.52 * h)), (150, 140, 130), 4)
    if pose is None:
        return img
    lm = landmarks(pose)
    p = {i: (int(q[0] * w), int(q[1] * h)) for i, q in enumerate(lm) if q is not None}
    body, skin = (60, 75, 110), (205, 160, 130)
    limbs = [(11, 23, 34), (23, 25, 26), (25, 27, 20), (27, 31, 12), (29, 31, 10), (11, 13, 16), (13, 15, 13)]
    for a, b, th in limbs:
        cv2.line(img, p[a], p[b], body, th, cv2.LINE_AA)
    cv2.circle(img, p[0], 22, skin, -1, cv2.LINE_AA)
    cv2.circle(img, p[15], 8, skin, -1, cv2.LINE_AA)
    return img


def png_data_url(img: np.ndarray) -> str:
    import cv2

    ok, buf = cv2.imencode(".png", img[:, :, ::-1])
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def result(**kw) -> dict:
    """A result message as the server sends it (realtime/peer.py ``result_message`` + ``LiveSession.brief``)."""
    r = {"type": "result", "v": 1, "rtp": None, "t": 12.0, "lm": landmarks("squat"), "hl": [],
         "exercise": "squat", "confidence": 0.97, "source": "model", "count": 7, "set_index": 1, "phase": "bottom",
         "cue": None, "hint": None, "suggestion": None, "server_ms": 12.0, "state": "in_set", "rest_left_s": None,
         "sets_done": 0, "reps_done": 0, "frames_in": 360, "frames_processed": 355, "frames_dropped": 5,
         "processed_fps": 29.6, "error": None, "progress": 0.82, "progress_kind": "depth", "set_state": "in_set",
         "break_left_s": None, "last_set_reps": None, "speech_seq": 9}
    r.update(kw)
    return r


# the states shown in docs/img (name → result, the voice's caption, muted)
STATES = {
    "focus_mode": (result(cue="Chest up.", hl=[11, 23]), None, False),
    "focus_target": (result(progress=1.0, count=8, cue=None), {"kind": "praise", "text": "Good, that's it."}, False),
    "focus_resting": (result(lm=landmarks("stand"), phase="top", state="resting", set_state="resting", progress=0.0,
                             rest_left_s=5.2, count=12), None, True),
    "focus_set_done": (result(lm=landmarks("stand"), phase="idle", state="ready", set_state="set_done", count=0,
                              set_index=2, progress=0.0, break_left_s=45.0, last_set_reps=12, sets_done=1,
                              reps_done=12), {"kind": "set", "text": "Set done, 12 reps."}, False),
    "focus_setup": (result(lm=None, exercise="unknown", source="none", confidence=0.0, count=0, phase="idle",
                           state="setup", set_state="before", progress=None, progress_kind=None,
                           hint="Body cut off: step back until your feet are in the frame"),
                    {"kind": "setup", "text": "Step back until your feet are in the frame."}, False),
}


class Harness:
    """The component's page in headless Chromium, with a synthetic picture and no server."""

    def __init__(self, pw, viewport=(1280, 720)):
        from .bench_browser import CHROME_ARGS, chromium_path

        self.browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROME_ARGS)
        self.page = self.browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        self.page.goto(COMPONENT.as_uri())
        self.page.wait_for_function("!!window.SpotterDraw && !!window.spotterVoice")
        self._pose = None

    def show(self, r: dict, caption: Optional[dict] = None, muted: bool = False, pose: Optional[str] = None,
             size: tuple[int, int] = (W, H)) -> dict:
        """Put the synthetic picture in the video and draw ``r`` over it as the page does, on a canvas of ``size``
        pixels; returns the layout."""
        if pose is None:
            pose = "squat" if r.get("lm") == landmarks("squat") else "stand" if r.get("lm") else "room"
        if pose != self._pose:
            img = picture(None if pose == "room" else pose)
            self.page.evaluate("""url => new Promise(res => { const v = document.getElementById('video');
                 v.poster = url; document.getElementById('placeholder').style.display = 'none';
                 const i = new Image(); i.onload = () => setTimeout(res, 50); i.src = url; })""", png_data_url(img))
            self._pose = pose
        return self.page.evaluate("""([r, cap, muted, w, h]) => {
            const c = document.getElementById('overlay'), ctx = c.getContext('2d');
            c.width = w; c.height = h;
            const ui = {caption: cap ? Object.assign({status: 'ready'}, cap) : null, muted};
            return window.SpotterDraw.draw(ctx, c.width, c.height, r, ui);
        }""", [r, caption, muted, int(size[0]), int(size[1])])

    def focus(self) -> bool:
        """Click the page's Focus button (the Fullscreen API on the component's container)."""
        self.page.get_by_role("button", name="Focus").click()
        self.page.wait_for_function("document.body.classList.contains('focus')", timeout=10000)
        return bool(self.page.evaluate("!!document.fullscreenElement"))

    def pixels(self, x: float, y: float, w: float, h: float) -> np.ndarray:
        """The canvas's RGBA pixels in a box (canvas pixels)."""
        d = self.page.evaluate("""([x, y, w, h]) => Array.from(document.getElementById('overlay').getContext('2d')
                                   .getImageData(x, y, w, h).data)""",
                               [int(x), int(y), max(1, int(w)), max(1, int(h))])
        return np.array(d, np.uint8).reshape(max(1, int(h)), max(1, int(w)), 4)

    def close(self) -> None:
        self.browser.close()


def screenshots(out: Path, names=None) -> list[Path]:
    """The focus-mode screenshots (PNG, 1280x720) of :data:`STATES` into ``out``."""
    from playwright.sync_api import sync_playwright

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with sync_playwright() as pw:
        hs = Harness(pw)
        try:
            hs.page.evaluate("window.spotterVoice.settings.muted = false")
            hs.focus()
            for name in names or STATES:
                r, cap, muted = STATES[name]
                hs.page.evaluate("m => { const b = document.getElementById('mute'); b.textContent = m ? "
                                 "'Unmute voice' : 'Mute voice'; }", muted)
                hs.show(r, cap, muted)
                p = out / f"{name}.png"
                hs.page.screenshot(path=str(p))
                paths.append(p)
        finally:
            hs.close()
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m realtime.tools.page_demo", description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path, help="folder for the PNG screenshots (docs/img)")
    ap.add_argument("--only", nargs="*", choices=list(STATES), default=None)
    a = ap.parse_args(argv)
    for p in screenshots(a.out, a.only):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())

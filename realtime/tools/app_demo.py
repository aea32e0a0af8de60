"""The whole app on a synthetic picture, for the screenshots in docs/img (the shared clips' licences forbid copying
their frames): a drawn figure squatting in a drawn room (``page_demo``'s room), its pose known exactly.

    python -m realtime.tools.app_demo docs/img        # app_live.png, app_upload.png, app_history.png, ...

MediaPipe does not see a drawn figure, so the app runs with :class:`DemoPose` in its place, in a server started
by this module (``serve``: the real app, ``realtime/app_server.py``, with ``LiveSession``'s default estimator
replaced in that process only). The picture carries its own pose: two grey tiles on the floor hold the squat's
depth and the torso's extra lean as grey levels, which survive the browser's video encoder; DemoPose reads them
back and returns the figure's landmarks. Everything after pose is the real pipeline: the router is bypassed by
choosing Squat, then reps, issues, the voice, set reports, charts, clips, History. Not a test of pose.
"""
from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Optional

import numpy as np

from .page_demo import _EXTRA, _SQUAT, _STAND, H, W

ROOT = Path(__file__).resolve().parents[2]
# the two floor tiles that carry the pose (x0, y0, x1, y1 as fractions of the picture)
TILE_DEPTH = (0.03, 0.905, 0.075, 0.965)
TILE_LEAN = (0.09, 0.905, 0.135, 0.965)
MAX_LEAN = 60.0


def _grey(v: float) -> int:
    return int(round(40 + 180 * min(1.0, max(0.0, v))))


def _value(g: float) -> float:
    return min(1.0, max(0.0, (g - 40) / 180.0))


def pose_at(depth: float, lean_deg: float = 0.0) -> list:
    """33 [x, y] (normalised): the figure standing (0) to the bottom of its squat (1), the upper body leaned
    ``lean_deg`` further forward about the hip."""
    out: list = [None] * 33
    hip_d = np.array(_STAND[23]) + depth * (np.array(_SQUAT[23]) - np.array(_STAND[23]))
    for i in _STAND:
        p = np.array(_STAND[i]) + depth * (np.array(_SQUAT[i]) - np.array(_STAND[i]))
        if lean_deg and i in (0, 7, 8, 11, 13, 15, 17, 19, 21):  # the upper body turns about the hip (in pixels)
            v = (p - hip_d) * (W, H)  # pixels, y down; forward (the figure faces right) is clockwise here
            a = math.radians(lean_deg)
            v = np.array([v[0] * math.cos(a) - v[1] * math.sin(a), v[0] * math.sin(a) + v[1] * math.cos(a)])
            p = hip_d + v / (W, H)
        out[i] = [round(float(p[0]), 4), round(float(p[1]), 4)]
    for i in range(11, 33, 2):
        if out[i] is not None and i + 1 < 33:
            out[i + 1] = [round(out[i][0] - 0.012, 4), out[i][1]]
    for i, j in _EXTRA.items():
        out[i] = list(out[j])
    return out


def frame(depth: float, lean_deg: float = 0.0, size=(W, H)) -> np.ndarray:
    """The synthetic picture: page_demo's room, the figure in this pose, and the two tiles."""
    import cv2

    from .page_demo import picture

    w, h = size
    img = picture(None, size)
    lm = pose_at(depth, lean_deg)
    p = {i: (int(q[0] * w), int(q[1] * h)) for i, q in enumerate(lm) if q is not None}
    body, skin = (60, 75, 110), (205, 160, 130)
    for a, b, th in [(11, 23, 34), (23, 25, 26), (25, 27, 20), (27, 31, 12), (29, 31, 10), (11, 13, 16), (13, 15, 13)]:
        cv2.line(img, p[a], p[b], body, th, cv2.LINE_AA)
    cv2.circle(img, p[0], 22, skin, -1, cv2.LINE_AA)
    cv2.circle(img, p[15], 8, skin, -1, cv2.LINE_AA)
    for tile, v in ((TILE_DEPTH, depth), (TILE_LEAN, lean_deg / MAX_LEAN)):
        x0, y0, x1, y1 = int(tile[0] * w), int(tile[1] * h), int(tile[2] * w), int(tile[3] * h)
        img[y0:y1, x0:x1] = _grey(v)
    return img


def _profile(t: float, lean_rep: int, rep_s=2.6, lead_s=1.5, reps=3):
    """(depth, lean) at ``t``: standing, then ``reps`` squats of ``rep_s`` (down, a pause, up) 0.8 s apart."""
    k = (t - lead_s) / (rep_s + 0.8)
    n = int(math.floor(k))
    if t < lead_s or n >= reps:
        return 0.0, 0.0
    u = (t - lead_s - n * (rep_s + 0.8)) / rep_s
    if u >= 1.0:
        return 0.0, 0.0
    d = min(1.0, u / 0.4) if u < 0.4 else 1.0 if u < 0.55 else max(0.0, 1.0 - (u - 0.55) / 0.45)
    d = 0.5 - 0.5 * math.cos(math.pi * d)
    return d, (35.0 * d if n + 1 == lean_rep else 0.0)


def demo_video(path: Path, reps: int = 3, lean_rep: int = 2, fps: int = 30, tail_s: float = 3.0) -> Path:
    """The synthetic set as an MP4: ``reps`` squats, rep ``lean_rep`` with too much forward lean."""
    import av

    dur = 1.5 + reps * 3.4 + tail_s
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.time_base = Fraction(1, fps)
        s.options = {"crf": "18"}
        for i in range(int(dur * fps)):
            d, lean = _profile(i / fps, lean_rep, reps=reps)
            vf = av.VideoFrame.from_ndarray(frame(d, lean), format="rgb24")
            vf.pts = i
            for pkt in s.encode(vf):
                c.mux(pkt)
        for pkt in s.encode(None):
            c.mux(pkt)
    return path


class DemoPose:
    """A pose estimator for the synthetic picture only: reads the two tiles and returns the figure's landmarks
    (image, world in metres with the far side behind, visible)."""

    name = "demo-pose"

    def process(self, rgb: np.ndarray, t: float):
        from pipeline.pose.estimator import PoseFrame

        h, w = rgb.shape[:2]

        def tile(tl):
            x0, y0, x1, y1 = tl
            cx0, cx1 = int((x0 + (x1 - x0) * 0.25) * w), int((x1 - (x1 - x0) * 0.25) * w)
            cy0, cy1 = int((y0 + (y1 - y0) * 0.25) * h), int((y1 - (y1 - y0) * 0.25) * h)
            return float(rgb[cy0:cy1, cx0:cx1].mean())

        g = tile(TILE_DEPTH)
        if g < 25:  # no tiles (the camera's empty lead-in): no one in view
            return PoseFrame.empty(t, w, h)
        d, lean = _value(g), _value(tile(TILE_LEAN)) * MAX_LEAN
        lm = pose_at(d, lean)
        img = np.full((33, 3), np.nan, np.float32)
        world = np.full((33, 3), np.nan, np.float32)
        vis = np.zeros(33, np.float32)
        hip = np.array(lm[23])
        for i, q in enumerate(lm):
            if q is None:
                continue
            img[i] = (q[0], q[1], 0.0)
            # metres: 1.7 m tall figure spans ~0.68 of the picture's height; the far (even) side 0.2 m behind
            world[i] = ((q[0] - hip[0]) * w / h * 2.5, (q[1] - hip[1]) * 2.5, 0.1 if i % 2 == 0 and i >= 11 else -0.1)
            vis[i] = 0.99
        return PoseFrame(t=t, image=img, world=world, visibility=vis, present=True, width=w, height=h)

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


def serve(port: int, address: str = "127.0.0.1") -> None:
    """The real app with DemoPose in place of MediaPipe (this process only)."""
    import realtime.session as rs

    orig = rs.LiveSession.__init__

    def init(self, config=None, *, estimator=None, **kw):
        orig(self, config, estimator=estimator or DemoPose(), **kw)

    rs.LiveSession.__init__ = init
    from streamlit.web import cli

    from realtime.app_server import command

    sys.argv = ["streamlit", *command(port, address)[3:]]
    cli.main()


def _shot(page, path: Path, height: Optional[int] = None) -> None:
    if height:
        page.set_viewport_size({"width": page.viewport_size["width"], "height": height})
        page.wait_for_timeout(1200)
    page.screenshot(path=str(path))
    print(path)


def screenshots(out: Path) -> None:
    """docs/img/app_*.png: the Live page during a set and after it, the focus layout on a phone, the Upload page
    with its report, History with a set's report."""
    from playwright.sync_api import sync_playwright

    from .bench_browser import (CHROME_ARGS, _free_port, camera_file, choose_exercise, chromium_path,
                                component_frame, wait_results)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="spotter-demo-"))
    video = demo_video(tmp / "squats.mp4")
    cam, cam_s = camera_file(video, tmp / "cam.mjpeg", lead_s=1.0, tail_s=12.0)
    port = _free_port()
    env = dict(os.environ, SPOTTER_DATA=str(tmp / "data"), GLOG_minloglevel="2")
    log = open(tmp / "app.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "realtime.tools.app_demo", "--serve", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        for _ in range(300):
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                         args=CHROME_ARGS + [f"--use-file-for-fake-video-capture={cam}"])
            ctx = browser.new_context(viewport={"width": 1280, "height": 800})
            ctx.grant_permissions(["camera"], origin=url)
            page = ctx.new_page()
            page.goto(url)
            page.get_by_text("Spotter — local workout form coach").wait_for(timeout=90000)
            choose_exercise(page, "squat")
            fr = component_frame(page)
            fr.get_by_role("button", name="START").click()
            wait_results(fr, 1, timeout=180)
            fr.wait_for_function("window.spotter.last && window.spotter.last.count >= 2 && window.spotter.last.cue",
                                 timeout=120000)
            _shot(page, out / "app_live.png")
            page.get_by_text("Set 1: squat").first.wait_for(timeout=120000)  # the set ends after 8 s of rest
            page.wait_for_timeout(8000)  # its video, rendered in the background
            fr.get_by_role("button", name="STOP").click()
            page.wait_for_timeout(3000)
            _shot(page, out / "app_live_set_done.png")
            # a phone, the focus layout
            ph = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
            ph.grant_permissions(["camera"], origin=url)
            p2 = ph.new_page()
            p2.goto(url + "/?focus=1")
            f2 = component_frame(p2)
            f2.get_by_role("button", name="START").click()
            wait_results(f2, 1, timeout=180)
            f2.wait_for_function("window.spotter.last && window.spotter.last.count >= 1", timeout=120000)
            _shot(p2, out / "app_phone_focus.png")
            ph.close()
            # Upload: the same set as a file, analysed, its report in the page
            page.get_by_text("Upload", exact=True).first.click()
            page.locator("input[type=file]").set_input_files(str(video))
            page.get_by_role("button", name="Analyse (as fast as possible)").click(timeout=60000)
            exp = page.locator("[data-testid=stExpander]").filter(has_text="Set 1: squat").first
            exp.wait_for(timeout=120000)
            for _ in range(60):
                if exp.locator("video").count() >= 2:
                    break
                page.wait_for_timeout(1000)
            _shot(page, out / "app_upload.png")
            _shot(page, out / "app_report.png", height=2600)
            page.set_viewport_size({"width": 1280, "height": 800})
            page.get_by_text("History", exact=True).first.click()
            page.get_by_text("Set 1: squat").first.wait_for(timeout=60000)
            player = page.locator("[data-testid=stVideo]").first
            player.wait_for(timeout=60000)
            page.wait_for_function("v => v.readyState >= 2", arg=player.element_handle(), timeout=60000)
            page.get_by_text("Set 1: squat").first.click()
            page.wait_for_timeout(2500)
            _shot(page, out / "app_history.png")
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    del cam_s


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m realtime.tools.app_demo", description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", type=Path, help="folder for the PNG screenshots (docs/img)")
    ap.add_argument("--serve", type=int, metavar="PORT", help="run the app with the demo pose on PORT (internal)")
    a = ap.parse_args(argv)
    if a.serve:
        serve(a.serve)
        return 0
    if a.out is None:
        ap.error("give the folder for the screenshots")
    screenshots(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

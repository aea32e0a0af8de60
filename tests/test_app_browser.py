"""End to end in a real browser: ``streamlit run streamlit_app.py`` + headless Chromium playing a dev clip as the
webcam (``--use-file-for-fake-video-capture``), through streamlit-webrtc with no ICE servers. The rep count on
the page must reach the clip's count, and after STOP the set is in the session store.

Needs Debian's ``chromium`` and the ``playwright`` Python package (``.ci/install_browser.sh``); skips otherwise.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from fractions import Fraction
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "data" / "clips"
CLIP, EXPECTED = "squat/sq05_barbell_highbar_front.mp4", 2
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (run .ci/install_browser.sh)"),
    pytest.mark.skipif(not (CLIPS / CLIP).exists(), reason="real clips not found in ../shared"),
]


def _to_mjpeg(src: Path, dst: Path, fps: int = 30) -> Path:
    """The clip as MJPEG at its pose size (Chromium plays it as the camera, looping)."""
    import av

    from pipeline.intake.video import VideoReader

    with av.open(str(dst), "w", format="mjpeg") as out:
        s = None
        for fr in VideoReader(str(src)):
            if s is None:
                s = out.add_stream("mjpeg", rate=fps)
                s.width, s.height = fr.image.shape[1], fr.image.shape[0]
                s.pix_fmt = "yuvj420p"
                s.time_base = Fraction(1, fps)
            vf = av.VideoFrame.from_ndarray(fr.image, format="rgb24")
            for pkt in s.encode(vf):
                out.mux(pkt)
        for pkt in s.encode(None):
            out.mux(pkt)
    return dst


def _watch_reps(page, expected: int, timeout_s: float = 60) -> list[int]:
    """The distinct rep counts the page shows, in order, until ``expected`` is reached or time runs out."""
    reps = page.locator("[data-testid=spotter-reps]")
    reps.wait_for(timeout=60000)
    seen: list[int] = []
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            n = int(reps.first.get_attribute("data-reps", timeout=5000))
        except Exception:
            n = None
        if n is not None and (not seen or seen[-1] != n):
            seen.append(n)
        if n is not None and n >= expected:
            break
        time.sleep(0.25)
    return seen


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app(tmp_path):
    port = _free_port()
    env = dict(os.environ, SPOTTER_DATA=str(tmp_path / "data"), GLOG_minloglevel="2",
               SPOTTER_CACHE=str(tmp_path / "cache"))
    log = open(tmp_path / "streamlit.log", "w")
    p = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
                          "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
                          "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log,
                         stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        p.kill()
        pytest.fail("streamlit did not start: " + (tmp_path / "streamlit.log").read_text()[-2000:])
    yield url, tmp_path
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
    log.close()


def test_browser_webcam_reaches_the_clip_rep_count(app):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (.ci/install_browser.sh)")
    url, tmp = app
    cam = _to_mjpeg(CLIPS / CLIP, tmp / "cam.mjpeg")
    from pipeline.movement.routing import live_router

    auto = live_router() is not None
    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={cam}"]
    seen = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        ctx = browser.new_context()
        ctx.grant_permissions(["camera"], origin=url)
        page = ctx.new_page()
        page.goto(url, wait_until="networkidle")
        page.get_by_text("Spotter — local workout form coach").wait_for(timeout=60000)
        if not auto:  # no router weights: choose the exercise in the sidebar
            page.get_by_text("Automatic").first.click()
            page.get_by_role("option", name="Squat").click()
        page.frame_locator("iframe").first.get_by_role("button", name="START").click(timeout=60000)
        seen.extend(_watch_reps(page, EXPECTED))
        page.screenshot(path=str(tmp / "page.png"))
        state_text = page.locator("[data-testid=spotter-state]").first.inner_text()
        page.frame_locator("iframe").first.get_by_role("button", name="STOP").click()
        time.sleep(3)
        browser.close()
    log = (tmp / "streamlit.log").read_text()
    assert seen and max(seen) >= EXPECTED, f"rep counts seen on the page: {seen}; state {state_text!r}\n{log[-3000:]}"
    # counts go 0 → 1 → 2 on the way (the first pass through the clip), never skipping past the clip's count
    assert seen[seen.index(max(seen))] == EXPECTED, seen
    # STOP closed the set: it is stored with its report
    from realtime.store import Store

    store = Store(tmp / "data")
    deadline = time.time() + 15
    rows = []
    while time.time() < deadline:
        ss = store.list_sessions()
        rows = store.sets(ss[0]["id"]) if ss else []
        if rows:
            break
        time.sleep(0.5)
    assert rows and rows[0]["exercise"] == "squat" and rows[0]["reps"] >= EXPECTED and rows[0]["report_json"]


def test_uploaded_video_replays_in_real_time_with_the_live_overlay(app):
    """Upload page: the file is played on the server through the same live session (RECVONLY + player) in
    real time, with the live overlay; reps appear on the page and the set is stored. (The count's accuracy is
    tested frame by frame elsewhere; here Chromium, Streamlit and pose share two cores, so frames are dropped.)"""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (.ci/install_browser.sh)")
    url, tmp = app
    clip = tmp / "upload me.mp4"
    shutil.copy(CLIPS / CLIP, clip)  # a temporary copy for the upload widget, deleted with tmp
    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]
    seen = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        page = browser.new_context().new_page()
        page.goto(url, wait_until="networkidle")
        page.get_by_text("Spotter — local workout form coach").wait_for(timeout=60000)
        page.get_by_text("Upload", exact=True).first.click()
        page.locator("input[type=file]").set_input_files(str(clip))
        page.get_by_text("Replay in real time with the live overlay").click(timeout=60000)
        page.frame_locator("iframe").first.get_by_role("button", name="START").click(timeout=60000)
        seen.extend(_watch_reps(page, EXPECTED))
        page.screenshot(path=str(tmp / "upload_replay.png"))
        browser.close()
    assert seen and 1 <= max(seen) <= EXPECTED, (seen, (tmp / "streamlit.log").read_text()[-3000:])
    from realtime.store import Store

    store = Store(tmp / "data")
    deadline = time.time() + 20
    rows = []
    while time.time() < deadline and not rows:
        ss = [s for s in store.list_sessions() if s["source"] == "upload"]
        rows = store.sets(ss[0]["id"]) if ss else []
        time.sleep(0.5)
    assert rows and rows[0]["exercise"] == "squat" and rows[0]["report_json"]

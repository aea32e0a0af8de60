"""End to end in a real browser: the app as ``spotter app`` runs it (``realtime/app_server.py``: the Streamlit page
plus the page channel) and headless Chromium with a dev clip as the webcam (``--use-file-for-fake-video-capture``).

What these tests assert is what does not depend on the machine's speed: results reach the page and are drawn,
and the session the server stores has the clip's sets and count — for the webcam, for the history replay of that
session's recording and for an uploaded file (both replays: the server decodes the file and analyses every frame in
step with the page's playback, realtime/filereplay.py).
No frame-rate floor: speed is what ``spotter bench browser`` measures. The camera file starts and ends with a
few seconds with no one in view, so the connection's set-up and STOP's timing never cut into a rep.

Needs Debian's ``chromium`` and the ``playwright`` Python package (``.ci/install_browser.sh``); skips otherwise.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from realtime import peer
from realtime.tools.bench_browser import (KEYS, App, camera_file, chromium_path, component_frame, open_page, stored_sets,
                                    wait_camera, wait_results)

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "data" / "clips"
CLIP, EXPECTED = "squat/sq05_barbell_highbar_front.mp4", 2

pytestmark = [
    pytest.mark.skipif(chromium_path() is None, reason="chromium not installed (run .ci/install_browser.sh)"),
    pytest.mark.skipif(not (CLIPS / CLIP).exists(), reason="real clips not found in ../shared"),
]


def _auto() -> bool:
    from pipeline.movement.routing import live_router

    return live_router() is not None


@pytest.fixture
def app(tmp_path):
    a = App(tmp_path / "data", tmp_path / "app.log")
    a.wait_ready(180)
    yield a
    a.stop()


@pytest.fixture
def sync_api():
    return pytest.importorskip("playwright.sync_api", reason="playwright not installed (.ci/install_browser.sh)")


def _sets(rows) -> list[tuple[str, int]]:
    return [(r["exercise"], r["reps"]) for r in rows]


def _play_until_stored(page, frame, data: Path, source: str, timeout: float = 240):
    """START a replay (the page plays the file once, from its start, then stops by itself); returns the page's
    figures and the stored (session, sets) of ``source``."""
    frame.get_by_role("button", name="START").click()
    stats = wait_results(frame, 1, timeout=180)
    deadline = time.time() + timeout
    while time.time() < deadline:
        stats = frame.evaluate("window.spotterStats()")
        if stats["state"] in ("ended", "error"):
            break
        page.wait_for_timeout(500)
    sess, rows = stored_sets(data, source=source, timeout=90)
    return stats, sess, rows


def test_webcam_session_counts_the_clip_and_its_recording_replays_through_the_same_loop(app, sync_api, tmp_path):
    cam, file_s = camera_file(CLIPS / CLIP, tmp_path / "cam.mjpeg", lead_s=3.0, tail_s=4.0)
    with sync_api.sync_playwright() as pw:
        browser, page = open_page(pw, app.url, cam, None if _auto() else "squat")
        try:
            fr = component_frame(page)
            fr.get_by_role("button", name="START").click()
            wait_results(fr, 1, timeout=180)
            wait_camera(page, fr, file_s - 2.0)  # the camera file once: lead-in, the clip, STOP in the empty tail
            live = fr.evaluate("window.spotterStats()")
            # while results arrive, the session panel is redrawn when the page asks (no rerun on a timer)
            page.locator("[data-testid=spotter-state][data-mode=pushed]").wait_for(timeout=60000)
            fr.get_by_role("button", name="STOP").click()
            sess, rows = stored_sets(app.data, source="webcam", timeout=90)
            # after STOP the panel refreshes itself again and shows the stored set
            page.locator("[data-testid=spotter-state][data-mode=polled]").wait_for(timeout=60000)
            page.get_by_text(f"Set 1: squat — {EXPECTED} reps").first.wait_for(timeout=90000)
            page.screenshot(path=str(tmp_path / "live.png"))
            assert live["results"] > 0 and live["drawn"] > 0, live
            assert sess is not None and sess["status"] == "ended", (sess, app.log_tail())
            assert _sets(rows) == [("squat", EXPECTED)], (_sets(rows), live["last"], app.log_tail())
            assert rows[0]["report_json"]
            # the send rate follows what the server analyses (docs/live.md, sender settings): the rule, and that
            # the page applied it and counted what it sent (the server cannot have received more than that)
            assert fr.evaluate("[0, 8, 16, 23.9, 40].map(f => window.spotter.sendCapFor(f))") == [12, 13, 23, 30, 30]
            assert live["send_cap"] is not None and 12 <= live["send_cap"] <= 30, live
            assert 0 < live["last"]["frames_in"] <= live["frames_sent"] + 31, live
            # the panel's rerun is asked for when the finished sets or their reports change, not with every rep or
            # set state (the picture shows those)
            key = "r => window.spotter.panelKey(r)"
            r0 = {"state": "in_set", "sets_done": 0, "timeline": 0, "error": None, "count": 3, "phase": "lowering"}
            assert fr.evaluate(key, r0) == fr.evaluate(key, {**r0, "count": 4, "phase": "rising"})
            assert fr.evaluate(key, r0) == fr.evaluate(key, {**r0, "state": "resting"})
            assert fr.evaluate(key, r0) != fr.evaluate(key, {**r0, "error": "pose failed"})
            assert fr.evaluate(key, r0) != fr.evaluate(key, {**r0, "sets_done": 1, "timeline": 77})
            assert live["panel_posts"] >= 1, live
            # the latency clock's offset (main.js offsetFrom) from a camera with perfectly regular frame times: every
            # whole number of frame intervals matches as well as the true offset; the true one is the smallest that
            # puts each capture before the server received the frame (here 12 ms after capture, server 25 ms)
            k = fr.evaluate("""() => {
                const caps = [], rtps = [], rng = (i => () => (i = (i * 48271) % 2147483647) / 2147483647)(7);
                for (let i = 0; i < 150; i++) caps.push(1000 + i * 100 / 3);
                for (let i = 90; i < 150; i++) rtps.push({r: Math.floor(caps[i]) + 5000, at: caps[i] + 12 + 25, srv: 25});
                const jit = caps.map(c => c + (rng() - 0.5) * 6);  // a real camera's jitter: the best match wins
                const rj = rtps.map((p, i) => ({...p, r: Math.floor(jit[90 + i]) + 5000}));
                return [window.spotter.offsetFrom(rtps, caps), window.spotter.offsetFrom(rj, jit),
                        window.spotter.offsetFrom(rtps.slice(0, 10), caps)];
            }""")
            assert abs(k[0] - 5000) <= 1.0 and abs(k[1] - 5000) <= 1.0 and k[2] is None, k
            # the browser sends the codec the server's answer lists first (realtime/peer.py: VP8 unless set to H.264)
            h264 = fr.evaluate("RTCRtpSender.getCapabilities('video').codecs.some(c => c.mimeType === 'video/H264')")
            want = "video/H264" if h264 and peer.preferred_video_codec() == "h264" else "video/VP8"
            assert (live["sender"] or {}).get("codec") == want, live["sender"]

            # History: the recording plays (st.video: video responses work, see realtime/compat.py) ...
            page.get_by_text("History", exact=True).first.click()
            player = page.locator("[data-testid=stVideo] video, video").first
            player.wait_for(timeout=60000)
            page.wait_for_function("v => v.readyState >= 1 || v.error", arg=player.element_handle(), timeout=60000)
            assert player.evaluate("v => v.error === null"), player.evaluate("v => v.error.message")
            # ... and replays in real time through the same page channel
            page.get_by_text("Replay this recording in real time with the live overlay").click(timeout=60000)
            stats, sess2, rows2 = _play_until_stored(page, component_frame(page), app.data, "replay")
            page.screenshot(path=str(tmp_path / "history_replay.png"))
        finally:
            browser.close()
    assert stats["results"] > 0 and stats["drawn"] > 0, stats
    assert sess2 is not None and sess2["id"] != sess["id"] and sess2["status"] == "ended", sess2
    assert _sets(rows2) == [("squat", EXPECTED)], (_sets(rows2), stats["last"], app.log_tail())


def test_uploaded_video_replays_through_the_live_loop(app, sync_api, tmp_path):
    """Upload page: the page plays the file while the server analyses every frame of it through a live session, in
    step; the overlay comes back; the set is stored."""
    clip = tmp_path / "upload me.mp4"
    shutil.copy(CLIPS / CLIP, clip)  # a temporary copy for the upload widget, deleted with tmp
    with sync_api.sync_playwright() as pw:
        browser, page = open_page(pw, app.url, None, None if _auto() else "squat")
        try:
            page.get_by_text("Upload", exact=True).first.click()
            page.locator("input[type=file]").set_input_files(str(clip))
            page.get_by_text("Replay in real time with the live overlay").click(timeout=60000)
            stats, sess, rows = _play_until_stored(page, component_frame(page), app.data, "upload")
            page.screenshot(path=str(tmp_path / "upload_replay.png"))
        finally:
            browser.close()
    assert stats["results"] > 0 and stats["drawn"] > 0, stats
    assert sess is not None and sess["status"] == "ended", (sess, app.log_tail())
    assert _sets(rows) == [("squat", EXPECTED)], (_sets(rows), stats["last"], app.log_tail())
    assert rows[0]["report_json"]


def test_bench_browser_prints_the_figures_as_json(sync_api):
    """``spotter bench browser CLIP --json``: one object with exactly the documented keys; the count is the
    clip's (its speed figures are printed, not asserted)."""
    p = subprocess.run([sys.executable, "-m", "pipeline.tools.cli", "bench", "browser", str(CLIPS / CLIP), "--json"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert tuple(out) == KEYS, out
    assert all(isinstance(out[k], (int, float)) for k in KEYS if k not in ("overlay_latency_ms_p50",
                                                                            "overlay_latency_ms_p95")), out
    assert out["seconds"] > 0 and out["processed_fps"] > 0 and 0 <= out["dropped_ratio"] <= 1, out
    assert out["server_cpu_cores"] > 0 and out["browser_cpu_cores"] > 0, out
    if _auto():
        assert out["reps"] == EXPECTED, out

"""End to end in a real browser (the app as ``spotter app`` runs it, headless Chromium with a dev clip as the webcam):
the New exercise page records a demonstration from the camera, shows what Spotter learnt, the user names and saves
it; then, with another person's clip as the camera, the Live page counts a set of it.

What is asserted does not depend on the machine's speed: the learnt rep reaches the page, the exercise file is
stored, and the stored set is the taught exercise with the clip's count. Needs Debian's ``chromium`` and the
``playwright`` Python package (``.ci/install_browser.sh``); skips otherwise.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from realtime.tools.bench_browser import (App, camera_file, chromium_path, component_frame, open_page, stored_sets,
                                          wait_camera, wait_results)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DEMO = DATA / "more_clips2" / "unknown" / "neg_db_curl_front_outdoor_hasnain.mp4"  # 4 curls, front, outdoor
SET, SET_REPS = DATA / "clips" / "unknown" / "un13_dumbbell_bicep_curl_side.mp4", 4  # another man, side, indoors

pytestmark = [
    pytest.mark.skipif(chromium_path() is None, reason="chromium not installed (run .ci/install_browser.sh)"),
    pytest.mark.skipif(not (DEMO.exists() and SET.exists()), reason="real clips not found in ../shared"),
]


@pytest.fixture
def app(tmp_path):
    a = App(tmp_path / "data", tmp_path / "app.log")
    a.wait_ready(180)
    yield a
    a.stop()


@pytest.fixture
def sync_api():
    return pytest.importorskip("playwright.sync_api", reason="playwright not installed (.ci/install_browser.sh)")


def _record(page, seconds: float):
    fr = component_frame(page)
    fr.get_by_role("button", name="START").click()
    wait_results(fr, 1, timeout=180)
    wait_camera(page, fr, seconds)
    fr.get_by_role("button", name="STOP").click()


def test_teach_from_the_webcam_name_save_then_count_a_set(app, sync_api, tmp_path):
    demo_cam, demo_s = camera_file(DEMO, tmp_path / "demo.mjpeg", lead_s=3.0, tail_s=3.0)
    set_cam, set_s = camera_file(SET, tmp_path / "set.mjpeg", lead_s=3.0, tail_s=4.0)
    with sync_api.sync_playwright() as pw:
        browser, page = open_page(pw, app.url, demo_cam)
        try:
            page.get_by_text("New exercise", exact=True).first.click()
            page.get_by_text("Record with the camera").first.wait_for(timeout=60000)
            _record(page, demo_s - 1.0)  # the camera file once: lead-in, the demonstration, STOP in the empty tail
            learnt = page.locator("[data-testid=spotter-teach-learnt]")
            learnt.wait_for(timeout=180000)
            reps = int(learnt.get_attribute("data-reps"))
            page.screenshot(path=str(tmp_path / "learnt.png"))
            box = page.get_by_label("Name of the exercise")
            box.fill("Bicep curl")
            box.press("Enter")
            page.get_by_role("button", name="Save exercise").click()
            page.get_by_text("Saved “Bicep curl”").wait_for(timeout=60000)
            page.get_by_text("Bicep curl — taught from webcam").first.wait_for(timeout=60000)
        finally:
            browser.close()
        assert reps == 4, reps
        stored = json.loads((app.data / "exercises" / "bicep_curl.json").read_text())
        assert stored["label"] == "Bicep curl" and stored["source"] == "webcam" and len(stored["demo_reps"]) == 4
        assert not [s for s in _sessions(app) if s["source"] == "teach"]  # the demonstration's recording is gone

        browser, page = open_page(pw, app.url, set_cam)
        try:
            box = page.locator("[data-testid=stSelectbox]").filter(has_text="Exercise").locator("input").first
            box.click(timeout=60000)
            page.get_by_role("option", name="Bicep curl (taught)", exact=True).click()
            deadline = time.time() + 30
            while box.input_value() != "Bicep curl (taught)" and time.time() < deadline:
                time.sleep(0.2)
            _record(page, set_s - 2.0)
            sess, rows = stored_sets(app.data, source="webcam", timeout=120)
            assert [(r["exercise"], r["reps"]) for r in rows] == [("bicep_curl", SET_REPS)], (rows, app.log_tail())
            page.get_by_text(f"Set 1: bicep curl — {SET_REPS} reps").first.wait_for(timeout=120000)
            page.screenshot(path=str(tmp_path / "counted.png"))
        finally:
            browser.close()
    rep = json.loads(rows[0]["report_json"])
    assert rep["exercise"]["taught"]["label"] == "Bicep curl" and any(n["code"] == "form" for n in rep["not_judged"])


def _sessions(app):
    from realtime.store import Store

    return Store(app.data).list_sessions()

"""The Progress page in a real browser (the app as ``spotter app`` runs it, headless Chromium) on a synthetic training
history (realtime/tools/progress_demo.py: made-up sessions, valid set reports): the charts are drawn (every chart
image loaded), the personal bests are listed with the values the store gives, and a best's link opens that set's
report on the page.

Needs Debian's ``chromium`` and the ``playwright`` Python package (``.ci/install_browser.sh``); skips otherwise."""
from __future__ import annotations

import pytest

from realtime import progress as prog
from realtime.store import Store
from realtime.tools.bench_browser import App, chromium_path
from realtime.tools.progress_demo import CHARTS, build_history, wait_charts

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="chromium not installed (run .ci/install_browser.sh)")


def test_progress_page_draws_the_charts_and_lists_the_bests(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (.ci/install_browser.sh)")
    data = tmp_path / "data"
    build_history(data)
    sq = prog.progress(Store(data), "squat")["squat"]
    app = App(data, tmp_path / "app.log")
    try:
        app.wait_ready(180)
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), headless=True)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 3000})
                page.goto(app.url + "/?page=Progress&exercise=squat", wait_until="domcontentloaded")
                page.locator("[data-testid=spotter-best]").first.wait_for(timeout=120000)
                # six charts for this history (reps, load, range, tempo, form, issues), each image loaded
                assert wait_charts(page, 6) >= 6, app.log_tail()
                sizes = page.evaluate(f"() => [...document.querySelectorAll({CHARTS!r})].map(i => i.naturalWidth)")
                assert len(sizes) == 6 and min(sizes) > 300, sizes
                bests = {el.get_attribute("data-key"): el.inner_text()
                         for el in page.locator("[data-testid=spotter-best]").all()}
                assert set(bests) == {"most_reps", "best_e1rm", "deepest_range", "clean_streak"}, bests
                for key, b in sq["bests"].items():
                    assert b["date"] in bests[key] and f"set {b['set']}" in bests[key], (key, b, bests[key])
                assert f"Most reps in a set: {int(sq['bests']['most_reps']['value'])} —" in bests["most_reps"]
                assert f"{sq['bests']['best_e1rm']['value']:.1f}".rstrip("0").rstrip(".") + " kg" in bests["best_e1rm"]
                trends = page.locator("[data-testid=spotter-trends]").inner_text()
                assert "Range of motion: up" in trends  # the synthetic history deepens by ~16° over 8 weeks
                page.screenshot(path=str(tmp_path / "progress.png"))
                # grouped by month: drawn again
                page.get_by_text("Months", exact=True).click()
                page.wait_for_timeout(500)
                assert wait_charts(page, 6) >= 6
                # a best's link opens that set's report on the page
                best = sq["bests"]["most_reps"]
                page.locator("[data-testid=spotter-best][data-key=most_reps] a").click()
                page.locator("[data-testid=spotter-set-report]").wait_for(timeout=60000)
                assert f"set={best['set_id']}" in page.url
                page.get_by_text(f"squat — {best['reps']} reps").first.wait_for(timeout=30000)
            finally:
                browser.close()
    finally:
        app.stop()

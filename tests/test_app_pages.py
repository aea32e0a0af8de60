"""The app as a person meets it (issue 23), in headless Chromium against the real app (``spotter app``'s server):
uploads of any size replayed in real time, the report in the page, a layout that fits the window, no overlay left
after STOP, frozen pictures, a truncated upload. Outcomes only: counts, what is on the page and where, never how
fast (speed is ``spotter bench browser``'s).

Needs Debian's ``chromium``, the ``playwright`` package (``.ci/install_browser.sh``) and the clips in ../shared;
skips otherwise.
"""
from __future__ import annotations

import shutil
import stat
import time
from pathlib import Path

import pytest
from conftest import SHARED

from realtime.tools.bench_browser import (App, CHROME_ARGS, camera_file, choose_exercise, chromium_path,
                                          component_frame, stored_sets, wait_camera, wait_results)

DATA = SHARED / "data"
PU01 = DATA / "clips" / "push_up" / "pu01_outdoor_side.mp4"  # 1280x720, 4 push-ups
SQ09 = DATA / "clips" / "squat" / "sq09_crossfit_airsquat_side_trim.mp4"  # side view, 3 squats
SQ05 = DATA / "clips" / "squat" / "sq05_barbell_highbar_front.mp4"  # 640x360, 2 squats
FWD = DATA / "more_clips" / "squat" / "sq_wrong_fwdlean_vs_correct_2person_formguard.mp4"  # a WebM: forward lean

pytestmark = [
    pytest.mark.skipif(chromium_path() is None, reason="chromium not installed (run .ci/install_browser.sh)"),
    pytest.mark.skipif(not PU01.exists(), reason="real clips not found in ../shared"),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    d = tmp_path_factory.mktemp("app")
    a = App(d / "data", d / "app.log")
    a.wait_ready(180)
    yield a
    a.stop()


@pytest.fixture(scope="module")
def pw():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (.ci/install_browser.sh)")
    with sync_api.sync_playwright() as p:
        yield p


def _open(pw, url: str, viewport=(1280, 900), camera: Path | None = None, path: str = ""):
    args = list(CHROME_ARGS) + ([f"--use-file-for-fake-video-capture={camera}"] if camera else [])
    browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=args)
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    ctx.grant_permissions(["camera"], origin=url)
    page = ctx.new_page()
    page.goto(url + path, wait_until="domcontentloaded")
    page.locator("[data-testid=stSidebar]").wait_for(state="attached", timeout=90000)
    return browser, page


def _upload(page, src: Path, tmp: Path, name: str) -> None:
    f = tmp / name
    shutil.copy(src, f)
    page.get_by_text("Upload", exact=True).first.click()
    page.locator("input[type=file]").set_input_files(str(f))


def _sessions(data: Path, source: str) -> list[dict]:
    from realtime.store import Store

    return [s for s in Store(data).list_sessions() if s["source"] == source]


def _wait_new_session(data: Path, source: str, known: set, timeout: float = 300) -> tuple[dict, list]:
    from realtime.store import Store

    deadline = time.time() + timeout
    while time.time() < deadline:
        new = [s for s in _sessions(data, source) if s["id"] not in known and s["status"] != "live"]
        if new:
            return new[0], Store(data).sets(new[0]["id"])
        time.sleep(0.5)
    raise AssertionError(f"no new {source} session was stored")


def _sets(rows) -> list[tuple[str, int]]:
    return [(r["exercise"], r["reps"]) for r in rows]


def test_a_1280x720_upload_replayed_in_real_time_counts_what_analyse_counts(app, pw, tmp_path):
    """pu01 is 1280x720. Before: "No person found", 0 reps, no set, the session left "live". Now the replay
    analyses every frame of the file, as Analyse does, and counts the same; the upload's copy on disk is private
    and goes when the upload is cleared; History names the file."""
    browser, page = _open(pw, app.url)
    try:
        choose_exercise(page, "push_up")
        _upload(page, PU01, tmp_path, "my push-ups.mp4")
        known = {s["id"] for s in _sessions(app.data, "upload")}
        page.get_by_role("button", name="Analyse (as fast as possible)").click(timeout=60000)
        analysed, rows_a = _wait_new_session(app.data, "upload", known)
        page.get_by_text("Set 1: push up — 4 reps").first.wait_for(timeout=120000)
        copies = list((app.data / "uploads").iterdir())
        modes = [stat.S_IMODE(p.stat().st_mode) for p in copies] + [stat.S_IMODE((app.data / "uploads").stat().st_mode)]

        page.get_by_text("Replay in real time with the live overlay").click(timeout=60000)
        fr = component_frame(page)
        known.add(analysed["id"])
        fr.get_by_role("button", name="START").click()
        wait_results(fr, 1, timeout=180)
        deadline = time.time() + 600  # a slow machine replays slower (every frame is analysed)
        while time.time() < deadline and fr.evaluate("window.spotter.state") not in ("ended", "error"):
            page.wait_for_timeout(1000)
        st = fr.evaluate("window.spotterStats()")
        replayed, rows_r = _wait_new_session(app.data, "upload", known)
        # the upload cleared: its copy goes
        page.get_by_text("Replay in real time with the live overlay").click()
        page.locator("[data-testid=stFileChipDeleteBtn]").first.locator("xpath=descendant-or-self::button").first.click()
        deadline = time.time() + 30
        while time.time() < deadline and any((app.data / "uploads").iterdir()):
            time.sleep(0.3)
        left = list((app.data / "uploads").iterdir())
    finally:
        browser.close()
    assert _sets(rows_a) == [("push_up", 4)], _sets(rows_a)
    assert _sets(rows_r) == _sets(rows_a), (_sets(rows_r), st["last"], app.log_tail())
    last = st["last"]
    assert last["frames_dropped"] == 0 and last["frames_processed"] == last["frames_in"] >= 470, last
    assert replayed["title"] == "my push-ups.mp4" and analysed["title"] == "my push-ups.mp4", (replayed, analysed)
    assert st["error"] is None and st["state"] == "ended", st
    assert len(copies) == 1 and all(m & 0o077 == 0 for m in modes), [oct(m) for m in modes]  # private
    assert left == [], left


def test_the_report_in_the_page_has_the_chart_the_rep_table_and_a_playable_issue_clip(app, pw, tmp_path):
    """Upload → Analyse a squat with too much forward lean: the set's report in the page shows the joint-angle
    chart, the per-rep table, the issue with its clip (rendered in the background, playable in place), the
    annotated video and the knowledge card; the figures stay behind Details."""
    browser, page = _open(pw, app.url, viewport=(1280, 1000))
    try:
        choose_exercise(page, "squat")
        _upload(page, FWD, tmp_path, "two people squatting.webm")
        page.get_by_role("button", name="Analyse (as fast as possible)").click(timeout=60000)
        exp = page.locator("[data-testid=stExpander]").filter(has_text="Set 1: squat").first
        exp.wait_for(timeout=300000)
        issue = exp.locator("[data-testid=spotter-issue]").first
        issue.wait_for(timeout=60000)
        text = issue.inner_text()
        # the clip and the annotated video are rendered in the background: the page shows them when they are there
        videos = exp.locator("video")
        deadline = time.time() + 240
        while time.time() < deadline and videos.count() < 2:
            page.wait_for_timeout(1000)
        n_videos = videos.count()
        clip = videos.first
        clip.scroll_into_view_if_needed()
        played = clip.evaluate("""v => new Promise(res => {
            v.muted = true;
            const t = setTimeout(() => res({ok: false, t: v.currentTime, err: v.error && v.error.code}), 20000);
            v.addEventListener('timeupdate', () => { if (v.currentTime > 0.3) { clearTimeout(t);
                res({ok: true, t: v.currentTime, w: v.videoWidth, h: v.videoHeight}); } });
            v.play().catch(e => { clearTimeout(t); res({ok: false, err: String(e)}); });
        })""")
        img = exp.locator("[data-testid=stImage] img").first
        chart = img.evaluate("i => [i.complete, i.naturalWidth, i.naturalHeight]")
        grid = exp.locator("[data-testid=stTable]").first.inner_text()
        card = exp.locator("[data-testid=stExpander]").filter(has_text="what good looks like").count()
        shown = exp.inner_text()
    finally:
        browser.close()
    assert text.startswith("Too much forward lean (rep "), text
    assert n_videos >= 2, n_videos  # the issue's clip and the annotated set
    assert played["ok"] and played["w"] > 0, played
    assert chart[0] and chart[1] > 500 and chart[2] > 200, chart
    assert "Rep" in grid and "Range of motion" in grid, grid
    assert card == 1
    for figure in ("threshold", "±", "confidence", "forward_lean"):  # no figures or codes on the face of it
        assert figure not in shown.replace("threshold 55°", ""), (figure, shown)


def _rect_in_page(page, fr, sel: str) -> list[float]:
    """A component element's box in the top page's coordinates."""
    box = fr.evaluate(f"(() => {{ const r = document.querySelector({sel!r}).getBoundingClientRect();"
                      " return [r.left, r.top, r.width, r.height]; })()")
    frame_box = fr.frame_element().bounding_box()
    return [box[0] + frame_box["x"], box[1] + frame_box["y"], box[2], box[3]]


def test_the_focus_layout_fits_the_window_and_stop_leaves_no_overlay(app, pw, tmp_path):
    """?focus=1 at 1280x800 (landscape) and 390x844 (a phone, portrait), the webcam on: the picture with its
    overlay (the count, the range bar with its TARGET, the banner) and the controls are inside the window (before:
    a 1120x840 picture, its banner, TARGET and controls below the window). After STOP nothing stays painted."""
    cam, file_s = camera_file(SQ05, tmp_path / "cam.mjpeg", lead_s=1.0, tail_s=1.0)
    browser, page = _open(pw, app.url, viewport=(1280, 800), camera=cam)
    out = {}
    try:
        choose_exercise(page, "squat")  # a range bar to draw from the first result on
        page.get_by_text("Focus layout").click()
        page.wait_for_function("location.search.includes('focus=1')", timeout=60000)
        fr = component_frame(page)
        fr.get_by_role("button", name="START").click()
        wait_results(fr, 5, timeout=180)
        for vw, vh in ((1280, 800), (390, 844)):
            page.set_viewport_size({"width": vw, "height": vh})
            page.wait_for_timeout(2500)  # the component refits within a second
            lay = fr.evaluate("window.spotterDisplay().layout")
            out[(vw, vh)] = {"stage": _rect_in_page(page, fr, "#stage"), "bar": _rect_in_page(page, fr, "#bar"),
                             "canvas": fr.evaluate("[document.getElementById('overlay').width, "
                                                   "document.getElementById('overlay').height]"),
                             "layout": lay, "scroll": page.evaluate("document.scrollingElement.scrollTop")}
        page.set_viewport_size({"width": 1280, "height": 800})
        drawn_before = fr.evaluate("window.spotter.drawn")
        fr.get_by_role("button", name="STOP").click()
        fr.wait_for_function("window.spotter.state === 'ended'", timeout=30000)
        alpha = []
        for _ in range(6):  # for three seconds after STOP: not one painted pixel
            page.wait_for_timeout(500)
            alpha.append(fr.evaluate("""(() => { const c = document.getElementById('overlay');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = 0;
                for (let i = 3; i < d.length; i += 4) s += d[i]; return s; })()"""))
        placeholder = fr.evaluate("getComputedStyle(document.getElementById('placeholder')).display")
    finally:
        browser.close()
    for (vw, vh), o in out.items():
        sx, sy, sw, sh = o["stage"]
        bx, by, bw, bh = o["bar"]
        assert sy >= 0 and sy + sh <= vh + 1 and sx >= 0 and sx + sw <= vw + 1, ((vw, vh), o)  # the picture
        assert by + bh <= vh + 1, ((vw, vh), o)  # START, STOP, End set, Focus, the voice
        lay = o["layout"]
        assert lay["bar"] is not None and lay["bar"]["y"] + lay["bar"]["h"] <= lay["h"], ((vw, vh), lay)  # TARGET
        assert lay["count"]["box"]["y"] + lay["count"]["box"]["h"] <= lay["h"], lay
        if "banner" in lay:
            assert lay["banner"]["y"] + lay["banner"]["h"] <= lay["h"] + 1 and lay["banner"]["fits"], lay
        assert sw >= 0.6 * min(vw, (vh - 200) * 4 / 3) - 40, ((vw, vh), o)  # and it is not shrunk for nothing
    assert drawn_before > 0
    assert alpha == [0] * 6, alpha
    assert placeholder != "none"


def test_frozen_frames_never_make_a_rep(app, pw, tmp_path):
    """The webcam's picture freezes in the middle of a squat's rise and stays frozen for 12 s (the camera file holds
    the clip's picture at 6.5 s: one squat done, the second one just rising). The frozen picture carries no
    motion: the count stays 1 all along and the stored set has 1 rep (issue 23: a replay invented a rep from a
    frozen picture). The server says how many frames it found unchanged."""
    clip = tmp_path / "sq09_6s5.mp4"
    _cut(SQ09, clip, 6.5)
    cam, file_s = camera_file(clip, tmp_path / "cam.mjpeg", lead_s=3.0, hold_s=12.0, tail_s=0.0)
    browser, page = _open(pw, app.url, camera=cam)
    known = {s["id"] for s in _sessions(app.data, "webcam")}
    try:
        choose_exercise(page, "squat")
        fr = component_frame(page)
        fr.get_by_role("button", name="START").click()
        wait_results(fr, 1, timeout=180)
        wait_camera(page, fr, file_s - 1.0)  # STOP before Chromium plays the file again
        st = fr.evaluate("window.spotterStats()")
        changes = fr.evaluate("window.spotter.countChanges.map(c => [c.t, c.set_index, c.count])")
        fr.get_by_role("button", name="STOP").click()
        sess, rows = _wait_new_session(app.data, "webcam", known, timeout=120)
    finally:
        browser.close()
    assert max(c[2] for c in changes) == 1, changes
    assert _sets(rows) == [("squat", 1)], (_sets(rows), changes, app.log_tail())
    # the frozen stretch (12 s) reached the server as unchanged pictures: more than half of what it analysed in it
    assert st["last"]["frames_still"] >= 0.5 * 9.0 * min(30.0, st["last"]["processed_fps"] or 30.0), st["last"]


def _cut(src: Path, dst: Path, until_s: float) -> None:
    """The first ``until_s`` seconds of ``src`` as a file (in the test's temporary folder, never in the repo)."""
    from conftest import write_video

    from pipeline.intake.video import VideoReader

    frames, times = [], []
    for fr in VideoReader(src):
        if fr.t > until_s:
            break
        frames.append(fr.image)
        times.append(fr.t)
    write_video(dst, frames, times)


def test_a_truncated_upload_gets_one_plain_sentence_and_the_page_recovers(app, pw, tmp_path):
    """The first 50 KB of a real mp4 (its index is at the end): one sentence that names the file as the user
    named it, no error number, no progress bar left, no button that would fail; a good file then works."""
    bad = tmp_path / "holiday squats.mp4"
    bad.write_bytes(PU01.read_bytes()[:50_000])
    browser, page = _open(pw, app.url)
    try:
        page.get_by_text("Upload", exact=True).first.click()
        page.locator("input[type=file]").set_input_files(str(bad))
        err = page.locator("[data-testid=stAlert]").first
        err.wait_for(timeout=60000)
        msg = err.inner_text()
        n_errors = page.locator("[data-testid=stAlert]").count()
        buttons = page.get_by_role("button", name="Analyse (as fast as possible)").count()
        toggles = page.get_by_text("Replay in real time with the live overlay").count()
        progress = page.locator("[data-testid=stProgress]").count()
        _upload(page, SQ05, tmp_path, "good squats.mp4")  # the page recovers: another file works
        page.get_by_role("button", name="Analyse (as fast as possible)").click(timeout=60000)
        page.get_by_text("Set 1: squat — 2 reps").first.wait_for(timeout=300000)
        errors_after = page.locator("[data-testid=stAlert]").count()
    finally:
        browser.close()
    assert msg.startswith("holiday squats.mp4 cannot be read as a video"), msg
    sentence = msg.strip().replace(bad.name, "FILE")
    assert sentence.count(".") == 1 and sentence.endswith(".") and "\n" not in sentence, msg  # one sentence
    for word in ("Errno", "upload.mp4", "Invalid data", "ffmpeg", "Traceback"):
        assert word not in msg, (word, msg)
    assert n_errors == 1 and buttons == 0 and toggles == 0 and progress == 0, (n_errors, buttons, toggles, progress)
    assert errors_after == 0

"""The voice and the distance display in a real browser: the app as ``spotter app`` runs it, headless Chromium with
a dev clip as the webcam, and the page's own record of what it played (``window.spotterVoice``, voice.js) and drew
(``window.spotterDisplay()``, main.js/draw.js).

What is asserted is what the page received and played, never how fast:

* one spoken count per counted rep, in order, each for the very frame whose result showed that count on the page,
  then "Set done, N reps." after the last count, with N the stored set's count;
* every played utterance is the server's audio: its WAV decoded to the length the server reported (``audio_ms``)
  and non-silent samples reached the page's audio output (an AudioWorklet meter on the output, meter.js);
* never two at once (each starts after the previous one ended);
* after "Mute voice" nothing more is played, and the server stops making audio (utterances arrive "muted");
* the big count (at least a sixth of the picture's height) and the range bar were drawn from live results, and
  the Focus button puts the picture on the whole screen; no Deploy button or developer menu on the page.

Needs Debian's ``chromium`` and the ``playwright`` Python package (``.ci/install_browser.sh``); skips otherwise.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from realtime.tools.bench_browser import (App, camera_file, chromium_path, component_frame, open_page, stored_sets,
                                    wait_results)

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "data" / "clips"
CLIP, EXPECTED = "squat/sq05_barbell_highbar_front.mp4", 2

pytestmark = [
    pytest.mark.skipif(chromium_path() is None, reason="chromium not installed (run .ci/install_browser.sh)"),
    pytest.mark.skipif(not (CLIPS / CLIP).exists(), reason="real clips not found in ../shared"),
]

VOICE = "({played: window.spotterVoice.played, received: window.spotterVoice.received, " \
        "skipped: window.spotterVoice.skipped, settings: window.spotterVoice.settings})"


def _auto() -> bool:
    from pipeline.movement.routing import live_router

    return live_router() is not None


@pytest.fixture
def sync_api():
    return pytest.importorskip("playwright.sync_api", reason="playwright not installed (.ci/install_browser.sh)")


@pytest.fixture
def app(tmp_path):
    a = App(tmp_path / "data", tmp_path / "app.log")
    a.wait_ready(180)
    yield a
    a.stop()


def _wait(page, frame, what: str, timeout: float):
    """Poll ``what`` (a JS expression) in the component until truthy; returns its value (or the last one)."""
    deadline = time.time() + timeout
    v = None
    while time.time() < deadline:
        v = frame.evaluate(what)
        if v:
            return v
        page.wait_for_timeout(500)
    return v


def _check_played(played: list, received: list) -> None:
    """Each played utterance is the server's audio, decoded whole, heard, and never over another one."""
    by_seq = {r["seq"]: r for r in received}
    for e in played:
        r = by_seq[e["seq"]]
        assert r["status"] == "ready" and e["bytes"] > 1000, (e, r)
        # the WAV the server made, decoded in the page to the length it announced (resampling: a few ms)
        assert abs(e["duration_ms"] - e["audio_ms"]) <= max(5.0, 0.02 * e["audio_ms"]), e
        lvl = e["level"]
        assert lvl is not None and lvl["samples"] > 0, e
        if not e["cut"]:  # sound reached the output: non-silent for at least 30 % of the utterance's length
            assert lvl["peak"] > 0.05 and lvl["loud"] >= 0.3 * e["duration_ms"] / 1000 * e["rate"], e
    for a, b in zip(played, played[1:]):
        assert a["end"] is not None and b["start"] >= a["end"] - 1.0, (a, b)  # one at a time, in order


def test_the_page_says_each_rep_and_the_set_and_mute_silences_it(app, sync_api, tmp_path):
    # the camera: 3 s of an empty view, the clip (2 reps), 14 s of an empty view (the set ends after 8 s of
    # rest: "Set done"), then Chromium loops the file: the same 2 reps again, which the test hears muted
    cam, file_s = camera_file(CLIPS / CLIP, tmp_path / "cam.mjpeg", lead_s=3.0, tail_s=14.0)
    with sync_api.sync_playwright() as pw:
        browser, page = open_page(pw, app.url, cam, None if _auto() else "squat")
        try:
            fr = component_frame(page)
            fr.get_by_role("button", name="START").click()
            wait_results(fr, 1, timeout=180)
            said = _wait(page, fr, "window.spotterVoice.played.some(e => e.kind === 'set') && "
                                   "window.spotterVoice.played.every(e => e.end !== null && e.level !== null)",
                         timeout=file_s + 90)
            first = fr.evaluate(VOICE)
            disp = fr.evaluate("window.spotterDisplay()")
            # no Deploy button and no developer menu (.streamlit/config.toml, app_server.FLAGS)
            chrome = page.locator("[data-testid=stAppDeployButton], [data-testid=stMainMenu]").count()
            assert said, (first, app.log_tail())

            # the focus mode: the component's container on the whole screen
            fr.get_by_role("button", name="Focus").click()
            focus = _wait(page, fr, "window.spotterDisplay().focus", 10)
            css = fr.evaluate("window.spotterDisplay().css")
            inner = page.evaluate("[window.innerWidth, window.innerHeight]")
            fr.get_by_role("button", name="Exit focus").click()

            # mute: the next loop of the clip is decided and listed but neither made into audio nor played
            muted_at = fr.evaluate("performance.now()")
            fr.get_by_role("button", name="Mute voice").click()
            n_before = len(first["received"])
            _wait(page, fr, f"window.spotterVoice.received.slice({n_before}).filter(e => e.kind === 'count')"
                            f".length >= {EXPECTED}", timeout=file_s + 60)
            fr.get_by_role("button", name="STOP").click()
            _wait(page, fr, "window.spotter.state === 'ended'", 30)
            after = fr.evaluate(VOICE)
            sess, rows = stored_sets(app.data, source="webcam", timeout=90)
        finally:
            browser.close()
    assert sess is not None and rows, (sess, app.log_tail())
    sets = [(r["exercise"], r["reps"]) for r in rows]
    assert sets[0] == ("squat", EXPECTED), sets
    n = sets[0][1]

    played, received = first["played"], first["received"]
    counts = [e for e in played if e["kind"] == "count"]
    assert [e["text"] for e in counts] == [str(k) for k in range(1, n + 1)], played  # one per counted rep
    ends = [e for e in played if e["kind"] == "set"]
    assert [e["text"] for e in ends] == [f"Set done, {n} reps."], played
    assert played.index(ends[0]) > played.index(counts[-1]), played  # after the last count
    # each count was said for the frame that completed the rep: the page showed that count from that frame on
    changes = {(c["set_index"], c["count"]): c["t"] for c in disp["count_changes"]}
    for e in counts:
        assert changes.get((1, int(e["text"]))) == e["t"], (e, disp["count_changes"])
    cues = [e["t"] for e in played if e["kind"] == "cue"]
    assert all(b - a >= 4.0 for a, b in zip(cues, cues[1:])), played
    _check_played(played, received)
    assert not first["skipped"], first["skipped"]

    # the display: the big count at least a sixth of the picture's height, the range bar filled by the reps
    lay = disp["layout"]
    assert lay["count"]["digits_h"] >= lay["h"] / 6, lay
    assert disp["bars_drawn"] > 0 and disp["max_progress"] is not None and disp["max_progress"] > 0, disp
    assert focus, "the Focus button did not put the live view on the whole screen"
    assert chrome == 0, "Streamlit's Deploy button or developer menu is on the page"
    assert css[1] >= 0.8 * inner[1], (css, inner)

    # muted: nothing played after the click; the server made no more audio for the second pass
    assert after["settings"]["muted"] is True
    late = [e for e in after["played"] if e["start"] >= muted_at]
    assert not late, late
    new = after["received"][n_before:]
    new_counts = [e for e in new if e["kind"] == "count"]
    assert len(new_counts) >= EXPECTED, new
    assert all(e["status"] == "muted" or any(s["seq"] == e["seq"] and s["why"] == "muted" for s in after["skipped"])
               for e in new), (new, after["skipped"])
    assert any(e["status"] == "muted" and e["bytes"] == 0 for e in new_counts), new


def test_a_replayed_upload_speaks_like_the_webcam(app, sync_api, tmp_path):
    """Upload page, "Replay in real time": the same voice — one count per counted rep, then the end of the set,
    said when the file ends (the page closes the set before it disconnects)."""
    import shutil

    clip = tmp_path / "upload me.mp4"
    shutil.copy(CLIPS / CLIP, clip)  # a temporary copy for the upload widget, deleted with tmp
    with sync_api.sync_playwright() as pw:
        browser, page = open_page(pw, app.url, None, None if _auto() else "squat")
        try:
            page.get_by_text("Upload", exact=True).first.click()
            page.locator("input[type=file]").set_input_files(str(clip))
            page.get_by_text("Replay in real time with the live overlay").click(timeout=60000)
            fr = component_frame(page)
            fr.get_by_role("button", name="START").click()
            wait_results(fr, 1, timeout=180)
            _wait(page, fr, "['ended', 'error'].includes(window.spotter.state)", 240)
            done = _wait(page, fr, "window.spotterVoice.played.some(e => e.kind === 'set') && "
                                   "window.spotterVoice.played.every(e => e.end !== null && e.level !== null)", 30)
            v = fr.evaluate(VOICE)
            sess, rows = stored_sets(app.data, source="upload", timeout=90)
        finally:
            browser.close()
    assert done, (v, app.log_tail())
    sets = [(r["exercise"], r["reps"]) for r in rows]
    assert sets == [("squat", EXPECTED)], (sets, app.log_tail())
    said = [(e["kind"], e["text"]) for e in v["played"] if e["kind"] in ("count", "set")]
    assert said == [("count", str(k)) for k in range(1, EXPECTED + 1)] + [("set", f"Set done, {EXPECTED} reps.")], v
    _check_played(v["played"], v["received"])

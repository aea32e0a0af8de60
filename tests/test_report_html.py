"""report.html: self-contained, escaped, renders in headless Chromium; the angle chart."""
from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from pipeline.coach import attach_summary
from pipeline.coach.samples import sample_report, sample_series
from pipeline.report.charts import angle_chart_altair, angle_chart_frames, write_angle_chart
from pipeline.report.html import render_report_html, write_report_html
from pipeline.schema import Profile

XSS = "<script>document.title='pwned'</script>"
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        p = shutil.which(name)
        if p:
            return p
    return None


@pytest.fixture
def out(tmp_path):
    r = sample_report("squat", reps=8, partial=1, issues={"knee_valgus": [2, 4, 5], "shallow_squat": [7]},
                      variations=["wide_stance"], valid_ratio=0.6,
                      profile=Profile(goal="strength " + XSS, experience="beginner", equipment=["barbell"]))
    attach_summary(r, llm=False)
    r.summary.what_you_did += " " + XSS  # model text is untrusted: it must render as text
    t, s = sample_series(r)
    write_angle_chart(t, s, r.reps, r.issues, tmp_path / "angles.png")
    r.artifacts.update(angle_chart="angles.png", annotated_video="annotated.mp4")
    path = write_report_html(r, tmp_path)
    return r, path


def test_html_is_self_contained_and_escaped(out):
    r, path = out
    html = path.read_text()
    assert "<script" not in html.lower()
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in html
    assert 'http-equiv="Content-Security-Policy"' in html and "default-src &#x27;none&#x27;" in html
    # no external resources: every src is an inline data URI, links are relative files
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html)
    assert 'href="annotated.mp4"' in html
    for text in ("Knees caving in", "Shallow squat", "Wide-stance squat", "Push your knees out", "not a medical device",
                 "Knowledge cards", "What good looks like", "verified", "Confidence notes"):
        assert text in html, text


def test_html_without_summary_or_chart(tmp_path):
    r = sample_report("push_up", reps=3)
    html = render_report_html(r, tmp_path)
    assert "No summary was written" in html and "<img" not in html


def test_html_renders_in_headless_chromium(out, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    r, path = out
    shot = tmp_path / "shot.png"
    url = path.resolve().as_uri()
    subprocess.run([exe, *CHROME_FLAGS, "--window-size=1000,1800", f"--screenshot={shot}", url],
                   check=True, timeout=120, capture_output=True)
    import cv2

    img = cv2.imread(str(shot))
    assert img is not None and img.shape[0] == 1800 and img.shape[1] == 1000
    assert img.std() > 20, "page rendered blank"
    dom = subprocess.run([exe, *CHROME_FLAGS, "--dump-dom", url], check=True, timeout=120, capture_output=True,
                         text=True).stdout
    assert "<title>Squat report</title>" in dom          # the injected script did not run
    assert "&lt;script&gt;document.title" in dom         # it is shown as text
    assert "<script" not in dom.lower()


def test_angle_chart_png_and_interactive(tmp_path):
    r = sample_report("push_up", reps=4, partial=1, issues={"hip_sag": [2]})
    t, s = sample_series(r)
    p = write_angle_chart(t, s, r.reps, r.issues, tmp_path / "c.png")
    import cv2

    img = cv2.imread(str(p))
    assert img is not None and img.shape[1] > 800
    # issue band drawn in the issue colour (red) somewhere in the image
    red = (img[:, :, 2] > 180) & (img[:, :, 1] < 120) & (img[:, :, 0] < 120)
    assert red.sum() > 200
    f = angle_chart_frames(t, s, r.reps, r.issues)
    assert set(f["angles"]["joint"]) == {"elbow", "hip line", "shoulder"}
    assert list(f["reps"]["rep"]) == ["1", "2", "3", "4", "partial"]
    assert list(f["issues"]["code"]) == ["hip_sag"]
    spec = angle_chart_altair(t, s, r.reps, r.issues).to_dict()
    assert len(spec["layer"]) == 3


def test_chart_downsamples_long_sets(tmp_path):
    t = np.arange(0, 600, 1 / 60)
    p = write_angle_chart(t, {"knee_deg": np.sin(t) * 40 + 120}, None, [], tmp_path / "long.png")
    assert p.stat().st_size > 1000
    assert len(angle_chart_frames(t, {"knee_deg": np.sin(t)}, None, [])["angles"]) <= 1500

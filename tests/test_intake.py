"""Video intake: rotation, real timestamps (VFR), downscaling, and every bad-input kind."""
from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import clip_path, set_mp4_rotation, write_video

from pipeline.errors import InputError
from pipeline.intake.config import IntakeLimits
from pipeline.intake.video import VideoReader, pose_size


def marker_frame(h=120, w=200):
    img = np.zeros((h, w, 3), np.uint8)
    img[:30, :30] = (255, 0, 0)  # red square top-left
    return img


def red_centre(img):
    ys, xs = np.nonzero(img[:, :, 0] > 200)
    return ys.mean() / img.shape[0], xs.mean() / img.shape[1]


@pytest.mark.parametrize("deg,expect", [(0, (0.1, 0.1)), (90, (0.1, 0.9)), (180, (0.9, 0.9)), (270, (0.9, 0.1))])
def test_rotation_metadata_is_honoured(tmp_path, deg, expect):
    p = write_video(tmp_path / f"rot{deg}.mp4", [marker_frame()] * 5)
    set_mp4_rotation(p, deg)
    r = VideoReader(p)
    assert r.info.rotation == deg
    fr = next(iter(r))
    assert fr.image.shape[:2] == ((200, 120) if deg in (90, 270) else (120, 200))
    assert (r.info.width, r.info.height) == ((120, 200) if deg in (90, 270) else (200, 120))
    cy, cx = red_centre(fr.image)
    assert abs(cy - expect[0]) < 0.1 and abs(cx - expect[1]) < 0.1


def test_vfr_timestamps_are_real(tmp_path):
    times = np.cumsum([0] + [1 / 30] * 10 + [1 / 10] * 5 + [1 / 60] * 10)
    p = write_video(tmp_path / "vfr.mp4", [marker_frame()] * len(times), times=times)
    r = VideoReader(p)
    got = np.array([f.t for f in r])
    assert len(got) == len(times)
    np.testing.assert_allclose(got, times - times[0], atol=2e-3)
    assert r.info.vfr


def test_downscale_long_side_and_never_upscale(tmp_path):
    assert pose_size(1920, 1080, 640) == (640, 360)
    assert pose_size(1080, 1920, 640) == (360, 640)
    assert pose_size(320, 240, 640) == (320, 240)
    p = write_video(tmp_path / "big.mp4", [np.zeros((720, 1280, 3), np.uint8)] * 3)
    fr = next(iter(VideoReader(p, long_side=480)))
    assert fr.image.shape == (270, 480, 3)


def test_portrait_phone_clip_is_upright():
    """sq03 is a 1080x1920 phone video: decoded upright, 360x640 for pose."""
    r = VideoReader(clip_path("sq03"))
    assert (r.info.width, r.info.height) == (1080, 1920)
    fr = next(iter(r))
    assert fr.image.shape == (640, 360, 3)
    assert r.info.duration_s == pytest.approx(8.5, abs=0.3)


def test_vfr_real_clip_timestamps_monotonic():
    r = VideoReader(clip_path("sq01"))  # 29.37 fps average, irregular
    ts = np.array([f.t for f in r])
    assert ts[0] == 0 and np.all(np.diff(ts) > 0)
    assert ts[-1] == pytest.approx(6.2, abs=0.2)


# --- bad input: library level ------------------------------------------------

def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("aac", rate=16000)
        s.layout = "mono"
        samples = np.zeros((1, 1024), np.float32)
        for i in range(20):
            fr = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            fr.sample_rate = 16000
            fr.pts = i * 1024
            fr.time_base = Fraction(1, 16000)
            for p in s.encode(fr):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def _bad_files(tmp: Path) -> dict[str, tuple[Path, dict]]:
    good = write_video(tmp / "good.mp4", [marker_frame()] * 30)
    empty = tmp / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    trunc = tmp / "truncated.mp4"
    trunc.write_bytes(good.read_bytes()[: good.stat().st_size // 2])  # moov atom at the end is lost
    audio = _audio_only(tmp / "audio.mp4")
    headonly = tmp / "headonly.mp4"
    headonly.write_bytes(good.read_bytes()[:64])
    long = write_video(tmp / "long.mp4", [marker_frame()] * 20, fps=1)  # 20 s at 1 fps
    return {
        "empty": (empty, {}),
        "not_a_video": (text, {}),
        "truncated": (trunc, {}),
        "header_only": (headonly, {}),
        "audio_only": (audio, {}),
        "too_big": (good, {"SPOTTER_MAX_MB": "0.001"}),
        "too_long": (long, {"SPOTTER_MAX_MINUTES": "0.1"}),
        "missing": (tmp / "nope.mp4", {}),
        "folder": (tmp, {}),
    }


def test_bad_inputs_raise_input_error(tmp_path):
    for kind, (p, env) in _bad_files(tmp_path).items():
        limits = IntakeLimits(max_bytes=int(float(env.get("SPOTTER_MAX_MB", 500)) * 2**20),
                              max_duration_s=float(env.get("SPOTTER_MAX_MINUTES", 15)) * 60)
        with pytest.raises(InputError) as e:
            r = VideoReader(p, limits)
            list(r)
        msg = str(e.value)
        assert "\n" not in msg and len(msg) < 300, kind


@pytest.mark.parametrize("kind", ["empty", "not_a_video", "truncated", "header_only", "audio_only", "too_big",
                                  "too_long", "missing"])
def test_cli_bad_input_one_line_exit_2(tmp_path, kind):
    p, env = _bad_files(tmp_path)[kind]
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "pipeline.tools.cli", "analyze", str(p), "--out", str(out), "--no-progress"],
                       capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert r.returncode == 2, (kind, r.stderr)
    err = [ln for ln in r.stderr.splitlines() if ln.startswith("spotter:")]
    assert len(err) == 1 and "error" in err[0], r.stderr
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    assert not out.exists() or not any(out.iterdir()), "no partial files on bad input"

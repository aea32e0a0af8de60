"""A generated corpus of bad or unusual input: each ends in a clear one-line message or a report with QC
warnings; never a traceback, never partial or temporary files left in the output folder."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import clip_path, read_clip_frames, write_video


def cli(*args, env=None, timeout=600):
    r = subprocess.run([sys.executable, "-m", "pipeline.tools.cli", *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, env={**os.environ, **(env or {})})
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    return r


def one_line_error(r) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("spotter:")]
    assert len(lines) == 1, r.stderr
    return lines[0]


def no_leftovers(out: Path) -> None:
    if out.exists():
        assert not [p for p in out.rglob("*") if p.name.startswith(".tmp")], list(out.iterdir())


@pytest.fixture(scope="module")
def person_frames():
    return read_clip_frames(clip_path("sq09"), 0, 14.0)


def test_one_frame_video_with_a_person(tmp_path, person_frames):
    p = write_video(tmp_path / "one.mp4", [person_frames[10].image])
    out = tmp_path / "o"
    r = cli("analyze", p, "--out", out, "--no-progress", "--exercise", "squat", "--no-llm")
    assert r.returncode == 0, r.stderr
    rep = json.loads((out / "report.json").read_text())
    assert rep["pose"]["frames"] == 1 and rep["reps"]["count"] == 0
    assert "too_short" in [w["code"] for w in rep["qc"]["warnings"]]
    no_leftovers(out)


def test_8k_frames_are_downscaled(tmp_path, person_frames):
    big = cv2.resize(person_frames[30].image, (7680, 4320), interpolation=cv2.INTER_LINEAR)
    p = write_video(tmp_path / "8k.mp4", [big] * 3)
    out = tmp_path / "o"
    r = cli("analyze", p, "--out", out, "--no-progress", "--exercise", "squat", "--no-llm")
    assert r.returncode == 0, r.stderr
    rep = json.loads((out / "report.json").read_text())
    assert rep["video"]["width"] == 7680 and rep["video"]["pose_width"] == 640
    assert rep["pose"]["detected_ratio"] == 1.0


def test_240_fps_and_vfr(tmp_path, person_frames):
    frames = person_frames[:90]
    # 240 fps: each source frame shown 8 times
    imgs = [f.image for f in frames for _ in range(8)]
    p = write_video(tmp_path / "240.mp4", imgs, times=[i / 240 for i in range(len(imgs))], fps=240)
    out = tmp_path / "o"
    r = cli("analyze", p, "--out", out, "--no-progress", "--exercise", "squat", "--no-llm", "--no-video")
    assert r.returncode == 0, r.stderr
    rep = json.loads((out / "report.json").read_text())
    assert rep["video"]["fps"] == pytest.approx(240, rel=0.02)


def test_all_black_video_says_no_person(tmp_path):
    p = write_video(tmp_path / "black.mp4", [np.zeros((360, 640, 3), np.uint8)] * 30)
    out = tmp_path / "o"
    r = cli("analyze", p, "--out", out, "--no-progress")
    assert r.returncode == 2 and "no person" in one_line_error(r)
    assert json.loads((out / "report.json").read_text())["qc"]["ok"] is False
    no_leftovers(out)


def test_person_leaves_mid_set(tmp_path, person_frames):
    bg = np.full_like(person_frames[0].image, 128)
    imgs = [f.image if f.t < 8.0 else bg for f in person_frames]
    p = write_video(tmp_path / "leaves.mp4", imgs, times=[f.t for f in person_frames])
    out = tmp_path / "o"
    r = cli("analyze", p, "--out", out, "--no-progress", "--exercise", "squat", "--no-llm")
    assert r.returncode == 0, r.stderr
    rep = json.loads((out / "report.json").read_text())
    assert "person_missing" in [w["code"] for w in rep["qc"]["warnings"]]
    assert rep["reps"]["count"] == 2  # the two reps done before leaving


def test_thirty_minute_low_res_file_is_over_the_limit(tmp_path):
    p = write_video(tmp_path / "long low res.mp4", [np.zeros((96, 128, 3), np.uint8)] * 1800, fps=1)
    out = tmp_path / "o"
    r = cli("analyze", p, "--out", out, "--no-progress")
    assert r.returncode == 2 and "limit" in one_line_error(r) and "30.0 min" in one_line_error(r)
    assert not out.exists()


def test_unicode_and_spaces_in_paths(tmp_path, person_frames):
    d = tmp_path / "my vidéos ✓"
    d.mkdir()
    p = write_video(d / "séance 1 (squats).mp4", [f.image for f in person_frames[:60]],
                    times=[f.t for f in person_frames[:60]])
    out = tmp_path / "résultats été"
    r = cli("analyze", p, "--out", out, "--no-progress", "--exercise", "squat", "--no-llm")
    assert r.returncode == 0, r.stderr
    assert (out / "report.json").exists() and (out / "annotated.mp4").exists()


def test_read_only_output_folder(tmp_path, person_frames):
    p = write_video(tmp_path / "a.mp4", [f.image for f in person_frames[:20]])
    # a read-only file system (root ignores chmod, so use one the kernel refuses to write)
    r = cli("analyze", p, "--out", "/proc/spotter-out", "--no-progress")
    assert r.returncode == 2 and "writ" in one_line_error(r).lower() or "cannot create" in one_line_error(r)
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        r = cli("analyze", p, "--out", ro / "out", "--no-progress")
        assert r.returncode == 2 and "not writable" in one_line_error(r)


def test_full_disk_is_a_clear_error_without_partial_files(tmp_path, person_frames, monkeypatch, capsys):
    """Simulated ENOSPC while the annotated video is written."""
    from pipeline.report import writer
    from pipeline.tools import cli as spotter_cli

    p = write_video(tmp_path / "a.mp4", [f.image for f in person_frames[:90]], times=[f.t for f in person_frames[:90]])
    real_write = writer.Mp4Writer.write
    calls = {"n": 0}

    def failing_write(self, rgb, t):
        calls["n"] += 1
        if calls["n"] > 20:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, rgb, t)

    monkeypatch.setattr(writer.Mp4Writer, "write", failing_write)
    out = tmp_path / "o"
    rc = spotter_cli.main(["analyze", str(p), "--out", str(out), "--no-progress", "--exercise", "squat", "--no-llm"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "No space left on device" in err and "Traceback" not in err
    assert [ln for ln in err.splitlines() if ln.startswith("spotter:")][0].startswith("spotter: error:")
    no_leftovers(out)
    assert not (out / "annotated.mp4").exists()

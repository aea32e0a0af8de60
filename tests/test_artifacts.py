"""Set report artifacts from a real clip: annotated video, issue clips + thumbnails, chart, report.html/json."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import av
import cv2
import numpy as np
from conftest import clip_path
from test_movement import modified, shift_img, torso_px

from pipeline.movement.run import MovementRun
from pipeline.pose.track import clean_track, extract_pose
from pipeline.report.artifacts import write_artifacts
from pipeline.schema import Report


def probe_codec(path) -> tuple[str, str, float]:
    """(codec, pix_fmt, duration) with ffprobe when installed, else PyAV (the same FFmpeg libraries)."""
    if shutil.which("ffprobe"):
        out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                              "stream=codec_name,pix_fmt:format=duration", "-of", "json", str(path)],
                             capture_output=True, text=True, check=True).stdout
        d = json.loads(out)
        return d["streams"][0]["codec_name"], d["streams"][0]["pix_fmt"], float(d["format"]["duration"])
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return s.codec_context.name, s.codec_context.pix_fmt, float(c.duration / 1e6)


def faststart(path) -> bool:
    data = open(path, "rb").read(1 << 20)
    return 0 <= data.find(b"moov") < data.find(b"mdat")


def test_analyze_writes_every_artifact(tmp_path):
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "pipeline.tools.cli", "analyze", str(clip_path("sq09")), "--out", str(out),
                        "--exercise", "squat", "--cache", "--no-progress", "--no-llm", "--goal", "strength",
                        "--experience", "beginner"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rep = Report.model_validate_json((out / "report.json").read_text())
    assert rep.reps.count == 3 and rep.exercise.label == "squat" and rep.exercise.source == "user"
    assert rep.profile.goal == "strength" and rep.profile.experience == "beginner"
    assert rep.summary is not None and rep.verification.passed
    for name in ("annotated.mp4", "angles.png", "report.html", "report.json"):
        assert (out / name).stat().st_size > 0, name
    codec, pix, dur = probe_codec(out / "annotated.mp4")
    assert codec == "h264" and pix == "yuv420p" and abs(dur - rep.video.duration_s) < 0.5
    assert faststart(out / "annotated.mp4")
    png = cv2.imread(str(out / "angles.png"))
    assert png is not None and png.shape[1] > 600
    html = (out / "report.html").read_text()
    assert "Squat" in html and "not a medical device" in html.lower()


def test_issue_clips_and_thumbnails(tmp_path):
    """A constructed hip pike on a real push-up clip gives one clip per issue (about 1 s either side) and a
    thumbnail at the bottom of the rep, with the hips highlighted."""
    path = clip_path("pu01")
    info, tr = extract_pose(path, use_cache=True)
    tp = torso_px(tr)
    # hips raised (a sag would push them below the bottom of this picture, where no ring can be seen)
    pike = modified(tr, lambda t: shift_img(t, [23, 24], 0, -0.6 * tp, np.ones(len(t.t))))
    clean, _ = clean_track(pike)
    run = MovementRun("push_up", clean)
    ev = run.evidence
    rep = Report.model_validate({"video": {"path": "pu01", "duration_s": info.duration_s, "fps": 30, "width": 1280,
                                           "height": 720}, "qc": {"ok": True}, "pose": {
        "backend": "x", "frames": len(clean), "detected_ratio": 1.0, "valid_ratio": 1.0}})
    from pipeline.movement.routing import Decision
    from pipeline.report.artifacts import fill_evidence

    fill_evidence(rep, ev, Decision("push_up", 1.0, "user"))
    assert len(rep.issues) == 4
    write_artifacts(rep, tmp_path, clean=clean, movement=run, video_src=path, llm=False)
    clips = sorted(tmp_path.glob("issue_*_hip_pike_rep*.mp4"))
    thumbs = sorted(tmp_path.glob("issue_*_hip_pike_rep*.jpg"))
    assert len(clips) == 4 and len(thumbs) == 4
    for iss, clip in zip(rep.issues, clips):
        codec, pix, dur = probe_codec(clip)
        assert codec == "h264" and pix == "yuv420p"
        # about 1 s either side of the rep, cut at the ends of the video
        want = min(iss.t_end + 1.0, info.duration_s) - max(iss.t_start - 1.0, 0.0)
        assert abs(dur - want) < 0.6, (dur, iss.t_start, iss.t_end)
        assert rep.artifacts[f"clip:{clip.stem}"] == clip.name
    img = cv2.imread(str(thumbs[0]))
    assert img is not None
    # the highlight ring on the hips is drawn in the issue colour (red in RGB = (60,60,255) in BGR)
    red = (img[:, :, 2] > 200) & (img[:, :, 1] < 90) & (img[:, :, 0] < 90)
    assert red.sum() > 50
    assert not list(tmp_path.glob(".tmp-*"))

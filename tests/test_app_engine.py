"""The engine under the app's pages (issue 23): pictures of any size from the page channel, file replays that
analyse every frame, frozen pictures, upload copies. No browser here (tests/test_app_pages.py has the browser)."""
from __future__ import annotations

import time

import av
import numpy as np

from pipeline.pose.estimator import PoseFrame
from realtime.session import LiveSession, SessionConfig
from realtime.store import Store


class _NoPose:
    """An estimator that finds no one, instantly (what is tested here is the frames' way in, not pose)."""

    name = "none"

    def process(self, rgb, t):
        return PoseFrame.empty(t, rgb.shape[1], rgb.shape[0])

    def close(self):
        pass


def _yuv_frames(w: int, h: int, n: int):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    for i in range(n):
        img = np.roll(base, i * 4, axis=1)
        yield av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")


def test_a_picture_wider_than_the_pose_size_keeps_flowing_with_the_recorder_on(tmp_path):
    """A 1280x720 picture from the page channel goes to the pose stage (scaled to RGB 640x360) and to the recorder
    (scaled to YUV 640x360) at the same time. Both used to convert the one decoded frame with the scaler cached on
    it, and the pose stage hung in it within a second (issue 23: an upload wider than 640 px replayed in real time
    counted nothing). Every frame must now reach the end of the pipeline and the recording be written."""
    store = Store(tmp_path / "data")
    s = LiveSession(SessionConfig(exercise="squat", source="upload"), store=store, estimator=_NoPose(),
                    threaded=True)
    try:
        n = 0
        for i, fr in enumerate(_yuv_frames(1280, 720, 150)):
            s.on_frame(fr, i / 30.0, tag=i, draw=False)
            n += 1
            deadline = time.time() + 10.0  # one at a time, so that every frame is converted by both threads
            while s.frames_processed + s.frames_dropped < n and time.time() < deadline:
                time.sleep(0.001)
            assert s.frames_processed + s.frames_dropped == n, (i, s.frames_processed, s.frames_dropped)
    finally:
        s.close("stream_ended", timeout=20)
    assert s.frames_processed == 150 and s.last_error is None, (s.frames_processed, s.last_error)
    video = store.path_of(store.get_session(s.session_id)["video"])
    assert video is not None and video.name == "recording.mp4", video
    rec = s.video  # (its queue may drop frames when the machine is busy: counted, by design)
    assert rec.frames_written + rec.frames_dropped == 150 and rec.frames_written > 0 and rec.error is None
    with av.open(str(video)) as c:
        st = c.streams.video[0]
        assert (st.width, st.height) == (640, 360)
        assert sum(1 for _ in c.decode(video=0)) == rec.frames_written


def _clip(name: str):
    from conftest import clip_path

    return clip_path(name)


def test_the_set_video_is_rendered_in_the_background_from_the_recording_in_progress(tmp_path):
    """A webcam set's annotated video and issue clips are rendered as soon as the recording holds the set (the
    session goes on), and the stored report names them; then the page shows them (issue 23: they existed only
    after pressing "Render" in History)."""
    from pipeline.intake.video import VideoReader
    from pipeline.pose.track import extract_pose
    from realtime.sources import ReplayedPose

    clip = _clip("sq05")
    _, track = extract_pose(clip, use_cache=True)
    frames = list(VideoReader(clip))
    dur = frames[-1].t + 1 / 30
    poses = list(track.frames())
    import dataclasses

    store = Store(tmp_path / "data")
    # the clip, then the clip again (the user trains on): the first set is closed by hand after the first pass
    s = LiveSession(SessionConfig(exercise="squat", rest_s=30.0), store=store,
                    estimator=ReplayedPose(poses + [dataclasses.replace(p, t=p.t + dur) for p in poses]),
                    threaded=False)
    try:
        for k in range(2):
            for fr in frames:
                s.process(fr.image, fr.t + k * dur)
                while s.video._q.qsize() > 8:  # a camera's pace: the recorder keeps every frame
                    time.sleep(0.002)
            if k == 0:
                s.end_set()
        deadline = time.time() + 120
        while time.time() < deadline and s.sets[0].video != "ready":
            time.sleep(0.2)
        e = s.sets[0]
        assert e.video == "ready", (e.video, e.error)
        assert not s._closed  # rendered while the session still records
    finally:
        s.close("stream_ended")
    row = store.sets(s.session_id)[0]
    import json

    rep = json.loads(row["report_json"])
    d = store.path_of(row["report_dir"])
    assert rep["artifacts"]["annotated_video"] == "annotated.mp4" and (d / "annotated.mp4").stat().st_size > 10000
    with av.open(str(d / "annotated.mp4")) as c:
        n = sum(1 for _ in c.decode(video=0))
    span = rep["reps"]["items"][-1]["end_s"] - rep["reps"]["items"][0]["start_s"]
    assert n >= 0.8 * 30 * span, (n, span)  # the whole set, frame by frame


class _Link:
    def __init__(self, s):
        self.s = s

    def current(self):
        return self.s


def test_a_file_replay_analyses_every_frame_at_the_pace_of_the_page(tmp_path):
    """Upload → "Replay in real time": the server decodes the file (1280x720 here) and hands every frame to the
    session in order, never further ahead of the page's playback than LEAD_S; the count is Analyse's count, with
    no frame dropped, however slow the machine (issue 23). The file becomes the session's video."""
    import json as _json

    from pipeline.movement.run import MovementRun
    from pipeline.pose.track import clean_track, extract_pose
    from realtime.filereplay import LEAD_S, FileReplay
    from realtime.sources import ReplayedPose

    clip = _clip("pu01")
    _, track = extract_pose(clip, use_cache=True)
    batch = MovementRun("push_up", clean_track(track)[0]).evidence.reps.count
    store = Store(tmp_path / "data")
    s = LiveSession(SessionConfig(exercise="push_up", source="upload", record_video=False, idle_close_s=None),
                    store=store, estimator=ReplayedPose(track.frames()), threaded=True)
    events = []
    rp = FileReplay(_Link(s), clip, "my set.mp4", events.append)
    rp.start()
    try:
        time.sleep(1.0)
        assert rp.frames == 0  # nothing before the page plays
        rp.clock(2.0, False, 1.0, at=1)  # the page shows 2.0 s, paused
        deadline = time.time() + 30
        while time.time() < deadline and (rp.last_t or 0) < 2.0:
            time.sleep(0.05)
        time.sleep(0.5)
        assert 2.0 <= rp.last_t <= 2.0 + LEAD_S, rp.last_t  # ahead of the picture by LEAD_S at most
        rp.clock(1e9, False, 1.0, at=2)  # the page's file ended: the rest
        assert rp.done.wait(120)
    finally:
        rp.stop()
        s.close("stream_ended")
    assert [_json.loads(e) for e in events][-1]["state"] == "end", events
    assert s.frames_dropped == 0 and s.frames_processed == rp.frames == len(track), (s.timing(), rp.frames)
    assert [(e.exercise, e.reps) for e in s.sets] == [("push_up", batch)] and batch == 4
    sess = store.get_session(s.session_id)
    kept = store.path_of(sess["video"])
    assert kept.name == "source.mp4" and kept.stat().st_size == clip.stat().st_size


def test_a_file_the_replay_cannot_read_ends_in_one_sentence(tmp_path):
    from realtime.filereplay import FileReplay

    bad = tmp_path / "upload.mp4"
    bad.write_bytes(_clip("pu01").read_bytes()[:50_000])  # the first 50 KB of a real mp4 (its index is at the end)
    s = LiveSession(SessionConfig(exercise="push_up", record=False), estimator=_NoPose(), threaded=True)
    events = []
    rp = FileReplay(_Link(s), bad, "holiday squats.mp4", events.append)
    rp.start()
    try:
        assert rp.done.wait(30)
    finally:
        s.close()
    import json as _json

    msg = _json.loads(events[-1])
    assert msg["state"] == "error" and msg["error"].startswith("holiday squats.mp4 cannot be read as a video"), msg
    assert "Errno" not in msg["error"] and "upload.mp4" not in msg["error"] and "\n" not in msg["error"]


def test_a_frozen_picture_never_makes_a_rep():
    """The picture freezes in the middle of a squat's rise (the camera stops; a codec still adds a little noise to
    each repeat). A pose tracker that drifts on a repeated picture is modelled by one that goes on returning the
    clip's next poses: without the guard that drift completes the rep and makes more; with it, after half a second
    of an unchanged picture, the pose measured then is repeated and no rep is made (issue 23)."""
    import dataclasses

    from pipeline.intake.video import VideoReader
    from pipeline.pose.estimator import StillPictureGuard
    from pipeline.pose.track import extract_pose
    from realtime.sources import ReplayedPose

    clip = _clip("sq09")
    _, track = extract_pose(clip, use_cache=True)
    frames = [f for f in VideoReader(clip) if f.t <= 6.5]  # rep 1 done, rep 2 at the start of its rise
    dt = 1 / 24.0
    rng = np.random.default_rng(0)
    last = frames[-1]
    frozen = [(np.clip(last.image.astype(np.int16) + rng.integers(-1, 2, last.image.shape), 0, 255).astype(np.uint8),
               last.t + dt * (k + 1)) for k in range(int(12 / dt))]

    def run(estimator):
        s = LiveSession(SessionConfig(exercise="squat", rest_s=30.0), estimator=estimator, threaded=False)
        for f in frames:
            s.process(f.image, f.t)
        before = s.lp.total_reps
        for img, t in frozen:
            s.process(img, t)
        s.close()
        return before, [e.reps for e in s.sets], s

    drifting = lambda: ReplayedPose([dataclasses.replace(p) for p in track.frames()], strict=False)  # noqa: E731
    before, sets, _ = run(drifting())
    assert before == 1 and sum(sets) >= 2, (before, sets)  # the drift alone invents reps: the test can fail
    guard = StillPictureGuard(drifting())
    before, sets, s = run(guard)
    assert before == 1 and sets == [1], (before, sets)
    assert guard.held >= len(frozen) - 0.5 / dt - 2 and s.frames_still == guard.held, (guard.held, len(frozen))


def test_between_sets_a_little_sway_does_not_show_a_set_in_progress():
    """After a set, standing still: the phase can turn to "lowering" for a frame with a little sway. The picture
    says "IN SET" only once the set's first rep has gone a quarter of the way to its target (issue 23: it flipped
    between "SET 2 · IN SET" and "SET 1 DONE / REST 0:51")."""
    from pipeline.live import LiveState

    s = LiveSession(SessionConfig(exercise="squat", record=False), estimator=_NoPose(), threaded=False)
    try:
        def st(phase, progress, set_index=2):
            return LiveState(t=30.0, valid=True, exercise="squat", confidence=1.0, committed=True, source="user",
                             count=0, partial=0, phase=phase, progress=progress, set_index=set_index)

        assert not s._first_rep_under_way(st("lowering", 0.08))  # sway
        assert not s._first_rep_under_way(st("top", 0.0))
        assert s._first_rep_under_way(st("lowering", 0.3))  # a real descent
        assert s._first_rep_under_way(st("rising", 0.1))  # and the same rep on its way up
        assert not s._first_rep_under_way(st("top", 0.0))
        assert not s._first_rep_under_way(st("lowering", 0.1, set_index=3))  # the next set starts over
    finally:
        s.close()

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
    with av.open(str(video)) as c:
        st = c.streams.video[0]
        assert (st.width, st.height) == (640, 360)
        assert sum(1 for _ in c.decode(video=0)) >= 140

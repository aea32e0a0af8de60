"""Session store: ids validated before paths, locked/damaged database → clear error, delete, recorder crash."""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import av
import numpy as np
import pytest

from pipeline.errors import InputError
from realtime.paths import check_id, new_id
from realtime.recorder import JsonlLog, VideoRecorder, finalize_recording, read_jsonl
from realtime.store import Store, StoreError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("bad", ["../etc", "..", "/etc/passwd", "a" * 31, "A" * 32, "g" * 32, "0" * 31 + "/",
                                 "0" * 32 + "\x00", 123, None, "%2e%2e" + "0" * 26])
def test_ids_are_validated_before_paths(tmp_path, bad):
    st = Store(tmp_path)
    with pytest.raises(InputError):
        check_id(bad)
    with pytest.raises(InputError):
        st.session_dir(bad)
    with pytest.raises(InputError):
        st.delete_session(bad)
    with pytest.raises(InputError):
        st.get_set(bad)


def test_stored_paths_cannot_escape_the_data_folder(tmp_path):
    st = Store(tmp_path / "d")
    with pytest.raises(InputError):
        st.path_of("../../etc/passwd")
    with pytest.raises(InputError):
        st.path_of("/etc/passwd")


def test_sessions_sets_list_delete(tmp_path):
    st = Store(tmp_path)
    sid = st.create_session("webcam", profile={"goal": "strength"})
    d = st.session_dir(sid)
    (d / "recording.mp4").write_bytes(b"x")
    st.add_set(sid, index=1, exercise="squat", reps=5, start_s=0.0, end_s=10.0, reason="rest",
               report_json='{"reps": {"count": 5}}', report_dir=d / "sets" / "set001")
    st.end_session(sid)
    ls = st.list_sessions()
    assert ls[0]["id"] == sid and ls[0]["n_sets"] == 1 and ls[0]["n_reps"] == 5 and ls[0]["status"] == "ended"
    assert st.report(st.sets(sid)[0]["id"]) == {"reps": {"count": 5}}
    st.delete_session(sid)
    assert st.get_session(sid) is None and st.sets(sid) == [] and not d.exists()


def test_locked_database_is_a_clear_error_and_loses_nothing(tmp_path):
    st = Store(tmp_path)
    sid = st.create_session("webcam")
    other = sqlite3.connect(st.db_path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.time()
        with pytest.raises(StoreError, match="locked"):
            st.add_set(sid, index=1, exercise="squat", reps=3, start_s=0, end_s=1, reason="user",
                       report_json=None, report_dir=None)
        assert time.time() - t0 < 15
    finally:
        other.rollback()
        other.close()
    assert st.get_session(sid)["id"] == sid  # still there, and the store works again


def test_damaged_database_is_a_clear_error_and_not_overwritten(tmp_path):
    db = tmp_path / "spotter.sqlite3"
    junk = b"this is not a database" * 200
    db.write_bytes(junk)
    with pytest.raises(StoreError, match="damaged|not a database"):
        Store(tmp_path)
    assert db.read_bytes() == junk


def test_recording_survives_a_killed_process(tmp_path):
    """SIGKILL while recording: the fragmented MP4 and the JSONL log are readable up to about the last second."""
    code = textwrap.dedent(f"""
        import time, numpy as np, sys
        sys.path.insert(0, {str(ROOT)!r})
        from realtime.recorder import VideoRecorder, JsonlLog
        r = VideoRecorder({str(tmp_path / 'rec.mp4')!r}); lg = JsonlLog({str(tmp_path / 'lm.jsonl')!r})
        rng = np.random.default_rng(0); i = 0
        while True:
            img = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
            r.push(img, i / 30); lg.write({{"t": i / 30}}); i += 1
            print(i, flush=True); time.sleep(1 / 30)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    n = 0
    try:
        for line in p.stdout:
            n = int(line)
            if n >= 120:
                break
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    part = tmp_path / "rec.part.mp4"
    with av.open(str(part)) as c:
        decoded = sum(1 for _ in c.decode(video=0))
    assert decoded >= n - 40, (decoded, n)  # at most about a second lost
    lines = list(read_jsonl(tmp_path / "lm.jsonl"))
    assert len(lines) >= n - 40
    out = finalize_recording(part, tmp_path / "rec.mp4")
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == decoded
    assert not part.exists()


def test_recorder_memory_is_bounded_when_the_encoder_falls_behind(tmp_path):
    r = VideoRecorder(tmp_path / "r.mp4", max_queue=8)
    big = np.zeros((1080, 1920, 3), np.uint8)
    for i in range(200):  # pushed much faster than 1080p can be encoded
        r.push(big, i / 30)
    assert r.frames_dropped > 0 and r._q.qsize() <= 8
    out = r.close()
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert sum(1 for _ in c.decode(video=0)) == r.frames_written


def test_jsonl_skips_a_torn_last_line(tmp_path):
    lg = JsonlLog(tmp_path / "e.jsonl")
    lg.write({"a": 1})
    lg.close()
    with open(tmp_path / "e.jsonl", "a") as f:
        f.write('{"a": 2, "b": [1, 2')
    assert list(read_jsonl(tmp_path / "e.jsonl")) == [{"a": 1}]


def test_new_ids_are_valid():
    assert check_id(new_id())

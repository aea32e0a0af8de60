"""realtime/threads.py: background work (the session recording, the coach model) runs at a lower scheduling
priority than the live path, per thread."""
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from realtime.threads import BACKGROUND_NICE, background_priority

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")


def _nice_of(name: str):
    """Niceness of this process's thread whose OS name is ``name`` (None if there is none)."""
    for task in Path("/proc/self/task").iterdir():
        try:
            if (task / "comm").read_text().strip() == name:
                return os.getpriority(os.PRIO_PROCESS, int(task.name))
        except (OSError, ValueError):
            continue
    return None


def test_background_priority_lowers_only_the_calling_thread():
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = {}

    def work():
        background_priority()
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    th = threading.Thread(target=work)
    th.start()
    th.join()
    assert seen["nice"] == max(before, BACKGROUND_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before


def test_the_session_recorder_encodes_at_background_priority(tmp_path):
    from realtime.recorder import VideoRecorder

    rec = VideoRecorder(tmp_path / "rec.mp4", fps=30)
    try:
        for i in range(3):
            rec.push(np.zeros((64, 64, 3), np.uint8), i / 30)
        deadline = time.monotonic() + 30
        nice = None
        while (nice is None or nice < BACKGROUND_NICE) and time.monotonic() < deadline:
            nice = _nice_of("spotter-recorde")  # OS thread names are 15 bytes; it names itself, then lowers
            time.sleep(0.05)
        assert nice is not None and nice >= BACKGROUND_NICE
    finally:
        rec.close()
    assert rec.frames_written == 3

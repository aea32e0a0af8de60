"""Operating-system names for Spotter's threads (``/proc/PID/task/*/comm``, ``top -H``): Python 3.11 names its
threads for Python only, so a per-thread CPU figure (``spotter bench browser``) could not tell them apart."""
from __future__ import annotations

import ctypes
import threading

_PR_SET_NAME = 15
try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _prctl = _libc.prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None


def name_os_thread(name: str | None = None) -> None:
    """Give the calling thread its Python name (or ``name``) at the OS level too (15 bytes at most)."""
    if _prctl is None:
        return
    try:
        _prctl(_PR_SET_NAME, (name or threading.current_thread().name).encode()[:15], 0, 0, 0)
    except Exception:
        pass


BACKGROUND_NICE = 10


def background_priority(nice: int = BACKGROUND_NICE) -> None:
    """Lower the calling thread's scheduling priority to ``nice`` (Linux: niceness is per thread; threads it
    starts, e.g. a model's worker threads, inherit it). For work that may wait — the session recording, set
    reports, the coach model — so that on a 2-core machine it yields the CPU to the live path (pose, the WebRTC
    receive loop, the browser) instead of competing with it. Never raises the priority; silent where unsupported."""
    try:
        import os

        tid = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except (AttributeError, OSError):
        pass

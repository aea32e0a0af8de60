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

"""Defaults, overridable from the CLI or environment. Nothing here reaches the network."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class IntakeLimits:
    max_bytes: int = int(_env_float("SPOTTER_MAX_MB", 500) * 1024 * 1024)
    max_duration_s: float = _env_float("SPOTTER_MAX_MINUTES", 15) * 60.0
    pose_long_side: int = int(_env_float("SPOTTER_POSE_LONG_SIDE", 640))


def cache_dir() -> Path:
    """Where derived data (pose caches) lives. Never inside the repo's tracked files."""
    base = os.environ.get("SPOTTER_CACHE")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "spotter" if xdg else Path.home() / ".cache" / "spotter"

"""Where Spotter keeps its data, and id validation before any id becomes part of a path."""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from pipeline.errors import InputError

_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """``override``, else ``$SPOTTER_DATA``, else ``$XDG_DATA_HOME/spotter`` or ``~/.local/share/spotter``."""
    if override:
        return Path(override)
    env = os.environ.get("SPOTTER_DATA")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "spotter"


def new_id() -> str:
    return uuid.uuid4().hex


def check_id(value: object) -> str:
    """A session or set id: exactly 32 lowercase hex characters, or :class:`InputError`.

    Every id coming from a URL, a form, the CLI or the database goes through here before it is joined to a
    path, so ``../``, absolute paths, NUL bytes and the like never reach the file system."""
    if not isinstance(value, str) or not _HEX32.match(value):
        raise InputError(f"invalid id: {str(value)[:40]!r}")
    return value


def inside(base: Path, *parts: str) -> Path:
    """Join and make sure the result stays under ``base`` (defence in depth after :func:`check_id`)."""
    b = base.resolve()
    p = b.joinpath(*parts).resolve()
    if p != b and b not in p.parents:
        raise InputError("path escapes the data folder")
    return p

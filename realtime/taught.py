"""Taught exercises on disk: one small JSON file each in ``<data>/exercises/`` (what
:func:`pipeline.movement.taught.learn` returns), listed, replaced, deleted, exported and imported.

    lib = TaughtLibrary()                    # $SPOTTER_DATA/exercises (or the store's data folder)
    lib.save(model)                          # refuses a built-in's name, or an existing one unless replace=True
    lib.load()                               # every stored exercise known to the pipeline (exercises.get, sessions)
    name, data = lib.export(["bicep_curl"])  # one file: a coach hands it to a client ...
    lib.import_bytes(data)                   # ... who imports it (validated before anything is written)

A file another program damaged is skipped (listed in ``errors``), never deleted or "repaired".
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from pydantic import ValidationError

from pipeline.errors import InputError
from pipeline.movement import taught as tm
from pipeline.movement.exercises import REGISTRY
from pipeline.pose.track import atomic_write

from .paths import data_dir, inside

log = logging.getLogger(__name__)
FOLDER = "exercises"
BUNDLE = "spotter-taught-exercises"
MAX_BYTES = 2 * 1024 * 1024  # a taught exercise is a few tens of kB; anything this big is not one
RESERVED = {"unknown", "automatic", "auto"}


def check_name(name: object) -> str:
    """A taught exercise's name before it becomes a file name: lowercase letters, digits and _ only, not a built-in."""
    if not isinstance(name, str) or not tm.NAME_RE.match(name):
        raise InputError(f"invalid exercise name {str(name)[:40]!r}: use letters, digits and spaces")
    if name in REGISTRY or name in RESERVED:
        raise InputError(f"{name!r} is a built-in exercise (or a reserved word): choose another name")
    return name


def _message(e: ValidationError) -> str:
    err = e.errors()[0] if e.errors() else {}
    where = ".".join(str(x) for x in err.get("loc", ())) or "file"
    return f"{where}: {err.get('msg', 'invalid')}"


def parse(data: bytes | str) -> list[tm.TaughtModel]:
    """The taught exercises in an exported file (one exercise, or a bundle of several). Raises InputError."""
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_BYTES:
        raise InputError("this file is too big to be a Spotter exercise")
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError("this is not a Spotter exercise file (not JSON)") from None
    if isinstance(obj, dict) and obj.get("format") == BUNDLE:
        items = obj.get("exercises")
        if not isinstance(items, list) or not items or len(items) > 200:
            raise InputError("this exercise bundle holds no exercises")
    elif isinstance(obj, dict) and obj.get("format") == tm.FORMAT:
        items = [obj]
    else:
        raise InputError("this is not a Spotter exercise file (no 'format' field of a taught exercise)")
    out = []
    for it in items:
        if not isinstance(it, dict) or it.get("format") != tm.FORMAT:
            raise InputError("this exercise bundle holds something that is not a taught exercise")
        if it.get("version", tm.VERSION) > tm.VERSION:
            raise InputError("this exercise was taught with a newer Spotter: update Spotter to use it")
        try:
            m = tm.TaughtModel.model_validate(it)
        except ValidationError as e:
            raise InputError(f"this exercise file is damaged ({_message(e)})") from None
        check_name(m.name)
        out.append(m)
    if len({m.name for m in out}) != len(out):
        raise InputError("this exercise bundle holds the same name twice")
    return out


class TaughtLibrary:
    def __init__(self, root: str | os.PathLike | None = None):
        self.dir = data_dir(root) / FOLDER
        self.errors: list[tuple[str, str]] = []  # (file name, why it was skipped) from the last list()

    def path(self, name: str) -> Path:
        return inside(self.dir, check_name(name) + ".json")

    def list(self) -> list[tm.TaughtModel]:
        """Every readable stored exercise, by label; unreadable files are skipped and listed in ``errors``."""
        self.errors = []
        out = []
        if not self.dir.is_dir():
            return out
        for p in sorted(self.dir.glob("*.json")):
            try:
                if p.stat().st_size > MAX_BYTES:
                    raise InputError("too big")
                ms = parse(p.read_bytes())
                if len(ms) != 1 or ms[0].name != p.stem:
                    raise InputError("its name does not match the file name")
                out.append(ms[0])
            except (InputError, OSError) as e:
                self.errors.append((p.name, str(e)))
                log.warning("taught exercise %s skipped: %s", p, e)
        return sorted(out, key=lambda m: m.label.lower())

    def get(self, name: str) -> tm.TaughtModel:
        p = self.path(name)
        if not p.is_file():
            raise InputError(f"no taught exercise named {name!r}")
        try:
            ms = parse(p.read_bytes())
        except OSError as e:
            raise InputError(f"cannot read {p}: {e.strerror or e}") from None
        return ms[0]

    def exists(self, name: str) -> bool:
        try:
            return self.path(name).is_file()
        except InputError:
            return False

    def save(self, model: tm.TaughtModel, replace: bool = False) -> Path:
        p = self.path(model.name)
        if p.exists() and not replace:
            raise InputError(f"an exercise named {model.label!r} ({model.name}) already exists: choose another "
                             "name, or replace it")
        data = model.model_dump_json(indent=1).encode()
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            atomic_write(p, lambda f: f.write(data))
        except OSError as e:
            raise InputError(f"cannot save the exercise in {self.dir}: {e.strerror or e}") from None
        tm.use(model)
        return p

    def delete(self, name: str) -> None:
        p = self.path(name)
        try:
            p.unlink(missing_ok=True)
        except OSError as e:
            raise InputError(f"cannot delete {p}: {e.strerror or e}") from None
        tm.forget(name)

    def load(self) -> list[str]:
        """Make every stored exercise known to the pipeline; forget those no longer stored. Returns their names."""
        models = self.list()
        names = {m.name for m in models}
        for n in tm.taught_names():
            if n not in names:
                tm.forget(n)
        for m in models:
            tm.use(m)
        return sorted(names)

    def export(self, names: list[str] | None = None) -> tuple[str, bytes]:
        """(file name, bytes): one exercise as its own file, several (None: all) as one bundle."""
        models = [self.get(n) for n in names] if names else self.list()
        if not models:
            raise InputError("there is no taught exercise to export")
        if len(models) == 1:
            m = models[0]
            return f"{m.name}.spotter-exercise.json", m.model_dump_json(indent=1).encode()
        data = {"format": BUNDLE, "version": tm.VERSION,
                "exercises": [json.loads(m.model_dump_json()) for m in models]}
        return "spotter-exercises.json", json.dumps(data, indent=1).encode()

    def import_bytes(self, data: bytes | str, replace: bool = False) -> list[tm.TaughtModel]:
        """Import an exported file: every exercise in it is validated first; none is written if one is refused."""
        models = parse(data)
        clash = [m for m in models if self.exists(m.name)]
        if clash and not replace:
            raise InputError("already taught: " + ", ".join(f"{m.label!r} ({m.name})" for m in clash)
                             + ". Delete or rename yours first, or replace it")
        for m in models:
            self.save(m, replace=True)
        return models


def load_taught(root: str | os.PathLike | None = None) -> list[str]:
    """The data folder's taught exercises, known to the pipeline (the app at start, the command line)."""
    try:
        return TaughtLibrary(root).load()
    except OSError as e:  # an unreadable data folder: the built-in exercises still work
        log.warning("taught exercises not loaded: %s", e)
        return []


def session_frames(store, session_id: str):
    """The cleaned frames of a recorded session (its landmark log): a demonstration recorded with the camera."""
    from pipeline.pose.cleaning import PoseCleaner

    from .history import _pose
    from .recorder import read_jsonl

    sess = store.get_session(session_id)
    if sess is None:
        raise InputError("no such recording")
    lm = store.path_of(sess["landmarks"])
    if lm is None or not lm.exists():
        raise InputError("this recording has no landmarks (it was not recorded)")
    cleaner = PoseCleaner()
    return [cleaner.update(_pose(d)[0]) for d in read_jsonl(lm)]


def learn_session(store, session_id: str) -> tm.TaughtModel:
    """Learn from a demonstration recorded with the camera (a ``teach`` session). Raises InputError with the reason
    Spotter cannot learn from it. The exercise is named when it is saved."""
    frames = trim_demo(session_frames(store, session_id))
    try:
        return tm.learn_frames(frames, name="new_exercise", label="New exercise", source="webcam")
    except tm.TeachError as e:
        raise InputError(f"Spotter cannot learn from this demonstration: {e}") from None


def trim_demo(frames):
    """A recorded demonstration without its lead-in and tail: from the first to the last frame with a usable pose."""
    idx = [i for i, c in enumerate(frames) if c.valid]
    return frames[idx[0]: idx[-1] + 1] if idx else frames


def named(model: tm.TaughtModel, label: str) -> tm.TaughtModel:
    """A learnt exercise under the name the user typed (validated as a file name, not a built-in's)."""
    label = (label or "").strip()
    name = tm.slug(label)
    if not label or not name:
        raise InputError("give the exercise a name (letters, digits and spaces)")
    check_name(name)
    return model.model_copy(update={"name": name, "label": label[:60]})


def clip_frames(video, t_from: float | None = None, t_to: float | None = None, *, progress=None,
                use_cache: bool = False):
    """The cleaned frames of a demonstration clip between ``t_from`` and ``t_to`` seconds (``progress(done, total)``
    while pose runs)."""
    from pipeline.pose.track import clean_track, extract_pose

    if t_from is not None and t_to is not None and t_to <= t_from:
        raise InputError("the demonstration must end after it starts")
    info, track = extract_pose(video, progress=progress, use_cache=use_cache)
    clean, _ = clean_track(track)
    sel = [c for c in clean if (t_from is None or c.t >= t_from) and (t_to is None or c.t <= t_to)]
    if not sel:
        end = t_to if t_to is not None else info.duration_s
        raise InputError(f"no frames between {t_from or 0:.1f} s and {end:.1f} s (the clip is {info.duration_s:.1f} s "
                         "long)")
    return sel


def learn_clip(video, label: str = "New exercise", t_from: float | None = None, t_to: float | None = None, *,
               progress=None, use_cache: bool = False, source: str | None = None) -> tm.TaughtModel:
    """Learn from a clip (nothing saved). Raises InputError for a bad clip or a demonstration Spotter cannot learn."""
    model_name = tm.slug(label)
    if not model_name:
        raise InputError("the exercise needs a name with at least one letter")
    check_name(model_name)
    frames = clip_frames(video, t_from, t_to, progress=progress, use_cache=use_cache)
    try:
        return tm.learn_frames(frames, name=model_name, label=label.strip()[:60],
                               source=source or Path(str(video)).name)
    except tm.TeachError as e:
        raise InputError(f"Spotter cannot learn from this demonstration: {e}") from None


def learn_upload(file_name: str, data, ext: str, t_from: float | None = None, t_to: float | None = None, *,
                 progress=None) -> tm.TaughtModel:
    """Learn from an uploaded clip (bytes, already checked by ``history.check_upload``): written to a temporary file
    for decoding, which is removed whatever happens."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix="spotter-teach-", suffix=ext)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return learn_clip(tmp, "New exercise", t_from, t_to, progress=progress, source=Path(file_name).name[:200])
    finally:
        Path(tmp).unlink(missing_ok=True)

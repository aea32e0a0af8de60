"""``spotter teach`` and ``spotter exercises``: teach Spotter a movement from a clip, list, delete, export and import
the taught exercises kept in the data folder (``realtime/taught.py``)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InputError, SpotterError


def _library():
    from realtime.taught import TaughtLibrary

    return TaughtLibrary()


def teach_clip(video, label: str, t_from=None, t_to=None, *, progress: bool = False, use_cache: bool = False):
    """Learn from a clip (no saving). Raises InputError for a bad clip or a demonstration Spotter cannot learn."""
    from realtime.taught import learn_clip

    from ..report.artifacts import _progress_bar

    bar, cb = _progress_bar(progress, "pose")
    try:
        return learn_clip(video, label, t_from, t_to, progress=cb, use_cache=use_cache)
    finally:
        if bar is not None:
            bar.close()


def cmd_teach(a: argparse.Namespace) -> int:
    from ..report.taught_chart import describe, write_taught_chart

    lib = _library()
    model = teach_clip(a.video, a.name, a.t_from, a.t_to, progress=not a.no_progress, use_cache=a.cache)
    if lib.exists(model.name) and not a.replace and not a.dry_run:
        raise InputError(f"an exercise named {model.name!r} already exists: choose another --name, or --replace it")
    if a.chart:
        write_taught_chart(model, a.chart)
    if not a.dry_run:
        path = lib.save(model, replace=a.replace)
    if a.json:
        print(model.model_dump_json())
    else:
        print("\n".join(describe(model)))
        for i, r in enumerate(model.demo_reps, 1):
            print(f"  demo rep {i}: {r.start_s:.1f}-{r.end_s:.1f} s, range {r.range_pct:.0f}% of the mean")
        if a.chart:
            print(f"wrote {a.chart}")
        if not a.dry_run:
            print(f"saved {path}; count it with: spotter analyze VIDEO --exercise {model.name}")
    return 0


def cmd_exercises(a: argparse.Namespace) -> int:
    lib = _library()
    if a.action == "list":
        models = lib.list()
        if a.json:
            print(json.dumps([{"name": m.name, "label": m.label, "reps": len(m.demo_reps), "sided": m.sided,
                               "source": m.source, "created_at": m.created_at} for m in models]))
        else:
            if not models:
                print("no taught exercises yet (spotter teach VIDEO --name NAME)")
            for m in models:
                print(f"{m.name}: {m.label} — taught from {m.source or 'a demonstration'} ({len(m.demo_reps)} reps, "
                      f"{m.created_at[:10]})")
        for f, why in lib.errors:
            print(f"skipped {f}: {why}", file=sys.stderr)
        return 0
    if a.action == "delete":
        if not a.names:
            raise InputError("name the exercise(s) to delete")
        for n in a.names:
            if not lib.exists(n):
                raise InputError(f"no taught exercise named {n!r}")
        for n in a.names:
            lib.delete(n)
            print(f"deleted {n}")
        return 0
    if a.action == "export":
        fname, data = lib.export(a.names or None)
        out = Path(a.out or fname)
        try:
            out.write_bytes(data)
        except OSError as e:
            raise SpotterError(f"cannot write {out}: {e.strerror or e}") from None
        print(f"wrote {out}")
        return 0
    if a.action == "import":
        if len(a.names) != 1:
            raise InputError("import takes one file")
        p = Path(a.names[0])
        try:
            data = p.read_bytes()
        except OSError as e:
            raise InputError(f"cannot read {p}: {e.strerror or e}") from None
        for m in lib.import_bytes(data, replace=a.replace):
            print(f"imported {m.name}: {m.label}")
        return 0
    raise InputError(f"unknown action {a.action}")


def resolve_exercise(name: str | None) -> str | None:
    """``--exercise``: a built-in exercise or one taught in the data folder (loaded here), else a clear error."""
    if not name:
        return None
    from ..movement.exercises import known
    from realtime.taught import load_taught

    load_taught()
    if name not in known():
        from ..movement.taught import slug

        if slug(name) in known():
            return slug(name)
        raise InputError(f"unknown exercise {name!r}; known: {', '.join(known())}")
    return name


def add_parsers(sub) -> None:
    te = sub.add_parser("teach", help="teach Spotter an exercise from a clip of two or three slow, full repetitions")
    te.add_argument("video")
    te.add_argument("--name", required=True, help="the exercise's name, e.g. 'Bicep curl'")
    te.add_argument("--from", dest="t_from", type=float, default=None, metavar="S",
                    help="the demonstration starts this many seconds into the clip")
    te.add_argument("--to", dest="t_to", type=float, default=None, metavar="S", help="... and ends here")
    te.add_argument("--replace", action="store_true", help="replace a taught exercise of the same name")
    te.add_argument("--chart", default=None, metavar="PNG", help="write the learnt rep's chart here")
    te.add_argument("--dry-run", action="store_true", help="learn and show, do not save")
    te.add_argument("--cache", action="store_true", help="keep pose results in the cache folder (SPOTTER_CACHE)")
    te.add_argument("--no-progress", action="store_true")
    te.add_argument("--json", action="store_true", help="print the learnt exercise as JSON")
    te.set_defaults(func=cmd_teach)

    ex = sub.add_parser("exercises", help="the taught exercises: list, delete, export, import")
    ex.add_argument("action", nargs="?", default="list", choices=["list", "delete", "export", "import"])
    ex.add_argument("names", nargs="*", help="delete/export: exercise names (export: none = all); import: the file")
    ex.add_argument("--out", default=None, help="export: the file to write")
    ex.add_argument("--replace", action="store_true", help="import: replace exercises of the same name")
    ex.add_argument("--json", action="store_true")
    ex.set_defaults(func=cmd_exercises)

"""``spotter eval --taught MANIFEST``: teach each movement from one clip and count it on clips of other sources.

The manifest (``tests/data/taught_manifest.csv``) names, per movement, the demonstration clip (and the part of it
that is the demonstration) and the test clips with their reps counted by eye. A built-in exercise's row names only
its demonstration: its test clips are the other clips of that exercise in the dev manifests (their counts), where
the taught counter is compared with the built-in one. Negatives: every other dev clip, of another movement, must get
no rep.

Rep rule for a taught movement (``../shared/data/README.md`` with its start posture in the part of the top): a rep
is counted when the start posture is reached again after a visible far point; a clip that starts at the far point
counts its first return; an unfinished last return does not count.
"""
from __future__ import annotations

import csv
import json
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV_MANIFESTS = ("clips", "more_clips", "more_clips2")
# dev clips filed under unknown/ that are a built-in exercise (../shared/data/README.md; un01: a Romanian deadlift)
FILED_UNKNOWN = {"un04_lunges_front_overlays": ("lunge", 2), "un10_walking_lunges_toward_cam": ("lunge", 3),
                 "un01_dumbbell_rdl_front": ("deadlift", None)}


def data_dir() -> Path:
    return Path(os.environ.get("SPOTTER_SHARED", ROOT.parent / "shared")) / "data"


@dataclass
class Row:
    movement: str
    role: str  # demo | test
    file: str
    t_from: float | None
    t_to: float | None
    reps: int | None
    notes: str = ""


@dataclass
class Result:
    movement: str
    demo: str
    window: tuple
    demo_reps: int = 0
    refused: str | None = None
    sided: str = ""
    tests: list = field(default_factory=list)  # (file, true, counted, partial, built-in count or None)
    negatives: list = field(default_factory=list)  # (file, movement, counted, partial)

    @property
    def exact(self) -> int:
        return sum(1 for t in self.tests if t[1] == t[2])

    @property
    def within_one(self) -> int:
        return sum(1 for t in self.tests if abs(t[1] - t[2]) <= 1)

    @property
    def negative_reps(self) -> int:
        return sum(n[2] for n in self.negatives)


def read_manifest(path: str | os.PathLike) -> list[Row]:
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            num = (lambda x: float(x) if x not in ("", None) else None)
            rows.append(Row(r["movement"], r["role"], r["file"], num(r["from_s"]), num(r["to_s"]),
                            int(r["reps"]) if r["reps"].strip().isdigit() else None, r.get("notes", "")))
    return rows


def dev_clips(base: Path | None = None) -> list[tuple[str, str, int | None]]:
    """(file under data/, movement, reps or None) of every dev clip."""
    base = base or data_dir()
    out = []
    for m in DEV_MANIFESTS:
        p = base / m / "manifest.csv"
        if not p.exists():
            continue
        with open(p, newline="") as f:
            for r in csv.DictReader(f):
                stem = Path(r["file"]).stem
                cls, n = r["class"], r["reps"]
                reps = int(n) if n.strip().isdigit() else None
                if stem in FILED_UNKNOWN:
                    cls, reps = FILED_UNKNOWN[stem]
                out.append((f"{m}/{r['file']}", cls, reps))
    return out


@lru_cache(maxsize=None)
def clean_frames(path: str):
    """The cleaned frames of a clip (pose from the cache folder when it is there)."""
    from ..pose.track import clean_track, extract_pose

    return clean_track(extract_pose(path, use_cache=True)[1])[0]


def count_taught(model, clean) -> tuple[int, int]:
    from ..movement.analyzer import MovementAnalyzer
    from ..movement.taught import taught_exercise

    an = MovementAnalyzer(taught_exercise(model))
    for i, cf in enumerate(clean):
        an.update(cf, frame_index=i)
    ev = an.finish()
    return ev.reps.count, ev.reps.partial


def count_builtin(label: str, clean) -> int:
    from ..movement.run import MovementRun

    return MovementRun(label, clean).evidence.reps.count


def evaluate(manifest: str | os.PathLike, movements: list[str] | None = None, negatives: bool = True,
             log=None) -> list[Result]:
    from ..movement.exercises import names as builtin
    from ..movement.taught import TeachError, learn_frames

    base = data_dir()
    rows = read_manifest(manifest)
    dev = dev_clips(base)
    movement_of = {f: c for f, c, _ in dev}
    for r in rows:
        movement_of[r.file] = r.movement
    out = []
    for mv in dict.fromkeys(r.movement for r in rows):
        if movements and mv not in movements:
            continue
        demo = next(r for r in rows if r.movement == mv and r.role == "demo")
        res = Result(mv, demo.file, (demo.t_from, demo.t_to))
        frames = [c for c in clean_frames(str(base / demo.file)) if (demo.t_from is None or c.t >= demo.t_from)
                  and (demo.t_to is None or c.t <= demo.t_to)]
        try:
            model = learn_frames(frames, name=mv, label=mv.replace("_", " "), source=Path(demo.file).name)
        except TeachError as e:
            res.refused = str(e)
            out.append(res)
            continue
        res.demo_reps, res.sided = len(model.demo_reps), model.sided
        tests = [(r.file, r.reps) for r in rows if r.movement == mv and r.role == "test"]
        if mv in builtin():
            tests += [(f, n) for f, c, n in dev if c == mv and n is not None and f != demo.file]
        for f, n in tests:
            clean = clean_frames(str(base / f))
            got, part = count_taught(model, clean)
            bi = count_builtin(mv, clean) if mv in builtin() else None
            res.tests.append((f, n, got, part, bi))
            if log:
                log(f"{mv}: {f} true {n} taught {got}" + (f" built-in {bi}" if bi is not None else ""))
        if negatives:
            for f, c, _ in dev:
                if movement_of.get(f) == mv:
                    continue
                got, part = count_taught(model, clean_frames(str(base / f)))
                res.negatives.append((f, c, got, part))
        out.append(res)
    return out


def format_results(results: list[Result]) -> str:
    lines = ["movement | demo clip | test clip | true | taught | built-in", "--- | --- | --- | --- | --- | ---"]
    for r in results:
        end = "" if r.window[1] is None else f"{r.window[1]:g}"
        win = "" if r.window == (None, None) else f" [{r.window[0] or 0:g}-{end}s]"
        if r.refused:
            lines.append(f"{r.movement} | {Path(r.demo).stem}{win} | refused: {r.refused} | | |")
            continue
        for f, n, got, part, bi in r.tests:
            lines.append(f"{r.movement} | {Path(r.demo).stem}{win} | {Path(f).stem} | {n} | {got}"
                         f"{f' (+{part} partial)' if part else ''} | {'' if bi is None else bi}")
    lines.append("")
    for r in results:
        if r.refused:
            continue
        neg = [n for n in r.negatives if n[2]]
        bi = [t for t in r.tests if t[4] is not None]
        extra = f", built-in exact {sum(1 for t in bi if t[4] == t[1])}/{len(bi)}" if bi else ""
        lines.append(f"{r.movement}: demo {r.demo_reps} reps ({r.sided}-sided), exact {r.exact}/{len(r.tests)}, "
                     f"within one {r.within_one}/{len(r.tests)}{extra}; other movements: {r.negative_reps} reps on "
                     f"{len(neg)} of {len(r.negatives)} clips" + (" (" + ", ".join(f"{Path(n[0]).stem} {n[2]}"
                                                                                    for n in neg) + ")" if neg else ""))
    return "\n".join(lines)


def run_taught_eval(manifest: str, json_out: bool = False, movements: list[str] | None = None) -> int:
    results = evaluate(manifest, movements, log=lambda s: print(s, file=sys.stderr))
    if json_out:
        print(json.dumps([{"movement": r.movement, "demo": r.demo, "window": r.window, "demo_reps": r.demo_reps,
                           "refused": r.refused, "sided": r.sided,
                           "tests": [dict(zip(("file", "true", "taught", "partial", "builtin"), t)) for t in r.tests],
                           "negatives": [dict(zip(("file", "movement", "taught", "partial"), n)) for n in r.negatives]}
                          for r in results]))
    else:
        print(format_results(results))
    return 0

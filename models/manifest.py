"""Reading the dev-clip manifests (``../shared/data/clips/manifest.csv``, ``../shared/data/more_clips/manifest.csv``).

One place for the rules every evaluation follows: the true label of a clip (with the clips the data README says
to re-file once their exercise is supported), the true rep count (numeric only: ``ambiguous``, ``unknown`` and
``n/a`` are not scored) and the source's fault label where the manifest has one.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

# ../shared/data/README.md: "Two clips filed under unknown/ are lunges ... Once `lunge` is supported, score them as
# lunges." file -> (label, reps)
# un01 is a dumbbell Romanian deadlift (hip hinge, soft knees, dumbbells to mid-shin and back): issue 11 makes the
# Romanian deadlift a supported deadlift variation (more_clips files its own Romanian deadlift under deadlift/), so
# once `deadlift` is a label it is scored as one. Its reps were never counted by eye: not scored.
REFILED = {
    "unknown/un04_lunges_front_overlays.mp4": ("lunge", 2),
    "unknown/un10_walking_lunges_toward_cam.mp4": ("lunge", 3),
    "unknown/un01_dumbbell_rdl_front.mp4": ("deadlift", None),
}


@dataclass(frozen=True)
class ClipRow:
    file: str  # path under the manifest's folder
    path: Path  # absolute path of the clip
    label: str  # true label (after re-filing, when that label is supported)
    reps: int | None  # true full reps, None when not scored
    fault: str | None  # the source's fault label (more_clips), None when the manifest has no fault column
    view: str
    raw: dict

    @property
    def stem(self) -> str:
        return Path(self.file).stem


def _reps(v: str | None) -> int | None:
    try:
        return int(str(v).strip())
    except (TypeError, ValueError):
        return None


def read_manifest(path: str | os.PathLike, labels: tuple[str, ...] | list[str] | None = None) -> list[ClipRow]:
    """Rows of a manifest. ``labels``: the labels the router knows now; a re-filed clip takes its new label only
    when it is among them (before that it stays what the manifest says)."""
    p = Path(path)
    with open(p, newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        label, reps = r["class"], _reps(r.get("reps"))
        if r["file"] in REFILED and labels is not None and REFILED[r["file"]][0] in labels:
            label, reps = REFILED[r["file"]]
        fault = r.get("fault")
        out.append(ClipRow(file=r["file"], path=p.parent / r["file"], label=label, reps=reps,
                           fault=None if fault is None else fault.strip(), view=r.get("camera_view", ""), raw=r))
    return out

"""A training history built the way a user imports one: ``spotter replay VIDEO --save --date DATE`` on dev clips
(the real live path: aiortc loopback, MediaPipe, the set reports), then a load and a count correction entered as the
page enters them; ``spotter progress --json`` must print the totals, bests and trends of what was stored, and
``--since``, ``--exercise`` and ``--csv`` must select and export the same sets.

Every expected figure is recomputed here from the stored rows and report JSON (not from realtime/progress.py)."""
from __future__ import annotations

import csv
import datetime as dt
import json

import numpy as np
import pytest

from realtime.store import Store

from conftest import CLIPS

HISTORY = [("squat/sq01_barbell_backsquat_diag.mp4", "2026-01-05"),
           ("squat/sq03_bodyweight_gym_side.mp4", "2026-01-12"),
           ("squat/sq06_bodyweight_closeup_lowcam_side.mp4", "2026-01-19")]

pytestmark = pytest.mark.skipif(not all((CLIPS / c).exists() for c, _ in HISTORY),
                                reason="real clips not found in ../shared")


def _run(capsys, *args) -> str:
    from pipeline.tools.cli import main as spotter

    code = spotter(list(args))
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def _mean(xs):
    xs = [x for x in xs if x is not None]
    return float(np.mean(xs)) if xs else None


def test_history_from_dev_clips_with_save_matches_what_progress_prints(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPOTTER_DATA", str(tmp_path / "data"))
    sids = []
    for clip, day in HISTORY:
        out = json.loads(_run(capsys, "replay", str(CLIPS / clip), "--save", "--date", day, "--exercise", "squat",
                              "--mute", "--json"))
        sids.append(out["session_id"])
        stored = Store().sets(out["session_id"])
        assert [(s["exercise"], s["reps"]) for s in stored] == [(s["exercise"], s["reps"]) for s in out["sets"]]
        assert stored and all(s["report_json"] for s in stored)
    store = Store()
    for sid, (clip, day) in zip(sids, HISTORY):
        sess = store.get_session(sid)
        assert dt.datetime.fromtimestamp(sess["created_at"]).date().isoformat() == day
        assert sess["status"] == "ended" and sess["source"] == "replay"
        video = store.path_of(sess["video"])  # the imported file is the session's recording (History plays it)
        assert video is not None and video.is_file() and video.stat().st_size == (CLIPS / clip).stat().st_size
    # the user enters a load on the second session's first set and corrects the last session's first set
    loaded = store.sets(sids[1])[0]
    store.set_load(loaded["id"], 40, "kg")
    fixed = store.sets(sids[2])[0]
    store.correct_reps(fixed["id"], fixed["reps"] + 2)

    js = json.loads(_run(capsys, "progress", "--json"))
    assert list(js) == ["squat"] and set(js["squat"]) == {"sessions", "sets", "bests", "trends"}
    sq = js["squat"]
    rows = [r for sid in sids for r in store.sets(sid)]
    # sets: one per stored set, in date order, with the count as corrected, the load, volume and e1RM
    assert [s["set_id"] for s in sq["sets"]] == [r["id"] for r in rows]
    for s, r in zip(sq["sets"], rows):
        rep = json.loads(r["report_json"])
        items = [i for i in rep["reps"]["items"] if not i["partial"]]
        assert (s["reps"], s["reps_counted"], s["corrected"]) == (r["reps"], r["reps_counted"], r["corrected"])
        assert s["rom_deg"] == pytest.approx(_mean(i["metrics"]["rom_deg"] for i in items), abs=1e-3)
        assert s["lowering_s"] == pytest.approx(_mean(i["metrics"]["eccentric_s"] for i in items), abs=1e-3)
        raised = {i["rep"] for i in rep["issues"] if i.get("status", "raised") == "raised"}
        assert s["raised_reps"] == len(raised & {i["index"] for i in items})
        if r["id"] == loaded["id"]:
            assert s["load_kg"] == 40.0 and s["volume_kg"] == 40.0 * r["reps"]
            assert s["e1rm_kg"] == (pytest.approx(40 * (1 + r["reps"] / 30), abs=0.01) if 2 <= r["reps"] <= 10
                                    else None)
        else:
            assert s["load_kg"] is None and s["volume_kg"] is None and s["e1rm_kg"] is None
    assert next(s for s in sq["sets"] if s["set_id"] == fixed["id"])["reps"] == fixed["reps"] + 2
    # sessions: date, totals
    assert [s["session_id"] for s in sq["sessions"]] == sids
    assert [s["date"] for s in sq["sessions"]] == [d for _, d in HISTORY]
    for s, sid in zip(sq["sessions"], sids):
        mine = store.sets(sid)
        assert (s["sets"], s["reps"], s["reps_per_set"]) == (len(mine), sum(r["reps"] for r in mine),
                                                             [r["reps"] for r in mine])
    # bests: the largest stored value, the earliest set on a tie, with its date
    best = max(rows, key=lambda r: r["reps"])  # max() keeps the first of equal ones: the earlier set
    b = sq["bests"]["most_reps"]
    assert (b["value"], b["set_id"], b["date"]) == (best["reps"], best["id"], sq["sessions"][sids.index(
        best["session_id"])]["date"])
    assert b["report"] and b["report"].endswith("report.html")  # the link to that set's report
    e1 = sq["bests"]["best_e1rm"]
    assert (e1 is None) == (not 2 <= loaded["reps"] <= 10)
    rom = max((s for s in sq["sets"] if s["rom_deg"] is not None), key=lambda s: s["rom_deg"])
    assert sq["bests"]["deepest_range"]["set_id"] == rom["set_id"]
    # trends: one value per session, the session's figure; three sessions are too few to call a change
    tr = sq["trends"]["rom_deg"]
    assert tr["status"] == "too_few" and tr["n"] == 3
    for p, s in zip(tr["series"], sq["sessions"]):
        assert p["session_id"] == s["session_id"] and p["value"] == pytest.approx(s["rom_deg"], abs=1e-3)
    reps_tr = sq["trends"]["reps_per_set"]["series"]
    assert [p["value"] for p in reps_tr] == pytest.approx([s["reps"] / s["sets"] for s in sq["sessions"]])

    # --since, --exercise, the table, the CSV of every set
    since = json.loads(_run(capsys, "progress", "--json", "--since", HISTORY[1][1]))
    assert [s["session_id"] for s in since["squat"]["sessions"]] == sids[1:]
    assert json.loads(_run(capsys, "progress", "--json", "--exercise", "push_up")) == {}
    text = _run(capsys, "progress", "--exercise", "squat")
    assert "Squat: 3 sessions" in text and f"Most reps in a set: {best['reps']}" in text
    path = tmp_path / "sets.csv"
    _run(capsys, "progress", "--csv", str(path))
    got = list(csv.DictReader(path.open()))
    assert [(g["set_id"], int(g["reps"])) for g in got] == [(r["id"], r["reps"]) for r in rows]

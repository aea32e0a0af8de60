"""Progress across sessions (realtime/progress.py, the store's schema version 1): per-set figures from the stored
reports, trends called only beyond session-to-session noise, Epley only where it holds, the migration from the
database Spotter wrote before schema versions (tests/data/store_v0.sql), the user's load, count correction and
deletion of a set (the corrected count wherever a count is shown), and "last session" / "new best" in a live
session on real clips (pose from the cache)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import sqlite3
import zlib
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import InputError
from realtime import progress as prog
from realtime.store import SCHEMA_VERSION, Store, StoreError

from conftest import CLIPS

ROOT = Path(__file__).resolve().parents[1]
V0_SQL = ROOT / "tests" / "data" / "store_v0.sql"
needs_clips = pytest.mark.skipif(not (CLIPS / "manifest.csv").exists(), reason="real clips not found in ../shared")


# ------------------------------------------------------------------------------------------------ pure figures
def test_epley_only_for_2_to_10_reps_with_a_load():
    assert prog.epley(100.0, 5) == pytest.approx(100 * (1 + 5 / 30), abs=0.005)
    assert prog.epley(60.0, 2) == pytest.approx(64.0) and prog.epley(60.0, 10) == pytest.approx(80.0)
    assert prog.epley(60.0, 1) is None and prog.epley(60.0, 11) is None  # outside the range it holds in
    assert prog.epley(None, 5) is None and prog.epley(0.0, 5) is None  # bodyweight: no estimate


def _series(rng, base, n, sd):
    return list(base + rng.normal(0, sd, n))


def test_a_change_is_called_only_beyond_session_to_session_noise():
    rng = np.random.default_rng(3)
    flat = _series(rng, 100.0, 12, 3.0)
    assert prog.trend(flat, 2.0)["status"] == "steady"
    step = flat[:8] + [v + 12.0 for v in _series(rng, 100.0, 4, 3.0)]  # 4 sessions 12° deeper: 4 sigma
    tr = prog.trend(step, 2.0)
    assert tr["status"] == "up" and tr["z"] >= prog.Z_CHANGE and tr["recent_n"] == 4 and tr["before_n"] == 8
    assert prog.trend([-v for v in step], 2.0)["status"] == "down"
    # one unusually good last session is not a trend: the noise it adds keeps the verdict at "steady"
    spike = flat[:11] + [flat[-1] + 9.0]
    assert prog.trend(spike, 2.0)["status"] == "steady"
    # a slow steady climb (0.8 per session, noise 0.5) is a change even though no two sessions differ much
    climb = [50 + 0.8 * k + float(rng.normal(0, 0.5)) for k in range(10)]
    assert prog.trend(climb, 0.1)["status"] == "up"
    # the measurement floor: identical sessions but for a 1° wobble are never a change in range of motion
    assert prog.trend([100, 100, 100, 100, 101, 101], 2.0)["status"] == "steady"
    few = prog.trend([1, 2, 3], 0.1)
    assert few["status"] == "too_few" and few["n"] == 3 and few["needs"] == prog.MIN_SESSIONS
    assert "too few sessions" in prog.trend_text(few, "Range of motion", "°")


def _rep(i, rom, dur=2.0, low=1.0, partial=False):
    return {"index": 0 if partial else i, "start_s": i * 3.0, "bottom_s": i * 3.0 + low, "end_s": i * 3.0 + dur,
            "partial": partial, "metrics": {"rom_deg": rom, "top_deg": 170.0, "bottom_deg": 170.0 - rom,
                                            "eccentric_s": low, "duration_s": dur}}


def _iss(code, rep, status="raised"):
    return {"code": code, "label": code.replace("_", " "), "rep": rep, "status": status}


def test_set_figures_keep_borderline_and_not_judged_apart_from_faults():
    rules = ["shallow_squat", "forward_lean", "knee_valgus", "lateral_shift", "heel_rise"]
    report = {"reps": {"count": 6, "partial": 1,
                       "items": [_rep(1, 100), _rep(2, 104), _rep(3, 90), _rep(4, 110), _rep(5, 106), _rep(6, 100),
                                 _rep(7, 40, partial=True)]},
              "issues": [_iss("forward_lean", 1)], "borderline": [_iss("heel_rise", 2, "borderline")],
              "not_judged": [{"code": c, "reason": "view", "reps": [3]} for c in rules]
              + [{"code": "knee_valgus", "reason": "front view needed", "reps": []}],
              "exercise": {"view": "side"}}
    f = prog.set_figures(report, "squat")
    # rep 1 raised, rep 2 borderline only (not a fault), rep 3 judged on nothing, reps 4-6 clean; the partial
    # rep is left out of the means
    assert (f["raised"], f["borderline"], f["not_judged"], f["clean"]) == (1, 1, 1, 3)
    assert f["measured"] == 6 and f["partial"] == 1
    assert f["rom_deg"] == pytest.approx(np.mean([100, 104, 90, 110, 106, 100]), abs=1e-3)
    assert f["clean_streak"] == 3  # 4-5-6; the not-judged rep 3 breaks the run, the borderline rep 2 does not
    assert f["issues"]["forward_lean"]["raised"] == 1 and f["issues"]["heel_rise"] == {
        "label": "Heels lifting", "raised": 0, "borderline": 1, "not_judged": 1, "judged": 5}
    assert f["issues"]["knee_valgus"]["not_judged"] == 6 and f["issues"]["knee_valgus"]["judged"] == 0
    row = {"id": "a" * 32, "session_id": "b" * 32, "idx": 1, "exercise": "squat", "reps": 6, "reps_counted": 6,
           "corrected": False, "load_kg": 80.0, "load_value": 80.0, "load_unit": "kg", "session_created_at": 0.0,
           "start_s": 0.0}
    v = prog.set_view(row, f)
    assert v["clean_share"] == pytest.approx(3 / 5)  # clean of the judged reps (raised, borderline, clean)
    assert v["volume_kg"] == 480.0 and v["e1rm_kg"] == pytest.approx(96.0)


# ------------------------------------------------------------------------------------------------ the store
def _v0_db(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "spotter.sqlite3"
    c = sqlite3.connect(db)
    c.executescript(V0_SQL.read_text())
    c.close()
    return db


def test_migration_from_todays_database_keeps_every_session_and_shows_it_in_progress(tmp_path):
    db = _v0_db(tmp_path / "data")
    c = sqlite3.connect(db)
    assert c.execute("PRAGMA user_version").fetchone()[0] == 0
    before_sessions = [tuple(r) for r in c.execute("SELECT * FROM sessions ORDER BY id")]
    before_sets = [tuple(r) for r in c.execute("SELECT * FROM sets ORDER BY id")]
    c.close()
    store = Store(tmp_path / "data")
    assert store.schema_version() == SCHEMA_VERSION
    c = sqlite3.connect(db)
    assert [tuple(r) for r in c.execute("SELECT * FROM sessions ORDER BY id")] == before_sessions
    # the old columns keep their values (the new ones are added after them, empty)
    n_old = len(before_sets[0])
    assert [tuple(r)[:n_old] for r in c.execute("SELECT * FROM sets ORDER BY id")] == before_sets
    c.close()
    Store(tmp_path / "data")  # opening again changes nothing
    assert store.schema_version() == SCHEMA_VERSION

    sessions = store.list_sessions()
    assert sorted((s["exercises"], s["n_sets"], s["n_reps"]) for s in sessions) == [("shoulder_press", 1, 2),
                                                                                    ("squat", 1, 2)]
    data = prog.progress(store)
    assert set(data) == {"squat", "shoulder_press"}
    for ex, d in data.items():
        (sess,) = d["sessions"]
        row = next(s for s in sessions if s["exercises"] == ex)
        assert sess["session_id"] == row["id"] and sess["reps"] == row["n_reps"]
        assert sess["date"] == dt.datetime.fromtimestamp(row["created_at"]).date().isoformat()
        rep = store.report(d["sets"][0]["set_id"])
        items = [i for i in rep["reps"]["items"] if not i["partial"]]
        assert d["sets"][0]["rom_deg"] == pytest.approx(np.mean([i["metrics"]["rom_deg"] for i in items]), abs=1e-3)
        assert d["bests"]["most_reps"]["set_id"] == d["sets"][0]["set_id"]
    assert prog.last_session_line(prog.load_sets(store), "squat").startswith("Last squat session, ")
    # what the new schema adds works on the migrated rows
    sid = data["squat"]["sets"][0]["set_id"]
    store.set_load(sid, 100, "lb")
    assert store.get_set(sid)["load_kg"] == pytest.approx(45.359237)
    assert store.correct_reps(sid, 3)["reps"] == 3


def test_a_database_from_a_newer_spotter_is_refused_and_left_untouched(tmp_path):
    db = _v0_db(tmp_path / "data")
    c = sqlite3.connect(db)
    c.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    c.close()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    with pytest.raises(StoreError, match="newer Spotter"):
        Store(tmp_path / "data")
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def _report_json(n, rom=100.0):
    return json.dumps({"reps": {"count": n, "partial": 0, "items": [_rep(i + 1, rom) for i in range(n)]},
                       "issues": [], "borderline": [], "not_judged": [], "exercise": {"label": "squat",
                                                                                      "view": "side"}})


def _session(store, day: str, reps: list[int], exercise="squat", rom=100.0):
    sid = store.create_session("upload", title=f"{exercise} {day}")
    store.set_session_time(sid, prog.parse_date(day + "T18:00"))
    ids = [store.add_set(sid, index=k + 1, exercise=exercise, reps=n, start_s=k * 60.0, end_s=k * 60.0 + 30,
                         reason="rest", report_json=_report_json(n, rom), report_dir=None)
           for k, n in enumerate(reps)]
    store.end_session(sid)
    return sid, ids


def test_load_correction_and_deletion_are_stored_and_the_corrected_count_is_used_everywhere(tmp_path, monkeypatch,
                                                                                           capsys):
    from pipeline.tools.cli import main as spotter

    store = Store(tmp_path / "data")
    s1, (a, b) = _session(store, "2026-01-05", [8, 6])
    s2, (c_,) = _session(store, "2026-01-09", [9])
    with pytest.raises(InputError):
        store.set_load(a, -5, "kg")
    with pytest.raises(InputError):
        store.set_load(a, 20, "stone")
    with pytest.raises(InputError):
        store.correct_reps(a, -1)
    store.set_load(a, 60, "kg")
    row = store.correct_reps(a, 10)  # Spotter counted 8; the user says 10
    assert (row["reps"], row["reps_counted"], row["corrected"]) == (10, 8, True)
    store.correct_reps(c_, 9)  # a confirmation: kept as a label, the set is not marked corrected
    assert store.get_set(c_)["corrected"] is False
    labels = store.corrections("squat")
    assert [(x["set_id"], x["counted"], x["value"]) for x in labels] == [(a, 8, 10), (c_, 9, 9)]
    assert labels[0]["start_s"] == 0.0 and labels[0]["end_s"] == 30.0  # where in the recording it is about

    # the store's lists
    assert {s["id"]: s["n_reps"] for s in store.list_sessions()} == {s1: 16, s2: 9}
    assert [x["reps"] for x in store.sets(s1)] == [10, 6]
    # progress: sets, sessions, bests, e1RM and volume from the corrected count
    d = prog.progress(store)["squat"]
    sa = next(x for x in d["sets"] if x["set_id"] == a)
    assert (sa["reps"], sa["reps_counted"], sa["corrected"]) == (10, 8, True)
    assert sa["volume_kg"] == 600.0 and sa["e1rm_kg"] == pytest.approx(80.0)
    assert d["sessions"][0]["reps"] == 16 and d["sessions"][0]["reps_per_set"] == [10, 6]
    assert d["bests"]["most_reps"]["set_id"] == a and d["bests"]["most_reps"]["value"] == 10
    assert prog.last_session_line(d["sets"], "squat").startswith("Last squat session, ")
    assert "1 set of 9" in prog.last_session_line(d["sets"], "squat")
    # the command line: table, JSON and CSV
    monkeypatch.setenv("SPOTTER_DATA", str(tmp_path / "data"))
    assert spotter(["progress", "--exercise", "squat"]) == 0
    text = capsys.readouterr().out
    assert "10, 6 *" in text and "Most reps in a set: 10" in text
    assert spotter(["progress", "--json"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert [x["reps"] for x in js["squat"]["sets"]] == [10, 6, 9]
    assert spotter(["progress", "--since", "last tuesday"]) == 2  # one plain line, no traceback
    assert "not a date" in capsys.readouterr().err
    csv_path = tmp_path / "sets.csv"
    assert spotter(["progress", "--csv", str(csv_path)]) == 0
    import csv

    rows = list(csv.DictReader(csv_path.open()))
    assert [(r["reps"], r["reps_counted"], r["corrected"]) for r in rows] == [("10", "8", "True"), ("6", "6", "False"),
                                                                             ("9", "9", "False")]
    # the History page: the set's title, its report's count, the note that it was corrected
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.sidebar.radio[0].set_value("History").run()
    box = next(x for x in at.selectbox if x.label == "Session")
    box.set_value(s1).run()
    assert not at.exception, at.exception
    labels = [e.label for e in at.expander]
    assert any(lab.startswith("Set 1: squat — 10 reps (corrected)") for lab in labels), labels
    assert any(m.value.startswith("**Squat — 10 reps") for m in at.markdown), [m.value for m in at.markdown]
    assert any("Spotter counted 8" in c.value for c in at.caption)
    assert not any(m.value.startswith("**Squat — 8 reps") for m in at.markdown)
    hist = next(s for s in at.selectbox if s.label == "Session")
    assert "16 reps" in hist.format_func(s1)

    # deleting a set: gone from every list; its corrections go with it; a recovery does not bring it back
    store.delete_set(a)
    assert store.get_set(a) is None and [x["id"] for x in store.sets(s1)] == [b]
    assert {s["id"]: s["n_reps"] for s in store.list_sessions()} == {s1: 6, s2: 9}
    assert [x["set_id"] for x in store.corrections()] == [c_]
    assert [x["idx"] for x in store.sets(s1, include_deleted=True)] == [1, 2]
    assert all(x["set_id"] != a for x in prog.progress(store)["squat"]["sets"])
    with pytest.raises(InputError):
        store.delete_set(a)


def test_the_progress_page_lists_bests_with_links_and_opens_a_sets_report(tmp_path, monkeypatch):
    """The page's content (AppTest, no browser): bests with their links, trends in words, a set opened from its
    link with its controls; tests/test_progress_browser.py checks that a real browser draws the charts."""
    from streamlit.testing.v1 import AppTest

    store = Store(tmp_path / "data")
    days = ["2026-01-05", "2026-01-08", "2026-01-12", "2026-01-15", "2026-01-19", "2026-01-22"]
    ids = [_session(store, d, [8 + k, 7 + k], rom=95 + 3 * k)[1] for k, d in enumerate(days)]
    monkeypatch.setenv("SPOTTER_DATA", str(tmp_path / "data"))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.query_params["page"] = "Progress"
    at.run()
    assert not at.exception, at.exception
    bests = {m.value.split("data-key='")[1].split("'")[0]: m.value for m in at.markdown if "spotter-best" in m.value}
    assert set(bests) == {"most_reps", "deepest_range", "clean_streak"}  # no load entered: no e1RM
    assert f"set={ids[-1][0]}" in bests["most_reps"] and ": 13 — 2026-01-22" in bests["most_reps"]
    trends = next(m.value for m in at.markdown if "spotter-trends" in m.value)
    assert "Reps per set: up" in trends and "Range of motion: up" in trends
    assert len(at.get("imgs")) + len([e for e in at.main if type(e).__name__ == "Image"]) >= 4
    # the best's link opens that set on the same page, with its controls
    at2 = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at2.query_params["page"] = "Progress"
    at2.query_params["set"] = ids[-1][0]
    at2.run()
    assert not at2.exception, at2.exception
    assert any("spotter-set-report" in m.value for m in at2.markdown)
    assert any(m.value.startswith("**Squat — 13 reps") for m in at2.markdown)
    load = next(x for x in at2.number_input if x.label.startswith("Load"))
    load.set_value(80.0)
    next(b for b in at2.button if b.label == "Save load and count").click().run()
    assert not at2.exception, at2.exception
    assert store.get_set(ids[-1][0])["load_kg"] == 80.0
    # 13 reps: no e1RM (Epley only up to 10), so no "new best" for it; the volume shows
    assert any("Saved: 80 kg, 13 reps" in c.value for c in at2.caption), [c.value for c in at2.caption]


# ------------------------------------------------------------------------------------------------ live, real clips
class _CountingStore:
    """A Store that counts how often the progress history is read."""

    def __init__(self, store):
        self._s = store
        self.progress_reads = 0

    def progress_rows(self, *a, **k):
        self.progress_reads += 1
        return self._s.progress_rows(*a, **k)

    def __getattr__(self, name):
        return getattr(self._s, name)


def _live(store, clip: str, exercise: str, every_frame=None):
    from pipeline.intake.video import VideoReader
    from pipeline.pose.track import extract_pose
    from realtime.session import LiveSession, SessionConfig
    from realtime.sources import ReplayedPose
    from realtime.speech import SpeechConfig

    path = CLIPS / clip
    _, track = extract_pose(path, use_cache=True)
    s = LiveSession(SessionConfig(exercise=exercise, source="upload", title=path.name, record_video=False,
                                  speech=SpeechConfig(muted=True)), store=store,
                    estimator=ReplayedPose(track.frames()), threaded=False)
    first = True
    for fr in VideoReader(path):
        if first:  # the history is read in the background when the exercise is chosen: let it land
            deadline = dt.datetime.now() + dt.timedelta(seconds=30)
            while s._prog is None and dt.datetime.now() < deadline:
                import time

                time.sleep(0.05)
            first = False
        s.process(fr.image, fr.t)
        if every_frame is not None:
            every_frame(s)
    s.close()
    assert s.errors == 0, s.last_error
    return s


@needs_clips
def test_live_session_shows_the_last_session_before_the_first_rep_and_says_a_new_best(tmp_path):
    store = _CountingStore(Store(tmp_path / "data"))
    a = _live(store, "squat/sq03_bodyweight_gym_side.mp4", "squat")
    store.set_session_time(a.session_id, prog.parse_date("2021-01-04T18:00"))  # a Monday, years ago
    (first,) = store.sets(a.session_id)
    assert first["reps"] >= 1
    assert not a.sets[0].news and not [u for u in a.speech.history() if u.kind == "best"]  # no history: no best
    reads_a = store.progress_reads
    assert reads_a <= 2  # read once when the exercise was chosen (and at most once more), never per frame

    seen = []
    briefs = []

    def look(s):
        st, br = s.status(), s.brief()  # the panel's view, and what the page gets with every result
        seen.append((st.count, len(s.sets), st.last_session))
        briefs.append(br)

    b = _live(store, "squat/sq06_bodyweight_closeup_lowcam_side.mp4", "squat", every_frame=look)
    assert store.progress_reads - reads_a <= 2
    line = f"Last squat session, Mon 4 Jan 2021: 1 set of {first['reps']} · best {first['reps']} reps in a set"
    before_first_rep = [x[2] for x in seen if x[0] == 0 and x[1] == 0]
    assert before_first_rep and all(x == line for x in before_first_rep), (line, before_first_rep[:3])
    assert all(x[2] is None for x in seen if x[1] > 0)  # after the set: the timeline has it
    assert [br["last_session"] for br in briefs] == [x[2] for x in seen]
    # the panel is redrawn when the line comes and goes (its key, ``timeline``, changes), not on every frame
    keys = {br["timeline"] for br in briefs if br["sets_done"] == 0}
    assert len(keys) == 1 and keys != {zlib.crc32(repr([]).encode())}  # the line is in it, once; not per frame
    assert b.brief()["timeline"] not in keys and b.brief()["last_session"] is None  # the set ended: redrawn
    (entry,) = b.sets
    spoken = [u.text for u in b.speech.history() if u.kind == "best"]
    # what was announced is what the stored history says now: the bests the new set holds, and no other
    data = prog.progress(store)["squat"]
    held = [k for k, v in data["bests"].items() if v is not None and v["session_id"] == b.session_id]
    assert sorted(w.split(":")[0] for w in entry.news) == sorted(
        "New best — " + prog.BESTS[k][0][:1].lower() + prog.BESTS[k][0][1:] for k in held)
    if held:
        assert len(spoken) == 1 and spoken[0].startswith("New best:")
        said = [u.kind for u in b.speech.history() if u.kind in ("set", "best")]
        assert said == ["set", "best"]  # right after "set done"
        if "most_reps" in held:
            assert f"{entry.reps} reps in a set" in spoken[0]
    else:
        assert not spoken
    assert entry.reps > first["reps"] and "most_reps" in held  # this pair of clips: 3 reps after 2


class _Link:
    """What the Live page keeps for a tab (realtime/webrtc.py LiveLink), holding a finished session."""

    store_error = None

    def __init__(self, session):
        self.session = session

    def configure(self, cfg):
        pass

    def current(self):
        return self.session


@needs_clips
def test_the_live_timeline_shows_the_corrected_count_the_new_best_and_the_set_controls(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    store = Store(tmp_path / "data")
    _session(store, "2021-01-04", [1])  # a history: one set of 1
    s = _live(store, "squat/sq03_bodyweight_gym_side.mp4", "squat")
    (entry,) = s.sets
    assert entry.news and entry.news[0].startswith("New best — most reps in a set")
    store.correct_reps(entry.set_id, entry.reps + 3)
    monkeypatch.setenv("SPOTTER_DATA", str(tmp_path / "data"))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.session_state["live_link"] = _Link(s)
    at.run()
    assert not at.exception, at.exception
    n = entry.reps + 3
    assert [e.label for e in at.expander if e.label.startswith("Set ")] == [f"Set 1: squat — {n} reps (corrected)"]
    assert any(m.value.startswith(f"**Squat — {n} reps") for m in at.markdown), [m.value for m in at.markdown]
    total = s.status().count + n  # the count on screen + the reps in finished sets (corrected)
    assert any(f"data-total='{total}'" in m.value for m in at.markdown), [m.value for m in at.markdown]
    assert [x.value for x in at.success][:1] == entry.news[:1]
    assert any(x.label == f"Reps (Spotter counted {entry.reps})" and x.value == n for x in at.number_input)
    # delete it from the timeline: asked first, then gone from the page and the store
    next(b for b in at.button if b.label == "Delete this set").click().run()
    next(b for b in at.button if b.label == "Yes, delete the set").click().run()
    assert not at.exception, at.exception
    assert store.get_set(entry.set_id) is None
    # the page reruns itself after a deletion (AppTest keeps the tree of the run before): open it again
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.session_state["live_link"] = _Link(s)
    at.run()
    assert not at.exception, at.exception
    assert not at.expander and any("Each finished set's report appears here." in c.value for c in at.caption)

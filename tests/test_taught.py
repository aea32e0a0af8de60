"""Taught exercises (issue 25): Spotter learns a movement from one demonstration and counts it.

On the real dev clips (``tests/data/taught_manifest.csv``, reps counted by eye with the rule of
``../shared/data/README.md``, the start posture in the part of the top):

* taught from one clip, each movement is counted on clips of other sources (other people, places, distances and
  views): within one rep on every clip and exact on most; clips of other movements get no rep;
* each built-in exercise taught from one dev clip, against its hand-built counter on the other clips;
* live equals batch (one frame at a time through a live session, with the range bar, spoken counts and the set
  report that says no form rule exists), also at half the frame rate; faster and slower than the demonstration,
  idle time, walking and another movement between reps;
* bad demonstrations are refused with a plain reason; export and import round-trip; the command line;
* Automatic mode proposes a taught exercise the movement matches and never replaces a built-in label.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED, write_video
from pipeline.errors import InputError
from pipeline.movement import taught as tm

ROOT = Path(__file__).resolve().parents[1]
DATA = SHARED / "data"
MANIFEST = ROOT / "tests" / "data" / "taught_manifest.csv"
pytestmark = pytest.mark.skipif(not (DATA / "more_clips2" / "manifest.csv").exists(),
                                reason="dev clips not found in ../shared")
TAUGHT_MOVEMENTS = ("jumping_jack", "lateral_raise", "curl", "row")


def _frames(rel: str, t_from=None, t_to=None):
    from pipeline.tools.teach_eval import clean_frames

    return [c for c in clean_frames(str(DATA / rel)) if (t_from is None or c.t >= t_from)
            and (t_to is None or c.t <= t_to)]


def _track(rel: str):
    from pipeline.pose.track import extract_pose

    return extract_pose(DATA / rel, use_cache=True)[1]


@pytest.fixture(scope="module")
def curl():
    """Curls taught from the front-view outdoor clip (the manifest's demonstration), known to the pipeline."""
    m = tm.learn_frames(_frames("more_clips2/unknown/neg_db_curl_front_outdoor_hasnain.mp4"), name="bicep_curl",
                        label="Bicep curl", source="neg_db_curl_front_outdoor_hasnain.mp4")
    tm.use(m)
    yield m
    tm.forget(m.name)


# ------------------------------------------------------------------------------------------ counting other sources
_RESULTS: dict = {}


def _result(movement: str):
    from pipeline.tools.teach_eval import evaluate

    if movement not in _RESULTS:
        (_RESULTS[movement],) = evaluate(MANIFEST, [movement])
    return _RESULTS[movement]


@pytest.mark.parametrize("movement", TAUGHT_MOVEMENTS)
def test_taught_from_one_clip_counts_clips_of_other_sources_and_nothing_else(movement):
    r = _result(movement)
    assert r.refused is None, r.refused
    assert r.demo_reps >= 2
    wrong = [t for t in r.tests if abs(t[2] - t[1]) > 1]
    assert not wrong, f"{movement}: more than one rep off on {wrong}"
    counted = [n for n in r.negatives if n[2]]
    assert len(r.negatives) >= 55 and not counted, f"{movement} counted on clips of other movements: {counted}"


def test_taught_movements_are_counted_exactly_on_most_clips_of_other_sources():
    tests = [t for m in TAUGHT_MOVEMENTS for t in _result(m).tests]
    exact = sum(t[1] == t[2] for t in tests)
    assert len(tests) >= 6 and exact * 3 >= len(tests) * 2, f"exact on {exact}/{len(tests)}: {tests}"


def test_built_in_exercises_taught_from_one_clip_against_their_hand_built_counters():
    """The method's best measure: each built-in exercise taught from one dev clip, counted on its other dev clips next
    to the hand-built counter (the figures are the README's table; this checks the floor they stand on)."""
    from pipeline.tools.teach_eval import evaluate

    res = {r.movement: r for r in evaluate(MANIFEST, ["squat", "push_up", "shoulder_press", "deadlift", "lunge"],
                                           negatives=False)}
    assert all(r.refused is None and r.demo_reps >= 2 for r in res.values()), {k: r.refused for k, r in res.items()}
    tests = [t for r in res.values() for t in r.tests]
    assert len(tests) >= 30
    # never more reps than the set has on a clip of the exercise, and within one on most clips (hand-built: all)
    assert all(t[2] <= t[1] + 1 for t in tests), [t for t in tests if t[2] > t[1] + 1]
    within = sum(abs(t[2] - t[1]) <= 1 for t in tests)
    assert within * 10 >= len(tests) * 6, f"within one on {within}/{len(tests)}"
    sq = res["squat"]
    assert sq.exact * 2 >= len(sq.tests), f"squat exact {sq.exact}/{len(sq.tests)}"


# ------------------------------------------------------------------------------------------ live == batch
def test_live_session_counts_a_taught_exercise_like_the_batch_with_range_bar_voice_and_an_honest_report(curl, tmp_path):
    from pipeline.intake.video import VideoReader
    from pipeline.movement.run import MovementRun
    from pipeline.pose.track import clean_track
    from realtime.session import LiveSession, SessionConfig
    from realtime.sources import ReplayedPose
    from realtime.store import Store

    rel = "clips/unknown/un13_dumbbell_bicep_curl_side.mp4"
    track = _track(rel)
    clean, _ = clean_track(track)
    batch = MovementRun(curl.name, clean).evidence
    assert batch.reps.count == 4
    store = Store(tmp_path / "data")
    s = LiveSession(SessionConfig(exercise=curl.name, rest_s=30.0), store=store, estimator=ReplayedPose(track.frames()),
                    threaded=False)
    prog, kinds = [], set()
    for fr in VideoReader(DATA / rel):
        s.on_frame(fr.image, fr.t, draw=False)
        st = s.status()
        if st.progress is not None:
            prog.append(st.progress)
            kinds.add(st.progress_kind)
        assert st.exercise == curl.name
    s.close("stream_ended")
    (entry,) = s.sets
    assert entry.exercise == curl.name and entry.reps == batch.reps.count
    live_items = [(i["start_s"], i["end_s"], i["partial"]) for i in entry.report["reps"]["items"]]
    assert live_items == [(i.start_s, i.end_s, i.partial) for i in batch.reps.items]
    # the range bar fills toward the demonstration's far point
    assert kinds == {"depth"} and max(prog) >= 0.9 and min(prog) <= 0.1
    # spoken counts: one per rep
    counts = [u.text for u in s.speech.events() if u.kind == "count"]
    assert len(counts) == 4, counts
    # the report: range and tempo against the demonstration, and plainly no form rules
    rep = entry.report
    assert rep["exercise"]["label"] == curl.name and rep["exercise"]["taught"]["label"] == "Bicep curl"
    assert rep["issues"] == [] and any(n["code"] == "form" for n in rep["not_judged"])
    sm = rep["reps"]["set_metrics"]
    assert 0.7 < sm["mean_range_of_demo_frac"] < 1.3 and sm["demo_rep_s"] == pytest.approx(curl.rep_s, abs=0.01)
    assert all(0.5 < i["metrics"]["pace_of_demo_frac"] < 2.0 for i in rep["reps"]["items"])
    summ = rep["summary"]
    assert rep["verification"]["passed"], rep["verification"]
    notes = " ".join(n["text"] for n in summ["confidence_notes"])
    assert "no form rules for Bicep curl" in notes and "demonstration" in summ["what_you_did"]
    assert not summ["fix_first"] and "No form issues" not in " ".join(summ["looked_good"])


def test_live_equals_batch_at_half_the_frame_rate_and_for_faster_and_slower_sets(curl):
    from pipeline.live import LivePipeline
    from pipeline.movement.run import MovementRun
    from pipeline.pose.cleaning import PoseCleaner

    track = _track("clips/unknown/un13_dumbbell_bicep_curl_side.mp4")
    frames = list(track.frames())
    for name, fr in (("half", frames[::2]), ("faster x1.7", [dataclasses.replace(f, t=f.t / 1.7) for f in frames]),
                     ("slower x0.6", [dataclasses.replace(f, t=f.t / 0.6) for f in frames])):
        lp = LivePipeline(exercise=curl.name, router=None)
        for pf in fr:
            lp.process_pose(pf)
        res = lp.finish()
        cleaner = PoseCleaner()
        batch = MovementRun(curl.name, [cleaner.update(pf) for pf in fr]).evidence.reps.count
        assert res is not None and res.reps == batch == 4, (name, res and res.reps, batch)


def test_idle_time_walking_and_another_movement_between_reps_are_not_counted(curl):
    """A curl set, then standing idle, walking (treadmill), squats and jumping jacks, then the curl set again: only the
    curls are counted."""
    from pipeline.live import LivePipeline

    parts = ["clips/unknown/un13_dumbbell_bicep_curl_side.mp4", "clips/unknown/un06_treadmill_walking.mp4",
             "more_clips/squat/sq_12reps_side_stock_msalihk.mp4",
             "more_clips/unknown/neg_jumping_jacks_outdoor_rjsong.mp4",
             "more_clips2/unknown/neg_ezbar_curl_sebitzu.mp4"]
    lp = LivePipeline(exercise=curl.name, router=None, rest_s=1000.0)
    t0 = 0.0
    for rel in parts:
        fr = list(_track(rel).frames())
        if rel.endswith("un13_dumbbell_bicep_curl_side.mp4"):  # stand still (the last pose held) for 5 s after it
            fr += [dataclasses.replace(fr[-1], t=fr[-1].t + k / 30) for k in range(1, 150)]
        for pf in fr:
            lp.process_pose(dataclasses.replace(pf, t=t0 + pf.t))
        t0 += fr[-1].t + 1 / 30
    res = lp.finish()
    assert res is not None and res.reps == 4 + 1, [(r.start_s, r.end_s) for r in res.evidence.reps.items]


# ------------------------------------------------------------------------------------------ bad demonstrations
@pytest.mark.parametrize("rel,t_from,t_to,why", [
    ("clips/unknown/un09_forearm_plank.mp4", None, None, "barely moves"),
    ("more_clips2/unknown/neg_seated_cable_row_hasnain.mp4", None, None, "does not repeat"),
    ("more_clips/unknown/neg_jumping_jacks_outdoor_rjsong.mp4", None, 1.9, "does not repeat"),
    ("more_clips/unknown/neg_jumping_jacks_outdoor_rjsong.mp4", 2.0, 3.0, "too short"),
])
def test_bad_demonstrations_are_refused_with_a_plain_reason(rel, t_from, t_to, why):
    with pytest.raises(tm.TeachError, match=why):
        tm.learn_frames(_frames(rel, t_from, t_to), name="x", label="x")


def test_a_demonstration_without_a_person_is_refused(tmp_path):
    from realtime.taught import learn_clip

    v = write_video(tmp_path / "empty.mp4", [np.full((240, 320, 3), 90 + (i % 7), np.uint8) for i in range(75)])
    with pytest.raises(InputError, match="saw you clearly on only 0%"):
        learn_clip(v, "Empty")


# ------------------------------------------------------------------------------------------ stored and shared
def test_export_import_round_trip_and_damaged_files(curl, tmp_path):
    from pipeline.tools.teach_eval import count_taught
    from realtime.taught import TaughtLibrary, parse

    coach, client = TaughtLibrary(tmp_path / "coach"), TaughtLibrary(tmp_path / "client")
    coach.save(curl)
    other = curl.model_copy(update={"name": "curl_two", "label": "Curl two"})
    coach.save(other)
    assert [m.name for m in coach.list()] == ["bicep_curl", "curl_two"]
    fname, data = coach.export(["bicep_curl"])
    assert fname == "bicep_curl.spotter-exercise.json" and len(data) < 64_000
    (got,) = client.import_bytes(data)
    assert got.model_dump() == curl.model_dump()
    clip = _frames("more_clips2/unknown/neg_ezbar_curl_sebitzu.mp4")
    assert count_taught(got, clip) == count_taught(curl, clip) == (1, 0)
    with pytest.raises(InputError, match="already taught"):
        client.import_bytes(data)
    _, bundle = coach.export()
    assert [m.name for m in client.import_bytes(bundle, replace=True)] == ["bicep_curl", "curl_two"]
    client.delete("curl_two")
    assert [m.name for m in client.list()] == ["bicep_curl"] and not tm.is_taught("curl_two")
    raw = json.loads(data)
    for bad, why in ((b"not json", "not JSON"), (json.dumps({"format": "x"}).encode(), "not a Spotter exercise"),
                     (json.dumps({**raw, "name": "../../evil"}).encode(), "damaged"),
                     (json.dumps({**raw, "name": "squat"}).encode(), "built-in"),
                     (json.dumps({**raw, "direction": [1.0] * 17}).encode(), "unit vector"),
                     (json.dumps({**raw, "template": raw["template"][:3]}).encode(), "template"),
                     (json.dumps({**raw, "version": 99}).encode(), "newer Spotter")):
        with pytest.raises(InputError, match=why):
            parse(bad)
    (client.dir / "broken.json").write_text("{")
    assert [m.name for m in client.list()] == ["bicep_curl"] and client.errors[0][0] == "broken.json"
    with pytest.raises(InputError, match="built-in"):
        client.save(curl.model_copy(update={"name": "lunge"}))


def test_command_line_teach_analyze_and_exercises(tmp_path):
    env = {**os.environ, "SPOTTER_DATA": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}

    def spotter(*args, ok=True):
        p = subprocess.run([sys.executable, "-m", "pipeline.tools.cli", *args], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=600)
        assert (p.returncode == 0) == ok, p.stderr[-2000:]
        return p

    jj = str(DATA / "more_clips/unknown/neg_jumping_jacks_outdoor_rjsong.mp4")
    p = spotter("teach", jj, "--name", "Jumping jack", "--to", "1.9", "--cache", "--no-progress", ok=False)
    assert "does not repeat" in p.stderr and p.returncode == 2
    p = spotter("teach", jj, "--name", "Jumping jack", "--cache", "--no-progress", "--chart", str(tmp_path / "jj.png"))
    assert "4 reps found" in p.stdout and (tmp_path / "jj.png").stat().st_size > 5000
    spotter("teach", jj, "--name", "Jumping jack", "--cache", "--no-progress", ok=False)  # exists: --replace
    p = spotter("analyze", str(DATA / "clips/unknown/un03_jumping_jacks_trim.mp4"), "--exercise", "jumping_jack",
                "--out", str(tmp_path / "out"), "--no-video", "--cache", "--no-progress", "--json", "--no-llm")
    rep = json.loads(p.stdout[p.stdout.index("{"):p.stdout.rindex("}") + 1])
    assert rep["exercise"]["label"] == "jumping_jack" and rep["reps"]["count"] == 19
    assert rep["verification"]["passed"] and rep["exercise"]["taught"]["demo_reps"] == 4
    assert spotter("analyze", jj, "--exercise", "nope", "--out", str(tmp_path / "o2"), ok=False).returncode == 2
    assert "jumping_jack: Jumping jack" in spotter("exercises").stdout
    spotter("exercises", "export", "jumping_jack", "--out", str(tmp_path / "jj.json"))
    spotter("exercises", "delete", "jumping_jack")
    assert "no taught exercises" in spotter("exercises").stdout
    assert "imported jumping_jack" in spotter("exercises", "import", str(tmp_path / "jj.json")).stdout


# ------------------------------------------------------------------------------------------ automatic mode
def test_automatic_mode_proposes_a_taught_exercise_and_never_replaces_a_built_in_label(curl):
    from pipeline.live import LivePipeline
    from pipeline.movement.routing import live_router

    if live_router() is None:
        pytest.skip("exercise router weights not installed (models/weights)")
    lp = LivePipeline(exercise=None, router="auto")
    states = [lp.process_pose(pf) for pf in _track("clips/unknown/un13_dumbbell_bicep_curl_side.mp4").frames()]
    lp.finish()
    props = [s.suggestion for s in states if isinstance(s.suggestion, dict)]
    assert props and all(o[0] == curl.name for p in props for o in p["options"]), props[:2]
    assert "Bicep curl" in props[0]["text"]
    assert all(s.exercise == "unknown" and s.count == 0 for s in states)  # proposed, never chosen for the user
    lp.override(curl.name)  # the user accepts: the reps already done are counted
    assert lp.count >= 3
    # a taught exercise like a built-in one: the router's label wins, the taught one is not even proposed
    squat = tm.learn_frames(_frames("clips/squat/sq09_crossfit_airsquat_side_trim.mp4"), name="air_squat",
                            label="Air squat")
    tm.use(squat)
    try:
        lp = LivePipeline(exercise=None, router="auto")
        states = [lp.process_pose(pf) for pf in _track("more_clips/squat/sq_12reps_side_stock_msalihk.mp4").frames()]
        res = lp.finish()
        assert {s.exercise for s in states} <= {"unknown", "squat"} and res.exercise == "squat" and res.reps == 12
        assert not any(isinstance(s.suggestion, dict) for s in states if s.exercise == "squat")
    finally:
        tm.forget("air_squat")


# ------------------------------------------------------------------------------------------ features
def test_body_features_do_not_depend_on_camera_direction_distance_or_body_size():
    track = _track("clips/unknown/un13_dumbbell_bicep_curl_side.mp4")
    W = track.world[track.present][::10].astype(np.float64)
    f = tm.body_features(W)
    a = np.radians(50.0)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])  # about the vertical
    assert np.allclose(tm.body_features(W @ rot.T * 1.7), f, atol=1e-6, equal_nan=True)
    from pipeline.pose.landmarks import MIRROR

    mirror = W[:, MIRROR] * [-1, 1, 1]  # the body's mirror image: left and right landmarks swapped
    assert np.allclose(tm.body_features(mirror), f[:, tm.MIRROR], atol=1e-6, equal_nan=True)
    assert np.allclose(np.stack([tm.body_features(w) for w in W]), f, atol=1e-9, equal_nan=True)


def test_new_exercise_page_lists_exports_and_deletes_taught_exercises(curl, tmp_path, monkeypatch):
    """The app's New exercise page (Streamlit AppTest) over a data folder with one taught exercise: it is in the
    exercise chooser and listed with an export button; Delete removes its file and its chooser entry. A name with
    Markdown in it is shown as text."""
    from streamlit.testing.v1 import AppTest

    from realtime.taught import TaughtLibrary

    lib = TaughtLibrary(tmp_path / "data")
    lib.save(curl.model_copy(update={"label": "Curl *fast* [x](y)", "name": "curl_fast_x_y"}))
    monkeypatch.setenv("SPOTTER_DATA", str(tmp_path / "data"))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    assert "Curl *fast* [x](y) (taught)" in at.sidebar.selectbox[3].options
    at.sidebar.radio[0].set_value("New exercise").run()
    assert not at.exception, at.exception
    (exp,) = at.expander
    assert exp.label.startswith(r"Curl \*fast\* \[x\]\(y\) — taught from")
    assert len(at.get("download_button")) == 1
    at.button(key="del-curl_fast_x_y").click().run()
    assert not at.exception and not at.expander and not lib.exists("curl_fast_x_y")
    assert not any("taught" in o for o in at.sidebar.selectbox[3].options)
    tm.use(curl)  # (the page's load forgot what the data folder no longer holds)

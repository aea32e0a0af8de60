"""``spotter replay`` over a real aiortc peer connection on loopback, and a connection killed mid-set."""
from __future__ import annotations

import json
import os
from pathlib import Path

import av
import pytest

from pipeline.analyze import analyze_file
from pipeline.errors import InputError
from realtime.recorder import read_jsonl
from realtime.replay import replay, run_replay
from realtime.store import Store

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "data" / "clips"
pytestmark = pytest.mark.skipif(not (CLIPS / "manifest.csv").exists(), reason="real clips not found in ../shared")


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("GLOG_minloglevel", "2")
    if not os.environ.get("SPOTTER_CACHE") and (ROOT / ".cache" / "spotter").exists():
        monkeypatch.setenv("SPOTTER_CACHE", str(ROOT / ".cache" / "spotter"))


@pytest.mark.parametrize("clip", ["squat/sq05_barbell_highbar_front.mp4", "push_up/pu01_outdoor_side.mp4",
                                  "shoulder_press/sp01_machine_seated_front.mp4"])
def test_replay_over_webrtc_matches_analyze(clip, capsys):
    batch = analyze_file(CLIPS / clip, None, use_cache=True).report
    assert run_replay(str(CLIPS / clip), json_out=True) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out) == {"sets", "timing", "speech"}
    assert set(out["timing"]) == {"processed_fps", "dropped_ratio", "latency_ms_p50", "latency_ms_p95"}
    reps = sum(s["reps"] for s in out["sets"])
    assert reps == batch.reps.count, (out, batch.reps.count)
    assert {s["exercise"] for s in out["sets"]} == {batch.exercise.label}
    assert out["timing"]["dropped_ratio"] == 0.0 and out["timing"]["processed_fps"] > 5
    for s in out["sets"]:
        assert 0 <= s["start_s"] < s["end_s"]


def test_replay_bad_input_raises(tmp_path):
    with pytest.raises(InputError):
        run_replay(str(tmp_path / "missing.mp4"))
    bad = tmp_path / "notavideo.mp4"
    bad.write_bytes(b"hello" * 100)
    with pytest.raises(InputError):
        run_replay(str(bad))
    with pytest.raises(InputError):
        replay(str(CLIPS / "squat/sq05_barbell_highbar_front.mp4"), exercise="bicep_curl")


def test_connection_killed_mid_set_stores_the_set_and_its_report(tmp_path):
    """The sender vanishes after the first rep of sq05: the receiver notices, closes the set from what it
    captured, stores it with its report, and the recording and landmarks on disk are readable."""
    clip = CLIPS / "squat/sq05_barbell_highbar_front.mp4"
    batch = analyze_file(clip, None, use_cache=True, exercise="squat").report
    ends = [it.end_s for it in batch.reps.items if not it.partial]
    assert len(ends) == 2
    cut = (ends[0] + ends[1]) / 2 + 0.5  # mid-set: one rep done, the second under way
    store = Store(tmp_path / "data")
    r = replay(str(clip), exercise="squat", store=store, stop_after_s=cut)
    assert r["end_reason"] == "connection_lost"
    sid = r["session_id"]
    sess = store.get_session(sid)
    assert sess["status"] == "ended" and sess["note"] == "connection_lost"
    sets = store.sets(sid)
    assert len(sets) == 1 and sets[0]["reps"] == 1 and sets[0]["reason"] == "connection_lost"
    rep = json.loads(sets[0]["report_json"])
    assert rep["reps"]["count"] == 1 and rep["exercise"]["label"] == "squat"
    assert (store.path_of(sets[0]["report_dir"]) / "report.html").exists()
    # what was captured is on disk and readable: landmarks up to the cut, a decodable recording
    lms = list(read_jsonl(store.path_of(sess["landmarks"])))
    assert lms and abs(lms[-1]["t"] - cut) < 0.5
    with av.open(str(store.path_of(sess["video"]))) as c:
        n = sum(1 for _ in c.decode(video=0))
    assert abs(n - len(lms)) <= 3


def test_history_rebuilds_renders_and_recovers_from_the_logs(tmp_path):
    """A session's sets come back from its landmark log alone (no pose pass); a set's annotated video renders
    from the recording; a session a crash left 'live' is recovered with its sets."""
    from realtime.history import rebuild_sets, recover_session, render_set_video

    clip = CLIPS / "squat/sq05_barbell_highbar_front.mp4"
    store = Store(tmp_path / "data")
    r = replay(str(clip), exercise="squat", store=store, webrtc=False)
    sid = r["session_id"]
    rebuilt = rebuild_sets(store, sid)
    assert [(s.exercise, s.reps) for s in rebuilt] == [(s["exercise"], s["reps"]) for s in r["sets"]]
    row = store.sets(sid)[0]
    mp4 = render_set_video(store, row["id"])
    with av.open(str(mp4)) as c:
        assert sum(1 for _ in c.decode(video=0)) > 30
    # simulate a crash: the session row says live and its sets were never stored
    with store._conn() as c:
        c.execute("UPDATE sessions SET status='live' WHERE id=?", (sid,))
        c.execute("DELETE FROM sets WHERE session_id=?", (sid,))
    assert recover_session(store, sid) == len(rebuilt)
    assert store.get_session(sid)["status"] == "interrupted"
    assert [s["reps"] for s in store.sets(sid)] == [s.reps for s in rebuilt]

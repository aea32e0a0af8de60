"""The voice (realtime/speech.py): what is said and when, on real clips through the live session, and the audio.

Pose comes from the pose cache (``SPOTTER_CACHE``) through :class:`realtime.sources.ReplayedPose`; the frames are
decoded for real and go through ``LiveSession.on_frame`` (QC, router-free movement, cue gate, sets). Speech is
decided in the session exactly as live; the synthesis is real espeak-ng (the ``espeakng-loader`` wheel)."""
from __future__ import annotations

import dataclasses
import io
import json
import logging
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from pipeline.intake.video import VideoReader
from pipeline.movement.analyzer import MovementAnalyzer
from pipeline.pose.estimator import PoseFrame
from pipeline.pose.qc import QCWarning
from pipeline.pose.track import extract_pose
from realtime import speech as speech_mod
from realtime.session import LiveSession, SessionConfig
from realtime.sources import ReplayedPose
from realtime.speech import (
    CACHE,
    PRAISE,
    REST_OVER,
    Speech,
    SpeechConfig,
    SpeechPlanner,
    TTSUnavailable,
    Utterance,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CLIPS = DATA / "clips"
MORE = DATA / "more_clips"

needs_clips = pytest.mark.skipif(not (CLIPS / "manifest.csv").exists(), reason="real clips not found in ../shared")

# (clip, exercise): side, front and long sets of the three exercises
COUNT_CLIPS = [(CLIPS / "squat/sq09_crossfit_airsquat_side_trim.mp4", "squat"),
               (CLIPS / "push_up/pu01_outdoor_side.mp4", "push_up"),
               (CLIPS / "shoulder_press/sp01_machine_seated_front.mp4", "shoulder_press"),
               (MORE / "squat/sq_12reps_side_stock_msalihk.mp4", "squat")]
LONG = MORE / "squat/sq_12reps_side_stock_msalihk.mp4"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path.name} not found in ../shared")
    return path


# ------------------------------------------------------------------------------------------------ helpers
def _stream(clips: list[Path], pause_s: float = 0.0, hold: bool = False):
    """(image, t, pose) of the clips one after the other with ``pause_s`` between them: an empty dark room, or
    (``hold``) the athlete standing still as on the last frame before the pause."""
    out, end = [], 0.0
    for k, clip in enumerate(clips):
        _, track = extract_pose(_need(clip), use_cache=True)
        frames = list(VideoReader(clip))
        off = (end + pause_s + 1 / 30 - frames[0].t) if k else 0.0
        if k and pause_s > 0:
            h, w = frames[0].image.shape[:2]
            last_img, _, last_pf = out[-1]
            t = end + 1 / 30
            while t < end + pause_s:
                out.append((last_img, t, dataclasses.replace(last_pf, t=t)) if hold else
                           (np.full((h, w, 3), 12, np.uint8), t, PoseFrame.empty(t, w, h)))
                t += 1 / 30
        for fr, pf in zip(frames, track.frames()):
            out.append((fr.image, fr.t + off, dataclasses.replace(pf, t=pf.t + off)))
        end = out[-1][1]
    return out


def _run(stream, exercise: str, speech: SpeechConfig | None = None, rest_s: float = 8.0, every_frame=None):
    s = LiveSession(SessionConfig(exercise=exercise, rest_s=rest_s, speech=speech),
                    estimator=ReplayedPose([pf for *_, pf in stream]), threaded=False)
    for img, t, _ in stream:
        s.on_frame(img, t)
        if every_frame is not None:
            every_frame(s, t)
    s.close()
    assert s.errors == 0, s.last_error
    return s


def _said(s: LiveSession, kind: str | None = None) -> list[Utterance]:
    return [u for u in s.speech.history() if kind is None or u.kind == kind]


def _wav_samples(u: Utterance) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(u.wav)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), "<i2"), w.getframerate()


def _assert_audio(u: Utterance) -> None:
    assert u.status == "ready", (u.text, u.status, u.why)
    pcm, rate = _wav_samples(u)
    assert len(pcm) > 0 and rate > 0
    assert u.audio_ms > 0 and u.audio_ms == round(1000.0 * len(pcm) / rate, 1)
    assert np.abs(pcm.astype(np.int32)).max() > 2000  # a voice, not silence


# ------------------------------------------------------------------------------------------------ on real clips
@needs_clips
@pytest.mark.parametrize("clip,exercise", COUNT_CLIPS, ids=lambda x: getattr(x, "stem", x))
def test_one_spoken_count_per_counted_rep_and_a_spoken_end_of_set(clip, exercise):
    s = _run(_stream([clip]), exercise)
    assert s.sets, "no set found"
    counts = [int(u.text) for u in _said(s, "count")]
    expect = [n for e in s.sets for n in range(1, e.reps + 1)]
    assert counts == expect and len(counts) == sum(e.reps for e in s.sets)
    # each count is said on the frame that completed the rep: in order, inside its set
    for e in s.sets:
        ts = [u.t for u in _said(s, "count") if e.start_s <= u.t <= e.end_s]
        assert len(ts) == e.reps and ts == sorted(ts)
    ends = _said(s, "set")
    assert [u.text for u in ends] == [f"Set done, {e.reps} rep{'s' if e.reps != 1 else ''}." for e in s.sets]
    assert ends[-1].t >= max(u.t for u in _said(s, "count"))
    for u in _said(s):  # the audio produced for every utterance
        _assert_audio(u)
    # nothing said while resting or after the set (only the end of the set itself)
    assert [u.kind for u in _said(s) if u.t > s.sets[-1].end_s] in ([], ["set"])


@needs_clips
def test_count_every_five_or_off():
    stream = _stream([LONG])
    every5 = _run(stream, "squat", SpeechConfig(count="5"))
    reps = sum(e.reps for e in every5.sets)
    assert reps >= 10
    assert [int(u.text) for u in _said(every5, "count")] == list(range(5, reps + 1, 5))
    off = _run(stream, "squat", SpeechConfig(count="off"))
    assert _said(off, "count") == [] and [u.kind for u in _said(off)][-1] == "set"


@needs_clips
def test_mute_silences_all_of_it():
    stream = _stream([CLIPS / "squat/sq09_crossfit_airsquat_side_trim.mp4"])
    on = _run(stream, "squat")
    muted = _run(stream, "squat", SpeechConfig(muted=True))
    said = _said(muted)
    assert said, "nothing decided"
    # the same decisions, listed as muted, and no audio at all
    assert [(u.t, u.kind, u.text) for u in said] == [(u.t, u.kind, u.text) for u in _said(on)]
    assert all(u.status == "muted" and u.wav is None and u.audio_ms == 0 for u in said)
    assert all(d.get("muted") is True and d["audio_ms"] == 0 for d in (u.as_dict() for u in said))
    assert muted.speech.timing()["audio_ms_total"] == 0 and on.speech.timing()["audio_ms_total"] > 0


def _propose_cues(monkeypatch, codes: dict[int, tuple[str, str]] | None = None, every: list | None = None):
    """Make the movement stage propose a cue on reps (as a confident issue would), to test the gates on real rep
    timing whatever the rules find on these clips. ``codes``: rep index → (code, text); ``every``: cycle these."""
    orig = MovementAnalyzer._close_pending
    seen = []

    def close_pending(self, st=None):
        res = orig(self, st)
        seen.append(res)
        if st is not None and not res.rep.partial:
            pick = (codes or {}).get(res.rep.index) if codes is not None else every[res.rep.index % len(every)]
            if pick is not None:
                st.cue_code, st.cue = pick
        return res
    monkeypatch.setattr(MovementAnalyzer, "_close_pending", close_pending)
    return seen


@needs_clips
def test_cues_at_least_4s_apart_never_while_resting(monkeypatch):
    """Two sets of the 12-rep squat (a rep every ~2.3 s), standing still between them; every rep proposes a cue (two
    codes in turn), and two more cues are proposed while resting: 5 s after the last rep of the first set (the
    session shows "resting") and ~3 s after that set ended (8 s without a rep). Spoken cues: only ones the visual
    gate showed, at least 4 s apart, none while resting."""
    import pipeline.live as live_mod

    _propose_cues(monkeypatch, every=[("forward_lean", "Chest up"), ("shallow_squat", "Sit deeper")])
    probes: list[float] = []
    orig_process = live_mod.LivePipeline.process_pose

    def process_pose(self, pf, stats=None):
        st = orig_process(self, pf, stats)
        mv = self.movement
        reps = mv.counter.reps if mv is not None else []
        if not probes and st.count > 0 and reps and st.t - reps[-1].end_t > 5.0:
            st.cue_code, st.cue = "knee_valgus", "Push your knees out"  # paused at the top: resting
            probes.append(st.t)
        elif len(probes) == 1 and self.sets and st.count == 0 and st.t - self.sets[-1].t_end > 10.0:
            st.cue_code, st.cue = "lateral_shift", "Stay centred"  # the first set is done: between sets
            probes.append(st.t)
        return st
    monkeypatch.setattr(live_mod.LivePipeline, "process_pose", process_pose)

    states = {}
    s = _run(_stream([LONG, LONG], pause_s=12.0, hold=True), "squat",
             every_frame=lambda s, t: states.__setitem__(round(t, 3), s.status().state))
    assert len(s.sets) == 2 and all(e.reps >= 10 for e in s.sets)
    cues = _said(s, "cue")
    shown = list(s.cues.shown)
    assert len(cues) >= 4, cues  # the gate lets some through ...
    assert len(cues) < sum(e.reps for e in s.sets) // 2  # ... and holds most back
    gaps = np.diff([u.t for u in cues])
    assert (gaps >= 4.0 - 1e-6).all(), gaps
    # the probes reached the visual gate, while the session was resting / between sets, and were not said
    assert len(probes) == 2
    assert states[round(probes[0], 3)] == "resting" and s.sets[0].end_s < probes[1] < s.sets[1].start_s
    assert {round(t, 3) for t in probes} <= {round(t, 3) for t, _ in shown}
    assert not any(abs(u.t - p) < 1e-3 for u in cues for p in probes)
    # never while resting
    assert not any(s.sets[0].end_s < u.t < s.sets[1].start_s for u in cues)
    assert all(states.get(round(u.t, 3)) != "resting" for u in cues)
    # the same gate as the visual cue: every spoken cue was shown at that very frame
    assert {(round(u.t, 3), u.code) for u in cues} <= {(round(t, 3), c) for t, c in shown}
    for u in cues:
        _assert_audio(u)


@needs_clips
def test_praise_when_the_cued_fault_is_gone_on_the_next_rep(monkeypatch):
    clip = CLIPS / "squat/sq09_crossfit_airsquat_side_trim.mp4"
    stream = _stream([clip])
    # first pass: what the rules find on rep 2 of this clip (judged and clear)
    seen = _propose_cues(monkeypatch, codes={})
    _run(stream, "squat")
    rep2 = next(r for r in seen if r.rep.index == 2)
    flagged = {i.code for i in rep2.issues} | {i.code for i in getattr(rep2, "borderline", [])}
    unjudged = {nj.code for nj in rep2.unjudged}
    from pipeline.movement.exercises import get

    clear = [r for r in get("squat").issue_rules if r.code not in flagged | unjudged]
    assert clear, "no rule judged and clear on rep 2"
    rule = clear[0]
    # second pass: that fault is cued on rep 1; rep 2 shows it gone → a short positive note, once
    monkeypatch.undo()
    _propose_cues(monkeypatch, codes={1: (rule.code, rule.cue)})
    s = _run(stream, "squat")
    kinds = [u.kind for u in _said(s)]
    cue = _said(s, "cue")
    praise = _said(s, "praise")
    assert [u.code for u in cue] == [rule.code] and [u.code for u in praise] == [rule.code]
    assert praise[0].text in PRAISE and praise[0].t > cue[0].t
    counts = _said(s, "count")
    assert counts[1].t < praise[0].t < counts[2].t  # after rep 2 was measured, before rep 3
    assert kinds.count("praise") == 1
    _assert_audio(praise[0])


@needs_clips
def test_setup_guidance_before_the_first_rep_rate_limited():
    """An empty dark room for 40 s, then a set: the set-up phrase is said after it has stood 2 s, then not more than
    once every 45 s for the same phrase; nothing once the set has started."""
    clip = CLIPS / "squat/sq09_crossfit_airsquat_side_trim.mp4"
    _, track = extract_pose(clip, use_cache=True)
    first = next(iter(VideoReader(clip)))
    h, w = first.image.shape[:2]
    dark = [(np.full((h, w, 3), 12, np.uint8), k / 30, PoseFrame.empty(k / 30, w, h)) for k in range(0, 40 * 30)]
    stream = dark + [(img, t + 40.0 + 1 / 30, dataclasses.replace(pf, t=pf.t + 40.0 + 1 / 30))
                     for img, t, pf in _stream([clip])]
    s = _run(stream, "squat")
    setup = _said(s, "setup")
    assert setup, "no set-up guidance in a dark empty room"
    assert setup[0].t >= 2.0
    by_text: dict[str, list[float]] = {}
    for u in setup:
        by_text.setdefault(u.text, []).append(u.t)
    for ts in by_text.values():
        assert (np.diff(ts) >= 45.0 - 1e-6).all(), ts
    assert (np.diff([u.t for u in setup]) >= 15.0 - 1e-6).all()
    assert len(setup) <= 4  # not nagging: 40 s of a bad picture
    first_count = _said(s, "count")[0].t
    assert all(u.t < first_count for u in setup)
    for u in setup:
        _assert_audio(u)


def test_replay_json_lists_the_speech():
    """``spotter replay VIDEO --json`` over the aiortc loopback (real MediaPipe) lists what the voice said."""
    clip = _need(CLIPS / "squat/sq05_barbell_highbar_front.mp4")
    p = subprocess.run([sys.executable, "-m", "pipeline.tools.cli", "replay", str(clip), "--json",
                        "--exercise", "squat"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert sum(x["reps"] for x in out["sets"]) >= 2
    sp = out["speech"]
    assert all(set(u) == {"t", "kind", "text", "audio_ms"} for u in sp), sp
    assert [u["text"] for u in sp if u["kind"] == "count"] == [str(n) for x in out["sets"]
                                                             for n in range(1, x["reps"] + 1)]
    assert [u["kind"] for u in sp].count("set") == len(out["sets"])
    assert all(u["audio_ms"] > 0 and u["kind"] in speech_mod.KINDS for u in sp)


def test_replay_options_mute_and_count_mode(monkeypatch):
    """``--mute`` and ``--speak-count`` reach the session; muted entries are listed with ``"muted": true`` and no
    audio (same clip and poses as above, fed directly)."""
    from pipeline.tools.cli import build_parser
    from realtime import replay as replay_mod

    got = {}
    monkeypatch.setattr(replay_mod, "replay", lambda video, **kw: got.update(kw) or {
        "sets": [], "timing": {k: 0 for k in ("processed_fps", "dropped_ratio", "latency_ms_p50", "latency_ms_p95")},
        "speech": [], "speech_timing": {"with_audio": 0}})
    a = build_parser().parse_args(["replay", "x.mp4", "--json", "--mute", "--speak-count", "5"])
    assert a.func(a) == 0 and got["speech"] == SpeechConfig(count="5", muted=True)
    monkeypatch.undo()
    clip = _need(CLIPS / "squat/sq05_barbell_highbar_front.mp4")
    _, track = extract_pose(clip, use_cache=True)
    r = replay_mod.replay(str(clip), exercise="squat", webrtc=False, estimator=ReplayedPose(track.frames()),
                          speech=SpeechConfig(count="off", muted=True))
    assert r["sets"] and r["speech"], r["speech"]
    assert not any(u["kind"] == "count" for u in r["speech"])
    assert all(u["muted"] is True and u["audio_ms"] == 0 for u in r["speech"])
    assert r["speech_timing"]["audio_ms_total"] == 0


# ------------------------------------------------------------------------------------------------ the planner
def _plan(cfg=None):
    return SpeechPlanner(cfg or SpeechConfig())


def test_planner_rest_between_sets_and_end_of_set():
    p = _plan(SpeechConfig(break_s=60.0))
    assert p.set_done(30.0, 1, "rest") == [("set", "Set done, 1 rep.", None)]
    assert p.break_left(50.0) == pytest.approx(40.0)
    assert p.frame(89.0, count=0, set_index=2) == []
    assert p.frame(90.0, count=0, set_index=2) == [("rest", REST_OVER, None)]
    assert p.frame(91.0, count=0, set_index=2) == [] and p.break_left(91.0) is None
    # a new set before the rest is over: no "rest over"
    p.set_done(100.0, 8, "user")
    assert p.frame(120.0, count=1, set_index=3) == [("count", "1", None)]
    assert p.frame(170.0, count=1, set_index=3) == []
    # the link was lost: nobody to speak to
    assert p.set_done(200.0, 3, "connection_lost") == [] and p.break_left(200.0) is None


def test_planner_no_cue_while_resting_and_praise_rules():
    from types import SimpleNamespace as NS

    def rep(index, issues=(), unjudged=(), partial=False, borderline=()):
        return NS(rep=NS(index=index, partial=partial), issues=[NS(code=c) for c in issues],
                  borderline=[NS(code=c) for c in borderline], unjudged=[NS(code=c) for c in unjudged])

    p = _plan()
    p.frame(1.0, count=1, set_index=1, phase="top")
    # resting (at the top, > 2 s after the last rep): a cue offered now is not said
    assert p.frame(3.5, count=1, set_index=1, phase="top", cue=("a", "Do A")) == []
    assert p.frame(4.0, count=2, set_index=1, phase="top") == [("count", "2", None)]
    assert p.frame(4.5, count=2, set_index=1, phase="top", cue=("a", "Do A"), rep=rep(2, ["a"])) == \
        [("cue", "Do A.", "a")]
    # next full rep: the fault is still flagged as borderline → no praise
    p.frame(7.0, count=3, set_index=1)
    assert p.frame(7.5, count=3, set_index=1, rep=rep(3, borderline=["a"])) == []
    # cue again, then a partial rep (waits), then a rep where the rule could not be judged → no praise
    p.frame(12.0, count=4, set_index=1)
    p.frame(12.5, count=4, set_index=1, cue=("a", "Do A"), rep=rep(4, ["a"]))
    assert p.frame(14.0, count=4, set_index=1, rep=rep(0, partial=True)) == []
    assert p.frame(16.5, count=5, set_index=1, rep=rep(5, unjudged=["a"])) == [("count", "5", None)]
    # cue, then a clean judged rep → praise, once
    p.frame(20.5, count=6, set_index=1, cue=("a", "Do A"), rep=rep(6, ["a"]))
    out = p.frame(23.0, count=7, set_index=1, rep=rep(7))
    assert out == [("count", "7", None), ("praise", PRAISE[0], "a")]
    assert p.frame(25.0, count=8, set_index=1, rep=rep(8)) == [("count", "8", None)]
    # a cue followed by a new set: no praise carried over
    p.frame(30.0, count=9, set_index=1, cue=("b", "Do B"), rep=rep(9, ["b"]))
    assert p.frame(40.0, count=1, set_index=2, rep=rep(1)) == [("count", "1", None)]


def test_planner_setup_guidance_only_stable_and_before_the_first_rep():
    cut = QCWarning("body_cut_off", "The body needed for this exercise is fully visible on only 40% of frames: "
                                    "step back until your feet are in the frame.", 0.4)
    p = _plan()
    said = []
    for k in range(0, 200):  # 100 s at 2 frames a second
        t = k * 0.5
        said += [(t, x) for x in p.frame(t, count=0, set_index=1, hints=[cut], first_rep_pending=True)]
    assert [x[1][1] for x in said][0] == "Step back until your feet are in the frame."
    assert [t for t, _ in said] == [2.0, 47.0, 92.0]  # stable 2 s, then the same phrase every 45 s at most
    # mid-rep or once a rep is done: never
    assert p.frame(200.0, count=0, set_index=1, phase="lowering", hints=[cut], first_rep_pending=True) == []
    assert p.frame(300.0, count=1, set_index=1, hints=[cut], first_rep_pending=False) == [("count", "1", None)]


def test_planner_disabled_says_nothing_but_keeps_the_set_clock():
    p = _plan(SpeechConfig(enabled=False, break_s=30.0))
    assert p.frame(1.0, count=1, set_index=1) == []
    assert p.set_done(10.0, 1, "rest") == [] and p.break_left(20.0) == pytest.approx(20.0)
    with pytest.raises(ValueError):
        SpeechConfig(count="3")


# ------------------------------------------------------------------------------------------------ the audio
def test_every_utterance_gets_its_audio_and_phrases_are_cached():
    sp = Speech(SpeechConfig(), threaded=False)
    CACHE.clear()
    sp.frame(1.0, time.perf_counter(), count=1, set_index=1)
    sp.frame(2.0, time.perf_counter(), count=2, set_index=1)
    sp.set_done(12.0, time.perf_counter(), 2, "rest")
    sp.frame(100.0, time.perf_counter(), count=0, set_index=2)
    sp.frame(101.0, time.perf_counter(), count=1, set_index=2)  # "1" again: from the cache
    sp.close()
    said = sp.history()
    assert [u.kind for u in said] == ["count", "count", "set", "rest", "count"]
    for u in said:
        _assert_audio(u)
    assert not said[0].cached and said[4].cached and said[4].wav == said[0].wav
    # longer phrases give longer audio; the page gets them in order, with their sequence numbers
    assert said[3].audio_ms > said[2].audio_ms > said[0].audio_ms
    assert [u.seq for u in sp.events(0)] == [1, 2, 3, 4, 5] and [u.seq for u in sp.events(3)] == [4, 5]
    assert sp.seq == 5
    msg = json.loads(said[0].message())
    assert msg["type"] == "speech" and msg["kind"] == "count" and msg["text"] == "1" and msg["wav_b64"]


def test_audio_is_kept_only_for_what_the_page_can_still_fetch():
    sp = Speech(SpeechConfig(keep=3), threaded=False)
    for n in range(1, 7):
        sp.frame(float(n), time.perf_counter(), count=n, set_index=1)
    sp.close()
    said = sp.history()
    assert [u.text for u in said] == ["1", "2", "3", "4", "5", "6"]  # the listing keeps every utterance
    assert [u.seq for u in sp.events(0)] == [4, 5, 6] and all(u.wav for u in sp.events(0))
    assert all(u.wav is None and u.audio_ms > 0 for u in said[:3])  # older audio released


def test_volume_scales_the_audio():
    full, half = Speech(SpeechConfig(), threaded=False), Speech(SpeechConfig(volume=0.5), threaded=False)
    for sp in (full, half):
        sp.frame(1.0, time.perf_counter(), count=3, set_index=1)
        sp.close()
    a, _ = _wav_samples(full.history()[0])
    b, _ = _wav_samples(half.history()[0])
    assert len(a) == len(b) and 0.45 < np.abs(b).max() / np.abs(a).max() < 0.55


def test_no_voice_degrades_to_text_with_one_log_line(monkeypatch, caplog):
    def broken(cfg):
        raise TTSUnavailable("OSError: libespeak-ng.so: cannot open shared object file")
    monkeypatch.setattr(speech_mod, "make_engine", broken)
    with caplog.at_level(logging.WARNING, logger="realtime.speech"):
        sp = Speech(SpeechConfig(), threaded=False)
        for n in (1, 2, 3):
            sp.frame(float(n), time.perf_counter(), count=n, set_index=1)
        sp.close()
    said = sp.history()
    assert [u.text for u in said] == ["1", "2", "3"]
    assert all(u.status == "text_only" and u.wav is None and u.audio_ms == 0 for u in said)
    assert sum("offline voice unavailable" in r.getMessage() for r in caplog.records) == 1


def test_live_speech_never_waits():
    """Live (threaded): a voice that hangs never blocks the caller; the oldest waiting utterance is dropped when the
    queue is full, and one that waited past max_delay_s is dropped instead of said late."""
    import threading

    release = threading.Event()

    class StuckVoice:
        name, voice, rate_wpm, sample_rate = "stuck", "x", 1, 16000

        def synth(self, text):
            release.wait(10)
            return (np.sin(np.arange(1600) / 3) * 8000).astype(np.int16)

    CACHE.clear()
    sp = Speech(SpeechConfig(max_queue=2, max_delay_s=0.3), threaded=True, engine=StuckVoice())
    for n in range(1, 9):  # the voice is stuck: every call must still return at once
        sp.frame(float(n), time.perf_counter(), count=n, set_index=1)
    time.sleep(0.5)  # the two still waiting are now older than max_delay_s
    release.set()
    sp.close(timeout=10.0)
    said = sp.history()
    assert len(said) == 8
    why = [u.why for u in said if u.status == "dropped"]
    assert why.count("queue_full") >= 5 and "late" in why
    assert [u.status for u in said].count("ready") == 1  # the one being synthesised when the voice hung
    assert len(sp.events(0)) == 8  # the page learns about every utterance, dropped ones without audio

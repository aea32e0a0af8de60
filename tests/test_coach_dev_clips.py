"""The coach's words on every dev clip: Spotter's own text passes its verifier, every kind of note the deterministic
writer can produce is seen and passes, and a model's prose changes no fact.

Reports come from the normal batch analysis with the pose cache (``SPOTTER_CACHE``): no pose pass for a clip whose
pose is cached. Two variants of each report add the notes the clips lack on their own: a user who chose another
exercise (the intent note) and a pose tracked on only 60 % of frames (the pose note)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.coach import load_cards, verify_summary, write_summary
from pipeline.coach.deterministic import NOT_JUDGED_WHY, deterministic_summary, not_judged_why
from pipeline.coach.evidence import extract_evidence
from pipeline.coach.llm import Generation, LocalLLM
from pipeline.coach.prose import structured_parts
from pipeline.schema import Profile

from conftest import SHARED

CARDS = load_cards()
MANIFESTS = [SHARED / "data" / d / "manifest.csv" for d in ("clips", "more_clips", "more_clips2")]
NOTE_KINDS = {"pose", "view", "router", "video", "not_judged", "borderline", "intent"}


@pytest.fixture(scope="module")
def dev_reports():
    if not all(m.exists() for m in MANIFESTS):
        pytest.skip("../shared/data/{clips,more_clips,more_clips2} not found")
    from pipeline.tools.coach_eval import dev_reports as build

    reps = build(MANIFESTS, progress=False)
    assert len(reps) >= 60  # 63 dev clips today, every one with a person in view
    return reps


def _variants(name, rep):
    yield name, rep
    other = rep.model_copy(deep=True)
    label = other.exercise.label if other.exercise else "unknown"
    other.profile = Profile(intended_exercise="lunge" if label != "lunge" else "squat", experience="beginner")
    other.pose.valid_ratio = 0.6
    yield f"{name} (chose another exercise, pose on 60 %)", other


def test_deterministic_text_passes_on_every_dev_clip_with_every_kind_of_note(dev_reports):
    failed, kinds, whys, variations, n = [], set(), set(), set(), 0
    for name, rep in dev_reports:
        for vname, r in _variants(name, rep):
            s, v = write_summary(r, llm=False)
            n += 1
            assert s.source == "deterministic" and s.reason == "model disabled"
            if not v.passed or verify_summary(s, r):
                failed.append((vname, [(f.check, f.section, f.detail) for f in v.failures]))
            # never trimmed: the text the writer wrote is the text that passed
            assert s == deterministic_summary(r, CARDS, reason="model disabled").model_copy(
                update={"written_by": s.written_by}), vname
            kinds |= {c.reason for c in s.confidence_notes}
            variations |= {x.code for x in s.variation_notes}
            whys |= {not_judged_why(n_.reason) for n_ in r.not_judged}
    assert not failed, failed
    assert n >= 120
    assert kinds == NOTE_KINDS, NOTE_KINDS - kinds
    assert len(variations) >= 5, variations
    # every way the not-judged note explains itself, except the frames reason (no dev clip is that sparse)
    assert {w for _, w in NOT_JUDGED_WHY} - whys <= {"because too few video frames covered the moment that decides it"}


def test_notes_of_spotters_own_facts_never_fail_issue_label(dev_reports):
    """The held-out failure: a borderline note naming an issue ('... incomplete lockout on rep 4', 'heels lifting on
    reps 2 and 3') failed issue_label as a fault 'that was not detected'."""
    seen = set()
    for name, rep in dev_reports:
        ev = extract_evidence(rep)
        s = deterministic_summary(rep, CARDS)
        for f in verify_summary(s, rep, CARDS):
            assert f.check != "issue_label", (name, f)
        for c in s.confidence_notes:
            if c.reason in ("borderline", "not_judged"):
                seen.add(c.reason)
                codes = ev.borderline_codes if c.reason == "borderline" else list(ev.not_judged)
                assert codes and all(CARDS.issues[code].title.lower() in c.text.lower() for code in codes), c.text
    assert seen == {"borderline", "not_judged"}


class _SlotWriter(LocalLLM):
    """A stand-in model that writes prose with every slot it is offered."""
    def __init__(self):
        super().__init__(path=Path("slot-writer.gguf"))

    def generate(self, messages, grammar, timeout_s, **kw):
        rules = dict(line.split(" ::= ", 1) for line in grammar.splitlines())
        text = {}
        for key in re.findall(r'\\"(\w+)\\":', rules["root"]):
            slots = re.findall(r'"(\{\w+\})"', rules.get(f"{key.replace('_', '-')}-slot", ""))
            text[key] = (f"Steady work. {' and '.join(slots)} were as planned." if slots
                         else "Steady, even work from start to finish.")
        return Generation(json.dumps(text), tokens=40, seconds=0.2, first_token_s=0.05)


def test_structured_parts_are_the_same_whichever_writer_ran(dev_reports):
    writer = _SlotWriter()
    by_source = {"model": 0, "deterministic": 0}
    for name, rep in dev_reports:
        ev = extract_evidence(rep)
        s, v = write_summary(rep, llm=writer, attempts=1)
        det = deterministic_summary(rep, CARDS)
        by_source[s.source] += 1
        assert v.passed, (name, v.attempts)
        assert structured_parts(s, ev, CARDS) == structured_parts(det, ev, CARDS), name
        assert s.headline == det.headline and s.confidence_notes == det.confidence_notes
    assert by_source["model"] >= len(dev_reports) - 2, by_source


class _HeldWriter(_SlotWriter):
    """Writes like _SlotWriter, but only once the test lets it (so the page's "for now" state can be seen)."""
    def __init__(self):
        super().__init__()
        import threading

        self.go = threading.Event()

    def generate(self, *a, **k):
        assert self.go.wait(60)
        return super().generate(*a, **k)


def test_live_set_shows_the_built_in_text_at_once_then_the_models(tmp_path):
    import time

    from pipeline.intake.video import VideoReader
    from pipeline.pose.track import extract_pose
    from realtime.session import LiveSession, SessionConfig
    from realtime.sources import ReplayedPose
    from realtime.store import Store

    clip = SHARED / "data" / "clips" / "squat" / "sq05_barbell_highbar_front.mp4"
    if not clip.exists():
        pytest.skip("../shared/data/clips not found")
    writer = _HeldWriter()
    _, track = extract_pose(clip, use_cache=True)
    store = Store(tmp_path / "data")
    s = LiveSession(SessionConfig(exercise="squat", llm=writer, record_video=False), store=store,
                    estimator=ReplayedPose(track.frames()), threaded=False)
    for fr in VideoReader(clip):
        s.on_frame(fr.image, fr.t)
    s.close("stream_ended")
    e = s.sets[0]
    deadline = time.time() + 60
    while time.time() < deadline and e.report is None:
        time.sleep(0.05)
    assert e.summary_status == "pending"
    first = e.report["summary"]
    assert first["source"] == "deterministic" and "for now" in first["written_by"]
    writer.go.set()
    while time.time() < deadline and e.summary_status == "pending":
        time.sleep(0.05)
    assert e.summary_status == "model", (e.summary_status, e.error)
    final = e.report["summary"]
    assert final["source"] == "model" and final["written_by"].startswith("Written by the local model slot-writer")
    assert final["headline"] == first["headline"] and final["confidence_notes"] == first["confidence_notes"]
    stored = json.loads(store.sets(s.session_id)[0]["report_json"])
    assert stored["summary"]["written_by"] == final["written_by"]

"""Cards, evidence, deterministic summary, write_summary fallback chain (model faked), schema export."""
from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from pipeline.coach import CHECKS, load_cards, verify_summary, write_summary
from pipeline.coach.deterministic import deterministic_summary
from pipeline.coach.evidence import extract_evidence
from pipeline.coach.llm import Generation, LocalLLM, build_schema
from pipeline.coach.samples import EXERCISE_ISSUES, EXERCISE_VARIATIONS, sample_report
from pipeline.coach.verifier import _MED_RE, check_text, negated
from pipeline.schema import Profile, Report

CARDS = load_cards()

# the codes and cues the movement core emits (from the issue)
CUES = {"shallow_squat": "Sit deeper", "knee_valgus": "Push your knees out", "forward_lean": "Chest up",
        "lateral_shift": "Stay centred", "hip_sag": "Squeeze glutes, hips in line",
        "hip_pike": "Lower your hips into line", "shallow_push_up": "Chest closer to the floor",
        "elbow_flare": "Tuck your elbows", "incomplete_lockout": "Finish the press overhead",
        "back_arch": "Ribs down, squeeze glutes", "uneven_press": "Press both arms evenly",
        "bar_path_drift": "Press straight up", "heel_rise": "Keep your heels down",
        "hips_rise_first": "Chest and hips up together", "chest_down": "Chest up before you pull",
        "soft_lockout": "Squeeze your glutes to finish", "bar_drift": "Keep the bar close",
        "heel_lift": "Drive through your heels", "arms_bending": "Long arms, pull with the legs",
        "fast_lowering": "Lower the bar with control", "rounded_back": "Brace, back flat",
        "shallow_lunge": "Lower the back knee", "lunge_forward_lean": "Tall chest, hips under you",
        "knee_past_toes": "Step a little longer", "front_knee_valgus": "Knee over your middle toes",
        "lateral_balance": "Stay steady over your front foot"}
VARIATIONS = {"squat": ["pause_squat", "wide_stance", "narrow_stance"],
              "push_up": ["knee_push_up", "wide_grip_push_up", "close_grip_push_up"],
              "shoulder_press": ["seated_press", "standing_press", "push_press", "arnold_press", "wide_grip_press",
                                 "close_grip_press"],
              "deadlift": ["romanian_deadlift", "sumo_deadlift", "conventional_deadlift"],
              "lunge": ["walking_lunge", "forward_lunge", "reverse_lunge", "split_squat"]}


# ------------------------------------------------------------------ cards

def test_every_code_has_a_card():
    assert set(CARDS.exercises) == {"squat", "push_up", "shoulder_press", "deadlift", "lunge", "unknown"}
    assert set(CARDS.issues) == set(CUES)
    assert set(CARDS.variations) == {v for vs in VARIATIONS.values() for v in vs}
    for code, cue in CUES.items():
        assert CARDS.issues[code].cue == cue
    for ex, vs in VARIATIONS.items():
        assert all(CARDS.variations[v].exercise == ex for v in vs)


def test_cards_are_complete_and_make_no_medical_claims():
    for card in [*CARDS.exercises.values(), *CARDS.issues.values(), *CARDS.variations.values()]:
        assert 2 <= len(card.fixes) <= 3 and card.cue and card.good and card.why and card.not_an_issue, card.code
        texts = [card.good, card.why, card.cue, *card.fixes, *card.not_an_issue]
        for t in texts:
            for cat, rx in _MED_RE:
                for m in rx.finditer(t):
                    assert negated(t, m.start()), f"{card.code}: {cat} '{m.group(0)}' in {t!r}"
        # text that goes into summaries must carry no numbers the evidence could not back
        for t in [card.why, *card.fixes, *card.not_an_issue, card.cue]:
            assert not re.search(r"\d", t), (card.code, t)
    # terms recognise the card's own title
    for card in [*CARDS.issues.values(), *CARDS.variations.values()]:
        assert card.terms, card.code


def test_for_report_orders_exercise_issue_variation():
    cs = CARDS.for_report("squat", ["knee_valgus", "knee_valgus", "made_up"], ["wide_stance"])
    assert [c.code for c in cs] == ["squat", "knee_valgus", "wide_stance"]


# ------------------------------------------------------------------ evidence

def test_evidence_orders_issues_by_severity_and_collects_reps():
    r = sample_report("squat", reps=8, issues={"shallow_squat": [7], "knee_valgus": [2, 4, 5]},
                      severities={"shallow_squat": 0.4, "knee_valgus": 0.9})
    ev = extract_evidence(r)
    assert ev.issue_codes == ["knee_valgus", "shallow_squat"]
    assert ev.issue("knee_valgus").reps == [2, 4, 5] and ev.issue("knee_valgus").worst_rep == 2
    assert ev.rep_numbers == list(range(1, 9)) and ev.required_notes == {}


def test_required_notes():
    r = sample_report("push_up", reps=4, confidence=0.5, view=None, valid_ratio=0.5, not_judged=["elbow_flare"],
                      qc_warnings=["dark"], profile=Profile(intended_exercise="squat"))
    assert set(extract_evidence(r).required_notes) == {"pose", "router", "view", "not_judged", "video", "intent"}


# ------------------------------------------------------------------ deterministic summary

def _all_reports():
    for ex, codes in EXERCISE_ISSUES.items():
        # every combination for up to four rules; for more, every combination of up to three and all of them
        sizes = range(0, len(codes) + 1) if len(codes) <= 4 else [0, 1, 2, 3, len(codes)]
        for k in sizes:
            for combo in itertools.combinations(codes, k):
                for var in [()] + [(v,) for v in EXERCISE_VARIATIONS[ex]]:
                    nj = [c for c in codes if c not in combo][:1] if k % 2 else []
                    yield sample_report(ex, reps=6, partial=k % 2,
                                        issues={c: [1 + i % 5, 4] for i, c in enumerate(combo)},
                                        variations=var, not_judged=nj, view=None if k == 3 else "side",
                                        valid_ratio=0.5 if k == 2 else 0.95, confidence=0.6 if k == 1 else 0.9,
                                        qc_warnings=("dark",) if k == 4 else (),
                                        suppresses={var[0]: [c for c in codes if c not in combo][:1]} if var else None,
                                        profile=Profile(intended_exercise="squat", experience="beginner")
                                        if k == 2 else None)
    yield sample_report("unknown", reps=0, confidence=0.2, view=None)
    yield sample_report("squat", reps=0)
    yield sample_report("squat", reps=3, issues={"knee_valgus": []})   # set-level issue, no rep


def test_deterministic_summary_always_passes_the_verifier():
    n = 0
    for r in _all_reports():
        s = deterministic_summary(r, CARDS)
        fails = verify_summary(s, r, CARDS)
        assert not fails, (r.exercise.label, [i.code for i in r.issues], [(f.check, f.text, f.detail) for f in fails])
        n += 1
    assert n > 240


def test_deterministic_summary_content():
    r = sample_report("squat", reps=8, partial=1, issues={"knee_valgus": [2, 4, 5], "shallow_squat": [7]},
                      variations=["wide_stance"], valid_ratio=0.6)
    s = deterministic_summary(r, CARDS)
    assert [f.code for f in s.fix_first] == ["knee_valgus", "shallow_squat"]
    assert s.fix_first[0].reps == [2, 4, 5] and "reps 2, 4 and 5" in s.fix_first[0].text
    assert "14°" in s.fix_first[0].text and "Push your knees out" in s.fix_first[0].text
    assert "8" in s.headline and "1 partial" in s.headline
    assert s.variation_notes[0].code == "wide_stance" and "not a fault" in s.variation_notes[0].text
    assert [c.reason for c in s.confidence_notes] == ["pose"] and "60%" in s.confidence_notes[0].text
    assert "not a medical device" in s.disclaimer


# ------------------------------------------------------------------ write_summary fallback chain (faked model)

class FakeLLM(LocalLLM):
    def __init__(self, text="", timed_out=False, raise_=False):
        super().__init__(path=Path("fake-model.gguf"))
        self.text, self.timed_out, self.raise_ = text, timed_out, raise_
        self.calls = []

    def generate(self, messages, schema, timeout_s, **kw):
        self.calls.append((messages, schema, timeout_s))
        if self.raise_:
            raise RuntimeError("boom")
        return Generation(self.text, tokens=max(1, len(self.text) // 4), seconds=0.5, timed_out=self.timed_out)


REPORT = sample_report("squat", reps=8, issues={"knee_valgus": [2, 4, 5], "shallow_squat": [7]},
                       variations=["pause_squat"])

GOOD = {"what_you_did": "You did 8 squat reps with a pause at the bottom.",
        "looked_good": ["No forward lean on any rep."],
        "fixes": {"knee_valgus": {"advice": "Your knees drifted in; push them out as you stand.", "rep": 4},
                  "shallow_squat": {"advice": "Sit a little deeper on every rep.", "rep": 7}},
        "variation_notes": {"pause_squat": "Pausing at the bottom is a valid variation."},
        "next_session": ["Film again from the side and use the cue on every rep."]}


def test_model_text_that_passes_is_used_with_facts_from_code():
    fake = FakeLLM(json.dumps(GOOD))
    s, v = write_summary(REPORT, llm=fake, timeout_s=5)
    assert s.source == "model" and s.model == "fake-model.gguf" and v.passed
    assert [a.source for a in v.attempts] == ["model"] and v.checks == list(CHECKS)
    assert s.fix_first[0].text == GOOD["fixes"]["knee_valgus"]["advice"]
    # facts are filled by code, not the model
    assert s.fix_first[0].reps == [2, 4, 5] and s.fix_first[0].label == "Knees caving in"
    assert s.fix_first[0].focus_rep == 4 and s.fix_first[0].cue == "Push your knees out"
    assert fake.calls and fake.calls[0][2] == 5
    schema = fake.calls[0][1]
    assert schema["properties"]["fixes"]["properties"]["knee_valgus"]["properties"]["rep"] == {"enum": [2, 4, 5]}
    assert schema["properties"]["fixes"]["required"] == ["knee_valgus", "shallow_squat"]


@pytest.mark.parametrize("fake,reason,failed", [
    (FakeLLM("{not json"), "invalid JSON", None),
    (FakeLLM(json.dumps({**GOOD, "fixes": {}})), "no advice for knee_valgus", None),
    (FakeLLM(json.dumps(GOOD), timed_out=True), "timed out", None),
    (FakeLLM(raise_=True), "generation failed", None),
    (FakeLLM(json.dumps({**GOOD, "what_you_did": "You did 11 reps and this will prevent injuries."})),
     "verifier rejected", {"rep_count", "medical_claim"}),
    (FakeLLM(json.dumps({**GOOD, "variation_notes": {"pause_squat": "The pause is a mistake."}})),
     "verifier rejected", {"variation_as_fault"}),
])
def test_model_failures_fall_back_to_deterministic(fake, reason, failed):
    s, v = write_summary(REPORT, llm=fake)
    assert s.source == "deterministic" and reason in s.reason and s.model == "fake-model.gguf"
    assert v.passed and v.failures == [] and v.attempts[-1].source == "deterministic"
    if failed:
        assert v.attempts[0].source == "model" and not v.attempts[0].passed
        assert {f.check for f in v.attempts[0].failures} == failed
    assert not verify_summary(s, REPORT)


def test_no_model_configured(monkeypatch):
    monkeypatch.delenv("SPOTTER_LLM_MODEL", raising=False)
    s, v = write_summary(REPORT)
    assert s.source == "deterministic" and "SPOTTER_LLM_MODEL" in s.reason and v.passed
    s, v = write_summary(REPORT, llm=False)
    assert s.reason == "model disabled"
    monkeypatch.setenv("SPOTTER_LLM_MODEL", "/nonexistent/model.gguf")
    s, v = write_summary(REPORT)
    assert s.source == "deterministic" and v.passed
    assert ("not found" in s.reason) or ("not installed" in s.reason)


def test_summary_fits_report_and_roundtrips():
    r = REPORT.model_copy(deep=True)
    r.summary, r.verification = write_summary(r, llm=False)
    r2 = Report.model_validate_json(r.model_dump_json())
    assert r2.summary == r.summary and r2.verification.passed


def test_build_schema_only_lists_evidence():
    r = sample_report("push_up", reps=5, issues={"hip_sag": [1, 3]}, variations=["knee_push_up"], view=None)
    sch = build_schema(extract_evidence(r))
    assert list(sch["properties"]["fixes"]["properties"]) == ["hip_sag"]
    assert sch["properties"]["fixes"]["properties"]["hip_sag"]["properties"]["rep"]["enum"] == [1, 3]
    assert list(sch["properties"]["variation_notes"]["properties"]) == ["knee_push_up"]
    assert list(sch["properties"]["confidence_notes"]["properties"]) == ["view"]


# ------------------------------------------------------------------ verifier unit behaviour

def test_word_boundaries_and_negation():
    ev = extract_evidence(REPORT)
    ok = ["This is not medical advice.", "No tears were shed.", "Spotter does not diagnose or claim to prevent injury.",
          "There was no forward lean.", "Knees caving in on rep 4."]
    bad = {"This helps prevent injury.": "medical_claim", "Not only is it good, it prevents injury.": "medical_claim",
           "You have a tear.": "medical_claim", "There was forward lean.": "issue_label",
           "Knees caving in on rep 3.": "rep_number"}
    for t in ok:
        assert not check_text("x", t, ev, CARDS), t
    for t, check in bad.items():
        assert check in {f.check for f in check_text("x", t, ev, CARDS)}, t


# ------------------------------------------------------------------ schema

def test_schema_file_is_current():
    from pipeline.report.jsonschema import DEFAULT_PATH, schema_text

    assert DEFAULT_PATH.read_text() == schema_text(), "run: python -m pipeline.report.jsonschema"
    schema = json.loads(schema_text())
    for key in ("video", "qc", "exercise", "reps", "variations", "issues", "summary", "verification", "artifacts",
                "profile"):
        assert key in schema["properties"]
    assert {"Summary", "Verification", "Profile", "FixItem"} <= set(schema["$defs"])


def test_export_schema(tmp_path):
    from pipeline.report.jsonschema import export_schema

    p = export_schema(tmp_path / "s.json")
    assert json.loads(p.read_text())["x-schema-version"]


# ------------------------------------------------------------------ benchmark (shape only; timings are printed, not asserted)

def test_bench_report_keys(capsys):
    from pipeline.tools.bench_report import bench_report, bench_set

    assert 55 <= bench_set().video.duration_s <= 65
    res = bench_report(json_out=True, model="/nonexistent/model.gguf", repeats=1)
    assert {"report_s", "report_with_model_s", "tokens_per_s"} <= set(res)
    assert res["report_s"] > 0 and res["summary_source"] == "deterministic"
    assert res["report_with_model_s"] is None and res["model_reason"]
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["report_s"] == res["report_s"]


# ------------------------------------------------------------------ agreement with the movement core's rule tables

def test_cards_and_summary_match_the_exercise_rules():
    from pipeline.movement.exercises import get, names
    from pipeline.schema import IssueModel, VariationModel

    for ex in names():
        e = get(ex)
        for rule in e.issue_rules:
            card = CARDS.issues.get(rule.code)
            assert card is not None and card.exercise == ex, rule.code
            assert card.cue == rule.cue, (rule.code, card.cue, rule.cue)
        for v in e.variation_rules:
            assert v.code in CARDS.variations and CARDS.variations[v.code].exercise == ex, v.code
        # a report with every rule firing, using the rules' own labels, units and values
        for var in [None, *e.variation_rules]:
            r = sample_report(ex, reps=5)
            r.issues = [IssueModel(code=rule.code, label=rule.label, severity=0.9 - 0.1 * k, rep=k + 1,
                                   metric=rule.metric, value=rule.threshold * 1.2 + 0.1, threshold=rule.threshold,
                                   unit=rule.unit, t_start=1.0, t_end=2.0, confidence=0.8, cue=rule.cue)
                        for k, rule in enumerate(e.issue_rules)
                        if var is None or rule.code not in var.suppresses]
            if var is not None:
                r.variations = [VariationModel(code=var.code, label=var.label, confidence=0.9,
                                               suppresses=list(var.suppresses))]
            s, v = write_summary(r, llm=False)
            assert v.passed, (ex, var and var.code, [(f.check, f.text, f.detail) for f in v.failures])
            assert [f.code for f in s.fix_first] == [i.code for i in r.issues]

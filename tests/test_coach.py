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
from pipeline.coach.llm import Generation, LocalLLM, build_grammar, build_messages
from pipeline.coach.prose import structured_parts, who_wrote
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


# ------------------------------------------------------------------ write_summary with a model (faked)

class FakeLLM(LocalLLM):
    """Answers with ``texts`` in turn (the last one again when they run out)."""
    def __init__(self, *texts, timed_out=False, raise_=False):
        super().__init__(path=Path("fake-model.gguf"))
        self.texts, self.timed_out, self.raise_ = list(texts) or [""], timed_out, raise_
        self.calls = []

    def generate(self, messages, grammar, timeout_s, **kw):
        self.calls.append((messages, grammar, timeout_s, kw))
        if self.raise_:
            raise RuntimeError("boom")
        text = self.texts[min(len(self.calls) - 1, len(self.texts) - 1)]
        return Generation(text, tokens=max(1, len(text) // 4), seconds=0.5, timed_out=self.timed_out,
                          first_token_s=0.1)


REPORT = sample_report("squat", reps=8, issues={"knee_valgus": [2, 4, 5], "shallow_squat": [7]},
                       variations=["pause_squat"], borderline={"forward_lean": [3]}, not_judged=["lateral_shift"])

GOOD = {"what_you_did": "You did {reps} in {duration}, filmed from {view}.",
        "looked_good": "Your heels stayed down and you kept a steady pace.",
        "fix": "On {issue_reps}, think of spreading the floor apart with your feet as you stand up.",
        "next": "Say {cue} to yourself on every rep of your next {exercise} set."}


def _model_text(**kw) -> str:
    return json.dumps({**GOOD, **kw})


def test_model_writes_only_prose_and_code_writes_every_fact():
    fake = FakeLLM(_model_text())
    s, v = write_summary(REPORT, llm=fake, timeout_s=5)
    assert s.source == "model" and s.model == "fake-model.gguf" and v.passed, v.attempts
    assert [a.source for a in v.attempts] == ["model"] and v.checks == list(CHECKS)
    # the slots are filled by code from the evidence
    assert s.what_you_did == "You did 8 squat reps in 28.4 s, filmed from the side."
    assert s.next_session == ["Say \u201cPush your knees out\u201d to yourself on every rep of your next squat set."]
    assert s.fix_first[0].text == ("Knees caving in on reps 2, 4 and 5 (at its most severe 14°, threshold 8°). On reps "
                                   "2, 4 and 5, think of spreading the floor apart with your feet as you stand up. "
                                   "Cue: \u201cPush your knees out\u201d.")
    # every structured part is the deterministic writer's, to the letter
    det = deterministic_summary(REPORT, CARDS)
    ev = extract_evidence(REPORT)
    assert structured_parts(s, ev, CARDS) == structured_parts(det, ev, CARDS)
    assert structured_parts(s, ev, CARDS)["fix_first"][0]["opens_with_facts"]
    assert {c.reason for c in s.confidence_notes} == {"borderline", "not_judged"}
    assert s.fix_first[1].text == det.fix_first[1].text and s.variation_notes == det.variation_notes
    assert s.written_by.startswith("Written by the local model fake-model") and "checker approved" in s.written_by
    assert det.written_by.startswith("Written by Spotter's built-in writer")
    # the model was held to this report's grammar: its keys, its slots, no digits
    grammar = fake.calls[0][1]
    assert '"\\"fix\\":"' in grammar and '"{issue_reps}"' in grammar and "0-9" not in grammar
    assert fake.calls[0][2] == 5


@pytest.mark.parametrize("bad,checks", [
    ({"what_you_did": "You did 11 squat reps."}, {"rep_count"}),                           # a wrong number
    ({"looked_good": "Your knees stayed clean but your hips sagged on the way down."}, {"issue_label"}),  # invented
    ({"next": "Pushing your knees out keeps your knees safe and prevents injury."}, {"medical_claim"}),
    ({"fix": "On rep 3, push your knees out."}, {"rep_number"}),                             # a rep without it
    ({"looked_good": "Your forward lean was borderline at most."}, {"placement"}),          # borderline out of place
    ({"looked_good": "No shifting to one side on any rep."}, {"placement"}),                # an unjudged check
    ({"next": "The pause at the bottom is a mistake, drop it."}, {"variation_as_fault"}),
    ({"what_you_did": "You did {reps} of push-ups."}, {"exercise"}),
])
def test_model_text_with_a_wrong_fact_is_rejected(bad, checks):
    fake = FakeLLM(_model_text(**bad))
    s, v = write_summary(REPORT, llm=fake, attempts=1)
    assert s.source == "deterministic" and "verifier rejected" in s.reason
    assert v.attempts[0].source == "model" and not v.attempts[0].passed
    assert {f.check for f in v.attempts[0].failures} == checks, v.attempts[0].failures
    assert v.passed and v.attempts[-1].source == "deterministic" and not verify_summary(s, REPORT)
    assert "did not pass Spotter's checks" in s.written_by


def test_rejected_try_is_followed_by_another_seed():
    fake = FakeLLM(_model_text(next="This prevents injury."), _model_text())
    s, v = write_summary(REPORT, llm=fake)
    assert s.source == "model" and "on try 2" in s.reason
    assert [a.passed for a in v.attempts] == [False, True]
    assert [c[3].get("seed") for c in fake.calls] == [0, 1]
    assert s.tokens == sum(max(1, len(t) // 4) for t in fake.texts)


@pytest.mark.parametrize("fake,reason", [
    (FakeLLM("{not json"), "invalid JSON"),
    (FakeLLM(json.dumps({k: v for k, v in GOOD.items() if k != "fix"})), "no fix"),
    (FakeLLM(_model_text(fix="See {variation} and {sides}.")), "unknown slot"),
    (FakeLLM(_model_text(), timed_out=True), "timed out"),
    (FakeLLM(raise_=True), "generation failed"),
])
def test_model_failures_fall_back_to_deterministic(fake, reason):
    s, v = write_summary(REPORT, llm=fake)
    assert s.source == "deterministic" and reason in s.reason and s.model == "fake-model.gguf"
    assert v.passed and v.failures == [] and v.attempts[-1].source == "deterministic"
    assert not verify_summary(s, REPORT)
    assert len(fake.calls) == (1 if reason in ("timed out", "generation failed") else 3)


def test_no_model_configured(monkeypatch):
    monkeypatch.delenv("SPOTTER_LLM_MODEL", raising=False)
    s, v = write_summary(REPORT)
    assert s.source == "deterministic" and "SPOTTER_LLM_MODEL" in s.reason and v.passed
    assert s.written_by.endswith("(no local model chosen).")
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


def test_grammar_and_prompt_only_offer_this_report():
    r = sample_report("push_up", reps=5, issues={"hip_sag": [1, 3]}, variations=["knee_push_up"], view=None)
    ev = extract_evidence(r)
    g = build_grammar(ev, CARDS)
    keys = re.findall(r'\\"(\w+)\\":', g)
    assert keys == ["what_you_did", "looked_good", "fix", "next"]
    assert '"{view}"' not in g and '"{variation}"' in g and '"{issue}"' in g and not re.search(r"\[[^]]*0-9", g)
    clean = extract_evidence(sample_report("squat", reps=3))
    assert re.findall(r'\\"(\w+)\\":', build_grammar(clean, CARDS)) == ["what_you_did", "looked_good", "next"]
    unknown = extract_evidence(sample_report("unknown", reps=0, confidence=0.2, view=None))
    assert re.findall(r'\\"(\w+)\\":', build_grammar(unknown, CARDS)) == ["what_you_did", "next"]
    prompt = build_messages(ev, CARDS, r)[-1]["content"]
    assert "{issue} = hips sagging" in prompt and "{issue_reps} = reps 1 and 3" in prompt
    # retrieved card sentences are only those the verifier accepts for this set, and the good-form points leave
    # out the body parts a finding concerns
    nj = sample_report("squat", reps=4, not_judged=["knee_valgus"])
    assert "knee" not in build_messages(extract_evidence(nj), CARDS, nj)[-1]["content"].split("Good form:")[1]


def test_grammar_compiles_and_holds_the_model_to_it():
    pytest.importorskip("llama_cpp")
    from llama_cpp import LlamaGrammar

    for r in (REPORT, sample_report("unknown", reps=0, confidence=0.2, view=None),
              sample_report("lunge", reps=4, variations=["walking_lunge"])):
        assert LlamaGrammar.from_string(build_grammar(extract_evidence(r), CARDS), verbose=False)


def test_who_wrote_reads_old_reports_too():
    assert who_wrote({"source": "model", "model": "m.gguf"}).startswith("Written by the local model m on")
    assert "took too long" in who_wrote({"source": "deterministic", "reason": "model timed out after 60 s"})
    assert who_wrote({"written_by": "X"}) == "X"


# ------------------------------------------------------------------ verifier unit behaviour

def test_word_boundaries_and_negation():
    ev = extract_evidence(sample_report("squat", reps=8, issues={"knee_valgus": [2, 4, 5], "shallow_squat": [7]}))
    ok = ["This is not medical advice.", "No tears were shed.", "Spotter does not diagnose or claim to prevent injury.",
          "There was no forward lean.", "Knees caving in on rep 4."]
    bad = {"This helps prevent injury.": "medical_claim", "Not only is it good, it prevents injury.": "medical_claim",
           "You have a tear.": "medical_claim", "There was forward lean.": "issue_label",
           "Knees caving in on rep 3.": "rep_number"}
    for t in ok:
        assert not check_text("x", t, ev, CARDS), t
    for t, check in bad.items():
        assert check in {f.check for f in check_text("x", t, ev, CARDS)}, t


def test_an_ordinal_inside_an_issue_name_is_not_a_rep_number():
    """'Hips rising first on reps 2 and 3' named no first rep (the deterministic fix text failed rep_number)."""
    r = sample_report("deadlift", reps=6, issues={"hips_rise_first": [2, 3], "bar_drift": [5]})
    ev = extract_evidence(r)
    s = deterministic_summary(r, CARDS)
    assert s.fix_first[0].text.startswith("Hips rising first on reps 2 and 3") and not verify_summary(s, r, CARDS)
    assert {f.check for f in check_text("x", "Hips rising first on the first rep.", ev, CARDS)} == {"rep_number"}
    assert {f.check for f in check_text("fix_first:hips_rise_first", "Watch rep 5.", ev, CARDS)} == {"rep_number"}


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


# ------------------------------------------------------------------ the app: choose the writer, see who wrote it

def test_the_app_offers_the_writers_and_says_who_wrote_the_summary(tmp_path, monkeypatch):
    from conftest import history_page

    from pipeline.coach.llm import model_choices

    monkeypatch.delenv("SPOTTER_LLM_MODEL", raising=False)
    r = sample_report("squat", reps=3, issues={"knee_valgus": [2]})
    fake = FakeLLM(_model_text(fix="On {issue_reps}, spread the floor apart with your feet.",
                               what_you_did="You did {reps} in {duration}."))
    r.summary, r.verification = write_summary(r, llm=fake)
    assert r.summary.source == "model"
    at = history_page(tmp_path, monkeypatch, json.loads(r.model_dump_json()), reps=3, end_s=12)
    box = next(s for s in at.sidebar.selectbox if s.label == "Coach summary written by")
    assert box.options == [label for label, _ in model_choices()] and box.value.startswith("Spotter's built-in")
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Written by the local model fake-model on this computer") for c in captions), captions
    assert any("You did 3 squat reps in" in t.value for t in at.text)

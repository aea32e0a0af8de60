"""The set report's language layer: knowledge cards -> summary (local model | deterministic) -> verifier.

    from pipeline.coach import write_summary
    summary, verification = write_summary(report)              # $SPOTTER_LLM_MODEL if set, else deterministic
    summary, verification = write_summary(report, llm="/models/qwen2.5-1.5b-instruct-q4_k_m.gguf")
    summary, verification = write_summary(report, llm=False)   # never try a model

Code writes every fact (counts, rep numbers, labels, values, variation / borderline / not-judged / video notes,
the disclaimer); the writer, model or deterministic, writes only the prose fields (``prose.py``).

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
from .prose import structured_parts, written_by
from .verifier import CHECKS, verify_summary

DEFAULT_TIMEOUT_S = 120.0  # all tries together; the deterministic text shows meanwhile

__all__ = ["write_summary", "attach_summary", "load_cards", "Card", "CardSet", "deterministic_summary",
           "verify_summary", "extract_evidence", "Evidence", "CHECKS", "DISCLAIMER", "DEFAULT_TIMEOUT_S",
           "structured_parts", "written_by"]


def _fmt_failures(fails: list[CheckFailure]) -> str:
    names = sorted({f.check for f in fails})
    return ", ".join(names)


def write_summary(report: Report, cards: Optional[CardSet] = None, llm: Any = None,
                  timeout_s: float = DEFAULT_TIMEOUT_S, attempts: Optional[int] = None) -> tuple[Summary, Verification]:
    """Write and verify the coach summary for ``report``. Never raises for model problems.

    ``llm``: None -> use ``$SPOTTER_LLM_MODEL`` if set; a path to a GGUF file; a loaded
    :class:`pipeline.coach.llm.LocalLLM`; or False to skip the model. ``timeout_s`` bounds the model's time in
    all (every try together). The model gets up to ``attempts`` tries (``llm.ATTEMPTS``; each with another seed)
    to write prose the verifier passes; then the deterministic text is kept.
    Returns models that fit ``Report.summary`` and ``Report.verification``.
    """
    import time

    cards = cards or load_cards()
    ev = extract_evidence(report)
    tries: list[VerificationAttempt] = []
    from .llm import ATTEMPTS, resolve_llm, run_model

    if ev.taught_label:  # taught by demonstration: no knowledge card for a model to word; the facts are written
        model, why = None, "taught exercise: the summary is written from the evidence (no knowledge card for a model)"
    else:
        model, why = resolve_llm(llm)
    model_name = None
    spent, tokens, gen_s = 0.0, 0, 0.0
    if model is not None:
        model_name = model.name
        t0 = time.perf_counter()
        for k in range(attempts or ATTEMPTS):
            left = timeout_s - (time.perf_counter() - t0)
            if k and left <= 0:
                break
            s, gen, err = run_model(model, report, ev, cards, left if k else timeout_s, seed=k)
            if gen is not None:
                tokens += gen.tokens
                gen_s += gen.seconds - (gen.first_token_s or 0.0)
                spent += gen.seconds
            if s is None:
                why = err
                if gen is None or gen.timed_out:
                    break  # a crash or the deadline: no second try
                continue
            fails = verify_summary(s, report, cards, ev)
            tries.append(VerificationAttempt(source="model", passed=not fails, failures=fails))
            if not fails:
                s.reason = ("local model wrote the wording; it passed the verifier"
                            + (f" on try {k + 1}" if k else ""))
                s.generation_s, s.tokens = round(spent, 3), tokens
                s.tokens_per_s = round(tokens / gen_s, 2) if gen_s > 0 else None
                return s, Verification(passed=True, checks=list(CHECKS), failures=[], attempts=tries)
            why = f"verifier rejected the model text ({_fmt_failures(fails)})"
    if ev.taught_label:  # no card, no rules: the count, range and tempo against the demonstration
        from .taught import taught_summary

        s = taught_summary(report, cards, reason=why, ev=ev)
    else:
        s = deterministic_summary(report, cards, reason=why, evidence=ev)
    s.model = model_name
    if tokens:  # the model ran: keep its timing so benchmarks and the UI can show it
        s.generation_s, s.tokens = round(spent, 3), tokens
        s.tokens_per_s = round(tokens / gen_s, 2) if gen_s > 0 else None
    fails = verify_summary(s, report, cards, ev)
    if fails:  # should never happen (tests cover every code); strip what failed rather than store it
        s = _strip(s, fails, ev)
        s.reason = why + "; deterministic text trimmed by the verifier"
        fails = verify_summary(s, report, cards, ev)
    s.written_by = written_by(s)
    tries.append(VerificationAttempt(source="deterministic", passed=not fails, failures=fails))
    return s, Verification(passed=not fails, checks=list(CHECKS), failures=fails, attempts=tries)


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

"""The summary of a taught exercise's set (``pipeline/movement/taught.py``): what Spotter can say about a movement it
learnt from the user's demonstration: the count, range and tempo against that demonstration, one side against the
other for a one-sided movement, and plainly that no form rules exist for it. Built only from the evidence; the
verifier checks it like any summary."""
from __future__ import annotations

from ..schema import ConfidenceNote, Report, Summary
from .cards import CardSet
from .deterministic import DISCLAIMER, VIEW_WORDS, _plural, confidence_notes, rep_list
from .evidence import Evidence


def _pct(x) -> str | None:
    try:
        return f"{float(x) * 100:.0f}%"
    except (TypeError, ValueError):
        return None


def no_rules_note(label: str) -> str:
    return (f"Spotter has no form rules for {label}: it learnt the movement from your demonstration, so it judges only "
            "the range and the time of each rep against it, not your technique.")


def taught_summary(report: Report, cards: CardSet, reason: str, ev: Evidence) -> Summary:
    info = report.exercise.taught
    label = info.label
    reps = report.reps
    sm = reps.set_metrics if reps is not None else {}
    n, partial = ev.rep_count, ev.partial
    if n:
        headline = f"{label}: {_plural(n, 'rep')}"
        if partial:
            headline += f" plus {_plural(partial, 'partial rep')}"
        headline += "; range and tempo compared with your demonstration."
    else:
        headline = f"{label}: no reps counted."
    if n:
        did = f"You did {_plural(n, 'rep')} of {label}"
        if partial:
            did += f" plus {_plural(partial, 'partial rep')} (short of half your demonstration's range)"
        did += f" in {ev.duration_s:.1f} s"
        if ev.view in VIEW_WORDS:
            did += f", filmed from {VIEW_WORDS[ev.view]}"
        did += "."
        mean, lo, hi = (_pct(sm.get(k)) for k in ("mean_range_of_demo_frac", "min_range_of_demo_frac",
                                                   "max_range_of_demo_frac"))
        if mean:
            did += f" Your reps reached {mean} of your demonstration's range on average"
            did += f" (from {lo} to {hi})." if n > 1 and lo and hi else "."
        if sm.get("mean_duration_s") is not None and sm.get("demo_rep_s") is not None:
            did += (f" A rep took {float(sm['mean_duration_s']):.1f} s on average, against "
                    f"{float(sm['demo_rep_s']):.1f} s in your demonstration.")
        if ev.sides:
            did += " " + "; ".join(f"{side.capitalize()} side on {rep_list(sorted(r))}"
                                   for side, r in sorted(ev.sides.items())) + "."
            left, right = _pct(sm.get("left_range_of_demo_frac")), _pct(sm.get("right_range_of_demo_frac"))
            if left and right:
                did += (f" The left side's reps reached {left} of your demonstration's range, the right side's "
                        f"{right}.")
    else:
        did = (f"Spotter did not count a rep of {label}: no movement matched your demonstration from its start "
               "posture out and back.")
    looked_good = []
    if n and not partial:
        looked_good.append("Every rep reached at least half of your demonstration's range.")
    next_session = ["Do another set and compare each rep's range and time with your demonstration."]
    if n == 0 or partial:
        next_session.append("If Spotter missed reps, teach the exercise again: two or three slow, full repetitions "
                            "from the start posture, with your whole body in view.")
    notes = [c for c in confidence_notes(ev, cards, report) if c.reason != "not_judged"]
    notes.append(ConfidenceNote(reason="not_judged", text=no_rules_note(label)))
    return Summary(source="deterministic", reason=reason or "deterministic summary requested", headline=headline,
                   what_you_did=did, looked_good=looked_good, fix_first=[], variation_notes=[],
                   next_session=next_session, confidence_notes=notes, disclaimer=DISCLAIMER)

"""What code writes: every structured part of a summary (:func:`compose`, for both writers) and the
deterministic writer's prose. Built only from the evidence and the knowledge cards.

It is the fallback for every failure of the model path, so it must always pass the verifier; the tests
check that for every issue and variation code of every exercise.
"""
from __future__ import annotations

from typing import Optional

from ..schema import ConfidenceNote, FixItem, Report, Summary, VariationNote
from .cards import CardSet, load_cards
from .evidence import Evidence, extract_evidence, fmt_value, unit_kind
from .prose import (  # noqa: F401 - re-exported: these lived here before the prose/facts split
    DISCLAIMER,
    VIEW_WORDS,
    Prose,
    exercise_title,
    fix_text,
    headline,
    plural as _plural,
    rep_list,
    written_by,
)


def what_you_did(ev: Evidence, cards: CardSet) -> str:
    if ev.exercise == "unknown":
        return "Spotter could not recognise the exercise in this video, so it did not count reps or judge form."
    title = exercise_title(ev, cards).lower()
    s = f"You did {ev.rep_count} {title} {'rep' if ev.rep_count == 1 else 'reps'}"
    if ev.partial:
        s += f" plus {_plural(ev.partial, 'partial rep')}"
    s += f" in {ev.duration_s:.1f} s"
    if ev.view in VIEW_WORDS:
        s += f", filmed from {VIEW_WORDS[ev.view]}"
    s += "."
    if ev.sides:  # one-sided reps (lunges): which leg was in front on which rep
        s += " Front leg: " + ", ".join(f"{side} on {rep_list(sorted(r))}"
                                        for side, r in sorted(ev.sides.items())) + "."
    if ev.variations:
        labels = [cards.variations[c].title if c in cards.variations else lab for c, lab in ev.variations.items()]
        s += f" Spotter recognised the {' / '.join(labels)} variation."
    return s


def looked_good(ev: Evidence, cards: CardSet, suppressed: set[str]) -> list[str]:
    if ev.exercise == "unknown" or ev.rep_count == 0:
        return []
    out: list[str] = []
    if not ev.issues:
        scope = " that this camera view allows" if ev.not_judged else ""
        out.append(f"No form issues detected in the checks{scope}, in any of your {_plural(ev.rep_count, 'rep')}.")
    if ev.partial == 0 and ev.rep_count:
        out.append("Every rep was counted as a full rep.")
    if ev.issues:
        clean = [c for c in cards.issues.values()
                 if c.exercise == ev.exercise and c.code not in ev.issue_codes and c.code not in ev.not_judged
                 and c.code not in suppressed and c.code not in ev.borderline_codes]
        for c in clean[:2]:
            out.append(f"Spotter did not flag {c.title.lower()} on any rep.")
    return out[:3]


def fix_items(ev: Evidence, cards: CardSet, texts: Optional[dict[str, str]] = None,
              focus: Optional[dict[str, int]] = None) -> list[FixItem]:
    out = []
    for f in ev.issues:
        text = (texts or {}).get(f.code) or fix_text(f, cards)
        fr = (focus or {}).get(f.code, f.worst_rep)
        out.append(FixItem(code=f.code, label=f.label, severity=round(f.severity, 3), reps=list(f.reps),
                           focus_rep=fr, value=f.value, threshold=f.threshold, unit=f.unit,
                           cue=f.cue or (cards.issues[f.code].cue if f.code in cards.issues else ""), text=text))
    return out


def variation_notes(ev: Evidence, cards: CardSet) -> list[VariationNote]:
    out = []
    for code, label in ev.variations.items():
        card = cards.variations.get(code)
        text = f"{label} is a recognised variation, not a fault."
        if card is not None:
            text += f" {card.why}"
            if card.not_an_issue:
                text += f" {card.not_an_issue[0]}"
        out.append(VariationNote(code=code, label=label, text=text))
    return out


def next_session(ev: Evidence, cards: CardSet, report: Report) -> list[str]:
    out: list[str] = []
    if ev.exercise == "unknown":
        ex = cards.exercises.get("unknown")
        return list(ex.fixes[:2]) if ex else []
    if ev.issues:
        top = ev.issues[0]
        out.append(f"Work on one thing first: {top.label.lower()}. Use the cue \u201c{top.cue}\u201d on every rep.")
    else:
        out.append("Keep the same technique and only add load or reps while every rep stays this clean.")
    if ev.rep_count:
        out.append(f"Do a set of {_plural(ev.rep_count, 'rep')} again and compare the report rep by rep.")
    if "view" in ev.required_notes or ev.not_judged:
        ex = cards.exercises.get(ev.exercise)
        if ex:
            out.append(ex.fixes[0])
    prof = report.profile
    if prof is not None and prof.experience == "beginner" and ev.issues:
        out.append("Keep the load light while you practise the cue.")
    return out[:3]


def confidence_notes(ev: Evidence, cards: CardSet, report: Report) -> list[ConfidenceNote]:
    out: list[ConfidenceNote] = []
    req = ev.required_notes
    if "pose" in req:
        out.append(ConfidenceNote(reason="pose", text=(
            f"Spotter could track your pose on only {report.pose.valid_ratio * 100:.0f}% of frames, so some reps or "
            "issues may be missed.")))
    if "router" in req:
        if ev.exercise == "unknown" or ev.exercise_confidence is None:
            t = "Spotter could not recognise the exercise with confidence."
        else:
            t = (f"Spotter was only {ev.exercise_confidence * 100:.0f}% sure this was a "
                 f"{exercise_title(ev, cards).lower()}; if that is wrong, choose the exercise in the app and run it again.")
        out.append(ConfidenceNote(reason="router", text=t))
    if "view" in req:
        out.append(ConfidenceNote(reason="view", text=(
            "Spotter could not tell the camera view, so judgements of depth and alignment are less certain.")))
    if "not_judged" in req:
        out.append(ConfidenceNote(reason="not_judged", text=not_judged_text(ev, cards)))
    if "borderline" in req:
        out.append(ConfidenceNote(reason="borderline", text=borderline_text(ev, cards)))
    if "video" in req:
        out.append(ConfidenceNote(reason="video", text=(
            "The video quality check raised warnings (see the quality section), so judgements from this video are "
            "less certain.")))
    if "intent" in req:
        out.append(ConfidenceNote(reason="intent", text=(
            f"Spotter recognised a {exercise_title(ev, cards).lower()}, which is not the exercise you chose in the "
            "app; check the exercise setting.")))
    return out


def _title(code: str, cards: CardSet, ev: Evidence) -> str:
    if code in cards.issues:
        return cards.issues[code].title.lower()
    f = ev.issue(code) or ev.borderline_issue(code)
    return f.label.lower() if f else code.replace("_", " ")


NOT_JUDGED_WHY = (  # (words in the movement core's reason, the words of the note); the first that matches
    (("not in the video",), "because the moment that decides it is not in the video"),
    (("body landmarks",), "because it cannot be measured from body landmarks"),
    (("variation",), "because it is explained by a variation you chose"),
    (("frame",), "because too few video frames covered the moment that decides it"),
    (("view", "judged from", "front", "side"), "from this camera view"),
)
NOT_JUDGED_ELSE = "because the body parts it needs were not clearly visible"


def not_judged_why(reason: str) -> str:
    r = reason.lower()
    return next((why for keys, why in NOT_JUDGED_WHY if any(k in r for k in keys)), NOT_JUDGED_ELSE)


def not_judged_text(ev: Evidence, cards: CardSet) -> str:
    """Which checks were not judged and why, in words (the reasons' numbers stay in the report)."""
    groups: dict[str, list[str]] = {}
    for code, reason in ev.not_judged.items():
        why = not_judged_why(reason)
        reps = [r for r in ev.not_judged_reps.get(code, []) if r in ev.rep_numbers]
        where = f" on {rep_list(reps)}" if reps and len(reps) < len(ev.rep_numbers) else ""
        groups.setdefault(why, []).append(_title(code, cards, ev) + where)
    return " ".join(f"Spotter could not judge {' or '.join(names)} {why}." for why, names in groups.items())


def borderline_text(ev: Evidence, cards: CardSet) -> str:
    """Borderline findings: past the threshold, but inside what the camera can measure. Never called a fault."""
    parts = []
    for f in ev.borderline:
        if f.code in ev.issue_codes:
            continue
        where = f" on {rep_list(f.reps)}" if f.reps else ""
        val = (f" (at most {fmt_value(f.value, f.unit)} against {fmt_value(f.threshold, f.unit)})"
               if unit_kind(f.unit) != "plain" else "")
        parts.append(f"{_title(f.code, cards, ev)}{where}{val}")
    return ("Borderline, within the measurement uncertainty of this camera view and not counted as a fault: "
            + "; ".join(parts) + ".")


def suppressed_codes(report: Report, ev: Evidence) -> set[str]:
    return {c for v in report.variations for c in v.suppresses if c not in ev.issue_codes}


def compose(report: Report, ev: Evidence, cards: CardSet, prose: Prose, *, source: str, reason: str,
            model: Optional[str] = None) -> Summary:
    """The summary: code's structured parts + the writer's prose. The same code path for both writers, so the
    structured parts cannot differ between them."""
    fixes = fix_items(ev, cards)
    if fixes and prose.fix is not None:
        fixes[0].text = fix_text(ev.issues[0], cards, prose.fix)
    s = Summary(source=source, reason=reason, model=model, headline=headline(ev, cards),
                what_you_did=prose.what_you_did, looked_good=list(prose.looked_good), fix_first=fixes,
                variation_notes=variation_notes(ev, cards), next_session=list(prose.next_session),
                confidence_notes=confidence_notes(ev, cards, report), disclaimer=DISCLAIMER)
    s.written_by = written_by(s)
    return s



def deterministic_prose(ev: Evidence, cards: CardSet, report: Report) -> Prose:
    """The deterministic writer's prose (the first fix keeps the card's words)."""
    return Prose(what_you_did=what_you_did(ev, cards),
                 looked_good=looked_good(ev, cards, suppressed_codes(report, ev)), fix=None,
                 next_session=next_session(ev, cards, report))


def deterministic_summary(report: Report, cards: Optional[CardSet] = None, reason: str = "",
                          evidence: Optional[Evidence] = None) -> Summary:
    cards = cards or load_cards()
    ev = evidence or extract_evidence(report)
    return compose(report, ev, cards, deterministic_prose(ev, cards, report), source="deterministic",
                   reason=reason or "deterministic summary requested")

"""Who owns what in a summary: code writes every fact, a writer (the local model or the deterministic one) writes
only short prose fields, and ``deterministic.compose`` puts the two together the same way for both writers.

Structured parts (code, identical whichever writer ran): ``headline``; every ``fix_first`` item's code, label,
severity, reps, focus rep, value, threshold, unit and cue, the facts line that opens its text, the cue that closes
it and the whole text of every fix but the first; ``variation_notes``; ``confidence_notes`` (pose, view, router,
video quality, not judged, borderline, intent); ``disclaimer``. ``written_by`` says which writer it was.

Prose fields (the writer's words): ``what_you_did``, ``looked_good``, the explanation in the first fix and
``next_session``. A prose field never carries a digit: numbers and labels go in through *slots* (``{reps}``,
``{issue}``, ...) that code fills in from the evidence (:func:`slot_values`, :func:`fill_slots`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from ..schema import Summary
from .cards import CardSet
from .evidence import Evidence, fmt_value, unit_kind

DISCLAIMER = ("Spotter is a form coach, not a medical device: it does not diagnose and does not claim to prevent "
              "injury. If something hurts, stop and ask a qualified professional.")
VIEW_WORDS = {"side": "the side", "front": "the front", "diagonal": "a diagonal angle"}

# slot -> what code puts there (for the prompt and the docs)
SLOT_HELP = {
    "reps": "the rep count with the exercise, e.g. '8 squat reps'",
    "exercise": "the exercise, e.g. 'squat'",
    "duration": "how long the set took, e.g. '24.5 s'",
    "view": "where the camera stood, e.g. 'the side'",
    "variation": "the variation Spotter recognised, e.g. 'Pause squat'",
    "sides": "which leg was in front on which rep (lunges)",
    "issue": "the first thing to fix, e.g. 'knees caving in'",
    "issue_reps": "the reps it was seen on, e.g. 'reps 2, 4 and 5'",
    "cue": "the short cue for it, in quotes, e.g. '\u201cPush your knees out\u201d'",
}
SLOT_RE = re.compile(r"\{(" + "|".join(SLOT_HELP) + r")\}")


def rep_list(reps: list[int]) -> str:
    """'rep 3' / 'reps 2 and 5' / 'reps 2, 4 and 5' (a form the verifier parses)."""
    if not reps:
        return ""
    if len(reps) == 1:
        return f"rep {reps[0]}"
    return "reps " + ", ".join(map(str, reps[:-1])) + f" and {reps[-1]}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def exercise_title(ev: Evidence, cards: CardSet) -> str:
    c = cards.exercises.get(ev.exercise)
    return c.title if c else ev.exercise.replace("_", " ")


def slot_values(ev: Evidence, cards: CardSet) -> dict[str, str]:
    """The slots this report can fill (a slot without a value is not offered to the writer)."""
    out: dict[str, str] = {}
    if ev.exercise != "unknown":
        title = exercise_title(ev, cards).lower()
        out["exercise"] = title
        s = f"{ev.rep_count} {title} {'rep' if ev.rep_count == 1 else 'reps'}"
        if ev.partial:
            s += f" plus {plural(ev.partial, 'partial rep')}"
        out["reps"] = s
        out["duration"] = f"{ev.duration_s:.1f} s"
    if ev.view in VIEW_WORDS:
        out["view"] = VIEW_WORDS[ev.view]
    if ev.variations:
        out["variation"] = " / ".join(cards.variations[c].title if c in cards.variations else lab
                                      for c, lab in ev.variations.items())
    if ev.sides:
        out["sides"] = ", ".join(f"{side} on {rep_list(sorted(r))}" for side, r in sorted(ev.sides.items()))
    if ev.issues:
        top = ev.issues[0]
        out["issue"] = top.label.lower()
        out["issue_reps"] = rep_list(top.reps) or "the whole set"
        card = cards.issues.get(top.code)
        cue = top.cue or (card.cue if card else "")
        if cue:
            out["cue"] = f"\u201c{cue}\u201d"
    return out


def fill_slots(text: str, values: dict[str, str]) -> str:
    """Replace each ``{slot}`` by its value; a slot this report has no value for is an error of the writer."""
    def sub(m: re.Match) -> str:
        if m.group(1) not in values:
            raise KeyError(m.group(1))
        return values[m.group(1)]
    out = SLOT_RE.sub(sub, text)
    if "{" in out or "}" in out:
        raise KeyError(re.search(r"\{[^}]*\}?", out).group(0) if re.search(r"\{[^}]*\}?", out) else "{")
    return out[:1].upper() + out[1:]


@dataclass
class Prose:
    """What a writer wrote, slots already filled in."""
    what_you_did: str
    looked_good: list[str] = field(default_factory=list)
    fix: Optional[str] = None          # the explanation in the first fix (None: no issue, or the card's words)
    next_session: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ code's parts

def headline(ev: Evidence, cards: CardSet) -> str:
    title = exercise_title(ev, cards)
    if ev.exercise == "unknown":
        return "Exercise not recognised; no reps counted."
    s = f"{title}: {plural(ev.rep_count, 'rep')}"
    if ev.partial:
        s += f" plus {plural(ev.partial, 'partial rep')}"
    s += f", {plural(len(ev.issues), 'issue')}" if ev.issues else ", no issues detected"
    return s + "."


def fix_facts(f, cards: CardSet) -> str:
    """The facts line that opens a fix: label, reps, the most severe value against the threshold."""
    where = f" on {rep_list(f.reps)}" if f.reps else " across the set"
    s = f"{f.label}{where}"
    if unit_kind(f.unit) != "plain":
        s += f" (at its most severe {fmt_value(f.value, f.unit)}, threshold {fmt_value(f.threshold, f.unit)})"
    return s + "."


def card_fix_words(f, cards: CardSet) -> str:
    card = cards.issues.get(f.code)
    return " ".join(card.fixes[:2]) if card is not None else ""


def cue_sentence(f, cards: CardSet) -> str:
    return f"Cue: \u201c{f.cue or (cards.issues[f.code].cue if f.code in cards.issues else '')}\u201d."


def fix_text(f, cards: CardSet, words: Optional[str] = None) -> str:
    """Facts (code) + explanation (the writer's, or the card's) + cue (code)."""
    words = card_fix_words(f, cards) if words is None else words
    return " ".join(x for x in (fix_facts(f, cards), words.strip(), cue_sentence(f, cards)) if x)


def written_by(s: Summary) -> str:
    """Who wrote the summary, in plain words (shown with it)."""
    if s.source == "model":
        return (f"Written by the local model {_model_name(s.model)} on this computer. Spotter's own measurements "
                "supplied every number, rep and label, and its checker approved the wording.")
    why = _plain_reason(s.reason or "")
    return "Written by Spotter's built-in writer from its own measurements" + (f" ({why})." if why else ".")


def who_wrote(summary) -> str:
    """The "who wrote it" line of a summary (a :class:`Summary` or its JSON dict, older reports included)."""
    if isinstance(summary, Summary):
        return summary.written_by or written_by(summary)
    if not isinstance(summary, dict):
        return ""
    if summary.get("written_by"):
        return str(summary["written_by"])
    try:
        return written_by(Summary(source=summary.get("source") if summary.get("source") == "model" else
                                  "deterministic", reason=str(summary.get("reason") or ""),
                                  model=summary.get("model"), headline="", what_you_did="", disclaimer=""))
    except Exception:  # noqa: BLE001 - a damaged report still shows
        return ""


def _model_name(name: Optional[str]) -> str:
    if not name:
        return "(unnamed)"
    return re.sub(r"\.gguf$", "", name, flags=re.I)


def _plain_reason(reason: str) -> str:
    r = reason.lower()
    if "verifier rejected" in r:
        return "the local model's text did not pass Spotter's checks"
    if "timed out" in r:
        return "the local model took too long"
    if "not installed" in r:
        return "the local model runtime is not installed"
    if "not found" in r or "failed to load" in r:
        return "the chosen local model could not be loaded"
    if "invalid json" in r or "generation failed" in r or "returned" in r:
        return "the local model's answer could not be used"
    if "disabled" in r or "no model configured" in r or "requested" in r:
        return "no local model chosen"
    return ""


def structured_parts(s: Summary, ev: Evidence, cards: CardSet) -> dict:
    """Everything in ``s`` that code owns (see the module doc): equal for every writer of the same report."""
    fixes = []
    for k, f in enumerate(s.fix_first):
        d = f.model_dump()
        if k == 0 and ev.issues and f.code == ev.issues[0].code:  # the explanation in the first fix is prose
            text = d.pop("text")
            facts, cue = fix_facts(ev.issues[0], cards), cue_sentence(ev.issues[0], cards)
            d["opens_with_facts"] = text.startswith(facts) and facts
            d["closes_with_cue"] = text.endswith(cue) and cue
        fixes.append(d)
    return {"headline": s.headline, "fix_first": fixes,
            "variation_notes": [v.model_dump() for v in s.variation_notes],
            "confidence_notes": [c.model_dump() for c in s.confidence_notes], "disclaimer": s.disclaimer}

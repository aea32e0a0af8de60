"""The verifier: every fact in a summary must match the evidence, and no medical claims.

Always on. It reads a :class:`~pipeline.schema.Summary` as text, sentence by sentence, and checks:

``issue_label``        an issue talked about as present must be a detected issue
``variation_as_fault`` a detected (valid) variation must never be called a fault, and an issue the
                       variation suppresses must not be reported
``exercise``           no other exercise named as the one performed
``rep_count``          "8 reps" must match the counted / partial reps (or that issue's rep count)
``rep_number``         "rep 3" must exist, and in a sentence about an issue, be a rep with that issue
``number``             angles (°), seconds and percentages within a tolerance of an evidence value;
                       any other number must be an evidence number
``borderline_as_fault`` a borderline finding (past the threshold but inside the measurement uncertainty) is
                       mentioned only as borderline, never as a fault and never as a fix
``placement``          each borderline finding is named in the borderline note and nowhere else; each check that
                       was not judged is named in the not-judged note and nowhere else (not even as "no ..."); a
                       variation has exactly one note of its own and is never named in a confidence note
``medical_claim``      no diagnosis, injury(-prevention) or medical/treatment claims; negation-aware
``confidence_note``    a note present for each low-confidence reason (pose, view, router, ...)
``fix_coverage``       exactly one fix per detected issue, ordered by severity, facts as in evidence
``disclaimer``         the "not a medical device" line is present

Matching is on whole words; negation is clause-scoped ("this is not medical advice" passes).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

from ..schema import CheckFailure, Report, Summary
from .cards import CardSet, load_cards
from .evidence import Evidence, extract_evidence

CHECKS = ("issue_label", "variation_as_fault", "borderline_as_fault", "placement", "exercise", "rep_count",
          "rep_number", "number", "medical_claim", "confidence_note", "fix_coverage", "disclaimer")

# where each kind of fact Spotter's code owns may be named (``placement``)
BORDERLINE_HOME = "confidence_notes:borderline"
NOT_JUDGED_HOME = "confidence_notes:not_judged"
NO_VARIATION_SECTIONS = ("confidence_notes:",)

ANGLE_TOL_DEG, ANGLE_TOL_REL = 3.0, 0.05
TIME_TOL_S, TIME_TOL_REL = 0.3, 0.10
PERCENT_TOL = 2.0
PLAIN_TOL_REL = 0.02

NUM_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
ORDINALS = {w: i + 1 for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
    "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split())}

# --- medical / injury / diagnosis vocabulary (whole words; "tears" is not "tear") ---
MEDICAL_PATTERNS: list[tuple[str, str]] = [
    ("diagnosis", r"diagnos\w*"),
    ("diagnosis", r"arthritis|tendinitis|tendonitis|tendinopathy|bursitis|impingement|herniat\w*|hernia|sciatica|"
                  r"scoliosis|patellofemoral|meniscus|acl|rotator cuff|syndrome|disorder|osteo\w*|"
                  r"inflammation|inflamed|condition"),
    ("injury", r"injur\w*|tear|torn|sprain\w*|strains?|damag\w*|trauma|wear and tear"),
    ("injury", r"(?:protects?|protecting|safeguard\w*) (?:your |the )?(?:\w+ )?(?:knees?|back|spine|joints?|shoulders?|"
               r"elbows?|wrists?|hips?|neck|body)"),
    ("injury", r"(?:keeps?|keeping|stay|stays) (?:your |the )?(?:\w+ )?(?:knees?|back|spine|joints?|shoulders?|elbows?|wrists?|"
               r"hips?|neck|body|you) safe"),
    ("injury", r"safer|dangerous|harmful|unsafe|hazard\w*|risk of|risky|bulletproof|injury-free"),
    ("injury", r"(?:prevent\w*|avoid\w*|reduc\w*|lower\w*|minimi[sz]\w*|stop\w*)\s+(?:\w+\s+){0,4}?"
               r"(?:problems?|trouble|harm|wear)"),
    ("injury", r"(?:knee|back|spine|spinal|shoulder|joint|hip|wrist|neck|elbow)s? (?:problems?|trouble|issues)"),
    ("injury", r"prevention|preventive|preventative"),
    ("medical", r"medical\w*|clinical\w*|clinician|therap\w*|rehab\w*|treatment|treats? (?:your |the )?\w+ "
                r"(?:pain|condition)|cure[sd]?|curing|heal(?:s|ed|ing)?|pain(?:s|ful|less|-free)?|symptom\w*|doctor|physician|prescri\w*"),
]
_MED_RE = [(cat, re.compile(rf"\b(?:{p})\b", re.I)) for cat, p in MEDICAL_PATTERNS]

FAULT_RE = re.compile(r"\b(?:faults?|faulty|mistakes?|errors?|wrong|incorrect\w*|bad|poor\w*|problem\w*|issues?|"
                      r"flaw\w*|too wide|too narrow|too close|fix|fixing|fixed|correct (?:it|this|that)|improper\w*|"
                      r"sloppy|cheat\w*|breakdown|broke down)\b", re.I)

# a sentence may name a borderline finding only when it says that it is borderline / within the uncertainty
BORDER_RE = re.compile(r"\b(?:borderline|border-line|(?:within|inside) (?:the )?(?:measurement )?"
                       r"(?:uncertainty|noise|margin)|measurement (?:uncertainty|noise)|"
                       r"too close to (?:call|tell)|close to the (?:limit|threshold|line))", re.I)

NOTE_KEYWORDS = {
    "borderline": r"borderline|uncertain\w*|margin|noise|close to|within",
    "pose": r"pose|track\w*|visib\w*|landmark\w*|detect\w*|in frame|in view|seen|see you|body",
    "view": r"view|angle|camera|film\w*|side-on|front-on|position",
    "router": r"exercise|recogni\w*|identif\w*|classif\w*|confiden\w*|sure|certain",
    "not_judged": r"judg\w*|check\w*|assess\w*|view|angle|camera",
    "video": r"video|light\w*|camera|quality|blur\w*|dark|frame\w*|resolution|footage",
    "intent": r"chose|chosen|select\w*|intend\w*|planned|picked|expected|recogni\w*|saw|detected",
}

NEGATORS = re.compile(r"\b(?:not|no|never|without|nor|cannot|none|neither)\b|n't\b", re.I)
NEG_EXCEPTIONS = re.compile(r"\b(?:not only|not just|no doubt|no wonder|not to mention)\b", re.I)
CLAUSE_SPLIT = re.compile(r"[,;:()\[\]]|\s[-–—]\s|—|\b(?:and|but|so|because|which|while|although|though|yet|"
                          r"whereas|however|then|plus)\b", re.I)
POST_NEG = re.compile(r"^\W*(?:\w+\W+){0,3}?(?:(?:was|were|is|are|could|can|did|does|do|has|have)(?:\s+not|n't)|"
                      r"(?:wasn't|weren't|isn't|aren't|couldn't|can't|didn't|doesn't|don't|hasn't|haven't|"
                      r"cannot))\b", re.I)

NUM = r"\d+(?:\.\d+)?"
UNIT_RE = re.compile(rf"(?<![\w.]){'(' + NUM + ')'}\s*(°|degrees?\b|deg\b|%|percent\b|per cent\b|seconds?\b|secs?\b|s\b)?",
                     re.I)
REP_NUM_RE = re.compile(r"\breps?\s*(?:#|no\.?\s*|number\s+)?(\d+)((?:\s*(?:,|and|&|or|to|through|-|–)\s*\d+)*)",
                        re.I)
ORD_RE = re.compile(r"\b(" + "|".join(ORDINALS) + r"|\d+(?:st|nd|rd|th)|last|final)\s+(?:\w+\s+)?reps?\b", re.I)
COUNT_RE = re.compile(r"\b(\d+|" + "|".join(NUM_WORDS) + r")\s+((?:(?:full|complete|clean|counted|good|solid|partial|"
                      r"more|total|of your|of the|of|your|the|valid|whole|of those)\s+)*)"
                      r"(reps?|repetitions?|squats?|push[- ]?ups?|presses|deadlifts?|lunges?|lifts)\b", re.I)


@dataclass
class _Term:
    codes: frozenset[str]
    kind: str          # issue | variation | exercise
    rx: re.Pattern


def _lexicon(cards: CardSet) -> list[_Term]:
    terms: dict[tuple[str, str], set[str]] = {}
    for kind, table in (("issue", cards.issues), ("variation", cards.variations), ("exercise", cards.exercises)):
        for code, card in table.items():
            pats = list(card.terms)
            if kind != "exercise":
                pats += [re.escape(card.title), re.escape(code.replace("_", " "))]
            for p in pats:
                terms.setdefault((kind, p.lower()), set()).add(code)
    return [_Term(frozenset(codes), kind, re.compile(rf"\b(?:{p})\b", re.I)) for (kind, p), codes in terms.items()]


_LEX_CACHE: dict[int, list[_Term]] = {}


def lexicon(cards: CardSet) -> list[_Term]:
    key = id(cards)
    if key not in _LEX_CACHE:
        _LEX_CACHE[key] = _lexicon(cards)
    return _LEX_CACHE[key]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text or "") if s.strip()]


def _clause_bounds(sentence: str, pos: int) -> tuple[int, int]:
    start, end = 0, len(sentence)
    for m in CLAUSE_SPLIT.finditer(sentence):
        if m.end() <= pos:
            start = m.end()
        elif m.start() >= pos:
            end = m.start()
            break
    return start, end


def negated(sentence: str, start: int, end: int | None = None, post: bool = False) -> bool:
    """Is the span at ``start`` negated within its clause? (negator before it; with ``post``, also
    'X was not ...' after it)."""
    c0, c1 = _clause_bounds(sentence, start)
    before = sentence[c0:start]
    before_clean = NEG_EXCEPTIONS.sub(" ", before)
    if NEGATORS.search(before_clean):
        return True
    if post and end is not None:
        after = sentence[end:c1] if end <= c1 else ""
        if POST_NEG.search(after):
            return True
    return False


@dataclass
class _Mention:
    term: _Term
    start: int
    end: int
    positive: bool


def _mentions(sentence: str, lex: list[_Term], kind: str, post: bool) -> list[_Mention]:
    out = []
    for t in lex:
        if t.kind != kind:
            continue
        for m in t.rx.finditer(sentence):
            out.append(_Mention(t, m.start(), m.end(), not negated(sentence, m.start(), m.end(), post=post)))
    return out


def _fail(out: list[CheckFailure], check: str, section: str, text: str, detail: str) -> None:
    out.append(CheckFailure(check=check, section=section, text=text[:300], detail=detail))


def summary_texts(s: Summary) -> list[tuple[str, str]]:
    out = [("headline", s.headline), ("what_you_did", s.what_you_did)]
    out += [("looked_good", t) for t in s.looked_good]
    out += [(f"fix_first:{f.code}", f.text) for f in s.fix_first]
    out += [(f"variation_notes:{v.code}", v.text) for v in s.variation_notes]
    out += [("next_session", t) for t in s.next_session]
    out += [(f"confidence_notes:{c.reason}", c.text) for c in s.confidence_notes]
    out += [("disclaimer", s.disclaimer)]
    return out


def _close(x: float, pool: Iterable[float], abs_tol: float, rel_tol: float) -> bool:
    """Signs are compared loosely: prose writes magnitudes ("0.25 below") for signed metrics."""
    x = abs(x)
    return any(abs(x - abs(v)) <= max(abs_tol, rel_tol * abs(v)) for v in pool)


def _expand_rep_list(first: str, rest: str) -> list[int]:
    nums = [int(first)]
    prev = int(first)
    for sep, n in re.findall(r"\s*(,|and|&|or|to|through|-|–)\s*(\d+)", rest):
        n = int(n)
        if sep in ("to", "through", "-", "–") and n > prev:
            nums += list(range(prev + 1, n + 1))
        else:
            nums.append(n)
        prev = n
    return nums


def evidence_terms(ev: Evidence) -> list[_Term]:
    """The report's own issue/variation labels recognise mentions too, whatever wording the rules use."""
    out = [_Term(frozenset([f.code]), "issue", re.compile(rf"\b{re.escape(f.label)}\b", re.I))
           for f in [*ev.issues, *ev.borderline] if f.label]
    out += [_Term(frozenset([c]), "variation", re.compile(rf"\b{re.escape(lab)}\b", re.I))
            for c, lab in ev.variations.items() if lab]
    if "form" in ev.not_judged:  # a taught exercise: no form rules at all, named as form, technique or form rules
        out.append(_Term(frozenset(["form"]), "not_judged", re.compile(r"\b(?:form|technique)\b", re.I)))
    return out


def check_text(section: str, text: str, ev: Evidence, cards: CardSet,
               suppressed: dict[str, str] | None = None) -> list[CheckFailure]:
    """Check one piece of summary text against the evidence."""
    lex = lexicon(cards) + evidence_terms(ev)
    fails: list[CheckFailure] = []
    detected = set(ev.issue_codes)
    border = set(ev.borderline_codes)
    unjudged = set(ev.not_judged) - detected
    own_codes = detected | border | unjudged
    suppressed = suppressed or {}
    for sent in sentences(text):
        # --- issues
        iss = _mentions(sent, lex, "issue", post=True)
        # a span that names one of this report's own findings (detected, borderline or not judged) is read as that
        # finding: another exercise's card may word the same thing ("heels lifting" is a squat's heel rise and a
        # deadlift's heel lift), and that other card's code was never in question
        own_spans = [(m.start, m.end) for m in iss if m.term.codes & own_codes]
        sent_issue_codes: set[str] = set()
        reported: set[frozenset] = set()
        for m in iss:
            if m.term.codes & detected:
                if m.positive:
                    sent_issue_codes |= m.term.codes & detected
                continue
            bl = m.term.codes & border
            nj = m.term.codes & unjudged
            if bl or nj:
                key = frozenset(bl | nj)
                if key in reported:
                    continue
                reported.add(key)
                fails += _placement(section, sent, m, bl, nj, suppressed)
                if nj and not bl:
                    if m.positive and section == "confidence_notes:not_judged":
                        _fail(fails, "issue_label", section, sent,
                              f"'{sent[m.start:m.end]}' ({sorted(nj)[0]}) was not judged, so it cannot have "
                              "been found")
                    continue
                if not m.positive and section != "confidence_notes:borderline":
                    continue
                fault = _fault_word(sent)
                if BORDER_RE.search(sent) and not fault and not section.startswith("fix_first"):
                    sent_issue_codes |= bl
                else:
                    _fail(fails, "borderline_as_fault", section, sent,
                          f"'{sent[m.start:m.end]}' ({sorted(bl)[0]}) is borderline (inside the measurement "
                          f"uncertainty): " + (f"called '{fault}'" if fault else "not said to be borderline"))
                continue
            if not m.positive:
                continue
            if any(a < m.end and m.start < b for a, b in own_spans) or m.term.codes in reported:
                continue  # part of a mention of this report's own finding, or already reported
            reported.add(m.term.codes)
            sup = [c for c in m.term.codes if c in suppressed]
            if sup:
                _fail(fails, "variation_as_fault", section, sent,
                      f"'{sent[m.start:m.end]}' ({sup[0]}) is explained by the {suppressed[sup[0]]} variation")
            else:
                _fail(fails, "issue_label", section, sent,
                      f"'{sent[m.start:m.end]}' ({'/'.join(sorted(m.term.codes))}) was not detected")
        # --- variations: only where a variation belongs, never called a fault
        if ev.variations and section.startswith(NO_VARIATION_SECTIONS):
            for m in _mentions(sent, lex, "variation", post=False):
                if m.term.codes & set(ev.variations):
                    _fail(fails, "placement", section, sent,
                          f"the variation '{sent[m.start:m.end]}' belongs in its variation note, not in {section}")
                    break
        if ev.variations and FAULT_RE.search(sent):
            vars_ = [sent[m.start:m.end] for m in _mentions(sent, lex, "variation", post=False)
                     if m.term.codes & set(ev.variations)]
            if section.startswith("variation_notes:"):
                vars_.append(section.split(":", 1)[1])
            if vars_:
                for fm in FAULT_RE.finditer(sent):
                    if not negated(sent, fm.start(), fm.end(), post=False):
                        _fail(fails, "variation_as_fault", section, sent,
                              f"valid variation '{vars_[0]}' described with '{fm.group(0)}'")
                        break
        # --- exercise
        if ev.exercise != "unknown":
            # a taught exercise's own name may contain a built-in one's ("Wide squat"): not another exercise
            own = [(x.start(), x.end()) for x in re.finditer(re.escape(ev.taught_label), sent, re.I)] \
                if ev.taught_label else []
            for m in _mentions(sent, lex, "exercise", post=False):
                if any(a <= m.start and m.end <= b for a, b in own):
                    continue
                if ev.exercise not in m.term.codes and m.positive:
                    _fail(fails, "exercise", section, sent,
                          f"names '{sent[m.start:m.end]}' but the exercise was {ev.exercise}")
        # --- medical
        for cat, rx in _MED_RE:
            for m in rx.finditer(sent):
                if not negated(sent, m.start(), m.end()):
                    _fail(fails, "medical_claim", section, sent, f"{cat}: '{m.group(0)}'")
                    break
        # --- numbers (a fix's sentences are about its issue: a rep there must be one the issue was seen on)
        if section.startswith("fix_first:") and section.split(":", 1)[1] in detected:
            sent_issue_codes.add(section.split(":", 1)[1])
        fails += _check_numbers(section, sent, ev, sent_issue_codes, [(m.start, m.end) for m in iss])
    return fails


def _placement(section: str, sent: str, m: "_Mention", bl: set[str], nj: set[str],
               suppressed: dict[str, str]) -> list[CheckFailure]:
    """A borderline finding named outside the borderline note, or a check that was not judged named outside the
    not-judged note (as found or as absent: either says Spotter judged it). A check a variation explains may also be
    named, as not judged, in that variation's note ("... is not judged as hips rising first")."""
    out: list[CheckFailure] = []
    if (nj and not bl and not m.positive and section.startswith("variation_notes:")
            and all(c in suppressed for c in nj)):
        return out
    span = sent[m.start:m.end]
    if bl and section != BORDERLINE_HOME:
        _fail(out, "placement", section, sent,
              f"'{span}' ({sorted(bl)[0]}) is borderline: it is named only in the borderline note")
    elif nj and not bl and section != NOT_JUDGED_HOME:
        _fail(out, "placement", section, sent,
              f"'{span}' ({sorted(nj)[0]}) was not judged: it is named only in the not-judged note")
    return out


def _named(texts: list[str], code: str, lex: list[_Term]) -> bool:
    """Does any of ``texts`` name ``code`` (through the cards' terms or the report's own label)?"""
    for t in texts:
        for term in lex:
            if code in term.codes and term.rx.search(t):
                return True
    return False


def _fault_word(sent: str) -> str:
    """The first fault word ('fault', 'problem', 'fix', ...) of a sentence that is not negated, or ''."""
    for fm in FAULT_RE.finditer(sent):
        if not negated(sent, fm.start(), fm.end(), post=False):
            return fm.group(0)
    return ""


def _check_numbers(section: str, sent: str, ev: Evidence, issue_codes: set[str],
                   names: list[tuple[int, int]] = ()) -> list[CheckFailure]:
    """``names``: spans of issue names; an ordinal inside one is part of the name ("hips rising first on reps 2
    and 3" names no first rep)."""
    fails: list[CheckFailure] = []
    used: list[tuple[int, int]] = []
    valid_reps = set(ev.rep_numbers)
    issue_reps: set[int] = set()
    for c in issue_codes:
        f = ev.issue(c) or ev.borderline_issue(c)
        if f and f.reps:
            issue_reps |= set(f.reps)
    for m in REP_NUM_RE.finditer(sent):
        used.append(m.span())
        for n in _expand_rep_list(m.group(1), m.group(2) or ""):
            _rep_number(fails, section, sent, n, valid_reps, issue_reps, issue_codes)
    for m in ORD_RE.finditer(sent):
        if any(a <= m.start(1) < b for a, b in names):
            continue
        w = m.group(1).lower()
        n = ev.rep_count if w in ("last", "final") else ORDINALS.get(w) or int(re.sub(r"\D", "", w))
        _rep_number(fails, section, sent, n, valid_reps, issue_reps, issue_codes)
        used.append(m.span())
    for m in COUNT_RE.finditer(sent):
        if any(a <= m.start() < b for a, b in used):
            continue
        used.append(m.span())
        w = m.group(1).lower()
        n = int(w) if w.isdigit() else NUM_WORDS[w]
        mods = (m.group(2) or "").lower()
        if "partial" in mods:
            ok = n == ev.partial
            want = f"{ev.partial} partial"
        else:
            allowed = {ev.rep_count, ev.rep_count + ev.partial, ev.partial}
            for c in issue_codes:
                f = ev.issue(c) or ev.borderline_issue(c)
                if f:
                    allowed |= {len(f.reps), f.count}
            ok = n in allowed
            want = f"{ev.rep_count} counted" + (f" + {ev.partial} partial" if ev.partial else "")
        if not ok:
            _fail(fails, "rep_count", section, sent, f"says {n} reps; evidence: {want}")
    issue_nums: list[float] = []
    for c in issue_codes:
        f = ev.issue(c) or ev.borderline_issue(c)
        if f:
            issue_nums += f.numbers
    for m in UNIT_RE.finditer(sent):
        if any(a <= m.start() < b for a, b in used):
            continue
        x = float(m.group(1))
        unit = (m.group(2) or "").lower()
        if unit in ("°", "degree", "degrees", "deg"):
            pool = issue_nums if issue_nums else ev.angles
            if not _close(x, pool, ANGLE_TOL_DEG, ANGLE_TOL_REL):
                _fail(fails, "number", section, sent, f"angle {x:g}° matches no measured value"
                      + (f" of {'/'.join(sorted(issue_codes))}" if issue_nums else ""))
        elif unit in ("%", "percent", "per cent"):
            if not _close(x, ev.percents, PERCENT_TOL, 0.0):
                _fail(fails, "number", section, sent, f"{x:g}% matches no measured value")
        elif unit:
            if not _close(x, ev.seconds, TIME_TOL_S, TIME_TOL_REL):
                _fail(fails, "number", section, sent, f"{x:g} s matches no measured time")
        else:
            pool = (ev.plain + [float(v) for v in ev.allowed_counts()] + [float(r) for r in ev.rep_numbers]
                    + [n for f in ev.issues for n in f.numbers])
            if not _close(x, pool, 0.0, PLAIN_TOL_REL) and not _close(x, pool, 0.005, 0.0):
                _fail(fails, "number", section, sent, f"number {x:g} is not in the evidence")
    return fails


def _rep_number(fails, section, sent, n, valid_reps, issue_reps, issue_codes) -> None:
    if n not in valid_reps:
        _fail(fails, "rep_number", section, sent, f"rep {n} does not exist (reps: {_rng(valid_reps)})")
    elif issue_reps and n not in issue_reps:
        _fail(fails, "rep_number", section, sent,
              f"rep {n} had no {'/'.join(sorted(issue_codes))} (detected on reps {_rng(issue_reps)})")


def _rng(s: Iterable[int]) -> str:
    s = sorted(s)
    return ", ".join(map(str, s)) if s else "none"


def verify_summary(summary: Summary, report: Report, cards: Optional[CardSet] = None,
                   evidence: Optional[Evidence] = None) -> list[CheckFailure]:
    """All failures of ``summary`` against ``report`` (empty list = passed)."""
    cards = cards or load_cards()
    ev = evidence or extract_evidence(report)
    suppressed: dict[str, str] = {}
    for v in report.variations:
        for c in v.suppresses:
            if c not in ev.issue_codes:
                suppressed[c] = v.label
    fails: list[CheckFailure] = []
    for section, text in summary_texts(summary):
        fails += check_text(section, text, ev, cards, suppressed)
    # structure: one fix per detected issue, ordered by severity, with the facts from evidence
    want = ev.issue_codes
    got = [f.code for f in summary.fix_first]
    if got != want:
        extra = [c for c in got if c not in want]
        bad_var = [c for c in extra if c in ev.variations or c in suppressed]
        if bad_var:
            _fail(fails, "variation_as_fault", "fix_first", ", ".join(bad_var),
                  "a valid variation (or what it explains) is listed as a fix")
        bad_border = [c for c in extra if c in ev.borderline_codes]
        if bad_border:
            _fail(fails, "borderline_as_fault", "fix_first", ", ".join(bad_border),
                  "a borderline finding (inside the measurement uncertainty) is listed as a fix")
        _fail(fails, "fix_coverage", "fix_first", ", ".join(got),
              f"expected one fix per detected issue in severity order: {', '.join(want) or 'none'}")
    for f in summary.fix_first:
        facts = ev.issue(f.code)
        if facts is None:
            continue
        if sorted(f.reps) != facts.reps:
            _fail(fails, "rep_number", f"fix_first:{f.code}", str(f.reps), f"evidence reps: {facts.reps}")
        if f.focus_rep is not None and facts.reps and f.focus_rep not in facts.reps:
            _fail(fails, "rep_number", f"fix_first:{f.code}", str(f.focus_rep), f"evidence reps: {facts.reps}")
        if f.label != facts.label:
            _fail(fails, "issue_label", f"fix_first:{f.code}", f.label, f"evidence label: {facts.label}")
        if f.value is not None and abs(f.value - facts.value) > 1e-6:
            _fail(fails, "number", f"fix_first:{f.code}", str(f.value), f"evidence value: {facts.value}")
        if not f.text.strip():
            _fail(fails, "fix_coverage", f"fix_first:{f.code}", "", "empty fix")
    # confidence notes
    have = {}
    for c in summary.confidence_notes:
        have.setdefault(c.reason, []).append(c.text)
    for reason, why in ev.required_notes.items():
        texts = have.get(reason, [])
        kw = re.compile(rf"\b(?:{NOTE_KEYWORDS[reason]})", re.I)
        if not any(kw.search(t) for t in texts):
            _fail(fails, "confidence_note", f"confidence_notes:{reason}", " | ".join(texts),
                  f"a {reason} note is required ({why})")
    # placement: every borderline finding in the borderline note, every unjudged check in the not-judged note,
    # one note per variation
    lex = lexicon(cards) + evidence_terms(ev)
    for reason, codes in (("borderline", ev.borderline_codes),
                          ("not_judged", [c for c in ev.not_judged if c not in ev.issue_codes])):
        texts = have.get(reason, [])
        for code in codes:
            if texts and not _named(texts, code, lex):
                _fail(fails, "placement", f"confidence_notes:{reason}", " | ".join(texts),
                      f"{code} is not named in the {reason.replace('_', '-')} note")
    notes = [v.code for v in summary.variation_notes]
    for code in ev.variations:
        if notes.count(code) != 1:
            _fail(fails, "placement", f"variation_notes:{code}", ", ".join(notes),
                  f"the {code} variation needs exactly one note")
    for code in notes:
        if code not in ev.variations:
            _fail(fails, "placement", f"variation_notes:{code}", code, "a note for a variation that was not detected")
    if not re.search(r"\bnot (?:a )?medical (?:device|advice)\b", summary.disclaimer or "", re.I):
        _fail(fails, "disclaimer", "disclaimer", summary.disclaimer or "", "must say Spotter is not a medical device")
    return fails

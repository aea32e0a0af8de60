"""Knowledge cards: hand-written data files (``card_data/<exercise>.json``), retrieved by code.

Exercise cards are keyed by exercise label; issue and variation cards by their code. ``terms`` are
regular expressions the verifier uses to recognise when a sentence talks about that issue/variation.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, Field, field_validator

from ..movement.exercises import names as exercise_names

CARDS_DIR = Path(__file__).with_name("card_data")
EXERCISES = (*exercise_names(), "unknown")  # the registered exercise modules; one card file each


class Card(BaseModel):
    code: str
    kind: Literal["exercise", "issue", "variation"]
    exercise: str
    title: str
    good: str = Field(description="what good looks like")
    why: str = Field(description="why it matters (no medical claims)")
    fixes: list[str] = Field(min_length=2, max_length=3)
    cue: str = Field(description="a short live cue")
    not_an_issue: list[str] = Field(default_factory=list, description="what is *not* an issue")
    terms: list[str] = Field(default_factory=list, description="regexes that recognise a mention")

    @field_validator("terms")
    @classmethod
    def _compile(cls, v: list[str]) -> list[str]:
        for t in v:
            re.compile(t)
        return v


class CardSet(BaseModel):
    exercises: dict[str, Card] = Field(default_factory=dict)
    issues: dict[str, Card] = Field(default_factory=dict)
    variations: dict[str, Card] = Field(default_factory=dict)

    def get(self, code: str) -> Optional[Card]:
        return self.issues.get(code) or self.variations.get(code) or self.exercises.get(code)

    def for_report(self, exercise: Optional[str], issue_codes: list[str], variation_codes: list[str]) -> list[Card]:
        """Cards relevant to one report, exercise first, then issues and variations in the given order."""
        out: list[Card] = []
        if exercise and exercise in self.exercises:
            out.append(self.exercises[exercise])
        seen: set[str] = set()
        for c in [*issue_codes, *variation_codes]:
            card = self.issues.get(c) or self.variations.get(c)
            if card is not None and c not in seen:
                seen.add(c)
                out.append(card)
        return out


def load_cards(directory: str | Path | None = None) -> CardSet:
    """Load every ``*.json`` card file in ``directory`` (default: the cards shipped with Spotter)."""
    if directory is None:
        return _default_cards()
    return _load(Path(directory))


@lru_cache(maxsize=1)
def _default_cards() -> CardSet:
    return _load(CARDS_DIR)


def _load(directory: Path) -> CardSet:
    cs = CardSet()
    for p in sorted(directory.glob("*.json")):
        data = json.loads(p.read_text(encoding="utf-8"))
        ex = Card(**data["exercise"])
        cs.exercises[ex.code] = ex
        for code, d in data.get("issues", {}).items():
            card = Card(**d)
            if card.code != code:
                raise ValueError(f"{p.name}: issue key {code!r} != card code {card.code!r}")
            cs.issues[code] = card
        for code, d in data.get("variations", {}).items():
            card = Card(**d)
            if card.code != code:
                raise ValueError(f"{p.name}: variation key {code!r} != card code {card.code!r}")
            cs.variations[code] = card
    return cs

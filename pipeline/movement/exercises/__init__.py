"""Registry of exercise modules. Adding an exercise: write a module like ``squat.py`` and register it here."""
from __future__ import annotations

from .base import Exercise, IssueRule, VariationRule
from .deadlift import DEADLIFT
from .lunge import LUNGE
from .push_up import PUSH_UP
from .shoulder_press import SHOULDER_PRESS
from .squat import SQUAT

REGISTRY: dict[str, Exercise] = {}


def register(ex: Exercise) -> Exercise:
    if ex.name in REGISTRY:
        raise ValueError(f"exercise {ex.name!r} is already registered")
    codes = [r.code for r in ex.issue_rules] + [v.code for v in ex.variation_rules]
    if len(set(codes)) != len(codes):
        raise ValueError(f"duplicate issue/variation codes in {ex.name}")
    REGISTRY[ex.name] = ex
    return ex


for _ex in (SQUAT, PUSH_UP, SHOULDER_PRESS, DEADLIFT, LUNGE):
    register(_ex)


def get(name: str) -> Exercise:
    """A built-in exercise module, or a fresh instance of a taught exercise (``pipeline/movement/taught.py``)."""
    ex = REGISTRY.get(name)
    if ex is None:
        from ..taught import lookup

        ex = lookup(name)
    if ex is None:
        raise KeyError(f"unknown exercise {name!r}; known: {', '.join(known())}") from None
    return ex


def names() -> list[str]:
    """The built-in exercises (the router's labels, the knowledge cards)."""
    return list(REGISTRY)


def known() -> list[str]:
    """The built-in exercises and the taught ones this process has loaded."""
    from ..taught import taught_names

    return list(REGISTRY) + taught_names()


__all__ = ["Exercise", "IssueRule", "VariationRule", "REGISTRY", "register", "get", "names", "known"]

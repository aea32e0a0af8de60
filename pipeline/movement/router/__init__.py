"""The exercise router at run time: which exercise (squat, push_up, shoulder_press, deadlift, lunge) or ``unknown``.

``features`` (window features, shared with training), ``nets`` (the temporal network), ``trees`` (the boosted-trees
baseline's evaluation) and ``core`` (window scoring, the causal decision shared by batch and live, the live router).
Training, data and the shipped weights live in ``models/``, which imports this package, never the other way round.
"""
from .core import *  # noqa: F401,F403
from .core import __all__  # noqa: F401
from .features import HOP_S, MAX_GAP_S, WIN_S, ClipArrays  # noqa: F401

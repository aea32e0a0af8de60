"""The learnt rep shown back before a taught exercise is saved: the demonstration's movement over time with the reps
Spotter found in it, and the mean rep of the joints that move. A PNG (matplotlib, no pyplot state) for the command
line and the app."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..movement.taught import FEATURES, MIRROR, NS, TaughtModel, feature_words

REP_COLOR = "#e8f0fb"
LINE = "#1f77b4"


def _main_features(m: TaughtModel, k: int = 3) -> list[tuple[int, str]]:
    """(template column, words) of the features that move most, in the demonstration's own side."""
    d = np.abs(np.asarray(m.far) - np.asarray(m.start))
    cols = [j for j in np.argsort(-d) if FEATURES[j] in m.moving][:k]
    out = []
    for j in cols:
        name = FEATURES[j]
        if m.sided == "one" and m.side == "right" and j < 2 * NS:
            name = FEATURES[MIRROR[j]]
        out.append((int(j), feature_words(name)))
    return out


def taught_chart_png(m: TaughtModel, dpi: int = 100) -> bytes:
    """The chart as PNG bytes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.2), dpi=dpi)
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
    if m.curve:
        t = np.array([c[0] for c in m.curve])
        p = 100.0 - np.array([c[1] for c in m.curve])  # 0 at the start posture, 100 at the demo's far point
        ax1.plot(t, p, color=LINE, lw=1.6)
    for i, r in enumerate(m.demo_reps, 1):
        ax1.axvspan(r.start_s, r.end_s, color=REP_COLOR, zorder=0)
        ax1.text((r.start_s + r.end_s) / 2, 104, f"rep {i}", ha="center", va="bottom", fontsize=8)
    ax1.set_ylim(-15, 118)
    ax1.set_xlabel("seconds")
    ax1.set_ylabel("% of the way to the far point")
    ax1.set_title(f"your demonstration: {len(m.demo_reps)} reps found", fontsize=10)
    ax1.grid(alpha=0.3)
    x = np.linspace(0, 100, len(m.template))
    tpl = np.asarray(m.template, float)
    for j, words in _main_features(m):
        ax2.plot(x, tpl[:, j], lw=1.6, label=words)
    ax2.set_xlabel("% of the rep")
    ax2.set_ylabel("degrees")
    ax2.set_title("the learnt rep", fontsize=10)
    ax2.legend(fontsize=7, loc="best")
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def write_taught_chart(m: TaughtModel, path: str | Path) -> Path:
    path = Path(path)
    path.write_bytes(taught_chart_png(m))
    return path


def describe(m: TaughtModel) -> list[str]:
    """What was learnt, in plain lines (the command line prints them, the app shows them)."""
    lines = []
    sided = ("one side at a time" + (f" (shown with the {m.side} side)" if m.side else "")) if m.sided == "one" \
        else "both sides together"
    lines.append(f"{m.label} ({m.name}): {len(m.demo_reps)} reps found in the demonstration, {sided}")
    for jr in m.joints[:5]:
        lines.append(f"  {jr.words}: {jr.low:.0f}° to {jr.high:.0f}°")
    lines.append(f"  a rep takes {m.rep_s:.1f} s ({m.out_s:.1f} s out, {m.back_s:.1f} s back)")
    lines.append("  a rep counts when you come back to the start posture after reaching at least half the demo's "
                 "range; no form rules: range and tempo are compared with this demonstration")
    return lines

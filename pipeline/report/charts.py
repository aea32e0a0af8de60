"""Joint-angle chart of a set with reps and issues marked: a PNG (matplotlib, no pyplot/global state) for
the report and an interactive Altair chart for the Streamlit page."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np

from ..schema import IssueModel, RepItem, RepsModel

ISSUE_COLOR = "#d62728"
BORDERLINE_COLOR = "#ff9f1c"
REP_COLORS = ("#e8f0fb", "#f6f6f6")


def _rep_items(reps: RepsModel | Sequence[RepItem] | None) -> list[RepItem]:
    if reps is None:
        return []
    return list(reps.items) if isinstance(reps, RepsModel) else list(reps)


def _pretty(name: str) -> str:
    n = name[:-4] if name.endswith("_deg") else name
    n = n.split(":", 1)[-1]  # a taught exercise's body features: "tf:elbow_l"
    return n.replace("_", " ")


def downsample(times: np.ndarray, series: Mapping[str, np.ndarray], max_points: int = 1500
               ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    t = np.asarray(times, float)
    step = max(1, int(np.ceil(t.size / max_points)))
    return t[::step], {k: np.asarray(v, float)[::step] for k, v in series.items()}


def write_angle_chart(times: Sequence[float] | np.ndarray, series: Mapping[str, Sequence[float] | np.ndarray],
                      reps: RepsModel | Sequence[RepItem] | None, issues: Iterable[IssueModel],
                      path: str | Path, title: Optional[str] = None, dpi: int = 110,
                      borderline: Iterable[IssueModel] = ()) -> Path:
    """Plot the main joint angles (degrees) over the set; shade each rep (numbered, partial reps hatched)
    and mark each issue's time range in red with its code (borderline findings in orange, marked '?').
    Returns ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t, ser = downsample(np.asarray(times, float), series)
    fig = Figure(figsize=(10, 4.2), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for name, y in ser.items():
        ax.plot(t, y, lw=1.4, label=_pretty(name))
    ymin, ymax = ax.get_ylim()
    items = _rep_items(reps)
    for k, it in enumerate(items):
        ax.axvspan(it.start_s, it.end_s, color=REP_COLORS[k % 2], zorder=0, hatch="//" if it.partial else None,
                   lw=0)
        ax.text((it.start_s + it.end_s) / 2, ymax, "p" if it.partial or it.index <= 0 else str(it.index),
                ha="center", va="bottom", fontsize=8, color="#444")
    iss = [(i, ISSUE_COLOR, "") for i in issues] + [(i, BORDERLINE_COLOR, "?") for i in borderline]
    for k, (i, color, mark) in enumerate(iss):
        ax.axvspan(i.t_start, max(i.t_end, i.t_start + 0.05), ymin=0.0, ymax=0.06, color=color, alpha=0.6,
                   lw=0, hatch="//" if mark else None)
        ax.text(i.t_start, ymin + (ymax - ymin) * (0.08 + 0.06 * (k % 3)), i.code.replace("_", " ") + mark,
                fontsize=7, color=color, clip_on=True)
    ax.set_ylim(ymin, ymax)
    ax.set_xlim(float(t[0]) if t.size else 0.0, float(t[-1]) if t.size else 1.0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("angle (°)")
    ax.set_title(title or "Joint angles over the set (shaded = reps, red = issues, orange = borderline)",
                 fontsize=10, pad=14)
    if ser:
        ax.legend(loc="lower right", fontsize=8, framealpha=0.8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, format="png")
    return p


def angle_chart_frames(times: Sequence[float] | np.ndarray, series: Mapping[str, Sequence[float] | np.ndarray],
                       reps: RepsModel | Sequence[RepItem] | None, issues: Iterable[IssueModel],
                       max_points: int = 1500) -> dict[str, Any]:
    """Long-form pandas DataFrames for an interactive chart: ``angles`` (t, joint, angle_deg),
    ``reps`` (rep, start_s, end_s, partial) and ``issues`` (code, label, rep, t_start, t_end, value, cue)."""
    import pandas as pd

    t, ser = downsample(np.asarray(times, float), series, max_points)
    angles = pd.concat([pd.DataFrame({"t": t, "joint": _pretty(k), "angle_deg": v}) for k, v in ser.items()],
                       ignore_index=True) if ser else pd.DataFrame(columns=["t", "joint", "angle_deg"])
    rep_df = pd.DataFrame([{"rep": "partial" if it.partial or it.index <= 0 else str(it.index),
                            "start_s": it.start_s, "end_s": it.end_s, "partial": it.partial}
                           for it in _rep_items(reps)], columns=["rep", "start_s", "end_s", "partial"])
    iss_df = pd.DataFrame([{"code": i.code, "label": i.label, "rep": i.rep, "t_start": i.t_start,
                            "t_end": max(i.t_end, i.t_start + 0.05), "value": i.value, "threshold": i.threshold,
                            "unit": i.unit, "cue": i.cue} for i in issues],
                          columns=["code", "label", "rep", "t_start", "t_end", "value", "threshold", "unit", "cue"])
    return {"angles": angles, "reps": rep_df, "issues": iss_df}


def angle_chart_altair(times, series, reps, issues, height: int = 320):
    """Interactive (zoom/pan, tooltips) Altair chart for ``st.altair_chart(chart, use_container_width=True)``."""
    import altair as alt

    f = angle_chart_frames(times, series, reps, issues)
    lines = alt.Chart(f["angles"]).mark_line().encode(
        x=alt.X("t:Q", title="time (s)"), y=alt.Y("angle_deg:Q", title="angle (°)", scale=alt.Scale(zero=False)),
        color=alt.Color("joint:N", title="joint"), tooltip=["joint", alt.Tooltip("t:Q", format=".2f"),
                                                            alt.Tooltip("angle_deg:Q", format=".0f")])
    layers = []
    if len(f["reps"]):
        layers.append(alt.Chart(f["reps"]).mark_rect(opacity=0.15, color="#4c78a8").encode(
            x="start_s:Q", x2="end_s:Q", tooltip=["rep", "start_s", "end_s", "partial"]))
    if len(f["issues"]):
        layers.append(alt.Chart(f["issues"]).mark_rect(opacity=0.35, color=ISSUE_COLOR).encode(
            x="t_start:Q", x2="t_end:Q", tooltip=["label", "rep", "value", "threshold", "unit", "cue"]))
    return alt.layer(*layers, lines).properties(height=height).interactive(bind_y=False)

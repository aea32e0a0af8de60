"""The Progress page's charts (matplotlib): one exercise's sets and sessions over time, each session marked.

    figs = charts(data["squat"], "squat", by="week", unit="kg")    # [(key, title, Figure), ...]

Every chart has the date on x, a faint vertical line at each session, the sets as dots and the sessions (or days,
weeks, months) as a line or bars. Borderline and not-judged reps are drawn apart from raised ones (grey, hatched),
never as faults. Words and shapes carry the meaning as well as colour (hatching, markers, labels).
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from .progress import LB_KG, exercise_info, period_of, periods

RAISED, CLEAN, BORDER, UNJUDGED = "#c0392b", "#2e86c1", "#999999", "#dddddd"


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _t(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


def _period_span(p: dict, by: str) -> tuple[dt.datetime, float]:
    """(start, width in days) of a period's bar."""
    d = dt.date.fromisoformat(p["start"])
    if by == "week":
        d = d - dt.timedelta(days=d.weekday())
        return dt.datetime(d.year, d.month, d.day), 6.0
    if by == "month":
        nxt = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        return dt.datetime(d.year, d.month, 1), (nxt - dt.date(d.year, d.month, 1)).days - 2.0
    return dt.datetime(d.year, d.month, d.day), 0.7


def _axes(plt, n: int = 1, height: float = 2.6):
    fig, axes = plt.subplots(n, 1, figsize=(7.5, height * n), sharex=True, squeeze=False)
    return fig, [a[0] for a in axes]


def _finish(fig, axes, sessions: list[dict], title: str):
    import matplotlib.dates as mdates

    for ax in axes:
        for s in sessions:  # each session marked
            ax.axvline(_t(s["time"]), color="#bbbbbb", lw=0.8, ls=":", zorder=0)
        ax.grid(axis="y", color="#eeeeee")
        ax.spines[["top", "right"]].set_visible(False)
    loc = mdates.AutoDateLocator(minticks=3, maxticks=8)
    axes[-1].xaxis.set_major_locator(loc)
    axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    if sessions:
        t0, t1 = _t(sessions[0]["time"]), _t(sessions[-1]["time"])
        pad = max(dt.timedelta(days=1), (t1 - t0) * 0.05)
        axes[-1].set_xlim(t0 - pad, t1 + pad)
    axes[0].set_title(title, loc="left", fontsize=11)
    fig.tight_layout()
    return fig


def _verdict(trends: dict, key: str) -> str:
    tr = trends.get(key)
    if not tr:
        return ""
    if tr["status"] == "too_few":
        return " — too few sessions for a trend"
    if tr["status"] == "steady":
        return " — no change beyond session-to-session noise"
    return f" — {tr['status']} (beyond session-to-session noise)"


def chart_reps(d: dict, by: str) -> object:
    plt = _plt()
    fig, (a1, a2) = _axes(plt, 2, 2.2)
    ps = periods(d["sessions"], by)
    for p in ps:
        x, w = _period_span(p, by)
        a1.bar(x, p["reps"], width=w, align="edge" if by != "day" else "center", color="#85c1e9", edgecolor="#2e86c1")
        a1.annotate(f"{p['sets']} set{'s' if p['sets'] != 1 else ''}", (x, p["reps"]), fontsize=7,
                    ha="left" if by != "day" else "center", va="bottom")
    a1.set_ylabel(f"reps per {by if by != 'day' else 'session day'}", fontsize=8)
    plain = [s for s in d["sets"] if not s["corrected"]]
    corr = [s for s in d["sets"] if s["corrected"]]
    a2.scatter([_t(s["time"]) for s in plain], [s["reps"] for s in plain], s=18, color="#1f618d", label="a set")
    if corr:
        a2.scatter([_t(s["time"]) for s in corr], [s["reps"] for s in corr], s=30, facecolors="none",
                   edgecolors="#1f618d", marker="D", label="a set, count corrected by you")
    a2.plot([_t(s["time"]) for s in d["sessions"]], [s["reps"] / s["sets"] for s in d["sessions"]], color="#1f618d",
            lw=1.2, alpha=0.7, label="session mean")
    a2.set_ylabel("reps per set", fontsize=8)
    a2.legend(fontsize=7, loc="best", frameon=False)
    a2.set_ylim(bottom=0)
    return _finish(fig, [a1, a2], d["sessions"], "Reps per session and per set" + _verdict(d["trends"], "reps_per_set"))


def chart_load(d: dict, by: str, unit: str) -> Optional[object]:
    if not any(s["load_kg"] for s in d["sets"]):
        return None
    plt = _plt()
    f = (1.0 / LB_KG) if unit == "lb" else 1.0
    fig, (a1, a2) = _axes(plt, 2, 2.2)
    for p in periods(d["sessions"], by):
        if p["volume_kg"] is None:
            continue
        x, w = _period_span(p, by)
        a1.bar(x, p["volume_kg"] * f, width=w, align="edge" if by != "day" else "center", color="#a9dfbf",
               edgecolor="#1e8449")
    a1.set_ylabel(f"volume ({unit})", fontsize=8)
    e1 = [s for s in d["sets"] if s["e1rm_kg"] is not None]
    a2.scatter([_t(s["time"]) for s in e1], [s["e1rm_kg"] * f for s in e1], s=18, color="#1e8449",
               label="a set of 2–10 reps with a load")
    ses = [s for s in d["sessions"] if s["e1rm_kg"] is not None]
    a2.plot([_t(s["time"]) for s in ses], [s["e1rm_kg"] * f for s in ses], color="#1e8449", lw=1.2,
            label="session best")
    a2.set_ylabel(f"estimated 1RM ({unit})", fontsize=8)
    a2.legend(fontsize=7, loc="best", frameon=False)
    return _finish(fig, [a1, a2], d["sessions"], "Volume (reps × load) and estimated 1RM (Epley)"
                   + _verdict(d["trends"], "e1rm_kg"))


def chart_range(d: dict, exercise: str) -> object:
    plt = _plt()
    info = exercise_info(exercise)
    joint = info["joint"].replace("_", " ")
    fig, (a1, a2) = _axes(plt, 2, 2.2)
    ms = [s for s in d["sets"] if s["rom_deg"] is not None]
    a1.scatter([_t(s["time"]) for s in ms], [s["rom_deg"] for s in ms], s=18, color="#6c3483", label="a set (mean)")
    ses = [s for s in d["sessions"] if s["rom_deg"] is not None]
    a1.plot([_t(s["time"]) for s in ses], [s["rom_deg"] for s in ses], color="#6c3483", lw=1.2, label="session")
    a1.set_ylabel(f"range ({joint}, °)", fontsize=8)
    a1.legend(fontsize=7, loc="best", frameon=False)
    key = "top_deg" if info["kind"] == "lockout" else "bottom_deg"
    word = "lockout: angle at the top (higher = fuller)" if key == "top_deg" else \
        "depth: angle at the bottom (lower = deeper)"
    ms = [s for s in d["sets"] if s[key] is not None]
    a2.scatter([_t(s["time"]) for s in ms], [s[key] for s in ms], s=18, color="#af7ac5", marker="s")
    ses = [s for s in d["sessions"] if s[key] is not None]
    a2.plot([_t(s["time"]) for s in ses], [s[key] for s in ses], color="#af7ac5", lw=1.2)
    a2.set_ylabel(f"{joint} °", fontsize=8)
    a2.set_title(word, loc="left", fontsize=8)
    return _finish(fig, [a1, a2], d["sessions"], "Range of motion per set" + _verdict(d["trends"], "rom_deg"))


def chart_tempo(d: dict) -> object:
    plt = _plt()
    fig, (a1,) = _axes(plt, 1, 2.6)
    for key, label, color, marker in (("duration_s", "rep duration", "#ca6f1e", "o"),
                                      ("lowering_s", "lowering time", "#7e5109", "v")):
        ms = [s for s in d["sets"] if s[key] is not None]
        a1.scatter([_t(s["time"]) for s in ms], [s[key] for s in ms], s=18, color=color, marker=marker)
        ses = [s for s in d["sessions"] if s[key] is not None]
        a1.plot([_t(s["time"]) for s in ses], [s[key] for s in ses], color=color, lw=1.2, label=label)
    a1.set_ylabel("seconds per rep", fontsize=8)
    a1.set_ylim(bottom=0)
    a1.legend(fontsize=7, loc="best", frameon=False)
    return _finish(fig, [a1], d["sessions"], "Tempo" + _verdict(d["trends"], "duration_s"))


def chart_form(d: dict) -> object:
    """Per session: the measured reps split into clean, borderline (not faults), raised, and not judged."""
    plt = _plt()
    fig, (a1,) = _axes(plt, 1, 2.8)
    ts = [_t(s["time"]) for s in d["sessions"]]
    span = (max(ts) - min(ts)).total_seconds() / 86400.0 if len(ts) > 1 else 1.0
    w = min(3.0, max(0.6, 0.6 * span / max(1, len(ts))))  # days: a bar as wide as the sessions' spacing allows
    for s in d["sessions"]:
        n = s["clean_reps"] + s["borderline_reps"] + s["raised_reps"] + s["not_judged_reps"]
        if not n:
            continue
        x, bottom = _t(s["time"]), 0.0
        for key, color, hatch in (("clean_reps", CLEAN, None), ("borderline_reps", BORDER, "//"),
                                  ("not_judged_reps", UNJUDGED, ".."), ("raised_reps", RAISED, "xx")):
            h = s[key] / n
            a1.bar(x, h, bottom=bottom, width=w, color=color, hatch=hatch, edgecolor="white", lw=0)
            bottom += h
    import matplotlib.patches as mpatches

    a1.legend(handles=[mpatches.Patch(color=CLEAN, label="no raised issue"),
                       mpatches.Patch(facecolor=BORDER, hatch="//", label="borderline (within noise: not a fault)"),
                       mpatches.Patch(facecolor=UNJUDGED, hatch="..", label="not judged (view)"),
                       mpatches.Patch(facecolor=RAISED, hatch="xx", label="an issue raised")],
              fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    a1.set_ylim(0, 1)
    a1.set_ylabel("share of the session's reps", fontsize=8)
    return _finish(fig, [a1], d["sessions"], "Reps with no raised issue" + _verdict(d["trends"], "clean_share"))


def chart_issues(d: dict) -> Optional[object]:
    """How often each issue was raised: its share of the reps it was judged on, per session; borderline dashed."""
    codes = [c for c in sorted({c for s in d["sessions"] for c in s["issues"]})
             if any(s["issues"].get(c, {}).get("raised") or s["issues"].get(c, {}).get("borderline")
                    for s in d["sessions"])]
    if not codes:
        return None
    plt = _plt()
    fig, (a1,) = _axes(plt, 1, 2.8)
    cmap = plt.get_cmap("tab10")
    markers = "os^vDP*X"
    for k, c in enumerate(codes):
        pts = [(s, s["issues"][c]) for s in d["sessions"] if c in s["issues"] and s["issues"][c]["judged"]]
        if not pts:
            continue
        lab = pts[0][1]["label"]
        a1.plot([_t(s["time"]) for s, _ in pts], [v["raised"] / v["judged"] for _, v in pts], color=cmap(k % 10),
                marker=markers[k % len(markers)], ms=4, lw=1.2, label=f"{lab}: raised")
        if any(v["borderline"] for _, v in pts):
            a1.plot([_t(s["time"]) for s, _ in pts], [v["borderline"] / v["judged"] for _, v in pts],
                    color=cmap(k % 10), ls="--", lw=1.0, alpha=0.6, label=f"{lab}: borderline (not a fault)")
    a1.set_ylim(-0.02, 1.02)
    a1.set_ylabel("share of judged reps", fontsize=8)
    a1.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _finish(fig, [a1], d["sessions"], "How often each issue was raised")


def charts(d: dict, exercise: str, by: str = "day", unit: str = "kg") -> list[tuple[str, str, object]]:
    """The Progress page's charts for one exercise, in page order: (key, title, Figure). Close them after use."""
    out = [("reps", "Reps", chart_reps(d, by))]
    load = chart_load(d, by, unit)
    if load is not None:
        out.append(("load", "Load", load))
    out += [("range", "Range of motion", chart_range(d, exercise)), ("tempo", "Tempo", chart_tempo(d)),
            ("form", "Form", chart_form(d))]
    iss = chart_issues(d)
    if iss is not None:
        out.append(("issues", "Issues", iss))
    return out


def close(figs) -> None:
    plt = _plt()
    for _, _, f in figs:
        plt.close(f)


__all__ = ["charts", "close", "period_of"]

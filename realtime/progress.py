"""Progress across sessions: what the stored sets say from one week to the next (pure functions over the store).

    data = progress(store, exercise="squat", since=None)     # {exercise: {sessions, sets, bests, trends}}
    last_session_line(store, "squat")                      # "Last squat session, Mon 2 Mar: 3 × 12 · best 15 reps"
    sets_csv(data)                                         # every set, one CSV row each

Per set, from its stored report (computed once, cached in the store's ``figures_json``): the reps measured, their
mean range of motion (the exercise's counting joint: top, bottom and the range between), tempo (the rep's duration
and its lowering time), and each rep's standing against the form rules: **raised** (an issue past its threshold by
more than the measurement noise), **borderline** (past it, inside the noise: never a fault), **not judged** (the
view could not judge any rule on that rep) or **clean** (judged, nothing raised). The share of clean reps is
clean / judged reps; borderline and not-judged reps are counted apart.

What the user said about a set comes from the store: the count (the corrected one wherever a count is shown), the
load (kg or lb; none = bodyweight). Volume = reps × load when a load was entered; the estimated one-rep max is
Epley's, load × (1 + reps / 30), only for sets of 2–10 reps with a load.

**Trends and noise** (:func:`trend`): a figure is followed per session. A change is called only when it is beyond
the session-to-session noise: the last third of the sessions (at least 2) against the ones before (at least 2);
the noise is the typical difference between one session and the next (von Neumann's successive-difference
estimate, ``sqrt(sum(diff**2) / (2 (n - 1)))``, which a steady trend does not inflate), never below the figure's
measurement floor (:data:`METRICS`); the difference of the two means must be at least :data:`Z_CHANGE` standard
errors (``noise * sqrt(1/n_recent + 1/n_before)``). Fewer than :data:`MIN_SESSIONS` sessions: "too few to tell".

Personal bests (:data:`BESTS`): most reps in a set, best estimated 1RM, deepest average range (the set's mean
range of motion), most clean reps in a row; each with the date and the set (a tie keeps the earlier set).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import math
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Optional

log = logging.getLogger(__name__)

FIGURES_VERSION = 1
MIN_SESSIONS = 4  # a trend needs at least this many sessions with the figure
Z_CHANGE = 2.0  # a difference of at least this many standard errors is called a change
EPLEY_REPS = (2, 10)
LB_KG = 0.45359237
PERIODS = ("day", "week", "month")

# trend figures: key -> (label, unit, measurement floor of the session-to-session noise, decimals)
METRICS: "OrderedDict[str, tuple[str, str, float, int]]" = OrderedDict([
    ("reps_per_set", ("Reps per set", "reps", 0.5, 1)),
    ("volume_kg", ("Volume (reps × load)", "kg", 5.0, 0)),
    ("e1rm_kg", ("Estimated 1RM (best set)", "kg", 1.0, 1)),
    ("rom_deg", ("Range of motion", "°", 2.0, 1)),
    ("bottom_deg", ("Depth: joint angle at the bottom (lower = deeper)", "°", 2.0, 1)),
    ("top_deg", ("Lockout: joint angle at the top (higher = fuller)", "°", 2.0, 1)),
    ("duration_s", ("Rep duration", "s", 0.1, 2)),
    ("lowering_s", ("Lowering time", "s", 0.1, 2)),
    ("clean_share", ("Reps with no raised issue", "share", 0.05, 2)),
])
ISSUE_FLOOR = 0.05  # an issue's share of judged reps: the same floor as the clean share

BESTS: "OrderedDict[str, tuple[str, str]]" = OrderedDict([
    ("most_reps", ("Most reps in a set", "reps")),
    ("best_e1rm", ("Best estimated 1RM", "kg")),
    ("deepest_range", ("Deepest average range", "°")),
    ("clean_streak", ("Most clean reps in a row", "reps")),
])
_BEST_FIELD = {"most_reps": "reps", "best_e1rm": "e1rm_kg", "deepest_range": "rom_deg", "clean_streak": "clean_streak"}


# ------------------------------------------------------------------------------------------------ small helpers
def epley(load_kg: Optional[float], reps: int) -> Optional[float]:
    """Epley's estimated one-rep max, only for 2–10 reps with a load (None otherwise)."""
    if load_kg is None or not load_kg > 0 or not EPLEY_REPS[0] <= int(reps) <= EPLEY_REPS[1]:
        return None
    return round(float(load_kg) * (1.0 + int(reps) / 30.0), 2)


def _mean(xs: Iterable) -> Optional[float]:
    v = [float(x) for x in xs if x is not None and math.isfinite(float(x))]
    return sum(v) / len(v) if v else None


def _wmean(pairs: Iterable[tuple]) -> Optional[float]:
    """Weighted mean of (value, weight) pairs with a value."""
    num = den = 0.0
    for v, w in pairs:
        if v is not None and w:
            num += float(v) * w
            den += w
    return num / den if den else None


def _r(x: Optional[float], nd: int = 2) -> Optional[float]:
    return None if x is None else round(float(x), nd)


def _local(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(ts))


def parse_date(text: str) -> float:
    """A date (``YYYY-MM-DD``) or date and time (ISO 8601) as epoch seconds, local time unless it says otherwise;
    ValueError with a plain message otherwise."""
    s = str(text).strip()
    try:
        d = dt.datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(f"not a date: {text!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    return d.timestamp()


def fmt_load(kg: Optional[float], unit: str = "kg") -> str:
    if kg is None:
        return "bodyweight"
    v = kg / LB_KG if unit == "lb" else kg
    return f"{v:.1f}".rstrip("0").rstrip(".") + f" {unit}"


def exercise_info(exercise: str) -> dict:
    """What progress needs of an exercise module: its label, the range kind (depth | lockout), the joint its reps
    are counted on, and its issue rules (code -> label). Unknown exercises get neutral defaults."""
    try:
        from pipeline.movement.exercises import get

        ex = get(exercise)
        return {"label": ex.label, "kind": ex.target().kind, "joint": ex.signal,
                "rules": {r.code: r.label for r in ex.issue_rules}}
    except Exception:
        return {"label": exercise.replace("_", " ").capitalize(), "kind": "depth", "joint": "joint", "rules": {}}


# ------------------------------------------------------------------------------------------------ one set
def set_figures(report: Optional[dict], exercise: str) -> dict:
    """A set's figures from its report (dict as stored): see the module docstring. A set without a report has
    its count only (``measured`` 0)."""
    rep = report or {}
    reps = rep.get("reps") or {}
    items = [i for i in reps.get("items") or [] if isinstance(i, dict) and not i.get("partial")]
    info = exercise_info(exercise)
    labels = dict(info["rules"])
    raised: dict[int, set] = {}
    border: dict[int, set] = {}
    for iss in rep.get("issues") or []:
        if not isinstance(iss, dict) or iss.get("rep") is None:
            continue
        labels.setdefault(iss.get("code"), iss.get("label") or iss.get("code"))
        (border if iss.get("status") == "borderline" else raised).setdefault(int(iss["rep"]), set()).add(iss["code"])
    for iss in rep.get("borderline") or []:
        if isinstance(iss, dict) and iss.get("rep") is not None:
            labels.setdefault(iss.get("code"), iss.get("label") or iss.get("code"))
            border.setdefault(int(iss["rep"]), set()).add(iss["code"])
    rep_ids = [int(i.get("index") or k + 1) for k, i in enumerate(items)]
    unjudged: dict[int, set] = {r: set() for r in rep_ids}
    for nj in rep.get("not_judged") or []:
        if not isinstance(nj, dict):
            continue
        labels.setdefault(nj.get("code"), nj.get("code"))
        for r in (nj.get("reps") or rep_ids):
            unjudged.setdefault(int(r), set()).add(nj.get("code"))
    n_rules = len(info["rules"]) or len(labels)
    status: list[str] = []
    for r in rep_ids:
        if raised.get(r):
            status.append("raised")
        elif n_rules and len(unjudged.get(r, ())) >= n_rules:
            status.append("not_judged")
        elif border.get(r):
            status.append("borderline")
        else:
            status.append("clean")
    streak = best_streak = 0
    for s in status:  # borderline is not a fault: it does not break a clean run; not judged does
        streak = streak + 1 if s in ("clean", "borderline") else 0
        best_streak = max(best_streak, streak)
    issues = {}
    for code in sorted(labels, key=str):
        n_r = sum(1 for r in rep_ids if code in raised.get(r, ()))
        n_b = sum(1 for r in rep_ids if code in border.get(r, ()) and code not in raised.get(r, ()))
        n_nj = sum(1 for r in rep_ids if code in unjudged.get(r, ()))
        if n_r or n_b or n_nj or code in info["rules"]:
            issues[code] = {"label": labels[code], "raised": n_r, "borderline": n_b, "not_judged": n_nj,
                            "judged": len(rep_ids) - n_nj}

    def m(key):
        return _r(_mean((i.get("metrics") or {}).get(key) for i in items), 3)

    return {"v": FIGURES_VERSION, "counted": int(reps.get("count") or len(items)), "partial": int(reps.get("partial")
            or 0), "measured": len(items), "view": (rep.get("exercise") or {}).get("view"),
            "rom_deg": m("rom_deg"), "top_deg": m("top_deg"), "bottom_deg": m("bottom_deg"),
            "duration_s": m("duration_s"), "lowering_s": m("eccentric_s"),
            "clean": status.count("clean"), "borderline": status.count("borderline"),
            "raised": status.count("raised"), "not_judged": status.count("not_judged"),
            "clean_streak": best_streak, "issues": issues}


def evidence_report(ev) -> dict:
    """The parts of a report :func:`set_figures` reads, from a live set's evidence (``SetEvidence``)."""
    return {"reps": ev.reps.model_dump(), "issues": [i.model_dump() for i in ev.issues],
            "borderline": [i.model_dump() for i in getattr(ev, "borderline", [])],
            "not_judged": [n.model_dump() for n in ev.not_judged], "exercise": {"view": ev.view}}


def _figures(store, row: dict) -> dict:
    """The cached figures of a stored set, computed from its report (and cached) when missing or stale."""
    if row.get("figures_json"):
        try:
            f = json.loads(row["figures_json"])
            if f.get("v") == FIGURES_VERSION:
                return f
        except (ValueError, AttributeError):
            pass
    report = None
    if row.get("has_report", True):
        try:
            report = store.report(row["id"])
        except Exception as e:  # a damaged report never hides the set: its count stays
            log.warning("set %s: report unreadable (%s)", row["id"], e)
    f = set_figures(report, row["exercise"])
    if report is None:
        f["counted"] = int(row.get("reps_counted", row.get("reps") or 0))
    try:
        store.cache_figures(row["id"], json.dumps(f))
    except Exception as e:  # a read-only database: computed again next time
        log.debug("figures not cached: %s", e)
    return f


def set_view(row: dict, f: dict, report_path: Optional[str] = None) -> dict:
    """One set as progress shows it: the stored row (count as corrected, load) with its figures."""
    reps = int(row["reps"])
    load = row.get("load_kg")
    judged = f["clean"] + f["borderline"] + f["raised"]
    t = float(row["session_created_at"]) + max(0.0, float(row.get("start_s") or 0.0))
    return {
        "set_id": row["id"], "session_id": row["session_id"], "date": _local(row["session_created_at"]).date()
        .isoformat(), "time": _local(t).isoformat(timespec="seconds"), "index": int(row["idx"]),
        "exercise": row["exercise"], "reps": reps, "reps_counted": int(row["reps_counted"]),
        "corrected": bool(row.get("corrected")), "load_kg": _r(load, 3), "load": row.get("load_value"),
        "load_unit": row.get("load_unit") or "bodyweight", "volume_kg": _r(reps * load, 2) if load else None,
        "e1rm_kg": epley(load, reps), "partial": f["partial"], "measured": f["measured"],
        "rom_deg": f["rom_deg"], "top_deg": f["top_deg"], "bottom_deg": f["bottom_deg"],
        "duration_s": f["duration_s"], "lowering_s": f["lowering_s"],
        "clean_reps": f["clean"], "borderline_reps": f["borderline"], "raised_reps": f["raised"],
        "not_judged_reps": f["not_judged"], "clean_share": _r(f["clean"] / judged, 3) if judged else None,
        "clean_streak": f["clean_streak"], "issues": f["issues"], "view": f.get("view"),
        "source": row.get("session_source"), "title": row.get("session_title"), "report": report_path,
    }


# ------------------------------------------------------------------------------------------------ sessions
def session_view(sets: list[dict]) -> dict:
    """A session's figures for one exercise from its sets (in order)."""
    s0 = sets[0]
    loads = [s for s in sets if s["volume_kg"] is not None]
    with_e1 = [s for s in sets if s["e1rm_kg"] is not None]
    best = max(sets, key=lambda s: ((s["e1rm_kg"] or 0.0), s["reps"], s["load_kg"] or 0.0))
    judged = sum(s["clean_reps"] + s["borderline_reps"] + s["raised_reps"] for s in sets)
    issues: dict[str, dict] = {}
    for s in sets:
        for code, v in s["issues"].items():
            d = issues.setdefault(code, {"label": v["label"], "raised": 0, "borderline": 0, "not_judged": 0,
                                         "judged": 0})
            for k in ("raised", "borderline", "not_judged", "judged"):
                d[k] += int(v.get(k) or 0)

    def wm(key):
        return _r(_wmean((s[key], s["measured"]) for s in sets), 3)

    return {
        "session_id": s0["session_id"], "date": s0["date"], "time": min(s["time"] for s in sets),
        "title": s0.get("title"), "source": s0.get("source"), "sets": len(sets),
        "reps": sum(s["reps"] for s in sets), "reps_per_set": [s["reps"] for s in sets],
        "corrected_sets": sum(1 for s in sets if s["corrected"]),
        "best_set": {"set_id": best["set_id"], "reps": best["reps"], "load_kg": best["load_kg"],
                     "e1rm_kg": best["e1rm_kg"]},
        "volume_kg": _r(sum(s["volume_kg"] for s in loads), 2) if loads else None,
        "e1rm_kg": max(s["e1rm_kg"] for s in with_e1) if with_e1 else None,
        "rom_deg": wm("rom_deg"), "top_deg": wm("top_deg"), "bottom_deg": wm("bottom_deg"),
        "duration_s": wm("duration_s"), "lowering_s": wm("lowering_s"),
        "clean_reps": sum(s["clean_reps"] for s in sets), "borderline_reps": sum(s["borderline_reps"] for s in sets),
        "raised_reps": sum(s["raised_reps"] for s in sets), "not_judged_reps": sum(s["not_judged_reps"] for s in sets),
        "clean_share": _r(sum(s["clean_reps"] for s in sets) / judged, 3) if judged else None,
        "issues": issues,
    }


def session_value(sess: dict, key: str) -> Optional[float]:
    """The value of a trend figure (:data:`METRICS` key or ``issue:<code>``) for one session."""
    if key == "reps_per_set":
        return sess["reps"] / sess["sets"] if sess["sets"] else None
    if key.startswith("issue:"):
        v = sess["issues"].get(key[6:])
        return v["raised"] / v["judged"] if v and v["judged"] else None
    return sess.get(key)


def period_of(date_iso: str, by: str) -> str:
    d = dt.date.fromisoformat(date_iso[:10])
    if by == "week":
        y, w, _ = d.isocalendar()
        return f"{y}-W{w:02d}"
    if by == "month":
        return f"{d.year}-{d.month:02d}"
    return d.isoformat()


def periods(sessions: list[dict], by: str = "day") -> list[dict]:
    """Sessions grouped by day, ISO week or month: sessions, sets, reps, volume, best e1RM, mean range and clean
    share per period (rep-weighted where it is a mean)."""
    if by not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    groups: "OrderedDict[str, list]" = OrderedDict()
    for s in sessions:
        groups.setdefault(period_of(s["date"], by), []).append(s)
    out = []
    for p, ss in groups.items():
        judged = sum(s["clean_reps"] + s["borderline_reps"] + s["raised_reps"] for s in ss)
        vols = [s["volume_kg"] for s in ss if s["volume_kg"] is not None]
        e1 = [s["e1rm_kg"] for s in ss if s["e1rm_kg"] is not None]
        out.append({"period": p, "start": ss[0]["date"], "sessions": len(ss), "sets": sum(s["sets"] for s in ss),
                    "reps": sum(s["reps"] for s in ss), "best_set_reps": max(max(s["reps_per_set"]) for s in ss),
                    "volume_kg": _r(sum(vols), 2) if vols else None, "e1rm_kg": max(e1) if e1 else None,
                    "rom_deg": _r(_wmean((s["rom_deg"], s["reps"]) for s in ss), 2),
                    "clean_share": _r(sum(s["clean_reps"] for s in ss) / judged, 3) if judged else None})
    return out


# ------------------------------------------------------------------------------------------------ trends
def trend(values: list[float], floor: float) -> dict:
    """Is the recent level different from the earlier one beyond the session-to-session noise? See the module
    docstring. Returns status (too_few | steady | up | down) with the figures behind it."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(xs)
    if n < MIN_SESSIONS:
        return {"status": "too_few", "n": n, "needs": MIN_SESSIONS}
    k = max(2, n // 3)
    before, recent = xs[:-k], xs[-k:]
    mssd = sum((b - a) ** 2 for a, b in zip(xs, xs[1:])) / (2.0 * (n - 1))
    noise = max(math.sqrt(mssd), float(floor))
    se = noise * math.sqrt(1.0 / len(recent) + 1.0 / len(before))
    diff = sum(recent) / len(recent) - sum(before) / len(before)
    z = diff / se if se > 0 else 0.0
    status = "steady" if abs(z) < Z_CHANGE else ("up" if diff > 0 else "down")
    return {"status": status, "n": n, "recent_n": len(recent), "before_n": len(before),
            "recent_mean": round(sum(recent) / len(recent), 4), "before_mean": round(sum(before) / len(before), 4),
            "change": round(diff, 4), "noise": round(noise, 4), "z": round(z, 2)}


def _fmt(v: float, unit: str, nd: int) -> str:
    if unit == "share":
        return f"{100 * v:.0f}%"
    if unit == "°":
        return f"{v:.{nd}f}°"
    return f"{v:.{nd}f} {unit}"


def trend_text(tr: dict, label: str, unit: str, nd: int = 1) -> str:
    """A trend in one plain sentence."""
    if tr["status"] == "too_few":
        return f"{label}: too few sessions to tell ({tr['n']} of the {tr['needs']} needed)"
    noise = _fmt(tr["noise"], unit, nd) if unit != "share" else f"{100 * tr['noise']:.0f} points"
    if tr["status"] == "steady":
        return (f"{label}: no change beyond the session-to-session noise (±{noise}; last {tr['recent_n']} sessions "
                f"{_fmt(tr['recent_mean'], unit, nd)} against {_fmt(tr['before_mean'], unit, nd)} before)")
    ch = abs(tr["change"])
    amount = f"{100 * ch:.0f} points" if unit == "share" else _fmt(ch, unit, nd)
    return (f"{label}: {tr['status']} {amount} — last {tr['recent_n']} sessions {_fmt(tr['recent_mean'], unit, nd)} "
            f"against {_fmt(tr['before_mean'], unit, nd)} in the {tr['before_n']} before, {abs(tr['z']):.1f}× the "
            f"standard error from session-to-session noise (±{noise})")


def trend_short(tr: dict, label: str, unit: str, nd: int = 1) -> str:
    """A trend in a few plain words (the figures are in :func:`trend_text`)."""
    if tr["status"] == "too_few":
        return f"{label}: too few sessions to tell"
    if tr["status"] == "steady":
        return f"{label}: no change beyond the session-to-session noise"
    ch = abs(tr["change"])
    amount = f"{100 * ch:.0f} points" if unit == "share" else _fmt(ch, unit, nd)
    return f"{label}: {tr['status']} {amount}, beyond the session-to-session noise"


def trends(sessions: list[dict], exercise: str) -> dict:
    """Every trend figure that has a value in at least one session: its series (session, date, value), the
    verdict (:func:`trend`) and the sentence."""
    info = exercise_info(exercise)
    out: dict = {}
    keys = list(METRICS)
    # the issues raised or borderline at least once (a rule that never fired has no trend to show)
    codes = sorted({c for s in sessions for c, v in s["issues"].items() if v["raised"] or v["borderline"]})
    keys += [f"issue:{c}" for c in codes]
    for key in keys:
        series = [{"session_id": s["session_id"], "date": s["date"], "value": _r(session_value(s, key), 4)}
                  for s in sessions]
        series = [p for p in series if p["value"] is not None]
        if not series:
            continue
        if key.startswith("issue:"):
            lab = next(s["issues"][key[6:]]["label"] for s in sessions if key[6:] in s["issues"])
            label, unit, floor, nd = f"{lab}: share of judged reps raised", "share", ISSUE_FLOOR, 2
        else:
            label, unit, floor, nd = METRICS[key]
            if key in ("bottom_deg", "top_deg"):
                label = label.replace("joint angle", f"{info['joint'].replace('_', ' ')} angle")
        tr = trend([p["value"] for p in series], floor)
        out[key] = {"label": label, "unit": unit, **tr, "series": series, "text": trend_text(tr, label, unit, nd),
                    "short": trend_short(tr, label, unit, nd)}
    return out


# ------------------------------------------------------------------------------------------------ bests
def bests(sets: list[dict]) -> dict:
    """The personal bests over these sets (oldest first: a tie keeps the earlier set). None where no set has the
    figure (no load entered: no estimated 1RM; no measured rep: no range)."""
    out: dict = {}
    for key, (label, unit) in BESTS.items():
        field = _BEST_FIELD[key]
        best = None
        for s in sets:
            v = s.get(field)
            if v is None or (key == "most_reps" and v <= 0) or (key == "clean_streak" and v <= 0):
                continue
            if best is None or v > best[field]:
                best = s
        out[key] = None if best is None else {
            "label": label, "value": best[field], "unit": unit, "date": best["date"], "time": best["time"],
            "set_id": best["set_id"], "session_id": best["session_id"], "set": best["index"],
            "reps": best["reps"], "load_kg": best["load_kg"], "report": best.get("report")}
    return out


def best_values(sets: list[dict]) -> dict[str, float]:
    """Only the values of :func:`bests` (for the live check at set end)."""
    return {k: v["value"] for k, v in bests(sets).items() if v is not None}


def new_bests(prior: dict[str, float], s: dict) -> list[tuple[str, float, Optional[float]]]:
    """Which bests this set beats (strictly): (key, value, previous value). Only against a history: the first set
    of an exercise ever is no "new best"."""
    if not prior:
        return []
    out = []
    for key, field in _BEST_FIELD.items():
        v = s.get(field)
        if v is None or (key in ("most_reps", "clean_streak") and v <= 0):
            continue
        old = prior.get(key)
        if old is None and key in ("best_e1rm", "deepest_range"):
            if key == "best_e1rm":
                out.append((key, v, None))  # the first load ever entered: a first estimated 1RM is a best
            continue
        if old is None or v > old:
            out.append((key, v, old))
    return out


def best_words(found: list[tuple[str, float, Optional[float]]], unit: str = "kg") -> list[str]:
    """Each new best in words for the page: "New best — most reps in a set: 12 (was 10)"."""
    out = []
    for key, v, old in found:
        label, u = BESTS[key]
        val = fmt_load(v, unit) if u == "kg" else (f"{v:.0f}°" if u == "°" else f"{int(v)}")
        was = "" if old is None else " (was " + (fmt_load(old, unit) if u == "kg" else (
            f"{old:.0f}°" if u == "°" else f"{int(old)}")) + ")"
        out.append(f"New best — {label[:1].lower() + label[1:]}: {val}{was}")
    return out


def best_speech(found: list[tuple[str, float, Optional[float]]], unit: str = "kg") -> Optional[str]:
    """One short spoken sentence for the bests a set beat, or None."""
    parts = []
    for key, v, _ in found:
        if key == "most_reps":
            parts.append(f"{int(v)} reps in a set")
        elif key == "clean_streak":
            parts.append(f"{int(v)} clean reps in a row")
        elif key == "deepest_range":
            parts.append("your deepest range")
        elif key == "best_e1rm":
            parts.append(f"estimated max {fmt_load(v, unit).replace('kg', 'kilos').replace('lb', 'pounds')}")
    if not parts:
        return None
    return "New best: " + (parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]) + "."


# ------------------------------------------------------------------------------------------------ the whole view
def _report_path(store, row: dict) -> Optional[str]:
    try:
        d = store.path_of(row.get("report_dir"))
    except Exception:
        return None
    if d is None:
        return None
    p = Path(d) / "report.html"
    return str(p) if p.is_file() else None


def load_sets(store, exercise: Optional[str] = None, since: Optional[float] = None,
              exclude_session: Optional[str] = None) -> list[dict]:
    """Every stored set (oldest first) as :func:`set_view` rows."""
    rows = store.progress_rows(exercise, since, exclude_session)
    return [set_view(r, _figures(store, r), _report_path(store, r)) for r in rows if r["exercise"] != "unknown"]


def summarise(sets: list[dict]) -> dict:
    """``{exercise: {"sessions", "sets", "bests", "trends"}}`` from :func:`set_view` rows (oldest first)."""
    by_ex: "OrderedDict[str, list]" = OrderedDict()
    for s in sorted(sets, key=lambda s: (s["exercise"], s["time"], s["index"])):
        by_ex.setdefault(s["exercise"], []).append(s)
    out = {}
    for ex, ss in by_ex.items():
        by_sess: "OrderedDict[str, list]" = OrderedDict()
        for s in ss:
            by_sess.setdefault(s["session_id"], []).append(s)
        sessions = sorted((session_view(v) for v in by_sess.values()), key=lambda x: x["time"])
        out[ex] = {"sessions": sessions, "sets": ss, "bests": bests(ss), "trends": trends(sessions, ex)}
    return out


def progress(store, exercise: Optional[str] = None, since: Optional[float] = None) -> dict:
    """Progress per exercise: ``{exercise: {sessions: [...], sets: [...], bests: {...}, trends: {...}}}``."""
    return summarise(load_sets(store, exercise, since))


def with_correction(report: Optional[dict], row: dict) -> Optional[dict]:
    """A stored report as the page shows it: the count replaced by the user's correction (Spotter's own count
    under ``correction``). The stored report itself is never changed."""
    if report is None or not row.get("corrected"):
        return report
    out = dict(report)
    out["reps"] = dict(report.get("reps") or {}, count=int(row["reps"]))
    out["correction"] = {"reps": int(row["reps"]), "reps_counted": int(row["reps_counted"]),
                         "corrected_at": row.get("corrected_at")}
    return out


def edit_news(before: dict, after: dict, set_id: str, unit: str = "kg") -> list[str]:
    """The bests a set took after the user edited it (a load entered, a count corrected): :func:`bests` before
    and after, in words."""
    found = []
    for key, b in after.items():
        if b is not None and b["set_id"] == set_id and (before.get(key) is None or before[key]["set_id"] != set_id):
            old = before.get(key)
            found.append((key, b["value"], None if old is None else old["value"]))
    return best_words(found, unit)


# ------------------------------------------------------------------------------------------------ words
def _day(date_iso: str) -> str:
    d = dt.date.fromisoformat(date_iso[:10])
    return f"{d.strftime('%a')} {d.day} {d.strftime('%b')}" + ("" if d.year == dt.date.today().year
                                                               else f" {d.year}")


def sets_words(reps: list[int], loads: list[Optional[float]], unit: str = "kg") -> str:
    """"3 × 12 at 60 kg", "3 sets: 12, 10, 8"."""
    same_load = len({x for x in loads}) == 1
    at = f" at {fmt_load(loads[0], unit)}" if same_load and loads[0] is not None else ""
    if len(reps) > 1 and len(set(reps)) == 1:
        return f"{len(reps)} × {reps[0]}{at}"
    if len(reps) == 1:
        return f"1 set of {reps[0]}{at}"
    return f"{len(reps)} sets: " + ", ".join(str(r) for r in reps) + at


def last_session_line(sets: list[dict], exercise: str, unit: str = "kg") -> Optional[str]:
    """The last session of ``exercise`` in one line, with the bests: "Last squat session, Mon 2 Mar: 3 × 12 ·
    best 15 reps in a set (12 Feb)". None without a stored session of it. ``sets``: :func:`set_view` rows."""
    ss = [s for s in sets if s["exercise"] == exercise]
    if not ss:
        return None
    last_sid = max(ss, key=lambda s: s["time"])["session_id"]
    last = [s for s in ss if s["session_id"] == last_sid]
    label = exercise_info(exercise)["label"].lower()
    line = f"Last {label} session, {_day(last[0]['date'])}: " + sets_words([s["reps"] for s in last],
                                                                         [s["load_kg"] for s in last], unit)
    b = bests(ss)
    extra = []
    if b["most_reps"]:
        extra.append(f"best {int(b['most_reps']['value'])} reps in a set" +
                     ("" if b["most_reps"]["session_id"] == last_sid else f" ({_day(b['most_reps']['date'])})"))
    if b["best_e1rm"]:
        extra.append(f"best estimated 1RM {fmt_load(b['best_e1rm']['value'], unit)}")
    return line + "".join(f" · {x}" for x in extra)


def _cell(v, nd=1, suffix=""):
    return "-" if v is None else f"{v:.{nd}f}{suffix}"


def format_progress(data: dict, unit: str = "kg", by: str = "day") -> str:
    """The ``spotter progress`` table: per exercise, the sessions (or days/weeks/months), the bests and the
    trends."""
    if not data:
        return "no stored sets yet (train with the app, or import a video: spotter replay VIDEO --save)\n"
    lines = []
    for ex, d in data.items():
        info = exercise_info(ex)
        lines.append(f"{info['label']}: {len(d['sessions'])} sessions, {len(d['sets'])} sets, "
                     f"{sum(s['reps'] for s in d['sets'])} reps")
        if by == "day":
            lines.append(f"  {'date':10s} {'sets':>4s} {'reps':>5s}  {'reps per set':18s} {'best set':16s} "
                         f"{'volume':>9s} {'e1RM':>8s} {'range':>7s} {'rep s':>6s} {'lower s':>7s} {'clean':>6s} "
                         f"{'border':>6s} {'n/j':>4s}")
            for s in d["sessions"]:
                b = s["best_set"]
                best = f"{b['reps']} × {fmt_load(b['load_kg'], unit)}" if b["load_kg"] else f"{b['reps']} reps"
                per = ", ".join(str(r) for r in s["reps_per_set"]) + (" *" if s["corrected_sets"] else "")
                vol = None if s["volume_kg"] is None else s["volume_kg"] / (LB_KG if unit == "lb" else 1.0)
                e1 = None if s["e1rm_kg"] is None else s["e1rm_kg"] / (LB_KG if unit == "lb" else 1.0)
                lines.append(f"  {s['date']:10s} {s['sets']:4d} {s['reps']:5d}  {per[:18]:18s} {best[:16]:16s} "
                             f"{_cell(vol, 0):>9s} {_cell(e1, 1):>8s} {_cell(s['rom_deg'], 0, '°'):>7s} "
                             f"{_cell(s['duration_s'], 2):>6s} {_cell(s['lowering_s'], 2):>7s} "
                             f"{_cell(None if s['clean_share'] is None else 100 * s['clean_share'], 0, '%'):>6s} "
                             f"{s['borderline_reps']:6d} {s['not_judged_reps']:4d}")
        else:
            lines.append(f"  {by:10s} {'sessions':>8s} {'sets':>4s} {'reps':>5s} {'best set':>8s} {'volume':>9s} "
                         f"{'e1RM':>8s} {'range':>7s} {'clean':>6s}")
            for p in periods(d["sessions"], by):
                vol = None if p["volume_kg"] is None else p["volume_kg"] / (LB_KG if unit == "lb" else 1.0)
                e1 = None if p["e1rm_kg"] is None else p["e1rm_kg"] / (LB_KG if unit == "lb" else 1.0)
                lines.append(f"  {p['period']:10s} {p['sessions']:8d} {p['sets']:4d} {p['reps']:5d} "
                             f"{p['best_set_reps']:8d} {_cell(vol, 0):>9s} {_cell(e1, 1):>8s} "
                             f"{_cell(p['rom_deg'], 0, '°'):>7s} "
                             f"{_cell(None if p['clean_share'] is None else 100 * p['clean_share'], 0, '%'):>6s}")
        if any(s["corrected_sets"] for s in d["sessions"]):
            lines.append("  * a count you corrected (Spotter's own count is kept)")
        lines.append("  personal bests:")
        for key, b in d["bests"].items():
            if b is None:
                continue
            val = fmt_load(b["value"], unit) if b["unit"] == "kg" else (
                f"{b['value']:.0f}°" if b["unit"] == "°" else str(int(b["value"])))
            lines.append(f"    {b['label']}: {val} — {b['date']}, set {b['set']}"
                         + (f" ({b['report']})" if b.get("report") else f" (set {b['set_id']})"))
        lines.append("  trends (a change only when beyond the session-to-session noise):")
        few = [tr for tr in d["trends"].values() if tr["status"] == "too_few"]
        for key, tr in d["trends"].items():
            if tr["status"] != "too_few":
                lines.append(f"    {tr['text']}")
        if few:
            lines.append(f"    too few sessions to tell (of the {MIN_SESSIONS} needed): "
                         + ", ".join(f"{tr['label'].split(':')[0].lower()} ({tr['n']})" for tr in few))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


CSV_FIELDS = ["date", "time", "exercise", "session_id", "set_id", "index", "reps", "reps_counted", "corrected",
              "load", "load_unit", "load_kg", "volume_kg", "e1rm_kg", "partial", "measured", "rom_deg", "top_deg",
              "bottom_deg", "duration_s", "lowering_s", "clean_reps", "borderline_reps", "raised_reps",
              "not_judged_reps", "clean_share", "clean_streak", "issues_raised", "issues_borderline",
              "issues_not_judged", "view", "source", "title", "report"]


def sets_csv(data_or_sets) -> str:
    """Every set as one CSV row (the counts as corrected, with Spotter's own count beside them)."""
    sets = data_or_sets
    if isinstance(data_or_sets, dict):
        sets = [s for d in data_or_sets.values() for s in d["sets"]]
    sets = sorted(sets, key=lambda s: (s["time"], s["exercise"], s["index"]))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for s in sets:
        row = dict(s)
        for k in ("raised", "borderline", "not_judged"):
            row[f"issues_{k}"] = ";".join(f"{c}:{v[k]}" for c, v in s["issues"].items() if v.get(k))
        w.writerow(row)
    return buf.getvalue()

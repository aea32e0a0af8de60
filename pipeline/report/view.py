"""A set report in plain words for the app's pages (``streamlit_app.py`` lays these pieces out): the title, the
coach's text, the per-rep table, each issue with its clip, borderline findings, what could not be judged and the
knowledge card. Figures (values against thresholds, measurement noise, confidences, raw codes) go to
:func:`details` only: the page shows them behind a *Details* toggle, and the JSON has everything.

Takes the report as JSON (a dict, as stored) and the set's folder (for the chart, the clips and the annotated
video, once rendered); gives strings, rows and file paths. No Streamlit here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

# the metrics worth a column in the per-rep table, in plain words, when the exercise measures them
REP_COLUMNS = (("duration_s", "Duration (s)"), ("eccentric_s", "Lowering (s)"), ("pause_bottom_s", "Pause (s)"),
               ("concentric_s", "Rising (s)"), ("rom_deg", "Range of motion (°)"))


def plural(n: int, word: str, words: Optional[str] = None) -> str:
    """``1 rep``, ``2 reps``, ``0 sets``."""
    n = int(n)
    return f"{n} {word if n == 1 else (words or word + 's')}"


def pretty(code: Optional[str]) -> str:
    """An exercise or issue code in words: ``push_up`` → ``push-up``, ``shoulder_press`` → ``shoulder press``."""
    s = str(code or "").replace("push_up", "push-up").replace("_", " ")
    return s


def _cards():
    from ..coach.cards import load_cards

    try:
        return load_cards()
    except Exception:  # a damaged card file must not take the report page down
        return None


def issue_title(code: str, fallback: Optional[str] = None) -> str:
    cs = _cards()
    card = cs.get(code) if cs is not None else None
    return card.title if card is not None else (fallback or pretty(code).capitalize())


def exercise_label(rep: dict) -> str:
    return pretty((rep.get("exercise") or {}).get("label") or "unknown")


def title(rep: dict) -> str:
    """``Squat — 3 reps`` (+ partial reps)."""
    reps = rep.get("reps") or {}
    n, partial = int(reps.get("count") or 0), int(reps.get("partial") or 0)
    t = f"{exercise_label(rep).capitalize()} — {plural(n, 'rep')}"
    if partial:
        t += f" (+{plural(partial, 'partial rep')})"
    return t


def summary_lines(rep: dict) -> list[tuple[str, str]]:
    """The coach summary as (kind, text): headline, did, good, fix, note, next. Plain text, never HTML."""
    s = rep.get("summary")
    if not isinstance(s, dict):
        return []
    out: list[tuple[str, str]] = []
    for kind, key in (("headline", "headline"), ("did", "what_you_did")):
        if isinstance(s.get(key), str) and s[key]:
            out.append((kind, s[key]))
    out += [("good", x) for x in s.get("looked_good") or [] if isinstance(x, str)]
    out += [("fix", f.get("text")) for f in s.get("fix_first") or [] if isinstance(f, dict) and f.get("text")]
    out += [("note", v.get("text")) for v in s.get("variation_notes") or [] if isinstance(v, dict) and v.get("text")]
    out += [("next", x) for x in s.get("next_session") or [] if isinstance(x, str)]
    return out


def _num(v: Any, nd: int = 1) -> Optional[float]:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return round(x, nd) if x == x else None


def rep_rows(rep: dict) -> list[dict]:
    """One row per rep: Rep (or "partial"), Leg (one-sided exercises), Time, and the measured phases."""
    items = [it for it in (rep.get("reps") or {}).get("items") or [] if isinstance(it, dict)]
    sided = any(it.get("side") for it in items)
    have = [(k, name) for k, name in REP_COLUMNS if any(k in (it.get("metrics") or {}) for it in items)]
    rows = []
    for it in items:
        idx = it.get("index") or 0
        row: dict[str, Any] = {"Rep": "partial" if it.get("partial") or idx <= 0 else str(idx)}
        if sided:
            row["Leg"] = it.get("side") or "?"
        a, b = _num(it.get("start_s")), _num(it.get("end_s"))
        row["Time (s)"] = f"{max(0.0, a or 0.0):.1f}–{max(0.0, b or 0.0):.1f}"
        m = it.get("metrics") or {}
        for k, name in have:
            x = _num(m.get(k), 0 if k.endswith("_deg") else 1)
            row[name] = "" if x is None else (f"{x:.0f}" if k.endswith("_deg") else f"{x:.1f}")  # as shown
        rows.append(row)
    return rows


def metric_rows(rep: dict) -> list[dict]:
    """Every measured metric of every rep, by its own name (for Details)."""
    rows = []
    for it in (rep.get("reps") or {}).get("items") or []:
        if isinstance(it, dict):
            rows.append({"rep": it.get("index"), **{k: _num(v, 3) for k, v in (it.get("metrics") or {}).items()}})
    return rows


def _clip_of(rep: dict, k: int, iss: dict) -> Optional[str]:
    """The clip rendered for the k-th issue (1-based, the order of ``issues``: pipeline/report/render.py)."""
    base = f"issue_{k:02d}_{iss.get('code')}" + (f"_rep{iss['rep']}" if iss.get("rep") else "")
    return (rep.get("artifacts") or {}).get(f"clip:{base}")


def _raised(rep: dict) -> list[dict]:
    return [i for i in rep.get("issues") or [] if isinstance(i, dict) and i.get("status", "raised") != "borderline"]


def issue_items(rep: dict, folder: Optional[Path] = None) -> list[dict]:
    """Each raised issue: its title, the rep, what to do (the coach's fix or the cue) and its clip and picture
    (paths, once rendered)."""
    fixes = {}
    s = rep.get("summary") if isinstance(rep.get("summary"), dict) else {}
    for f in s.get("fix_first") or []:
        if isinstance(f, dict) and f.get("code"):
            fixes.setdefault(f["code"], f.get("text"))
    out = []
    for k, iss in enumerate(rep.get("issues") or [], 1):
        if not isinstance(iss, dict) or iss.get("status", "raised") == "borderline":
            continue
        clip = _clip_of(rep, k, iss)
        path = Path(folder) / clip if folder is not None and clip else None
        thumb = path.with_suffix(".jpg") if path is not None else None
        out.append({"code": iss.get("code"), "title": issue_title(iss.get("code"), iss.get("label")),
                    "rep": iss.get("rep"), "what": fixes.get(iss.get("code")) or iss.get("cue") or "",
                    "cue": iss.get("cue") or "", "clip": path if path is not None and path.exists() else None,
                    "thumb": thumb if thumb is not None and thumb.exists() else None})
    return out


def borderline_items(rep: dict) -> list[str]:
    """Findings past a line by less than the measurement can tell: in words, never as faults."""
    items = [i for i in rep.get("borderline") or [] if isinstance(i, dict)]
    items += [i for i in rep.get("issues") or [] if isinstance(i, dict) and i.get("status") == "borderline"]
    return [f"{issue_title(i.get('code'), i.get('label'))}" + (f" (rep {i['rep']})" if i.get("rep") else "")
            for i in items]


def not_judged(rep: dict) -> list[str]:
    """What this camera view cannot judge, by name."""
    return [issue_title(n.get("code")) for n in rep.get("not_judged") or [] if isinstance(n, dict)]


def quality_notes(rep: dict) -> list[str]:
    return [w.get("message") for w in (rep.get("qc") or {}).get("warnings") or []
            if isinstance(w, dict) and w.get("message")]


def cards(rep: dict) -> list[dict]:
    """The knowledge cards for this set: the exercise, then each raised issue and variation."""
    cs = _cards()
    if cs is None:
        return []
    ex = (rep.get("exercise") or {}).get("label")
    rc = cs.for_report(ex, [i.get("code") for i in _raised(rep)],
                       [v.get("code") for v in rep.get("variations") or [] if isinstance(v, dict)])
    return [{"title": c.title, "kind": c.kind, "good": c.good, "why": c.why, "fixes": list(c.fixes), "cue": c.cue,
             "not_an_issue": list(c.not_an_issue)} for c in rc]


def media(rep: dict, folder: Optional[Path]) -> dict[str, Optional[Path]]:
    """The set's chart and annotated video in its folder, if they are there."""
    arts = rep.get("artifacts") or {}
    out: dict[str, Optional[Path]] = {}
    for key, name in (("chart", arts.get("angle_chart")), ("video", arts.get("annotated_video"))):
        p = Path(folder) / name if folder is not None and name else None
        out[key] = p if p is not None and p.is_file() else None
    return out


def _fig(v: Any, unit: str) -> str:
    x = _num(v)
    return "?" if x is None else f"{x:g}{unit}"


def details(rep: dict) -> list[str]:
    """The figures behind the words, for *Details*: each finding's value against its line, the measurement
    noise and confidence, the exercise decision, what was not judged and why, the video's figures."""
    out = []
    ex = rep.get("exercise") or {}
    if ex:
        conf = _num(ex.get("confidence"), 2)
        out.append(f"Exercise: {ex.get('label')} (confidence {conf}, decided by {ex.get('source')}"
                   + (f", view {ex.get('view')}" if ex.get("view") else "") + ")")
    for kind, items in (("issue", _raised(rep)), ("borderline", [i for i in rep.get("borderline") or []
                                                                 if isinstance(i, dict)])):
        for i in items:
            unit = "°" if str(i.get("unit") or "") in ("deg", "°") else str(i.get("unit") or "")
            line = (f"{kind}: {i.get('code')} rep {i.get('rep')}: " + (f"{i['metric']} " if i.get("metric") else "")
                    + f"{_fig(i.get('value'), unit)} against {_fig(i.get('threshold'), unit)}")
            if i.get("uncertainty") is not None:
                line += f", measurement noise ±{_fig(i.get('uncertainty'), unit)}"
            if i.get("confidence") is not None:
                line += f", confidence {_num(i.get('confidence'), 2)}"
            out.append(line)
    for n in rep.get("not_judged") or []:
        if isinstance(n, dict):
            out.append(f"not judged: {n.get('code')}: {n.get('reason')}")
    v = rep.get("video") or {}
    if v:
        out.append(f"video: {v.get('width')}x{v.get('height')}, {_num(v.get('fps'))} fps, "
                   f"{_num(v.get('duration_s'))} s")
    p = rep.get("pose") or {}
    if p:
        out.append(f"person found on {round(100 * (p.get('detected_ratio') or 0))}% of frames, usable pose on "
                   f"{round(100 * (p.get('valid_ratio') or 0))}%")
    s = rep.get("summary") if isinstance(rep.get("summary"), dict) else {}
    if s.get("source"):
        out.append(f"summary written by: {s.get('source')}" + (f" ({s.get('model')})" if s.get("model") else ""))
    return out

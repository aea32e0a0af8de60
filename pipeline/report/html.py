"""``report.html``: one self-contained page with the whole report (no scripts, no external resources).

Every string that comes from the report (including model-written text) is HTML-escaped, and a Content
Security Policy forbids scripts, so ``<script>`` in a summary renders as text and never runs.
"""
from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any, Iterable, Optional

from ..coach.cards import Card, CardSet, load_cards
from ..schema import Report

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; media-src 'self'; "
       "base-uri 'none'; form-action 'none'")

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1d1f23}
main{max-width:960px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px} h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}
h3{font-size:15px;margin:14px 0 4px}
.card{background:#fff;border-radius:10px;padding:14px 18px;margin:10px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.meta{color:#555;font-size:14px} .badge{display:inline-block;border-radius:10px;padding:2px 10px;font-size:12px;
font-weight:600;margin-right:6px} .ok{background:#dff3e4;color:#1b6e33} .warn{background:#fdf0d5;color:#8a5a00}
.bad{background:#fde2e1;color:#a11d1a} .src{background:#e6ecfa;color:#23408e}
table{border-collapse:collapse;width:100%;font-size:14px} th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eee}
th{background:#fafafa} .fix{border-left:4px solid #d62728} .var{border-left:4px solid #2a7de1}
.cue{font-weight:600} .disclaimer{font-size:13px;color:#555;font-style:italic} img{max-width:100%}
ul{margin:6px 0;padding-left:22px} .small{font-size:12px;color:#666} code{font-size:12px}
"""


def e(x: Any) -> str:
    return escape("" if x is None else str(x), quote=True)


def _ul(items: Iterable[str]) -> str:
    items = [i for i in items if i]
    return "<ul>" + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>" if items else ""


def _table(head: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return '<p class="small">none</p>'
    return ("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows) + "</tbody></table>")


def _num(v: Any, fmt: str = ".1f") -> str:
    if v is None:
        return ""
    try:
        return format(float(v), fmt)
    except (TypeError, ValueError):
        return str(v)


def _reps_txt(reps: list[int]) -> str:
    if not reps or any(r <= 0 for r in reps):
        return ""
    return f" (rep{'s' if len(reps) > 1 else ''} {', '.join(map(str, reps))})"


def _margin(i) -> str:
    """How far past the threshold a value must be to be raised (the measurement uncertainty), as '±x'."""
    u = getattr(i, "uncertainty", None)
    return "" if u is None else "±" + _num(u, ".3g")


def _card_html(c: Card) -> str:
    return (f'<div class="card"><h3>{e(c.title)} <span class="badge src">{e(c.kind)}</span></h3>'
            f"<p><b>What good looks like:</b> {e(c.good)}</p><p><b>Why it matters:</b> {e(c.why)}</p>"
            f"<b>Fixes</b>{_ul(c.fixes)}<p><b>Live cue:</b> <span class=\"cue\">{e(c.cue)}</span></p>"
            + (f"<b>Not an issue</b>{_ul(c.not_an_issue)}" if c.not_an_issue else "") + "</div>")


def _image_data_uri(path: Path) -> Optional[str]:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data.startswith(b"\x89PNG"):
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


_FILE_NAMES = {"annotated_video": "The set on video, with the skeleton and the count", "angle_chart": "Joint-angle chart",
               "report_json": "Everything in this report, as data (JSON)"}


def _file_label(key: str, name: str) -> Optional[str]:
    """A file of the report in words, or None for entries that are not files (e.g. the set's number)."""
    if not isinstance(name, str) or "." not in name or "/" in name or name.startswith("."):
        return None
    if key in _FILE_NAMES:
        return _FILE_NAMES[key]
    kind, _, base = key.partition(":")
    if kind in ("clip", "thumb") and base:
        parts = base.split("_")  # issue_01_<code>_rep2
        code = "_".join(p for p in parts[2:] if not p.startswith("rep"))
        rep = next((p[3:] for p in parts if p.startswith("rep") and p[3:].isdigit()), None)
        what = "clip" if kind == "clip" else "picture"
        return f"Issue {what}: {_title(code)}" + (f", rep {rep}" if rep else "")
    return name


def _title(code: str, cards: Optional[CardSet] = None) -> str:
    cards = cards or load_cards()
    c = cards.get(code) if code else None
    return c.title if c is not None else str(code).replace("_", " ").capitalize()


def _when(iso: Any) -> str:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(iso).replace("Z", "+00:00")).astimezone().strftime("%d %b %Y, %H:%M")
    except ValueError:
        return str(iso)


VIEW_WORDS = {"side": "filmed from the side", "front": "filmed from the front", "diagonal": "filmed at an angle"}


def render_report_html(report: Report, out_dir: str | Path | None = None, cards: Optional[CardSet] = None) -> str:
    """The report as a person reads it: the coach's words, the chart, the reps, what to work on and what could not
    be judged, in plain words; the figures (values against thresholds, measurement noise, confidences, codes,
    the verifier's checks) under one *Details* fold at the end, and everything in report.json."""
    cards = cards or load_cards()
    out = Path(out_dir) if out_dir is not None else None
    ex = report.exercise
    reps = report.reps
    s = report.summary
    v = report.verification
    parts: list[str] = []
    det: list[str] = []  # the Details fold
    title = (cards.exercises[ex.label].title if ex and ex.label in cards.exercises else "Set") + " report"
    parts.append(f"<h1>{e(title)}</h1><p class=\"meta\">{e(report.video.path)} · {_num(report.video.duration_s)} s · "
                 f"{e(_when(report.created_at))}</p>")
    if ex:
        n = reps.count if reps else 0
        view = VIEW_WORDS.get(ex.view or "", "")
        parts.append(f'<p class="meta">{e(ex.label.replace("_", " ").capitalize())}: <b>{n} rep{"" if n == 1 else "s"}'
                     f"</b>{f' (+{reps.partial} partial)' if reps and reps.partial else ''}"
                     f"{' · ' + e(view) if view else ''}</p>")
        det.append(f"<p>Exercise: {e(ex.label)}, confidence {_num(ex.confidence, '.2f')}, decided by {e(ex.source)}"
                   f"{', view ' + e(ex.view) if ex.view else ''}.</p>")
    # --- summary
    parts.append("<h2>Coach summary</h2>")
    if s is None:
        parts.append('<p class="small">No summary was written for this report.</p>')
    else:
        ver = ('<span class="badge ok">verified</span>' if v and v.passed else
               '<span class="badge bad">verification failed</span>' if v else
               '<span class="badge warn">not verified</span>')
        det.append(f"<p>Summary: {ver}<span class=\"badge src\">{e(s.source)}</span>"
                   f'{" <span class=small>model: " + e(s.model) + "</span>" if s.model else ""} — {e(s.reason)}</p>')
        parts.append(f'<div class="card"><p><b>{e(s.headline)}</b></p><p>{e(s.what_you_did)}</p>'
                     + (f"<h3>What looked good</h3>{_ul(s.looked_good)}" if s.looked_good else "") + "</div>")
        if s.fix_first:
            parts.append("<h3>What to fix first</h3>")
            for k, f in enumerate(s.fix_first, 1):
                reps_txt = ", ".join(map(str, f.reps)) if f.reps else "the whole set"
                parts.append(f'<div class="card fix"><b>{k}. {e(_title(f.code, cards) if f.code else f.label)}</b> '
                             f'<span class="small">reps: {e(reps_txt)}</span><p>{e(f.text)}</p>'
                             f'<p>Cue: <span class="cue">{e(f.cue)}</span></p></div>')
                det.append(f"<p>Fix {k}: {e(f.code)}, severity {_num(f.severity, '.2f')}</p>")
        if s.variation_notes:
            parts.append("<h3>Variation notes</h3>")
            for vn in s.variation_notes:
                parts.append(f'<div class="card var"><b>{e(vn.label)}</b><p>{e(vn.text)}</p></div>')
        if s.next_session:
            parts.append(f"<h3>Next session</h3>{_ul(s.next_session)}")
        if s.confidence_notes:
            parts.append("<h3>Confidence notes</h3>" + _ul(f"{c.text}" for c in s.confidence_notes))
        parts.append(f'<p class="disclaimer">{e(s.disclaimer)}</p>')
    # --- chart and media
    chart = report.artifacts.get("angle_chart")
    if chart and out is not None:
        uri = _image_data_uri(out / chart)
        if uri:
            parts.append(f'<h2>Joint angles</h2><img alt="joint angles over the set" src="{uri}">'
                         '<p class="small">Shaded bands are the reps, red marks the issues, orange the borderline '
                         "findings.</p>")
    files = [(k, p, _file_label(k, p)) for k, p in report.artifacts.items() if k not in ("angle_chart", "report_html")]
    files = [(k, p, lab) for k, p, lab in files if lab]
    if files:
        parts.append("<h2>Files</h2><ul>" + "".join(
            f'<li><a href="{e(p)}">{e(lab)}</a></li>' for _, p, lab in files) + "</ul>")
    # --- evidence
    parts.append("<h2>Reps</h2>")
    if reps:
        from .view import REP_COLUMNS

        have = [(k, name) for k, name in REP_COLUMNS if any(k in it.metrics for it in reps.items)]
        sided = any(getattr(it, "side", None) for it in reps.items)  # one-sided reps (lunges): which leg led
        parts.append(_table(["rep", *(["leg"] if sided else []), "time (s)", *[name for _, name in have]],
                            [["partial" if it.partial or it.index <= 0 else it.index,
                              *([it.side or "?"] if sided else []),
                              f"{max(0.0, it.start_s):.1f}–{max(0.0, it.end_s):.1f}",
                              *[_num(it.metrics.get(k), ".0f" if k.endswith("_deg") else ".1f") for k, _ in have]]
                             for it in reps.items]))
        keys = sorted({k for it in reps.items for k in it.metrics})
        if keys:
            det.append("<h3>Every measurement, per rep</h3>" + _table(
                ["rep", *keys], [[it.index, *[_num(it.metrics.get(k), ".3g") for k in keys]] for it in reps.items]))
    else:
        parts.append('<p class="small">No reps counted.</p>')
    parts.append("<h2>Issues</h2>" + _table(
        ["issue", "rep", "time (s)", "cue"],
        [[_title(i.code, cards), i.rep or "", f"{_num(i.t_start)}–{_num(i.t_end)}", i.cue] for i in report.issues]))
    if report.issues:
        det.append("<h3>Issues: the measurements</h3>" + _table(
            ["code", "rep", "metric", "value", "threshold", "margin", "unit", "severity", "confidence"],
            [[i.code, i.rep or "", i.metric, _num(i.value), _num(i.threshold), _margin(i), i.unit,
              _num(i.severity, ".2f"), _num(i.confidence, ".2f")] for i in report.issues]))
    if report.borderline:
        parts.append("<h3>Close to the line, not counted as faults</h3>"
                     '<p class="small">Past a limit, but by less than this camera angle, the pose quality and the frame '
                     "rate can measure: not cued live and not in the fixes.</p>"
                     + _ul(f"{_title(i.code, cards)}" + (f" (rep {i.rep})" if i.rep else "") for i in report.borderline))
        det.append("<h3>Borderline: the measurements</h3>" + _table(
            ["code", "rep", "metric", "value", "threshold", "margin", "unit", "confidence"],
            [[i.code, i.rep or "", i.metric, _num(i.value), _num(i.threshold), _margin(i), i.unit,
              _num(i.confidence, ".2f")] for i in report.borderline]))
    parts.append("<h2>Variations</h2>" + _table(["variation", "explains"],
                                                [[x.label, ", ".join(_title(c, cards) for c in x.suppresses)]
                                                 for x in report.variations]))
    if report.variations:
        det.append("<p>Variations: " + e(", ".join(f"{x.code} {_num(x.confidence, '.2f')}" for x in report.variations))
                   + "</p>")
    if report.not_judged:
        parts.append("<h3>Not judged from this camera angle</h3>"
                     + _ul(f"{_title(n.code, cards)}{_reps_txt(n.reps)}: {n.reason}" for n in report.not_judged))
    # --- cards
    rc = cards.for_report(ex.label if ex else None, [i.code for i in report.issues],
                          [x.code for x in report.variations])
    if rc:
        parts.append("<h2>Knowledge cards</h2>" + "".join(_card_html(c) for c in rc))
    # --- quality, profile
    p = report.pose
    parts.append("<h2>Video and pose quality</h2>" + _ul(
        [("The video passed the quality checks." if report.qc.ok else "The video did not pass the quality checks."),
         f"A person was found on {p.detected_ratio:.0%} of the frames; the pose was usable on {p.valid_ratio:.0%}.",
         *[w.message for w in report.qc.warnings]]))
    det.append(f"<p>Video: {report.video.width}x{report.video.height} at {_num(report.video.fps)} fps, "
               f"{report.video.frames} frames; quality codes: {e(', '.join(w.code for w in report.qc.warnings) or '-')}; "
               f"report schema {e(report.schema_version)}.</p>")
    if report.profile is not None:
        pr = report.profile
        parts.append("<h2>Profile</h2>" + _table(["", ""], [
            ["goal", pr.goal or ""], ["experience", pr.experience or ""], ["equipment", ", ".join(pr.equipment)],
            ["intended exercise", pr.intended_exercise or ""], ["intended variation", pr.intended_variation or ""],
            ["known limitations", "; ".join(pr.limitations)]]))
    if v is not None:
        rows = []
        for a in v.attempts:
            rows += [[a.source, f.check, f.section, f.detail, f.text] for f in a.failures] or [[a.source, "all passed",
                                                                                              "", "", ""]]
        det.append("<h3>Verification</h3><p class=\"small\">Checks: " + e(", ".join(v.checks)) + "</p>"
                   + _table(["attempt", "check", "section", "detail", "text"], rows))
    parts.append('<details class="card"><summary><b>Details</b> — the figures behind the words</summary>'
                 + "".join(det) + "</details>")
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><style>{CSS}</style></head>\n<body><main>\n{body}\n"
            f'<p class="small">Spotter runs on your own computer; this page loads nothing from the network.</p>'
            f"</main></body></html>\n")


def write_report_html(report: Report, out_dir: str | Path, cards: Optional[CardSet] = None,
                      name: str = "report.html") -> Path:
    """Write ``out_dir/report.html`` (embeds ``artifacts['angle_chart']`` if that PNG exists in ``out_dir``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_report_html(report, out, cards), encoding="utf-8")
    tmp.replace(path)
    return path

"""``spotter eval``: rep counting and exercise routing on the dev clips, from the file and through the wire.

For every clip of one or more manifests (default: the three dev sets in ``../shared/data``):

* **from the file** (batch): pose of the decoded file, the batch decision, the movement stage over the clip;
* **live**: the same frames fed one at a time through :class:`~pipeline.live.LivePipeline` (no look-ahead);
* **live over the codec**: the clip as a webcam stream delivers it (640x480, at most 30 fps, VP8 at the page's
  bitrate and back: :mod:`pipeline.tools.webcam`), fed through the live pipeline.

Each twice: with the exercise given (the count alone) and in Automatic mode (the router decides, and a set it is not
sure enough of counts nothing). In Automatic mode each clip is routed by the router's fold model that never saw the
clip's source (``--no-heldout``: the shipped ensemble, a training fit on these clips). Summaries per exercise and per
camera view: exact-count rate, off-by-one rate, MAE, router accuracy, negatives given reps.

The rep counters and their rules were built on these dev clips: their counts here are not held out (the sealed
acceptance sets are). The router figures are.
"""
from __future__ import annotations

import csv
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..live import LivePipeline
from ..movement.routing import SUPPORTED, batch_decision
from ..movement.run import MovementRun
from ..pose.track import clean_track, extract_pose

LABELS = (*SUPPORTED, "unknown")
ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SPOTTER_SHARED", ROOT.parent / "shared"))
DEV_SETS = ("clips", "more_clips", "more_clips2")
VIEWS = ("front", "side", "diagonal", "other")
MODES = ("batch", "live", "codec")  # from the file, live on the file's frames, live over the codec


def dev_manifests() -> list[Path]:
    """The dev manifests present beside the project."""
    return [p for p in (SHARED / "data" / d / "manifest.csv" for d in DEV_SETS) if p.exists()]


def read_manifest(path: str | Path) -> tuple[Path, list[dict]]:
    """The manifest's rows as dicts (``file``, ``class``, ``reps``, ``fault``, ``view``, ``source``). The true class
    and reps follow ``models/manifest.py``: clips the data README re-files once their exercise is supported (the two
    lunges under ``unknown/``) are scored as that exercise; reps that are not a number are not scored."""
    from models.manifest import read_manifest as read_rows

    p = Path(path)
    if not p.exists():
        raise InputError(f"manifest not found: {p}")
    with open(p, newline="") as f:
        header = next(csv.reader(f), [])
    if not {"file", "class", "reps"} <= set(header):
        raise InputError(f"manifest needs the columns file, class, reps: {p}")
    rows = [{"file": r.file, "class": r.label, "reps": "" if r.reps is None else str(r.reps), "fault": r.fault,
             "view": view_of(r.view), "source": r.raw.get("source_repo") or r.file}
            for r in read_rows(p, labels=SUPPORTED)]
    if not rows:
        raise InputError(f"manifest has no clips: {p}")
    return p.parent, rows


def view_of(text: str) -> str:
    """The manifest's camera view in one of ``VIEWS`` (diagonal wins over front/side: "front-diagonal"); what follows a
    parenthesis is a note ("front (despite 'side' in the original file name)")."""
    v = (text or "").lower().split("(")[0]
    if "diag" in v:
        return "diagonal"
    if "side" in v:
        return "side"
    if "front" in v or "head-on" in v:
        return "front"
    return "other"


def live_count(track, exercise: str | None, router="auto") -> tuple[int, str, float | None]:
    """Feed the clip's frames one at a time through the live pipeline (no look-ahead), then end the stream:
    (reps counted, the label counted under or the router's last label, its commit time)."""
    lp = LivePipeline(exercise=exercise, router=router if exercise is None else None, keep_frames=False)
    for pf, st in zip(track.frames(), track.frame_stats()):
        lp.process_pose(pf, st)
    lp.finish()
    counted = [s.exercise for s in lp.sets]
    label = counted[-1] if counted else ("unknown" if exercise is None and lp.uncounted else lp.label)
    return lp.total_reps, label, lp.t_commit


def _batch(clean, forced: str | None, router=None) -> tuple[int | None, str, float | None]:
    """The file's answer: (reps or None, label, confidence) with the same gate as ``spotter analyze``."""
    if router is not None and not forced:
        from ..movement.routing import Decision

        d = router.classify(clean)
        dec = Decision(d.label if d.label in SUPPORTED else "unknown", float(d.confidence), d.source,
                       arrays=dict(ends=d.ends, P=d.P, active=d.active),
                       count_min=float(router.params.count_min))
    else:
        dec = batch_decision(clean, forced=forced, with_live_commit=False)
    if dec.label not in SUPPORTED:
        return None, "unknown", dec.confidence
    run = MovementRun(dec.label, clean)
    conf = dec.set_confidence(run.analyzer.counter.reps)
    if conf is not None and conf < dec.count_min:
        return None, "unknown", conf
    return run.evidence.reps.count, dec.label, conf if conf is not None else dec.confidence


def _fold_router(key: str, heldout: bool):
    """The router that never saw ``key``'s source (its fold model), else the shipped ensemble."""
    from ..movement.router import WEIGHTS_DIR, Router, load_router

    if not heldout:
        return load_router(), "shipped"
    meta = json.loads((WEIGHTS_DIR / "router_meta.json").read_text())
    f = ((meta.get("real") or {}).get("folds") or {}).get(key)
    if f is None:
        return load_router(), "shipped (never saw it)"
    cache = _fold_router.__dict__.setdefault("cache", {})
    if f not in cache:
        cache[f] = Router("model", member=f)
    return cache[f], f"fold{f}"


def evaluate(manifests=None, exercise_from_manifest: bool = False, use_cache: bool = True, progress: bool = True,
             codec_kbps: int | None = None, heldout: bool = True, auto: bool = True) -> dict:
    """Every clip of ``manifests`` (a path, a list of paths, or None: the dev sets) from the file, live, and (with
    ``codec_kbps``) live over the codec. ``exercise_from_manifest``: the Automatic-mode runs are skipped (``auto``
    False) and the exercise is given; the summaries then score the given runs."""
    if manifests is None:
        manifests = dev_manifests()
        if not manifests:
            raise InputError(f"no dev manifests under {SHARED / 'data'}")
    if isinstance(manifests, (str, os.PathLike)):
        manifests = [manifests]
    auto = auto and not exercise_from_manifest
    items = []
    for m in manifests:
        base, rows = read_manifest(m)
        items += [(base, r) for r in rows]
    if use_cache:  # pose (and the codec's pose) of every clip first, on every core
        from .webcam import DEFAULT_KBPS, fill_caches

        def _filled(done, total):
            if progress:
                print(f"pose cache: {done}/{total}", file=sys.stderr, flush=True)

        for kind, path, err in fill_caches([base / r["file"] for base, r in items], codec=bool(codec_kbps),
                                           kbps=codec_kbps or DEFAULT_KBPS, progress=_filled):
            if err:
                print(f"pose cache: {kind} of {path} failed: {err}", file=sys.stderr, flush=True)
    clips = []
    for k, (base, r) in enumerate(items):
        path = base / r["file"]
        key = f"{base.name}/{r['file']}"
        if progress:
            print(f"[{k + 1}/{len(items)}] {key}", file=sys.stderr, flush=True)
        _, track = extract_pose(path, use_cache=use_cache)
        clean, _ = clean_track(track)
        ctrack = None
        if codec_kbps:
            from .webcam import codec_track

            _, ctrack = codec_track(path, kbps=codec_kbps, use_cache=use_cache)
        true_cls = r["class"]
        given = true_cls if true_cls in SUPPORTED else None
        c = dict(file=key, cls=true_cls, view=r["view"], source=r["source"],
                 true_reps=int(r["reps"]) if r["reps"].strip().isdigit() else None)
        # the count alone, the exercise given (negatives have none to give)
        if given:
            c["given"] = {"batch": _batch(clean, given)[0], "live": live_count(track, given)[0]}
            if ctrack is not None:
                c["given"]["codec"] = live_count(ctrack, given)[0]
        if auto:
            router, by = _fold_router(key, heldout)
            from ..movement.router import LiveRouter

            rb, lb, cb = _batch(clean, None, router)
            rl, ll, _ = live_count(track, None, router=LiveRouter(router))
            c["auto"] = {"batch": {"reps": rb, "label": lb, "confidence": cb},
                         "live": {"reps": rl if ll in SUPPORTED else 0, "label": ll}, "router": by}
            if ctrack is not None:
                rc, lc, _ = live_count(ctrack, None, router=LiveRouter(router))
                c["auto"]["codec"] = {"reps": rc if lc in SUPPORTED else 0, "label": lc}
        clips.append(c)
    return {"clips": clips, "codec_kbps": codec_kbps, "heldout": heldout, "auto": auto,
            "summary": summarise(clips, auto, codec_kbps is not None)}


def _reps_of(c: dict, auto: bool, mode: str) -> tuple[int | None, str | None]:
    """(reps counted, label) of one clip in one mode; reps 0 when nothing was counted."""
    if auto:
        a = c.get("auto", {}).get(mode)
        if a is None:
            return None, None
        return (a["reps"] or 0) if a["label"] in SUPPORTED else 0, a["label"]
    g = c.get("given", {}).get(mode)
    return (None, None) if g is None and "given" not in c else (g or 0, c["cls"])


def count_stats(clips: list[dict], auto: bool, mode: str) -> dict:
    """Exact-count rate, off-by-one rate and MAE over the counted sets (numeric true reps, a supported exercise);
    router accuracy over every clip (Automatic mode); negatives given reps."""
    scored = [c for c in clips if c["true_reps"] is not None and c["cls"] in SUPPORTED]
    out: dict = {"n": len(scored)}
    if scored and (auto or all("given" in c for c in scored)):
        err = []
        for c in scored:
            reps, label = _reps_of(c, auto, mode)
            if reps is None:
                continue
            err.append((reps if (not auto or label == c["cls"]) else 0) - c["true_reps"])
        if err:
            e = np.abs(np.array(err, float))
            out.update(exact=float(np.mean(e == 0)), off_by_one=float(np.mean(e <= 1)), mae=float(np.mean(e)),
                       n=len(err))
    if auto:
        labs = [(c, _reps_of(c, True, mode)) for c in clips]
        labs = [(c, r, lab) for c, (r, lab) in labs if lab is not None]
        if labs:
            out["router_acc"] = float(np.mean([lab == c["cls"] for c, _, lab in labs]))
            out["router_n"] = len(labs)
        negs = [(c, r) for c, r, _ in labs if c["cls"] == "unknown"]
        out["negatives"] = len(negs)
        out["negatives_with_reps"] = [c["file"] for c, r in negs if r]
    return out


def summarise(clips: list[dict], auto: bool, codec: bool) -> dict:
    modes = [m for m in MODES if m != "codec" or codec]
    res: dict = {}
    for mode in modes:
        res[mode] = {"overall": count_stats(clips, auto, mode),
                     "per_class": {k: count_stats([c for c in clips if c["cls"] == k], auto, mode) for k in LABELS},
                     "per_view": {v: count_stats([c for c in clips if c["view"] == v], auto, mode) for v in VIEWS}}
    given = [c for c in clips if "given" in c]
    res["live_vs_batch_given"] = [c["file"] for c in given if c["given"]["live"] != c["given"]["batch"]]
    if codec:
        res["codec_vs_batch_given"] = [c["file"] for c in given if c["given"].get("codec") != c["given"]["batch"]]
    if auto:
        res["live_vs_batch_label"] = [c["file"] for c in clips if c["auto"]["live"]["label"] != c["auto"]["batch"]["label"]]
        if codec:
            res["codec_vs_batch_label"] = [c["file"] for c in clips
                                           if c["auto"]["codec"]["label"] != c["auto"]["batch"]["label"]]
    return res


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.0f}%"


def format_table(res: dict, by: str = "per_class") -> str:
    """Markdown table: one row per exercise (or view); each cell the file's figure / the webcam stream's (VP8)."""
    s = res["summary"]
    modes = [m for m in ("batch", "codec") if m in s] or ["batch"]
    auto = res["auto"]
    both = " (file / webcam)" if len(modes) == 2 else ""
    head = ["exercise" if by == "per_class" else "camera view", "counted sets", f"exact{both}", f"off by ≤ 1{both}",
            f"MAE{both}"]
    if auto:
        head += [f"router{both}", "negatives", f"negatives given reps{both}"]
    L = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    keys = LABELS if by == "per_class" else VIEWS
    for k in (*keys, "overall"):
        stats = [s[m]["overall"] if k == "overall" else s[m][by][k] for m in modes]
        if not stats[0].get("router_n") and not stats[0].get("n"):
            continue
        cell = lambda f: " / ".join(f(x) for x in stats)  # noqa: E731
        cells = [k.replace("_", " ") if k != "overall" else "**all**", str(stats[0].get("n", 0)),
                 cell(lambda x: _pct(x.get("exact"))), cell(lambda x: _pct(x.get("off_by_one"))),
                 cell(lambda x: "-" if x.get("mae") is None else f"{x['mae']:.2f}")]
        if auto:
            cells += [cell(lambda x: _pct(x.get("router_acc"))), str(stats[0].get("negatives") or "-"),
                      cell(lambda x: "-" if not x.get("negatives") else str(len(x["negatives_with_reps"])))]
        L.append("| " + " | ".join(cells) + " |")
    return "\n".join(L)


def format_eval(res: dict) -> str:
    auto = res["auto"]
    codec = res["codec_kbps"] is not None
    L = []
    f = lambda v: "-" if v is None else str(v)  # noqa: E731
    head = f"{'clip':60s} {'class':14s} {'view':8s} {'true':>4s} {'file':>4s} {'live':>4s}" + \
           (f" {'vp8':>4s}" if codec else "")
    if auto:
        head += "  | auto: file / live" + (" / vp8" if codec else "") + "  (router)"
    L.append(head)
    for c in res["clips"]:
        g = c.get("given", {})
        line = f"{c['file'][:60]:60s} {c['cls'][:14]:14s} {c['view']:8s} {f(c['true_reps']):>4s} " \
               f"{f(g.get('batch')):>4s} {f(g.get('live')):>4s}" + (f" {f(g.get('codec')):>4s}" if codec else "")
        flags = []
        if g and c["true_reps"] is not None and g.get("batch") != c["true_reps"]:
            flags.append("off")
        if g and (g.get("live") != g.get("batch") or (codec and g.get("codec") != g.get("batch"))):
            flags.append("live != file")
        if auto:
            a = c["auto"]
            parts = [f"{a[m]['label']}:{f(a[m]['reps'])}" for m in ("batch", "live", "codec") if m in a]
            line += "  | " + " / ".join(parts) + f"  ({a['router']})"
            if c["cls"] == "unknown" and any((a[m]["reps"] or 0) > 0 for m in ("batch", "live", "codec") if m in a):
                flags.append("NEGATIVE COUNTED")
            elif c["cls"] != "unknown" and a["batch"]["label"] != c["cls"]:
                flags.append("routed wrong")
        L.append(line + ("  <-- " + ", ".join(flags) if flags else ""))
    s = res["summary"]
    L.append("")
    L.append("Automatic mode (each clip routed by the fold model that never saw its source)" if auto and res["heldout"]
             else "Automatic mode (the shipped router)" if auto else "Exercise given")
    L.append(format_table(res, "per_class"))
    L.append("")
    L.append(format_table(res, "per_view"))
    L.append("")
    L.append(f"count differs live vs file (exercise given): {', '.join(s['live_vs_batch_given']) or 'none'}")
    if codec:
        L.append(f"count differs over the webcam codec ({res['codec_kbps']} kbit/s) vs file (exercise given): "
                 f"{', '.join(s['codec_vs_batch_given']) or 'none'}")
    if auto:
        L.append(f"label differs live vs file: {', '.join(s['live_vs_batch_label']) or 'none'}")
        if codec:
            L.append(f"label differs over the webcam codec vs file: {', '.join(s['codec_vs_batch_label']) or 'none'}")
    return "\n".join(L)


def router_reports(manifest: str) -> dict:
    """The router's own evaluation (network and gradient-boosted baseline, side by side)."""
    from models.evaluate_router import evaluate_router

    out = {}
    for kind in ("model", "baseline"):
        try:
            out[kind] = evaluate_router(manifest, kind)
        except Exception as e:  # missing weights: say so, keep the rest of the evaluation
            out[kind] = {"error": str(e)}
    return out


def run_eval(manifests, exercise_from_manifest: bool, json_out: bool, router_report: bool = False,
             codec_kbps: int | None = None, heldout: bool = True) -> int:
    res = evaluate(manifests or None, exercise_from_manifest, progress=not json_out, codec_kbps=codec_kbps,
                   heldout=heldout)
    rr = {}
    if router_report:
        for m in (manifests or dev_manifests()):
            rr[str(m)] = router_reports(str(m))
    if json_out:
        res["router"] = rr
        print(json.dumps(res, default=lambda o: None if isinstance(o, float) and math.isnan(o) else str(o)))
    else:
        print(format_eval(res))
        if rr:
            from models.evaluate_router import format_router_eval

            for m, r2 in rr.items():
                for kind, r in r2.items():
                    print()
                    print(f"=== router evaluation ({Path(m).parent.name}): {kind} ===")
                    print(r["error"] if "error" in r else format_router_eval(r))
    return 0


__all__ = ["evaluate", "live_count", "read_manifest", "format_eval", "format_table", "run_eval", "count_stats",
           "dev_manifests", "view_of", "LABELS"]

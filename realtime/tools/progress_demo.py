"""A synthetic training history for the Progress page: made-up sessions in a data folder, and the page's screenshot.

    python -m realtime.tools.progress_demo /tmp/demo-data                       # the history only
    python -m realtime.tools.progress_demo /tmp/demo-data --shot docs/img/progress.png

The history is made of valid set reports (``pipeline.schema.Report``) with made-up reps, metrics and issues: eight
weeks of squats (three sets a session, more reps and load and a deeper range over time, a fault that fades, some
borderline and not-judged reps, one count corrected by the user) and a few push-up sessions at bodyweight. No clip,
no camera: the docs' screenshot and ``tests/test_progress_browser.py`` use it (the shared clips' licences forbid
copying their frames, and a real history would take minutes of pose to build).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def _report(exercise: str, view: str, reps: list[dict], issues: list[dict], borderline: list[dict],
            not_judged: list[dict]) -> str:
    from pipeline.schema import (ExerciseModel, IssueModel, NotJudged, PoseModel, QCModel, RepItem, RepsModel,
                                 Report, VideoMeta)

    items = [RepItem(index=k + 1, start_s=r["t0"], bottom_s=r["t0"] + r["lowering"], end_s=r["t0"] + r["dur"],
                     metrics={"rom_deg": r["rom"], "top_deg": r["top"], "bottom_deg": r["top"] - r["rom"],
                              "eccentric_s": r["lowering"], "concentric_s": round(r["dur"] - r["lowering"], 2),
                              "duration_s": r["dur"]}) for k, r in enumerate(reps)]
    end = reps[-1]["t0"] + reps[-1]["dur"] if reps else 1.0
    rep = Report(video=VideoMeta(path="synthetic", duration_s=round(end, 2), fps=30.0, width=640, height=480),
                 qc=QCModel(ok=True), pose=PoseModel(backend="synthetic", frames=int(end * 30), detected_ratio=1.0,
                                                     valid_ratio=1.0),
                 exercise=ExerciseModel(label=exercise, confidence=1.0, source="user", view=view),
                 reps=RepsModel(count=len(items), items=items),
                 issues=[IssueModel(**i) for i in issues], borderline=[IssueModel(**i) for i in borderline],
                 not_judged=[NotJudged(**n) for n in not_judged])
    return rep.model_dump_json()


def _issue(code: str, label: str, rep: int, t0: float, status: str = "raised") -> dict:
    return {"code": code, "label": label, "severity": 0.5 if status == "raised" else 0.1, "rep": rep,
            "metric": "torso_lean_max", "value": 60.0 if status == "raised" else 56.0, "threshold": 55.0, "unit": "deg",
            "t_start": t0, "t_end": t0 + 1.0, "confidence": 0.97 if status == "raised" else 0.7, "cue": "Chest up",
            "status": status, "uncertainty": 2.5}


def build_history(data: Path, today: Optional[dt.date] = None, seed: int = 7) -> dict:
    """Write the synthetic history into the store at ``data``; returns {"squat": n_sessions, "push_up": n, ...}."""
    from realtime.store import Store

    rng = np.random.default_rng(seed)
    today = today or dt.date.today()
    store = Store(data)
    out = {"squat": 0, "push_up": 0}
    days = [56, 52, 49, 45, 42, 38, 35, 31, 28, 24, 21, 17, 14, 10, 7, 3]
    for k, ago in enumerate(days):
        f = k / (len(days) - 1)  # 0 → 1 over the eight weeks
        day = today - dt.timedelta(days=ago)
        when = dt.datetime(day.year, day.month, day.day, 18, 30).timestamp()
        sid = store.create_session("webcam", title="squats")
        store.set_session_time(sid, when)
        view = "front" if k % 5 == 4 else "side"  # now and then a front view: depth and lean not judged
        load = round(40 + 15 * f + 2.5 * rng.integers(-1, 2), 1)
        t = 0.0
        for s in range(3):
            n = int(round(8 + 4 * f + rng.normal(0, 0.8))) - s // 2
            reps, issues, border, nj = [], [], [], []
            for r in range(n):
                rom = round(float(92 + 16 * f + rng.normal(0, 2.5)), 1)
                dur = round(float(2.6 + 0.4 * f + rng.normal(0, 0.12)), 2)
                low = round(float(1.1 + 0.4 * f + rng.normal(0, 0.08)), 2)
                reps.append({"t0": t, "rom": rom, "top": round(float(168 + rng.normal(0, 1.5)), 1), "dur": dur,
                             "lowering": low})
                if view == "side":
                    if rng.random() < 0.45 * (1 - f) + 0.05:
                        issues.append(_issue("forward_lean", "Excessive forward lean", r + 1, t))
                    elif rng.random() < 0.12:
                        border.append(_issue("forward_lean", "Excessive forward lean", r + 1, t, "borderline"))
                t += dur + 0.4
            rep_ids = list(range(1, n + 1))
            if view == "side":
                nj = [{"code": "knee_valgus", "reason": "knee valgus needs a front view", "reps": rep_ids},
                      {"code": "lateral_shift", "reason": "a sideways hip shift needs a front view", "reps": rep_ids}]
            else:
                nj = [{"code": c, "reason": "judged from the side or a diagonal", "reps": rep_ids}
                      for c in ("shallow_squat", "forward_lean", "heel_rise")]
            set_id = store.add_set(sid, index=s + 1, exercise="squat", reps=n, start_s=reps[0]["t0"], end_s=t,
                                   reason="rest", report_json=_report("squat", view, reps, issues, border, nj),
                                   report_dir=None)
            if k >= 3:
                store.set_load(set_id, load, "kg")
            if k == len(days) - 2 and s == 0:  # the user says Spotter missed one
                store.correct_reps(set_id, n + 1)
            t += 90.0
        store.end_session(sid)
        out["squat"] += 1
    for k, ago in enumerate([50, 36, 22, 8, 1]):
        day = today - dt.timedelta(days=ago)
        sid = store.create_session("webcam", title="push-ups")
        store.set_session_time(sid, dt.datetime(day.year, day.month, day.day, 7, 45).timestamp())
        t = 0.0
        for s in range(2):
            n = 10 + k + (1 - s)
            reps = []
            for r in range(n):
                reps.append({"t0": t, "rom": round(float(70 + 2 * k + rng.normal(0, 2)), 1),
                             "top": round(float(165 + rng.normal(0, 1)), 1), "dur": 1.8, "lowering": 0.9})
                t += 2.0
            store.add_set(sid, index=s + 1, exercise="push_up", reps=n, start_s=0.0, end_s=t, reason="rest",
                          report_json=_report("push_up", "side", reps, [], [], []), report_dir=None)
        store.end_session(sid)
        out["push_up"] += 1
    return out


CHARTS = "[data-testid=stImage] img, [data-testid=stPyplot] img"


def wait_charts(page, n: int, timeout: float = 120.0) -> int:
    """Wait until the page shows ``n`` chart images, each loaded (natural width > 0), and the app is idle."""
    deadline = time.time() + timeout
    loaded = 0
    while time.time() < deadline:
        loaded = page.evaluate(f"""() => [...document.querySelectorAll({CHARTS!r})]
                                  .filter(i => i.complete && i.naturalWidth > 0).length""")
        running = page.locator("[data-testid=stStatusWidget]").count()
        if loaded >= n and not running:
            page.wait_for_timeout(1000)
            return loaded
        page.wait_for_timeout(300)
    return loaded


def screenshot(data: Path, out: Path, width: int = 1280, height: int = 3700) -> Path:
    """The Progress page of the app on ``data`` (squat, weeks), full page, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    from realtime.tools.bench_browser import App, chromium_path

    app = App(data, data / "app.log")
    try:
        app.wait_ready(180)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), headless=True)
            try:
                page = browser.new_page(viewport={"width": width, "height": height})  # the page scrolls inside
                page.goto(app.url + "/?page=Progress&exercise=squat", wait_until="domcontentloaded")
                page.locator("[data-testid=spotter-best]").first.wait_for(timeout=120000)
                page.get_by_text("Weeks", exact=True).click()
                wait_charts(page, 6)
                out.parent.mkdir(parents=True, exist_ok=True)
                # down to the last chart (the tables below it are drawn on a canvas headless Chromium leaves blank)
                bottom = page.evaluate(f"""() => Math.max(...[...document.querySelectorAll({CHARTS!r})]
                                          .map(i => i.getBoundingClientRect().bottom))""")
                page.screenshot(path=str(out), clip={"x": 0, "y": 0, "width": width,
                                                     "height": min(height, int(bottom) + 24)})
            finally:
                browser.close()
    finally:
        app.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m realtime.tools.progress_demo", description=__doc__.split("\n")[0])
    p.add_argument("data", help="a data folder to write the history into (should be new or empty)")
    p.add_argument("--shot", default=None, help="also write a full-page screenshot of the Progress page here")
    a = p.parse_args(argv)
    print(build_history(Path(a.data)))
    if a.shot:
        print(screenshot(Path(a.data), Path(a.shot)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

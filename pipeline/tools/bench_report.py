"""``spotter bench report``: time from a set's evidence to a finished report (summary + verifier + chart +
report.html + report.json), without and with the local model."""
from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from ..coach.samples import sample_report, sample_series
from ..schema import Report


def bench_set() -> Report:
    """A ~60 s squat set: 17 reps plus a partial, three issues, one variation."""
    return sample_report("squat", reps=17, partial=1, rep_s=3.0,
                         issues={"knee_valgus": [3, 7, 11, 15], "shallow_squat": [15, 16, 17], "forward_lean": [12]},
                         variations=["pause_squat"])


def build_report(report: Report, out_dir: Path, llm: Any = False, timeout_s: float = 60.0) -> Report:
    """Everything after the evidence exists: summary + verifier, chart, report.html, report.json."""
    from ..coach import write_summary
    from ..report.charts import write_angle_chart
    from ..report.html import write_report_html

    r = report.model_copy(deep=True)
    r.summary, r.verification = write_summary(r, llm=llm, timeout_s=timeout_s)
    t, series = sample_series(r)
    write_angle_chart(t, series, r.reps, r.issues, out_dir / "angles.png")
    r.artifacts["angle_chart"] = "angles.png"
    r.artifacts["report_html"] = "report.html"
    write_report_html(r, out_dir)
    (out_dir / "report.json").write_text(r.model_dump_json(indent=2))
    return r


def bench_report(json_out: bool = False, model: Optional[str] = None, repeats: int = 3) -> dict:
    """Returns ``report_s`` (warm median, no model), ``report_cold_s`` (first call, includes imports),
    ``report_with_model_s``, ``model_load_s``, ``tokens``, ``tokens_per_s``, ``model_path`` (source of the
    model summary or why it fell back in ``model_reason``). Model values are None when no model is available."""
    from ..coach.llm import LLMUnavailable, llama_available, load_llm, smollm2_path
    from .bench import machine

    ev = bench_set()
    res: dict[str, Any] = {"set_s": ev.video.duration_s, "reps": ev.reps.count if ev.reps else 0}
    with tempfile.TemporaryDirectory() as td:
        out = Path(td)
        t0 = time.perf_counter()
        build_report(ev, out, llm=False)
        res["report_cold_s"] = round(time.perf_counter() - t0, 4)
        times = []
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            r = build_report(ev, out, llm=False)
            times.append(time.perf_counter() - t0)
        res["report_s"] = round(statistics.median(times), 4)
        res["summary_source"] = r.summary.source if r.summary else None
        path = model or os.environ.get("SPOTTER_LLM_MODEL") or (str(smollm2_path()) if smollm2_path() else None)
        res.update(report_with_model_s=None, model_load_s=None, tokens=None, tokens_per_s=None, model=None,
                   model_path=None, model_reason=None)
        if path and llama_available():
            try:
                t0 = time.perf_counter()
                m = load_llm(path)
                res["model_load_s"] = round(time.perf_counter() - t0, 3)
                t0 = time.perf_counter()
                r = build_report(ev, out, llm=m, timeout_s=120.0)
                res["report_with_model_s"] = round(time.perf_counter() - t0, 3)
                s = r.summary
                res.update(tokens=s.tokens, tokens_per_s=s.tokens_per_s, model=m.name, model_path=s.source,
                           model_reason=s.reason)
            except LLMUnavailable as e:
                res["model_reason"] = str(e)
        else:
            res["model_reason"] = "llama-cpp-python not installed" if not llama_available() else "no model found"
    res["machine"] = machine()
    if json_out:
        print(json.dumps(res))
    else:
        print(f"report for a {res['set_s']:.0f} s set ({res['reps']} reps) on {res['machine']}")
        print(f"  without model: {res['report_s'] * 1000:.0f} ms (first call incl. imports {res['report_cold_s'] * 1000:.0f} ms)")
        if res["report_with_model_s"] is not None:
            print(f"  with model {res['model']}: {res['report_with_model_s']:.2f} s total, {res['tokens']} tokens at "
                  f"{res['tokens_per_s']} tok/s (load {res['model_load_s']} s); summary from: {res['model_path']}"
                  f" ({res['model_reason']})")
        else:
            print(f"  with model: skipped ({res['model_reason']})")
    return res


if __name__ == "__main__":  # pragma: no cover
    bench_report()

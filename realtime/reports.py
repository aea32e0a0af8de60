"""Set reports in the background: the deterministic report first (milliseconds + ~0.4 s of files), then, in a
second, slower worker at background priority: the coach summary if a local model is configured (the app's settings: a
GGUF path), and the set's annotated video and issue clips as soon as the session's video covers the set (the recording
in progress, or the replayed or analysed file itself). Each step updates the stored report; the page shows the video
when it is there. Each summary says who wrote it (``Summary.written_by``): the built-in writer "for now" while the
model works, then the model, or the built-in writer with the reason the model's text was not used.

All of it runs on the landmarks the live pipeline already computed (no second pose pass). One reporter per session.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from pipeline.movement.run import SetResult

log = logging.getLogger(__name__)
_STOP = object()
PENDING_WRITTEN_BY = ("Written by Spotter's built-in writer from its own measurements, for now: the local model is "
                      "writing its version, which replaces this one when it is ready and passes Spotter's checks.")


@dataclass
class SetEntry:
    """One finished set as the page shows it (the timeline)."""

    index: int
    exercise: str
    reps: int
    start_s: float
    end_s: float
    reason: str
    ended_at: float  # monotonic time the set ended
    report: Optional[dict] = None  # report JSON (dict) once built
    report_dir: Optional[str] = None
    set_id: Optional[str] = None
    summary_status: str = "pending"  # pending | deterministic | model | failed
    report_s: Optional[float] = None  # seconds from set end to report ready
    error: Optional[str] = None
    report_in_store: bool = False  # the report JSON was released from memory: read it with store.report(set_id)
    news: list = field(default_factory=list)  # personal bests this set beat, in words (realtime/progress.py)
    video: Optional[str] = None  # the annotated video: None (no source) | pending | ready | failed

    def brief(self) -> dict:
        return {"exercise": self.exercise, "reps": self.reps, "start_s": round(max(0.0, self.start_s), 3),
                "end_s": round(self.end_s, 3)}


def _release(res: SetResult) -> None:
    """The report is built: drop the set's frames (the landmark log on disk has them), so a long session does not
    keep every finished set's frames in memory through ``LivePipeline.sets``."""
    res.clean, res.pose, res.stats = [], [], []
    res.analyzer = None  # its per-frame signals too (the evidence, a summary, stays)


@dataclass
class SetReporter:
    session_id: Optional[str]
    store: object = None  # realtime.store.Store or None (in-memory reports only)
    out_root: Optional[Path] = None  # where set report folders go (None: no files)
    profile: Optional[dict] = None
    llm: object = False  # False: deterministic summary only; None or a path: model summary in the background
    on_update: Callable[[SetEntry], None] = lambda e: None
    # the session's video for the annotated set video (None: none to render from), and whether it already holds
    # a given second (a recording in progress writes its file a fragment at a time)
    video: Optional[Callable[[], Optional[Path]]] = None
    video_covers: Callable[[float], bool] = lambda t: True
    video_wait_s: float = 120.0
    _q: queue.Queue = field(default_factory=queue.Queue)
    _slow: queue.Queue = field(default_factory=queue.Queue)

    def __post_init__(self):
        self._th = threading.Thread(target=self._run, name="spotter-reports", daemon=True)
        self._th.start()
        self._slow_th = None
        self._model = self.llm is not False and self.out_root is not None
        self._render = self.video is not None and self.out_root is not None
        if self._model or self._render:
            self._slow_th = threading.Thread(target=self._run_slow, name="spotter-coach", daemon=True)
            self._slow_th.start()

    def submit(self, res: SetResult, entry: SetEntry) -> None:
        self._q.put((res, entry))

    def close(self, timeout: float = 60.0, wait_model: bool = False) -> None:
        self._q.put(_STOP)
        self._th.join(timeout)
        self._slow.put(_STOP)
        if self._slow_th is not None and wait_model:
            self._slow_th.join(timeout)

    # ---------------------------------------------------------------------------------------------------
    def _run(self) -> None:
        from pipeline.report.setreport import build_set_report, write_set_report

        while True:
            item = self._q.get()
            if item is _STOP:
                return
            res, entry = item
            try:
                report, run = build_set_report(res, source_name=f"live set {res.index}", profile=self.profile)
                out = None
                if self.out_root is not None:
                    out = self.out_root / f"set{res.index:03d}"
                    write_set_report(report, run, res, out, llm=False)
                else:  # in memory: the deterministic summary without files
                    from pipeline.coach import write_summary

                    report.summary, report.verification = write_summary(report, llm=False)
                if self._slow_th is not None and report.summary is not None:
                    # the deterministic text shows at once; say so, and that the model's version is on its way
                    report.summary.written_by = PENDING_WRITTEN_BY
                data = json.loads(report.model_dump_json())
                status = "pending" if self._model else "deterministic"
                # the store first, the entry after: whoever sees the entry's status finds the same in the store
                if self.store is not None and self.session_id:
                    entry.set_id = self.store.add_set(
                        self.session_id, index=res.index, exercise=res.exercise, reps=res.reps,
                        start_s=res.t_start, end_s=res.t_end, reason=res.reason,
                        report_json=json.dumps(data), report_dir=out, summary_status=status)
                entry.report, entry.report_dir = data, str(out) if out else None
                entry.report_s = time.monotonic() - entry.ended_at
                entry.summary_status = status
                render = self._render and out is not None and self._has_video()
                if render:
                    entry.video = "pending"
                if out is not None and (self._model or render):
                    self._slow.put((res, entry, report, run, out, render))
                else:
                    _release(res)
            except Exception as e:  # a report failure never stops the session
                log.exception("set report failed")
                entry.error = f"{type(e).__name__}: {e}"
                entry.summary_status = "failed"
                if self.store is not None and self.session_id and entry.set_id is None:
                    try:
                        entry.set_id = self.store.add_set(
                            self.session_id, index=res.index, exercise=res.exercise, reps=res.reps,
                            start_s=res.t_start, end_s=res.t_end, reason=res.reason, report_json=None,
                            report_dir=None, summary_status="failed")
                    except Exception:
                        log.exception("could not store the set")
                _release(res)
            self.on_update(entry)

    def _run_slow(self) -> None:
        from .threads import background_priority, name_os_thread

        name_os_thread()
        # the coach model and the video rendering (seconds of CPU; threads started from here inherit this) must not
        # take the CPU from the live loop when the user goes on training meanwhile
        background_priority()

        while True:
            item = self._slow.get()
            if item is _STOP:
                return
            res, entry, report, run, out, render = item
            try:
                if self._model:
                    report = self._summary(res, entry, report, run, out)
                if render:
                    self._video(res, entry, report, run, out)
            finally:
                _release(res)
            self.on_update(entry)

    def _summary(self, res, entry, report, run, out):
        from pipeline.report.setreport import write_set_report

        try:
            report = write_set_report(report, run, res, out, llm=self.llm)
            data = json.loads(report.model_dump_json())
            # the coach falls back to the deterministic summary on any model problem (missing/corrupt
            # file, crash, timeout, garbage output): say which path wrote the text, never "model" blindly
            status = "model" if report.summary is not None and report.summary.source == "model" \
                else "deterministic"
            if self.store is not None and entry.set_id:  # the store first, then the entry (see _run)
                self.store.update_set_report(entry.set_id, json.dumps(data), status)
            if status != "model" and report.summary is not None:
                entry.error = f"coach summary: {report.summary.reason}"
            entry.report = data
            entry.summary_status = status
        except Exception as e:
            log.exception("model summary failed")
            if self.store is not None and entry.set_id:
                try:
                    self.store.set_summary_status(entry.set_id, "deterministic")
                except Exception:
                    log.exception("store update failed")
            entry.error = f"coach summary: {type(e).__name__}: {e}"
            summ = (entry.report or {}).get("summary")
            if isinstance(summ, dict):  # no longer "for now": the built-in writer's text stays
                summ["written_by"] = ("Written by Spotter's built-in writer from its own measurements (the "
                                      "local model's answer could not be used).")
            entry.summary_status = "deterministic"
        self.on_update(entry)
        return report

    def _has_video(self) -> bool:
        """The session has a video to render sets from (a recording under way, or a file): else no set video."""
        try:
            src = self.video() if self.video is not None else None
        except Exception:
            return False
        return src is not None and Path(src).exists()

    def _video(self, res, entry, report, run, out) -> None:
        """The set's annotated video and issue clips, from the session's video once it holds the set's last
        second and the clips' margin (``render_video_artifacts`` pads 1 s), then the stored report names them."""
        from pipeline.report.setreport import write_set_report

        deadline = time.monotonic() + self.video_wait_s
        need = res.t_end + 2.5  # the set's end, the clips' 1 s margin and a recording fragment (about 1 s)
        while not self.video_covers(need) and time.monotonic() < deadline:
            time.sleep(0.25)
        try:
            for attempt in range(2):  # a recording finalised meanwhile moves from .part.mp4 to its final name
                src = self.video()
                if src is None or not Path(src).exists():
                    raise FileNotFoundError(f"no video to render set {res.index} from")
                try:
                    report = write_set_report(report, run, res, out, video_src=str(src), llm=False, summary=False)
                    break
                except FileNotFoundError:
                    if attempt:
                        raise
            data = json.loads(report.model_dump_json())
            if self.store is not None and entry.set_id:
                self.store.update_set_report(entry.set_id, json.dumps(data), entry.summary_status)
            if not entry.report_in_store:  # (an older set's report is read from the store instead)
                entry.report = data
            entry.video = "ready" if "annotated_video" in report.artifacts else "failed"
        except FileNotFoundError as e:  # the recording went (the session deleted meanwhile): nothing to show
            log.warning("set video not made: %s", e)
            entry.video = "failed"
        except Exception:
            log.exception("set video failed")
            entry.video = "failed"

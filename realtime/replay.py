"""``spotter replay VIDEO [--realtime] [--json]``: a file through the live pipeline, over a real WebRTC link.

The file is decoded, sent by one aiortc peer connection and received by another on loopback (VP8 encode →
RTP/UDP on 127.0.0.1 → decode, as with a browser), and the received frames go through the same
:class:`~realtime.session.LiveSession` the page uses:

* ``--realtime``: frames are sent at their own timestamps and handed to the session's non-blocking
  ``on_frame`` (the pose worker drops stale frames when it is slower than the video, as live);
* default, as fast as possible: every frame is processed (``process``), the sender waits for the pipeline
  (a window of a few frames in flight), so the sets are those of the whole clip.

Printed: the sets found (exercise, reps, start/end) and timing (processed fps, dropped frames, latency from the
frame leaving the sender to its overlay being ready, p50/p95). ``--json`` prints one JSON object.
``--direct`` skips WebRTC (decoded frames straight into the session), for comparison.
``--save`` stores the session the way the app stores an upload (the sets, their reports, the landmark and event
logs, a copy of the video) in the session store (``$SPOTTER_DATA``), so that it shows in History and Progress;
``--date`` dates it (an import of an older video).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from pipeline.errors import InputError, SpotterError
from pipeline.movement.routing import SUPPORTED
from pipeline.movement.taught import is_taught, taught_names

from .session import LiveSession, SessionConfig
from .speech import SpeechConfig

log = logging.getLogger(__name__)
CLOCK = 90000


@contextlib.contextmanager
def _loopback_candidates():
    """Gather ICE host candidates on 127.0.0.1 only: both peers are in this process, nothing leaves the machine
    (and it works on a machine with no network interface at all). Only used around local description setup."""
    from aioice import ice

    orig = ice.get_host_addresses
    ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []
    try:
        yield
    finally:
        ice.get_host_addresses = orig


def _open_reader(video: str):
    from pipeline.intake.video import VideoReader

    p = Path(video)
    if not p.exists():
        raise InputError(f"file not found: {video}")
    if not p.is_file():
        raise InputError(f"not a file: {video}")
    return VideoReader(str(p))


class _FileTrack:
    """A MediaStreamTrack that plays a video file (decoded frames, original timestamps)."""

    def __init__(self, video: str, realtime: bool, may_send: Callable[[int], "asyncio.Future | None"],
                 stop_after_s: float | None = None, frames=None):
        from aiortc import MediaStreamTrack

        outer = self

        class Track(MediaStreamTrack):
            kind = "video"

            async def recv(self):
                return await outer._next()

        self.track = Track()
        self.reader = _open_reader(video) if frames is None else None
        self._it = iter(self.reader) if frames is None else iter(frames)
        self.realtime = realtime
        self.may_send = may_send
        self.stop_after_s = stop_after_s
        self.sent = 0
        self.send_time: dict[int, float] = {}  # pts -> perf_counter when handed to the encoder
        self.done = asyncio.Event()
        self.cut = asyncio.Event()  # set when stop_after_s is reached (the test kills the link then)
        self._t0: Optional[float] = None
        self.first_pts: Optional[int] = None
        self._exec = ThreadPoolExecutor(1, thread_name_prefix="spotter-decode")

    async def _next(self):
        import av
        from aiortc.mediastreams import MediaStreamError

        loop = asyncio.get_running_loop()
        fr = await loop.run_in_executor(self._exec, next, self._it, None)
        if fr is None or (self.stop_after_s is not None and fr.t > self.stop_after_s):
            if fr is not None:
                self.cut.set()
            self.done.set()
            await asyncio.sleep(3600) if fr is not None else None  # a cut link just goes silent
            raise MediaStreamError
        if self.realtime:
            if self._t0 is None:
                self._t0 = time.perf_counter() - fr.t
            delay = self._t0 + fr.t - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        else:
            w = self.may_send(self.sent)
            if w is not None:
                await w
        vf = av.VideoFrame.from_ndarray(fr.image, format="rgb24")
        vf.pts = int(round(fr.t * CLOCK))
        vf.time_base = Fraction(1, CLOCK)
        if self.first_pts is None:
            self.first_pts = vf.pts
        self.send_time[vf.pts] = time.perf_counter()
        while len(self.send_time) > 600:  # frames lost on the link are never popped: keep the last ~20 s
            self.send_time.pop(next(iter(self.send_time)))
        self.sent += 1
        return vf

    def close(self):
        if self.reader is not None:
            self.reader.close()
        self._exec.shutdown(wait=False)


async def _webrtc_replay(video: str, session: LiveSession, realtime: bool, window: int = 3,
                         stop_after_s: float | None = None, idle_s: float = 5.0, frames=None) -> dict:
    """Stream ``video`` from one aiortc peer to another on loopback into ``session``. Returns link figures."""
    from aiortc import RTCConfiguration, RTCPeerConnection
    from aiortc.codecs import vpx
    from aiortc.mediastreams import MediaStreamError

    # loopback has no bandwidth limit: the VP8 encoder stays at its top bitrate. It would start at 500 kbit/s
    # (a blurry first second: pose failing on it made replays of clips that start at the bottom of a rep flaky),
    # and the receiver's delay-based estimate (REMB) measures nothing but CPU load here: with three replays and a
    # busy machine it asked for 22-600 kbit/s, the encoder sat at its 250 kbit/s floor and was rebuilt at every
    # change, and the blurred frames made a clean push-up "unknown" or 5 reps instead of 4
    # (tests/test_load_concurrent.py: 2 failed runs of 16 under a CPU hog, none of 10 since)
    vpx.DEFAULT_BITRATE = vpx.MIN_BITRATE = vpx.MAX_BITRATE
    processed = 0
    cond = asyncio.Condition()

    def may_send(n_sent: int):
        if n_sent - processed < window:
            return None

        async def wait():
            async with cond:
                await cond.wait_for(lambda: n_sent - processed < window or src.done.is_set())
        return wait()

    src = _FileTrack(video, realtime, may_send, stop_after_s, frames)
    cfg = RTCConfiguration(iceServers=[])
    from .jitter import install

    install()  # as the page channel receives (realtime/jitter.py)
    tx, rx = RTCPeerConnection(cfg), RTCPeerConnection(cfg)
    got_track: asyncio.Future = asyncio.get_running_loop().create_future()
    rx.on("track", lambda tr: got_track.done() or got_track.set_result(tr))
    tx.addTrack(src.track)
    with _loopback_candidates():
        await tx.setLocalDescription(await tx.createOffer())
        await rx.setRemoteDescription(tx.localDescription)
        await rx.setLocalDescription(await rx.createAnswer())
        await tx.setRemoteDescription(rx.localDescription)
    track = await asyncio.wait_for(got_track, 20)

    e2e: list[float] = []
    pts0 = None
    received = 0
    reason = "stream_ended"
    proc_exec = ThreadPoolExecutor(1, thread_name_prefix="spotter-replay")
    loop = asyncio.get_running_loop()
    done_at: dict[float, float] = {}
    session.frame_done = lambda t, when: done_at.__setitem__(t, when)
    sent_t: dict[float, float] = {}
    killer = None
    if stop_after_s is not None:
        async def kill():
            await src.cut.wait()
            await tx.close()  # the sender vanishes mid-set: no goodbye, the receiver must cope
        killer = asyncio.ensure_future(kill())
    try:
        while True:
            try:
                frame = await asyncio.wait_for(track.recv(), timeout=idle_s if not src.done.is_set() else 1.0)
            except (MediaStreamError, asyncio.TimeoutError):
                if src.cut.is_set() or not src.done.is_set():
                    reason = "connection_lost"
                break
            received += 1
            if pts0 is None:
                pts0 = frame.pts
            sent_pts = (frame.pts - pts0) % (1 << 32) + src.first_pts  # RTP timestamps wrap at 2**32
            t = sent_pts / CLOCK
            sent = src.send_time.pop(sent_pts, None)
            if sent is not None:
                sent_t[t] = sent
            rgb = frame.to_ndarray(format="rgb24")
            if realtime:
                session.on_frame(rgb, t)
            else:
                await loop.run_in_executor(proc_exec, session.process, rgb, t)
                async with cond:
                    processed += 1
                    cond.notify_all()
            if src.done.is_set() and received >= src.sent:
                if src.cut.is_set():  # every frame sent before the sender vanished is in (realtime/jitter.py
                    reason = "connection_lost"  # releases the last one at once): it is gone without a goodbye
                break
    finally:
        if killer is not None:
            killer.cancel()
        await loop.run_in_executor(proc_exec, session.close, reason)
        proc_exec.shutdown(wait=True)
        await tx.close()
        await rx.close()
        src.close()
    e2e_at: list[tuple[float, float]] = []  # (sent perf_counter, ms): for per-minute figures
    for t, d in done_at.items():
        s = sent_t.get(t)
        if s is not None:
            e2e.append((d - s) * 1000.0)
            e2e_at.append((s, (d - s) * 1000.0))
    return {"frames_sent": src.sent, "frames_received": received, "end_reason": reason,
            "e2e_ms": e2e, "e2e_at": e2e_at}


def replay(video: str, realtime: bool = False, exercise: str | None = None, *, webrtc: bool = True,
           store=None, rest_s: float = 8.0, stop_after_s: float | None = None, profile: dict | None = None,
           router="auto", speech: SpeechConfig | None = None, estimator=None, keep_video: bool = False,
           date: float | None = None) -> dict:
    """Replay a file through a LiveSession; returns ``{"sets": [...], "timing": {...}, "speech": [...], ...}``.

    ``speech``: the voice's settings (count mode, mute); what it said is listed under ``"speech"`` as
    ``{"t", "kind", "text", "audio_ms"}`` (see realtime/speech.py), its figures under ``"speech_timing"``.
    ``estimator``: a pose estimator to use instead of MediaPipe (tests: known landmarks).
    ``keep_video`` (with a store): the session keeps a copy of the file as its recording instead of re-encoding what
    it received (an import); ``date``: the session's start time (epoch seconds) instead of now."""
    if exercise is not None and exercise not in SUPPORTED and not is_taught(exercise):
        raise InputError(f"unknown exercise {exercise!r} (choose from {', '.join(SUPPORTED + tuple(taught_names()))})")
    reader = _open_reader(video)  # validates the file before any connection is made
    reader.close()
    cfg = SessionConfig(exercise=exercise, rest_s=rest_s, source="replay", title=os.path.basename(video),
                        record=store is not None, profile=profile, speech=speech,
                        record_video=not (keep_video and store is not None))
    session = LiveSession(cfg, store=store, threaded=realtime, router=router, estimator=estimator)
    session.frame_done = None
    if store is not None and session.session_id:
        if date is not None:
            store.set_session_time(session.session_id, date)
        if keep_video:
            _keep_copy(store, session.session_id, video)
    t0 = time.perf_counter()
    link = {}
    if webrtc:
        link = asyncio.run(_webrtc_replay(video, session, realtime, stop_after_s=stop_after_s))
    else:
        rd = _open_reader(video)
        try:
            for fr in rd:
                if stop_after_s is not None and fr.t > stop_after_s:
                    break
                if realtime:
                    lag = fr.t - (time.perf_counter() - t0)
                    if lag > 0:
                        time.sleep(lag)
                    session.on_frame(fr.image, fr.t)
                else:
                    session.process(fr.image, fr.t)
        finally:
            rd.close()
        session.close("stream_ended")
    wall = time.perf_counter() - t0
    tm = session.timing()
    e2e = np.array(link.get("e2e_ms") or [], float)
    timing = {
        "processed_fps": tm["processed_fps"],
        "dropped_ratio": tm["dropped_ratio"],
        "latency_ms_p50": round(float(np.percentile(e2e, 50)), 2) if len(e2e) else tm["latency_ms_p50"],
        "latency_ms_p95": round(float(np.percentile(e2e, 95)), 2) if len(e2e) else tm["latency_ms_p95"],
        "pipeline_latency_ms_p50": tm["latency_ms_p50"], "pipeline_latency_ms_p95": tm["latency_ms_p95"],
        "frames_in": tm["frames_in"], "frames_processed": tm["frames_processed"],
        "frames_dropped": tm["frames_dropped"], "wall_s": round(wall, 3),
    }
    if link:
        timing.update(frames_sent=link["frames_sent"], frames_received=link["frames_received"],
                      network_lost_ratio=round(1 - link["frames_received"] / link["frames_sent"], 4)
                      if link["frames_sent"] else 0.0)
    return {"video": str(video), "transport": "webrtc-loopback" if webrtc else "direct",
            "mode": "realtime" if realtime else "fast", "end_reason": link.get("end_reason", "stream_ended"),
            "session_id": session.session_id,
            "sets": [e.brief() for e in session.sets], "timing": timing,
            "reports": [e.report for e in session.sets],
            "speech": [u.as_dict() for u in session.speech.history()], "speech_timing": session.speech.timing()}


def _keep_copy(store, session_id: str, video: str) -> None:
    """The imported file, copied into the session folder as its recording (History plays and renders from it)."""
    import shutil

    src = Path(video)
    dst = store.session_dir(session_id) / f"source{src.suffix.lower() or '.mp4'}"
    try:
        shutil.copyfile(src, dst)
    except OSError as e:
        dst.unlink(missing_ok=True)
        log.warning("the video was not copied into the session (%s): History will have no recording", e)
        return
    store.set_files(session_id, video=dst)


def format_replay(r: dict) -> str:
    tm = r["timing"]
    lines = [f"{r['video']}: replayed over {'aiortc loopback' if r.get('transport') != 'direct' else 'direct feed'} "
             f"({r.get('mode', '')})"]
    if not r["sets"]:
        lines.append("no sets found (no completed reps of a supported exercise)")
    for k, s in enumerate(r["sets"], 1):
        lines.append(f"  set {k}: {s['exercise']:15s} reps {s['reps']:3d}   {s['start_s']:7.2f}s – {s['end_s']:7.2f}s")
    lines.append(f"timing: processed {tm['processed_fps']:.1f} fps, dropped {tm['dropped_ratio']:.1%} "
                 f"({tm.get('frames_dropped', 0)} of {tm.get('frames_in', 0)}), "
                 f"latency p50 {tm['latency_ms_p50']} ms, p95 {tm['latency_ms_p95']} ms")
    if "frames_sent" in tm:
        lines.append(f"link: {tm['frames_sent']} frames sent, {tm['frames_received']} received")
    return "\n".join(lines)


def run_replay(video: str, realtime: bool = False, json_out: bool = False, exercise: str | None = None,
               speak_count: str = "every", mute: bool = False, save: bool = False, date: str | None = None,
               direct: bool = False) -> int:
    """CLI entry: prints the sets, timing and what the voice said (or one JSON object); bad input raises
    InputError. ``mute``: the utterances are still decided and listed (``"muted": true``, ``audio_ms`` 0), no
    audio is produced. ``save``: the session is stored (``$SPOTTER_DATA``) as the app stores an upload;
    ``date`` (YYYY-MM-DD or an ISO date and time, local time): when it took place. ``direct``: no WebRTC, the decoded
    frames go straight into the live session (for comparison)."""
    when = None
    if date is not None:
        if not save:
            raise InputError("--date dates a stored session: use it with --save")
        from .progress import parse_date

        try:
            when = parse_date(date)
        except ValueError as e:
            raise InputError(str(e)) from None
    store = None
    if save:
        from .store import Store

        store = Store()
    r = replay(video, realtime=realtime, exercise=exercise, speech=SpeechConfig(count=speak_count, muted=mute),
               store=store, keep_video=save, date=when, webrtc=not direct)
    if json_out:
        keep = ("processed_fps", "dropped_ratio", "latency_ms_p50", "latency_ms_p95")
        out = {"sets": r["sets"], "timing": {k: r["timing"][k] for k in keep}, "speech": r["speech"]}
        if save:
            out["session_id"] = r["session_id"]
        print(json.dumps(out))
    else:
        print(format_replay(r))
        if save:
            print(f"saved as session {r['session_id']} in {store.root}")
        for u in r["speech"]:
            print(f"  said at {u['t']:7.2f}s  {u['kind']:6s} {u['text']!r}"
                  + (" (muted)" if u.get("muted") else f" ({u['audio_ms']:.0f} ms of audio)"))
        st = r["speech_timing"]
        if st["with_audio"]:
            print(f"voice: {st['with_audio']} utterances with audio, synthesis {st['synth_ms_cold_mean']} ms a new "
                  f"phrase, rep completed → count audio ready p50 {st['count_latency_ms_p50']} ms")
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GLOG_minloglevel", "2")
    p = argparse.ArgumentParser(prog="spotter replay", description=__doc__.split("\n")[0])
    p.add_argument("video")
    p.add_argument("--realtime", action="store_true", help="send at the video's own pace (live behaviour)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--exercise", choices=list(SUPPORTED), default=None)
    p.add_argument("--speak-count", choices=["every", "5", "off"], default="every", help="spoken rep count")
    p.add_argument("--mute", action="store_true", help="no audio (utterances still listed, muted)")
    p.add_argument("--save", action="store_true", help="store the session ($SPOTTER_DATA) as the app does")
    p.add_argument("--date", default=None, help="with --save: when it took place (YYYY-MM-DD[THH:MM])")
    p.add_argument("--direct", action="store_true", help="no WebRTC: decoded frames straight into the session")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return run_replay(a.video, realtime=a.realtime, json_out=a.json, exercise=a.exercise,
                          speak_count=a.speak_count, mute=a.mute, save=a.save, date=a.date,
                          direct=a.direct)
    except SpotterError as e:
        print(f"spotter: error: {e}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())

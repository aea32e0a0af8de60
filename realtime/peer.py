"""The page channel: the browser sends its camera (or a file it plays) over WebRTC, the server analyses it and
returns one small JSON result per processed frame over a data channel; the page draws the skeleton, count and
cue on a canvas over its own local picture (``realtime/web/spotter_live``). No video comes back.

    browser                                   server (this process)
    getUserMedia → <video> (own picture)
         └─ RTCPeerConnection ── VP8 ──────→  aiortc (loop thread "spotter-rtc") → LiveLink.on_video
                           ←── data channel ──  LiveSession pose worker → result_message()  (≈ 1 kB JSON)
    canvas over <video> ← draw(result)

Signalling is one HTTP POST on the app's own port (``/api/spotter/offer``, mounted with ``streamlit.starlette.App``
by ``realtime/app_server.py``): the page sends its offer with the token the page script gave it; the answer comes
back in the response. Tokens are random, one per browser tab; the route serves loopback clients only unless
``SPOTTER_ALLOW_REMOTE=1`` (same rule as the page), and the server's ICE candidates are 127.0.0.1 only unless
remote use is allowed (no STUN/TURN unless ``SPOTTER_ICE_SERVERS`` is set).

Messages (JSON objects with a ``type``; receivers ignore types and fields they do not know):

* server → page ``{"type": "ready"}`` once the session and its pose model are loaded (a replay starts
  playing then); ``{"type": "result", "v": 1, "rtp": <RTP timestamp of the analysed frame>, "t": <stream s>,
  "lm": [[x, y] | null] * 33 (normalised image coordinates, null = not drawn) | null, "hl": [landmark indices],
  "exercise", "confidence", "source", "count", "set_index", "phase", "cue", "hint", "suggestion",
  "state", "rest_left_s", "sets_done", "reps_done", "timeline", "frames_in", "frames_processed", "frames_dropped",
  "processed_fps", "server_ms" (frame received → result ready; of which "wait_ms" in the mailbox and "pose_ms" the
  pose model), "error"}`` (``timeline``: a number that changes whenever a finished set's report or
  coach summary changes; the page asks Streamlit to redraw the session panel then, see ``streamlit_app.py``)
* page → server ``{"type": "command", "name": "end_set"}``, ``{"type": "command", "name": "set_exercise",
  "exercise": "squat" | null}``, ``{"type": "command", "name": "speech", "muted": bool, "count": "every" | "5" |
  "off"}`` (the voice's controls; ``volume`` 0..1 is accepted too, the page applies its own), and for a file
  replay ``{"type": "command", "name": "clock", "t": <s into the file>, "playing": bool, "rate": x, "at": <page
  ms>}`` (where the page's playback is: ``realtime/filereplay.py``).
* a file replay's offer says ``"mode": "file"`` and carries no video: the server decodes the file the page was
  given (``LiveLink.replay_file``) and, on the events channel, says ``{"type": "replay", "state": "end" | "error",
  "error": <one sentence>}``. Results also carry ``frames_still`` (frames whose picture had not changed: their pose
  is the previous one).

Two data channels, both opened by the page: ``spotter`` (unordered, no retransmission: per-frame results, each
one the full state, so a lost one is simply replaced by the next; commands) and ``spotter-events`` (reliable,
ordered: events that must arrive once, e.g. the voice's ``{"type": "speech", ...}`` utterances from
``LiveSession.speech``; :meth:`Connection.send_event`). The page hands every message type it does not handle itself
to ``window.Spotter.on(type, handler)`` handlers.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
import secrets
import threading
import weakref
from pathlib import Path
from typing import Optional

log = logging.getLogger(__name__)

PROTOCOL = 1
OFFER_ROUTE = "/api/spotter/offer"
MEDIA_ROUTE = "/api/spotter/media"
MAX_SDP = 64 * 1024
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

# token -> LiveLink (the page script registers its link; a link forgotten by Streamlit's session state goes away)
_LINKS: "weakref.WeakValueDictionary[str, object]" = weakref.WeakValueDictionary()
# (token, media id) -> file the page may play for a replay
_MEDIA: dict[tuple[str, str], Path] = {}
_REG_LOCK = threading.Lock()
_STOPPING = threading.Event()  # the server is shutting down: frames are no longer analysed


def register(link) -> str:
    """A token for this link: the page component sends it with its offer. One per browser tab."""
    tok = getattr(link, "token", None)
    if tok is None:
        tok = link.token = secrets.token_urlsafe(24)
    with _REG_LOCK:
        _LINKS[tok] = link
    return tok


def allow_media(token: str, path: Path) -> str:
    """Let the page that holds ``token`` play ``path`` (a replay); returns the URL to give the component. The same
    file keeps its URL across the page script's reruns (a new URL would restart the page's replay)."""
    path = Path(path)
    with _REG_LOCK:
        same = [k for k, v in _MEDIA.items() if k[0] == token and v == path]
        mid = same[0][1] if same else secrets.token_hex(8)
        for k in [k for k in _MEDIA if k[0] == token and k[1] != mid]:  # one replay file per tab at a time
            del _MEDIA[k]
        _MEDIA[(token, mid)] = path
    return f"{MEDIA_ROUTE}/{token}/{mid}"


def ice_servers() -> list:
    from aiortc import RTCIceServer

    from .webrtc import rtc_configuration

    out = []
    for srv in rtc_configuration()["iceServers"]:
        if isinstance(srv, dict) and srv.get("urls"):
            out.append(RTCIceServer(urls=srv["urls"], username=srv.get("username"),
                                    credential=srv.get("credential")))
    return out


def remote_allowed() -> bool:
    return os.environ.get("SPOTTER_ALLOW_REMOTE", "").strip() in ("1", "true", "yes")


VIDEO_CODECS = ("h264", "vp8")


def preferred_video_codec() -> str:
    """The codec the server asks the browser to send its camera in: VP8 unless ``SPOTTER_VIDEO_CODEC=h264``.

    Measured on the 2-core machine (docs/live.md, 2026-12-01): Chromium's H.264 encoder (OpenH264) takes ~3 ms a
    640x480 frame against ~6 ms for VP8 (libvpx), ~0.05 core less for the browser, same count and latency on a
    quiet machine. But with the machine loaded (two test suites and a CPU hog), the server's bandwidth estimate
    held the browser at ~200 kbit/s and with H.264 three browser tests that pass with VP8 under the same load
    counted no reps; so VP8 stays the default and H.264 is opt-in."""
    v = os.environ.get("SPOTTER_VIDEO_CODEC", "").strip().lower() or "vp8"
    if v not in VIDEO_CODECS:
        log.error("SPOTTER_VIDEO_CODEC=%r is not one of %s: using vp8", v, ", ".join(VIDEO_CODECS))
        return "vp8"
    return v


def video_receiver(pc):
    """The server's video transceiver, made before the page's offer is read, so that its answer lists the
    preferred codec first (the browser sends in the first codec of the answer). The other codecs follow: a
    browser that cannot encode the preferred one sends the next it can (every WebRTC browser has VP8)."""
    from aiortc import RTCRtpReceiver

    caps = RTCRtpReceiver.getCapabilities("video").codecs
    want = "video/" + preferred_video_codec()
    first = [c for c in caps if c.mimeType.lower() == want]
    tr = pc.addTransceiver("video", direction="recvonly")
    tr.setCodecPreferences(first + [c for c in caps if c not in first])
    return tr


# The page caps its video sender at this (main.js: ``encodings[0].maxBitrate``); on a local connection the server's
# bandwidth estimate never asks for less (see hold_bitrate_estimate)
SEND_MAX_BPS = 1_200_000


class _EstimateFloor:
    """aiortc's ``RemoteBitrateEstimator`` (what the server's REMB feedback tells the browser it may send), with a
    floor under every estimate it reports."""

    def __init__(self, estimator, floor_bps: int):
        self.estimator = estimator
        self.floor_bps = int(floor_bps)

    def add(self, *args, **kwargs):
        out = self.estimator.add(*args, **kwargs)
        if out is None:
            return None
        bitrate, ssrcs = out
        return max(int(bitrate), self.floor_bps), ssrcs


def hold_bitrate_estimate(transceiver, floor_bps: int = SEND_MAX_BPS) -> bool:
    """Keep the server's bandwidth estimate (REMB) at ``floor_bps`` or above on a local connection.

    aiortc estimates the browser's available bandwidth from how the packets' arrival is delayed against their send
    times, and the browser sends at most that. Browser and server on one machine share no network: the delay it
    sees is the server's own CPU load (the receive loop waiting for a CPU), and with the machine loaded it asked
    for ~200 kbit/s (docs/live.md, 2026-12-01), a blurred picture for pose when the camera changes. The same effect
    on the loopback replay is handled by pinning aiortc's encoder (realtime/replay.py). Returns False, and changes
    nothing, if aiortc's receiver no longer has the estimator where this expects it (logged)."""
    rec = transceiver.receiver
    name = "_RTCRtpReceiver__remote_bitrate_estimator"
    est = getattr(rec, name, None)
    if est is None or not hasattr(est, "add"):
        log.warning("aiortc's receiver has no bandwidth estimator where expected: the estimate is left as it is")
        return False
    if not isinstance(est, _EstimateFloor):
        setattr(rec, name, _EstimateFloor(est, floor_bps))
    return True


def local_offer(sdp: str) -> str:
    """Drop the offer's mDNS (``*.local``) candidates: resolving them would send multicast queries on the
    network. The browser's checks reach our 127.0.0.1 candidate and aiortc learns its address from them
    (a peer-reflexive candidate), so a local browser still connects."""
    return "".join(line for line in sdp.splitlines(keepends=True)
                   if not (line.startswith("a=candidate:") and ".local " in line))


# ------------------------------------------------------------------------------------------------ result message
def _r(x, nd=4):
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


def result_message(ov, brief: dict) -> str:
    """One processed frame's result for the page (see the module docstring)."""
    lm = None
    if ov.landmarks is not None:
        pts = ov.landmarks
        mask = ov.mask
        lm = []
        for i in range(len(pts)):
            x, y = float(pts[i, 0]), float(pts[i, 1])
            ok = math.isfinite(x) and math.isfinite(y) and (mask is None or bool(mask[i]))
            lm.append([round(x, 4), round(y, 4)] if ok else None)
    msg = {"type": "result", "v": PROTOCOL, "rtp": ov.tag, "t": round(ov.t, 3), "lm": lm,
           "hl": [int(i) for i in ov.highlight], "exercise": ov.exercise, "confidence": _r(ov.confidence, 3),
           "source": ov.source, "count": ov.count, "set_index": ov.set_index, "phase": ov.phase, "cue": ov.cue,
           "hint": ov.hint, "suggestion": ov.suggestion, "server_ms": _r(ov.latency_ms, 1),
           "wait_ms": _r(ov.wait_ms, 1), "pose_ms": _r(ov.pose_ms, 1), **brief}
    return json.dumps(msg, separators=(",", ":"), default=_plain)


def _plain(o):
    """numpy numbers and anything else a field may hold (tuples are lists already)."""
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    return str(o)


# ------------------------------------------------------------------------------------------------ connections
class _Loop:
    """The asyncio loop every page connection runs on, in its own thread (not the web server's loop)."""

    _inst: Optional["_Loop"] = None
    _lock = threading.Lock()

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="spotter-rtc", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from .threads import name_os_thread

        name_os_thread()
        self.loop.run_forever()

    @classmethod
    def get(cls) -> "_Loop":
        with cls._lock:
            if cls._inst is None:
                cls._inst = _Loop()
            return cls._inst


class Connection:
    """One browser connection: its RTCPeerConnection, data channel and the LiveLink it feeds."""

    live: "set[Connection]" = set()

    def __init__(self, link, pc, loop):
        self.link, self.pc, self.loop = link, pc, loop
        self.channel = None
        self.events = None  # the reliable "spotter-events" channel
        self.frames = 0
        self.closed = False
        self._task = None
        self.sent = self.skipped = 0
        self.ready = False
        self.replay = None  # a file replay's feeder (realtime/filereplay.py), None for a camera

    def set_ready(self) -> None:  # loop thread
        self.ready = True
        self._send(json.dumps({"type": "ready", "v": PROTOCOL}))

    def channel_open(self) -> None:  # loop thread
        if self.ready:
            self._send(json.dumps({"type": "ready", "v": PROTOCOL}))

    # pose worker thread → loop thread
    def send_result(self, ov, session) -> None:
        try:
            text = result_message(ov, session.brief())
        except Exception:
            log.exception("result message")
            return
        self.loop.call_soon_threadsafe(self._send, text)

    def _send(self, text: str) -> None:
        ch = self.channel
        if ch is None or ch.readyState != "open":
            return
        if ch.bufferedAmount > 256 * 1024:  # the page is not reading: drop (the next result replaces it)
            self.skipped += 1
            return
        try:
            ch.send(text)
            self.sent += 1
        except Exception as e:  # closed under us
            log.debug("data channel send: %s", e)

    def send_event(self, text: str) -> None:
        """A message that must arrive (reliable, ordered channel); from any thread. Dropped if the page has no
        events channel or it is not open."""
        def send():
            ch = self.events
            if ch is not None and ch.readyState == "open":
                try:
                    ch.send(text)
                except Exception as e:
                    log.debug("events channel send: %s", e)
        self.loop.call_soon_threadsafe(send)

    def on_message(self, msg) -> None:
        if not isinstance(msg, str) or len(msg) > 16384:
            return
        try:
            m = json.loads(msg)
        except ValueError:
            return
        if not isinstance(m, dict):
            return
        if m.get("type") == "command":
            s = self.link.current()
            if s is None:
                return
            if m.get("name") == "end_set":
                s.end_set()
            elif m.get("name") == "set_exercise":
                ex = m.get("exercise")
                s.set_exercise(ex if isinstance(ex, str) else None)
            elif m.get("name") == "speech":
                speech_command(s, m)
            elif m.get("name") == "clock" and self.replay is not None:
                self.replay.clock(m.get("t"), m.get("playing"), m.get("rate"), m.get("at"))

    async def consume(self, track) -> None:
        from aiortc.mediastreams import MediaStreamError

        try:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    break
                self.frames += 1
                if _STOPPING.is_set():
                    continue
                try:
                    self.link.on_video(frame)
                except Exception:
                    log.exception("live frame")
        finally:
            await self.close("track ended")

    async def close(self, why: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        Connection.live.discard(self)
        log.info("page connection closed (%s)", why)
        if self.replay is not None:
            self.replay.stop()
        try:
            if getattr(self.link, "connection", None) is self:  # a newer connection of this tab is not ours
                self.link.connection = None
                self.link.sink = self.link.event_sink = None
                self.link.ended()  # the set in progress is stored (in another thread)
        finally:
            await self.pc.close()


def speech_command(session, m: dict) -> None:
    """The page's voice controls: ``{"type": "command", "name": "speech", "muted": bool, "count": "every" | "5" |
    "off", "volume": 0..1}`` (each field optional) → :meth:`LiveSession.set_speech`; anything malformed is ignored."""
    from .speech import COUNT_MODES

    muted, count, volume = m.get("muted"), m.get("count"), m.get("volume")
    kw = {}
    if isinstance(muted, bool):
        kw["muted"] = muted
    if isinstance(count, str) and count in COUNT_MODES:
        kw["count"] = count
    if isinstance(volume, (int, float)) and not isinstance(volume, bool) and math.isfinite(volume):
        kw["volume"] = min(1.0, max(0.0, float(volume)))
    if kw and hasattr(session, "set_speech"):
        session.set_speech(**kw)


async def _accept(link, sdp: str, typ: str, mode: str = "camera") -> dict:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    from .replay import _loopback_candidates

    loop = asyncio.get_running_loop()
    old = getattr(link, "connection", None)
    if old is not None:  # START again in the same tab: the previous connection (and its session) ends first
        await old.close("replaced")
    from .jitter import install

    install()  # frames leave aiortc's jitter buffer at their last packet (realtime/jitter.py)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers()))
    remote = remote_allowed()
    # a file replay: the server decodes the file the page plays, the page sends no video (realtime/filereplay.py)
    replay_file = getattr(link, "replay_file", None) if mode == "file" else None
    if mode == "file" and replay_file is None:
        raise ValueError("this page has no file to replay: reload the page")
    if replay_file is None:
        video = video_receiver(pc)
        if not remote:  # browser and server on this machine: no network whose capacity the estimate could measure
            hold_bitrate_estimate(video)
    conn = Connection(link, pc, loop)
    Connection.live.add(conn)
    link.connection = conn
    link.sink = conn.send_result
    link.event_sink = conn.send_event

    @pc.on("datachannel")
    def _dc(ch):
        ch.on("message", conn.on_message)
        if ch.label == "spotter-events":
            conn.events = ch
            return
        conn.channel = ch
        ch.on("open", conn.channel_open)
        if ch.readyState == "open":
            conn.channel_open()

    @pc.on("track")
    def _track(track):
        if track.kind == "video" and conn._task is None:
            conn._task = asyncio.ensure_future(conn.consume(track))

    @pc.on("connectionstatechange")
    async def _state():
        if pc.connectionState in ("failed", "closed"):
            await conn.close(pc.connectionState)

    async def prepare():  # the session and its pose model, off the loop, while the connection comes up
        try:
            await loop.run_in_executor(None, link.prepare)
        except Exception:
            log.exception("live session")
        if not conn.closed:
            if replay_file is not None:
                from .filereplay import FileReplay

                conn.replay = FileReplay(link, replay_file, getattr(link, "replay_name", None), conn.send_event)
                conn.replay.start()  # it waits for the page's playback clock
            conn.set_ready()

    asyncio.ensure_future(prepare())
    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp if remote else local_offer(sdp), type=typ))
    answer = await pc.createAnswer()
    if remote:
        await pc.setLocalDescription(answer)
    else:
        with _loopback_candidates():
            await pc.setLocalDescription(answer)
    return {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}


def close_all(timeout: float = 30.0) -> int:
    """Server shutdown: stop analysing, close every page session here and now (the set in progress is stored
    with its report, the recording finalised), then end the connections. Returns the number of sessions."""
    _STOPPING.set()
    lp = _Loop._inst
    conns = list(Connection.live)
    sessions = [s for s in (c.link.current() for c in conns) if s is not None]
    for s in sessions:
        try:
            s.close("server_stopped", timeout=timeout)
        except Exception:
            log.exception("closing a session at shutdown")
    if lp is not None and conns:
        async def close_conns():
            await asyncio.gather(*(c.close("server stopped") for c in conns), return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(close_conns(), lp.loop).result(5.0)
        except Exception:
            pass
    return len(sessions)


# ------------------------------------------------------------------------------------------------ HTTP routes
def _client_ok(request) -> bool:
    from .webrtc import client_allowed

    host = request.client.host if request.client is not None else None
    return client_allowed(host or "0.0.0.0")


async def offer_endpoint(request):
    from starlette.responses import JSONResponse

    if not _client_ok(request):
        return JSONResponse({"error": "Spotter serves this computer only (SPOTTER_ALLOW_REMOTE=1 to allow)"},
                            status_code=403)
    body = await request.body()
    if len(body) > MAX_SDP:
        return JSONResponse({"error": "offer too large"}, status_code=413)
    try:
        m = json.loads(body)
        tok, sdp, typ = m["token"], m["sdp"], m["type"]
        mode = m.get("mode", "camera")
        if not (isinstance(tok, str) and isinstance(sdp, str) and typ == "offer" and mode in ("camera", "file")):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": "expected {token, sdp, type: offer}"}, status_code=400)
    link = _LINKS.get(tok) if _TOKEN_RE.match(tok) else None
    if link is None:
        return JSONResponse({"error": "unknown or expired page session: reload the page"}, status_code=404)
    try:
        fut = asyncio.run_coroutine_threadsafe(_accept(link, sdp, typ, mode), _Loop.get().loop)
        ans = await asyncio.wait_for(asyncio.wrap_future(fut), 30)
    except Exception as e:  # a bad offer, no usable candidate…: one line to the page, details in the log
        log.exception("offer")
        return JSONResponse({"error": f"could not connect: {type(e).__name__}: {e}"[:300]}, status_code=500)
    return JSONResponse(ans)


async def media_endpoint(request):
    """A replay file for the page's <video> (Starlette's FileResponse: HTTP ranges; needs
    ``realtime.compat.fix_streamlit_media``, applied by ``realtime/app_server.py``)."""
    from starlette.responses import FileResponse, PlainTextResponse

    if not _client_ok(request):
        return PlainTextResponse("forbidden", status_code=403)
    key = (request.path_params.get("token", ""), request.path_params.get("mid", ""))
    with _REG_LOCK:
        path = _MEDIA.get(key) if key[0] in _LINKS else None
    if path is None or not path.is_file():
        return PlainTextResponse("not found", status_code=404)
    return FileResponse(path, headers={"Cache-Control": "no-store"})


def _media_route():
    from starlette.routing import Route

    return Route(MEDIA_ROUTE + "/{token}/{mid}", media_endpoint, methods=["GET", "HEAD"])


def routes() -> list:
    """The routes to mount next to Streamlit's (``realtime/app_server.py``)."""
    from starlette.routing import Route

    return [Route(OFFER_ROUTE, offer_endpoint, methods=["POST"]), _media_route()]


"""Glue between a WebRTC connection and :class:`LiveSession`: one :class:`LiveLink` per browser session (kept in
``st.session_state``), one :class:`LiveSession` per WebRTC connection (created on its first frame, closed when
the track ends: STOP, tab closed or connection dropped).

Two ways in: :meth:`LiveLink.on_video` (the page channel, ``realtime/peer.py``: the browser sends its camera, the
server returns per-frame results and the page draws the overlay itself) and :meth:`LiveLink.callback`
(a ``video_frame_callback`` that returns the frame with the overlay drawn on it, streamlit-webrtc style)."""
from __future__ import annotations

import json
import logging
import os
import threading
from typing import Optional

from .session import LiveSession, SessionConfig

log = logging.getLogger(__name__)


def rtc_configuration() -> dict:
    """``{"iceServers": []}`` by default: a browser on this machine connects to the server with host candidates
    only and nothing is sent anywhere else. ``SPOTTER_ICE_SERVERS`` (a JSON list) configures STUN/TURN servers
    for use across a network."""
    raw = os.environ.get("SPOTTER_ICE_SERVERS", "").strip()
    if not raw:
        return {"iceServers": []}
    try:
        servers = json.loads(raw)
        if not isinstance(servers, list):
            raise ValueError("not a list")
    except ValueError as e:
        log.error("SPOTTER_ICE_SERVERS is not a JSON list (%s): using no ICE servers", e)
        return {"iceServers": []}
    return {"iceServers": servers}


def client_allowed(ip: Optional[str]) -> bool:
    """Whether the page serves a client at ``ip`` (Streamlit's ``st.context.ip_address``: None for localhost).

    The server binds 127.0.0.1 (``.streamlit/config.toml``); this is the second line of defence if it was bound
    wider by mistake: only loopback clients, unless ``SPOTTER_ALLOW_REMOTE=1`` (use across a network, together
    with ``--server.address`` and ``SPOTTER_ICE_SERVERS``)."""
    if os.environ.get("SPOTTER_ALLOW_REMOTE", "").strip() in ("1", "true", "yes"):
        return True
    if ip is None or not isinstance(ip, str):  # None: localhost (Streamlit); not a str: the test harness's stand-in
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(str(ip).split("%")[0]).is_loopback
    except ValueError:
        return False


def _freeze_heap() -> None:
    """Move everything alive now (torch, MediaPipe, Streamlit, the session just built: ~300k objects) out of the
    garbage collector's sight: a full collection over them takes ~250 ms here and holds the GIL, stalling pose and
    WebRTC whenever Python decides to run one during a set. Unfrozen and collected first, so what a closed
    session left behind is freed at the next start (called before frames flow)."""
    import gc

    gc.unfreeze()
    gc.collect()
    gc.freeze()


class LiveLink:
    """What the page keeps for one browser tab. Thread-safe: the WebRTC worker calls :meth:`callback` and
    :meth:`ended`, the page reads :meth:`current` and sends commands."""

    def __init__(self, store_factory=None):
        self._lock = threading.Lock()
        self.config = SessionConfig()
        self.session: Optional[LiveSession] = None
        self.previous: Optional[LiveSession] = None
        self._store_factory = store_factory
        self.store_error: Optional[str] = None
        self._t0: Optional[float] = None
        self._pts_last: Optional[int] = None
        self._pts_wrap = 0
        self.sink = None  # callable(overlay, session): a processed frame's result to the page (realtime/peer.py)
        self._preparing = False
        self.frames_before_ready = 0
        self.event_sink = None  # callable(json text): an event the page must get (realtime/peer.py send_event)
        self.connection = None  # the page connection feeding this link (realtime/peer.py)
        self.token: Optional[str] = None  # the page component's key to its offer route (realtime/peer.py)
        # a file this tab replays with the live overlay (realtime/filereplay.py) and the name the user knows it by
        self.replay_file = None
        self.replay_name: Optional[str] = None

    def configure(self, cfg: SessionConfig) -> None:
        with self._lock:
            old = self.config
            self.config = cfg
            s = self.session
        if s is not None and cfg.exercise != old.exercise:
            s.set_exercise(cfg.exercise)

    def _new_session(self) -> LiveSession:
        store = None
        if self._store_factory is not None:
            try:
                store = self._store_factory()
            except Exception as e:  # the live coaching still works, unrecorded, and the page says why
                self.store_error = str(e)
                log.error("store unavailable: %s", e)
        return LiveSession(self.config, store=store, threaded=True)

    def _session(self) -> LiveSession:
        with self._lock:
            s = self.session
            if s is None or s._closed:
                s = self.session = self._new_session()
                self._t0 = self._pts_last = None
                self._pts_wrap = 0
                sink, events = self.sink, self.event_sink
                if sink is not None:
                    s.result_sink = lambda ov, _s=s: sink(ov, _s)
                speech = getattr(s, "speech", None)
                if events is not None and speech is not None and hasattr(speech, "sink"):
                    speech.sink = lambda u: events(u.message())  # the voice's utterances to the page
        return s

    def _time(self, frame) -> float:
        """Seconds since the connection's first frame. RTP timestamps (90 kHz) wrap at 2**32 (13 h from a
        random start): unwrapped here."""
        if frame.pts is None or frame.time_base is None:
            t = 0.0
        else:
            pts = int(frame.pts)
            if self._pts_last is not None and self._pts_last - pts > (1 << 31):
                self._pts_wrap += 1 << 32
            self._pts_last = pts
            t = float((pts + self._pts_wrap) * frame.time_base)
        if self._t0 is None:
            self._t0 = t
        return t - self._t0

    def prepare(self) -> LiveSession:
        """Create the connection's session and warm its pose model up before frames flow (call from a worker
        thread: seconds). Frames that arrive meanwhile are dropped by :meth:`on_video`."""
        with self._lock:
            self._preparing = True
        try:
            s = self._session()
            s.warm_up()
            _freeze_heap()
            return s
        finally:
            with self._lock:
                self._preparing = False

    def on_video(self, frame) -> None:
        """A frame from the page channel (av.VideoFrame from aiortc): analysed, nothing drawn, nothing sent back
        but the result (through :attr:`sink`, tagged with the frame's RTP timestamp). Never blocks: while the
        session is being prepared the frame is dropped."""
        if self._preparing:
            self.frames_before_ready += 1
            return
        s = self._session()
        s.on_frame(frame, self._time(frame), tag=frame.pts, draw=False)  # converted only if analysed

    def callback(self, frame):
        """streamlit-webrtc's ``video_frame_callback``: av.VideoFrame in, av.VideoFrame out, never blocks."""
        import av

        s = self._session()
        t = self._time(frame)
        rgb = frame.to_ndarray(format="rgb24")
        out = s.on_frame(rgb, t)
        nf = av.VideoFrame.from_ndarray(out, format="rgb24")
        nf.pts, nf.time_base = frame.pts, frame.time_base
        return nf

    def ended(self) -> None:
        """The track ended: close the session (the set in progress is stored) without blocking the caller."""
        with self._lock:
            s, self.session = self.session, None
            if s is not None:
                self.previous = s
        if s is not None:
            threading.Thread(target=s.close, args=("stream_ended",), name="spotter-close", daemon=True).start()

    def current(self) -> Optional[LiveSession]:
        with self._lock:
            return self.session or self.previous

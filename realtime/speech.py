"""The voice: what the coach says out loud, decided on the server, and the audio of it.

    sp = Speech(SpeechConfig(count="every"), threaded=True)          # one per LiveSession
    sp.frame(t, arrival, count=..., set_index=..., phase=..., cue=..., rep=..., hints=..., first_rep_pending=...)
    sp.set_done(t, arrival, reps, reason, best=None)                  # a set closed (rest, "End set", ...)
    sp.events(after_seq)   # the page: utterances whose audio is ready, oldest first (WAV bytes in ``.wav``)
    sp.close()             # synthesises what is still queued, then stops the worker

Two parts, so that speech never delays the video/pose path:

* :class:`SpeechPlanner` decides *what* to say and *when*, from what the live session already knows each frame
  (count, set, phase, the cue the visual :class:`~realtime.overlay.CueGate` just showed, the rep that was just
  evaluated, the camera set-up hints). It is pure and keyed on stream timestamps, so a replay of a file speaks
  exactly like the webcam did. It runs in the pose worker and costs microseconds.
* :class:`SpeechWorker` turns each decision into audio in its own thread (``spotter-speech``), through a bounded
  queue: live, a full queue drops the oldest utterance and an utterance older than ``max_delay_s`` when its turn
  comes is dropped (a count said three seconds late is noise); with ``threaded=False`` (replay as fast as
  possible, tests) the queue applies back-pressure instead, so every utterance gets its audio.

Audio: espeak-ng through its C library, shipped (library + voice data) inside the ``espeakng-loader`` wheel, so
``pip install -e .`` is all it needs — offline, no system package. Each phrase is synthesised once per process
and cached (LRU, keyed by voice, rate and text); an utterance carries 16-bit mono PCM as WAV bytes and
``audio_ms``, the length of that audio. If the library is missing or fails, speech degrades to text-only
utterances (``status="text_only"``, ``audio_ms=0``) with one warning in the log; it never raises into the session.

Kinds: ``count`` (every rep, every 5th, or off), ``cue`` (only what the visual cue gate showed: confident
issues, >= 4 s apart — and never while resting), ``set`` ("Set done, N reps"), ``rest`` (the end of the rest
between sets), ``setup`` (camera set-up guidance before the first rep, rate-limited) and ``praise`` (a short
positive note when the fault that was cued is gone on the next rep) and ``best`` (right after "set done": a
personal best the set beat, realtime/progress.py). See docs/voice.md and docs/progress.md.
"""
from __future__ import annotations

import base64
import ctypes
import io
import json
import logging
import math
import os
import threading
import time
import wave
from collections import OrderedDict, deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np

log = logging.getLogger(__name__)

KINDS = ("count", "cue", "set", "rest", "setup", "praise", "best")
COUNT_MODES = ("every", "5", "off")
PRAISE = ("Good, that's it.", "Better. Keep that.", "Nice, much better.")
REST_OVER = "Rest over. Start your next set when you're ready."
RESTING_AFTER_S = 2.0  # no rep for this long at the top = resting (the same rule as LiveSession's state)
MAX_HISTORY = 2000  # decided utterances kept as text (replay --json, tests); audio only for the last ``keep``

# short spoken forms of the QC set-up hints (pipeline/pose/qc.py); body_cut_off speaks the fix in its message
SETUP_PHRASES = {
    "no_person": "Step into view of the camera.",
    "person_small": "Move closer to the camera.",
    "too_dark": "It is too dark. Turn on a light.",
    "too_bright": "Too much light behind you. Turn the camera away from the window.",
    "blurry": "The picture is blurry. Keep the camera still.",
    "camera_moving": "The camera is moving. Put it on a steady surface.",
}


@dataclass
class SpeechConfig:
    enabled: bool = True  # False: nothing is decided or spoken (the set clock below still runs for the page)
    count: str = "every"  # every | 5 | off
    muted: bool = False  # decided and listed, but no audio is produced (status "muted", audio_ms 0)
    volume: float = 1.0  # gain 0..1 applied to the PCM (the page may also set its own volume)
    voice: str = "en-us"
    rate_wpm: int = 165  # a little slower than espeak's 175: heard from a few metres away, mid-effort
    break_s: float = 60.0  # rest between sets: "rest over" this long after a set ends (no new rep meanwhile)
    setup_stable_s: float = 2.0  # a set-up hint must stand this long before it is spoken
    setup_gap_s: float = 15.0  # at least this long between two set-up phrases
    setup_repeat_s: float = 45.0  # the same set-up phrase at most this often
    max_queue: int = 6  # live: utterances waiting for synthesis; the oldest is dropped beyond this
    max_delay_s: float = 2.5  # live: an utterance not synthesised this long after its frame is dropped
    keep: int = 64  # utterances (with their audio) kept for the page to fetch

    def __post_init__(self):
        self.count = str(self.count)
        if self.count not in COUNT_MODES:
            raise ValueError(f"speech count mode must be one of {', '.join(COUNT_MODES)}, not {self.count!r}")
        self.volume = float(min(1.0, max(0.0, self.volume)))


@dataclass
class Utterance:
    """One thing the coach says. Published to the page once ``status`` is final (ready/muted/text_only/dropped);
    treat it as read-only then."""

    seq: int  # 1, 2, 3 ... per session, in the order decided
    t: float  # stream time (s) of the frame that triggered it
    kind: str  # count | cue | set | rest | setup | praise
    text: str
    code: Optional[str] = None  # the issue code (cue, praise) or the QC hint code (setup)
    status: str = "pending"  # pending | ready | muted | text_only | dropped
    wav: Optional[bytes] = None  # RIFF WAV, 16-bit mono PCM (None unless "ready"; released once out of ``keep``)
    audio_ms: float = 0.0  # length of the audio produced (0 when none)
    sample_rate: int = 0
    triggered: float = 0.0  # perf_counter when the triggering frame arrived on the server
    decided: float = 0.0  # perf_counter when the planner decided it (that frame analysed)
    ready: Optional[float] = None  # perf_counter when the audio (or the decision not to make any) was done
    synth_ms: Optional[float] = None  # synthesis time of this phrase (0-ish when it came from the cache)
    cached: bool = False
    why: Optional[str] = None  # dropped/text_only: the reason

    @property
    def latency_ms(self) -> Optional[float]:
        """Server side: the triggering frame's arrival → this utterance's audio ready."""
        return None if self.ready is None else (self.ready - self.triggered) * 1000.0

    def as_dict(self) -> dict:
        """The replay listing: ``{"t", "kind", "text", "audio_ms"}`` (+ ``muted`` / ``dropped`` when so)."""
        d = {"t": round(self.t, 3), "kind": self.kind, "text": self.text, "audio_ms": self.audio_ms}
        if self.status == "muted":
            d["muted"] = True
        elif self.status in ("dropped", "text_only"):
            d[self.status] = self.why or True
        return d

    def message(self) -> str:
        """One JSON message for the page channel: ``{"type": "speech", "v": 1, "seq", "t", "kind", "text",
        "audio_ms", "status", "wav_b64"}`` (``wav_b64`` is null without audio)."""
        return json.dumps({"type": "speech", "v": 1, "seq": self.seq, "t": round(self.t, 3), "kind": self.kind,
                           "text": self.text, "audio_ms": self.audio_ms, "status": self.status,
                           "wav_b64": base64.b64encode(self.wav).decode("ascii") if self.wav else None},
                          separators=(",", ":"))


# ---------------------------------------------------------------------------------------------------- the TTS
class TTSUnavailable(RuntimeError):
    pass


class EspeakVoice:
    """espeak-ng's C library (``libespeak-ng.so`` and ``espeak-ng-data`` from the ``espeakng-loader`` wheel) through
    ctypes, synchronous mode: ``synth(text)`` returns int16 PCM. The library keeps global state, so one process-wide
    lock serialises every call (synthesis of a short phrase takes a few milliseconds)."""

    name = "espeak-ng"
    _lock = threading.Lock()
    _lib = None
    _rate_hz = 0
    _chunks: list = []
    _cb = None  # the ctypes callback object must stay alive as long as the library may call it
    _error: Optional[str] = None
    AUDIO_OUTPUT_SYNCHRONOUS = 2
    INITIALIZE_DONT_EXIT = 0x8000
    CHARS_UTF8 = 1
    POS_CHARACTER = 1
    PARAM_RATE = 1

    def __init__(self, voice: str = "en-us", rate_wpm: int = 165):
        self.voice = voice
        self.rate_wpm = int(rate_wpm)
        self._load()

    @property
    def sample_rate(self) -> int:
        return type(self)._rate_hz

    @classmethod
    def _load(cls) -> None:
        with cls._lock:
            if cls._lib is not None:
                return
            if cls._error is not None:
                raise TTSUnavailable(cls._error)
            try:
                import espeakng_loader

                lib = ctypes.CDLL(espeakng_loader.get_library_path())
                data = espeakng_loader.get_data_path()
                lib.espeak_Initialize.restype = ctypes.c_int
                lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
                lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
                lib.espeak_SetVoiceByName.restype = ctypes.c_int
                lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
                lib.espeak_SetParameter.restype = ctypes.c_int
                lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                             ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
                lib.espeak_Synth.restype = ctypes.c_int
                lib.espeak_Synchronize.restype = ctypes.c_int
                rate = lib.espeak_Initialize(cls.AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), cls.INITIALIZE_DONT_EXIT)
                if rate <= 0:
                    raise OSError(f"espeak_Initialize failed ({rate}) with data at {data}")
                proto = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

                def on_audio(wav, n, events):
                    if n > 0 and wav:
                        cls._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
                    return 0  # continue

                cls._cb = proto(on_audio)
                lib.espeak_SetSynthCallback(cls._cb)
                cls._lib, cls._rate_hz = lib, int(rate)
            except Exception as e:  # ImportError, OSError (missing/broken .so), data path errors
                cls._error = f"{type(e).__name__}: {e}"
                raise TTSUnavailable(cls._error) from e

    def synth(self, text: str) -> np.ndarray:
        cls = type(self)
        b = text.encode("utf-8") + b"\0"
        with cls._lock:
            lib = cls._lib
            if lib.espeak_SetVoiceByName(self.voice.encode()) != 0:
                raise TTSUnavailable(f"espeak-ng has no voice {self.voice!r}")
            lib.espeak_SetParameter(cls.PARAM_RATE, self.rate_wpm, 0)
            cls._chunks = []
            err = lib.espeak_Synth(b, len(b), 0, cls.POS_CHARACTER, 0, cls.CHARS_UTF8, None, None)
            lib.espeak_Synchronize()
            chunks, cls._chunks = cls._chunks, []
        if err != 0:
            raise RuntimeError(f"espeak_Synth failed ({err})")
        return np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)


def trim_silence(pcm: np.ndarray, rate: int, floor: int = 200, pad_ms: float = 30.0) -> np.ndarray:
    """Drop leading and trailing near-silence (espeak pads every phrase), keeping ``pad_ms`` either side: the
    spoken count starts as soon as it is played."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > floor)
    if len(loud) == 0:
        return pcm[:0]
    pad = int(rate * pad_ms / 1000.0)
    return pcm[max(0, loud[0] - pad): min(len(pcm), loud[-1] + 1 + pad)]


def wav_bytes(pcm: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(np.ascontiguousarray(pcm, dtype="<i2").tobytes())
    return buf.getvalue()


def audio_ms_of(n_samples: int, rate: int) -> float:
    return round(1000.0 * n_samples / rate, 1) if rate else 0.0


class PhraseCache:
    """Process-wide LRU of synthesised phrases: (engine, voice, rate, text) → read-only int16 PCM."""

    def __init__(self, max_items: int = 256):
        self.max_items = max_items
        self._d: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
            return v

    def put(self, key, pcm: np.ndarray) -> None:
        pcm = np.array(pcm, dtype=np.int16)
        pcm.setflags(write=False)
        with self._lock:
            self._d[key] = pcm
            self._d.move_to_end(key)
            while len(self._d) > self.max_items:
                self._d.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._d.clear()


CACHE = PhraseCache()


def make_engine(cfg: SpeechConfig):
    """The default voice (espeak-ng); raises :class:`TTSUnavailable` when it cannot run here."""
    return EspeakVoice(cfg.voice, cfg.rate_wpm)


def render(engine, text: str) -> tuple[np.ndarray, int, float, bool]:
    """(pcm, sample rate, synthesis ms, from cache) for ``text`` with ``engine``, through :data:`CACHE`."""
    key = (getattr(engine, "name", type(engine).__name__), getattr(engine, "voice", ""),
           getattr(engine, "rate_wpm", 0), text)
    pcm = CACHE.get(key)
    if pcm is not None:
        return pcm, engine.sample_rate, 0.0, True
    t0 = time.perf_counter()
    pcm = trim_silence(engine.synth(text), engine.sample_rate)
    ms = (time.perf_counter() - t0) * 1000.0
    if len(pcm) == 0:
        raise RuntimeError(f"the voice produced no audio for {text!r}")
    CACHE.put(key, pcm)
    return CACHE.get(key), engine.sample_rate, ms, False


# ------------------------------------------------------------------------------------------------ the planner
def spoken_hint(code: str, message: str) -> str:
    """A short spoken form of a QC set-up hint."""
    if code in SETUP_PHRASES:
        return SETUP_PHRASES[code]
    text = message.split(": ", 1)[1] if ": " in message else message  # "…: step back until your feet …"
    text = text.strip().rstrip(".")
    return (text[:1].upper() + text[1:] + ".") if text else ""


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


class SpeechPlanner:
    """Decides the utterances. Pure: fed once per processed frame (stream timestamps), no threads, no audio."""

    def __init__(self, cfg: SpeechConfig):
        self.cfg = cfg
        self._set_index = 1
        self._count = 0
        self._t_count = -math.inf  # stream time the count last went up
        self._cued: Optional[tuple[str, int]] = None  # (issue code, set index) of the last spoken cue
        self._n_praise = 0
        self._hint: Optional[str] = None
        self._hint_since = 0.0
        self._last_setup = -math.inf
        self._said_setup: dict[str, float] = {}
        self.break_until: Optional[float] = None  # stream time the rest between sets ends
        self.last_set_reps: Optional[int] = None

    def resting(self, t: float, count: int, phase: str) -> bool:
        """Resting: paused at the top for more than RESTING_AFTER_S after the last rep (the set is about to end; the
        session's "resting" state), or between sets (a set is done and no rep of the next one yet)."""
        if count == 0:
            return self.last_set_reps is not None
        return phase in ("top", "idle") and t - self._t_count > RESTING_AFTER_S

    def frame(self, t: float, *, count: int, set_index: int, phase: str = "top", cue=None, rep=None,
              hints=(), first_rep_pending: bool = False) -> list[tuple[str, str, Optional[str]]]:
        """One processed frame → [(kind, text, code)] to say, in order.

        ``cue``: (code, text) when the visual cue gate showed a cue on this frame; ``rep``: the
        :class:`~pipeline.movement.analyzer.RepResult` evaluated on this frame (its issues, borderline flags and
        not-judged rules); ``hints``: the QC set-up hints (``code``, ``message``); ``first_rep_pending``: no rep
        yet in this session (set-up guidance is only spoken then)."""
        out: list[tuple[str, str, Optional[str]]] = []
        c = self.cfg
        if set_index != self._set_index:  # a new set: its count starts again
            self._set_index, self._count = set_index, 0
            self._cued = None
        # -- the count
        if count > self._count:
            prev, self._count, self._t_count = self._count, count, t
            if c.count == "every" or (c.count == "5" and count // 5 > prev // 5):
                out.append(("count", str(count), None))
            self.break_until = None  # a new set started: the rest is over by itself
        elif count < self._count:
            self._count = count
        # -- the end of the rest between sets
        if self.break_until is not None and t >= self.break_until:
            self.break_until = None
            out.append(("rest", REST_OVER, None))
        # -- praise: the fault that was cued is gone on the next full rep
        # a cue belongs to a rep of the set in progress: never before the first rep, never while resting
        said_cue = bool(cue is not None and cue[0] and cue[1] and count > 0 and not self.resting(t, count, phase))
        if rep is not None and self._cued is not None and not getattr(rep.rep, "partial", False):
            code, _ = self._cued
            self._cued = None
            judged = code not in {nj.code for nj in (rep.unjudged or [])}
            flagged = any(i.code == code for i in [*(rep.issues or []), *(getattr(rep, "borderline", None) or [])])
            if judged and not flagged and not said_cue:  # a new cue on the same rep wins: one message at a time
                out.append(("praise", PRAISE[self._n_praise % len(PRAISE)], code))
                self._n_praise += 1
        # -- the cue the visual gate just showed (never while resting)
        if said_cue:
            out.append(("cue", _sentence(cue[1]), cue[0]))
            self._cued = (cue[0], set_index)
        # -- camera set-up guidance before the first rep (not in the middle of one): a stable hint, rate-limited
        if first_rep_pending and hints and phase not in ("lowering", "rising"):
            h = hints[0]
            phrase = spoken_hint(getattr(h, "code", ""), getattr(h, "message", str(h)))
            if phrase != self._hint:
                self._hint, self._hint_since = phrase, t
            elif (phrase and t - self._hint_since >= c.setup_stable_s and t - self._last_setup >= c.setup_gap_s
                  and t - self._said_setup.get(phrase, -math.inf) >= c.setup_repeat_s):
                self._last_setup = self._said_setup[phrase] = t
                out.append(("setup", phrase, getattr(h, "code", None)))
        else:
            self._hint = None
        return out if c.enabled else []

    def set_done(self, t: float, reps: int, reason: str,
                 best: Optional[str] = None) -> list[tuple[str, str, Optional[str]]]:
        """A set closed: "Set done, N reps." and the rest between sets starts (not when the link was lost);
        ``best``: the sentence for the personal bests the set beat, said right after."""
        self.last_set_reps = int(reps)
        self._cued = None
        if reason == "connection_lost":
            return []
        self.break_until = t + self.cfg.break_s
        text = f"Set done, {reps} rep{'s' if reps != 1 else ''}."
        out = [("set", text, None)] + ([("best", _sentence(best), None)] if best else [])
        return out if self.cfg.enabled else []

    def break_left(self, t: float) -> Optional[float]:
        return None if self.break_until is None else max(0.0, self.break_until - t)


# ------------------------------------------------------------------------------------------------- the worker
class SpeechWorker:
    """Synthesis in its own thread through a bounded queue; ``publish(u)`` is called once per utterance when its
    status is final (from the worker thread; or from the caller's thread for an utterance dropped as the queue
    overflows)."""

    def __init__(self, cfg: SpeechConfig, publish: Callable[[Utterance], None], *, live: bool, engine=None):
        self.cfg = cfg
        self.live = live
        self.publish = publish
        self._engine = engine  # None: made on first use (in the worker thread)
        self._engine_failed = False
        self._q: deque = deque()
        self._cv = threading.Condition()
        self._closing = False
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="spotter-speech", daemon=True)
        self._thread.start()

    def submit(self, u: Utterance) -> None:
        drop, why = None, ""
        with self._cv:
            if self._closing:
                drop, why = u, "closed"
            else:
                if len(self._q) >= self.cfg.max_queue:
                    if self.live:  # never wait in the pose worker: the oldest waiting utterance goes
                        drop, why = self._q.popleft(), "queue_full"
                    else:  # replay as fast as possible: back-pressure, every utterance gets its audio
                        while len(self._q) >= self.cfg.max_queue and self._thread.is_alive():
                            self._cv.wait(0.5)
                self._q.append(u)
                self._cv.notify_all()
        if drop is not None:
            self.dropped += 1
            drop.status, drop.why, drop.ready = "dropped", why, None
            self.publish(drop)

    def _run(self) -> None:
        try:  # below the pose worker: on Linux a thread has its own nice value
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 5)
        except (AttributeError, OSError, PermissionError):
            pass
        while True:
            with self._cv:
                while not self._q and not self._closing:
                    self._cv.wait(0.5)
                if not self._q:
                    return
                u = self._q.popleft()
                self._cv.notify_all()
            try:
                self._produce(u)
            except Exception as e:  # never let one phrase stop the voice
                u.status, u.why, u.wav, u.audio_ms = "text_only", f"{type(e).__name__}: {e}", None, 0.0
                log.warning("speech: could not synthesise %r: %s", u.text, u.why)
                u.ready = time.perf_counter()
            try:
                self.publish(u)
            except Exception:
                log.exception("speech publish")

    def _produce(self, u: Utterance) -> None:
        cfg = self.cfg
        if self.live and time.perf_counter() - u.triggered > cfg.max_delay_s:
            u.status, u.why = "dropped", "late"
            self.dropped += 1
            return
        if cfg.muted:
            u.status = "muted"
            u.ready = time.perf_counter()
            return
        engine = self._get_engine()
        if engine is None:
            u.status, u.why = "text_only", "no offline voice"
            u.ready = time.perf_counter()
            return
        pcm, rate, ms, cached = render(engine, u.text)
        if cfg.volume < 1.0:
            pcm = (pcm.astype(np.float32) * cfg.volume).astype(np.int16)
        u.wav, u.sample_rate, u.audio_ms = wav_bytes(pcm, rate), rate, audio_ms_of(len(pcm), rate)
        u.synth_ms, u.cached, u.status = round(ms, 3), cached, "ready"
        u.ready = time.perf_counter()

    def _get_engine(self):
        if self._engine is None and not self._engine_failed:
            try:
                self._engine = make_engine(self.cfg)
            except Exception as e:
                self._engine_failed = True
                log.warning("speech: offline voice unavailable (%s): speaking text only", e)
        return self._engine

    def close(self, timeout: float = 10.0) -> None:
        """Synthesise what is queued (within ``timeout``), then stop."""
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        self._thread.join(timeout)


# ------------------------------------------------------------------------------------------------- the facade
class Speech:
    """The voice of one live session: planner (pose worker) + worker (own thread) + what the page fetches."""

    def __init__(self, cfg: SpeechConfig | None = None, *, threaded: bool = True, engine=None,
                 log_event: Callable[..., None] | None = None):
        self.cfg = cfg = replace(cfg) if cfg is not None else SpeechConfig()
        self.planner = SpeechPlanner(cfg)
        self.log_event = log_event  # callable(kind, t, **fields): the session's events log
        self.sink: Optional[Callable[[Utterance], None]] = None  # called once per published utterance; must not block
        self._lock = threading.Lock()
        self._seq = 0
        self._published_seq = 0
        self._recent: deque = deque(maxlen=max(1, cfg.keep))  # published utterances (with audio)
        self._history: deque = deque(maxlen=MAX_HISTORY)  # every decided utterance, in decision order
        self.worker = SpeechWorker(cfg, self._publish, live=threaded, engine=engine)
        self._closed = False

    # -- the pose worker's side (never blocks when threaded) -----------------------------------------------
    def frame(self, t: float, arrival: float, **kw) -> list[Utterance]:
        return self._submit(t, arrival, self.planner.frame(t, **kw))

    def set_done(self, t: float, arrival: float, reps: int, reason: str, best: Optional[str] = None) -> list[Utterance]:
        return self._submit(t, arrival, self.planner.set_done(t, reps, reason, best))

    def _submit(self, t: float, arrival: float, said) -> list[Utterance]:
        out = []
        for kind, text, code in said:
            with self._lock:
                if self._closed:
                    break
                self._seq += 1
                u = Utterance(seq=self._seq, t=float(t), kind=kind, text=text, code=code, triggered=arrival,
                              decided=time.perf_counter())
                self._history.append(u)
            if self.log_event is not None:
                try:
                    self.log_event("speech", t, what=kind, text=text, seq=u.seq)
                except Exception:
                    log.exception("speech event log")
            self.worker.submit(u)
            out.append(u)
        return out

    def _publish(self, u: Utterance) -> None:
        with self._lock:
            if len(self._recent) == self._recent.maxlen:
                # bounded memory over a long session: an utterance the page can no longer fetch keeps its text and
                # audio_ms (history, replay listing) but not its audio
                self._recent[0].wav = None
            self._recent.append(u)
            self._published_seq = max(self._published_seq, u.seq)
        sink = self.sink
        if sink is not None:
            try:
                sink(u)
            except Exception:
                log.exception("speech sink")

    # -- the page's side (any thread) ------------------------------------------------------------------------
    def configure(self, *, muted: bool | None = None, count: str | None = None, volume: float | None = None,
                  enabled: bool | None = None) -> None:
        """Mute toggle, count mode, volume: take effect from the next utterance."""
        if count is not None and str(count) not in COUNT_MODES:
            raise ValueError(f"speech count mode must be one of {', '.join(COUNT_MODES)}")
        if muted is not None:
            self.cfg.muted = bool(muted)
        if count is not None:
            self.cfg.count = str(count)
        if volume is not None:
            self.cfg.volume = float(min(1.0, max(0.0, volume)))
        if enabled is not None:
            self.cfg.enabled = bool(enabled)

    def events(self, after: int = 0) -> list[Utterance]:
        """Published utterances with ``seq > after`` (the last ``keep``), oldest first."""
        with self._lock:
            return [u for u in self._recent if u.seq > after]

    @property
    def seq(self) -> int:
        """The highest published sequence number (the page compares it with the last one it played)."""
        with self._lock:
            return self._published_seq

    def history(self) -> list[Utterance]:
        with self._lock:
            return list(self._history)

    def timing(self) -> dict:
        """Figures for the benchmark and the replay: synthesis ms (cold / cached), server-side latency from
        the triggering frame's arrival to the audio ready (counts and all), drops."""
        hist = self.history()
        done = [u for u in hist if u.status == "ready"]

        def pct(a, q):
            return round(float(np.percentile(a, q)), 2) if len(a) else None
        cold = [u.synth_ms for u in done if not u.cached and u.synth_ms is not None]
        lat_count = [u.latency_ms for u in done if u.kind == "count"]
        lat_all = [u.latency_ms for u in done]
        voice_count = [(u.ready - u.decided) * 1000.0 for u in done if u.kind == "count"]  # the voice's own share
        return {"utterances": len(hist), "with_audio": len(done),
                "audio_ms_total": round(sum(u.audio_ms for u in hist), 1),
                "dropped": sum(1 for u in hist if u.status == "dropped"),
                "synth_ms_cold_mean": round(float(np.mean(cold)), 3) if cold else None,
                "synth_ms_cold_max": round(float(np.max(cold)), 3) if cold else None,
                "cache_hits": sum(1 for u in done if u.cached),
                "count_latency_ms_p50": pct(lat_count, 50), "count_latency_ms_p95": pct(lat_count, 95),
                "count_voice_ms_p50": pct(voice_count, 50), "count_voice_ms_p95": pct(voice_count, 95),
                "latency_ms_p50": pct(lat_all, 50), "latency_ms_p95": pct(lat_all, 95)}

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.worker.close(timeout)


# ------------------------------------------------------------------------------------------------ try it out
def main(argv: list[str] | None = None) -> int:
    """``python -m realtime.speech say TEXT --out FILE.wav``: the audio of a phrase as the session produces it.
    The benchmark is ``python -m realtime.tools.speech_bench``."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m realtime.speech", description="the voice: try a phrase")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("say", help="write the WAV of a phrase (as the session would produce it)")
    s.add_argument("text")
    s.add_argument("--out", required=True)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    pcm, rate, ms, _ = render(EspeakVoice(), a.text)
    Path(a.out).write_bytes(wav_bytes(pcm, rate))
    print(f"{a.out}: {audio_ms_of(len(pcm), rate)} ms of audio at {rate} Hz, synthesised in {ms:.1f} ms")
    return 0


if __name__ == "__main__":
    # run the imported module's main: one espeak-ng state and one phrase cache
    from realtime.speech import main as _main

    raise SystemExit(_main())

// The voice in the page: plays what the server says (realtime/speech.py: count, cue, set done, rest over, set-up
// guidance, praise). Each utterance arrives once on the reliable "spotter-events" data channel as
// {"type": "speech", "seq", "t", "kind", "text", "audio_ms", "status", "wav_b64"} (16-bit mono WAV, made offline
// by espeak-ng on the local server). The page reads the WAV's samples as soon as it arrives (a phrase heard
// before, e.g. a count, is already in memory; anything but 16-bit PCM goes to the browser's decoder) and plays the
// utterances in order, one at a time, never overlapping: a count overtaken by a
// newer count is skipped, and anything that waited too long for its turn is dropped rather than said late.
// Nothing here touches the video path: the picture, the WebRTC sender and the overlay never wait for the voice.
//
// Controls (the bar under the picture): mute (stops what is playing at once, and tells the server to stop
// synthesising: {"type": "command", "name": "speech", "muted": true}), volume (the page's own gain, immediate),
// and the count mode (every rep / every 5th / off, sent to the server). Settings persist in localStorage and are
// sent to each new session when it says "ready". Muted, the utterances still arrive (status "muted", no audio)
// and are shown as captions over the picture.
//
// window.spotterVoice: settings, and what happened to every utterance (received, played, skipped), for the
// tests and the latency figure (docs/voice.md): each played entry has the audio's start in the page's clock and,
// for the webcam, the latency from the capture of the frame that triggered it (main.js's RTP clock).
"use strict";
(function () {
  const $ = id => document.getElementById(id);
  const KEY = "spotter.voice.v1";
  const COUNT_MODES = ["every", "5", "off"];
  // how long an utterance may wait for its turn before it is dropped (ms after it arrived): a count said late is
  // noise, the end of a set is still worth hearing a little late
  const STALE_MS = { count: 1500, cue: 2500, praise: 2500, setup: 5000, set: 8000, rest: 8000 };
  const CAPTION_MS = 3500, MAX_LOG = 500;

  const V = window.spotterVoice = {
    settings: { muted: false, volume: 0.8, count: "every" },
    received: [],  // every speech message: {seq, t, kind, text, status, audio_ms, bytes, at}
    played: [],    // {seq, t, kind, text, bytes, audio_ms, duration_ms, start, heard, end, cut, latency_ms, level}
    skipped: [],   // {seq, t, kind, text, status, why: muted | stale | superseded | decode | blocked | no_audio}
    caption: null, // {kind, text, status, until}
    ctx: null, gain: null, meter: null, playing: null, queue: [],
    error: null,
  };

  function push(arr, x) { arr.push(x); if (arr.length > MAX_LOG) arr.shift(); }

  // ------------------------------------------------------------------------------------------- settings
  try {
    const s = JSON.parse(localStorage.getItem(KEY) || "null");
    if (s && typeof s === "object") {
      if (typeof s.muted === "boolean") V.settings.muted = s.muted;
      if (typeof s.volume === "number" && s.volume >= 0 && s.volume <= 1) V.settings.volume = s.volume;
      if (COUNT_MODES.includes(s.count)) V.settings.count = s.count;
    }
  } catch (e) { /* no storage here: the defaults */ }
  function save() { try { localStorage.setItem(KEY, JSON.stringify(V.settings)); } catch (e) { } }
  function sendSettings() {
    const s = V.settings;
    if (window.Spotter && window.Spotter.command) {
      window.Spotter.command({ name: "speech", muted: s.muted, count: s.count });
    }
  }

  function showControls() {
    const s = V.settings, b = $("mute");
    b.textContent = s.muted ? "Unmute voice" : "Mute voice";
    b.setAttribute("aria-pressed", String(s.muted));
    b.dataset.muted = String(s.muted);
    $("volume").value = String(Math.round(100 * s.volume));
    $("volume").disabled = s.muted;
    $("countmode").value = s.count;
  }

  // ------------------------------------------------------------------------------------------- audio graph
  // created on a click (START, mute, volume): browsers only let a page make sound after the user did something
  function ensureCtx() {
    if (V.ctx) {
      if (V.ctx.state === "suspended") V.ctx.resume().catch(() => {});
      return V.ctx;
    }
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) { V.error = "this browser has no Web Audio: the voice is shown as captions only"; return null; }
    const ctx = V.ctx = new AC({ latencyHint: "interactive" });
    V.gain = ctx.createGain();
    V.gain.gain.value = V.settings.muted ? 0 : V.settings.volume;
    V.gain.connect(ctx.destination);
    if (ctx.audioWorklet) {  // the meter: what each utterance actually sent out (for the tests and figures)
      ctx.audioWorklet.addModule("./meter.js").then(() => {
        const m = new AudioWorkletNode(ctx, "spotter-meter", { numberOfInputs: 1, numberOfOutputs: 1,
                                                               outputChannelCount: [1] });
        m.port.onmessage = ev => {
          const d = ev.data || {};
          const e = V.played.slice().reverse().find(p => p.seq === d.seq);
          if (e) e.level = { samples: d.samples, loud: d.loud, peak: d.peak, rms: d.rms };
        };
        V.gain.disconnect();
        V.gain.connect(m);
        m.connect(ctx.destination);
        V.meter = m;
      }).catch(e => { console.warn("voice meter:", e); });
    }
    if (ctx.state === "suspended") ctx.resume().catch(() => {});
    return ctx;
  }

  function b64bytes(s) {
    const bin = atob(s), out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  // ------------------------------------------------------------------------------------------- the queue
  function onSpeech(m) {
    if (typeof m.kind !== "string" || typeof m.text !== "string") return;
    const at = performance.now();
    const bytes = m.wav_b64 ? Math.floor(m.wav_b64.length * 3 / 4) : 0;
    const rec = { seq: m.seq, t: m.t, kind: m.kind, text: m.text, status: m.status, audio_ms: m.audio_ms, bytes, at };
    push(V.received, rec);
    if (m.status !== "dropped") {
      V.caption = { kind: m.kind, text: m.text, status: V.settings.muted ? "muted" : m.status,
                    until: at + Math.max(CAPTION_MS, (m.audio_ms || 0) + 1500) };
      $("said").textContent = m.text;
    }
    if (m.status !== "ready" || !m.wav_b64) { skip(rec, m.status === "muted" ? "muted" : "no_audio"); return; }
    if (V.settings.muted) { skip(rec, "muted"); return; }
    const ctx = ensureCtx();
    if (!ctx) { skip(rec, "no_audio"); return; }
    const it = { m, rec, buf: null, done: false, failed: false };
    const key = m.text + "|" + m.audio_ms;  // the server makes the same audio for the same phrase: decoded once
    const hit = decoded.get(key);
    V.queue.push(it);
    if (hit) {
      remember(key, hit);  // most recently used
      it.buf = hit; it.done = true; rec.cached = true;
      pump();
      return;
    }
    const wav = b64bytes(m.wav_b64);
    const pcm = wavBuffer(ctx, wav);  // the server's own WAV: read here and now, no decoder round trip
    if (pcm) {
      it.buf = remember(key, pcm); it.done = true;
      pump();
      return;
    }
    ctx.decodeAudioData(wav.buffer).then(b => { it.buf = remember(key, b); },
      () => { it.failed = true; }).finally(() => { it.done = true; pump(); });
  }
  const decoded = new Map();  // phrase → AudioBuffer, the last 64 (counts, cues, set-up phrases repeat)
  function remember(key, buf) {  // (re)insert as the newest; the oldest goes past 64
    decoded.delete(key);
    decoded.set(key, buf);
    if (decoded.size > 64) decoded.delete(decoded.keys().next().value);
    return buf;
  }

  // a RIFF WAV of 16-bit PCM (what realtime/speech.py makes: mono, 22 050 Hz) as an AudioBuffer, or null for
  // anything else (then the browser's decoder is used)
  function wavBuffer(ctx, b) {
    try {
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const tag = o => String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
      if (b.length < 44 || tag(0) !== "RIFF" || tag(8) !== "WAVE") return null;
      let o = 12, ch = 0, rate = 0, bits = 0, fmt = 0;
      while (o + 8 <= b.length) {
        const id = tag(o), n = dv.getUint32(o + 4, true);
        if (id === "fmt ") {
          fmt = dv.getUint16(o + 8, true); ch = dv.getUint16(o + 10, true);
          rate = dv.getUint32(o + 12, true); bits = dv.getUint16(o + 22, true);
        } else if (id === "data") {
          if (fmt !== 1 || bits !== 16 || ch < 1 || rate < 3000) return null;
          const frames = Math.floor(Math.min(n, b.length - o - 8) / (2 * ch));
          if (frames < 1) return null;
          const buf = ctx.createBuffer(ch, frames, rate);
          for (let c = 0; c < ch; c++) {
            const out = buf.getChannelData(c);
            for (let i = 0; i < frames; i++) out[i] = dv.getInt16(o + 8 + 2 * (i * ch + c), true) / 32768;
          }
          return buf;
        }
        o += 8 + n + (n & 1);
      }
    } catch (e) { /* not a WAV we read: the browser's decoder */ }
    return null;
  }

  function skip(rec, why) { push(V.skipped, Object.assign({}, rec, { why })); }

  function pump() {
    while (!V.playing && V.queue.length && V.queue[0].done) {
      const it = V.queue.shift();
      const now = performance.now();
      if (V.settings.muted) skip(it.rec, "muted");
      else if (it.failed || !it.buf) skip(it.rec, "decode");
      else if (it.m.kind === "count" && V.queue.some(q => q.m.kind === "count")) skip(it.rec, "superseded");
      else if (now - it.rec.at > (STALE_MS[it.m.kind] || 3000)) skip(it.rec, "stale");
      else if (!V.ctx || V.ctx.state !== "running") skip(it.rec, "blocked");
      else play(it);
    }
  }

  function perfOf(ctxTime) {  // a context time → the page's clock (when that sample leaves the speakers)
    const ctx = V.ctx;
    try {
      const ts = ctx.getOutputTimestamp();
      if (ts && ts.performanceTime > 0) return ts.performanceTime + (ctxTime - ts.contextTime) * 1000;
    } catch (e) { }
    return performance.now() + ((ctx.outputLatency || 0) + (ctx.baseLatency || 0)) * 1000;
  }

  function play(it) {
    const ctx = V.ctx, m = it.m;
    const src = ctx.createBufferSource();
    src.buffer = it.buf;
    src.connect(V.gain);
    const e = { seq: m.seq, t: m.t, kind: m.kind, text: m.text, bytes: it.rec.bytes, audio_ms: m.audio_ms,
                duration_ms: Math.round(it.buf.duration * 10000) / 10, arrived: it.rec.at, start: null, heard: null,
                end: null, cut: false, latency_ms: null, heard_latency_ms: null, level: null,
                volume: V.settings.volume, rate: ctx.sampleRate };
    if (V.meter) V.meter.port.postMessage({ mark: m.seq });
    const c0 = ctx.currentTime;
    src.start();
    e.start = performance.now();
    e.heard = perfOf(c0);
    const cap = window.Spotter && window.Spotter.captureAt ? window.Spotter.captureAt(m.t) : null;
    if (cap !== null && cap !== undefined) {
      e.latency_ms = Math.round((e.start - cap) * 10) / 10;
      e.heard_latency_ms = Math.round((e.heard - cap) * 10) / 10;
    }
    push(V.played, e);
    V.playing = { src, e };
    let over = false;
    const finish = () => {
      if (over) return;
      over = true;
      e.end = performance.now();
      if (V.meter) V.meter.port.postMessage({ mark: 0 });
      if (V.playing && V.playing.src === src) V.playing = null;
      pump();
    };
    src.onended = finish;
    setTimeout(finish, it.buf.duration * 1000 + 2000);  // a suspended context never ends its sources
  }

  function stopPlaying(why) {
    for (const it of V.queue.splice(0)) skip(it.rec, why);
    const p = V.playing;
    if (p) { p.e.cut = true; try { p.src.stop(); } catch (e) { } }
  }

  // ------------------------------------------------------------------------------------------- controls
  V.setMuted = function (muted) {
    V.settings.muted = !!muted;
    save(); showControls(); sendSettings();
    if (V.settings.muted) stopPlaying("muted");
    else ensureCtx();
    if (V.gain) V.gain.gain.value = V.settings.muted ? 0 : V.settings.volume;
  };
  V.setVolume = function (v) {
    V.settings.volume = Math.max(0, Math.min(1, Number(v)));
    save();
    if (V.gain && !V.settings.muted) V.gain.gain.value = V.settings.volume;
  };
  V.setCount = function (mode) {
    if (!COUNT_MODES.includes(mode)) return;
    V.settings.count = mode;
    save(); sendSettings();
  };
  // what draw.js shows: the caption of the last utterance (for a few seconds) and whether the voice is muted
  V.ui = function () {
    const c = V.caption && performance.now() < V.caption.until ? V.caption : null;
    return { caption: c, muted: V.settings.muted, speaking: !!V.playing };
  };

  $("mute").onclick = () => V.setMuted(!V.settings.muted);
  $("volume").oninput = ev => { ensureCtx(); V.setVolume(ev.target.value / 100); };
  $("countmode").onchange = ev => V.setCount(ev.target.value);
  $("start").addEventListener("click", () => ensureCtx());  // START is the click that lets the page speak
  showControls();

  window.Spotter.on("speech", onSpeech);
  window.Spotter.on("ready", sendSettings);  // each new session gets this page's settings
})();

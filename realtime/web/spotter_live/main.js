// Spotter's page channel, browser side (see realtime/peer.py for the server and the message format).
// Streamlit custom-component protocol by hand (no npm build step): componentReady → render(args) events.
// args: token, offer_url, mode ("camera" | "file"), media_url (file mode), ice (RTCIceServer list), autostart,
// push_panel (ask Streamlit for a rerun when the session panel changes: see "the session panel").
"use strict";
(function () {
  const $ = id => document.getElementById(id);
  const video = $("video"), canvas = $("overlay"), ctx = canvas.getContext("2d");
  const S = window.spotter = {
    state: "idle",          // idle | connecting | live | ended | error
    ready: false,           // the server's session and pose model are loaded ("ready" message)
    args: null, pc: null, dc: null, stream: null,
    results: 0,             // result messages received (one per frame the server analysed)
    drawn: 0,               // results painted on the canvas
    firstResultAt: null, lastResultAt: null,
    last: null,             // the latest result message
    lat: [],                // overlay latency per drawn result (ms): camera capture → painted
    latAt: [],              // when each of those was painted (performance.now() ms) and the server's part of it
    srv: [],                // the server's part of it per result (ms): frame received → result ready
    wait: [], pose: [],     // of which: waiting in the server's mailbox for the pose stage, and pose itself (ms)
    rest: [],               // and the rest: RGB conversion, hand-off, everything after pose up to the result (ms)
    sender: null,           // the video sender's totals (outbound-rtp): frames encoded, encode time, pacer time
    error: null,
    captures: [],           // recent local frames' capture times (performance.now() ms), from the preview
    rtps: [],               // recent analysed frames: {r: RTP ms (unwrapped, 90 kHz), at: result arrived, srv: server_ms}
    K: null,                // RTP ms − capture ms (one constant per stream), once found
    rtpByT: new Map(),      // stream time t of recent results → their frame's RTP ms (the voice's latency clock)
    countChanges: [],       // [{t, set_index, count, at}] each time a result changed the count (tests, figures)
    layout: null,           // what draw.js drew last (SpotterDraw.draw's return)
    barsDrawn: 0, maxProgress: null,
  };
  const MAX_LAT = 20000;
  function keep(arr, x) { arr.push(x); if (arr.length > MAX_LAT) arr.shift(); }  // a bounded series for the figures
  // other scripts of this page handle message types main.js does not (e.g. the voice's "speech"):
  // window.Spotter.on("speech", msg => ...); handlers get the parsed message.
  const handlers = {};
  window.Spotter = {
    on(type, fn) { (handlers[type] = handlers[type] || []).push(fn); },
    command(c) { command(c); },  // {name: ..., ...} to the server (realtime/peer.py Connection.on_message)
    // the capture time (performance.now() clock) of the camera frame the server analysed at stream time t, or
    // null (no latency clock yet, a replay, or a result not seen)
    captureAt(t) {
      const r = S.rtpByT.get(t);
      return S.K === null || r === undefined ? null : r - S.K;
    },
  };
  function dispatch(r) {
    for (const fn of handlers[r.type] || []) { try { fn(r); } catch (e) { console.error(e); } }
  }

  // ---------------------------------------------------------------------------------------- Streamlit glue
  function post(type, extra) {
    window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type }, extra || {}), "*");
  }
  function setHeight() { post("streamlit:setFrameHeight", { height: document.body.scrollHeight + 4 }); }
  window.addEventListener("message", ev => {
    const d = ev.data;
    if (!d || d.type !== "streamlit:render") return;
    const a = d.args || {};
    const prev = S.args;
    S.args = a;
    if (prev && (prev.token !== a.token || prev.media_url !== a.media_url || prev.mode !== a.mode)) stop("changed");
    if (a.mode === "file" && a.media_url && !S.pc) {
      video.autoplay = false;
      if (video.getAttribute("src") !== a.media_url) { video.srcObject = null; video.src = a.media_url; }
      $("placeholder").textContent = "Press START to replay this video with the live overlay.";
    }
    if (a.autostart && S.state === "idle") start();
    setHeight();
  });
  new ResizeObserver(setHeight).observe(document.body);
  // say ready until the first render arrives: a message sent before Streamlit listens for this frame is lost
  post("streamlit:componentReady", { apiVersion: 1 });
  let readyTries = 0;
  const readyTimer = setInterval(() => {
    if (S.args || ++readyTries > 150) { clearInterval(readyTimer); return; }
    post("streamlit:componentReady", { apiVersion: 1 });
  }, 200);

  // ---------------------------------------------------------------------------------------- status line
  function pct(a, q) {
    if (!a.length) return null;
    const s = a.slice().sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.floor(q / 100 * s.length))];
  }
  function showStatus() {
    const r = S.last;
    if (!r) {
      $("status").textContent = S.state === "connecting" ? "connecting…"
        : S.state === "live" ? (S.ready ? "waiting for the first result…" : "loading the pose model…") : "";
      return;
    }
    const recent = S.lat.slice(-300);
    const p95 = pct(recent, 95);
    $("status").textContent = `${Math.round(r.processed_fps || 0)} fps processed · ${r.frames_dropped} stale frames `
      + `skipped` + (p95 != null ? ` · overlay latency p95 ${Math.round(p95)} ms` : "");
    $("status").dataset.reps = r.count;
    $("status").dataset.total = (r.count || 0) + (r.reps_done || 0);
  }
  setInterval(showStatus, 500);
  function fail(msg) {
    S.error = msg; S.state = "error";
    panelStopped();  // no more results: the panel refreshes on its timer again (the server stores the set)
    $("error").textContent = msg;
    setHeight();
  }

  // ---------------------------------------------------------------------------------------- latency clock
  // The analysed frame's RTP timestamp comes back with its result. Chrome stamps RTP = capture time × 90 kHz
  // + a random offset, and the preview tells each local frame's capture time (requestVideoFrameCallback), so
  // RTP/90 − capture is one constant K per stream (offsetFrom below).
  let rtpLast = null, rtpWrap = 0;
  function rtpMs(rtp) {
    if (rtpLast !== null && rtpLast - rtp > 2147483648) rtpWrap += 4294967296;
    rtpLast = rtp;
    return (rtp + rtpWrap) / 90;
  }
  function onPreviewFrame(now, md) {
    if (md && typeof md.captureTime === "number") {
      S.captures.push(md.captureTime);
      if (S.captures.length > 150) S.captures.shift();
    }
    if (S.stream) video.requestVideoFrameCallback(onPreviewFrame);
  }
  // The offset K from recent pairs: rtps [{r: RTP ms, at: result arrived (page ms), srv: server_ms}], captures
  // [capture ms]. Each offset that matches most analysed frames (within 1.5 ms), about as many as the best one, is a
  // candidate. A camera whose
  // frames come at very regular times (Chromium's file camera on a quiet machine) matches at whole numbers of frame
  // intervals too, since the preview keeps 5 s of frames and the results cover 2 s: K was then sometimes taken 0.8 s
  // too large, for 2 s at a time. The true K is the smallest candidate that still puts each analysed frame's
  // capture before the server received it (arrived − server_ms ≥ capture, for 98 % of the results): one frame
  // interval less already breaks that, since capture → received takes less than one (encode, send, decode).
  function offsetFrom(rtps, captures) {
    if (captures.length < 20 || rtps.length < 20) return null;
    const hist = new Map();
    for (const p of rtps) for (const c of captures) {
      const d = Math.round(p.r - c);
      hist.set(d, (hist.get(d) || 0) + 1);
    }
    const score = d => (hist.get(d) || 0) + (hist.get(d - 1) || 0) + (hist.get(d + 1) || 0);
    // local maxima (one per cluster of neighbouring bins) that a true match for most analysed frames would give
    let top = 0;
    for (const d of hist.keys()) top = Math.max(top, score(d));
    const cands = [...hist.keys()].filter(d => score(d) >= Math.max(0.6 * rtps.length, 0.9 * top)
      && score(d) >= score(d - 1) && score(d) > score(d + 1)).sort((a, b) => a - b);
    if (!cands.length) return null;
    const physical = d => {
      const sl = rtps.filter(p => typeof p.srv === "number").map(p => p.at - p.srv - (p.r - d));
      return !sl.length || sl.filter(x => x >= -1).length >= 0.98 * sl.length;
    };
    let best = cands.find(physical);
    if (best === undefined) best = cands.reduce((a, b) => (score(b) > score(a) ? b : a));
    let sum = 0, k = 0;
    for (const p of rtps) for (const c of captures) {
      const d = p.r - c;
      if (Math.abs(d - best) <= 1.5) { sum += d; k++; }
    }
    return sum / k;
  }
  S.offsetFrom = offsetFrom;
  function findK() {
    const K = offsetFrom(S.rtps, S.captures);
    if (K !== null) S.K = K;
  }
  setInterval(() => { if (S.state === "live") findK(); }, 2000);

  // ---------------------------------------------------------------------------------------- send rate
  // The server analyses the newest frame and skips the ones that arrived meanwhile. A frame it would skip still
  // costs the browser's encoder and the server's receive path, CPU that pose needs on a small machine, so the
  // page sends about as many frames as the server analyses, with headroom to find out when it can do more:
  // cap = 1.25 × processed + 3 (12..30 fps). When the server keeps up the cap grows back to the camera's rate in
  // a few steps; skipping still happens at the server (newest frame wins), only less of it.
  const SEND_MIN = 12, SEND_MAX = 30;
  function sendCapFor(processedFps) {
    return Math.max(SEND_MIN, Math.min(SEND_MAX, Math.ceil(1.25 * processedFps + 3)));
  }
  S.sendCapFor = sendCapFor;
  async function adaptSendRate() {
    const tr = S.tr, r = S.last;
    if (S.state !== "live" || !tr || !S.stream || !r || !(r.processed_fps > 0)) return;
    const cap = sendCapFor(r.processed_fps);
    if (S.sendCap !== null && Math.abs(cap - S.sendCap) < 2 && cap !== SEND_MAX) return;
    if (cap === S.sendCap) return;
    try {
      const p = tr.sender.getParameters();
      if (!p.encodings || !p.encodings.length) return;
      p.encodings[0].maxFramerate = cap;
      await tr.sender.setParameters(p);
      S.sendCap = cap;
    } catch (e) { /* not supported: every frame is sent */ }
  }
  setInterval(adaptSendRate, 2000);
  async function sentFrames() {  // frames the encoder sent so far (outbound-rtp), for spotterStats / the bench
    if (!S.pc) return;
    try {
      const rep = await S.pc.getStats();
      rep.forEach(x => {
        if (x.type !== "outbound-rtp" || x.kind !== "video") return;
        S.framesSent = x.framesSent || 0;
        // the sender, for the bench: codec and encoder, encoder time and time in the pacer (totals so far), bytes
        // sent, target bitrate and what limits the encoder's quality now
        const codec = x.codecId && rep.get(x.codecId);
        S.sender = { frames_encoded: x.framesEncoded, encode_s: x.totalEncodeTime, packets: x.packetsSent,
                     pacer_s: x.totalPacketSendDelay, codec: codec ? codec.mimeType : null,
                     encoder: x.encoderImplementation || null, bytes: x.bytesSent, at_s: x.timestamp / 1000,
                     target_bps: x.targetBitrate, limited_by: x.qualityLimitationReason };
      });
    } catch (e) { /* closed */ }
  }
  setInterval(sentFrames, 1000);

  // ---------------------------------------------------------------------------------------- drawing
  let pending = null;
  // The canvas's own pixels: as many as it shows on the screen (its CSS box x devicePixelRatio), never more than
  // the picture has. Beside the Streamlit panel the picture shows at about 480x360 CSS pixels, so a 640x480
  // canvas painted 1.8x the pixels that reach the screen, every result, on the thread that paints the overlay.
  let cssBox = null;
  new ResizeObserver(es => { const r = es[es.length - 1].contentRect; cssBox = [r.width, r.height]; }).observe(canvas);
  function canvasSize() {
    const vw = video.videoWidth || 640, vh = video.videoHeight || 480;
    if (!cssBox || !(cssBox[0] > 0) || !(cssBox[1] > 0)) return [vw, vh];
    const k = Math.min(1, (cssBox[0] * (window.devicePixelRatio || 1)) / vw);
    return [Math.max(1, Math.round(vw * k)), Math.max(1, Math.round(vh * k))];
  }
  function paint() {
    const r = pending;
    pending = null;
    if (!r || !S.pc) return;  // nothing new, or stopped: the canvas stays clear
    const [w, h] = canvasSize();
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    const ui = window.spotterVoice ? window.spotterVoice.ui() : null;
    const lay = S.layout = window.SpotterDraw.draw(ctx, w, h, r, ui);
    S.drawn++;
    if (lay.bar) {
      S.barsDrawn++;
      if (lay.bar.progress !== null && (S.maxProgress === null || lay.bar.progress > S.maxProgress)) {
        S.maxProgress = lay.bar.progress;
      }
    }
    if (S.K !== null && r._rtpMs !== undefined) {
      const now = performance.now(), l = now - (r._rtpMs - S.K);
      if (l >= 0 && l < 10000) {
        keep(S.lat, l);
        keep(S.latAt, [Math.round(now), typeof r.server_ms === "number" ? r.server_ms : null]);
      }
    }
  }
  function onMessage(ev) {
    // a message of a connection that is closed already (STOP): dropped, or it would paint an overlay after STOP
    if (!S.pc || (ev.target !== S.dc && ev.target !== S.events)) return;
    let r;
    try { r = JSON.parse(ev.data); } catch (e) { return; }
    if (!r || typeof r.type !== "string") return;
    if (r.type === "ready") { S.ready = true; if (S.onReady) S.onReady(); dispatch(r); return; }
    if (r.type !== "result") { dispatch(r); return; }  // other types: window.Spotter.on(type, ...)
    if (!S.ready) { S.ready = true; if (S.onReady) S.onReady(); }
    const now = performance.now();
    S.results++;
    if (S.firstResultAt === null) S.firstResultAt = now;
    S.lastResultAt = now;
    if (typeof r.server_ms === "number") keep(S.srv, r.server_ms);
    if (typeof r.wait_ms === "number") keep(S.wait, r.wait_ms);
    if (typeof r.pose_ms === "number") keep(S.pose, r.pose_ms);
    if (typeof r.server_ms === "number" && typeof r.wait_ms === "number" && typeof r.pose_ms === "number") {
      // the rest: RGB conversion, hand-off, everything after pose
      keep(S.rest, Math.round((r.server_ms - r.wait_ms - r.pose_ms) * 10) / 10);
    }
    if (typeof r.rtp === "number") {
      r._rtpMs = rtpMs(r.rtp);
      S.rtps.push({ r: r._rtpMs, at: now, srv: r.server_ms });
      if (S.rtps.length > 60) S.rtps.shift();
      S.rtpByT.set(r.t, r._rtpMs);
      if (S.rtpByT.size > 900) S.rtpByT.delete(S.rtpByT.keys().next().value);
    }
    const prev = S.last;
    if (!prev || prev.count !== r.count || prev.set_index !== r.set_index) {
      S.countChanges.push({ t: r.t, set_index: r.set_index, count: r.count, at: now });
      if (S.countChanges.length > 500) S.countChanges.shift();
    }
    S.last = r;
    dispatch(r);
    showSuggestion(r.suggestion);
    panelUpdate(r);
    if (isFile()) { fileResult(r); return; }  // painted over its own frame (file replays, below)
    if (!pending) requestAnimationFrame(paint);
    pending = r;
  }

  // ---------------------------------------------------------------------------------------- the session panel
  // Streamlit draws the panel beside the picture (streamlit_app.py: the finished sets and their
  // reports) and redraws it only in a rerun. Re-rendering the page after a rerun holds this page's main thread,
  // which paints the overlay, for about a tenth of a second (docs/live.md), so while results arrive the page asks
  // for a rerun only when something the panel shows has changed (panelKey), at most once a PANEL_MIN_MS, by
  // setting this component's value: {live: true, panel, n}. When the page stops it sets {live: false}: Streamlit
  // then refreshes the panel on a timer again (reports and coach summaries finish after the set).
  const PANEL_MIN_MS = 1000;
  let panelSent = null, panelWant = null, panelTimer = null, panelAt = -Infinity;
  S.panelPosts = 0;
  S.panelAt = [];  // when the page asked Streamlit to redraw the session panel (performance.now() ms)
  // not the set state: the picture shows it (in set, resting and its countdown); on a clip with holds at the top it
  // changed 20 times in 80 s, and every rerun showed as a latency spike of 100-200 ms (bench --keep: latency.png)
  function panelKey(r) { return [r.sets_done, r.timeline, r.error ? 1 : 0].join("|"); }
  S.panelKey = panelKey;
  function sendPanel(live) {
    S.panelPosts++;
    keep(S.panelAt, Math.round(performance.now()));
    post("streamlit:setComponentValue",
      { value: { live, panel: live ? panelSent : null, n: S.panelPosts }, dataType: "json" });
    panelAt = performance.now();
  }
  function panelUpdate(r) {
    if (!S.args || !S.args.push_panel) return;  // the replays: Streamlit refreshes the panel on a timer
    panelWant = panelKey(r);
    if (panelWant === panelSent || panelTimer !== null) return;
    panelTimer = setTimeout(() => {
      panelTimer = null;
      if (S.state !== "live" || panelWant === panelSent) return;
      panelSent = panelWant;
      sendPanel(true);
    }, Math.max(0, panelAt + PANEL_MIN_MS - performance.now()));
  }
  function panelStopped() {
    if (panelTimer !== null) { clearTimeout(panelTimer); panelTimer = null; }
    if (panelSent !== null) { panelSent = null; sendPanel(false); }
  }

  // the router's suggestion when it is unsure: [[exercise, probability], ...] best first (LiveState.suggestion),
  // or a string, or {text, options}
  let suggestShown = null;
  function showSuggestion(sg) {
    const key = sg == null ? null : JSON.stringify(sg);
    if (key === suggestShown) return;
    suggestShown = key;
    const box = $("suggest");
    box.textContent = "";
    if (sg == null) { box.style.display = "none"; setHeight(); return; }
    const text = typeof sg === "string" ? sg : (sg.text || "Not sure which exercise: choose one");
    box.appendChild(document.createTextNode(text + " "));
    const opts = Array.isArray(sg) ? sg : (sg.options || []);
    for (const o of opts) {
      const ex = String(Array.isArray(o) ? o[0] : o);
      const p = Array.isArray(o) && typeof o[1] === "number" ? ` (${Math.round(100 * o[1])}%)` : "";
      const b = document.createElement("button");
      b.textContent = ex.replace(/_/g, " ") + p;
      b.dataset.exercise = ex;
      b.onclick = () => command({ name: "set_exercise", exercise: ex });
      box.appendChild(b);
    }
    box.style.display = "block";
    setHeight();
  }
  function command(c) {
    if (S.dc && S.dc.readyState === "open") S.dc.send(JSON.stringify(Object.assign({ type: "command" }, c)));
  }

  // ---------------------------------------------------------------------------------------- connection
  async function sourceStream(a) {
    const s = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } } });
    video.srcObject = s;
    await video.play().catch(() => {});
    return s;
  }
  // The picture is sent at most at the size pose uses (args.send_long_side, the server's pose size: 640 px on the
  // long side), scaled down by the encoder. A 1280x720 upload sent at its own size spent four times the pixels of
  // the same 1.2 Mbit/s: the first seconds arrived blurred (the encoder starts low and climbs), pose locked onto a
  // wrong outline in them and kept tracking it (no push-up counted in 2 of 8 replays of pu01), and the browser's
  // encoder and the server's decoder did four times the work for a picture the server shrinks anyway.
  function sendScale(w, h, longSide) {
    const L = Math.max(w || 0, h || 0), want = longSide || 640;
    return L > want ? L / want : 1;
  }
  S.sendScale = sendScale;
  async function sendSize(tr, track, a) {
    let w = video.videoWidth, h = video.videoHeight;
    if (!(w > 0 && h > 0) && track.getSettings) { const st = track.getSettings(); w = st.width; h = st.height; }
    const k = sendScale(w, h, a.send_long_side);
    S.sendScaleBy = k;
    if (k === 1) return;
    try {
      const p = tr.sender.getParameters();
      if (!p.encodings || !p.encodings.length) return;
      p.encodings[0].scaleResolutionDownBy = k;
      await tr.sender.setParameters(p);
    } catch (e) { /* not supported: sent at its own size (the server scales it) */ }
  }
  function iceDone(pc, ms) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise(res => {
      const t = setTimeout(res, ms);
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") { clearTimeout(t); res(); }
      });
    });
  }
  async function start() {
    const a = S.args;
    if (!a || S.pc) return;
    const file = a.mode === "file";
    S.state = "connecting"; S.error = null; $("error").textContent = ""; S.ready = false; S.onReady = null;
    S.results = S.drawn = 0; S.lat = []; S.latAt = []; S.srv = []; S.wait = []; S.pose = []; S.rest = []; S.sender = null;
    S.captures = []; S.rtps = []; S.K = null; S.last = null;
    S.firstResultAt = S.lastResultAt = null; S.cameraAt = null; rtpLast = null; rtpWrap = 0;
    S.rtpByT = new Map(); S.countChanges = []; S.layout = null; S.barsDrawn = 0; S.maxProgress = null;
    S.sendCap = null; S.framesSent = 0; S.sendScaleBy = null;
    fileReset();
    $("start").disabled = true; $("stop").disabled = false;
    $("placeholder").textContent = "Connecting to Spotter…";
    showNote();
    try {
      if (file) await fileReady(a);  // the file must play here before anything starts
      // 1. the connection: the data channels for results and commands, and for the camera a video sender
      const pc = S.pc = new RTCPeerConnection({ iceServers: a.ice || [] });
      const dc = S.dc = pc.createDataChannel("spotter", { ordered: false, maxRetransmits: 0 });
      dc.onmessage = onMessage;
      const ev = S.events = pc.createDataChannel("spotter-events");  // reliable, ordered: events sent once
      ev.onmessage = onMessage;
      const tr = S.tr = file ? null : pc.addTransceiver("video", { direction: "sendonly" });
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === "failed" && S.pc === pc) { stop("error"); fail("The connection to Spotter failed."); }
      };
      await pc.setLocalDescription(await pc.createOffer());
      await iceDone(pc, 3000);
      const resp = await fetch(a.offer_url, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token: a.token, sdp: pc.localDescription.sdp, type: "offer", mode: file ? "file" : "camera" }) });
      const ans = await resp.json().catch(() => ({ error: `HTTP ${resp.status}` }));
      if (!resp.ok || ans.error) throw new Error(ans.error || `HTTP ${resp.status}`);
      if (S.pc !== pc) return;  // stopped meanwhile
      await pc.setRemoteDescription(ans);
      // the camera's picture at full size: drop frames under load rather than shrink the image pose sees
      // and at most 1.2 Mbit/s: plenty for pose at 640x480, fewer packets for the server to handle
      if (tr) {
        try {
          const p = tr.sender.getParameters();
          p.degradationPreference = "maintain-resolution";
          if (p.encodings && p.encodings.length) p.encodings[0].maxBitrate = 1200000;  // = peer.SEND_MAX_BPS
          await tr.sender.setParameters(p);
        } catch (e) { /* not supported: the browser's defaults */ }
      }
      S.state = "live";
      $("endset").disabled = false;
      // 2. the server's session and pose model are loaded (seconds on a busy machine) ...
      $("placeholder").textContent = "Loading the pose model…";
      if (!S.ready) await new Promise(res => { S.onReady = res; setTimeout(res, 120000); });
      if (S.pc !== pc) return;
      if (file) { await filePlay(pc); return; }
      // 3. ... then the picture: the analysis starts with the camera's first frame
      const stream = S.stream = await sourceStream(a);
      if (S.pc !== pc) { stop("stopped"); return; }
      const track = stream.getVideoTracks()[0];
      if (!track) throw new Error("no video track");
      await tr.sender.replaceTrack(track);
      if (tr.sender.setStreams) tr.sender.setStreams(stream);
      await sendSize(tr, track, a);
      S.cameraAt = performance.now();
      $("placeholder").style.display = "none";
      if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onPreviewFrame);
    } catch (e) {
      const msg = String(e && e.message || e);
      stop("error");
      fail(/Permission|NotAllowed/i.test(msg) ? "Camera access was refused: allow the camera and press START."
        : /NotFound|Requested device/i.test(msg) ? "No camera found."
        : e && e.plain ? msg : "Could not start: " + msg);
    }
  }

  // ---------------------------------------------------------------------------------------- file replays
  // Upload → "Replay in real time" and History's replays (realtime/filereplay.py): the server decodes the file
  // itself and analyses every frame; the page plays the same file in its <video>, tells the server where its
  // playback is (a "clock" command every 150 ms: the server keeps at most 0.25 s ahead), paints each result over
  // its own frame (the video's frame callback) and slows its playback down, or waits, while the analysis is
  // behind. So a replay counts what "Analyse" counts on any machine; a slow one replays slower, and says so.
  const F = S.file = { buf: [], lastT: null, painted: -1, waiting: false, rate: 1, started: false, ended: false,
                       done: null, okSince: null, rateAt: 0 };
  function fileReset() {
    Object.assign(F, { buf: [], lastT: null, painted: -1, waiting: false, rate: 1, started: false, ended: false,
                       done: null, okSince: null, rateAt: 0 });
    try { video.playbackRate = 1; } catch (e) {}
  }
  const isFile = () => !!(S.args && S.args.mode === "file");
  function plainError(msg) { const e = new Error(msg); e.plain = true; return e; }
  async function fileReady(a) {
    if (video.getAttribute("src") !== a.media_url) { video.srcObject = null; video.src = a.media_url; }
    video.autoplay = false; video.muted = true; video.loop = false;
    const unplayable = plainError("This browser cannot play this video, so it cannot be replayed here. "
      + "\u201cAnalyse\u201d reads it without playing it.");
    if (video.error) throw unplayable;
    if (video.readyState < 1) {
      await new Promise((res, rej) => {
        const t = setTimeout(() => rej(unplayable), 30000);
        video.onloadedmetadata = () => { clearTimeout(t); res(); };
        video.onerror = () => { clearTimeout(t); rej(unplayable); };
      });
    }
    video.pause();
  }
  async function filePlay(pc) {
    video.onended = () => { F.ended = true; fileClock(); fileFinish(pc); };
    video.onplay = video.onpause = video.onratechange = video.onseeked = () => fileClock();
    if (video.currentTime !== 0) {
      await new Promise(res => { video.addEventListener("seeked", res, { once: true }); video.currentTime = 0; setTimeout(res, 3000); });
    }
    if (S.pc !== pc) return;
    F.started = true;
    $("placeholder").style.display = "none";
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onFileFrame);
    fileClock();
    await video.play();
  }
  // the end of the file: once the server has analysed its last frame (the "replay" end event), close the set
  async function fileFinish(pc) {
    const t0 = performance.now();
    showNote();
    while (S.pc === pc && !F.done && performance.now() - t0 < 60000) await new Promise(r => setTimeout(r, 200));
    if (S.pc === pc) finish("file ended");
  }
  function fileClock() {
    if (!S.pc || !isFile() || !F.started) return;
    command({ name: "clock", t: F.ended ? 1e9 : video.currentTime, playing: !video.paused && !video.ended,
              rate: video.playbackRate, at: performance.now() });
  }
  // the playback follows the analysis: waits when it is more than 0.6 s behind the picture, and runs slower when it
  // keeps falling behind (faster again, up to 1x, while it keeps up)
  function filePace() {
    if (S.state !== "live" || !isFile() || !F.started || F.ended) return;
    const now = performance.now();
    const behind = video.currentTime - (F.lastT === null ? 0 : F.lastT);
    if (!F.waiting && !video.paused && behind > 0.6) { F.waiting = true; video.pause(); }
    else if (F.waiting && behind < 0.1) { F.waiting = false; video.play().catch(() => {}); }
    if (now - F.rateAt > 1000) {
      F.rateAt = now;
      let r = F.rate;
      if (behind > 0.25 || F.waiting) r = Math.max(0.2, r * 0.85);
      else if (behind < 0.12 && r < 1) r = Math.min(1, r * 1.1);
      if (r !== F.rate) { F.rate = r; video.playbackRate = Math.round(r * 100) / 100; }
    }
    showNote();
  }
  setInterval(() => { fileClock(); filePace(); }, 150);
  // each result is painted over its own frame: the newest one at or before the frame on the screen
  function fileShow(mediaTime) {
    let pick = null;
    while (F.buf.length && F.buf[0].t <= mediaTime + 0.02) pick = F.buf.shift();
    if (pick && pick.t > F.painted) { F.painted = pick.t; pending = pick; paint(); }
  }
  function onFileFrame(now, md) {
    if (!S.pc || !isFile()) return;
    fileShow(md && typeof md.mediaTime === "number" ? md.mediaTime : video.currentTime);
    video.requestVideoFrameCallback(onFileFrame);
  }
  function fileResult(r) {
    if (F.lastT === null || r.t > F.lastT) F.lastT = r.t;
    if (r.t <= F.painted) return;
    let i = F.buf.length;  // in order of time (the results channel may reorder)
    while (i > 0 && F.buf[i - 1].t > r.t) i--;
    F.buf.splice(i, 0, r);
    if (F.buf.length > 600) F.buf.shift();
    if (video.paused || !video.requestVideoFrameCallback) fileShow(video.currentTime);  // no frame callback while paused
  }
  window.Spotter.on("replay", m => {
    if (m.state === "end") F.done = m;
    else if (m.state === "error" && S.pc) { stop("error"); fail(m.error || "The replay stopped."); }
  });
  // what a person needs to know about a replay, in words
  function showNote() {
    let t = "";
    if (isFile() && S.state === "live" && F.started) {
      if (F.ended) t = "Finishing the analysis of the last frames…";
      else if (F.waiting) t = "Waiting for the analysis to catch up (every frame is analysed)…";
      else if (video.playbackRate < 0.97) t = `Replaying at ${video.playbackRate.toFixed(2).replace(/0$/, "")}\u00d7 speed: `
        + "this computer analyses every frame, slower than the video plays.";
    }
    if ($("note").textContent !== t) { $("note").textContent = t; setHeight(); }
  }
  // STOP, or the end of a replayed file: a set in progress is closed first ("End set") so that its end is said
  // ("Set done, N reps.") and heard before the connection goes; at most a few seconds, then stop() anyway
  let finishing = false;
  async function finish(why) {
    const pc = S.pc;
    if (!pc || finishing) return;
    const r = S.last;
    const open = ch => ch && ch.readyState === "open";
    if (r && r.count > 0 && open(S.dc) && open(S.events)) {
      finishing = true;
      $("stop").disabled = true; $("endset").disabled = true;
      if (S.stream && (!S.args || S.args.mode !== "file")) S.stream.getTracks().forEach(t => t.stop());  // camera off
      if (S.args && S.args.mode === "file") { try { video.pause(); } catch (e) {} }
      const said = new Promise(res => { S.onSetSaid = res; setTimeout(res, 4000); });
      command({ name: "end_set" });
      await said;
      S.onSetSaid = null;
      finishing = false;
    }
    if (S.pc === pc) stop(why);
  }
  window.Spotter.on("speech", m => { if (m.kind === "set" && S.onSetSaid) S.onSetSaid(); });

  function stop(why) {
    const pc = S.pc;
    S.pc = null; S.tr = null;
    if (S.dc) { try { S.dc.close(); } catch (e) {} S.dc = null; }
    if (S.events) { try { S.events.close(); } catch (e) {} S.events = null; }
    if (pc) { try { pc.close(); } catch (e) {} }
    if (S.stream) {
      if (!S.args || S.args.mode !== "file") S.stream.getTracks().forEach(t => t.stop());
      S.stream = null;
    }
    if (S.args && S.args.mode === "file") {
      try { video.pause(); video.playbackRate = 1; } catch (e) {}
      video.onended = video.onplay = video.onpause = video.onratechange = video.onseeked = null;
      F.started = false;
    } else video.srcObject = null;
    pending = null;
    showNote();
    panelStopped();
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    $("placeholder").style.display = "";
    $("placeholder").textContent = S.args && S.args.mode === "file"
      ? "Press START to replay this video with the live overlay."
      : "Press START and allow the camera. Stand so your whole body is in view.";
    $("start").disabled = false; $("stop").disabled = true; $("endset").disabled = true;
    if (S.state !== "error") S.state = why === "changed" ? "idle" : "ended";
  }
  $("start").onclick = () => start();
  $("stop").onclick = () => finish("user");
  $("endset").onclick = () => command({ name: "end_set" });
  window.addEventListener("pagehide", () => stop("page closed"));

  // ---------------------------------------------------------------------------------------- focus mode
  // The picture, the overlay and the controls alone on the whole screen (the Fullscreen API on this component's
  // container: the Streamlit page, its sidebar, title and timeline are out of sight); Esc or the button ends it.
  // The picture keeps its aspect ratio (--ar) so the canvas stays on it; the screen is kept awake meanwhile.
  const wrap = $("wrap");
  let wakeLock = null;
  const fsElement = () => document.fullscreenElement || document.webkitFullscreenElement || null;
  function setAspect() {
    if (video.videoWidth && video.videoHeight) wrap.style.setProperty("--ar", String(video.videoWidth / video.videoHeight));
  }
  video.addEventListener("loadedmetadata", setAspect);
  video.addEventListener("resize", setAspect);
  function onFocusChange() {
    const on = !!fsElement();
    document.body.classList.toggle("focus", on);
    $("focus").textContent = on ? "Exit focus" : "Focus";
    $("focus").setAttribute("aria-pressed", String(on));
    setAspect();
    fitStage();
    if (on && navigator.wakeLock && !wakeLock) {
      navigator.wakeLock.request("screen").then(l => { wakeLock = l; }, () => {});
    } else if (!on && wakeLock) { wakeLock.release().catch(() => {}); wakeLock = null; }
    setHeight();
  }
  document.addEventListener("fullscreenchange", onFocusChange);
  document.addEventListener("webkitfullscreenchange", onFocusChange);
  async function toggleFocus() {
    if (fsElement()) {
      const exit = document.exitFullscreen || document.webkitExitFullscreen;
      if (exit) await exit.call(document);
      return;
    }
    const req = wrap.requestFullscreen || wrap.webkitRequestFullscreen;
    try {
      if (!req) throw new Error("no Fullscreen API");
      await req.call(wrap, { navigationUI: "hide" });
    } catch (e) {
      $("error").textContent = "Full screen is not available here: use the browser's full screen (F11) and "
        + "open the page with ?focus=1 (the focus layout).";
      setHeight();
    }
  }
  $("focus").onclick = () => toggleFocus();

  // ---------------------------------------------------------------------------------------- fit the window
  // The picture with its overlay and the controls under it fit the browser's window, landscape or portrait: the
  // picture is as wide as the column allows and no taller than the window (the Streamlit page is this frame's
  // parent, same origin) less the controls, and less what is above the component when that is little (the focus
  // layout, the Live page: everything in view without scrolling; a replay further down a page is scrolled to and
  // gets the whole window). At 1280x800 with ?focus=1 the picture was 1120x840: the cue banner, the range bar's
  // TARGET and the controls fell below the window.
  const stage = $("stage");
  let fitW = null;
  function fitStage() {
    if (document.body.classList.contains("focus")) {
      if (fitW !== null) { stage.style.maxWidth = ""; fitW = null; }
      return;
    }
    let avail = null;
    try {
      const fe = window.frameElement, pw = window.parent;
      if (fe && pw && pw !== window) {
        const top = fe.getBoundingClientRect().top + (pw.scrollY || 0);  // the component's top in the page
        avail = pw.innerHeight - (top <= 0.35 * pw.innerHeight ? Math.max(0, top) : 16);
      }
    } catch (e) { /* another origin: as wide as the column */ }
    if (avail === null) return;
    const below = Math.max(0, document.body.scrollHeight - stage.offsetHeight) + 12;  // controls, notes
    const ar = video.videoWidth && video.videoHeight ? video.videoWidth / video.videoHeight : 4 / 3;
    const w = Math.floor(Math.max(200, avail - below) * ar);
    if (fitW === null || Math.abs(w - fitW) > 2) {
      fitW = w;
      stage.style.maxWidth = w + "px";
      setHeight();
    }
  }
  S.fitStage = fitStage;
  try { window.parent.addEventListener("resize", fitStage); } catch (e) { /* another origin */ }
  window.addEventListener("resize", fitStage);
  video.addEventListener("loadedmetadata", fitStage);
  video.addEventListener("resize", fitStage);
  setInterval(fitStage, 1000);  // the page above the component changes (a rerun): cheap, and only acts on a change

  // what the distance display drew (the tests read it with the canvas's pixels)
  window.spotterDisplay = function () {
    return { layout: S.layout, bars_drawn: S.barsDrawn, max_progress: S.maxProgress, count_changes: S.countChanges.slice(),
             focus: !!fsElement(), canvas: [canvas.width, canvas.height],
             css: [canvas.getBoundingClientRect().width, canvas.getBoundingClientRect().height] };
  };

  // figures for `spotter bench browser` and the tests
  window.spotterStats = function () {
    const span = S.lastResultAt !== null && S.firstResultAt !== null ? (S.lastResultAt - S.firstResultAt) / 1000 : 0;
    return { state: S.state, results: S.results, drawn: S.drawn, span_s: span, lat: S.lat.slice(),
             lat_at: S.latAt.slice(), panel_at: S.panelAt.slice(), now: performance.now(),
             camera_s: S.cameraAt === null ? 0 : (performance.now() - S.cameraAt) / 1000, ready: S.ready,
             server_ms_p50: pct(S.srv, 50), server_ms_p95: pct(S.srv, 95),
             lat_p50: pct(S.lat, 50), lat_p95: pct(S.lat, 95), clock_found: S.K !== null, last: S.last,
             error: S.error, video: [video.videoWidth, video.videoHeight], send_cap: S.sendCap, send_scale: S.sendScaleBy,
             frames_sent: S.framesSent, panel_posts: S.panelPosts, sender: S.sender,
             wait_ms_p50: pct(S.wait, 50), wait_ms_p95: pct(S.wait, 95),
             pose_ms_p50: pct(S.pose, 50), pose_ms_p95: pct(S.pose, 95),
             rest_ms_p50: pct(S.rest, 50), rest_ms_p95: pct(S.rest, 95) };
  };
})();

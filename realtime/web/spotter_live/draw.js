// Everything the page paints over the user's own picture, in one place. draw(ctx, w, h, r, ui) gets the latest
// result message from the server (see realtime/peer.py and docs/voice.md for its fields), the canvas size in
// pixels and what the voice shows (voice.js: the caption of the last utterance, muted) and returns the layout
// it drew (what, where, how big: the page's tests read it, together with the pixels).
// Landmarks are normalised image coordinates; null = not drawn (masked or not found).
//
// Built to be read from two or three metres (docs/voice.md, "The page"): sizes are fractions of the picture's
// height, so they keep their proportion when the focus mode scales the picture to the whole screen.
//   top left   the exercise, the set state in words (in set, resting with its countdown, set done) and the phase
//   top right  the rep count, at least a sixth of the picture's height (here about a fifth), "REPS" under it;
//              after a set, the set's count with "LAST SET" and the rest between sets counting down
//   right      the range bar of the rep in progress, filling toward the exercise's own target (depth: fills
//              downwards, lockout: upwards), a "TARGET" tick at its end, the percentage under it; at the target
//              "100% ✓" and a check mark in the bar
//   bottom     the cue as a large banner (a warning triangle + the words), or the camera set-up hint before the
//              first rep (a camera-frame icon + "SET UP:")
//   bottom     above the banner: what the voice just said (set done, rest over, praise, set-up) with a speaker
//              or a check icon, and "MUTED" with a crossed speaker while the voice is off
// Colour is never the only signal: every element has words or a shape of its own.
"use strict";
(function () {
  // BlazePose connections (pipeline/pose/landmarks.py CONNECTIONS)
  const CONN = [[11, 12], [11, 13], [13, 15], [12, 14], [14, 16], [11, 23], [12, 24], [23, 24], [23, 25], [25, 27],
    [24, 26], [26, 28], [27, 29], [29, 31], [27, 31], [28, 30], [30, 32], [28, 32], [15, 17], [15, 19], [17, 19],
    [16, 18], [16, 20], [18, 20], [0, 7], [0, 8]];
  const BONE = "rgb(80,220,120)", JOINT = "#fff", ISSUE = "rgb(255,60,60)", CUE = "rgb(255,210,60)";
  const GOOD = "rgb(90,230,130)", PANEL = "rgba(0,0,0,0.55)", FONT = "sans-serif";
  // the range bar: a dark, nearly opaque track and a saturated fill, so that it reads the same way up on a white
  // wall as on a dark one (a near-white fill on a see-through grey track read upside down on a bright wall)
  const TRACK = "rgba(0,0,0,0.82)", FILL = "rgb(70,170,255)";
  const PHASE = { idle: "ready", top: "top", lowering: "lowering", bottom: "bottom", rising: "rising" };
  const COUNT_H = 0.29;  // the count's font size, in picture heights (its digits stand ~0.21 h tall: > 1/6)
  // the voice's captions worth showing: a count is the big number already and a cue is the banner
  const CAPTIONED = { set: 1, rest: 1, praise: 1, setup: 1 };

  function skeleton(ctx, w, h, lm, hl) {
    const th = Math.max(2, Math.round(Math.min(w, h) / 180));
    ctx.lineWidth = th; ctx.strokeStyle = BONE; ctx.lineCap = "round";
    ctx.beginPath();
    for (const [a, b] of CONN) {
      const p = lm[a], q = lm[b];
      if (!p || !q) continue;
      ctx.moveTo(p[0] * w, p[1] * h); ctx.lineTo(q[0] * w, q[1] * h);
    }
    ctx.stroke();
    const r = th + 1;
    ctx.fillStyle = JOINT;
    ctx.beginPath();
    for (let i = 11; i < lm.length; i++) {
      const p = lm[i];
      if (!p) continue;
      ctx.moveTo(p[0] * w + r, p[1] * h); ctx.arc(p[0] * w, p[1] * h, r, 0, 2 * Math.PI);
    }
    ctx.fill();
    ctx.strokeStyle = ISSUE;
    for (const i of hl || []) {
      const p = lm[i];
      if (!p) continue;
      ctx.beginPath(); ctx.arc(p[0] * w, p[1] * h, r * 3, 0, 2 * Math.PI); ctx.stroke();
    }
  }

  function font(px, bold) { return (bold ? "bold " : "") + Math.round(px) + "px " + FONT; }

  // text with a dark outline: readable on a bright wall as on a dark one
  function text(ctx, s, x, y, px, color, opts) {
    const o = opts || {};
    ctx.font = font(px, o.bold !== false);
    ctx.textAlign = o.align || "left"; ctx.textBaseline = o.baseline || "alphabetic";
    ctx.lineJoin = "round"; ctx.lineWidth = Math.max(2, px / 9); ctx.strokeStyle = "rgba(0,0,0,0.85)";
    ctx.strokeText(s, x, y);
    ctx.fillStyle = color; ctx.fillText(s, x, y);
    const m = ctx.measureText(s);
    ctx.textAlign = "left";
    return { w: m.width, asc: m.actualBoundingBoxAscent || px * 0.72, desc: m.actualBoundingBoxDescent || 0 };
  }

  function roundRect(ctx, x, y, w, h, r) {
    ctx.beginPath();
    ctx.moveTo(x + r, y); ctx.arcTo(x + w, y, x + w, y + h, r); ctx.arcTo(x + w, y + h, x, y + h, r);
    ctx.arcTo(x, y + h, x, y, r); ctx.arcTo(x, y, x + w, y, r); ctx.closePath();
  }

  function mmss(s) {
    s = Math.max(0, Math.ceil(s));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  // the set state in words (docs/voice.md: before | in_set | resting | set_done)
  function stateText(r) {
    const st = r.set_state || (r.state === "in_set" || r.state === "resting" ? r.state : "before");
    if (st === "in_set") return { key: st, text: "SET " + r.set_index + " · IN SET" };
    if (st === "resting") {
      const left = typeof r.rest_left_s === "number" ? " · ends in " + Math.max(0, Math.ceil(r.rest_left_s)) + " s" : "";
      return { key: st, text: "RESTING" + left };
    }
    if (st === "set_done") {
      const n = r.last_set_reps;
      return { key: st, text: "SET " + Math.max(1, (r.set_index || 2) - 1) + " DONE"
        + (typeof n === "number" ? " · " + n + " rep" + (n === 1 ? "" : "s") : "") };
    }
    if (r.state === "no_person") return { key: st, text: "STEP INTO VIEW" };
    if (r.hint) return { key: st, text: "SET UP THE CAMERA" };
    return { key: st, text: r.exercise && r.exercise !== "unknown" ? "READY · START YOUR SET" : "READY" };
  }

  function panelLines(r) {
    const ex = String(r.exercise || "unknown").replace("push_up", "push-up").replace(/_/g, " ");
    const head = !r.exercise || r.exercise === "unknown" ? "which exercise?"
      : (r.source === "model" ? ex + " " + Math.round(100 * (r.confidence || 0)) + "%" : ex);
    return [head, stateText(r).text, PHASE[r.phase] || r.phase || ""];
  }

  // top left: exercise, set state, phase; after a set, the rest between sets counting down under it
  function statePanel(ctx, w, h, r, right, out) {
    const pad = Math.round(0.02 * h), lines = panelLines(r);
    const sizes = [0.055 * h, 0.068 * h, 0.045 * h];
    const maxW = right - pad * 3;  // up to the count's box: a long state line gets smaller, never hidden
    let bw = 0;
    lines.forEach((s, k) => {
      ctx.font = font(sizes[k], k === 1);
      const tw = ctx.measureText(s).width;
      if (tw > maxW) sizes[k] *= maxW / tw;
      bw = Math.max(bw, Math.min(tw, maxW));
    });
    bw += 2 * pad;
    const bh = sizes.reduce((a, b) => a + b * 1.2, 0) + pad;
    ctx.fillStyle = PANEL; roundRect(ctx, pad / 2, pad / 2, bw, bh, pad); ctx.fill();
    let y = pad / 2;
    lines.forEach((s, k) => {
      y += sizes[k] * 1.2;
      text(ctx, s, pad * 1.5, y - sizes[k] * 0.2, sizes[k], k === 1 ? "#fff" : "#ddd", { bold: k === 1 });
    });
    out.state = { text: lines[1], key: stateText(r).key, x: pad / 2, y: pad / 2, w: bw, h: bh };
    if (out.state.key === "set_done" && typeof r.break_left_s === "number") {
      const px = 0.1 * h;
      const s = r.break_left_s > 0 ? "REST " + mmss(r.break_left_s) : "NEXT SET";
      ctx.font = font(px, true);
      const tw = ctx.measureText(s).width;
      const y0 = pad / 2 + bh + pad / 2;
      ctx.fillStyle = PANEL; roundRect(ctx, pad / 2, y0, tw + 2 * pad, px * 1.25, pad); ctx.fill();
      text(ctx, s, pad * 1.5, y0 + px * 1.02, px, "#fff");
      out.countdown = { text: s, x: pad / 2, y: y0, w: tw + 2 * pad, h: px * 1.25, px };
    }
  }

  // top right: the count (or the last set's count after a set), with what it is in words under it
  function bigCount(ctx, w, h, r, out) {
    const pad = Math.round(0.02 * h);
    const after = (r.set_state === "set_done") && !r.count && typeof r.last_set_reps === "number";
    const s = String(after ? r.last_set_reps : (r.count || 0));
    const label = after ? "LAST SET" : "REPS";
    const px = COUNT_H * h, lpx = 0.05 * h;
    ctx.font = font(px, true);
    const m = ctx.measureText(s);
    const asc = m.actualBoundingBoxAscent || px * 0.72, desc = m.actualBoundingBoxDescent || 0;
    ctx.font = font(lpx, true);
    const lw = ctx.measureText(label).width;
    const bw = Math.max(m.width, lw) + 2 * pad, bh = asc + desc + lpx * 1.3 + 2 * pad;
    const x = w - bw - pad / 2, y = pad / 2;
    ctx.fillStyle = PANEL; roundRect(ctx, x, y, bw, bh, pad); ctx.fill();
    const cx = x + bw / 2;
    text(ctx, s, cx, y + pad + asc, px, after ? "#ddd" : "#fff", { align: "center" });
    text(ctx, label, cx, y + bh - pad * 0.9, lpx, "#ddd", { align: "center" });
    // the digits' own box (what a reader sees): height = ascent + descent of the glyphs
    out.count = { text: s, label, px: Math.round(px), digits_h: asc + desc, x: cx - m.width / 2, y: y + pad,
                  w: m.width, h: asc + desc, box: { x, y, w: bw, h: bh } };
    return y + bh;
  }

  // right: the range of the rep in progress toward the exercise's target (progress 0..1, progress_kind)
  function rangeBar(ctx, w, h, r, top, bottom, out) {
    if (!r.progress_kind) return;  // no exercise yet: nothing to fill toward
    const pad = Math.round(0.02 * h), bw = Math.round(0.075 * h), lpx = 0.045 * h;
    const x = w - bw - pad * 1.5, y0 = top + pad + lpx * 1.2, y1 = bottom - pad - lpx * 1.3;
    const L = y1 - y0;
    if (L < 0.12 * h) return;
    const p = typeof r.progress === "number" && isFinite(r.progress) ? Math.max(0, Math.min(1, r.progress)) : null;
    const reached = p !== null && p >= 0.999;
    const depth = r.progress_kind !== "lockout";  // depth fills downwards (going down), lockout upwards
    ctx.fillStyle = TRACK; ctx.fillRect(x - pad / 2, y0 - pad / 2, bw + pad, L + pad);
    if (p !== null && p > 0) {
      const fh = p * L;
      ctx.fillStyle = reached ? GOOD : FILL;
      ctx.fillRect(x, depth ? y0 : y1 - fh, bw, fh);
    }
    ctx.lineWidth = Math.max(2, h / 160); ctx.strokeStyle = "#fff"; ctx.strokeRect(x, y0, bw, L);
    // the target: a thick tick across the far end, and the word
    const ty = depth ? y1 : y0;
    ctx.lineWidth = Math.max(3, h / 90); ctx.strokeStyle = reached ? GOOD : CUE;
    ctx.beginPath(); ctx.moveTo(x - pad, ty); ctx.lineTo(x + bw + pad / 2, ty); ctx.stroke();
    const tw = text(ctx, "TARGET", x - pad * 1.3, ty + lpx * 0.35, lpx * 0.8, "#fff", { align: "right" }).w;
    if (reached) {  // a check mark in the bar: the shape says it, not only the colour
      const cx = x + bw / 2, cy = depth ? y1 - bw * 0.7 : y0 + bw * 0.7, s = bw * 0.32;
      ctx.lineWidth = Math.max(3, bw / 7); ctx.strokeStyle = "#000"; ctx.lineCap = "round";
      ctx.beginPath(); ctx.moveTo(cx - s, cy); ctx.lineTo(cx - s * 0.25, cy + s * 0.7); ctx.lineTo(cx + s, cy - s * 0.7);
      ctx.stroke();
    }
    const kind = depth ? "DEPTH" : "LOCKOUT";
    const value = p === null ? "–" : reached ? "100% ✓" : Math.round(100 * p) + "%";
    text(ctx, kind, x + bw, y0 - pad * 0.9, lpx, "#fff", { align: "right" });
    text(ctx, value, x + bw, y1 + pad * 0.6 + lpx, lpx, reached ? GOOD : "#fff", { align: "right" });
    out.bar = { kind: r.progress_kind, progress: p, reached, label: kind + " " + value, x, y: y0, w: bw, h: L,
                label_x: Math.min(x - pad, x - pad * 1.3 - tw),
                fill: p === null ? 0 : p * L, direction: depth ? "down" : "up" };
  }

  // words that fit the box: the largest size from px down to minPx on as few lines as fit maxW, the lines within
  // maxH if possible; at minPx as many lines as the words need (the caller makes room). A word never broken, a
  // line never cut (the set-up hint was cut mid-word: "…at a window or brigh").
  function wrap(ctx, s, maxW, q) {
    ctx.font = font(q, true);
    const words = String(s).split(/\s+/).filter(Boolean), lines = [];
    let a = "";
    for (const wd of words) {
      const tryA = a ? a + " " + wd : wd;
      if (a && ctx.measureText(tryA).width > maxW) { lines.push(a); a = wd; } else a = tryA;
    }
    if (a) lines.push(a);
    const widest = Math.max(0, ...lines.map(l => ctx.measureText(l).width));
    return { lines, widest };
  }
  function fit(ctx, s, maxW, px, minPx, maxH) {
    maxH = maxH || Infinity;
    for (let q = px; q >= minPx; q *= 0.92) {
      const w = wrap(ctx, s, maxW, q);
      if (w.widest <= maxW && w.lines.length * q * 1.15 <= maxH) return { px: q, lines: w.lines };
    }
    let q = minPx, w = wrap(ctx, s, maxW, q);
    if (w.widest > maxW) { q = Math.max(6, q * maxW / w.widest); w = wrap(ctx, s, maxW, q); }  // one very long word
    return { px: q, lines: w.lines };
  }

  function warnIcon(ctx, cx, cy, s) {  // a warning triangle with "!"
    ctx.beginPath(); ctx.moveTo(cx, cy - s); ctx.lineTo(cx + s * 1.1, cy + s * 0.85); ctx.lineTo(cx - s * 1.1, cy + s * 0.85);
    ctx.closePath(); ctx.fillStyle = CUE; ctx.fill();
    ctx.fillStyle = "#000"; ctx.font = font(s * 1.25, true); ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.fillText("!", cx, cy + s * 0.2); ctx.textAlign = "left"; ctx.textBaseline = "alphabetic";
  }

  function cameraIcon(ctx, cx, cy, s) {  // a viewfinder: four corners of a frame around a dot
    ctx.strokeStyle = "#fff"; ctx.lineWidth = Math.max(2, s / 5); ctx.lineCap = "round";
    const a = s, b = s * 0.45;
    for (const [sx, sy] of [[-1, -1], [1, -1], [1, 1], [-1, 1]]) {
      ctx.beginPath(); ctx.moveTo(cx + sx * a, cy + sy * (a - b)); ctx.lineTo(cx + sx * a, cy + sy * a);
      ctx.lineTo(cx + sx * (a - b), cy + sy * a); ctx.stroke();
    }
    ctx.fillStyle = "#fff"; ctx.beginPath(); ctx.arc(cx, cy, s * 0.28, 0, 2 * Math.PI); ctx.fill();
  }

  // bottom: the cue (a confident issue: triangle + words) or the camera set-up hint (viewfinder + "SET UP:")
  function banner(ctx, w, h, kind, s, out) {
    const pad = Math.round(0.02 * h), icon = 0.05 * h;
    const tx = pad * 2 + icon * 2.4;
    const words = kind === "cue" ? s : "SET UP: " + s;
    // 18 % of the picture, taller (up to 40 %) when the words need more lines at the smallest size
    const f = fit(ctx, words, w - tx - pad, 0.095 * h, 0.045 * h, 0.18 * h - pad);
    const lh = f.px * 1.15;
    const bh = Math.round(Math.min(0.4 * h, Math.max(0.18 * h, f.lines.length * lh + pad * 1.5))), y = h - bh;
    ctx.fillStyle = kind === "cue" ? "rgba(0,0,0,0.74)" : "rgba(10,40,95,0.82)";
    ctx.fillRect(0, y, w, bh);
    if (kind === "cue") { ctx.fillStyle = CUE; ctx.fillRect(0, y, w, Math.max(3, h / 120)); }
    if (kind === "cue") warnIcon(ctx, pad + icon * 1.2, y + bh / 2, icon); else cameraIcon(ctx, pad + icon * 1.2, y + bh / 2, icon);
    const y0 = y + bh / 2 - (f.lines.length * lh) / 2 + f.px * 0.8;
    f.lines.forEach((ln, k) => text(ctx, ln, tx, y0 + k * lh, f.px, kind === "cue" ? CUE : "#fff"));
    ctx.font = font(f.px, true);
    const widest = Math.max(...f.lines.map(l => ctx.measureText(l).width));
    out.banner = { kind, text: words, px: Math.round(f.px), lines: f.lines.length, shown: f.lines.join(" "),
                   fits: tx + widest <= w - pad / 2 + 0.5, x: 0, y, w, h: bh };
    return y;
  }

  function speakerIcon(ctx, cx, cy, s, muted) {
    ctx.fillStyle = "#fff";
    ctx.beginPath(); ctx.moveTo(cx - s, cy - s * 0.35); ctx.lineTo(cx - s * 0.45, cy - s * 0.35); ctx.lineTo(cx, cy - s * 0.8);
    ctx.lineTo(cx, cy + s * 0.8); ctx.lineTo(cx - s * 0.45, cy + s * 0.35); ctx.lineTo(cx - s, cy + s * 0.35); ctx.closePath();
    ctx.fill();
    ctx.strokeStyle = "#fff"; ctx.lineWidth = Math.max(2, s / 5); ctx.lineCap = "round";
    if (muted) {  // a cross instead of the sound waves
      ctx.beginPath(); ctx.moveTo(cx + s * 0.3, cy - s * 0.4); ctx.lineTo(cx + s * 1.0, cy + s * 0.4);
      ctx.moveTo(cx + s * 1.0, cy - s * 0.4); ctx.lineTo(cx + s * 0.3, cy + s * 0.4); ctx.stroke();
    } else {
      for (const k of [0.45, 0.85]) { ctx.beginPath(); ctx.arc(cx + s * 0.1, cy, s * k, -0.8, 0.8); ctx.stroke(); }
    }
  }

  function checkIcon(ctx, cx, cy, s) {
    ctx.strokeStyle = GOOD; ctx.lineWidth = Math.max(3, s / 3.5); ctx.lineCap = "round";
    ctx.beginPath(); ctx.moveTo(cx - s, cy); ctx.lineTo(cx - s * 0.3, cy + s * 0.7); ctx.lineTo(cx + s, cy - s * 0.7); ctx.stroke();
  }

  // above the bottom banner: what the voice just said (or would have said, muted), between left and right
  function caption(ctx, w, h, c, left, right, bottom, out) {
    const pad = Math.round(0.02 * h), icon = 0.03 * h;
    const avail = right - left - pad;
    if (avail < 0.25 * w) return;
    const f = fit(ctx, c.text, avail - icon * 3 - 2 * pad, 0.06 * h, 0.042 * h);
    ctx.font = font(f.px, true);
    const tw = Math.max(...f.lines.map(s => ctx.measureText(s).width));
    const bw = tw + icon * 3 + 2 * pad, bh = f.lines.length * f.px * 1.2 + pad * 1.2;
    const x = left + Math.max(0, (right - left - bw) / 2), y = bottom - bh - pad / 2;
    ctx.fillStyle = PANEL; roundRect(ctx, x, y, bw, bh, pad); ctx.fill();
    if (c.kind === "praise") checkIcon(ctx, x + pad + icon, y + bh / 2, icon);
    else speakerIcon(ctx, x + pad + icon, y + bh / 2, icon, c.status === "muted");
    f.lines.forEach((ln, k) => text(ctx, ln, x + pad + icon * 3, y + pad * 0.6 + (k + 1) * f.px * 1.05, f.px,
                                    c.kind === "praise" ? GOOD : "#fff"));
    out.caption = { kind: c.kind, text: c.text, status: c.status, x, y, w: bw, h: bh };
  }

  // r: the latest result (or null: nothing yet); ui: {caption: {kind, text, status} | null, muted} from voice.js.
  // Clears and repaints the whole canvas; returns the layout drawn.
  function draw(ctx, w, h, r, ui) {
    ctx.clearRect(0, 0, w, h);
    const out = { w, h };
    if (!r) return out;
    ui = ui || {};
    if (r.lm) skeleton(ctx, w, h, r.lm, r.hl);
    const countBottom = bigCount(ctx, w, h, r, out);
    statePanel(ctx, w, h, r, out.count.box.x, out);
    let bottom = h;
    if (r.cue) bottom = banner(ctx, w, h, "cue", r.cue, out);
    else if (r.hint) bottom = banner(ctx, w, h, "setup", r.hint, out);
    rangeBar(ctx, w, h, r, countBottom, bottom, out);
    let left = 0;
    if (ui.muted) {  // the voice is off: say so where the athlete can see it
      const s = 0.03 * h, y = bottom - s * 2;
      speakerIcon(ctx, s * 2, y, s, true);
      const m = text(ctx, "MUTED", s * 3.6, y + s * 0.55, s * 1.3, "#fff");
      left = s * 3.6 + m.w;
      out.muted = true;
    }
    const c = ui.caption;
    if (c && c.text && CAPTIONED[c.kind]) {
      // up to the range bar's "TARGET" label, which sits left of the bar (the caption ran over it)
      caption(ctx, w, h, c, left, out.bar ? out.bar.label_x - 0.02 * h : w, bottom, out);
    }
    return out;
  }

  window.SpotterDraw = { draw, panelLines, stateText, COUNT_H };
})();

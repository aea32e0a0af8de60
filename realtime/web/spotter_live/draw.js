// Everything the page paints over the user's own picture, in one place. draw(ctx, w, h, r) gets the latest
// result message from the server (see realtime/peer.py for its fields) and the canvas size in pixels.
// Landmarks are normalised image coordinates; null = not drawn (masked or not found).
"use strict";
(function () {
  // BlazePose connections (pipeline/pose/landmarks.py CONNECTIONS)
  const CONN = [[11, 12], [11, 13], [13, 15], [12, 14], [14, 16], [11, 23], [12, 24], [23, 24], [23, 25], [25, 27],
    [24, 26], [26, 28], [27, 29], [29, 31], [27, 31], [28, 30], [30, 32], [28, 32], [15, 17], [15, 19], [17, 19],
    [16, 18], [16, 20], [18, 20], [0, 7], [0, 8]];
  const BONE = "rgb(80,220,120)", JOINT = "#fff", ISSUE = "rgb(255,60,60)", CUE = "rgb(255,210,60)";
  const PHASE = { idle: "ready", top: "top", lowering: "lowering", bottom: "bottom", rising: "rising" };

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

  function panelLines(r) {
    const ex = String(r.exercise || "unknown").replace(/_/g, " ");
    const head = r.exercise === "unknown" ? ex
      : (r.source === "model" ? ex + " " + Math.round(100 * (r.confidence || 0)) + "%" : ex);
    return [head, "set " + r.set_index + "  reps " + r.count, PHASE[r.phase] || r.phase || ""];
  }

  function panel(ctx, w, h, lines, cue) {
    const scale = Math.max(0.45, Math.min(w, h) / 720);
    const px = Math.round(30 * scale), pad = Math.round(8 * scale), lh = Math.round(28 * scale);
    ctx.font = px + "px sans-serif"; ctx.textBaseline = "alphabetic";
    const bw = Math.max(...lines.map(s => ctx.measureText(s).width)) + 2 * pad;
    ctx.fillStyle = "rgba(0,0,0,0.55)"; ctx.fillRect(0, 0, bw, lh * lines.length + pad);
    ctx.fillStyle = "#fff";
    lines.forEach((s, k) => ctx.fillText(s, pad, (k + 1) * lh));
    if (cue) {
      ctx.font = Math.round(px * 1.1) + "px sans-serif";
      const tw = ctx.measureText(cue).width, bh = Math.round(px * 1.1) + 3 * pad;
      ctx.fillStyle = "rgba(0,0,0,0.6)"; ctx.fillRect(0, h - bh, w, bh);
      ctx.fillStyle = CUE; ctx.fillText(cue, Math.max(pad, (w - tw) / 2), h - 2 * pad);
    }
  }

  // r: the latest result (or null: nothing yet). Returns nothing; clears and repaints the whole canvas.
  function draw(ctx, w, h, r) {
    ctx.clearRect(0, 0, w, h);
    if (!r) return;
    if (r.lm) skeleton(ctx, w, h, r.lm, r.hl);
    panel(ctx, w, h, panelLines(r), r.cue || r.hint);
  }

  window.SpotterDraw = { draw, panelLines };
})();

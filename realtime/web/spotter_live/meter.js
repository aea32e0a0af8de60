// An AudioWorklet on the voice's output (voice.js): passes the sound through unchanged and measures what each
// utterance actually sent to the speakers (samples above silence, peak, energy), on the audio thread, so the
// figures hold however busy the page's main thread is. The page marks the start of an utterance with
// {mark: seq} and its end with {mark: 0}; the meter answers {seq, samples, loud, peak, rms} for each mark closed.
"use strict";
class SpotterMeter extends AudioWorkletProcessor {
  constructor() {
    super();
    this.cur = null;
    this.port.onmessage = ev => {
      const m = ev.data || {};
      if (!("mark" in m)) return;
      this.close();
      if (m.mark) this.cur = { seq: m.mark, samples: 0, loud: 0, peak: 0, sumsq: 0 };
    };
  }
  close() {
    const c = this.cur;
    this.cur = null;
    if (c) {
      this.port.postMessage({ seq: c.seq, samples: c.samples, loud: c.loud, peak: c.peak,
                              rms: c.samples ? Math.sqrt(c.sumsq / c.samples) : 0 });
    }
  }
  process(inputs, outputs) {
    const inp = inputs[0], out = outputs[0];
    for (let ch = 0; ch < out.length; ch++) {
      if (inp && inp[ch]) out[ch].set(inp[ch]); else out[ch].fill(0);
    }
    const c = this.cur, x = inp && inp[0];
    if (c && x) {
      for (let i = 0; i < x.length; i++) {
        const a = Math.abs(x[i]);
        c.samples++;
        c.sumsq += a * a;
        if (a > 1e-3) c.loud++;
        if (a > c.peak) c.peak = a;
      }
    }
    return true;
  }
}
registerProcessor("spotter-meter", SpotterMeter);

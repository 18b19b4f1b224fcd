// 2:1 sample-rate conversion between the 8 kHz of narrowband codecs (G.711) and the 16 kHz the phone's audio
// pipeline runs at on a wideband board: a linear-phase windowed-sinc low-pass (cut at 4 kHz) before dropping every
// other sample, and after inserting zeros. One converter per stream: each keeps the history its filter needs.

/** Filter length (odd); 47 taps give ~55 dB stop-band rejection with a Blackman window. */
const TAPS = 47;

/** Low-pass at a quarter of the high rate (4 kHz of 16 kHz), unity gain at DC. */
function halfBandTaps(): Float64Array {
  const h = new Float64Array(TAPS);
  const mid = (TAPS - 1) / 2;
  let sum = 0;
  for (let i = 0; i < TAPS; i++) {
    const n = i - mid;
    const sinc = n === 0 ? 0.5 : Math.sin(Math.PI * 0.5 * n) / (Math.PI * n);
    const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (TAPS - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (TAPS - 1));
    h[i] = sinc * w;
    sum += h[i];
  }
  for (let i = 0; i < TAPS; i++) h[i] /= sum;
  return h;
}

const H = halfBandTaps();

const clamp = (v: number): number => (v > 32767 ? 32767 : v < -32768 ? -32768 : Math.round(v));

/**
 * The filter's working buffer: the last TAPS-1 input samples of the previous call, then this call's input. Reused
 * from frame to frame (the pipeline calls this every 20 ms: no allocation but the output).
 */
class History {
  private buf = new Float64Array(TAPS - 1);

  /** The buffer with `n` fresh input samples' room after the kept history. */
  take(n: number): Float64Array {
    if (this.buf.length !== TAPS - 1 + n) {
      const grown = new Float64Array(TAPS - 1 + n);
      grown.set(this.buf.subarray(this.buf.length - (TAPS - 1)));
      this.buf = grown;
    }
    return this.buf;
  }

  /** Keeps the last TAPS-1 samples for the next call. */
  keep(): void {
    this.buf.copyWithin(0, this.buf.length - (TAPS - 1));
  }
}

/** 16 kHz -> 8 kHz. */
export class Downsampler {
  private readonly hist = new History();

  process(input: Int16Array): Int16Array {
    const n = input.length;
    const buf = this.hist.take(n);
    for (let i = 0; i < n; i++) buf[TAPS - 1 + i] = input[i];
    const out = new Int16Array(n >> 1);
    for (let o = 0; o < out.length; o++) {
      const end = TAPS - 1 + 2 * o + 1; // output o is the filter centred on input sample 2o (delayed by the filter)
      let acc = 0;
      for (let k = 0; k < TAPS; k++) acc += H[k] * buf[end - 1 - k];
      out[o] = clamp(acc);
    }
    this.hist.keep();
    return out;
  }
}

/** 8 kHz -> 16 kHz. */
export class Upsampler {
  private readonly hist = new History();

  process(input: Int16Array): Int16Array {
    const n = input.length * 2;
    const buf = this.hist.take(n);
    // zero-stuffed, times two to keep the level (half the energy went to the image the filter removes)
    for (let i = 0; i < input.length; i++) {
      buf[TAPS - 1 + 2 * i] = 2 * input[i];
      buf[TAPS + 2 * i] = 0;
    }
    const out = new Int16Array(n);
    for (let o = 0; o < n; o++) {
      const end = TAPS - 1 + o + 1;
      let acc = 0;
      // only every other input is non-zero: half the multiplies are skipped
      for (let k = (end - 1) & 1 ? 1 : 0; k < TAPS; k += 2) acc += H[k] * buf[end - 1 - k];
      out[o] = clamp(acc);
    }
    this.hist.keep();
    return out;
  }
}

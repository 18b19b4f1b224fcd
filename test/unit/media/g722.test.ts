// G.722 at 64 kbit/s (src/media/g722.ts): tones through the codec loop keep their frequency, level and a good SNR,
// silence stays silent, framing and state carry over between calls, full-scale input is survived, and the output is
// bit for bit that of the ITU-T G.191 reference software on generated stress signals (digests of the reference's
// output; the STL's own test files, which it also matched when this was written, are not copied into this repo).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { G722Decoder, G722Encoder } from "../../../src/media/g722.js";
import { dominantHz, rmsDbfs, toneS16 } from "../../../src/hal/emul/pcm-analysis.js";

const RATE = 16000;
/** 20 ms at 16 kHz: skipped before measuring, for the codec delay and the adaptation of the step sizes. */
const SETTLE = 320;

function roundTrip(pcm: Int16Array): Int16Array {
  return new G722Decoder().decode(new G722Encoder().encode(pcm));
}

/** The lag (0..maxLag samples) at which `out` best matches `inp`, by cross-correlation past `skip`. */
function bestLag(inp: Int16Array, out: Int16Array, skip: number, maxLag = 40): number {
  let best = 0;
  let bestC = -Infinity;
  for (let lag = 0; lag <= maxLag; lag++) {
    let c = 0;
    for (let i = skip; i + lag < out.length; i++) c += inp[i] * out[i + lag];
    if (c > bestC) [best, bestC] = [lag, c];
  }
  return best;
}

/** Signal-to-noise ratio in dB of `out` against `inp` delayed by `lag`, past `skip`. */
function snrDb(inp: Int16Array, out: Int16Array, lag: number, skip: number): number {
  let sig = 0;
  let err = 0;
  for (let i = skip; i + lag < out.length; i++) {
    sig += inp[i] * inp[i];
    err += (inp[i] - out[i + lag]) ** 2;
  }
  return 10 * Math.log10(sig / err);
}

/** Deterministic white noise (a small LCG), uniform within +-amp. */
function noise(n: number, amp: number, seed = 1): Int16Array {
  const out = new Int16Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = Math.round((s / 2 ** 32 - 0.5) * 2 * amp);
  }
  return out;
}

describe("G.722 codec (64 kbit/s)", () => {
  it("carries a 1 kHz tone at -10 dBFS with its frequency, level and an SNR above 35 dB", () => {
    const inp = toneS16({ hz: 1000, ms: 400, dbfs: -10, rate: RATE });
    const out = roundTrip(inp);
    assert.equal(out.length, inp.length);
    const tail = out.subarray(SETTLE);
    assert.ok(Math.abs(dominantHz(tail, RATE) - 1000) <= 5, `dominant ${dominantHz(tail, RATE)} Hz`);
    assert.ok(Math.abs(rmsDbfs(tail) - -10) <= 1.5, `level ${rmsDbfs(tail).toFixed(2)} dBFS`);
    const snr = snrDb(inp, out, bestLag(inp, out, SETTLE), SETTLE);
    assert.ok(snr >= 35, `SNR ${snr.toFixed(1)} dB`);
  });

  it("carries a 6 kHz tone (higher sub-band) with its frequency and level", () => {
    const inp = toneS16({ hz: 6000, ms: 400, dbfs: -10, rate: RATE });
    const out = roundTrip(inp);
    const tail = out.subarray(SETTLE);
    assert.ok(Math.abs(dominantHz(tail, RATE) - 6000) <= 10, `dominant ${dominantHz(tail, RATE)} Hz`);
    assert.ok(Math.abs(rmsDbfs(tail) - -10) <= 3, `level ${rmsDbfs(tail).toFixed(2)} dBFS`);
    const snr = snrDb(inp, out, bestLag(inp, out, SETTLE), SETTLE);
    assert.ok(snr >= 20, `SNR ${snr.toFixed(1)} dB`);
  });

  it("delays wideband noise by the QMF pair's 22 samples and keeps it recognisable", () => {
    const inp = noise(8000, 3000);
    const out = roundTrip(inp);
    const lag = bestLag(inp, out, SETTLE);
    assert.equal(lag, 22);
    const snr = snrDb(inp, out, lag, SETTLE);
    assert.ok(snr >= 10, `SNR ${snr.toFixed(1)} dB`);
  });

  it("encodes silence to near silence", () => {
    const out = roundTrip(new Int16Array(RATE));
    assert.ok(rmsDbfs(out) < -60, `level ${rmsDbfs(out)} dBFS`);
  });

  it("makes one byte of two samples, and two samples of one byte", () => {
    const enc = new G722Encoder();
    const bytes = enc.encode(toneS16({ hz: 440, ms: 20, dbfs: -20, rate: RATE }));
    assert.equal(bytes.length, 160);
    assert.equal(new G722Decoder().decode(bytes).length, 320);
    assert.equal(enc.encode(new Int16Array(0)).length, 0);
  });

  it("carries its state between calls: 20 ms chunks and odd-sized chunks encode and decode as one call does", () => {
    const inp = toneS16({ hz: 1234, ms: 400, dbfs: -15, rate: RATE });
    const whole = new G722Encoder().encode(inp);
    const enc = new G722Encoder();
    const parts: number[] = [];
    for (let i = 0; i < inp.length; i += 320) parts.push(...enc.encode(inp.subarray(i, i + 320)));
    assert.deepEqual(Uint8Array.from(parts), whole);

    // odd chunks: the last sample of a call waits for the next one
    const odd = new G722Encoder();
    const oddParts: number[] = [];
    const sizes = [7, 1, 0, 13, 2, 301];
    for (let i = 0, k = 0; i < inp.length; k++) {
      const n = sizes[k % sizes.length];
      const got = odd.encode(inp.subarray(i, i + n));
      oddParts.push(...got);
      i += n;
    }
    assert.deepEqual(Uint8Array.from(oddParts), whole);
    assert.equal(new G722Encoder().encode(inp.subarray(0, 7)).length, 3);

    const dec = new G722Decoder();
    const decoded: number[] = [];
    for (let i = 0; i < whole.length; i += 160) decoded.push(...dec.decode(whole.subarray(i, i + 160)));
    assert.deepEqual(Int16Array.from(decoded), new G722Decoder().decode(whole));
  });

  it("starts afresh after reset()", () => {
    const inp = toneS16({ hz: 700, ms: 100, dbfs: -12, rate: RATE });
    const enc = new G722Encoder();
    const first = enc.encode(inp);
    enc.encode(noise(333, 20000)); // leaves a pending odd sample and a disturbed state behind
    enc.reset();
    assert.deepEqual(enc.encode(inp), first);
    const dec = new G722Decoder();
    const out1 = dec.decode(first);
    dec.decode(Uint8Array.from(noise(100, 127), (v) => v & 0xff));
    dec.reset();
    assert.deepEqual(dec.decode(first), out1);
  });

  it("survives a full-scale square wave: bounded, not wrapped, still a 500 Hz square", () => {
    const inp = new Int16Array(RATE).map((_, i) => ((i >> 4) & 1 ? -32767 : 32767));
    const out = roundTrip(inp);
    const tail = out.subarray(SETTLE);
    assert.ok(tail.every((v) => Number.isInteger(v) && v >= -32768 && v <= 32767));
    assert.ok(Math.abs(dominantHz(tail, RATE) - 500) <= 5, `dominant ${dominantHz(tail, RATE)} Hz`);
    assert.ok(Math.abs(rmsDbfs(tail) - rmsDbfs(inp)) <= 2, `level ${rmsDbfs(tail).toFixed(2)} dBFS`);
    // a wrap-around would flip signs; away from the edges the output keeps the input's sign
    const lag = bestLag(inp, out, SETTLE);
    let agree = 0;
    let count = 0;
    for (let i = SETTLE; i + lag < out.length; i++) {
      if ((i & 15) < 4 || (i & 15) > 11) continue;
      count++;
      if (Math.sign(out[i + lag]) === Math.sign(inp[i])) agree++;
    }
    assert.ok(agree / count > 0.99, `sign agreement ${agree}/${count}`);
  });

  it("survives full-scale noise and arbitrary octets without throwing", () => {
    const out = roundTrip(noise(16000, 32767, 7));
    assert.equal(out.length, 16000);
    const junk = Uint8Array.from({ length: 4096 }, (_, i) => (i * 151 + (i >> 3)) & 0xff);
    const dec = new G722Decoder().decode(junk);
    assert.equal(dec.length, 8192);
  });

  describe("against the ITU-T G.191 (STL) reference software", () => {
    // Expected digests from the STL's G.722 (g722_encode/g722_decode, mode 1, src/g722 in github.com/openitu/STL),
    // compiled and fed the same generated input; spandsp 3.0's decoder gives the same samples.
    /** The same LCG in C: s = s * 1664525 + 1013904223 (mod 2^32). */
    function lcg(seed: number): () => number {
      let s = seed >>> 0;
      return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
    }
    const sha256 = (b: Uint8Array | Int16Array): string =>
      createHash("sha256").update(Buffer.from(b.buffer, b.byteOffset, b.byteLength)).digest("hex");

    it("decodes 8000 arbitrary octets as the reference decoder does", () => {
      const next = lcg(12345);
      const octets = Uint8Array.from({ length: 8000 }, () => next() >>> 24);
      assert.equal(sha256(new G722Decoder().decode(octets)), "e38471772165fef6a6061ec1b05cd7533500afe78a2679916c99c0e63e64ce3d");
    });

    it("encodes (and decodes) full-scale, tonal and low-level signals as the reference encoder (decoder) does", () => {
      // Six 4000-sample segments, integer-only so that the C generator agrees: full-scale noise, a full-scale square
      // wave, triangle waves of period 16, 5 and 3 samples (they drive the pole coefficients to their limits), and
      // noise at +-64. spandsp's encoder differs on the full-scale parts: it does not clamp the transmit QMF outputs
      // to 15 bits as the STL does; its decoder agrees.
      const next = lcg(54321);
      const tri = (i: number, p: number, a: number): number => {
        const k = i % p;
        return 2 * k < p ? Math.floor((4 * a * k) / p) - a : 3 * a - Math.floor((4 * a * k) / p);
      };
      const pcm = new Int16Array(24000);
      for (let i = 0; i < pcm.length; i++) {
        const seg = Math.floor(i / 4000);
        if (seg === 0) pcm[i] = (next() >>> 16) - 32768;
        else if (seg === 1) pcm[i] = (i >> 4) & 1 ? -32767 : 32767;
        else if (seg === 5) pcm[i] = (next() >>> 25) - 64;
        else pcm[i] = tri(i, [16, 5, 3][seg - 2], 16000);
      }
      assert.equal(sha256(pcm), "d030afbd464215a544d3ef0ecb0a68a7c500092ebf5290b9e9cdd2c53a3c00d0"); // the generator
      const codes = new G722Encoder().encode(pcm);
      assert.equal(sha256(codes), "8c2fc41733c10b993f4c3b4419744d76303497508bc4d02901b572819517aaee");
      assert.equal(sha256(new G722Decoder().decode(codes)), "9e1c06d5eae781fca7e786bae1d1705e497257108326002b1bc1d5e924faef92");
    });
  });
});

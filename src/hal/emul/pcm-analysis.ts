// PCM helpers for the simulator, rigs and tests: levels, dominant frequency, test tones, S16LE conversion.

/** RMS level in dBFS (full scale = 32768); -Infinity for silence. */
export function rmsDbfs(pcm: Int16Array): number {
  if (pcm.length === 0) return -Infinity;
  let sum = 0;
  for (const s of pcm) sum += s * s;
  const rms = Math.sqrt(sum / pcm.length);
  return rms === 0 ? -Infinity : 20 * Math.log10(rms / 32768);
}

/** Power of one frequency by the Goertzel recurrence (normalised by length). */
function goertzel(pcm: Int16Array, rate: number, hz: number): number {
  const w = (2 * Math.PI * hz) / rate;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (const x of pcm) {
    const s0 = x + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - c * s1 * s2) / (pcm.length * pcm.length);
}

/** The level of one frequency's component (RMS, dBFS, as rmsDbfs would give for that tone alone); -Infinity if none. */
export function toneDbfs(pcm: Int16Array, rate: number, hz: number): number {
  if (!pcm.length) return -Infinity;
  const amplitude = 2 * Math.sqrt(goertzel(pcm, rate, hz));
  return 20 * Math.log10(amplitude / Math.SQRT2 / 32767);
}

/**
 * The strongest frequency between 50 Hz and the Nyquist limit: a coarse 10 Hz scan, then a 1 Hz refinement
 * around the peak. Returns 0 for silence.
 */
export function dominantHz(pcm: Int16Array, rate: number): number {
  if (pcm.length < 32 || rmsDbfs(pcm) === -Infinity) return 0;
  const top = Math.floor(rate / 2) - 10;
  let best = 0;
  let bestP = -1;
  for (let f = 50; f <= top; f += 10) {
    const p = goertzel(pcm, rate, f);
    if (p > bestP) [best, bestP] = [f, p];
  }
  const coarse = best;
  for (let f = Math.max(50, coarse - 10); f <= Math.min(top, coarse + 10); f += 1) {
    const p = goertzel(pcm, rate, f);
    if (p > bestP) [best, bestP] = [f, p];
  }
  return best;
}

export interface ToneSpec {
  hz: number;
  ms: number;
  dbfs: number;
  rate: number;
}

/** A sine tone at `dbfs` (RMS), e.g. -20 dBFS. */
export function toneS16({ hz, ms, dbfs, rate }: ToneSpec): Int16Array {
  const n = Math.round((rate * ms) / 1000);
  const amp = 32768 * Math.SQRT2 * 10 ** (dbfs / 20);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(amp * Math.sin((2 * Math.PI * hz * i) / rate))));
  return out;
}

/** Little-endian signed 16-bit bytes to samples (copies; works for odd byte offsets). */
export function s16leToInt16(buf: Uint8Array): Int16Array {
  const n = buf.length >> 1;
  const out = new Int16Array(n);
  const dv = new DataView(buf.buffer, buf.byteOffset, n * 2);
  for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true);
  return out;
}

export function int16ToS16le(pcm: Int16Array): Buffer {
  const out = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) out.writeInt16LE(pcm[i], i * 2);
  return out;
}

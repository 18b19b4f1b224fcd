// ITU-T G.711 μ-law (PCMU) and A-law (PCMA), sample by sample, with decode tables built once per process (pure data).

const BIAS = 0x84;
const CLIP = 32635;

export function linearToUlaw(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, sample | 0));
  const sign = s < 0 ? 0x80 : 0;
  if (sign) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function ulawToLinear(u: number): number {
  const v = ~u & 0xff;
  const sign = v & 0x80;
  const exponent = (v >> 4) & 0x07;
  const mantissa = v & 0x0f;
  const s = (((mantissa << 3) + BIAS) << exponent) - BIAS;
  return sign ? 0 - s : s; // 0 - 0 is +0: both μ-law zeros decode to the same sample
}

export function linearToAlaw(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, sample | 0));
  const sign = s >= 0 ? 0x80 : 0;
  if (!sign) s = -s - 1;
  if (s > 32767) s = 32767;
  let out: number;
  if (s < 256) out = s >> 4;
  else {
    let exponent = 7;
    for (let mask = 0x4000; (s & mask) === 0 && exponent > 1; mask >>= 1) exponent--;
    out = (exponent << 4) | ((s >> (exponent + 3)) & 0x0f);
  }
  return (out | sign) ^ 0x55;
}

export function alawToLinear(a: number): number {
  const v = (a ^ 0x55) & 0xff;
  const sign = v & 0x80;
  const exponent = (v >> 4) & 0x07;
  const mantissa = v & 0x0f;
  let s = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  if (!sign) s = -s;
  return s;
}

const ULAW = Int16Array.from({ length: 256 }, (_, i) => ulawToLinear(i));
const ALAW = Int16Array.from({ length: 256 }, (_, i) => alawToLinear(i));

export type G711Codec = "PCMU" | "PCMA";

export function encodeG711(codec: G711Codec, pcm: Int16Array): Buffer {
  const out = Buffer.allocUnsafe(pcm.length);
  const f = codec === "PCMU" ? linearToUlaw : linearToAlaw;
  for (let i = 0; i < pcm.length; i++) out[i] = f(pcm[i]);
  return out;
}

export function decodeG711(codec: G711Codec, payload: Uint8Array): Int16Array {
  const table = codec === "PCMU" ? ULAW : ALAW;
  const out = new Int16Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = table[payload[i]];
  return out;
}

// G.722 wideband audio codec at 64 kbit/s (mode 1: 6 lower-band + 2 higher-band bits per octet), 16 kHz 16-bit PCM.
// Follows ITU-T G.722: transmit and receive QMF (clauses 3.1 and 4.4), the SB-ADPCM encoder and decoder (clauses 3
// and 4) in the fixed-point form of the computational details (clause 6: QUANTL, INVQAL, LOGSCL, SCALEL, block 4 ...),
// with 16-bit saturating arithmetic, so the octets and samples match the ITU-T G.191 reference code and spandsp.

// ---- Tables of the Recommendation ----

/** The 24 QMF coefficients h0..h23 (the QMF coefficient table, scaled by 2^13; symmetric, hi = h(23-i)). */
const QMF_COEFFS = [
  3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876, 3876, 951, -805, -210, 362, 32, -156, 12, 53, -11, -11, 3,
] as const;

/** Lower band, 60-level quantiser decision levels Q6(mL) for mL = 1..29 (index 0 unused; mL = 30 is "otherwise"). */
const Q6 = [
  0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339,
  1458, 1612, 1765, 1980, 2195, 2557, 2919,
] as const;

/** Lower band, 6-bit code word IL for a negative difference (SIL = -1), by quantiser interval mL = 1..30. */
const ILN = [
  0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4,
] as const;

/** Lower band, 6-bit code word IL for a non-negative difference (SIL = 0), by quantiser interval mL = 1..30. */
const ILP = [
  0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34,
  33, 32,
] as const;

/** Lower band, 6-bit inverse quantiser output magnitudes QQ6(mL), mL = 1..30 (mode 1 decoder, INVQBL). */
const QQ6 = [
  0, 17, 54, 91, 130, 170, 211, 254, 300, 347, 396, 447, 501, 558, 618, 682, 750, 822, 899, 982, 1072, 1170, 1279, 1399,
  1535, 1689, 1873, 2088, 2376, 2738, 3101,
] as const;

/** Lower band, 4-bit inverse quantiser output magnitudes QQ4(IL4), IL4 = 0..7 (INVQAL, used for adaptation). */
const QQ4 = [0, 150, 323, 530, 786, 1121, 1612, 2557] as const;

/** The 4-bit code word (IL >> 2) to its magnitude IL4 (the 4-bit code word conversion table); codes 1..7 are negative. */
const RIL4_TO_IL4 = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0] as const;

/** Lower band log scale factor multipliers WL(IL4) (LOGSCL). */
const WL = [-60, -30, 58, 172, 334, 538, 1198, 3042] as const;

/** Log-to-linear conversion ILB(0..31) for SCALEL/SCALEH: 2048 * 2^(i/32). */
const ILB = [
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025,
  3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
] as const;

/** Higher band, 4-level quantiser decision level Q2(1) (QUANTH). */
const Q2 = 564;
/** Higher band, 2-bit code word IH by interval mH = 1..2, for a negative (IHN) and a non-negative (IHP) difference. */
const IHN = [0, 1, 0] as const;
const IHP = [0, 3, 2] as const;
/** Higher band, inverse quantiser output magnitudes QQ2(mH), mH = 1..2 (INVQAH). */
const QQ2 = [0, 202, 926] as const;
/** Higher band, 2-bit code word IH to its interval mH (IH2); codes 0 and 1 are negative. */
const IH_TO_MH = [2, 1, 2, 1] as const;
/** Higher band log scale factor multipliers WH(mH) (LOGSCH). */
const WH = [0, -214, 798] as const;

/** Upper limits of the log scale factors NBL and NBH, and the initial (reset) step sizes DETL and DETH. */
const NBL_MAX = 18432;
const NBH_MAX = 22528;
const DETL_RESET = 32;
const DETH_RESET = 8;

// ---- Tables derived once from the above: code word -> signed inverse quantiser output (QQ << 3, with its sign) ----

/** INVQBL, mode 1: 6-bit IL -> +-QQ6 << 3. Code words 0..3 are never sent; the Recommendation maps them to -QQ6(1). */
const INVQ6 = new Int32Array(64).fill(-(QQ6[1] << 3));
for (let m = 1; m <= 30; m++) {
  INVQ6[ILN[m]] = -(QQ6[m] << 3);
  INVQ6[ILP[m]] = QQ6[m] << 3;
}
/** INVQAL: 4-bit (IL >> 2) -> +-QQ4 << 3. */
const INVQ4 = Int32Array.from(RIL4_TO_IL4, (il4, code) => (code >= 1 && code <= 7 ? -1 : 1) * (QQ4[il4] << 3));
/** LOGSCL: 4-bit (IL >> 2) -> WL(IL4). */
const WL_BY_CODE4 = Int32Array.from(RIL4_TO_IL4, (il4) => WL[il4]);
/** INVQAH: 2-bit IH -> +-QQ2 << 3. */
const INVQ2 = Int32Array.from(IH_TO_MH, (mh, ih) => (ih < 2 ? -1 : 1) * (QQ2[mh] << 3));
/** QUANTL decision levels Q6(mL) << 3, to be scaled by DETL. */
const Q6_SHIFTED = Int32Array.from(Q6, (q) => q << 3);
/** QMF coefficients split by parity: even taps h0, h2, .., h22 and odd taps h1, h3, .., h23. */
const H_EVEN = Int32Array.from({ length: 12 }, (_, i) => QMF_COEFFS[2 * i]);
const H_ODD = Int32Array.from({ length: 12 }, (_, i) => QMF_COEFFS[2 * i + 1]);

// ---- 16-bit operators (saturating add/sub, Q15 multiply) ----

/** Saturate to a 16-bit two's complement word. */
function sat16(x: number): number {
  return x > 32767 ? 32767 : x < -32768 ? -32768 : x;
}

/** LIMIT: clamp to the 15-bit range of a sub-band signal. */
function limit15(x: number): number {
  return x > 16383 ? 16383 : x < -16384 ? -16384 : x;
}

/** 16 x 16 multiply keeping the high word: (a * b) >> 15 (operands are 16-bit, never both -32768 here). */
function mult(a: number, b: number): number {
  return (a * b) >> 15;
}

/** SCALEL/SCALEH: the step size (DETL or DETH) from the log scale factor, ILB(nb bits 6..10) shifted by its exponent. */
function scale(nb: number, bias: number): number {
  const shift = bias - (nb >> 11);
  const wd = ILB[(nb >> 6) & 31];
  return (shift < 0 ? wd << -shift : wd >> shift) << 2;
}

/** The adaptive predictor state of one sub-band (block 4) plus its quantiser scale factor. */
class SubBand {
  /** Signal estimate SL/SH, and its pole (SP) and zero (SZ) parts. */
  s = 0;
  sp = 0;
  sz = 0;
  /** Log scale factor NBL/NBH and step size DETL/DETH. */
  nb = 0;
  det: number;
  /** Pole section coefficients A1, A2. */
  a1 = 0;
  a2 = 0;
  /** Zero section coefficients B1..B6 (index 0 unused). */
  readonly b = new Int32Array(7);
  /** Quantised difference DLT0..DLT6 (DLT0 is the current one). */
  readonly d = new Int32Array(7);
  /** Partially reconstructed signal P0..P2 and reconstructed signal R0..R2 (current, one and two samples ago). */
  p0 = 0;
  p1 = 0;
  p2 = 0;
  r0 = 0;
  r1 = 0;
  r2 = 0;

  constructor(private readonly detReset: number) {
    this.det = detReset;
  }

  reset(): void {
    this.s = this.sp = this.sz = this.nb = 0;
    this.det = this.detReset;
    this.a1 = this.a2 = 0;
    this.b.fill(0);
    this.d.fill(0);
    this.p0 = this.p1 = this.p2 = 0;
    this.r0 = this.r1 = this.r2 = 0;
  }

  /** Block 4: predictor adaptation and prediction from the quantised difference `dlt` (clause 3.6). */
  predict(dlt: number): void {
    const b = this.b;
    const d = this.d;
    d[0] = dlt;
    // RECONS and PARREC
    this.r0 = sat16(this.s + dlt);
    const p0 = sat16(dlt + this.sz);
    this.p0 = p0;

    // UPZERO: sign-sign update of the zero section with leakage 1 - 2^-8, and DELAYA of the difference line.
    const g = dlt === 0 ? 0 : 128;
    const neg0 = dlt < 0;
    for (let i = 6; i > 0; i--) {
      const step = d[i] < 0 === neg0 ? g : -g;
      b[i] = sat16(step + mult(b[i], 32640));
      d[i] = d[i - 1];
    }

    // UPPOL2: second pole coefficient, limited to +-0.75.
    const negP0 = p0 < 0;
    const negP1 = this.p1 < 0;
    const negP2 = this.p2 < 0;
    const wd1 = sat16(this.a1 * 4);
    let wd2 = negP0 === negP1 ? sat16(-wd1) : wd1;
    wd2 >>= 7;
    const wd3 = negP0 === negP2 ? 128 : -128;
    let a2 = sat16(sat16(wd2 + wd3) + mult(this.a2, 32512));
    if (a2 > 12288) a2 = 12288;
    else if (a2 < -12288) a2 = -12288;

    // UPPOL1: first pole coefficient, limited to +-(1 - 2^-4 - A2).
    let a1 = sat16((negP0 === negP1 ? 192 : -192) + mult(this.a1, 32640));
    const lim = sat16(15360 - a2);
    if (a1 > lim) a1 = lim;
    else if (a1 < -lim) a1 = -lim;
    this.a1 = a1;
    this.a2 = a2;
    this.p2 = this.p1;
    this.p1 = p0;

    // FILTEZ: zero section output from the delayed differences DLT1..DLT6.
    let sz = 0;
    for (let i = 6; i > 0; i--) sz = sat16(sz + mult(b[i], sat16(d[i] + d[i])));
    this.sz = sz;

    // FILTEP: pole section output from the delayed reconstructed signal.
    this.r2 = this.r1;
    this.r1 = this.r0;
    this.sp = sat16(mult(a1, sat16(this.r1 + this.r1)) + mult(a2, sat16(this.r2 + this.r2)));

    // PREDIC
    this.s = sat16(this.sp + sz);
  }

  /** Lower band INVQAL + LOGSCL + SCALEL + block 4, from the 6-bit code word (shared by encoder and decoder). */
  adaptLower(il: number): void {
    const code4 = il >> 2;
    const dlt = mult(this.det, INVQ4[code4]);
    let nb = mult(this.nb, 32512) + WL_BY_CODE4[code4];
    if (nb < 0) nb = 0;
    else if (nb > NBL_MAX) nb = NBL_MAX;
    this.nb = nb;
    this.det = scale(nb, 8);
    this.predict(dlt);
  }

  /** Higher band INVQAH + LOGSCH + SCALEH + block 4, from the 2-bit code word; returns the quantised difference DH. */
  adaptHigher(ih: number): number {
    const dh = mult(this.det, INVQ2[ih]);
    let nb = mult(this.nb, 32512) + WH[IH_TO_MH[ih]];
    if (nb < 0) nb = 0;
    else if (nb > NBH_MAX) nb = NBH_MAX;
    this.nb = nb;
    this.det = scale(nb, 10);
    this.predict(dh);
    return dh;
  }
}

/**
 * A QMF delay line of 12 taps, kept twice over so that the newest-first window is always contiguous:
 * sample k pairs back is at `buf[pos + k]`.
 */
class QmfLine {
  readonly buf = new Int32Array(24);
  pos = 0;

  push(x: number): void {
    this.pos = this.pos === 0 ? 11 : this.pos - 1;
    this.buf[this.pos] = x;
    this.buf[this.pos + 12] = x;
  }

  /** Sum over k of coeffs[k] * (sample k pairs back). */
  dot(coeffs: Int32Array): number {
    const buf = this.buf;
    const p = this.pos;
    let acc = 0;
    for (let k = 0; k < 12; k++) acc += coeffs[k] * buf[p + k];
    return acc;
  }

  reset(): void {
    this.buf.fill(0);
    this.pos = 0;
  }
}

/**
 * G.722 encoder, 64 kbit/s: 16 kHz 16-bit PCM in, one byte per two samples out. Keeps state between calls (one per
 * stream). An odd-length input leaves its last sample pending; it is encoded with the first sample of the next call.
 */
export class G722Encoder {
  private readonly lower = new SubBand(DETL_RESET);
  private readonly higher = new SubBand(DETH_RESET);
  /** Transmit QMF delay lines: the first (older) and second (newer) sample of each input pair. */
  private readonly odd = new QmfLine();
  private readonly even = new QmfLine();
  private pending = 0;
  private hasPending = false;

  encode(pcm16k: Int16Array): Uint8Array {
    const total = pcm16k.length + (this.hasPending ? 1 : 0);
    const out = new Uint8Array(total >> 1);
    let i = 0;
    let o = 0;
    if (this.hasPending && pcm16k.length > 0) {
      out[o++] = this.encodePair(this.pending, pcm16k[0]);
      this.hasPending = false;
      i = 1;
    }
    for (; i + 1 < pcm16k.length; i += 2) out[o++] = this.encodePair(pcm16k[i], pcm16k[i + 1]);
    if (i < pcm16k.length) {
      this.pending = pcm16k[i];
      this.hasPending = true;
    }
    return out;
  }

  reset(): void {
    this.lower.reset();
    this.higher.reset();
    this.odd.reset();
    this.even.reset();
    this.pending = 0;
    this.hasPending = false;
  }

  /** Encode one pair of 16 kHz samples (x1 the earlier) into one octet: IH in bits 7-6, IL in bits 5-0. */
  private encodePair(x1: number, x2: number): number {
    // Transmit QMF (clause 3.1): XA = sum h(2i) x(j-2i), XB = sum h(2i+1) x(j-2i-1); 16-bit input gives >> 14.
    this.even.push(x2);
    this.odd.push(x1);
    const xa = this.even.dot(H_EVEN);
    const xb = this.odd.dot(H_ODD);
    const xl = limit15((xa + xb) >> 14);
    const xh = limit15((xa - xb) >> 14);

    // Lower band: SUBTRA, QUANTL (60 levels), then the adaptation shared with the decoder.
    const lo = this.lower;
    const el = sat16(xl - lo.s);
    const mag = el >= 0 ? el : -el - 1;
    const det = lo.det;
    let ml = 1;
    while (ml < 30 && mag >= mult(Q6_SHIFTED[ml], det)) ml++;
    const il = el < 0 ? ILN[ml] : ILP[ml];
    lo.adaptLower(il);

    // Higher band: SUBTRA, QUANTH (4 levels), then INVQAH/LOGSCH/SCALEH/block 4.
    const hi = this.higher;
    const eh = sat16(xh - hi.s);
    const magh = eh >= 0 ? eh : -eh - 1;
    const mh = magh >= mult(Q2 << 3, hi.det) ? 2 : 1;
    const ih = eh < 0 ? IHN[mh] : IHP[mh];
    hi.adaptHigher(ih);

    return (ih << 6) | il;
  }
}

/** G.722 decoder, 64 kbit/s: one byte in, two 16 kHz samples out. */
export class G722Decoder {
  private readonly lower = new SubBand(DETL_RESET);
  private readonly higher = new SubBand(DETH_RESET);
  /** Receive QMF delay lines of XD = RL - RH and XS = RL + RH. */
  private readonly diff = new QmfLine();
  private readonly sum = new QmfLine();

  decode(bytes: Uint8Array): Int16Array {
    const out = new Int16Array(bytes.length * 2);
    const lo = this.lower;
    const hi = this.higher;
    for (let n = 0; n < bytes.length; n++) {
      const code = bytes[n];
      const il = code & 0x3f;
      const ih = code >> 6;

      // Lower band, mode 1: INVQBL with the 6-bit table, RECONS, LIMIT; then adaptation from the 4-bit part.
      const rl = limit15(sat16(lo.s + mult(lo.det, INVQ6[il])));
      lo.adaptLower(il);

      // Higher band: INVQAH, RECONS, LIMIT (block 4 keeps the reconstructed signal as R0).
      const sh = hi.s;
      const dh = hi.adaptHigher(ih);
      const rh = limit15(sat16(sh + dh));

      // Receive QMF (clause 4.4): xout(j) = 2 sum h(2i) xd(i), xout(j+1) = 2 sum h(2i+1) xs(i); >> 11 for 16-bit out.
      this.diff.push(sat16(rl - rh));
      this.sum.push(sat16(rl + rh));
      out[2 * n] = sat16(this.diff.dot(H_EVEN) >> 11);
      out[2 * n + 1] = sat16(this.sum.dot(H_ODD) >> 11);
    }
    return out;
  }

  reset(): void {
    this.lower.reset();
    this.higher.reset();
    this.diff.reset();
    this.sum.reset();
  }
}

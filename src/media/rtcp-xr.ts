// RTCP Extended Reports (RFC 3611): the XR packet (§2, packet type 207) carrying one VoIP Metrics Report Block
// (§4.7, block type 7), its parsing (alone or inside a compound packet, skipping other block types), and the burst/gap
// loss state machine of §4.7.2 / Appendix A.2 that feeds the block's density and duration fields.
// Pure: values go in and out in natural units (fractions, ms, dB, MOS); the wire scaling is done here.

export type PlcMode = "unspecified" | "disabled" | "enhanced" | "standard";

/**
 * One VoIP Metrics block (RFC 3611 §4.7), in natural units.
 *
 * Unavailable values: `signalLevelDbm`, `noiseLevelDbm`, `rerl`, `rFactor`, `extRFactor`, `mosLq` and `mosCq` are
 * `NaN` when unavailable (127 on the wire, §4.7.4-4.7.5); a value outside the field's valid range read from the wire
 * is treated the same way ("MUST be ignored"). `roundTripDelayMs` and `endSystemDelayMs` are 0 when not (yet) known,
 * as §4.7.3 requires.
 */
export interface VoipMetrics {
  /** The source these metrics are about. */
  ssrc: number;
  /** Fraction of packets lost since reception started, 0..1 (wire: 1/256 units, §4.7.1). */
  lossRate: number;
  /** Fraction of packets discarded (late/early) by the jitter buffer, 0..1. */
  discardRate: number;
  /** Fraction of packets lost or discarded within bursts, 0..1 (§4.7.2). */
  burstDensity: number;
  /** Fraction of packets lost or discarded within gaps, 0..1. */
  gapDensity: number;
  /** Mean burst duration, ms. */
  burstDurationMs: number;
  /** Mean gap duration, ms. */
  gapDurationMs: number;
  /** Most recent round-trip time, ms; 0 = not known (§4.7.3). */
  roundTripDelayMs: number;
  /** End-system delay (encoding, jitter buffer, decoding, playout), ms; 0 = not known. */
  endSystemDelayMs: number;
  /** Speech signal level, dBm0 (typically -15..-20); NaN = unavailable. */
  signalLevelDbm: number;
  /** Noise level during silence, dBm0; NaN = unavailable. */
  noiseLevelDbm: number;
  /** Residual echo return loss, dB; NaN = unavailable. */
  rerl: number;
  /** Gap threshold: consecutive received packets that end a burst (16 recommended). */
  gmin: number;
  /** R factor 0..100 for this RTP segment; NaN = unavailable. */
  rFactor: number;
  /** External R factor 0..100 (the other segment, e.g. beyond a gateway); NaN = unavailable. */
  extRFactor: number;
  /** Listening-quality MOS 1.0..5.0 (wire: MOS x 10); NaN = unavailable. */
  mosLq: number;
  /** Conversational-quality MOS 1.0..5.0; NaN = unavailable. */
  mosCq: number;
  rxConfig: {
    plc: PlcMode;
    /** Jitter buffer is adaptive (wire JBA 3) or fixed (JBA 2); an "unknown" (0) on the wire reads as false. */
    jitterBufferAdaptive: boolean;
    /** Implementation-specific adjustment rate, 0..15 (0 when not applicable). */
    jitterBufferRate: number;
  };
  /** Nominal (current) jitter buffer delay, ms. */
  jbNominalMs: number;
  /** Current maximum jitter buffer delay, ms. */
  jbMaximumMs: number;
  /** Absolute maximum delay the adaptive buffer can reach, ms. */
  jbAbsMaxMs: number;
}

export interface XrReport {
  senderSsrc: number;
  voip: VoipMetrics[];
}

export const RTCP_PT_XR = 207;
export const XR_BT_VOIP_METRICS = 7;
/** Block length field of a VoIP Metrics block: 36 bytes = 9 words, minus one. */
const VOIP_BLOCK_LENGTH = 8;
const VOIP_BLOCK_BYTES = (VOIP_BLOCK_LENGTH + 1) * 4;
const XR_HEADER_BYTES = 8;
const BLOCK_HEADER_BYTES = 4;
const RTP_VERSION = 2;
/** "This parameter is unavailable" for signal, noise, RERL, R factors and MOS (§4.7.4-4.7.5). */
export const XR_UNAVAILABLE = 127;
/** Recommended gap threshold (§4.7.2). */
export const DEFAULT_GMIN = 16;
/** Rates and densities are fixed point with the binary point at the left edge: units of 1/256. */
const FRACTION_SCALE = 256;
const FRACTION_MAX = 255;
const MOS_SCALE = 10;
const MOS_MIN_WIRE = 10;
const MOS_MAX_WIRE = 50;
const R_MAX = 100;
const U16_MAX = 0xffff;

/** RX config bits (§4.7.6): PLC in bits 7-6, JBA in bits 5-4, JB rate in bits 3-0. */
const PLC_CODES: Record<PlcMode, number> = { unspecified: 0, disabled: 1, enhanced: 2, standard: 3 };
const PLC_BY_CODE: PlcMode[] = ["unspecified", "disabled", "enhanced", "standard"];
const JBA_NON_ADAPTIVE = 2;
const JBA_ADAPTIVE = 3;
const JB_RATE_MAX = 15;

const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));

/** A 0..1 fraction as 1/256 units: times 256, at most 255, integer part (§4.7.1). */
function fraction8(f: number): number {
  return Number.isFinite(f) ? clamp(Math.floor(f * FRACTION_SCALE), 0, FRACTION_MAX) : 0;
}

function u16(v: number): number {
  return Number.isFinite(v) ? clamp(Math.round(v), 0, U16_MAX) : 0;
}

/** A signed dB level (signal, noise): NaN -> 127; otherwise -128..126 (127 is taken). */
function level8(v: number): number {
  return Number.isFinite(v) ? clamp(Math.round(v), -128, XR_UNAVAILABLE - 1) : XR_UNAVAILABLE;
}

function rerl8(v: number): number {
  return Number.isFinite(v) ? clamp(Math.round(v), 0, XR_UNAVAILABLE - 1) : XR_UNAVAILABLE;
}

function r8(v: number): number {
  return Number.isFinite(v) ? clamp(Math.round(v), 0, R_MAX) : XR_UNAVAILABLE;
}

function mos8(v: number): number {
  return Number.isFinite(v) ? clamp(Math.round(v * MOS_SCALE), MOS_MIN_WIRE, MOS_MAX_WIRE) : XR_UNAVAILABLE;
}

function voipBlock(m: VoipMetrics): Buffer {
  const b = Buffer.alloc(VOIP_BLOCK_BYTES);
  b[0] = XR_BT_VOIP_METRICS;
  b.writeUInt16BE(VOIP_BLOCK_LENGTH, 2);
  b.writeUInt32BE(m.ssrc >>> 0, 4);
  b[8] = fraction8(m.lossRate);
  b[9] = fraction8(m.discardRate);
  b[10] = fraction8(m.burstDensity);
  b[11] = fraction8(m.gapDensity);
  b.writeUInt16BE(u16(m.burstDurationMs), 12);
  b.writeUInt16BE(u16(m.gapDurationMs), 14);
  b.writeUInt16BE(u16(m.roundTripDelayMs), 16);
  b.writeUInt16BE(u16(m.endSystemDelayMs), 18);
  b.writeInt8(level8(m.signalLevelDbm), 20);
  b.writeInt8(level8(m.noiseLevelDbm), 21);
  b[22] = rerl8(m.rerl);
  b[23] = Number.isFinite(m.gmin) ? clamp(Math.round(m.gmin), 0, 255) : DEFAULT_GMIN;
  b[24] = r8(m.rFactor);
  b[25] = r8(m.extRFactor);
  b[26] = mos8(m.mosLq);
  b[27] = mos8(m.mosCq);
  const rate = Number.isFinite(m.rxConfig.jitterBufferRate) ? clamp(Math.round(m.rxConfig.jitterBufferRate), 0, JB_RATE_MAX) : 0;
  b[28] = (PLC_CODES[m.rxConfig.plc] << 6) | ((m.rxConfig.jitterBufferAdaptive ? JBA_ADAPTIVE : JBA_NON_ADAPTIVE) << 4) | rate;
  b.writeUInt16BE(u16(m.jbNominalMs), 30);
  b.writeUInt16BE(u16(m.jbMaximumMs), 32);
  b.writeUInt16BE(u16(m.jbAbsMaxMs), 34);
  return b;
}

/** An XR packet (V=2, PT=207) from `senderSsrc` with one VoIP Metrics block. */
export function buildXrVoip(senderSsrc: number, m: VoipMetrics): Buffer {
  const head = Buffer.alloc(XR_HEADER_BYTES);
  head[0] = RTP_VERSION << 6;
  head[1] = RTCP_PT_XR;
  head.writeUInt16BE((XR_HEADER_BYTES + VOIP_BLOCK_BYTES) / 4 - 1, 2);
  head.writeUInt32BE(senderSsrc >>> 0, 4);
  return Buffer.concat([head, voipBlock(m)]);
}

function readLevel(v: number): number {
  return v === XR_UNAVAILABLE ? NaN : v;
}

function readR(v: number): number {
  return v > R_MAX ? NaN : v;
}

function readMos(v: number): number {
  return v < MOS_MIN_WIRE || v > MOS_MAX_WIRE ? NaN : v / MOS_SCALE;
}

function readVoip(b: Buffer, p: number): VoipMetrics {
  const rx = b[p + 28];
  return {
    ssrc: b.readUInt32BE(p + 4),
    lossRate: b[p + 8] / FRACTION_SCALE,
    discardRate: b[p + 9] / FRACTION_SCALE,
    burstDensity: b[p + 10] / FRACTION_SCALE,
    gapDensity: b[p + 11] / FRACTION_SCALE,
    burstDurationMs: b.readUInt16BE(p + 12),
    gapDurationMs: b.readUInt16BE(p + 14),
    roundTripDelayMs: b.readUInt16BE(p + 16),
    endSystemDelayMs: b.readUInt16BE(p + 18),
    signalLevelDbm: readLevel(b.readInt8(p + 20)),
    noiseLevelDbm: readLevel(b.readInt8(p + 21)),
    rerl: readLevel(b[p + 22]),
    gmin: b[p + 23],
    rFactor: readR(b[p + 24]),
    extRFactor: readR(b[p + 25]),
    mosLq: readMos(b[p + 26]),
    mosCq: readMos(b[p + 27]),
    rxConfig: { plc: PLC_BY_CODE[rx >> 6], jitterBufferAdaptive: ((rx >> 4) & 3) === JBA_ADAPTIVE, jitterBufferRate: rx & 0x0f },
    jbNominalMs: b.readUInt16BE(p + 30),
    jbMaximumMs: b.readUInt16BE(p + 32),
    jbAbsMaxMs: b.readUInt16BE(p + 34),
  };
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * The XR packet at the start of `packet` (anything after its declared length is ignored): its sender and VoIP Metrics
 * blocks; other block types are skipped by their length. Null when it is not an XR packet or is malformed (wrong
 * version, a length or block running past the data, bad padding, a VoIP block too short).
 */
export function parseXr(packet: Uint8Array): XrReport | null {
  const b = asBuffer(packet);
  if (b.length < XR_HEADER_BYTES || b[0] >> 6 !== RTP_VERSION || b[1] !== RTCP_PT_XR) return null;
  const len = (b.readUInt16BE(2) + 1) * 4;
  if (len < XR_HEADER_BYTES || len > b.length) return null;
  let end = len;
  if (b[0] & 0x20) {
    const pad = b[len - 1];
    if (pad === 0 || len - pad < XR_HEADER_BYTES) return null;
    end = len - pad;
  }
  const voip: VoipMetrics[] = [];
  let p = XR_HEADER_BYTES;
  while (p < end) {
    if (p + BLOCK_HEADER_BYTES > end) return null;
    const blockBytes = (b.readUInt16BE(p + 2) + 1) * 4;
    if (p + blockBytes > end) return null;
    if (b[p] === XR_BT_VOIP_METRICS) {
      if (blockBytes < VOIP_BLOCK_BYTES) return null;
      voip.push(readVoip(b, p));
    }
    p += blockBytes;
  }
  return { senderSsrc: b.readUInt32BE(4), voip };
}

/**
 * The XR packets of a compound RTCP packet (SR/RR, SDES, BYE... are walked past). The walk stops at the first packet
 * whose header is not RTCP v2 or whose length runs past the data; a malformed XR packet is skipped.
 */
export function findXr(compound: Uint8Array): XrReport[] {
  const b = asBuffer(compound);
  const out: XrReport[] = [];
  let off = 0;
  while (off + 4 <= b.length) {
    if (b[off] >> 6 !== RTP_VERSION) break;
    const len = (b.readUInt16BE(off + 2) + 1) * 4;
    if (off + len > b.length) break;
    if (b[off + 1] === RTCP_PT_XR) {
      const xr = parseXr(b.subarray(off, off + len));
      if (xr) out.push(xr);
    }
    off += len;
  }
  return out;
}

export interface BurstGapDensities {
  /** Fraction of packets lost within bursts, 0..1. */
  burstDensity: number;
  /** Fraction of packets lost within gaps, 0..1. */
  gapDensity: number;
  /** Mean burst duration, ms. */
  burstDurationMs: number;
  /** Mean gap duration, ms. */
  gapDurationMs: number;
}

/**
 * Burst/gap loss per RFC 3611 §4.7.2, with the transition counting of Appendix A.2. A burst is the longest run that
 * starts and ends with a lost (or discarded) packet and holds no `gmin` consecutive received packets; the rest is gap.
 * States: 1 received in a gap, 2 received in a burst, 3 lost in a burst, 4 lost in a gap (isolated); cXY counts the
 * transitions X -> Y. A received run is only counted when the next loss ends it (as in the appendix), so the current
 * run of received packets does not show until then. With no burst at all, the whole reception is one gap.
 */
export class BurstGapTracker {
  private c11 = 0;
  private c13 = 0;
  private c14 = 0;
  private c22 = 0;
  private c23 = 0;
  private c33 = 0;
  /** Received packets since the last loss. */
  private pkt = 0;
  /** Losses in the current burst. */
  private lostInBurst = 0;
  private total = 0;

  /** `frameMs`: the audio in one RTP packet (frame duration x frames per packet). */
  constructor(
    readonly frameMs = 20,
    readonly gmin = DEFAULT_GMIN,
  ) {}

  /** The next packet in sequence order was received (true) or lost / discarded (false). */
  packet(received: boolean): void {
    this.total++;
    if (received) {
      this.pkt++;
      return;
    }
    if (this.pkt >= this.gmin) {
      // a gap of at least gmin received packets ends here; the burst before it was a lone loss -> isolated gap loss
      if (this.lostInBurst === 1) this.c14++;
      else this.c13++;
      this.lostInBurst = 1;
      this.c11 += this.pkt;
    } else {
      this.lostInBurst++;
      if (this.pkt === 0) this.c33++;
      else {
        this.c23++;
        this.c22 += this.pkt - 1;
      }
    }
    this.pkt = 0;
  }

  densities(): BurstGapDensities {
    const c31 = this.c13;
    const c32 = this.c23;
    const ctotal = this.c11 + this.c14 + this.c13 + this.c22 + this.c23 + c31 + c32 + this.c33;
    const intoBurstLost = c31 + c32 + this.c33;
    let burstDensity = 0;
    if (intoBurstLost > 0) {
      const p32 = c32 / intoBurstLost;
      const p23 = this.c22 + this.c23 < 1 ? 1 : 1 - this.c22 / (this.c22 + this.c23);
      burstDensity = p23 / (p23 + p32);
    }
    const gapDensity = this.c11 + this.c14 > 0 ? this.c14 / (this.c11 + this.c14) : 0;
    if (this.c13 === 0) return { burstDensity, gapDensity, burstDurationMs: 0, gapDurationMs: this.total * this.frameMs };
    const gapDurationMs = ((this.c11 + this.c14 + this.c13) * this.frameMs) / this.c13;
    const burstDurationMs = (ctotal * this.frameMs) / this.c13 - gapDurationMs;
    return { burstDensity, gapDensity, burstDurationMs, gapDurationMs };
  }
}

// RTCP (RFC 3550 §6): sender and receiver reports with an SDES CNAME in one compound packet, their parsing, and the
// receiver-side statistics behind a report block (§A.3 loss, §A.8 interarrival jitter), plus round-trip time from
// LSR/DLSR (§6.4.1). Pure: times are passed in.

export interface ReportBlock {
  ssrc: number;
  /** Fraction lost since the last report, 0..1. */
  fractionLost: number;
  cumulativeLost: number;
  /** Extended highest sequence number received. */
  highestSeq: number;
  /** Interarrival jitter, in timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP time of the last SR received from that source (0 = none). */
  lsr: number;
  /** Delay since that SR, in 1/65536 s. */
  dlsr: number;
}

export interface SenderInfo {
  /** NTP time of sending, as ms since the Unix epoch. */
  ntpMs: number;
  rtpTimestamp: number;
  packets: number;
  octets: number;
}

export interface RtcpReport {
  type: "sr" | "rr";
  ssrc: number;
  sender?: SenderInfo;
  reports: ReportBlock[];
}

const NTP_EPOCH_OFFSET_S = 2208988800; // 1900 -> 1970

/** NTP 64-bit time (seconds, fraction) for a wall-clock ms. */
function ntp(ms: number): { sec: number; frac: number } {
  const s = Math.floor(ms / 1000);
  return { sec: (s + NTP_EPOCH_OFFSET_S) >>> 0, frac: Math.floor(((ms - s * 1000) / 1000) * 2 ** 32) >>> 0 };
}

/** The middle 32 bits of the NTP time of `ms` (what LSR carries). */
export function ntpMiddle(ms: number): number {
  const t = ntp(ms);
  return ((t.sec & 0xffff) * 65536 + (t.frac >>> 16)) >>> 0;
}

function block(b: ReportBlock): Buffer {
  const out = Buffer.alloc(24);
  out.writeUInt32BE(b.ssrc >>> 0, 0);
  out[4] = Math.max(0, Math.min(255, Math.floor(b.fractionLost * 256)));
  out.writeIntBE(Math.max(-0x800000, Math.min(0x7fffff, b.cumulativeLost)), 5, 3);
  out.writeUInt32BE(b.highestSeq >>> 0, 8);
  out.writeUInt32BE(Math.max(0, Math.round(b.jitter)) >>> 0, 12);
  out.writeUInt32BE(b.lsr >>> 0, 16);
  out.writeUInt32BE(b.dlsr >>> 0, 20);
  return out;
}

function sdesCname(ssrc: number, cname: string): Buffer {
  const text = Buffer.from(cname.slice(0, 255), "utf8");
  const itemLen = 2 + text.length + 1; // CNAME item + the null that ends the list
  const chunkLen = 4 + itemLen;
  const padded = Math.ceil(chunkLen / 4) * 4;
  const out = Buffer.alloc(4 + padded);
  out[0] = 0x81; // V=2, one chunk
  out[1] = 202;
  out.writeUInt16BE(padded / 4, 2);
  out.writeUInt32BE(ssrc >>> 0, 4);
  out[8] = 1; // CNAME
  out[9] = text.length;
  text.copy(out, 10);
  return out;
}

/** A compound RTCP packet: SR (when `sender` is given) or RR, then SDES CNAME. */
export function buildRtcp(ssrc: number, cname: string, reports: ReportBlock[], sender?: SenderInfo): Buffer {
  const blocks = reports.slice(0, 31).map(block);
  const head = Buffer.alloc(sender ? 28 : 8);
  head[0] = 0x80 | blocks.length;
  head[1] = sender ? 200 : 201;
  head.writeUInt16BE((head.length + blocks.length * 24) / 4 - 1, 2);
  head.writeUInt32BE(ssrc >>> 0, 4);
  if (sender) {
    const t = ntp(sender.ntpMs);
    head.writeUInt32BE(t.sec, 8);
    head.writeUInt32BE(t.frac, 12);
    head.writeUInt32BE(sender.rtpTimestamp >>> 0, 16);
    head.writeUInt32BE(sender.packets >>> 0, 20);
    head.writeUInt32BE(sender.octets >>> 0, 24);
  }
  return Buffer.concat([head, ...blocks, sdesCname(ssrc, cname)]);
}

/** The SR and RR packets of a compound RTCP packet; anything else (SDES, BYE, XR, garbage) is skipped. */
export function parseRtcp(b: Buffer): RtcpReport[] {
  const out: RtcpReport[] = [];
  let off = 0;
  while (off + 4 <= b.length) {
    if (b[off] >> 6 !== 2) break;
    const count = b[off] & 0x1f;
    const pt = b[off + 1];
    const len = (b.readUInt16BE(off + 2) + 1) * 4;
    if (off + len > b.length) break;
    if ((pt === 200 || pt === 201) && len >= 8) {
      const ssrc = b.readUInt32BE(off + 4);
      let p = off + 8;
      let sender: SenderInfo | undefined;
      if (pt === 200 && len >= 28) {
        const sec = b.readUInt32BE(p);
        const frac = b.readUInt32BE(p + 4);
        sender = { ntpMs: (sec - NTP_EPOCH_OFFSET_S) * 1000 + (frac / 2 ** 32) * 1000, rtpTimestamp: b.readUInt32BE(p + 8), packets: b.readUInt32BE(p + 12), octets: b.readUInt32BE(p + 16) };
        p += 20;
      }
      const reports: ReportBlock[] = [];
      for (let i = 0; i < count && p + 24 <= off + len; i++, p += 24)
        reports.push({ ssrc: b.readUInt32BE(p), fractionLost: b[p + 4] / 256, cumulativeLost: b.readIntBE(p + 5, 3), highestSeq: b.readUInt32BE(p + 8), jitter: b.readUInt32BE(p + 12), lsr: b.readUInt32BE(p + 16), dlsr: b.readUInt32BE(p + 20) });
      out.push({ type: pt === 200 ? "sr" : "rr", ssrc, ...(sender ? { sender } : {}), reports });
    }
    off += len;
  }
  return out;
}

/** What a receiver knows of one source, per RFC 3550 §A.1, §A.3 and §A.8. */
export class ReceiverStats {
  private baseSeq = -1;
  private maxSeq = 0;
  private cycles = 0;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private transit: number | null = null;
  /** Interarrival jitter in timestamp units. */
  jitter = 0;
  private lastSr: { middle: number; atMs: number } | null = null;

  constructor(
    readonly ssrc: number,
    private readonly rate: number,
  ) {}

  /** A packet arrived at `arrivalMs` (monotonic ms) with this sequence number and timestamp. */
  packet(seq: number, timestamp: number, arrivalMs: number): void {
    if (this.baseSeq < 0) {
      this.baseSeq = seq;
      this.maxSeq = seq;
    } else {
      const delta = (seq - this.maxSeq) & 0xffff;
      if (delta > 0 && delta < 0x8000) {
        if (seq < this.maxSeq) this.cycles += 0x10000;
        this.maxSeq = seq;
      }
    }
    this.received++;
    const arrival = (arrivalMs * this.rate) / 1000;
    const transit = arrival - timestamp;
    if (this.transit !== null) {
      let d = Math.abs(transit - this.transit);
      if (d > 0x7fffffff) d = Math.abs(d - 2 ** 32);
      this.jitter += (d - this.jitter) / 16;
    }
    this.transit = transit;
  }

  /** The far end's SR arrived (for LSR/DLSR in our next report). */
  senderReport(ntpMs: number, atMs: number): void {
    this.lastSr = { middle: ntpMiddle(ntpMs), atMs };
  }

  /** Packets lost so far (expected minus received), without starting a new report interval. */
  lost(): number {
    return this.baseSeq < 0 ? 0 : this.cycles + this.maxSeq - this.baseSeq + 1 - this.received;
  }

  /** The report block for our next SR/RR, at monotonic `nowMs`. */
  report(nowMs: number): ReportBlock {
    const extMax = this.cycles + this.maxSeq;
    const expected = this.baseSeq < 0 ? 0 : extMax - this.baseSeq + 1;
    const lost = expected - this.received;
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    return {
      ssrc: this.ssrc,
      fractionLost: expectedInterval <= 0 || lostInterval <= 0 ? 0 : lostInterval / expectedInterval,
      cumulativeLost: lost,
      highestSeq: extMax >>> 0,
      jitter: this.jitter,
      lsr: this.lastSr?.middle ?? 0,
      dlsr: this.lastSr ? Math.round(((nowMs - this.lastSr.atMs) / 1000) * 65536) : 0,
    };
  }
}

/** Round-trip time (ms) from a report block about us, received at wall-clock `nowWallMs` (RFC 3550 §6.4.1). */
export function roundTripMs(b: ReportBlock, nowWallMs: number): number | null {
  if (!b.lsr) return null;
  const a = ntpMiddle(nowWallMs);
  const rtt = (a - b.lsr - b.dlsr) >>> 0;
  if (rtt > 0x7fffffff) return null;
  return (rtt / 65536) * 1000;
}

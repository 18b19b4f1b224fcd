// RTP fixed header (RFC 3550 §5.1): build and parse. CSRCs and header extensions are skipped on parse.

export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  payload: Uint8Array;
}

export function buildRtp(p: RtpPacket): Buffer {
  const b = Buffer.allocUnsafe(12 + p.payload.length);
  b[0] = 0x80;
  b[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  b.writeUInt16BE(p.sequence & 0xffff, 2);
  b.writeUInt32BE(p.timestamp >>> 0, 4);
  b.writeUInt32BE(p.ssrc >>> 0, 8);
  b.set(p.payload, 12);
  return b;
}

/** Parses an RTP packet; null for anything that is not RTP version 2 (RTCP on the same port, noise). */
export function parseRtp(b: Buffer): RtpPacket | null {
  if (b.length < 12 || b[0] >> 6 !== 2) return null;
  const pt = b[1] & 0x7f;
  if (pt >= 72 && pt <= 76) return null; // RTCP SR/RR/SDES/BYE/APP (RFC 5761 §4)
  const cc = b[0] & 0x0f;
  let off = 12 + cc * 4;
  if (b[0] & 0x10) {
    if (b.length < off + 4) return null;
    off += 4 + b.readUInt16BE(off + 2) * 4;
  }
  let end = b.length;
  if (b[0] & 0x20) end -= b[b.length - 1];
  if (off > end) return null;
  return { payloadType: pt, marker: (b[1] & 0x80) !== 0, sequence: b.readUInt16BE(2), timestamp: b.readUInt32BE(4), ssrc: b.readUInt32BE(8), payload: b.subarray(off, end) };
}

/** RFC 4733 telephone-event payload: event, end bit, volume, duration (timestamp units). */
export function dtmfPayload(event: number, end: boolean, volume: number, duration: number): Buffer {
  const b = Buffer.alloc(4);
  b[0] = event;
  b[1] = (end ? 0x80 : 0) | (volume & 0x3f);
  b.writeUInt16BE(Math.min(0xffff, duration), 2);
  return b;
}

export const DTMF_EVENTS: Readonly<Record<string, number>> = { "0": 0, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9, "*": 10, "#": 11, A: 12, B: 13, C: 14, D: 15 };

// SRTP and SRTCP (RFC 3711) with the AES_CM_128_HMAC_SHA1_80 suite: AES-CM PRF key derivation with kdr 0 (§4.3),
// AES counter mode (§4.1.1), 80-bit HMAC-SHA1 tags (§4.2.1), implicit index estimation (§3.3.1, Appendix A),
// 64-packet replay windows (§3.3.2) and SRTCP with an explicit E flag + 31-bit index (§3.4). No MKI.
import { createCipheriv, createHmac, createSecretKey, timingSafeEqual } from "node:crypto";
import type { Cipher, KeyObject } from "node:crypto";

export const MASTER_KEY_LENGTH = 16;
export const MASTER_SALT_LENGTH = 14;
export const SESSION_KEY_LENGTH = 16;
export const SESSION_SALT_LENGTH = 14;
export const SESSION_AUTH_KEY_LENGTH = 20;
/** HMAC-SHA1 truncated to 80 bits (the "_80" of the suite name). */
export const AUTH_TAG_LENGTH = 10;
/** Replay list size (§3.3.2 requires at least 64). */
export const REPLAY_WINDOW_SIZE = 64;

/** Key derivation labels (§4.3.1, §4.3.2). */
export const KDF_LABEL = {
  rtpEncryption: 0x00,
  rtpAuth: 0x01,
  rtpSalt: 0x02,
  rtcpEncryption: 0x03,
  rtcpAuth: 0x04,
  rtcpSalt: 0x05,
} as const;

const AES_BLOCK_LENGTH = 16;
/** The low 16 bits of the AES-CM counter block count blocks within one packet. */
const MAX_KEYSTREAM_BLOCKS = 0x10000;
/** Byte of the 14-byte master salt that the label is XORed into: key_id = label || (index DIV kdr), 1 + 6 bytes, right-aligned. */
const KDF_LABEL_OFFSET = 7;
const RTP_FIXED_HEADER_LENGTH = 12;
const RTP_CSRC_COUNT_MASK = 0x0f;
const RTP_EXTENSION_BIT = 0x10;
const RTP_EXTENSION_HEADER_LENGTH = 4;
const RTCP_UNENCRYPTED_PREFIX_LENGTH = 8; // header word + sender SSRC stay in the clear (§3.4)
const SRTCP_INDEX_FIELD_LENGTH = 4;
const SRTCP_E_FLAG = 0x80000000;
const SRTCP_INDEX_MASK = 0x7fffffff;
const SRTCP_INDEX_LIMIT = 0x80000000; // 2^31: the sender must re-key before the index wraps (§3.4, §9.2)
const ROC_FIELD_LENGTH = 4;
const SEQ_MODULUS = 0x10000;
const HALF_SEQ_RANGE = 0x8000;
const ROC_MODULUS = 0x100000000;

export interface SrtpMasterKey {
  /** 16-byte master key. */
  key: Uint8Array;
  /** 14-byte master salt. */
  salt: Uint8Array;
}

export interface SessionKeys {
  encryptionKey: Buffer;
  authKey: Buffer;
  salt: Buffer;
}

export type SrtpErrorReason = "auth" | "replay" | "short";

/** What unprotectRtp/unprotectRtcp return instead of a packet; the packet must be dropped. */
export interface SrtpError {
  readonly error: true;
  readonly reason: SrtpErrorReason;
  readonly message: string;
}

export function isSrtpError(x: unknown): x is SrtpError {
  return typeof x === "object" && x !== null && !Buffer.isBuffer(x) && (x as { error?: unknown }).error === true;
}

/** Counters over RTP and RTCP together. */
export interface SrtpStats {
  protected: number;
  unprotected: number;
  authFailures: number;
  replays: number;
  short: number;
}

/** AES in counter mode on one long-lived AES-128-ECB cipher object: no per-packet key schedule. */
class AesCounterMode {
  private readonly ecb: Cipher;
  private counterBlocks = Buffer.alloc(0);

  constructor(key: Uint8Array) {
    this.ecb = createCipheriv("aes-128-ecb", key, null);
    this.ecb.setAutoPadding(false);
  }

  /** At least `length` bytes of keystream from counter block `iv`, whose low 16 bits count the blocks. */
  keystream(iv: Uint8Array, length: number): Buffer {
    const blocks = Math.ceil(length / AES_BLOCK_LENGTH);
    const firstCounter = (iv[14] << 8) | iv[15];
    if (firstCounter + blocks > MAX_KEYSTREAM_BLOCKS) throw new RangeError(`AES-CM: ${length} bytes is more keystream than one IV allows`);
    const bytes = blocks * AES_BLOCK_LENGTH;
    if (this.counterBlocks.length < bytes) this.counterBlocks = Buffer.alloc(bytes);
    const counters = this.counterBlocks;
    const prefix = iv.subarray(0, 14);
    for (let b = 0, off = 0; b < blocks; b++, off += AES_BLOCK_LENGTH) {
      counters.set(prefix, off);
      const counter = firstCounter + b;
      counters[off + 14] = counter >>> 8;
      counters[off + 15] = counter & 0xff;
    }
    return this.ecb.update(counters.subarray(0, bytes));
  }
}

/** AES-CM keystream (§4.1.1) of exactly `length` bytes from a 16-byte initial counter block. */
export function aesCmKeystream(key: Uint8Array, iv: Uint8Array, length: number): Buffer {
  return new AesCounterMode(key).keystream(iv, length).subarray(0, length);
}

/** The AES-CM IV of §4.1.1: (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), written into `out` (16 bytes). */
export function aesCmIv(sessionSalt: Uint8Array, ssrc: number, index: number, out: Uint8Array = new Uint8Array(AES_BLOCK_LENGTH)): Uint8Array {
  out.set(sessionSalt.subarray(0, SESSION_SALT_LENGTH), 0);
  out[14] = 0;
  out[15] = 0;
  out[4] ^= ssrc >>> 24;
  out[5] ^= (ssrc >>> 16) & 0xff;
  out[6] ^= (ssrc >>> 8) & 0xff;
  out[7] ^= ssrc & 0xff;
  const high = Math.floor(index / ROC_MODULUS); // top 16 bits of the 48-bit index
  const low = index >>> 0;
  out[8] ^= (high >>> 8) & 0xff;
  out[9] ^= high & 0xff;
  out[10] ^= low >>> 24;
  out[11] ^= (low >>> 16) & 0xff;
  out[12] ^= (low >>> 8) & 0xff;
  out[13] ^= low & 0xff;
  return out;
}

/** The AES-CM PRF of §4.3.1/§4.3.3 with key_derivation_rate 0, so (index DIV kdr) is zero. */
export function deriveKey(masterKey: Uint8Array, masterSalt: Uint8Array, label: number, length: number): Buffer {
  checkMasterKey({ key: masterKey, salt: masterSalt });
  const iv = new Uint8Array(AES_BLOCK_LENGTH);
  iv.set(masterSalt, 0);
  iv[KDF_LABEL_OFFSET] ^= label;
  return Buffer.from(aesCmKeystream(masterKey, iv, length));
}

/** Session keys for SRTP (labels 0, 1, 2) and SRTCP (labels 3, 4, 5). */
export function deriveSessionKeys(masterKey: Uint8Array, masterSalt: Uint8Array): { rtp: SessionKeys; rtcp: SessionKeys } {
  const derive = (label: number, length: number) => deriveKey(masterKey, masterSalt, label, length);
  return {
    rtp: {
      encryptionKey: derive(KDF_LABEL.rtpEncryption, SESSION_KEY_LENGTH),
      authKey: derive(KDF_LABEL.rtpAuth, SESSION_AUTH_KEY_LENGTH),
      salt: derive(KDF_LABEL.rtpSalt, SESSION_SALT_LENGTH),
    },
    rtcp: {
      encryptionKey: derive(KDF_LABEL.rtcpEncryption, SESSION_KEY_LENGTH),
      authKey: derive(KDF_LABEL.rtcpAuth, SESSION_AUTH_KEY_LENGTH),
      salt: derive(KDF_LABEL.rtcpSalt, SESSION_SALT_LENGTH),
    },
  };
}

function checkMasterKey(m: SrtpMasterKey): void {
  if (m.key?.length !== MASTER_KEY_LENGTH) throw new RangeError(`SRTP master key must be ${MASTER_KEY_LENGTH} bytes, got ${m.key?.length}`);
  if (m.salt?.length !== MASTER_SALT_LENGTH) throw new RangeError(`SRTP master salt must be ${MASTER_SALT_LENGTH} bytes, got ${m.salt?.length}`);
}

/** One set of session keys, with the cipher and HMAC key objects built once. */
class Transform {
  private readonly cm: AesCounterMode;
  private readonly authKey: KeyObject;
  private readonly salt: Buffer;
  private readonly iv = new Uint8Array(AES_BLOCK_LENGTH);

  constructor(keys: SessionKeys) {
    this.cm = new AesCounterMode(keys.encryptionKey);
    this.authKey = createSecretKey(keys.authKey);
    this.salt = keys.salt;
  }

  /** dst[start, end) = src[start, end) XOR keystream(ssrc, index). */
  crypt(ssrc: number, index: number, src: Uint8Array, start: number, end: number, dst: Uint8Array): void {
    const n = end - start;
    if (n <= 0) return;
    const ks = this.cm.keystream(aesCmIv(this.salt, ssrc, index, this.iv), n);
    for (let i = 0; i < n; i++) dst[start + i] = src[start + i] ^ ks[i];
  }

  /** Full 20-byte HMAC-SHA1; the first AUTH_TAG_LENGTH bytes are the tag. */
  mac(authenticated: Uint8Array, trailer?: Uint8Array): Buffer {
    const h = createHmac("sha1", this.authKey).update(authenticated);
    if (trailer) h.update(trailer);
    return h.digest();
  }
}

/** Replay list as a sliding window over the last REPLAY_WINDOW_SIZE indices (§3.3.2). */
class ReplayWindow {
  private highest = -1;
  private readonly seen = new Uint8Array(REPLAY_WINDOW_SIZE);

  /** True if `index` is ahead of the window, or inside it and not yet received. */
  isFresh(index: number): boolean {
    if (index > this.highest) return true;
    if (this.highest - index >= REPLAY_WINDOW_SIZE) return false;
    return this.seen[index % REPLAY_WINDOW_SIZE] === 0;
  }

  /** Records an authenticated index, moving the window ahead first if needed. */
  accept(index: number): void {
    if (index > this.highest) {
      const steps = Math.min(index - this.highest, REPLAY_WINDOW_SIZE);
      for (let k = 1; k <= steps; k++) this.seen[(this.highest + k) % REPLAY_WINDOW_SIZE] = 0;
      this.highest = index;
    }
    this.seen[index % REPLAY_WINDOW_SIZE] = 1;
  }
}

/** ROC and s_l of one SSRC (§3.3.1). */
interface RocState {
  roc: number;
  highestSeq: number;
}

interface ReceivedRtpStream extends RocState {
  replay: ReplayWindow;
}

/** Appendix A: the index closest to 2^16 * ROC + s_l, as { index, v } with v the ROC guess (mod 2^32). */
function estimateIndex(roc: number, highestSeq: number, seq: number): { index: number; v: number } {
  let v = roc;
  if (highestSeq < HALF_SEQ_RANGE) {
    if (seq - highestSeq > HALF_SEQ_RANGE) v = (roc - 1 + ROC_MODULUS) % ROC_MODULUS;
  } else if (highestSeq - HALF_SEQ_RANGE > seq) {
    v = (roc + 1) % ROC_MODULUS;
  }
  return { index: v * SEQ_MODULUS + seq, v };
}

/** §3.3.1 update after processing: v = ROC-1 changes nothing, v = ROC raises s_l, v = ROC+1 moves both. */
function updateRoc(s: RocState, v: number, seq: number): void {
  if (v === s.roc) {
    if (seq > s.highestSeq) s.highestSeq = seq;
  } else if (v === (s.roc + 1) % ROC_MODULUS) {
    s.roc = v;
    s.highestSeq = seq;
  }
}

/** RTP header length including CSRCs and the header extension; -1 if it runs past `length`. */
function rtpHeaderLength(p: Uint8Array, length: number): number {
  if (length < RTP_FIXED_HEADER_LENGTH) return -1;
  let off = RTP_FIXED_HEADER_LENGTH + 4 * (p[0] & RTP_CSRC_COUNT_MASK);
  if (p[0] & RTP_EXTENSION_BIT) {
    if (length < off + RTP_EXTENSION_HEADER_LENGTH) return -1;
    off += RTP_EXTENSION_HEADER_LENGTH + 4 * ((p[off + 2] << 8) | p[off + 3]);
  }
  return off <= length ? off : -1;
}

function asBuffer(p: Uint8Array): Buffer {
  return Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

/**
 * One SRTP/SRTCP crypto context for ONE direction. A call needs two: one built from the key we offered in our
 * a=crypto (used for sending: protectRtp/protectRtcp) and one from the peer's a=crypto (used for receiving:
 * unprotectRtp/unprotectRtcp). Streams are tracked per SSRC inside the session. Not safe to share between the two
 * directions: the sender and receiver keep different state (send ROC/SRTCP index vs. replay lists).
 */
export class SrtpSession {
  private readonly rtp: Transform;
  private readonly rtcp: Transform;
  private readonly sendRtp = new Map<number, RocState>();
  private readonly recvRtp = new Map<number, ReceivedRtpStream>();
  private readonly sendRtcpIndex = new Map<number, number>();
  private readonly recvRtcp = new Map<number, ReplayWindow>();
  private readonly rocField = Buffer.alloc(ROC_FIELD_LENGTH);
  private readonly counters: SrtpStats = { protected: 0, unprotected: 0, authFailures: 0, replays: 0, short: 0 };

  constructor(master: SrtpMasterKey) {
    checkMasterKey(master);
    const keys = deriveSessionKeys(master.key, master.salt);
    this.rtp = new Transform(keys.rtp);
    this.rtcp = new Transform(keys.rtcp);
  }

  get stats(): Readonly<SrtpStats> {
    return this.counters;
  }

  /** RTP -> SRTP: encrypts the payload after the header (CSRCs, extension) and appends the 10-byte tag. */
  protectRtp(packet: Uint8Array): Buffer {
    const len = packet.length;
    const headerLength = rtpHeaderLength(packet, len);
    if (headerLength < 0) throw new RangeError(`protectRtp: not a complete RTP header (${len} bytes)`);
    const p = asBuffer(packet);
    const seq = p.readUInt16BE(2);
    const ssrc = p.readUInt32BE(8);
    let s = this.sendRtp.get(ssrc);
    if (!s) {
      s = { roc: 0, highestSeq: seq };
      this.sendRtp.set(ssrc, s);
    }
    // The sender uses the receiver's estimate too, so a wrap (65535 -> 0) bumps the ROC and a late resend keeps its own.
    const { index, v } = estimateIndex(s.roc, s.highestSeq, seq);
    updateRoc(s, v, seq);

    const out = Buffer.allocUnsafe(len + AUTH_TAG_LENGTH);
    p.copy(out, 0, 0, headerLength);
    this.rtp.crypt(ssrc, index, p, headerLength, len, out);
    this.rocField.writeUInt32BE(v, 0);
    this.rtp.mac(out.subarray(0, len), this.rocField).copy(out, len, 0, AUTH_TAG_LENGTH);
    this.counters.protected++;
    return out;
  }

  /** SRTP -> RTP. Checks replay, then the tag, then decrypts; state moves only for authenticated packets. */
  unprotectRtp(packet: Uint8Array): Buffer | SrtpError {
    const len = packet.length;
    if (len < RTP_FIXED_HEADER_LENGTH + AUTH_TAG_LENGTH) return this.fail("short", `SRTP packet of ${len} bytes is shorter than header + tag`);
    const authEnd = len - AUTH_TAG_LENGTH;
    const headerLength = rtpHeaderLength(packet, authEnd);
    if (headerLength < 0) return this.fail("short", `SRTP packet of ${len} bytes is shorter than its RTP header + tag`);
    const p = asBuffer(packet);
    const seq = p.readUInt16BE(2);
    const ssrc = p.readUInt32BE(8);
    const known = this.recvRtp.get(ssrc);
    // Unknown SSRC: s_l starts at this packet's SEQ and ROC at 0 (§3.3.1), committed only after authentication.
    const { index, v } = known ? estimateIndex(known.roc, known.highestSeq, seq) : { index: seq, v: 0 };
    if (known && !known.replay.isFresh(index)) return this.fail("replay", `SRTP replay: SSRC ${ssrc} index ${index}`);

    this.rocField.writeUInt32BE(v, 0);
    const mac = this.rtp.mac(p.subarray(0, authEnd), this.rocField);
    if (!timingSafeEqual(mac.subarray(0, AUTH_TAG_LENGTH), p.subarray(authEnd, len))) {
      return this.fail("auth", `SRTP authentication failed: SSRC ${ssrc} seq ${seq}`);
    }

    const out = Buffer.allocUnsafe(authEnd);
    p.copy(out, 0, 0, headerLength);
    this.rtp.crypt(ssrc, index, p, headerLength, authEnd, out);

    let s = known;
    if (!s) {
      s = { roc: 0, highestSeq: seq, replay: new ReplayWindow() };
      this.recvRtp.set(ssrc, s);
    }
    updateRoc(s, v, seq);
    s.replay.accept(index);
    this.counters.unprotected++;
    return out;
  }

  /** RTCP (compound) -> SRTCP: encrypts after the first 8 bytes, appends E=1 | 31-bit index and the tag. */
  protectRtcp(packet: Uint8Array): Buffer {
    const len = packet.length;
    if (len < RTCP_UNENCRYPTED_PREFIX_LENGTH) throw new RangeError(`protectRtcp: RTCP packet of ${len} bytes is too short`);
    const p = asBuffer(packet);
    const ssrc = p.readUInt32BE(4);
    const index = this.sendRtcpIndex.get(ssrc) ?? 0;
    if (index >= SRTCP_INDEX_LIMIT) throw new Error(`protectRtcp: SRTCP index exhausted for SSRC ${ssrc}; re-key`);
    this.sendRtcpIndex.set(ssrc, index + 1);

    const indexEnd = len + SRTCP_INDEX_FIELD_LENGTH;
    const out = Buffer.allocUnsafe(indexEnd + AUTH_TAG_LENGTH);
    p.copy(out, 0, 0, RTCP_UNENCRYPTED_PREFIX_LENGTH);
    this.rtcp.crypt(ssrc, index, p, RTCP_UNENCRYPTED_PREFIX_LENGTH, len, out);
    out.writeUInt32BE((SRTCP_E_FLAG | index) >>> 0, len);
    this.rtcp.mac(out.subarray(0, indexEnd)).copy(out, indexEnd, 0, AUTH_TAG_LENGTH);
    this.counters.protected++;
    return out;
  }

  /** SRTCP -> RTCP. Packets with E=0 are authenticated but not decrypted. */
  unprotectRtcp(packet: Uint8Array): Buffer | SrtpError {
    const len = packet.length;
    if (len < RTCP_UNENCRYPTED_PREFIX_LENGTH + SRTCP_INDEX_FIELD_LENGTH + AUTH_TAG_LENGTH) {
      return this.fail("short", `SRTCP packet of ${len} bytes is shorter than header + index + tag`);
    }
    const p = asBuffer(packet);
    const authEnd = len - AUTH_TAG_LENGTH;
    const rtcpEnd = authEnd - SRTCP_INDEX_FIELD_LENGTH;
    const word = p.readUInt32BE(rtcpEnd);
    const encrypted = (word & SRTCP_E_FLAG) !== 0;
    const index = word & SRTCP_INDEX_MASK;
    const ssrc = p.readUInt32BE(4);
    const replay = this.recvRtcp.get(ssrc);
    if (replay && !replay.isFresh(index)) return this.fail("replay", `SRTCP replay: SSRC ${ssrc} index ${index}`);

    const mac = this.rtcp.mac(p.subarray(0, authEnd));
    if (!timingSafeEqual(mac.subarray(0, AUTH_TAG_LENGTH), p.subarray(authEnd, len))) {
      return this.fail("auth", `SRTCP authentication failed: SSRC ${ssrc} index ${index}`);
    }

    const out = Buffer.allocUnsafe(rtcpEnd);
    if (encrypted) {
      p.copy(out, 0, 0, RTCP_UNENCRYPTED_PREFIX_LENGTH);
      this.rtcp.crypt(ssrc, index, p, RTCP_UNENCRYPTED_PREFIX_LENGTH, rtcpEnd, out);
    } else {
      p.copy(out, 0, 0, rtcpEnd);
    }
    if (replay) replay.accept(index);
    else {
      const w = new ReplayWindow();
      w.accept(index);
      this.recvRtcp.set(ssrc, w);
    }
    this.counters.unprotected++;
    return out;
  }

  private fail(reason: SrtpErrorReason, message: string): SrtpError {
    if (reason === "auth") this.counters.authFailures++;
    else if (reason === "replay") this.counters.replays++;
    else this.counters.short++;
    return { error: true, reason, message };
  }
}

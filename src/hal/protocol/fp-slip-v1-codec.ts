// fp-slip-v1 codec: SLIP framing (RFC 1055), CRC-16/CCITT-FALSE, frame layout and payloads (docs/frontpanel-protocol.md).
// Pure functions and byte-state machines only: no I/O, no timers. Bad input is counted and dropped, never thrown.
import type { KeyId } from "../api/keypad.js";
import type { LedMode } from "../api/leds.js";

export const PROTO_MAJOR = 1;
export const PROTO_MINOR = 0;
/** Largest frame after SLIP decoding: type + seq + payload + crc. Longer ones are dropped and counted. */
export const MAX_FRAME_BYTES = 256;
/** type + seq + crc16: anything shorter is line noise. */
export const MIN_FRAME_BYTES = 4;

/** RFC 1055: "END (0300), ESC (0333) ... ESC_END (0334), ESC_ESC (0335)". */
export const SLIP = { END: 0xc0, ESC: 0xdb, ESC_END: 0xdc, ESC_ESC: 0xdd } as const;

/** Frame types. 0x01-0x0F go MCU -> host, 0x10-0x1F host -> MCU, 0x7E/0x7F both ways. */
export const FrameType = {
  KEY: 0x01,
  HOOK: 0x02,
  HELLO: 0x03,
  HEARTBEAT: 0x04,
  LED: 0x10,
  LCD_TEXT: 0x11,
  LCD_CLEAR: 0x12,
  BACKLIGHT: 0x13,
  RINGER: 0x14,
  BEEP: 0x15,
  QUERY: 0x16,
  LCD_GLYPH: 0x17,
  NAK: 0x7e,
  ACK: 0x7f,
} as const;
export type FrameTypeName = keyof typeof FrameType;

const TYPE_NAMES = new Map<number, FrameTypeName>(Object.entries(FrameType).map(([k, v]) => [v, k as FrameTypeName]));

export function frameTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `0x${type.toString(16).padStart(2, "0")}`;
}

/** 0x10-0x1F: commands, which only the host sends (a type in this range coming from the MCU is an echo). */
export function isHostCommand(type: number): boolean {
  return type >= 0x10 && type <= 0x1f;
}

/** HEARTBEAT, ACK and NAK are fire-and-forget; every other frame is acknowledged and retried. */
export function isReliable(type: number): boolean {
  return type !== FrameType.HEARTBEAT && type !== FrameType.ACK && type !== FrameType.NAK;
}

export const NakReason = { UNKNOWN_TYPE: 0x01, BAD_LENGTH: 0x02, BAD_ARG: 0x03, VERSION: 0x04, BUSY: 0x05 } as const;
export const NAK_REASON_TEXT: Readonly<Record<number, string>> = {
  1: "unknown frame type",
  2: "payload too short",
  3: "argument out of range",
  4: "unsupported protocol version",
  5: "busy",
};

export const QueryFlag = { RESET: 0x01 } as const;
export const Caps = { LCD: 0x01, BACKLIGHT_DIM: 0x02, RINGER: 0x04, BEEPER: 0x08, LCD_ROM_A02: 0x10, LED_COLOUR: 0x20 } as const;
export const ErrFlag = { RX_OVERFLOW: 0x01, RX_CRC: 0x02, WATCHDOG_RESET: 0x04, BROWN_OUT: 0x08, LCD_FAULT: 0x10 } as const;
export const LED_MODE_CODES: Readonly<Record<LedMode, number>> = { off: 0, on: 1, slow: 2, fast: 3, wink: 4 };
const LED_MODES_BY_CODE: readonly LedMode[] = ["off", "on", "slow", "fast", "wink"];
export const LedColour = { DEFAULT: 0, RED: 1, GREEN: 2, AMBER: 3, BLUE: 4, WHITE: 5 } as const;

/** Key codes on the wire. Digits, * and # are their ASCII codes; named keys from 0x40; LINEn = 0x60 + n. */
export const KEY_CODES: Readonly<Record<KeyId, number>> = (() => {
  const t: Record<KeyId, number> = {};
  for (const k of "0123456789*#") t[k] = k.charCodeAt(0);
  // Spelled out, not taken from NAMED_KEYS: wire codes must not move when the API's list grows.
  const named = ["SEND", "END", "HOLD", "TRANSFER", "CONF", "MUTE", "SPEAKER", "HEADSET", "VOL_UP", "VOL_DOWN", "REDIAL",
    "MESSAGES", "MENU", "OK", "BACK", "UP", "DOWN", "LEFT", "RIGHT", "SOFT1", "SOFT2", "SOFT3", "SOFT4", "DND", "FWD"];
  named.forEach((k, i) => (t[k] = 0x40 + i));
  for (let n = 1; n <= 8; n++) t[`LINE${n}`] = 0x60 + n;
  return Object.freeze(t);
})();
const KEYS_BY_CODE = new Map<number, KeyId>(Object.entries(KEY_CODES).map(([k, c]) => [c, k]));
/** HEARTBEAT keysDown: bit (code & 7) of byte (code >> 3), covering codes 0x00-0x7F. */
export const KEYS_BITMAP_BYTES = 16;

export function keyCode(key: KeyId): number | undefined {
  return KEY_CODES[key];
}
export function keyForCode(code: number): KeyId | undefined {
  return KEYS_BY_CODE.get(code);
}
export function bitmapHas(bitmap: Uint8Array, code: number): boolean {
  return code >> 3 < bitmap.length && (bitmap[code >> 3] & (1 << (code & 7))) !== 0;
}
export function bitmapFromCodes(codes: Iterable<number>): Uint8Array {
  const b = new Uint8Array(KEYS_BITMAP_BYTES);
  for (const c of codes) if (c >> 3 < b.length) b[c >> 3] |= 1 << (c & 7);
  return b;
}

/** CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0; check("123456789") = 0x29B1. */
export function crc16CcittFalse(data: Uint8Array, crc = 0xffff): number {
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** END, the escaped bytes, END. The leading END flushes any noise the receiver has buffered (RFC 1055). */
export function slipEncode(frame: Uint8Array): Uint8Array {
  const out: number[] = [SLIP.END];
  for (const b of frame) {
    if (b === SLIP.END) out.push(SLIP.ESC, SLIP.ESC_END);
    else if (b === SLIP.ESC) out.push(SLIP.ESC, SLIP.ESC_ESC);
    else out.push(b);
  }
  out.push(SLIP.END);
  return Uint8Array.from(out);
}

export interface SlipStats {
  /** Non-empty packets delimited by END. */
  packets: number;
  /** Packets longer than the limit, dropped. */
  oversize: number;
  /** ESC followed by something other than ESC_END/ESC_ESC: packet dropped. */
  badEscapes: number;
}

/** Streaming SLIP decoder: feed any chunking, get whole packets. A broken packet is skipped up to the next END. */
export class SlipDecoder {
  private readonly buf: Uint8Array;
  private len = 0;
  private esc = false;
  private discarding = false;
  private readonly counts: SlipStats = { packets: 0, oversize: 0, badEscapes: 0 };

  constructor(readonly maxBytes = MAX_FRAME_BYTES) {
    this.buf = new Uint8Array(maxBytes);
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let b of chunk) {
      if (b === SLIP.END) {
        if (!this.discarding && this.len > 0) {
          this.counts.packets++;
          out.push(this.buf.slice(0, this.len));
        }
        this.len = 0;
        this.esc = false;
        this.discarding = false;
        continue;
      }
      if (this.discarding) continue;
      if (this.esc) {
        this.esc = false;
        if (b === SLIP.ESC_END) b = SLIP.END;
        else if (b === SLIP.ESC_ESC) b = SLIP.ESC;
        else {
          this.counts.badEscapes++;
          this.discarding = true;
          continue;
        }
      } else if (b === SLIP.ESC) {
        this.esc = true;
        continue;
      }
      if (this.len >= this.maxBytes) {
        this.counts.oversize++;
        this.discarding = true;
        continue;
      }
      this.buf[this.len++] = b;
    }
    return out;
  }

  stats(): SlipStats {
    return { ...this.counts };
  }
}

export interface Frame {
  type: number;
  seq: number;
  payload: Uint8Array;
}

/** type | seq | payload | crc16 (big-endian, over type..payload), not yet SLIP-escaped. */
export function frameBytes(type: number, seq: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const f = new Uint8Array(payload.length + 4);
  f[0] = type & 0xff;
  f[1] = seq & 0xff;
  f.set(payload, 2);
  const crc = crc16CcittFalse(f.subarray(0, f.length - 2));
  f[f.length - 2] = crc >> 8;
  f[f.length - 1] = crc & 0xff;
  return f;
}

/** The bytes to put on the wire for one frame. */
export function encodeFrame(type: number, seq: number, payload?: Uint8Array): Uint8Array {
  return slipEncode(frameBytes(type, seq, payload));
}

/** Checks one SLIP packet: length and CRC. */
export function checkFrame(packet: Uint8Array): Frame | "runt" | "crc" {
  if (packet.length < MIN_FRAME_BYTES) return "runt";
  const body = packet.subarray(0, packet.length - 2);
  const got = (packet[packet.length - 2] << 8) | packet[packet.length - 1];
  if (crc16CcittFalse(body) !== got) return "crc";
  return { type: packet[0], seq: packet[1], payload: packet.slice(2, packet.length - 2) };
}

export interface FrameDecoderStats extends SlipStats {
  frames: number;
  runts: number;
  crcErrors: number;
}

/** Bytes in, checked frames out; everything else is a counter. */
export class FrameDecoder {
  private readonly slip: SlipDecoder;
  private frames = 0;
  private runts = 0;
  private crcErrors = 0;

  constructor(maxBytes = MAX_FRAME_BYTES) {
    this.slip = new SlipDecoder(maxBytes);
  }

  push(chunk: Uint8Array): Frame[] {
    const out: Frame[] = [];
    for (const p of this.slip.push(chunk)) {
      const f = checkFrame(p);
      if (f === "runt") this.runts++;
      else if (f === "crc") this.crcErrors++;
      else {
        this.frames++;
        out.push(f);
      }
    }
    return out;
  }

  stats(): FrameDecoderStats {
    return { ...this.slip.stats(), frames: this.frames, runts: this.runts, crcErrors: this.crcErrors };
  }
}

// ---- payloads --------------------------------------------------------------------------------------------------

export interface HelloInfo {
  protoMajor: number;
  protoMinor: number;
  fwMajor: number;
  fwMinor: number;
  caps: number;
  nKeys: number;
  nLeds: number;
  lcdCols: number;
  lcdRows: number;
  /** 1 = off-hook at the time of the HELLO. */
  hook: 0 | 1;
}

export type Message =
  | { type: "KEY"; code: number; down: boolean; tMs: number }
  | { type: "HOOK"; offHook: boolean; tMs: number }
  | ({ type: "HELLO" } & HelloInfo)
  | { type: "HEARTBEAT"; uptimeS: number; errFlags: number; hook: 0 | 1; keysDown: Uint8Array }
  | { type: "LED"; id: number; mode: LedMode; colour: number; onMs: number; offMs: number }
  | { type: "LCD_TEXT"; row: number; col: number; attr: number; text: Uint8Array }
  | { type: "LCD_CLEAR" }
  | { type: "BACKLIGHT"; level: number }
  | { type: "RINGER"; cadence: number }
  | { type: "BEEP"; hz: number; ms: number }
  | { type: "QUERY"; protoMajor: number; protoMinor: number; flags: number }
  | { type: "LCD_GLYPH"; slot: number; rows: number[] }
  | { type: "ACK"; acked: number }
  | { type: "NAK"; acked: number; reason: number };

const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];

/** The payload bytes of a message (multi-byte fields big-endian). */
export function encodePayload(m: Message): Uint8Array {
  switch (m.type) {
    case "KEY":
      return Uint8Array.from([m.code, m.down ? 1 : 0, ...u16(m.tMs)]);
    case "HOOK":
      return Uint8Array.from([m.offHook ? 1 : 0, ...u16(m.tMs)]);
    case "HELLO":
      return Uint8Array.from([m.protoMajor, m.protoMinor, m.fwMajor, m.fwMinor, m.caps, m.nKeys, m.nLeds, m.lcdCols, m.lcdRows, m.hook]);
    case "HEARTBEAT": {
      const p = new Uint8Array(6 + KEYS_BITMAP_BYTES);
      new DataView(p.buffer).setUint32(0, m.uptimeS >>> 0);
      p[4] = m.errFlags;
      p[5] = m.hook;
      p.set(m.keysDown.subarray(0, KEYS_BITMAP_BYTES), 6);
      return p;
    }
    case "LED":
      return Uint8Array.from([m.id, LED_MODE_CODES[m.mode], m.colour, ...u16(m.onMs), ...u16(m.offMs)]);
    case "LCD_TEXT":
      return Uint8Array.from([m.row, m.col, m.attr, ...m.text]);
    case "LCD_CLEAR":
      return new Uint8Array(0);
    case "BACKLIGHT":
      return Uint8Array.of(m.level);
    case "RINGER":
      return Uint8Array.of(m.cadence);
    case "BEEP":
      return Uint8Array.from([...u16(m.hz), ...u16(m.ms)]);
    case "QUERY":
      return Uint8Array.of(m.protoMajor, m.protoMinor, m.flags);
    case "LCD_GLYPH":
      return Uint8Array.from([m.slot, ...m.rows.slice(0, 8).map((r) => r & 0x1f)]);
    case "ACK":
      return Uint8Array.of(m.acked);
    case "NAK":
      return Uint8Array.of(m.acked, m.reason);
  }
}

/** A whole wire frame for a message. */
export function messageFrame(m: Message, seq: number): Uint8Array {
  return encodeFrame(FrameType[m.type], seq, encodePayload(m));
}

export type ParseResult = { ok: true; msg: Message } | { ok: false; reason: "unknown-type" | "bad-length" | "bad-value" };

/** Minimum payload lengths. Longer payloads are accepted: later minor versions may append fields. */
const MIN_PAYLOAD: Readonly<Record<FrameTypeName, number>> = {
  KEY: 4, HOOK: 3, HELLO: 10, HEARTBEAT: 6 + KEYS_BITMAP_BYTES, LED: 7, LCD_TEXT: 3, LCD_CLEAR: 0, BACKLIGHT: 1,
  RINGER: 1, BEEP: 4, QUERY: 3, LCD_GLYPH: 9, NAK: 2, ACK: 1,
};

const bad = (reason: "unknown-type" | "bad-length" | "bad-value"): ParseResult => ({ ok: false, reason });

/** Decodes a payload by frame type; a result, never an exception. */
export function parsePayload(type: number, p: Uint8Array): ParseResult {
  const name = TYPE_NAMES.get(type);
  if (!name) return bad("unknown-type");
  if (p.length < MIN_PAYLOAD[name]) return bad("bad-length");
  const g16 = (i: number): number => (p[i] << 8) | p[i + 1];
  const ok = (msg: Message): ParseResult => ({ ok: true, msg });
  switch (name) {
    case "KEY":
      return p[1] > 1 ? bad("bad-value") : ok({ type: name, code: p[0], down: p[1] === 1, tMs: g16(2) });
    case "HOOK":
      return p[0] > 1 ? bad("bad-value") : ok({ type: name, offHook: p[0] === 1, tMs: g16(1) });
    case "HELLO":
      return p[9] > 1
        ? bad("bad-value")
        : ok({ type: name, protoMajor: p[0], protoMinor: p[1], fwMajor: p[2], fwMinor: p[3], caps: p[4], nKeys: p[5], nLeds: p[6], lcdCols: p[7], lcdRows: p[8], hook: p[9] as 0 | 1 });
    case "HEARTBEAT":
      if (p[5] > 1) return bad("bad-value");
      return ok({ type: name, uptimeS: new DataView(p.buffer, p.byteOffset, 4).getUint32(0), errFlags: p[4], hook: p[5] as 0 | 1, keysDown: p.slice(6, 6 + KEYS_BITMAP_BYTES) });
    case "LED": {
      const mode = LED_MODES_BY_CODE[p[1]];
      return mode ? ok({ type: name, id: p[0], mode, colour: p[2], onMs: g16(3), offMs: g16(5) }) : bad("bad-value");
    }
    case "LCD_TEXT":
      return ok({ type: name, row: p[0], col: p[1], attr: p[2], text: p.slice(3) });
    case "LCD_CLEAR":
      return ok({ type: name });
    case "BACKLIGHT":
      return ok({ type: name, level: p[0] });
    case "RINGER":
      return ok({ type: name, cadence: p[0] });
    case "BEEP":
      return ok({ type: name, hz: g16(0), ms: g16(2) });
    case "QUERY":
      return ok({ type: name, protoMajor: p[0], protoMinor: p[1], flags: p[2] });
    case "LCD_GLYPH":
      return p[0] > 7 ? bad("bad-value") : ok({ type: name, slot: p[0], rows: [...p.subarray(1, 9)].map((r) => r & 0x1f) });
    case "ACK":
      return ok({ type: name, acked: p[0] });
    case "NAK":
      return ok({ type: name, acked: p[0], reason: p[1] });
  }
}

// ---- LCD text ----------------------------------------------------------------------------------------------------

/**
 * Maps a string to what the LCD can show: 0x00-0x07 (custom glyphs), 0x20-0x7E and 0xA0-0xFF (Latin-1) pass;
 * control characters and anything beyond Latin-1 become "?". One output char per input code point.
 */
export function lcdChars(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0x3f;
    out += c <= 0x07 || (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xff) ? ch : "?";
  }
  return out;
}

/** Latin-1 bytes of a string already passed through lcdChars(). */
export function latin1Bytes(s: string): Uint8Array {
  return Uint8Array.from(lcdChars(s), (ch) => ch.charCodeAt(0));
}

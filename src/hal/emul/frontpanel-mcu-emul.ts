// Emulator of the front-panel microcontroller: the MCU side of fp-slip-v1 on any SerialLink, plus a backend for tests.
// The bytes (SLIP, CRC, frame layout, key table, payloads) come from the codec the host uses too,
// src/hal/protocol/fp-slip-v1-codec.ts, whose tests check the doc's example dumps (§13); what the MCU does with them
// (ACK, NAK, retry, duplicates, its model of LCD/LEDs/ringer) is written here from docs/frontpanel-protocol.md.
import type { Clock, Timer } from "../../base/clock.js";
import { PhoneError, ErrorCodes } from "../../base/errors.js";
import type { Unsubscribe } from "../api/events.js";
import type { LedMode } from "../api/leds.js";
import type { SerialLink } from "../api/serial.js";
import {
  Caps, ErrFlag, FrameType, KEY_CODES, NakReason, QueryFlag, SlipDecoder, bitmapFromCodes, checkFrame, encodePayload,
  frameBytes, isHostCommand, keyCode, parsePayload, slipEncode, type Message,
} from "../protocol/fp-slip-v1-codec.js";

/** Frames the MCU sends reliably (doc §10): KEY, HOOK and HELLO. */
type Outgoing = Extract<Message, { type: "KEY" | "HOOK" | "HELLO" }>;

export interface McuLed {
  mode: LedMode;
  colour: number;
  onMs: number;
  offMs: number;
}

export interface FrontPanelMcuEmulOptions {
  clock: Clock;
  heartbeatMs?: number;
  ackTimeoutMs?: number;
  retries?: number;
  cols?: number;
  rows?: number;
  nLeds?: number;
  /** Highest ringer cadence id the panel knows (doc §5.5). */
  cadences?: number;
  hook?: "on" | "off";
  /** What HELLO announces; change it to test the host's version check. */
  protoMajor?: number;
  protoMinor?: number;
}

export interface McuEmulStats {
  framesFromHost: number;
  framesToHost: number;
  crcErrors: number;
  duplicates: number;
  naksSent: number;
  retries: number;
  droppedFromHost: number;
  droppedToHost: number;
}

export class FrontPanelMcuEmul {
  readonly cols: number;
  readonly rows: number;
  private readonly o: Required<FrontPanelMcuEmulOptions>;
  // model
  private lcd: Uint8Array[] = [];
  private glyphs: number[][] = [];
  private light = 255;
  private ledModel = new Map<number, McuLed>();
  private cadence = 0;
  private readonly beepLog: Array<{ hz: number; ms: number }> = [];
  private readonly down = new Set<number>();
  private hookLevel: 0 | 1;
  // link
  private readonly slip = new SlipDecoder();
  private lastRxSeq: number | undefined;
  private txSeq = 0;
  private hbSeq = 0;
  private txQueue: Outgoing[] = [];
  private inflight: { out: Outgoing; seq: number; tries: number; timer: Timer } | undefined;
  private errFlags = 0;
  private readonly bootAt: number;
  // faults
  private dropFromHost = 0;
  private dropToHost = 0;
  private corrupt = 0;
  private silent = false;
  private readonly counts: McuEmulStats = { framesFromHost: 0, framesToHost: 0, crcErrors: 0, duplicates: 0, naksSent: 0, retries: 0, droppedFromHost: 0, droppedToHost: 0 };
  private readonly hbTimer: Timer;
  private readonly unsub: Unsubscribe;

  constructor(
    private readonly link: SerialLink,
    opts: FrontPanelMcuEmulOptions,
  ) {
    this.o = { heartbeatMs: 1000, ackTimeoutMs: 50, retries: 3, cols: 20, rows: 4, nLeds: 8, cadences: 3, hook: "on", protoMajor: 1, protoMinor: 0, ...opts };
    this.cols = this.o.cols;
    this.rows = this.o.rows;
    this.hookLevel = this.o.hook === "off" ? 1 : 0;
    this.bootAt = this.o.clock.now();
    this.resetOutputs();
    this.unsub = link.onData((c) => this.receive(c));
    this.hbTimer = this.o.clock.setInterval(() => this.heartbeatNow(), this.o.heartbeatMs);
  }

  // ---- backend face ----

  press(key: string): void {
    this.key(key, true);
  }

  release(key: string): void {
    this.key(key, false);
  }

  setHook(state: "on" | "off"): void {
    const level = state === "off" ? 1 : 0;
    if (level === this.hookLevel) return;
    this.hookLevel = level;
    this.queue({ type: "HOOK", offHook: level === 1, tMs: this.stamp() });
  }

  /** The LCD rows as Latin-1 strings; custom glyphs show as characters 0x00-0x07. */
  lcdText(): string[] {
    return this.lcd.map((r) => String.fromCharCode(...r));
  }

  glyph(slot: number): number[] {
    return [...this.glyphs[slot]];
  }

  leds(): Record<number, McuLed> {
    return Object.fromEntries([...this.ledModel].map(([id, l]) => [id, { ...l }]));
  }

  backlight(): number {
    return this.light;
  }

  ringer(): number {
    return this.cadence;
  }

  beeps(): Array<{ hz: number; ms: number }> {
    return [...this.beepLog];
  }

  stats(): McuEmulStats {
    return { ...this.counts };
  }

  /** Sends a HEARTBEAT now (the timer also sends one every heartbeatMs). */
  heartbeatNow(): void {
    if (this.silent) return;
    const uptimeS = Math.floor((this.o.clock.now() - this.bootAt) / 1000);
    const hb: Message = { type: "HEARTBEAT", uptimeS, errFlags: this.errFlags, hook: this.hookLevel, keysDown: bitmapFromCodes(this.down) };
    this.errFlags = 0;
    this.emit(hb, this.hbSeq++ & 0xff);
  }

  /** A power cycle: outputs back to reset state, sequence numbers forgotten, HELLO sent unasked. */
  reboot(): void {
    this.inflight?.timer.cancel();
    this.inflight = undefined;
    this.txQueue = [];
    this.lastRxSeq = undefined;
    this.txSeq = 0;
    this.resetOutputs();
    this.queue(this.hello());
  }

  // ---- fault injection ----

  /** Ignore the next n frames from the host, as if they never arrived (the host retries). */
  dropNextFromHost(n = 1): void {
    this.dropFromHost += n;
  }

  /** Lose the next n frames to the host, whatever they are (KEY, ACK, HEARTBEAT...). */
  dropNextToHost(n = 1): void {
    this.dropToHost += n;
  }

  /** Send the next frame with a wrong CRC. */
  corruptNextToHost(): void {
    this.corrupt++;
  }

  sendGarbage(bytes: Uint8Array): void {
    void this.link.write(bytes).catch(() => undefined);
  }

  /** A hung MCU: no answers, no heartbeats, nothing sent. Its model still follows press()/setHook(). */
  silence(on: boolean): void {
    this.silent = on;
    if (on) {
      this.inflight?.timer.cancel();
      this.inflight = undefined;
      this.txQueue = [];
    }
  }

  async close(): Promise<void> {
    this.hbTimer.cancel();
    this.inflight?.timer.cancel();
    this.unsub();
    await this.link.close();
  }

  // ---- MCU firmware ----

  private key(key: string, down: boolean): void {
    const code = keyCode(key);
    if (code === undefined) throw new PhoneError(ErrorCodes.UNKNOWN_KEY, `the front panel has no key '${key}'`, { key });
    if (down === this.down.has(code)) return;
    if (down) this.down.add(code);
    else this.down.delete(code);
    this.queue({ type: "KEY", code, down, tMs: this.stamp() });
  }

  /** Milliseconds since boot, wrapping at 16 bits like the MCU's u16 timestamp (doc §5.1). */
  private stamp(): number {
    return Math.floor(this.o.clock.now() - this.bootAt) & 0xffff;
  }

  private hello(): Outgoing {
    return {
      type: "HELLO",
      protoMajor: this.o.protoMajor,
      protoMinor: this.o.protoMinor,
      fwMajor: 1,
      fwMinor: 0,
      caps: Caps.LCD | Caps.BACKLIGHT_DIM | Caps.RINGER | Caps.BEEPER | Caps.LCD_ROM_A02,
      nKeys: Object.keys(KEY_CODES).length,
      nLeds: this.o.nLeds,
      lcdCols: this.cols,
      lcdRows: this.rows,
      hook: this.hookLevel,
    };
  }

  private resetOutputs(): void {
    this.lcd = Array.from({ length: this.rows }, () => new Uint8Array(this.cols).fill(0x20));
    this.glyphs = Array.from({ length: 8 }, () => new Array<number>(8).fill(0));
    this.light = 255;
    this.cadence = 0;
    this.ledModel = new Map(Array.from({ length: this.o.nLeds }, (_, id) => [id, { mode: "off" as LedMode, colour: 0, onMs: 0, offMs: 0 }]));
  }

  private receive(chunk: Uint8Array): void {
    for (const packet of this.slip.push(chunk)) this.packet(packet);
  }

  private packet(packet: Uint8Array): void {
    const f = checkFrame(packet);
    if (typeof f === "string") {
      // Runts and bad CRCs alike: never answered (doc §3), only flagged in the next heartbeat.
      this.counts.crcErrors++;
      this.errFlags |= ErrFlag.RX_CRC;
      return;
    }
    if (this.silent) return;
    if (this.dropFromHost > 0) {
      this.dropFromHost--;
      this.counts.droppedFromHost++;
      return;
    }
    this.counts.framesFromHost++;
    const { type, seq, payload: p } = f;
    // ACK and NAK both start with the acked frame type (doc §5.6); the NAK reason does not matter to the MCU.
    if (type === FrameType.ACK || type === FrameType.NAK) return this.reply(seq, p[0]);
    if (type === FrameType.HEARTBEAT) return;
    // Only commands (0x10-0x1F) go this way; KEY/HOOK/HELLO arriving here are as unknown as 0x18.
    const r = isHostCommand(type) ? parsePayload(type, p) : ({ ok: false, reason: "unknown-type" } as const);
    if (!r.ok && r.reason === "unknown-type") return this.nak(type, seq, NakReason.UNKNOWN_TYPE);
    if (!r.ok && r.reason === "bad-length") return this.nak(type, seq, NakReason.BAD_LENGTH);
    // Doc §10: a retransmission of the frame just applied is ACKed again, not applied twice; QUERY always applies.
    if (type !== FrameType.QUERY && seq === this.lastRxSeq) {
      this.counts.duplicates++;
      return this.emit({ type: "ACK", acked: type }, seq);
    }
    // A value the codec rejects (LED mode, glyph slot) is out of range like the panel's own limits below.
    const reason = r.ok ? this.apply(r.msg) : NakReason.BAD_ARG;
    if (reason) return this.nak(type, seq, reason);
    this.lastRxSeq = seq;
    this.emit({ type: "ACK", acked: type }, seq);
    if (type === FrameType.QUERY) this.queue(this.hello());
  }

  /** Applies a host command; returns a NAK reason when an argument is out of range. */
  private apply(m: Message): number | undefined {
    switch (m.type) {
      case "LED": {
        if (m.id >= this.o.nLeds) return NakReason.BAD_ARG;
        this.ledModel.set(m.id, { mode: m.mode, colour: m.colour, onMs: m.onMs, offMs: m.offMs });
        return undefined;
      }
      case "LCD_TEXT": {
        if (m.row >= this.rows || m.col >= this.cols) return NakReason.BAD_ARG;
        this.lcd[m.row].set(m.text.subarray(0, this.cols - m.col), m.col); // clipped at the row's end
        return undefined;
      }
      case "LCD_CLEAR":
        for (const r of this.lcd) r.fill(0x20);
        return undefined;
      case "BACKLIGHT":
        this.light = m.level;
        return undefined;
      case "RINGER":
        if (m.cadence > this.o.cadences) return NakReason.BAD_ARG;
        this.cadence = m.cadence;
        return undefined;
      case "BEEP":
        this.beepLog.push({ hz: m.hz, ms: m.ms });
        return undefined;
      case "QUERY":
        // Doc §9: always answered with HELLO, whatever the host's version; the host decides whether it can talk.
        if (m.flags & QueryFlag.RESET) this.resetOutputs();
        return undefined;
      case "LCD_GLYPH":
        this.glyphs[m.slot] = m.rows;
        return undefined;
      default:
        return NakReason.UNKNOWN_TYPE;
    }
  }

  private nak(type: number, seq: number, reason: number): void {
    this.counts.naksSent++;
    this.emit({ type: "NAK", acked: type, reason }, seq);
  }

  private reply(seq: number, acked: number | undefined): void {
    const inf = this.inflight;
    if (!inf || seq !== inf.seq || acked !== FrameType[inf.out.type]) return;
    // ACK: delivered. NAK: the host will never take it, so it is dropped rather than retried.
    inf.timer.cancel();
    this.inflight = undefined;
    this.pump();
  }

  /** A reliable frame (KEY, HOOK, HELLO): one in flight at a time, retried until ACKed. */
  private queue(out: Outgoing): void {
    if (this.silent) return;
    this.txQueue.push(out);
    this.pump();
  }

  private pump(): void {
    if (this.inflight) return;
    const out = this.txQueue.shift();
    if (!out) return;
    const seq = this.txSeq;
    this.txSeq = (this.txSeq + 1) & 0xff;
    this.inflight = { out, seq, tries: 0, timer: { cancel: () => undefined } };
    this.transmit();
  }

  private transmit(): void {
    const inf = this.inflight;
    if (!inf) return;
    inf.tries++;
    this.emit(inf.out, inf.seq);
    inf.timer = this.o.clock.setTimeout(() => {
      if (this.inflight !== inf) return;
      if (inf.tries <= this.o.retries) {
        this.counts.retries++;
        this.transmit();
      } else {
        this.inflight = undefined; // given up; the next heartbeat carries the level
        this.pump();
      }
    }, this.o.ackTimeoutMs);
  }

  private emit(m: Message, seq: number): void {
    if (this.silent) return;
    if (this.dropToHost > 0) {
      this.dropToHost--;
      this.counts.droppedToHost++;
      return;
    }
    const f = frameBytes(FrameType[m.type], seq, encodePayload(m));
    if (this.corrupt > 0) {
      this.corrupt--;
      f[f.length - 1] ^= 0x5a;
    }
    this.counts.framesToHost++;
    void this.link.write(slipEncode(f)).catch(() => undefined);
  }
}

// fp-slip-v1 link layer, host side: framing, seq, stop-and-wait ACK/retry, duplicates, heartbeat supervision (doc §10).
// Knows frames and messages, not keys or LEDs: FrontPanel (frontpanel-fp-slip-v1.ts) gives them meaning.
import type { Clock, Timer } from "../../base/clock.js";
import { PhoneError, ErrorCodes } from "../../base/errors.js";
import type { SerialLink } from "../api/serial.js";
import {
  FrameDecoder, FrameType, NAK_REASON_TEXT, NakReason, isHostCommand, isReliable, messageFrame, parsePayload,
  type Frame, type FrameDecoderStats, type Message,
} from "../protocol/fp-slip-v1-codec.js";

export interface LinkCounters {
  framesSent: number;
  framesReceived: number;
  retries: number;
  /** Host commands given up after the last retry. */
  timeouts: number;
  naks: number;
  /** MCU frames received again with the seq just applied: ACKed, not applied. */
  duplicates: number;
  /** Frames with a good CRC but an unknown type, a short payload or a bad value. */
  badPayloads: number;
  /** ACK/NAK frames that matched no command in flight. */
  staleReplies: number;
}

interface Command {
  msg: Message;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** One host command in flight at a time, retried until ACKed; MCU frames ACKed and de-duplicated, then handed on. */
export class FpSlipLink {
  private txSeq = 0xff; // the first frame goes out with seq 0
  private rxLast: number | undefined;
  private queue: Command[] = [];
  private inflight: (Command & { seq: number; bytes: Uint8Array; tries: number; timer?: Timer }) | undefined;
  private readonly decoder = new FrameDecoder();
  private readonly c: LinkCounters = { framesSent: 0, framesReceived: 0, retries: 0, timeouts: 0, naks: 0, duplicates: 0, badPayloads: 0, staleReplies: 0 };
  private handler: (m: Message) => void = () => undefined;
  private closed = false;

  constructor(
    private readonly link: SerialLink,
    private readonly clock: Clock,
    private readonly ackTimeoutMs: number,
    private readonly retries: number,
    private readonly onError: (e: Error) => void,
  ) {}

  setHandler(h: (m: Message) => void): void {
    this.handler = h;
  }

  counters(): LinkCounters {
    return { ...this.c };
  }

  decoderStats(): FrameDecoderStats {
    return this.decoder.stats();
  }

  /** Queues a host command; resolves on its ACK. */
  send(msg: Message): Promise<void> {
    if (this.closed) return Promise.reject(new PhoneError(ErrorCodes.DEVICE_CLOSED, `front panel on ${this.link.path} is closed`, { path: this.link.path }));
    return new Promise((resolve, reject) => {
      this.queue.push({ msg, resolve, reject });
      this.pump();
    });
  }

  receive(chunk: Uint8Array): void {
    for (const f of this.decoder.push(chunk)) this.frame(f);
  }

  /** Fails every queued and in-flight command with `err`. */
  flush(err: Error): void {
    const all = [...(this.inflight ? [this.inflight] : []), ...this.queue];
    this.inflight?.timer?.cancel();
    this.inflight = undefined;
    this.queue = [];
    for (const cmd of all) cmd.reject(err);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush(new PhoneError(ErrorCodes.DEVICE_CLOSED, `front panel on ${this.link.path} was closed`, { path: this.link.path }));
  }

  private frame(f: Frame): void {
    this.c.framesReceived++;
    const r = parsePayload(f.type, f.payload);
    if (!r.ok) {
      this.c.badPayloads++;
      // NAK so the MCU stops retrying a frame this host will never accept.
      const reason = r.reason === "unknown-type" ? NakReason.UNKNOWN_TYPE : r.reason === "bad-length" ? NakReason.BAD_LENGTH : NakReason.BAD_ARG;
      if (isReliable(f.type)) this.reply({ type: "NAK", acked: f.type, reason }, f.seq);
      return;
    }
    const m = r.msg;
    if (m.type === "ACK" || m.type === "NAK") return this.answer(f.seq, m);
    if (isHostCommand(f.type)) {
      this.c.badPayloads++; // a host->MCU frame coming back: an echoing line, not a panel
      return;
    }
    if (isReliable(f.type)) {
      this.reply({ type: "ACK", acked: f.type }, f.seq);
      // A retransmission of the frame just applied (our ACK was lost). HELLO is always applied: after a
      // reboot the MCU's seq restarts and may equal the last one seen.
      if (m.type !== "HELLO" && f.seq === this.rxLast) {
        this.c.duplicates++;
        return;
      }
      this.rxLast = f.seq;
    }
    this.handler(m);
  }

  private answer(seq: number, m: Extract<Message, { type: "ACK" | "NAK" }>): void {
    const inf = this.inflight;
    if (!inf || seq !== inf.seq || m.acked !== FrameType[inf.msg.type]) {
      this.c.staleReplies++;
      return;
    }
    if (m.type === "ACK") return this.finish();
    this.c.naks++;
    if (m.reason === NakReason.BUSY) return; // the retry timer resends it
    const why = NAK_REASON_TEXT[m.reason] ?? `reason ${m.reason}`;
    this.finish(new PhoneError(ErrorCodes.SERIAL_NAK, `front panel on ${this.link.path} refused ${inf.msg.type} (seq ${seq}): ${why}`, { path: this.link.path, type: inf.msg.type, reason: m.reason }));
  }

  private pump(): void {
    if (this.inflight || this.closed) return;
    const next = this.queue.shift();
    if (!next) return;
    this.txSeq = (this.txSeq + 1) & 0xff;
    this.inflight = { ...next, seq: this.txSeq, bytes: messageFrame(next.msg, this.txSeq), tries: 0 };
    this.transmit();
  }

  private transmit(): void {
    const inf = this.inflight;
    if (!inf) return;
    inf.tries++;
    this.write(inf.bytes);
    inf.timer = this.clock.setTimeout(() => this.timeout(), this.ackTimeoutMs);
  }

  private timeout(): void {
    const inf = this.inflight;
    if (!inf) return;
    if (inf.tries <= this.retries) {
      this.c.retries++;
      this.transmit();
      return;
    }
    this.c.timeouts++;
    this.finish(
      new PhoneError(
        ErrorCodes.SERIAL_TIMEOUT,
        `front panel on ${this.link.path} did not acknowledge ${inf.msg.type} (seq ${inf.seq}) after ${inf.tries} tries, ${this.ackTimeoutMs} ms apart`,
        { path: this.link.path, type: inf.msg.type, seq: inf.seq },
      ),
    );
  }

  private finish(err?: Error): void {
    const inf = this.inflight;
    if (!inf) return;
    inf.timer?.cancel();
    this.inflight = undefined;
    if (err) inf.reject(err);
    else inf.resolve();
    this.pump();
  }

  private reply(m: Message, seq: number): void {
    this.write(messageFrame(m, seq));
  }

  private write(bytes: Uint8Array): void {
    this.c.framesSent++;
    this.link.write(bytes).catch((e: unknown) => {
      if (!this.closed) this.onError(e instanceof Error ? e : new Error(String(e)));
    });
  }
}

// ---- heartbeat supervision (doc §11: the MCU sends HEARTBEAT every period, unasked) -----------------------------

/** Heartbeats missed in a row before the panel counts as lost. */
export const MISSED_HEARTBEATS_LOST = 3;

export interface HeartbeatWatchHandlers {
  /** A period passed without a heartbeat and `missedInRow` reached MISSED_HEARTBEATS_LOST (called on every such tick). */
  lost(missedInRow: number): void;
  /** Every period, after `lost`. */
  tick(): void;
}

/** Ticks once per heartbeat period and counts the periods in which no heartbeat was seen. */
export class HeartbeatWatch {
  private seenSinceTick = true;
  private inRow = 0;
  private total = 0;
  private readonly timer: Timer;

  constructor(clock: Clock, periodMs: number, private readonly on: HeartbeatWatchHandlers) {
    this.timer = clock.setInterval(() => this.onTick(), periodMs);
  }

  /** The panel showed it is alive (a HEARTBEAT, or a HELLO after a restart). */
  seen(): void {
    this.seenSinceTick = true;
    this.inRow = 0;
  }

  /** Periods without a heartbeat since the watch started. */
  missed(): number {
    return this.total;
  }

  stop(): void {
    this.timer.cancel();
  }

  private onTick(): void {
    if (!this.seenSinceTick) {
      this.total++;
      this.inRow++;
      if (this.inRow >= MISSED_HEARTBEATS_LOST) this.on.lost(this.inRow);
    }
    this.seenSinceTick = false;
    this.on.tick();
  }
}

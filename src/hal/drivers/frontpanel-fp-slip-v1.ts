// Front panel on a microcontroller over fp-slip-v1 (docs/frontpanel-protocol.md): keys, hook, LEDs and a character LCD.
// This file opens the panel and keeps it in step (HELLO, loss and return, heartbeat key healing); the wire is in
// fp-slip-v1-link.ts, the keypad/LED/LCD objects in fp-slip-v1-faces.ts, the bytes in protocol/fp-slip-v1-codec.ts.
import type { Clock, Timer } from "../../base/clock.js";
import { PhoneError, ErrorCodes, isPhoneError } from "../../base/errors.js";
import { silentLogger, type Logger } from "../../base/log.js";
import type { BoardTiming } from "../api/board.js";
import type { TextDisplay } from "../api/display.js";
import { Listeners, type Unsubscribe } from "../api/events.js";
import type { HookSwitch } from "../api/hook.js";
import type { Keypad } from "../api/keypad.js";
import type { Leds } from "../api/leds.js";
import type { SerialLink } from "../api/serial.js";
import { HookEngine } from "../core/hook-engine.js";
import { LongPressKeypad } from "../core/long-press.js";
import {
  KEY_CODES, PROTO_MAJOR, PROTO_MINOR, QueryFlag, bitmapHas, keyForCode, type HelloInfo, type Message,
} from "../protocol/fp-slip-v1-codec.js";
import { FpDisplay, FpKeypad, FpLeds, type PanelPort } from "./fp-slip-v1-faces.js";
import { FpSlipLink, HeartbeatWatch, type LinkCounters } from "./fp-slip-v1-link.js";

export { MISSED_HEARTBEATS_LOST, type LinkCounters } from "./fp-slip-v1-link.js";

export interface FrontPanelOptions {
  clock: Clock;
  ackTimeoutMs: number;
  retries: number;
  /** The MCU's heartbeat period; this many ms times 3 without one marks the panel lost. */
  heartbeatMs: number;
  timing: BoardTiming;
  /** LED name -> MCU LED id. */
  leds: Record<string, number>;
  cols: number;
  rows: number;
  log?: Logger;
}

export interface FrontPanelStats extends LinkCounters {
  crcErrors: number;
  runts: number;
  oversize: number;
  badEscapes: number;
  heartbeatsMissed: number;
  unknownKeys: number;
  /** Key states corrected from a heartbeat's keysDown bitmap (edges that were lost on the wire). */
  keysHealed: number;
  /** Times the panel was declared lost (3 heartbeats missed). */
  panelLost: number;
  lost: boolean;
}

export class FrontPanel {
  readonly keypad: Keypad;
  readonly hook: HookSwitch;
  readonly leds: Leds;
  readonly display: TextDisplay;
  /** What the panel said about itself in its last HELLO. */
  info: HelloInfo;

  private readonly keys = new FpKeypad();
  private readonly hookEngine: HookEngine;
  private readonly fpLeds: FpLeds;
  private readonly fpDisplay: FpDisplay;
  private readonly log: Logger;
  private readonly heartbeats: HeartbeatWatch;
  private readonly unsubs: Unsubscribe[] = [];
  private lost = false;
  private linkGone = false;
  private closed = false;
  private queryInFlight = false;
  private ringerCadence = 0;
  private readonly counts = { unknownKeys: 0, keysHealed: 0, panelLost: 0 };

  private constructor(
    private readonly link: SerialLink,
    private readonly t: FpSlipLink,
    private readonly errors: Listeners<Error>,
    hello: HelloInfo,
    private readonly opts: FrontPanelOptions,
  ) {
    this.info = hello;
    this.log = (opts.log ?? silentLogger()).child({ dev: "frontpanel", path: link.path });
    const clock = opts.clock;
    this.hookEngine = new HookEngine(clock, opts.timing, hello.hook);
    this.hook = this.hookEngine;
    this.keypad = new LongPressKeypad(this.keys, clock, opts.timing.longPressMs);
    const port: PanelPort = { send: (m) => this.send(m), report: (e) => this.report(e) };
    this.fpLeds = new FpLeds(port, opts.leds, opts.timing);
    this.leds = this.fpLeds;
    this.fpDisplay = new FpDisplay(port, opts.cols, opts.rows);
    this.display = this.fpDisplay;
    if (hello.lcdCols !== opts.cols || hello.lcdRows !== opts.rows)
      this.log.warn({ panel: `${hello.lcdCols}x${hello.lcdRows}`, board: `${opts.cols}x${opts.rows}` }, "front panel LCD size differs from the board profile");
    this.unsubs.push(link.onClose((err) => this.linkClosed(err)));
    this.heartbeats = new HeartbeatWatch(clock, opts.heartbeatMs, { lost: (n) => this.heartbeatsLost(n), tick: () => this.heartbeatTick() });
  }

  /**
   * Takes ownership of `link`: sends QUERY (reset) and waits for the panel's HELLO. On failure the link is closed
   * and the promise rejects with PHONE_ERR_SERIAL_TIMEOUT (no answer) or PHONE_ERR_SERIAL_PROTOCOL (wrong version).
   */
  static async open(link: SerialLink, opts: FrontPanelOptions): Promise<FrontPanel> {
    const errors = new Listeners<Error>();
    const t = new FpSlipLink(link, opts.clock, opts.ackTimeoutMs, opts.retries, (e) => errors.emit(e));
    const early: Message[] = [];
    let gotHello: ((h: HelloInfo) => void) | undefined;
    t.setHandler((m) => (m.type === "HELLO" && gotHello ? gotHello(m) : early.push(m)));
    const unsubData = link.onData((c) => t.receive(c));
    let hello: HelloInfo;
    try {
      hello = await new Promise<HelloInfo>((resolve, reject) => {
        let timer: Timer | undefined;
        let settled = false;
        const done = (e: Error | undefined, h?: HelloInfo): void => {
          if (settled) return;
          settled = true;
          timer?.cancel();
          if (e) reject(e);
          else resolve(h as HelloInfo);
        };
        const noAnswer = (cause?: unknown): PhoneError =>
          new PhoneError(
            ErrorCodes.SERIAL_TIMEOUT,
            `front panel on ${link.path} did not answer HELLO (QUERY sent up to ${opts.retries + 1} times, ${opts.ackTimeoutMs} ms apart; is it powered, wired and running fp-slip-v1 firmware at the right baud rate?)`,
            { path: link.path },
            { cause },
          );
        gotHello = (h) => {
          const bad = versionError(link.path, h);
          done(bad, h);
        };
        t.send(query()).then(
          () => {
            // HELLO may already be here (the first ACK was lost and a retry's ACK came after it).
            if (!settled) timer = opts.clock.setTimeout(() => done(noAnswer()), opts.ackTimeoutMs * (opts.retries + 1));
          },
          (e) =>
            done(
              isPhoneError(e, ErrorCodes.SERIAL_NAK)
                ? new PhoneError(ErrorCodes.SERIAL_PROTOCOL, `front panel on ${link.path} refused protocol v${PROTO_MAJOR}.${PROTO_MINOR}: ${e.message}`, { path: link.path }, { cause: e })
                : noAnswer(e),
            ),
        );
      });
    } catch (e) {
      t.close();
      unsubData();
      await link.close().catch(() => undefined);
      throw e;
    }
    const panel = new FrontPanel(link, t, errors, hello, opts);
    panel.unsubs.push(unsubData);
    t.setHandler((m) => panel.handle(m));
    for (const m of early) panel.handle(m);
    return panel;
  }

  onError(cb: (err: Error) => void): Unsubscribe {
    return this.errors.add(cb);
  }

  /** True while the panel is lost (no heartbeats); keys are released and display/LED state waits for it. */
  isLost(): boolean {
    return this.lost;
  }

  stats(): FrontPanelStats {
    const d = this.t.decoderStats();
    return {
      ...this.t.counters(),
      crcErrors: d.crcErrors,
      runts: d.runts,
      oversize: d.oversize,
      badEscapes: d.badEscapes,
      heartbeatsMissed: this.heartbeats.missed(),
      ...this.counts,
      lost: this.lost,
    };
  }

  /** Ringer cadence on the panel's own sounder: 0 = off, 1.. = cadence ids of the protocol doc. */
  ringer(cadence: number): Promise<void> {
    this.ringerCadence = cadence;
    return this.send({ type: "RINGER", cadence });
  }

  /** A short tone on the panel's beeper. Rejects while the panel is lost (a late beep is worse than none). */
  beep(hz: number, ms: number): Promise<void> {
    if (this.lost) return Promise.reject(this.lostError());
    return this.t.send({ type: "BEEP", hz, ms });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.heartbeats.stop();
    this.t.close();
    for (const u of this.unsubs) u();
    await this.keypad.close();
    await this.hook.close();
    this.errors.clear();
    await this.link.close().catch(() => undefined);
  }

  /** While lost, state changes wait in the shadows and are replayed when the panel answers again. */
  private send(m: Message): Promise<void> {
    if (this.lost || this.closed) return Promise.resolve();
    return this.t.send(m);
  }

  private handle(m: Message): void {
    if (this.closed) return;
    const now = this.opts.clock.now();
    switch (m.type) {
      case "KEY": {
        const key = keyForCode(m.code);
        if (!key) {
          this.counts.unknownKeys++;
          this.log.warn({ code: m.code }, "front panel sent an unknown key code");
        } else if (!this.lost) this.keys.emit(key, m.down, now);
        return;
      }
      case "HOOK":
        if (!this.lost) this.hookEngine.feed(m.offHook ? 1 : 0, now);
        return;
      case "HEARTBEAT":
        this.heartbeats.seen();
        if (this.lost) return this.requery();
        this.hookEngine.resync(m.hook, now);
        for (const [key, code] of Object.entries(KEY_CODES)) {
          const down = bitmapHas(m.keysDown, code);
          if (down !== this.keys.down().includes(key)) {
            this.counts.keysHealed++;
            this.keys.emit(key, down, now);
          }
        }
        return;
      case "HELLO":
        return this.hello(m);
      default:
        return;
    }
  }

  /** A HELLO after open: the panel came back, or rebooted on its own. Either way its outputs are in reset state. */
  private hello(h: HelloInfo): void {
    const bad = versionError(this.link.path, h);
    if (bad) {
      if (!this.lost) this.goLost(bad);
      return;
    }
    this.info = h;
    if (this.lost) this.log.info("front panel answered again; restoring display and LEDs");
    else this.log.warn("front panel sent HELLO unasked (it restarted); restoring display and LEDs");
    this.lost = false;
    this.heartbeats.seen();
    this.hookEngine.resync(h.hook, this.opts.clock.now());
    this.fpDisplay.replay();
    this.fpLeds.replay();
    if (this.ringerCadence !== 0) void this.ringer(this.ringerCadence).catch((e) => this.report(e));
  }

  /** MISSED_HEARTBEATS_LOST or more periods in a row without a heartbeat. */
  private heartbeatsLost(missedInRow: number): void {
    if (this.lost) return;
    this.goLost(
      new PhoneError(
        ErrorCodes.SERIAL_TIMEOUT,
        `front panel on ${this.link.path} is lost: ${missedInRow} heartbeats missed (one expected every ${this.opts.heartbeatMs} ms); keys released, asking it with QUERY every ${this.opts.heartbeatMs} ms`,
        { path: this.link.path, missed: missedInRow },
      ),
    );
  }

  /** Every heartbeat period: while lost, ask again. */
  private heartbeatTick(): void {
    if (this.lost) this.requery();
  }

  private goLost(err: Error): void {
    this.lost = true;
    this.counts.panelLost++;
    this.keys.releaseAll(this.opts.clock.now());
    this.t.flush(this.lostError());
    this.report(err);
    this.requery();
  }

  private requery(): void {
    if (this.queryInFlight || this.closed || this.linkGone) return;
    this.queryInFlight = true;
    this.t
      .send(query())
      .catch(() => undefined) // expected while the panel is away; the loss was reported once
      .finally(() => (this.queryInFlight = false));
  }

  private linkClosed(err?: Error): void {
    if (this.closed) return;
    this.linkGone = true;
    const e = new PhoneError(ErrorCodes.DEVICE_ABSENT, `front panel link ${this.link.path} closed${err ? `: ${err.message}` : ""}`, { path: this.link.path }, { cause: err });
    if (!this.lost) this.goLost(e);
    else this.report(e);
  }

  private lostError(): PhoneError {
    return new PhoneError(ErrorCodes.SERIAL_TIMEOUT, `front panel on ${this.link.path} is lost`, { path: this.link.path });
  }

  private report(e: Error): void {
    this.log.error({ err: e }, e.message);
    this.errors.emit(e);
  }
}

/** QUERY with RESET: the panel starts from a known state (LCD blank, LEDs off, ringer off, backlight on). */
function query(): Message {
  return { type: "QUERY", protoMajor: PROTO_MAJOR, protoMinor: PROTO_MINOR, flags: QueryFlag.RESET };
}

function versionError(path: string, h: HelloInfo): PhoneError | undefined {
  if (h.protoMajor === PROTO_MAJOR) return undefined;
  return new PhoneError(
    ErrorCodes.SERIAL_PROTOCOL,
    `front panel on ${path} speaks fp-slip v${h.protoMajor}.${h.protoMinor}, this phone only v${PROTO_MAJOR}.x (update the panel firmware or the phone software)`,
    { path, panelVersion: `${h.protoMajor}.${h.protoMinor}`, hostVersion: `${PROTO_MAJOR}.${PROTO_MINOR}` },
  );
}

// TCA8418 keypad scan controller driver: configure the matrix, drain the key-event FIFO on INT, report keys.
//
// Host loop, as in Linux drivers/input/keyboard/tca8418_keypad.c and the datasheet (TI SCPS215G):
//   INT asserted -> read INT_STAT -> read KEY_EVENT_A until it reads 0 -> write the INT_STAT bits back (W1C).
// One event per single-byte read: multi-byte FIFO reads are reported to corrupt events on real parts (TI E2E forum).
import type { Clock, Timer } from "../../base/clock.js";
import { PhoneError, ErrorCodes, isPhoneError } from "../../base/errors.js";
import { Listeners, type Unsubscribe } from "../api/events.js";
import type { GpioLine } from "../api/gpio.js";
import type { I2cBus } from "../api/i2c.js";
import { probeOrAbsent } from "../core/i2c-probe.js";
import { isValidKeyId, type KeyId, type Keypad } from "../api/keypad.js";
import { KeyStream, LongPressKeypad } from "../core/long-press.js";
import {
  TCA8418_CFG as CFG, TCA8418_COLS as MAX_COLS, TCA8418_EVENT as EVENT, TCA8418_FIFO_DEPTH as FIFO_DEPTH, TCA8418_INT as INT,
  TCA8418_INT_ALL as INT_ALL, TCA8418_KEY_LCK_EC as KEY_LCK_EC, TCA8418_REG as REG, TCA8418_ROWS as MAX_ROWS, tca8418KeyPosition,
} from "../protocol/tca8418-registers.js";

/** Rounds of INT_STAT/drain/clear per INT before leaving the rest to the recovery poll (a stuck INT must not spin). */
const MAX_ROUNDS = 8;

export interface Tca8418Options {
  address: number;
  /** INT line (closed with the keypad), requested as an input with activeLow (logical 1 = INT asserted) and edge "both" or "rising"
   * (logical edges, as gpiod v2 reports them; the wire falls). With any other edge setting the recovery poll
   * still finds an asserted INT, only later. */
  int: GpioLine;
  /** keymap[row][col]; "" marks a position with no key. */
  keymap: (KeyId | "")[][];
  clock: Clock;
  longPressMs?: number;
  /** When the 10-event FIFO is full: keep the oldest events and drop new ones (the chip's default, keeps the
   * start of a dialled number) or drop the oldest (OVR_FLOW_M = 1). Either way the driver resynchronises. */
  overflowMode?: "discard-new" | "overwrite-oldest";
  /** How often the INT level is checked in case an edge was missed or a drain failed; default 100 ms. */
  recoveryPollMs?: number;
}

export interface Tca8418Stats {
  /** Key events decoded from the FIFO. */
  events: number;
  /** FIFO overflows seen (events were lost; held keys were released). */
  overflows: number;
  /** Events with a key number not in the keymap (or a GPI event). */
  unknownKeys: number;
  /** I2C failures while servicing INT. */
  errors: number;
}

/** What open() returns: a keypad plus the controller's counters and error reports. */
export interface Tca8418Handle extends Keypad {
  stats(): Tca8418Stats;
  onError(cb: (err: PhoneError) => void): Unsubscribe;
}

export class Tca8418Keypad extends KeyStream implements Tca8418Handle {
  readonly keys: readonly KeyId[];
  private readonly errors = new Listeners<PhoneError>();
  private readonly counters: Tca8418Stats = { events: 0, overflows: 0, unknownKeys: 0, errors: 0 };
  private readonly where: string;
  private unwatch: Unsubscribe | undefined;
  private poll: Timer | undefined;
  private busy = false;
  private again = false;
  private closed = false;

  private constructor(
    private readonly bus: I2cBus,
    private readonly opts: Tca8418Options,
  ) {
    super();
    this.where = `TCA8418 at 0x${opts.address.toString(16)} on I2C bus ${bus.bus}`;
    this.keys = opts.keymap.flat().filter((k): k is KeyId => k !== "");
  }

  static async open(bus: I2cBus, opts: Tca8418Options): Promise<Tca8418Handle> {
    const { rowMask, colMask } = checkKeymap(opts.keymap);
    const pad = new Tca8418Keypad(bus, opts);
    await probeOrAbsent(bus, opts.address, "TCA8418", "is the keypad controller connected?");
    try {
      await pad.writeReg(REG.KP_GPIO1, rowMask);
      await pad.writeReg(REG.KP_GPIO2, colMask & 0xff);
      await pad.writeReg(REG.KP_GPIO3, colMask >> 8);
      // INT_CFG: the chip pulses INT high for 50 µs when we clear while events are pending, so an edge-triggered
      // host gets a fresh edge instead of a line that just stays low.
      const mode = opts.overflowMode === "overwrite-oldest" ? CFG.OVR_FLOW_M : 0;
      await pad.writeReg(REG.CFG, CFG.KE_IEN | CFG.OVR_FLOW_IEN | CFG.INT_CFG | mode);
      // Events queued before we configured (power-on glitches, keys pressed during boot) mean nothing now.
      await pad.drain([]);
      await pad.writeReg(REG.INT_STAT, INT_ALL);
    } catch (e) {
      throw pad.wrap(e, "configuring the keypad");
    }
    pad.start();
    if (opts.longPressMs === undefined) return pad;
    return new Tca8418LongPress(pad, opts.clock, opts.longPressMs);
  }

  stats(): Tca8418Stats {
    return { ...this.counters };
  }

  onError(cb: (err: PhoneError) => void): Unsubscribe {
    return this.errors.add(cb);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unwatch?.();
    this.poll?.cancel();
    this.opts.int.close(); // the INT line is ours alone; the bus is shared with other chips and stays open
    this.releaseAll(this.opts.clock.now());
    this.clear();
    this.errors.clear();
  }

  private start(): void {
    this.unwatch = this.opts.int.watch((level) => {
      if (level === 1) void this.service();
    });
    this.poll = this.opts.clock.setInterval(() => {
      if (!this.busy && this.opts.int.read() === 1) void this.service();
    }, this.opts.recoveryPollMs ?? 100);
    if (this.opts.int.read() === 1) void this.service();
  }

  /** Serialised: an INT edge during a drain only asks for one more round. */
  private async service(): Promise<void> {
    if (this.closed) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      for (let round = 0; round < MAX_ROUNDS && !this.closed; round++) {
        this.again = false;
        if (!(await this.serviceOnce())) break; // failed: the next INT edge or the poll retries
        if (!this.again && this.opts.int.read() !== 1) break;
      }
    } finally {
      this.busy = false;
    }
  }

  private async serviceOnce(): Promise<boolean> {
    const t = this.opts.clock.now();
    const events: number[] = [];
    try {
      const stat = await this.readReg(REG.INT_STAT);
      await this.drain(events);
      this.deliver(events.splice(0), t);
      if (stat & INT.OVR_FLOW) {
        // Events were lost, so our idea of which keys are down may be wrong. The chip has no key-state register
        // for matrix keys; releasing everything is the safe side (a stuck "down" is worse than a cut-off hold).
        this.counters.overflows++;
        this.releaseAll(t);
      }
      if (stat) await this.writeReg(REG.INT_STAT, stat & INT_ALL);
      return true;
    } catch (e) {
      // Events already popped are gone from the chip: deliver them rather than lose them too.
      this.deliver(events.splice(0), t);
      this.counters.errors++;
      this.errors.emit(this.wrap(e, "servicing INT"));
      return false;
    }
  }

  /** Pops the FIFO into `out` until it reads 0. Bounded, so a chip that never empties cannot hold us forever. */
  private async drain(out: number[]): Promise<void> {
    const count = (await this.readReg(REG.KEY_LCK_EC)) & KEY_LCK_EC.KEC;
    for (let i = 0; i < count + FIFO_DEPTH; i++) {
      const ev = await this.readReg(REG.KEY_EVENT_A);
      if (ev === 0) return;
      out.push(ev);
    }
  }

  private deliver(events: number[], t: number): void {
    for (const ev of events) {
      this.counters.events++;
      const key = this.decode(ev & EVENT.KEY);
      if (!key) {
        this.counters.unknownKeys++;
        continue;
      }
      this.emit(key, (ev & EVENT.PRESS) !== 0, t);
    }
  }

  /** Key number -> keymap entry. Numbers above 80 are GPI events, which this driver does not enable. */
  private decode(code: number): KeyId | undefined {
    const at = tca8418KeyPosition(code);
    const key = at && this.opts.keymap[at.row]?.[at.col];
    return key ? key : undefined;
  }

  private async readReg(reg: number): Promise<number> {
    const b = await this.bus.writeRead(this.opts.address, Uint8Array.of(reg), 1);
    return b[0] ?? 0;
  }

  private writeReg(reg: number, value: number): Promise<void> {
    return this.bus.write(this.opts.address, Uint8Array.of(reg, value & 0xff));
  }

  private wrap(e: unknown, doing: string): PhoneError {
    const code = isPhoneError(e) ? e.code : ErrorCodes.I2C_IO;
    const why = e instanceof Error ? e.message : String(e);
    return new PhoneError(code, `${this.where}: ${doing} failed: ${why}`, { bus: this.bus.bus, address: this.opts.address }, { cause: e });
  }
}

/** The long-press stage over the driver, still exposing the driver's counters and errors. */
class Tca8418LongPress extends LongPressKeypad implements Tca8418Handle {
  constructor(
    private readonly pad: Tca8418Keypad,
    clock: Clock,
    longPressMs: number,
  ) {
    super(pad, clock, longPressMs);
  }

  stats(): Tca8418Stats {
    return this.pad.stats();
  }

  onError(cb: (err: PhoneError) => void): Unsubscribe {
    return this.pad.onError(cb);
  }
}

/** Checks the keymap's shape against the chip (8 rows, 10 columns) and returns the KP_GPIO masks it needs. */
function checkKeymap(keymap: (KeyId | "")[][]): { rowMask: number; colMask: number } {
  const bad = (msg: string): PhoneError => new PhoneError(ErrorCodes.BOARD_INVALID, `TCA8418 keymap: ${msg}`);
  if (!Array.isArray(keymap) || keymap.length === 0) throw bad("needs at least one row");
  if (keymap.length > MAX_ROWS) throw bad(`has ${keymap.length} rows; the chip scans at most ${MAX_ROWS}`);
  let rowMask = 0;
  let colMask = 0;
  const seen = new Set<KeyId>();
  keymap.forEach((row, r) => {
    if (!Array.isArray(row)) throw bad(`row ${r} is not a list`);
    if (row.length > MAX_COLS) throw bad(`row ${r} has ${row.length} columns; the chip scans at most ${MAX_COLS}`);
    row.forEach((key, c) => {
      if (key === "") return;
      if (!isValidKeyId(key)) throw bad(`[${r}][${c}] is '${key}', not a key name`);
      if (seen.has(key)) throw bad(`[${r}][${c}] repeats key '${key}'`);
      seen.add(key);
      rowMask |= 1 << r;
      colMask |= 1 << c;
    });
  });
  if (seen.size === 0) throw bad("names no keys");
  return { rowMask, colMask };
}

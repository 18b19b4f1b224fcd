// TCA8418 keypad scan controller emulator: the register protocol on its I2C face, key presses on its backend face.
//
// Bus face (what the driver sees, attach it to an emulated I2C bus at 0x34):
//   write([reg, data...]) sets the register pointer, then stores data; read(n) returns n bytes from the pointer.
//   With CFG.AI set the pointer moves on after every byte; without it every byte hits the same register.
//   Reading KEY_EVENT_A (0x04) pops the 10-deep FIFO; KEY_EVENT_B..J (0x05-0x0D) only show FIFO slots 1..9.
// Backend face (tests, simulator): press(row, col), release(row, col), tap(row, col), fifo(), intLine().
//
// Datasheet (TI SCPS215G) points modelled here:
// - "The KE_INT bit and /INT pin will not cleared until the FIFO is cleared of all events."
// - OVR_FLOW_M = 1: "Overflow data shifts with last event pushing first event out"; 0: "Overflow data is not
//   stored and lost". Either way OVR_FLOW_INT is set.
// - INT_CFG = 1: the INT pin is deasserted for 50 µs and reasserts when the host clears an interrupt while another
//   one is still pending; with 0 it just stays low (an edge-triggered host then sees no new edge).
// - Only keys whose row and column are in keypad mode (KP_GPIO1-3) produce events.
// Not modelled: key lock (UNLOCK1/2, KP_LCK_TIMER), GPI events, debounce timing, the CAD interrupt.
import type { Clock } from "../../base/clock.js";
import { PhoneError, ErrorCodes, notSupported } from "../../base/errors.js";
import { Listeners, type Unsubscribe } from "../api/events.js";
import type { GpioLine, GpioLineSpec, Level } from "../api/gpio.js";
import {
  TCA8418_CFG, TCA8418_EVENT, TCA8418_FIFO_DEPTH as FIFO_DEPTH, TCA8418_INT, TCA8418_INT_ALL, TCA8418_KEY_LCK_EC, TCA8418_REG,
  tca8418KeyNumber as keyNumber,
} from "../protocol/tca8418-registers.js";

const LAST_REG = TCA8418_REG.GPIO_PULL3;
/** INT_CFG deassert pulse, datasheet: 50 µs. */
const INT_PULSE_MS = 0.05;
/** Registers the host cannot write (status and FIFO); writes to them are dropped like on the chip. */
const READ_ONLY = new Set([0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16]);

export interface Tca8418EmulOptions {
  clock: Clock;
}

export class Tca8418Emul {
  private readonly clock: Clock;
  private readonly regs = new Uint8Array(LAST_REG + 1);
  private ptr = 0;
  private readonly queue: number[] = [];
  private readonly held = new Set<number>();
  private readonly lines = new Set<Tca8418IntLine>();
  private readonly wireListeners = new Listeners<{ wire: Level; tMs: number }>();
  private pulsing = false;
  private wireLow = false;
  private faults: Error[] = [];
  private readFaults: { reg: number; after: number; count: number; error: Error }[] = [];

  constructor(opts: Tca8418EmulOptions) {
    this.clock = opts.clock;
  }

  // ---- bus face -------------------------------------------------------------------------------------------

  write(bytes: Uint8Array): void {
    this.fault();
    if (bytes.length === 0) return;
    this.ptr = bytes[0];
    for (let i = 1; i < bytes.length; i++) {
      this.writeReg(this.ptr, bytes[i]);
      this.step();
    }
  }

  read(length: number): Uint8Array {
    this.fault();
    this.readFault();
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      out[i] = this.readReg(this.ptr);
      this.step();
    }
    return out;
  }

  // ---- backend face ---------------------------------------------------------------------------------------

  /** Closes the switch at (row, col): queues a press event if that key is in keypad mode. */
  press(row: number, col: number): void {
    const n = keyNumber(row, col);
    if (this.held.has(n)) return;
    this.held.add(n);
    if (this.inKeypadMode(row, col)) this.push(TCA8418_EVENT.PRESS | n);
  }

  release(row: number, col: number): void {
    const n = keyNumber(row, col);
    if (!this.held.delete(n)) return;
    if (this.inKeypadMode(row, col)) this.push(n);
  }

  tap(row: number, col: number): void {
    this.press(row, col);
    this.release(row, col);
  }

  /** The FIFO as raw event bytes, oldest first (what KEY_EVENT_A..J hold). */
  fifo(): readonly number[] {
    return [...this.queue];
  }

  /** A register's value without the side effects of a bus read (KEY_EVENT_A does not pop). */
  peek(reg: number): number {
    if (reg === TCA8418_REG.KEY_LCK_EC) return this.lockEc();
    if (reg >= TCA8418_REG.KEY_EVENT_A && reg <= TCA8418_REG.KEY_EVENT_J) return this.queue[reg - TCA8418_REG.KEY_EVENT_A] ?? 0;
    return this.regs[reg] ?? 0;
  }

  /** The next `count` bus transfers (write or read calls) fail, as an EIO from the adapter would. */
  failNext(count = 1, error: Error = eio()): void {
    for (let i = 0; i < count; i++) this.faults.push(error);
  }

  /** Reads of register `reg` fail: `after` good reads first, then `count` failing ones (e.g. EIO mid-drain). */
  failRead(reg: number, { after = 0, count = 1, error = eio() }: { after?: number; count?: number; error?: Error } = {}): void {
    this.readFaults.push({ reg, after, count, error });
  }

  /** True while the INT pin is driven low. */
  intAsserted(): boolean {
    return this.wireLow;
  }

  /**
   * The INT pin as the host's GPIO input (default spec: activeLow, edge "both"). As in gpio-emul.ts and the
   * kernel's GPIO v2 uAPI, edges are of the logical level: with activeLow, "rising" is INT being asserted.
   */
  intLine(spec: Partial<GpioLineSpec> = {}): GpioLine {
    const full: GpioLineSpec = { line: 0, direction: "in", edge: "both", activeLow: true, consumer: "tca8418 INT", ...spec };
    const line = new Tca8418IntLine(full, () => this.wireLow, () => this.lines.delete(line));
    this.lines.add(line);
    return line;
  }

  /** The INT wire level (0 = asserted) on every change, to connect the pin to an emulated GPIO chip instead. */
  onWire(cb: (wire: Level, tMs: number) => void): Unsubscribe {
    return this.wireListeners.add(({ wire, tMs }) => cb(wire, tMs));
  }

  // ---- internals ------------------------------------------------------------------------------------------

  private fault(): void {
    const e = this.faults.shift();
    if (e) throw e;
  }

  private readFault(): void {
    const f = this.readFaults.find((x) => x.reg === this.ptr);
    if (!f) return;
    if (f.after > 0) {
      f.after--;
      return;
    }
    if (--f.count <= 0) this.readFaults.splice(this.readFaults.indexOf(f), 1);
    throw f.error;
  }

  private step(): void {
    if (!(this.regs[TCA8418_REG.CFG] & TCA8418_CFG.AI)) return;
    // Past the last register the pointer wraps to CFG (datasheet is silent; no driver should rely on it).
    this.ptr = this.ptr >= LAST_REG ? TCA8418_REG.CFG : this.ptr + 1;
  }

  private lockEc(): number {
    return (this.regs[TCA8418_REG.KEY_LCK_EC] & TCA8418_KEY_LCK_EC.LOCK_BITS) | this.queue.length;
  }

  private readReg(reg: number): number {
    if (reg === TCA8418_REG.KEY_LCK_EC) return this.lockEc();
    if (reg === TCA8418_REG.KEY_EVENT_A) {
      const ev = this.queue.shift() ?? 0;
      this.updateInt();
      return ev;
    }
    if (reg > TCA8418_REG.KEY_EVENT_A && reg <= TCA8418_REG.KEY_EVENT_J) return this.queue[reg - TCA8418_REG.KEY_EVENT_A] ?? 0;
    return this.regs[reg] ?? 0;
  }

  private writeReg(reg: number, value: number): void {
    if (reg > LAST_REG || READ_ONLY.has(reg)) return;
    if (reg === TCA8418_REG.INT_STAT) {
      this.clearInt(value);
      return;
    }
    this.regs[reg] = value & 0xff;
    this.updateInt();
  }

  /** INT_STAT is write-1-to-clear; K_INT survives while the FIFO still holds events. */
  private clearInt(value: number): void {
    let clear = value & TCA8418_INT_ALL;
    if (this.queue.length > 0) clear &= ~TCA8418_INT.K_INT;
    this.regs[TCA8418_REG.INT_STAT] &= ~clear;
    const stillPending = (value & TCA8418_INT_ALL & this.regs[TCA8418_REG.INT_STAT]) !== 0;
    if (stillPending && this.regs[TCA8418_REG.CFG] & TCA8418_CFG.INT_CFG && this.pinWanted()) {
      this.pulsing = true;
      this.updateInt();
      this.clock.setTimeout(() => {
        this.pulsing = false;
        this.updateInt();
      }, INT_PULSE_MS);
      return;
    }
    this.updateInt();
  }

  private push(ev: number): void {
    const stat = TCA8418_REG.INT_STAT;
    if (this.queue.length >= FIFO_DEPTH) {
      this.regs[stat] |= TCA8418_INT.OVR_FLOW;
      if (this.regs[TCA8418_REG.CFG] & TCA8418_CFG.OVR_FLOW_M) {
        this.queue.shift();
        this.queue.push(ev);
      }
    } else {
      this.queue.push(ev);
    }
    this.regs[stat] |= TCA8418_INT.K_INT;
    this.updateInt();
  }

  private inKeypadMode(row: number, col: number): boolean {
    const rows = this.regs[TCA8418_REG.KP_GPIO1];
    const cols = this.regs[TCA8418_REG.KP_GPIO2] | (this.regs[TCA8418_REG.KP_GPIO3] << 8);
    return (rows & (1 << row)) !== 0 && (cols & (1 << col)) !== 0;
  }

  private pinWanted(): boolean {
    const s = this.regs[TCA8418_REG.INT_STAT];
    const c = this.regs[TCA8418_REG.CFG];
    return (
      (s & TCA8418_INT.K_INT && c & TCA8418_CFG.KE_IEN) ||
      (s & TCA8418_INT.OVR_FLOW && c & TCA8418_CFG.OVR_FLOW_IEN) ||
      (s & TCA8418_INT.GPI && c & TCA8418_CFG.GPI_IEN) ||
      (s & TCA8418_INT.K_LCK && c & TCA8418_CFG.K_LCK_IEN)
    ) !== 0;
  }

  private updateInt(): void {
    const low = this.pinWanted() && !this.pulsing;
    if (low === this.wireLow) return;
    this.wireLow = low;
    const t = this.clock.now();
    const wire: Level = low ? 0 : 1;
    for (const line of [...this.lines]) line.edge(wire, t);
    this.wireListeners.emit({ wire, tMs: t });
  }
}

function eio(): PhoneError {
  return new PhoneError(ErrorCodes.I2C_IO, "TCA8418 emulator: injected EIO on the bus");
}

/** The host side of the INT pin: an input line with a pull-up, driven low by the chip (open drain). */
class Tca8418IntLine implements GpioLine {
  readonly spec: Readonly<GpioLineSpec>;
  private readonly listeners = new Listeners<{ level: Level; tMs: number }>();
  private closed = false;

  constructor(
    spec: GpioLineSpec,
    private readonly wireLow: () => boolean,
    private readonly onClose: () => void,
  ) {
    this.spec = Object.freeze({ ...spec });
  }

  read(): Level {
    this.check();
    return this.logical(this.wireLow() ? 0 : 1);
  }

  write(): void {
    throw notSupported("driving the line (INT is an output of the chip)", "TCA8418 INT line");
  }

  watch(cb: (level: Level, tMs: number) => void): Unsubscribe {
    this.check();
    return this.listeners.add(({ level, tMs }) => cb(level, tMs));
  }

  setDirection(direction: "in" | "out"): void {
    if (direction !== "in") throw notSupported("output direction", "TCA8418 INT line");
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.onClose();
  }

  /** Called by the chip with the new wire level; reports the edge if the spec asks for it (logical edges). */
  edge(wire: Level, tMs: number): void {
    if (this.closed) return;
    const level = this.logical(wire);
    const edge = this.spec.edge ?? "none";
    if (edge === "both" || (edge === "rising" && level === 1) || (edge === "falling" && level === 0)) this.listeners.emit({ level, tMs });
  }

  private logical(wire: Level): Level {
    return this.spec.activeLow ? (wire ? 0 : 1) : wire;
  }

  private check(): void {
    if (this.closed) throw new PhoneError(ErrorCodes.DEVICE_CLOSED, `GPIO line ${this.spec.line} (${this.spec.consumer}) is closed`);
  }
}

// Emulated GPIO controller: the GpioChip API on its bus face, electrical wire levels on its backend face.
import type { Clock, Timer } from "../../base/clock.js";
import { ErrorCodes, PhoneError } from "../../base/errors.js";
import { Listeners, type Unsubscribe } from "../api/events.js";
import type { Edge, GpioChip, GpioLine, GpioLineSpec, Level } from "../api/gpio.js";

export interface EmulatedGpioChipOptions {
  clock: Clock;
  /** The label drivers look for; default "emulated-gpio". */
  label?: string;
  /** Number of lines (offsets 0..lines-1); default 54, like a BCM2835/2711 bank. */
  lines?: number;
}

/** One pin of the emulated controller, requested or not. */
interface Pin {
  user: EmulatedGpioLine | undefined;
  /** The level the controller itself drives (an output), or null when the pin is high impedance. */
  drive: Level | null;
  /** The level something outside drives (a switch to ground, another chip), or null for nothing. */
  external: Level | null;
  /** Weak level from the bias resistor, or null when there is none. */
  pull: Level | null;
  /** The level last seen on the wire; a floating wire keeps it (its charge), which is as good a guess as any. */
  level: Level;
  levelListeners: Listeners<{ level: Level; tMs: number }>;
  driveListeners: Listeners<Level | null>;
}

const flip = (v: Level): Level => (v ? 0 : 1);
const xorLow = (v: Level, activeLow: boolean | undefined): Level => (activeLow ? flip(v) : v);

function edgeWanted(edge: Edge | undefined, to: Level): boolean {
  if (edge === "both") return true;
  return to === 1 ? edge === "rising" : edge === "falling";
}

/**
 * A GPIO controller in memory. Drivers request lines and see logical levels (activeLow applied), as from
 * the kernel; tests and the simulator work on wires: setWire() is what a switch does to the pin, wire()
 * is what a voltmeter would read. Edges are delivered synchronously, only for edges the line asked for,
 * stamped with the clock.
 */
export class EmulatedGpioChip implements GpioChip {
  readonly label: string;
  readonly lines: number;
  private readonly clock: Clock;
  private readonly pins: Pin[];

  constructor(opts: EmulatedGpioChipOptions) {
    this.clock = opts.clock;
    this.label = opts.label ?? "emulated-gpio";
    this.lines = opts.lines ?? 54;
    this.pins = Array.from({ length: this.lines }, () => ({
      user: undefined,
      drive: null,
      external: null,
      pull: null,
      level: 0 as Level,
      levelListeners: new Listeners<{ level: Level; tMs: number }>(),
      driveListeners: new Listeners<Level | null>(),
    }));
  }

  // ---- bus face (what drivers use) ----

  request(spec: GpioLineSpec): GpioLine {
    const who = spec.consumer ?? "a driver";
    if (!Number.isInteger(spec.line) || spec.line < 0 || spec.line >= this.lines) {
      throw new PhoneError(
        ErrorCodes.BOARD_INVALID,
        `GPIO line ${spec.line} (${who}) does not exist on ${this.label}, which has lines 0-${this.lines - 1}`,
        { chip: this.label, line: spec.line, lines: this.lines },
      );
    }
    const p = this.pins[spec.line];
    if (p.user) {
      throw new PhoneError(
        ErrorCodes.DEVICE_BUSY,
        `GPIO line ${spec.line} on ${this.label} is already in use by ${p.user.spec.consumer ?? "another driver"}`,
        { chip: this.label, line: spec.line },
      );
    }
    // Bias is pin configuration: "as-is" (or nothing) leaves whatever was there.
    if (spec.bias === "pull-up") p.pull = 1;
    else if (spec.bias === "pull-down") p.pull = 0;
    else if (spec.bias === "disable") p.pull = null;
    const before = p.drive;
    p.drive = spec.direction === "out" ? xorLow(spec.initial ?? 0, spec.activeLow) : null;
    this.update(spec.line, false);
    // Attach only now: the level found at request time is the reference, not an edge.
    const line = new EmulatedGpioLine(this, { ...spec });
    p.user = line;
    line.resample();
    if (p.drive !== before) this.driveChanged(spec.line);
    return line;
  }

  close(): void {
    for (const p of this.pins) p.user?.close();
  }

  // ---- backend face (what tests and the simulator use) ----

  /** Drives the wire from outside (1 = high, 0 = low); `lostEdge` drops the edge, as a missed interrupt would. */
  setWire(line: number, level: Level, opts: { lostEdge?: boolean } = {}): void {
    this.pin(line).external = level;
    this.update(line, opts.lostEdge === true);
  }

  /** Stops driving the wire from outside: it falls back to the controller's drive, the bias, or floats. */
  releaseWire(line: number): void {
    this.pin(line).external = null;
    this.update(line, false);
  }

  /** The electrical level on the wire now (an output's drive, else the outside drive, else the bias). */
  wire(line: number): Level {
    return this.pin(line).level;
  }

  /** The level the controller drives on this pin, or null when the pin is an input (high impedance). */
  driving(line: number): Level | null {
    return this.pin(line).drive;
  }

  /** The bias resistor's level on this pin, or null when there is none. */
  pull(line: number): Level | null {
    return this.pin(line).pull;
  }

  /** Called on every change of the wire's level, whatever caused it (an LED, a scope probe). */
  onWire(line: number, cb: (level: Level, tMs: number) => void): Unsubscribe {
    return this.pin(line).levelListeners.add((c) => cb(c.level, c.tMs));
  }

  /** Called when the controller starts, stops or changes driving this pin (direction or output changes). */
  onDrive(line: number, cb: (drive: Level | null) => void): Unsubscribe {
    return this.pin(line).driveListeners.add(cb);
  }

  /**
   * Contact bounce: the wire goes to `finalWire` now, then flips back and forth, holding each level for the
   * next interval, and comes to rest at `finalWire` after the last one. Runs on the clock.
   */
  bounce(line: number, finalWire: Level, intervalsMs: readonly number[]): Timer {
    this.pin(line);
    let timer: Timer | undefined;
    let level = finalWire;
    let i = 0;
    const next = (): void => {
      if (i >= intervalsMs.length) {
        timer = undefined;
        return;
      }
      timer = this.clock.setTimeout(() => {
        i++;
        // After the last interval the contact rests at finalWire, whatever the count of flips.
        level = i >= intervalsMs.length ? finalWire : flip(level);
        this.setWire(line, level);
        next();
      }, intervalsMs[i]);
    };
    this.setWire(line, finalWire);
    next();
    return { cancel: () => timer?.cancel() };
  }

  // ---- internals shared with EmulatedGpioLine ----

  /** @internal */ pinOf(line: number): Pin {
    return this.pin(line);
  }

  /** @internal Recomputes a pin's wire level and tells whoever listens. */
  update(line: number, lostEdge: boolean): void {
    const p = this.pin(line);
    const level = p.drive ?? p.external ?? p.pull ?? p.level;
    if (level !== p.level) {
      p.level = level;
      p.levelListeners.emit({ level, tMs: this.clock.now() });
    }
    p.user?.sample(lostEdge);
  }

  /** @internal */ driveChanged(line: number): void {
    const p = this.pin(line);
    p.driveListeners.emit(p.drive);
  }

  /** @internal */ timeNow(): number {
    return this.clock.now();
  }

  private pin(line: number): Pin {
    const p = this.pins[line];
    if (!p) throw new PhoneError(ErrorCodes.BAD_REQUEST, `${this.label} has no line ${line}`, { line });
    return p;
  }
}

/** One requested line: logical levels over the pin's wire. */
class EmulatedGpioLine implements GpioLine {
  private direction: "in" | "out";
  private out: Level;
  private seen: Level = 0;
  private closed = false;
  private readonly watchers = new Listeners<Level>();

  constructor(
    private readonly chip: EmulatedGpioChip,
    readonly spec: Readonly<GpioLineSpec>,
  ) {
    this.direction = spec.direction;
    this.out = spec.initial ?? 0;
  }

  read(): Level {
    this.check("read");
    if (this.direction === "out") return this.out;
    return xorLow(this.chip.pinOf(this.spec.line).level, this.spec.activeLow);
  }

  write(level: Level): void {
    this.check("write");
    if (this.direction !== "out") {
      throw new PhoneError(ErrorCodes.BAD_REQUEST, `GPIO line ${this.spec.line} (${this.who()}) is an input; it cannot be written`, {
        line: this.spec.line,
      });
    }
    this.out = level;
    this.drive(xorLow(level, this.spec.activeLow));
  }

  watch(cb: (level: Level, tMs: number) => void): Unsubscribe {
    this.check("watch");
    return this.watchers.add((level) => cb(level, this.chip.timeNow()));
  }

  setDirection(direction: "in" | "out", level: Level = 0): void {
    this.check("set the direction of");
    if (direction === "out") {
      this.direction = "out";
      this.out = level;
      this.drive(xorLow(level, this.spec.activeLow));
    } else {
      // Release the pin first, then take the level found as the new reference: a direction change is no edge.
      this.drive(null);
      this.direction = "in";
      this.resample();
    }
  }

  /** Releases the line. Like a real controller, the pin keeps its last configuration (an output stays driven). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watchers.clear();
    const p = this.chip.pinOf(this.spec.line);
    if (p.user === this) p.user = undefined;
  }

  /** @internal Called after the wire changed: delivers an edge if the logical level moved and the spec wants it. */
  sample(lostEdge: boolean): void {
    if (this.closed || this.direction !== "in") return;
    const now = xorLow(this.chip.pinOf(this.spec.line).level, this.spec.activeLow);
    if (now === this.seen) return;
    this.seen = now;
    if (!lostEdge && edgeWanted(this.spec.edge, now)) this.watchers.emit(now);
  }

  /** @internal Takes the current level as the reference for edges without reporting one. */
  resample(): void {
    this.seen = xorLow(this.chip.pinOf(this.spec.line).level, this.spec.activeLow);
  }

  private drive(d: Level | null): void {
    const p = this.chip.pinOf(this.spec.line);
    if (p.drive === d) return;
    p.drive = d;
    this.chip.update(this.spec.line, false);
    this.chip.driveChanged(this.spec.line);
  }

  private check(what: string): void {
    if (this.closed) {
      throw new PhoneError(ErrorCodes.DEVICE_CLOSED, `cannot ${what} GPIO line ${this.spec.line} (${this.who()}): it is closed`, {
        line: this.spec.line,
      });
    }
  }

  private who(): string {
    return this.spec.consumer ?? "unnamed";
  }
}

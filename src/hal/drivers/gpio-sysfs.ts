// GPIO through the legacy sysfs interface (/sys/class/gpio) with onoff: a fallback for kernels that still have it.
//
// The kernel numbers sysfs GPIOs globally: a chip's lines are base..base+ngpio-1, and the base moves between
// kernels (Pi 4 on 6.6: pinctrl-bcm2711 at 512; Pi 5: pinctrl-rp1 at 571; older kernels: 0). Boards name lines
// by their offset on a chip found by LABEL, so this driver reads class/gpio/gpiochip*/{label,base,ngpio} and
// exports base + offset. Hard-coded numbers break on the next kernel.
//
// sysfs cannot set bias (pull-up/down): put it in config.txt (`gpio=17=ip,pu`) or a device-tree overlay.
// sysfs is deprecated and compiled out of newer kernels (Pi OS Trixie); prefer the evdev drivers there.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Clock } from "../../base/clock.js";
import { ErrorCodes, PhoneError, errnoCode, notSupported } from "../../base/errors.js";
import type { Logger } from "../../base/log.js";
import { silentLogger } from "../../base/log.js";
import type { Unsubscribe } from "../api/events.js";
import type { GpioChip, GpioLine, GpioLineSpec, Level } from "../api/gpio.js";
import type * as OnoffModule from "onoff";

type Onoff = typeof OnoffModule;
type OnoffGpio = InstanceType<Onoff["Gpio"]>;

export interface SysfsGpioOptions {
  clock: Clock;
  /** Where sysfs is mounted; default "/sys". onoff itself always uses /sys/class/gpio (see openSysfsGpioChip). */
  sysfsRoot?: string;
  /** Loads onoff (a native epoll addon comes with it); tests inject a stand-in. Default: import("onoff"). */
  loadOnoff?: () => Promise<Onoff>;
  log?: Pick<Logger, "warn">;
}

/** One controller as sysfs shows it under class/gpio/gpiochipN. */
export interface SysfsGpioChipInfo {
  /** e.g. "/sys/class/gpio/gpiochip512" */
  dir: string;
  label: string;
  base: number;
  ngpio: number;
}

/** Lists the controllers sysfs knows, lowest base first. Fails with GPIO_UNAVAILABLE when sysfs GPIO is absent. */
export async function scanSysfsGpioChips(sysfsRoot = "/sys"): Promise<SysfsGpioChipInfo[]> {
  const classDir = join(sysfsRoot, "class", "gpio");
  let names: string[];
  try {
    names = await readdir(classDir);
  } catch (e) {
    if (errnoCode(e) === "EACCES") {
      throw new PhoneError(ErrorCodes.PERMISSION, `no permission to read ${classDir} (add the phone's user to group gpio)`, { path: classDir }, { cause: e });
    }
    throw new PhoneError(
      ErrorCodes.GPIO_UNAVAILABLE,
      `${classDir} does not exist: this kernel has no sysfs GPIO (deprecated since Linux 4.8, gone on Pi OS Trixie); ` +
        `use the evdev drivers (gpio-keys / matrix-keypad overlays) instead`,
      { path: classDir },
      { cause: e },
    );
  }
  const chips: SysfsGpioChipInfo[] = [];
  for (const name of names) {
    if (!/^gpiochip\d+$/.test(name)) continue;
    const dir = join(classDir, name);
    try {
      const [label, base, ngpio] = await Promise.all(
        ["label", "base", "ngpio"].map(async (f) => (await readFile(join(dir, f), "utf8")).trim()),
      );
      if (!/^\d+$/.test(base) || !/^\d+$/.test(ngpio)) continue;
      chips.push({ dir, label, base: Number(base), ngpio: Number(ngpio) });
    } catch {
      continue; // a chip going away while we look, or an unreadable one: not ours to use
    }
  }
  return chips.sort((a, b) => a.base - b.base);
}

/** Opens the first controller whose label is in `labels` (board order), backed by onoff. */
export async function openSysfsGpioChip(labels: readonly string[], opts: SysfsGpioOptions): Promise<GpioChip> {
  const root = opts.sysfsRoot ?? "/sys";
  // onoff hard-codes '/sys/class/gpio/' (onoff.js GPIO_ROOT_PATH): finding the chip elsewhere and then
  // exporting under /sys would touch a different machine's worth of pins.
  if (root !== "/sys" && !opts.loadOnoff) throw notSupported(`a sysfs root other than /sys (${root})`, "onoff");
  const chips = await scanSysfsGpioChips(root);
  const info = labels.map((l) => chips.find((c) => c.label === l)).find((c) => c !== undefined);
  if (!info) {
    const found = chips.map((c) => `${c.label} (base ${c.base})`).join(", ") || "none";
    throw new PhoneError(
      ErrorCodes.GPIO_CHIP_NOT_FOUND,
      `no GPIO chip labelled ${labels.join(" or ")} under ${join(root, "class", "gpio")}; found: ${found}`,
      { wanted: [...labels], found: chips.map((c) => c.label) },
    );
  }
  const onoff = await (opts.loadOnoff ?? (() => import("onoff")))();
  return new SysfsGpioChip(info, onoff, opts.clock, opts.log ?? silentLogger());
}

class SysfsGpioChip implements GpioChip {
  readonly label: string;
  readonly lines: number;
  private readonly inUse = new Map<number, SysfsGpioLine>();
  private biasWarned = false;

  constructor(
    readonly info: SysfsGpioChipInfo,
    private readonly onoff: Onoff,
    private readonly clock: Clock,
    private readonly log: Pick<Logger, "warn">,
  ) {
    this.label = info.label;
    this.lines = info.ngpio;
  }

  request(spec: GpioLineSpec): GpioLine {
    const who = spec.consumer ?? "unnamed";
    if (!Number.isInteger(spec.line) || spec.line < 0 || spec.line >= this.info.ngpio) {
      throw new PhoneError(
        ErrorCodes.BOARD_INVALID,
        `GPIO line ${spec.line} (${who}) is out of range: ${this.label} has lines 0-${this.info.ngpio - 1} (check the board profile)`,
        { chip: this.label, line: spec.line, ngpio: this.info.ngpio },
      );
    }
    if (this.inUse.has(spec.line)) {
      throw new PhoneError(ErrorCodes.DEVICE_BUSY, `GPIO line ${spec.line} on ${this.label} is already in use by ${this.inUse.get(spec.line)?.spec.consumer ?? "another driver"}`, {
        chip: this.label,
        line: spec.line,
      });
    }
    if (spec.bias && spec.bias !== "as-is" && !this.biasWarned) {
      this.biasWarned = true;
      this.log.warn(
        { chip: this.label, line: spec.line, bias: spec.bias },
        `sysfs GPIO cannot set bias: line ${spec.line} (${who}) wants ${spec.bias}; set it in config.txt ` +
          `(e.g. gpio=${spec.line}=ip,pu) or a device-tree overlay. Further bias requests on ${this.label} are not logged.`,
      );
    }
    const number = this.info.base + spec.line;
    const edge = spec.direction === "in" && spec.edge && spec.edge !== "none" ? spec.edge : undefined;
    let gpio: OnoffGpio;
    try {
      // "high"/"low" set the RAW level (gpiolib-sysfs.c direction_store: gpiod_direction_output_raw), so an
      // active-low output that must start off is exported as "high": no glitch through the wrong level.
      const dir = spec.direction === "in" ? "in" : rawDirection(spec.initial ?? 0, spec.activeLow);
      // No edge for "none": onoff would write the edge file, which pins without an IRQ do not have.
      gpio = new this.onoff.Gpio(number, dir, edge, { activeLow: spec.activeLow === true });
    } catch (e) {
      throw this.failure(e, spec, number, "export");
    }
    const line = new SysfsGpioLine({ ...spec }, gpio, number, this, this.clock, this.log);
    this.inUse.set(spec.line, line);
    return line;
  }

  close(): void {
    for (const l of [...this.inUse.values()]) l.close();
  }

  /** @internal */ released(line: number): void {
    this.inUse.delete(line);
  }

  /** @internal Turns an errno from sysfs into a PhoneError naming the line. */
  failure(e: unknown, spec: GpioLineSpec, number: number, op: string): PhoneError {
    const code = errnoCode(e);
    const where = `GPIO line ${spec.line} (${spec.consumer ?? "unnamed"}; sysfs gpio${number} on ${this.label})`;
    const details = { chip: this.label, line: spec.line, sysfs: number, op, errno: code };
    if (code === "EBUSY") {
      return new PhoneError(ErrorCodes.DEVICE_BUSY, `${where} is busy (${op}: EBUSY): a kernel driver or overlay already owns it`, details, { cause: e });
    }
    if (code === "EACCES" || code === "EPERM") {
      return new PhoneError(ErrorCodes.PERMISSION, `no permission to ${op} ${where} (${code}): add the phone's user to group gpio`, details, { cause: e });
    }
    return new PhoneError(ErrorCodes.GPIO_UNAVAILABLE, `cannot ${op} ${where}: ${e instanceof Error ? e.message : String(e)}`, details, { cause: e });
  }
}

function rawDirection(level: Level, activeLow: boolean | undefined): "high" | "low" {
  return (activeLow ? level === 0 : level === 1) ? "high" : "low";
}

/** One exported line. onoff sets active_low first, so value, edges and reads are logical levels. */
class SysfsGpioLine implements GpioLine {
  private direction: "in" | "out";
  private edgeSet: boolean;
  private closed = false;

  constructor(
    readonly spec: Readonly<GpioLineSpec>,
    private readonly gpio: OnoffGpio,
    private readonly number: number,
    private readonly chip: SysfsGpioChip,
    private readonly clock: Clock,
    private readonly log: Pick<Logger, "warn">,
  ) {
    this.direction = spec.direction;
    this.edgeSet = spec.direction === "in" && !!spec.edge && spec.edge !== "none";
  }

  read(): Level {
    this.check("read");
    return this.io("read", () => this.gpio.readSync());
  }

  write(level: Level): void {
    this.check("write");
    if (this.direction !== "out") {
      throw new PhoneError(ErrorCodes.BAD_REQUEST, `GPIO line ${this.spec.line} (${this.spec.consumer ?? "unnamed"}) is an input; it cannot be written`, { line: this.spec.line });
    }
    this.io("write", () => this.gpio.writeSync(level));
  }

  watch(cb: (level: Level, tMs: number) => void): Unsubscribe {
    this.check("watch");
    // onoff reads `value` when epoll wakes, so the level is the one at delivery, and the time is ours, not the IRQ's.
    const fn = (err: Error | null | undefined, value: Level): void => {
      if (err) {
        this.log.warn({ line: this.spec.line, err: err.message }, `GPIO line ${this.spec.line}: edge wait failed`);
        return;
      }
      cb(value, this.clock.now());
    };
    this.gpio.watch(fn);
    return () => {
      if (!this.closed) this.gpio.unwatch(fn);
    };
  }

  setDirection(direction: "in" | "out", level: Level = 0): void {
    this.check("set the direction of");
    this.io("set the direction of", () => {
      if (direction === "out") {
        // The kernel refuses to make a line with an armed IRQ an output (gpiolib: EIO), so disarm the edge first.
        if (this.edgeSet) this.gpio.setEdge("none");
        this.edgeSet = false;
        this.gpio.setDirection(rawDirection(level, this.spec.activeLow));
      } else {
        this.gpio.setDirection("in");
        if (this.spec.edge && this.spec.edge !== "none") {
          this.gpio.setEdge(this.spec.edge);
          this.edgeSet = true;
        }
      }
    });
    this.direction = direction;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.chip.released(this.spec.line);
    try {
      this.gpio.unexport();
    } catch (e) {
      this.log.warn({ line: this.spec.line, err: String(e) }, `GPIO line ${this.spec.line}: unexport failed`);
    }
  }

  private io<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw this.chip.failure(e, this.spec, this.number, op);
    }
  }

  private check(what: string): void {
    if (this.closed) {
      throw new PhoneError(ErrorCodes.DEVICE_CLOSED, `cannot ${what} GPIO line ${this.spec.line}: it is closed`, { line: this.spec.line });
    }
  }
}

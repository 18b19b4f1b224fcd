// Board profile -> devices: a registry from each role's "driver" name to the factory that builds it on a Platform.
import type { Clock } from "../base/clock.js";
import { PhoneError, isPhoneError, ErrorCodes } from "../base/errors.js";
import type { Logger } from "../base/log.js";
import type { AudioDevice, Mixer } from "./api/audio.js";
import type { BoardProfile } from "./api/board.js";
import type { Display } from "./api/display.js";
import type { GpioChip, GpioLineSpec } from "./api/gpio.js";
import type { HookSwitch } from "./api/hook.js";
import type { I2cBus } from "./api/i2c.js";
import type { Keypad } from "./api/keypad.js";
import type { Leds } from "./api/leds.js";
import type { Platform } from "./api/platform.js";
import { createGpioHook } from "./drivers/hook-gpio.js";
import { createGpioLeds } from "./drivers/leds-gpio.js";
import { createGpioMatrixKeypad } from "./drivers/kbd-matrix-gpio.js";
import { Tca8418Keypad } from "./drivers/tca8418.js";
import { createEvdevKeypad } from "./drivers/evdev-keypad.js";
import { createEvdevHook } from "./drivers/evdev-hook.js";
import { Hd44780Pcf8574Display } from "./drivers/hd44780-pcf8574.js";
import { Ssd1306Display } from "./drivers/ssd1306.js";
import { FrontPanel } from "./drivers/frontpanel-fp-slip-v1.js";

export type AudioRole = "handset" | "speaker" | "headset" | "ringer";

/** Everything the phone drives, built from one board profile. */
export interface PhoneDevices {
  readonly board: BoardProfile;
  readonly keypad: Keypad;
  readonly hook: HookSwitch;
  readonly leds: Leds;
  readonly display: Display | null;
  readonly audio: Partial<Record<AudioRole, AudioDevice>>;
  readonly mixer: Mixer;
  /** Closes every device and the platform's buses; idempotent. */
  close(): Promise<void>;
}

/** What a factory gets: the board, the platform, and shared, lazily opened buses. */
class Build {
  private chip: Promise<GpioChip> | undefined;
  private readonly buses = new Map<number, Promise<I2cBus>>();
  private panel: Promise<FrontPanel> | undefined;
  readonly closers: Array<() => Promise<void> | void> = [];

  constructor(
    readonly board: BoardProfile,
    readonly platform: Platform,
    readonly clock: Clock,
    readonly log: Logger,
  ) {}

  gpio(): Promise<GpioChip> {
    this.chip ??= this.platform.openGpioChip(this.board.gpioChip ?? []).then((c) => {
      this.closers.push(() => c.close());
      return c;
    });
    return this.chip;
  }

  i2c(bus: number): Promise<I2cBus> {
    let p = this.buses.get(bus);
    if (!p) {
      p = this.platform.openI2c(bus).then((b) => {
        this.closers.push(() => b.close());
        return b;
      });
      this.buses.set(bus, p);
    }
    return p;
  }

  frontpanel(): Promise<FrontPanel> {
    const fp = this.board.frontpanel;
    if (!fp) throw new PhoneError(ErrorCodes.BOARD_INVALID, `board ${this.board.id}: a role uses the front panel but /frontpanel is missing`);
    this.panel ??= (async () => {
      const link = await this.platform.openSerial(fp.path, fp.baudRate);
      const leds = this.board.leds.driver === "frontpanel" ? this.board.leds.leds : {};
      const d = this.board.display;
      const panel = await FrontPanel.open(link, {
        clock: this.clock,
        ackTimeoutMs: fp.ackTimeoutMs,
        retries: fp.retries,
        heartbeatMs: fp.heartbeatMs,
        timing: this.board.timing,
        leds,
        cols: d.driver === "frontpanel" ? d.cols : 20,
        rows: d.driver === "frontpanel" ? d.rows : 4,
        log: this.log,
      });
      this.closers.push(() => panel.close());
      return panel;
    })();
    return this.panel;
  }

  /** A line request for an input wired as the board says. */
  static input(l: { line: number; activeLow?: boolean; bias?: GpioLineSpec["bias"] }, consumer: string, edge: GpioLineSpec["edge"] = "both"): GpioLineSpec {
    return { line: l.line, direction: "in", edge, activeLow: l.activeLow ?? false, bias: l.bias ?? "as-is", consumer };
  }
}

type Factory<T> = (b: Build) => Promise<T>;

const keypads: Record<BoardProfile["keypad"]["driver"], Factory<Keypad>> = {
  "gpio-matrix": async (b) => {
    const k = b.board.keypad as Extract<BoardProfile["keypad"], { driver: "gpio-matrix" }>;
    return createGpioMatrixKeypad(await b.gpio(), k.rows, k.cols, k.keymap, b.clock, b.board.timing);
  },
  tca8418: async (b) => {
    const k = b.board.keypad as Extract<BoardProfile["keypad"], { driver: "tca8418" }>;
    const chip = await b.gpio();
    const int = chip.request(Build.input(k.int, "tca8418 INT", "both"));
    b.closers.push(() => int.close());
    return Tca8418Keypad.open(await b.i2c(k.bus), { address: k.address, int, keymap: k.keymap, clock: b.clock, longPressMs: b.board.timing.longPressMs });
  },
  evdev: async (b) => {
    const k = b.board.keypad as Extract<BoardProfile["keypad"], { driver: "evdev" }>;
    return createEvdevKeypad(await b.platform.openInput(k.device), k.keymap, b.clock, b.board.timing.longPressMs);
  },
  frontpanel: async (b) => (await b.frontpanel()).keypad,
};

const hooks: Record<BoardProfile["hook"]["driver"], Factory<HookSwitch>> = {
  gpio: async (b) => {
    const h = b.board.hook as Extract<BoardProfile["hook"], { driver: "gpio" }>;
    return createGpioHook(await b.gpio(), h.line, b.clock, b.board.timing);
  },
  evdev: async (b) => {
    const h = b.board.hook as Extract<BoardProfile["hook"], { driver: "evdev" }>;
    const src = await b.platform.openInput(h.device);
    return createEvdevHook(src, { eventType: h.eventType, code: h.code, offHookValue: h.offHookValue }, b.clock, b.board.timing);
  },
  frontpanel: async (b) => (await b.frontpanel()).hook,
};

const ledDrivers: Record<BoardProfile["leds"]["driver"], Factory<Leds>> = {
  gpio: async (b) => {
    const l = b.board.leds as Extract<BoardProfile["leds"], { driver: "gpio" }>;
    return createGpioLeds(await b.gpio(), l.leds, b.clock, b.board.timing);
  },
  frontpanel: async (b) => (await b.frontpanel()).leds,
};

const displays: Record<BoardProfile["display"]["driver"], Factory<Display | null>> = {
  "hd44780-pcf8574": async (b) => {
    const d = b.board.display as Extract<BoardProfile["display"], { driver: "hd44780-pcf8574" }>;
    return Hd44780Pcf8574Display.open(await b.i2c(d.bus), { address: d.address, cols: d.cols, rows: d.rows, clock: b.clock });
  },
  ssd1306: async (b) => {
    const d = b.board.display as Extract<BoardProfile["display"], { driver: "ssd1306" }>;
    return Ssd1306Display.open(await b.i2c(d.bus), { address: d.address, width: d.width, height: d.height, clock: b.clock });
  },
  frontpanel: async (b) => (await b.frontpanel()).display,
  none: async () => null,
};

/** Runs one role's factory; a failure names the role and driver in front of the driver's own message. */
async function role<T>(name: string, driver: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (isPhoneError(e)) throw new PhoneError(e.code, `${name} (${driver}): ${e.message}`, { ...e.details, role: name, driver }, { cause: e });
    throw new PhoneError(ErrorCodes.DEVICE_ABSENT, `${name} (${driver}): ${(e as Error).message}`, { role: name, driver }, { cause: e });
  }
}

/** Builds every device of `board` on `platform`. On failure, whatever was opened is closed again. */
export async function buildDevices(board: BoardProfile, platform: Platform, clock: Clock, log: Logger): Promise<PhoneDevices> {
  const b = new Build(board, platform, clock, log);
  const opened: Array<{ close(): Promise<void> | void }> = [];
  const closeAll = async (): Promise<void> => {
    for (const d of opened.reverse()) await Promise.resolve(d.close()).catch(() => undefined);
    for (const c of b.closers.reverse()) await Promise.resolve(c()).catch(() => undefined);
    opened.length = 0;
    b.closers.length = 0;
  };
  try {
    const display = await role("display", board.display.driver, () => displays[board.display.driver](b));
    if (display) opened.push(display);
    const keypad = await role("keypad", board.keypad.driver, () => keypads[board.keypad.driver](b));
    opened.push(keypad);
    const hook = await role("hook", board.hook.driver, () => hooks[board.hook.driver](b));
    opened.push(hook);
    const leds = await role("leds", board.leds.driver, () => ledDrivers[board.leds.driver](b));
    opened.push(leds);
    const audio: Partial<Record<AudioRole, AudioDevice>> = {};
    for (const r of ["handset", "speaker", "headset", "ringer"] as const) {
      if (board.audio.paths[r]) audio[r] = platform.audioDevice(r, board.audio);
    }
    const mixer = platform.mixer(board.audio);
    opened.push(mixer);
    let closed = false;
    return {
      board,
      keypad,
      hook,
      leds,
      display,
      audio,
      mixer,
      async close() {
        if (closed) return;
        closed = true;
        await closeAll();
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

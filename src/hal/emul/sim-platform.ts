// The simulated board: a Platform whose buses lead to chip emulators, built from any board profile, plus the
// backend face the simulator and rigs drive (press a key, lift the handset, read the screen and LEDs, speak, listen).
import type { Clock } from "../../base/clock.js";
import { PhoneError, ErrorCodes } from "../../base/errors.js";
import type { AudioDevice, Mixer } from "../api/audio.js";
import type { AudioConfig, BoardProfile } from "../api/board.js";
import type { GpioChip } from "../api/gpio.js";
import type { I2cBus } from "../api/i2c.js";
import type { InputEventSource } from "../api/input-events.js";
import type { KeyId } from "../api/keypad.js";
import type { Platform } from "../api/platform.js";
import type { SerialLink } from "../api/serial.js";
import { keyCode as linuxKeyCode } from "../protocol/linux-keycodes.js";
import { KEY_CODES as PANEL_KEY_CODES } from "../protocol/fp-slip-v1-codec.js";
import type { LedMode } from "../api/leds.js";
import { EmulatedGpioChip } from "./gpio-emul.js";
import { KeypadMatrixEmul } from "./keypad-matrix-emul.js";
import { Tca8418Emul } from "./tca8418-emul.js";
import { EvdevEmul } from "./evdev-emul.js";
import { EmulatedI2cBus } from "./i2c-bus-emul.js";
import { Hd44780Pcf8574Emul } from "./hd44780-pcf8574-emul.js";
import { Ssd1306Emul } from "./ssd1306-emul.js";
import { createSerialPair } from "./serial-pair.js";
import { FrontPanelMcuEmul } from "./frontpanel-mcu-emul.js";
import { EmulatedAudioDevice, EmulatedMixer } from "./audio-emul.js";

/** What the simulated display shows, read back from the emulated chip's memory. */
export type SimScreen =
  | { kind: "text"; cols: number; rows: string[]; backlight: boolean }
  | { kind: "pixel"; width: number; height: number; png: Buffer; ascii: string }
  | { kind: "none" };

export interface SimPlatformOptions {
  clock: Clock;
  /** Opens an input-event device file; the firmware passes the real evdev driver so the FIFO is read the real way. */
  openInput?: (path: string) => Promise<InputEventSource>;
}

type Where = { row: number; col: number };

export class SimPlatform implements Platform {
  readonly kind = "emulated" as const;
  readonly gpio: EmulatedGpioChip;
  readonly i2c = new Map<number, EmulatedI2cBus>();
  readonly audio = new Map<string, EmulatedAudioDevice>();
  readonly mixerEmul: EmulatedMixer;
  private readonly clock: Clock;
  private readonly keyPos = new Map<KeyId, Where>();
  private matrix: KeypadMatrixEmul | undefined;
  private tca: Tca8418Emul | undefined;
  private hd44780: Hd44780Pcf8574Emul | undefined;
  private ssd1306: Ssd1306Emul | undefined;
  private mcu: FrontPanelMcuEmul | undefined;
  private hostSerial: SerialLink | undefined;
  private readonly evdev = new Map<string, EvdevEmul>();
  private readonly unsubs: Array<() => void> = [];
  private readonly ledEdges = new Map<string, { edges: number[] }>();

  private constructor(
    readonly board: BoardProfile,
    private readonly opts: SimPlatformOptions,
  ) {
    this.clock = opts.clock;
    this.gpio = new EmulatedGpioChip({ clock: this.clock, label: board.gpioChip?.[0] ?? "sim-gpio" });
    this.mixerEmul = new EmulatedMixer(Object.keys(board.audio.mixer.driver === "alsa" ? board.audio.mixer.controls : {}));
  }

  /** Builds an emulator for every chip the board names and wires them as the board says. */
  static async create(board: BoardProfile, opts: SimPlatformOptions): Promise<SimPlatform> {
    const p = new SimPlatform(board, opts);
    await p.wire();
    return p;
  }

  private bus(n: number): EmulatedI2cBus {
    let b = this.i2c.get(n);
    if (!b) {
      b = new EmulatedI2cBus(n);
      this.i2c.set(n, b);
    }
    return b;
  }

  private async wire(): Promise<void> {
    const b = this.board;
    const k = b.keypad;
    if (k.driver === "gpio-matrix" || k.driver === "tca8418")
      k.keymap.forEach((r, row) => r.forEach((key, col) => key && this.keyPos.set(key, { row, col })));
    if (k.driver === "gpio-matrix") this.matrix = new KeypadMatrixEmul(this.gpio, k.rows, k.cols);
    if (k.driver === "tca8418") {
      const tca = new Tca8418Emul({ clock: this.clock });
      this.tca = tca;
      this.bus(k.bus).attach(k.address, tca);
      // the INT pin is open-drain with a pull-up: the chip pulls the wire low to assert it
      this.gpio.setWire(k.int.line, 1);
      this.unsubs.push(tca.onWire((w) => this.gpio.setWire(k.int.line, w)));
    }
    if (k.driver === "evdev") this.evdev.set(k.device, await EvdevEmul.create({ clock: this.clock, name: "keypad" }));
    if (b.hook.driver === "evdev" && !this.evdev.has(b.hook.device))
      this.evdev.set(b.hook.device, await EvdevEmul.create({ clock: this.clock, name: "hook" }));
    if (b.hook.driver === "gpio") this.setHookWire("on");
    const d = b.display;
    if (d.driver === "hd44780-pcf8574") {
      this.hd44780 = new Hd44780Pcf8574Emul({ cols: d.cols, rows: d.rows });
      this.bus(d.bus).attach(d.address, this.hd44780);
    }
    if (d.driver === "ssd1306") {
      this.ssd1306 = new Ssd1306Emul({ width: d.width, height: d.height });
      this.bus(d.bus).attach(d.address, this.ssd1306);
    }
    if (b.frontpanel) {
      const pair = createSerialPair({ pathA: b.frontpanel.path, pathB: "mcu" });
      this.hostSerial = pair.a;
      const cols = d.driver === "frontpanel" ? d.cols : 20;
      const rows = d.driver === "frontpanel" ? d.rows : 4;
      const nLeds = b.leds.driver === "frontpanel" ? Math.max(0, ...Object.values(b.leds.leds)) + 1 : 0;
      this.mcu = new FrontPanelMcuEmul(pair.b, { clock: this.clock, heartbeatMs: b.frontpanel.heartbeatMs, cols, rows, nLeds });
    }
    if (b.leds.driver === "gpio")
      for (const [id, l] of Object.entries(b.leds.leds)) {
        const seen = { edges: [] as number[] };
        this.ledEdges.set(id, seen);
        this.unsubs.push(this.gpio.onWire(l.line, (_lvl, tMs) => {
          seen.edges.push(tMs);
          if (seen.edges.length > 4) seen.edges.shift();
        }));
      }
  }

  // ---- Platform (bus face) ----

  async openGpioChip(labels: readonly string[]): Promise<GpioChip> {
    if (labels.length && !labels.includes(this.gpio.label))
      throw new PhoneError(ErrorCodes.GPIO_CHIP_NOT_FOUND, `no GPIO chip labelled ${labels.join(" or ")} (the simulated board has '${this.gpio.label}')`);
    return this.gpio;
  }

  async openI2c(bus: number): Promise<I2cBus> {
    const b = this.i2c.get(bus);
    if (!b) throw new PhoneError(ErrorCodes.DEVICE_ABSENT, `no I2C bus /dev/i2c-${bus} on the simulated board`, { bus });
    return b;
  }

  async openSerial(path: string): Promise<SerialLink> {
    if (!this.hostSerial || path !== this.board.frontpanel?.path)
      throw new PhoneError(ErrorCodes.DEVICE_ABSENT, `no serial port ${path} on the simulated board`, { path });
    return this.hostSerial;
  }

  async openInput(path: string): Promise<InputEventSource> {
    const e = this.evdev.get(path);
    if (!e || !this.opts.openInput) throw new PhoneError(ErrorCodes.DEVICE_ABSENT, `no input device ${path} on the simulated board`, { path });
    return this.opts.openInput(e.path);
  }

  audioDevice(role: string, audio: AudioConfig): AudioDevice {
    let dev = this.audio.get(role);
    if (!dev) {
      const p = audio.paths[role as keyof AudioConfig["paths"]];
      dev = new EmulatedAudioDevice({ name: role, clock: this.clock, capture: Boolean(p?.capture), playback: Boolean(p?.playback), bufferMs: audio.bufferMs });
      this.audio.set(role, dev);
    }
    return dev;
  }

  mixer(): Mixer {
    return this.mixerEmul;
  }

  async close(): Promise<void> {
    for (const u of this.unsubs) u();
    this.matrix?.close();
    await this.mcu?.close();
    for (const e of this.evdev.values()) await e.close();
    this.evdev.clear();
  }

  // ---- backend face (simulator, rigs, tests) ----

  /** Every key the board's keypad has. */
  keys(): KeyId[] {
    const k = this.board.keypad;
    if (k.driver === "evdev") return Object.values(k.keymap);
    if (k.driver === "frontpanel") return Object.keys(PANEL_KEY_CODES);
    return [...this.keyPos.keys()];
  }

  async keyDown(key: KeyId): Promise<void> {
    await this.key(key, true);
  }

  async keyUp(key: KeyId): Promise<void> {
    await this.key(key, false);
  }

  private async key(key: KeyId, down: boolean): Promise<void> {
    const k = this.board.keypad;
    if (k.driver === "evdev") {
      const name = Object.entries(k.keymap).find(([, v]) => v === key)?.[0];
      const code = name === undefined ? undefined : linuxKeyCode(name);
      if (code === undefined) throw this.unknownKey(key);
      await this.evdev.get(k.device)!.key(code, down);
      return;
    }
    if (k.driver === "frontpanel") {
      if (!(key in PANEL_KEY_CODES)) throw this.unknownKey(key);
      if (down) this.mcu!.press(key);
      else this.mcu!.release(key);
      return;
    }
    const at = this.keyPos.get(key);
    if (!at) throw this.unknownKey(key);
    const chip = this.matrix ?? this.tca!;
    if (down) chip.press(at.row, at.col);
    else chip.release(at.row, at.col);
  }

  private unknownKey(key: string): PhoneError {
    return new PhoneError(ErrorCodes.UNKNOWN_KEY, `no key named '${key}' on this board`, { key });
  }

  /** Lifts ("off") or replaces ("on") the handset. */
  async setHook(state: "on" | "off"): Promise<void> {
    const h = this.board.hook;
    if (h.driver === "gpio") this.setHookWire(state);
    else if (h.driver === "evdev") {
      const v = state === "off" ? h.offHookValue : h.offHookValue ? 0 : 1;
      const e = this.evdev.get(h.device)!;
      if (h.eventType === "EV_SW") await e.sw(h.code, v);
      else await e.key(h.code, v === 1);
    } else this.mcu!.setHook(state);
  }

  private setHookWire(state: "on" | "off"): void {
    const h = this.board.hook;
    if (h.driver !== "gpio") return;
    const logical = state === "off" ? 1 : 0;
    this.gpio.setWire(h.line.line, (h.line.activeLow ? 1 - logical : logical) as 0 | 1);
  }

  /**
   * Each LED as an observer sees it: lit now, and its mode. The front panel's MCU reports modes; a GPIO LED's mode
   * is told from the timing of its last edges on the wire, as a person (or a photodiode on a rig) would tell it.
   */
  leds(): Record<string, { lit: boolean; mode: LedMode }> {
    const l = this.board.leds;
    const out: Record<string, { lit: boolean; mode: LedMode }> = {};
    if (l.driver === "frontpanel") {
      const mcu = this.mcu?.leds() ?? {};
      for (const [id, n] of Object.entries(l.leds)) {
        const mode = mcu[n]?.mode ?? "off";
        out[id] = { lit: mode !== "off", mode };
      }
      return out;
    }
    const t = this.board.timing;
    const now = this.clock.now();
    for (const [id, line] of Object.entries(l.leds)) {
      const w = this.gpio.wire(line.line);
      const lit = line.activeLow ? w === 0 : w === 1;
      const e = this.ledEdges.get(id)?.edges ?? [];
      const longest = Math.max(t.ledSlowMs, t.ledWinkOffMs);
      let mode: LedMode = lit ? "on" : "off";
      if (e.length >= 3 && now - e[e.length - 1] <= longest * 1.5) {
        const a = e[e.length - 1] - e[e.length - 2];
        const b = e[e.length - 2] - e[e.length - 3];
        const on = Math.min(a, b);
        const near = (x: number, y: number): boolean => Math.abs(x - y) <= y * 0.25 + 2;
        if (near(on, t.ledWinkOnMs) && !near(Math.max(a, b), t.ledWinkOnMs)) mode = "wink";
        else if (near(on, t.ledFastMs)) mode = "fast";
        else if (near(on, t.ledSlowMs)) mode = "slow";
      }
      out[id] = { lit, mode };
    }
    return out;
  }

  screen(): SimScreen {
    if (this.hd44780) return { kind: "text", cols: this.hd44780.cols, rows: this.hd44780.text(), backlight: this.hd44780.backlight() };
    if (this.ssd1306) return { kind: "pixel", width: this.ssd1306.width, height: this.ssd1306.height, png: this.ssd1306.toPng(), ascii: this.ssd1306.toAscii() };
    if (this.mcu && this.board.display.driver === "frontpanel") return { kind: "text", cols: this.board.display.cols, rows: this.mcu.lcdText(), backlight: this.mcu.backlight() > 0 };
    return { kind: "none" };
  }
}

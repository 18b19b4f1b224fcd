// The control target on the simulated board: every command acts on the chip emulators' backend faces and waits
// until the effect has come back in through the real drivers (a key press is answered once the keypad reported it).
import type { Clock, Timer } from "../base/clock.js";
import { PhoneError, ErrorCodes } from "../base/errors.js";
import { Listeners, type Unsubscribe } from "../hal/api/events.js";
import type { HookSwitch } from "../hal/api/hook.js";
import type { Keypad, KeyEvent } from "../hal/api/keypad.js";
import type { SimPlatform } from "../hal/emul/sim-platform.js";
import type { AudioPathName, ControlEventType, ControlTarget, HelloData } from "./control-target.js";

export interface SimTargetOptions {
  clock: Clock;
  keypad: Keypad;
  hook: HookSwitch;
  firmware: string;
  /** How long a driver may take to report what the emulator did, in clock ms. */
  settleTimeoutMs?: number;
  /** The phone core's summary for get_state, once the runtime has one. */
  phoneState?: () => Record<string, unknown>;
  /** How often the screen and LEDs are compared for change events, in clock ms. */
  pollMs?: number;
}

const AUDIO_PATHS: readonly AudioPathName[] = ["handset", "speaker", "headset", "ringer"];

export class SimTarget implements ControlTarget {
  private readonly events = new Listeners<{ type: ControlEventType; data: Record<string, unknown> }>();
  private readonly unsubs: Unsubscribe[] = [];
  private readonly poll: Timer;
  private lastScreen = "";
  /** Key and hook actions run one after another, as one hand on one keypad: two presses of the same key sent
   * back to back must not merge into one. */
  private inputs: Promise<unknown> = Promise.resolve();
  private lastLeds = "";

  constructor(
    private readonly sim: SimPlatform,
    private readonly o: SimTargetOptions,
  ) {
    this.unsubs.push(o.keypad.onKey((ev) => this.events.emit({ type: "key", data: { key: ev.key, down: ev.down, long: ev.long ?? false } })));
    this.unsubs.push(o.hook.onHook((ev) => this.events.emit({ type: "hook", data: { state: ev.type } })));
    this.lastScreen = JSON.stringify(this.screenRows());
    this.lastLeds = JSON.stringify(this.readLeds());
    this.poll = o.clock.setInterval(() => this.compare(), o.pollMs ?? 20);
  }

  private screenRows(): string[] {
    const s = this.sim.screen();
    return s.kind === "text" ? s.rows : s.kind === "pixel" ? s.ascii.split("\n") : [];
  }

  private compare(): void {
    const rows = this.screenRows();
    const scr = JSON.stringify(rows);
    if (scr !== this.lastScreen) {
      this.lastScreen = scr;
      const s = this.sim.screen();
      this.events.emit({ type: "screen", data: s.kind === "text" ? { kind: "text", rows } : { kind: s.kind } });
    }
    const leds = this.readLeds();
    const l = JSON.stringify(leds);
    if (l !== this.lastLeds) {
      this.lastLeds = l;
      this.events.emit({ type: "leds", data: leds });
    }
  }

  hello(): HelloData {
    const b = this.sim.board;
    const d = b.display;
    return {
      protocol: 1,
      firmware: this.o.firmware,
      board: b.id,
      keys: this.sim.keys(),
      leds: Object.keys(b.leds.leds),
      audioPaths: AUDIO_PATHS.filter((p) => b.audio.paths[p]),
      display:
        d.driver === "hd44780-pcf8574" || d.driver === "frontpanel"
          ? { kind: "text", cols: d.cols, rows: d.rows }
          : d.driver === "ssd1306"
            ? { kind: "pixel", width: d.width, height: d.height }
            : { kind: "none" },
    };
  }

  /** Resolves when the keypad reports `key` going `down`; PHONE_ERR_TIMEOUT if it never does. */
  private keyEvent(key: string, down: boolean): Promise<void> {
    return this.until<KeyEvent>((cb) => this.o.keypad.onKey(cb), (ev) => ev.key === key && ev.down === down && !ev.long, `key ${key} ${down ? "down" : "up"}`);
  }

  private until<T>(subscribe: (cb: (v: T) => void) => Unsubscribe, match: (v: T) => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = this.o.clock.setTimeout(() => {
        off();
        reject(new PhoneError(ErrorCodes.TIMEOUT, `the phone did not report ${what} within ${this.settle} ms`));
      }, this.settle);
      const off = subscribe((v) => {
        if (!match(v)) return;
        timer.cancel();
        off();
        resolve();
      });
    });
  }

  private get settle(): number {
    return this.o.settleTimeoutMs ?? 3000;
  }

  private checkKey(key: string): void {
    if (!this.sim.keys().includes(key)) throw new PhoneError(ErrorCodes.UNKNOWN_KEY, `no key named '${key}' on this board`, { key });
  }

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const next = this.inputs.then(job);
    this.inputs = next.catch(() => undefined);
    return next;
  }

  keyDown(key: string): Promise<void> {
    this.checkKey(key);
    return this.serial(() => this.down(key));
  }

  keyUp(key: string): Promise<void> {
    this.checkKey(key);
    return this.serial(() => this.up(key));
  }

  private async down(key: string): Promise<void> {
    if (this.o.keypad.down().includes(key)) return;
    const seen = this.keyEvent(key, true);
    await this.sim.keyDown(key);
    await seen;
  }

  private async up(key: string): Promise<void> {
    if (!this.o.keypad.down().includes(key)) return;
    const seen = this.keyEvent(key, false);
    await this.sim.keyUp(key);
    await seen;
  }

  pressKey(key: string, holdMs?: number): Promise<void> {
    this.checkKey(key);
    return this.serial(async () => {
      await this.down(key);
      // a press shorter than the debounce would not count on a real contact either
      await this.o.clock.sleep(holdMs ?? this.sim.board.timing.debounceMs * 2);
      await this.up(key);
    });
  }

  setHook(state: "on" | "off"): Promise<void> {
    return this.serial(() => this.hookTo(state));
  }

  private async hookTo(state: "on" | "off"): Promise<void> {
    if (this.o.hook.state() === state) return;
    const seen = this.until<{ type: string }>((cb) => this.o.hook.onHook(cb), (ev) => ev.type === state, `the handset ${state === "off" ? "lifted" : "replaced"}`);
    await this.sim.setHook(state);
    await seen;
  }

  hookFlash(): Promise<void> {
    return this.serial(() => this.flash());
  }

  private async flash(): Promise<void> {
    if (this.o.hook.state() !== "off") throw new PhoneError(ErrorCodes.BAD_REQUEST, "a hook flash needs the handset off hook");
    const t = this.sim.board.timing;
    const seen = this.until<{ type: string }>((cb) => this.o.hook.onHook(cb), (ev) => ev.type === "flash", "a hook flash");
    await this.sim.setHook("on");
    await this.o.clock.sleep(Math.round((t.hookFlashMinMs + t.hookFlashMaxMs) / 2));
    await this.sim.setHook("off");
    await seen;
  }

  readScreen(): Record<string, unknown> {
    const s = this.sim.screen();
    if (s.kind === "text") return { kind: "text", rows: s.rows, backlight: s.backlight };
    if (s.kind === "pixel") return { kind: "pixel", width: s.width, height: s.height, png: s.png.toString("base64"), rows: [] };
    return { kind: "none", rows: [] };
  }

  readLeds(): Record<string, string> {
    return Object.fromEntries(Object.entries(this.sim.leds()).map(([id, l]) => [id, l.mode]));
  }

  getState(): Record<string, unknown> {
    // The documented shape; the phone core's summary fills what it knows (calls, dnd, lock) over the defaults.
    return {
      provisioned: false,
      extension: null,
      registration: { state: "none", server: null },
      lines: [],
      calls: [],
      dnd: false,
      forward: null,
      location: null,
      locked: false,
      hook: this.o.hook.state(),
      keysDown: [...this.o.keypad.down()],
      // the emulated mixer as the audio hardware was set (volume and mute per control)
      mixer: this.sim.mixerEmul.state(),
      ...(this.o.phoneState?.() ?? {}),
    };
  }

  private audio(path: AudioPathName) {
    const dev = this.sim.audio.get(path);
    if (!dev) throw new PhoneError(ErrorCodes.BAD_REQUEST, `no audio path '${path}' on this board (have ${[...this.sim.audio.keys()].join(", ")})`, { path });
    return dev;
  }

  audioInject(path: AudioPathName, pcm: Int16Array, rate: number): void {
    this.audio(path).inject(pcm, rate);
  }

  async audioCapture(path: AudioPathName, ms: number): Promise<{ rate: number; pcm: Int16Array }> {
    const dev = this.audio(path);
    const before = dev.captured().length;
    await this.o.clock.sleep(ms);
    return { rate: dev.playedRate(), pcm: dev.captured().subarray(before) };
  }

  onEvent(cb: (type: ControlEventType, data: Record<string, unknown>) => void): Unsubscribe {
    return this.events.add(({ type, data }) => cb(type, data));
  }

  /** Events from the phone itself (call, registration): the firmware passes them on to subscribed clients. */
  publish(type: ControlEventType, data: Record<string, unknown>): void {
    this.events.emit({ type, data });
  }

  close(): void {
    this.poll.cancel();
    for (const u of this.unsubs) u();
    this.events.clear();
  }
}

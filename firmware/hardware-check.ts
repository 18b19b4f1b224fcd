// The screen the runtime shows until the phone core lands: live keypad, hook and LED state, so every driver is
// exercised, drawn through src/ui like any screen (character LCDs get icon glyphs, pixel panels the shipped font).
import type { Clock, Timer } from "../src/base/clock.js";
import type { Logger } from "../src/base/log.js";
import type { PhoneDevices } from "../src/hal/boards.js";
import type { KeyEvent } from "../src/hal/api/keypad.js";
import type { Screen } from "../src/ui/screen.js";
import { renderText } from "../src/ui/text-renderer.js";
import { lcdGlyphs } from "../src/ui/lcd-glyphs.js";
import { createPixelRenderer, type PixelRenderer } from "../src/ui/pixel-renderer.js";

/** Shows the last keys pressed and the hook state; the SPEAKER LED follows the hook, MESSAGE blinks slowly. */
export class HardwareCheck {
  private digits = "";
  private hook = "on hook";
  private last = "";
  private readonly unsubs: Array<() => void> = [];
  private timer: Timer | undefined;
  private pixels: PixelRenderer | undefined;

  constructor(
    private readonly dev: PhoneDevices,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const d = this.dev.display;
    if (d?.kind === "text") for (const g of lcdGlyphs()) await d.defineGlyph(g.slot, g.rows);
    if (d?.kind === "pixel") this.pixels = await createPixelRenderer(d.width, d.height);
    this.hook = this.dev.hook.state() === "off" ? "off hook" : "on hook";
    this.unsubs.push(this.dev.keypad.onKey((ev) => this.onKey(ev)));
    this.unsubs.push(
      this.dev.hook.onHook((ev) => {
        this.hook = ev.type === "flash" ? "hook flash" : ev.type === "off" ? "off hook" : "on hook";
        if (ev.type !== "flash") this.setLed("SPEAKER", ev.type === "off" ? "on" : "off");
        this.log.info({ hook: ev.type }, "hook");
        void this.draw();
      }),
    );
    this.setLed("MESSAGE", "slow");
    await this.draw();
    // once a second keeps the clock current; the drivers send only what changed
    this.timer = this.clock.setInterval(() => void this.draw(), 1000);
  }

  stop(): void {
    this.timer?.cancel();
    for (const u of this.unsubs) u();
  }

  private setLed(id: string, mode: "on" | "off" | "slow"): void {
    if (this.dev.leds.ids.includes(id)) this.dev.leds.set(id, mode);
  }

  private onKey(ev: KeyEvent): void {
    this.log.info({ key: ev.key, down: ev.down, long: ev.long ?? false }, "key");
    if (!ev.down) return;
    if (ev.long) this.last = `${ev.key} (long)`;
    else {
      this.last = ev.key;
      if (/^[0-9*#]$/.test(ev.key)) this.digits = (this.digits + ev.key).slice(-32);
      if (ev.key === "END" || ev.key === "BACK") this.digits = "";
    }
    void this.draw();
  }

  screen(): Screen {
    const now = new Date(this.clock.wallNow());
    const hhmm = `${String(now.getHours()).padStart(2, "0")}:${String(now.getMinutes()).padStart(2, "0")}`;
    return {
      title: "Hardware check",
      clock: hhmm,
      body: [`Hook: ${this.hook}`, `Key: ${this.last}`, this.digits ? `> ${this.digits}` : "Press keys"],
    };
  }

  private async draw(): Promise<void> {
    const d = this.dev.display;
    if (!d) return;
    try {
      if (d.kind === "text") await d.show(renderText(this.screen(), d.cols, d.rows, this.clock.now()));
      else if (this.pixels) await d.present(this.pixels.render(this.screen(), this.clock.now()).mono);
    } catch (e) {
      this.log.warn({ err: e }, "display write failed");
    }
  }
}

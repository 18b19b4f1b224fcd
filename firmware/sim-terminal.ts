// The simulated phone in a terminal: draws the emulated LCD and LEDs, and turns typed keys into key presses on the
// emulated keypad chip (the web face of the simulator replaces this as the main face).
import type { Clock, Timer } from "../src/base/clock.js";
import type { SimPlatform } from "../src/hal/emul/sim-platform.js";

const KEYS: Record<string, string> = { "\r": "SEND", "\x7f": "END", m: "MENU", o: "OK", b: "BACK", s: "SPEAKER", u: "MUTE" };

export class SimTerminal {
  private last = "";
  private timer: Timer | undefined;
  private readonly onData = (buf: Buffer): void => void this.typed(buf.toString("latin1"));

  constructor(
    private readonly sim: SimPlatform,
    private readonly clock: Clock,
    private readonly out: NodeJS.WriteStream,
    private readonly input: NodeJS.ReadStream,
    private readonly quit: () => void,
    private readonly banner = "",
  ) {}

  start(): void {
    if (this.input.isTTY) this.input.setRawMode(true);
    this.input.on("data", this.onData);
    this.input.resume();
    this.timer = this.clock.setInterval(() => this.draw(), 50);
    this.draw();
  }

  stop(): void {
    this.timer?.cancel();
    this.input.off("data", this.onData);
    if (this.input.isTTY) this.input.setRawMode(false);
    this.input.pause();
  }

  private async typed(s: string): Promise<void> {
    for (const ch of s) {
      if (ch === "q" || ch === "\x03") return this.quit();
      try {
        if (ch === "h") {
          await this.sim.setHook(this.hookUp ? "on" : "off");
          this.hookUp = !this.hookUp;
        } else if (ch === "f" && this.hookUp) {
          await this.sim.setHook("on");
          await this.clock.sleep(this.sim.board.timing.hookFlashMinMs + this.sim.board.timing.debounceMs + 50);
          await this.sim.setHook("off");
        } else {
          const key = /^[0-9*#]$/.test(ch) ? ch : KEYS[ch];
          if (!key) continue;
          await this.sim.keyDown(key);
          await this.clock.sleep(this.sim.board.timing.debounceMs * 3 + 20);
          await this.sim.keyUp(key);
        }
      } catch (e) {
        this.status = (e as Error).message;
      }
    }
  }

  private hookUp = false;
  private status = "";

  private draw(): void {
    const scr = this.sim.screen();
    const rows = scr.kind === "text" ? scr.rows : scr.kind === "pixel" ? scr.ascii.split("\n") : ["(no display)"];
    const width = Math.max(...rows.map((r) => r.length));
    const leds = Object.entries(this.sim.leds())
      .map(([id, l]) => `${l.lit ? "\x1b[32m●\x1b[0m" : "○"} ${id}${l.mode === "on" || l.mode === "off" ? "" : `(${l.mode})`}`)
      .join("  ");
    const text = [
      `┌${"─".repeat(width)}┐`,
      ...rows.map((r) => `│${r.replace(/[\x00-\x07]/g, "▪").padEnd(width)}│`),
      `└${"─".repeat(width)}┘`,
      leds,
      `handset: ${this.hookUp ? "lifted" : "on hook"}`,
      "keys: 0-9 * #, Enter=SEND, Backspace=END, m=MENU o=OK b=BACK s=SPEAKER u=MUTE, h=lift/replace handset, f=flash, q=quit",
      this.banner,
      this.status,
    ].join("\n");
    if (text === this.last) return;
    this.last = text;
    this.out.write(`\x1b[H\x1b[2J${text}\n`);
  }
}

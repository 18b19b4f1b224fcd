// Draws whatever screen the phone is on: on every state change and once a second (clock, scrolling), through
// src/ui (character LCDs get icon glyphs, pixel panels the shipped font). The phone itself never imports the UI.
import type { Clock, Timer } from "../src/base/clock.js";
import type { Logger } from "../src/base/log.js";
import type { Display } from "../src/hal/api/display.js";
import type { Screen } from "../src/ui/screen.js";
import { renderText } from "../src/ui/text-renderer.js";
import { lcdGlyphs } from "../src/ui/lcd-glyphs.js";
import { createPixelRenderer, type PixelRenderer } from "../src/ui/pixel-renderer.js";

export class ScreenPresenter {
  private timer: Timer | undefined;
  private pixels: PixelRenderer | undefined;

  constructor(
    private readonly display: Display | null,
    private readonly screen: () => Screen,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const d = this.display;
    if (d?.kind === "text") for (const g of lcdGlyphs()) await d.defineGlyph(g.slot, g.rows);
    if (d?.kind === "pixel") this.pixels = await createPixelRenderer(d.width, d.height);
    await this.draw();
    this.timer = this.clock.setInterval(() => void this.draw(), 1000);
  }

  /** Redraws now; drivers send only what changed. */
  async draw(): Promise<void> {
    const d = this.display;
    if (!d) return;
    try {
      if (d.kind === "text") await d.show(renderText(this.screen(), d.cols, d.rows, this.clock.now()));
      else if (this.pixels) await d.present(this.pixels.render(this.screen(), this.clock.now()).mono);
    } catch (e) {
      this.log.warn({ err: e }, "display write failed");
    }
  }

  stop(): void {
    this.timer?.cancel();
  }
}

// SSD1306 OLED panel (128x64 or 128x32) on I2C as a PixelDisplay: page addressing, only changed bytes sent.
//
// Every I2C write starts with a control byte (datasheet 8.1.5.2): 0x00 = commands follow, 0x40 = display data
// follow, 0x80 = one command then another control byte. A data byte is one column of 8 pixels of a page, bit 0 on
// top. Each changed run of columns in a page goes out as ONE transfer: [80 B0+page 80 col-lo 80 col-hi 40 data...].
// A full 128x64 frame is 1024 bytes, ~23 ms at 400 kHz and ~92 ms at 100 kHz, so the driver keeps a copy of what
// it last sent and sends only what differs. After any I2C failure the panel's RAM and settings are unknown (a
// transfer broke off, or the module was re-plugged and is off with the charge pump down): the next call first
// sends the init sequence again, and the next frame is sent whole.
import type { Clock } from "../../base/clock.js";
import { PhoneError, ErrorCodes } from "../../base/errors.js";
import type { MonoFrame, PixelDisplay } from "../api/display.js";
import type { I2cBus } from "../api/i2c.js";
import { probeOrAbsent } from "../core/i2c-probe.js";
import { ResyncQueue } from "../core/resync-queue.js";
import { CountedI2cWriter, type I2cWriteStats } from "../core/counted-i2c-writer.js";

const CTRL_COMMANDS = 0x00;
const CTRL_ONE_COMMAND = 0x80;
const CTRL_DATA = 0x40;
const DISPLAY_OFF = 0xae;
const DISPLAY_ON = 0xaf;
const SET_CONTRAST = 0x81;
/** Data bytes per transfer; a page of a 128-wide panel fits in one. */
const MAX_DATA = 128;
/** Unchanged columns between changed ones are resent when the gap is this short: a new run header costs 7 bytes. */
const MERGE_GAP = 7;

export interface Ssd1306Options {
  address: number;
  width: 128;
  height: 64 | 32;
  /** Kept for boards that add a reset line or a power-up delay; this driver needs no waits. */
  clock: Clock;
}

export class Ssd1306Display implements PixelDisplay {
  readonly kind = "pixel" as const;
  readonly width: number;
  readonly height: number;
  private readonly pages: number;
  private readonly out: CountedI2cWriter;
  private readonly where: string;
  /** GDDRAM as we last wrote it (pages x width), or null when unknown. */
  private shadow: Uint8Array | null = null;
  private power = true;
  private contrast: number;
  private readonly jobs: ResyncQueue;

  private constructor(
    private readonly bus: I2cBus,
    private readonly opts: Ssd1306Options,
  ) {
    this.width = opts.width;
    this.height = opts.height;
    this.pages = opts.height / 8;
    this.contrast = opts.height === 64 ? 0xcf : 0x8f;
    this.where = `SSD1306 at 0x${opts.address.toString(16)} on /dev/i2c-${bus.bus}`;
    this.out = new CountedI2cWriter(bus, opts.address);
    this.jobs = new ResyncQueue(this.where, { bus: bus.bus, address: opts.address }, {
      resync: async () => {
        await this.init();
        await this.send([CTRL_COMMANDS, this.power ? DISPLAY_ON : DISPLAY_OFF]);
      },
      invalidate: () => {
        this.shadow = null;
      },
    });
  }

  static async open(bus: I2cBus, opts: Ssd1306Options): Promise<Ssd1306Display> {
    if (opts.width !== 128 || (opts.height !== 64 && opts.height !== 32))
      throw new PhoneError(ErrorCodes.BOARD_INVALID, `SSD1306 panel size ${opts.width}x${opts.height} is not 128x64 or 128x32`, { width: opts.width, height: opts.height });
    const oled = new Ssd1306Display(bus, opts);
    await probeOrAbsent(bus, opts.address, "SSD1306", "is the OLED connected, and is it at 0x3c or 0x3d?");
    await oled.jobs.run("initialising", async () => {
      await oled.init();
      // Blank the RAM before switching on, so the power-up noise in GDDRAM is never seen.
      await oled.sendPages(new Uint8Array(oled.pages * oled.width), null);
      await oled.send([CTRL_COMMANDS, oled.power ? DISPLAY_ON : DISPLAY_OFF]);
    }, { init: true });
    return oled;
  }

  /** I2C traffic so far, for benchmarks. */
  get stats(): Readonly<I2cWriteStats> {
    return this.out.stats;
  }

  present(frame: MonoFrame): Promise<void> {
    if (frame.width !== this.width || frame.height !== this.height || frame.pixels.length !== this.width * this.height)
      return Promise.reject(
        new PhoneError(ErrorCodes.BAD_REQUEST, `a ${frame.width}x${frame.height} frame (${frame.pixels.length} pixels) does not fit the ${this.width}x${this.height} SSD1306`, {
          width: frame.width,
          height: frame.height,
        }),
      );
    const ram = this.toPages(frame);
    return this.jobs.run("presenting a frame", () => this.sendPages(ram, this.shadow));
  }

  setPower(on: boolean): Promise<void> {
    this.power = on;
    return this.jobs.run(on ? "switching on" : "switching off", () => this.send([CTRL_COMMANDS, on ? DISPLAY_ON : DISPLAY_OFF]));
  }

  /** `level` 0-255 (the chip's 256 contrast steps; brightness on an OLED). */
  setContrast(level: number): Promise<void> {
    if (!Number.isInteger(level) || level < 0 || level > 255)
      return Promise.reject(new PhoneError(ErrorCodes.BAD_REQUEST, `SSD1306 contrast is 0-255, not ${level}`, { level }));
    this.contrast = level;
    return this.jobs.run("setting contrast", () => this.send([CTRL_COMMANDS, SET_CONTRAST, level]));
  }

  /** Leaves the panel showing its last frame; the bus is shared and stays open. */
  async close(): Promise<void> {
    await this.jobs.close();
  }

  // ---- internals ----


  /**
   * The usual init (datasheet application note; Adafruit and u8g2 use the same values): display off, clock,
   * multiplex = height-1, offset 0, start line 0, charge pump on, page addressing, segment remap + COM scan
   * reversed (upright on standard modules), COM pins (alternative for 64 rows, sequential for 32), contrast,
   * pre-charge, VCOMH, scrolling off, RAM shown, not inverted. The display is switched on by the caller.
   */
  private async init(): Promise<void> {
    const h = this.height;
    await this.send([
      CTRL_COMMANDS,
      DISPLAY_OFF,
      0xd5, 0x80,
      0xa8, h - 1,
      0xd3, 0x00,
      0x40,
      0x8d, 0x14,
      0x20, 0x02,
      0xa1,
      0xc8,
      0xda, h === 64 ? 0x12 : 0x02,
      SET_CONTRAST, this.contrast,
      0xd9, 0xf1,
      0xdb, 0x40,
      0x2e,
      0xa4,
      0xa6,
    ]);
    this.jobs.initialised();
  }

  /** Frame pixels -> GDDRAM layout: pages x width bytes, bit b of byte (page, x) is pixel (x, page*8+b). */
  private toPages(frame: MonoFrame): Uint8Array {
    const { width, pages } = this;
    const ram = new Uint8Array(pages * width);
    const px = frame.pixels;
    for (let p = 0; p < pages; p++)
      for (let x = 0; x < width; x++) {
        let b = 0;
        for (let bit = 0; bit < 8; bit++) if (px[(p * 8 + bit) * width + x]) b |= 1 << bit;
        ram[p * width + x] = b;
      }
    return ram;
  }

  /** Sends the columns of `ram` that differ from `have` (all of them when `have` is null), updating the shadow. */
  private async sendPages(ram: Uint8Array, have: Uint8Array | null): Promise<void> {
    const w = this.width;
    const shadow = have ?? new Uint8Array(this.pages * w);
    for (let p = 0; p < this.pages; p++) {
      for (const [from, to] of dirtyRuns(have, ram, p * w, w)) {
        for (let c = from; c < to; c += MAX_DATA) {
          const end = Math.min(to, c + MAX_DATA);
          await this.send([
            CTRL_ONE_COMMAND, 0xb0 | p,
            CTRL_ONE_COMMAND, c & 0x0f,
            CTRL_ONE_COMMAND, 0x10 | (c >> 4),
            CTRL_DATA, ...ram.subarray(p * w + c, p * w + end),
          ]);
          shadow.set(ram.subarray(p * w + c, p * w + end), p * w + c);
        }
      }
    }
    // Only now is every byte known: a failure above left this.shadow null (set by run()).
    this.shadow = shadow;
  }

  private send(bytes: number[]): Promise<void> {
    return this.out.write(bytes);
  }

}

/** [from, to) column runs of one page (starting at `at` in both buffers) that differ; all columns if `have` is null. */
function dirtyRuns(have: Uint8Array | null, want: Uint8Array, at: number, width: number): Array<[number, number]> {
  if (!have) return [[0, width]];
  const runs: Array<[number, number]> = [];
  for (let x = 0; x < width; x++) {
    if (have[at + x] === want[at + x]) continue;
    const last = runs[runs.length - 1];
    if (last && x - last[1] <= MERGE_GAP) last[1] = x + 1;
    else runs.push([x, x + 1]);
  }
  return runs;
}

// HD44780 character LCD behind a PCF8574 I2C backpack (the common 16x2 / 20x4 "I2C LCD"), as a TextDisplay.
//
// Wiring of the backpack (LiquidCrystal_I2C, mathertel LiquidCrystal_PCF8574): P0=RS, P1=RW, P2=EN,
// P3=backlight, P4..P7=D4..D7. RW stays low: the busy flag is never read, so the driver keeps to the datasheet's
// execution times instead (37 µs per instruction, 1.52 ms for clear/home), which a 100 kHz bus already exceeds
// for everything except clear and home.
// Every nibble is two port bytes, EN high then EN low (the falling edge latches), high nibble first. A command or
// a text run goes out as one I2C write: the PCF8574 takes each byte as a new port state, in order.
// The driver keeps a shadow of the glass and sends only the runs that changed. After any I2C failure it cannot
// know the controller's state (a transfer broken mid-byte leaves it out of nibble step; a reconnected module is
// back in 8-bit mode), so the next call first resynchronises with the 8-bit/4-bit init dance and repaints.
import type { Clock } from "../../base/clock.js";
import { PhoneError, ErrorCodes } from "../../base/errors.js";
import type { TextDisplay } from "../api/display.js";
import type { I2cBus } from "../api/i2c.js";
import { probeOrAbsent } from "../core/i2c-probe.js";
import { ResyncQueue } from "../core/resync-queue.js";
import { CountedI2cWriter, type I2cWriteStats } from "../core/counted-i2c-writer.js";

const RS = 0x01;
const EN = 0x04;
const BL = 0x08;

const CMD_CLEAR = 0x01;
const CMD_ENTRY_INC = 0x06; // entry mode: increment, no display shift
const CMD_DISPLAY_ON = 0x0c; // display on, cursor off, blink off
const CMD_FUNCTION_4BIT_2LINE = 0x28; // DL=0, N=1, F=0 (5x8)
const CMD_SET_CGRAM = 0x40;
const CMD_SET_DDRAM = 0x80;
/** Clear and home take 1.52 ms (datasheet); some clones are slower. */
const CLEAR_MS = 2;
/** Unchanged cells between two changed ones are resent when the gap is this short: a new address costs 4 bytes. */
const MERGE_GAP = 1;

export interface Hd44780Pcf8574Options {
  address: number;
  cols: 16 | 20;
  rows: 2 | 4;
  clock: Clock;
}

export class Hd44780Pcf8574Display implements TextDisplay {
  readonly kind = "text" as const;
  readonly cols: number;
  readonly rows: number;
  private readonly out: CountedI2cWriter;
  private readonly where: string;
  private readonly offsets: number[];
  private readonly glyphs = new Map<number, number[]>();
  /** Character codes on the glass, or null when unknown (after an error). */
  private shadow: Uint8Array[] | null = null;
  private light = true;
  private readonly jobs: ResyncQueue;

  private constructor(
    private readonly bus: I2cBus,
    private readonly opts: Hd44780Pcf8574Options,
  ) {
    this.cols = opts.cols;
    this.rows = opts.rows;
    this.where = `HD44780/PCF8574 at 0x${opts.address.toString(16)} on /dev/i2c-${bus.bus}`;
    this.out = new CountedI2cWriter(bus, opts.address);
    this.jobs = new ResyncQueue(this.where, { bus: bus.bus, address: opts.address }, {
      resync: () => this.init(0),
      invalidate: () => {
        this.shadow = null;
      },
    });
    // DDRAM row starts: lines 3 and 4 of a 4-row module continue lines 1 and 2 (20x4: 0x00, 0x40, 0x14, 0x54).
    this.offsets = [0x00, 0x40, 0x00 + opts.cols, 0x40 + opts.cols];
  }

  static async open(bus: I2cBus, opts: Hd44780Pcf8574Options): Promise<Hd44780Pcf8574Display> {
    if (![16, 20].includes(opts.cols) || ![2, 4].includes(opts.rows))
      throw new PhoneError(ErrorCodes.BOARD_INVALID, `HD44780 display size ${opts.cols}x${opts.rows} is not 16x2, 16x4, 20x2 or 20x4`, { cols: opts.cols, rows: opts.rows });
    const lcd = new Hd44780Pcf8574Display(bus, opts);
    await probeOrAbsent(bus, opts.address, "HD44780/PCF8574", "is the display connected?");
    await lcd.jobs.run("initialising", () => lcd.init(50), { init: true });
    return lcd;
  }

  /** I2C traffic so far, for benchmarks. */
  get stats(): Readonly<I2cWriteStats> {
    return this.out.stats;
  }

  write(row: number, col: number, text: string): Promise<void> {
    if (!Number.isInteger(row) || !Number.isInteger(col) || row < 0 || row >= this.rows || col < 0 || col >= this.cols)
      return Promise.reject(new PhoneError(ErrorCodes.BAD_REQUEST, `(${row}, ${col}) is off the ${this.cols}x${this.rows} LCD`, { row, col }));
    const codes = encode(text).slice(0, this.cols - col);
    return this.jobs.run(`writing row ${row}`, () => this.paint(row, col, codes));
  }

  show(lines: readonly string[]): Promise<void> {
    const want = Array.from({ length: this.rows }, (_, r) => {
      const codes = encode(lines[r] ?? "").slice(0, this.cols);
      while (codes.length < this.cols) codes.push(0x20);
      return codes;
    });
    return this.jobs.run("showing a screen", async () => {
      for (let r = 0; r < this.rows; r++) await this.paint(r, 0, want[r]);
    });
  }

  clear(): Promise<void> {
    return this.jobs.run("clearing", () => this.clearGlass());
  }

  setBacklight(on: boolean): Promise<void> {
    this.light = on;
    // One port byte with EN low: only P3 changes, the controller sees nothing.
    return this.jobs.run("switching the backlight", () => this.send([this.port(0)]));
  }

  defineGlyph(slot: number, rows: readonly number[]): Promise<void> {
    if (!Number.isInteger(slot) || slot < 0 || slot > 7 || rows.length !== 8 || !rows.every((x) => Number.isInteger(x) && x >= 0 && x <= 0x1f))
      return Promise.reject(
        new PhoneError(ErrorCodes.BAD_REQUEST, `an HD44780 glyph is slot 0-7 and 8 rows of 5 bits (0-31); got slot ${slot}, ${rows.length} rows`, { slot }),
      );
    const pattern = [...rows];
    this.glyphs.set(slot, pattern);
    return this.jobs.run(`defining glyph ${slot}`, () => this.sendGlyph(slot, pattern));
  }

  /** Leaves the last screen and backlight as they are (a "shutting down" message stays readable); the bus is shared. */
  async close(): Promise<void> {
    await this.jobs.close();
  }

  // ---- internals ----


  /**
   * The datasheet's "initializing by instruction" for 4-bit interfaces: three 8-bit function sets, then the
   * switch to 4 bits. From any state (8-bit, 4-bit, or 4-bit out of nibble step) this ends in 4-bit mode at a byte
   * boundary. Then 2 lines, display on, clear, entry mode; then the glyphs we had defined are sent again.
   */
  private async init(powerOnWaitMs: number): Promise<void> {
    const clock = this.opts.clock;
    await this.send([this.port(0)]);
    if (powerOnWaitMs > 0) await clock.sleep(powerOnWaitMs); // "Wait for more than 40 ms after VCC rises to 2.7 V"
    await this.send(this.nibble(0x3, 0));
    await clock.sleep(5); // "Wait for more than 4.1 ms"
    await this.send(this.nibble(0x3, 0));
    await clock.sleep(1); // "Wait for more than 100 µs"
    await this.send(this.nibble(0x3, 0));
    await clock.sleep(1);
    await this.send(this.nibble(0x2, 0));
    await clock.sleep(1);
    await this.send([...this.byte(CMD_FUNCTION_4BIT_2LINE, 0), ...this.byte(CMD_DISPLAY_ON, 0)]);
    await this.clearGlass();
    await this.send(this.byte(CMD_ENTRY_INC, 0));
    for (const [slot, rows] of this.glyphs) await this.sendGlyph(slot, rows);
    this.jobs.initialised();
  }

  private async clearGlass(): Promise<void> {
    this.shadow = null;
    await this.send(this.byte(CMD_CLEAR, 0));
    await this.opts.clock.sleep(CLEAR_MS);
    this.shadow = Array.from({ length: this.rows }, () => new Uint8Array(this.cols).fill(0x20));
  }

  private async sendGlyph(slot: number, rows: readonly number[]): Promise<void> {
    // The address counter is left in CGRAM: every text run starts with a DDRAM address, so that is harmless.
    const bytes = this.byte(CMD_SET_CGRAM | (slot << 3), 0);
    for (const r of rows) bytes.push(...this.byte(r, RS));
    await this.send(bytes);
  }

  /** Sends the cells of `codes` at (row, col) that differ from the shadow, one I2C write per run. */
  private async paint(row: number, col: number, codes: number[]): Promise<void> {
    const have = this.shadow?.[row];
    for (const [from, to] of changedRuns(have, codes, col)) {
      const bytes = this.byte(CMD_SET_DDRAM | (this.offsets[row] + from), 0);
      for (let c = from; c < to; c++) bytes.push(...this.byte(codes[c - col], RS));
      await this.send(bytes);
      if (this.shadow) for (let c = from; c < to; c++) this.shadow[row][c] = codes[c - col];
    }
  }

  private port(bits: number): number {
    return bits | (this.light ? BL : 0);
  }

  /** One nibble: EN high, then EN low (the falling edge latches). */
  private nibble(n: number, rs: number): number[] {
    const p = this.port(((n & 0x0f) << 4) | rs);
    return [p | EN, p];
  }

  private byte(v: number, rs: number): number[] {
    return [...this.nibble(v >> 4, rs), ...this.nibble(v, rs)];
  }

  private send(bytes: number[]): Promise<void> {
    return this.out.write(bytes);
  }

}

/** Text -> A00 character codes, one per code point. */
function encode(text: string): number[] {
  return Array.from(text, lcdCode);
}

/** Characters of HD44780U ROM code A00 beyond ASCII (datasheet table 4), and look-alikes people type for them. */
const A00: Record<string, number> = {
  "¥": 0x5c, "→": 0x7e, "←": 0x7f, "°": 0xdf, "·": 0xa5,
  "α": 0xe0, "ä": 0xe1, "β": 0xe2, "ß": 0xe2, "ε": 0xe3, "\u03bc": 0xe4, "\u00b5": 0xe4, "σ": 0xe5, "ρ": 0xe6, "√": 0xe8,
  "¢": 0xec, "ñ": 0xee, "ö": 0xef, "θ": 0xf2, "∞": 0xf3, "\u03a9": 0xf4, "\u2126": 0xf4, "ü": 0xf5, "Σ": 0xf6, "π": 0xf7,
  "÷": 0xfd, "█": 0xff,
  // no glyph in A00: the nearest ASCII
  "~": 0x2d, "‘": 0x27, "’": 0x27, "‚": 0x27, "′": 0x27, "“": 0x22, "”": 0x22, "„": 0x22, "″": 0x22,
  "‐": 0x2d, "‒": 0x2d, "–": 0x2d, "—": 0x2d, "−": 0x2d, "…": 0x2e, "\u00a0": 0x20, "\t": 0x20,
};

/**
 * One character -> its A00 code. 0x00-0x07 are the custom glyphs; printable ASCII maps to itself except "\\"
 * (0x5C is a yen sign in A00) and "~" (0x7E is an arrow); accented Latin letters lose their accent; what has no
 * look-alike becomes "?".
 */
function lcdCode(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0x3f;
  if (cp <= 0x07) return cp;
  if (cp >= 0x20 && cp <= 0x7d && cp !== 0x5c) return cp;
  const mapped = A00[ch];
  if (mapped !== undefined) return mapped;
  if (cp >= 0xff61 && cp <= 0xff9e) return 0xa1 + cp - 0xff61; // half-width katakana, JIS X 0201 order
  const bare = ch.normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  const b = bare.length === 1 ? bare.charCodeAt(0) : -1;
  if (b >= 0x20 && b <= 0x7d && b !== 0x5c) return b;
  return 0x3f;
}

/** [from, to) columns (absolute) where `want` (placed at `col`) differs from `have`; all of them if `have` is unknown. */
function changedRuns(have: Uint8Array | undefined, want: number[], col: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (let i = 0; i < want.length; i++) {
    const c = col + i;
    if (have && have[c] === want[i]) continue;
    const last = runs[runs.length - 1];
    if (last && c - last[1] <= MERGE_GAP) last[1] = c + 1;
    else runs.push([c, c + 1]);
  }
  return runs;
}

// HD44780 character LCD behind a PCF8574 I2C backpack: an emulator of the port bytes on its I2C face and of the
// controller's memories on its backend face (text(), glyph(), backlight()).
//
// Bus face: every byte written is the PCF8574's new port state. P0=RS, P1=RW, P2=EN, P3=backlight, P4..P7=D4..D7.
// The HD44780 latches D4..D7 on the falling edge of EN (datasheet: "E: starts data read/write", data is taken on
// the high-to-low transition). After power-on the controller is in 8-bit mode: each latch is a whole instruction
// with D0..D3 low (they are not wired). Function set with DL=0 switches to 4-bit mode: two latches, high nibble
// first, make one byte. Reading returns the port pins (quasi-bidirectional, so what was last written).
// Modelled: DDRAM (80 bytes, 1- and 2-line addressing), CGRAM (64 bytes), the address counter with increment,
// decrement and the line wrap (0x27 -> 0x40, 0x67 -> 0x00), entry mode with display shift, cursor/display shift,
// display/cursor/blink control, clear, home. Not modelled: busy flag and execution times, 5x10 font glyphs.
import type { I2cDeviceEmul } from "./i2c-bus-emul.js";

const RS = 0x01;
const RW = 0x02;
const EN = 0x04;
const BL = 0x08;
/** Positions per line in 2-line mode (and half the DDRAM). */
const LINE = 40;

/** Controller state, for tests that check what the driver set up. */
export interface Hd44780State {
  fourBit: boolean;
  twoLine: boolean;
  font5x10: boolean;
  displayOn: boolean;
  cursorOn: boolean;
  blinkOn: boolean;
  /** Entry mode I/D: the address counter moves up after a write. */
  increment: boolean;
  /** Entry mode S: the display shifts on every write. */
  shiftOnWrite: boolean;
  /** Which memory the address counter points into, and where. */
  target: "ddram" | "cgram";
  address: number;
  /** Display shift in positions (positive = content moved left). */
  displayShift: number;
  /** True between the two nibbles of a byte in 4-bit mode. */
  midByte: boolean;
}

/** HD44780U ROM code A00, 0xE0..0xFF (Greek, umlauts, maths); letters with descenders shown as plain ASCII. */
const A00_HIGH = "αäβεμσρg√⁻jˣ¢£ñöpqθ∞ΩüΣπxy千万円÷ █";

/** How a character code looks on an A00 glass. Codes 0x00-0x0F are the 8 custom glyphs (twice). */
export function a00Char(code: number): string {
  if (code < 0x10) return String.fromCharCode(code & 0x07);
  if (code === 0x5c) return "¥";
  if (code === 0x7e) return "→";
  if (code === 0x7f) return "←";
  if (code >= 0x20 && code < 0x7e) return String.fromCharCode(code);
  if (code === 0xdf) return "°"; // JIS X 0201 handakuten; on the glass (and in every LCD library) a degree sign
  if (code >= 0xa1 && code <= 0xde) return String.fromCharCode(0xff61 + code - 0xa1); // half-width katakana
  if (code >= 0xe0) return A00_HIGH[code - 0xe0];
  return " "; // 0x10-0x1F and 0x80-0xA0 are blank in A00
}

export class Hd44780Pcf8574Emul implements I2cDeviceEmul {
  readonly cols: number;
  readonly rows: number;
  private writes = 0;
  private port = 0;
  private readonly ddram = new Uint8Array(80);
  private readonly cgram = new Uint8Array(64);
  private s!: Hd44780State;
  private pendingHigh: number | null = null;

  constructor(opts: { cols: number; rows: number }) {
    this.cols = opts.cols;
    this.rows = opts.rows;
    this.reset();
  }

  // ---- bus face ----

  write(bytes: Uint8Array): void {
    for (const b of bytes) {
      this.writes++;
      const prev = this.port;
      this.port = b & 0xff;
      if (prev & EN && !(b & EN)) this.latch(prev);
    }
  }

  read(length: number): Uint8Array {
    return new Uint8Array(length).fill(this.port);
  }

  // ---- backend face ----

  /** Power cycle: the PCF8574 comes up with every pin high, the HD44780 in 8-bit, 1-line mode, display off. */
  reset(): void {
    this.port = 0xff;
    this.ddram.fill(0x20);
    this.cgram.fill(0);
    this.pendingHigh = null;
    const s: Hd44780State = { fourBit: false, twoLine: false, font5x10: false, displayOn: false, cursorOn: false, blinkOn: false, increment: true, shiftOnWrite: false, target: "ddram", address: 0, displayShift: 0, midByte: false };
    this.s = s;
  }

  /** Port bytes received so far (each is one PCF8574 write). */
  get portWrites(): number {
    return this.writes;
  }

  state(): Hd44780State {
    return { ...this.s, midByte: this.pendingHigh !== null };
  }

  backlight(): boolean {
    return (this.port & BL) !== 0;
  }

  displayOn(): boolean {
    return this.s.displayOn;
  }

  /** The rows as a person reads them; custom glyph cells are "\u0000".."\u0007". Blank while the display is off. */
  text(): string[] {
    const codes = this.cellCodes();
    if (!this.s.displayOn) return codes.map((r) => " ".repeat(r.length));
    return codes.map((r) => r.map(a00Char).join(""));
  }

  /** The character code shown in every cell (DDRAM through the current shift), whether the display is on or not. */
  cellCodes(): number[][] {
    const out: number[][] = [];
    for (let r = 0; r < this.rows; r++) {
      const row: number[] = [];
      for (let c = 0; c < this.cols; c++) row.push(this.cellIndex(r, c) < 0 ? 0x20 : this.ddram[this.cellIndex(r, c)]);
      out.push(row);
    }
    return out;
  }

  /** CGRAM rows of glyph `slot` (0-7), 5 bits each, top row first. */
  glyph(slot: number): number[] {
    const at = (slot & 7) * 8;
    return [...this.cgram.subarray(at, at + 8)];
  }

  // ---- internals ----

  private latch(p: number): void {
    const nibble = p >> 4;
    const read = (p & RW) !== 0;
    if (!this.s.fourBit) {
      if (!read) this.exec((p & RS) !== 0, nibble << 4);
      return;
    }
    if (this.pendingHigh === null) {
      this.pendingHigh = nibble;
      return;
    }
    const v = (this.pendingHigh << 4) | nibble;
    this.pendingHigh = null;
    if (!read) this.exec((p & RS) !== 0, v); // a read cycle (busy flag) changes nothing here
  }

  private exec(data: boolean, v: number): void {
    const s = this.s;
    if (data) return this.writeData(v);
    if (v & 0x80) {
      s.target = "ddram";
      s.address = v & 0x7f;
    } else if (v & 0x40) {
      s.target = "cgram";
      s.address = v & 0x3f;
    } else if (v & 0x20) {
      const fourBit = (v & 0x10) === 0;
      if (fourBit !== s.fourBit) this.pendingHigh = null;
      s.fourBit = fourBit;
      s.twoLine = (v & 0x08) !== 0;
      s.font5x10 = (v & 0x04) !== 0;
    } else if (v & 0x10) {
      const right = (v & 0x04) !== 0;
      if (v & 0x08) this.shiftDisplay(right ? -1 : 1);
      else this.step(right);
    } else if (v & 0x08) {
      s.displayOn = (v & 0x04) !== 0;
      s.cursorOn = (v & 0x02) !== 0;
      s.blinkOn = (v & 0x01) !== 0;
    } else if (v & 0x04) {
      s.increment = (v & 0x02) !== 0;
      s.shiftOnWrite = (v & 0x01) !== 0;
    } else if (v & 0x02) {
      s.target = "ddram";
      s.address = 0;
      s.displayShift = 0;
    } else if (v & 0x01) {
      // Clear: "Write space code 20H into all DDRAM addresses ... sets I/D to 1 (increment mode)".
      this.ddram.fill(0x20);
      s.target = "ddram";
      s.address = 0;
      s.displayShift = 0;
      s.increment = true;
    }
  }

  private writeData(v: number): void {
    const s = this.s;
    if (s.target === "cgram") {
      this.cgram[s.address] = v & 0x1f; // the glass shows only the low 5 bits of a pattern row
      s.address = (s.address + (s.increment ? 1 : 63)) & 0x3f;
      return;
    }
    const i = this.ddramIndex(s.address);
    if (i >= 0) this.ddram[i] = v;
    this.step(s.increment);
    if (s.shiftOnWrite) this.shiftDisplay(s.increment ? 1 : -1);
  }

  /** Moves the address counter one place, with the wrap the datasheet gives for each line mode. */
  private step(up: boolean): void {
    const s = this.s;
    if (s.target === "cgram") {
      s.address = (s.address + (up ? 1 : 63)) & 0x3f;
      return;
    }
    const a = s.address;
    if (s.twoLine) {
      if (up) s.address = a === 0x27 ? 0x40 : a === 0x67 ? 0x00 : (a + 1) & 0x7f;
      else s.address = a === 0x40 ? 0x27 : a === 0x00 ? 0x67 : (a - 1) & 0x7f;
    } else {
      s.address = up ? (a >= 0x4f ? 0 : a + 1) : a === 0 ? 0x4f : a - 1;
    }
  }

  private shiftDisplay(by: number): void {
    const span = this.s.twoLine ? LINE : 2 * LINE;
    this.s.displayShift = (((this.s.displayShift + by) % span) + span) % span;
  }

  /** DDRAM address -> index into the 80 bytes; -1 for addresses that do not exist in this line mode. */
  private ddramIndex(addr: number): number {
    if (this.s.twoLine) {
      if (addr < LINE) return addr;
      if (addr >= 0x40 && addr < 0x40 + LINE) return LINE + addr - 0x40;
      return -1;
    }
    return addr < 2 * LINE ? addr : -1;
  }

  /** Which DDRAM byte cell (row, col) shows. Rows 2 and 3 of a 4-row module continue lines 0 and 1 at `cols`. */
  private cellIndex(row: number, col: number): number {
    const sh = this.s.displayShift;
    if (!this.s.twoLine) return row === 0 ? (col + sh) % (2 * LINE) : -1;
    const line = row & 1;
    const base = row < 2 ? 0 : this.cols;
    return line * LINE + ((base + col + sh) % LINE);
  }
}

// SSD1306 OLED controller (128x64 / 128x32 panels) on I2C: control bytes, commands and GDDRAM on its bus face;
// the picture on the glass as a MonoFrame, ASCII art or a PNG on its backend face.
//
// Bus face (datasheet 8.1.5.2): every I2C write starts with a control byte, Co (bit 7) and D/C# (bit 6).
//   Co=0: the rest of the transfer is one stream, commands (0x00) or GDDRAM data (0x40).
//   Co=1: exactly one byte follows (command 0x80, data 0xC0), then another control byte.
// A command's argument bytes may come in later control blocks or transfers (drivers that send [0x00, cmd] per
// transfer do this), so the parser keeps a half-read command across writes.
// GDDRAM is 8 pages x 128 columns; a data byte is 8 vertical pixels of one column, bit 0 on top. Page addressing
// (20 02, the reset default) moves only the column and wraps it within the page; horizontal and vertical addressing
// walk the window set by 21 (columns) and 22 (pages).
// Picture: with segment remap (A1) and COM scan reversed (C8), as every module's init sets, RAM column 0 of page 0
// is the top-left pixel; A0 mirrors it left-right, C0 upside down. Start line (40-7F) and display offset (D3) move
// the picture up. Without the charge pump (8D 14) a module with no external VCC stays dark, and so does this one.
// Scrolling (26/27/29/2A, 2F) is recorded, not animated.
import { encodeGrayPng } from "./png.js";
import type { MonoFrame } from "../api/display.js";
import type { I2cDeviceEmul } from "./i2c-bus-emul.js";

const PAGES = 8;
const COLUMNS = 128;

/** Argument bytes after each multi-byte command; everything else is a single byte. */
const ARGS: Record<number, number> = {
  0x20: 1, 0x21: 2, 0x22: 2, 0x26: 6, 0x27: 6, 0x29: 5, 0x2a: 5, 0x81: 1, 0x8d: 1, 0xa3: 2,
  0xa8: 1, 0xd3: 1, 0xd5: 1, 0xd9: 1, 0xda: 1, 0xdb: 1,
};

export interface Ssd1306State {
  displayOn: boolean;
  contrast: number;
  inverted: boolean;
  /** A5: every pixel on regardless of RAM. */
  entireOn: boolean;
  chargePump: boolean;
  addressing: "horizontal" | "vertical" | "page";
  segmentRemap: boolean;
  comScanReversed: boolean;
  multiplex: number;
  displayOffset: number;
  startLine: number;
  comPins: number;
  clockDiv: number;
  precharge: number;
  vcomh: number;
  scrolling: boolean;
  page: number;
  column: number;
  columnWindow: [number, number];
  pageWindow: [number, number];
}

type Mode = "control" | "cmd-stream" | "data-stream" | "cmd-one" | "data-one";

export class Ssd1306Emul implements I2cDeviceEmul {
  readonly width: number;
  readonly height: number;
  private readonly ram = new Uint8Array(PAGES * COLUMNS);
  private s!: Ssd1306State;
  private cmd: number[] = [];
  private received = 0;

  constructor(opts: { width: number; height: number }) {
    this.width = opts.width;
    this.height = opts.height;
    this.reset();
  }

  // ---- bus face ----

  write(bytes: Uint8Array): void {
    let mode: Mode = "control"; // a START always begins with a control byte
    for (const b of bytes) {
      this.received++;
      switch (mode) {
        case "control":
          mode = b & 0x80 ? (b & 0x40 ? "data-one" : "cmd-one") : b & 0x40 ? "data-stream" : "cmd-stream";
          break;
        case "cmd-stream":
          this.command(b);
          break;
        case "data-stream":
          this.data(b);
          break;
        case "cmd-one":
          this.command(b);
          mode = "control";
          break;
        case "data-one":
          this.data(b);
          mode = "control";
          break;
      }
    }
  }

  /** A read returns the status byte: D6 set while the display is off (datasheet 8.1.5.2, "read status"). */
  read(length: number): Uint8Array {
    return new Uint8Array(length).fill(this.s.displayOn ? 0x00 : 0x40);
  }

  // ---- backend face ----

  /** Power-on reset state (datasheet 8.9): display off, page addressing, contrast 0x7F, charge pump off. */
  reset(): void {
    this.ram.fill(0);
    this.cmd = [];
    this.s = {
      displayOn: false, contrast: 0x7f, inverted: false, entireOn: false, chargePump: false, addressing: "page",
      segmentRemap: false, comScanReversed: false, multiplex: 63, displayOffset: 0, startLine: 0, comPins: 0x12,
      clockDiv: 0x80, precharge: 0x22, vcomh: 0x20, scrolling: false, page: 0, column: 0,
      columnWindow: [0, COLUMNS - 1], pageWindow: [0, PAGES - 1],
    };
  }

  /** Every byte received, control bytes included. */
  get bytesReceived(): number {
    return this.received;
  }

  state(): Ssd1306State {
    return { ...this.s, columnWindow: [...this.s.columnWindow], pageWindow: [...this.s.pageWindow] };
  }

  /** GDDRAM byte at (page, column), untouched by display settings. */
  ramByte(page: number, column: number): number {
    return this.ram[page * COLUMNS + column];
  }

  /** What the glass shows, pixel for pixel (1 = lit). */
  frame(): MonoFrame {
    const { width, height } = this;
    const pixels = new Uint8Array(width * height);
    const s = this.s;
    if (!s.displayOn || !s.chargePump) return { width, height, pixels };
    const rows = Math.min(height, s.multiplex + 1);
    for (let y = 0; y < rows; y++) {
      const sy = s.comScanReversed ? y : rows - 1 - y;
      const ramRow = (sy + s.startLine + s.displayOffset) % (PAGES * 8);
      for (let x = 0; x < width; x++) {
        const col = s.segmentRemap ? x : COLUMNS - 1 - x;
        let lit = s.entireOn || (this.ram[(ramRow >> 3) * COLUMNS + col] >> (ramRow & 7)) & 1;
        if (s.inverted) lit = lit ? 0 : 1;
        pixels[y * width + x] = lit ? 1 : 0;
      }
    }
    return { width, height, pixels };
  }

  /** One line per pixel row, '#' lit and '.' dark. */
  toAscii(): string {
    const f = this.frame();
    const lines: string[] = [];
    for (let y = 0; y < f.height; y++) {
      let line = "";
      for (let x = 0; x < f.width; x++) line += f.pixels[y * f.width + x] ? "#" : ".";
      lines.push(line);
    }
    return lines.join("\n");
  }

  /** The glass as an 8-bit grayscale PNG, each pixel `scale` x `scale`. */
  toPng(scale = 1): Buffer {
    const f = this.frame();
    const w = f.width * scale;
    const h = f.height * scale;
    const gray = new Uint8Array(w * h);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) gray[y * w + x] = f.pixels[Math.floor(y / scale) * f.width + Math.floor(x / scale)] ? 0xff : 0x00;
    return encodeGrayPng(w, h, gray);
  }

  // ---- internals ----

  private command(b: number): void {
    this.cmd.push(b);
    const need = ARGS[this.cmd[0]] ?? 0;
    if (this.cmd.length <= need) return;
    const [c, ...a] = this.cmd;
    this.cmd = [];
    this.execute(c, a);
  }

  private execute(c: number, a: number[]): void {
    const s = this.s;
    if (c <= 0x0f) s.column = (s.column & 0xf0) | c;
    else if (c <= 0x1f) s.column = ((c & 0x07) << 4) | (s.column & 0x0f);
    else if (c === 0x20) s.addressing = (["horizontal", "vertical", "page", "page"] as const)[a[0] & 3];
    else if (c === 0x21) {
      s.columnWindow = [a[0] & 0x7f, a[1] & 0x7f];
      s.column = s.columnWindow[0];
    } else if (c === 0x22) {
      s.pageWindow = [a[0] & 0x07, a[1] & 0x07];
      s.page = s.pageWindow[0];
    } else if (c === 0x26 || c === 0x27 || c === 0x29 || c === 0x2a || c === 0xa3) s.scrolling = s.scrolling; // setup only
    else if (c === 0x2e) s.scrolling = false;
    else if (c === 0x2f) s.scrolling = true;
    else if (c >= 0x40 && c <= 0x7f) s.startLine = c & 0x3f;
    else if (c === 0x81) s.contrast = a[0];
    else if (c === 0x8d) s.chargePump = (a[0] & 0x04) !== 0;
    else if (c === 0xa0 || c === 0xa1) s.segmentRemap = c === 0xa1;
    else if (c === 0xa4 || c === 0xa5) s.entireOn = c === 0xa5;
    else if (c === 0xa6 || c === 0xa7) s.inverted = c === 0xa7;
    else if (c === 0xa8) s.multiplex = Math.max(15, a[0] & 0x3f); // values below 15 are invalid per datasheet
    else if (c === 0xae || c === 0xaf) s.displayOn = c === 0xaf;
    else if (c >= 0xb0 && c <= 0xb7) s.page = c & 0x07;
    else if (c === 0xc0 || c === 0xc8) s.comScanReversed = c === 0xc8;
    else if (c === 0xd3) s.displayOffset = a[0] & 0x3f;
    else if (c === 0xd5) s.clockDiv = a[0];
    else if (c === 0xd9) s.precharge = a[0];
    else if (c === 0xda) s.comPins = a[0];
    else if (c === 0xdb) s.vcomh = a[0];
    // anything else (E3 NOP, unknown codes) does nothing, as on the chip
  }

  private data(b: number): void {
    const s = this.s;
    this.ram[s.page * COLUMNS + s.column] = b;
    const [c0, c1] = s.columnWindow;
    const [p0, p1] = s.pageWindow;
    if (s.addressing === "page") {
      s.column = s.column >= COLUMNS - 1 ? 0 : s.column + 1;
    } else if (s.addressing === "horizontal") {
      if (s.column >= c1) {
        s.column = c0;
        s.page = s.page >= p1 ? p0 : s.page + 1;
      } else s.column++;
    } else {
      if (s.page >= p1) {
        s.page = p0;
        s.column = s.column >= c1 ? c0 : s.column + 1;
      } else s.page++;
    }
  }
}

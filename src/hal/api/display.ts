// Displays: character LCDs and pixel panels. Renderers (src/ui) draw through these.

export interface TextDisplay {
  readonly kind: "text";
  readonly cols: number;
  readonly rows: number;
  /** Writes `text` at (row, col), clipped at the row's end. Characters 0x00-0x07 are custom glyphs. */
  write(row: number, col: number, text: string): Promise<void>;
  /** Replaces the whole screen; drivers send only what changed. */
  show(lines: readonly string[]): Promise<void>;
  clear(): Promise<void>;
  setBacklight(on: boolean): Promise<void>;
  /** Defines glyph `slot` (0-7) from 8 rows of 5 bits each. */
  defineGlyph(slot: number, rows: readonly number[]): Promise<void>;
  close(): Promise<void>;
}

/** A monochrome frame: one byte per pixel, row-major, non-zero = lit. */
export interface MonoFrame {
  width: number;
  height: number;
  pixels: Uint8Array;
}

export interface PixelDisplay {
  readonly kind: "pixel";
  readonly width: number;
  readonly height: number;
  /** Shows `frame`; drivers send only the parts that changed. Resolves once the bytes are on the bus. */
  present(frame: MonoFrame): Promise<void>;
  setPower(on: boolean): Promise<void>;
  setContrast(level: number): Promise<void>;
  close(): Promise<void>;
}

export type Display = TextDisplay | PixelDisplay;

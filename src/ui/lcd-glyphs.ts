// 5x8 custom glyphs for the HD44780's eight CGRAM slots, one per status icon; slot n is character n on the glass.
import { STATUS_ICONS, type StatusIcon } from "./screen.js";

/** Rows top to bottom, 5 bits each (bit 4 = leftmost pixel). */
const ART: Record<StatusIcon, readonly number[]> = {
  registered: [0b00000, 0b00001, 0b00011, 0b10110, 0b11100, 0b01000, 0b00000, 0b00000], // a tick
  "no-service": [0b00000, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b00000, 0b00000], // a cross
  dnd: [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b01110, 0b00000], // a barred circle
  message: [0b00000, 0b11111, 0b11011, 0b10101, 0b10001, 0b11111, 0b00000, 0b00000], // an envelope
  lock: [0b01110, 0b10001, 0b10001, 0b11111, 0b11011, 0b11011, 0b11111, 0b00000], // a padlock
  forward: [0b00000, 0b00100, 0b00010, 0b11111, 0b00010, 0b00100, 0b00000, 0b00000], // an arrow
  mute: [0b00010, 0b00110, 0b11110, 0b11110, 0b11110, 0b00110, 0b00010, 0b00000], // a speaker
  private: [0b00100, 0b01110, 0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00000], // a key-like mark
};

export function glyphSlot(icon: StatusIcon): number {
  return STATUS_ICONS.indexOf(icon);
}

/** The character that shows `icon` once glyphs are loaded. */
export function glyphChar(icon: StatusIcon): string {
  return String.fromCharCode(glyphSlot(icon));
}

/** The 5x8 bitmap of an icon (pixel renderers draw the same art, scaled). */
export function glyphRows(icon: StatusIcon): readonly number[] {
  return ART[icon];
}

/** All eight glyph definitions, for TextDisplay.defineGlyph at start. */
export function lcdGlyphs(): Array<{ slot: number; rows: readonly number[] }> {
  return STATUS_ICONS.map((icon, slot) => ({ slot, rows: ART[icon] }));
}

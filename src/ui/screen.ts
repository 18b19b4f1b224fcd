// What a screen says, independent of the display that shows it: status line, body lines, softkey labels.

/** Status icons; on character LCDs each is a custom glyph (see glyphs.ts), on pixel displays a drawn symbol. */
export type StatusIcon = "registered" | "no-service" | "dnd" | "message" | "lock" | "forward" | "mute" | "private";

export const STATUS_ICONS: readonly StatusIcon[] = ["registered", "no-service", "dnd", "message", "lock", "forward", "mute", "private"];

export interface Screen {
  /** Left of the status line: the line name, extension or a screen title. */
  title: string;
  /** Right of the status line, e.g. "14:05" or a call timer "01:23". */
  clock?: string;
  icons?: readonly StatusIcon[];
  /** Body lines, most important first; lines longer than the display scroll. */
  body: readonly string[];
  /** Up to four softkey labels, left to right ("" for none). */
  softkeys?: readonly string[];
  /** Index of a highlighted body line (menus), shown with a marker. */
  selected?: number;
}

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
  /**
   * A short message over a menu ("Removed Dave", the provisioning service's refusal) until the next key. It is not a
   * body line (the body scrolls around the cursor and would drop it): each display gives it a place of its own that
   * hides none of the menu's lines in view, the title's on a character LCD, a line above the softkeys on a pixel panel.
   */
  notice?: string;
  /** The renderers' clock (tMs) when the notice came: a long notice scrolls from its start from then. Without it, a
   * long notice scrolls on the clock like any other line. */
  noticeSince?: number;
}

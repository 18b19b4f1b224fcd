// Lays a Screen out on a character grid (16x2, 20x4, ...): status line, body, softkeys; long lines scroll.
import type { Screen } from "./screen.js";
import { glyphChar } from "./lcd-glyphs.js";

/** Long lines pause this long at the start, then move one character per step. */
export const SCROLL_PAUSE_MS = 1200;
export const SCROLL_STEP_MS = 350;

/** The visible window of `text` at time tMs: whole when it fits, else a marquee that pauses at the start. */
export function scrollWindow(text: string, width: number, tMs: number): string {
  if (text.length <= width) return text.padEnd(width);
  const loop = text + "   ";
  const steps = loop.length;
  const cycle = SCROLL_PAUSE_MS + steps * SCROLL_STEP_MS;
  const t = tMs % cycle;
  const offset = t < SCROLL_PAUSE_MS ? 0 : Math.floor((t - SCROLL_PAUSE_MS) / SCROLL_STEP_MS);
  return (loop + loop).slice(offset, offset + width);
}

/** The time a screen's notice has been up at tMs (its marquee starts from its start when it comes), else tMs. */
export function noticeTime(s: Screen, tMs: number): number {
  return s.noticeSince === undefined ? tMs : Math.max(0, tMs - s.noticeSince);
}

function statusLine(s: Screen, cols: number, tMs: number): string {
  const icons = (s.icons ?? []).map(glyphChar).join("");
  const right = s.clock ?? "";
  const room = cols - icons.length - (right ? right.length + 1 : 0);
  // a notice takes the title's place (the icons and clock stay) until it goes: every body row keeps its line
  const title = room <= 0 ? "" : s.notice ? scrollWindow(s.notice, room, noticeTime(s, tMs)) : scrollWindow(s.title, room, tMs);
  return (icons + title + (right ? " " + right : "")).slice(0, cols).padEnd(cols);
}

function softkeyLine(labels: readonly string[], cols: number): string {
  const n = 4;
  const w = Math.floor(cols / n);
  return labels
    .slice(0, n)
    .concat(Array(n).fill(""))
    .slice(0, n)
    .map((l, i) => (i === n - 1 ? l.slice(0, cols - w * (n - 1)).padEnd(cols - w * (n - 1)) : l.slice(0, w - 1).padEnd(w)))
    .join("");
}

/**
 * Rows for a cols x rows character display. Row 0 is the status line; a notice (over a menu) shows there in the
 * title's place. With 3 rows or more and softkeys, the last row is the softkey bar. The body fills the rest; a
 * selected line is marked with ">" and kept in view.
 */
export function renderText(s: Screen, cols: number, rows: number, tMs = 0): string[] {
  // Two rows cannot hold a status line and two lines of body: when the body has a second line that matters (who is
  // calling, "Stay on the line"), the body takes both rows; menus, notices and one-line bodies keep the status line.
  if (rows === 2 && s.selected === undefined && !s.notice && s.body[1]) return [scrollWindow(s.body[0] ?? "", cols, tMs), scrollWindow(s.body[1], cols, tMs)].map((r) => r.slice(0, cols).padEnd(cols));
  const out = [statusLine(s, cols, tMs)];
  const keys = s.softkeys?.some((k) => k) && rows >= 3 ? s.softkeys : undefined;
  const bodyRows = rows - 1 - (keys ? 1 : 0);
  const marked = s.selected !== undefined;
  let first = 0;
  if (marked && s.selected! >= bodyRows) first = s.selected! - bodyRows + 1;
  for (let r = 0; r < bodyRows; r++) {
    const i = first + r;
    const line = s.body[i] ?? "";
    if (marked) out.push((i === s.selected ? ">" : " ") + scrollWindow(line, cols - 1, i === s.selected ? tMs : 0));
    else out.push(scrollWindow(line, cols, tMs));
  }
  if (keys) out.push(softkeyLine(keys, cols));
  return out.map((r) => r.slice(0, cols).padEnd(cols));
}

// Draws a Screen on a pixel display with @napi-rs/canvas and the font shipped in assets/fonts (without a registered
// font, canvas silently draws no text). Mono panels (SSD1306) get a thresholded MonoFrame; colour panels get RGBA.
import { fileURLToPath } from "node:url";
import type * as CanvasNs from "@napi-rs/canvas";
import type { MonoFrame } from "../hal/api/display.js";
import type { Screen } from "./screen.js";
import { glyphRows } from "./lcd-glyphs.js";
import { noticeTime, scrollWindow } from "./text-renderer.js";

const FONT_FILE = fileURLToPath(new URL("../../assets/fonts/DejaVuSansMono.ttf", import.meta.url));
export const FONT_FAMILY = "PhoneMono";

type CanvasModule = typeof CanvasNs;
type Ctx = ReturnType<ReturnType<CanvasModule["createCanvas"]>["getContext"]>;

export interface PixelRender {
  width: number;
  height: number;
  /** Lit/dark per pixel (mono panels), row-major. */
  mono: MonoFrame;
  /** The picture as a PNG, for snapshots and the simulator's face. */
  png: Buffer;
}

export interface PixelRenderer {
  readonly width: number;
  readonly height: number;
  render(s: Screen, tMs?: number): PixelRender;
}

interface Palette {
  bg: string;
  fg: string;
  barBg: string;
  barFg: string;
}

const MONO: Palette = { bg: "#000000", fg: "#ffffff", barBg: "#ffffff", barFg: "#000000" };
const COLOUR: Palette = { bg: "#10141c", fg: "#e8edf5", barBg: "#2f6fd6", barFg: "#ffffff" };

/** Loads canvas and registers the shipped font; fails with the font path if it cannot be registered. */
export async function createPixelRenderer(width: number, height: number, opts: { colour?: boolean } = {}): Promise<PixelRenderer> {
  const canvasMod: CanvasModule = await import("@napi-rs/canvas");
  if (!canvasMod.GlobalFonts.has(FONT_FAMILY) && !canvasMod.GlobalFonts.registerFromPath(FONT_FILE, FONT_FAMILY))
    throw new Error(`cannot register the UI font ${FONT_FILE}`);
  const pal = opts.colour ? COLOUR : MONO;
  // Text sizes from the panel height: 128x64 -> 10 px lines (5 lines), 320x240 -> 24 px lines.
  const line = Math.max(8, Math.floor(height / (height <= 64 ? 6 : 10)));
  const font = Math.round(line * 0.9);
  const canvas = canvasMod.createCanvas(width, height);
  const ctx = canvas.getContext("2d");
  const charW = (() => {
    ctx.font = `${font}px ${FONT_FAMILY}`;
    return ctx.measureText("M").width || font * 0.6;
  })();
  const cols = Math.max(1, Math.floor(width / charW));

  const icon = (c: Ctx, name: Parameters<typeof glyphRows>[0], x: number, y: number, scale: number): number => {
    glyphRows(name).forEach((bits, r) => {
      for (let b = 0; b < 5; b++) if (bits & (1 << (4 - b))) c.fillRect(x + b * scale, y + r * scale, scale, scale);
    });
    return 6 * scale;
  };

  return {
    width,
    height,
    render(s: Screen, tMs = 0): PixelRender {
      ctx.fillStyle = pal.bg;
      ctx.fillRect(0, 0, width, height);
      ctx.font = `${font}px ${FONT_FAMILY}`;
      ctx.textBaseline = "top";
      const keys = s.softkeys?.some((k) => k) ? s.softkeys : undefined;
      const bodyTop = line + 2;
      const rule = Math.max(1, Math.floor(line / 12));
      // a notice (over a menu) gets a line of its own above the softkeys, under a rule; the body's rows end above it
      const noticeTop = (keys ? height - line : height) - line - rule;
      const onItsLine = !!s.notice && Math.floor((noticeTop - bodyTop) / line) >= 1;
      // status bar (a panel too small for the notice's line shows it in the title's place, as a character LCD does)
      ctx.fillStyle = pal.barBg;
      ctx.fillRect(0, 0, width, line + 1);
      ctx.fillStyle = pal.barFg;
      let x = 1;
      const scale = Math.max(1, Math.floor(line / 9));
      for (const i of s.icons ?? []) x += icon(ctx, i, x, 1, scale);
      const clock = s.clock ?? "";
      const clockW = clock ? ctx.measureText(clock).width + 2 : 0;
      const titleCols = Math.max(0, Math.floor((width - x - clockW) / charW));
      const title = s.notice && !onItsLine ? scrollWindow(s.notice, titleCols, noticeTime(s, tMs)) : scrollWindow(s.title, titleCols, tMs);
      ctx.fillText(title.trimEnd(), x, 1);
      if (clock) ctx.fillText(clock, width - clockW + 1, 1);
      // body
      const bodyRows = onItsLine ? Math.floor((noticeTop - bodyTop) / line) : Math.floor((height - bodyTop - (keys ? line + 1 : 0)) / line);
      let first = 0;
      if (s.selected !== undefined && s.selected >= bodyRows) first = s.selected - bodyRows + 1;
      for (let r = 0; r < bodyRows; r++) {
        const i = first + r;
        const text = s.body[i];
        if (text === undefined) break;
        const y = bodyTop + r * line;
        if (i === s.selected) {
          ctx.fillStyle = pal.fg;
          ctx.fillRect(0, y, width, line);
          ctx.fillStyle = pal.bg;
        } else ctx.fillStyle = pal.fg;
        ctx.fillText(scrollWindow(text, cols, i === s.selected || s.selected === undefined ? tMs : 0).trimEnd(), 1, y);
      }
      if (onItsLine) {
        ctx.fillStyle = pal.barBg;
        ctx.fillRect(0, noticeTop, width, rule);
        ctx.fillStyle = pal.fg;
        ctx.fillText(scrollWindow(s.notice!, cols, noticeTime(s, tMs)).trimEnd(), 1, noticeTop + rule);
      }
      // softkeys
      if (keys) {
        const y = height - line;
        const w = width / 4;
        keys.slice(0, 4).forEach((k, i) => {
          if (!k) return;
          ctx.fillStyle = pal.barBg;
          ctx.fillRect(Math.round(i * w) + 1, y, Math.round(w) - 2, line);
          ctx.fillStyle = pal.barFg;
          ctx.fillText(k.slice(0, Math.max(1, Math.floor((w - 2) / charW))), Math.round(i * w) + 2, y);
        });
      }
      const rgba = ctx.getImageData(0, 0, width, height).data;
      const pixels = new Uint8Array(width * height);
      for (let p = 0; p < pixels.length; p++) {
        const lum = 0.299 * rgba[p * 4] + 0.587 * rgba[p * 4 + 1] + 0.114 * rgba[p * 4 + 2];
        pixels[p] = lum >= 128 ? 1 : 0;
      }
      return { width, height, mono: { width, height, pixels }, png: canvas.toBuffer("image/png") };
    },
  };
}

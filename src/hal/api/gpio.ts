// GPIO lines as logical levels: polarity (activeLow) is applied by the driver, never by callers.
import type { Unsubscribe } from "./events.js";

/** Logical level: 1 = asserted (pressed, off-hook, lit), whatever the wire polarity. */
export type Level = 0 | 1;
export type Edge = "none" | "rising" | "falling" | "both";
export type Bias = "as-is" | "pull-up" | "pull-down" | "disable";

/** How a board names one line: the offset on its chip (BCM number on a Pi), not a sysfs number. */
export interface GpioLineSpec {
  line: number;
  direction: "in" | "out";
  edge?: Edge;
  activeLow?: boolean;
  bias?: Bias;
  /** Initial logical level for outputs. */
  initial?: Level;
  /** Who uses the line, for error messages ("hook", "row 2"). */
  consumer?: string;
}

export interface GpioLine {
  readonly spec: Readonly<GpioLineSpec>;
  read(): Level;
  write(level: Level): void;
  /** Called on every edge the spec asks for, with the new logical level and the clock time in ms. */
  watch(cb: (level: Level, tMs: number) => void): Unsubscribe;
  /** Switches an input/output line's direction (matrix scans need it on some wirings). */
  setDirection(direction: "in" | "out", level?: Level): void;
  close(): void;
}

/** One GPIO controller, found by its label (e.g. "pinctrl-bcm2711"), never by its number. */
export interface GpioChip {
  readonly label: string;
  readonly lines: number;
  request(spec: GpioLineSpec): GpioLine;
  close(): void;
}

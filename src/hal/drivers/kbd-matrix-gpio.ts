// Keypad matrix on plain GPIO lines: the KbdMatrixEngine's three-function backend, plus long press.
import type { Clock } from "../../base/clock.js";
import { ErrorCodes, PhoneError } from "../../base/errors.js";
import type { BoardLine, BoardTiming } from "../api/board.js";
import type { Unsubscribe } from "../api/events.js";
import type { GpioChip, GpioLine } from "../api/gpio.js";
import type { KeyId, Keypad } from "../api/keypad.js";
import { KbdMatrixEngine, type ColumnDrive, type KbdMatrixBackend } from "../core/kbd-matrix-engine.js";
import { LongPressKeypad } from "../core/long-press.js";

/**
 * Rows are inputs with both edges (and the board's pull, usually up with activeLow: true); columns are
 * driven active ONE AT A TIME and released to high impedance otherwise, never driven inactive. Two keys in
 * one row would otherwise join a column driven active to one driven inactive: two outputs fighting through
 * the switches. Linux's matrix_keypad does the same unless told "drive-inactive-cols".
 *
 * keymap is [row][col]; "" marks a crossing with no key.
 */
export function createGpioMatrixKeypad(
  chip: GpioChip,
  rows: readonly BoardLine[],
  cols: readonly BoardLine[],
  keymap: readonly (readonly (KeyId | "")[])[],
  clock: Clock,
  timing: BoardTiming,
): Keypad {
  if (keymap.length !== rows.length || keymap.some((r) => r.length > cols.length)) {
    throw new PhoneError(
      ErrorCodes.BOARD_INVALID,
      `keypad keymap is ${keymap.length} rows by up to ${Math.max(0, ...keymap.map((r) => r.length))} columns, ` +
        `but the board wires ${rows.length} row lines and ${cols.length} column lines`,
      { rows: rows.length, cols: cols.length },
    );
  }
  const rowLines: GpioLine[] = [];
  const colLines: GpioLine[] = [];
  const closeAll = (): void => {
    for (const l of [...rowLines, ...colLines]) l.close();
  };
  try {
    rows.forEach((r, i) =>
      rowLines.push(chip.request({ line: r.line, direction: "in", edge: "both", activeLow: r.activeLow, bias: r.bias, consumer: `keypad row ${i}` })),
    );
    cols.forEach((c, i) =>
      colLines.push(chip.request({ line: c.line, direction: "in", activeLow: c.activeLow, bias: c.bias, consumer: `keypad column ${i}` })),
    );
  } catch (e) {
    closeAll();
    throw e;
  }

  const driven = new Array<boolean>(colLines.length).fill(false);
  let watching: Unsubscribe[] = [];
  const backend: KbdMatrixBackend = {
    driveColumn(col: ColumnDrive): void {
      const want = colLines.map((_, i) => col === "all" || col === i);
      // Break before make: release first, so two columns are never active at once in a scan step.
      colLines.forEach((l, i) => {
        if (driven[i] && !want[i]) l.setDirection("in");
      });
      colLines.forEach((l, i) => {
        if (!driven[i] && want[i]) l.setDirection("out", 1);
      });
      want.forEach((w, i) => (driven[i] = w));
    },
    readRows(): number {
      let mask = 0;
      rowLines.forEach((l, i) => {
        if (l.read()) mask |= 1 << i;
      });
      return mask;
    },
    setDetectMode(on: boolean): void {
      // Unwatched while scanning: every column step moves the rows, and each edge would wake us for nothing.
      for (const u of watching) u();
      watching = on ? rowLines.map((l) => l.watch(() => engine.onRowActivity())) : [];
    },
  };
  const engine = new KbdMatrixEngine(backend, keymap, clock, timing, async () => {
    for (const u of watching) u();
    watching = [];
    closeAll();
  });
  try {
    engine.start();
  } catch (e) {
    closeAll();
    throw e;
  }
  return new LongPressKeypad(engine, clock, timing.longPressMs);
}

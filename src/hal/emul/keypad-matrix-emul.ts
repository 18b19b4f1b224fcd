// A key switch matrix without diodes, wired to an EmulatedGpioChip: levels spread along every path of closed keys.
import { ErrorCodes, PhoneError } from "../../base/errors.js";
import type { Unsubscribe } from "../api/events.js";
import type { BoardLine } from "../api/board.js";
import type { Level } from "../api/gpio.js";
import type { EmulatedGpioChip } from "./gpio-emul.js";

/** Two pins driven to different levels joined through closed keys, found while settling the wires. */
export interface MatrixShort {
  lines: number[];
  keys: [number, number][];
}

/**
 * The physics: each row and column is a wire (a node); each closed key joins its row and column. Nodes
 * joined through any chain of closed keys are one conductor. A conductor takes the level of the pins the
 * controller drives on it; with none, the level of its bias resistors; with neither, it floats.
 *
 * Nothing here knows about ghost keys: when keys (0,0), (0,1) and (1,0) are closed and column 1 is driven,
 * the path col1 - (0,1) - row0 - (0,0) - col0 - (1,0) - row1 pulls row 1 as if (1,1) were pressed, exactly
 * as copper does. Two driven pins at different levels on one conductor are a short; it is recorded in
 * shorts(), and the wire reads low (the stronger sink usually wins; on real hardware it is undefined).
 */
export class KeypadMatrixEmul {
  private readonly closedKeys = new Set<string>();
  private readonly unsubs: Unsubscribe[];
  private readonly lines: number[];
  private readonly found: MatrixShort[] = [];
  private settling = false;
  private again = false;

  constructor(
    private readonly chip: EmulatedGpioChip,
    private readonly rows: readonly BoardLine[],
    private readonly cols: readonly BoardLine[],
  ) {
    this.lines = [...rows.map((r) => r.line), ...cols.map((c) => c.line)];
    this.unsubs = this.lines.map((l) => chip.onDrive(l, () => this.settle()));
    this.settle();
  }

  // ---- backend face ----

  press(row: number, col: number): void {
    this.checkKey(row, col);
    this.closedKeys.add(`${row},${col}`);
    this.settle();
  }

  release(row: number, col: number): void {
    this.checkKey(row, col);
    this.closedKeys.delete(`${row},${col}`);
    this.settle();
  }

  /** Keys closed now, as [row, col], in row-major order. */
  pressed(): [number, number][] {
    return [...this.closedKeys]
      .map((k) => k.split(",").map(Number) as [number, number])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  }

  /** Every short seen so far (two driven pins fighting through keys). A correct driver leaves this empty. */
  shorts(): readonly MatrixShort[] {
    return this.found;
  }

  close(): void {
    for (const u of this.unsubs) u();
    this.closedKeys.clear();
  }

  // ---- physics ----

  /** Re-settles the wires; re-entrant calls (a driver reacting to an edge by driving a column) run after this one. */
  private settle(): void {
    if (this.settling) {
      this.again = true;
      return;
    }
    this.settling = true;
    try {
      do {
        this.again = false;
        this.propagate();
      } while (this.again);
    } finally {
      this.settling = false;
    }
  }

  private propagate(): void {
    const nRows = this.rows.length;
    const parent = this.lines.map((_, i) => i);
    const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
    const keys = this.pressed();
    for (const [r, c] of keys) parent[find(r)] = find(nRows + c);

    // Strong drivers (controller outputs) and weak ones (bias resistors) per conductor.
    const strong = new Map<number, Set<Level>>();
    const weak = new Map<number, Set<Level>>();
    this.lines.forEach((line, i) => {
      const root = find(i);
      const d = this.chip.driving(line);
      const p = this.chip.pull(line);
      if (d !== null) (strong.get(root) ?? strong.set(root, new Set()).get(root)!).add(d);
      if (p !== null) (weak.get(root) ?? weak.set(root, new Set()).get(root)!).add(p);
    });

    const levels = new Map<number, Level | null>();
    for (const root of new Set(this.lines.map((_, i) => find(i)))) {
      const s = strong.get(root);
      const w = weak.get(root);
      if (s && s.size > 1) {
        const members = this.lines.filter((_, i) => find(i) === root);
        this.found.push({
          lines: members.filter((l) => this.chip.driving(l) !== null),
          keys: keys.filter(([r]) => find(r) === root),
        });
        levels.set(root, 0);
      } else if (s) levels.set(root, [...s][0]);
      else if (w && w.size === 1) levels.set(root, [...w][0]);
      else levels.set(root, null); // floating, or two pulls fighting: nothing definite
    }

    // A pin the controller drives is its own source; every other pin sees its conductor's level.
    this.lines.forEach((line, i) => {
      if (this.chip.driving(line) !== null) return;
      const level = levels.get(find(i)) ?? null;
      if (level === null) this.chip.releaseWire(line);
      else this.chip.setWire(line, level);
    });
  }

  private checkKey(row: number, col: number): void {
    if (!Number.isInteger(row) || !Number.isInteger(col) || row < 0 || col < 0 || row >= this.rows.length || col >= this.cols.length) {
      throw new PhoneError(
        ErrorCodes.BAD_REQUEST,
        `no key at row ${row}, column ${col}: the matrix is ${this.rows.length} rows by ${this.cols.length} columns`,
        { row, col },
      );
    }
  }
}

// Keypad matrix scanning written once, after Zephyr's input_kbd_matrix: wait for a row edge, scan while keys are down.
import type { Clock, Timer } from "../../base/clock.js";
import { ErrorCodes, PhoneError } from "../../base/errors.js";
import type { KeyId, Keypad } from "../api/keypad.js";
import { KeyStream } from "./long-press.js";

/** A column to drive active, or all of them (detect mode), or none (every column released). */
export type ColumnDrive = number | "all" | "none";

/** The three things a matrix wiring must do (Zephyr: input_kbd_matrix_api drive_column/read_row/set_detect_mode). */
export interface KbdMatrixBackend {
  driveColumn(col: ColumnDrive): void;
  /** Row levels as a bitmask: bit r set = row r active (joined to a driven column through a closed key). */
  readRows(): number;
  /** On: call the engine's onRowActivity() on any row edge. Off: stay quiet (scanning makes rows move). */
  setDetectMode(on: boolean): void;
}

export interface KbdMatrixTiming {
  /** A key's new state must be seen in every scan across this long before it counts. */
  debounceMs: number;
  /** Scan period while any key is down, bouncing or ghosting. */
  scanIntervalMs: number;
}

export type KbdMatrixMode = "stopped" | "detect" | "scan" | "closed";

// Rows are bits of a JS number under 32-bit bitwise operators; bit 31 would make the mask negative.
const MAX_ROWS = 31;

/**
 * States: stopped -> (start) detect -> (row edge) scan -> (all released and settled) detect; any -> closed.
 *
 * In detect mode every column is driven and nothing runs: no timer, no polling. A row edge starts scans
 * every scanIntervalMs. A key's change counts once it has been seen in consecutive scans covering
 * debounceMs (Zephyr debounces per key by time the same way). A scan in which two columns share two or
 * more rows is a ghost pattern (three keys at the corners of a rectangle make the fourth read pressed on a
 * matrix without diodes): the whole scan is thrown away, as Zephyr's input_kbd_matrix_ghosting() and
 * Linux's cros_ec_keyb_has_ghosting() do, and pending changes start their debounce again.
 */
export class KbdMatrixEngine extends KeyStream implements Keypad {
  readonly keys: readonly KeyId[];
  readonly rows: number;
  readonly cols: number;
  private readonly rowMask: number;
  private state: KbdMatrixMode = "stopped";
  private timer: Timer | undefined;
  /** Debounced state: per column, a bitmask of rows whose key is down. */
  private readonly stable: number[];
  /** [col][row]: clock time a raw state differing from `stable` was first seen, in an unbroken run of scans. */
  private readonly since: (number | undefined)[][];

  constructor(
    private readonly backend: KbdMatrixBackend,
    private readonly keymap: readonly (readonly (KeyId | "")[])[],
    private readonly clock: Clock,
    private readonly timing: KbdMatrixTiming,
    private readonly onClose: () => Promise<void> = async () => undefined,
  ) {
    super();
    this.rows = keymap.length;
    this.cols = Math.max(0, ...keymap.map((r) => r.length));
    if (this.rows === 0 || this.cols === 0) throw new PhoneError(ErrorCodes.BOARD_INVALID, "keypad matrix keymap is empty", {});
    if (this.rows > MAX_ROWS) {
      throw new PhoneError(ErrorCodes.BOARD_INVALID, `keypad matrix has ${this.rows} rows; at most ${MAX_ROWS} are supported`, { rows: this.rows });
    }
    if (!(timing.scanIntervalMs > 0)) {
      throw new PhoneError(ErrorCodes.BOARD_INVALID, `keypad scanIntervalMs must be above 0 (got ${timing.scanIntervalMs})`, {});
    }
    const keys = keymap.flat().filter((k): k is KeyId => k !== "");
    const dup = keys.find((k, i) => keys.indexOf(k) !== i);
    if (dup !== undefined) throw new PhoneError(ErrorCodes.BOARD_INVALID, `key '${dup}' appears twice in the keypad matrix keymap`, { key: dup });
    this.keys = keys;
    this.rowMask = (1 << this.rows) - 1;
    this.stable = new Array<number>(this.cols).fill(0);
    this.since = Array.from({ length: this.cols }, () => new Array<number | undefined>(this.rows).fill(undefined));
  }

  mode(): KbdMatrixMode {
    return this.state;
  }

  /** Arms detect mode. Call once, after the backend is ready to deliver row edges. */
  start(): void {
    if (this.state !== "stopped") return;
    this.enterDetect();
  }

  /** The backend's row-edge hook. Ignored unless in detect mode: while scanning the rows move by design. */
  onRowActivity(): void {
    if (this.state !== "detect") return;
    this.state = "scan";
    this.backend.setDetectMode(false);
    // Scan from a timer, not inside the edge callback: the backend may be halfway through delivering edges.
    this.timer = this.clock.setTimeout(() => this.scan(), 0);
  }

  async close(): Promise<void> {
    if (this.state === "closed") return;
    this.state = "closed";
    this.timer?.cancel();
    this.timer = undefined;
    this.backend.setDetectMode(false);
    this.backend.driveColumn("none");
    this.releaseAll(this.clock.now());
    this.clear();
    await this.onClose();
  }

  private enterDetect(): void {
    this.state = "detect";
    this.backend.driveColumn("all");
    this.backend.setDetectMode(true);
    // A key closed while detect mode was being armed sent its edge to nobody: look once (Zephyr does too).
    if (this.backend.readRows() & this.rowMask) this.onRowActivity();
  }

  private scan(): void {
    this.timer = undefined;
    if (this.state !== "scan") return;
    const now = this.clock.now();
    const raw = new Array<number>(this.cols);
    let any = 0;
    for (let c = 0; c < this.cols; c++) {
      this.backend.driveColumn(c);
      raw[c] = this.backend.readRows() & this.rowMask;
      any |= raw[c];
    }
    this.backend.driveColumn("none");
    if (ghosting(raw)) {
      for (const col of this.since) col.fill(undefined);
    } else {
      this.update(raw, now);
    }
    if (this.state !== "scan") return; // a listener closed us
    const pending = this.since.some((col) => col.some((t) => t !== undefined));
    if (any === 0 && !pending && this.stable.every((s) => s === 0)) {
      this.enterDetect();
      return;
    }
    this.timer = this.clock.setTimeout(() => this.scan(), this.timing.scanIntervalMs);
  }

  private update(raw: readonly number[], now: number): void {
    const accepted: { c: number; r: number; down: boolean; t: number }[] = [];
    for (let c = 0; c < this.cols; c++) {
      for (let r = 0; r < this.rows; r++) {
        const bit = 1 << r;
        const down = (raw[c] & bit) !== 0;
        if (down === ((this.stable[c] & bit) !== 0)) {
          this.since[c][r] = undefined; // bounced back: the run is broken
          continue;
        }
        const t0 = this.since[c][r] ?? now;
        this.since[c][r] = t0;
        if (now - t0 >= this.timing.debounceMs) accepted.push({ c, r, down, t: t0 });
      }
    }
    // Releases before presses, so a roll from one key to the next never shows both down in one event batch.
    accepted.sort((a, b) => Number(a.down) - Number(b.down));
    for (const a of accepted) {
      this.stable[a.c] ^= 1 << a.r;
      this.since[a.c][a.r] = undefined;
      const key = this.keymap[a.r]?.[a.c];
      // The event carries the time the change was first seen: the key moved then, not when debounce ended.
      if (key) this.emit(key, a.down, a.t);
    }
  }
}

/** True when two columns share two or more active rows: the corners of a rectangle, one of them a ghost. */
export function ghosting(colRows: readonly number[]): boolean {
  for (let c = 0; c < colRows.length; c++) {
    if (!colRows[c]) continue;
    for (let d = c + 1; d < colRows.length; d++) {
      const common = colRows[c] & colRows[d];
      if (common & (common - 1)) return true; // more than one bit set
    }
  }
  return false;
}

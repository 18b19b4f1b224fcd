// fp-slip-v1 front panel's device faces: keypad, LEDs and character LCD, each keeping a shadow of what the panel shows.
// They speak messages through a PanelPort; the link (fp-slip-v1-link.ts) and FrontPanel own the wire and the timing.
import { PhoneError, ErrorCodes } from "../../base/errors.js";
import type { BoardTiming } from "../api/board.js";
import type { TextDisplay } from "../api/display.js";
import type { Keypad, KeyId } from "../api/keypad.js";
import { LED_MODES, type Leds, type LedMode } from "../api/leds.js";
import { KeyStream } from "../core/long-press.js";
import { KEY_CODES, LedColour, latin1Bytes, lcdChars, type Message } from "../protocol/fp-slip-v1-codec.js";

/** The panel's keys as a raw key stream: FrontPanel feeds it KEY frames and heartbeat corrections. */
export class FpKeypad extends KeyStream implements Keypad {
  readonly keys: readonly KeyId[] = Object.keys(KEY_CODES);
  async close(): Promise<void> {
    this.clear();
  }
}

/** What a face needs from the panel: send a command (resolves on its ACK), report an error nobody awaits. */
export interface PanelPort {
  send(m: Message): Promise<void>;
  report(e: Error): void;
}

/** LEDs by name; the MCU blinks them itself, with the half-periods from the board's timing. */
export class FpLeds implements Leds {
  readonly ids: readonly string[];
  private readonly modes = new Map<string, LedMode>();

  constructor(
    private readonly port: PanelPort,
    private readonly map: Record<string, number>,
    private readonly timing: BoardTiming,
  ) {
    this.ids = Object.keys(map);
    for (const id of this.ids) this.modes.set(id, "off"); // QUERY RESET turned them all off
  }

  set(id: string, mode: LedMode): void {
    if (!this.modes.has(id)) throw new PhoneError(ErrorCodes.UNKNOWN_LED, `no LED named '${id}' on this front panel`, { id });
    if (!LED_MODES.includes(mode)) throw new PhoneError(ErrorCodes.BAD_REQUEST, `'${mode}' is not an LED mode`, { mode });
    if (this.modes.get(id) === mode) return;
    this.modes.set(id, mode);
    this.push(id);
  }

  get(id: string): LedMode {
    const m = this.modes.get(id);
    if (!m) throw new PhoneError(ErrorCodes.UNKNOWN_LED, `no LED named '${id}' on this front panel`, { id });
    return m;
  }

  snapshot(): Record<string, LedMode> {
    return Object.fromEntries(this.modes);
  }

  /** After a panel reset every LED is off: send the ones that should not be. */
  replay(): void {
    for (const [id, mode] of this.modes) if (mode !== "off") this.push(id);
  }

  async close(): Promise<void> {
    // The panel's link is closed by FrontPanel.close(); LEDs keep their last state until then.
  }

  private push(id: string): void {
    const mode = this.modes.get(id) ?? "off";
    const t = this.timing;
    const [onMs, offMs] = mode === "slow" ? [t.ledSlowMs, t.ledSlowMs] : mode === "fast" ? [t.ledFastMs, t.ledFastMs] : mode === "wink" ? [t.ledWinkOnMs, t.ledWinkOffMs] : [0, 0];
    this.port.send({ type: "LED", id: this.map[id], mode, colour: LedColour.DEFAULT, onMs, offMs }).catch((e: Error) => this.port.report(e));
  }
}

/** Unchanged cells between two changed runs shorter than this are sent anyway: cheaper than a new frame's ~9 bytes. */
const MERGE_GAP = 4;
/** A shadow cell whose content on the panel is unknown (a command failed): never equal to a wanted char. */
const UNKNOWN = "\uffff";

/** The character LCD: `want` is what callers asked for, `have` what the panel shows; only differences are sent. */
export class FpDisplay implements TextDisplay {
  readonly kind = "text" as const;
  private want: string[];
  private have: string[];
  private readonly glyphs = new Map<number, number[]>();
  private backlight = true;

  constructor(
    private readonly port: PanelPort,
    readonly cols: number,
    readonly rows: number,
  ) {
    this.want = this.blank();
    this.have = this.blank(); // QUERY RESET cleared the panel's LCD
  }

  write(row: number, col: number, text: string): Promise<void> {
    const off = this.offScreen(row, col);
    if (off) return Promise.reject(off);
    const s = lcdChars(text).slice(0, this.cols - col);
    const w = this.want[row];
    this.want[row] = w.slice(0, col) + s + w.slice(col + s.length);
    return this.flushRow(row);
  }

  show(lines: readonly string[]): Promise<void> {
    for (let r = 0; r < this.rows; r++) this.want[r] = lcdChars(lines[r] ?? "").slice(0, this.cols).padEnd(this.cols, " ");
    return Promise.all(this.want.map((_, r) => this.flushRow(r))).then(() => undefined);
  }

  clear(): Promise<void> {
    this.want = this.blank();
    if (this.have.every((r, i) => r === this.want[i])) return Promise.resolve();
    this.have = this.blank();
    return this.port.send({ type: "LCD_CLEAR" }).catch((e: Error) => {
      this.have = this.have.map((r) => UNKNOWN.repeat(r.length));
      throw e;
    });
  }

  setBacklight(on: boolean): Promise<void> {
    this.backlight = on;
    return this.port.send({ type: "BACKLIGHT", level: on ? 255 : 0 });
  }

  defineGlyph(slot: number, rows: readonly number[]): Promise<void> {
    if (!Number.isInteger(slot) || slot < 0 || slot > 7 || rows.length !== 8)
      return Promise.reject(new PhoneError(ErrorCodes.BAD_REQUEST, `a glyph is slot 0-7 and 8 rows of 5 bits (got slot ${slot}, ${rows.length} rows)`, { slot }));
    const r = rows.map((x) => x & 0x1f);
    this.glyphs.set(slot, r);
    return this.port.send({ type: "LCD_GLYPH", slot, rows: r });
  }

  async close(): Promise<void> {
    // The panel's link is closed by FrontPanel.close().
  }

  /** After a panel reset: blank LCD, blank glyphs, backlight on. Restore what differs. */
  replay(): void {
    this.have = this.blank();
    const fail = (e: Error): void => this.port.report(e);
    for (const [slot, rows] of this.glyphs) this.port.send({ type: "LCD_GLYPH", slot, rows }).catch(fail);
    if (!this.backlight) this.port.send({ type: "BACKLIGHT", level: 0 }).catch(fail);
    for (let r = 0; r < this.rows; r++) this.flushRow(r).catch(fail);
  }

  private flushRow(row: number): Promise<void> {
    const want = this.want[row];
    const sends: Promise<void>[] = [];
    for (const [from, to] of changedRuns(this.have[row], want)) {
      const run = want.slice(from, to);
      this.have[row] = this.have[row].slice(0, from) + run + this.have[row].slice(to);
      sends.push(
        this.port.send({ type: "LCD_TEXT", row, col: from, attr: 0, text: latin1Bytes(run) }).catch((e: Error) => {
          const h = this.have[row];
          this.have[row] = h.slice(0, from) + UNKNOWN.repeat(to - from) + h.slice(to);
          throw e;
        }),
      );
    }
    return Promise.all(sends).then(() => undefined);
  }

  private offScreen(row: number, col: number): PhoneError | undefined {
    if (!Number.isInteger(row) || !Number.isInteger(col) || row < 0 || row >= this.rows || col < 0 || col >= this.cols)
      return new PhoneError(ErrorCodes.BAD_REQUEST, `(${row}, ${col}) is off the front panel's ${this.cols}x${this.rows} LCD`, { row, col });
    return undefined;
  }

  private blank(): string[] {
    return Array.from({ length: this.rows }, () => " ".repeat(this.cols));
  }
}

/** [from, to) column ranges where `have` and `want` differ, with short unchanged gaps merged. */
function changedRuns(have: string, want: string): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (let i = 0; i < want.length; i++) {
    if (have[i] === want[i]) continue;
    const last = runs[runs.length - 1];
    if (last && i - last[1] < MERGE_GAP) last[1] = i + 1;
    else runs.push([i, i + 1]);
  }
  return runs;
}

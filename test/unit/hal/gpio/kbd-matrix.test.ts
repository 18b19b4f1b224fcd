// Keypad matrix: the switch-matrix emulator's physics, the scan engine, and the GPIO driver on top of both.
import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/base/clock.js";
import { ErrorCodes, isPhoneError } from "../../../../src/base/errors.js";
import type { BoardLine } from "../../../../src/hal/api/board.js";
import type { KeyEvent, Keypad } from "../../../../src/hal/api/keypad.js";
import { KbdMatrixEngine, ghosting, type ColumnDrive } from "../../../../src/hal/core/kbd-matrix-engine.js";
import { createGpioMatrixKeypad } from "../../../../src/hal/drivers/kbd-matrix-gpio.js";
import { EmulatedGpioChip } from "../../../../src/hal/emul/gpio-emul.js";
import { KeypadMatrixEmul } from "../../../../src/hal/emul/keypad-matrix-emul.js";
import { TEST_TIMING } from "../../../support/board-timing.js";

const TIMING = TEST_TIMING;
const KEYMAP = [
  ["1", "2", "3"],
  ["4", "5", "6"],
  ["7", "8", "9"],
  ["*", "0", "#"],
];
// Rows pulled up and read active-low; columns pull their row low when driven active.
const ROWS: BoardLine[] = [5, 6, 13, 19].map((line) => ({ line, activeLow: true, bias: "pull-up" }));
const COLS: BoardLine[] = [12, 16, 20].map((line) => ({ line, activeLow: true }));

const strip = (evs: KeyEvent[]): string[] => evs.map((e) => `${e.key}${e.long ? " long" : e.down ? " down" : " up"}`);

describe("KeypadMatrixEmul physics", () => {
  let chip: EmulatedGpioChip;
  let emul: KeypadMatrixEmul;
  beforeEach(() => {
    chip = new EmulatedGpioChip({ clock: new ManualClock() });
    emul = new KeypadMatrixEmul(chip, ROWS, COLS);
  });

  const drive = (active: number): void => {
    // Column `active` driven low, the others high impedance, rows pulled up.
    COLS.forEach((c, i) => {
      if (i === active) chip.request({ line: c.line, direction: "out", activeLow: true, initial: 1 });
    });
  };
  const rowWires = (): number[] => ROWS.map((r) => chip.wire(r.line));

  it("rows idle high through their pull-ups", () => {
    ROWS.forEach((r) => chip.request({ line: r.line, direction: "in", bias: "pull-up" }));
    assert.deepEqual(rowWires(), [1, 1, 1, 1]);
  });

  it("a closed key pulls its row low only while its column is driven", () => {
    ROWS.forEach((r) => chip.request({ line: r.line, direction: "in", bias: "pull-up" }));
    emul.press(2, 1);
    assert.deepEqual(rowWires(), [1, 1, 1, 1], "column 1 not driven");
    drive(1);
    assert.deepEqual(rowWires(), [1, 1, 0, 1]);
    emul.release(2, 1);
    assert.deepEqual(rowWires(), [1, 1, 1, 1]);
  });

  it("three corners of a rectangle make the fourth read pressed, through the other keys", () => {
    ROWS.forEach((r) => chip.request({ line: r.line, direction: "in", bias: "pull-up" }));
    emul.press(0, 0);
    emul.press(0, 1);
    emul.press(1, 0);
    drive(1); // only (0,1) is on column 1, yet row 1 goes low via (0,1)-row0-(0,0)-col0-(1,0)
    assert.deepEqual(rowWires(), [0, 0, 1, 1]);
    emul.release(0, 0); // break the path: the ghost goes
    assert.deepEqual(rowWires(), [0, 1, 1, 1]);
  });

  it("records a short when two driven columns meet through keys", () => {
    ROWS.forEach((r) => chip.request({ line: r.line, direction: "in", bias: "pull-up" }));
    chip.request({ line: COLS[0].line, direction: "out", initial: 0 });
    chip.request({ line: COLS[1].line, direction: "out", initial: 1 });
    assert.equal(emul.shorts().length, 0);
    emul.press(3, 0);
    emul.press(3, 1);
    assert.equal(emul.shorts().length, 1);
    assert.deepEqual(emul.shorts()[0].lines.sort(), [COLS[0].line, COLS[1].line].sort());
  });

  it("refuses keys outside the matrix", () => {
    assert.throws(() => emul.press(4, 0), (e: unknown) => isPhoneError(e, ErrorCodes.BAD_REQUEST));
  });
});

describe("KbdMatrixEngine", () => {
  it("ghosting(): two columns sharing two rows", () => {
    assert.equal(ghosting([0b0011, 0b0011, 0]), true);
    assert.equal(ghosting([0b0101, 0, 0b0111]), true);
    assert.equal(ghosting([0b0011, 0b0001, 0b0010]), false);
    assert.equal(ghosting([0b1111, 0, 0]), false);
    assert.equal(ghosting([0b0001, 0b0001, 0b0001]), false);
  });

  it("scans when a key is already down as detect mode is armed (its edge went to nobody)", () => {
    const clock = new ManualClock();
    const calls: string[] = [];
    let rows = 0b01; // key at row 0 under column 0, already closed
    let driven: ColumnDrive = "none";
    const engine = new KbdMatrixEngine(
      {
        driveColumn: (c) => {
          driven = c;
          calls.push(`drive ${c}`);
        },
        readRows: () => (driven === "all" || driven === 0 ? rows : 0),
        setDetectMode: (on) => calls.push(`detect ${on}`),
      },
      [["A", "B"]],
      clock,
      { debounceMs: 10, scanIntervalMs: 5 },
    );
    const evs: KeyEvent[] = [];
    engine.onKey((e) => evs.push(e));
    engine.start();
    assert.equal(engine.mode(), "scan");
    assert.deepEqual(calls, ["drive all", "detect true", "detect false"]);
    clock.advance(10);
    assert.deepEqual(strip(evs), ["A down"]);
    rows = 0;
    clock.advance(20); // first seen open at the scan of t=15, accepted at t=25
    assert.deepEqual(strip(evs), ["A down", "A up"]);
    assert.equal(engine.mode(), "detect");
    assert.equal(clock.pending(), 0);
  });

  it("refuses keymaps it cannot scan", () => {
    const b = { driveColumn: () => undefined, readRows: () => 0, setDetectMode: () => undefined };
    const clock = new ManualClock();
    assert.throws(() => new KbdMatrixEngine(b, [], clock, TIMING), (e: unknown) => isPhoneError(e, ErrorCodes.BOARD_INVALID));
    assert.throws(() => new KbdMatrixEngine(b, [["1", "1"]], clock, TIMING), (e: unknown) => isPhoneError(e, ErrorCodes.BOARD_INVALID));
  });
});

describe("GPIO matrix keypad on the emulated switch matrix", () => {
  let clock: ManualClock;
  let chip: EmulatedGpioChip;
  let emul: KeypadMatrixEmul;
  let keypad: Keypad;
  let evs: KeyEvent[];

  beforeEach(() => {
    clock = new ManualClock(0);
    chip = new EmulatedGpioChip({ clock });
    emul = new KeypadMatrixEmul(chip, ROWS, COLS);
    keypad = createGpioMatrixKeypad(chip, ROWS, COLS, KEYMAP, clock, TIMING);
    evs = [];
    keypad.onKey((e) => evs.push(e));
  });
  afterEach(async () => {
    await keypad.close();
    assert.deepEqual(emul.shorts(), [], "no two driven pins ever fought through the keys");
    emul.close();
  });

  it("idles in detect mode: every column driven, no timer", () => {
    assert.equal(clock.pending(), 0);
    for (const c of COLS) assert.equal(chip.driving(c.line), 0);
    assert.deepEqual([...keypad.keys].sort(), KEYMAP.flat().sort());
  });

  it("reports every key of the 4x3 map, down then up, and returns to detect mode with no timers", () => {
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 3; c++) {
        evs.length = 0;
        const t0 = clock.now();
        emul.press(r, c);
        clock.advance(50);
        emul.release(r, c);
        clock.advance(50);
        assert.deepEqual(strip(evs), [`${KEYMAP[r][c]} down`, `${KEYMAP[r][c]} up`], `key at ${r},${c}`);
        assert.equal(evs[0].tMs, t0, "down is stamped when the scan first saw it");
        assert.equal(clock.pending(), 0, `idle after key ${KEYMAP[r][c]}`);
        for (const col of COLS) assert.equal(chip.driving(col.line), 0, "all columns driven again");
      }
    }
  });

  it("a bouncing key gives one down and one up", () => {
    const bouncy = [3, 2, 4, 1, 3];
    const rattle = (down: boolean): void => {
      for (const [i, ms] of bouncy.entries()) {
        if ((i % 2 === 0) === down) emul.press(1, 1);
        else emul.release(1, 1);
        clock.advance(ms);
      }
      if (down) emul.press(1, 1);
      else emul.release(1, 1);
    };
    rattle(true);
    clock.advance(100);
    rattle(false);
    clock.advance(100);
    assert.deepEqual(strip(evs), ["5 down", "5 up"]);
    assert.equal(clock.pending(), 0);
  });

  it("a touch shorter than the debounce time is not a key", () => {
    emul.press(0, 2);
    clock.advance(TIMING.debounceMs - 2 * TIMING.scanIntervalMs);
    emul.release(0, 2);
    clock.advance(100);
    assert.deepEqual(evs, []);
    assert.equal(clock.pending(), 0);
  });

  it("two keys at once, in one row and in different rows and columns", () => {
    emul.press(0, 0);
    emul.press(0, 2);
    clock.advance(50);
    assert.deepEqual(strip(evs).sort(), ["1 down", "3 down"]);
    assert.deepEqual([...keypad.down()].sort(), ["1", "3"]);
    emul.release(0, 0);
    emul.release(0, 2);
    clock.advance(50);
    evs.length = 0;
    emul.press(1, 0);
    emul.press(3, 2);
    clock.advance(50);
    assert.deepEqual(strip(evs).sort(), ["#", "4"].map((k) => `${k} down`).sort());
    emul.release(1, 0);
    emul.release(3, 2);
    clock.advance(50);
    assert.equal(clock.pending(), 0);
  });

  it("rejects changes while a ghost pattern is present, and reports the real keys once it clears", () => {
    emul.press(0, 0); // "1"
    emul.press(0, 1); // "2"
    clock.advance(50);
    assert.deepEqual(strip(evs), ["1 down", "2 down"]);
    emul.press(1, 0); // "4": now (1,1) "5" reads pressed by physics
    clock.advance(500);
    assert.deepEqual(strip(evs), ["1 down", "2 down"], "neither 4 nor the ghost 5 is reported");
    emul.release(0, 1); // the rectangle is gone
    clock.advance(50);
    assert.deepEqual(strip(evs), ["1 down", "2 down", "2 up", "4 down"]);
    emul.release(0, 0);
    emul.release(1, 0);
    clock.advance(50);
    assert.deepEqual(keypad.down(), []);
    assert.equal(clock.pending(), 0);
  });

  it("three keys pressed together never report the ghost", () => {
    emul.press(2, 1);
    emul.press(2, 2);
    emul.press(3, 1);
    clock.advance(300);
    assert.equal(evs.some((e) => e.key === "#"), false);
    for (const [r, c] of emul.pressed()) emul.release(r, c);
    clock.advance(100);
    assert.equal(evs.some((e) => e.key === "#"), false);
    assert.equal(clock.pending(), 0);
  });

  it("a held key adds one long press after longPressMs", () => {
    emul.press(3, 1);
    clock.advance(TIMING.longPressMs + 100);
    assert.deepEqual(strip(evs), ["0 down", "0 long"]);
    assert.equal(evs[1].tMs, evs[0].tMs + TIMING.longPressMs);
    emul.release(3, 1);
    clock.advance(50);
    assert.deepEqual(strip(evs), ["0 down", "0 long", "0 up"]);
    assert.equal(clock.pending(), 0);
  });

  it("close releases held keys' lines and leaves no timers", async () => {
    emul.press(2, 0);
    clock.advance(50);
    await keypad.close();
    assert.equal(clock.pending(), 0);
    for (const l of [...ROWS, ...COLS]) chip.request({ line: l.line, direction: "in" }).close();
  });

  it("refuses a keymap that does not fit the wiring", () => {
    assert.throws(
      () => createGpioMatrixKeypad(new EmulatedGpioChip({ clock }), ROWS.slice(0, 3), COLS, KEYMAP, clock, TIMING),
      (e: unknown) => isPhoneError(e, ErrorCodes.BOARD_INVALID),
    );
  });
});

// EmulatedGpioChip: logical levels on the bus face, wires on the backend face, edges only when asked for.
import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/base/clock.js";
import { ErrorCodes, isPhoneError } from "../../../../src/base/errors.js";
import type { Level } from "../../../../src/hal/api/gpio.js";
import { EmulatedGpioChip } from "../../../../src/hal/emul/gpio-emul.js";

describe("EmulatedGpioChip", () => {
  let clock: ManualClock;
  let chip: EmulatedGpioChip;
  beforeEach(() => {
    clock = new ManualClock(500);
    chip = new EmulatedGpioChip({ clock, label: "pinctrl-test", lines: 32 });
  });

  it("has a label and a line count", () => {
    assert.equal(chip.label, "pinctrl-test");
    assert.equal(chip.lines, 32);
  });

  it("activeLow inverts what an input reads from the wire", () => {
    const a = chip.request({ line: 1, direction: "in", activeLow: true });
    const b = chip.request({ line: 2, direction: "in" });
    chip.setWire(1, 0);
    chip.setWire(2, 0);
    assert.equal(a.read(), 1);
    assert.equal(b.read(), 0);
    chip.setWire(1, 1);
    chip.setWire(2, 1);
    assert.equal(a.read(), 0);
    assert.equal(b.read(), 1);
  });

  it("an output drives its wire, inverted by activeLow, and onWire sees each change with the time", () => {
    const changes: [Level, number][] = [];
    chip.onWire(3, (level, t) => changes.push([level, t]));
    const led = chip.request({ line: 3, direction: "out", activeLow: true, initial: 0 });
    assert.equal(chip.wire(3), 1);
    assert.equal(chip.driving(3), 1);
    clock.advance(10);
    led.write(1);
    assert.equal(chip.wire(3), 0);
    assert.equal(led.read(), 1);
    assert.deepEqual(changes, [
      [1, 500],
      [0, 510],
    ]);
  });

  it("delivers only the edges a line asked for, as logical levels with clock time", () => {
    const rising: [Level, number][] = [];
    const both: Level[] = [];
    const none: Level[] = [];
    chip.request({ line: 4, direction: "in", edge: "rising" }).watch((l, t) => rising.push([l, t]));
    chip.request({ line: 5, direction: "in", edge: "both", activeLow: true }).watch((l) => both.push(l));
    chip.request({ line: 6, direction: "in" }).watch((l) => none.push(l));
    for (const w of [1, 0, 1] as Level[]) {
      clock.advance(1);
      for (const line of [4, 5, 6]) chip.setWire(line, w);
    }
    assert.deepEqual(rising, [
      [1, 501],
      [1, 503],
    ]);
    assert.deepEqual(both, [0, 1, 0]);
    assert.deepEqual(none, []);
  });

  it("a requested bias sets the idle level of an undriven input without an edge", () => {
    const seen: Level[] = [];
    const row = chip.request({ line: 7, direction: "in", edge: "both", activeLow: true, bias: "pull-up" });
    row.watch((l) => seen.push(l));
    assert.equal(chip.wire(7), 1);
    assert.equal(row.read(), 0);
    chip.setWire(7, 0);
    chip.releaseWire(7);
    assert.equal(chip.wire(7), 1);
    assert.deepEqual(seen, [1, 0]);
  });

  it("a lost edge changes the level but calls nobody", () => {
    const seen: Level[] = [];
    const line = chip.request({ line: 8, direction: "in", edge: "both" });
    line.watch((l) => seen.push(l));
    chip.setWire(8, 1, { lostEdge: true });
    assert.equal(line.read(), 1);
    assert.deepEqual(seen, []);
  });

  it("bounce() flips the wire on the clock and comes to rest at the final level", () => {
    const seen: [Level, number][] = [];
    chip.request({ line: 9, direction: "in", edge: "both" }).watch((l, t) => seen.push([l, t]));
    chip.setWire(9, 0);
    chip.bounce(9, 1, [2, 1, 3, 2]);
    clock.advance(100);
    // 1 for 2 ms, 0 for 1, 1 for 3, 0 for 2, then rest at 1.
    assert.deepEqual(seen, [
      [1, 500],
      [0, 502],
      [1, 503],
      [0, 506],
      [1, 508],
    ]);
    assert.equal(chip.wire(9), 1);
    assert.equal(clock.pending(), 0);
  });

  it("setDirection moves a line between high impedance and driven, without an edge of its own", () => {
    const drives: (Level | null)[] = [];
    chip.onDrive(10, (d) => drives.push(d));
    const col = chip.request({ line: 10, direction: "in", edge: "both", activeLow: true });
    const seen: Level[] = [];
    col.watch((l) => seen.push(l));
    col.setDirection("out", 1);
    assert.equal(chip.wire(10), 0);
    col.setDirection("in");
    assert.equal(chip.driving(10), null);
    assert.deepEqual(drives, [0, null]);
    assert.deepEqual(seen, []);
  });

  it("refuses lines out of range, lines in use, writes to inputs, and use after close", () => {
    assert.throws(() => chip.request({ line: 32, direction: "in", consumer: "hook" }), (e: unknown) =>
      isPhoneError(e, ErrorCodes.BOARD_INVALID) && e.message.includes("line 32 (hook)"),
    );
    const a = chip.request({ line: 11, direction: "in", consumer: "hook" });
    assert.throws(() => chip.request({ line: 11, direction: "out" }), (e: unknown) =>
      isPhoneError(e, ErrorCodes.DEVICE_BUSY) && e.message.includes("hook"),
    );
    assert.throws(() => a.write(1), (e: unknown) => isPhoneError(e, ErrorCodes.BAD_REQUEST));
    a.close();
    assert.throws(() => a.read(), (e: unknown) => isPhoneError(e, ErrorCodes.DEVICE_CLOSED));
    chip.request({ line: 11, direction: "in" });
  });

  it("a closed output keeps driving its last level, as a real pin controller does", () => {
    const out = chip.request({ line: 12, direction: "out", initial: 1 });
    out.close();
    assert.equal(chip.wire(12), 1);
    assert.equal(chip.driving(12), 1);
  });
});

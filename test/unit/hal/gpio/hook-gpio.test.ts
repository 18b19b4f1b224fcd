// Hook switch on an emulated GPIO line: bounce, flash, glitches, hang-up and resync.
import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/base/clock.js";
import type { HookEvent } from "../../../../src/hal/api/hook.js";
import { createGpioHook, type GpioHook } from "../../../../src/hal/drivers/hook-gpio.js";
import { EmulatedGpioChip } from "../../../../src/hal/emul/gpio-emul.js";
import { TEST_TIMING } from "../../../support/board-timing.js";

const TIMING = TEST_TIMING;
const LINE = 17;
// This board: contact to ground when the handset is lifted, pull-up, so off-hook = wire 0 = logical 1.
const OFF = 0;
const ON = 1;

describe("GpioHook on an emulated chip", () => {
  let clock: ManualClock;
  let chip: EmulatedGpioChip;
  let hook: GpioHook;
  let events: HookEvent[];

  beforeEach(() => {
    clock = new ManualClock(0);
    chip = new EmulatedGpioChip({ clock });
    hook = createGpioHook(chip, { line: LINE, activeLow: true, bias: "pull-up" }, clock, TIMING);
    events = [];
    hook.onHook((ev) => events.push(ev));
  });
  afterEach(async () => {
    await hook.close();
  });

  const liftSettled = (): void => {
    chip.setWire(LINE, OFF);
    clock.advance(100);
    events.length = 0;
  };

  it("starts on-hook from the line's level (pull-up, contact open)", () => {
    assert.equal(hook.state(), "on");
  });

  it("starts off-hook when the handset is already lifted at open", async () => {
    await hook.close();
    chip.setWire(LINE, OFF);
    hook = createGpioHook(chip, { line: LINE, activeLow: true, bias: "pull-up" }, clock, TIMING);
    assert.equal(hook.state(), "off");
  });

  it("a bounce train on lifting settles to one 'off', stamped at the last edge", () => {
    const intervals = [1, 3, 2, 4, 1, 5];
    chip.bounce(LINE, OFF, intervals);
    clock.advance(200);
    const settleAt = intervals.reduce((a, b) => a + b, 0) - (intervals.length % 2 === 0 ? 0 : intervals[intervals.length - 1]);
    assert.deepEqual(events, [{ type: "off", tMs: settleAt }]);
    assert.equal(hook.state(), "off");
  });

  it("a bounce train on hanging up settles to one 'on' after the flash window", () => {
    liftSettled();
    const t0 = clock.now();
    chip.bounce(LINE, ON, [2, 2, 3]);
    clock.advance(TIMING.hookFlashMaxMs - 50);
    assert.deepEqual(events, [], "still inside the flash window");
    clock.advance(200);
    assert.deepEqual(events, [{ type: "on", tMs: t0 + 4 }]);
    assert.equal(hook.state(), "on");
  });

  it("an on-hook press inside the flash window is one 'flash' and no on/off pair", () => {
    liftSettled();
    chip.setWire(LINE, ON);
    clock.advance(300);
    chip.bounce(LINE, OFF, [1, 2]);
    clock.advance(1000);
    assert.equal(events.length, 1);
    assert.equal(events[0].type, "flash");
    assert.equal(hook.state(), "off");
  });

  it("a glitch shorter than debounce is ignored, and so is a pulse shorter than the flash minimum", () => {
    liftSettled();
    chip.setWire(LINE, ON);
    clock.advance(TIMING.debounceMs - 5);
    chip.setWire(LINE, OFF);
    clock.advance(500);
    chip.setWire(LINE, ON);
    clock.advance(50); // debounced, but below hookFlashMinMs
    chip.setWire(LINE, OFF);
    clock.advance(1000);
    assert.deepEqual(events, []);
    assert.equal(hook.state(), "off");
  });

  it("a long on-hook is a hang-up, stamped when the handset went down", () => {
    liftSettled();
    const down = clock.now();
    chip.setWire(LINE, ON);
    clock.advance(2000);
    assert.deepEqual(events, [{ type: "on", tMs: down }]);
  });

  it("resync() applies a level whose edge was lost, at once", () => {
    chip.setWire(LINE, OFF, { lostEdge: true });
    clock.advance(1000);
    assert.equal(hook.state(), "on", "the edge never arrived");
    hook.resync();
    assert.deepEqual(events, [{ type: "off", tMs: 1000 }]);
    assert.equal(hook.state(), "off");
  });

  it("close releases the line and leaves no timers", async () => {
    chip.setWire(LINE, OFF);
    await hook.close();
    assert.equal(clock.pending(), 0);
    const again = chip.request({ line: LINE, direction: "in" });
    again.close();
  });
});

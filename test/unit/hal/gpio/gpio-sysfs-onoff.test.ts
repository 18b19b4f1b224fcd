// sysfs GPIO lines through onoff's real code, checked against what the (fake) kernel's files show.
import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/base/clock.js";
import { ErrorCodes, isPhoneError } from "../../../../src/base/errors.js";
import type { GpioChip, Level } from "../../../../src/hal/api/gpio.js";
import type { HookEvent } from "../../../../src/hal/api/hook.js";
import { openSysfsGpioChip } from "../../../../src/hal/drivers/gpio-sysfs.js";
import { createGpioHook } from "../../../../src/hal/drivers/hook-gpio.js";
import { FakeSysfsKernel } from "./fake-sysfs-kernel.js";
import { TEST_TIMING } from "../../../support/board-timing.js";

const BASE = 512; // a Pi 4 on kernel 6.6
const TIMING = TEST_TIMING;

describe("gpio-sysfs: lines through onoff against sysfs files", () => {
  let k: FakeSysfsKernel;
  let clock: ManualClock;
  let chip: GpioChip;
  let warnings: string[];

  beforeEach(async () => {
    k = await FakeSysfsKernel.create([{ label: "pinctrl-bcm2711", base: BASE, ngpio: 58 }]);
    clock = new ManualClock(1000);
    warnings = [];
    chip = await openSysfsGpioChip(["pinctrl-bcm2711"], {
      clock,
      sysfsRoot: k.root,
      loadOnoff: k.loadOnoff(),
      log: { warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)) } as never,
    });
  });
  afterEach(async () => {
    chip.close();
    await k.remove();
  });

  it("an active-low output that starts off is exported as raw high, with no glitch low", () => {
    const n = BASE + 22;
    const led = chip.request({ line: 22, direction: "out", activeLow: true, initial: 0, consumer: "LED" });
    // active_low is set before the direction, and "high" (raw) is written instead of "out" (which is raw low).
    const mine = k.writes.filter((w) => w.startsWith(`gpio${n}/`));
    assert.deepEqual(mine.slice(0, 2), [`gpio${n}/active_low 1`, `gpio${n}/direction high`]);
    assert.deepEqual(k.driveHistory.get(n), [1]);
    assert.equal(k.file(n, "direction"), "out");
    assert.equal(k.file(n, "value"), "0");
    assert.equal(led.read(), 0);

    led.write(1);
    assert.equal(k.raw(n), 0, "lit = wire low on an active-low LED");
    assert.equal(k.file(n, "value"), "1");
    assert.equal(led.read(), 1);
    led.write(0);
    assert.deepEqual(k.driveHistory.get(n), [1, 0, 1]);
  });

  it("an active-high output starting on is exported as raw high", () => {
    const n = BASE + 23;
    chip.request({ line: 23, direction: "out", initial: 1 });
    assert.ok(k.writes.includes(`gpio${n}/direction high`));
    assert.equal(k.raw(n), 1);
  });

  it("an input reads logical levels and reports both edges with the clock's time", async () => {
    const n = BASE + 17;
    k.setInput(n, 1); // pulled up, contact open
    const hook = chip.request({ line: 17, direction: "in", edge: "both", activeLow: true, consumer: "hook" });
    assert.equal(k.file(n, "edge"), "both");
    assert.equal(k.file(n, "active_low"), "1");
    assert.equal(hook.read(), 0);
    const seen: [Level, number][] = [];
    hook.watch((level, t) => seen.push([level, t]));

    k.setInput(n, 0);
    clock.advance(7); // the wake-up is handled later, at this clock time
    await k.flush();
    k.setInput(n, 1);
    clock.advance(5);
    await k.flush();
    assert.deepEqual(seen, [
      [1, 1007],
      [0, 1012],
    ]);
    assert.equal(hook.read(), 0);
  });

  it("an input asking for rising edges only is not woken by falling ones", async () => {
    const n = BASE + 5;
    const line = chip.request({ line: 5, direction: "in", edge: "rising" });
    const seen: Level[] = [];
    line.watch((level) => seen.push(level));
    k.setInput(n, 1);
    await k.flush();
    k.setInput(n, 0);
    await k.flush();
    k.setInput(n, 1);
    await k.flush();
    assert.deepEqual(seen, [1, 1]);
  });

  it("edges are logical: with activeLow, 'rising' fires when the wire falls", async () => {
    const n = BASE + 6;
    k.setInput(n, 1);
    const line = chip.request({ line: 6, direction: "in", edge: "rising", activeLow: true });
    const seen: Level[] = [];
    line.watch((level) => seen.push(level));
    k.setInput(n, 0);
    await k.flush();
    k.setInput(n, 1);
    await k.flush();
    assert.deepEqual(seen, [1]);
  });

  it("unwatch stops the callbacks", async () => {
    const n = BASE + 7;
    const line = chip.request({ line: 7, direction: "in", edge: "both" });
    const seen: Level[] = [];
    const stop = line.watch((level) => seen.push(level));
    k.setInput(n, 1);
    await k.flush();
    stop();
    k.setInput(n, 0);
    await k.flush();
    assert.deepEqual(seen, [1]);
  });

  it("a matrix column switches between high impedance and driven active (raw low on activeLow)", () => {
    const n = BASE + 9;
    const col = chip.request({ line: 9, direction: "in", activeLow: true, consumer: "column 0" });
    assert.equal(k.file(n, "direction"), "in");
    col.setDirection("out", 1);
    assert.equal(k.file(n, "direction"), "out");
    assert.equal(k.raw(n), 0);
    col.setDirection("in");
    assert.equal(k.file(n, "direction"), "in");
    col.setDirection("out", 0);
    assert.equal(k.raw(n), 1);
  });

  it("disarms the edge before making an input with an edge an output (the kernel would say EIO), and re-arms it", () => {
    const n = BASE + 10;
    const line = chip.request({ line: 10, direction: "in", edge: "both" });
    line.setDirection("out", 1);
    assert.equal(k.file(n, "edge"), "none");
    assert.equal(k.file(n, "direction"), "out");
    line.setDirection("in");
    assert.equal(k.file(n, "edge"), "both");
  });

  it("writing an input is refused before it reaches the kernel", () => {
    const n = BASE + 11;
    const line = chip.request({ line: 11, direction: "in", consumer: "row 1" });
    assert.throws(() => line.write(1), (e: unknown) => isPhoneError(e, ErrorCodes.BAD_REQUEST) && e.message.includes("row 1"));
    assert.equal(k.writes.some((w) => w.startsWith(`gpio${n}/value`)), false);
  });

  it("close unexports once; a closed line refuses use; the line can be requested again", () => {
    const n = BASE + 12;
    const line = chip.request({ line: 12, direction: "out" });
    line.close();
    line.close();
    assert.equal(k.exported(n), false);
    assert.deepEqual(k.writes.filter((w) => w.endsWith(` ${n}`)), [`export ${n}`, `unexport ${n}`]);
    assert.throws(() => line.read(), (e: unknown) => isPhoneError(e, ErrorCodes.DEVICE_CLOSED));
    chip.request({ line: 12, direction: "in" });
    assert.ok(k.exported(n));
  });

  it("warns once that sysfs cannot set bias, naming config.txt", () => {
    chip.request({ line: 13, direction: "in", bias: "pull-up" });
    chip.request({ line: 14, direction: "in", bias: "pull-down" });
    chip.request({ line: 15, direction: "in", bias: "as-is" });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /config\.txt/);
    assert.match(warnings[0], /line 13/);
  });

  it("carries a hook switch: kernel edges -> onoff -> HookEngine, on the clock", async () => {
    const n = BASE + 27;
    k.setInput(n, 1); // on-hook: contact pulls the line high on this board
    const hook = createGpioHook(chip, { line: 27, activeLow: true, bias: "pull-up" }, clock, TIMING);
    assert.equal(hook.state(), "on");
    const events: HookEvent[] = [];
    hook.onHook((ev) => events.push(ev));
    k.setInput(n, 0);
    await k.flush();
    clock.advance(TIMING.debounceMs);
    assert.deepEqual(events, [{ type: "off", tMs: 1000 }]);
    await hook.close();
    assert.equal(k.exported(n), false);
  });
});

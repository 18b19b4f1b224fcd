// LEDs on emulated GPIO outputs: each mode's on/off sequence as seen on the wire.
import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/base/clock.js";
import type { Level } from "../../../../src/hal/api/gpio.js";
import type { LedMode, Leds } from "../../../../src/hal/api/leds.js";
import { createGpioLeds } from "../../../../src/hal/drivers/leds-gpio.js";
import { EmulatedGpioChip } from "../../../../src/hal/emul/gpio-emul.js";
import { TEST_TIMING } from "../../../support/board-timing.js";

const TIMING = TEST_TIMING;
const MSG = 20; // sinks current: lit = wire low
const SPK = 21; // sources current: lit = wire high

describe("GPIO LEDs on an emulated chip", () => {
  let clock: ManualClock;
  let chip: EmulatedGpioChip;
  let leds: Leds;
  let trace: Map<number, [Level, number][]>;

  beforeEach(() => {
    clock = new ManualClock(0);
    chip = new EmulatedGpioChip({ clock });
    trace = new Map([
      [MSG, []],
      [SPK, []],
    ]);
    for (const [line, t] of trace) chip.onWire(line, (level, tMs) => t.push([level, tMs]));
    leds = createGpioLeds(chip, { MESSAGE: { line: MSG, activeLow: true }, SPEAKER: { line: SPK } }, clock, TIMING);
  });
  afterEach(async () => {
    await leds.close();
  });

  /** The lit/dark sequence of one LED from its wire, as [lit, tMs]. */
  const litTrace = (line: number, activeLow: boolean): [boolean, number][] =>
    trace.get(line)!.map(([w, t]) => [activeLow ? w === 0 : w === 1, t]);

  it("starts every LED dark (the active-low one with its wire high)", () => {
    assert.equal(chip.wire(MSG), 1);
    assert.equal(chip.wire(SPK), 0);
    assert.deepEqual(leds.snapshot(), { MESSAGE: "off", SPEAKER: "off" });
  });

  const blinking: [LedMode, number, number][] = [
    ["slow", TIMING.ledSlowMs, TIMING.ledSlowMs],
    ["fast", TIMING.ledFastMs, TIMING.ledFastMs],
    ["wink", TIMING.ledWinkOnMs, TIMING.ledWinkOffMs],
  ];
  for (const [mode, onMs, offMs] of blinking) {
    for (const [id, line, activeLow] of [
      ["MESSAGE", MSG, true],
      ["SPEAKER", SPK, false],
    ] as const) {
      it(`${mode} on ${id}: lit ${onMs} ms, dark ${offMs} ms, repeating`, () => {
        trace.get(line)!.length = 0;
        clock.advance(50);
        leds.set(id, mode);
        clock.advance(2 * (onMs + offMs));
        const want: [boolean, number][] = [];
        for (let i = 0, t = 50; i < 2; i++) {
          want.push([true, t]);
          t += onMs;
          want.push([false, t]);
          t += offMs;
        }
        want.push([true, 50 + 2 * (onMs + offMs)]);
        assert.deepEqual(litTrace(line, activeLow), want);
        assert.equal(leds.get(id), mode);
      });
    }
  }

  it("on and off are steady and leave no timers", () => {
    trace.get(MSG)!.length = 0;
    leds.set("MESSAGE", "on");
    clock.advance(5000);
    leds.set("MESSAGE", "off");
    clock.advance(5000);
    assert.deepEqual(litTrace(MSG, true), [
      [true, 0],
      [false, 5000],
    ]);
    assert.equal(clock.pending(), 0);
  });

  it("leaving a blink for steady stops the blinking", () => {
    leds.set("SPEAKER", "fast");
    clock.advance(300);
    leds.set("SPEAKER", "on");
    const before = trace.get(SPK)!.length;
    clock.advance(2000);
    assert.equal(trace.get(SPK)!.length, before);
    assert.equal(chip.wire(SPK), 1);
    assert.equal(clock.pending(), 0);
  });

  it("close turns everything dark, stops the timers and frees the lines", async () => {
    leds.set("MESSAGE", "slow");
    leds.set("SPEAKER", "on");
    await leds.close();
    assert.equal(chip.wire(MSG), 1);
    assert.equal(chip.wire(SPK), 0);
    assert.equal(clock.pending(), 0);
    chip.request({ line: MSG, direction: "in" }).close();
  });
});

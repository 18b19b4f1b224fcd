// createEvdevHook: a hook switch from EV_SW or EV_KEY events, debounced and flash-aware through HookEngine.
import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/base/clock.js";
import type { BoardTiming } from "../../../../src/hal/api/board.js";
import type { HookEvent } from "../../../../src/hal/api/hook.js";
import { EV_KEY, EV_SW } from "../../../../src/hal/api/input-events.js";
import { createEvdevHook } from "../../../../src/hal/drivers/evdev-hook.js";
import { openEvdev } from "../../../../src/hal/drivers/input-evdev.js";
import { KEY_CODES, SW_CODES } from "../../../../src/hal/protocol/linux-keycodes.js";
import { EvdevEmul } from "../../../../src/hal/emul/evdev-emul.js";
import { FakeSource, waitFor } from "./helpers.js";

const TIMING: BoardTiming = {
  debounceMs: 30,
  hookFlashMinMs: 80,
  hookFlashMaxMs: 700,
  longPressMs: 1000,
  scanIntervalMs: 10,
  ledSlowMs: 500,
  ledFastMs: 125,
  ledWinkOnMs: 100,
  ledWinkOffMs: 900,
};

describe("hal/drivers evdev-hook", () => {
  it("EV_SW: a lift counts once it has held for debounceMs; bounces are ignored", async () => {
    const clock = new ManualClock();
    const src = new FakeSource();
    const hook = createEvdevHook(src, { eventType: "EV_SW", code: SW_CODES.SW_LID, offHookValue: 0 }, clock, TIMING);
    const seen: HookEvent[] = [];
    hook.onHook((ev) => seen.push(ev));
    assert.equal(hook.state(), "on");
    clock.advance(100);
    src.push(EV_SW, SW_CODES.SW_LID, 0); // lid open = handset lifted
    clock.advance(10);
    src.push(EV_SW, SW_CODES.SW_LID, 1); // bounce
    clock.advance(10);
    src.push(EV_SW, SW_CODES.SW_LID, 0);
    src.push(EV_SW, SW_CODES.SW_HEADPHONE_INSERT, 1); // another switch on the same device
    src.push(EV_KEY, SW_CODES.SW_LID, 1); // same code, other type
    clock.advance(29);
    assert.deepEqual(seen, []);
    clock.advance(1);
    assert.deepEqual(seen, [{ type: "off", tMs: 120 }]);
    assert.equal(hook.state(), "off");
    await hook.close();
    assert.equal(src.closed, true);
  });

  it("EV_KEY: a short on-hook pulse is a flash, a long one a hang-up; autorepeat is ignored", async () => {
    const clock = new ManualClock();
    const src = new FakeSource();
    const code = KEY_CODES.KEY_PHONE;
    const hook = createEvdevHook(src, { eventType: "EV_KEY", code, offHookValue: 1 }, clock, TIMING);
    const seen: string[] = [];
    hook.onHook((ev) => seen.push(ev.type));
    src.push(EV_KEY, code, 1);
    clock.advance(40);
    src.push(EV_KEY, code, 2);
    src.push(EV_KEY, code, 0);
    clock.advance(200);
    src.push(EV_KEY, code, 1);
    clock.advance(40);
    assert.deepEqual(seen, ["off", "flash"]);
    src.push(EV_KEY, code, 0);
    clock.advance(30 + 700);
    assert.deepEqual(seen, ["off", "flash", "on"]);
    await hook.close();
  });

  it("starts from a known initial value when one is given", async () => {
    const clock = new ManualClock();
    const hook = createEvdevHook(new FakeSource(), { eventType: "EV_SW", code: 0, offHookValue: 0, initialValue: 0 }, clock, TIMING);
    assert.equal(hook.state(), "off");
    await hook.close();
  });

  it("rejects a bad hook spec with PHONE_ERR_BOARD_INVALID", () => {
    const clock = new ManualClock();
    assert.throws(
      () => createEvdevHook(new FakeSource(), { eventType: "EV_ABS" as "EV_SW", code: 0, offHookValue: 1 }, clock, TIMING),
      { code: "PHONE_ERR_BOARD_INVALID" },
    );
    assert.throws(() => createEvdevHook(new FakeSource(), { eventType: "EV_SW", code: 0x11, offHookValue: 1 }, clock, TIMING), /code 0-16/);
  });

  it("works end to end over a real FIFO", async () => {
    const clock = new ManualClock();
    const emul = await EvdevEmul.create({ clock });
    try {
      const src = await openEvdev(emul.path, { recordSize: emul.recordSize });
      const hook = createEvdevHook(src, { eventType: "EV_SW", code: SW_CODES.SW_LID, offHookValue: 0, initialValue: 1 }, clock, TIMING);
      const seen: string[] = [];
      hook.onHook((ev) => seen.push(ev.type));
      let arrived = 0;
      src.onEvent(() => arrived++);
      await emul.sw(SW_CODES.SW_LID, 0);
      await waitFor(() => arrived === 2, "the switch event and its SYN_REPORT");
      clock.advance(TIMING.debounceMs);
      assert.deepEqual(seen, ["off"]);
      await hook.close();
    } finally {
      await emul.close();
    }
  });
});

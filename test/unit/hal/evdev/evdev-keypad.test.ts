// createEvdevKeypad: EV_KEY codes to key ids, by KEY_ name or number, with long press; end to end over a FIFO.
import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/base/clock.js";
import { EV_KEY, EV_SYN } from "../../../../src/hal/api/input-events.js";
import type { KeyEvent } from "../../../../src/hal/api/keypad.js";
import { createEvdevKeypad } from "../../../../src/hal/drivers/evdev-keypad.js";
import { openEvdev } from "../../../../src/hal/drivers/input-evdev.js";
import { SYN_DROPPED } from "../../../../src/hal/protocol/linux-keycodes.js";
import { EvdevEmul } from "../../../../src/hal/emul/evdev-emul.js";
import { FakeSource, waitFor } from "./helpers.js";

const brief = (evs: KeyEvent[]): string[] => evs.map((e) => `${e.key}${e.long ? "!" : e.down ? "+" : "-"}`);

const KEYMAP = {
  KEY_NUMERIC_1: "1",
  KEY_NUMERIC_STAR: "*",
  KEY_NUMERIC_POUND: "#",
  KEY_ENTER: "SEND",
  "0x160": "OK", // KEY_OK by number
  "113": "MUTE", // KEY_MUTE by decimal number
};

describe("hal/drivers evdev-keypad", () => {
  it("maps codes by name and by number; value 1 down, 0 up, 2 (autorepeat) ignored", async () => {
    const clock = new ManualClock();
    const src = new FakeSource();
    const pad = createEvdevKeypad(src, KEYMAP, clock, 0);
    const events: KeyEvent[] = [];
    pad.onKey((ev) => events.push(ev));
    assert.deepEqual([...pad.keys].sort(), ["#", "*", "1", "MUTE", "OK", "SEND"]);
    clock.advance(7);
    src.push(EV_KEY, 0x201, 1);
    src.push(EV_KEY, 0x201, 2);
    src.push(EV_KEY, 0x201, 2);
    src.push(EV_KEY, 0x201, 0);
    src.push(EV_KEY, 0x160, 1);
    src.push(EV_KEY, 0x160, 0);
    src.push(EV_KEY, 113, 1);
    src.push(EV_KEY, 28, 1);
    src.push(EV_KEY, 30, 1); // KEY_A: not in the keymap
    assert.deepEqual(brief(events), ["1+", "1-", "OK+", "OK-", "MUTE+", "SEND+"]);
    assert.equal(events[0].tMs, 7, "times come from the phone's clock");
    assert.deepEqual([...pad.down()].sort(), ["MUTE", "SEND"]);
    await pad.close();
    assert.equal(src.closed, true);
  });

  it("adds a long press after longPressMs", async () => {
    const clock = new ManualClock();
    const src = new FakeSource();
    const pad = createEvdevKeypad(src, KEYMAP, clock, 1000);
    const events: KeyEvent[] = [];
    pad.onKey((ev) => events.push(ev));
    src.push(EV_KEY, 0x20b, 1);
    clock.advance(999);
    assert.deepEqual(brief(events), ["#+"]);
    clock.advance(1);
    src.push(EV_KEY, 0x20b, 0);
    assert.deepEqual(brief(events), ["#+", "#!", "#-"]);
    await pad.close();
  });

  it("after SYN_DROPPED releases held keys and ignores events up to the next SYN_REPORT", async () => {
    const clock = new ManualClock();
    const src = new FakeSource();
    const pad = createEvdevKeypad(src, KEYMAP, clock, 0);
    const events: KeyEvent[] = [];
    pad.onKey((ev) => events.push(ev));
    src.push(EV_KEY, 28, 1);
    src.push(EV_SYN, SYN_DROPPED, 0);
    src.push(EV_KEY, 0x201, 1); // part of the broken packet
    src.push(EV_SYN, 0, 0);
    src.push(EV_KEY, 0x20a, 1);
    assert.deepEqual(brief(events), ["SEND+", "SEND-", "*+"]);
    await pad.close();
  });

  it("names the bad keymap entry with PHONE_ERR_BOARD_INVALID", () => {
    const clock = new ManualClock();
    for (const [map, entry] of [
      [{ KEY_NUMERIC_1: "1", KEY_NUMRIC_2: "2" }, "KEY_NUMRIC_2"],
      [{ "0x1000": "1" }, "0x1000"],
      [{ KEY_ENTER: "ENTERPRISE" }, "KEY_ENTER"],
      // Integer-like keys come first in a JS object, so the duplicate found is KEY_ENTER; the message names both.
      [{ KEY_ENTER: "SEND", "28": "OK" }, "KEY_ENTER"],
    ] as const) {
      const src = new FakeSource();
      assert.throws(
        () => createEvdevKeypad(src, map as Record<string, string>, clock, 0),
        (e: { code: string; message: string; details: { entry: string } }) =>
          e.code === "PHONE_ERR_BOARD_INVALID" && e.details.entry === entry && e.message.includes(`'${entry}'`),
      );
      assert.equal(src.closed, true, "the source is closed on a keymap error");
    }
    assert.throws(() => createEvdevKeypad(new FakeSource(), { KEY_ENTER: "SEND", "28": "OK" }, clock, 0), /'28' and 'KEY_ENTER' are both code 28/);
  });

  it("works end to end over a real FIFO", async () => {
    const clock = new ManualClock();
    const emul = await EvdevEmul.create({ clock });
    try {
      const src = await openEvdev(emul.path, { recordSize: emul.recordSize });
      const pad = createEvdevKeypad(src, KEYMAP, clock, 0);
      const events: KeyEvent[] = [];
      pad.onKey((ev) => events.push(ev));
      await emul.key(0x201, true);
      await emul.key(0x201, false);
      await emul.key(28, true);
      await waitFor(() => events.length === 3, "three key events");
      assert.deepEqual(brief(events), ["1+", "1-", "SEND+"]);
      await pad.close();
    } finally {
      await emul.close();
    }
  });
});

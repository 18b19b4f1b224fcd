// Tca8418Keypad against the TCA8418 emulator: configuration, FIFO drains, overflow resync, bus faults.
import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/base/clock.js";
import { isPhoneError, type PhoneError } from "../../../../src/base/errors.js";
import type { GpioLine } from "../../../../src/hal/api/gpio.js";
import type { KeyEvent } from "../../../../src/hal/api/keypad.js";
import { Tca8418Keypad, type Tca8418Handle, type Tca8418Options } from "../../../../src/hal/drivers/tca8418.js";
import { Tca8418Emul } from "../../../../src/hal/emul/tca8418-emul.js";
import { TCA8418_CFG as CFG, TCA8418_REG as REG } from "../../../../src/hal/protocol/tca8418-registers.js";
import { EmulatedI2cBus } from "../../../../src/hal/emul/i2c-bus-emul.js";

const KEYMAP_4X4 = [
  ["1", "2", "3", "SOFT1"],
  ["4", "5", "6", "SOFT2"],
  ["7", "8", "9", "SOFT3"],
  ["*", "0", "#", "SOFT4"],
];

interface Rig {
  clock: ManualClock;
  emu: Tca8418Emul;
  bus: EmulatedI2cBus;
  /** Register reads (writeRead of a one-byte register address) of `reg` seen so far. */
  readsOf(reg: number): number;
  pad: Tca8418Handle;
  int: GpioLine;
  events: KeyEvent[];
  errors: PhoneError[];
}

async function rig(opts: Partial<Tca8418Options> = {}, before?: (emu: Tca8418Emul) => void): Promise<Rig> {
  const clock = new ManualClock();
  const emu = new Tca8418Emul({ clock });
  const bus = new EmulatedI2cBus(1);
  bus.attach(0x34, emu);
  const regReads: number[] = [];
  bus.onTransfer((t) => {
    if (t.kind === "writeRead" && t.data.length === 1) regReads.push(t.data[0]);
  });
  const readsOf = (reg: number): number => regReads.filter((r) => r === reg).length;
  before?.(emu);
  const int = emu.intLine();
  const pad = await Tca8418Keypad.open(bus, { address: 0x34, int, keymap: KEYMAP_4X4, clock, ...opts });
  const events: KeyEvent[] = [];
  const errors: PhoneError[] = [];
  pad.onKey((ev) => events.push(ev));
  pad.onError((e) => errors.push(e));
  return { clock, emu, bus, readsOf, pad, int, events, errors };
}

/** Lets the driver's async I2C work run; bounded, and also moves the clock past INT_CFG's 50 µs pulses. */
async function settle(r: Rig): Promise<void> {
  for (let i = 0; i < 50; i++) {
    await new Promise<void>((res) => setImmediate(res));
    r.clock.advance(0.1);
  }
}

const brief = (evs: KeyEvent[]): string[] => evs.map((e) => `${e.key}${e.long ? "!" : e.down ? "+" : "-"}`);

describe("hal/drivers Tca8418Keypad", () => {
  it("configures KP_GPIO for the rows and columns the keymap uses, and enables key and overflow interrupts", async () => {
    const r = await rig({ keymap: [["1", "", "3"], ["", "", ""], ["", "5", ""]] });
    assert.equal(r.emu.peek(REG.KP_GPIO1), 0b101);
    assert.equal(r.emu.peek(REG.KP_GPIO2), 0b111);
    assert.equal(r.emu.peek(REG.KP_GPIO3), 0);
    const cfg = r.emu.peek(REG.CFG);
    assert.equal(cfg & (CFG.KE_IEN | CFG.OVR_FLOW_IEN), CFG.KE_IEN | CFG.OVR_FLOW_IEN);
    assert.equal(cfg & CFG.OVR_FLOW_M, 0);
    assert.deepEqual([...r.pad.keys].sort(), ["1", "3", "5"]);
    await r.pad.close();
  });

  it("reports every key of a 4x4 map, press and release, through the register protocol", async () => {
    const r = await rig();
    const expected: string[] = [];
    for (let row = 0; row < 4; row++) {
      for (let col = 0; col < 4; col++) {
        const key = KEYMAP_4X4[row][col];
        r.emu.press(row, col);
        await settle(r);
        assert.deepEqual(r.pad.down(), [key]);
        r.emu.release(row, col);
        await settle(r);
        assert.deepEqual(r.pad.down(), []);
        expected.push(`${key}+`, `${key}-`);
      }
    }
    assert.deepEqual(brief(r.events), expected);
    assert.equal(r.emu.intAsserted(), false);
    assert.equal(r.pad.stats().events, 32);
    await r.pad.close();
  });

  it("drains several events in one INT service and stamps them with the clock", async () => {
    const r = await rig();
    r.clock.advance(1000);
    const statReadsBefore = r.readsOf(0x02);
    r.emu.press(1, 1); // 5 held
    r.emu.tap(0, 0); // 1
    r.emu.tap(3, 2); // #
    await settle(r);
    assert.deepEqual(brief(r.events), ["5+", "1+", "1-", "#+", "#-"]);
    assert.deepEqual(r.pad.down(), ["5"]);
    assert.equal(r.readsOf(0x02) - statReadsBefore, 1, "one INT_STAT read: one service drained all five");
    assert.equal(r.events[0].tMs, 1000);
    assert.deepEqual(r.emu.fifo(), []);
    await r.pad.close();
  });

  it("drops stale FIFO events found at open", async () => {
    const r = await rig({}, (emu) => {
      // A previous run left the chip configured; keys were pressed while nobody listened.
      emu.write(Uint8Array.of(REG.KP_GPIO1, 0x0f));
      emu.write(Uint8Array.of(REG.KP_GPIO2, 0x0f));
      emu.tap(0, 0);
      emu.press(1, 1);
    });
    await settle(r);
    assert.deepEqual(r.events, []);
    assert.deepEqual(r.emu.fifo(), []);
    r.emu.release(1, 1); // the release of a key we never saw go down is no event
    r.emu.tap(0, 1);
    await settle(r);
    assert.deepEqual(brief(r.events), ["2+", "2-"]);
    await r.pad.close();
  });

  for (const mode of ["discard-new", "overwrite-oldest"] as const) {
    it(`on FIFO overflow (${mode}) delivers what the FIFO kept, releases held keys and counts it`, async () => {
      const r = await rig({ overflowMode: mode });
      assert.equal(r.emu.peek(REG.CFG) & CFG.OVR_FLOW_M, mode === "overwrite-oldest" ? CFG.OVR_FLOW_M : 0);
      // 14 events before the driver gets to run: 4 held first, six taps, 6 held last.
      r.emu.press(1, 0);
      for (const [row, col] of [[0, 0], [0, 1], [0, 2], [2, 0], [2, 1], [2, 2]]) r.emu.tap(row, col);
      r.emu.press(1, 2);
      await settle(r);
      const kept =
        mode === "discard-new"
          ? // the first ten, then the resync releases 4 and 8
            ["4+", "1+", "1-", "2+", "2-", "3+", "3-", "7+", "7-", "8+", "4-", "8-"]
          : // the last ten (a lone "2-" for a key never seen down is dropped), then the resync releases 6
            ["3+", "3-", "7+", "7-", "8+", "8-", "9+", "9-", "6+", "6-"];
      assert.deepEqual(brief(r.events), kept);
      assert.deepEqual(r.pad.down(), [], "resynchronised: nothing believed held");
      assert.equal(r.pad.stats().overflows, 1);
      assert.equal(r.emu.intAsserted(), false);
      // Keys work normally afterwards.
      r.emu.release(1, 0);
      r.emu.release(1, 2);
      r.emu.tap(3, 1);
      await settle(r);
      assert.deepEqual(brief(r.events.slice(kept.length)), ["0+", "0-"]);
      await r.pad.close();
    });
  }

  it("decodes column 9 (key numbers 10, 20, ...) like the kernel does", async () => {
    const wide = [0, 1].map((row) => Array.from({ length: 10 }, (_, col) => `LINE${row * 10 + col + 1}`));
    const r = await rig({ keymap: wide });
    assert.equal(r.emu.peek(REG.KP_GPIO3), 0b11, "columns 8 and 9 live in KP_GPIO3");
    r.emu.tap(0, 9);
    r.emu.tap(1, 9);
    r.emu.tap(1, 0);
    await settle(r);
    assert.deepEqual(brief(r.events), ["LINE10+", "LINE10-", "LINE20+", "LINE20-", "LINE11+", "LINE11-"]);
    await r.pad.close();
  });

  it("ignores and counts key numbers the keymap has no key for", async () => {
    const r = await rig({ keymap: [["1", "2", ""], ["4", "5", "6"]] });
    r.emu.tap(0, 2); // row 0 and column 2 are both scanned, but no key is mapped there
    r.emu.tap(1, 2);
    await settle(r);
    assert.deepEqual(brief(r.events), ["6+", "6-"]);
    assert.equal(r.pad.stats().unknownKeys, 2);
    await r.pad.close();
  });

  it("fails with PHONE_ERR_DEVICE_ABSENT naming bus and address when nothing ACKs", async () => {
    const clock = new ManualClock();
    const emu = new Tca8418Emul({ clock });
    const bus = new EmulatedI2cBus(1);
    bus.attach(0x35, emu);
    await assert.rejects(Tca8418Keypad.open(bus, { address: 0x34, int: emu.intLine(), keymap: KEYMAP_4X4, clock }), (e: unknown) => {
      assert.ok(isPhoneError(e, "PHONE_ERR_DEVICE_ABSENT"));
      assert.match(e.message, /0x34/);
      assert.match(e.message, /\/dev\/i2c-1/);
      return true;
    });
  });

  it("rejects a keymap the chip cannot scan or with unknown key names", async () => {
    const clock = new ManualClock();
    const emu = new Tca8418Emul({ clock });
    const bus = new EmulatedI2cBus(1);
    bus.attach(0x34, emu);
    const open = (keymap: string[][]): Promise<unknown> => Tca8418Keypad.open(bus, { address: 0x34, int: emu.intLine(), keymap, clock });
    await assert.rejects(open(Array.from({ length: 9 }, () => ["1"])), { code: "PHONE_ERR_BOARD_INVALID" });
    await assert.rejects(open([Array.from({ length: 11 }, (_, i) => `LINE${i + 1}`)]), { code: "PHONE_ERR_BOARD_INVALID" });
    await assert.rejects(open([["1", "FOO"]]), /\[0\]\[1\] is 'FOO'/);
  });

  it("reports an I2C error during a drain, keeps what it read, and recovers by the poll and on the next INT", async () => {
    const r = await rig({ recoveryPollMs: 100 });
    r.emu.failRead(REG.KEY_EVENT_A, { after: 1 });
    r.emu.tap(0, 0);
    r.emu.tap(0, 1);
    for (let i = 0; i < 10; i++) await new Promise<void>((res) => setImmediate(res));
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0].code, "PHONE_ERR_I2C_IO");
    assert.match(r.errors[0].message, /TCA8418 at 0x34 on I2C bus 1/);
    assert.deepEqual(brief(r.events), ["1+"], "the event read before the fault is delivered");
    assert.equal(r.emu.intAsserted(), true, "INT stays asserted: the FIFO still holds three events");
    assert.equal(r.pad.stats().errors, 1);
    // No new edge can come while INT is held low: the recovery poll picks it up.
    await r.clock.advanceAsync(100);
    await settle(r);
    assert.deepEqual(brief(r.events), ["1+", "1-", "2+", "2-"]);
    assert.equal(r.emu.intAsserted(), false);
    r.emu.tap(2, 2);
    await settle(r);
    assert.deepEqual(brief(r.events).slice(4), ["9+", "9-"]);
    assert.equal(r.errors.length, 1);
    await r.pad.close();
  });

  it("still finds key events by the poll when the INT line reports no useful edges", async () => {
    const clock = new ManualClock();
    const emu = new Tca8418Emul({ clock });
    const bus = new EmulatedI2cBus(1);
    bus.attach(0x34, emu);
    // Edge "falling" on a logical active-low line fires only when INT is released: the wrong way round.
    const pad = await Tca8418Keypad.open(bus, { address: 0x34, int: emu.intLine({ edge: "falling" }), keymap: KEYMAP_4X4, clock, recoveryPollMs: 50 });
    const events: KeyEvent[] = [];
    pad.onKey((ev) => events.push(ev));
    emu.tap(1, 1);
    for (let i = 0; i < 10; i++) await new Promise<void>((res) => setImmediate(res));
    assert.deepEqual(events, []);
    await clock.advanceAsync(50);
    for (let i = 0; i < 10; i++) await new Promise<void>((res) => setImmediate(res));
    assert.deepEqual(brief(events), ["5+", "5-"]);
    await pad.close();
  });

  it("adds long presses when longPressMs is given, and still exposes stats", async () => {
    const r = await rig({ longPressMs: 800 });
    r.emu.press(3, 1);
    await settle(r);
    await r.clock.advanceAsync(800);
    r.emu.release(3, 1);
    await settle(r);
    assert.deepEqual(brief(r.events), ["0+", "0!", "0-"]);
    assert.equal(r.pad.stats().events, 2);
    await r.pad.close();
  });

  it("releases held keys and stops listening on close", async () => {
    const r = await rig();
    r.emu.press(0, 3);
    await settle(r);
    await r.pad.close();
    assert.deepEqual(brief(r.events), ["SOFT1+", "SOFT1-"]);
    r.emu.release(0, 3);
    r.emu.tap(0, 0);
    await settle(r);
    assert.equal(r.events.length, 2);
    assert.equal(r.clock.pending(), 0, "no recovery poll left running");
    assert.throws(() => r.int.read(), { code: "PHONE_ERR_DEVICE_CLOSED" }, "the INT line is released");
  });
});

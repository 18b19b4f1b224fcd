// The TCA8418 emulator's register protocol, driven with raw bytes as a host would send them.
import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/base/clock.js";
import { Tca8418Emul } from "../../../../src/hal/emul/tca8418-emul.js";
import { TCA8418_CFG as CFG, TCA8418_INT as INT, TCA8418_REG as REG } from "../../../../src/hal/protocol/tca8418-registers.js";

function setup(cfg: number = CFG.KE_IEN | CFG.OVR_FLOW_IEN): { emu: Tca8418Emul; clock: ManualClock } {
  const clock = new ManualClock();
  const emu = new Tca8418Emul({ clock });
  // Every row and column in keypad mode.
  emu.write(Uint8Array.of(REG.KP_GPIO1, 0xff));
  emu.write(Uint8Array.of(REG.KP_GPIO2, 0xff));
  emu.write(Uint8Array.of(REG.KP_GPIO3, 0x03));
  emu.write(Uint8Array.of(REG.CFG, cfg));
  return { emu, clock };
}

function readReg(emu: Tca8418Emul, reg: number): number {
  emu.write(Uint8Array.of(reg));
  return emu.read(1)[0];
}

describe("hal/emul Tca8418Emul", () => {
  it("numbers keys row*10+col+1 with bit 7 set on press (the datasheet's FIFO example)", () => {
    const { emu } = setup();
    // Datasheet sequence: 1 press, 32 press, 1 release, 32 release, 23 press/release, 45 press, 41 press/release, 45 release.
    emu.press(0, 0);
    emu.press(3, 1);
    emu.release(0, 0);
    emu.release(3, 1);
    emu.tap(2, 2);
    emu.press(4, 4);
    emu.tap(4, 0);
    emu.release(4, 4);
    assert.deepEqual(emu.fifo(), [0x81, 0xa0, 0x01, 0x20, 0x97, 0x17, 0xad, 0xa9, 0x29, 0x2d]);
    assert.equal(readReg(emu, REG.KEY_LCK_EC) & 0x0f, 10);
    const popped: number[] = [];
    for (let ev = readReg(emu, REG.KEY_EVENT_A); ev !== 0; ev = readReg(emu, REG.KEY_EVENT_A)) popped.push(ev);
    assert.deepEqual(popped, [0x81, 0xa0, 0x01, 0x20, 0x97, 0x17, 0xad, 0xa9, 0x29, 0x2d]);
    assert.equal(readReg(emu, REG.KEY_LCK_EC) & 0x0f, 0);
  });

  it("KEY_EVENT_B..J show the FIFO without popping it", () => {
    const { emu } = setup();
    emu.tap(0, 1);
    assert.equal(readReg(emu, REG.KEY_EVENT_A + 1), 0x02);
    assert.equal(readReg(emu, REG.KEY_LCK_EC) & 0x0f, 2);
    assert.equal(readReg(emu, REG.KEY_EVENT_A), 0x82);
    assert.equal(readReg(emu, REG.KEY_EVENT_A), 0x02);
  });

  it("auto-increments the register pointer only with CFG.AI", () => {
    const { emu } = setup(0);
    emu.write(Uint8Array.of(REG.KP_GPIO1, 0x0f, 0x3f, 0x01));
    // Without AI every byte lands in KP_GPIO1.
    assert.equal(emu.peek(REG.KP_GPIO1), 0x01);
    assert.equal(emu.peek(REG.KP_GPIO2), 0xff);
    emu.write(Uint8Array.of(REG.CFG, CFG.AI));
    emu.write(Uint8Array.of(REG.KP_GPIO1, 0x0f, 0x3f, 0x01));
    assert.deepEqual([emu.peek(REG.KP_GPIO1), emu.peek(REG.KP_GPIO2), emu.peek(REG.KP_GPIO3)], [0x0f, 0x3f, 0x01]);
    emu.write(Uint8Array.of(REG.KP_GPIO1));
    assert.deepEqual([...emu.read(3)], [0x0f, 0x3f, 0x01]);
  });

  it("only keys whose row and column are in keypad mode make events", () => {
    const clock = new ManualClock();
    const emu = new Tca8418Emul({ clock });
    emu.write(Uint8Array.of(REG.KP_GPIO1, 0x01)); // row 0
    emu.write(Uint8Array.of(REG.KP_GPIO2, 0x02)); // col 1
    emu.tap(0, 0);
    emu.tap(1, 1);
    emu.tap(0, 1);
    assert.deepEqual(emu.fifo(), [0x82, 0x02]);
  });

  it("asserts INT (logical 1, wire low) while KE_IEN is set and the FIFO holds events, with edges on the clock", () => {
    const { emu, clock } = setup(0);
    const line = emu.intLine();
    const edges: [number, number][] = [];
    line.watch((level, t) => edges.push([level, t]));
    emu.tap(0, 0);
    assert.equal(line.read(), 0, "KE_IEN clear: no INT");
    assert.equal(readReg(emu, REG.INT_STAT) & INT.K_INT, INT.K_INT, "the status bit is set anyway");
    clock.advance(5);
    emu.write(Uint8Array.of(REG.CFG, CFG.KE_IEN));
    assert.equal(line.read(), 1);
    assert.equal(emu.intAsserted(), true);
    assert.deepEqual(edges, [[1, 5]]);
    // Clearing K_INT while events remain does nothing (datasheet: not cleared until the FIFO is empty).
    emu.write(Uint8Array.of(REG.INT_STAT, INT.K_INT));
    assert.equal(line.read(), 1);
    readReg(emu, REG.KEY_EVENT_A);
    readReg(emu, REG.KEY_EVENT_A);
    clock.advance(1);
    emu.write(Uint8Array.of(REG.INT_STAT, INT.K_INT));
    assert.equal(line.read(), 0);
    assert.equal(readReg(emu, REG.INT_STAT), 0);
    assert.deepEqual(edges, [[1, 5], [0, 6]]);
  });

  it("honours the requested polarity and edge on the INT line", () => {
    const { emu } = setup();
    const raw = emu.intLine({ activeLow: false, edge: "falling" });
    const seen: number[] = [];
    raw.watch((level) => seen.push(level));
    emu.press(0, 0);
    assert.equal(raw.read(), 0, "active-high view of a low wire");
    assert.deepEqual(seen, [0]);
    assert.throws(() => raw.write(1), /INT/);
    raw.close();
    assert.throws(() => raw.read(), /closed/);
  });

  it("with INT_CFG pulses INT high for 50 µs when the host clears while an interrupt is pending", () => {
    const { emu, clock } = setup(CFG.KE_IEN | CFG.INT_CFG);
    const line = emu.intLine();
    const edges: number[] = [];
    line.watch((level) => edges.push(level));
    emu.tap(0, 0);
    readReg(emu, REG.KEY_EVENT_A); // one of two read
    emu.write(Uint8Array.of(REG.INT_STAT, INT.K_INT));
    assert.equal(line.read(), 0, "deasserted during the pulse");
    clock.advance(0.05);
    assert.equal(line.read(), 1, "reasserted: the host gets a fresh edge");
    assert.deepEqual(edges, [1, 0, 1]);
  });

  for (const [mode, cfg, expected] of [
    ["OVR_FLOW_M = 0 drops new events", CFG.KE_IEN | CFG.OVR_FLOW_IEN, [0x81, 0x01, 0x82, 0x02, 0x83, 0x03, 0x84, 0x04, 0x85, 0x05]],
    ["OVR_FLOW_M = 1 pushes the oldest out", CFG.KE_IEN | CFG.OVR_FLOW_IEN | CFG.OVR_FLOW_M, [0x82, 0x02, 0x83, 0x03, 0x84, 0x04, 0x85, 0x05, 0x86, 0x06]],
  ] as const) {
    it(`on overflow sets OVR_FLOW; ${mode}`, () => {
      const { emu } = setup(cfg);
      for (let c = 0; c < 6; c++) emu.tap(0, c);
      assert.deepEqual(emu.fifo(), expected);
      assert.equal(readReg(emu, REG.KEY_LCK_EC) & 0x0f, 10);
      assert.equal(readReg(emu, REG.INT_STAT), INT.K_INT | INT.OVR_FLOW);
      for (let i = 0; i < 10; i++) readReg(emu, REG.KEY_EVENT_A);
      emu.write(Uint8Array.of(REG.INT_STAT, INT.K_INT | INT.OVR_FLOW));
      assert.equal(readReg(emu, REG.INT_STAT), 0);
      assert.equal(emu.intAsserted(), false);
    });
  }

  it("injects bus faults for the next transfers or for reads of one register", () => {
    const { emu } = setup();
    emu.failNext();
    assert.throws(() => emu.write(Uint8Array.of(REG.CFG)), { code: "PHONE_ERR_I2C_IO" });
    emu.tap(0, 0);
    emu.failRead(REG.KEY_EVENT_A, { after: 1 });
    assert.equal(readReg(emu, REG.KEY_EVENT_A), 0x81);
    assert.throws(() => readReg(emu, REG.KEY_EVENT_A), { code: "PHONE_ERR_I2C_IO" });
    assert.equal(readReg(emu, REG.KEY_EVENT_A), 0x01, "the failed read popped nothing");
  });

  it("rejects positions outside 8 rows x 10 columns", () => {
    const { emu } = setup();
    assert.throws(() => emu.press(8, 0), { code: "PHONE_ERR_BAD_REQUEST" });
    assert.throws(() => emu.press(0, 10), { code: "PHONE_ERR_BAD_REQUEST" });
  });
});

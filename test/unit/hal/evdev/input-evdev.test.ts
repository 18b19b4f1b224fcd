// openEvdev reading struct input_event records from a real FIFO (EvdevEmul), through the same fs path as a device.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../../../src/base/clock.js";
import type { PhoneError } from "../../../../src/base/errors.js";
import { EV_KEY, EV_SW, EV_SYN, type InputEvent } from "../../../../src/hal/api/input-events.js";
import { decodeInputEvent, defaultRecordSize, openEvdev, type EvdevInputSource } from "../../../../src/hal/drivers/input-evdev.js";
import { EvdevEmul, encodeInputEvent } from "../../../../src/hal/emul/evdev-emul.js";
import { waitFor } from "./helpers.js";

describe("hal/drivers input-evdev", () => {
  let emul: EvdevEmul | undefined;
  let src: EvdevInputSource | undefined;

  afterEach(async () => {
    await src?.close();
    await emul?.close(); // closing the writer ends any read still blocked in the thread pool
    src = undefined;
    emul = undefined;
  });

  async function pair(recordSize: 16 | 24, clock = new ManualClock(0, Date.UTC(2026, 0, 1))): Promise<{ events: InputEvent[] }> {
    emul = await EvdevEmul.create({ recordSize, clock });
    src = await openEvdev(emul.path, { recordSize });
    const events: InputEvent[] = [];
    src.onEvent((ev) => events.push(ev));
    return { events };
  }

  it("picks 16-byte records for 32-bit Node and 24-byte ones for 64-bit", () => {
    assert.equal(defaultRecordSize("arm"), 16);
    assert.equal(defaultRecordSize("ia32"), 16);
    assert.equal(defaultRecordSize("arm64"), 24);
    assert.equal(defaultRecordSize("x64"), 24);
  });

  for (const size of [24, 16] as const) {
    it(`reads ${size}-byte records through a FIFO, with the kernel timestamp`, async () => {
      const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
      clock.advance(1234.567);
      const { events } = await pair(size, clock);
      await emul!.key(30, true);
      await emul!.sw(2, 1);
      await emul!.event(EV_KEY, 30, 2);
      await emul!.key(30, false);
      await waitFor(() => events.length === 7, "7 events");
      assert.deepEqual(
        events.map((e) => [e.type, e.code, e.value]),
        [[EV_KEY, 30, 1], [EV_SYN, 0, 0], [EV_SW, 2, 1], [EV_SYN, 0, 0], [EV_KEY, 30, 2], [EV_KEY, 30, 0], [EV_SYN, 0, 0]],
      );
      assert.equal(events[0].tMs, Date.UTC(2026, 0, 1) + 1234.567);
    });
  }

  it("lays records out as the kernel does (hand-built little-endian bytes)", async () => {
    assert.equal(os.endianness(), "LE", "these bytes are little-endian, as on x86 and ARM Linux");
    // 32-bit: sec=100, usec=500000, EV_SW, SW_LID, value 1.
    const rec16 = Buffer.from([100, 0, 0, 0, 0x20, 0xa1, 0x07, 0, 5, 0, 0, 0, 1, 0, 0, 0]);
    // 64-bit: sec=100, usec=250, EV_KEY, KEY_NUMERIC_POUND (0x20b), value 1.
    const rec24 = Buffer.from([100, 0, 0, 0, 0, 0, 0, 0, 250, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x0b, 0x02, 1, 0, 0, 0]);
    const { events } = await pair(16);
    await emul!.writeRaw(rec16);
    await waitFor(() => events.length === 1, "the 16-byte record");
    assert.deepEqual(events[0], { type: EV_SW, code: 0, value: 1, tMs: 100_500 });
    assert.deepEqual(decodeInputEvent(rec24, 0, 24), { type: EV_KEY, code: 0x20b, value: 1, tMs: 100_000.25 });
    assert.deepEqual(encodeInputEvent(EV_KEY, 0x20b, 1, 100_000.25, 24), rec24);
    assert.deepEqual(encodeInputEvent(EV_SW, 0, 1, 100_500, 16), rec16);
  });

  it("reassembles records split across reads", async () => {
    const { events } = await pair(24);
    const a = emul!.encode(EV_KEY, 2, 1);
    const b = emul!.encode(EV_KEY, 2, 0);
    const both = Buffer.concat([a, b]);
    await emul!.writeRaw(both.subarray(0, 10));
    await new Promise((r) => setTimeout(r, 30)); // let the reader see the first fragment on its own
    assert.equal(events.length, 0);
    await emul!.writeRaw(both.subarray(10, 31));
    await waitFor(() => events.length === 1, "the first record");
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(events.length, 1, "the second record is still incomplete");
    await emul!.writeRaw(both.subarray(31));
    await waitFor(() => events.length === 2, "the second record");
    assert.deepEqual(events.map((e) => [e.code, e.value]), [[2, 1], [2, 0]]);
  });

  it("decodes negative values and large 64-bit timestamps", () => {
    const rec = encodeInputEvent(3, 1, -42, 4102444800123.25, 24); // 2100-01-01, past 2038
    const ev = decodeInputEvent(rec, 0, 24);
    assert.deepEqual([ev.type, ev.code, ev.value], [3, 1, -42]);
    assert.equal(ev.tMs, 4102444800123.25);
    const small = decodeInputEvent(encodeInputEvent(1, 2, 1, 2200000000000, 16), 0, 16); // 2039: unsigned 32-bit sec
    assert.equal(small.tMs, 2200000000000);
  });

  it("fails with PHONE_ERR_DEVICE_ABSENT for a missing device path", async () => {
    const missing = path.join(os.tmpdir(), "no-such-dir-evdev", "event9");
    assert.equal(existsSync(missing), false);
    await assert.rejects(openEvdev(missing), (e: PhoneError) => {
      assert.equal(e.code, "PHONE_ERR_DEVICE_ABSENT");
      assert.ok(e.message.includes(missing));
      return true;
    });
  });

  it("reports the end of the stream when the writer goes away", async () => {
    await pair(24);
    const errors: PhoneError[] = [];
    src!.onError((e) => errors.push(e));
    await emul!.close();
    await waitFor(() => errors.length === 1, "an end-of-stream report");
    assert.match(errors[0].message, /end of stream/);
    assert.ok(errors[0].message.includes(emul!.path));
  });

  it("removes its temp dir on close", async () => {
    await pair(24);
    const dir = path.dirname(emul!.path);
    assert.equal(existsSync(dir), true);
    await src!.close();
    await emul!.close();
    assert.equal(existsSync(dir), false);
  });
});

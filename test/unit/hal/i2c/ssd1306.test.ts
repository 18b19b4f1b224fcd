// Ssd1306Display against the SSD1306 emulator: init, pixel-exact frames, dirty pages only, power/contrast, faults.
import assert from "node:assert/strict";
import { inflateSync } from "node:zlib";
import { ManualClock } from "../../../../src/base/clock.js";
import { isPhoneError } from "../../../../src/base/errors.js";
import type { MonoFrame } from "../../../../src/hal/api/display.js";
import { Ssd1306Display } from "../../../../src/hal/drivers/ssd1306.js";
import { EmulatedI2cBus } from "../../../../src/hal/emul/i2c-bus-emul.js";
import { Ssd1306Emul } from "../../../../src/hal/emul/ssd1306-emul.js";
import { rejection, withClock } from "./helpers.js";

interface Rig {
  clock: ManualClock;
  bus: EmulatedI2cBus;
  emu: Ssd1306Emul;
  oled: Ssd1306Display;
}

async function rig(height: 64 | 32 = 64): Promise<Rig> {
  const clock = new ManualClock();
  const bus = new EmulatedI2cBus(1);
  const emu = new Ssd1306Emul({ width: 128, height });
  bus.attach(0x3c, emu);
  const oled = await withClock(clock, Ssd1306Display.open(bus, { address: 0x3c, width: 128, height, clock }));
  return { clock, bus, emu, oled };
}

/** A deterministic busy picture (xorshift), so every page and column has lit and dark pixels. */
function noise(width: number, height: number, seed: number): MonoFrame {
  let s = seed >>> 0 || 1;
  const pixels = new Uint8Array(width * height);
  for (let i = 0; i < pixels.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    pixels[i] = (s >>> 0) % 3 === 0 ? 1 : 0;
  }
  return { width, height, pixels };
}

const blank = (height = 64): MonoFrame => ({ width: 128, height, pixels: new Uint8Array(128 * height) });
const copy = (f: MonoFrame): MonoFrame => ({ ...f, pixels: f.pixels.slice() });

describe("hal/drivers Ssd1306Display", () => {
  for (const height of [64, 32] as const) {
    it(`initialises a 128x${height}: on, charge pump, page addressing, upright, RAM cleared`, async () => {
      const clock = new ManualClock();
      const bus = new EmulatedI2cBus(1);
      const emu = new Ssd1306Emul({ width: 128, height });
      // power-up noise in GDDRAM, which must never be seen
      emu.write(Uint8Array.of(0x40, ...new Array(128).fill(0xff)));
      bus.attach(0x3c, emu);
      await withClock(clock, Ssd1306Display.open(bus, { address: 0x3c, width: 128, height, clock }));
      const s = emu.state();
      assert.deepEqual(
        [s.displayOn, s.chargePump, s.addressing, s.segmentRemap, s.comScanReversed, s.multiplex, s.comPins, s.inverted, s.entireOn],
        [true, true, "page", true, true, height - 1, height === 64 ? 0x12 : 0x02, false, false],
      );
      for (let p = 0; p < 8; p++) assert.equal(emu.ramByte(p, 0), 0, `page ${p} cleared`);
      assert.ok(emu.frame().pixels.every((px) => px === 0));
    });
  }

  it("shows a frame pixel-exact, on both panel heights", async () => {
    for (const height of [64, 32] as const) {
      const r = await rig(height);
      const f = noise(128, height, 42 + height);
      await r.oled.present(f);
      assert.deepEqual(r.emu.frame().pixels, f.pixels);
    }
  });

  it("sends only the columns that changed, one transfer per run within a page", async () => {
    const r = await rig();
    const f = noise(128, 64, 7);
    await r.oled.present(f);
    const before = r.emu.bytesReceived;
    const stats = r.oled.stats;
    await r.oled.present(copy(f));
    assert.equal(r.emu.bytesReceived, before, "the same frame sends nothing");

    const g = copy(f);
    for (let x = 10; x < 20; x++) g.pixels[9 * 128 + x] ^= 1; // row 9: page 1, columns 10-19
    g.pixels[40 * 128 + 3] ^= 1; // page 5, column 3 ...
    g.pixels[41 * 128 + 100] ^= 1; // ... and column 100: two runs (the gap is too long to merge)
    await r.oled.present(g);
    assert.deepEqual(r.emu.frame().pixels, g.pixels);
    // each run: 80 B0+p 80 lo 80 hi 40 = 7 bytes of header, then the data
    assert.equal(r.emu.bytesReceived - before, 7 + 10 + (7 + 1) * 2);
    assert.equal(r.oled.stats.writes - stats.writes, 3);
  });

  it("sends a whole frame as 8 pages of 128 bytes when everything changed", async () => {
    const r = await rig();
    const f = noise(128, 64, 9);
    await r.oled.present(f);
    const before = r.emu.bytesReceived;
    const inv = copy(f);
    inv.pixels.forEach((p, i) => (inv.pixels[i] = p ? 0 : 1));
    await r.oled.present(inv);
    assert.equal(r.emu.bytesReceived - before, 8 * (7 + 128));
    assert.deepEqual(r.emu.frame().pixels, inv.pixels);
  });

  it("switches the panel off and on, and sets the contrast", async () => {
    const r = await rig();
    const f = noise(128, 64, 3);
    await r.oled.present(f);
    await r.oled.setPower(false);
    assert.equal(r.emu.state().displayOn, false);
    assert.ok(r.emu.frame().pixels.every((p) => p === 0), "dark while off");
    await r.oled.setPower(true);
    assert.deepEqual(r.emu.frame().pixels, f.pixels, "RAM kept while off");
    await r.oled.setContrast(0x42);
    assert.equal(r.emu.state().contrast, 0x42);
    await assert.rejects(r.oled.setContrast(256), { code: "PHONE_ERR_BAD_REQUEST" });
    await assert.rejects(r.oled.present(blank(32)), { code: "PHONE_ERR_BAD_REQUEST" });
  });

  it("on a NACK rejects with I2C_NACK naming the panel, then the next frame is sent whole and exact", async () => {
    const r = await rig();
    await r.oled.present(noise(128, 64, 1));
    const g = noise(128, 64, 2);
    r.bus.failNext(0x3c, "nack");
    const err = await rejection(r.clock, r.oled.present(g));
    assert.ok(isPhoneError(err, "PHONE_ERR_I2C_NACK"), String(err));
    assert.match(err.message, /SSD1306 at 0x3c on \/dev\/i2c-1/);
    const before = r.emu.bytesReceived;
    await r.oled.present(g);
    assert.deepEqual(r.emu.frame().pixels, g.pixels);
    assert.ok(r.emu.bytesReceived - before >= 8 * (7 + 128), "every page resent");
  });

  it("on an EIO in the middle of a page, repaints the page the next time even if the frame is the same", async () => {
    const r = await rig();
    const f = noise(128, 64, 5);
    await r.oled.present(blank());
    r.bus.failNext(0x3c, "eio", 1, { afterBytes: 7 + 60 }); // page 0: the header and 60 of 128 columns land
    const err = await rejection(r.clock, r.oled.present(f));
    assert.ok(isPhoneError(err, "PHONE_ERR_I2C_IO"), String(err));
    assert.notDeepEqual(r.emu.frame().pixels, f.pixels);
    await r.oled.present(f);
    assert.deepEqual(r.emu.frame().pixels, f.pixels);
    assert.equal(r.oled.stats.errors, 1);
  });

  it("re-initialises a panel that was unplugged and came back in its reset state", async () => {
    const r = await rig();
    await r.oled.setContrast(0x10);
    const f = noise(128, 64, 11);
    await r.oled.present(f);
    r.bus.detach(0x3c);
    await assert.rejects(r.oled.present(noise(128, 64, 12)), { code: "PHONE_ERR_I2C_NACK" });
    r.emu.reset();
    r.bus.attach(0x3c, r.emu);
    await r.oled.present(f);
    assert.deepEqual([r.emu.state().displayOn, r.emu.state().chargePump, r.emu.state().contrast], [true, true, 0x10]);
    assert.deepEqual(r.emu.frame().pixels, f.pixels);
  });

  it("fails to open with DEVICE_ABSENT naming part and address when nothing answers", async () => {
    const clock = new ManualClock();
    const bus = new EmulatedI2cBus(1);
    const err = await rejection(clock, Ssd1306Display.open(bus, { address: 0x3d, width: 128, height: 64, clock }));
    assert.ok(isPhoneError(err, "PHONE_ERR_DEVICE_ABSENT"), String(err));
    assert.match(err.message, /SSD1306/);
    assert.match(err.message, /0x3d on \/dev\/i2c-1/);
  });

  it("snapshots the glass as a valid grayscale PNG with the right pixels", async () => {
    const r = await rig(32);
    const f = noise(128, 32, 99);
    await r.oled.present(f);
    const png = r.emu.toPng();
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const ihdr = png.subarray(16, 29);
    assert.deepEqual([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9]], [128, 32, 8, 0]);
    const idatLen = png.readUInt32BE(33);
    assert.equal(png.toString("latin1", 37, 41), "IDAT");
    const raw = inflateSync(png.subarray(41, 41 + idatLen));
    assert.equal(raw.length, 32 * 129);
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 128; x++) assert.equal(raw[y * 129 + 1 + x], f.pixels[y * 128 + x] ? 255 : 0, `pixel ${x},${y}`);
  });
});

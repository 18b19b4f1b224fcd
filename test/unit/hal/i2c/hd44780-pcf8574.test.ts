// Hd44780Pcf8574Display against the emulated backpack: init, text, diffs, glyphs, backlight, faults, recovery.
import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/base/clock.js";
import { isPhoneError } from "../../../../src/base/errors.js";
import { Hd44780Pcf8574Display } from "../../../../src/hal/drivers/hd44780-pcf8574.js";
import { EmulatedI2cBus } from "../../../../src/hal/emul/i2c-bus-emul.js";
import { Hd44780Pcf8574Emul } from "../../../../src/hal/emul/hd44780-pcf8574-emul.js";
import { rejection, withClock } from "./helpers.js";

interface Rig {
  clock: ManualClock;
  bus: EmulatedI2cBus;
  emu: Hd44780Pcf8574Emul;
  lcd: Hd44780Pcf8574Display;
}

async function rig(cols: 16 | 20 = 16, rows: 2 | 4 = 2): Promise<Rig> {
  const clock = new ManualClock();
  const bus = new EmulatedI2cBus(1);
  const emu = new Hd44780Pcf8574Emul({ cols, rows });
  bus.attach(0x27, emu);
  const lcd = await withClock(clock, Hd44780Pcf8574Display.open(bus, { address: 0x27, cols, rows, clock }));
  return { clock, bus, emu, lcd };
}

const ROWS_20X4 = ["Line one: 20 chars!!", "second row, abcdefgh", "3rd: 0123456789ABCDE", "last row ends here.."];

describe("hal/drivers Hd44780Pcf8574Display", () => {
  it("initialises the controller into 4-bit, 2-line mode, display on, cursor off, blank, backlight on", async () => {
    const r = await rig();
    const s = r.emu.state();
    assert.deepEqual(
      { fourBit: s.fourBit, twoLine: s.twoLine, displayOn: s.displayOn, cursorOn: s.cursorOn, blinkOn: s.blinkOn, increment: s.increment, shift: s.shiftOnWrite, midByte: s.midByte },
      { fourBit: true, twoLine: true, displayOn: true, cursorOn: false, blinkOn: false, increment: true, shift: false, midByte: false },
    );
    assert.equal(r.emu.backlight(), true);
    assert.deepEqual(r.emu.text(), [" ".repeat(16), " ".repeat(16)]);
  });

  it("waits through the clock: the power-on wait and the 4.1 ms after the first nibble", async () => {
    const clock = new ManualClock();
    const bus = new EmulatedI2cBus(1);
    const emu = new Hd44780Pcf8574Emul({ cols: 16, rows: 2 });
    bus.attach(0x27, emu);
    const opening = Hd44780Pcf8574Display.open(bus, { address: 0x27, cols: 16, rows: 2, clock });
    for (let i = 0; i < 20; i++) await new Promise<void>((res) => setImmediate(res));
    assert.equal(emu.portWrites, 1, "only the first port byte before 40 ms have passed");
    await clock.advanceAsync(50);
    assert.equal(emu.portWrites, 3, "one nibble, then the 4.1 ms wait");
    await withClock(clock, opening);
    assert.ok(clock.now() >= 50 + 4.1 + 2);
  });

  for (const [cols, rows, lines] of [
    [16, 2, ["Hello, world 123", "second line here"]],
    [20, 4, ROWS_20X4],
  ] as const) {
    it(`shows text at every row of a ${cols}x${rows} and reads back exactly`, async () => {
      const r = await rig(cols, rows);
      await r.lcd.show(lines);
      assert.deepEqual(r.emu.text(), lines);
      await r.lcd.show(lines.map((l) => l.slice(0, 3)));
      assert.deepEqual(r.emu.text(), lines.map((l) => l.slice(0, 3).padEnd(cols)));
      for (let row = 0; row < rows; row++) await r.lcd.write(row, cols - 4, `r${row}xyzzy`);
      assert.deepEqual(r.emu.text(), lines.map((l, row) => l.slice(0, 3).padEnd(cols - 4) + `r${row}xy`), "write() clips at the row end");
    });
  }

  it("uses the DDRAM row offsets 0x00, 0x40, 0x14, 0x54 on a 20x4", async () => {
    const r = await rig(20, 4);
    await r.lcd.show(ROWS_20X4);
    for (let row = 0; row < 4; row++) {
      await r.lcd.write(row, 0, "#");
      const addr = r.emu.state().address - 1; // the counter moved past the cell just written
      assert.equal(addr, [0x00, 0x40, 0x14, 0x54][row]);
    }
  });

  it("sends only the characters that changed", async () => {
    const r = await rig(20, 4);
    await r.lcd.show(ROWS_20X4);
    const before = r.emu.portWrites;
    const writesBefore = r.lcd.stats.writes;
    await r.lcd.show(ROWS_20X4);
    assert.equal(r.emu.portWrites, before, "an unchanged screen sends nothing");
    const next = [...ROWS_20X4];
    next[1] = "second ROW, abcdefgh"; // 3 adjacent cells
    next[3] = "Last row ends here.!"; // 2 cells far apart
    await r.lcd.show(next);
    assert.deepEqual(r.emu.text(), next);
    // each run: 4 port bytes for the DDRAM address + 4 per character
    assert.equal(r.emu.portWrites - before, 4 + 3 * 4 + (4 + 4) * 2);
    assert.equal(r.lcd.stats.writes - writesBefore, 3, "one I2C write per run");
  });

  it("defines custom glyphs that read back from CGRAM and show in text as \\u0000..\\u0007", async () => {
    const r = await rig();
    const bell = [0x04, 0x0e, 0x0e, 0x0e, 0x1f, 0x00, 0x04, 0x00];
    await r.lcd.defineGlyph(2, bell);
    await r.lcd.defineGlyph(7, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(r.emu.glyph(2), bell);
    assert.deepEqual(r.emu.glyph(7), [1, 2, 3, 4, 5, 6, 7, 8]);
    await r.lcd.show(["\u0002 ring", "x\u0007"]);
    assert.deepEqual(r.emu.text(), ["\u0002 ring".padEnd(16), "x\u0007".padEnd(16)]);
    assert.equal(r.emu.cellCodes()[0][0], 2);
    await assert.rejects(r.lcd.defineGlyph(8, bell), { code: "PHONE_ERR_BAD_REQUEST" });
    await assert.rejects(r.lcd.defineGlyph(0, [1, 2, 3]), { code: "PHONE_ERR_BAD_REQUEST" });
  });

  it("switches the backlight and keeps it through later writes", async () => {
    const r = await rig();
    await r.lcd.setBacklight(false);
    assert.equal(r.emu.backlight(), false);
    await r.lcd.show(["dark", ""]);
    assert.equal(r.emu.backlight(), false);
    assert.equal(r.emu.text()[0], "dark".padEnd(16));
    await r.lcd.setBacklight(true);
    assert.equal(r.emu.backlight(), true);
  });

  it("maps characters outside the A00 ROM to look-alikes or '?'", async () => {
    const r = await rig();
    await r.lcd.show(["21°C µs ß→ ä", "~é\\ñ€ “x”"]);
    assert.deepEqual(r.emu.text(), ["21°C μs β→ ä".padEnd(16), "-e?ñ? \"x\"".padEnd(16)]);
  });

  it("clears the screen and the shadow", async () => {
    const r = await rig();
    await r.lcd.show(["abc", "def"]);
    await withClock(r.clock, r.lcd.clear());
    assert.deepEqual(r.emu.text(), [" ".repeat(16), " ".repeat(16)]);
    await r.lcd.show(["abc", "def"]);
    assert.deepEqual(r.emu.text(), ["abc".padEnd(16), "def".padEnd(16)], "the shadow knew the glass was blank");
  });

  it("on a NACK mid-frame rejects with I2C_NACK naming the display, then the next show() repaints", async () => {
    const r = await rig(20, 4);
    await r.lcd.show(ROWS_20X4);
    const next = ROWS_20X4.map((l) => l.toUpperCase());
    r.bus.failNext(0x27, "nack", 1);
    const err = await rejection(r.clock, r.lcd.show(next));
    assert.ok(isPhoneError(err, "PHONE_ERR_I2C_NACK"), String(err));
    assert.match(err.message, /HD44780\/PCF8574 at 0x27 on \/dev\/i2c-1/);
    assert.equal(r.lcd.stats.errors, 1);
    await withClock(r.clock, r.lcd.show(next));
    assert.deepEqual(r.emu.text(), next);
  });

  it("on an EIO that leaves the controller between nibbles, resynchronises and repaints, glyphs included", async () => {
    const r = await rig(20, 4);
    const glyph = [0x1f, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1f, 0x00];
    await r.lcd.defineGlyph(1, glyph);
    await r.lcd.show(ROWS_20X4);
    // The run for row 2 breaks after 6 port bytes: the address (2 nibbles) and one nibble of the first character.
    const next = [...ROWS_20X4];
    next[2] = "\u0001rd: 0123456789ABCDE";
    r.bus.failNext(0x27, "eio", 1, { afterBytes: 6 });
    const err = await rejection(r.clock, r.lcd.show(next));
    assert.ok(isPhoneError(err, "PHONE_ERR_I2C_IO"), String(err));
    assert.equal(r.emu.state().midByte, true, "the fault really left the controller out of step");
    await withClock(r.clock, r.lcd.show(next));
    assert.deepEqual(r.emu.text(), next);
    assert.deepEqual(r.emu.glyph(1), glyph);
    assert.equal(r.emu.state().midByte, false);
  });

  it("recovers from a display unplugged and plugged back in (power-on state)", async () => {
    const r = await rig();
    await r.lcd.defineGlyph(0, [1, 1, 1, 1, 1, 1, 1, 1]);
    await r.lcd.setBacklight(false);
    await r.lcd.show(["before", ""]);
    r.bus.detach(0x27);
    await assert.rejects(withClock(r.clock, r.lcd.show(["during", ""])), { code: "PHONE_ERR_I2C_NACK" });
    await assert.rejects(withClock(r.clock, r.lcd.show(["during", ""])), { code: "PHONE_ERR_I2C_NACK" }, "still failing, not stuck");
    r.emu.reset();
    r.bus.attach(0x27, r.emu);
    await withClock(r.clock, r.lcd.show(["after", "\u0000"]));
    assert.deepEqual(r.emu.text(), ["after".padEnd(16), "\u0000".padEnd(16)]);
    assert.deepEqual(r.emu.glyph(0), [1, 1, 1, 1, 1, 1, 1, 1]);
    assert.equal(r.emu.backlight(), false);
  });

  it("fails to open with DEVICE_ABSENT naming part, bus and address when nothing answers", async () => {
    const clock = new ManualClock();
    const bus = new EmulatedI2cBus(1);
    bus.attach(0x3f, new Hd44780Pcf8574Emul({ cols: 16, rows: 2 }));
    const err = await rejection(clock, Hd44780Pcf8574Display.open(bus, { address: 0x27, cols: 16, rows: 2, clock }));
    assert.ok(isPhoneError(err, "PHONE_ERR_DEVICE_ABSENT"), String(err));
    assert.match(err.message, /HD44780\/PCF8574/);
    assert.match(err.message, /0x27/);
    assert.match(err.message, /\/dev\/i2c-1/);
  });

  it("serialises overlapping calls so their bytes never interleave", async () => {
    const r = await rig();
    const a = r.lcd.show(["first screen", "aaaa"]);
    const b = r.lcd.show(["second screen", "bbbb"]);
    const c = r.lcd.write(1, 10, "cc");
    await Promise.all([a, b, c]);
    assert.deepEqual(r.emu.text(), ["second screen".padEnd(16), "bbbb".padEnd(10) + "cc    "]);
  });

  it("rejects writes off the screen and any call after close", async () => {
    const r = await rig();
    await assert.rejects(r.lcd.write(2, 0, "x"), { code: "PHONE_ERR_BAD_REQUEST" });
    await assert.rejects(r.lcd.write(0, 16, "x"), { code: "PHONE_ERR_BAD_REQUEST" });
    await r.lcd.close();
    await r.lcd.close();
    await assert.rejects(r.lcd.show(["x"]), { code: "PHONE_ERR_DEVICE_CLOSED" });
  });
});

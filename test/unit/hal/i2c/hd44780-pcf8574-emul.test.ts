// The HD44780/PCF8574 emulator driven with raw port bytes, as a host (or a datasheet example) would send them.
import assert from "node:assert/strict";
import { Hd44780Pcf8574Emul, a00Char } from "../../../../src/hal/emul/hd44780-pcf8574-emul.js";

const EN = 0x04;
const BL = 0x08;
const RS = 0x01;

/** Port bytes for one nibble (EN high, then EN low). */
const nib = (n: number, rs = 0): number[] => [(n << 4) | BL | rs | EN, (n << 4) | BL | rs];
const byte = (v: number, rs = 0): number[] => [...nib(v >> 4, rs), ...nib(v & 0x0f, rs)];
const send = (emu: Hd44780Pcf8574Emul, bytes: number[]): void => emu.write(Uint8Array.from(bytes));

/** The datasheet's 4-bit init, then 2 lines, display on, clear, entry mode increment. */
function init(emu: Hd44780Pcf8574Emul): void {
  send(emu, [BL, ...nib(3), ...nib(3), ...nib(3), ...nib(2)]);
  send(emu, [...byte(0x28), ...byte(0x0c), ...byte(0x01), ...byte(0x06)]);
}

const text = (emu: Hd44780Pcf8574Emul, s: string, rs = RS): void => send(emu, [...s].flatMap((c) => byte(c.charCodeAt(0), rs)));

describe("hal/emul Hd44780Pcf8574Emul", () => {
  it("starts in 8-bit, 1-line mode with the display off, and the init dance puts it in 4-bit 2-line mode", () => {
    const emu = new Hd44780Pcf8574Emul({ cols: 16, rows: 2 });
    assert.deepEqual([emu.state().fourBit, emu.state().twoLine, emu.displayOn()], [false, false, false]);
    send(emu, [BL, ...nib(3), ...nib(3), ...nib(3)]);
    assert.equal(emu.state().fourBit, false);
    send(emu, nib(2)); // in 8-bit mode one nibble is a whole instruction: 0x20, function set DL=0, N=0
    assert.deepEqual([emu.state().fourBit, emu.state().twoLine], [true, false]);
    send(emu, byte(0x28));
    assert.deepEqual([emu.state().fourBit, emu.state().twoLine, emu.state().midByte], [true, true, false]);
    assert.equal(emu.portWrites, 1 + 3 * 2 + 2 + 4, "one port write per byte");
  });

  it("shows 'Hi' at row 3 of a 20x4 from the byte trace in the HAL notes", () => {
    const emu = new Hd44780Pcf8574Emul({ cols: 20, rows: 4 });
    init(emu);
    send(emu, [0xdc, 0xd8, 0x4c, 0x48, 0x4d, 0x49, 0x8d, 0x89, 0x6d, 0x69, 0x9d, 0x99]);
    assert.deepEqual(emu.text(), [" ".repeat(20), " ".repeat(20), " ".repeat(20), "Hi" + " ".repeat(18)]);
  });

  it("latches on the falling edge of EN only", () => {
    const emu = new Hd44780Pcf8574Emul({ cols: 16, rows: 2 });
    init(emu);
    // 'A' = 0x41 with EN held high across both nibbles' data: only the falling edges count
    send(emu, [0x40 | BL | RS | EN, 0x40 | BL | RS, 0x10 | BL | RS, 0x10 | BL | RS | EN, 0x10 | BL | RS]);
    assert.equal(emu.text()[0][0], "A");
    assert.equal(emu.state().midByte, false);
  });

  it("moves the address counter from the end of line 1 (0x27) to line 2 (0x40) and back to 0 after 0x67", () => {
    const emu = new Hd44780Pcf8574Emul({ cols: 20, rows: 4 });
    init(emu);
    send(emu, byte(0x80 | 0x26));
    text(emu, "xyz");
    assert.equal(emu.state().address, 0x41);
    assert.equal(emu.text()[2].slice(18), "xy", "0x26, 0x27 are the last cells of row 3 on a 20x4");
    assert.equal(emu.text()[1][0], "z");
    send(emu, byte(0x80 | 0x67));
    text(emu, "!");
    assert.equal(emu.state().address, 0x00);
  });

  it("honours entry mode decrement and the display shift on write", () => {
    const emu = new Hd44780Pcf8574Emul({ cols: 16, rows: 2 });
    init(emu);
    send(emu, [...byte(0x04), ...byte(0x80 | 0x05)]); // decrement, no shift
    text(emu, "ab");
    assert.equal(emu.text()[0].slice(0, 6), "    ba");
    send(emu, [...byte(0x18)]); // shift the display left: content moves left by one
    assert.equal(emu.text()[0].slice(0, 5), "   ba");
    send(emu, byte(0x02)); // home undoes the shift
    assert.equal(emu.text()[0].slice(0, 6), "    ba");
    send(emu, byte(0x01)); // clear also sets increment
    assert.equal(emu.state().increment, true);
    assert.equal(emu.text()[0], " ".repeat(16));
  });

  it("moves the cursor with the shift command and tracks display, cursor and blink bits", () => {
    const emu = new Hd44780Pcf8574Emul({ cols: 16, rows: 2 });
    init(emu);
    send(emu, [...byte(0x80 | 0x03), ...byte(0x14), ...byte(0x14), ...byte(0x10)]);
    assert.equal(emu.state().address, 0x04);
    send(emu, byte(0x0f));
    assert.deepEqual([emu.state().displayOn, emu.state().cursorOn, emu.state().blinkOn], [true, true, true]);
    text(emu, "Q");
    send(emu, byte(0x08));
    assert.equal(emu.text()[0], " ".repeat(16), "display off shows nothing");
    assert.equal(emu.cellCodes()[0][4], 0x51, "but DDRAM keeps the text");
    send(emu, byte(0x0c));
    assert.equal(emu.text()[0][4], "Q");
  });

  it("stores CGRAM patterns and shows custom glyph cells as \\u0000..\\u0007", () => {
    const emu = new Hd44780Pcf8574Emul({ cols: 16, rows: 2 });
    init(emu);
    const heart = [0x00, 0x0a, 0x1f, 0x1f, 0x0e, 0x04, 0x00, 0xff];
    send(emu, [...byte(0x40 | (5 << 3)), ...heart.flatMap((r) => byte(r, RS))]);
    assert.deepEqual(emu.glyph(5), [0x00, 0x0a, 0x1f, 0x1f, 0x0e, 0x04, 0x00, 0x1f]);
    send(emu, [...byte(0x80 | 0x40), ...byte(0x05, RS), ...byte(0x0d, RS)]);
    assert.equal(emu.text()[1].slice(0, 2), "\u0005\u0005", "0x08-0x0F mirror glyphs 0-7");
  });

  it("tracks the backlight bit of the port and reads back the port byte", () => {
    const emu = new Hd44780Pcf8574Emul({ cols: 16, rows: 2 });
    send(emu, [0x00]);
    assert.equal(emu.backlight(), false);
    send(emu, [BL]);
    assert.equal(emu.backlight(), true);
    assert.deepEqual([...emu.read(2)], [BL, BL]);
  });

  it("renders the A00 ROM: yen for backslash, arrows, degree, umlauts", () => {
    assert.deepEqual([0x5c, 0x7e, 0x7f, 0xdf, 0xe1, 0xef, 0xf5, 0xff, 0x41].map(a00Char).join(""), "¥→←°äöü█A");
  });

  it("comes back from reset() in its power-on state", () => {
    const emu = new Hd44780Pcf8574Emul({ cols: 16, rows: 2 });
    init(emu);
    text(emu, "hello");
    emu.reset();
    assert.deepEqual([emu.state().fourBit, emu.displayOn(), emu.cellCodes()[0][0]], [false, false, 0x20]);
  });
});

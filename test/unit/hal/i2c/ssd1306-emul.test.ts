// The SSD1306 emulator driven with raw I2C writes: control bytes, commands, addressing modes, the picture.
import assert from "node:assert/strict";
import { Ssd1306Emul } from "../../../../src/hal/emul/ssd1306-emul.js";

const send = (emu: Ssd1306Emul, ...bytes: number[]): void => emu.write(Uint8Array.from(bytes));
/** Display on, charge pump on, upright (A1, C8): the minimum to see RAM on the glass. */
const upright = (emu: Ssd1306Emul): void => send(emu, 0x00, 0x8d, 0x14, 0xa1, 0xc8, 0xaf);
const lit = (emu: Ssd1306Emul, x: number, y: number): number => emu.frame().pixels[y * emu.width + x];

describe("hal/emul Ssd1306Emul", () => {
  it("starts in its reset state: off, page addressing, contrast 0x7F, charge pump off, dark glass", () => {
    const emu = new Ssd1306Emul({ width: 128, height: 64 });
    const s = emu.state();
    assert.deepEqual([s.displayOn, s.addressing, s.contrast, s.chargePump, s.multiplex], [false, "page", 0x7f, false, 63]);
    assert.ok(emu.frame().pixels.every((p) => p === 0));
  });

  it("parses command streams (0x00), single commands (0x80) and arguments split across transfers", () => {
    const emu = new Ssd1306Emul({ width: 128, height: 64 });
    send(emu, 0x80, 0xaf, 0x80, 0xa7);
    assert.deepEqual([emu.state().displayOn, emu.state().inverted], [true, true]);
    send(emu, 0x00, 0x81, 0x10, 0xa6, 0xd5, 0xf0);
    assert.deepEqual([emu.state().contrast, emu.state().inverted, emu.state().clockDiv], [0x10, false, 0xf0]);
    send(emu, 0x00, 0x81); // as drivers that send [0x00, byte] per transfer do
    send(emu, 0x00, 0x20);
    assert.equal(emu.state().contrast, 0x20);
    send(emu, 0x00, 0x26, 0, 0, 0, 7, 0, 0xff, 0x2f);
    assert.equal(emu.state().scrolling, true, "a 6-argument command was skipped whole");
    send(emu, 0x00, 0xe3, 0x2e);
    assert.equal(emu.state().scrolling, false);
  });

  it("writes data streams (0x40) and single data bytes (0xC0) in page addressing, wrapping within the page", () => {
    const emu = new Ssd1306Emul({ width: 128, height: 64 });
    send(emu, 0x80, 0xb3, 0x80, 0x0e, 0x80, 0x17, 0x40, 0x11, 0x22, 0x33); // page 3, column 0x7E
    assert.deepEqual([emu.ramByte(3, 126), emu.ramByte(3, 127), emu.ramByte(3, 0)], [0x11, 0x22, 0x33]);
    assert.equal(emu.ramByte(4, 0), 0, "page mode never moves to the next page");
    send(emu, 0xc0, 0x44, 0x80, 0xb0, 0xc0, 0x55);
    assert.deepEqual([emu.ramByte(3, 1), emu.ramByte(0, 2)], [0x44, 0x55]);
    assert.equal(emu.bytesReceived, 10 + 6);
  });

  it("walks the column/page window in horizontal and vertical addressing", () => {
    const emu = new Ssd1306Emul({ width: 128, height: 64 });
    send(emu, 0x00, 0x20, 0x00, 0x21, 16, 17, 0x22, 2, 3);
    send(emu, 0x40, 1, 2, 3, 4, 5);
    assert.deepEqual([emu.ramByte(2, 16), emu.ramByte(2, 17), emu.ramByte(3, 16), emu.ramByte(3, 17), emu.ramByte(2, 18)], [5, 2, 3, 4, 0]);
    send(emu, 0x00, 0x20, 0x01, 0x21, 100, 101, 0x22, 6, 7);
    send(emu, 0x40, 9, 8, 7, 6);
    assert.deepEqual([emu.ramByte(6, 100), emu.ramByte(7, 100), emu.ramByte(6, 101), emu.ramByte(7, 101)], [9, 8, 7, 6]);
    assert.deepEqual(emu.state().columnWindow, [100, 101]);
  });

  it("shows byte bit 0 at the top of its page, upright with A1/C8, mirrored with A0, flipped with C0", () => {
    const emu = new Ssd1306Emul({ width: 128, height: 64 });
    upright(emu);
    send(emu, 0x80, 0xb1, 0x80, 0x05, 0x80, 0x10, 0x40, 0x81); // page 1, column 5: rows 8 and 15
    assert.deepEqual([lit(emu, 5, 8), lit(emu, 5, 15), lit(emu, 5, 9), lit(emu, 4, 8)], [1, 1, 0, 0]);
    send(emu, 0x80, 0xa0);
    assert.deepEqual([lit(emu, 5, 8), lit(emu, 122, 8)], [0, 1]);
    send(emu, 0x80, 0xa1, 0x80, 0xc0);
    assert.deepEqual([lit(emu, 5, 8), lit(emu, 5, 63 - 8)], [0, 1]);
  });

  it("inverts, lights everything with A5, and goes dark when off or without the charge pump", () => {
    const emu = new Ssd1306Emul({ width: 128, height: 32 });
    upright(emu);
    send(emu, 0x00, 0xa8, 0x1f, 0xb0, 0x00, 0x10);
    send(emu, 0xc0, 0x01);
    const count = (): number => emu.frame().pixels.reduce((a, p) => a + p, 0);
    assert.equal(count(), 1);
    send(emu, 0x80, 0xa7);
    assert.equal(count(), 128 * 32 - 1);
    send(emu, 0x80, 0xa6, 0x80, 0xa5);
    assert.equal(count(), 128 * 32);
    send(emu, 0x80, 0xa4, 0x80, 0xae);
    assert.equal(count(), 0);
    assert.equal(emu.read(1)[0], 0x40, "status byte: display off");
    send(emu, 0x80, 0xaf, 0x00, 0x8d, 0x10);
    assert.equal(count(), 0);
  });

  it("draws ASCII art, one line per pixel row", () => {
    const emu = new Ssd1306Emul({ width: 128, height: 32 });
    upright(emu);
    send(emu, 0x00, 0xa8, 0x1f);
    send(emu, 0x40, 0x03, 0x01);
    const lines = emu.toAscii().split("\n");
    assert.equal(lines.length, 32);
    assert.equal(lines[0], "##" + ".".repeat(126));
    assert.equal(lines[1], "#." + ".".repeat(126));
    assert.equal(lines[2], ".".repeat(128));
  });
});

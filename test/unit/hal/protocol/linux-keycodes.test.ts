// linux-keycodes must equal the kernel's input-event-codes.h, entry by entry.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { EV_TYPES, KEY_CODES, SW_CODES, keyCode, switchCode } from "../../../../src/hal/protocol/linux-keycodes.js";

const HEADER = "/usr/include/linux/input-event-codes.h";

describe("hal/protocol linux-keycodes", () => {
  it("has the kernel's values for the codes a phone keypad uses", () => {
    // Copied from include/uapi/linux/input-event-codes.h by hand, independent of the table under test.
    const spot: [string, number][] = [
      ["KEY_ESC", 1], ["KEY_1", 2], ["KEY_9", 10], ["KEY_0", 11], ["KEY_ENTER", 28], ["KEY_KPASTERISK", 55],
      ["KEY_F1", 59], ["KEY_F10", 68], ["KEY_F11", 87], ["KEY_F12", 88], ["KEY_UP", 103], ["KEY_LEFT", 105],
      ["KEY_RIGHT", 106], ["KEY_DOWN", 108], ["KEY_MUTE", 113], ["KEY_VOLUMEDOWN", 114], ["KEY_VOLUMEUP", 115],
      ["KEY_MENU", 139], ["KEY_BACK", 158], ["KEY_PHONE", 169], ["KEY_OK", 0x160], ["KEY_NUMERIC_0", 0x200],
      ["KEY_NUMERIC_9", 0x209], ["KEY_NUMERIC_STAR", 0x20a], ["KEY_NUMERIC_POUND", 0x20b],
    ];
    for (const [name, v] of spot) assert.equal(KEY_CODES[name], v, name);
    assert.equal(SW_CODES.SW_LID, 0);
    assert.equal(SW_CODES.SW_HEADPHONE_INSERT, 2);
    assert.equal(EV_TYPES.EV_SW, 5);
  });

  it("matches the installed kernel header for every entry", function () {
    assert.ok(existsSync(HEADER), `${HEADER} is missing: apt-get install linux-libc-dev (scripts/install.sh does)`);
    const defs = new Map<string, string>();
    for (const m of readFileSync(HEADER, "utf8").matchAll(/^#define\s+(\w+)\s+(\S+)/gm)) defs.set(m[1], m[2]);
    const value = (name: string): number => {
      const v = defs.get(name);
      assert.ok(v !== undefined, `${name} is not in ${HEADER}`);
      return /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : value(v);
    };
    for (const table of [KEY_CODES, SW_CODES, EV_TYPES]) for (const [name, v] of Object.entries(table)) assert.equal(v, value(name), name);
  });

  it("looks codes up by name or number, and refuses the rest", () => {
    assert.equal(keyCode("KEY_NUMERIC_STAR"), 0x20a);
    assert.equal(keyCode("28"), 28);
    assert.equal(keyCode("0x160"), 0x160);
    assert.equal(keyCode(2), 2);
    assert.equal(keyCode("KEY_NOPE"), undefined);
    assert.equal(keyCode("toString"), undefined);
    assert.equal(keyCode("0x300"), undefined, "past KEY_MAX");
    assert.equal(switchCode("SW_HEADPHONE_INSERT"), 2);
    assert.equal(switchCode("KEY_1"), undefined);
  });
});

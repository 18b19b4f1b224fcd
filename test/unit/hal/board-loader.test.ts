import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import { loadBoard, parseBoard, listShippedBoards, boardPath } from "../../../src/hal/board-loader.js";
import { isPhoneError } from "../../../src/base/errors.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- board JSON is mutated freely to make bad boards
async function simJson(): Promise<Record<string, any>> {
  return JSON.parse(await fs.readFile(boardPath("sim"), "utf8"));
}

async function rejectsWith(board: unknown, ...fragments: RegExp[]): Promise<void> {
  await assert.rejects(parseBoard(JSON.stringify(board), "board/bad.json"), (e: unknown) => {
    assert.ok(isPhoneError(e, "PHONE_ERR_BOARD_INVALID"), String(e));
    for (const f of fragments) assert.match((e as Error).message, f);
    assert.match((e as Error).message, /^board\/bad\.json: /);
    return true;
  });
}

describe("board profiles", () => {
  it("ships sim, rpi-gpio, rpi-i2c and rpi-frontpanel, all valid", async () => {
    const names = await listShippedBoards();
    for (const n of ["sim", "rpi-gpio", "rpi-i2c", "rpi-frontpanel"]) assert.ok(names.includes(n), n);
    for (const n of names) assert.equal((await loadBoard(n)).id, n);
  });

  it("names the field, and what was expected, for a value out of range", async () => {
    const b = await simJson();
    b.display.address = 300;
    await rejectsWith(b, /\/display\/address: must be <= 119 \(got 300\)/);
  });

  it("names a missing field and an unknown one", async () => {
    const b = await simJson();
    delete b.hook.line;
    b.colour = "red";
    await rejectsWith(b, /\/hook: missing required field 'line'/, /unknown field 'colour'/);
  });

  it("rejects an unknown driver by listing the known ones", async () => {
    const b = await simJson();
    b.display = { driver: "st7789" };
    await rejectsWith(b, /\/display\/driver: must be one of \["hd44780-pcf8574","ssd1306","frontpanel","none"\]/);
  });

  it("rejects an unknown tone plan by naming the field and listing the known plans", async () => {
    const b = await simJson();
    b.tonePlan = "xx";
    await rejectsWith(b, /\/tonePlan: must be one of \["us","uk","de","fr","au"\] \(got "xx"\)/);
  });

  it("rejects a key name the phone does not know", async () => {
    const b = await simJson();
    b.keypad.keymap[0][0] = "FOO";
    await rejectsWith(b, /\/keypad\/keymap\/0\/0: "FOO" is not a key name/);
  });

  it("rejects one GPIO line wired to two roles", async () => {
    const b = await simJson();
    b.leds.leds.MESSAGE.line = 17;
    await rejectsWith(b, /\/leds\/leds\/MESSAGE: GPIO line 17 is already used by \/hook\/line/);
  });

  it("rejects a keymap whose size does not match the matrix", async () => {
    const b = JSON.parse(await fs.readFile(boardPath("rpi-gpio"), "utf8"));
    b.keypad.keymap.pop();
    await rejectsWith(b, /\/keypad\/keymap: has 4 rows but \/keypad\/rows lists 5 lines/);
  });

  it("requires the front panel section when a role uses it", async () => {
    const b = JSON.parse(await fs.readFile(boardPath("rpi-frontpanel"), "utf8"));
    delete b.frontpanel;
    await rejectsWith(b, /\/frontpanel: required/);
  });

  it("rejects timing that makes a hook flash impossible", async () => {
    const b = await simJson();
    b.timing.hookFlashMinMs = 900;
    await rejectsWith(b, /hookFlashMinMs: must be below hookFlashMaxMs/);
  });

  it("says the file is not JSON", async () => {
    await assert.rejects(parseBoard("{ id: sim", "board/bad.json"), /board\/bad\.json: not valid JSON/);
  });

  it("says which board files exist when the name is unknown", async () => {
    await assert.rejects(loadBoard("no-such-board"), (e: unknown) => isPhoneError(e, "PHONE_ERR_BOARD_NOT_FOUND") && /shipped boards: .*sim/.test((e as Error).message));
  });
});

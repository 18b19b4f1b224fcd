import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chooseBoard } from "../../../firmware/board-choice.js";

describe("choosing the board", () => {
  let dir: string;
  beforeEach(async () => (dir = await fs.mkdtemp(path.join(os.tmpdir(), "board-choice-"))));
  afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

  it("prefers --board, then PHONE_BOARD, then /etc/phone/board, then the simulated board", async () => {
    const etc = path.join(dir, "board");
    assert.deepEqual(await chooseBoard("rpi-i2c", { PHONE_BOARD: "rpi-gpio" }, etc), { board: "rpi-i2c", why: "--board" });
    assert.equal((await chooseBoard(undefined, { PHONE_BOARD: "rpi-gpio" }, etc)).board, "rpi-gpio");
    const fallback = await chooseBoard(undefined, {}, etc);
    assert.equal(fallback.board, "sim");
    assert.match(fallback.why, /no phone hardware is configured/);
    await fs.writeFile(etc, "rpi-frontpanel\n");
    assert.deepEqual(await chooseBoard(undefined, {}, etc), { board: "rpi-frontpanel", why: etc });
  });
});

// Every shipped board profile, built by the device registry on the simulated platform: each role works end to end
// through its real driver and the emulator of its chip.
import assert from "node:assert/strict";
import { ManualClock } from "../../../src/base/clock.js";
import { silentLogger } from "../../../src/base/log.js";
import { isPhoneError } from "../../../src/base/errors.js";
import { loadBoard } from "../../../src/hal/board-loader.js";
import { buildDevices, type PhoneDevices } from "../../../src/hal/boards.js";
import { SimPlatform } from "../../../src/hal/emul/sim-platform.js";
import { openEvdev } from "../../../src/hal/drivers/input-evdev.js";
import type { BoardProfile } from "../../../src/hal/api/board.js";
import type { KeyEvent } from "../../../src/hal/api/keypad.js";
import type { HookEvent } from "../../../src/hal/api/hook.js";

/**
 * Advances the manual clock 1 ms at a time, letting I/O and promises run, until `cond` holds. Some steps wait on
 * real I/O (the evdev FIFO, spawned tools): once the clock budget is spent, it keeps waiting in real time (bounded)
 * so a slow machine is not mistaken for a broken driver.
 */
async function until(clock: ManualClock, cond: () => boolean, what: string, limitMs = 3000): Promise<void> {
  const realDeadline = Date.now() + 15000;
  for (let t = 0; !cond(); ) {
    if (t < limitMs) {
      await clock.advanceAsync(1);
      t++;
    } else if (Date.now() < realDeadline) await new Promise((r) => setTimeout(r, 2));
    else assert.fail(`timed out (${limitMs} ms of clock time, then 15 s) waiting for ${what}`);
  }
}

async function build(board: BoardProfile): Promise<{ clock: ManualClock; sim: SimPlatform; dev: PhoneDevices }> {
  const clock = new ManualClock();
  const sim = await SimPlatform.create(board, { clock, openInput: (p) => openEvdev(p) });
  const pending = buildDevices(board, sim, clock, silentLogger());
  let dev: PhoneDevices | undefined;
  let err: unknown;
  pending.then((d) => (dev = d), (e) => (err = e));
  await until(clock, () => dev !== undefined || err !== undefined, "devices to open");
  if (err) throw err;
  return { clock, sim, dev: dev! };
}

const evdevBoard = async (): Promise<BoardProfile> => {
  const b = await loadBoard("rpi-gpio");
  return {
    ...b,
    id: "evdev-test",
    keypad: { driver: "evdev", device: "/dev/input/event3", keymap: { KEY_1: "1", KEY_2: "2", KEY_ENTER: "SEND", KEY_ESC: "END" } },
    hook: { driver: "evdev", device: "/dev/input/event4", eventType: "EV_SW", code: 0, offHookValue: 1 },
  };
};

for (const name of ["sim", "rpi-gpio", "rpi-i2c", "rpi-frontpanel", "evdev"]) {
  describe(`board ${name} on the simulated platform`, function () {
    let clock: ManualClock;
    let sim: SimPlatform;
    let dev: PhoneDevices;

    beforeEach(async () => {
      const board = name === "evdev" ? await evdevBoard() : await loadBoard(name);
      ({ clock, sim, dev } = await build(board));
    });
    afterEach(async () => {
      await dev?.close();
      await sim?.close();
    });

    it("reports every key of the board, down and up, by name", async () => {
      const seen: KeyEvent[] = [];
      dev.keypad.onKey((e) => seen.push(e));
      const keys = sim.keys();
      assert.ok(keys.length >= 4, `board has keys: ${keys.join(",")}`);
      for (const key of keys) {
        await sim.keyDown(key);
        await until(clock, () => seen.some((e) => e.key === key && e.down), `${key} down`);
        await sim.keyUp(key);
        await until(clock, () => seen.some((e) => e.key === key && !e.down), `${key} up`);
      }
      assert.deepEqual(dev.keypad.down(), []);
    });

    it("refuses a key the board does not have", async () => {
      await assert.rejects(sim.keyDown("LINE9"), (e: unknown) => isPhoneError(e, "PHONE_ERR_UNKNOWN_KEY"));
    });

    it("sees the handset lifted, replaced, and a hook flash", async () => {
      const seen: HookEvent[] = [];
      dev.hook.onHook((e) => seen.push(e));
      assert.equal(dev.hook.state(), "on");
      await sim.setHook("off");
      await until(clock, () => dev.hook.state() === "off", "off hook");
      await sim.setHook("on");
      await clock.advanceAsync(dev.board.timing.hookFlashMinMs + 30);
      await sim.setHook("off");
      await until(clock, () => seen.some((e) => e.type === "flash"), "hook flash");
      await sim.setHook("on");
      await until(clock, () => dev.hook.state() === "on", "on hook", dev.board.timing.hookFlashMaxMs + 500);
      assert.deepEqual(seen.map((e) => e.type), ["off", "flash", "on"]);
    });

    it("shows LED modes as an observer sees them", async () => {
      const id = dev.leds.ids[0];
      dev.leds.set(id, "on");
      await until(clock, () => sim.leds()[id]?.lit === true, `${id} lit`);
      dev.leds.set(id, "fast");
      await until(clock, () => sim.leds()[id]?.mode === "fast", `${id} fast`);
      dev.leds.set(id, "off");
      await until(clock, () => sim.leds()[id]?.mode === "off" && !sim.leds()[id].lit, `${id} off`);
    });

    it("puts what the phone draws on the emulated glass", async () => {
      const d = dev.display;
      assert.ok(d, "board has a display");
      if (d.kind === "text") {
        const lines = ["Line one", "Line two", "Line three", "Line four"].slice(0, d.rows);
        let done = false;
        void d.show(lines).then(() => (done = true));
        await until(clock, () => done, "text shown");
        const scr = sim.screen();
        assert.equal(scr.kind, "text");
        if (scr.kind === "text") assert.deepEqual(scr.rows.map((r) => r.trimEnd()), lines);
      } else {
        const pixels = new Uint8Array(d.width * d.height);
        for (let x = 0; x < d.width; x++) pixels[10 * d.width + x] = 1; // a horizontal line on row 10
        let done = false;
        void d.present({ width: d.width, height: d.height, pixels }).then(() => (done = true));
        await until(clock, () => done, "frame shown");
        const scr = sim.screen();
        assert.equal(scr.kind, "pixel");
        if (scr.kind === "pixel") {
          const rows = scr.ascii.split("\n");
          assert.equal(rows[10], "#".repeat(d.width));
          assert.equal(rows[9], ".".repeat(d.width));
          assert.equal(scr.png.subarray(1, 4).toString("latin1"), "PNG");
        }
      }
    });
  });
}

describe("a device the board names but the hardware lacks", () => {
  it("fails the start with the role, the driver and the address, and closes what was opened", async () => {
    const real = await loadBoard("sim");
    const clock = new ManualClock();
    const sim = await SimPlatform.create(real, { clock });
    const wrong: BoardProfile = { ...real, display: { driver: "hd44780-pcf8574", bus: 1, address: 0x3f, cols: 20, rows: 4 } };
    let err: unknown;
    buildDevices(wrong, sim, clock, silentLogger()).catch((e) => (err = e));
    await until(clock, () => err !== undefined, "the start to fail");
    assert.ok(isPhoneError(err, "PHONE_ERR_DEVICE_ABSENT"), String(err));
    assert.match((err as Error).message, /^display \(hd44780-pcf8574\): .*0x3f/i);
    await sim.close();
  });

  it("names a missing I2C bus", async () => {
    const real = await loadBoard("sim");
    const clock = new ManualClock();
    const sim = await SimPlatform.create(real, { clock });
    const wrong: BoardProfile = { ...real, display: { driver: "ssd1306", bus: 3, address: 0x3c, width: 128, height: 64 } };
    await assert.rejects(buildDevices(wrong, sim, clock, silentLogger()), (e: unknown) => isPhoneError(e, "PHONE_ERR_DEVICE_ABSENT") && /i2c-3/.test((e as Error).message));
    await sim.close();
  });
});

// The real serial driver (serialport on a socat pty pair) between FrontPanel and the MCU emulator, on the system clock.
import assert from "node:assert/strict";
import * as os from "node:os";
import * as path from "node:path";
import { createSystemClock } from "../../../src/base/clock.js";
import { ErrorCodes, isPhoneError } from "../../../src/base/errors.js";
import type { BoardTiming } from "../../../src/hal/api/board.js";
import type { KeyEvent } from "../../../src/hal/api/keypad.js";
import type { SerialLink } from "../../../src/hal/api/serial.js";
import { FrontPanel } from "../../../src/hal/drivers/frontpanel-fp-slip-v1.js";
import { openNodeSerial } from "../../../src/hal/drivers/serial-node.js";
import { FrontPanelMcuEmul } from "../../../src/hal/emul/frontpanel-mcu-emul.js";
import { startPtyPair, type PtyPair } from "../../support/socat.js";

const timing: BoardTiming = {
  debounceMs: 20, hookFlashMinMs: 80, hookFlashMaxMs: 700, longPressMs: 800, scanIntervalMs: 5,
  ledSlowMs: 500, ledFastMs: 125, ledWinkOnMs: 100, ledWinkOffMs: 900,
};

/** Polls `cond` on real time; fails after `ms`. Bounded, never a speed assertion. */
async function waitFor(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const clock = createSystemClock();
  const end = clock.now() + ms;
  while (!cond()) {
    if (clock.now() > end) assert.fail(`gave up after ${ms} ms waiting for ${what}`);
    await clock.sleep(5);
  }
}

describe("front panel over a real pty (socat + serialport)", function () {
  this.timeout(15000);
  let pty: PtyPair | undefined;
  let mcuLink: SerialLink | undefined;
  let mcu: FrontPanelMcuEmul | undefined;
  let panel: FrontPanel | undefined;

  beforeEach(async () => {
    pty = await startPtyPair();
    const clock = createSystemClock();
    mcuLink = await openNodeSerial(pty.b, 115200);
    mcu = new FrontPanelMcuEmul(mcuLink, { clock, heartbeatMs: 200, cols: 20, rows: 4, nLeds: 5 });
    const hostLink = await openNodeSerial(pty.a, 115200);
    panel = await FrontPanel.open(hostLink, { clock, ackTimeoutMs: 50, retries: 3, heartbeatMs: 200, timing, leds: { MESSAGE: 0 }, cols: 20, rows: 4 });
    // open() resolves on HELLO; the host's ACK of it is still on the wire. Faults injected later must not hit it.
    await waitFor("ACK of HELLO at the MCU", () => mcu!.stats().framesFromHost >= 2);
  });

  afterEach(async () => {
    await panel?.close().catch(() => undefined);
    await mcu?.close().catch(() => undefined);
    await mcuLink?.close().catch(() => undefined);
    await pty?.stop();
    panel = mcu = mcuLink = pty = undefined;
  });

  it("does the HELLO handshake", () => {
    assert.equal(panel!.info.protoMajor, 1);
    assert.equal(panel!.info.lcdRows, 4);
    assert.equal(panel!.isLost(), false);
  });

  it("delivers a key press and writes LCD text", async () => {
    const keys: KeyEvent[] = [];
    panel!.keypad.onKey((e) => keys.push(e));
    mcu!.press("SEND");
    await waitFor("SEND down", () => keys.length === 1);
    assert.deepEqual([keys[0].key, keys[0].down], ["SEND", true]);
    mcu!.release("SEND");
    await waitFor("SEND up", () => keys.length === 2);
    await panel!.display.write(2, 4, "Calling Ünal");
    assert.equal(mcu!.lcdText()[2], "    Calling Ünal    ");
    panel!.leds.set("MESSAGE", "slow");
    await waitFor("LED", () => mcu!.leds()[0].mode === "slow");
  });

  it("retries a dropped frame", async () => {
    mcu!.dropNextFromHost(1);
    await panel!.display.write(0, 0, "after a retry");
    assert.equal(mcu!.lcdText()[0].trimEnd(), "after a retry");
    assert.ok(panel!.stats().retries >= 1);
  });

  it("survives line noise", async () => {
    const keys: KeyEvent[] = [];
    panel!.keypad.onKey((e) => keys.push(e));
    mcu!.sendGarbage(Uint8Array.from([0x00, 0xff, 0xc0, 0x42, 0x42, 0x42, 0x42, 0x42, 0xc0, 0xdb, 0x01, 0xc0, 0x11]));
    mcu!.press("#");
    await waitFor("# down after noise", () => keys.length === 1);
    const s = panel!.stats();
    assert.ok(s.crcErrors >= 1 && s.badEscapes >= 1, JSON.stringify(s));
    await panel!.display.write(1, 0, "still fine");
    assert.equal(mcu!.lcdText()[1].trimEnd(), "still fine");
  });
});

describe("serial-node errors", () => {
  it("names a missing path with PHONE_ERR_DEVICE_ABSENT", async () => {
    const missing = path.join(os.tmpdir(), "no-such-tty-fp0");
    await assert.rejects(openNodeSerial(missing, 115200), (e: unknown) => isPhoneError(e, ErrorCodes.DEVICE_ABSENT) && (e as Error).message.includes(missing));
  });

  it("reports a second open of a locked port as PHONE_ERR_DEVICE_BUSY", async function () {
    this.timeout(10000);
    const pty = await startPtyPair();
    try {
      const first = await openNodeSerial(pty.a, 115200);
      try {
        await assert.rejects(openNodeSerial(pty.a, 115200), (e: unknown) => isPhoneError(e, ErrorCodes.DEVICE_BUSY) && (e as Error).message.includes(pty.a));
      } finally {
        await first.close();
      }
    } finally {
      await pty.stop();
    }
  });
});

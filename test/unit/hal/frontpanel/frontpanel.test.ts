// FrontPanel (host driver) against FrontPanelMcuEmul over an in-memory serial pair, with time on a ManualClock.
import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/base/clock.js";
import { ErrorCodes, isPhoneError } from "../../../../src/base/errors.js";
import type { BoardTiming } from "../../../../src/hal/api/board.js";
import type { HookEvent } from "../../../../src/hal/api/hook.js";
import type { KeyEvent } from "../../../../src/hal/api/keypad.js";
import { FrontPanel } from "../../../../src/hal/drivers/frontpanel-fp-slip-v1.js";
import { FrontPanelMcuEmul, type FrontPanelMcuEmulOptions } from "../../../../src/hal/emul/frontpanel-mcu-emul.js";
import { createSerialPair, type SerialPairOptions } from "../../../../src/hal/emul/serial-pair.js";

const timing: BoardTiming = {
  debounceMs: 20, hookFlashMinMs: 80, hookFlashMaxMs: 700, longPressMs: 800, scanIntervalMs: 5,
  ledSlowMs: 500, ledFastMs: 125, ledWinkOnMs: 100, ledWinkOffMs: 900,
};
const LEDS = { MESSAGE: 0, SPEAKER: 1, MUTE: 2, LINE1: 3, RINGER: 4 };

/** Lets in-memory bytes travel: each hop of the serial pair is one event-loop turn. */
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

async function until(what: string, cond: () => boolean, maxTurns = 2000): Promise<void> {
  for (let i = 0; i < maxTurns && !cond(); i++) await new Promise<void>((r) => setImmediate(r));
  assert.ok(cond(), `timed out (in event-loop turns, not time) waiting for ${what}`);
}

/** Moves the clock in 5 ms steps, letting bytes travel between steps (a round trip is well inside one step). */
async function advance(clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 5) {
    clock.advance(Math.min(5, ms - t));
    await turns(12);
  }
}

interface Rig {
  clock: ManualClock;
  mcu: FrontPanelMcuEmul;
  panel: FrontPanel;
  keys: KeyEvent[];
  hooks: HookEvent[];
  errors: Error[];
  close(): Promise<void>;
}

async function rig(emul: Partial<FrontPanelMcuEmulOptions> = {}, pairOpts: SerialPairOptions = {}, leds: Record<string, number> = LEDS): Promise<Rig> {
  const clock = new ManualClock();
  const pair = createSerialPair({ pathA: "/dev/ttyFP0", ...pairOpts });
  const mcu = new FrontPanelMcuEmul(pair.b, { clock, heartbeatMs: 1000, cols: 20, rows: 4, nLeds: 5, ...emul });
  const panel = await FrontPanel.open(pair.a, { clock, ackTimeoutMs: 50, retries: 3, heartbeatMs: 1000, timing, leds, cols: 20, rows: 4 });
  await turns(); // open() resolves on HELLO; let the host's ACK of it reach the MCU before faults are injected
  const r: Rig = {
    clock, mcu, panel, keys: [], hooks: [], errors: [],
    async close() {
      await panel.close();
      await mcu.close();
    },
  };
  panel.keypad.onKey((e) => r.keys.push(e));
  panel.hook.onHook((e) => r.hooks.push(e));
  panel.onError((e) => r.errors.push(e));
  return r;
}

describe("FrontPanel fp-slip-v1 with the MCU emulator", () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  describe("handshake", () => {
    it("sends QUERY, gets HELLO with the panel's facts and the hook level", async () => {
      r = await rig({ hook: "off", cols: 20, rows: 4 });
      assert.equal(r.panel.info.protoMajor, 1);
      assert.equal(r.panel.info.lcdCols, 20);
      assert.equal(r.panel.info.nLeds, 5);
      assert.equal(r.panel.hook.state(), "off");
      assert.ok(r.mcu.stats().framesFromHost >= 2, "QUERY and the ACK of HELLO");
      assert.equal(r.panel.display.cols, 20);
    });

    it("fails with PHONE_ERR_SERIAL_TIMEOUT naming the path when nothing answers, and closes the link", async () => {
      const clock = new ManualClock();
      const pair = createSerialPair({ pathA: "/dev/ttyX" });
      const mcu = new FrontPanelMcuEmul(pair.b, { clock });
      mcu.silence(true);
      const p = FrontPanel.open(pair.a, { clock, ackTimeoutMs: 50, retries: 3, heartbeatMs: 1000, timing, leds: LEDS, cols: 20, rows: 4 });
      const settled = p.then(() => "opened", (e: unknown) => e);
      await advance(clock, 300);
      const e = await settled;
      assert.ok(isPhoneError(e, ErrorCodes.SERIAL_TIMEOUT), String(e));
      assert.match((e as Error).message, /front panel on \/dev\/ttyX did not answer HELLO/);
      await assert.rejects(pair.a.write(Uint8Array.of(1)), (x: unknown) => isPhoneError(x, ErrorCodes.DEVICE_CLOSED));
      await mcu.close();
    });

    it("waits through lost QUERYs (retries) before the panel answers", async () => {
      const clock = new ManualClock();
      const pair = createSerialPair();
      const mcu = new FrontPanelMcuEmul(pair.b, { clock });
      mcu.dropNextFromHost(2);
      const p = FrontPanel.open(pair.a, { clock, ackTimeoutMs: 50, retries: 3, heartbeatMs: 1000, timing, leds: LEDS, cols: 20, rows: 4 });
      await advance(clock, 150);
      const panel = await p;
      assert.equal(panel.stats().retries, 2);
      await panel.close();
      await mcu.close();
    });

    it("refuses a panel of another major version with PHONE_ERR_SERIAL_PROTOCOL", async () => {
      const clock = new ManualClock();
      const pair = createSerialPair({ pathA: "/dev/ttyAMA0" });
      const mcu = new FrontPanelMcuEmul(pair.b, { clock, protoMajor: 2, protoMinor: 1 });
      await assert.rejects(
        FrontPanel.open(pair.a, { clock, ackTimeoutMs: 50, retries: 3, heartbeatMs: 1000, timing, leds: LEDS, cols: 20, rows: 4 }),
        (e: unknown) => isPhoneError(e, ErrorCodes.SERIAL_PROTOCOL) && /\/dev\/ttyAMA0 speaks fp-slip v2\.1.*v1\.x/.test((e as Error).message),
      );
      await mcu.close();
    });
  });

  describe("keys", () => {
    it("reports press and release with the key's name, and a long press on the clock", async () => {
      r = await rig();
      r.mcu.press("5");
      await until("key down", () => r!.keys.length === 1);
      assert.deepEqual(r.panel.keypad.down(), ["5"]);
      r.mcu.release("5");
      await until("key up", () => r!.keys.length === 2);
      assert.deepEqual(r.keys.map((k) => [k.key, k.down, !!k.long]), [["5", true, false], ["5", false, false]]);
      r.mcu.press("OK");
      await until("OK down", () => r!.keys.length === 3);
      await advance(r.clock, 810);
      assert.deepEqual(r.keys.slice(3).map((k) => [k.key, k.down, k.long]), [["OK", true, true]]);
    });

    it("agrees with the emulator on every key code (two readings of the table)", async () => {
      r = await rig();
      const all = r.panel.keypad.keys;
      assert.equal(all.length, 45);
      for (const k of all) {
        r.mcu.press(k);
        r.mcu.release(k);
      }
      await until("all keys", () => r!.keys.length === all.length * 2);
      assert.deepEqual(r.keys.filter((e) => e.down).map((e) => e.key), [...all]);
    });
  });

  describe("hook", () => {
    it("reports lift and hang-up after the hang-up window", async () => {
      r = await rig();
      r.mcu.setHook("off");
      await turns(50);
      await advance(r.clock, 25);
      assert.deepEqual(r.hooks.map((h) => h.type), ["off"]);
      r.mcu.setHook("on");
      await turns(50);
      await advance(r.clock, 750);
      assert.deepEqual(r.hooks.map((h) => h.type), ["off", "on"]);
    });

    it("tells a hook flash from a hang-up", async () => {
      r = await rig({ hook: "off" });
      r.mcu.setHook("on");
      await turns(50);
      await advance(r.clock, 200);
      r.mcu.setHook("off");
      await turns(50);
      await advance(r.clock, 30);
      assert.deepEqual(r.hooks.map((h) => h.type), ["flash"]);
      await advance(r.clock, 800);
      assert.deepEqual(r.hooks.map((h) => h.type), ["flash"]);
      assert.equal(r.panel.hook.state(), "off");
    });
  });

  describe("LEDs", () => {
    it("sends modes with the board's blink times; the MCU blinks them", async () => {
      r = await rig();
      r.panel.leds.set("MESSAGE", "slow");
      r.panel.leds.set("LINE1", "wink");
      r.panel.leds.set("MUTE", "on");
      await until("LEDs", () => r!.mcu.leds()[2].mode === "on");
      assert.deepEqual(r.mcu.leds()[0], { mode: "slow", colour: 0, onMs: 500, offMs: 500 });
      assert.deepEqual(r.mcu.leds()[3], { mode: "wink", colour: 0, onMs: 100, offMs: 900 });
      assert.equal(r.panel.leds.get("MESSAGE"), "slow");
      assert.deepEqual(r.panel.leds.snapshot(), { MESSAGE: "slow", SPEAKER: "off", MUTE: "on", LINE1: "wink", RINGER: "off" });
      assert.throws(() => r!.panel.leds.set("NOPE", "on"), (e: unknown) => isPhoneError(e, ErrorCodes.UNKNOWN_LED));
    });

    it("reports an LED id the panel NAKs through onError (PHONE_ERR_SERIAL_NAK)", async () => {
      r = await rig({ nLeds: 2 }, {}, { MESSAGE: 0, FAR: 9 });
      r.panel.leds.set("FAR", "on");
      await until("NAK error", () => r!.errors.length === 1);
      assert.ok(isPhoneError(r.errors[0], ErrorCodes.SERIAL_NAK));
      assert.match(r.errors[0].message, /refused LED .*argument out of range/);
      assert.equal(r.panel.stats().naks, 1);
    });
  });

  describe("LCD", () => {
    it("writes text, clips at the row end and maps non-Latin-1 to '?'", async () => {
      r = await rig();
      const d = r.panel.display;
      await d.write(1, 3, "Hello");
      await d.write(2, 15, "Grüße€ overflow");
      const lcd = r.mcu.lcdText();
      assert.equal(lcd[1], "   Hello" + " ".repeat(12));
      assert.equal(lcd[2], " ".repeat(15) + "Grüße");
      await d.write(0, 0, "€");
      assert.equal(r.mcu.lcdText()[0][0], "?");
      await assert.rejects(d.write(4, 0, "x"), (e: unknown) => isPhoneError(e, ErrorCodes.BAD_REQUEST));
    });

    it("sends only changed runs (the shadow)", async () => {
      r = await rig();
      const d = r.panel.display;
      await d.show(["Line one", "Line two", "", "12:00"]);
      assert.deepEqual(r.mcu.lcdText().map((l) => l.trimEnd()), ["Line one", "Line two", "", "12:00"]);
      const before = r.mcu.stats().framesFromHost;
      await d.show(["Line one", "Line two", "", "12:00"]);
      assert.equal(r.mcu.stats().framesFromHost, before, "nothing changed, nothing sent");
      await d.show(["Line one", "Line two", "", "12:01"]);
      assert.equal(r.mcu.stats().framesFromHost, before + 1, "one LCD_TEXT for one changed cell");
      assert.equal(r.mcu.lcdText()[3].trimEnd(), "12:01");
      await d.clear();
      assert.deepEqual(r.mcu.lcdText(), Array(4).fill(" ".repeat(20)));
    });

    it("defines glyphs, shows them, and switches the backlight", async () => {
      r = await rig();
      const bell = [0x04, 0x0e, 0x0e, 0x0e, 0x1f, 0x00, 0x04, 0x00];
      await r.panel.display.defineGlyph(0, bell);
      await r.panel.display.write(0, 0, "\u0000 call");
      assert.deepEqual(r.mcu.glyph(0), bell);
      assert.equal(r.mcu.lcdText()[0].slice(0, 6), "\u0000 call");
      await r.panel.display.setBacklight(false);
      assert.equal(r.mcu.backlight(), 0);
      await assert.rejects(r.panel.display.defineGlyph(8, bell), (e: unknown) => isPhoneError(e, ErrorCodes.BAD_REQUEST));
    });
  });

  describe("reliability", () => {
    it("retries a dropped command after the ACK timeout", async () => {
      r = await rig();
      r.mcu.dropNextFromHost(2);
      const p = r.panel.display.write(0, 0, "retry");
      let done = false;
      void p.then(() => (done = true));
      await turns(50);
      assert.equal(done, false, "not acknowledged before the timeout");
      await advance(r.clock, 110);
      await p;
      assert.equal(r.mcu.lcdText()[0].slice(0, 5), "retry");
      assert.equal(r.panel.stats().retries, 2);
    });

    it("fails the command with PHONE_ERR_SERIAL_TIMEOUT after the last retry and keeps working", async () => {
      r = await rig();
      r.mcu.dropNextFromHost(4);
      const p = r.panel.display.write(0, 0, "lost").then(() => undefined, (e: unknown) => e);
      await advance(r.clock, 210);
      const e = await p;
      assert.ok(isPhoneError(e, ErrorCodes.SERIAL_TIMEOUT), String(e));
      assert.match((e as Error).message, /did not acknowledge LCD_TEXT \(seq \d+\) after 4 tries, 50 ms apart/);
      assert.equal(r.panel.stats().timeouts, 1);
      assert.equal(r.panel.stats().retries, 3);
      await r.panel.display.write(0, 0, "back");
      assert.equal(r.mcu.lcdText()[0].slice(0, 4), "back");
    });

    it("the MCU applies a retransmitted command once when its ACK was lost (one beep, not two)", async () => {
      r = await rig();
      r.mcu.dropNextToHost(1); // the ACK of the BEEP
      const p = r.panel.beep(440, 100);
      await turns(50);
      await advance(r.clock, 60);
      await p;
      assert.deepEqual(r.mcu.beeps(), [{ hz: 440, ms: 100 }]);
      assert.equal(r.mcu.stats().duplicates, 1);
      assert.equal(r.panel.stats().retries, 1);
    });

    it("the host applies a retransmitted KEY once when its ACK was lost", async () => {
      r = await rig();
      r.mcu.dropNextFromHost(1); // the host's ACK of the KEY
      r.mcu.press("9");
      await turns(50);
      await advance(r.clock, 60);
      assert.equal(r.mcu.stats().retries, 1);
      assert.equal(r.panel.stats().duplicates, 1);
      assert.deepEqual(r.keys.map((k) => [k.key, k.down]), [["9", true]]);
    });

    it("heals a KEY edge lost after all retries from the next heartbeat's bitmap", async () => {
      r = await rig();
      r.mcu.dropNextToHost(4); // the KEY and its 3 retries
      r.mcu.press("7");
      await advance(r.clock, 250);
      assert.equal(r.keys.length, 0, "the edge is lost");
      await advance(r.clock, 800); // heartbeat at 1000 ms
      assert.deepEqual(r.keys.map((k) => [k.key, k.down]), [["7", true]]);
      assert.equal(r.panel.stats().keysHealed, 1);
      r.mcu.dropNextToHost(4);
      r.mcu.release("7");
      await advance(r.clock, 1000);
      assert.deepEqual(r.panel.keypad.down(), []);
      assert.equal(r.panel.stats().keysHealed, 2);
      assert.equal(r.panel.stats().heartbeatsMissed, 0);
    });

    it("counts and ignores a corrupt frame and line garbage; the MCU's retry gets through", async () => {
      r = await rig();
      r.mcu.corruptNextToHost();
      r.mcu.press("1");
      await turns(50);
      assert.equal(r.panel.stats().crcErrors, 1);
      assert.equal(r.keys.length, 0);
      await advance(r.clock, 60);
      assert.deepEqual(r.keys.map((k) => k.key), ["1"]);
      r.mcu.sendGarbage(Uint8Array.from([0xc0, 0x13, 0x37, 0x00, 0xff, 0xee, 0xc0, 0x01, 0xc0, 0xdb, 0x00, 0xc0]));
      await turns(50);
      const s = r.panel.stats();
      assert.equal(s.crcErrors, 2);
      assert.equal(s.runts, 1);
      assert.equal(s.badEscapes, 1);
      r.mcu.release("1");
      await until("release after garbage", () => r!.keys.length === 2);
      assert.deepEqual(r.errors, []);
    });

    it("works with bytes arriving in random small chunks", async () => {
      const clock = new ManualClock();
      const pair = createSerialPair({ randomChunks: { maxChunk: 3, seed: 42 } });
      const mcu = new FrontPanelMcuEmul(pair.b, { clock });
      const panel = await FrontPanel.open(pair.a, { clock, ackTimeoutMs: 50, retries: 3, heartbeatMs: 1000, timing, leds: LEDS, cols: 20, rows: 4 });
      const keys: string[] = [];
      panel.keypad.onKey((e) => keys.push(`${e.key}${e.down ? "+" : "-"}`));
      await panel.display.write(0, 0, "chunky ÀÛ");
      mcu.press("#");
      mcu.release("#");
      await until("keys", () => keys.length === 2);
      assert.deepEqual(keys, ["#+", "#-"]);
      assert.equal(mcu.lcdText()[0].slice(0, 9), "chunky ÀÛ");
      assert.equal(panel.stats().crcErrors, 0);
      await panel.close();
      await mcu.close();
    });
  });

  describe("heartbeat and a lost panel", () => {
    it("after 3 missed heartbeats: keys released, one error, state kept; restored when the panel answers", async () => {
      r = await rig();
      await r.panel.display.write(0, 0, "before");
      r.panel.leds.set("MESSAGE", "fast");
      r.mcu.press("3");
      await until("3 down", () => r!.keys.length === 1);
      r.mcu.silence(true);
      await advance(r.clock, 3500);
      assert.equal(r.panel.isLost(), false, "two misses are not yet a loss");
      await advance(r.clock, 600);
      assert.equal(r.panel.isLost(), true);
      assert.deepEqual(r.keys.filter((k) => !k.long).map((k) => [k.key, k.down]), [["3", true], ["3", false]]);
      assert.equal(r.errors.length, 1);
      assert.ok(isPhoneError(r.errors[0], ErrorCodes.SERIAL_TIMEOUT));
      assert.match(r.errors[0].message, /\/dev\/ttyFP0 is lost: 3 heartbeats missed/);
      assert.ok(r.panel.stats().heartbeatsMissed >= 3);
      assert.equal(r.panel.stats().panelLost, 1);

      // While lost, changes wait in the shadow.
      await r.panel.display.write(1, 0, "during");
      r.panel.leds.set("SPEAKER", "on");
      await advance(r.clock, 2000);
      assert.equal(r.errors.length, 1, "the loss is reported once, not per QUERY");

      r.mcu.release("3");
      r.mcu.silence(false);
      await advance(r.clock, 1100);
      assert.equal(r.panel.isLost(), false);
      await advance(r.clock, 100);
      assert.deepEqual(r.mcu.lcdText().slice(0, 2).map((l) => l.trimEnd()), ["before", "during"]);
      assert.equal(r.mcu.leds()[0].mode, "fast");
      assert.equal(r.mcu.leds()[1].mode, "on");
      r.mcu.press("4");
      await until("4 down", () => r!.keys.some((k) => k.key === "4"));
      assert.equal(r.errors.length, 1);
    });

    it("restores display and LEDs when the MCU reboots on its own", async () => {
      r = await rig();
      await r.panel.display.write(3, 0, "kept");
      r.panel.leds.set("MUTE", "slow");
      await until("LED", () => r!.mcu.leds()[2].mode === "slow");
      r.mcu.reboot();
      await until("replayed", () => r!.mcu.lcdText()[3].startsWith("kept") && r!.mcu.leds()[2].mode === "slow");
      assert.equal(r.panel.isLost(), false);
    });

    it("reports a closed link and fails queued commands", async () => {
      const clock = new ManualClock();
      const pair = createSerialPair({ pathA: "/dev/ttyUSB0" });
      const mcu = new FrontPanelMcuEmul(pair.b, { clock });
      const panel = await FrontPanel.open(pair.a, { clock, ackTimeoutMs: 50, retries: 3, heartbeatMs: 1000, timing, leds: LEDS, cols: 20, rows: 4 });
      const errors: Error[] = [];
      panel.onError((e) => errors.push(e));
      pair.disconnect();
      assert.equal(panel.isLost(), true);
      assert.ok(errors.some((e) => isPhoneError(e, ErrorCodes.DEVICE_ABSENT) && /\/dev\/ttyUSB0 closed/.test(e.message)));
      await panel.close();
      await panel.close();
      await assert.rejects(panel.beep(1, 1));
      await mcu.close();
    });
  });
});

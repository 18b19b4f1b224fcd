import assert from "node:assert/strict";
import { ManualClock } from "../../../src/base/clock.js";
import { silentLogger } from "../../../src/base/log.js";
import { Listeners } from "../../../src/hal/api/events.js";
import type { KeyEvent, Keypad } from "../../../src/hal/api/keypad.js";
import type { HookEvent, HookSwitch } from "../../../src/hal/api/hook.js";
import { LedBlinker } from "../../../src/hal/core/led-blinker.js";
import { PhoneShell } from "../../../src/phone/shell.js";
import type { PhoneEffect } from "../../../src/phone/core/phone-state.js";
import { TEST_TIMING } from "../../support/board-timing.js";

function fakes(clock: ManualClock) {
  const keyL = new Listeners<KeyEvent>();
  const hookL = new Listeners<HookEvent>();
  const keypad: Keypad = { keys: ["1", "2", "9", "SPEAKER"], onKey: (cb) => keyL.add(cb), down: () => [], close: async () => undefined };
  const hook: HookSwitch = { state: () => "on", onHook: (cb) => hookL.add(cb), close: async () => undefined };
  const lit: Record<string, boolean> = {};
  const leds = new LedBlinker(["SPEAKER"], clock, TEST_TIMING, (id, on) => (lit[id] = on));
  return { keypad, hook, leds, lit, press: (key: string) => keyL.emit({ key, down: true, tMs: clock.now() }), lift: () => hookL.emit({ type: "off", tMs: clock.now() }) };
}

describe("phone shell", () => {
  it("runs the interdigit timer on the clock and places the call when it fires", () => {
    const clock = new ManualClock();
    const f = fakes(clock);
    const shell = new PhoneShell(f, clock, { dialPlan: { emergencyNumbers: ["911"], outsideLinePrefix: "9", extensionLength: 4 }, lockPin: null, interdigitMs: 4000 }, silentLogger());
    const effects: PhoneEffect[] = [];
    shell.onEffect((e) => effects.push(e));
    shell.start();
    f.lift();
    f.press("9");
    f.press("2");
    clock.advance(3999);
    assert.equal(effects.filter((e) => e.type === "place-call").length, 0);
    clock.advance(1);
    assert.deepEqual(effects.filter((e) => e.type === "place-call"), [{ type: "place-call", callId: 1, target: "92", emergency: false }]);
    assert.equal(shell.state.mode, "call");
    shell.stop();
    assert.equal(clock.pending(), 0);
  });

  it("set-delegates: the ring mode goes to the delegation port with the list; saves run one after another", async () => {
    const clock = new ManualClock();
    const f = fakes(clock);
    const saves: Array<{ delegates: unknown; ring: unknown; done: (r: { ok: boolean; message: string }) => void }> = [];
    const delegation = {
      notifyAnswered: () => undefined,
      setDelegates: (delegates: unknown, ring?: unknown) => new Promise<{ ok: boolean; message: string }>((done) => saves.push({ delegates, ring, done })),
    };
    const config = {
      dialPlan: { emergencyNumbers: ["911"], outsideLinePrefix: "9", extensionLength: 4 },
      lockPin: null,
      interdigitMs: 4000,
      ownNumber: "1001",
      delegation: { enabled: true, delegates: [{ number: "1002" }], ringMode: "simultaneous" as const, ringDelayMs: 0, bosses: [] },
    };
    const shell = new PhoneShell(f, clock, config, silentLogger(), { delegation });
    shell.start();
    const press = (k: string): void => shell.dispatch({ type: "key", key: k, down: true, at: clock.now() });
    // Menu > Delegates, then the Ring line (after the one delegate): OK twice
    for (const k of ["MENU", "DOWN", "DOWN", "DOWN", "DOWN", "OK", "DOWN", "OK", "OK"]) press(k);
    const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
    await settle();
    assert.deepEqual(saves.map((x) => [x.delegates, x.ring]), [[[{ number: "1002" }], { ringMode: "delayed", ringDelayMs: 5000 }]], "the second waits for the first");
    saves[0].done({ ok: true, message: "" });
    await settle();
    assert.deepEqual(saves[1] && [saves[1].delegates, saves[1].ring], [[{ number: "1002" }], { ringMode: "delayed", ringDelayMs: 10_000 }]);
    // a refusal is shown; a list change without the ring mode passes none
    saves[1].done({ ok: false, message: "Delegates not saved: delegation is off" });
    await settle();
    assert.equal(shell.state.notice, "Delegates not saved: delegation is off");
    press("UP");
    press("SOFT2");
    await settle();
    assert.deepEqual(saves[2] && [saves[2].delegates, saves[2].ring], [[], undefined]);
    shell.stop();
  });

  it("drives the board's LEDs from the core's effects", () => {
    const clock = new ManualClock();
    const f = fakes(clock);
    const shell = new PhoneShell(f, clock, { dialPlan: { emergencyNumbers: ["911"], outsideLinePrefix: "9", extensionLength: 4 }, lockPin: null, interdigitMs: 4000 }, silentLogger());
    shell.start();
    f.press("SPEAKER");
    assert.equal(f.lit.SPEAKER, true);
    f.press("SPEAKER");
    assert.equal(f.lit.SPEAKER, false);
    shell.stop();
  });
});

// Menu > Location > Test emergency call (RFC 6881 ED-77/ED-78, TV-16): the menu line, the "emergency-test" effect,
// a second press while one runs, the result the shell reports (OK with the echo, 404, other codes, the ED-81 refusal),
// the screen, and the shell running the port.
import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/base/clock.js";
import { silentLogger } from "../../../../src/base/log.js";
import { Listeners } from "../../../../src/hal/api/events.js";
import type { HookEvent, HookSwitch } from "../../../../src/hal/api/hook.js";
import type { KeyEvent, Keypad } from "../../../../src/hal/api/keypad.js";
import type { Leds } from "../../../../src/hal/api/leds.js";
import { emergencyTestOutcome, testResultLine, TEST_ITEM, TEST_NOT_AVAILABLE, TEST_TOO_SOON, TESTING } from "../../../../src/phone/core/emergency-test.js";
import { locationMenuItems } from "../../../../src/phone/core/location-entry.js";
import type { PhoneConfig, PhoneEffect, PhoneEvent, PhoneState } from "../../../../src/phone/core/phone-state.js";
import { PhoneShell, type ShellEmergency } from "../../../../src/phone/shell.js";
import { renderText } from "../../../../src/ui/text-renderer.js";
import { viewOf } from "../../../../src/ui/view-model.js";
import { coreRunner } from "../../../support/core-run.js";

const base: PhoneConfig = { dialPlan: { emergencyNumbers: ["911", "112"], outsideLinePrefix: "9", extensionLength: 4 }, lockPin: "2580", interdigitMs: 4000 };
const config: PhoneConfig = { ...base, emergency: { testCalls: true } };
const run = coreRunner(config);
const key = (k: string): PhoneEvent => ({ type: "key", key: k, down: true, at: 0 });
const of = <T extends PhoneEffect["type"]>(effects: PhoneEffect[], t: T) => effects.filter((e): e is Extract<PhoneEffect, { type: T }> => e.type === t);
const located: PhoneEvent = { type: "location", location: { text: "1100 N Lamar BLVD, Tower 2, Fl 3, Rm 3-214", source: "lis" } };
/** Menu > Location, then UP: the cursor wraps to the last line, "Test emergency call". */
const toTestLine: PhoneEvent[] = [key("MENU"), key("DOWN"), key("DOWN"), key("DOWN"), key("OK"), key("UP")];
const labels = (s: PhoneState): string[] => locationMenuItems(s).map((i) => i.label);
const selected = (s: PhoneState): string | undefined => locationMenuItems(s)[s.menu?.cursor ?? -1]?.label;
const result = (ok: boolean, message: string): PhoneEvent => ({ type: "emergency-test-result", ok, message });
const ECHO = "Test OK: location received: 1100 N Lamar BLVD, Fl 3, Austin\r\nPSAP: test.psap.example; service urn:service:test.sos";
const lcd = (s: PhoneState): string[] => renderText(viewOf(s, { clock: "09:41", lineName: "1001 Alice" }), 20, 4, 0);

describe("emergency test call: the Location menu line", () => {
  it("is offered only when the policy allows test calls (config.emergency.testCalls)", () => {
    const off = coreRunner(base)([located]).state;
    assert.deepEqual(labels(off), ["1100 N Lamar BLVD, Tower 2, Fl 3, Rm 3-214", "Source: LIS", "Enter location", "Clear manual entry"]);
    const on = run([located]).state;
    assert.deepEqual(labels(on), ["1100 N Lamar BLVD, Tower 2, Fl 3, Rm 3-214", "Source: LIS", "Enter location", "Clear manual entry", TEST_ITEM]);
    // no location known: the line is there all the same (the test says what the PSAP got: nothing)
    assert.equal(labels(run([]).state).at(-1), TEST_ITEM);
  });

  it("OK on it asks the shell for the test; the line says Testing... and a second press is ignored", () => {
    const at = run([located, ...toTestLine]);
    assert.equal(selected(at.state), TEST_ITEM);
    const started = run([key("OK")], at.state);
    assert.deepEqual(of(started.effects, "emergency-test"), [{ type: "emergency-test" }]);
    assert.deepEqual(started.state.emergencyTest, { running: true, result: "" });
    assert.equal(selected(started.state), TESTING);
    assert.deepEqual(started.state.menu?.stack, ["main", "location"], "the menu stays open");
    const again = run([key("OK"), key("OK")], started.state);
    assert.deepEqual(of(again.effects, "emergency-test"), [], "no second test while one runs");
    assert.equal(again.state.emergencyTest.running, true);
  });
});

describe("emergency test call: the result", () => {
  const testing = (): PhoneState => run([located, ...toTestLine, key("OK")]).state;

  it("OK: 'Emergency test OK' and the first 60 characters of the echo, as the notice and as a line the cursor moves onto", () => {
    const s = run([result(true, ECHO)], testing()).state;
    // the echo's first 60 characters end on the space before "PSAP:" (the line break, joined): it is trimmed
    const line = "Emergency test OK: Test OK: location received: 1100 N Lamar BLVD, Fl 3, Austin";
    assert.deepEqual(s.emergencyTest, { running: false, result: line });
    assert.equal(s.notice, line);
    assert.deepEqual(labels(s).slice(-2), [TEST_ITEM, line], "the test line is free again, its result below it");
    assert.equal(selected(s), line, "the cursor is on the result: a long one scrolls there");
    // shown once on the screen (the notice is that line), and it starts on the selected row
    const body = viewOf(s, { clock: "09:41", lineName: "1001 Alice" }).body;
    assert.equal(body.filter((l) => l === line).length, 1);
    assert.deepEqual(lcd(s), ["Location       09:41", " Test emergency call", ">Emergency test OK: ", "          Back OK   "]);
  });

  it("OK runs again from the test line; the old result goes while the new test runs", () => {
    const done = run([result(true, ECHO)], testing()).state;
    const again = run([key("UP"), key("OK")], done);
    assert.deepEqual(of(again.effects, "emergency-test"), [{ type: "emergency-test" }]);
    assert.deepEqual(labels(again.state).slice(-1), [TESTING]);
    assert.equal(again.state.notice, "");
  });

  it("404 is 'Test service not available', other codes 'Emergency test failed: <code>', the ED-81 refusal as the shell says", () => {
    for (const [outcome, line] of [
      [emergencyTestOutcome({ code: 404, text: "" }), TEST_NOT_AVAILABLE],
      [emergencyTestOutcome({ code: 486, text: "" }), "Emergency test failed: 486"],
      [emergencyTestOutcome({ code: 503, text: "" }), "Emergency test failed: 503"],
      [emergencyTestOutcome({ code: 0, text: "" }), "Emergency test failed: no answer"],
      [{ ok: false, message: TEST_TOO_SOON }, "Not within 30 min of start"],
    ] as const) {
      const s = run([result(outcome.ok, outcome.message)], testing()).state;
      assert.equal(s.notice, line);
      assert.equal(selected(s), line);
      assert.equal(s.emergencyTest.running, false);
    }
    assert.deepEqual(emergencyTestOutcome({ code: 200, text: "echo" }), { ok: true, message: "echo" });
  });

  it("the result line: the echo's lines joined, at most 60 of its characters, 'Emergency test OK' said once; none is just OK", () => {
    assert.equal(testResultLine(true, ""), "Emergency test OK");
    assert.equal(testResultLine(true, "  PSAP 12\n  location: none  "), "Emergency test OK: PSAP 12 location: none");
    assert.equal(testResultLine(true, "Emergency test OK: PSAP 12"), "Emergency test OK: PSAP 12");
    assert.equal(testResultLine(true, "x".repeat(100)), `Emergency test OK: ${"x".repeat(60)}`);
    assert.equal(testResultLine(false, "Test service not available"), "Test service not available");
  });

  it("with the menu closed (or elsewhere) the result is the notice: the idle screen shows it; the cursor is left alone", () => {
    const idle = run([key("END")], testing()).state;
    assert.equal(idle.menu, null);
    const s = run([result(false, TEST_NOT_AVAILABLE)], idle).state;
    assert.equal(s.notice, TEST_NOT_AVAILABLE);
    assert.equal(lcd(s)[1], "Test service not ava");
    const moved = run([key("UP")], testing()).state;
    const after = run([result(true, "PSAP 12")], moved).state;
    assert.equal(after.menu?.cursor, moved.menu?.cursor, "the user had moved on: the cursor stays");
  });

  it("while the test runs the 20x4 screen reads 'Testing...' on the selected line", () => {
    assert.deepEqual(lcd(testing()), ["Location       09:41", " Clear manual entry ", ">Testing...         ", "          Back OK   "]);
  });
});

describe("emergency test call: the shell", () => {
  function shellWith(emergency?: ShellEmergency): { shell: PhoneShell; effects: PhoneEffect[] } {
    const clock = new ManualClock();
    const keypad: Keypad = { keys: [], onKey: (cb) => new Listeners<KeyEvent>().add(cb), down: () => [], close: async () => undefined };
    const hook: HookSwitch = { state: () => "on", onHook: (cb) => new Listeners<HookEvent>().add(cb), close: async () => undefined };
    const leds = { ids: [], set: () => undefined } as unknown as Leds;
    const shell = new PhoneShell({ keypad, hook, leds }, clock, config, silentLogger(), emergency ? { emergency } : {});
    const effects: PhoneEffect[] = [];
    shell.onEffect((e) => effects.push(e));
    return { shell, effects };
  }
  const press = (shell: PhoneShell, events: PhoneEvent[]): void => events.forEach((e) => shell.dispatch(e));
  const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

  it("runs the port's test and shows what it answered", async () => {
    let calls = 0;
    const { shell, effects } = shellWith({ place: async () => ({ locationText: null }), ended: () => undefined, test: async () => (calls++, { ok: true, message: "PSAP 12: 1100 N Lamar BLVD" }) });
    press(shell, [located, ...toTestLine, key("OK")]);
    assert.equal(shell.state.emergencyTest.running, true);
    await settle();
    assert.equal(calls, 1);
    assert.deepEqual(of(effects, "emergency-test").length, 1);
    assert.deepEqual(shell.state.emergencyTest, { running: false, result: "Emergency test OK: PSAP 12: 1100 N Lamar BLVD" });
  });

  it("without a test port: 'No line'; a port that fails: 'Emergency test failed'", async () => {
    const none = shellWith({ place: async () => ({ locationText: null }), ended: () => undefined });
    press(none.shell, [located, ...toTestLine, key("OK")]);
    await settle();
    assert.deepEqual(none.shell.state.emergencyTest, { running: false, result: "No line" });
    const broken = shellWith({ place: async () => ({ locationText: null }), ended: () => undefined, test: () => Promise.reject(new Error("boom")) });
    press(broken.shell, [located, ...toTestLine, key("OK")]);
    await settle();
    assert.equal(broken.shell.state.notice, "Emergency test failed");
    const throwing = shellWith({
      place: async () => ({ locationText: null }),
      ended: () => undefined,
      test: () => {
        throw new Error("sync boom");
      },
    });
    press(throwing.shell, [located, ...toTestLine, key("OK")]);
    await settle();
    assert.equal(throwing.shell.state.emergencyTest.running, false, "never stuck on Testing...");
  });
});

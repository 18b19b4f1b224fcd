import assert from "node:assert/strict";
import { initialState, type PhoneEvent, type PhoneEffect } from "../../../../src/phone/core/phone-state.js";
import { reduce, summarize, pinBlocksEmergency } from "../../../../src/phone/core/reduce.js";
import { coreRunner } from "../../../support/core-run.js";

const config = {
  dialPlan: { emergencyNumbers: ["911", "112"], emergencyMasks: { "112": "911" }, outsideLinePrefix: "9", extensionLength: 4 },
  lockPin: "2580",
  interdigitMs: 4000,
};

const run = coreRunner(config);

const keys = (digits: string): PhoneEvent[] => [...digits].map((key) => ({ type: "key", key, down: true }) as PhoneEvent);
const placed = (effects: PhoneEffect[]) => effects.filter((e) => e.type === "place-call");

describe("phone core reducer", () => {
  it("lifting the handset gives dial tone on the handset; replacing it returns to idle", () => {
    const up = run([{ type: "hook", state: "off" }]);
    assert.equal(up.state.mode, "dialtone");
    assert.deepEqual(up.effects, [{ type: "audio-path", path: "handset" }, { type: "tone", tone: "dial" }]);
    const down = run([{ type: "hook", state: "on" }], up.state);
    assert.equal(down.state.mode, "idle");
  });

  it("dials an extension and places the call when the plan says it is complete", () => {
    const r = run([{ type: "hook", state: "off" }, ...keys("1001")]);
    assert.equal(r.state.mode, "call");
    assert.deepEqual(placed(r.effects), [{ type: "place-call", callId: 1, target: "1001", emergency: false }]);
    assert.ok(r.effects.some((e) => e.type === "start-timer"), "the interdigit timer ran while dialling");
    assert.equal(run([{ type: "hook", state: "on" }], r.state).effects[0].type, "hangup-call");
  });

  it("sends what was dialled when the interdigit timer fires, and on #", () => {
    const r = run([{ type: "hook", state: "off" }, ...keys("95551"), { type: "timer", id: "interdigit" }]);
    assert.deepEqual(placed(r.effects), [{ type: "place-call", callId: 1, target: "95551", emergency: false }]);
    const h = run([{ type: "hook", state: "off" }, ...keys("9555#")]);
    assert.deepEqual(placed(h.effects), [{ type: "place-call", callId: 1, target: "9555", emergency: false }]);
  });

  it("on-hook dialling from idle uses the speaker", () => {
    const r = run(keys("1001"));
    assert.equal(r.state.audioPath, "speaker");
    assert.equal(placed(r.effects).length, 1);
  });

  it("places 9911 as an emergency call to 911 on the last digit", () => {
    const r = run([{ type: "hook", state: "off" }, ...keys("9911")]);
    assert.deepEqual(placed(r.effects), [{ type: "place-call", callId: 1, target: "911", emergency: true }]);
  });

  it("a locked phone refuses ordinary calls but places emergency calls, from the handset or the lock screen", () => {
    const locked = run([{ type: "lock" }]).state;
    assert.equal(locked.locked, true);
    const ordinary = run([{ type: "hook", state: "off" }, ...keys("1001")], locked);
    assert.deepEqual(placed(ordinary.effects), []);
    assert.equal(ordinary.state.notice, "Phone locked");
    const viaHandset = run([{ type: "hook", state: "off" }, ...keys("911")], locked);
    assert.deepEqual(placed(viaHandset.effects), [{ type: "place-call", callId: 1, target: "911", emergency: true }]);
    const onLockScreen = run(keys("112"), locked);
    assert.deepEqual(placed(onLockScreen.effects), [{ type: "place-call", callId: 1, target: "911", emergency: true }]);
    assert.equal(onLockScreen.state.locked, true, "an emergency call does not unlock the phone");
  });

  it("unlocks with the right PIN only", () => {
    const locked = run([{ type: "lock" }]).state;
    const wrong = run([...keys("1234"), { type: "key", key: "OK", down: true }], locked);
    assert.equal(wrong.state.locked, true);
    assert.equal(wrong.state.notice, "Wrong PIN");
    const right = run([...keys("2580"), { type: "key", key: "OK", down: true }], wrong.state);
    assert.equal(right.state.locked, false);
    assert.ok(!JSON.stringify(summarize(right.state)).includes("2580"), "the summary never carries the PIN");
  });

  it("refuses a lock PIN that would dial an emergency number on the lock screen", () => {
    assert.equal(pinBlocksEmergency("9110", config.dialPlan), true);
    assert.equal(pinBlocksEmergency("1125", config.dialPlan), true);
    assert.equal(pinBlocksEmergency("2580", config.dialPlan), false);
  });

  it("toggles DND with its LED, and not while locked", () => {
    const on = run([{ type: "key", key: "DND", down: true }]);
    assert.equal(on.state.dnd, true);
    assert.deepEqual(on.effects, [{ type: "set-led", id: "DND", mode: "on" }]);
    const locked = run([{ type: "lock" }, { type: "key", key: "DND", down: true }]);
    assert.equal(locked.state.dnd, false);
    assert.equal(locked.effects.at(-1)?.type, "rejected");
  });

  it("redials the last number, never an emergency one", () => {
    const first = run([...keys("1001"), { type: "key", key: "END", down: true }]);
    assert.equal(first.state.mode, "idle");
    const again = run([{ type: "key", key: "REDIAL", down: true }], first.state);
    assert.deepEqual(placed(again.effects), [{ type: "place-call", callId: 2, target: "1001", emergency: false }]);
    const afterSos = run([{ type: "key", key: "END", down: true }, ...keys("911"), { type: "key", key: "END", down: true }, { type: "key", key: "REDIAL", down: true }], again.state);
    assert.deepEqual(placed(afterSos.effects).map((e) => (e.type === "place-call" ? e.target : "")), ["911", "1001"]);
  });

  it("ignores key-ups, long presses and keys that mean nothing in the current state", () => {
    const s = initialState(config);
    assert.deepEqual(reduce(s, { type: "key", key: "5", down: false }), { state: s, effects: [] });
    assert.deepEqual(reduce(s, { type: "key", key: "HOLD", down: true }), { state: s, effects: [] });
    assert.deepEqual(reduce(s, { type: "timer", id: "interdigit" }), { state: s, effects: [] });
  });

  it("a hook flash while dialling starts over with fresh dial tone", () => {
    const r = run([{ type: "hook", state: "off" }, ...keys("95"), { type: "hook", state: "flash" }]);
    assert.equal(r.state.mode, "dialtone");
    assert.equal(r.state.dialled, "");
    assert.deepEqual(r.effects.slice(-2), [{ type: "audio-path", path: "handset" }, { type: "tone", tone: "dial" }]);
  });
});

describe("phone core menus", () => {
  const press = (k: string): PhoneEvent => ({ type: "key", key: k, down: true });

  it("MENU opens the menu; UP/DOWN move (wrapping); OK enters; BACK leaves; END closes", () => {
    let r = run([press("MENU")]);
    assert.deepEqual(r.state.menu, { stack: ["main"], cursor: 0 });
    r = run([press("UP")], r.state);
    assert.equal(r.state.menu?.cursor, 4, "UP from the top wraps to About");
    r = run([press("OK")], r.state);
    assert.deepEqual(r.state.menu?.stack, ["main", "about"]);
    r = run([press("BACK")], r.state);
    assert.deepEqual(r.state.menu, { stack: ["main"], cursor: 0 });
    r = run([press("END")], r.state);
    assert.equal(r.state.menu, null);
  });

  it("switches DND from the settings menu, and locks the phone from it when a PIN is set", () => {
    let r = run([press("MENU"), press("OK"), press("OK")]);
    assert.equal(r.state.dnd, true);
    assert.deepEqual(r.effects.at(-1), { type: "set-led", id: "DND", mode: "on" });
    r = run([press("DOWN"), press("OK")], r.state);
    assert.equal(r.state.locked, true);
    assert.equal(r.state.menu, null);
    const noPin = run([press("MENU"), press("OK"), press("DOWN"), press("OK")], initialState({ ...config, lockPin: null }));
    assert.equal(noPin.state.locked, false);
    assert.equal(noPin.state.notice, "No lock PIN is set");
  });

  it("hides menus while locked, and lifting the handset closes the menu", () => {
    const locked = run([{ type: "lock" }, press("MENU")]);
    assert.equal(locked.state.menu, null);
    assert.equal(locked.effects.at(-1)?.type, "rejected");
    const lifted = run([press("MENU"), { type: "hook", state: "off" }]);
    assert.equal(lifted.state.menu, null);
    assert.equal(lifted.state.mode, "dialtone");
  });
});

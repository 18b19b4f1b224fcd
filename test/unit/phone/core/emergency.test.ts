// Emergency-call policy in the core: nothing interrupts an emergency call (TV-11), other calls stay held, the callback
// window after it (TV-12), the location and its prompt (Lync LocationRequired), the location each INVITE carried, and
// emergency numbers refused as forward targets and directory entries (ED-67).
import assert from "node:assert/strict";
import { initialState, isEmergencyTarget, storableConfig, type PhoneConfig, type PhoneEffect, type PhoneEvent, type PhoneState } from "../../../../src/phone/core/phone-state.js";
import { summarize } from "../../../../src/phone/core/reduce.js";
import { DEFAULT_DISCLAIMER } from "../../../../src/phone/core/emergency.js";
import { coreRunner } from "../../../support/core-run.js";

const config: PhoneConfig = {
  dialPlan: { emergencyNumbers: ["911", "112"], emergencyMasks: { "112": "911" }, outsideLinePrefix: "9", extensionLength: 4 },
  lockPin: "2580",
  interdigitMs: 4000,
};

const run = coreRunner(config);
const key = (k: string, at = 0): PhoneEvent => ({ type: "key", key: k, down: true, at });
const keys = (d: string, at = 0): PhoneEvent[] => [...d].map((k) => key(k, at));
const WALL = 1_700_000_000_000;
const incoming = (callId: number, number = "1002", at = 1000): PhoneEvent => ({ type: "call-incoming", callId, remote: { uri: `sip:${number}@pbx` }, number, at, wallAt: WALL + at });
const progress = (callId: number, state: "ringing" | "early" | "connected", at = 2000): PhoneEvent => ({ type: "call-progress", callId, state, at });
const ended = (callId: number, reason: "remote-hangup" | "local-hangup" | "failed", at: number): PhoneEvent => ({ type: "call-ended", callId, reason, at, wallAt: WALL + at });
const of = <T extends PhoneEffect["type"]>(effects: PhoneEffect[], t: T) => effects.filter((e): e is Extract<PhoneEffect, { type: T }> => e.type === t);
const MIN = 60_000;

/** An emergency call to 911, answered by the PSAP. */
const sosUp = (s?: PhoneState) => run([{ type: "hook", state: "off", at: 0 }, ...keys("911"), progress(1, "connected", 3000)], s);

describe("emergency call: nothing interrupts it (TV-11)", () => {
  it("HOLD, TRANSFER, CONF and their softkeys are refused with a notice and a rejected effect; the call stays up", () => {
    const up = sosUp();
    for (const k of ["HOLD", "TRANSFER", "CONF", "SOFT2", "SOFT3"]) {
      const r = run([key(k)], up.state);
      assert.equal(r.state.notice, "Not during an emergency call", k);
      assert.deepEqual(r.effects, [{ type: "rejected", event: `key ${k}`, why: "emergency call" }], k);
      assert.equal(r.state.mode, "call", k);
      assert.equal(r.state.transferFrom, null, k);
      assert.equal(r.state.calls[0].state, "connected", k);
    }
  });

  it("a hook flash does not hold the emergency call", () => {
    const r = run([{ type: "hook", state: "flash", at: 5000 }], sosUp().state);
    assert.deepEqual(of(r.effects, "hold-call"), []);
    assert.equal(of(r.effects, "rejected").length, 1);
    assert.equal(r.state.calls[0].state, "connected");
  });

  it("a second incoming call is turned away at once with 486: no waiting tone, no ringer, a missed call in the history", () => {
    const r = run([incoming(2, "1003", 10_000)], sosUp().state);
    assert.deepEqual(of(r.effects, "reject-call"), [{ type: "reject-call", callId: 2, code: 486 }]);
    assert.deepEqual(of(r.effects, "tone"), []);
    assert.deepEqual(of(r.effects, "ringer"), []);
    assert.deepEqual(r.state.calls.map((c) => c.id), [1]);
    assert.equal(r.state.history[0].kind, "missed");
    // even with forward-on-busy set: the emergency call comes first
    const fwd = run([incoming(2)], { ...sosUp().state, config: { ...config, forward: { always: null, busy: "1009", noAnswer: null, noAnswerMs: 0 } } });
    assert.deepEqual(of(fwd.effects, "forward-call"), []);
    assert.deepEqual(of(fwd.effects, "reject-call"), [{ type: "reject-call", callId: 2, code: 486 }]);
  });

  it("the user can still hang up: END, the handset, or SPEAKER on hook", () => {
    const up = sosUp();
    assert.deepEqual(of(run([key("END")], up.state).effects, "hangup-call"), [{ type: "hangup-call", callId: 1 }]);
    assert.deepEqual(of(run([{ type: "hook", state: "on", at: 9000 }], up.state).effects, "hangup-call"), [{ type: "hangup-call", callId: 1 }]);
    const onSpeaker = run([...keys("911"), progress(1, "connected")]);
    assert.deepEqual(of(run([key("SPEAKER")], onSpeaker.state).effects, "hangup-call"), [{ type: "hangup-call", callId: 1 }]);
  });

  it("MUTE and DTMF still work in an emergency call", () => {
    const up = sosUp();
    assert.equal(run([key("MUTE")], up.state).state.muted, true);
    assert.deepEqual(of(run([key("5")], up.state).effects, "send-dtmf"), [{ type: "send-dtmf", callId: 1, digit: "5" }]);
  });
});

describe("emergency call with another call up", () => {
  const held = () => run([{ type: "hook", state: "off" }, ...keys("1003"), progress(1, "connected"), key("HOLD"), { type: "call-held", callId: 1, held: true }]);

  it("911 dialled over a held call: the held call stays held, through the emergency call and after it", () => {
    const sos = run([...keys("911"), progress(2, "connected", 4000)], held().state);
    assert.deepEqual(of(sos.effects, "place-call"), [{ type: "place-call", callId: 2, target: "911", emergency: true }]);
    assert.deepEqual(of(sos.effects, "hold-call"), [], "it was held already: nothing to do");
    assert.equal(sos.state.focus, 2);
    // Swap would resume it: refused
    const swap = run([key("HOLD")], sos.state);
    assert.deepEqual(of(swap.effects, "hold-call"), []);
    assert.equal(swap.state.focus, 2);
    // the emergency call ends: the other call is on screen, still held, not resumed
    const after = run([ended(2, "remote-hangup", 60_000)], sos.state);
    assert.deepEqual(after.state.calls.map((c) => [c.id, c.state]), [[1, "held"]]);
    assert.deepEqual(of(after.effects, "hold-call"), []);
    assert.equal(after.state.focus, 1);
    assert.equal(after.state.mode, "call");
  });

  it("911 dialled as a transfer target is an emergency call: the transfer is dropped, the call being transferred stays held", () => {
    const up = run([{ type: "hook", state: "off" }, ...keys("1003"), progress(1, "connected")]);
    // the hold was asked for; SIP has not confirmed it yet (the call still reads connected)
    const aside = run([key("TRANSFER")], up.state);
    assert.equal(aside.state.transferFrom, 1);
    const sos = run(keys("911"), aside.state);
    assert.deepEqual(of(sos.effects, "place-call"), [{ type: "place-call", callId: 2, target: "911", emergency: true }]);
    assert.deepEqual(of(sos.effects, "hold-call"), [], "asked once already");
    assert.equal(sos.state.transferFrom, null);
    assert.deepEqual(of(run([key("TRANSFER")], sos.state).effects, "transfer-attended"), [], "no transfer of the emergency call");
  });

  it("a waiting call is turned away (486) when 911 goes out, and its ringing stops", () => {
    const waiting = run([incoming(2)], held().state);
    assert.deepEqual(waiting.state.calls.map((c) => c.state), ["held", "incoming"]);
    const sos = run(keys("911"), waiting.state);
    assert.deepEqual(of(sos.effects, "reject-call"), [{ type: "reject-call", callId: 2, code: 486 }]);
    assert.deepEqual(sos.state.calls.map((c) => [c.id, c.state, c.emergency]), [[1, "held", false], [3, "calling", true]]);
    // SIP confirms the end: a missed call
    const gone = run([ended(2, "remote-hangup", 5000)], sos.state);
    assert.equal(gone.state.history[0].kind, "missed");
  });

  it("with a connected call (not held), the emergency call holds it first", () => {
    // a rig-made state: a connected call and dial tone (no path the keys take, but the policy holds whatever is up)
    const up = run([{ type: "hook", state: "off" }, ...keys("1003"), progress(1, "connected")]);
    const dialling: PhoneState = { ...up.state, mode: "dialtone", dialled: "" };
    const sos = run(keys("911"), dialling);
    assert.deepEqual(of(sos.effects, "hold-call"), [{ type: "hold-call", callId: 1, hold: true }]);
  });
});

describe("emergency callback window (TV-12)", () => {
  const tv12: PhoneConfig = { ...config, forward: { always: "8000", busy: null, noAnswer: null, noAnswerMs: 0 } };
  const T = 10 * MIN;
  /** DND on, forward-all to voicemail; an emergency call answered and ended by the PSAP at T. */
  const afterSos = () => {
    const s0 = initialState(tv12);
    return run([key("DND"), { type: "hook", state: "off", at: 0 }, ...keys("911"), progress(1, "connected", 5000), ended(1, "remote-hangup", T), { type: "hook", state: "on", at: T + 1000 }], s0);
  };

  it("opens when the emergency call ends, for 30 min by default, with a timer to close it; DND stays as the user left it", () => {
    const r = afterSos();
    assert.equal(r.state.emergencyCallbackUntil, T + 30 * MIN);
    assert.deepEqual(of(r.effects, "start-timer").filter((t) => t.id === "emergency-callback"), [{ type: "start-timer", id: "emergency-callback", ms: 30 * MIN }]);
    assert.equal(r.state.dnd, true);
    const sum = summarize(r.state);
    assert.equal(sum.callbackMode, true);
    assert.equal(sum.emergencyCallbackUntil, T + 30 * MIN);
  });

  it("T+12 min: the call rings, is not forwarded, DND does not apply; T+31 min: DND and forwarding are back", () => {
    const open = afterSos();
    const at12 = run([incoming(2, "5125550100", T + 12 * MIN)], open.state);
    assert.equal(at12.state.mode, "ringing");
    assert.deepEqual(of(at12.effects, "ringer"), [{ type: "ringer", on: true, pattern: "standard" }]);
    assert.deepEqual(of(at12.effects, "forward-call"), []);
    assert.deepEqual(of(at12.effects, "reject-call"), []);
    assert.deepEqual(of(run([key("OK", T + 12 * MIN + 3000)], at12.state).effects, "answer-call"), [{ type: "answer-call", callId: 2 }]);

    const closed = run([{ type: "timer", id: "emergency-callback", at: T + 30 * MIN }], open.state);
    assert.equal(closed.state.emergencyCallbackUntil, null);
    const at31 = run([incoming(2, "5125550100", T + 31 * MIN)], closed.state);
    assert.deepEqual(of(at31.effects, "forward-call"), [{ type: "forward-call", callId: 2, target: "8000" }]);
    assert.deepEqual(of(at31.effects, "ringer"), []);
    // without forwarding, DND turns it away again
    const dndOnly = run([incoming(2, "5125550100", T + 31 * MIN)], { ...closed.state, config: config });
    assert.deepEqual(of(dndOnly.effects, "reject-call"), [{ type: "reject-call", callId: 2, code: 486 }]);
  });

  it("time decides even if the timer is late; a timer that fires early re-arms for the rest", () => {
    const open = afterSos();
    const late = run([incoming(2, "1002", T + 31 * MIN)], open.state);
    assert.deepEqual(of(late.effects, "forward-call"), [{ type: "forward-call", callId: 2, target: "8000" }]);
    const early = run([{ type: "timer", id: "emergency-callback", at: T + 20 * MIN }], open.state);
    assert.equal(early.state.emergencyCallbackUntil, T + 30 * MIN);
    assert.deepEqual(early.effects, [{ type: "start-timer", id: "emergency-callback", ms: 10 * MIN }]);
  });

  it("forward on busy and on no answer are skipped in the window; call waiting rings even when it is off", () => {
    const cfg: PhoneConfig = { ...config, callWaiting: false, forward: { always: null, busy: "1009", noAnswer: "1010", noAnswerMs: 15_000 } };
    const open = run([...keys("911"), progress(1, "connected", 1000), ended(1, "remote-hangup", T)], initialState(cfg));
    const ring = run([incoming(2, "1002", T + MIN)], open.state);
    assert.deepEqual(of(ring.effects, "start-timer"), [], "no no-answer forward timer");
    assert.deepEqual(of(run([{ type: "timer", id: "no-answer:2", at: T + 2 * MIN }], ring.state).effects, "forward-call"), []);
    const talking = run([key("OK"), progress(2, "connected", T + MIN + 2000)], ring.state);
    const second = run([incoming(3, "5125550100", T + 2 * MIN)], talking.state);
    assert.deepEqual(of(second.effects, "forward-call"), [], "no forward on busy");
    assert.deepEqual(of(second.effects, "tone"), [{ type: "tone", tone: "call-waiting" }]);
  });

  it("also opens when the user hangs up, or when the call failed (abandoned 911 calls are called back); the window length is configurable", () => {
    const cfg: PhoneConfig = { ...config, emergency: { callbackWindowMs: 5 * MIN } };
    const hung = run([{ type: "hook", state: "off", at: 0 }, ...keys("911"), progress(1, "connected", 2000), { type: "hook", state: "on", at: 7000 }], initialState(cfg));
    assert.equal(hung.state.emergencyCallbackUntil, 7000 + 5 * MIN);
    // SIP confirming the end later does not move the window
    assert.equal(run([ended(1, "local-hangup", 9000)], hung.state).state.emergencyCallbackUntil, 7000 + 5 * MIN);
    const failed = run([...keys("911"), ended(1, "failed", 4000)]);
    assert.equal(failed.state.emergencyCallbackUntil, 4000 + 30 * MIN);
    const ordinary = run([...keys("1003"), progress(1, "connected"), ended(1, "remote-hangup", 9000)]);
    assert.equal(ordinary.state.emergencyCallbackUntil, null);
  });
});

describe("location and the location prompt (LocationRequired)", () => {
  const yes = initialState({ ...config, emergency: { locationRequired: "yes" } });
  const disclaimer = initialState({ ...config, emergency: { locationRequired: "disclaimer", disclaimer: "Call security at x4000 with your location" } });
  const here: PhoneEvent = { type: "location", location: { text: "1100 N Lamar BLVD, Fl 3", source: "lis" } };

  it("the location event sets the state; the prompt shows only when required and no location is known", () => {
    assert.equal(summarize(run([]).state).locationPrompt, "off", "the policy's default is no");
    assert.equal(summarize(run([], yes).state).locationPrompt, "showing");
    const known = run([here], yes);
    assert.deepEqual(known.state.location, { text: "1100 N Lamar BLVD, Fl 3", source: "lis" });
    assert.deepEqual(summarize(known.state).location, { text: "1100 N Lamar BLVD, Fl 3", source: "lis" });
    assert.equal(summarize(known.state).locationPrompt, "off");
    assert.equal(summarize(run([{ type: "location", location: null }], known.state).state).locationPrompt, "showing", "lost again: asked again");
  });

  it("OK on the prompt opens the manual entry; Skip or BACK dismisses it until the location changes", () => {
    const ok = run([key("OK")], yes);
    assert.equal(ok.state.locationEntry?.field, 0);
    for (const k of ["SOFT3", "BACK"]) {
      const skip = run([key(k)], yes);
      assert.equal(skip.state.locationPromptDismissed, true, k);
      assert.equal(summarize(skip.state).locationPrompt, "dismissed", k);
      assert.equal(skip.state.notice, "", `${k}: no disclaimer under "yes"`);
    }
    const skipped = run([key("SOFT3")], yes).state;
    // the same (no) location again: still dismissed; a new one then none: asked again
    assert.equal(run([{ type: "location", location: null }], skipped).state.locationPromptDismissed, true);
    assert.equal(run([here, { type: "location", location: null }], skipped).state.locationPromptDismissed, false);
  });

  it("under disclaimer, dismissing shows the disclaimer (the policy's, else a default)", () => {
    assert.equal(run([key("SOFT3")], disclaimer).state.notice, "Call security at x4000 with your location");
    const noText = initialState({ ...config, emergency: { locationRequired: "disclaimer" } });
    assert.equal(run([key("BACK")], noText).state.notice, DEFAULT_DISCLAIMER);
  });

  it("the prompt never stands before a call: 911 and ordinary numbers dial from it", () => {
    assert.deepEqual(of(run(keys("911"), yes).effects, "place-call"), [{ type: "place-call", callId: 1, target: "911", emergency: true }]);
    assert.deepEqual(of(run(keys("1003"), disclaimer).effects, "place-call"), [{ type: "place-call", callId: 1, target: "1003", emergency: false }]);
    assert.equal(run([{ type: "hook", state: "off" }], yes).state.mode, "dialtone");
    // 911 from inside the entry: lift the handset
    const typing = run([key("OK"), ...keys("12")], yes);
    const lifted = run([{ type: "hook", state: "off" }, ...keys("911")], typing.state);
    assert.equal(lifted.state.locationEntry, null);
    assert.deepEqual(of(lifted.effects, "place-call"), [{ type: "place-call", callId: 1, target: "911", emergency: true }]);
  });

  it("not on the lock screen: there digits go to the PIN and OK unlocks", () => {
    const locked = run([{ type: "lock" }, ...keys("2580"), key("OK")], yes);
    assert.equal(locked.state.locked, false);
    assert.equal(locked.state.locationEntry, null);
  });
});

describe("the location each emergency INVITE carried", () => {
  it("emergency-location-sent keeps the text (or null) on the call and in the summary; ignored for other calls", () => {
    const sos = run([...keys("911"), { type: "emergency-location-sent", callId: 1, text: "Tower 2, Fl 3, Rm 3-214" }]);
    assert.equal(sos.state.calls[0].locationSent, "Tower 2, Fl 3, Rm 3-214");
    assert.equal((summarize(sos.state).calls as Array<Record<string, unknown>>)[0].locationSent, "Tower 2, Fl 3, Rm 3-214");
    const none = run([...keys("911"), { type: "emergency-location-sent", callId: 1, text: null }]);
    assert.equal(none.state.calls[0].locationSent, null);
    assert.equal((summarize(none.state).calls as Array<Record<string, unknown>>)[0].locationSent, null);
    const ordinary = run([...keys("1003"), { type: "emergency-location-sent", callId: 1, text: "x" }]);
    assert.equal(ordinary.state.calls[0].locationSent, undefined);
    assert.ok(!("locationSent" in (summarize(ordinary.state).calls as Array<Record<string, unknown>>)[0]));
  });
});

describe("emergency numbers are never stored to dial later (ED-67)", () => {
  it("recognises emergency targets in every form a config may hold", () => {
    for (const t of ["911", "9911", "112", "+911", "sip:911@pbx.example.com", "tel:911", "urn:service:sos", "urn:service:sos.police", " 9-1-1 "]) assert.equal(isEmergencyTarget(t, config.dialPlan), true, t);
    for (const t of ["1002", "9115", "sip:alice@pbx", "8000", ""]) assert.equal(isEmergencyTarget(t, config.dialPlan), false, t);
  });

  it("a config forwarding to 911 (always, busy, no answer) is refused with a notice; other targets stay", () => {
    const bad: PhoneConfig = { ...config, forward: { always: "911", busy: "1009", noAnswer: "sip:9911@pbx", noAnswerMs: 15000 } };
    const r = run([{ type: "config", config: bad }]);
    assert.deepEqual(r.state.config.forward, { always: null, busy: "1009", noAnswer: null, noAnswerMs: 15000 });
    assert.equal(r.state.notice, "Forward to 911 refused: emergency number");
    assert.equal(of(r.effects, "rejected").length, 2);
    assert.deepEqual(of(run([incoming(1)], r.state).effects, "forward-call"), []);
    // at start-up too
    assert.equal(initialState(bad).config.forward?.always, null);
    assert.equal(initialState(bad).notice, "Forward to 911 refused: emergency number");
  });

  it("directory entries with an emergency number are left out", () => {
    const dir: PhoneConfig = { ...config, directory: [{ name: "Reception", number: "1000" }, { name: "Police", number: "911" }] };
    const r = storableConfig(dir);
    assert.deepEqual(r.config.directory, [{ name: "Reception", number: "1000" }]);
    assert.deepEqual(r.refused, ["Directory: 911 refused, emergency number"]);
    assert.deepEqual(storableConfig(config), { config, refused: [] }, "a clean config is kept as is");
  });
});

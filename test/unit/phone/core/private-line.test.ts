// The private line in the core: calls to config.privateLine.number ring with their own pattern under a "Private line"
// banner, ring through DND, are never forwarded, are marked in the call history; outgoing calls are unaffected.
import assert from "node:assert/strict";
import { initialState, type PhoneConfig, type PhoneEffect, type PhoneEvent, type PhoneState } from "../../../../src/phone/core/phone-state.js";
import { summarize } from "../../../../src/phone/core/reduce.js";
import { viewOf } from "../../../../src/ui/view-model.js";
import { renderText } from "../../../../src/ui/text-renderer.js";
import { coreRunner } from "../../../support/core-run.js";

const config: PhoneConfig = {
  dialPlan: { emergencyNumbers: ["911"], outsideLinePrefix: "9", extensionLength: 4 },
  lockPin: "2580",
  interdigitMs: 4000,
  ownNumber: "1001",
  privateLine: { number: "1901" },
};
const forwarding = { always: "1009", busy: "1008", noAnswer: "1007", noAnswerMs: 15000 };

const run = coreRunner(config);
const key = (k: string, at = 0): PhoneEvent => ({ type: "key", key: k, down: true, at });
const WALL = 1_700_000_000_000;
const incoming = (callId: number, to?: string, number = "1003", name = "Carol", at = 1000): PhoneEvent => ({
  type: "call-incoming",
  callId,
  remote: { uri: `sip:${number}@pbx`, name },
  number,
  ...(to ? { to } : {}),
  at,
  wallAt: WALL + at,
});
const progress = (callId: number, state: "ringing" | "connected", at = 2000): PhoneEvent => ({ type: "call-progress", callId, state, at });
const ended = (callId: number, reason: "remote-hangup" | "cancelled", at = 10_000): PhoneEvent => ({ type: "call-ended", callId, reason, at, wallAt: WALL + at });
const of = <T extends PhoneEffect["type"]>(effects: PhoneEffect[], t: T) => effects.filter((e): e is Extract<PhoneEffect, { type: T }> => e.type === t);
const lcd = (s: PhoneState): string[] => renderText(viewOf(s, { clock: "09:41", lineName: "1001 Alice", now: 1000 }), 20, 4);

describe("private line", () => {
  it("a call to the private number rings with the private pattern (double by default, whatever Alert-Info asked) under a 'Private line' banner", () => {
    const r = run([{ ...incoming(1, "1901"), ring: "triple" } as PhoneEvent]);
    assert.equal(r.state.mode, "ringing");
    assert.equal(r.state.calls[0].line, "private");
    assert.deepEqual(of(r.effects, "ringer"), [{ type: "ringer", on: true, pattern: "double" }]);
    assert.deepEqual(lcd(r.state).slice(1, 3), ["Private line        ", "Carol               "]);
    const own = run([incoming(1, "1901")], initialState({ ...config, privateLine: { number: "1901", ringPattern: "short" } }));
    assert.deepEqual(of(own.effects, "ringer"), [{ type: "ringer", on: true, pattern: "short" }]);
    // the number called may come as a URI or with separators
    assert.equal(run([incoming(1, "sip:1901@pbx.example")]).state.calls[0].line, "private");
  });

  it("calls to the primary number, or with no private line configured, are ordinary", () => {
    for (const r of [run([incoming(1, "1001")]), run([incoming(1)]), run([incoming(1, "1901")], initialState({ ...config, privateLine: undefined }))]) {
      assert.equal(r.state.calls[0].line, undefined);
      assert.deepEqual(of(r.effects, "ringer"), [{ type: "ringer", on: true, pattern: "standard" }]);
      assert.equal(lcd(r.state)[1], "Incoming call       ");
    }
  });

  it("rings through DND (the primary line does not)", () => {
    const dnd = run([key("DND")]).state;
    const priv = run([incoming(1, "1901")], dnd);
    assert.equal(priv.state.mode, "ringing");
    assert.deepEqual(of(priv.effects, "reject-call"), []);
    const primary = run([incoming(1, "1001")], dnd);
    assert.deepEqual(of(primary.effects, "reject-call"), [{ type: "reject-call", callId: 1, code: 486 }]);
  });

  it("is never forwarded: not always, not on no answer, and busy gives call waiting or 486, never forward-busy", () => {
    const fwd = initialState({ ...config, forward: forwarding });
    const ring = run([incoming(1, "1901")], fwd);
    assert.equal(ring.state.mode, "ringing");
    assert.deepEqual(of(ring.effects, "forward-call"), []);
    assert.deepEqual(of(ring.effects, "start-timer"), [], "no no-answer timer");
    // the primary line forwards as configured
    assert.deepEqual(of(run([incoming(1, "1001")], fwd).effects, "forward-call"), [{ type: "forward-call", callId: 1, target: "1009" }]);
    // busy: call waiting on (the default): it waits, with the waiting tone
    const noAlways = initialState({ ...config, forward: { ...forwarding, always: null } });
    const up = run([{ type: "hook", state: "off" }, key("1"), key("0"), key("0"), key("2"), progress(1, "connected")], noAlways).state;
    const waits = run([incoming(2, "1901")], up);
    assert.deepEqual(of(waits.effects, "tone"), [{ type: "tone", tone: "call-waiting" }]);
    assert.deepEqual(of(waits.effects, "forward-call"), []);
    // call waiting off: 486, while a primary-line call goes to forward-busy
    const noWaiting = { ...up, config: { ...up.config, callWaiting: false } };
    const busy = run([incoming(2, "1901")], noWaiting);
    assert.deepEqual(of(busy.effects, "reject-call"), [{ type: "reject-call", callId: 2, code: 486 }]);
    assert.deepEqual(of(busy.effects, "forward-call"), []);
    assert.deepEqual(of(run([incoming(2, "1001")], noWaiting).effects, "forward-call"), [{ type: "forward-call", callId: 2, target: "1008" }]);
  });

  it("the call history marks private-line calls, answered or missed; the summary shows the line", () => {
    const up = run([incoming(1, "1901"), key("OK"), progress(1, "connected", 2000)]);
    assert.deepEqual(summarize(up.state).calls, [
      { id: 1, line: "private", forBoss: null, direction: "in", state: "connected", remote: { uri: "sip:1003@pbx", name: "Carol" }, number: "1003", emergency: false, remoteHold: false, focused: true, ring: "double" },
    ]);
    assert.equal(lcd(up.state)[2], "Private line        ");
    const done = run([ended(1, "remote-hangup", 62_000)], up.state);
    assert.deepEqual(done.state.history[0], { kind: "received", number: "1003", name: "Carol", at: WALL + 1000, seconds: 60, line: "private" });
    const missed = run([incoming(2, "1901"), ended(2, "cancelled")]);
    assert.deepEqual(missed.state.history.map((h) => [h.kind, h.line]), [["missed", "private"]]);
    assert.equal(summarize(missed.state).privateLine, "1901");
  });

  it("outgoing calls use the primary number: nothing private about them", () => {
    const r = run([{ type: "hook", state: "off" }, key("1"), key("0"), key("0"), key("4")]);
    assert.deepEqual(of(r.effects, "place-call"), [{ type: "place-call", callId: 1, target: "1004", emergency: false }]);
    assert.equal(r.state.calls[0].line, undefined);
  });

  it("nothing interrupts an emergency call, not even the private line (486)", () => {
    const sos = run([{ type: "hook", state: "off" }, key("9"), key("1"), key("1")]).state;
    const r = run([incoming(2, "1901")], sos);
    assert.deepEqual(of(r.effects, "reject-call"), [{ type: "reject-call", callId: 2, code: 486 }]);
    assert.equal(r.state.history[0].line, "private");
  });

  it("a waiting private-line call says so on the call screen", () => {
    const up = run([{ type: "hook", state: "off" }, key("1"), key("0"), key("0"), key("2"), progress(1, "connected"), incoming(2, "1901")]).state;
    assert.equal(lcd(up)[2], "Private: Carol      ");
  });
});

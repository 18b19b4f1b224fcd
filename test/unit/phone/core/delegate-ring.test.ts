// The boss's phone ringing its delegates itself (delegation.forking "phone"), and the delegate's side of such a call:
// which calls ring the delegates, at once or after the boss's ring delay, and what the delegate's phone does with a
// call the boss's phone rang it for (no second delay, no MESSAGE back).
import assert from "node:assert/strict";
import type { DelegationConfig, PhoneConfig, PhoneEffect, PhoneEvent } from "../../../../src/phone/core/phone-state.js";
import { coreRunner } from "../../../support/core-run.js";

const WALL = 1_700_000_000_000;
const delegation = (over: Partial<DelegationConfig> = {}): DelegationConfig => ({
  enabled: true,
  delegates: [{ number: "1002", name: "Dave" }, { number: "1004" }],
  ringMode: "simultaneous",
  ringDelayMs: 0,
  bosses: [],
  forking: "phone",
  ...over,
});
/** Alice's phone (1001), boss of 1002 and 1004, private line 2001. */
const boss = (over: Partial<DelegationConfig> = {}, extra: Partial<PhoneConfig> = {}): PhoneConfig => ({
  dialPlan: { emergencyNumbers: ["911"], outsideLinePrefix: "9", extensionLength: 4 },
  lockPin: null,
  interdigitMs: 4000,
  ownNumber: "1001",
  privateLine: { number: "2001" },
  delegation: delegation(over),
  ...extra,
});
const incoming = (callId: number, number = "1003", to = "1001", at = 1000, rungByBoss = false): PhoneEvent => ({
  type: "call-incoming",
  callId,
  remote: { uri: `sip:${number}@pbx`, name: "Carol" },
  number,
  to,
  ...(rungByBoss ? { rungByBoss: true } : {}),
  at,
  wallAt: WALL + at,
});
const of = <T extends PhoneEffect["type"]>(effects: PhoneEffect[], t: T) => effects.filter((e): e is Extract<PhoneEffect, { type: T }> => e.type === t);
const key = (k: string, at = 2000): PhoneEvent => ({ type: "key", key: k, down: true, at });

describe("the boss's phone rings its delegates (forking: phone)", () => {
  it("simultaneous: a call to the boss's own number rings every delegate at once, and the boss", () => {
    const r = coreRunner(boss())([incoming(1)]);
    assert.deepEqual(of(r.effects, "ring-delegates"), [{ type: "ring-delegates", callId: 1, delegates: ["1002", "1004"] }]);
    assert.equal(of(r.effects, "ringer")[0]?.on, true);
    assert.equal(r.state.mode, "ringing");
  });

  it("delayed: the delegates ring when the boss's delay is over, only if it still rings here", () => {
    const run = coreRunner(boss({ ringMode: "delayed", ringDelayMs: 10_000 }));
    const r = run([incoming(1)]);
    assert.deepEqual(of(r.effects, "ring-delegates"), []);
    assert.deepEqual(of(r.effects, "start-timer").map((t) => [t.id, t.ms]), [["delegate-ring:1", 10_000]]);
    const later = run([{ type: "timer", id: "delegate-ring:1", at: 11_000 }], r.state);
    assert.deepEqual(of(later.effects, "ring-delegates"), [{ type: "ring-delegates", callId: 1, delegates: ["1002", "1004"] }]);
    // answered by the boss before the delay: the timer does nothing
    const answered = run([key("SPEAKER"), { type: "call-progress", callId: 1, state: "connected", at: 3000 }, { type: "timer", id: "delegate-ring:1", at: 11_000 }], r.state);
    assert.equal(answered.state.mode, "call");
    assert.deepEqual(of(answered.effects, "ring-delegates"), []);
  });

  it("a waiting call (the boss is on another call) rings the delegates too", () => {
    const run = coreRunner(boss());
    const first = run([incoming(1, "1007"), key("SPEAKER"), { type: "call-progress", callId: 1, state: "connected", at: 2500 }]);
    const r = run([incoming(2, "1003", "1001", 5000)], first.state);
    assert.deepEqual(of(r.effects, "ring-delegates"), [{ type: "ring-delegates", callId: 2, delegates: ["1002", "1004"] }]);
  });

  it("never: the private line, a call from a delegate (a safe transfer's consult), forking by the server, delegation off, no delegates", () => {
    assert.deepEqual(of(coreRunner(boss())([incoming(1, "1003", "2001")]).effects, "ring-delegates"), [], "private line");
    assert.deepEqual(of(coreRunner(boss())([incoming(1, "1002")]).effects, "ring-delegates"), [], "from a delegate");
    assert.deepEqual(of(coreRunner(boss({ forking: "server" }))([incoming(1)]).effects, "ring-delegates"), [], "server forks");
    assert.deepEqual(of(coreRunner(boss({ forking: undefined }))([incoming(1)]).effects, "ring-delegates"), [], "default: the server");
    assert.deepEqual(of(coreRunner(boss({ enabled: false }))([incoming(1)]).effects, "ring-delegates"), [], "delegation off");
    assert.deepEqual(of(coreRunner(boss({ delegates: [] }))([incoming(1)]).effects, "ring-delegates"), [], "no delegates");
  });

  it("the boss in DND: this phone stays quiet and rings only the delegates; missed here unless one answers", () => {
    const run = coreRunner(boss({ ringMode: "delayed", ringDelayMs: 10_000 }));
    const dnd = run([{ type: "key", key: "DND", down: true, at: 10 }, incoming(1)]);
    assert.equal(dnd.state.dnd, true);
    assert.deepEqual(of(dnd.effects, "reject-call"), []);
    assert.deepEqual(of(dnd.effects, "ring-delegates"), [{ type: "ring-delegates", callId: 1, delegates: ["1002", "1004"], alone: true }], "at once, whatever the ring mode");
    assert.deepEqual(of(dnd.effects, "ringer"), []);
    assert.equal(dnd.state.calls.length, 0);
    assert.equal(dnd.state.mode, "idle");
    assert.equal(dnd.state.history[0].kind, "missed");
    const taken = run([{ type: "delegate-answered", caller: "1003", callerName: "Carol", delegate: "1002", delegateName: "Dave", at: 3000, wallAt: WALL + 3000 }, { type: "call-ended", callId: 1, reason: "answered-elsewhere", at: 3001, wallAt: WALL + 3001 }], dnd.state);
    assert.equal(taken.state.history.length, 1);
    assert.equal(taken.state.history[0].kind, "received");
    assert.equal(taken.state.history[0].answeredBy, "1002");
    // in DND without delegates to ring (the private line aside): turned away as before
    const alone = coreRunner(boss({ delegates: [] }))([{ type: "key", key: "DND", down: true, at: 10 }, incoming(1)]);
    assert.deepEqual(of(alone.effects, "reject-call"), [{ type: "reject-call", callId: 1, code: 486 }]);
  });

  it("the boss busy (call waiting off) or on an emergency call: the delegates are rung, this phone stays quiet", () => {
    const run = coreRunner(boss({}, { callWaiting: false }));
    const talking = run([incoming(1, "1007"), key("SPEAKER"), { type: "call-progress", callId: 1, state: "connected", at: 2500 }]);
    const r = run([incoming(2, "1003", "1001", 5000)], talking.state);
    assert.deepEqual(of(r.effects, "ring-delegates"), [{ type: "ring-delegates", callId: 2, delegates: ["1002", "1004"], alone: true }]);
    assert.deepEqual(of(r.effects, "reject-call"), []);
    assert.deepEqual(of(r.effects, "tone"), [], "no waiting tone");
    assert.equal(r.state.calls.length, 1);
    const sos = coreRunner(boss())([key("SPEAKER", 100), ...[..."911"].map((k) => key(k, 200)), incoming(5, "1003", "1001", 3000)]);
    assert.equal(sos.state.calls[0]?.emergency, true, "911 is up");
    assert.deepEqual(of(sos.effects, "ring-delegates"), [{ type: "ring-delegates", callId: 5, delegates: ["1002", "1004"], alone: true }]);
    assert.equal(sos.state.calls.length, 1, "nothing interrupts the emergency call");
  });

  it("a forwarded call rings no delegate", () => {
    const fwd = coreRunner(boss({}, { forward: { always: "1009", busy: null, noAnswer: null, noAnswerMs: 20_000 } }))([incoming(1)]);
    assert.deepEqual(of(fwd.effects, "forward-call").length, 1);
    assert.deepEqual(of(fwd.effects, "ring-delegates"), []);
  });

  it("a delegate answered: the boss is told who, the call ends here as answered elsewhere, history says received by the delegate", () => {
    const run = coreRunner(boss());
    const r = run([
      incoming(1),
      { type: "delegate-answered", caller: "1003", callerName: "Carol", delegate: "1002", delegateName: "Dave", at: 4000, wallAt: WALL + 4000 },
      { type: "call-ended", callId: 1, reason: "answered-elsewhere", at: 4001, wallAt: WALL + 4001 },
    ]);
    assert.equal(r.state.calls.length, 0);
    assert.equal(r.state.history.length, 1);
    assert.equal(r.state.history[0].kind, "received");
    assert.equal(r.state.history[0].answeredBy, "1002");
    assert.match(r.state.notice, /Answered by Dave for you: Carol/);
  });
});

describe("the delegate's side of a call its boss's phone rang it for", () => {
  const dave: PhoneConfig = {
    dialPlan: { emergencyNumbers: ["911"], outsideLinePrefix: "9", extensionLength: 4 },
    lockPin: null,
    interdigitMs: 4000,
    ownNumber: "1002",
    delegation: { enabled: true, delegates: [], ringMode: "simultaneous", ringDelayMs: 0, bosses: [{ number: "1001", name: "Alice", ringMode: "delayed", ringDelayMs: 10_000 }] },
  };

  it("rings at once (the boss's phone waited already) and answering sends no MESSAGE to the boss", () => {
    const run = coreRunner(dave);
    const r = run([incoming(1, "1003", "1001", 1000, true)]);
    assert.equal(r.state.calls[0].forBoss?.number, "1001");
    assert.equal(r.state.calls[0].silentUntil, undefined);
    assert.equal(of(r.effects, "ringer")[0]?.on, true);
    const a = run([key("SPEAKER")], r.state);
    assert.deepEqual(of(a.effects, "answer-call"), [{ type: "answer-call", callId: 1 }]);
    assert.deepEqual(of(a.effects, "notify-delegate-answered"), []);
  });

  it("a call the PBX forked keeps the boss's delay and tells the boss", () => {
    const run = coreRunner(dave);
    const r = run([incoming(1, "1003", "1001", 1000, false)]);
    assert.equal(r.state.calls[0].silentUntil, 11_000);
    const a = run([key("SPEAKER")], r.state);
    assert.equal(of(a.effects, "notify-delegate-answered").length, 1);
  });
});

// Calls in the core: incoming, answer, DND, call waiting and swap, hold, transfer, forward, the ended screen, history.
import assert from "node:assert/strict";
import { initialState, type PhoneConfig, type PhoneEffect, type PhoneEvent } from "../../../../src/phone/core/phone-state.js";
import { coreRunner } from "../../../support/core-run.js";

const config: PhoneConfig = {
  dialPlan: { emergencyNumbers: ["911", "112"], outsideLinePrefix: "9", extensionLength: 4 },
  lockPin: "2580",
  interdigitMs: 4000,
};

const run = coreRunner(config);
const key = (k: string, at = 0): PhoneEvent => ({ type: "key", key: k, down: true, at });
const keys = (d: string): PhoneEvent[] => [...d].map((k) => key(k));
const incoming = (callId: number, number = "1002", name?: string, at = 1000): PhoneEvent => ({ type: "call-incoming", callId, remote: { uri: `sip:${number}@pbx`, ...(name ? { name } : {}) }, number, at, wallAt: 1_700_000_000_000 + at });
const progress = (callId: number, state: "ringing" | "early" | "connected", at = 2000): PhoneEvent => ({ type: "call-progress", callId, state, at });
const ended = (callId: number, reason: "remote-hangup" | "busy" | "cancelled" | "local-hangup" | "transferred", at = 10_000): PhoneEvent => ({ type: "call-ended", callId, reason, at, wallAt: 1_700_000_000_000 + at });
const of = <T extends PhoneEffect["type"]>(effects: PhoneEffect[], t: T) => effects.filter((e): e is Extract<PhoneEffect, { type: T }> => e.type === t);

describe("phone core calls", () => {
  it("an outgoing call rings (ringback), connects (tone off), and the far end hanging up shows the ended screen", () => {
    const placed = run([{ type: "hook", state: "off" }, ...keys("1002")]);
    assert.deepEqual(placed.state.calls.map((c) => [c.id, c.state, c.number]), [[1, "calling", "1002"]]);
    const ring = run([progress(1, "ringing")], placed.state);
    assert.deepEqual(of(ring.effects, "tone"), [{ type: "tone", tone: "ringback" }]);
    const up = run([progress(1, "connected", 3000)], ring.state);
    assert.equal(up.state.calls[0].state, "connected");
    assert.equal(up.state.calls[0].connectedAt, 3000);
    const end = run([ended(1, "remote-hangup", 63_000)], up.state);
    assert.equal(end.state.mode, "ended");
    assert.deepEqual(end.state.ended, { remote: "1002", reason: "Call ended" });
    assert.deepEqual(end.state.history.map((h) => [h.kind, h.number, h.seconds]), [["placed", "1002", 60]]);
    assert.equal(of(end.effects, "history-changed").length, 1);
    // the ended screen stays while the handset is up; replacing it goes idle
    assert.equal(run([{ type: "timer", id: "ended" }], end.state).state.mode, "ended");
    assert.equal(run([{ type: "hook", state: "on" }], end.state).state.mode, "idle");
  });

  it("busy plays the busy tone; a call the user hangs up is recorded once SIP confirms its end", () => {
    const placed = run([{ type: "hook", state: "off" }, ...keys("1002"), ended(1, "busy")]);
    assert.equal(placed.state.ended?.reason, "Busy");
    assert.ok(of(placed.effects, "tone").some((t) => t.tone === "busy"));
    const mine = run([{ type: "hook", state: "off" }, ...keys("1003"), progress(1, "connected"), { type: "hook", state: "on" }]);
    assert.deepEqual(of(mine.effects, "hangup-call"), [{ type: "hangup-call", callId: 1 }]);
    assert.equal(mine.state.mode, "idle");
    assert.equal(mine.state.history.length, 0);
    const confirmed = run([ended(1, "local-hangup", 12_000)], mine.state);
    assert.deepEqual(confirmed.state.history.map((h) => [h.kind, h.number, h.seconds]), [["placed", "1003", 10]]);
    assert.deepEqual(confirmed.state.ending, []);
  });

  it("an incoming call rings with caller ID; lifting the handset answers it", () => {
    const ring = run([incoming(7, "1002", "Bob")]);
    assert.equal(ring.state.mode, "ringing");
    assert.deepEqual(of(ring.effects, "ringer"), [{ type: "ringer", on: true, pattern: "standard" }]);
    const ans = run([{ type: "hook", state: "off" }], ring.state);
    assert.deepEqual(of(ans.effects, "answer-call"), [{ type: "answer-call", callId: 7 }]);
    assert.deepEqual(of(ans.effects, "ringer"), [{ type: "ringer", on: false }]);
    assert.equal(ans.state.audioPath, "handset");
    const up = run([progress(7, "connected")], ans.state);
    assert.equal(up.state.mode, "call");
    assert.equal(up.state.calls[0].state, "connected");
    assert.equal(up.state.nextCallId, 8, "the next outgoing call gets a fresh id");
  });

  it("an unanswered call that the caller cancels is missed and goes back to idle with a notice", () => {
    const r = run([incoming(1, "1002", "Bob"), ended(1, "cancelled")]);
    assert.equal(r.state.mode, "idle");
    assert.equal(r.state.notice, "Missed call: Bob");
    assert.deepEqual(r.state.history.map((h) => [h.kind, h.number, h.name]), [["missed", "1002", "Bob"]]);
  });

  it("Reject sends 603; DND rejects with 486 without ringing and records a missed call", () => {
    const rej = run([incoming(1), key("SOFT3")]);
    assert.deepEqual(of(rej.effects, "reject-call"), [{ type: "reject-call", callId: 1, code: 603 }]);
    const dnd = run([key("DND"), incoming(1)]);
    assert.deepEqual(of(dnd.effects, "reject-call"), [{ type: "reject-call", callId: 1, code: 486 }]);
    assert.equal(of(dnd.effects, "ringer").length, 0);
    assert.equal(dnd.state.mode, "idle");
    assert.equal(dnd.state.history[0].kind, "missed");
  });

  it("call waiting: a second call during a call plays the waiting tone; Answer holds the first; Swap swaps; END leaves the held one", () => {
    const first = run([{ type: "hook", state: "off" }, ...keys("1003"), progress(1, "connected")]);
    const wait = run([incoming(2, "1002", "Bob")], first.state);
    assert.deepEqual(of(wait.effects, "tone"), [{ type: "tone", tone: "call-waiting" }]);
    assert.equal(wait.state.focus, 1);
    const ans = run([key("SOFT1")], wait.state);
    assert.deepEqual(of(ans.effects, "hold-call"), [{ type: "hold-call", callId: 1, hold: true }]);
    assert.deepEqual(of(ans.effects, "answer-call"), [{ type: "answer-call", callId: 2 }]);
    const both = run([{ type: "call-held", callId: 1, held: true }, progress(2, "connected")], ans.state);
    assert.deepEqual(both.state.calls.map((c) => [c.id, c.state]), [[1, "held"], [2, "connected"]]);
    const swap = run([key("HOLD")], both.state);
    assert.deepEqual(of(swap.effects, "hold-call"), [{ type: "hold-call", callId: 2, hold: true }, { type: "hold-call", callId: 1, hold: false }]);
    assert.equal(swap.state.focus, 1);
    const end = run([key("END")], both.state);
    assert.deepEqual(of(end.effects, "hangup-call"), [{ type: "hangup-call", callId: 2 }]);
    assert.equal(end.state.mode, "call");
    assert.equal(end.state.focus, 1);
  });

  it("a third call is busy (486), or forwarded when forward-on-busy is set", () => {
    const two = run([{ type: "hook", state: "off" }, ...keys("1003"), progress(1, "connected"), incoming(2)]);
    assert.deepEqual(of(run([incoming(3)], two.state).effects, "reject-call"), [{ type: "reject-call", callId: 3, code: 486 }]);
    const fwd = { ...two.state, config: { ...config, forward: { always: null, busy: "1009", noAnswer: null, noAnswerMs: 0 } } };
    assert.deepEqual(of(run([incoming(3)], fwd).effects, "forward-call"), [{ type: "forward-call", callId: 3, target: "1009" }]);
  });

  it("forward always sends every call on without ringing; forward on no answer fires on its timer", () => {
    const always = initialState({ ...config, forward: { always: "1009", busy: null, noAnswer: null, noAnswerMs: 0 } });
    const a = run([incoming(1)], always);
    assert.deepEqual(of(a.effects, "forward-call"), [{ type: "forward-call", callId: 1, target: "1009" }]);
    assert.equal(of(a.effects, "ringer").length, 0);
    const na = initialState({ ...config, forward: { always: null, busy: null, noAnswer: "1010", noAnswerMs: 15000 } });
    const ring = run([incoming(1)], na);
    assert.deepEqual(of(ring.effects, "start-timer"), [{ type: "start-timer", id: "no-answer:1", ms: 15000 }]);
    assert.deepEqual(of(run([{ type: "timer", id: "no-answer:1" }], ring.state).effects, "forward-call"), [{ type: "forward-call", callId: 1, target: "1010" }]);
  });

  it("hold and resume ask SIP and follow its answer; digits in a call become DTMF", () => {
    const up = run([{ type: "hook", state: "off" }, ...keys("1003"), progress(1, "connected")]);
    assert.deepEqual(of(run([key("HOLD")], up.state).effects, "hold-call"), [{ type: "hold-call", callId: 1, hold: true }]);
    const held = run([{ type: "call-held", callId: 1, held: true }], up.state);
    assert.equal(held.state.calls[0].state, "held");
    assert.deepEqual(of(run([key("HOLD")], held.state).effects, "hold-call"), [{ type: "hold-call", callId: 1, hold: false }]);
    assert.deepEqual(of(run(keys("5#"), up.state).effects, "send-dtmf"), [{ type: "send-dtmf", callId: 1, digit: "5" }, { type: "send-dtmf", callId: 1, digit: "#" }]);
  });

  it("blind transfer: TRANSFER holds the call, the number is dialled, TRANSFER again sends it on", () => {
    const up = run([{ type: "hook", state: "off" }, ...keys("1003"), progress(1, "connected")]);
    const t = run([key("TRANSFER"), { type: "call-held", callId: 1, held: true }, key("TRANSFER")], up.state);
    assert.equal(of(t.effects, "transfer-call").length, 0, "nothing dialled, nothing transferred");
    const t2 = run([key("TRANSFER"), { type: "call-held", callId: 1, held: true }, ...keys("95551234"), key("TRANSFER")], up.state);
    assert.deepEqual(of(t2.effects, "transfer-call"), [{ type: "transfer-call", callId: 1, target: "95551234" }]);
    const gone = run([ended(1, "transferred")], t2.state);
    assert.equal(gone.state.ended?.reason, "Call transferred");
  });

  it("attended transfer: a transfer target waits for SEND (consult) or TRANSFER (blind); TRANSFER then joins the two", () => {
    const up = run([{ type: "hook", state: "off" }, ...keys("1003"), progress(1, "connected")]);
    const typed = run([key("TRANSFER"), { type: "call-held", callId: 1, held: true }, ...keys("1004")], up.state);
    assert.equal(of(typed.effects, "place-call").length, 0, "a complete extension does not go by itself while transferring");
    const consult = run([key("SEND"), progress(2, "connected")], typed.state);
    assert.deepEqual(consult.state.calls.map((c) => [c.id, c.state]), [[1, "held"], [2, "connected"]]);
    assert.deepEqual(of(run([key("TRANSFER")], consult.state).effects, "transfer-attended"), [{ type: "transfer-attended", callId: 1, toCallId: 2 }]);
  });

  it("rings with the pattern the caller's PBX asked for, else the line's, else standard", () => {
    const asked = run([{ ...incoming(1), ring: "triple" } as PhoneEvent]);
    assert.deepEqual(of(asked.effects, "ringer"), [{ type: "ringer", on: true, pattern: "triple" }]);
    const plain = run([incoming(1)]);
    assert.deepEqual(of(plain.effects, "ringer"), [{ type: "ringer", on: true, pattern: "standard" }]);
    const line = coreRunner({ ...config, ringPattern: "double" })([incoming(1)]);
    assert.deepEqual(of(line.effects, "ringer"), [{ type: "ringer", on: true, pattern: "double" }]);
  });

  it("3-way conference: CONF puts the call aside and dials; SEND consults; CONF joins both; a party leaving ends the mix", () => {
    const up = run([{ type: "hook", state: "off" }, ...keys("1003"), progress(1, "connected")]);
    const aside = run([key("CONF"), { type: "call-held", callId: 1, held: true }, ...keys("1004")], up.state);
    assert.equal(aside.state.consultFor, "conference");
    const consult = run([key("SEND"), progress(2, "connected")], aside.state);
    const joined = run([key("CONF")], consult.state);
    assert.deepEqual(joined.state.conference, [2, 1]);
    assert.deepEqual(of(joined.effects, "hold-call"), [{ type: "hold-call", callId: 1, hold: false }], "the held call is resumed");
    assert.deepEqual(of(joined.effects, "conference"), [{ type: "conference", callIds: [2, 1] }]);
    // one party hangs up: mixing stops, the other call goes on
    const left = run([ended(1, "remote-hangup")], joined.state);
    assert.equal(left.state.conference, null);
    assert.deepEqual(of(left.effects, "conference"), [{ type: "conference", callIds: null }]);
    assert.deepEqual(left.state.calls.map((c) => c.id), [2]);
    // END in a conference hangs up both; HOLD splits it, holding the other party
    const end = run([key("END")], joined.state);
    assert.deepEqual(of(end.effects, "hangup-call").map((e) => e.callId).sort(), [1, 2]);
    assert.equal(end.state.conference, null);
    const split = run([key("HOLD")], joined.state);
    assert.deepEqual(of(split.effects, "hold-call"), [{ type: "hold-call", callId: 1, hold: true }]);
    assert.equal(split.state.conference, null);
  });

  it("an emergency call goes out with another call up (held), even with two calls", () => {
    const two = run([{ type: "hook", state: "off" }, ...keys("1003"), progress(1, "connected"), incoming(2), key("SOFT1"), { type: "call-held", callId: 1, held: true }, progress(2, "connected"), key("HOLD"), { type: "call-held", callId: 2, held: true }]);
    assert.equal(two.state.calls.length, 2);
    // with both calls held, digits dial anew; only an emergency number goes out as a third call
    assert.deepEqual(two.state.calls.map((c) => c.state), ["held", "held"]);
    const other = run(keys("1005"), two.state);
    assert.equal(of(other.effects, "place-call").length, 0);
    assert.equal(other.state.notice, "Two calls are up already");
    const sos = run(keys("911"), two.state);
    assert.deepEqual(of(sos.effects, "place-call"), [{ type: "place-call", callId: 3, target: "911", emergency: true }]);
  });

  it("locks after the configured idle time, re-armed by every key", () => {
    const s0 = initialState({ ...config, lockAfterIdleMs: 60_000 });
    const r = run([key("UP", 5)], s0);
    assert.deepEqual(of(r.effects, "start-timer"), [{ type: "start-timer", id: "idle-lock", ms: 60_000 }]);
    assert.equal(run([{ type: "timer", id: "idle-lock" }], r.state).state.locked, true);
    const busy = run([{ type: "hook", state: "off" }, { type: "timer", id: "idle-lock" }], s0);
    assert.equal(busy.state.locked, false, "never while the phone is in use");
  });

  it("keeps registration and message-waiting in the state; the MESSAGE LED follows voicemail", () => {
    const r = run([{ type: "registration", registration: { state: "failed", server: "pbx", reason: "Wrong password" } }, { type: "mwi", waiting: true, count: 2 }]);
    assert.equal(r.state.registration.reason, "Wrong password");
    assert.deepEqual(of(r.effects, "set-led"), [{ type: "set-led", id: "MESSAGE", mode: "slow" }]);
  });
});

describe("phone core sign-out and directory", () => {
  it("Settings > Sign out unregisters; the idle screen's OK signs in again; emergency calls still go out", () => {
    const out = run([key("MENU"), key("OK"), key("DOWN"), key("DOWN"), key("OK")]);
    assert.equal(out.state.signedOut, true);
    assert.deepEqual(of(out.effects, "sign-out"), [{ type: "sign-out" }]);
    const sos = run(keys("911"), out.state);
    assert.deepEqual(of(sos.effects, "place-call"), [{ type: "place-call", callId: 1, target: "911", emergency: true }]);
    const back = run([key("OK")], out.state);
    assert.equal(back.state.signedOut, false);
    assert.deepEqual(of(back.effects, "sign-in"), [{ type: "sign-in" }]);
  });

  it("the Directory menu lists the configured entries and OK dials one", () => {
    const s0 = initialState({ ...config, directory: [{ name: "Reception", number: "1000" }, { name: "Helpdesk", number: "1234" }] });
    const r = run([key("MENU"), key("DOWN"), key("DOWN"), key("OK"), key("DOWN"), key("OK")], s0);
    assert.deepEqual(of(r.effects, "place-call"), [{ type: "place-call", callId: 1, target: "1234", emergency: false }]);
  });
});

describe("phone core mute and stutter dial tone", () => {
  it("MUTE in a call mutes the microphone with its LED; the end of the call unmutes", () => {
    const up = run([{ type: "hook", state: "off" }, ...keys("1003"), progress(1, "connected")]);
    const m = run([key("MUTE")], up.state);
    assert.equal(m.state.muted, true);
    assert.deepEqual(of(m.effects, "mute"), [{ type: "mute", on: true }]);
    assert.deepEqual(of(m.effects, "set-led"), [{ type: "set-led", id: "MUTE", mode: "on" }]);
    const end = run([{ type: "hook", state: "on" }], m.state);
    assert.equal(end.state.muted, false);
    assert.deepEqual(of(end.effects, "mute"), [{ type: "mute", on: false }]);
  });

  it("gives stutter dial tone while voicemail waits", () => {
    const r = run([{ type: "mwi", waiting: true, count: 1 }, { type: "hook", state: "off" }]);
    assert.deepEqual(of(r.effects, "tone"), [{ type: "tone", tone: "stutter-dial" }]);
  });
});

describe("phone core volume", () => {
  it("VOL_UP/VOL_DOWN set the ringer's volume when idle and the path in use in a call, in 10% steps, 0-100", () => {
    const idle = run([key("VOL_UP")]);
    assert.deepEqual(of(idle.effects, "volume"), [{ type: "volume", path: "ringer", percent: 70 }]);
    assert.equal(idle.state.notice, "Ringer volume 70%");
    const up = run([{ type: "hook", state: "off" }, ...keys("1003"), progress(1, "connected"), ...Array.from({ length: 6 }, () => key("VOL_UP"))]);
    assert.deepEqual(of(up.effects, "volume").at(-1), { type: "volume", path: "handset", percent: 100 });
    assert.equal(up.state.volume.speaker, 60, "the speaker keeps its own volume");
  });
});

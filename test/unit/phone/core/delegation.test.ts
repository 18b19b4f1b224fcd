// Delegation in the core: boss line states and keys, calls for a boss (at once or delayed), answering one (the boss is
// told), calls on behalf of a boss, safe transfer to the boss, the boss's side (who answered, Menu > Delegates), and
// none of it when the policy leaves delegation off.
import assert from "node:assert/strict";
import { initialState, type DelegationConfig, type PhoneConfig, type PhoneEffect, type PhoneEvent, type PhoneState } from "../../../../src/phone/core/phone-state.js";
import { summarize } from "../../../../src/phone/core/reduce.js";
import { viewOf } from "../../../../src/ui/view-model.js";
import { renderText } from "../../../../src/ui/text-renderer.js";
import { coreRunner } from "../../../support/core-run.js";

const delegation = (over: Partial<DelegationConfig> = {}): DelegationConfig => ({
  enabled: true,
  delegates: [],
  ringMode: "simultaneous",
  ringDelayMs: 0,
  bosses: [
    { number: "1001", name: "Alice", ringMode: "simultaneous", ringDelayMs: 0 },
    { number: "1005", name: "Eve", ringMode: "delayed", ringDelayMs: 10_000 },
  ],
  ...over,
});
/** Dave's phone (1002): a delegate of Alice (1001) and Eve (1005). */
const config: PhoneConfig = {
  dialPlan: { emergencyNumbers: ["911"], outsideLinePrefix: "9", extensionLength: 4 },
  lockPin: "2580",
  interdigitMs: 4000,
  ownNumber: "1002",
  delegation: delegation(),
};
const off: PhoneConfig = { ...config, delegation: delegation({ enabled: false }) };

const run = coreRunner(config);
const WALL = 1_700_000_000_000;
const key = (k: string, at = 0): PhoneEvent => ({ type: "key", key: k, down: true, at });
const keys = (d: string): PhoneEvent[] => [...d].map((k) => key(k));
const incoming = (callId: number, to?: string, at = 1000, number = "1003", name = "Carol"): PhoneEvent => ({
  type: "call-incoming",
  callId,
  remote: { uri: `sip:${number}@pbx`, name },
  number,
  ...(to ? { to } : {}),
  at,
  wallAt: WALL + at,
});
const progress = (callId: number, state: "ringing" | "connected", at = 2000): PhoneEvent => ({ type: "call-progress", callId, state, at });
const ended = (callId: number, reason: "remote-hangup" | "cancelled" | "busy" | "answered-elsewhere" | "transferred", at = 10_000): PhoneEvent => ({ type: "call-ended", callId, reason, at, wallAt: WALL + at });
const held = (callId: number, h = true): PhoneEvent => ({ type: "call-held", callId, held: h });
const of = <T extends PhoneEffect["type"]>(effects: PhoneEffect[], t: T) => effects.filter((e): e is Extract<PhoneEffect, { type: T }> => e.type === t);
const lcd = (s: PhoneState, now = 1000): string[] => renderText(viewOf(s, { clock: "09:41", lineName: "1002 Dave", now }), 20, 4);

describe("delegation off (no config, or the policy says no)", () => {
  for (const [name, cfg] of [
    ["disabled", off],
    ["absent", { ...config, delegation: undefined }],
  ] as const) {
    it(`${name}: a call to a boss's number is an ordinary call; boss keys, boss states and notices are refused`, () => {
      const r = coreRunner(cfg);
      const ring = r([incoming(1, "1001")]);
      assert.equal(ring.state.calls[0].forBoss, undefined);
      assert.deepEqual(of(ring.effects, "ringer"), [{ type: "ringer", on: true, pattern: "standard" }]);
      assert.equal(lcd(ring.state)[1], "Incoming call       ");
      assert.deepEqual(of(r([key("OK")], ring.state).effects, "notify-delegate-answered"), []);
      const idle = r([key("BOSS1"), { type: "boss-state", boss: "1001", state: "busy" }, { type: "delegation-notice", text: "You are now a delegate of 1001 Alice" }]);
      assert.equal(idle.state.mode, "idle");
      assert.deepEqual(idle.state.bossLines, {});
      assert.equal(idle.state.notice, "");
      assert.equal(of(idle.effects, "rejected").length, 3);
      assert.deepEqual(of(idle.effects, "set-led"), []);
      const answered = r([{ type: "delegate-answered", caller: "1003", delegate: "1002", at: 0, wallAt: WALL }]);
      assert.deepEqual(answered.state.history, []);
      // no Bosses softkey, no Delegates in the menu
      assert.equal(lcd(initialState(cfg))[3], "Redi DND       Menu ");
      assert.ok(!r([key("MENU"), key("UP")]).state.menu?.stack.includes("delegates"));
      assert.deepEqual(summarize(idle.state).delegation, { enabled: false, delegates: [], bosses: name === "absent" ? [] : [{ number: "1001", name: "Alice" }, { number: "1005", name: "Eve" }] });
    });
  }
});

describe("boss line states and keys (a delegate's phone)", () => {
  it("boss-state sets the boss's line and its key LED (BOSS1.. in config order: off idle/unknown, fast ringing, on busy)", () => {
    const r = run([
      { type: "boss-state", boss: "1001", state: "busy" },
      { type: "boss-state", boss: "1005", state: "ringing" },
      { type: "boss-state", boss: "1001", state: "idle" },
      { type: "boss-state", boss: "1005", state: "unknown" },
    ]);
    assert.deepEqual(of(r.effects, "set-led"), [
      { type: "set-led", id: "BOSS1", mode: "on" },
      { type: "set-led", id: "BOSS2", mode: "fast" },
      { type: "set-led", id: "BOSS1", mode: "off" },
      { type: "set-led", id: "BOSS2", mode: "off" },
    ]);
    assert.deepEqual(r.state.bossLines, { "1001": "idle", "1005": "unknown" });
    const stranger = run([{ type: "boss-state", boss: "1099", state: "busy" }]);
    assert.deepEqual(stranger.state.bossLines, {});
    assert.equal(of(stranger.effects, "rejected").length, 1);
  });

  it("a new config sets the boss LEDs again in the new order, dark for bosses gone; delegation off darkens them all", () => {
    const s = run([{ type: "boss-state", boss: "1001", state: "busy" }, { type: "boss-state", boss: "1005", state: "ringing" }]).state;
    const swapped = run([{ type: "config", config: { ...config, delegation: delegation({ bosses: [{ number: "1005", name: "Eve", ringMode: "delayed", ringDelayMs: 10_000 }] }) } }], s);
    assert.deepEqual(of(swapped.effects, "set-led"), [
      { type: "set-led", id: "BOSS1", mode: "fast" },
      { type: "set-led", id: "BOSS2", mode: "off" },
    ]);
    assert.deepEqual(swapped.state.bossLines, { "1005": "ringing" });
    const gone = run([{ type: "config", config: off }], s);
    assert.deepEqual(of(gone.effects, "set-led"), [
      { type: "set-led", id: "BOSS1", mode: "off" },
      { type: "set-led", id: "BOSS2", mode: "off" },
    ]);
    assert.deepEqual(run([{ type: "config", config }], s).effects, [], "the same bosses: nothing to redo");
  });

  it("the Bosses softkey lists the bosses with their line state; OK there starts a call for the boss", () => {
    const s = run([{ type: "boss-state", boss: "1001", state: "busy" }]).state;
    assert.equal(lcd(s)[3], "Redi DND  Boss Menu ");
    const list = run([key("SOFT3")], s);
    assert.deepEqual(lcd(list.state), ["Bosses         09:41", ">Alice: busy        ", " Eve: unknown       ", "          Back Call "]);
    const dial = run([key("DOWN"), key("OK")], list.state);
    assert.equal(dial.state.mode, "dialtone");
    assert.equal(dial.state.onBehalfOf, "1005");
    assert.equal(lcd(dial.state)[1], "Call for Eve:       ");
    // also from the main menu
    const menu = run([key("MENU"), ...["DOWN", "DOWN", "DOWN", "DOWN", "DOWN"].map((k) => key(k)), key("OK")]);
    assert.deepEqual(menu.state.menu?.stack, ["main", "bosses"]);
  });

  it("a boss key when idle dials on behalf of the boss: the place-call and the call carry onBehalfOf, the history the boss", () => {
    const dial = run([key("BOSS1")]);
    assert.equal(dial.state.mode, "dialtone");
    assert.equal(dial.state.audioPath, "speaker");
    assert.deepEqual(lcd(dial.state).slice(1, 2), ["Call for Alice:     "]);
    const typing = run(keys("100"), dial.state);
    assert.deepEqual(lcd(typing.state).slice(1, 3), ["Call for Alice:     ", "100                 "]);
    const placed = run([key("4"), progress(1, "connected", 3000)], typing.state);
    assert.deepEqual(of(placed.effects, "place-call"), [{ type: "place-call", callId: 1, target: "1004", emergency: false, onBehalfOf: "1001" }]);
    assert.equal(placed.state.calls[0].onBehalfOf, "1001");
    assert.equal(placed.state.onBehalfOf, null);
    assert.equal(lcd(placed.state, 5000)[2], "For Alice           ");
    assert.equal((summarize(placed.state).calls as Array<Record<string, unknown>>)[0].onBehalfOf, "1001");
    const done = run([ended(1, "remote-hangup", 63_000)], placed.state);
    assert.deepEqual(done.state.history[0], { kind: "placed", number: "1004", at: WALL, seconds: 60, forBoss: "1001" });
    // redial is the user's own call again
    const redial = run([key("END"), key("REDIAL")], done.state);
    assert.deepEqual(of(redial.effects, "place-call"), [{ type: "place-call", callId: 2, target: "1004", emergency: false }]);
  });

  it("a boss key on dial tone makes the dial for that boss; an emergency number dialled for a boss is the user's own call", () => {
    const r = run([{ type: "hook", state: "off" }, key("BOSS2")]);
    assert.equal(r.state.onBehalfOf, "1005");
    const sos = run(keys("911"), run([key("BOSS1")]).state);
    assert.deepEqual(of(sos.effects, "place-call"), [{ type: "place-call", callId: 1, target: "911", emergency: true }]);
    assert.equal(sos.state.calls[0].onBehalfOf, undefined);
    // hanging up forgets the boss
    assert.equal(run([key("END")], run([key("BOSS1")]).state).state.onBehalfOf, null);
    // a second call dialled over a held one, for a boss; leaving the dial forgets the boss too
    const heldUp = run([{ type: "hook", state: "off" }, ...keys("1004"), progress(1, "connected"), key("HOLD"), held(1), key("5"), key("BACK")]).state;
    assert.equal(heldUp.mode, "dialtone");
    const forBoss = run([key("BOSS1")], heldUp).state;
    assert.equal(forBoss.onBehalfOf, "1001");
    const second = run(keys("1006"), forBoss);
    assert.deepEqual(of(second.effects, "place-call"), [{ type: "place-call", callId: 2, target: "1006", emergency: false, onBehalfOf: "1001" }]);
    const left = run([key("END")], forBoss).state;
    assert.equal(left.mode, "call");
    assert.equal(left.onBehalfOf, null);
  });

  it("a key with no boss, or any boss key on a locked phone, is refused", () => {
    const none = run([key("BOSS3")]);
    assert.equal(none.state.mode, "idle");
    assert.equal(of(none.effects, "rejected")[0].why, "no boss on this key");
    const locked = run([{ type: "lock" }, key("BOSS1")]);
    assert.equal(locked.state.mode, "idle");
    assert.equal(of(locked.effects, "rejected").length, 1);
  });
});

describe("calls for a boss (a delegate's phone)", () => {
  it("simultaneous: rings at once, 'Call for Alice from Carol'; answering tells the boss; the history keeps the boss", () => {
    const ring = run([incoming(1, "1001")]);
    assert.deepEqual(ring.state.calls[0].forBoss, { number: "1001", name: "Alice" });
    assert.deepEqual(of(ring.effects, "ringer"), [{ type: "ringer", on: true, pattern: "standard" }]);
    assert.deepEqual(lcd(ring.state), ["1002 Dave      09:41", "Call for Alice      ", "from Carol          ", "Answ      Reje      "]);
    const ans = run([key("OK")], ring.state);
    assert.deepEqual(of(ans.effects, "notify-delegate-answered"), [{ type: "notify-delegate-answered", boss: "1001", caller: "1003", callerName: "Carol" }]);
    const up = run([progress(1, "connected", 2000)], ans.state);
    assert.equal(lcd(up.state, 5000)[2], "For Alice           ");
    assert.equal((summarize(up.state).calls as Array<Record<string, unknown>>)[0].forBoss, "1001");
    const done = run([ended(1, "remote-hangup", 62_000)], up.state);
    assert.deepEqual(done.state.history[0], { kind: "received", number: "1003", name: "Carol", at: WALL + 1000, seconds: 60, forBoss: "1001" });
  });

  it("the boss key answers a call for that boss (ringing or waiting), not a call for another boss", () => {
    const ring = run([incoming(1, "1001")]).state;
    assert.deepEqual(of(run([key("BOSS2")], ring).effects, "answer-call"), []);
    assert.deepEqual(of(run([key("BOSS1")], ring).effects, "answer-call"), [{ type: "answer-call", callId: 1 }]);
    const up = run([{ type: "hook", state: "off" }, ...keys("1004"), progress(1, "connected"), incoming(2, "1001")]).state;
    const r = run([key("BOSS1")], up);
    assert.deepEqual(of(r.effects, "hold-call"), [{ type: "hold-call", callId: 1, hold: true }]);
    assert.deepEqual(of(r.effects, "answer-call"), [{ type: "answer-call", callId: 2 }]);
    assert.deepEqual(of(r.effects, "notify-delegate-answered"), [{ type: "notify-delegate-answered", boss: "1001", caller: "1003", callerName: "Carol" }]);
  });

  it("delayed: shown quietly (no ringer) until the boss-ring timer, then rings; the title counts down", () => {
    const quiet = run([incoming(1, "1005", 1000)]);
    assert.equal(quiet.state.mode, "ringing");
    assert.equal(quiet.state.calls[0].silentUntil, 11_000);
    assert.deepEqual(of(quiet.effects, "ringer"), []);
    assert.deepEqual(of(quiet.effects, "start-timer"), [{ type: "start-timer", id: "boss-ring:1", ms: 10_000 }]);
    assert.deepEqual(lcd(quiet.state, 2000), ["Rings in 9 s   09:41", "Call for Eve        ", "from Carol          ", "Answ      Reje      "]);
    assert.equal((summarize(quiet.state).calls as Array<Record<string, unknown>>)[0].ringsAt, 11_000);
    const rings = run([{ type: "timer", id: "boss-ring:1", at: 11_000 }], quiet.state);
    assert.deepEqual(of(rings.effects, "ringer"), [{ type: "ringer", on: true, pattern: "standard" }]);
    assert.equal(rings.state.calls[0].silentUntil, undefined);
    assert.equal(lcd(rings.state, 12_000)[0], "1002 Dave      09:41");
    // answered while still quiet: the timer goes, no ringer ever
    const early = run([key("OK")], quiet.state);
    assert.deepEqual(of(early.effects, "cancel-timer").map((e) => e.id), ["no-answer:1", "boss-ring:1"]);
    assert.equal(early.state.calls[0].silentUntil, undefined);
    assert.deepEqual(run([{ type: "timer", id: "boss-ring:1" }], early.state).effects, []);
    // the caller gave up while quiet: missed, the timer cancelled
    const gone = run([ended(1, "cancelled", 5000)], quiet.state);
    assert.ok(of(gone.effects, "cancel-timer").some((e) => e.id === "boss-ring:1"));
    assert.deepEqual(gone.state.history.map((h) => [h.kind, h.forBoss]), [["missed", "1005"]]);
  });

  it("delayed while in a call: it waits without the waiting tone until the timer", () => {
    const up = run([{ type: "hook", state: "off" }, ...keys("1004"), progress(1, "connected")]).state;
    const waits = run([incoming(2, "1005")], up);
    assert.deepEqual(of(waits.effects, "tone"), []);
    assert.equal(lcd(waits.state)[2], "For Eve: Carol      ");
    assert.deepEqual(of(run([{ type: "timer", id: "boss-ring:2" }], waits.state).effects, "tone"), [{ type: "tone", tone: "call-waiting" }]);
  });

  it("the delegate's DND applies to boss calls; the delegate's forwarding never does", () => {
    const dnd = run([key("DND"), incoming(1, "1001")]);
    assert.deepEqual(of(dnd.effects, "reject-call"), [{ type: "reject-call", callId: 1, code: 486 }]);
    assert.deepEqual(dnd.state.history.map((h) => [h.kind, h.forBoss]), [["missed", "1001"]]);
    const fwd = initialState({ ...config, forward: { always: "1009", busy: "1008", noAnswer: "1007", noAnswerMs: 15_000 } });
    const ring = run([incoming(1, "1001")], fwd);
    assert.equal(ring.state.mode, "ringing");
    assert.deepEqual(of(ring.effects, "forward-call"), []);
    assert.deepEqual(of(ring.effects, "start-timer"), []);
    const busy = { ...run([{ type: "hook", state: "off" }, ...keys("1004"), progress(1, "connected")], fwd).state, config: { ...fwd.config, forward: { always: null, busy: "1008", noAnswer: null, noAnswerMs: 0 }, callWaiting: false } };
    const r = run([incoming(2, "1001")], busy);
    assert.deepEqual(of(r.effects, "reject-call"), [{ type: "reject-call", callId: 2, code: 486 }]);
    assert.deepEqual(of(r.effects, "forward-call"), []);
  });
});

describe("safe transfer to the boss", () => {
  /** A call for Alice, answered and connected; TRANSFER pressed (the caller held). */
  const transferring = (): PhoneState => run([incoming(1, "1001"), key("OK"), progress(1, "connected", 2000), key("TRANSFER"), held(1)]).state;

  it("TRANSFER then the boss key: consult call to the boss; the boss answers: attended transfer", () => {
    const s = transferring();
    assert.equal(lcd(s)[3], "     Boss      End  ", "the Boss softkey on the transfer dial tone");
    const st = run([key("BOSS1", 3000)], s);
    assert.deepEqual(of(st.effects, "place-call"), [{ type: "place-call", callId: 2, target: "1001", emergency: false }]);
    assert.deepEqual(of(st.effects, "start-timer"), [{ type: "start-timer", id: "safe-transfer:2", ms: 20_000 }]);
    assert.deepEqual(st.state.safeTransfer, { from: 1, consult: 2, boss: "1001" });
    assert.deepEqual(lcd(st.state), ["1002 Dave      09:41", "Transfer to Alice   ", "Held: Carol         ", "          Tran Cance"]);
    const answered = run([progress(2, "ringing", 4000), progress(2, "connected", 8000)], st.state);
    assert.deepEqual(of(answered.effects, "transfer-attended"), [{ type: "transfer-attended", callId: 1, toCallId: 2 }]);
    assert.ok(of(answered.effects, "cancel-timer").some((e) => e.id === "safe-transfer:2"));
    assert.equal(answered.state.notice, "Transferring to Alice");
    // the timer, if it still fired, changes nothing; the calls end as transferred
    assert.deepEqual(run([{ type: "timer", id: "safe-transfer:2" }], answered.state).effects, []);
    const done = run([ended(1, "transferred", 9000), ended(2, "transferred", 9000)], answered.state);
    assert.equal(done.state.safeTransfer, null);
    assert.equal(done.state.calls.length, 0);
  });

  it("the Boss softkey does the same for a call for a boss; config safeTransferMs sets the wait", () => {
    const s = { ...transferring(), config: { ...config, delegation: delegation({ safeTransferMs: 15_000 }) } };
    const r = run([key("SOFT2")], s);
    assert.deepEqual(of(r.effects, "start-timer"), [{ type: "start-timer", id: "safe-transfer:2", ms: 15_000 }]);
    // also after a digit or two
    const typed = run([key("1"), key("SOFT2")], s);
    assert.deepEqual(of(typed.effects, "place-call"), [{ type: "place-call", callId: 2, target: "1001", emergency: false }]);
    // no Boss softkey for an ordinary call
    const plain = run([{ type: "hook", state: "off" }, ...keys("1004"), progress(1, "connected"), key("TRANSFER")]).state;
    assert.equal(lcd(plain)[3], "               End  ");
    assert.deepEqual(run([key("SOFT2")], plain).effects, []);
  });

  it("no answer within the time: the consult is hung up and the caller comes back", () => {
    const st = run([key("BOSS1", 3000), progress(2, "ringing", 4000)], transferring()).state;
    const back = run([{ type: "timer", id: "safe-transfer:2", at: 23_000 }], st);
    assert.deepEqual(of(back.effects, "hangup-call"), [{ type: "hangup-call", callId: 2 }]);
    assert.deepEqual(of(back.effects, "hold-call"), [{ type: "hold-call", callId: 1, hold: false }]);
    assert.equal(back.state.focus, 1);
    assert.equal(back.state.mode, "call");
    assert.equal(back.state.safeTransfer, null);
    assert.equal(back.state.transferFrom, null);
    assert.deepEqual(back.state.calls.map((c) => c.id), [1]);
    const resumed = run([held(1, false)], back.state);
    assert.deepEqual(lcd(resumed.state, 30_000).slice(1, 3), ["Carol 0:28          ", "Boss did not answer:"]);
  });

  it("the consult call fails (busy, declined): back to the caller at once", () => {
    const st = run([key("BOSS1", 3000)], transferring()).state;
    const back = run([ended(2, "busy", 4000)], st);
    assert.deepEqual(of(back.effects, "hold-call"), [{ type: "hold-call", callId: 1, hold: false }]);
    assert.ok(of(back.effects, "cancel-timer").some((e) => e.id === "safe-transfer:2"));
    assert.equal(back.state.notice, "Boss did not answer: back to you");
    assert.equal(back.state.focus, 1);
    assert.equal(back.state.safeTransfer, null);
  });

  it("END while the boss's phone rings calls it off; the caller hanging up ends the safe transfer", () => {
    const st = run([key("BOSS1", 3000)], transferring()).state;
    const cancel = run([key("END")], st);
    assert.deepEqual(of(cancel.effects, "hangup-call"), [{ type: "hangup-call", callId: 2 }]);
    assert.deepEqual(of(cancel.effects, "hold-call"), [{ type: "hold-call", callId: 1, hold: false }]);
    assert.equal(cancel.state.notice, "Transfer cancelled");
    const callerGone = run([ended(1, "remote-hangup", 5000)], st);
    assert.equal(callerGone.state.safeTransfer, null);
    assert.ok(of(callerGone.effects, "cancel-timer").some((e) => e.id === "safe-transfer:2"));
    assert.deepEqual(of(run([progress(2, "connected", 6000)], callerGone.state).effects, "transfer-attended"), []);
  });
});

describe("the boss's phone", () => {
  /** Alice's phone (1001): delegates Dave and Frank. */
  const boss: PhoneConfig = { ...config, ownNumber: "1001", privateLine: { number: "1901" }, delegation: delegation({ bosses: [], delegates: [{ number: "1002", name: "Dave" }, { number: "1006" }] }) };
  const runB = coreRunner(boss);
  const answered: PhoneEvent = { type: "delegate-answered", caller: "1003", callerName: "Carol", delegate: "1002", delegateName: "Dave", at: 6000, wallAt: WALL + 6000 };

  it("a call answered elsewhere, then the delegate's report: one received entry, answered by the delegate", () => {
    const stopped = runB([incoming(1, "1001", 1000), ended(1, "answered-elsewhere", 6000)]);
    assert.equal(stopped.state.notice, "Answered elsewhere: Carol");
    assert.deepEqual(stopped.state.history, [{ kind: "missed", number: "1003", name: "Carol", at: WALL + 1000, seconds: 0, answeredElsewhere: true }]);
    const told = runB([answered], stopped.state);
    assert.equal(told.state.notice, "Answered by Dave for you: Carol");
    assert.deepEqual(told.state.history, [{ kind: "received", number: "1003", name: "Carol", at: WALL + 1000, seconds: 0, answeredElsewhere: true, answeredBy: "1002", answeredByName: "Dave" }]);
    assert.deepEqual(of(told.effects, "history-changed").length, 1);
    assert.deepEqual(lcd(told.state).slice(1, 3), ["Answered by Dave    ", "for you: Carol      "]);
  });

  it("the report first, then the call's end: still one entry; a report with no call here adds one", () => {
    const r = runB([incoming(1, "1001", 1000), answered, ended(1, "answered-elsewhere", 6500)]);
    assert.deepEqual(r.state.history, [{ kind: "received", number: "1003", name: "Carol", at: WALL + 1000, seconds: 0, answeredBy: "1002", answeredByName: "Dave", answeredElsewhere: true }]);
    assert.equal(r.state.notice, "Answered by Dave for you: Carol");
    const alone = runB([answered]);
    assert.deepEqual(alone.state.history, [{ kind: "received", number: "1003", name: "Carol", at: WALL + 6000, seconds: 0, answeredBy: "1002", answeredByName: "Dave" }]);
    // the call history shows who answered
    const menu = runB([key("MENU"), key("DOWN"), key("OK")], alone.state);
    assert.equal(lcd(menu.state)[1], ">< 1003 Carol by Dav");
    // an old missed call of the same caller is left alone
    const old = runB([incoming(1, "1001", 1000), ended(1, "answered-elsewhere", 6000), { ...answered, wallAt: WALL + 3_600_000 }]);
    assert.deepEqual(old.state.history.map((h) => [h.kind, h.answeredBy]), [["received", "1002"], ["missed", undefined]]);
  });

  it("a delegate is told when added or removed (delegation-notice)", () => {
    const r = run([{ type: "delegation-notice", text: "You are now a delegate of 1001 Alice" }]);
    assert.equal(r.state.notice, "You are now a delegate of 1001 Alice");
  });

  it("Menu > Delegates lists the delegates; Delete removes one (set-delegates with the whole list)", () => {
    const menu = runB([key("MENU"), key("DOWN"), key("DOWN"), key("DOWN"), key("DOWN"), key("OK")]);
    assert.deepEqual(menu.state.menu?.stack, ["main", "delegates"]);
    assert.deepEqual(lcd(menu.state), ["Delegates      09:41", ">1002 Dave          ", " 1006               ", "     Dele Back      "]);
    const del = runB([key("SOFT2")], menu.state);
    assert.deepEqual(of(del.effects, "set-delegates"), [{ type: "set-delegates", delegates: [{ number: "1006" }] }]);
    assert.deepEqual(del.state.config.delegation?.delegates, [{ number: "1006" }]);
    assert.equal(del.state.notice, "Removed Dave");
    assert.deepEqual(summarize(del.state).delegation, { enabled: true, delegates: [{ number: "1006" }], bosses: [] });
    // Delete on "Add delegate" does nothing
    const onAdd = runB([key("UP"), key("SOFT2")], menu.state);
    assert.deepEqual(onAdd.effects, []);
  });

  it("Menu > Delegates > Ring: OK steps the ring mode (at once, after 5..30 s, at once again); each step is saved", () => {
    const ringLine = runB([key("MENU"), key("DOWN"), key("DOWN"), key("DOWN"), key("DOWN"), key("OK"), key("DOWN"), key("DOWN")]);
    assert.equal(ringLine.state.menu?.cursor, 2);
    assert.deepEqual(lcd(ringLine.state).slice(1, 4), [" 1006               ", ">Ring: at once      ", "          Back OK   "]);
    const list = [{ number: "1002", name: "Dave" }, { number: "1006" }];
    const five = runB([key("OK")], ringLine.state);
    assert.deepEqual(of(five.effects, "set-delegates"), [{ type: "set-delegates", delegates: list, ringMode: "delayed", ringDelayMs: 5000 }]);
    assert.equal(five.state.config.delegation?.ringMode, "delayed");
    assert.equal(five.state.config.delegation?.ringDelayMs, 5000);
    assert.equal(five.state.notice, "Delegates ring after 5 s");
    assert.deepEqual(five.state.menu, ringLine.state.menu, "the cursor stays on the Ring line");
    const ten = runB([key("SOFT4")], five.state);
    assert.deepEqual(of(ten.effects, "set-delegates"), [{ type: "set-delegates", delegates: list, ringMode: "delayed", ringDelayMs: 10_000 }]);
    assert.equal(ten.state.notice, "Delegates ring after 10 s");
    assert.equal(lcd(ten.state)[2], ">Ring: after 10 s   ");
    // 15, 20, 30, then at once again: simultaneous with 0
    const steps = runB([key("OK"), key("OK"), key("OK"), key("OK")], ten.state);
    assert.deepEqual(
      of(steps.effects, "set-delegates").map((e) => [e.ringMode, e.ringDelayMs]),
      [["delayed", 15_000], ["delayed", 20_000], ["delayed", 30_000], ["simultaneous", 0]],
    );
    assert.equal(steps.state.config.delegation?.ringMode, "simultaneous");
    assert.equal(steps.state.config.delegation?.ringDelayMs, 0);
    assert.equal(steps.state.notice, "Delegates ring at once");
    // Delete there does nothing; adding and removing delegates leaves the ring mode to the service
    assert.deepEqual(runB([key("SOFT2")], ringLine.state).effects, []);
    assert.deepEqual(of(runB([key("UP"), key("SOFT2")], five.state).effects, "set-delegates"), [{ type: "set-delegates", delegates: [{ number: "1002", name: "Dave" }] }]);
  });

  it("Menu > Delegates > Ring: a delay IT set off the steps goes to the next step; past the last, at once", () => {
    const at = (ringDelayMs: number): { runR: ReturnType<typeof coreRunner>; menu: PhoneState } => {
      const runR = coreRunner({ ...boss, delegation: delegation({ bosses: [], delegates: [], ringMode: "delayed", ringDelayMs }) });
      return { runR, menu: runR([key("MENU"), key("DOWN"), key("DOWN"), key("DOWN"), key("DOWN"), key("OK")]).state };
    };
    const seven = at(7000);
    assert.equal(seven.menu.menu?.cursor, 0, "no delegates: the cursor starts on the Ring line");
    assert.deepEqual(lcd(seven.menu).slice(1, 3), [">Ring: after 7 s    ", " Add delegate       "]);
    assert.deepEqual(of(seven.runR([key("OK")], seven.menu).effects, "set-delegates"), [{ type: "set-delegates", delegates: [], ringMode: "delayed", ringDelayMs: 10_000 }]);
    const late = at(45_000);
    const back = late.runR([key("OK")], late.menu);
    assert.deepEqual(of(back.effects, "set-delegates"), [{ type: "set-delegates", delegates: [], ringMode: "simultaneous", ringDelayMs: 0 }]);
    assert.equal(back.state.notice, "Delegates ring at once");
  });

  it("Add delegate takes an extension; refuses empty, own numbers, duplicates and emergency numbers", () => {
    const menu = runB([key("MENU"), key("DOWN"), key("DOWN"), key("DOWN"), key("DOWN"), key("OK"), key("UP"), key("OK")]);
    assert.deepEqual(menu.state.delegateEntry, { digits: "", message: "" });
    assert.deepEqual(lcd(menu.state), ["Add delegate   09:41", "_                   ", "Extension, then OK  ", "          Dele Add  "]);
    const tries: Array<[string, string]> = [
      ["", "Type an extension"],
      ["1001", "That is your own number"],
      ["1901", "That is your own number"],
      ["1002", "Already a delegate"],
      ["911", "911 is an emergency number"],
    ];
    for (const [digits, why] of tries) {
      const r = runB([...keys(digits), key("OK")], menu.state);
      assert.equal(r.state.delegateEntry?.message, why, digits);
      assert.deepEqual(of(r.effects, "set-delegates"), [], digits);
      assert.deepEqual(of(r.effects, "place-call"), [], `${digits}: typing here never dials`);
    }
    const ok = runB([...keys("10077"), key("BACK"), key("#")], menu.state);
    assert.deepEqual(of(ok.effects, "set-delegates"), [{ type: "set-delegates", delegates: [{ number: "1002", name: "Dave" }, { number: "1006" }, { number: "1007" }] }]);
    assert.equal(ok.state.delegateEntry, null);
    assert.equal(ok.state.menu?.cursor, 2);
    assert.equal(ok.state.notice, "Added delegate 1007");
    // BACK on an empty entry, or END, leaves it
    assert.equal(runB([key("BACK")], menu.state).state.delegateEntry, null);
    assert.equal(runB([key("1"), key("END")], menu.state).state.delegateEntry, null);
    // locking the phone closes it
    assert.equal(runB([{ type: "lock" }], menu.state).state.delegateEntry, null);
  });

  it("summarize: boss lines and the delegation lists, numbers and names only", () => {
    const s = run([{ type: "boss-state", boss: "1001", state: "ringing" }]).state;
    const sum = summarize(s);
    assert.deepEqual(sum.bossLines, { "1001": "ringing" });
    assert.deepEqual(sum.delegation, { enabled: true, delegates: [], bosses: [{ number: "1001", name: "Alice" }, { number: "1005", name: "Eve" }] });
    assert.equal(sum.onBehalfOf, null);
    assert.equal(sum.safeTransfer, null);
  });
});

// Delegation and the private line on a standard SIP server (issue 8, SIP side): Kamailio started with a private number
// (2001 -> 1001, alias_db), a delegation (boss 1001 -> delegate 1002, parallel forking) and RFC 3325 identity rules
// (1002 may call as 1001); two or three SipPhone instances driven in-process with fake media ports (boss 1001 "Alice",
// delegate 1002 "Bob", and 1004 "Dave" who is nobody's delegate); sipp as the outside caller (1003) and as the far end.
import assert from "node:assert/strict";
import * as path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createSystemClock } from "../../../src/base/clock.js";
import { createLogger } from "../../../src/base/log.js";
import { startRegistrar, freePort, type Registrar } from "../../../src/lab/registrar.js";
import { startSipp, type SippHandle, type SippRun } from "../../../src/lab/sipp.js";
import { DELEGATION_CONTENT_TYPE, formatDelegationNotice, isDelegationContentType, parseDelegationNotice } from "../../../src/sip/delegation-notice.js";
import { parseDialogInfo } from "../../../src/sip/dialog-info.js";
import type { MediaPort, MediaSession } from "../../../src/sip/media-port.js";
import { DEFAULT_SIP_TUNING, SipPhone, type LineState, type SipAccount, type SipEndReason, type SipPhoneEvents, type SipTuning } from "../../../src/sip/sip-phone.js";
import { bodyOf, header, received } from "../../support/sip-messages.js";
import { until } from "../../support/poll.js";

const scenarios = fileURLToPath(new URL("./scenarios/", import.meta.url));
const USERS = [
  { user: "1001", password: "pw-1001" },
  { user: "1002", password: "pw-1002" },
  { user: "1003", password: "pw-1003" },
  { user: "1004", password: "pw-1004" },
];
const NAMES: Record<string, string> = { "1001": "Alice Boss", "1002": "Bob Delegate", "1004": "Dave Other" };

const OFFER = ["v=0", "o=- 4711 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "m=audio 40000 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=sendrecv", ""].join("\r\n");

function fakeMedia(): MediaPort {
  return {
    open(): MediaSession {
      return {
        createOffer: async () => OFFER,
        setAnswer: async () => undefined,
        acceptOffer: async () => OFFER,
        remoteDirection: "sendrecv",
        sendDtmf: () => false,
        close: () => undefined,
      };
    },
  };
}

interface Incoming {
  id: number;
  at: number;
  number: string;
  to: string;
  name?: string;
  actualCaller?: { uri: string; number: string; name?: string };
  rungByBoss?: boolean;
}

interface Phone {
  user: string;
  phone: SipPhone;
  incoming: Incoming[];
  ended: Array<{ id: number; reason: SipEndReason; code?: number }>;
  progress: Array<{ id: number; state: string }>;
  messages: Array<{ from: { uri: string; user: string; name?: string }; contentType: string; body: string }>;
  /** Delegates this phone rang that answered (ringDelegates): call id and delegate. */
  taken: Array<{ id: number; delegate: string; caller: string }>;
  lines: Array<{ number: string; state: LineState }>;
  /** Every SIP message the phone sent ("out") or received ("in"). */
  wire: Array<{ dir: "in" | "out"; text: string }>;
  registered: () => boolean;
  line(number: string): LineState | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("delegation and the private line on Kamailio (forking, RFC 3325 identity, RFC 4235 dialog package, MESSAGE)", function () {
  this.timeout(60000);
  let k: Registrar;
  const phones: Phone[] = [];
  const sipps: SippHandle[] = [];
  let nextId = 100;

  before(async () => {
    k = await startRegistrar({ users: USERS, lifetimeS: 900, aliases: { "2001": "1001" }, delegations: { "1001": ["1002"] }, assertedIdentity: { "1002": ["1001"] } });
  });
  after(async () => k?.stop());
  afterEach(async function () {
    for (const s of sipps.splice(0)) s.stop();
    const gone = phones.splice(0);
    if (this.currentTest?.state === "failed") {
      for (const p of gone) console.log(`---- ${p.user} wire ----\n${p.wire.map((w) => `${w.dir}: ${w.text.split("\r\n")[0]}`).join("\n")}`);
      console.log((await k.log()).split("\n").slice(-40).join("\n"));
    }
    await Promise.all(gone.map((p) => p.phone.stop()));
  });

  async function phone(user: string, tuning: Partial<SipTuning> = {}): Promise<Phone> {
    const incoming: Phone["incoming"] = [];
    const ended: Phone["ended"] = [];
    const progress: Phone["progress"] = [];
    const messages: Phone["messages"] = [];
    const taken: Phone["taken"] = [];
    const lines: Phone["lines"] = [];
    const wire: Phone["wire"] = [];
    let reg = "";
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    const events: SipPhoneEvents = {
      registration: (r) => (reg = r.state),
      nextCallId: () => nextId++,
      incoming: (id, info) => incoming.push({ id, at: Date.now(), number: info.number, to: info.to, ...(info.remote.name ? { name: info.remote.name } : {}), ...(info.actualCaller ? { actualCaller: info.actualCaller } : {}), ...(info.rungByBoss ? { rungByBoss: true } : {}) }),
      delegateAnswered: (id, delegate, c) => taken.push({ id, delegate, caller: c.number }),
      progress: (id, state) => progress.push({ id, state }),
      held: () => undefined,
      remoteHold: () => undefined,
      ended: (id, reason, code) => ended.push({ id, reason, ...(code !== undefined ? { code } : {}) }),
      referred: () => undefined,
      mwi: () => undefined,
      message: (from, contentType, body) => messages.push({ from, contentType, body }),
      dialogState: (number, state) => lines.push({ number, state }),
    };
    const account: SipAccount = { user, password: `pw-${user}`, displayName: NAMES[user] ?? user, domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: k.tcpPort, transport: "tcp" }] };
    const sip = new SipPhone(account, fakeMedia(), events, createSystemClock(), createLogger({ level: "info", destination: sink }), { ...DEFAULT_SIP_TUNING, backoffMs: { first: 300, max: 2000 }, pingMs: 0, keepAliveMs: 0, ...tuning }, undefined, {
      tap: (dir, text) => wire.push({ dir, text }),
    });
    const p: Phone = {
      user,
      phone: sip,
      incoming,
      ended,
      progress,
      messages,
      taken,
      lines,
      wire,
      registered: () => reg === "registered",
      line: (n) => [...lines].reverse().find((l) => l.number === n)?.state,
    };
    phones.push(p);
    await sip.start();
    await until(`${user} registered`, p.registered);
    return p;
  }

  /** sipp as an outside caller (1003 at example.net) running `scenario` against Kamailio. */
  async function caller(scenario: string, keys: Record<string, string>, timeoutS = 30): Promise<SippHandle> {
    const s = await startSipp({ scenario: path.join(scenarios, scenario), remote: `127.0.0.1:${k.udpPort}`, port: await freePort(), keys, timeoutS });
    sipps.push(s);
    return s;
  }

  /** sipp registers as `user`, then plays `scenario` as that user's phone on the same port. */
  async function callee(user: string, scenario: string): Promise<SippHandle> {
    const port = await freePort();
    const reg = await startSipp({ scenario: path.join(scenarios, "register.xml"), remote: `127.0.0.1:${k.udpPort}`, port, keys: { user }, args: ["-au", user, "-ap", `pw-${user}`], timeoutS: 10 });
    const r = await reg.done;
    assert.equal(r.code, 0, `sipp could not register as ${user}: ${r.errors}`);
    const s = await startSipp({ scenario: path.join(scenarios, scenario), port, keys: { user }, timeoutS: 30 });
    sipps.push(s);
    return s;
  }

  async function passed(s: SippHandle, what: string): Promise<SippRun> {
    const r = await s.done;
    assert.equal(r.code, 0, `${what} (sipp): ${r.errors}\n${r.messages.slice(-4000)}`);
    return r;
  }

  it("a call to the boss rings the boss and the delegate at once; the delegate answers; the boss's call ends answered-elsewhere; the boss is told by MESSAGE", async () => {
    const boss = await phone("1001");
    const delegate = await phone("1002");
    const call = await caller("uac-call-forked.xml", { target: "1001" });
    await until("both phones ring", () => boss.incoming.length === 1 && delegate.incoming.length === 1);
    const [b, d] = [boss.incoming[0], delegate.incoming[0]];
    assert.ok(Math.abs(b.at - d.at) < 1000, `rung at once (${Math.abs(b.at - d.at)} ms apart)`);
    assert.equal(b.to, "1001");
    assert.equal(d.to, "1001", "the delegate tells a call for the boss by its To header");
    assert.equal(d.number, "1003");
    assert.equal(d.name, "Carol Caller");
    delegate.phone.answer(d.id);
    await until("the delegate is connected", () => delegate.progress.some((x) => x.id === d.id && x.state === "connected"));
    await until("the boss's call ended", () => boss.ended.some((e) => e.id === b.id));
    assert.equal(boss.ended.find((e) => e.id === b.id)?.reason, "answered-elsewhere");
    const cancel = boss.wire.find((w) => w.dir === "in" && w.text.startsWith("CANCEL "));
    assert.ok(cancel, "the boss's branch was CANCELled");
    assert.equal(header(cancel.text, "Reason"), 'SIP;cause=200;text="Call completed elsewhere"', "RFC 3326: tm's local_cancel_reason");

    // the delegate's phone tells the boss (the phone core does this on answering a call whose To is the boss)
    const notice = formatDelegationNotice({ kind: "delegate-answered", boss: "1001", caller: d.number, callerName: d.name ?? "", delegate: "1002" });
    assert.equal(await delegate.phone.sendMessage("1001", notice, DELEGATION_CONTENT_TYPE), 200);
    await until("the boss got the notice", () => boss.messages.length === 1);
    const m = boss.messages[0];
    assert.equal(m.from.user, "1002");
    assert.equal(m.from.name, "Bob Delegate");
    assert.ok(isDelegationContentType(m.contentType), m.contentType);
    assert.deepEqual(parseDelegationNotice(m.body), { ok: true, notice: { kind: "delegate-answered", boss: "1001", caller: "1003", callerName: "Carol Caller", delegate: "1002" } });

    delegate.phone.hangup(d.id);
    await passed(call, "the caller's call");
    await until("the delegate's call ended", () => delegate.ended.some((e) => e.id === d.id));
    assert.equal(delegate.ended.find((e) => e.id === d.id)?.reason, "local-hangup");
  });

  it("the boss answers: the delegate's ringing branch ends answered-elsewhere, not as a missed call", async () => {
    const boss = await phone("1001");
    const delegate = await phone("1002");
    const call = await caller("uac-call-forked.xml", { target: "1001" });
    await until("both phones ring", () => boss.incoming.length === 1 && delegate.incoming.length === 1);
    boss.phone.answer(boss.incoming[0].id);
    await until("the delegate's call ended", () => delegate.ended.length === 1);
    assert.equal(delegate.ended[0].reason, "answered-elsewhere");
    boss.phone.hangup(boss.incoming[0].id);
    await passed(call, "the caller's call");
  });

  it("the delegate's subscription to the boss's dialogs: idle, ringing while a call rings the boss, busy on a call, idle after; busy while the boss calls out", async () => {
    const boss = await phone("1001");
    const delegate = await phone("1002");
    delegate.phone.watchDialogs(["1001"]);
    await until("the boss's line idle", () => delegate.line("1001") === "idle");
    assert.equal(delegate.lines[0]?.state, "unknown", "unknown until the first NOTIFY");

    const call = await caller("uac-call-forked.xml", { target: "1001" });
    await until("the boss's line ringing", () => delegate.line("1001") === "ringing");
    await until("the boss rings", () => boss.incoming.length === 1);
    boss.phone.answer(boss.incoming[0].id);
    await until("the boss's line busy", () => delegate.line("1001") === "busy");
    boss.phone.hangup(boss.incoming[0].id);
    await passed(call, "the caller's call");
    await until("the boss's line idle again", () => delegate.line("1001") === "idle");

    // the boss calls 1003 (sipp, registered): busy from the INVITE on (the boss is on the phone), idle after
    const far = await callee("1003", "uas-answer.xml");
    const from = delegate.lines.length;
    boss.phone.place(7, "1003", { emergency: false });
    await until("the boss's line busy (calling out)", () => delegate.line("1001") === "busy");
    await until("the boss is connected to 1003", () => boss.progress.some((x) => x.id === 7 && x.state === "connected"));
    boss.phone.hangup(7);
    await passed(far, "1003's call");
    await until("the boss's line idle after the call", () => delegate.line("1001") === "idle");
    const seen = delegate.lines.slice(from).map((l) => l.state);
    assert.ok(!seen.includes("ringing"), `an outgoing call never shows as ringing to the delegate (${seen.join(" ")})`);

    // the NOTIFYs the boss sent: one dialog, in one subscription dialog, CSeq and version increasing
    const notifies = boss.wire.filter((w) => w.dir === "out" && w.text.startsWith("NOTIFY "));
    assert.ok(notifies.length >= 5, `${notifies.length} NOTIFYs`);
    const cseqs = notifies.map((n) => Number(/^(\d+)/.exec(header(n.text, "CSeq") ?? "")?.[1]));
    assert.deepEqual(cseqs, [...cseqs].sort((a, b) => a - b), "CSeq increases");
    assert.equal(new Set(notifies.map((n) => header(n.text, "Call-ID"))).size, 1, "one subscription dialog");
    const versions = notifies.map((n) => {
      const r = parseDialogInfo(bodyOf(n.text));
      assert.ok(r.ok, r.ok ? "" : r.error);
      return r.info.version;
    });
    assert.deepEqual(versions, versions.map((_v, i) => i), "versions 0, 1, 2, ...");
    for (const n of notifies) assert.match(header(n.text, "Subscription-State") ?? "", /^active;expires=\d+$/);
  });

  it("the boss's phone is off: a call to the boss still rings the delegate; a delegate calling the boss is never forked its own call", async () => {
    const delegate = await phone("1002");
    const call = await caller("uac-call-forked.xml", { target: "1001" });
    await until("the delegate rings", () => delegate.incoming.length === 1);
    assert.equal(delegate.incoming[0].to, "1001");
    delegate.phone.answer(delegate.incoming[0].id);
    await until("connected", () => delegate.progress.some((x) => x.state === "connected"));
    delegate.phone.hangup(delegate.incoming[0].id);
    await passed(call, "the caller's call");

    const boss = await phone("1001");
    delegate.phone.place(3, "1001", { emergency: false });
    await until("the boss rings", () => boss.incoming.length === 1);
    assert.equal(boss.incoming[0].number, "1002");
    await sleep(500);
    assert.equal(delegate.incoming.length, 1, "the delegate's own call did not come back to it");
    boss.phone.reject(boss.incoming[0].id, 486);
    await until("busy", () => delegate.ended.some((e) => e.id === 3));
    assert.equal(delegate.ended.find((e) => e.id === 3)?.reason, "busy");
  });

  it("the watch comes back: after the delegate's connection drops, and after the boss's phone restarts (unknown meanwhile)", async () => {
    let boss = await phone("1001");
    const delegate = await phone("1002");
    delegate.phone.watchDialogs(["1001"]);
    await until("the boss's line idle", () => delegate.line("1001") === "idle");

    delegate.phone.currentTransport?.kill("test: network down");
    await until("unknown while disconnected", () => delegate.line("1001") === "unknown");
    await until("idle again after reconnecting", () => delegate.line("1001") === "idle", 20000);

    await boss.phone.stop();
    phones.splice(phones.indexOf(boss), 1);
    await until("unknown while the boss's phone is off", () => delegate.line("1001") === "unknown");
    await sleep(1500); // a few refused attempts (404: not registered), with backoff
    const tries = delegate.wire.filter((w) => w.dir === "out" && w.text.startsWith("SUBSCRIBE ")).length;
    boss = await phone("1001");
    await until("idle once the boss's phone is back", () => delegate.line("1001") === "idle", 20000);
    assert.ok(tries >= 3, `subscribed again while the boss was away (${tries} SUBSCRIBEs in all)`);
    const call = await caller("uac-call-forked.xml", { target: "1001" });
    await until("the boss's line ringing", () => delegate.line("1001") === "ringing");
    await until("the boss rings", () => boss.incoming.length === 1);
    boss.phone.answer(boss.incoming[0].id);
    await until("busy", () => delegate.line("1001") === "busy");
    boss.phone.hangup(boss.incoming[0].id);
    await passed(call, "the caller's call");
    delegate.phone.watchDialogs([]);
    await sleep(300);
    const unsub = delegate.wire.filter((w) => w.dir === "out" && w.text.startsWith("SUBSCRIBE ")).pop();
    assert.equal(header(unsub?.text ?? "", "Expires"), "0", "watching nothing more unsubscribes");
  });

  it("a call to the private number 2001 reaches only the boss (To: 2001), never the delegate; watchers learn only that the line is busy", async () => {
    const boss = await phone("1001");
    const delegate = await phone("1002");
    delegate.phone.watchDialogs(["1001"]);
    await until("the boss's line idle", () => delegate.line("1001") === "idle");
    const call = await caller("uac-call-forked.xml", { target: "2001" });
    await until("the boss rings", () => boss.incoming.length === 1);
    assert.equal(boss.incoming[0].to, "2001", "the boss's phone tells the private line by the To header");
    assert.equal(boss.incoming[0].number, "1003");
    boss.phone.answer(boss.incoming[0].id);
    await until("the boss's line busy", () => delegate.line("1001") === "busy");
    await sleep(500);
    assert.equal(delegate.incoming.length, 0, "the delegate never rang");
    const last = [...boss.wire].reverse().find((w) => w.dir === "out" && w.text.startsWith("NOTIFY "));
    const info = parseDialogInfo(bodyOf(last?.text ?? ""));
    assert.ok(info.ok && info.info.dialogs.length === 1);
    const dlg = info.info.dialogs[0];
    assert.equal(dlg.state, "confirmed");
    assert.equal(dlg.remote, undefined, "no caller identity for a private-line call");
    assert.equal(dlg.callId, undefined, "no Call-ID either (nothing to pick up)");
    boss.phone.hangup(boss.incoming[0].id);
    await passed(call, "the caller's call");
    assert.equal(boss.ended[0]?.reason, "local-hangup");
  });

  it("a dialog SUBSCRIBE to the private number is refused (404): the private line is not published", async () => {
    await phone("1001");
    const delegate = await phone("1002");
    delegate.phone.watchDialogs(["2001"]);
    await sleep(1500);
    assert.deepEqual(
      delegate.lines.map((l) => l.state),
      ["unknown"],
    );
    const answers = delegate.wire.filter((w) => w.dir === "in" && /^SIP\/2\.0 \d+/.test(w.text) && /SUBSCRIBE/.test(header(w.text, "CSeq") ?? ""));
    assert.ok(
      answers.some((a) => a.text.startsWith("SIP/2.0 404")),
      answers.map((a) => a.text.split("\r\n")[0]).join(", "),
    );
  });

  it("the delegate calls on behalf of the boss: the far end sees P-Asserted-Identity 1001 and From 1002, and no P-Preferred-Identity", async () => {
    await phone("1001");
    const delegate = await phone("1002");
    const far = await callee("1003", "uas-486.xml");
    delegate.phone.place(1, "1003", { emergency: false, onBehalfOf: "1001" });
    await until("busy", () => delegate.ended.some((e) => e.id === 1));
    assert.equal(delegate.ended[0].reason, "busy");
    const sent = delegate.wire.filter((w) => w.dir === "out" && w.text.startsWith("INVITE "));
    assert.equal(header(sent[sent.length - 1].text, "P-Preferred-Identity"), "<sip:1001@127.0.0.1>", "the phone asked for the boss's identity");
    const [invite] = received(await passed(far, "the far end"), "INVITE");
    assert.ok(invite, "the far end got the INVITE");
    assert.equal(header(invite, "P-Asserted-Identity"), "<sip:1001@127.0.0.1>");
    assert.match(header(invite, "From") ?? "", /<sip:1002@127\.0\.0\.1>/);
    assert.equal(header(invite, "P-Preferred-Identity"), undefined);
  });

  it("a user who is not the boss's delegate: its P-Preferred-Identity is stripped and its own identity asserted", async () => {
    const other = await phone("1004");
    const far = await callee("1003", "uas-486.xml");
    other.phone.place(2, "1003", { emergency: false, onBehalfOf: "1001" });
    await until("busy", () => other.ended.some((e) => e.id === 2));
    const [invite] = received(await passed(far, "the far end"), "INVITE");
    assert.equal(header(invite, "P-Asserted-Identity"), "<sip:1004@127.0.0.1>");
    assert.match(header(invite, "From") ?? "", /<sip:1004@127\.0\.0\.1>/);
    assert.equal(header(invite, "P-Preferred-Identity"), undefined);
  });

  it("MESSAGE: delegation notices and plain text reach the other phone's message event; nobody there is 404", async () => {
    const boss = await phone("1001");
    const delegate = await phone("1002");
    const added = formatDelegationNotice({ kind: "delegate-added", boss: "1001", bossName: "Alice Boss" });
    assert.equal(await boss.phone.sendMessage("1002", added, DELEGATION_CONTENT_TYPE), 200);
    assert.equal(await boss.phone.sendMessage("sip:1002@127.0.0.1", "Can you take my calls this afternoon? ☕"), 200);
    await until("two messages", () => delegate.messages.length === 2);
    assert.deepEqual(parseDelegationNotice(delegate.messages[0].body), { ok: true, notice: { kind: "delegate-added", boss: "1001", bossName: "Alice Boss" } });
    assert.equal(delegate.messages[0].from.user, "1001");
    assert.match(delegate.messages[1].contentType, /^text\/plain/);
    assert.equal(delegate.messages[1].body, "Can you take my calls this afternoon? ☕");
    assert.equal(await boss.phone.sendMessage("1099", "anyone?"), 404);
  });

  it("an outside watcher (sipp) on the wire: 200 with Expires, NOTIFY with Event: dialog, active;expires, full dialog-info version 0; a refresh gets a NOTIFY; Expires: 0 ends it with a terminated NOTIFY", async () => {
    await phone("1001");
    const r = await passed(await caller("uac-subscribe-dialog.xml", { target: "1001" }), "the watcher");
    const [ok] = r.messages
      .split(/^-{10,}.*$/m)
      .filter((b) => /message received/.test(b) && /SIP\/2\.0 200 OK/.test(b) && /CSeq: 1 SUBSCRIBE/.test(b));
    assert.match(ok ?? "", /^Expires: 120\s*$/m, "the 200 grants the time asked for");
    const notifies = received(r, "NOTIFY");
    assert.equal(notifies.length, 3);
    const [first, refreshed, last] = notifies;
    assert.equal(header(first, "Event"), "dialog");
    assert.match(header(first, "Subscription-State") ?? "", /^active;expires=(1[01]\d|120)$/);
    assert.match(header(first, "Content-Type") ?? "", /^application\/dialog-info\+xml/);
    assert.match(header(first, "Contact") ?? "", /sip:1001@127\.0\.0\.1:\d+;transport=tcp/);
    const a = parseDialogInfo(bodyOf(first));
    assert.ok(a.ok, a.ok ? "" : a.error);
    assert.deepEqual({ ...a.info }, { entity: "sip:1001@127.0.0.1", version: 0, state: "full", dialogs: [] });
    assert.match(header(refreshed, "Subscription-State") ?? "", /^active;expires=(5\d|60)$/, "the refresh's new lifetime");
    const b = parseDialogInfo(bodyOf(refreshed));
    assert.ok(b.ok && b.info.version === 1);
    assert.match(header(last, "Subscription-State") ?? "", /^terminated;reason=timeout$/);
    const c = parseDialogInfo(bodyOf(last));
    assert.ok(c.ok && c.info.version === 2);
    const cseq = (m: string): number => Number(/^(\d+)/.exec(header(m, "CSeq") ?? "")?.[1]);
    assert.ok(cseq(first) < cseq(refreshed) && cseq(refreshed) < cseq(last), "CSeq increases");
    assert.equal(new Set(notifies.map((n) => header(n, "Call-ID"))).size, 1);
  });

  it("watchers are limited: one more than allowed is refused (503 with Retry-After, which the proxy may turn into 500)", async () => {
    const boss = await phone("1001", { dialogWatchersMax: 1 });
    const delegate = await phone("1002");
    const other = await phone("1004");
    delegate.phone.watchDialogs(["1001"]);
    await until("the first watcher sees idle", () => delegate.line("1001") === "idle");
    other.phone.watchDialogs(["1001"]);
    await until("the second watcher refused", () => boss.wire.some((w) => w.dir === "out" && w.text.startsWith("SIP/2.0 503") && /SUBSCRIBE/.test(header(w.text, "CSeq") ?? "")));
    const refusal = boss.wire.find((w) => w.dir === "out" && w.text.startsWith("SIP/2.0 503"));
    assert.equal(header(refusal?.text ?? "", "Retry-After"), "300");
    await until("the refusal reached the watcher", () => other.wire.some((w) => w.dir === "in" && /^SIP\/2\.0 50[03]/.test(w.text) && /SUBSCRIBE/.test(header(w.text, "CSeq") ?? "")));
    assert.equal(other.line("1001"), "unknown");
    delegate.phone.watchDialogs([]);
    await until("the place is free: the second watcher gets in (its retry)", () => other.line("1001") === "idle", 10000);
  });

  it("a phone called on behalf of the boss shows the boss, and the delegate as the actual caller", async () => {
    const delegate = await phone("1002");
    const callee = await phone("1004");
    delegate.phone.place(5, "1004", { emergency: false, onBehalfOf: "1001" });
    await until("1004 rings", () => callee.incoming.length === 1);
    const i = callee.incoming[0];
    assert.equal(i.number, "1001");
    assert.deepEqual(i.actualCaller, { uri: "sip:1002@127.0.0.1", number: "1002", name: "Bob Delegate" });
    assert.equal(i.to, "1004");
    callee.phone.reject(i.id, 486);
    await until("busy", () => delegate.ended.some((e) => e.id === 5));
  });

  it("no user may put another in From (403): the phones trust their own domain's From (a boss's leg, a notice)", async () => {
    const port = await freePort();
    const spoof = await startSipp({ scenario: path.join(scenarios, "uac-spoofed-from.xml"), remote: `127.0.0.1:${k.udpPort}`, port, keys: { from: "1001", target: "1002" }, args: ["-au", "1004", "-ap", "pw-1004"], timeoutS: 10 });
    sipps.push(spoof);
    await passed(spoof, "the spoofed MESSAGE");
  });

  describe("a PBX that does not fork: the boss's phone rings the delegates itself (ringDelegates)", () => {
    let forking: Registrar;
    before(async () => {
      // Kamailio with no delegations at all: only the boss's phone knows them
      forking = k;
      k = await startRegistrar({ users: USERS, lifetimeS: 900 });
    });
    after(async () => {
      await k?.stop();
      k = forking;
    });

    it("the leg to the delegate names the boss (From, To) and the real caller; the delegate answers; the caller is REFERred to it with Replaces; the boss's call ends answered-elsewhere", async () => {
      const boss = await phone("1001");
      const delegate = await phone("1002");
      const call = await caller("uac-call-referred.xml", { target: "1001", allow: "INVITE, ACK, CANCEL, BYE, REFER, NOTIFY" });
      await until("the boss rings", () => boss.incoming.length === 1);
      assert.equal(delegate.incoming.length, 0, "the PBX rang no delegate");
      const b = boss.incoming[0];
      boss.phone.ringDelegates(b.id, ["1002"]);
      await until("the delegate rings", () => delegate.incoming.length === 1);
      const d = delegate.incoming[0];
      assert.equal(d.to, "1001", "a call for the boss, as when the PBX forks");
      assert.equal(d.number, "1003", "the real caller is shown");
      assert.equal(d.name, "Carol Caller");
      assert.equal(d.rungByBoss, true);
      const leg = delegate.wire.find((w) => w.dir === "in" && w.text.startsWith("INVITE "));
      assert.ok(leg);
      assert.match(header(leg.text, "From") ?? "", /^"Alice Boss" <sip:1001@127\.0\.0\.1>;tag=/);
      assert.match(header(leg.text, "To") ?? "", /<sip:1001@127\.0\.0\.1>/);
      assert.equal(header(leg.text, "Deskphone-Caller"), '"Carol Caller" <sip:1003@example.net>');

      delegate.phone.answer(d.id);
      await until("the boss's call ended", () => boss.ended.some((e) => e.id === b.id));
      assert.equal(boss.ended.find((e) => e.id === b.id)?.reason, "answered-elsewhere");
      assert.deepEqual(boss.taken, [{ id: b.id, delegate: "1002", caller: "1003" }]);
      assert.ok(!boss.progress.some((p) => p.id === b.id && p.state === "connected"), "the boss's phone never shows the call as its own");
      // the caller's side: answered, then a REFER to the delegate's leg, with Replaces naming that dialog
      const r = await passed(call, "the caller's call");
      const refer = received(r, "REFER")[0];
      assert.ok(refer, "the caller got a REFER");
      const referTo = decodeURIComponent(header(refer, "Refer-To") ?? "");
      const legCallId = header(leg.text, "Call-ID") ?? "";
      assert.match(referTo, /^<sip:1002@127\.0\.0\.1\?Replaces=/, `to the delegate's address of record, routed by the PBX: ${referTo}`);
      assert.ok(referTo.includes(`Replaces=${legCallId}`), `Replaces names the delegate's leg (${legCallId}): ${referTo}`);
      assert.match(referTo, /to-tag=[^;>]+/);
      assert.match(referTo, /from-tag=[^;>]+/);
      // the caller never came (sipp does not act on the REFER): the boss's phone ends the leg after its grace period
      await until("the delegate's leg ended", () => delegate.ended.some((e) => e.id === d.id), 10000);
    });

    it("a caller that declines the REFER: both ends are hung up at once (not after the hand-over's time limit)", async () => {
      const boss = await phone("1001");
      const delegate = await phone("1002");
      const call = await caller("uac-call-refer-refused.xml", { target: "1001", allow: "INVITE, ACK, CANCEL, BYE, REFER" });
      await until("the boss rings", () => boss.incoming.length === 1);
      boss.phone.ringDelegates(boss.incoming[0].id, ["1002"]);
      await until("the delegate rings", () => delegate.incoming.length === 1);
      delegate.phone.answer(delegate.incoming[0].id);
      await passed(call, "the caller's call (REFER declined, then BYE)");
      await until("the delegate's leg ended too", () => delegate.ended.length === 1, 3000);
    });

    it("the boss answers while the delegate's phone rings: the leg is cancelled", async () => {
      const boss = await phone("1001");
      const delegate = await phone("1002");
      const call = await caller("uac-call-forked.xml", { target: "1001" });
      await until("the boss rings", () => boss.incoming.length === 1);
      boss.phone.ringDelegates(boss.incoming[0].id, ["1002"]);
      await until("the delegate rings", () => delegate.incoming.length === 1);
      boss.phone.answer(boss.incoming[0].id);
      await until("the delegate's leg ended", () => delegate.ended.length === 1);
      assert.equal(delegate.ended[0].reason, "cancelled");
      boss.phone.hangup(boss.incoming[0].id);
      await passed(call, "the caller's call");
    });
  });
});

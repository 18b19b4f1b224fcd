// The boss's phone rings its delegates itself, for a PBX that does not fork boss calls (delegation.forking "phone"):
// two simulated phones (the boss 1001, the delegate 1002) driven through their control protocol, Kamailio with no
// forking at all (only the private number 2001 as an alias of 1001), and baresip 1003 as the caller. The delegate
// answers: the boss's phone hands the caller over (REFER with Replaces), and the caller ends up talking to the
// delegate, audio and all, with the boss's phone out of the call. Asserted from both phones and from baresip.
import assert from "node:assert/strict";
import { startRegistrar, type Registrar } from "../../../src/lab/registrar.js";
import { FarPhone } from "../../../src/lab/far-phone.js";
import { PhoneProcess, type PhoneStateSummary } from "../../support/phone-process.js";

const USERS = [
  { user: "1001", password: "pw-1001" },
  { user: "1002", password: "pw-1002" },
  { user: "1003", password: "pw-1003" },
];

interface Summary extends PhoneStateSummary {
  calls: Array<PhoneStateSummary["calls"][number] & { line?: number | "private"; forBoss?: string | null; ringsAt?: number }>;
  history: Array<{ kind: string; number: string; seconds: number; line?: string; forBoss?: string; answeredBy?: string }>;
  notice: string;
}
const sum = (s: PhoneStateSummary): Summary => s as unknown as Summary;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("the boss's phone rings its delegates (a PBX that does not fork: Kamailio, two phones, baresip)", function () {
  this.timeout(90000);
  let k: Registrar;
  let caller: FarPhone;
  const phones: PhoneProcess[] = [];

  before(async () => {
    k = await startRegistrar({ users: USERS, lifetimeS: 900, aliases: { "2001": "1001" } });
    caller = await FarPhone.start({ user: "1003", password: "pw-1003", registrar: { port: k.tcpPort, transport: "tcp" }, answer: "manual", toneHz: 500, displayName: "Carol Caller" });
    await caller.registered();
  });
  after(async () => {
    await caller?.stop();
    await k?.stop();
  });
  afterEach(async () => {
    await caller.hangup().catch(() => undefined);
    for (const p of phones.splice(0)) await p.stop();
  });

  const account = (user: string, name: string): Record<string, unknown> => ({ user, password: `pw-${user}`, displayName: name, domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: k.tcpPort, transport: "tcp" }] });
  const sip = { retryFirstMs: 200, retryMaxMs: 1000, pingMs: 0 };

  async function boss(ringMode: "simultaneous" | "delayed" = "simultaneous"): Promise<PhoneProcess> {
    const p = await PhoneProcess.registered({
      version: 1,
      accounts: [account("1001", "Alice Boss")],
      sip,
      privateLine: { number: "2001" },
      delegation: { enabled: true, forking: "phone", ringMode, ringDelaySeconds: ringMode === "delayed" ? 3 : 0, delegates: [{ number: "1002", name: "Dan Delegate" }], bosses: [] },
    });
    phones.push(p);
    return p;
  }

  async function delegate(): Promise<PhoneProcess> {
    const p = await PhoneProcess.registered({
      version: 1,
      accounts: [account("1002", "Dan Delegate")],
      sip,
      // the boss's own ring mode is "delayed" as the delegate knows it: a call the boss's phone rang it for must
      // still ring at once (the boss's phone waited already)
      delegation: { enabled: true, ringMode: "simultaneous", ringDelaySeconds: 0, delegates: [], bosses: [{ number: "1001", name: "Alice Boss", ringMode: "delayed", ringDelaySeconds: 3 }] },
    });
    phones.push(p);
    return p;
  }

  it("the delegate answers a call for the boss: the caller is handed over and talks to the delegate; the boss is told, in history too", async () => {
    const b = await boss();
    const d = await delegate();
    await caller.dial("sip:1001@127.0.0.1");
    await b.until("the boss's phone rings", (x) => x.calls[0]?.state === "incoming");
    const dr = sum(await d.until("the delegate's phone rings for the boss", (x) => x.calls[0]?.state === "incoming"));
    assert.equal(dr.calls[0].forBoss, "1001");
    assert.equal(dr.calls[0].number, "1003", "the delegate sees the real caller, not the boss's phone");
    assert.equal(dr.calls[0].ringsAt, undefined, "it rings at once: the boss's phone applied the ring mode");
    const screen = await d.screen();
    assert.match(screen, /Call for Alice Boss/);
    assert.match(screen, /from Carol Caller/);
    const since = caller.eventCount;
    await d.keys("OK");
    // the boss's phone steps out: its call ends as answered by the delegate
    const bs = sum(await b.until("the boss told: answered by the delegate", (x) => x.calls.length === 0 && sum(x).history.some((h) => h.answeredBy === "1002"), 15000));
    assert.equal(bs.history.filter((h) => h.number === "1003").length, 1, "one history entry for the call");
    assert.equal(bs.history[0].kind, "received");
    assert.match(bs.notice, /Answered by Dan Delegate/);
    // the caller's baresip took the REFER and called the delegate's phone with Replaces: caller and delegate talk
    await caller.waitFor("CALL_ESTABLISHED", 10000, (e) => /1002/.test(JSON.stringify(e)), since);
    // the boss's phone leaves the caller's first call once the transfer is reported done (the caller's NOTIFY)
    await caller.waitFor("CALL_CLOSED", 40000, (e) => /sip:1001@/.test(String(e.peeruri)), since);
    const dc = sum(await d.until("the delegate talks to the caller", (x) => x.calls.length === 1 && x.calls[0].state === "connected" && x.calls[0].number === "1003", 15000));
    assert.equal(dc.calls[0].forBoss, "1001");
    const heard = await d.cmd<{ dominant_hz: number; rms_dbfs: number | null }>("audio_capture", { path: "speaker", ms: 1000 });
    assert.ok(heard.rms_dbfs !== null && heard.rms_dbfs > -40, `the delegate hears the caller (${heard.rms_dbfs} dBFS)`);
    assert.ok(Math.abs(heard.dominant_hz - 500) < 30, `the caller's 500 Hz tone (${heard.dominant_hz} Hz)`);
    assert.equal((await b.state()).calls.length, 0, "the boss's phone is out of the call");
    // the delegate hangs up: the caller's call ends
    const before = caller.eventCount;
    await d.keys("END");
    await caller.waitFor("CALL_CLOSED", 10000, () => true, before);
  });

  it("the boss answers first: the delegate's phone stops ringing; the private line never rings the delegate", async () => {
    const b = await boss();
    const d = await delegate();
    await caller.dial("sip:1001@127.0.0.1");
    await d.until("the delegate's phone rings for the boss", (x) => x.calls[0]?.state === "incoming");
    await b.keys("OK");
    await b.until("the boss talks", (x) => x.calls[0]?.state === "connected");
    await d.until("the delegate's phone stopped", (x) => x.calls.length === 0);
    await caller.waitFor("CALL_ESTABLISHED", 5000);
    await b.keys("END");
    await b.until("idle", (x) => x.calls.length === 0);
    await caller.waitFor("CALL_CLOSED", 5000);
    // the private line: only the boss rings
    await caller.dial("sip:2001@127.0.0.1");
    const pr = sum(await b.until("the private call rings", (x) => x.calls[0]?.state === "incoming"));
    assert.equal(pr.calls[0].line, "private");
    await sleep(1500);
    assert.equal((await d.state()).calls.length, 0, "the delegate never rings for the private line");
    await caller.hangup();
    await b.until("idle", (x) => x.calls.length === 0);
  });

  it("the boss in DND: only the delegate rings; its answer takes the call; declined, the caller hears busy", async () => {
    const b = await boss();
    const d = await delegate();
    await b.keys("DND");
    await b.until("DND on", (x) => x.dnd);
    await caller.dial("sip:1001@127.0.0.1");
    await d.until("the delegate's phone rings for the boss", (x) => x.calls[0]?.state === "incoming");
    const quiet = await b.state();
    assert.equal(quiet.calls.length, 0, "the boss's phone shows no call");
    assert.equal(quiet.mode, "idle");
    const since = caller.eventCount;
    await d.keys("OK");
    await caller.waitFor("CALL_ESTABLISHED", 10000, (e) => /1002/.test(JSON.stringify(e)), since);
    // the boss's phone leaves the caller's first call once the transfer is reported done (the caller's NOTIFY)
    await caller.waitFor("CALL_CLOSED", 40000, (e) => /sip:1001@/.test(String(e.peeruri)), since);
    await d.until("the delegate talks to the caller", (x) => x.calls.length === 1 && x.calls[0].state === "connected" && x.calls[0].number === "1003", 15000);
    const bs = sum(await b.until("the boss's history: answered by the delegate", (x) => sum(x).history.some((h) => h.answeredBy === "1002")));
    assert.equal(bs.history.length, 1);
    assert.equal(bs.history[0].kind, "received");
    const closed = caller.eventCount;
    await d.keys("END");
    await caller.waitFor("CALL_CLOSED", 10000, () => true, closed);
    await d.until("idle", (x) => x.calls.length === 0);
    // the delegate declines: nobody else will take it, the caller is told busy
    const again = caller.eventCount;
    await caller.dial("sip:1001@127.0.0.1");
    await d.until("the delegate's phone rings again", (x) => x.calls[0]?.state === "incoming");
    await d.keys("SOFT3"); // Reject
    const end = await caller.waitFor("CALL_CLOSED", 10000, () => true, again);
    assert.match(JSON.stringify(end), /486|[Bb]usy/, `the caller hears busy: ${JSON.stringify(end)}`);
    const missed = sum(await b.until("a missed call in the boss's history", (x) => sum(x).history.length === 2));
    assert.equal(missed.history[0].kind, "missed");
  });

  it("delayed ring mode: the boss's phone rings the delegate only after the boss's delay (3 s)", async () => {
    const b = await boss("delayed");
    const d = await delegate();
    await caller.dial("sip:1001@127.0.0.1");
    await b.until("the boss's phone rings", (x) => x.calls[0]?.state === "incoming");
    const t0 = Date.now();
    await sleep(1500);
    assert.equal((await d.state()).calls.length, 0, "the delegate's phone has no call yet");
    const dr = sum(await d.until("the delegate's phone rings for the boss", (x) => x.calls[0]?.state === "incoming", 8000));
    assert.ok(Date.now() - t0 >= 1500);
    assert.equal(dr.calls[0].ringsAt, undefined, "and rings at once then");
    // the caller gives up: the delegate's phone stops too
    await caller.hangup();
    await d.until("the delegate's phone stopped", (x) => x.calls.length === 0);
    await b.until("idle", (x) => x.calls.length === 0);
  });
});

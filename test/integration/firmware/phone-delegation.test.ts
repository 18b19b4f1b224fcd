// Boss, delegate and private line with whole phones: two simulated phones (the boss 1001 with private line 2001, the
// delegate 1002) driven only through their control protocol, Kamailio (the private number an alias of 1001, calls to
// 1001 forked to 1002, 1002 allowed to assert 1001) and baresip 1003 as the caller. Asserted from the phones' state
// and screens and from the peers' side (baresip's events, sipp's trace).
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { startRegistrar, freePort, type Registrar } from "../../../src/lab/registrar.js";
import { FarPhone } from "../../../src/lab/far-phone.js";
import { startSipp, type SippHandle } from "../../../src/lab/sipp.js";
import { PhoneProcess, type PhoneStateSummary } from "../../support/phone-process.js";
import { header, received } from "../../support/sip-messages.js";

const sipScenarios = fileURLToPath(new URL("../sip/scenarios/", import.meta.url));
const USERS = [
  { user: "1001", password: "pw-1001" },
  { user: "1002", password: "pw-1002" },
  { user: "1003", password: "pw-1003" },
  { user: "1004", password: "pw-1004" },
];

interface Summary extends PhoneStateSummary {
  calls: Array<PhoneStateSummary["calls"][number] & { line?: number | "private"; forBoss?: string | null }>;
  history: Array<{ kind: string; number: string; seconds: number; line?: string; forBoss?: string; answeredBy?: string }>;
  bossLines: Record<string, string>;
  notice: string;
}
const sum = (s: PhoneStateSummary): Summary => s as unknown as Summary;

describe("boss, delegate and private line (two phones, Kamailio, baresip)", function () {
  this.timeout(90000);
  let k: Registrar;
  let caller: FarPhone;
  const phones: PhoneProcess[] = [];
  const sipps: SippHandle[] = [];

  before(async () => {
    k = await startRegistrar({ users: USERS, lifetimeS: 900, aliases: { "2001": "1001" }, delegations: { "1001": ["1002"] }, assertedIdentity: { "1002": ["1001"] } });
    caller = await FarPhone.start({ user: "1003", password: "pw-1003", registrar: { port: k.tcpPort, transport: "tcp" }, answer: "manual", toneHz: 500 });
    await caller.registered();
  });
  after(async () => {
    await caller?.stop();
    await k?.stop();
  });
  afterEach(async () => {
    await caller.hangup().catch(() => undefined);
    for (const s of sipps.splice(0)) s.stop();
    for (const p of phones.splice(0)) await p.stop();
  });

  const account = (user: string, name: string): Record<string, unknown> => ({ user, password: `pw-${user}`, displayName: name, domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: k.tcpPort, transport: "tcp" }] });
  const sip = { retryFirstMs: 200, retryMaxMs: 1000, pingMs: 0 };

  async function boss(extra: Record<string, unknown> = {}): Promise<PhoneProcess> {
    const p = await PhoneProcess.registered({
      version: 1,
      accounts: [account("1001", "Alice Boss")],
      sip,
      privateLine: { number: "2001", ringPattern: "triple" },
      delegation: { enabled: true, ringMode: "simultaneous", ringDelaySeconds: 0, delegates: [{ number: "1002", name: "Dan Delegate" }], bosses: [] },
      ...extra,
    });
    phones.push(p);
    return p;
  }

  async function delegate(ringMode: "simultaneous" | "delayed" = "simultaneous"): Promise<PhoneProcess> {
    const p = await PhoneProcess.registered({
      version: 1,
      accounts: [account("1002", "Dan Delegate")],
      sip,
      delegation: { enabled: true, ringMode: "simultaneous", ringDelaySeconds: 0, delegates: [], bosses: [{ number: "1001", name: "Alice Boss", ringMode, ringDelaySeconds: ringMode === "delayed" ? 3 : 0 }] },
    });
    phones.push(p);
    return p;
  }

  it("private line: a call to 2001 rings only the boss, through DND, with its own ring and banner; history marks it", async () => {
    const b = await boss();
    const d = await delegate();
    await b.keys("DND");
    await b.until("DND on", (x) => x.dnd);
    await caller.dial("sip:2001@127.0.0.1");
    const ringing = sum(await b.until("the private call ringing", (x) => x.calls[0]?.state === "incoming"));
    assert.equal(ringing.calls[0].line, "private");
    assert.match(await b.screen(), /Private line/);
    const ring = await b.cmd<{ rms_dbfs: number }>("audio_capture", { path: "ringer", ms: 600 });
    assert.ok(ring.rms_dbfs > -40, `the boss's ringer rings in DND (${ring.rms_dbfs} dBFS)`);
    assert.equal((await d.state()).calls.length, 0, "the delegate never rings for the private line");
    await b.keys("OK");
    await b.until("answered", (x) => x.calls[0]?.state === "connected");
    await caller.waitFor("CALL_ESTABLISHED", 5000);
    await b.keys("END");
    const after = sum(await b.until("idle", (x) => x.calls.length === 0));
    assert.equal(after.history[0]?.line, "private");
    assert.equal(after.history[0]?.number, "1003");
  });

  it("a call to the boss rings both at once; the delegate sees it is for the boss and answers; the boss is told, in history too; the line key followed", async () => {
    const b = await boss();
    const d = await delegate();
    await d.until("the boss's line watched: idle", (x) => sum(x).bossLines?.["1001"] === "idle");
    await caller.dial("sip:1001@127.0.0.1");
    await b.until("the boss's phone rings", (x) => x.calls[0]?.state === "incoming");
    const dr = sum(await d.until("the delegate's phone rings for the boss", (x) => x.calls[0]?.state === "incoming"));
    assert.equal(dr.calls[0].forBoss, "1001");
    assert.match(await d.screen(), /for Alice|Call for/);
    await d.until("the boss line key shows ringing", (x) => sum(x).bossLines["1001"] === "ringing");
    await d.keys("OK");
    await d.until("the delegate answered", (x) => x.calls[0]?.state === "connected");
    await caller.waitFor("CALL_ESTABLISHED", 5000);
    const bs = sum(await b.until("the boss told: answered by the delegate", (x) => sum(x).history.some((h) => h.answeredBy === "1002")));
    assert.equal(bs.calls.length, 0, "the boss's phone stopped ringing");
    assert.equal(bs.history.filter((h) => h.number === "1003").length, 1, "one history entry, not a missed one and another");
    assert.match(bs.notice, /Answered by/);
    await d.keys("END");
    await d.until("idle", (x) => x.calls.length === 0);
    // the boss's own call to 1003: the delegate's line key says busy once it is answered, then idle
    await caller.waitFor("CALL_CLOSED", 5000);
    const since = caller.eventCount;
    await b.keys("1003");
    await b.keys("SEND");
    await caller.waitFor("CALL_INCOMING", 5000, () => true, since);
    await caller.answer();
    await b.until("the boss in a call", (x) => x.calls[0]?.state === "connected");
    await d.until("the boss line key busy", (x) => sum(x).bossLines["1001"] === "busy");
    await b.keys("END");
    await d.until("the boss line key idle again", (x) => sum(x).bossLines["1001"] === "idle");
  });

  it("the delegate calls on behalf of the boss (Bosses softkey): the far end sees P-Asserted-Identity 1001, From 1002", async () => {
    const d = await delegate();
    const port = await freePort();
    const reg = await startSipp({ scenario: path.join(sipScenarios, "register.xml"), remote: `127.0.0.1:${k.udpPort}`, port, keys: { user: "1004" }, args: ["-au", "1004", "-ap", "pw-1004"], timeoutS: 10 });
    assert.equal((await reg.done).code, 0);
    const uas = await startSipp({ scenario: path.join(sipScenarios, "uas-answer.xml"), port, keys: { user: "1004" }, timeoutS: 30 });
    sipps.push(uas);
    await d.keys("SOFT3"); // Bosses
    await d.keys("OK"); // the first boss: dial for them
    assert.match(await d.screen(), /Call for/);
    await d.keys("1004");
    await d.keys("SEND");
    await d.until("connected", (x) => x.calls[0]?.state === "connected");
    await d.keys("END");
    const r = await uas.done;
    assert.equal(r.code, 0, r.errors);
    const invite = received(r, "INVITE")[0];
    assert.equal(header(invite, "P-Asserted-Identity"), "<sip:1001@127.0.0.1>");
    assert.match(header(invite, "From") ?? "", /sip:1002@127\.0\.0\.1/);
    assert.equal(header(invite, "P-Preferred-Identity"), undefined, "the proxy consumed P-Preferred-Identity");
  });

  /** The caller calls the boss, the delegate answers and starts a safe transfer: the boss's phone rings. */
  async function safeTransferRinging(): Promise<{ b: PhoneProcess; d: PhoneProcess }> {
    const b = await boss();
    const d = await delegate();
    await caller.dial("sip:1001@127.0.0.1");
    await d.until("ringing for the boss", (x) => x.calls[0]?.state === "incoming");
    await d.keys("OK");
    await d.until("answered", (x) => x.calls[0]?.state === "connected");
    await b.until("the boss's phone stopped ringing", (x) => x.calls.length === 0);
    await d.keys("TRANSFER");
    await d.keys("SOFT2"); // Boss: a consult call to the boss
    await b.until("the boss's phone rings with the consult call", (x) => x.calls[0]?.state === "incoming");
    return { b, d };
  }

  it("safe transfer: the delegate holds the boss's caller and transfers to the boss, who answers and talks to the caller", async () => {
    const { b, d } = await safeTransferRinging();
    await b.keys("OK");
    // answered: the delegate completes the transfer, the caller and the boss are connected and the delegate is free
    await d.until("the delegate is free", (x) => x.calls.length === 0, 15000);
    const bs = await b.until("the boss talks to the caller", (x) => x.calls.length === 1 && x.calls[0].state === "connected" && x.calls[0].number === "1003", 15000);
    assert.equal(bs.calls[0].number, "1003");
    await b.keys("END");
  });

  it("safe transfer the boss does not answer: after 20 s the boss's phone stops ringing and the caller is back with the delegate", async function () {
    this.timeout(120000);
    const { b, d } = await safeTransferRinging();
    // nobody answers at the boss's desk
    const back = sum(await d.until("back to the delegate", (x) => x.calls.length === 1 && x.calls[0].state === "connected" && sum(x).notice.includes("did not answer"), 40000));
    assert.equal(back.calls[0].number, "1003", "the caller, resumed");
    assert.match(back.notice, /Boss did not answer: back to you/);
    await b.until("the boss's phone stopped ringing", (x) => x.calls.length === 0, 10000);
    const heard = await d.cmd<{ dominant_hz: number; rms_dbfs: number | null }>("audio_capture", { path: "speaker", ms: 1000 });
    assert.ok(heard.rms_dbfs !== null && heard.rms_dbfs > -40 && Math.abs(heard.dominant_hz - 500) < 30, `the delegate hears the caller again (${heard.rms_dbfs} dBFS, ${heard.dominant_hz} Hz)`);
    await d.keys("END");
  });

  it("delayed ring mode: the delegate's phone holds the call quietly, then rings after the boss's delay (3 s)", async () => {
    const b = await boss();
    const d = await delegate("delayed");
    await caller.dial("sip:1001@127.0.0.1");
    await b.until("the boss's phone rings", (x) => x.calls[0]?.state === "incoming");
    const quiet = (await d.until("the call is there for the boss", (x) => x.calls[0]?.state === "incoming")) as unknown as { calls: Array<{ ringsAt?: number }> };
    assert.ok(quiet.calls[0].ringsAt !== undefined, "a ring time is set: the phone is quiet until then");
    const silent = await d.cmd<Record<string, string>>("read_leds");
    assert.notEqual(silent.RINGER, "fast", "no ringer LED yet");
    const ringer = await d.cmd<{ rms_dbfs: number | null }>("audio_capture", { path: "ringer", ms: 400 });
    assert.ok(ringer.rms_dbfs === null || ringer.rms_dbfs < -60, `the ringer is silent (${ringer.rms_dbfs} dBFS)`);
    await d.until("ringing now", (x) => (x as unknown as { calls: Array<{ ringsAt?: number }> }).calls[0]?.ringsAt === undefined, 8000);
    const loud = await d.cmd<{ rms_dbfs: number | null }>("audio_capture", { path: "ringer", ms: 1500 });
    assert.ok(loud.rms_dbfs !== null && loud.rms_dbfs > -40, `the ringer rings (${loud.rms_dbfs} dBFS)`);
    await caller.hangup();
    await b.until("idle", (x) => x.calls.length === 0);
  });
});

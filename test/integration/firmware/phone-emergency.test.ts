// The whole phone making emergency calls: the simulated phone (driven only through its control protocol) gets its
// location from the reference LIS over HTTPS (HELD), dials 9-9-1-1 on the keypad, and Kamailio routes the INVITE to a
// PSAP played by sipp, which checks the RFC 6442 headers and body; the PIDF-LO it received is validated with xmllint
// and must carry the wiremap's address; the security desk (a second sipp, registered) gets the MESSAGE. Then: the LIS
// gone and the phone restarted (the cached location still goes, and the INVITE is not held up), and no location at
// all (the call still goes, without Geolocation).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startRegistrar, freePort, type Registrar } from "../../../src/lab/registrar.js";
import { startSipp, type SippHandle, type SippRun } from "../../../src/lab/sipp.js";
import { startLisServer, type LisServer } from "../../../src/location/lis/lis-server.js";
import { PhoneProcess } from "../../support/phone-process.js";
import { FarPhone } from "../../../src/lab/far-phone.js";
import { toneDbfs } from "../../../src/hal/emul/pcm-analysis.js";
import { readWav } from "../../support/wav.js";
import { assertValidPidf, header, pidfPart, received, untilListening } from "../../support/sip-messages.js";

const run = promisify(execFile);
const sipScenarios = fileURLToPath(new URL("../sip/scenarios/", import.meta.url));
const USERS = [
  { user: "1001", password: "pw-1001" },
  { user: "7000", password: "pw-7000" },
];

interface LocationSummary {
  location: { text: string; source: string } | null;
  calls: Array<{ id: number; number: string; state: string; emergency?: boolean; locationSent?: string | null }>;
}

describe("the phone's emergency calls (LIS, Kamailio, a sipp PSAP and security desk)", function () {
  this.timeout(90000);
  let k: Registrar;
  let dir: string;
  let tls: { certPem: string; keyPem: string };
  let lis: LisServer | undefined;
  let phone: PhoneProcess | undefined;
  let psapPort = 0;
  const sipps: SippHandle[] = [];

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "phone-e911-"));
    const [cert, key] = [path.join(dir, "cert.pem"), path.join(dir, "key.pem")];
    await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]);
    tls = { certPem: await fs.readFile(cert, "utf8"), keyPem: await fs.readFile(key, "utf8") };
    psapPort = await freePort();
    k = await startRegistrar({ users: USERS, lifetimeS: 900, emergencyRoute: { host: "127.0.0.1", port: psapPort, transport: "tcp" } });
  });
  after(async () => {
    await k?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const s of sipps.splice(0)) s.stop();
    await phone?.stop();
    phone = undefined;
    await lis?.stop();
    lis = undefined;
  });

  /** The reference LIS with a wiremap whose default is TV-1's office (every phone on the lab's network is there). */
  async function startLis(): Promise<LisServer> {
    const wiremap = path.join(dir, "wiremap.json");
    const civic = { lang: "en-US", country: "US", A1: "TX", A2: "Travis", A3: "Austin", PRD: "N", RD: "Lamar", STS: "BLVD", HNO: "1100", FLR: "3", NAM: "Example Corp", PC: "78703", BLD: "Tower 2", UNIT: "Suite 300", ROOM: "3-214" };
    await fs.writeFile(wiremap, JSON.stringify({ entries: [], default: { civic } }));
    lis = await startLisServer({ wiremapFile: wiremap, port: 0, host: "127.0.0.1", tls });
    return lis;
  }

  function bundle(lisUrl: string | null, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      version: 1,
      accounts: [{ user: "1001", password: "pw-1001", displayName: "Alice", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: k.tcpPort, transport: "tcp" }] }],
      dialPlan: { outsideLinePrefix: "9", extensionLength: 4 },
      sip: { retryFirstMs: 200, retryMaxMs: 1000, pingMs: 0 },
      locationPolicy: { notificationUri: "sip:7000@127.0.0.1" },
      ...(lisUrl ? { location: { lisUrl, lisCa: tls.certPem } } : {}),
      ...extra,
    };
  }

  async function psap(scenario: string): Promise<SippHandle> {
    const s = await startSipp({ scenario: path.join(sipScenarios, scenario), port: psapPort, transport: "t1", keys: { user: "psap" }, timeoutS: 40 });
    sipps.push(s);
    await untilListening(psapPort, "sipp (the PSAP)");
    return s;
  }

  /** sipp registers as 7000 (the security desk), then waits for the MESSAGE on the same port. */
  async function securityDesk(): Promise<SippHandle> {
    const port = await freePort();
    const reg = await startSipp({ scenario: path.join(sipScenarios, "register.xml"), remote: `127.0.0.1:${k.udpPort}`, port, keys: { user: "7000" }, args: ["-au", "7000", "-ap", "pw-7000"], timeoutS: 10 });
    const r = await reg.done;
    assert.equal(r.code, 0, `sipp could not register as the security desk: ${r.errors}`);
    const s = await startSipp({ scenario: path.join(sipScenarios, "psap-message.xml"), port, keys: { user: "7000" }, timeoutS: 40 });
    sipps.push(s);
    return s;
  }

  async function done(s: SippHandle, who: string): Promise<SippRun> {
    const r = await s.done;
    assert.equal(r.code, 0, `${who} (sipp) found the call wrong: ${r.errors}\n${r.messages.slice(-5000)}`);
    return r;
  }

  it("dials 9911 off hook: the INVITE carries the LIS's location (valid PIDF-LO), the screen says it was sent, the security desk is told", async () => {
    const l = await startLis();
    const desk = await securityDesk();
    const p = await psap("psap-location.xml");
    phone = await PhoneProcess.registered(bundle(l.url));
    await phone.until("a location from the LIS", (s) => (s as unknown as LocationSummary).location?.source === "lis");
    await phone.cmd("set_hook", { state: "off" });
    await phone.keys("9911");
    const s = (await phone.until("the emergency call up", (x) => x.calls.some((c) => c.state === "connected"))) as unknown as LocationSummary;
    const call = s.calls[0];
    assert.equal(call.number, "911");
    const sent = (await phone.until("the location reported sent", (x) => typeof (x as unknown as LocationSummary).calls[0]?.locationSent === "string")) as unknown as LocationSummary;
    // the screen's row scrolls ("Location sent: 1100 N Lamar..." is wider than 20 columns): the state says what it shows
    assert.equal(sent.calls[0].locationSent, "1100 N Lamar BLVD, Tower 2, Fl 3, Suite 300, Rm 3-214");
    assert.match(await phone.screen(), /Emergency 911/);
    await phone.cmd("set_hook", { state: "on" });
    const r = await done(p, "the PSAP");
    const invite = received(r, "INVITE")[0];
    assert.ok(invite, "the PSAP got the INVITE");
    const part = pidfPart(invite);
    assert.equal(header(invite, "Geolocation"), `<cid:${part.contentId}>`);
    assert.match(part.first, /^application\/sdp/);
    await assertValidPidf(part.pidf);
    for (const v of ["<ca:RD>Lamar</ca:RD>", "<ca:FLR>3</ca:FLR>", "<ca:ROOM>3-214</ca:ROOM>"]) assert.ok(part.pidf.replace(/<(\/?)[a-z]+:/g, "<$1ca:").includes(v), `the PIDF-LO has ${v}:\n${part.pidf}`);
    const m = received(await done(desk, "the security desk"), "MESSAGE")[0];
    assert.match(m, /Emergency call to 911 placed by Alice \(x1001\), callback 1001, location: 1100 N Lamar BLVD, Tower 2, Fl 3, Suite 300, Rm 3-214, Austin TX 78703/);
  });

  it("with the LIS gone, a restarted phone sends the cached location at once; DND on does not stop the call", async () => {
    const l = await startLis();
    phone = await PhoneProcess.registered(bundle(l.url));
    await phone.until("a location from the LIS", (s) => (s as unknown as LocationSummary).location?.source === "lis");
    const data = await phone.stopKeepingData();
    await l.stop();
    lis = undefined;
    const p = await psap("psap-location.xml");
    phone = await PhoneProcess.start(bundle(l.url), [], data);
    await phone.until("registered", (x) => x.registration.state === "registered");
    const before = (await phone.state()) as unknown as LocationSummary;
    assert.equal(before.location?.source, "lis", "the location came back from the cache");
    await phone.keys("DND");
    await phone.until("DND on", (x) => x.dnd);
    await phone.keys("911");
    await phone.until("the emergency call up", (x) => x.calls.some((c) => c.state === "connected"));
    await phone.keys("END");
    const r = await done(p, "the PSAP");
    const part = pidfPart(received(r, "INVITE")[0]);
    await assertValidPidf(part.pidf);
    assert.match(part.pidf, /Lamar/);
  });

  it("with no location at all the call still goes, with no Geolocation and no PIDF-LO part", async () => {
    const p = await psap("psap-no-location.xml");
    phone = await PhoneProcess.registered(bundle(null));
    await phone.keys("112");
    const s = (await phone.until("the emergency call up", (x) => x.calls.some((c) => c.state === "connected"))) as unknown as LocationSummary;
    assert.equal(s.calls[0].number, "911", "112 is sent as 911 (the mask)");
    await phone.until("no location reported", (x) => (x as unknown as LocationSummary).calls[0]?.locationSent === null);
    assert.match(await phone.screen(), /No location sent/);
    await phone.keys("END");
    const invite = received(await done(p, "the PSAP"), "INVITE")[0];
    assert.equal(header(invite, "Geolocation"), undefined);
    assert.equal(header(invite, "Priority"), "emergency");
  });

  it("the admin page sets a manual location for the network (no LIS): it is shown, sent with 911 as method Manual, and cleared", async () => {
    const p = await psap("psap-location.xml");
    phone = await PhoneProcess.registered(bundle(null), ["--web", "tcp:127.0.0.1:0", "--network-interface", "lo"]);
    for (let i = 0; i < 100 && !/phone face: (http:\S+)/.test(phone.out); i++) await new Promise((r) => setTimeout(r, 50));
    const face = /phone face: (http:\S+)/.exec(phone.out)?.[1];
    assert.ok(face, "the phone face listens");
    const page = new URL("admin/location", face);
    const before = (await (await fetch(new URL("admin/location.json", face))).json()) as { current: unknown };
    assert.equal(before.current, null);
    const bad = await fetch(page, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "country=USA&RD=Congress" });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /country must be two letters/);
    const ok = await fetch(page, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ country: "US", A1: "TX", A3: "Austin", RD: "Congress", STS: "Ave", HNO: "100", FLR: "2", ROOM: "210" }).toString() });
    const said = await ok.text();
    assert.equal(ok.status, 200, said);
    assert.match(said, /Location saved/);
    const s = (await phone.until("the manual location", (x) => (x as unknown as LocationSummary).location?.source === "manual")) as unknown as LocationSummary;
    assert.equal(s.location?.text, "100 Congress Ave, Fl 2, Rm 210");
    await phone.keys("911");
    await phone.until("the emergency call up", (x) => x.calls.some((c) => c.state === "connected"));
    await phone.keys("END");
    const part = pidfPart(received(await done(p, "the PSAP"), "INVITE")[0]);
    await assertValidPidf(part.pidf);
    assert.match(part.pidf, /<(\w+:)?method>Manual<\/(\w+:)?method>/);
    assert.match(part.pidf, /Congress/);
    const cleared = await fetch(page, { method: "DELETE" });
    assert.equal(cleared.status, 200);
    await phone.until("no location again", (x) => (x as unknown as LocationSummary).location === null);
  });

  it("TV-16: Menu > Location > Test emergency call reaches urn:service:test.sos with the location and shows the echo; refused within 30 min of start", async () => {
    const l = await startLis();
    const p = await psap("psap-test-ok.xml");
    phone = await PhoneProcess.registered(bundle(l.url, { emergency: { testCalls: true, testAfterBootMinutes: 0 } }));
    await phone.until("a location from the LIS", (s) => (s as unknown as LocationSummary).location?.source === "lis");
    for (const k of ["MENU", "DOWN", "DOWN", "DOWN", "OK", "UP", "OK"]) await phone.keys(k);
    const s = await phone.until("the test's result", (x) => /Emergency test OK/.test((x as unknown as { emergencyTest: { result: string } }).emergencyTest?.result ?? ""), 15000);
    assert.match((s as unknown as { emergencyTest: { result: string } }).emergencyTest.result, /Test OK: location received: 1100 Lamar BLVD, Fl 3, Austin/);
    assert.equal(s.calls.length, 0, "a test is not a call on the phone");
    await done(p, "the test PSAP");
    await phone.stop();
    // the default: no test within 30 minutes of start (RFC 6881 ED-81)
    phone = await PhoneProcess.registered(bundle(l.url, { emergency: { testCalls: true } }));
    for (const k of ["MENU", "DOWN", "DOWN", "DOWN", "OK", "UP", "OK"]) await phone.keys(k);
    await phone.until("refused", (x) => /Not within 30 min of start/.test((x as unknown as { emergencyTest: { result: string } }).emergencyTest?.result ?? ""));
  });

  describe("the security desk conferenced in (ConferenceUri, baresip PSAP and desk)", () => {
    let k2: Registrar | undefined;
    const fars: FarPhone[] = [];
    afterEach(async () => {
      await phone?.stop();
      phone = undefined;
      for (const f of fars.splice(0)) await f.stop();
      await k2?.stop();
      k2 = undefined;
    });

    /** A tone's level in the middle of what baresip recorded from the phone. */
    async function heardBy(f: FarPhone, hz: number): Promise<number> {
      await f.waitFor("CALL_CLOSED", 8000, () => true, 0);
      const dec = (await f.recordings()).find((x) => x.endsWith("-dec.wav"));
      assert.ok(dec, "baresip recorded what it got from the phone");
      const rec = await readWav(dec);
      const mid = rec.pcm.subarray(Math.floor(rec.pcm.length * 0.35), Math.floor(rec.pcm.length * 0.85));
      return toneDbfs(mid, rec.rate, hz);
    }

    for (const mode of ["twoway", "oneway"] as const) {
      it(`${mode}: once the PSAP answers the desk is called and hears the PSAP and the caller; ${mode === "twoway" ? "the PSAP hears the desk" : "no one hears the desk"}`, async () => {
        const port = await freePort();
        k2 = await startRegistrar({ users: [...USERS, { user: "1999", password: "pw-1999" }, { user: "7001", password: "pw-7001" }], lifetimeS: 600, emergencyRoute: { host: "127.0.0.1", port, transport: "tcp", psapUser: "1999" } });
        const psapPhone = await FarPhone.start({ user: "1999", password: "pw-1999", registrar: { port: k2.tcpPort, transport: "tcp" }, answer: "auto", toneHz: 660, sipPort: port });
        fars.push(psapPhone);
        const desk = await FarPhone.start({ user: "7001", password: "pw-7001", registrar: { port: k2.tcpPort, transport: "tcp" }, answer: "auto", toneHz: 440 });
        fars.push(desk);
        await psapPhone.registered();
        await desk.registered();
        phone = await PhoneProcess.registered({
          version: 1,
          accounts: [{ user: "1001", password: "pw-1001", displayName: "Alice", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: k2.tcpPort, transport: "tcp" }] }],
          sip: { retryFirstMs: 200, retryMaxMs: 1000, pingMs: 0 },
          locationPolicy: { conferenceUri: "sip:7001@127.0.0.1", conferenceMode: mode },
          location: { civic: { country: "US", A3: "Austin", RD: "Lamar", HNO: "1100" } },
        });
        await phone.cmd("set_hook", { state: "off" });
        await phone.cmd("audio_inject", { path: "handset", tone: { hz: 1000, ms: 6000, dbfs: -12 } });
        await phone.keys("911");
        await phone.until("the PSAP answered", (x) => x.calls[0]?.state === "connected");
        await phone.until("the desk's leg up too", (x) => ((x as unknown as { media: unknown[] }).media ?? []).length === 2, 10000);
        assert.equal((await phone.state()).calls.length, 1, "the desk's leg is not a call of the phone's own (no second call on screen)");
        await new Promise((r) => setTimeout(r, 2500));
        await phone.cmd("set_hook", { state: "on" });
        await phone.until("idle", (x) => x.calls.length === 0);
        const deskHearsPsap = await heardBy(desk, 660);
        const deskHearsCaller = await heardBy(desk, 1000);
        assert.ok(deskHearsPsap > -35, `the desk hears the PSAP (660 Hz at ${deskHearsPsap.toFixed(1)} dBFS)`);
        assert.ok(deskHearsCaller > -35, `the desk hears the caller (1 kHz at ${deskHearsCaller.toFixed(1)} dBFS)`);
        const psapHearsDesk = await heardBy(psapPhone, 440);
        const psapHearsCaller = await heardBy(psapPhone, 1000);
        assert.ok(psapHearsCaller > -35, `the PSAP hears the caller (1 kHz at ${psapHearsCaller.toFixed(1)} dBFS)`);
        if (mode === "twoway") assert.ok(psapHearsDesk > -35, `two-way: the PSAP hears the desk (440 Hz at ${psapHearsDesk.toFixed(1)} dBFS)`);
        else assert.ok(psapHearsDesk < -50, `one-way: the PSAP does not hear the desk (440 Hz at ${psapHearsDesk.toFixed(1)} dBFS)`);
      });
    }
  });
});

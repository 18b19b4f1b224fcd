// SIP edge cases against real peers: packet loss on UDP (through a lossy relay in front of Kamailio), 423
// Min-Expires, and sipp scripting the far end (486, the CANCEL/200 race, a hold re-INVITE, message waiting, caller ID).
import assert from "node:assert/strict";
import * as path from "node:path";
import * as os from "node:os";
import { promises as fs } from "node:fs";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { startRegistrar, freePort, type Registrar } from "../../../src/lab/registrar.js";
import { startSipp, type SippHandle, type SippRun } from "../../../src/lab/sipp.js";
import { PhoneProcess } from "../../support/phone-process.js";
import { startLossyRelay } from "../../support/lossy-relay.js";

const run = promisify(execFile);
const scenarios = fileURLToPath(new URL("./scenarios/", import.meta.url));
const USERS = [
  { user: "1001", password: "pw-1001" },
  { user: "1009", password: "pw-1009" },
];

function bundle(port: number, transport: "udp" | "tcp", account: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 1,
    accounts: [{ user: "1001", password: "pw-1001", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port, transport }], ...account }],
    sip: { retryFirstMs: 200, retryMaxMs: 1000, pingMs: 0 },
  };
}

describe("SIP edge cases (Kamailio, sipp, a lossy UDP link)", function () {
  this.timeout(60000);
  let k: Registrar;
  let phone: PhoneProcess | undefined;
  let uas: SippHandle | undefined;

  /** sipp registers as 1009, then plays `scenario` as the far end on the same port. */
  async function farEnd(scenario: string, keys: Record<string, string> = {}, args: string[] = []): Promise<SippHandle> {
    const port = await freePort();
    const reg = await startSipp({ scenario: path.join(scenarios, "register.xml"), remote: `127.0.0.1:${k.udpPort}`, port, keys: { user: "1009" }, args: ["-au", "1009", "-ap", "pw-1009"], timeoutS: 10 });
    const r = await reg.done;
    assert.equal(r.code, 0, `sipp could not register: ${r.errors}`);
    uas = await startSipp({ scenario: path.resolve(scenarios, scenario), port, keys: { user: "1009", ...keys }, args, timeoutS: 30 });
    return uas;
  }

  async function oneShot(scenario: string, keys: Record<string, string>): Promise<SippRun> {
    const h = await startSipp({ scenario: path.join(scenarios, scenario), remote: `127.0.0.1:${k.udpPort}`, port: await freePort(), keys, timeoutS: 15 });
    return h.done;
  }

  before(async () => {
    k = await startRegistrar({ users: USERS, minExpires: 60, lifetimeS: 900 });
  });
  after(async () => k?.stop());
  afterEach(async () => {
    uas?.stop();
    uas = undefined;
    await phone?.stop();
    phone = undefined;
  });

  it("UDP: lost REGISTERs and a lost INVITE are sent again after T1 with the same branch; the 486 is ACKed", async () => {
    const relay = await startLossyRelay(k.udpPort, (line, copy) => (line.startsWith("REGISTER") || line.startsWith("INVITE")) && copy === 1);
    try {
      const far = await farEnd("uas-486.xml");
      phone = await PhoneProcess.registered(bundle(relay.port, "udp"));
      await phone.keys("1009");
      const end = await phone.until("busy", (x) => x.mode === "ended");
      assert.match(await phone.screen(), /Busy/);
      assert.equal(end.history[0]?.kind, "placed");
      const r = await far.done;
      assert.equal(r.code, 0, `sipp saw no ACK for its 486: ${r.errors}`);
      for (const method of ["REGISTER", "INVITE"]) {
        const lost = relay.seen.filter((s) => s.line.startsWith(method) && s.dropped);
        assert.ok(lost.length >= 1, `a ${method} was lost`);
        for (const l of lost) {
          const again = relay.seen.find((s) => s.branch === l.branch && !s.dropped);
          assert.ok(again, `the lost ${method} was sent again with branch ${l.branch}`);
          const gap = again.at - l.at;
          assert.ok(gap >= 400 && gap < 1500, `${method} resent after ${gap} ms (T1 = 500 ms)`);
        }
      }
    } finally {
      await relay.close();
    }
  });

  it("hides the caller ID when the config asks: the INVITE carries Privacy: id", async () => {
    const far = await farEnd("uas-486-private.xml");
    const b = bundle(k.udpPort, "udp");
    phone = await PhoneProcess.registered({ ...b, features: { hideCallerId: true } });
    await phone.keys("1009");
    await phone.until("busy", (x) => x.mode === "ended");
    const r = await far.done;
    assert.equal(r.code, 0, `sipp found no Privacy: id: ${r.errors}`);
  });

  it("423 Interval Too Brief: the phone asks again with the registrar's Min-Expires", async () => {
    const relay = await startLossyRelay(k.udpPort, () => false);
    try {
      phone = await PhoneProcess.registered(bundle(relay.port, "udp", { expires: 30 }));
      const regs = relay.seen.filter((s) => s.line.startsWith("REGISTER"));
      assert.ok(regs.length >= 2, "more than one REGISTER");
    } finally {
      await relay.close();
    }
    const log = await k.log();
    assert.ok(!/ERROR.*registrar/.test(log), "no registrar error");
  });

  it("early media: a 183 with SDP plays the far end's announcement before any answer; CANCEL then ends it (487)", async () => {
    const tone = path.join(os.tmpdir(), `early-${process.pid}.ul`);
    await run("sox", ["-n", "-r", "8000", "-c", "1", "-t", "ul", tone, "synth", "10", "sine", "600", "vol", "0.3"]);
    try {
      // sipp does not expand [keywords] inside <exec rtp_stream>: the file name goes into a copy of the scenario
      const xml = path.join(os.tmpdir(), `early-${process.pid}.xml`);
      await fs.writeFile(xml, (await fs.readFile(path.join(scenarios, "uas-early-media.xml"), "utf8")).replaceAll("[tone]", tone));
      const far = await farEnd(xml, {}, ["-mp", String(await freePort())]);
      phone = await PhoneProcess.registered(bundle(k.udpPort, "udp"));
      await phone.keys("1009");
      await phone.until("early media", (x) => x.calls[0]?.state === "early");
      await new Promise((r) => setTimeout(r, 300));
      const cap = await phone.cmd<{ dominant_hz: number }>("audio_capture", { path: "speaker", ms: 400 });
      assert.ok(Math.abs(cap.dominant_hz - 600) < 20, `the announcement heard before the answer (${cap.dominant_hz} Hz)`);
      await phone.keys("END");
      const r = await far.done;
      assert.equal(r.code, 0, `sipp: ${r.errors}`);
      await phone.until("ended", (x) => x.calls.length === 0);
    } finally {
      await fs.rm(tone, { force: true });
      await fs.rm(path.join(os.tmpdir(), `early-${process.pid}.xml`), { force: true });
    }
  });

  it("DTMF falls back to SIP INFO when the far end did not offer telephone-event", async () => {
    const far = await farEnd("uas-info-dtmf.xml");
    phone = await PhoneProcess.registered(bundle(k.tcpPort, "tcp"));
    await phone.call("1009");
    await phone.keys("5");
    await new Promise((r) => setTimeout(r, 300));
    await phone.keys("END");
    const r = await far.done;
    assert.equal(r.code, 0, `sipp saw no INFO with Signal=5: ${r.errors}`);
  });

  it("the CANCEL/200 race: the far end answers a cancelled call; the phone ACKs the 200 and ends it with BYE", async () => {
    const far = await farEnd("uas-cancel-race.xml");
    phone = await PhoneProcess.registered(bundle(k.tcpPort, "tcp"));
    await phone.keys("1009");
    await phone.until("ringing", (x) => x.calls[0]?.state === "ringing");
    await phone.keys("END");
    const r = await far.done;
    assert.equal(r.code, 0, `sipp: ${r.errors}\nphone: ${phone.out.slice(-8000)}`);
    const s = await phone.until("no call", (x) => x.calls.length === 0 && x.history.length === 1);
    assert.equal(s.mode, "idle");
  });

  it("a hold re-INVITE from the far end (sendonly) is answered recvonly and shown", async () => {
    const far = await farEnd("uas-remote-hold.xml");
    phone = await PhoneProcess.registered(bundle(k.tcpPort, "tcp"));
    await phone.keys("1009");
    await phone.until("held by the far end", (x) => x.calls[0]?.remoteHold === true);
    assert.match(await phone.screen(), /On hold by far end/);
    await phone.keys("END");
    const r = await far.done;
    assert.equal(r.code, 0, `sipp: ${r.errors}`);
  });

  it("message waiting: a message-summary NOTIFY lights the MESSAGE LED and shows the count", async () => {
    phone = await PhoneProcess.registered(bundle(k.udpPort, "udp"));
    const r = await oneShot("uac-notify-mwi.xml", { target: "1001" });
    assert.equal(r.code, 0, `sipp: ${r.errors}`);
    const s = await phone.until("mwi", (x) => (x as unknown as { mwi: { waiting: boolean } }).mwi.waiting);
    assert.deepEqual((s as unknown as { mwi: unknown }).mwi, { waiting: true, count: 2 });
    assert.match(await phone.screen(), /2 voicemails/);
    assert.equal((await phone.cmd<Record<string, string>>("read_leds")).MESSAGE !== undefined, true);
  });

  for (const hidden of [false, true]) {
    it(`caller ID from P-Asserted-Identity${hidden ? ", withheld by Privacy: id" : ""}; a cancelled call is missed`, async () => {
      phone = await PhoneProcess.registered(bundle(k.udpPort, "udp"));
      const run = startSipp({ scenario: path.join(scenarios, "uac-call-pai.xml"), remote: `127.0.0.1:${k.udpPort}`, port: await freePort(), keys: { target: "1001", privacy: hidden ? "Privacy: id" : "X-Privacy-Test: none", alert: hidden ? "X-Alert-Test: none" : "Alert-Info: <http://127.0.0.1>;info=Bellcore-dr3" }, timeoutS: 15 });
      const s = await phone.until("ringing", (x) => x.mode === "ringing");
      const screen = await phone.screen();
      if (hidden) {
        assert.equal(s.calls[0].remote.name, "Anonymous");
        assert.equal(s.calls[0].number, "");
        assert.match(screen, /Anonymous/);
        assert.doesNotMatch(screen, /2000|Bob/);
      } else {
        assert.equal(s.calls[0].remote.name, "Bob Builder");
        assert.equal(s.calls[0].number, "2000");
        assert.match(screen, /Bob Builder/);
        // the PBX asked for distinctive ring 3 (Alert-Info): the ringer plays 0.4 on 0.2 off 0.4 on 0.2 off 0.8 on
        assert.equal((s.calls[0] as { ring?: string }).ring, "triple");
        const cap = await phone.cmd<{ pcm: string; rate: number }>("audio_capture", { path: "ringer", ms: 1200 });
        const pcm = new Int16Array(Buffer.from(cap.pcm, "base64").buffer.slice(0));
        const block = cap.rate / 100;
        const on = Array.from({ length: Math.floor(pcm.length / block) }, (_, i) => pcm.subarray(i * block, (i + 1) * block).some((v) => Math.abs(v) > 500));
        const starts = on.filter((x, i) => x && i > 0 && !on[i - 1]).length;
        assert.ok(starts >= 1 && on.some((x) => !x), `the ring is broken into bursts within 1.2 s (${on.map((x) => (x ? "#" : ".")).join("")})`);
      }
      const r = await (await run).done;
      assert.equal(r.code, 0, `sipp: ${r.errors}`);
      const after = await phone.until("missed", (x) => x.history.length === 1);
      assert.equal(after.history[0].kind, "missed");
    });
  }
});

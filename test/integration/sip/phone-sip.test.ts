// The simulated phone as a SIP phone against real peers: Kamailio (registrar/proxy with digest auth) and baresip (a
// far-end phone playing a 1 kHz tone). The phone is driven only through the control protocol; the peers' side is
// asserted through baresip's events and recordings.
import assert from "node:assert/strict";
import { startRegistrar, type Registrar } from "../../../src/lab/registrar.js";
import { FarPhone } from "../../../src/lab/far-phone.js";
import { PhoneProcess } from "../../support/phone-process.js";
import { startDnsServer } from "../../support/dns-server.js";

const USERS = [
  { user: "1001", password: "pw-1001" },
  { user: "1002", password: "pw-1002" },
  { user: "1003", password: "pw-1003" },
];

function bundle(k: Registrar, transport: "udp" | "tcp" | "tls", extra: Record<string, unknown> = {}): Record<string, unknown> {
  const port = transport === "udp" ? k.udpPort : transport === "tcp" ? k.tcpPort : k.tlsPort;
  return {
    version: 1,
    accounts: [{ user: "1001", password: "pw-1001", displayName: "Alice", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port, transport }] }],
    trustedCAs: [k.caFile],
    sip: { retryFirstMs: 200, retryMaxMs: 1000, pingMs: 1000, pingTimeoutMs: 1500, keepAliveMs: 1000 },
    ...extra,
  };
}

describe("SIP calling against Kamailio and baresip", function () {
  this.timeout(60000);
  let k: Registrar;
  let far: FarPhone;
  let phone: PhoneProcess | undefined;

  before(async () => {
    k = await startRegistrar({ users: USERS, lifetimeS: 900 });
    far = await FarPhone.start({ user: "1002", password: "pw-1002", registrar: { port: k.udpPort, transport: "udp" }, answer: "auto", toneHz: 1000 });
    await far.registered();
  });
  after(async () => {
    await far?.stop();
    await k?.stop();
  });
  afterEach(async () => {
    await phone?.stop();
    phone = undefined;
  });

  for (const transport of ["udp", "tcp", "tls"] as const) {
    it(`registers over ${transport.toUpperCase()} with digest auth and shows it`, async () => {
      phone = await PhoneProcess.start(bundle(k, transport));
      const s = await phone.until("registered", (x) => x.registration.state === "registered");
      assert.match(s.registration.server, new RegExp(`^${transport}:`));
      assert.match(await phone.screen(), /1001 Alice/);
      assert.match(await phone.screen(), /Ready/);
    });
  }

  it("says why when the password is wrong, on the screen", async () => {
    const b = bundle(k, "tcp");
    (b.accounts as Array<Record<string, unknown>>)[0].password = "wrong";
    phone = await PhoneProcess.start(b);
    const s = await phone.until("failed", (x) => x.registration.state === "failed");
    assert.equal(s.registration.reason, "Wrong user name or password");
    assert.match(await phone.screen(), /No service/);
    assert.ok(!phone.out.includes("pw-1001") && !phone.out.includes("wrong"), "no password in the log");
  });

  it("TLS: a server certificate no trusted CA signed is refused, and the screen says which check failed", async () => {
    const b = bundle(k, "tls");
    delete b.trustedCAs; // the system's CAs do not know the lab's self-signed certificate
    phone = await PhoneProcess.start(b);
    const s = await phone.until("failed", (x) => x.registration.state === "failed");
    assert.match(s.registration.reason, /certificate is not signed by a trusted CA \(chain check failed: DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    assert.match(await phone.screen(), /No service/);
  });

  it("fails over to the second registrar when the first does not answer", async () => {
    const b = bundle(k, "tcp");
    const dead = { host: "127.0.0.1", port: 9, transport: "tcp" }; // discard port: nothing listens
    const acct = (b.accounts as Array<{ servers: unknown[] }>)[0];
    acct.servers = [dead, ...acct.servers];
    phone = await PhoneProcess.start(b);
    const s = await phone.until("registered to the second", (x) => x.registration.state === "registered");
    assert.equal(s.registration.server, `tcp:127.0.0.1:${k.tcpPort}`);
  });

  it("finds the registrar by DNS SRV (RFC 3263): the first target is dead, the second answers", async () => {
    const dns = await startDnsServer({
      srv: { "_sip._tcp.pbx.test": [{ priority: 20, weight: 0, port: k.tcpPort, target: "kam.pbx.test" }, { priority: 10, weight: 0, port: 9, target: "dead.pbx.test" }] },
      a: { "kam.pbx.test": ["127.0.0.1"], "dead.pbx.test": ["127.0.0.1"] },
    });
    try {
      const b: Record<string, unknown> = { ...bundle(k, "tcp"), dnsServers: [dns.address] };
      (b.accounts as Array<{ servers: unknown[] }>)[0].servers = [{ host: "pbx.test", transport: "tcp" }];
      phone = await PhoneProcess.start(b);
      const s = await phone.until("registered through SRV", (x) => x.registration.state === "registered");
      assert.equal(s.registration.server, `tcp:pbx.test:${k.tcpPort}`);
    } finally {
      await dns.close();
    }
  });

  it("UDP: a request too large for UDP goes over TCP to the same port (RFC 3261 §18.1.1), and the call works", async () => {
    const b = { ...bundle(k, "udp"), sip: { retryFirstMs: 200, retryMaxMs: 1000, pingMs: 0, udpMaxBytes: 600 } };
    phone = await PhoneProcess.registered(b, ["--log-level", "trace"]);
    await phone.call("1002");
    const out = phone.out;
    assert.match(out, /"sip":"INVITE sip:1002@127\.0\.0\.1 SIP\/2\.0\\r\\nVia: SIP\/2\.0\/TCP /, `the INVITE (with its SDP, over 600 bytes) went over TCP: ${out.match(/"sip":"INVITE[^\\]*\\r\\n[^\\]*/g)?.join(" | ")}`);
    assert.match(phone.out, /"sip":"REGISTER sip:127\.0\.0\.1 SIP\/2\.0\\r\\nVia: SIP\/2\.0\/UDP /, "small requests stay on UDP");
    await phone.keys("END");
  });

  it("DND: a call is refused with 486 without ringing, and logged as missed", async () => {
    phone = await PhoneProcess.registered(bundle(k, "udp"));
    await phone.keys("DND");
    const since = far.eventCount;
    await far.dial("sip:1001@127.0.0.1");
    const closed = await far.waitFor("CALL_CLOSED", 5000, () => true, since);
    assert.match(String(closed.param), /486/);
    const s = await phone.until("missed", (x) => x.history.length === 1);
    assert.equal(s.history[0].kind, "missed");
    assert.equal(s.mode, "idle");
  });

  it("signs out (unREGISTER: calls to it fail) and back in from the settings menu", async () => {
    phone = await PhoneProcess.registered(bundle(k, "tcp"));
    for (const key of ["MENU", "OK", "DOWN", "DOWN", "OK"]) await phone.keys(key);
    await phone.until("signed out", (x) => (x as unknown as { signedOut: boolean }).signedOut && x.registration.reason === "Signed out");
    assert.match(await phone.screen(), /Signed out/);
    const since = far.eventCount;
    await new Promise((r) => setTimeout(r, 300)); // the unREGISTER reaches Kamailio
    await far.dial("sip:1001@127.0.0.1");
    const closed = await far.waitFor("CALL_CLOSED", 5000, () => true, since);
    assert.match(String(closed.param), /404|480/, "nobody is registered at 1001 any more");
    await phone.keys("OK");
    await phone.until("signed in", (x) => x.registration.state === "registered");
    assert.match(await phone.screen(), /Ready/);
  });

  it("keeps the call history across a restart", async () => {
    phone = await PhoneProcess.registered(bundle(k, "udp"));
    await phone.call("1002");
    await phone.keys("END");
    await phone.until("history", (x) => x.history.length === 1);
    const dir = await phone.stopKeepingData();
    phone = await PhoneProcess.start(bundle(k, "udp"), [], dir);
    const s = await phone.state();
    assert.deepEqual(s.history.map((h) => [h.kind, h.number]), [["placed", "1002"]]);
  });

  it("calls baresip: it answers, its tone is heard on the speaker, and hanging up ends the call on both sides", async () => {
    phone = await PhoneProcess.registered(bundle(k, "tcp"));
    const since = far.eventCount;
    await phone.keys("1002");
    const s = await phone.until("connected", (x) => x.calls[0]?.state === "connected");
    assert.equal(s.calls[0].direction, "out");
    await far.waitFor("CALL_ESTABLISHED", 5000, () => true, since);
    assert.match(await phone.screen(), /1002/);
    const cap = await phone.cmd<{ dominant_hz: number; rms_dbfs: number }>("audio_capture", { path: "speaker", ms: 600 });
    assert.ok(Math.abs(cap.dominant_hz - 1000) < 30, `far-end tone heard at ${cap.dominant_hz} Hz`);
    assert.ok(cap.rms_dbfs > -40, `far-end tone level ${cap.rms_dbfs} dBFS`);
    await phone.keys("END");
    await far.waitFor("CALL_CLOSED", 5000, () => true, since);
    const after = await phone.until("history", (x) => x.calls.length === 0 && x.history.length === 1);
    assert.equal(after.history[0].kind, "placed");
    assert.equal(after.history[0].number, "1002");
  });

  it("is called by baresip: rings with the caller's ID, lifting the handset answers", async () => {
    phone = await PhoneProcess.registered(bundle(k, "udp"));
    const since = far.eventCount;
    await far.dial("sip:1001@127.0.0.1");
    const ring = await phone.until("ringing", (x) => x.mode === "ringing");
    assert.equal(ring.calls[0].number, "1002");
    assert.match(await phone.screen(), /Incoming call/);
    await phone.cmd("set_hook", { state: "off" });
    await phone.until("connected", (x) => x.calls[0]?.state === "connected");
    await far.waitFor("CALL_ESTABLISHED", 5000, () => true, since);
    const cap = await phone.cmd<{ dominant_hz: number }>("audio_capture", { path: "handset", ms: 600 });
    assert.ok(Math.abs(cap.dominant_hz - 1000) < 30, `far-end tone on the handset at ${cap.dominant_hz} Hz`);
    await far.hangup();
    const ended = await phone.until("ended", (x) => x.calls.length === 0);
    assert.equal(ended.mode, "ended");
    assert.equal(ended.history[0].kind, "received");
  });

  it("holds and resumes a call with re-INVITEs; the far end's audio stops while held", async () => {
    phone = await PhoneProcess.registered(bundle(k, "udp"));
    await phone.call("1002");
    await phone.keys("HOLD");
    await phone.until("held", (x) => x.calls[0]?.state === "held");
    assert.match(await phone.screen(), /On hold/);
    await new Promise((r) => setTimeout(r, 300)); // what the earpiece had queued before the hold plays out
    const quiet = await phone.cmd<{ rms_dbfs: number | null }>("audio_capture", { path: "speaker", ms: 400 });
    assert.ok((quiet.rms_dbfs ?? -Infinity) < -60, `nothing heard on hold (${quiet.rms_dbfs} dBFS; null = digital silence)`);
    await phone.keys("HOLD");
    await phone.until("resumed", (x) => x.calls[0]?.state === "connected");
    await new Promise((r) => setTimeout(r, 200));
    const back = await phone.cmd<{ dominant_hz: number }>("audio_capture", { path: "speaker", ms: 400 });
    assert.ok(Math.abs(back.dominant_hz - 1000) < 30, `tone back after resume (${back.dominant_hz} Hz)`);
    await phone.keys("END");
    await phone.until("idle", (x) => x.calls.length === 0);
  });

  describe("with a second far-end phone (1003)", () => {
    let far3: FarPhone;
    before(async () => {
      far3 = await FarPhone.start({ user: "1003", password: "pw-1003", registrar: { port: k.tcpPort, transport: "tcp" }, answer: "auto", toneHz: 700 });
      await far3.registered();
    });
    after(async () => far3?.stop());
    afterEach(async () => {
      // the far ends may still talk to each other after a transfer: end that before the next test
      for (let i = 0; i < 3; i++) for (const f of [far, far3]) await f.hangup().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
    });

    it("blind transfer: TRANSFER, dial 1003, TRANSFER: baresip 1002 is sent on to 1003 and this phone is out", async () => {
      phone = await PhoneProcess.registered(bundle(k, "tcp"));
      const since3 = far3.eventCount;
      await phone.call("1002");
      await phone.keys("TRANSFER");
      await phone.until("held for transfer", (x) => x.calls[0]?.state === "held" && x.mode === "dialtone");
      await phone.keys("1003");
      assert.match(await phone.screen(), /Transfer to: 1003/);
      await phone.keys("TRANSFER");
      await phone.until("out of the call", (x) => x.calls.length === 0, 10000);
      const e = await far3.waitFor("CALL_ESTABLISHED", 10000, (ev) => /1002/.test(String(ev.peeruri ?? "")), since3);
      assert.match(String(e.peeruri), /1002/);
    });

    it("attended transfer: TRANSFER, dial 1003, SEND (consult), TRANSFER: 1002 and 1003 are joined", async () => {
      phone = await PhoneProcess.registered(bundle(k, "tcp"));
      const since3 = far3.eventCount;
      await phone.call("1002");
      await phone.keys("TRANSFER");
      await phone.keys("1003");
      await phone.keys("SEND");
      await phone.until("consult connected", (x) => x.calls.length === 2 && x.calls[1].state === "connected" && x.calls[0].state === "held");
      await phone.keys("TRANSFER");
      await phone.until("out of both calls", (x) => x.calls.length === 0, 10000);
      const e = await far3.waitFor("CALL_ESTABLISHED", 10000, (ev) => /1002/.test(String(ev.peeruri ?? "")), since3);
      assert.match(String(e.peeruri), /1002/);
    });

    it("call waiting: a second call rings in during a call; Answer holds the first; Swap goes back", async () => {
      phone = await PhoneProcess.registered(bundle(k, "udp"));
      const since = far.eventCount;
      const since3 = far3.eventCount;
      await far.dial("sip:1001@127.0.0.1");
      await phone.until("ringing", (x) => x.mode === "ringing");
      await phone.cmd("set_hook", { state: "off" });
      await phone.until("first connected", (x) => x.calls[0]?.state === "connected");
      await far3.dial("sip:1001@127.0.0.1");
      await phone.until("waiting", (x) => x.calls.length === 2 && x.calls[1].state === "incoming");
      assert.match(await phone.screen(), /waiting: 1003/i);
      await phone.keys("SOFT1");
      const both = await phone.until("second up, first held", (x) => x.calls[0]?.state === "held" && x.calls[1]?.state === "connected");
      assert.equal(both.calls[1].focused, true);
      await far3.waitFor("CALL_ESTABLISHED", 5000, () => true, since3);
      const cap = await phone.cmd<{ dominant_hz: number }>("audio_capture", { path: "handset", ms: 500 });
      assert.ok(Math.abs(cap.dominant_hz - 700) < 30, `1003's 700 Hz tone heard, not 1002's (${cap.dominant_hz} Hz)`);
      await phone.keys("HOLD");
      await phone.until("swapped", (x) => x.calls[0]?.state === "connected" && x.calls[1]?.state === "held" && x.calls[0].focused);
      await new Promise((r) => setTimeout(r, 200));
      const back = await phone.cmd<{ dominant_hz: number }>("audio_capture", { path: "handset", ms: 500 });
      assert.ok(Math.abs(back.dominant_hz - 1000) < 30, `back to 1002's 1000 Hz tone (${back.dominant_hz} Hz)`);
      await far.waitFor("CALL_ESTABLISHED", 1000, () => true, since);
      await phone.cmd("set_hook", { state: "on" });
    });

    it("being transferred: baresip 1002 REFERs this phone to 1003, and the phone calls 1003 in its place", async () => {
      phone = await PhoneProcess.registered(bundle(k, "udp"));
      const since3 = far3.eventCount;
      await far.dial("sip:1001@127.0.0.1");
      await phone.until("ringing", (x) => x.mode === "ringing");
      await phone.cmd("set_hook", { state: "off" });
      await phone.until("connected", (x) => x.calls[0]?.state === "connected");
      await far.command("transfer", "sip:1003@127.0.0.1");
      const s = await phone.until("now with 1003", (x) => x.calls.length === 1 && x.calls[0].number === "1003" && x.calls[0].state === "connected");
      assert.equal(s.calls[0].focused, true);
      const e = await far3.waitFor("CALL_ESTABLISHED", 5000, () => true, since3);
      assert.match(String(e.peeruri), /1001/);
      await new Promise((r) => setTimeout(r, 200));
      const cap = await phone.cmd<{ dominant_hz: number }>("audio_capture", { path: "handset", ms: 400 });
      assert.ok(Math.abs(cap.dominant_hz - 700) < 30, `1003's tone (${cap.dominant_hz} Hz)`);
      await phone.cmd("set_hook", { state: "on" });
    });

    it("forward always: a call to this phone goes to 1003 (302) without ringing here", async () => {
      phone = await PhoneProcess.registered(bundle(k, "udp", { features: { forward: { always: "1003" } } }));
      const since3 = far3.eventCount;
      await far.dial("sip:1001@127.0.0.1");
      const e = await far3.waitFor("CALL_ESTABLISHED", 10000, () => true, since3);
      assert.match(String(e.peeruri), /1002/);
      const s = await phone.state();
      assert.equal(s.mode, "idle");
      await far.hangup();
    });
  });

  it("DTMF: digits pressed in a call reach baresip as RFC 4733 events", async () => {
    phone = await PhoneProcess.registered(bundle(k, "udp"));
    const since = far.eventCount;
    await phone.call("1002");
    await phone.keys("5");
    const d = await far.waitFor("CALL_DTMF_START", 5000, () => true, since);
    assert.equal(d.param, "5");
    await phone.keys("END");
    await phone.until("idle", (x) => x.calls.length === 0);
  });

  // last: it restarts Kamailio, which forgets every registration (the far ends' too)
  describe("when Kamailio fails", () => {
    it("shows No service when Kamailio is killed and registers again by itself when it is back", async () => {
      phone = await PhoneProcess.registered(bundle(k, "tcp"));
      await k.kill();
      const down = await phone.until("no service", (x) => x.registration.state === "failed");
      assert.match(down.registration.reason, /Connection lost|not reachable|refused/);
      assert.match(await phone.screen(), /No service/);
      await k.restart();
      await phone.until("registered again", (x) => x.registration.state === "registered", 15000);
      assert.match(await phone.screen(), /Ready/);
    });
  });
});

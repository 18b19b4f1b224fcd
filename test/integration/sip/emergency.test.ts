// Emergency calls on the SIP side against real peers (shared standards emergency-location.md §3.9, §7 items 14, 15,
// 19-24, TV-8, TV-9, TV-10, TV-13): SipPhone driven in-process (a fake media port with a fixed G.711 offer), Kamailio
// routing urn:service:sos and 911 to a PSAP played by sipp, which checks the INVITE with regular expressions; the
// PIDF-LO it received is taken from its message trace and validated with xmllint against the PIDF-LO schemas.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createSystemClock, ManualClock, type Clock } from "../../../src/base/clock.js";
import { createLogger } from "../../../src/base/log.js";
import { startRegistrar, freePort, type Registrar } from "../../../src/lab/registrar.js";
import { startSipp, type SippHandle, type SippRun } from "../../../src/lab/sipp.js";
import { buildPidfLo, type CivicAddress } from "../../../src/location/pidf-lo.js";
import type { MediaPort, MediaSession } from "../../../src/sip/media-port.js";
import { assertValidPidf, header, listening, pidfPart, received } from "../../support/sip-messages.js";
import { until } from "../../support/poll.js";
import { DEFAULT_SIP_TUNING, SipPhone, type SipAccount, type SipEndReason, type SipPhoneEvents, type SipTuning } from "../../../src/sip/sip-phone.js";

const scenarios = fileURLToPath(new URL("./scenarios/", import.meta.url));
const USERS = [
  { user: "1001", password: "pw-1001" },
  { user: "1099", password: "pw-1099" },
];

const OFFER = ["v=0", "o=- 4711 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "m=audio 40000 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=sendrecv", ""].join("\r\n");

/** A media port that offers G.711 and accepts anything; it remembers what it was asked. */
function fakeMedia(): MediaPort & { offers: Array<{ hold: boolean; emergency?: boolean }>; answers: string[] } {
  const offers: Array<{ hold: boolean; emergency?: boolean }> = [];
  const answers: string[] = [];
  return {
    offers,
    answers,
    open(): MediaSession {
      return {
        createOffer: async (opts) => {
          offers.push(opts);
          return OFFER;
        },
        setAnswer: async (sdp) => {
          answers.push(sdp);
        },
        acceptOffer: async () => OFFER,
        remoteDirection: "sendrecv",
        sendDtmf: () => false,
        close: () => undefined,
      };
    },
  };
}

function floor(flr: string): string {
  const civic: CivicAddress = { country: "US", A1: "TX", A3: "Austin", RD: "N Lamar", STS: "BLVD", HNO: "1100", LOC: "Tower 2", FLR: flr, ROOM: "3-214", PC: "78703" };
  return buildPidfLo({ entity: "pres:1001@127.0.0.1", tupleId: "loc1", civic, method: "Wiremap", providedBy: "https://lis.example.com/provider", retransmissionAllowed: true, timestamp: new Date(Date.UTC(2026, 0, 15, 15, 4, 5)) });
}

interface Harness {
  phone: SipPhone;
  media: ReturnType<typeof fakeMedia>;
  /** Every SIP message the phone sent, with the phone's clock reading. */
  sent: Array<{ at: number; text: string }>;
  logs: Array<Record<string, unknown>>;
  ended: Array<{ id: number; reason: SipEndReason; code?: number }>;
  progress: Array<{ id: number; state: string }>;
  registered: () => boolean;
  until(what: string, test: () => boolean, ms?: number): Promise<void>;
}

function harness(account: SipAccount, clock: Clock = createSystemClock(), tuning: Partial<SipTuning> = {}): Harness {
  const media = fakeMedia();
  const sent: Harness["sent"] = [];
  const logs: Harness["logs"] = [];
  const ended: Harness["ended"] = [];
  const progress: Harness["progress"] = [];
  let reg = "";
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split("\n").filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const log = createLogger({ level: "debug", destination: sink });
  let next = 100;
  const events: SipPhoneEvents = {
    registration: (r) => (reg = r.state),
    nextCallId: () => next++,
    incoming: () => undefined,
    progress: (id, state) => progress.push({ id, state }),
    held: () => undefined,
    remoteHold: () => undefined,
    ended: (id, reason, code) => ended.push({ id, reason, ...(code !== undefined ? { code } : {}) }),
    referred: () => undefined,
    mwi: () => undefined,
  };
  const t: SipTuning = { ...DEFAULT_SIP_TUNING, backoffMs: { first: 200, max: 1000 }, pingMs: 0, keepAliveMs: 0, ...tuning };
  const phone = new SipPhone(account, media, events, clock, log, t, undefined, { tap: (dir, text) => dir === "out" && sent.push({ at: clock.now(), text }) });
  return {
    phone,
    media,
    sent,
    logs,
    ended,
    progress,
    registered: () => reg === "registered",
    until: (what, test, ms = 15000) => until(what, test, ms),
  };
}

describe("emergency calls over SIP (Kamailio routing to a sipp PSAP)", function () {
  this.timeout(60000);
  let k: Registrar | undefined;
  let h: Harness | undefined;
  const sipps: SippHandle[] = [];
  let psapPort = 0;

  async function lab(authenticate = false): Promise<Registrar> {
    psapPort = await freePort();
    k = await startRegistrar({ users: USERS, lifetimeS: 600, emergencyRoute: { host: "127.0.0.1", port: psapPort, transport: "tcp", authenticate } });
    return k;
  }

  async function psap(scenario: string, timeoutS = 30): Promise<SippHandle> {
    const s = await startSipp({ scenario: path.join(scenarios, scenario), port: psapPort, transport: "t1", keys: { user: "psap" }, timeoutS });
    sipps.push(s);
    const deadline = Date.now() + 5000;
    while (!listening(psapPort)) {
      if (Date.now() > deadline) throw new Error("sipp (the PSAP) is not listening");
      await new Promise((r) => setTimeout(r, 20));
    }
    return s;
  }

  function account(reg: Registrar, extra: Partial<SipAccount> = {}): SipAccount {
    return { user: "1001", password: "pw-1001", displayName: "Alice", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: reg.tcpPort, transport: "tcp" }], caCerts: [readFileSync(reg.caFile, "utf8")], ...extra };
  }

  async function registeredPhone(reg: Registrar, extra: Partial<SipAccount> = {}, clock?: Clock, tuning?: Partial<SipTuning>): Promise<Harness> {
    h = harness(account(reg, extra), clock, tuning);
    await h.phone.start();
    await h.until("registered", () => h?.registered() === true);
    return h;
  }

  async function sippDone(s: SippHandle): Promise<SippRun> {
    const r = await s.done;
    assert.equal(r.code, 0, `the PSAP (sipp) found the call wrong: ${r.errors}\n${r.messages.slice(-6000)}`);
    return r;
  }

  afterEach(async () => {
    for (const s of sipps.splice(0)) s.stop();
    await h?.phone.stop();
    h = undefined;
    await k?.stop();
    k = undefined;
  });

  it("INVITE with location: urn:service:sos, Priority, Geolocation cid = the PIDF part's Content-ID, SDP first; the PIDF-LO validates", async () => {
    const reg = await lab();
    const p = await registeredPhone(reg);
    const far = await psap("psap-location.xml");
    p.phone.placeEmergency(1, "911", { pidf: floor("3") });
    await p.until("connected", () => p.progress.some((x) => x.id === 1 && x.state === "connected"));
    assert.deepEqual(p.media.offers[0], { hold: false, emergency: true }, "the media side was asked for an emergency (G.711-first) offer");
    assert.match(p.media.answers[0] ?? "", /^v=0\r\n[\s\S]*m=audio \d+ RTP\/AVP 0/, "only the SDP part of the PSAP's multipart answer reached the media side");
    p.phone.hangup(1);
    const r = await sippDone(far);
    const [invite] = received(r, "INVITE");
    assert.ok(invite, "the PSAP got the INVITE");
    const part = pidfPart(invite);
    assert.equal(part.first, "application/sdp", "the SDP part is first");
    assert.equal(part.parts, 2);
    assert.equal(header(invite, "Geolocation"), `<cid:${part.contentId}>`);
    assert.equal(header(invite, "Supported")?.includes("geolocation"), false, "no Lync tag outside Lync mode");
    assert.equal(header(invite, "X-Deskphone-Emergency"), undefined, "the private marker never reaches the wire");
    await assertValidPidf(part.pidf);
    assert.match(part.pidf, /<ca:FLR>3<\/ca:FLR>/);
    await p.until("ended", () => p.ended.some((e) => e.id === 1));
    assert.equal(p.ended.find((e) => e.id === 1)?.reason, "local-hangup");
  });

  it("a registrar that challenges emergency INVITEs too: the digest is answered for the urn Request-URI on the wire", async () => {
    const reg = await lab(true);
    const p = await registeredPhone(reg);
    const far = await psap("psap-location.xml");
    p.phone.placeEmergency(11, "911", { pidf: floor("3") });
    await p.until("connected", () => p.progress.some((x) => x.id === 11 && x.state === "connected"));
    const invites = p.sent.filter((s) => s.text.startsWith("INVITE "));
    assert.equal(invites.length, 2, "challenged once, then accepted");
    assert.match(header(invites[1].text, "Proxy-Authorization") ?? "", /uri="urn:service:sos"/);
    p.phone.hangup(11);
    await sippDone(far);
  });

  it("INVITE without location: no Geolocation, no PIDF part, a plain SDP body; the dial-string form; Lync adds Supported: geolocation", async () => {
    const reg = await lab();
    const p = await registeredPhone(reg);
    const far = await psap("psap-no-location.xml");
    p.phone.placeEmergency(2, "911", { pidf: null, requestUri: "dial-string", lync: true, elin: "5125550123" });
    await p.until("connected", () => p.progress.some((x) => x.id === 2 && x.state === "connected"));
    p.phone.hangup(2);
    const r = await sippDone(far);
    const [invite] = received(r, "INVITE");
    assert.match(invite, /^INVITE sip:911@127\.0\.0\.1;user=phone SIP\/2\.0/);
    assert.match(header(invite, "To") ?? "", /^<sip:911@127\.0\.0\.1;user=phone>/);
    assert.match(header(invite, "Supported") ?? "", /\bgeolocation\b/);
    assert.equal(header(invite, "Require"), undefined);
    assert.equal(header(invite, "P-Asserted-Identity"), "<sip:5125550123@127.0.0.1;user=phone>", "the ELIN is the calling number");
    assert.match(header(invite, "From") ?? "", /<sip:1001@127\.0\.0\.1>/, "From stays the address of record (callback)");
  });

  it("over UDP: the INVITE with location is too big for UDP and goes over TCP to the same port; the call works", async () => {
    const reg = await lab();
    const p = await registeredPhone(reg, { servers: [{ host: "127.0.0.1", port: reg.udpPort, transport: "udp" }] });
    const far = await psap("psap-location.xml");
    p.phone.placeEmergency(8, "911", { pidf: floor("3") });
    await p.until("connected", () => p.progress.some((x) => x.id === 8 && x.state === "connected"));
    const invite = p.sent.find((s) => s.text.startsWith("INVITE "));
    assert.match(invite?.text ?? "", /^Via: SIP\/2\.0\/TCP /m);
    p.phone.hangup(8);
    const r = await sippDone(far);
    await assertValidPidf(pidfPart(received(r, "INVITE")[0]).pidf);
  });

  it("TV-9: a 424 Bad Location Information is retried at once without location; the call goes on and it is logged", async () => {
    const reg = await lab();
    const p = await registeredPhone(reg);
    const far = await psap("psap-424.xml");
    p.phone.placeEmergency(3, "911", { pidf: floor("3") });
    await p.until("connected", () => p.progress.some((x) => x.id === 3 && x.state === "connected"));
    assert.equal(p.ended.length, 0, "the call was never given up");
    const invites = p.sent.filter((s) => s.text.startsWith("INVITE "));
    assert.equal(invites.length, 2);
    assert.ok(invites[1].at - invites[0].at < 1000, "the second INVITE went at once");
    assert.equal(header(invites[0].text, "Call-ID"), header(invites[1].text, "Call-ID"), "same Call-ID, new CSeq");
    const logged = p.logs.find((l) => /424/.test(String(l.msg)));
    assert.ok(logged, "the 424 is logged");
    assert.equal(logged.geolocationError, 100);
    p.phone.hangup(3);
    await sippDone(far);
  });

  it("a 415 to the multipart body is retried at once with plain SDP, without location", async () => {
    const reg = await lab();
    const p = await registeredPhone(reg);
    const far = await psap("psap-415.xml");
    p.phone.placeEmergency(12, "911", { pidf: floor("3") });
    await p.until("connected", () => p.progress.some((x) => x.id === 12 && x.state === "connected"));
    assert.equal(p.ended.length, 0);
    assert.ok(p.logs.some((l) => l.code === 415 && /without location/.test(String(l.msg))));
    p.phone.hangup(12);
    await sippDone(far);
  });

  it("a 500 to the INVITE with location (a far end that fails on the multipart body) is retried on the same route without location", async () => {
    const reg = await lab();
    const p = await registeredPhone(reg);
    const far = await psap("psap-500-multipart.xml");
    p.phone.placeEmergency(16, "911", { pidf: floor("3") });
    await p.until("connected", () => p.progress.some((x) => x.id === 16 && x.state === "connected"));
    assert.equal(p.ended.length, 0);
    assert.ok(p.logs.some((l) => l.code === 500 && /refused: sent again at once without location/.test(String(l.msg))));
    p.phone.hangup(16);
    await sippDone(far);
  });

  it("signed out, no emergency route configured: the call still goes out over the connection that is up", async () => {
    const reg = await lab();
    const p = await registeredPhone(reg);
    p.phone.signOut();
    await p.until("signed out", () => !p.registered());
    const far = await psap("psap-no-location.xml");
    p.phone.placeEmergency(13, "112", { requestUri: "dial-string" });
    await p.until("connected", () => p.progress.some((x) => x.id === 13 && x.state === "connected"));
    assert.ok(p.logs.some((l) => /sending the INVITE/.test(String(l.msg)) && /not registered/.test(String(l.route))));
    p.phone.hangup(13);
    await sippDone(far);
  });

  it("TV-10: a location update mid-call goes by re-INVITE at most once per 10 s, the latest only (phone clock)", async () => {
    const reg = await lab();
    const clock = new ManualClock();
    const p = await registeredPhone(reg, {}, clock);
    const far = await psap("psap-update.xml");
    p.phone.placeEmergency(4, "911", { pidf: floor("3") });
    await p.until("connected", () => p.progress.some((x) => x.id === 4 && x.state === "connected"));
    const invites = (): Array<{ at: number; text: string }> => p.sent.filter((s) => s.text.startsWith("INVITE "));
    const t0 = invites()[0].at;
    clock.advance(3000);
    p.phone.updateLocation(4, floor("4"));
    clock.advance(4000);
    p.phone.updateLocation(4, floor("5"));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(invites().length, 1, "no update before 10 s");
    clock.advance(t0 + 10_000 - 1 - clock.now());
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(invites().length, 1, "still none 1 ms before 10 s");
    clock.advance(1);
    await p.until("the re-INVITE", () => invites().length === 2);
    assert.equal(invites()[1].at - t0, 10_000);
    assert.match(invites()[1].text, /<ca:FLR>5<\/ca:FLR>/);
    // the PSAP answers; the next location arrives at once: it waits for the next 10 s
    await new Promise((r) => setTimeout(r, 300));
    p.phone.updateLocation(4, floor("6"));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(invites().length, 2, "the next update waits 10 s after the last");
    clock.advance(10_000);
    await p.until("the second re-INVITE", () => invites().length === 3);
    assert.equal(invites()[2].at - invites()[1].at, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    p.phone.hangup(4);
    const r = await sippDone(far);
    const reinvite = received(r, "INVITE")[1];
    await assertValidPidf(pidfPart(reinvite).pidf);
  });

  for (const reply of ["200 OK", "500 Server Error"]) {
    it(`TV-13: the notification MESSAGE goes after the INVITE; a ${reply.slice(0, 3)} to it does not touch the call`, async () => {
      const reg = await lab();
      // the security desk: sipp registered as 1099, then waiting for the MESSAGE on the same port
      const deskPort = await freePort();
      const r0 = await (await startSipp({ scenario: path.join(scenarios, "register.xml"), remote: `127.0.0.1:${reg.udpPort}`, port: deskPort, keys: { user: "1099" }, args: ["-au", "1099", "-ap", "pw-1099"], timeoutS: 10 })).done;
      assert.equal(r0.code, 0, `sipp could not register: ${r0.errors}`);
      const desk = await startSipp({ scenario: path.join(scenarios, reply.startsWith("200") ? "psap-message.xml" : "psap-message-500.xml"), port: deskPort, keys: { user: "1099" }, timeoutS: 20 });
      sipps.push(desk);
      const p = await registeredPhone(reg);
      const far = await psap("psap-no-location.xml");
      p.phone.placeEmergency(5, "911", {});
      p.phone.notifyEmergency(["sip:1099@127.0.0.1"], "Emergency call to 911 placed by Alice (x1001), callback 1001, location: 1100 N Lamar BLVD, Tower 2, Fl 3, Rm 3-214, Austin TX 78703 – Straße");
      const d = await desk.done;
      assert.equal(d.code, 0, `the desk found the MESSAGE wrong: ${d.errors}`);
      const order = p.sent.map((s) => s.text.split(" ")[0]).filter((m) => m === "INVITE" || m === "MESSAGE");
      assert.deepEqual(order.slice(0, 2), ["INVITE", "MESSAGE"], "the INVITE left first");
      await p.until("connected", () => p.progress.some((x) => x.id === 5 && x.state === "connected"));
      await p.until("the MESSAGE result logged", () => p.logs.some((l) => /emergency notification (delivered|not delivered)/.test(String(l.msg))));
      if (reply.startsWith("500")) assert.ok(p.logs.some((l) => l.code === 500 && /not delivered/.test(String(l.msg))));
      assert.equal(p.ended.length, 0, "the call is still up");
      p.phone.hangup(5);
      await sippDone(far);
    });
  }

  it("registrar unreachable: the call goes over the emergency route, unregistered", async () => {
    const reg = await lab();
    const dead = await freePort();
    h = harness(account(reg, { servers: [{ host: "127.0.0.1", port: dead, transport: "tcp" }], emergencyRoutes: [{ host: "127.0.0.1", port: reg.tcpPort, transport: "tcp" }] }));
    const p = h;
    await p.phone.start();
    assert.notEqual(p.phone.registration.state, "registered");
    const far = await psap("psap-location.xml");
    p.phone.placeEmergency(6, "911", { pidf: floor("3") });
    await p.until("connected", () => p.progress.some((x) => x.id === 6 && x.state === "connected"));
    assert.equal(p.sent.filter((s) => s.text.startsWith("REGISTER ")).length, 0, "nothing registered anywhere");
    p.phone.hangup(6);
    const r = await sippDone(far);
    await assertValidPidf(pidfPart(received(r, "INVITE")[0]).pidf);
  });

  it("registered, but the registrar cannot route the call: it goes over the emergency route", async () => {
    const reg = await lab();
    // the account's own registrar knows nothing of emergency calls
    const plain = await startRegistrar({ users: USERS, lifetimeS: 600 });
    try {
      h = harness(account(plain, { emergencyRoutes: [{ host: "127.0.0.1", port: reg.tcpPort, transport: "tcp" }] }));
      const p = h;
      await p.phone.start();
      await p.until("registered", () => p.registered());
      const far = await psap("psap-location.xml");
      p.phone.placeEmergency(9, "911", { pidf: floor("3") });
      await p.until("connected", () => p.progress.some((x) => x.id === 9 && x.state === "connected"));
      const failed = p.logs.find((l) => /emergency route failed/.test(String(l.msg)));
      assert.ok(failed, "the registrar's refusal is logged");
      assert.ok(p.registered(), "the main registration is untouched");
      p.phone.hangup(9);
      await sippDone(far);
    } finally {
      await h?.phone.stop();
      h = undefined;
      await plain.stop();
    }
  });

  it("a route that takes the connection but never answers is left after emergencyAnswerMs for the next one", async () => {
    const reg = await lab();
    const silent = net.createServer((sock) => sock.on("data", () => undefined));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    try {
      const silentPort = (silent.address() as net.AddressInfo).port;
      const dead = await freePort();
      h = harness(account(reg, { servers: [{ host: "127.0.0.1", port: dead, transport: "tcp" }], emergencyRoutes: [{ host: "127.0.0.1", port: silentPort, transport: "tcp" }, { host: "127.0.0.1", port: reg.tcpPort, transport: "tcp" }] }), undefined, { emergencyAnswerMs: 500 });
      const p = h;
      await p.phone.start();
      const far = await psap("psap-no-location.xml");
      const t0 = Date.now();
      p.phone.placeEmergency(10, "911", {});
      await p.until("connected", () => p.progress.some((x) => x.id === 10 && x.state === "connected"));
      assert.ok(Date.now() - t0 < 3000);
      assert.ok(p.logs.some((l) => /does not answer/.test(String(l.msg))));
      p.phone.hangup(10);
      await sippDone(far);
    } finally {
      silent.close();
    }
  });

  it("TLS failing: the emergency call is retried at once over TCP to the same host (fallbackTcpPort)", async () => {
    const reg = await lab();
    const dead = await freePort();
    // the route's TLS certificate is not trusted (no CA configured): the handshake fails
    h = harness(account(reg, { caCerts: undefined, servers: [{ host: "127.0.0.1", port: dead, transport: "tcp" }], emergencyRoutes: [{ host: "127.0.0.1", port: reg.tlsPort, transport: "tls", fallbackTcpPort: reg.tcpPort }] }));
    const p = h;
    await p.phone.start();
    const far = await psap("psap-location.xml");
    const t0 = Date.now();
    p.phone.placeEmergency(7, "911", { pidf: floor("3") });
    await p.until("connected", () => p.progress.some((x) => x.id === 7 && x.state === "connected"));
    assert.ok(Date.now() - t0 < 3000, "no waiting between TLS and TCP");
    assert.ok(p.logs.some((l) => /TLS failed, retrying over TCP/.test(String(l.msg))), "the fallback is logged");
    const invite = p.sent.find((s) => s.text.startsWith("INVITE "));
    assert.match(invite?.text ?? "", /^Via: SIP\/2\.0\/TCP /m);
    p.phone.hangup(7);
    await sippDone(far);
  });
});

describe("emergency test call over SIP (TV-16, RFC 6881 ED-77/ED-78: Kamailio routing urn:service:test.sos to a sipp PSAP)", function () {
  this.timeout(60000);
  let k: Registrar | undefined;
  let h: Harness | undefined;
  const sipps: SippHandle[] = [];
  let psapPort = 0;

  async function lab(): Promise<Registrar> {
    psapPort = await freePort();
    k = await startRegistrar({ users: USERS, lifetimeS: 600, emergencyRoute: { host: "127.0.0.1", port: psapPort, transport: "tcp" } });
    return k;
  }

  async function psap(scenario: string): Promise<SippHandle> {
    const s = await startSipp({ scenario: path.join(scenarios, scenario), port: psapPort, transport: "t1", keys: { user: "psap" }, timeoutS: 30 });
    sipps.push(s);
    const deadline = Date.now() + 5000;
    while (!listening(psapPort)) {
      if (Date.now() > deadline) throw new Error("sipp (the PSAP) is not listening");
      await new Promise((r) => setTimeout(r, 20));
    }
    return s;
  }

  function account(reg: Registrar, extra: Partial<SipAccount> = {}): SipAccount {
    return { user: "1001", password: "pw-1001", displayName: "Alice", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: reg.tcpPort, transport: "tcp" }], caCerts: [readFileSync(reg.caFile, "utf8")], ...extra };
  }

  async function registeredPhone(reg: Registrar): Promise<Harness> {
    h = harness(account(reg));
    await h.phone.start();
    await h.until("registered", () => h?.registered() === true);
    return h;
  }

  async function sippDone(s: SippHandle): Promise<SippRun> {
    const r = await s.done;
    assert.equal(r.code, 0, `the PSAP (sipp) found the test call wrong: ${r.errors}\n${r.messages.slice(-6000)}`);
    return r;
  }

  /** The methods the phone sent, in order (OPTIONS/REGISTER left out). */
  const methods = (p: Harness): string[] => p.sent.map((s) => s.text.split(" ")[0]).filter((m) => !["REGISTER", "OPTIONS", "SUBSCRIBE"].includes(m));

  afterEach(async () => {
    for (const s of sipps.splice(0)) s.stop();
    await h?.phone.stop();
    h = undefined;
    await k?.stop();
    k = undefined;
  });

  it("200 with SDP + text/plain: the echo is read, the call ended at once (ACK, BYE); dressed with location, no Priority; no call events, no media", async () => {
    const reg = await lab();
    const p = await registeredPhone(reg);
    const far = await psap("psap-test-ok.xml");
    const result = await p.phone.emergencyTest({ pidf: floor("3") });
    assert.equal(result.code, 200);
    assert.equal(result.text, "Test OK: location received: 1100 N Lamar BLVD, Fl 3, Austin\r\nPSAP: test.psap.example; service urn:service:test.sos");
    const r = await sippDone(far);
    assert.deepEqual(methods(p), ["INVITE", "ACK", "BYE"]);
    const [invite] = received(r, "INVITE");
    assert.equal(header(invite, "Priority"), undefined, "a test call is not marked as an emergency");
    assert.equal(header(invite, "X-Deskphone-Emergency"), undefined, "the private marker never reaches the wire");
    const part = pidfPart(invite);
    assert.equal(part.first, "application/sdp");
    assert.equal(header(invite, "Geolocation"), `<cid:${part.contentId}>`);
    await assertValidPidf(part.pidf);
    assert.deepEqual(p.media.offers, [{ hold: false, emergency: true }], "the offer a real emergency call makes");
    assert.deepEqual(p.media.answers, [], "the media never started");
    assert.deepEqual(p.progress, [], "the phone core hears nothing of the test");
    assert.deepEqual(p.ended, []);
  });

  it("200 with a text/plain body alone (no SDP): the text is read and the call ended; Lync adds Supported: geolocation", async () => {
    const reg = await lab();
    const p = await registeredPhone(reg);
    const far = await psap("psap-test-ok-plain.xml");
    const result = await p.phone.emergencyTest({ pidf: floor("7"), lync: true });
    assert.deepEqual(result, { code: 200, text: "Test OK: floor 7 received" });
    await sippDone(far);
    assert.deepEqual(methods(p), ["INVITE", "ACK", "BYE"]);
    const invite = p.sent.find((s) => s.text.startsWith("INVITE "))?.text ?? "";
    assert.match(header(invite, "Supported") ?? "", /\bgeolocation\b/);
    assert.deepEqual(p.ended, []);
  });

  for (const code of [404, 486]) {
    it(`${code} from the PSAP: resolves { code: ${code}, text: "" }, nothing but the ACK follows`, async () => {
      const reg = await lab();
      const p = await registeredPhone(reg);
      const far = await psap(`psap-test-${code}.xml`);
      const result = await p.phone.emergencyTest({ pidf: floor("3") });
      assert.deepEqual(result, { code, text: "" });
      await sippDone(far);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(methods(p), ["INVITE", "ACK"], "the non-2xx acknowledged (in its transaction), no BYE, no CANCEL");
      assert.deepEqual(p.ended, []);
      assert.deepEqual(p.progress, []);
    });
  }

  it("not registered (registrar unreachable): the test goes over the emergency route, as a real call would", async () => {
    const reg = await lab();
    const dead = await freePort();
    h = harness(account(reg, { servers: [{ host: "127.0.0.1", port: dead, transport: "tcp" }], emergencyRoutes: [{ host: "127.0.0.1", port: reg.tcpPort, transport: "tcp" }] }));
    const p = h;
    await p.phone.start();
    assert.notEqual(p.phone.registration.state, "registered");
    const far = await psap("psap-test-ok-plain.xml");
    const result = await p.phone.emergencyTest({ pidf: floor("3") });
    assert.deepEqual(result, { code: 200, text: "Test OK: floor 3 received" });
    await sippDone(far);
    assert.ok(p.logs.some((l) => /emergency test call: sending the INVITE/.test(String(l.msg)) && String(l.route) === `tcp:127.0.0.1:${reg.tcpPort}`));
  });

  it("nothing answers: resolves { code: 0 } after the routes are tried, never throws", async () => {
    const silent = net.createServer((sock) => sock.on("data", () => undefined));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    try {
      const dead = await freePort();
      const silentPort = (silent.address() as net.AddressInfo).port;
      h = harness({ user: "1001", password: "pw-1001", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: dead, transport: "tcp" }], emergencyRoutes: [{ host: "127.0.0.1", port: silentPort, transport: "tcp" }] }, undefined, { emergencyAnswerMs: 300 });
      const p = h;
      await p.phone.start();
      const t0 = Date.now();
      const result = await p.phone.emergencyTest({ pidf: floor("3") });
      assert.deepEqual(result, { code: 0, text: "" });
      assert.ok(Date.now() - t0 < 5000);
      assert.deepEqual(p.ended, []);
    } finally {
      silent.close();
    }
  });
});

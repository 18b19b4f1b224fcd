// A globally routable Contact (RFC 5627 GRUU; shared standards emergency-location.md, ED-63) against real peers:
// SipPhone in-process (a fake media port), Kamailio as registrar and proxy handing out GRUUs and routing urn:service:sos
// to a PSAP played by sipp, and a sipp caller for the PSAP's callback. With an instance id the REGISTER carries
// +sip.instance and the registrar's public GRUU becomes the emergency INVITE's Contact, which routes back to the phone
// during the call (the PSAP's BYE) and after it (the callback); without one nothing changes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createSystemClock } from "../../../src/base/clock.js";
import { createLogger } from "../../../src/base/log.js";
import { startRegistrar, freePort, type Registrar } from "../../../src/lab/registrar.js";
import { startSipp, type SippHandle, type SippRun } from "../../../src/lab/sipp.js";
import type { MediaPort, MediaSession } from "../../../src/sip/media-port.js";
import { header, received, untilListening } from "../../support/sip-messages.js";
import { until } from "../../support/poll.js";
import { DEFAULT_SIP_TUNING, SipPhone, type SipAccount, type SipEndReason, type SipPhoneEvents } from "../../../src/sip/sip-phone.js";

const scenarios = fileURLToPath(new URL("./scenarios/", import.meta.url));
const USERS = [
  { user: "1001", password: "pw-1001" },
  { user: "1002", password: "pw-1002" },
];
const INSTANCE = "6f1c3b8e-2d4a-4c5e-9f70-1a2b3c4d5e6f";

const OFFER = ["v=0", "o=- 4711 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "m=audio 40000 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=sendrecv", ""].join("\r\n");

/** A media port that offers G.711 and accepts anything. */
function fakeMedia(): MediaPort {
  return {
    open(): MediaSession {
      return { createOffer: async () => OFFER, setAnswer: async () => undefined, acceptOffer: async () => OFFER, remoteDirection: "sendrecv", sendDtmf: () => false, close: () => undefined };
    },
  };
}

interface Harness {
  phone: SipPhone;
  /** Every SIP message the phone sent and received. */
  wire: Array<{ dir: "in" | "out"; text: string }>;
  logs: Array<Record<string, unknown>>;
  incoming: Array<{ id: number; to: string; number: string }>;
  ended: Array<{ id: number; reason: SipEndReason }>;
  progress: Array<{ id: number; state: string }>;
  registered(): boolean;
  until(what: string, test: () => boolean, ms?: number): Promise<void>;
}

function harness(account: SipAccount): Harness {
  const clock = createSystemClock();
  const wire: Harness["wire"] = [];
  const logs: Harness["logs"] = [];
  const incoming: Harness["incoming"] = [];
  const ended: Harness["ended"] = [];
  const progress: Harness["progress"] = [];
  let reg = "";
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split("\n").filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  let next = 100;
  const events: SipPhoneEvents = {
    registration: (r) => (reg = r.state),
    nextCallId: () => next++,
    incoming: (id, info) => incoming.push({ id, to: info.to, number: info.number }),
    progress: (id, state) => progress.push({ id, state }),
    held: () => undefined,
    remoteHold: () => undefined,
    ended: (id, reason) => ended.push({ id, reason }),
    referred: () => undefined,
    mwi: () => undefined,
  };
  const tuning = { ...DEFAULT_SIP_TUNING, backoffMs: { first: 200, max: 1000 }, pingMs: 0, keepAliveMs: 0 };
  const phone = new SipPhone(account, fakeMedia(), events, clock, createLogger({ level: "debug", destination: sink }), tuning, undefined, { tap: (dir, text) => wire.push({ dir, text }) });
  return {
    phone,
    wire,
    logs,
    incoming,
    ended,
    progress,
    registered: () => reg === "registered",
    until: (what, test, ms = 15000) => until(what, test, ms),
  };
}

/** The first message on the wire in direction `dir` whose first line matches `start`. */
const first = (h: Harness, dir: "in" | "out", start: RegExp): string | undefined => h.wire.find((m) => m.dir === dir && start.test(m.text))?.text;

/** The pub-gruu parameter of a Contact header (unquoted). */
const pubGruu = (contact: string | undefined): string | undefined => /;\s*pub-gruu="?([^";,]+(?:;[^";,]+)*)"?/i.exec(contact ?? "")?.[1];

describe("GRUU (RFC 5627): a globally routable Contact for emergency calls (ED-63), Kamailio and sipp", function () {
  this.timeout(60000);
  let k: Registrar | undefined;
  let h: Harness | undefined;
  const sipps: SippHandle[] = [];
  let psapPort = 0;

  async function lab(delegations?: Record<string, string[]>): Promise<Registrar> {
    psapPort = await freePort();
    k = await startRegistrar({ users: USERS, lifetimeS: 600, emergencyRoute: { host: "127.0.0.1", port: psapPort, transport: "tcp" }, ...(delegations ? { delegations } : {}) });
    return k;
  }

  function account(reg: Registrar, extra: Partial<SipAccount> = {}): SipAccount {
    return { user: "1001", password: "pw-1001", displayName: "Alice", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: reg.tcpPort, transport: "tcp" }], caCerts: [readFileSync(reg.caFile, "utf8")], ...extra };
  }

  async function registeredPhone(reg: Registrar, extra: Partial<SipAccount> = {}): Promise<Harness> {
    h = harness(account(reg, extra));
    await h.phone.start();
    const p = h;
    await p.until("registered", () => p.registered());
    return p;
  }

  async function psap(scenario: string): Promise<SippHandle> {
    const s = await startSipp({ scenario: path.join(scenarios, scenario), port: psapPort, transport: "t1", keys: { user: "psap" }, timeoutS: 30 });
    sipps.push(s);
    await untilListening(psapPort, "sipp (the PSAP)");
    return s;
  }

  async function passed(s: SippHandle, who: string): Promise<SippRun> {
    const r = await s.done;
    assert.equal(r.code, 0, `${who} (sipp) found the call wrong: ${r.errors}\n${r.messages.slice(-6000)}`);
    return r;
  }

  let other: Harness | undefined;

  afterEach(async () => {
    for (const s of sipps.splice(0)) s.stop();
    await other?.phone.stop();
    other = undefined;
    await h?.phone.stop();
    h = undefined;
    await k?.stop();
    k = undefined;
  });

  it("REGISTER carries +sip.instance and Supported: gruu; the registrar's 200 gives a pub-gruu, the same after a restart", async () => {
    const reg = await lab();
    const p = await registeredPhone(reg, { instanceId: INSTANCE });
    const register = first(p, "out", /^REGISTER /);
    assert.ok(register, "a REGISTER went out");
    assert.match(header(register, "Contact") ?? "", new RegExp(`;\\+sip\\.instance="<urn:uuid:${INSTANCE}>"`));
    assert.doesNotMatch(header(register, "Contact") ?? "", /reg-id/, "no reg-id: the phone does not ask for RFC 5626 outbound");
    assert.match(header(register, "Supported") ?? "", /(^|[,\s])gruu([,\s]|$)/);
    const ok = first(p, "in", /^SIP\/2\.0 200 [\s\S]*^CSeq:\s*\d+ REGISTER/m);
    assert.ok(ok, "the REGISTER was answered 200");
    const gruu = pubGruu(header(ok, "Contact"));
    assert.ok(gruu, `the 200's Contact has a pub-gruu: ${header(ok, "Contact")}`);
    assert.match(gruu, new RegExp(`^sip:1001@127\\.0\\.0\\.1;gr=urn:uuid:${INSTANCE}$`));
    assert.ok(
      p.logs.some((l) => l.gruu === gruu),
      "the GRUU is logged",
    );
    // the same instance id after a restart: the same GRUU (the one a PSAP may still hold)
    await p.phone.stop();
    const again = await registeredPhone(reg, { instanceId: INSTANCE });
    assert.equal(pubGruu(header(first(again, "in", /^SIP\/2\.0 200 [\s\S]*^CSeq:\s*\d+ REGISTER/m) ?? "", "Contact")), gruu);
  });

  it("the emergency INVITE's Contact is the pub-gruu, and the PSAP's BYE to it reaches the phone", async () => {
    const reg = await lab();
    const p = await registeredPhone(reg, { instanceId: INSTANCE });
    const far = await psap("psap-gruu.xml");
    p.phone.placeEmergency(1, "911", { pidf: null });
    await p.until("connected", () => p.progress.some((x) => x.id === 1 && x.state === "connected"));
    // the PSAP hangs up: its BYE goes to the GRUU through the proxy
    await p.until("ended by the PSAP", () => p.ended.some((e) => e.id === 1));
    assert.equal(p.ended.find((e) => e.id === 1)?.reason, "remote-hangup");
    const r = await passed(far, "the PSAP");
    const [invite] = received(r, "INVITE");
    assert.ok(invite, "the PSAP got the INVITE");
    const contact = header(invite, "Contact") ?? "";
    assert.match(contact, new RegExp(`^<sip:1001@127\\.0\\.0\\.1;gr=urn:uuid:${INSTANCE}>$`), "the Contact is the public GRUU, as given");
    assert.doesNotMatch(contact, /\+sip\.instance/, "the instance id itself stays between the phone and its registrar");
    assert.match(header(invite, "Supported") ?? "", /(^|[,\s])gruu([,\s]|$)/);
  });

  it("the GRUU routes back after the call: a PSAP callback to it reaches the phone (incoming), answered and ended", async () => {
    const reg = await lab();
    const p = await registeredPhone(reg, { instanceId: INSTANCE });
    const far = await psap("psap-gruu.xml");
    p.phone.placeEmergency(1, "911", { pidf: null });
    await p.until("ended by the PSAP", () => p.ended.some((e) => e.id === 1));
    const [invite] = received(await passed(far, "the PSAP"), "INVITE");
    const gruu = /^<([^>]+)>/.exec(header(invite ?? "", "Contact") ?? "")?.[1];
    assert.ok(gruu && /;gr=/.test(gruu), `the emergency call's Contact is a GRUU: ${gruu}`);
    // the callback, from outside, to the Contact the PSAP holds
    const caller = await startSipp({ scenario: path.join(scenarios, "uac-gruu-callback.xml"), remote: `127.0.0.1:${reg.udpPort}`, port: await freePort(), keys: { gruu }, timeoutS: 20 });
    sipps.push(caller);
    await p.until("the callback rings", () => p.incoming.length === 1);
    const call = p.incoming[0];
    assert.equal(call.to, "1001");
    assert.equal(call.number, "psap");
    const callback = first(p, "in", /^INVITE /) ?? "";
    assert.match(callback.split("\r\n")[0], /^INVITE sip:1001@127\.0\.0\.1:\d+;transport=tcp SIP\/2\.0$/, "the proxy turned the GRUU into this device's registered contact");
    p.phone.answer(call.id);
    await p.until("the callback ended by the PSAP", () => p.ended.some((e) => e.id === call.id));
    assert.equal(p.ended.find((e) => e.id === call.id)?.reason, "remote-hangup");
    await passed(caller, "the calling-back PSAP");
  });

  it("a GRUU names one device: a callback to a boss's GRUU is not forked to the boss's delegate", async () => {
    const reg = await lab({ "1001": ["1002"] });
    const p = await registeredPhone(reg, { instanceId: INSTANCE });
    const d = harness(account(reg, { user: "1002", password: "pw-1002", displayName: "Dave" }));
    other = d;
    await d.phone.start();
    await d.until("the delegate registered", () => d.registered());
    const ok = first(p, "in", /^SIP\/2\.0 200 [\s\S]*^CSeq:\s*\d+ REGISTER/m) ?? "";
    const gruu = pubGruu(header(ok, "Contact"));
    assert.ok(gruu);
    const caller = await startSipp({ scenario: path.join(scenarios, "uac-gruu-callback.xml"), remote: `127.0.0.1:${reg.udpPort}`, port: await freePort(), keys: { gruu }, timeoutS: 20 });
    sipps.push(caller);
    await p.until("the callback rings the boss", () => p.incoming.length === 1);
    p.phone.answer(p.incoming[0].id);
    await passed(caller, "the calling-back PSAP");
    assert.deepEqual(d.incoming, [], "the delegate's phone never rang");
  });

  it("without an instance id the phone registers as before: no +sip.instance, no GRUU, the plain Contact on emergency calls", async () => {
    const reg = await lab();
    const p = await registeredPhone(reg);
    const register = first(p, "out", /^REGISTER /) ?? "";
    assert.doesNotMatch(header(register, "Contact") ?? "", /sip\.instance|reg-id/);
    assert.match(header(register, "Contact") ?? "", /^<sip:1001@127\.0\.0\.1:\d+;transport=tcp>;expires=600$/);
    const ok = first(p, "in", /^SIP\/2\.0 200 [\s\S]*^CSeq:\s*\d+ REGISTER/m) ?? "";
    assert.equal(pubGruu(header(ok, "Contact")), undefined, "no GRUU without an instance id");
    assert.ok(!p.logs.some((l) => "gruu" in l), "nothing is said about GRUUs");
    const far = await psap("psap-gruu.xml");
    p.phone.placeEmergency(1, "911", { pidf: null });
    await p.until("ended by the PSAP", () => p.ended.some((e) => e.id === 1));
    const [invite] = received(await passed(far, "the PSAP"), "INVITE");
    assert.match(header(invite ?? "", "Contact") ?? "", /^<sip:1001@127\.0\.0\.1:\d+;transport=tcp;ob>$/, "today's Contact: the registered one, with ;ob");
  });
});

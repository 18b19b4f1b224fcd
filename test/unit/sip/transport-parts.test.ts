// The pieces of the SIP transport that need no network: stream framing, UDP retransmission timers, wire fixes.
import assert from "node:assert/strict";
import { ManualClock } from "../../../src/base/clock.js";
import { StreamFramer, StreamFramingError } from "../../../src/sip/transport/stream-framer.js";
import { UdpRetransmitter } from "../../../src/sip/transport/udp-retransmitter.js";
import { fixRegisterExpires } from "../../../src/sip/message-fixes.js";
import { orderSrv, resolveServer } from "../../../src/sip/dns-targets.js";

const req = (method: string, branch: string, body = ""): string =>
  `${method} sip:1002@pbx SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=${branch};rport\r\nCSeq: 1 ${method}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const resp = (code: number, method: string, branch: string): string => `SIP/2.0 ${code} X\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=${branch}\r\nCSeq: 1 ${method}\r\nContent-Length: 0\r\n\r\n`;

describe("SIP stream framer", () => {
  it("splits coalesced messages, joins split ones (by bytes, UTF-8 bodies), and tells pings from pongs", () => {
    const got: string[] = [];
    let pings = 0;
    let pongs = 0;
    const f = new StreamFramer({ message: (m) => got.push(m), ping: () => pings++, pong: () => pongs++ });
    const a = req("MESSAGE", "z9hG4bKa", "Grüße");
    const b = req("OPTIONS", "z9hG4bKb");
    const all = Buffer.from("\r\n\r\n" + a + b + "\r\n");
    f.push(all.subarray(0, 7));
    f.push(all.subarray(7, 50));
    f.push(all.subarray(50));
    assert.deepEqual(got, [a, b]);
    assert.equal(pings, 1);
    assert.equal(pongs, 1);
  });

  it("refuses a message without Content-Length (RFC 3261 §18.3)", () => {
    const f = new StreamFramer({ message: () => undefined, ping: () => undefined, pong: () => undefined });
    assert.throws(() => f.push(Buffer.from("OPTIONS sip:x SIP/2.0\r\nVia: x\r\n\r\n")), StreamFramingError);
  });
});

describe("UDP retransmission timers", () => {
  it("Timer A: an INVITE goes again at 500, 1500, 3500 ms until a response", () => {
    const clock = new ManualClock();
    const sent: number[] = [];
    const r = new UdpRetransmitter(clock, { T1: 500, T2: 4000 }, () => sent.push(clock.now()));
    r.sent(req("INVITE", "z9hG4bK1"));
    clock.advance(4000);
    assert.deepEqual(sent, [500, 1500, 3500]);
    r.received(resp(100, "INVITE", "z9hG4bK1"));
    clock.advance(20000);
    assert.equal(sent.length, 3);
  });

  it("Timer E: a REGISTER goes again doubling up to T2, every T2 after a provisional, and stops at 64*T1", () => {
    const clock = new ManualClock();
    const sent: number[] = [];
    const r = new UdpRetransmitter(clock, { T1: 500, T2: 4000 }, () => sent.push(clock.now()));
    r.sent(req("REGISTER", "z9hG4bK2"));
    clock.advance(16000);
    assert.deepEqual(sent, [500, 1500, 3500, 7500, 11500, 15500]);
    clock.advance(40000);
    assert.ok(sent.every((t) => t < 32000), "nothing after Timer F's 32 s");
    assert.equal(r.active, 0);
  });

  it("Timer G: a 486 to an INVITE goes again until the ACK", () => {
    const clock = new ManualClock();
    const sent: number[] = [];
    const r = new UdpRetransmitter(clock, { T1: 500, T2: 4000 }, () => sent.push(clock.now()));
    r.sent(resp(486, "INVITE", "z9hG4bK3"));
    clock.advance(1600);
    assert.deepEqual(sent, [500, 1500]);
    r.received(req("ACK", "z9hG4bK3"));
    clock.advance(10000);
    assert.equal(sent.length, 2);
  });
});

describe("wire fixes and server location", () => {
  it("copies a REGISTER 200's Expires header onto a Contact without ;expires (the sip.js NaN loop)", () => {
    const m = "SIP/2.0 200 OK\r\nCSeq: 2 REGISTER\r\nContact: <sip:1001@10.0.0.5:5062>\r\nExpires: 300\r\nContent-Length: 0\r\n\r\n";
    assert.match(fixRegisterExpires(m), /Contact: <sip:1001@10\.0\.0\.5:5062>;expires=300\r\n/);
    const inv = m.replace("REGISTER", "INVITE");
    assert.equal(fixRegisterExpires(inv), inv);
  });

  it("orders SRV records by priority then weight, and resolves them to addresses (RFC 3263)", async () => {
    assert.deepEqual(orderSrv([{ priority: 20, weight: 5 }, { priority: 10, weight: 1 }, { priority: 10, weight: 9 }]), [{ priority: 10, weight: 9 }, { priority: 10, weight: 1 }, { priority: 20, weight: 5 }]);
    const resolver = {
      resolveSrv: async (name: string) => (name === "_sips._tcp.pbx.example" ? [{ name: "b.pbx.example", port: 5071, priority: 20, weight: 0 }, { name: "a.pbx.example", port: 5061, priority: 10, weight: 0 }] : []),
      lookup: async (host: string) => (host === "a.pbx.example" ? ["10.0.0.1"] : host === "b.pbx.example" ? ["10.0.0.2"] : []),
    };
    const t = await resolveServer({ host: "pbx.example", transport: "tls" }, resolver);
    assert.deepEqual(t, [
      { protocol: "TLS", host: "10.0.0.1", port: 5061, serverName: "pbx.example" },
      { protocol: "TLS", host: "10.0.0.2", port: 5071, serverName: "pbx.example" },
    ]);
    await assert.rejects(resolveServer({ host: "nowhere.example", transport: "udp" }, { resolveSrv: async () => [], lookup: async () => Promise.reject(Object.assign(new Error("x"), { code: "ENOTFOUND" })) }), /cannot find the server 'nowhere.example' \(DNS: ENOTFOUND\)/);
  });
});

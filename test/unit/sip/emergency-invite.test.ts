// The wire side of emergency calls without a network: the multipart/PIDF-LO dressing of a marked INVITE, the
// service-URN placeholder both ways, the digest answered again for what is on the wire, the SDP part of an incoming
// multipart body, the location a 424 offers, and the order of the routes an emergency call tries.
import assert from "node:assert/strict";
import { Core, type UserAgent } from "sip.js";
import { silentLogger } from "../../../src/base/log.js";
import { emergencyRoutes, tcpFallbackTargets, type RouteHost } from "../../../src/sip/emergency-call.js";
import { EMERGENCY_MARKER, EmergencyDressing, buildMultipart, geolocationErrorCode, isSosUrn, locationFrom424, parseMultipart, rewriteEmergencyIncoming, rewriteEmergencyOutgoing, serviceUrnToSip } from "../../../src/sip/emergency-invite.js";
import type { TransportTarget } from "../../../src/sip/transport/node-transport.js";

const SDP = ["v=0", "o=- 1 1 IN IP4 192.0.2.5", "s=-", "c=IN IP4 192.0.2.5", "t=0 0", "m=audio 49170 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=sendrecv", ""].join("\r\n");
const PIDF = `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:alice@example.com"><tuple id="t1"><status/><note>Straße 3, Büro</note></tuple></presence>\n`;

/** An INVITE as sip.js 0.21 writes it for the placeholder target, carrying the marker. */
function sipjsInvite(marker: string, extra: string[] = []): string {
  const head = [
    "INVITE sip:sos@service-urn.invalid SIP/2.0",
    "Via: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1;rport",
    "To: <sip:sos@service-urn.invalid>",
    'From: "Alice" <sip:1001@example.com>;tag=abc',
    "CSeq: 1 INVITE",
    "Call-ID: c1",
    "Max-Forwards: 70",
    "Priority: emergency",
    "Geolocation: <cid:loc-1@example.com>",
    "Geolocation-Routing: yes",
    marker,
    ...extra,
    "Contact: <sip:1001@127.0.0.1:5062;transport=tcp;ob>",
    "Supported: outbound",
    "User-Agent: deskphone",
    "Content-Type: application/sdp",
    `Content-Length: ${Buffer.byteLength(SDP)}`,
  ];
  return `${head.join("\r\n")}\r\n\r\n${SDP}`;
}

const parts = (m: string): { head: string; body: string } => ({ head: m.slice(0, m.indexOf("\r\n\r\n")), body: m.slice(m.indexOf("\r\n\r\n") + 4) });
const hdr = (m: string, name: string): string | undefined => new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, "im").exec(parts(m).head)?.[1];

describe("emergency INVITE on the wire (RFC 6442 multipart, service URN)", () => {
  it("dresses a marked INVITE: urn:service:sos in the request line and To, multipart/mixed with SDP first and one PIDF part whose Content-ID is the cid; the marker is gone", () => {
    const d = new EmergencyDressing();
    const { header } = d.add({ pidf: PIDF, contentId: "loc-1@example.com" });
    const out = d.outgoing(sipjsInvite(header));
    assert.match(out, /^INVITE urn:service:sos SIP\/2\.0\r\n/);
    assert.equal(hdr(out, "To"), "<urn:service:sos>");
    assert.equal(hdr(out, EMERGENCY_MARKER), undefined);
    const type = hdr(out, "Content-Type") ?? "";
    assert.match(type, /^multipart\/mixed;boundary=\S+$/);
    const { body } = parts(out);
    assert.equal(Number(hdr(out, "Content-Length")), Buffer.byteLength(body, "utf8"), "Content-Length counts bytes (UTF-8 in the PIDF)");
    const ps = parseMultipart(type, body);
    assert.equal(ps.length, 2);
    assert.equal(ps[0].headers["content-type"], "application/sdp");
    assert.equal(ps[0].content, SDP, "the SDP part is the SDH's SDP, byte for byte");
    assert.equal(ps[1].headers["content-type"], "application/pidf+xml");
    assert.equal(ps[1].headers["content-id"], "<loc-1@example.com>");
    assert.equal(ps[1].content, PIDF.replace(/\n$/, ""));
    assert.ok(body.endsWith(`--${type.split("=")[1]}--\r\n`), "the PIDF part is the last");
  });

  it("adds Lync's Supported: geolocation to the existing Supported header; no location = no multipart", () => {
    const d = new EmergencyDressing();
    const { header } = d.add({ supported: ["geolocation"] });
    const out = d.outgoing(sipjsInvite(header));
    assert.equal(hdr(out, "Supported"), "outbound, geolocation");
    assert.equal(hdr(out, "Content-Type"), "application/sdp");
    assert.equal(parts(out).body, SDP);
  });

  it("leaves other messages alone but for the placeholder in To/From (a BYE in the emergency dialog)", () => {
    const bye = "BYE sip:psap@192.0.2.9:5060;transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK2\r\nTo: <sip:sos.fire@service-urn.invalid>;tag=p1\r\nFrom: <sip:1001@example.com>;tag=abc\r\nCSeq: 2 BYE\r\nCall-ID: c1\r\nContent-Length: 0\r\n\r\n";
    const out = rewriteEmergencyOutgoing(bye, () => undefined);
    assert.equal(out, bye.replace("sip:sos.fire@service-urn.invalid", "urn:service:sos.fire"));
    const plain = bye.replace("sip:sos.fire@service-urn.invalid", "sip:1002@example.com");
    assert.equal(rewriteEmergencyOutgoing(plain, () => undefined), plain);
  });

  it("answers the digest again for the urn Request-URI (qop=auth and auth-int), matching sip.js's own digest over that URI", () => {
    const creds = { username: "1001", password: "pw-1001" };
    for (const qop of ["auth", "auth-int"]) {
      const digest = new Core.DigestAuthentication(new Core.LoggerFactory(), undefined, creds.username, creds.password);
      const challenge = { realm: "example.com", nonce: "n0nce", qop, algorithm: "MD5" };
      // what sip.js wrote: computed for the placeholder
      digest.authenticate({ method: "INVITE", ruri: "sip:sos@service-urn.invalid" } as unknown as Core.OutgoingRequestMessage, challenge, SDP);
      const d = new EmergencyDressing(creds);
      const { header } = d.add({ pidf: PIDF, contentId: "loc-1@example.com" });
      // (sip.js itself picks qop=auth whenever offered; auth-int is a server that offers nothing else)
      const out = d.outgoing(sipjsInvite(header, [`Proxy-Authorization: ${digest.toString().replace("qop=auth", `qop=${qop}`)}`]));
      const cnonce = /cnonce="([^"]+)"/.exec(digest.toString())?.[1] ?? "";
      const got = hdr(out, "Proxy-Authorization") ?? "";
      assert.match(got, /uri="urn:service:sos"/, qop);
      assert.notEqual(/response="([^"]+)"/.exec(got)?.[1], /response="([^"]+)"/.exec(digest.toString())?.[1]);
      // with the cnonce and nc sip.js chose, sip.js's own computation over the URN and the body on the wire agrees
      const again = new Core.DigestAuthentication(new Core.LoggerFactory(), undefined, creds.username, creds.password);
      (again as unknown as { cnonce: string }).cnonce = cnonce;
      Object.assign(again, { method: "INVITE", uri: "urn:service:sos", realm: "example.com", nonce: "n0nce", qop, nc: 1, ncHex: "00000001", algorithm: "MD5" });
      (again as unknown as { calculateResponse(b: string): void }).calculateResponse(parts(out).body);
      assert.equal((again as unknown as { response: string }).response, /response="([^"]+)"/.exec(got)?.[1], `${qop}: sip.js agrees`);
    }
  });

  it("incoming: a multipart answer reaches sip.js as its SDP part; a URN in To/From becomes the placeholder sip.js parses", () => {
    const body = buildMultipart(
      [
        { headers: ["Content-Type: application/sdp"], content: SDP },
        { headers: ["Content-Type: application/pidf+xml", "Content-ID: <x@y>"], content: PIDF },
      ],
      "b1",
    );
    const ok = `SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\r\nTo: urn:service:SOS;tag=p1\r\nFrom: "Alice" <sip:1001@example.com>;tag=abc\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContact: <sip:psap@192.0.2.9>\r\nContent-Type: multipart/mixed; boundary="b1"\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const out = rewriteEmergencyIncoming(ok);
    assert.equal(hdr(out, "To"), "<sip:sos@service-urn.invalid>;tag=p1");
    assert.equal(hdr(out, "Content-Type"), "application/sdp");
    assert.equal(parts(out).body, SDP);
    assert.equal(Number(hdr(out, "Content-Length")), Buffer.byteLength(SDP));
    const m = Core.Parser.parseMessage(out, new Core.LoggerFactory().getLogger("t"));
    assert.ok(m?.to, "sip.js parses the To header");
    assert.equal(m?.toTag, "p1");
    // a message with nothing to change is the same string
    const plain = out.replace("<sip:sos@service-urn.invalid>", "<sip:1002@example.com>");
    assert.equal(rewriteEmergencyIncoming(plain), plain);
  });

  it("parses multipart bodies with a preamble and a quoted boundary; round-trips buildMultipart", () => {
    const body = `preamble\r\n${buildMultipart([{ headers: ["Content-Type: text/plain"], content: "a\r\n" }, { headers: [], content: "b" }], "x y")}`;
    const ps = parseMultipart('multipart/mixed; boundary="x y"', body);
    assert.deepEqual(ps, [
      { headers: { "content-type": "text/plain" }, content: "a\r\n" },
      { headers: {}, content: "b" },
    ]);
    assert.deepEqual(parseMultipart("application/sdp", SDP), []);
  });

  it("service URNs: sos and its sub-services (any case) are emergency; the placeholder is lower case", () => {
    for (const u of ["urn:service:sos", "URN:SERVICE:SOS", "urn:service:sos.fire", "urn:service:test.sos", "urn:service:test.sos.police"]) assert.ok(isSosUrn(u), u);
    for (const u of ["urn:service:counseling", "urn:service:sosx", "sip:911@example.com"]) assert.ok(!isSosUrn(u), u);
    assert.equal(serviceUrnToSip("urn:service:SOS.Fire"), "sip:sos.fire@service-urn.invalid");
    assert.throws(() => serviceUrnToSip("sip:911@x"));
  });

  it("a 424's location: its PIDF-LO body, the part its cid names, a reference, or none", () => {
    assert.deepEqual(locationFrom424({ contentType: "application/pidf+xml" }, PIDF), { pidf: PIDF });
    const body = buildMultipart(
      [
        { headers: ["Content-Type: application/pidf+xml", "Content-ID: <a@x>"], content: "<A/>" },
        { headers: ["Content-Type: application/pidf+xml", "Content-ID: <b@x>"], content: "<B/>" },
      ],
      "q",
    );
    assert.deepEqual(locationFrom424({ geolocation: "<cid:a@x>", contentType: "multipart/mixed;boundary=q" }, body), { pidf: "<A/>" });
    assert.deepEqual(locationFrom424({ contentType: "multipart/mixed;boundary=q" }, body), { pidf: "<B/>" }, "the last one, as Lync reads it");
    assert.deepEqual(locationFrom424({ geolocation: "<https://lis.example.com/loc/1>" }, ""), { uri: "https://lis.example.com/loc/1" });
    assert.equal(locationFrom424({}, ""), null);
    assert.equal(geolocationErrorCode('100 ;code="Cannot Process Location"'), 100);
    assert.equal(geolocationErrorCode(undefined), undefined);
  });
});

describe("emergency routes", () => {
  const ua = (name: string): UserAgent => ({ name }) as unknown as UserAgent;
  const describeT = (t: TransportTarget): string => `${t.protocol}:${t.host}:${t.port}`;

  function host(o: { registered?: boolean; mainUp?: boolean; failing?: string[]; emergency?: RouteHost["emergencyRoutes"]; servers?: RouteHost["servers"] }): RouteHost & { opened: string[] } {
    const opened: string[] = [];
    return {
      opened,
      log: silentLogger(),
      main: () => (o.mainUp === false ? undefined : { ua: ua("main"), registered: o.registered ?? true, target: { protocol: "TCP", host: "10.0.0.1", port: 5060 } }),
      open: async (t) => {
        opened.push(describeT(t));
        if (o.failing?.includes(describeT(t))) throw new Error("refused");
        return ua(describeT(t));
      },
      resolve: async (s) => [{ protocol: s.transport === "tls" ? "TLS" : s.transport === "tcp" ? "TCP" : "UDP", host: s.host, port: s.port ?? (s.transport === "tls" ? 5061 : 5060) }],
      emergencyRoutes: o.emergency ?? [],
      servers: o.servers ?? [{ host: "10.0.0.1", port: 5060, transport: "tcp" }],
    };
  }

  async function labels(h: RouteHost): Promise<string[]> {
    const out: string[] = [];
    for await (const r of emergencyRoutes(h)) out.push(r.owned ? r.label : "main");
    return out;
  }

  it("registered: the main connection first, then the emergency routes, then the other account servers", async () => {
    const h = host({ emergency: [{ host: "10.0.0.9", port: 5060, transport: "tcp" }], servers: [{ host: "10.0.0.1", port: 5060, transport: "tcp" }, { host: "10.0.0.2", port: 5060, transport: "tcp" }] });
    assert.deepEqual(await labels(h), ["main", "tcp:10.0.0.9:5060", "tcp:10.0.0.2:5060"]);
  });

  it("not registered: the emergency routes first, then the main connection, then the account's servers", async () => {
    const h = host({ registered: false, emergency: [{ host: "10.0.0.9", port: 5060, transport: "tcp" }] });
    assert.deepEqual(await labels(h), ["tcp:10.0.0.9:5060", "main"]);
    const down = host({ mainUp: false, emergency: [{ host: "10.0.0.9", port: 5060, transport: "tcp" }] });
    assert.deepEqual(await labels(down), ["tcp:10.0.0.9:5060", "tcp:10.0.0.1:5060"]);
  });

  it("TLS that does not connect is tried at once over TCP: fallbackTcpPort, else 5060; the route is never lost", async () => {
    const h = host({ mainUp: false, failing: ["TLS:10.0.0.9:5061", "TLS:10.0.0.8:5071"], emergency: [{ host: "10.0.0.9", transport: "tls", port: 5061, fallbackTcpPort: 5080 }, { host: "10.0.0.8", transport: "tls", port: 5071 }], servers: [] });
    assert.deepEqual(await labels(h), ["tcp:10.0.0.9:5080", "tcp:10.0.0.8:5060"]);
    assert.deepEqual(h.opened, ["TLS:10.0.0.9:5061", "TCP:10.0.0.9:5080", "TLS:10.0.0.8:5071", "TCP:10.0.0.8:5060"]);
  });

  it("a TLS server named without a port falls back to its TCP service (SRV), keeping the name", async () => {
    const failed: TransportTarget = { protocol: "TLS", host: "192.0.2.7", port: 5061, serverName: "sbc.example.com" };
    const viaSrv = await tcpFallbackTargets({ host: "sbc.example.com", transport: "tls" }, failed, async (s) => [{ protocol: "TCP", host: "192.0.2.7", port: s.transport === "tcp" ? 5090 : 0, serverName: s.host }]);
    assert.deepEqual(viaSrv, [{ protocol: "TCP", host: "192.0.2.7", port: 5090, serverName: "sbc.example.com" }]);
    const nothing = await tcpFallbackTargets({ host: "sbc.example.com", transport: "tls" }, failed, async () => {
      throw new Error("NXDOMAIN");
    });
    assert.deepEqual(nothing, [{ protocol: "TCP", host: "192.0.2.7", port: 5060, serverName: "sbc.example.com" }]);
  });
});

// LIS discovery (RFC 5986) end to end on loopback: NAPTR records served by the test DNS server (test/support/dns-server.ts)
// and read through node:dns with its servers set, each LIS URI verified by a real HeldClient against reference LISes
// (HTTPS with a certificate made here by openssl; one plain-HTTP LIS for the lab case). Then the DHCP side: option 213
// decoded (RFC 5986 §3.1's example bytes, one root label, 255 octets) and accessDomains on leases of every format.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promises as dns } from "node:dns";
import { promises as fs } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { createSystemClock } from "../../../src/base/clock.js";
import { silentLogger } from "../../../src/base/log.js";
import { HeldClient } from "../../../src/location/held-client.js";
import { decodeAccessDomainOption, discoverLis, uNaptrUri, type LisDiscoveryOptions, type NaptrRecord } from "../../../src/location/lis-discovery.js";
import type { HeldOutcome } from "../../../src/location/location-types.js";
import { startLisServer, type LisServer } from "../../../src/location/lis/lis-server.js";
import { DHCP_OPTION, accessDomains, parseLease } from "../../../src/provisioning/dhcp-leases.js";
import { startDnsServer, type NaptrAnswer } from "../../support/dns-server.js";

const run = promisify(execFile);

/** RFC 5986 §3.1: "example.com." in 13 octets. */
const EXAMPLE_COM = Buffer.from("076578616d706c6503636f6d00", "hex");

const CIVIC = { lang: "en-US", country: "US", A1: "TX", A3: "Austin", PRD: "N", RD: "Lamar", STS: "BLVD", HNO: "1100", PC: "78703", BLD: "Tower 2", LOC: "Loopback lab" };

const u = (order: number, preference: number, uri: string): NaptrAnswer => ({ order, preference, flags: "u", services: "LIS:HELD", regexp: `!.*!${uri}!`, replacement: "" });
const nonTerminal = (order: number, preference: number, next: string): NaptrAnswer => ({ order, preference, flags: "", services: "LIS:HELD", regexp: "", replacement: next });

describe("LIS discovery (RFC 5986: U-NAPTR over real DNS, verified by HELD)", function () {
  this.timeout(60000);
  let dir: string;
  let tls: { certPem: string; keyPem: string };
  let dnsServer: Awaited<ReturnType<typeof startDnsServer>>;
  let resolver: dns.Resolver;
  const lises: LisServer[] = [];
  let ok: LisServer; // locates 127.0.0.1
  let nl: LisServer; // notLocatable for 127.0.0.1
  let unknown: LisServer; // no entry for 127.0.0.1: locationUnknown
  let plain: LisServer; // plain HTTP, locates
  let deadPort: number;

  async function lis(name: string, map: unknown, withTls = true): Promise<LisServer> {
    const file = path.join(dir, `${name}.json`);
    await fs.writeFile(file, JSON.stringify(map));
    const s = await startLisServer({ wiremapFile: file, port: 0, host: "127.0.0.1", tls: withTls ? tls : null, log: silentLogger() });
    lises.push(s);
    return s;
  }

  /** A HeldClient that trusts the test certificate, and the verify function discovery gets, recording each URI asked. */
  function verifier(held = new HeldClient({ clock: createSystemClock(), log: silentLogger(), backoffMs: { first: 5, max: 10 } })): { verify: (url: string) => Promise<HeldOutcome>; asked: string[] } {
    const asked: string[] = [];
    return { asked, verify: (url) => (asked.push(url), held.locate({ url, caPem: tls.certPem, timeoutMs: 5000 }, {}, { emergency: false })) };
  }

  const discover = (o: Omit<LisDiscoveryOptions, "resolver"> & { resolver?: LisDiscoveryOptions["resolver"] }): ReturnType<typeof discoverLis> => discoverLis({ resolver, ...o });

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "lis-discovery-"));
    const [cert, key] = [path.join(dir, "cert.pem"), path.join(dir, "key.pem")];
    await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]);
    tls = { certPem: await fs.readFile(cert, "utf8"), keyPem: await fs.readFile(key, "utf8") };
    ok = await lis("ok", { entries: [{ subnet: "127.0.0.0/8", civic: CIVIC }] });
    nl = await lis("nl", { entries: [{ subnet: "127.0.0.0/8", notLocatable: true }] });
    unknown = await lis("unknown", { entries: [{ subnet: "10.0.0.0/8", civic: CIVIC }] });
    plain = await lis("plain", { entries: [{ subnet: "127.0.0.0/8", civic: CIVIC }] }, false);
    deadPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const okAt = (q: string): string => `https://127.0.0.1:${ok.port}/?n=${q}`;
    dnsServer = await startDnsServer({
      naptr: {
        // RFC 5986 §4, Figure 4 (the LIS on loopback instead of lis.example.org:4802)
        "zonea.example.net": [nonTerminal(100, 10, "outsource.example.com.")],
        "zoneb.example.net": [nonTerminal(100, 10, "outsource.example.com.")],
        "outsource.example.com": [{ order: 100, preference: 10, flags: "u", services: "LIS:HELD", regexp: `!.*!https://127.0.0.1:${ok.port}/?c=ex!`, replacement: "." }],
        // order, then preference; other services and flags left alone
        "order.example": [
          u(200, 10, okAt("c")),
          { order: 1, preference: 1, flags: "u", services: "LIS:x-other", regexp: `!.*!${okAt("other-protocol")}!`, replacement: "" },
          { order: 1, preference: 1, flags: "u", services: "SIP:sips", regexp: `!.*!${okAt("sip")}!`, replacement: "" },
          u(100, 50, okAt("b")),
          { order: 50, preference: 1, flags: "s", services: "LIS:HELD", regexp: "", replacement: "_held._tcp.order.example." },
          u(100, 10, `https://127.0.0.1:${deadPort}/?n=a`),
        ],
        // a LIS that cannot locate the phone: nothing else from its domain is asked (RFC 5986 §4)
        "nl.example": [u(100, 10, `https://127.0.0.1:${nl.port}/`), u(100, 20, okAt("same-domain"))],
        "fallback.example": [u(100, 10, okAt("fallback"))],
        // any HELD answer but notLocatable verifies a LIS
        "unknown.example": [u(100, 10, `https://127.0.0.1:${unknown.port}/`), u(100, 20, okAt("after-unknown"))],
        // a -> b -> a, then a terminal rule of a's
        "a.loop.example": [nonTerminal(100, 10, "b.loop.example"), u(200, 10, okAt("after-loop"))],
        "b.loop.example": [nonTerminal(100, 10, "a.loop.example.")],
        "x.loop.example": [nonTerminal(100, 10, "y.loop.example")],
        "y.loop.example": [nonTerminal(100, 10, "x.loop.example")],
        "c1.chain.example": [nonTerminal(100, 10, "c2.chain.example")],
        "c2.chain.example": [nonTerminal(100, 10, "c3.chain.example")],
        "c3.chain.example": [nonTerminal(100, 10, "c4.chain.example")],
        "c4.chain.example": [u(100, 10, okAt("deep"))],
        // regexps U-NAPTR does not allow, then a good one
        "bad.example": [
          u(100, 9, okAt("good")),
          { ...u(100, 1, ""), regexp: `/.*/${okAt("slash")}/` },
          { ...u(100, 2, ""), regexp: "!^(.*)$!https://lis.\\1!" },
          { ...u(100, 3, ""), regexp: "!.*!not a uri!" },
          { ...u(100, 4, ""), regexp: `!.*!${okAt("flag")}!i` },
          { ...u(100, 5, okAt("replacement")), replacement: "lis.bad.example." },
          { ...u(100, 6, ""), regexp: "" },
          { ...nonTerminal(100, 7, "fallback.example."), regexp: `!.*!${okAt("nt-regexp")}!` },
          { ...u(100, 8, okAt("x")), flags: "p" },
        ],
        "http.example": [u(100, 10, `http://127.0.0.1:${plain.port}/`)],
        "ftp.example": [u(100, 10, "ftp://127.0.0.1/lis"), u(100, 20, `https://user:pw@127.0.0.1:${ok.port}/`)],
      },
      a: { "nodata.example": ["127.0.0.1"] },
    });
    resolver = new dns.Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([dnsServer.address]);
  });

  after(async () => {
    await dnsServer?.close();
    for (const s of lises) await s.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("RFC 5986 §4's example: zonea -> (non-terminal) outsource.example.com -> (\"u\") the LIS, which answers with a location", async () => {
    const v = verifier();
    const from = dnsServer.asked.length;
    const r = await discover({ domains: ["zonea.example.net"], verify: v.verify });
    assert.equal(r.url, `https://127.0.0.1:${ok.port}/?c=ex`, r.notes.join("\n"));
    assert.equal(r.domain, "zonea.example.net");
    assert.equal(r.outcome?.ok && r.outcome.location.civic?.LOC, "Loopback lab");
    assert.deepEqual(dnsServer.asked.slice(from), ["NAPTR zonea.example.net", "NAPTR outsource.example.com"]);
    assert.deepEqual(v.asked, [`https://127.0.0.1:${ok.port}/?c=ex`]);
    assert.equal(ok.requests.at(-1)?.path, "/?c=ex");
    assert.deepEqual(r.notes, [
      "LIS discovery: U-NAPTR lookup of LIS:HELD in zonea.example.net (domain 1 of 1)",
      "NAPTR zonea.example.net: 1 record for LIS:HELD",
      'NAPTR zonea.example.net rule 100/10 (flags ""): non-terminal, next lookup in outsource.example.com',
      "NAPTR outsource.example.com: 1 record for LIS:HELD",
      `NAPTR outsource.example.com rule 100/10 (flags "u"): gives the LIS https://127.0.0.1:${ok.port}`,
      `verify https://127.0.0.1:${ok.port}: the LIS answered with a location; this is the LIS (found from zonea.example.net)`,
    ]);
  });

  it("the same through zoneb, with the default resolver pointed at the server by `servers`; the literal example regexp", async () => {
    const r = await discoverLis({ domains: ["ZoneB.Example.NET."], servers: [dnsServer.address], verify: verifier().verify });
    assert.equal(r.url, `https://127.0.0.1:${ok.port}/?c=ex`, r.notes.join("\n"));
    assert.equal(r.domain, "zoneb.example.net");
    assert.deepEqual(uNaptrUri("!.*!https://lis.example.org:4802/?c=ex!"), { ok: true, value: "https://lis.example.org:4802/?c=ex" });
    assert.equal(uNaptrUri("!.*!https://lis.example.org/a!b!").ok, false);
    assert.equal(uNaptrUri("!.*!lis.example.org!").ok, false);
  });

  it("order, then preference: 100/10 (dead) is tried, then 100/50; 200/10 never; other services and an \"s\" rule are left alone", async () => {
    const v = verifier();
    const r = await discover({ domains: ["order.example"], verify: v.verify });
    assert.equal(r.url, `https://127.0.0.1:${ok.port}/?n=b`, r.notes.join("\n"));
    assert.deepEqual(v.asked, [`https://127.0.0.1:${deadPort}/?n=a`, `https://127.0.0.1:${ok.port}/?n=b`]);
    assert.ok(r.notes.includes("NAPTR order.example: 4 records for LIS:HELD (2 for other services ignored)"), r.notes.join("\n"));
    assert.ok(r.notes.some((n) => /rule 50\/1 \(flags "s"\): ignored: an "s" rule gives a host/.test(n)), r.notes.join("\n"));
    assert.ok(r.notes.some((n) => n.startsWith(`verify https://127.0.0.1:${deadPort}: no HELD answer (network: Could not reach the LIS`) && n.endsWith("trying the next choice")), r.notes.join("\n"));
  });

  it("a LIS answering notLocatable: no other choice from its domain is asked, the next domain's LIS is; next time it is blocked", async () => {
    const held = new HeldClient({ clock: createSystemClock(), log: silentLogger() });
    const v = verifier(held);
    const r = await discover({ domains: ["nl.example", "fallback.example"], verify: v.verify });
    assert.equal(r.url, `https://127.0.0.1:${ok.port}/?n=fallback`, r.notes.join("\n"));
    assert.equal(r.domain, "fallback.example");
    assert.deepEqual(v.asked, [`https://127.0.0.1:${nl.port}/`, `https://127.0.0.1:${ok.port}/?n=fallback`]);
    assert.equal(nl.requests.at(-1)?.held, "notLocatable");
    assert.ok(r.notes.includes("LIS discovery: nl.example gave a LIS that cannot locate this phone; its other choices are not tried (RFC 5986 §4)"), r.notes.join("\n"));
    assert.ok(r.notes.some((n) => n.startsWith(`verify https://127.0.0.1:${nl.port}: the LIS answered notLocatable`)));
    // the HeldClient keeps the LIS blocked until the link changes: the same outcome without asking it again
    const asked = nl.requests.length;
    const again = await discover({ domains: ["nl.example", "fallback.example"], verify: verifier(held).verify });
    assert.equal(again.url, `https://127.0.0.1:${ok.port}/?n=fallback`);
    assert.equal(nl.requests.length, asked);
    assert.ok(again.notes.some((n) => n.includes("this LIS said notLocatable earlier on this link")), again.notes.join("\n"));
  });

  it("any other HELD answer verifies the LIS: locationUnknown (after the HeldClient's retries) counts", async () => {
    const v = verifier();
    const r = await discover({ domains: ["unknown.example"], verify: v.verify });
    assert.equal(r.url, `https://127.0.0.1:${unknown.port}/`, r.notes.join("\n"));
    assert.equal(r.outcome?.ok, false);
    assert.equal(!r.outcome?.ok && r.outcome?.code, "locationUnknown");
    assert.deepEqual(v.asked, [`https://127.0.0.1:${unknown.port}/`]);
    assert.ok(r.notes.at(-1)?.includes("the LIS answered the HELD error locationUnknown"), r.notes.join("\n"));
  });

  it("a domain without NAPTR records (no such name; a name with only an A record), then the fallback domain", async () => {
    const from = dnsServer.asked.length;
    const r = await discover({ domains: ["empty.example", "nodata.example", "fallback.example"], verify: verifier().verify });
    assert.equal(r.url, `https://127.0.0.1:${ok.port}/?n=fallback`, r.notes.join("\n"));
    assert.deepEqual(dnsServer.asked.slice(from), ["NAPTR empty.example", "NAPTR nodata.example", "NAPTR fallback.example"]);
    assert.ok(r.notes.includes("NAPTR empty.example: no such name"), r.notes.join("\n"));
    assert.ok(r.notes.includes("NAPTR nodata.example: no NAPTR records"), r.notes.join("\n"));
    assert.ok(r.notes.includes("LIS discovery: empty.example gave no working LIS"));
  });

  it("a loop a -> b -> a is stopped with a note, and a's next rule still tried; a loop with no way out finds nothing", async () => {
    const from = dnsServer.asked.length;
    const r = await discover({ domains: ["a.loop.example"], verify: verifier().verify });
    assert.equal(r.url, `https://127.0.0.1:${ok.port}/?n=after-loop`, r.notes.join("\n"));
    assert.ok(r.notes.includes("NAPTR a.loop.example: a loop (a.loop.example -> b.loop.example -> a.loop.example); not looked up again"), r.notes.join("\n"));
    assert.deepEqual(dnsServer.asked.slice(from), ["NAPTR a.loop.example", "NAPTR b.loop.example"]);
    const none = await discover({ domains: ["x.loop.example"], verify: verifier().verify });
    assert.equal(none.url, null);
    assert.ok(none.notes.some((n) => n.includes("a loop (x.loop.example -> y.loop.example -> x.loop.example)")));
    assert.equal(none.notes.at(-1), "LIS discovery: no LIS found in x.loop.example");
  });

  it("maxSteps bounds the lookups one domain may cost; the default follows a chain of four", async () => {
    const short = await discover({ domains: ["c1.chain.example"], verify: verifier().verify, maxSteps: 3 });
    assert.equal(short.url, null);
    assert.ok(short.notes.includes("NAPTR c4.chain.example: not looked up: c1.chain.example has cost 3 NAPTR lookups, the most allowed; no further rules are followed for it"), short.notes.join("\n"));
    const deep = await discover({ domains: ["c1.chain.example"], verify: verifier().verify });
    assert.equal(deep.url, `https://127.0.0.1:${ok.port}/?n=deep`);
  });

  it("regexps and records U-NAPTR does not allow are ignored with a note each; the good rule after them is used", async () => {
    const v = verifier();
    const r = await discover({ domains: ["bad.example"], verify: v.verify });
    assert.equal(r.url, `https://127.0.0.1:${ok.port}/?n=good`, r.notes.join("\n"));
    assert.deepEqual(v.asked, [`https://127.0.0.1:${ok.port}/?n=good`]);
    const ignored = r.notes.filter((n) => n.includes(": ignored: "));
    assert.equal(ignored.length, 8, ignored.join("\n"));
    const about = (rule: string): string => ignored.find((n) => n.includes(`rule ${rule} `)) ?? "";
    assert.match(about("100/1"), /uses the delimiter '\/'; U-NAPTR allows only "!\.\*!<URI>!" \(RFC 4848 §2\.2\)/);
    assert.match(about("100/2"), /does not match the whole name with "\.\*"/);
    assert.match(about("100/3"), /gives something that is not a URI/);
    assert.match(about("100/4"), /does not end with the URI and a closing "!" \(no flags are allowed\)/);
    assert.match(about("100/5"), /a "u" rule must have an empty replacement, this one has "lis\.bad\.example"/);
    assert.match(about("100/6"), /is empty; a "u" rule gives its URI in the regexp/);
    assert.match(about("100/7"), /a non-terminal rule must have an empty regexp/);
    assert.match(about("100/8"), /U-NAPTR knows no such flag/);
  });

  it("http: refused unless allowed (then the plain LIS verifies); other schemes and user info are refused", async () => {
    const refused = await discover({ domains: ["http.example"], verify: verifier().verify });
    assert.equal(refused.url, null);
    assert.ok(refused.notes.some((n) => n.endsWith(`http://127.0.0.1:${plain.port} refused: an http LIS cannot be authenticated (RFC 5986 §5); only https is used`)), refused.notes.join("\n"));
    const lab = await discover({ domains: ["http.example"], verify: verifier().verify, allowHttp: true });
    assert.equal(lab.url, `http://127.0.0.1:${plain.port}/`, lab.notes.join("\n"));
    const other = await discover({ domains: ["ftp.example"], verify: verifier().verify, allowHttp: true });
    assert.equal(other.url, null);
    assert.ok(other.notes.some((n) => n.endsWith("refused: HELD runs over HTTP(S), not ftp:")), other.notes.join("\n"));
    assert.ok(other.notes.some((n) => n.endsWith("refused: a user name or password in the URI is refused")), other.notes.join("\n"));
  });

  describe("without servers (fake resolver and verifier)", () => {
    const records = (list: Partial<NaptrRecord>[]): NaptrRecord[] => list.map((r) => ({ order: 100, preference: 10, flags: "u", service: "LIS:HELD", regexp: "", replacement: "", ...r }));

    it("HeldOutcome timeout: the HELD error (a HELD answer) verifies, the phone's own timeout does not; a throwing verify is a failure", async () => {
      const resolver = { resolveNaptr: async () => records([{ regexp: "!.*!https://one.example/!" }, { preference: 20, regexp: "!.*!https://two.example/!" }, { preference: 30, regexp: "!.*!https://three.example/!" }]) };
      const answers: Record<string, () => Promise<HeldOutcome>> = {
        "https://one.example/": async () => ({ ok: false, code: "timeout", message: "The LIS did not answer within 5000 ms" }),
        "https://two.example/": async () => {
          throw new Error("boom");
        },
        "https://three.example/": async () => ({ ok: false, code: "timeout", message: "The LIS answered timeout twice" }),
      };
      const r = await discoverLis({ domains: ["t.example"], resolver, verify: (url) => answers[url]() });
      assert.equal(r.url, "https://three.example/", r.notes.join("\n"));
      assert.ok(r.notes.includes("verify https://two.example: no HELD answer (network: boom); trying the next choice"));
    });

    it("bad input domains and resolver failures become notes; nothing throws", async () => {
      const resolver = {
        resolveNaptr: async (name: string) => {
          throw Object.assign(new Error(`queryNaptr ETIMEOUT ${name}`), { code: "ETIMEOUT" });
        },
      };
      const r = await discoverLis({ domains: ["", "bad domain", "-x.example", "ok.example", "OK.example."], resolver, verify: async () => ({ ok: false, code: "network", message: "unused" }) });
      assert.equal(r.url, null);
      assert.deepEqual(r.notes, [
        'LIS discovery: "" is empty; skipped',
        'LIS discovery: "bad domain" is not a domain name; skipped',
        'LIS discovery: "-x.example" is not a domain name; skipped',
        "LIS discovery: U-NAPTR lookup of LIS:HELD in ok.example (domain 1 of 1)",
        "NAPTR ok.example: the lookup failed (ETIMEOUT)",
        "LIS discovery: ok.example gave no working LIS",
        "LIS discovery: no LIS found in ok.example",
      ]);
      const none = await discoverLis({ domains: [], resolver, verify: async () => ({ ok: false, code: "network", message: "unused" }) });
      assert.deepEqual(none, { url: null, notes: ["LIS discovery: no domain to look in (no access-network domain, DHCP option 213, and no DHCP domain name, option 15)"] });
    });

    it("a URI reached twice is verified once; services match case-insensitively with more protocols listed", async () => {
      const table: Record<string, NaptrRecord[]> = {
        "d1.example": records([{ service: "lis:held:x-more", regexp: "!.*!https://same.example/!" }]),
        "d2.example": records([{ service: "LIS:HELD", regexp: "!.*!https://same.example/!" }, { preference: 20, service: "LIS", regexp: "!.*!https://no-protocol.example/!" }]),
      };
      const asked: string[] = [];
      const r = await discoverLis({
        domains: ["d1.example", "d2.example"],
        resolver: { resolveNaptr: async (n) => table[n] ?? [] },
        verify: async (url) => (asked.push(url), { ok: false, code: "tls", message: "TLS with the LIS failed" }),
      });
      assert.equal(r.url, null);
      assert.deepEqual(asked, ["https://same.example/"]);
      assert.ok(r.notes.includes("verify https://same.example: already tried, it failed; skipped"), r.notes.join("\n"));
      assert.ok(r.notes.includes("NAPTR d2.example: 1 record for LIS:HELD (1 for other services ignored)"), r.notes.join("\n"));
    });
  });
});

describe("DHCP option 213, the access-network domain (RFC 5986 §3.1-3.2), and accessDomains", () => {
  it("decodes the RFC's example bytes 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 to example.com", () => {
    assert.deepEqual(decodeAccessDomainOption(EXAMPLE_COM), { ok: true, value: "example.com" });
    assert.deepEqual(decodeAccessDomainOption(Buffer.from("054c6f43414c0000", "hex").subarray(0, 7)), { ok: true, value: "local" });
  });

  it("refuses two root labels (two names, or a stray zero octet)", () => {
    const twice = decodeAccessDomainOption(Buffer.concat([EXAMPLE_COM, Buffer.from("036e657400", "hex")]));
    assert.deepEqual(twice, { ok: false, reason: "DHCP option 213 (access-network domain) has more than one root label: 5 octets follow the root label at offset 12; it must hold precisely one name (RFC 5986 §3.2)" });
    const stray = decodeAccessDomainOption(Buffer.concat([EXAMPLE_COM, Buffer.from([0])]));
    assert.equal(stray.ok, false);
    assert.match(!stray.ok ? stray.reason : "", /more than one root label: 1 octet follow/);
  });

  it("refuses a name longer than 255 octets; 255 exactly is taken", () => {
    const label = (n: number, c: string): Buffer => Buffer.concat([Buffer.from([n]), Buffer.from(c.repeat(n))]);
    const max = Buffer.concat([label(62, "a"), label(62, "b"), label(62, "c"), label(62, "d"), label(1, "e"), Buffer.from([0])]);
    assert.equal(max.length, 255);
    assert.equal(decodeAccessDomainOption(max).ok, true);
    const long = Buffer.concat([label(62, "a"), label(62, "b"), label(62, "c"), label(62, "d"), label(2, "e"), Buffer.from([0])]);
    assert.equal(long.length, 256);
    assert.deepEqual(decodeAccessDomainOption(long), { ok: false, reason: "DHCP option 213 (access-network domain) is longer than 255 octets (RFC 5986 §3.1)" });
  });

  it("refuses compression, a missing root label, a cut label, odd characters, the root alone, an empty option", () => {
    const reason = (hex: string): string => {
      const d = decodeAccessDomainOption(Buffer.from(hex, "hex"));
      return d.ok ? `accepted ${d.value}` : d.reason;
    };
    assert.match(reason("076578616d706c65c00c"), /has a compression pointer at offset 8 \(0xc0\); the high two bits of a length octet must be zero/);
    assert.match(reason("076578616d706c6503636f6d"), /has no root label: the name is not ended by a zero octet/);
    assert.match(reason("076578616d70"), /label at offset 0 \(length 7\) runs past the end of the value \(6 octets\)/);
    assert.match(reason("03612e6200"), /label at offset 0 holds '\.', which a domain name to look up cannot hold/);
    assert.match(reason("00"), /names only the root/);
    assert.match(reason(""), /is empty/);
  });

  it("accessDomains: 213 first, then 15 (its first word); a duplicate once; an unreadable option left out with a note", () => {
    assert.deepEqual(accessDomains({ options: { [DHCP_OPTION.ACCESS_DOMAIN]: EXAMPLE_COM, [DHCP_OPTION.DOMAIN_NAME]: Buffer.from("corp.example.com lab.example.com") } }), ["example.com", "corp.example.com"]);
    assert.deepEqual(accessDomains({ options: { [DHCP_OPTION.DOMAIN_NAME]: Buffer.from("Corp.Example.com.\0") } }), ["corp.example.com"]);
    assert.deepEqual(accessDomains({ options: { [DHCP_OPTION.ACCESS_DOMAIN]: EXAMPLE_COM, [DHCP_OPTION.DOMAIN_NAME]: Buffer.from("example.com") } }), ["example.com"]);
    assert.deepEqual(accessDomains({ options: {} }), []);
    const notes: string[] = [];
    assert.deepEqual(accessDomains({ options: { [DHCP_OPTION.ACCESS_DOMAIN]: Buffer.from("example.com"), [DHCP_OPTION.DOMAIN_NAME]: Buffer.from("corp.example.com") } }, notes), ["corp.example.com"]);
    assert.equal(notes.length, 1);
    assert.match(notes[0], /^option 213 \(access-network domain\) .*; not used$/);
    const bad15: string[] = [];
    assert.deepEqual(accessDomains({ options: { [DHCP_OPTION.DOMAIN_NAME]: Buffer.from("corp!example") } }, bad15), []);
    assert.deepEqual(bad15, ["option 15 (domain name) corp!example is not a domain name; not used"]);
  });

  it("every lease format keeps 213 and 15: dhclient (named and unknown-213), dhcpcd raw and key=value", () => {
    const dhclient = `lease {\n  interface "eth0";\n  fixed-address 10.1.3.77;\n  option domain-name "corp.example.com";\n  option v4-access-domain example.com.;\n}\n`;
    const named = parseLease(Buffer.from(dhclient))!;
    assert.deepEqual(named.problems, []);
    assert.deepEqual(named.options[DHCP_OPTION.ACCESS_DOMAIN], EXAMPLE_COM);
    assert.deepEqual(accessDomains(named), ["example.com", "corp.example.com"]);
    const old = parseLease(Buffer.from(`lease {\n  interface "eth0";\n  option unknown-213 7:65:78:61:6d:70:6c:65:3:63:6f:6d:0;\n  option domain-name "corp.example.com";\n}\n`))!;
    assert.deepEqual(accessDomains(old), ["example.com", "corp.example.com"]);
    const env = parseLease(Buffer.from("interface=eth0\nip_address=10.1.3.77\ndomain_name=corp.example.com\naccess_domain=example.com\n"))!;
    assert.equal(env.format, "dhcpcd-env");
    assert.deepEqual(accessDomains(env), ["example.com", "corp.example.com"]);
    const twoNames = parseLease(Buffer.from("interface=eth0\naccess_domain=example.com example.net\n"))!;
    const notes: string[] = [];
    assert.deepEqual(accessDomains(twoNames, notes), []);
    assert.match(notes[0], /more than one root label/);
    // dhcpcd's raw lease: the DHCP reply itself
    const packet = Buffer.alloc(240);
    packet[0] = 2;
    packet.writeUInt32BE(0x63825363, 236);
    const opt = (code: number, v: Buffer): Buffer => Buffer.concat([Buffer.from([code, v.length]), v]);
    const raw = parseLease(Buffer.concat([packet, opt(53, Buffer.from([5])), opt(15, Buffer.from("corp.example.com")), opt(213, EXAMPLE_COM), Buffer.from([255])]), { fileName: "eth0.lease" })!;
    assert.equal(raw.format, "dhcpcd-raw");
    assert.deepEqual(accessDomains(raw), ["example.com", "corp.example.com"]);
  });
});

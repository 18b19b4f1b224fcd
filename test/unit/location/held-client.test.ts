// The HELD client against real LISes: node:https servers on 127.0.0.1 with certificates openssl makes here, answering
// canned HELD documents and recording every request (headers checked, bodies validated by xmllint against
// held-validate.xsd). TV-1, TV-3, TV-4, TV-5, cannotProvideLiType, redirects, the timeout, bad and oversized answers,
// an answer ended by connection close, and TLS: an untrusted certificate or no TLS fails a routine request, not an
// emergency one. Time is a ManualClock: nothing sleeps for real.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { ManualClock, type Timer } from "../../../src/base/clock.js";
import { createLogger, silentLogger } from "../../../src/base/log.js";
import { HeldClient } from "../../../src/location/held-client.js";
import { startLisServer, type LisServer } from "../../../src/location/lis/lis-server.js";
import type { LisTarget } from "../../../src/location/location-types.js";
import { schemaComplaint } from "../../support/xml-schema.js";
import { until as poll } from "../../support/poll.js";

const run = promisify(execFile);
const schemas = fileURLToPath(new URL("../../fixtures/location-schemas/", import.meta.url));
const example = (f: string): Promise<string> => fs.readFile(path.join(schemas, "examples", f), "utf8");
const IDS = { ip: "192.0.2.5", mac: "a0:12:34:56:78:90" };
const HELD_TYPE = "application/held+xml;charset=utf-8";

/** xmllint's verdict against held-validate.xsd: null when the document validates, else its complaint. */
const invalidRequest = (xml: string): Promise<string | null> => schemaComplaint(xml, "held-validate.xsd");

/** Polls (real time) until `cond` holds; fails after 5 s. */
const until = (cond: () => boolean, what = "condition"): Promise<void> => poll(what, cond, 5000, 5);
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 60));

/** A ManualClock that remembers every delay asked of it. */
class RecordingClock extends ManualClock {
  delays: number[] = [];
  override setTimeout(fn: () => void, ms: number): Timer {
    this.delays.push(ms);
    return super.setTimeout(fn, ms);
  }
}

interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  secure: boolean;
}
type Reply = { status?: number; headers?: Record<string, string>; body?: string } | "hang";

/** A fake LIS: answers the n-th request with replies[n] (the last one repeats) and records the requests. */
class FakeLis {
  readonly seen: Seen[] = [];
  /** TCP connections accepted. */
  connections = 0;
  private server!: http.Server;
  private port = 0;
  constructor(
    private readonly replies: Reply[],
    private readonly kind: "trusted" | "untrusted" | "plain",
  ) {}

  async start(): Promise<this> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (c: string) => (body += c));
      req.on("end", () => {
        this.seen.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, secure: "encrypted" in req.socket });
        const r = this.replies[Math.min(this.seen.length - 1, this.replies.length - 1)];
        if (r === "hang") return;
        res.writeHead(r.status ?? 200, { "Content-Type": HELD_TYPE, "Cache-Control": "no-cache", ...r.headers });
        res.end(r.body ?? "");
      });
    };
    this.server = this.kind === "plain" ? http.createServer(handler) : https.createServer(certs[this.kind], handler);
    this.server.on("connection", () => this.connections++);
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(p = "/held"): string {
    return `${this.kind === "plain" ? "http" : "https"}://127.0.0.1:${this.port}${p}`;
  }

  /** The LIS as the phone is configured: https, our test CA trusted, a 3 s timeout. */
  target(p = "/held", timeoutMs = 3000): LisTarget {
    return { url: this.url(p).replace(/^http:/, "https:"), caPem: certs.trusted.cert, timeoutMs };
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

let certs: Record<"trusted" | "untrusted", { key: string; cert: string }>;
let locationResponse: string;
const lises: FakeLis[] = [];
const lis = async (replies: Reply[], kind: "trusted" | "untrusted" | "plain" = "trusted"): Promise<FakeLis> => {
  const l = await new FakeLis(replies, kind).start();
  lises.push(l);
  return l;
};
const held = (code: string, inner = ""): Reply => ({ body: `<error xmlns="urn:ietf:params:xml:ns:geopriv:held" code="${code}">${inner}</error>` });
const ok = (): Reply => ({ body: locationResponse });

describe("HELD client (RFC 5985 §8, standards §7 items 7-9)", function () {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "lis-certs-"));
    const make = async (name: string, cn: string): Promise<{ key: string; cert: string }> => {
      const key = path.join(dir, `${name}.key`);
      const cert = path.join(dir, `${name}.pem`);
      await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=${cn}`, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]);
      return { key: await fs.readFile(key, "utf8"), cert: await fs.readFile(cert, "utf8") };
    };
    certs = { trusted: await make("trusted", "lis.test"), untrusted: await make("untrusted", "rogue.test") };
    const office = (await example("office-floor-room.pidf.xml")).replace(/^<\?xml[^>]*>\s*/, "");
    locationResponse = `<?xml version="1.0" encoding="UTF-8"?>\n<locationResponse xmlns="urn:ietf:params:xml:ns:geopriv:held">\n${office}</locationResponse>\n`;
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    for (const l of lises.splice(0)) l.close();
  });

  it("TV-1: POSTs the standard request with the required headers; stores the LIS's PIDF-LO with the screen's line", async () => {
    const l = await lis([ok()]);
    const clock = new ManualClock();
    const out = await new HeldClient({ clock, log: silentLogger() }).locate(l.target(), IDS, { emergency: false });
    assert.ok(out.ok, JSON.stringify(out));
    assert.equal(out.location.source, "lis");
    assert.equal(out.location.text, "1100 N Lamar BLVD, Tower 2, Fl 3, Suite 300, Rm 3-214");
    assert.equal(out.location.civic?.ROOM, "3-214");
    assert.equal(out.location.obtainedAt, clock.wallNow());
    assert.equal(out.location.lisUrl, l.target().url);
    assert.equal(out.location.expiresAt, Date.UTC(2026, 0, 16, 15, 4, 5));
    assert.match(out.location.pidf, /<timestamp>2026-01-15T15:04:05Z<\/timestamp>/);
    assert.equal(l.seen.length, 1);
    const [r] = l.seen;
    assert.equal(r.method, "POST");
    assert.equal(r.path, "/held");
    assert.ok(r.secure);
    assert.equal(r.headers["content-type"], HELD_TYPE);
    assert.equal(r.headers.accept, "application/held+xml");
    assert.equal(r.headers.host, new URL(l.url()).host);
    assert.equal(r.headers["content-length"], String(Buffer.byteLength(r.body)));
    assert.equal(r.headers.expect, undefined);
    assert.equal(r.headers.range, undefined);
    assert.equal(await invalidRequest(r.body), null);
    const squash = (s: string): string => s.replace(/>\s+</g, "><").replace(/\s+/g, " ").trim();
    assert.equal(squash(r.body), squash(await example("held-request-device-id.xml")));
  });

  it("TV-3: notLocatable -> that LIS is not asked again ('blocked') until the link changes; other LISes still are", async () => {
    const l = await lis([held("notLocatable"), ok()]);
    const c = new HeldClient({ clock: new ManualClock(), log: silentLogger() });
    const first = await c.locate(l.target(), IDS, { emergency: false });
    assert.deepEqual(first.ok ? null : first.code, "notLocatable");
    const again = await c.locate(l.target(), IDS, { emergency: true });
    assert.ok(!again.ok && again.code === "blocked" && /until the network link changes/.test(again.message), JSON.stringify(again));
    assert.equal(l.seen.length, 1);
    assert.ok((await c.locate(l.target("/other"), IDS, { emergency: false })).ok);
    assert.equal(l.seen.length, 2);
    c.linkChanged();
    assert.ok((await c.locate(l.target(), IDS, { emergency: false })).ok);
    assert.equal(l.seen.length, 3);
  });

  it("TV-4: locationUnknown -> 3 tries at most, 1 s then 2 s apart on the clock; then the failure", async () => {
    const l = await lis([held("locationUnknown", '<message xml:lang="en">Unable to determine location</message>')]);
    const clock = new RecordingClock();
    const pending = new HeldClient({ clock, log: silentLogger() }).locate(l.target("/held", 60_000), IDS, { emergency: false });
    await until(() => clock.delays.includes(1000), "the first backoff");
    clock.advance(999);
    await settle();
    assert.equal(l.seen.length, 1, "no second try before 1 s");
    clock.advance(1);
    await until(() => l.seen.length === 2 && clock.delays.includes(2000), "the second try and backoff");
    clock.advance(1999);
    await settle();
    assert.equal(l.seen.length, 2);
    clock.advance(1);
    const out = await pending;
    assert.ok(!out.ok && out.code === "locationUnknown", JSON.stringify(out));
    assert.match(out.message, /Unable to determine location.*3 times/);
    assert.equal(l.seen.length, 3);
    assert.deepEqual(clock.delays.filter((d) => d !== 60_000), [1000, 2000]);
    clock.advance(60_000);
    await settle();
    assert.equal(l.seen.length, 3, "nothing more after giving up");
  });

  it("locationUnknown then a location -> the location, on the second try", async () => {
    const l = await lis([held("locationUnknown"), ok()]);
    const clock = new ManualClock();
    const pending = new HeldClient({ clock, log: silentLogger(), backoffMs: { first: 50, max: 50 } }).locate(l.target(), IDS, { emergency: false });
    await until(() => l.seen.length === 1 && clock.pending() === 1, "the backoff");
    await settle();
    clock.advance(50);
    assert.ok((await pending).ok);
    assert.equal(l.seen.length, 2);
  });

  it("TV-5: badIdentifier listing mac and ip -> exactly one retry carrying both; a second refusal ends it", async () => {
    const bad: Reply = { body: await example("held-error-badIdentifier.xml") };
    const l = await lis([bad, ok()]);
    const c = new HeldClient({ clock: new ManualClock(), log: silentLogger() });
    assert.ok((await c.locate(l.target(), IDS, { emergency: false })).ok);
    assert.equal(l.seen.length, 2);
    assert.match(l.seen[1].body, /<ip v="4">192\.0\.2\.5<\/ip>/);
    assert.match(l.seen[1].body, /<mac>A0-12-34-56-78-90<\/mac>/);
    assert.equal(await invalidRequest(l.seen[1].body), null);

    const stubborn = await lis([bad]);
    const out = await c.locate(stubborn.target(), IDS, { emergency: false });
    assert.ok(!out.ok && out.code === "badIdentifier" && /MAC address required/.test(out.message));
    assert.equal(stubborn.seen.length, 2);
  });

  it("badIdentifier asking for identifiers the phone does not have -> no retry, and says which", async () => {
    const l = await lis([held("badIdentifier", '<requiredIdentifiers xmlns="urn:ietf:params:xml:ns:geopriv:held:id">imei</requiredIdentifiers>')]);
    const out = await new HeldClient({ clock: new ManualClock(), log: silentLogger() }).locate(l.target(), IDS, { emergency: false });
    assert.ok(!out.ok && out.code === "badIdentifier");
    assert.match(out.message, /the phone has no imei to send/);
    assert.equal(l.seen.length, 1);
  });

  it("cannotProvideLiType -> one retry with exact=\"false\"; requestError -> no retry", async () => {
    const l = await lis([held("cannotProvideLiType"), ok()]);
    const c = new HeldClient({ clock: new ManualClock(), log: silentLogger() });
    assert.ok((await c.locate(l.target(), IDS, { emergency: false, types: ["geodetic"], exact: true })).ok);
    assert.deepEqual(
      l.seen.map((r) => /<locationType exact="(\w+)">geodetic</.exec(r.body)?.[1]),
      ["true", "false"],
    );
    const always = await lis([held("cannotProvideLiType")]);
    assert.equal((await c.locate(always.target(), IDS, { emergency: false, exact: true })).ok, false);
    assert.equal(always.seen.length, 2);
    for (const code of ["requestError", "xmlError", "unsupportedMessage"]) {
      const r = await lis([held(code)]);
      const out = await c.locate(r.target(), IDS, { emergency: true });
      assert.ok(!out.ok && out.code === code);
      assert.equal(r.seen.length, 1, code);
    }
  });

  it("follows a 3xx Location (relative), waiting out Retry-After on the clock; more than 3 hops is an error", async () => {
    const l = await lis([{ status: 307, headers: { Location: "/moved/held", "Retry-After": "2" } }, ok()]);
    const clock = new ManualClock();
    const c = new HeldClient({ clock, log: silentLogger() });
    const pending = c.locate(l.target("/held"), IDS, { emergency: false });
    await until(() => l.seen.length === 1, "the first request");
    await settle();
    clock.advance(1999);
    await settle();
    assert.equal(l.seen.length, 1, "Retry-After observed");
    clock.advance(1);
    assert.ok((await pending).ok);
    assert.deepEqual(l.seen.map((r) => `${r.method} ${r.path}`), ["POST /held", "POST /moved/held"]);
    assert.equal(l.seen[1].body, l.seen[0].body);

    const loop = await lis([{ status: 302, headers: { Location: "/again" } }]);
    const out = await c.locate(loop.target(), IDS, { emergency: false });
    assert.ok(!out.ok && out.code === "http" && /redirected more than 3 times/.test(out.message), JSON.stringify(out));
    assert.equal(loop.seen.length, 4);
  });

  it("gives up after target.timeoutMs of the clock when the LIS does not answer", async () => {
    const l = await lis(["hang"]);
    const clock = new ManualClock();
    const pending = new HeldClient({ clock, log: silentLogger() }).locate(l.target("/held", 2500), IDS, { emergency: true });
    await until(() => l.seen.length === 1, "the request");
    clock.advance(2500);
    const out = await pending;
    assert.deepEqual(out, { ok: false, code: "timeout", message: "The LIS did not answer within 2500 ms" });
  });

  it("refuses an oversized answer (declared or streamed) and a malformed one, with a clear message", async () => {
    const c = new HeldClient({ clock: new ManualClock(), log: silentLogger() });
    const huge = locationResponse.replace("<tuple", `<note>${"x".repeat(70_000)}</note><tuple`);
    const big = await lis([{ body: huge }]);
    assert.deepEqual(await c.locate(big.target(), IDS, { emergency: false }), { ok: false, code: "malformed", message: "The LIS's answer is larger than 65536 bytes; refused" });
    const streamed = await lis([{ body: huge, headers: { "Transfer-Encoding": "chunked" } }]);
    const s = await c.locate(streamed.target(), IDS, { emergency: false });
    assert.ok(!s.ok && /larger than 65536 bytes/.test(s.message));
    const junk = await lis([{ body: "Service temporarily unavailable" }]);
    const j = await c.locate(junk.target(), IDS, { emergency: false });
    assert.ok(!j.ok && j.code === "malformed" && /^HELD answer is not XML: /.test(j.message), JSON.stringify(j));
    const html = await lis([{ body: "<html><body>Sign in</body></html>", headers: { "Content-Type": "text/html" } }]);
    const h = await c.locate(html.target(), IDS, { emergency: false });
    assert.ok(!h.ok && h.code === "malformed" && /not a locationResponse or error/.test(h.message));
    const down = await lis([{ status: 503, body: "" }]);
    assert.deepEqual(await c.locate(down.target(), IDS, { emergency: false }), { ok: false, code: "http", message: "The LIS answered HTTP 503 Service Unavailable" });
  });

  it("reads an answer ended by connection close (no Content-Length) and sends no Expect header", async () => {
    let head = "";
    const server = tls.createServer(certs.trusted, (sock) => {
      let buf = "";
      sock.on("data", (d: Buffer) => {
        buf += d.toString("utf8");
        const end = buf.indexOf("\r\n\r\n");
        const len = Number(/content-length:\s*(\d+)/i.exec(buf)?.[1] ?? NaN);
        if (end < 0 || Buffer.byteLength(buf.slice(end + 4)) < len) return;
        head = buf.slice(0, end);
        sock.end(`HTTP/1.1 200 OK\r\nContent-Type: ${HELD_TYPE}\r\nConnection: close\r\n\r\n${locationResponse}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as AddressInfo).port;
      const out = await new HeldClient({ clock: new ManualClock(), log: silentLogger() }).locate({ url: `https://localhost:${port}/held`, caPem: certs.trusted.cert, timeoutMs: 3000 }, IDS, { emergency: false });
      assert.ok(out.ok, JSON.stringify(out));
      assert.match(head, /^POST \/held HTTP\/1\.1\r\n/);
      assert.match(head, new RegExp(`\r\nHost: localhost:${port}\r\n`, "i"));
      assert.doesNotMatch(head, /\r\nExpect:/i);
    } finally {
      server.close();
    }
  });

  it("untrusted certificate: a routine request fails with 'tls'; an emergency one retries without authentication", async () => {
    const l = await lis([ok()], "untrusted");
    const c = new HeldClient({ clock: new ManualClock(), log: silentLogger() });
    const routine = await c.locate(l.target(), IDS, { emergency: false });
    assert.ok(!routine.ok && routine.code === "tls" && /^TLS with the LIS failed: /.test(routine.message), JSON.stringify(routine));
    assert.equal(l.seen.length, 0);
    const urgent = await c.locate(l.target(), IDS, { emergency: true });
    assert.ok(urgent.ok, JSON.stringify(urgent));
    assert.equal(l.seen.length, 1);
    assert.ok(l.seen[0].secure, "still over TLS");
  });

  it("no TLS possible at all: routine fails with 'tls'; an emergency one falls back to plain http on the same port", async () => {
    const l = await lis([ok()], "plain");
    const c = new HeldClient({ clock: new ManualClock(), log: silentLogger() });
    const routine = await c.locate(l.target(), IDS, { emergency: false });
    assert.ok(!routine.ok && routine.code === "tls", JSON.stringify(routine));
    const urgent = await c.locate(l.target(), IDS, { emergency: true });
    assert.ok(urgent.ok, JSON.stringify(urgent));
    assert.equal(l.seen.length, 1);
    assert.equal(l.seen[0].secure, false);
    assert.equal(urgent.location.lisUrl, l.target().url);
  });

  it("a LIS that drops the connection before the handshake: routine 'tls'; emergency tries verify, no-verify, plain, then fails", async () => {
    let connections = 0;
    const server = net.createServer((sock) => {
      connections++;
      sock.destroy();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const target = { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/held`, caPem: certs.trusted.cert, timeoutMs: 3000 };
      const c = new HeldClient({ clock: new ManualClock(), log: silentLogger() });
      const routine = await c.locate(target, IDS, { emergency: false });
      assert.ok(!routine.ok && routine.code === "tls", JSON.stringify(routine));
      assert.equal(connections, 1);
      const urgent = await c.locate(target, IDS, { emergency: true });
      assert.ok(!urgent.ok && urgent.code === "network", JSON.stringify(urgent));
      assert.equal(connections, 4);
    } finally {
      server.close();
    }
  });

  it("a closed port is a network failure (no TLS fallback); logs never show the URL's path or query", async () => {
    const l = await lis([ok()]);
    const url = new URL(l.target().url);
    l.close();
    const lines: string[] = [];
    const log = createLogger({ level: "debug", destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
    const out = await new HeldClient({ clock: new ManualClock(), log }).locate({ url: `${url.origin}/held?key=s3cret-tenant`, timeoutMs: 3000 }, IDS, { emergency: true });
    assert.ok(!out.ok && out.code === "network" && /^Could not reach the LIS: /.test(out.message), JSON.stringify(out));
    await settle();
    assert.ok(lines.length > 0);
    assert.ok(!lines.join("").includes("s3cret"), lines.join(""));
  });

  it("stops waiting when the caller aborts during a backoff", async () => {
    const l = await lis([held("locationUnknown")]);
    const clock = new ManualClock();
    const abort = new AbortController();
    const pending = new HeldClient({ clock, log: silentLogger() }).locate(l.target(), IDS, { emergency: false, signal: abort.signal });
    await until(() => l.seen.length === 1 && clock.pending() === 1, "the backoff");
    await settle();
    abort.abort();
    assert.deepEqual(await pending, { ok: false, code: "network", message: "The location request was cancelled" });
  });
  it("sends the LLDP switch port in the extension; a LIS refusing it (badIdentifier) is asked again without it", async () => {
    const PORT_IDS = { ...IDS, lldp: { chassis: "00:1f:9e:00:03:00", port: "Gi1/0/7" } };
    const l = await lis([held("badIdentifier", '<message xml:lang="en">unknown identifier</message>'), ok()]);
    const c = new HeldClient({ clock: new ManualClock(), log: silentLogger() });
    const out = await c.locate(l.target(), PORT_IDS, { emergency: true });
    assert.ok(out.ok, JSON.stringify(out));
    assert.equal(l.seen.length, 2);
    assert.match(l.seen[0].body, /<lldp:chassis>00:1f:9e:00:03:00<\/lldp:chassis>\s*<lldp:port>Gi1\/0\/7<\/lldp:port>/);
    assert.match(l.seen[0].body, /xmlns:lldp="urn:x-deskphone:held:lldp"/);
    assert.equal(await invalidRequest(l.seen[0].body), null);
    assert.doesNotMatch(l.seen[1].body, /lldp/);
    assert.match(l.seen[1].body, /<mac>A0-12-34-56-78-90<\/mac>/);
    assert.ok((await c.locate(l.target(), PORT_IDS, { emergency: false })).ok);
    assert.doesNotMatch(l.seen[2].body, /lldp/, "that LIS is not sent the extension again");
    c.linkChanged();
    assert.ok((await c.locate(l.target(), PORT_IDS, { emergency: false })).ok);
    assert.match(l.seen[3].body, /<lldp:port>/, "until the link changes");
    // a refusal naming an identifier the phone lacks is about that identifier: the extension stays, one retry as before
    const needsMore = await lis([held("badIdentifier", '<requiredIdentifiers xmlns="urn:ietf:params:xml:ns:geopriv:held:id">mac ip</requiredIdentifiers>')]);
    const again = await c.locate(needsMore.target(), { ip: IDS.ip, lldp: PORT_IDS.lldp }, { emergency: false });
    assert.ok(!again.ok && again.code === "badIdentifier" && /has no mac to send/.test(again.message), JSON.stringify(again));
    assert.equal(needsMore.seen.length, 2);
    assert.ok(needsMore.seen.every((r) => r.body.includes("<lldp:port>Gi1/0/7</lldp:port>")));
    c.close();
  });

  describe("kept-alive connections", () => {
    const WIREMAP = { entries: [], default: { civic: { country: "US", A1: "TX", A3: "Austin", RD: "Lamar", STS: "BLVD", HNO: "1100", FLR: "3" } } };
    let ref: LisServer;
    const target = (): LisTarget => ({ url: `${ref.url}/held`, caPem: certs.trusted.cert, timeoutMs: 3000 });
    beforeEach(async () => {
      const file = path.join(dir, "wiremap.json");
      await fs.writeFile(file, JSON.stringify(WIREMAP));
      ref = await startLisServer({ wiremapFile: file, port: 0, host: "127.0.0.1", tls: { certPem: certs.trusted.cert, keyPem: certs.trusted.key } });
    });
    afterEach(() => ref.stop());

    it("the reference LIS over HTTPS sees one TLS connection for several requests, routine and emergency", async () => {
      const c = new HeldClient({ clock: new ManualClock(), log: silentLogger() });
      for (let i = 0; i < 5; i++) {
        const out = await c.locate(target(), IDS, { emergency: i % 2 === 1 });
        assert.ok(out.ok, JSON.stringify(out));
      }
      assert.equal(ref.requests.length, 5);
      assert.deepEqual(ref.connections(), { tcp: 1, tls: 1 });
      assert.equal(c.connectionsOpened(), 1);
      c.close();
    });

    it("keepAlive: false keeps the old way: one connection per request", async () => {
      const c = new HeldClient({ clock: new ManualClock(), log: silentLogger(), keepAlive: false });
      for (let i = 0; i < 3; i++) assert.ok((await c.locate(target(), IDS, { emergency: false })).ok);
      assert.deepEqual(ref.connections(), { tcp: 3, tls: 3 });
    });

    it("a LIS that closes idle connections is still answered, on a new connection each time", async () => {
      const c = new HeldClient({ clock: new ManualClock(), log: silentLogger() });
      for (let i = 0; i < 3; i++) {
        const out = await c.locate(target(), IDS, { emergency: true });
        assert.ok(out.ok, JSON.stringify(out));
        ref.closeIdleConnections();
        await settle();
      }
      assert.deepEqual(ref.connections(), { tcp: 3, tls: 3 });
      c.close();
    });

    it("close() ends the kept connection; linkChanged() drops it; the client then opens a new one", async () => {
      const c = new HeldClient({ clock: new ManualClock(), log: silentLogger() });
      assert.ok((await c.locate(target(), IDS, { emergency: false })).ok);
      c.close();
      assert.ok((await c.locate(target(), IDS, { emergency: false })).ok);
      assert.deepEqual(ref.connections(), { tcp: 2, tls: 2 });
      c.linkChanged();
      assert.ok((await c.locate(target(), IDS, { emergency: false })).ok);
      assert.ok((await c.locate(target(), IDS, { emergency: false })).ok);
      assert.deepEqual(ref.connections(), { tcp: 3, tls: 3 });
      c.close();
    });

    /** An HTTPS LIS that answers or drops each request by its connection's number and its number on that connection. */
    async function dropper(policy: (conn: number, nth: number) => "answer" | "drop"): Promise<{ target: LisTarget; conns: () => number; answered: () => number; close(): void }> {
      let conns = 0;
      let answered = 0;
      const perSocket = new WeakMap<net.Socket, { conn: number; n: number }>();
      const server = https.createServer(certs.trusted, (req, res) => {
        const st = perSocket.get(req.socket)!;
        st.n++;
        if (policy(st.conn, st.n) === "drop") return void req.socket.destroy(); // as if it closed the idle connection just then
        req.resume();
        req.on("end", () => {
          answered++;
          res.writeHead(200, { "Content-Type": HELD_TYPE });
          res.end(locationResponse);
        });
      });
      server.on("secureConnection", (s: tls.TLSSocket) => perSocket.set(s, { conn: ++conns, n: 0 }));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      return {
        target: { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/held`, caPem: certs.trusted.cert, timeoutMs: 3000 },
        conns: () => conns,
        answered: () => answered,
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      };
    }

    it("a kept connection found dead when reused (reset on the request) is retried once on a fresh connection", async () => {
      // every connection serves its first request and is dropped on the second, like a LIS timing it out at that moment
      const d = await dropper((_conn, nth) => (nth === 1 ? "answer" : "drop"));
      try {
        const c = new HeldClient({ clock: new ManualClock(), log: silentLogger() });
        for (let i = 0; i < 3; i++) {
          const out = await c.locate(d.target, IDS, { emergency: i === 2 });
          assert.ok(out.ok, JSON.stringify(out));
        }
        assert.equal(d.answered(), 3);
        assert.equal(d.conns(), 3, "the 2nd and 3rd requests found the kept connection dead and went on a new one");
        c.close();
      } finally {
        d.close();
      }
    });

    it("only once, and only for a reused connection: a fresh connection reset is a failure at once", async () => {
      const first = await dropper((conn, nth) => (conn === 1 && nth === 1 ? "answer" : "drop"));
      try {
        const c = new HeldClient({ clock: new ManualClock(), log: silentLogger() });
        assert.ok((await c.locate(first.target, IDS, { emergency: false })).ok);
        const out = await c.locate(first.target, IDS, { emergency: true });
        assert.ok(!out.ok && out.code === "network" && /^Could not reach the LIS: /.test(out.message), JSON.stringify(out));
        assert.equal(first.conns(), 2, "the kept one, then one fresh one; no third");
        const again = await c.locate(first.target, IDS, { emergency: false });
        assert.ok(!again.ok && again.code === "network");
        assert.equal(first.conns(), 3, "a fresh connection reset is not retried");
        c.close();
      } finally {
        first.close();
      }
    });

    it("a connection opened without certificate checks (emergency) is never reused by a checked request", async () => {
      const l = await lis([ok()], "untrusted");
      const c = new HeldClient({ clock: new ManualClock(), log: silentLogger() });
      const urgent = await c.locate(l.target(), IDS, { emergency: true });
      assert.ok(urgent.ok, JSON.stringify(urgent));
      const routine = await c.locate(l.target(), IDS, { emergency: false });
      assert.ok(!routine.ok && routine.code === "tls", JSON.stringify(routine));
      assert.equal(l.seen.length, 1);
      const urgent2 = await c.locate(l.target(), IDS, { emergency: true });
      assert.ok(urgent2.ok, JSON.stringify(urgent2));
      assert.equal(l.seen.length, 2);
      c.close();
    });

    it("the plain-http emergency fallback keeps its connection too", async () => {
      const l = await lis([ok()], "plain");
      const c = new HeldClient({ clock: new ManualClock(), log: silentLogger() });
      for (let i = 0; i < 3; i++) assert.ok((await c.locate(l.target(), IDS, { emergency: true })).ok);
      assert.equal(l.seen.length, 3);
      assert.ok(l.seen.every((r) => !r.secure));
      // each request tries TLS with and without checks first (two connections that fail), then reuses the plain one
      assert.equal(l.connections, 3 * 2 + 1);
      c.close();
    });

    it("never queues behind hung requests: with every kept connection busy, a request gets its own", async () => {
      const l = await lis(["hang", "hang", ok()]);
      const clock = new ManualClock();
      const c = new HeldClient({ clock, log: silentLogger(), keepAlive: { maxSockets: 2 } });
      const hung = [c.locate(l.target(), IDS, { emergency: false }), c.locate(l.target(), IDS, { emergency: false })];
      await until(() => l.seen.length === 2, "two hung requests");
      const out = await c.locate(l.target(), IDS, { emergency: true });
      assert.ok(out.ok, JSON.stringify(out));
      assert.equal(l.connections, 3);
      clock.advance(3000);
      assert.deepEqual((await Promise.all(hung)).map((o) => (o.ok ? "ok" : o.code)), ["timeout", "timeout"]);
      c.close();
    });

    it("never queues behind idle connections to other LISes: idle ones of other names do not count against the cap", async () => {
      // Node's agent counts idle sockets of every name toward maxTotalSockets and queues beyond it; the pool must not
      const other = await lis([ok()]); // another LIS host (e.g. before a redirect, or a discovery candidate)
      const rogue = await lis([ok()], "untrusted"); // the no-certificate-check variant: a name of its own
      const l = await lis(["hang", ok()]);
      const clock = new ManualClock();
      const c = new HeldClient({ clock, log: silentLogger(), keepAlive: { maxSockets: 2 } });
      assert.ok((await c.locate(other.target(), IDS, { emergency: false })).ok);
      assert.ok((await c.locate(rogue.target(), IDS, { emergency: true })).ok);
      await settle(); // both connections are back in the agent's idle lists
      const hung = c.locate(l.target(), IDS, { emergency: false });
      await until(() => l.seen.length === 1, "the hung request");
      // two idle connections (other names) + one in flight: the next request is within the in-flight cap (2)
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"queued">((r) => (timer = setTimeout(() => r("queued"), 2000)));
      const out = await Promise.race([c.locate(l.target(), IDS, { emergency: true }), late]);
      clearTimeout(timer);
      assert.ok(out !== "queued", "the request waited in the agent's queue instead of getting a connection");
      assert.ok(out.ok, JSON.stringify(out));
      assert.equal(l.connections, 2, "a connection of its own beside the hung one");
      clock.advance(3000);
      const h = await hung;
      assert.ok(!h.ok && h.code === "timeout", JSON.stringify(h));
      c.close();
    });
  });
});

// The reference LIS for real: HTTPS on 127.0.0.1 with a self-signed certificate made here by openssl, HELD requests
// sent with node:https, and every HELD answer checked by xmllint against held-validate.xsd and the PIDF-LO inside it
// against pidf-lo-validate.xsd. Lookups by MAC, by the source IP's subnet, by the <device> ip, by switch port, and
// their precedence; the HELD errors (locationUnknown, notLocatable, badIdentifier, xmlError, unsupportedMessage, ...);
// the HTTP rules of RFC 5985 §8 (404, 405, 406, 412, 413, 501); the wiremap edited while running, a broken edit (old
// map kept, error logged), a bad wiremap at start; plain HTTP; and the deskphone-lis command.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { ManualClock } from "../../../src/base/clock.js";
import { createLogger } from "../../../src/base/log.js";
import { HELD_NS, HELD_ID_NS, startLisServer, type LisServer, type LisServerOptions } from "../../../src/location/lis/lis-server.js";
import { LLDP_ID_NS } from "../../../src/location/held.js";
import { schemaComplaint, type LocationSchema } from "../../support/xml-schema.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));

/** xmllint's verdict on a document: null when it validates against the driver schema, else its complaint. */
const invalid = (xml: string, xsd: LocationSchema, _dir: string): Promise<string | null> => schemaComplaint(xml, xsd);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const HELD_HEADERS = { "content-type": "application/held+xml;charset=utf-8", accept: "application/held+xml" };

/** One request on its own connection; `headers` replace the HELD ones (undefined drops one). */
function send(lis: LisServer, body: string | undefined, o: { method?: string; headers?: Record<string, string | undefined>; ca?: string } = {}): Promise<Answer> {
  const url = new URL(lis.url);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...HELD_HEADERS, ...o.headers })) if (v !== undefined) headers[k] = v;
  if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
  const lib = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request({ host: url.hostname, port: url.port, path: "/held", method: o.method ?? "POST", headers, agent: false, ...(o.ca ? { ca: o.ca } : {}) }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const deviceXml = (d: { ip?: string; v?: string; mac?: string; chassis?: string; port?: string }): string =>
  `<device xmlns="${HELD_ID_NS}">${d.ip ? `<ip v="${d.v ?? "4"}">${d.ip}</ip>` : ""}${d.mac ? `<mac>${d.mac}</mac>` : ""}` +
  `${d.chassis ? `<chassis xmlns="${LLDP_ID_NS}">${d.chassis}</chassis>` : ""}${d.port ? `<port xmlns="${LLDP_ID_NS}">${d.port}</port>` : ""}</device>`;

/** The phone's request (the shared standards' held-request-device-id.xml shape). */
const request = (device = "", locationType = `<locationType exact="false">civic geodetic</locationType>`): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<locationRequest xmlns="${HELD_NS}" responseTime="emergencyRouting">${locationType}${device}</locationRequest>\n`;

const civic = (extra: Record<string, string>): Record<string, string> => ({ lang: "en-US", country: "US", A1: "TX", A3: "Austin", PRD: "N", RD: "Lamar", STS: "BLVD", HNO: "1100", PC: "78703", BLD: "Tower 2", ...extra });

const WIREMAP = {
  entries: [
    { name: "desk 17", mac: "00:11:22:33:44:55", civic: civic({ FLR: "3", SEAT: "Desk 17" }) },
    { chassis: "00-1F-9E-00-03-00", port: "Gi1/0/7", civic: civic({ FLR: "3", ROOM: "3-214" }) },
    { subnet: "127.0.0.0/8", civic: civic({ LOC: "Loopback lab" }) },
    { subnet: "10.1.0.0/16", civic: civic({ LOC: "Campus" }) },
    { subnet: "10.1.3.0/24", civic: civic({ LOC: "Voice VLAN", FLR: "3" }) },
    { subnet: "2001:db8:3::/48", civic: civic({ LOC: "IPv6 floor", FLR: "3" }) },
    { subnet: "10.66.0.0/16", notLocatable: true },
  ],
};

describe("reference LIS (HELD over HTTPS, RFC 6155 device identity)", function () {
  this.timeout(60000);
  let dir: string;
  let tls: { certPem: string; keyPem: string };
  const started: LisServer[] = [];
  const clock = new ManualClock(0, Date.UTC(2026, 0, 15, 15, 4, 5));

  /** A LIS on its own wiremap file, with its log readable. */
  async function start(map: unknown, extra: Partial<LisServerOptions> = {}): Promise<{ lis: LisServer; file: string; log: () => string }> {
    const file = path.join(dir, `wiremap-${started.length}.json`);
    await fs.writeFile(file, JSON.stringify(map, null, 2));
    const sink = new PassThrough();
    let text = "";
    sink.on("data", (d: Buffer) => (text += d.toString()));
    const lis = await startLisServer({ wiremapFile: file, port: 0, host: "127.0.0.1", tls, clock, log: createLogger({ name: "lis", destination: sink }), ...extra });
    started.push(lis);
    return { lis, file, log: () => text };
  }

  /** Checks a HELD answer the way a phone relies on it: 200, the headers of §8, valid HELD, valid PIDF-LO inside. */
  async function held(a: Answer): Promise<{ root: string; code?: string; presence?: string; device?: string }> {
    assert.equal(a.status, 200, a.body);
    assert.equal(a.headers["content-type"], "application/held+xml;charset=utf-8");
    assert.equal(a.headers["cache-control"], "no-cache");
    assert.equal(Number(a.headers["content-length"]), Buffer.byteLength(a.body));
    assert.equal(await invalid(a.body, "held-validate.xsd", dir), null, a.body);
    const presence = /<presence[\s\S]*<\/presence>/.exec(a.body)?.[0];
    if (presence) assert.equal(await invalid(`<?xml version="1.0" encoding="UTF-8"?>\n${presence}\n`, "pidf-lo-validate.xsd", dir), null, presence);
    return { root: /<(locationResponse|error)\b/.exec(a.body)?.[1] ?? "", code: /<error [^>]*code="([^"]+)"/.exec(a.body)?.[1], presence, device: /<device[\s\S]*<\/device>/.exec(a.body)?.[0] };
  }

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "lis-"));
    const [cert, key] = [path.join(dir, "cert.pem"), path.join(dir, "key.pem")];
    await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]);
    tls = { certPem: await fs.readFile(cert, "utf8"), keyPem: await fs.readFile(key, "utf8") };
  });
  after(async () => {
    for (const lis of started) await lis.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe("lookups", () => {
    let lis: LisServer;
    let ca: string;
    const post = (body: string): Promise<Answer> => send(lis, body, { ca });
    before(async () => {
      ({ lis } = await start(WIREMAP));
      ca = tls.certPem;
    });

    it("the validator itself refuses a broken answer (the checks can fail)", async () => {
      assert.notEqual(await invalid(`<locationResponse xmlns="${HELD_NS}"><locationUriSet/></locationResponse>`, "held-validate.xsd", dir), null);
      assert.notEqual(await invalid(`<error xmlns="${HELD_NS}"/>`, "held-validate.xsd", dir), null);
    });

    it("by MAC: one PIDF-LO (pseudonym entity, Wiremap, usage-rules, provided-by, UTC times), the mac echoed", async () => {
      const a = await held(await post(request(deviceXml({ ip: "10.1.3.77", mac: "00-11-22-33-44-55" }))));
      assert.equal(a.root, "locationResponse");
      const p = a.presence!;
      assert.match(p, /<ca:FLR>3<\/ca:FLR><ca:PC>78703<\/ca:PC><ca:BLD>Tower 2<\/ca:BLD><ca:SEAT>Desk 17<\/ca:SEAT>/);
      assert.match(p, /entity="pres:[0-9a-f]{20}@127\.0\.0\.1"/);
      assert.match(p, /<gp:usage-rules><gbp:retransmission-allowed>true<\/gbp:retransmission-allowed><gbp:retention-expiry>2026-01-16T15:04:05Z<\/gbp:retention-expiry><\/gp:usage-rules>/);
      assert.match(p, /<gp:method>Wiremap<\/gp:method>/);
      assert.ok(p.includes(`purpose="EmergencyCallData.ProviderInfo" ref="${lis.url}"`), p);
      assert.match(p, /<timestamp>2026-01-15T15:04:05Z<\/timestamp>/);
      assert.equal(a.device, `<device xmlns="${HELD_ID_NS}"><mac>00-11-22-33-44-55</mac></device>`);
      const again = await held(await post(request(deviceXml({ mac: "00-11-22-33-44-55" }))));
      assert.notEqual(/entity="([^"]+)"/.exec(again.presence!)![1], /entity="([^"]+)"/.exec(p)![1], "an unlinked pseudonym: a new one each time");
      assert.deepEqual({ ...lis.requests.at(-1), at: 0 }, { at: 0, method: "POST", path: "/held", remote: "127.0.0.1", status: 200, held: "locationResponse", by: "mac", entry: "entries[0]", ids: { mac: "00-11-22-33-44-55", ip: "127.0.0.1" } });
    });

    it("by the subnet of the source IP when the request has no <device>, and then echoes no <device>", async () => {
      const a = await held(await post(request()));
      assert.match(a.presence!, /<ca:LOC>Loopback lab<\/ca:LOC>/);
      assert.equal(a.device, undefined);
      const bare = await held(await post(`<locationRequest xmlns="${HELD_NS}"/>`));
      assert.match(bare.presence!, /Loopback lab/);
    });

    it("by the ip in <device> (the longest subnet), echoing that ip with its version", async () => {
      const a = await held(await post(request(deviceXml({ ip: "10.1.3.77" }))));
      assert.match(a.presence!, /<ca:LOC>Voice VLAN<\/ca:LOC>/);
      assert.equal(a.device, `<device xmlns="${HELD_ID_NS}"><ip v="4">10.1.3.77</ip></device>`);
      assert.match((await held(await post(request(deviceXml({ ip: "10.1.9.9" }))))).presence!, /Campus/);
      const v6 = await held(await post(request(deviceXml({ ip: "2001:db8:3::1:ea7:fee1", v: "6" }))));
      assert.match(v6.presence!, /IPv6 floor/);
      assert.equal(v6.device, `<device xmlns="${HELD_ID_NS}"><ip v="6">2001:db8:3::1:ea7:fee1</ip></device>`);
    });

    it("precedence: MAC over port over subnet; an unknown MAC falls through to the port, then the ip", async () => {
      const all = { ip: "10.1.3.77", chassis: "00:1f:9e:00:03:00", port: "Gi1/0/7" };
      assert.match((await held(await post(request(deviceXml({ ...all, mac: "00-11-22-33-44-55" }))))).presence!, /Desk 17/);
      const byPort = await held(await post(request(deviceXml({ ...all, mac: "A0-12-34-56-78-90" }))));
      assert.match(byPort.presence!, /<ca:ROOM>3-214<\/ca:ROOM>/);
      assert.equal(byPort.device, `<device xmlns="${HELD_ID_NS}" xmlns:lldp="${LLDP_ID_NS}"><lldp:chassis>00:1f:9e:00:03:00</lldp:chassis><lldp:port>Gi1/0/7</lldp:port></device>`);
      const byIp = await held(await post(request(deviceXml({ ip: "10.1.3.77", mac: "A0-12-34-56-78-90" }))));
      assert.match(byIp.presence!, /Voice VLAN/);
      assert.equal(byIp.device, `<device xmlns="${HELD_ID_NS}"><ip v="4">10.1.3.77</ip></device>`);
    });

    it("locationUnknown when nothing matches, notLocatable when the wiremap says so", async () => {
      const unknown = await held(await post(request(deviceXml({ ip: "192.0.2.9" }))));
      assert.equal(unknown.code, "locationUnknown");
      assert.match((await post(request(deviceXml({ ip: "192.0.2.9" })))).body, /<message xml:lang="en">no wiremap entry matches/);
      assert.equal((await held(await post(request(deviceXml({ ip: "10.66.1.1", mac: "A0-12-34-56-78-90" }))))).code, "notLocatable");
      assert.equal(lis.requests.at(-1)?.entry, "entries[6]");
    });

    it("HELD errors for what it cannot take: xmlError, unsupportedMessage, requestError, cannotProvideLiType, badIdentifier", async () => {
      for (const bad of ["<locationRequest xmlns='urn:ietf:params:xml:ns:geopriv:held'>", "", "not xml at all", `<locationRequest xmlns="${HELD_NS}">&unknown;</locationRequest>`, `<!DOCTYPE x [<!ENTITY a "b">]><locationRequest xmlns="${HELD_NS}"/>`])
        assert.equal((await held(await post(bad))).code, "xmlError", bad);
      for (const other of [`<locationResponse xmlns="${HELD_NS}"/>`, "<locationRequest/>", `<held:error xmlns:held="${HELD_NS}" code="x"/>`]) assert.equal((await held(await post(other))).code, "unsupportedMessage", other);
      assert.equal((await held(await post(request("", "<locationType>postal</locationType>")))).code, "requestError");
      assert.equal((await held(await post(`<locationRequest xmlns="${HELD_NS}" responseTime="soon"/>`))).code, "requestError");
      assert.equal((await held(await post(request("", `<locationType exact="true">geodetic</locationType>`)))).code, "cannotProvideLiType");
      assert.match((await held(await post(request("", `<locationType exact="true">civic</locationType>`)))).presence!, /Loopback lab/);
      assert.equal((await held(await post(request(deviceXml({ mac: "A0-12-34" }))))).code, "badIdentifier");
      assert.equal((await held(await post(request(deviceXml({ ip: "10.1.3" }))))).code, "badIdentifier");
    });

    it("HTTP per RFC 5985 §8: GET/HEAD 404, PUT 405, wrong Content-Type or Accept 406, Expect/Range 501, If-* 412, too large 413", async () => {
      const body = request();
      const cases: [string, Promise<Answer>, number][] = [
        ["GET", send(lis, undefined, { ca, method: "GET" }), 404],
        ["HEAD", send(lis, undefined, { ca, method: "HEAD" }), 404],
        ["PUT", send(lis, body, { ca, method: "PUT" }), 405],
        ["text/xml", send(lis, body, { ca, headers: { "content-type": "text/xml" } }), 406],
        ["no Content-Type", send(lis, body, { ca, headers: { "content-type": undefined } }), 406],
        ["latin-1", send(lis, body, { ca, headers: { "content-type": "application/held+xml;charset=iso-8859-1" } }), 406],
        ["no Accept", send(lis, body, { ca, headers: { accept: undefined } }), 406],
        ["Accept json", send(lis, body, { ca, headers: { accept: "application/json" } }), 406],
        ["Accept q=0", send(lis, body, { ca, headers: { accept: "application/held+xml;q=0, text/plain" } }), 406],
        ["Expect 100-continue", send(lis, body, { ca, headers: { expect: "100-continue" } }), 501],
        ["Expect other", send(lis, body, { ca, headers: { expect: "something" } }), 501],
        ["Range", send(lis, body, { ca, headers: { range: "bytes=0-10" } }), 501],
        ["If-None-Match", send(lis, body, { ca, headers: { "if-none-match": "*" } }), 412],
        ["too large", send(lis, `${body}${" ".repeat(70 * 1024)}`, { ca }), 413],
      ];
      for (const [what, p, want] of cases) {
        const a = await p;
        assert.equal(a.status, want, `${what}: ${a.body}`);
        assert.equal(a.headers["cache-control"], "no-cache", what);
        assert.ok(a.headers["content-length"] !== undefined, what);
      }
      assert.equal((await send(lis, undefined, { ca, method: "PUT" })).headers.allow, "POST");
      assert.match((await send(lis, body, { ca, headers: { accept: undefined } })).body, /Accept must include application\/held\+xml/);
      // a HELD-speaking phone still gets its answer with parameters and lists in the headers
      await held(await send(lis, body, { ca, headers: { "content-type": 'Application/HELD+xml; charset="UTF-8"', accept: "text/plain;q=0.5, application/held+xml" } }));
    });
  });

  it("badIdentifier with requiredIdentifiers 'mac ip' when the wiremap requires a MAC", async () => {
    const { lis } = await start({ ...WIREMAP, requireMac: true });
    for (const body of [request(), request(deviceXml({ ip: "10.1.3.77" }))]) {
      const a = await send(lis, body, { ca: tls.certPem });
      const h = await held(a);
      assert.equal(h.code, "badIdentifier");
      assert.match(a.body, new RegExp(`<requiredIdentifiers xmlns="${HELD_ID_NS}">mac ip</requiredIdentifiers>`));
    }
    assert.match((await held(await send(lis, request(deviceXml({ ip: "10.1.3.77", mac: "a0:12:34:56:78:90" })), { ca: tls.certPem }))).presence!, /Voice VLAN/);
  });

  it("answers from the wiremap as edited while running; a broken edit keeps the old map and logs the error", async () => {
    const { lis, file, log } = await start(WIREMAP);
    const ask = async (): Promise<string> => (await held(await send(lis, request(deviceXml({ ip: "10.1.3.77" })), { ca: tls.certPem }))).presence ?? "";
    assert.match(await ask(), /Voice VLAN/);
    const edited = structuredClone(WIREMAP);
    edited.entries[4].civic = civic({ LOC: "Moved to floor 4", FLR: "4" });
    await fs.writeFile(file, JSON.stringify(edited));
    assert.match(await ask(), /<ca:LOC>Moved to floor 4<\/ca:LOC><ca:FLR>4<\/ca:FLR>/);
    assert.match(log(), /wiremap reloaded/);

    const broken = structuredClone(edited);
    (broken.entries[4].civic as Record<string, string>).country = "USA";
    await fs.writeFile(file, JSON.stringify(broken));
    assert.match(await ask(), /Moved to floor 4/, "the last good map stays in use");
    assert.match(await ask(), /Moved to floor 4/);
    const errors = log().split("\n").filter((l) => l.includes("keeping the last good one"));
    assert.equal(errors.length, 1, "each bad version is logged once");
    assert.match(errors[0], /"level":50/);
    assert.ok(errors[0].includes(`${file}: entries[4].civic.country must be two letters`), errors[0]);
    await assert.rejects(lis.reload(), /entries\[4\]\.civic\.country must be two letters/);

    await fs.writeFile(file, "{ not json");
    assert.match(await ask(), /Moved to floor 4/);
    assert.match(log(), /not JSON/);
    await fs.rm(file);
    assert.match(await ask(), /Moved to floor 4/, "a deleted file keeps the last map too");
    assert.match(log(), /wiremap unreadable/);

    await fs.writeFile(file, JSON.stringify(WIREMAP));
    assert.match(await ask(), /Voice VLAN/, "a good version is taken again");
    assert.equal((await lis.reload()).entries.length, WIREMAP.entries.length);
  });

  it("refuses to start on a bad wiremap, naming the field", async () => {
    const file = path.join(dir, "bad.json");
    await fs.writeFile(file, JSON.stringify({ entries: [{ subnet: "10.1.3.0/24", civic: civic({ country: "United States" }) }] }));
    await assert.rejects(startLisServer({ wiremapFile: file, port: 0, host: "127.0.0.1", tls }), (e: Error) => e.message === `${file}: entries[0].civic.country must be two letters (ISO 3166-1, e.g. "US"), not "United States"`);
  });

  it("serves plain HTTP when given no TLS (for the phone's emergency fallback), with the http URL in provided-by", async () => {
    const { lis } = await start(WIREMAP, { tls: null });
    assert.match(lis.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const a = await held(await send(lis, request(deviceXml({ mac: "00-11-22-33-44-55" }))));
    assert.ok(a.presence!.includes(`ref="${lis.url}"`));
  });

  describe("deskphone-lis command (bin/lis.js)", () => {
    /** Runs bin/lis.js; with `talk`, runs it once the listening line is out, then SIGTERMs it. */
    function lisCmd(args: string[], talk?: (url: string) => Promise<void>): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(root, "bin", "lis.js"), ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        let talked = false;
        const limit = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`lis ${args.join(" ")} did not finish: ${out} ${err}`));
        }, 30000);
        child.stdout.on("data", (d) => {
          out += d;
          const m = /^LIS listening on (\S+)\n/.exec(out);
          if (m && talk && !talked) {
            talked = true;
            talk(m[1]).then(() => child.kill("SIGTERM"), (e: Error) => (child.kill("SIGTERM"), reject(e)));
          }
        });
        child.stderr.on("data", (d) => (err += d));
        child.on("exit", (code, signal) => {
          clearTimeout(limit);
          resolve({ code, signal, out, err });
        });
      });
    }

    it("prints one line with its https URL, answers HELD, and stops cleanly on SIGTERM", async () => {
      const wm = path.join(dir, "cli-wiremap.json");
      await fs.writeFile(wm, JSON.stringify(WIREMAP));
      await fs.writeFile(path.join(dir, "cli-cert.pem"), tls.certPem);
      await fs.writeFile(path.join(dir, "cli-key.pem"), tls.keyPem);
      const r = await lisCmd(["--wiremap", wm, "--port", "0", "--host", "127.0.0.1", "--cert", path.join(dir, "cli-cert.pem"), "--key", path.join(dir, "cli-key.pem"), "--log-level", "warn"], async (url) => {
        assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
        const fake = { url, port: Number(new URL(url).port) } as LisServer;
        assert.match((await held(await send(fake, request(deviceXml({ mac: "00-11-22-33-44-55" })), { ca: tls.certPem }))).presence!, /Desk 17/);
      });
      assert.deepEqual([r.code, r.signal], [0, null], r.err);
      assert.match(r.out, /^LIS listening on https:\/\/127\.0\.0\.1:\d+\n$/);
    });

    it("exits 1 naming the bad field of the wiremap, and 2 with the usage on bad arguments", async () => {
      const wm = path.join(dir, "cli-bad.json");
      await fs.writeFile(wm, JSON.stringify({ entries: [{ mac: "00-11-22-33-44-55", civic: { country: "US", Floor: "3" } }] }));
      const bad = await lisCmd(["--wiremap", wm, "--port", "0", "--host", "127.0.0.1"]);
      assert.equal(bad.code, 1);
      assert.match(bad.err, /entries\[0\]\.civic\.Floor is not an RFC 5139 element \(did you mean FLR\?\)/);
      assert.equal(bad.out, "");
      for (const args of [["--port", "0"], ["--wiremap", wm], ["--wiremap", wm, "--port", "70000"], ["--wiremap", wm, "--port", "0", "--cert", "c.pem"], ["--bogus"]]) {
        const r = await lisCmd(args);
        assert.equal(r.code, 2, args.join(" "));
        assert.match(r.err, /usage: deskphone-lis --wiremap FILE --port N/);
      }
    });
  });
});

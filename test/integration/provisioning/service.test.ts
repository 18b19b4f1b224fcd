// The reference provisioning service for real: HTTPS on 127.0.0.1:0 with a temp data dir, users added with the admin
// CLI (the command once, then its functions), sign-in with a CSR made here, a device certificate chaining to the
// returned CA, the config fetched with mutual TLS, revocation, the PIN lockout and the admin unlock, bad requests, the
// Kamailio subscriber file, and an audit log and service log with no PIN or password in them.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { webcrypto, X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { createLogger } from "../../../src/base/log.js";
import { checkBundle, type ConfigBundle } from "../../../src/provisioning/config-bundle.js";
import { startProvisioningService, ServiceErrorCodes, type ProvisioningService } from "../../../src/provisioning/server/service.js";
import { loadServiceConfig } from "../../../src/provisioning/server/service-config.js";
import { adminMain } from "../../../src/provisioning/server/admin-cli.js";
import { SUBSCRIBER_HEADER } from "../../../src/provisioning/server/kamailio-subscribers.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
/** The key pair type @peculiar/x509 declares (WebCrypto's, which node's types spell differently). */
type X509Keys = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"];

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown> & { error?: { code: string; message: string; triesLeft?: number; lockedUntil?: string; deviceId?: string } };
}

interface Call {
  body?: string | Buffer;
  /** Sent in pieces with no Content-Length (chunked). */
  chunks?: Buffer[];
  cert?: string;
  key?: string;
}

/** One HTTPS request, on its own connection (no TLS session reused between identities). */
function call(svc: ProvisioningService, method: string, route: string, o: Call = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = https.request(
      {
        host: "127.0.0.1",
        port: svc.port,
        path: route,
        method,
        ca: svc.caPem,
        agent: false,
        ...(o.cert ? { cert: o.cert, key: o.key } : {}),
        headers: o.body !== undefined ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(o.body)) } : o.chunks ? { "content-type": "application/json" } : {},
      },
      (res) => {
        answered = true;
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as Answer["body"]) : {} }));
      },
    );
    req.on("error", (e) => {
      if (!answered) reject(e);
    });
    if (o.chunks) for (const c of o.chunks) req.write(c);
    req.end(o.body);
  });
}

interface DeviceKeys {
  csr: string;
  keyPem: string;
}

async function deviceKeys(alg: "ec" | "rsa" = "ec"): Promise<DeviceKeys> {
  const params = alg === "ec" ? { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } : { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
  const keys = (await webcrypto.subtle.generateKey(params as webcrypto.EcKeyGenParams, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: "CN=deskphone", keys: keys as unknown as X509Keys, signingAlgorithm: params });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)).toString("base64");
  return { csr: csr.toString("pem"), keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/.{1,64}/g, "$&\n")}-----END PRIVATE KEY-----\n` };
}

const signIn = (svc: ProvisioningService, extension: string, pin: string, csr: string): Promise<Answer> => call(svc, "POST", "/v1/sign-in", { body: JSON.stringify({ extension, pin, csr }) });

/** Runs a bin/ command; resolves its exit code and output (or, with `until`, SIGTERMs it once stdout matches). */
function runBin(bin: string, args: string[], until?: RegExp): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, "bin", bin), ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const limit = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${bin} ${args.join(" ")} did not finish: ${out} ${err}`));
    }, 20000);
    child.stdout.on("data", (d) => {
      out += d;
      if (until?.test(out)) until = void child.kill("SIGTERM");
    });
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => {
      clearTimeout(limit);
      resolve({ code, out, err });
    });
  });
}

describe("provisioning service (HTTPS, SQLite, admin CLI)", function () {
  this.timeout(60000);
  let dir: string;
  let configFile: string;
  let kamFile: string;
  let svc: ProvisioningService;
  let logText = "";
  const admin = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = "";
    let err = "";
    const code = await adminMain(["--config", configFile, ...args], { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  };

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "prov-service-"));
    configFile = path.join(dir, "provisioning.json");
    kamFile = path.join(dir, "kamailio", "subscriber");
    await fs.mkdir(path.dirname(kamFile));
    await fs.writeFile(
      configFile,
      JSON.stringify({
        listen: "127.0.0.1:0",
        dataDir: "data",
        sip: { domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: 5060, transport: "udp" }] },
        tlsNames: ["localhost", "127.0.0.1"],
        kamailioSubscriberFile: "kamailio/subscriber",
      }),
    );
    // the command once, as IT types it, before the service ever ran
    const added = await runBin("deskphone-admin.js", ["--config", configFile, "add-user", "1001", "--name", "Alice Smith", "--pin", "13579", "--private-line", "2001"]);
    assert.deepEqual(added, { code: 0, out: "added 1001 (Alice Smith)\n", err: "" });
    assert.equal((await admin("add-user", "1002", "--name", "Bob Jones", "--pin", "24680")).code, 0);
    assert.equal((await admin("policy", "set", "lock", '{"afterIdleMinutes":10}')).code, 0);
    const logs = new PassThrough();
    logs.on("data", (d: Buffer) => (logText += d.toString()));
    svc = await startProvisioningService(await loadServiceConfig(configFile), { log: createLogger({ level: "debug", destination: logs }) });
  });

  after(async () => {
    await svc?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("answers /v1/health", async () => {
    assert.deepEqual(await call(svc, "GET", "/v1/health").then((a) => [a.status, a.body]), [200, { ok: true }]);
    assert.match(svc.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const nowhere = await call(svc, "GET", "/v1/nowhere");
    assert.equal(nowhere.status, 404);
    assert.equal(nowhere.body.error?.code, ServiceErrorCodes.NOT_FOUND);
    const wrongMethod = await call(svc, "GET", "/v1/sign-in");
    assert.deepEqual([wrongMethod.status, wrongMethod.body.error?.code, wrongMethod.headers.allow], [405, "PHONE_ERR_METHOD_NOT_ALLOWED", "POST"]);
  });

  it("signs a phone in, returns a certificate chaining to its CA and the bundle; the config comes with mutual TLS; revocation gives 403", async () => {
    const keys = await deviceKeys("ec");
    const a = await signIn(svc, "1001", "13579", keys.csr);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const device = a.body.device as { id: string };
    assert.match(device.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(a.body.ca, svc.caPem);
    const cert = new X509Certificate(a.body.certificate as string);
    const ca = new X509Certificate(svc.caPem);
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), "the certificate chains to the returned CA");
    assert.equal(cert.subject, `CN=${device.id}`);
    assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.2"]);
    assert.ok(cert.checkPrivateKey((await import("node:crypto")).createPrivateKey(keys.keyPem)), "issued to the CSR's key");

    const bundle = checkBundle(a.body.bundle, "sign-in answer");
    const alice = bundle.accounts[0]!;
    assert.deepEqual({ ...alice, password: "-" }, { user: "1001", password: "-", displayName: "Alice Smith", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: 5060, transport: "udp" }] });
    assert.match(alice.password, /^[A-Za-z0-9]{24}$/);
    assert.deepEqual(bundle.directory, [
      { name: "Alice Smith", number: "1001" },
      { name: "Bob Jones", number: "1002" },
    ]);
    assert.deepEqual(bundle.lock, { afterIdleMinutes: 10 });
    assert.ok(!JSON.stringify(bundle.directory).includes("2001"), "the private line is not in the directory");
    assert.deepEqual(bundle.privateLine, { number: "2001" }, "but the user's own bundle has it");
    assert.equal(bundle.delegation, undefined, "no delegation unless the policy enables it");
    assert.equal(a.headers["cache-control"], "no-store");

    // Kamailio reads the same credentials
    const kam = await fs.readFile(kamFile, "utf8");
    assert.ok(kam.startsWith(SUBSCRIBER_HEADER + "\n"));
    assert.ok(kam.includes(`\n1:1001:127.0.0.1:${alice.password}::\n`), kam);

    // the config with the device certificate (mutual TLS)
    const c = await call(svc, "GET", "/v1/config", { cert: a.body.certificate as string, key: keys.keyPem });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    assert.deepEqual(c.body.bundle as ConfigBundle, bundle);
    const devices = JSON.parse((await admin("devices", "1001", "--json")).out) as Array<{ id: string; lastSeenAt: number | null; certSha256: string }>;
    assert.equal(devices.length, 1);
    assert.equal(devices[0]!.id, device.id);
    assert.notEqual(devices[0]!.lastSeenAt, null, "last seen is updated");
    assert.equal(devices[0]!.certSha256, cert.fingerprint256.replace(/:/g, "").toLowerCase());

    // without a certificate, or with one from another CA
    const none = await call(svc, "GET", "/v1/config");
    assert.deepEqual([none.status, none.body.error?.code], [401, "PHONE_ERR_NO_DEVICE_CERT"]);
    const stranger = await selfSigned();
    const foreign = await call(svc, "GET", "/v1/config", stranger);
    assert.deepEqual([foreign.status, foreign.body.error?.code], [401, "PHONE_ERR_NO_DEVICE_CERT"]);

    // revoked through the CLI
    assert.deepEqual(await admin("revoke", device.id), { code: 0, out: `revoked device ${device.id} (1001)\n`, err: "" });
    const r = await call(svc, "GET", "/v1/config", { cert: a.body.certificate as string, key: keys.keyPem });
    assert.deepEqual([r.status, r.body.error?.code, r.body.error?.deviceId], [403, "PHONE_ERR_DEVICE_REVOKED", device.id]);
    assert.match(r.body.error!.message, /^this device was revoked on \d{4}-\d\d-\d\dT/);
  });

  it("takes an RSA 2048 request too, and gives a removed user's phone 403", async () => {
    assert.equal((await admin("add-user", "1003", "--name", "Carol", "--pin", "97531")).code, 0);
    const keys = await deviceKeys("rsa");
    const a = await signIn(svc, "1003", "97531", keys.csr);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.ok((await fs.readFile(kamFile, "utf8")).includes(":1003:127.0.0.1:"));
    assert.equal((await call(svc, "GET", "/v1/config", { cert: a.body.certificate as string, key: keys.keyPem })).status, 200);
    assert.deepEqual(await admin("remove-user", "1003"), { code: 0, out: "removed 1003 (1 device revoked)\n", err: "" });
    const r = await call(svc, "GET", "/v1/config", { cert: a.body.certificate as string, key: keys.keyPem });
    assert.deepEqual([r.status, r.body.error?.code], [403, "PHONE_ERR_DEVICE_REVOKED"]);
    assert.ok(!(await fs.readFile(kamFile, "utf8")).includes(":1003:"), "Kamailio no longer has the user");
    // the extension is gone: a sign-in is answered as a wrong PIN, never "no such user"
    const gone = await signIn(svc, "1003", "97531", keys.csr);
    assert.deepEqual([gone.status, gone.body.error?.code, gone.body.error?.triesLeft], [401, "PHONE_ERR_WRONG_PIN", 4]);
  });

  it("counts wrong PINs down, locks for an hour (the right PIN too), and signs in again after an admin unlock", async () => {
    const keys = await deviceKeys();
    const tries: Array<number | undefined> = [];
    for (let i = 0; i < 4; i++) {
      const a = await signIn(svc, "1002", "11223", keys.csr);
      assert.equal(a.status, 401);
      assert.equal(a.body.error?.code, "PHONE_ERR_WRONG_PIN");
      tries.push(a.body.error?.triesLeft);
    }
    assert.deepEqual(tries, [4, 3, 2, 1]);
    const locked = await signIn(svc, "1002", "11223", keys.csr);
    assert.equal(locked.status, 423);
    assert.equal(locked.body.error?.code, "PHONE_ERR_PIN_LOCKED");
    const until = Date.parse(locked.body.error!.lockedUntil!);
    assert.ok(Math.abs(until - (Date.now() + 3600_000)) < 60_000, locked.body.error!.lockedUntil);
    assert.match(locked.body.error!.message, /until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/);
    assert.ok(Number(locked.headers["retry-after"]) > 3500);
    const right = await signIn(svc, "1002", "24680", keys.csr);
    assert.deepEqual([right.status, right.body.error?.lockedUntil], [423, locked.body.error!.lockedUntil]);
    assert.match((await admin("list-users")).out, /1002 +Bob Jones +- +- +set +\d{4}-\d\d-\d\dT/);

    const u = await admin("unlock", "1002");
    assert.equal(u.code, 0);
    assert.match(u.out, /^unlocked 1002 \(was locked until /);
    assert.equal((await signIn(svc, "1002", "24680", keys.csr)).status, 200);
  });

  it("answers an unknown extension exactly like a wrong PIN", async () => {
    const keys = await deviceKeys();
    const a = await signIn(svc, "4711", "13579", keys.csr);
    assert.deepEqual([a.status, Object.keys(a.body.error ?? {}).sort(), a.body.error?.triesLeft], [401, ["code", "message", "triesLeft"], 4]);
    const b = await signIn(svc, "1001", "97531", keys.csr);
    assert.deepEqual(Object.keys(b.body.error ?? {}).sort(), ["code", "message", "triesLeft"]);
    assert.equal(a.body.error?.message, b.body.error?.message);
    await signIn(svc, "1001", "13579", keys.csr); // clears 1001's count again
  });

  it("refuses bad requests with a specific 400, and an oversized body with 413, without costing a try", async () => {
    const keys = await deviceKeys();
    const bad = async (body: string): Promise<string> => {
      const a = await call(svc, "POST", "/v1/sign-in", { body });
      assert.equal(a.status, 400, body.slice(0, 80));
      assert.equal(a.body.error?.code, "PHONE_ERR_BAD_REQUEST");
      return a.body.error!.message;
    };
    assert.match(await bad("{not json"), /^the body is not JSON/);
    assert.equal(await bad("[1,2]"), "the body must be a JSON object with extension, pin and csr");
    assert.equal(await bad(JSON.stringify({ extension: "1001", csr: keys.csr })), "pin: missing");
    assert.equal(await bad(JSON.stringify({ pin: "13579", csr: keys.csr })), "extension: missing");
    assert.equal(await bad(JSON.stringify({ extension: "1001", pin: "13579" })), "csr: missing");
    assert.equal(await bad(JSON.stringify({ extension: 1001, pin: "13579", csr: keys.csr })), "extension: must be a string of 1 to 15 digits");
    assert.equal(await bad(JSON.stringify({ extension: "1001", pin: 13579, csr: keys.csr })), "pin: must be a string of digits");
    assert.match(await bad(JSON.stringify({ extension: "1001", pin: "13579", csr: "garbage" })), /^csr: not a PEM certificate request/);
    assert.match(await bad(JSON.stringify({ extension: "1001", pin: "13579", csr: "-----BEGIN CERTIFICATE REQUEST-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE REQUEST-----" })), /^csr: not a valid PKCS#10 certificate request/);
    // none of these cost 1001 a try: the next wrong PIN still has 4 left
    const w = await signIn(svc, "1001", "97531", keys.csr);
    assert.equal(w.body.error?.triesLeft, 4);
    await signIn(svc, "1001", "13579", keys.csr);

    const big = JSON.stringify({ extension: "1001", pin: "13579", csr: "x".repeat(70 * 1024) });
    const declared = await call(svc, "POST", "/v1/sign-in", { body: big });
    assert.deepEqual([declared.status, declared.body.error?.code], [413, "PHONE_ERR_TOO_LARGE"]);
    assert.equal(declared.body.error!.message, `the body is ${big.length} bytes, over the limit of 65536 bytes`);
    const chunked = await call(svc, "POST", "/v1/sign-in", { chunks: [Buffer.from(big.slice(0, 40000)), Buffer.from(big.slice(40000))] });
    assert.deepEqual([chunked.status, chunked.body.error?.code, chunked.body.error?.message], [413, "PHONE_ERR_TOO_LARGE", "the body is over the limit of 65536 bytes"]);
    assert.equal((await call(svc, "GET", "/v1/health")).status, 200, "the service carries on");
  });

  it("audits every event, with no PIN or password in the audit log, the service log or the database", async () => {
    assert.match((await admin("reset-pin", "1002")).out, /^new PIN for 1002: \d+ \(shown once\)\n$/);
    const audit = await admin("audit", "--limit", "1000", "--json");
    const entries = JSON.parse(audit.out) as Array<{ event: string; actor: string; extension: string | null }>;
    const events = new Set(entries.map((e) => e.event));
    for (const e of ["user-added", "user-removed", "pin-set", "pin-reset", "pin-failure", "pin-locked", "pin-unlocked", "sign-in", "device-revoked", "config-fetched"]) assert.ok(events.has(e), e);
    assert.ok(entries.some((e) => e.actor === "service" && e.event === "sign-in" && e.extension === "1001"));
    assert.ok(entries.some((e) => e.event === "pin-failure" && e.extension === "4711"), "an unknown extension's attempt is audited");
    const users = JSON.parse((await admin("list-users", "--json")).out) as Array<{ extension: string }>;
    assert.ok(!users.some((u) => u.extension === "4711"), "and leaves no trace as a user");

    const bundle = (await signIn(svc, "1001", "13579", (await deviceKeys()).csr)).body.bundle as ConfigBundle;
    const secrets = ["13579", "24680", "97531", "11223", bundle.accounts[0]!.password];
    const text = audit.out + (await admin("audit", "--limit", "1000")).out;
    for (const s of secrets) assert.ok(!text.includes(s), `audit log has ${s}`);
    for (const s of secrets) assert.ok(!logText.includes(s), `service log has ${s}`);
    assert.ok(!logText.includes("PRIVATE KEY"));
    assert.match(logText, /sign-in: device certificate issued/);
    const dbDir = path.join(dir, "data");
    for (const f of await fs.readdir(dbDir)) {
      if (!f.startsWith("provisioning.db")) continue;
      const raw = (await fs.readFile(path.join(dbDir, f))).toString("latin1");
      for (const pin of ["13579", "24680", "97531"]) assert.ok(!raw.includes(pin), `${f} has a PIN in clear`);
    }
  });

  it("the OpenAPI document describes these routes and error codes", async () => {
    const doc = await fs.readFile(path.join(root, "src/provisioning/server/openapi.yaml"), "utf8");
    assert.match(doc, /^openapi: 3\.0\.\d+$/m);
    for (const p of ["/v1/sign-in:", "/v1/config:", "/v1/delegates:", "/v1/health:"]) assert.ok(doc.includes(`\n  ${p}\n`), p);
    for (const code of Object.values(ServiceErrorCodes)) assert.ok(doc.includes(code), code);
    for (const status of ['"200"', '"400"', '"401"', '"403"', '"409"', '"413"', '"423"']) assert.ok(doc.includes(status), status);
  });

  it("runs as a command: bin/provisioning-service.js --config FILE prints where it listens and stops on SIGTERM", async () => {
    const other = path.join(dir, "second.json");
    await fs.writeFile(other, JSON.stringify({ listen: "127.0.0.1:0", dataDir: "second-data", sip: { domain: "127.0.0.1", servers: [{ host: "127.0.0.1", transport: "tcp" }] } }));
    const r = await runBin("provisioning-service.js", ["--config", other, "--log-level", "warn"], /listening on https:\/\/127\.0\.0\.1:\d+\n/);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^provisioning: listening on https:\/\/127\.0\.0\.1:\d+\n$/);
    const bad = await runBin("provisioning-service.js", []);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--config FILE is required/);
  });
});

/** A client certificate and key from a CA the service never saw. */
async function selfSigned(): Promise<{ cert: string; key: string }> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = (await webcrypto.subtle.generateKey(alg as webcrypto.EcKeyGenParams, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ name: "CN=stranger", keys: keys as unknown as X509Keys, signingAlgorithm: alg, extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])] });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)).toString("base64");
  return { cert: cert.toString("pem"), key: `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/.{1,64}/g, "$&\n")}-----END PRIVATE KEY-----\n` };
}

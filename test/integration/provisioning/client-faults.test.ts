// The phone's provisioning client against a fake service that misbehaves: bad JSON, a huge answer, no answer, a
// certificate from another CA or for another key, a bundle that fails the schema, wrong PIN and locks, a service
// certificate the phone does not trust, plain http, a closed port, and /v1/config's revoked / failed / good answers.
// The fake is a real node:https server on 127.0.0.1 with a test CA made here; for the good-certificate cases it signs
// the phone's real CSR, so checkDeviceCertificate passes when it should and fails only for the fault under test.
import assert from "node:assert/strict";
import { createSystemClock } from "../../../src/base/clock.js";
import { randomUUID, webcrypto } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import type { TLSSocket } from "node:tls";
import * as x509 from "@peculiar/x509";
import type { ConfigBundle } from "../../../src/provisioning/config-bundle.js";
import { makeDeviceKey, type DeviceKey } from "../../../src/provisioning/device-identity.js";
import { failureWords, fetchConfig, putDelegates, signIn, type DelegatesSaved, type ServiceFailure, type ServiceTarget, type SignedIn } from "../../../src/provisioning/provisioning-client.js";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
type Keys = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"];
type SigningKey = Parameters<typeof x509.X509CertificateGenerator.create>[0] extends infer P ? (P extends { signingKey: infer K } ? K : never) : never;

const MB = 1 << 20;
const PIN = "24680";
const SIP_PASSWORD = "sip-secret-Zq81x";
/** The words the user sees for a lock end: HH:MM in UTC, so the test does not depend on the machine's zone. */
const hhmm = (d: Date): string => d.toISOString().slice(11, 16);

interface Ca {
  keys: Keys;
  cert: x509.X509Certificate;
  pem: string;
}

async function newKeys(): Promise<Keys> {
  return (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as unknown as Keys;
}

async function pkcs8Pem(key: unknown): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key as webcrypto.CryptoKey);
  return `-----BEGIN PRIVATE KEY-----\n${Buffer.from(der).toString("base64").replace(/.{1,64}/g, "$&\n")}-----END PRIVATE KEY-----\n`;
}

const validity = (): { notBefore: Date; notAfter: Date } => ({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) });

async function makeCa(name: string): Promise<Ca> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: `CN=${name}`,
    ...validity(),
    keys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  return { keys, cert, pem: cert.toString("pem") };
}

/** A certificate from `ca` for the key in `csrPem`, as the service issues device certificates (CN = device id, clientAuth). */
async function issueForCsr(ca: Ca, csrPem: string, deviceId: string): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  assert.ok(await csr.verify(), "the phone's CSR is self-signed by its key");
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString("hex").replace(/^./, "1"),
    subject: `CN=${deviceId}`,
    issuer: ca.cert.subject,
    ...validity(),
    publicKey: csr.publicKey,
    signingKey: ca.keys.privateKey as SigningKey,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(false), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  });
  return cert.toString("pem");
}

const goodBundle = (ext: string): ConfigBundle => ({
  version: 1,
  accounts: [{ user: ext, password: SIP_PASSWORD, displayName: "Alice Smith", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: 5060, transport: "tcp" }] }],
  directory: [{ name: "Alice Smith", number: ext }],
});

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

describe("provisioning client against a misbehaving service", function () {
  this.timeout(10_000);
  let ca: Ca;
  let otherCa: Ca;
  let phone: DeviceKey;
  let stranger: DeviceKey;
  let server: https.Server;
  let port: number;
  let handler: Handler;
  /** Requests the fake saw (method + path), to check what the client sent and that it sent at all. */
  let seen: Array<{ method: string; url: string; body: string; peerCn?: string; authorized: boolean }>;
  let target: ServiceTarget;

  const signInNow = (t: ServiceTarget = target): Promise<SignedIn | ServiceFailure> => signIn(t, "1001", PIN, phone.csrPem, phone.privateKeyPem);
  const failure = (r: SignedIn | ConfigBundle | DelegatesSaved | ServiceFailure): ServiceFailure => {
    assert.ok("kind" in r, `expected a failure, got ${JSON.stringify(r).slice(0, 200)}`);
    // whatever went wrong, the PIN is neither in the result nor in the words
    assert.ok(!JSON.stringify(r).includes(PIN), "the PIN is not in the failure");
    assert.ok(!failureWords(r, hhmm).includes(PIN), "the PIN is not in the words");
    return r;
  };
  /** The 200 sign-in answer the real service gives, for this request's CSR; `over` changes parts of it. */
  const signedInAnswer = async (body: string, over: { ca?: Ca; csrPem?: string; answerCa?: string; bundle?: unknown } = {}): Promise<unknown> => {
    const reqBody = JSON.parse(body) as { extension: string; pin: string; csr: string };
    const id = randomUUID();
    const certificate = await issueForCsr(over.ca ?? ca, over.csrPem ?? reqBody.csr, id);
    return { device: { id }, certificate, ca: over.answerCa ?? ca.pem, bundle: over.bundle ?? goodBundle(reqBody.extension) };
  };

  before(async () => {
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    [ca, otherCa, phone, stranger] = await Promise.all([makeCa("fake provisioning CA"), makeCa("some other CA"), makeDeviceKey("deskphone-test"), makeDeviceKey("another-phone")]);
    const serverKeys = await newKeys();
    const serverCert = await x509.X509CertificateGenerator.create({
      serialNumber: "02",
      subject: "CN=127.0.0.1",
      issuer: ca.cert.subject,
      ...validity(),
      publicKey: serverKeys.publicKey,
      signingKey: ca.keys.privateKey as SigningKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          { type: "ip", value: "127.0.0.1" },
          { type: "dns", value: "localhost" },
        ]),
      ],
    });
    // like the real service: asks every connection for a client certificate, requires none at the TLS level
    server = https.createServer({ key: await pkcs8Pem(serverKeys.privateKey), cert: serverCert.toString("pem"), ca: ca.pem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const sock = req.socket as TLSSocket;
        const peer = sock.getPeerCertificate();
        seen.push({ method: req.method ?? "", url: req.url ?? "", body, peerCn: peer && peer.subject ? String(peer.subject.CN) : undefined, authorized: sock.authorized });
        Promise.resolve(handler(req, res, body)).catch((e: Error) => {
          if (!res.headersSent) json(res, 599, { error: { code: "TEST_FAKE_FAILED", message: e.message } });
        });
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as net.AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    seen = [];
    target = { url: `https://127.0.0.1:${port}/`, caPem: ca.pem, timeoutMs: 3000 };
    handler = (_req, res) => json(res, 404, { error: { code: "PHONE_ERR_NOT_FOUND", message: "no handler" } });
  });

  it("control: a well-behaved service signs the phone's CSR and the client takes it (the fakes below differ by one fault)", async () => {
    handler = async (req, res, body) => json(res, 200, await signedInAnswer(body));
    const r = await signInNow();
    assert.ok(!("kind" in r), `signed in: ${JSON.stringify(r)}`);
    assert.match(r.deviceId, /^[0-9a-f-]{36}$/);
    assert.equal(r.caPem, ca.pem);
    assert.deepEqual(r.bundle, goodBundle("1001"));
    assert.deepEqual(
      seen.map((s) => [s.method, s.url]),
      [["POST", "/v1/sign-in"]],
    );
    const sent = JSON.parse(seen[0].body) as { extension: string; pin: string; csr: string };
    assert.deepEqual(sent, { extension: "1001", pin: PIN, csr: phone.csrPem });
  });

  it("1. 200 with malformed JSON -> bad-answer 'not JSON'", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"device": {"id": "x"}, "certificate": "-----BEGIN');
    };
    const f = failure(await signInNow());
    assert.equal(f.kind, "bad-answer");
    assert.equal(failureWords(f, hhmm), "The provisioning service answered badly: the answer (HTTP 200) is not JSON");
  });

  it("1b. 200 with JSON null (not an object) -> bad-answer, not a crash", async () => {
    handler = (_req, res) => json(res, 200, null);
    const f = failure(await signInNow());
    assert.equal(f.kind, "bad-answer");
    assert.match(failureWords(f, hhmm), /^The provisioning service answered badly: the answer lacks the device id, certificate or CA$/);
  });

  it("2. a 5 MB answer -> bad-answer naming the size cap; the client stops reading and drops the connection", async () => {
    const total = 5 * MB;
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    let closedAt = -1;
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("[");
      sent = 1;
      // paced so the kernel's socket buffers cannot swallow the whole answer before the client gets to judge it
      const tick = setInterval(() => {
        if (res.destroyed || sent >= total) {
          clearInterval(tick);
          if (!res.destroyed) res.end("]");
          return;
        }
        res.write(chunk);
        sent += chunk.length;
      }, 5);
      res.on("close", () => {
        closedAt = sent;
        clearInterval(tick);
      });
    };
    const t0 = Date.now();
    const f = failure(await signInNow());
    const ms = Date.now() - t0;
    assert.equal(f.kind, "bad-answer");
    assert.equal(failureWords(f, hhmm), `The provisioning service answered badly: the answer is larger than ${MB} bytes`);
    // the server sees the connection closed long before it could send 5 MB: the client did not read it all
    for (let i = 0; i < 50 && closedAt < 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(closedAt > 0, "the client closed the connection");
    assert.ok(closedAt < 3 * MB, `the server had sent ${closedAt} bytes of ${total} when the client hung up`);
    assert.ok(ms < 2000, `answered in ${ms} ms, not after the whole body`);
  });

  it("3. never answers: with timeoutMs 500 -> unreachable 'no answer in ...' within about 1 s", async () => {
    let held: ServerResponse | undefined;
    handler = (_req, res) => {
      held = res; // never answered
    };
    const t0 = Date.now();
    const f = failure(await signInNow({ ...target, timeoutMs: 500 }));
    const ms = Date.now() - t0;
    assert.equal(f.kind, "unreachable");
    assert.match(failureWords(f, hhmm), /^Cannot reach the provisioning service: no answer in /);
    assert.ok(ms >= 450 && ms < 1200, `gave up after ${ms} ms`);
    assert.equal(seen.length, 1, "the request did reach the service");
    held?.destroy();
  });

  it("3b. trickles a byte every 100 ms: with the phone's clock, timeoutMs bounds the whole exchange", async () => {
    let timer: NodeJS.Timeout | undefined;
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      timer = setInterval(() => res.write(" "), 100);
    };
    const t0 = Date.now();
    const f = failure(await signInNow({ ...target, timeoutMs: 500, clock: createSystemClock() }));
    const ms = Date.now() - t0;
    clearInterval(timer);
    assert.equal(f.kind, "unreachable");
    assert.match(failureWords(f, hhmm), /no answer in 0\.5 s/);
    assert.ok(ms >= 450 && ms < 1200, `gave up after ${ms} ms`);
  });

  it("4. a certificate signed by another CA than the `ca` it returns -> bad-answer 'not signed by the service's CA'", async () => {
    handler = async (_req, res, body) => json(res, 200, await signedInAnswer(body, { ca: otherCa }));
    const f = failure(await signInNow());
    assert.equal(f.kind, "bad-answer");
    assert.equal(failureWords(f, hhmm), "The provisioning service answered badly: the certificate is not signed by the service's CA");
  });

  it("5. a certificate for another key than the CSR's -> bad-answer 'for another key'", async () => {
    handler = async (_req, res, body) => json(res, 200, await signedInAnswer(body, { csrPem: stranger.csrPem }));
    const f = failure(await signInNow());
    assert.equal(f.kind, "bad-answer");
    assert.equal(failureWords(f, hhmm), "The provisioning service answered badly: the certificate is for another key");
  });

  it("6. a bundle that fails the schema -> bad-answer naming the field; no password in the words", async () => {
    const good = goodBundle("1001").accounts[0];
    const { password: _dropped, ...noPassword } = { ...good, user: "1002", password: "never-seen-either" };
    const bundle = { version: 1, accounts: [good, noPassword] };
    handler = async (_req, res, body) => json(res, 200, await signedInAnswer(body, { bundle }));
    const f = failure(await signInNow());
    assert.equal(f.kind, "bad-answer");
    const words = failureWords(f, hhmm);
    assert.equal(words, "The provisioning service answered badly: the service's config: /accounts/1: missing 'password'");
    assert.ok(!words.includes(SIP_PASSWORD) && !JSON.stringify(f).includes(SIP_PASSWORD), "the well-formed account's password is not shown");
  });

  it("7. 401 with triesLeft 3 -> 'Wrong PIN, 3 tries left'; 401 without -> 'Wrong extension or PIN'", async () => {
    handler = (_req, res) => json(res, 401, { error: { code: "PHONE_ERR_WRONG_PIN", message: "wrong extension or PIN", triesLeft: 3 } });
    const f = failure(await signInNow());
    assert.deepEqual(f, { kind: "wrong-pin", triesLeft: 3 });
    assert.equal(failureWords(f, hhmm), "Wrong PIN, 3 tries left");
    assert.equal(failureWords({ kind: "wrong-pin", triesLeft: 1 }, hhmm), "Wrong PIN, 1 try left");

    handler = (_req, res) => json(res, 401, { error: { code: "PHONE_ERR_WRONG_PIN", message: "wrong extension or PIN" } });
    const g = failure(await signInNow());
    assert.deepEqual(g, { kind: "wrong-pin" });
    assert.equal(failureWords(g, hhmm), "Wrong extension or PIN");
  });

  it("8. 423 with lockedUntil -> locked until a Date ('PIN locked until HH:MM'); 423 'admin' -> 'ask IT to unlock it'", async () => {
    const until = "2026-01-01T13:05:00.000Z";
    handler = (_req, res) => {
      res.setHeader("retry-after", "3600");
      json(res, 423, { error: { code: "PHONE_ERR_PIN_LOCKED", message: "PIN sign-in is locked", lockedUntil: until } });
    };
    const f = failure(await signInNow());
    assert.ok(f.kind === "locked" && f.until instanceof Date, JSON.stringify(f));
    assert.equal((f.until as Date).toISOString(), until);
    assert.equal(failureWords(f, hhmm), "PIN locked until 13:05");
    // the clock given is what formats the time (the phone's own zone and format)
    assert.equal(failureWords(f, () => "1:05 PM"), "PIN locked until 1:05 PM");

    handler = (_req, res) => json(res, 423, { error: { code: "PHONE_ERR_PIN_LOCKED", message: "PIN sign-in is locked", lockedUntil: "admin" } });
    const g = failure(await signInNow());
    assert.deepEqual(g, { kind: "locked", until: "admin" });
    assert.equal(failureWords(g, hhmm), "PIN locked: ask IT to unlock it");
  });

  it("9. the service's certificate from a CA the phone does not trust -> untrusted, and nothing is sent", async () => {
    handler = async (_req, res, body) => json(res, 200, await signedInAnswer(body));
    const f = failure(await signInNow({ ...target, caPem: otherCa.pem }));
    assert.equal(f.kind, "untrusted");
    assert.equal(failureWords(f, hhmm), "Service certificate not trusted");
    assert.equal(seen.length, 0, "the PIN was not sent to an untrusted service");
  });

  it("10. an http:// URL -> refused before any connection (the PIN never travels in the clear)", async () => {
    let connections = 0;
    const plain = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    try {
      const p = (plain.address() as net.AddressInfo).port;
      const f = failure(await signInNow({ url: `http://127.0.0.1:${p}/`, timeoutMs: 1000 }));
      assert.equal(f.kind, "unreachable");
      assert.match(failureWords(f, hhmm), /^Cannot reach the provisioning service: .*https.*the PIN never travels in the clear/);
      const g = failure(await fetchConfig({ url: `http://127.0.0.1:${p}/` }, "cert", "key"));
      assert.equal(g.kind, "unreachable");
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(connections, 0, "no connection was made");
    } finally {
      await new Promise((r) => plain.close(r));
    }
  });

  it("11. a closed port -> unreachable 'connection refused'", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const f = failure(await signInNow({ url: `https://127.0.0.1:${closedPort}/`, caPem: ca.pem, timeoutMs: 2000 }));
    assert.deepEqual(f, { kind: "unreachable", reason: "connection refused" });
    assert.equal(failureWords(f, hhmm), "Cannot reach the provisioning service: connection refused");
  });

  describe("12. fetchConfig with the device certificate (mutual TLS)", () => {
    let deviceId: string;
    let certPem: string;
    before(async () => {
      deviceId = randomUUID();
      certPem = await issueForCsr(ca, phone.csrPem, deviceId);
    });

    it("403 -> revoked ('signed out by IT')", async () => {
      handler = (_req, res) => json(res, 403, { error: { code: "PHONE_ERR_DEVICE_REVOKED", message: "device revoked", deviceId } });
      const f = failure(await fetchConfig(target, certPem, phone.privateKeyPem));
      assert.deepEqual(f, { kind: "revoked" });
      assert.equal(failureWords(f, hhmm), "This phone was signed out by IT");
    });

    it("500 -> bad-answer with the status and code", async () => {
      handler = (_req, res) => json(res, 500, { error: { code: "PHONE_ERR_INTERNAL", message: "database is locked" } });
      const f = failure(await fetchConfig(target, certPem, phone.privateKeyPem));
      assert.equal(f.kind, "bad-answer");
      assert.equal(failureWords(f, hhmm), "The provisioning service answered badly: HTTP 500 PHONE_ERR_INTERNAL");
    });

    it("200 with a valid bundle -> the bundle; the phone presented its certificate", async () => {
      handler = (req, res) => {
        const sock = req.socket as TLSSocket;
        if (!sock.authorized) return json(res, 401, { error: { code: "PHONE_ERR_NO_DEVICE_CERT", message: String(sock.authorizationError) } });
        json(res, 200, { bundle: goodBundle("1001") });
      };
      const r = await fetchConfig(target, certPem, phone.privateKeyPem);
      assert.deepEqual(r, goodBundle("1001"));
      assert.deepEqual(
        seen.map((s) => [s.method, s.url, s.peerCn, s.authorized]),
        [["GET", "/v1/config", deviceId, true]],
      );
    });

    it("200 with JSON null -> bad-answer saying the config is not an object (no TypeError text)", async () => {
      handler = (_req, res) => json(res, 200, null);
      const f = failure(await fetchConfig(target, certPem, phone.privateKeyPem));
      assert.equal(f.kind, "bad-answer");
      assert.equal(failureWords(f, hhmm), "The provisioning service answered badly: the service's config: /: must be object");
    });

    it("200 with a bundle that fails the schema -> bad-answer naming the field", async () => {
      handler = (_req, res) => json(res, 200, { bundle: { version: 1, accounts: [] } });
      const f = failure(await fetchConfig(target, certPem, phone.privateKeyPem));
      assert.equal(f.kind, "bad-answer");
      assert.match(failureWords(f, hhmm), /the service's config: \/accounts: /);
    });
  });

  describe("13. putDelegates with the device certificate (mutual TLS)", () => {
    let certPem: string;
    let deviceId: string;
    before(async () => {
      deviceId = randomUUID();
      certPem = await issueForCsr(ca, phone.csrPem, deviceId);
    });
    const put = (t: ServiceTarget = target): Promise<DelegatesSaved | ServiceFailure> => putDelegates(t, certPem, phone.privateKeyPem, ["1002", "1004"]);

    it("200 -> the stored list; it sent PUT /v1/delegates with the list, presenting its certificate", async () => {
      const answer = { delegates: [{ number: "1002", name: "Bob" }, { number: "1004", name: "Dan" }], added: ["1004"], removed: ["1003"], ringMode: "delayed", ringDelaySeconds: 12 };
      handler = (_req, res) => json(res, 200, answer);
      assert.deepEqual(await put(), { ok: true, ...answer });
      assert.deepEqual(
        seen.map((x) => [x.method, x.url, x.peerCn, x.authorized, JSON.parse(x.body) as unknown]),
        [["PUT", "/v1/delegates", deviceId, true, { delegates: ["1002", "1004"] }]],
      );
      // the ring mode goes along when given
      await putDelegates(target, certPem, phone.privateKeyPem, [], { ringMode: "delayed", ringDelaySeconds: 20 });
      assert.deepEqual(JSON.parse(seen[1]!.body), { delegates: [], ringMode: "delayed", ringDelaySeconds: 20 });
    });

    it("400 -> refused with the service's words (printable, at most 200 characters); 409 -> refused with its code", async () => {
      handler = (_req, res) => json(res, 400, { error: { code: "PHONE_ERR_BAD_REQUEST", message: "delegates: no user\nwith extension 1009" } });
      const f = failure(await put());
      assert.deepEqual(f, { kind: "refused", code: "PHONE_ERR_BAD_REQUEST", reason: "delegates: no user with extension 1009" });
      assert.equal(failureWords(f, hhmm), "Not saved: delegates: no user with extension 1009");
      handler = (_req, res) => json(res, 400, { error: { code: "PHONE_ERR_BAD_REQUEST", message: "x".repeat(5000) } });
      const g = failure(await put());
      assert.equal(g.kind === "refused" && g.reason.length, 200);
      handler = (_req, res) => json(res, 409, { error: { code: "PHONE_ERR_DELEGATION_OFF", message: "delegation is off" } });
      assert.deepEqual(failure(await put()), { kind: "refused", code: "PHONE_ERR_DELEGATION_OFF", reason: "delegation is off" });
      handler = (_req, res) => json(res, 400, {});
      assert.deepEqual(failure(await put()), { kind: "refused", code: "HTTP 400", reason: "HTTP 400" });
    });

    it("401 / 403 revoked -> revoked; 500 -> bad-answer; a 200 without the lists -> bad-answer", async () => {
      handler = (_req, res) => json(res, 403, { error: { code: "PHONE_ERR_DEVICE_REVOKED", message: "revoked", deviceId } });
      assert.deepEqual(failure(await put()), { kind: "revoked" });
      handler = (_req, res) => json(res, 401, { error: { code: "PHONE_ERR_NO_DEVICE_CERT", message: "who are you" } });
      assert.deepEqual(failure(await put()), { kind: "revoked" });
      handler = (_req, res) => json(res, 500, { error: { code: "PHONE_ERR_INTERNAL", message: "database is locked" } });
      assert.deepEqual(failure(await put()), { kind: "bad-answer", reason: "HTTP 500 PHONE_ERR_INTERNAL" });
      for (const body of [null, { delegates: [{ number: "1002" }], added: [], removed: [] }, { delegates: [], added: "1002", removed: [] }]) {
        handler = (_req, res) => json(res, 200, body);
        assert.deepEqual(failure(await put()), { kind: "bad-answer", reason: "the answer lacks the delegates, or who was added and removed" }, JSON.stringify(body));
      }
    });

    it("never answers -> unreachable within the timeout; a closed port -> unreachable; no key or certificate in any failure", async () => {
      let held: ServerResponse | undefined;
      handler = (_req, res) => {
        held = res;
      };
      const t0 = Date.now();
      const f = failure(await put({ ...target, timeoutMs: 500, clock: createSystemClock() }));
      assert.equal(f.kind, "unreachable");
      assert.ok(Date.now() - t0 < 1500);
      held?.destroy();
      const closed = net.createServer();
      await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
      const freePort = (closed.address() as net.AddressInfo).port;
      await new Promise((r) => closed.close(r));
      const g = failure(await put({ ...target, url: `https://127.0.0.1:${freePort}/` }));
      assert.deepEqual(g, { kind: "unreachable", reason: "connection refused" });
      for (const x of [f, g]) assert.ok(!JSON.stringify(x).includes("PRIVATE KEY") && !JSON.stringify(x).includes("CERTIFICATE"));
    });
  });
});

// The boss's phone writing back its delegates to the real service: HTTPS on 127.0.0.1:0 with a temp data dir, users
// added with the admin CLI, phones signed in with the phone's own client (key, CSR, device certificate), then
// PUT /v1/delegates with mutual TLS: refused while the delegation policy is off, the list replaced (audited with the
// phone as actor, in the boss's and the delegates' next config, in the registrar routing), every refusal with a 400
// naming the number, no certificate 401, a revoked device 403; the client's putDelegates against the same service; and
// the policy's forking "phone" (in the bundle, no delegations for the registrar).
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { createSystemClock } from "../../../src/base/clock.js";
import { makeDeviceKey } from "../../../src/provisioning/device-identity.js";
import { fetchConfig, failureWords, putDelegates, signIn, type ServiceTarget, type SignedIn } from "../../../src/provisioning/provisioning-client.js";
import { startProvisioningService, ServiceErrorCodes, type ProvisioningService } from "../../../src/provisioning/server/service.js";
import { loadServiceConfig } from "../../../src/provisioning/server/service-config.js";
import { adminMain } from "../../../src/provisioning/server/admin-cli.js";
import type { RegistrarRouting } from "../../../src/provisioning/server/kamailio-subscribers.js";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown> & { error?: { code: string; message: string; deviceId?: string } };
}

/** One HTTPS request on its own connection, with a device certificate when given. */
function call(svc: ProvisioningService, method: string, route: string, o: { body?: string; cert?: string; key?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port: svc.port,
        path: route,
        method,
        ca: svc.caPem,
        agent: false,
        ...(o.cert ? { cert: o.cert, key: o.key } : {}),
        headers: o.body !== undefined ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(o.body)) } : {},
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as Answer["body"]) : {} }));
      },
    );
    req.on("error", reject);
    req.end(o.body);
  });
}

interface Phone {
  signed: SignedIn;
  keyPem: string;
}

describe("PUT /v1/delegates: the boss's phone writes back the delegates (real service, mutual TLS)", function () {
  this.timeout(60000);
  let dir: string;
  let configFile: string;
  let svc: ProvisioningService;
  let target: ServiceTarget;
  let logText = "";
  const routings: RegistrarRouting[] = [];
  let alice: Phone;
  let bob: Phone;

  const admin = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = "";
    let err = "";
    const code = await adminMain(["--config", configFile, ...args], { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  };
  const phone = async (extension: string, pin: string): Promise<Phone> => {
    const key = await makeDeviceKey(`phone-${extension}`);
    const r = await signIn(target, extension, pin, key.csrPem, key.privateKeyPem);
    assert.ok(!("kind" in r), JSON.stringify(r));
    return { signed: r, keyPem: key.privateKeyPem };
  };
  const put = (p: Phone, body: unknown): Promise<Answer> => call(svc, "PUT", "/v1/delegates", { body: typeof body === "string" ? body : JSON.stringify(body), cert: p.signed.certificatePem, key: p.keyPem });
  const bundleOf = async (p: Phone): Promise<Exclude<Awaited<ReturnType<typeof fetchConfig>>, { kind: string }>> => {
    const b = await fetchConfig(target, p.signed.certificatePem, p.keyPem);
    assert.ok(!("kind" in b), JSON.stringify(b));
    return b;
  };

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "prov-delegates-"));
    configFile = path.join(dir, "provisioning.json");
    await fs.writeFile(configFile, JSON.stringify({ listen: "127.0.0.1:0", dataDir: "data", sip: { domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: 5060, transport: "udp" }] }, tlsNames: ["localhost", "127.0.0.1"] }));
    assert.equal((await admin("add-user", "1001", "--name", "Alice Smith", "--pin", "13579", "--private-line", "2001")).code, 0);
    assert.equal((await admin("add-user", "1002", "--name", "Bob Jones", "--pin", "24680")).code, 0);
    for (let i = 3; i <= 14; i++) assert.equal((await admin("add-user", String(1000 + i), "--name", `User ${i}`)).code, 0);
    const { PassThrough } = await import("node:stream");
    const logs = new PassThrough();
    logs.on("data", (d: Buffer) => (logText += d.toString()));
    const { createLogger } = await import("../../../src/base/log.js");
    svc = await startProvisioningService(await loadServiceConfig(configFile), { log: createLogger({ level: "debug", destination: logs }), onRoutingChanged: (r) => routings.push(r) });
    target = { url: svc.url, caPem: svc.caPem, timeoutMs: 5000, clock: createSystemClock() };
    alice = await phone("1001", "13579");
    bob = await phone("1002", "24680");
  });

  after(async () => {
    await svc?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("is refused with 409 PHONE_ERR_DELEGATION_OFF while the delegation policy does not enable it, changing nothing", async () => {
    const a = await put(alice, { delegates: ["1002"] });
    assert.deepEqual([a.status, a.body.error?.code, a.body.error?.message], [409, "PHONE_ERR_DELEGATION_OFF", "delegation is off: IT's delegation policy does not enable it"]);
    assert.equal((await admin("delegate", "list")).out, "no delegates\n");
    const b = await bundleOf(alice);
    assert.equal(b.delegation, undefined);
    assert.deepEqual(b.privateLine, { number: "2001" }, "the private line comes whatever the delegation policy");
    assert.deepEqual(svc.registrarRouting(), { aliases: { "2001": "1001" }, delegations: {}, ringDelays: {}, assertedIdentity: {} });
  });

  it("replaces the list (200 with the delegates, added, removed), audited as the device, in both users' next config", async () => {
    assert.equal((await admin("policy", "set", "delegation", '{"enabled":true}')).code, 0);
    assert.equal((await admin("delegate", "add", "1001", "1003")).code, 0);
    const a = await put(alice, { delegates: ["1004", "1002"] });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.deepEqual(a.body, {
      delegates: [
        { number: "1002", name: "Bob Jones" },
        { number: "1004", name: "User 4" },
      ],
      added: ["1002", "1004"],
      removed: ["1003"],
      ringMode: "simultaneous",
      ringDelaySeconds: 10,
    });
    assert.equal(a.headers["cache-control"], "no-store");
    const audit = JSON.parse((await admin("audit", "--ext", "1001", "--json")).out) as Array<{ actor: string; event: string; deviceId: string | null; detail: Record<string, unknown> }>;
    assert.deepEqual(
      audit.filter((e) => e.actor.startsWith("device:")).map((e) => [e.actor, e.event, e.deviceId, e.detail]),
      [
        [`device:${alice.signed.deviceId}`, "delegate-added", alice.signed.deviceId, { delegate: "1002" }],
        [`device:${alice.signed.deviceId}`, "delegate-added", alice.signed.deviceId, { delegate: "1004" }],
        [`device:${alice.signed.deviceId}`, "delegate-removed", alice.signed.deviceId, { delegate: "1003" }],
      ],
    );
    // the boss's and the delegate's next config
    assert.deepEqual((await bundleOf(alice)).delegation, {
      enabled: true,
      ringMode: "simultaneous",
      ringDelaySeconds: 10,
      delegates: [
        { number: "1002", name: "Bob Jones" },
        { number: "1004", name: "User 4" },
      ],
      bosses: [],
    });
    assert.equal((await admin("delegate", "ring-mode", "1001", "delayed", "--seconds", "15")).code, 0);
    assert.deepEqual((await bundleOf(bob)).delegation?.bosses, [{ number: "1001", name: "Alice Smith", ringMode: "delayed", ringDelaySeconds: 15 }]);
    assert.match((await admin("delegate", "list")).out, /^BOSS +NAME +RING +DELEGATES\n1001 +Alice Smith +after 15 s +1002 \(Bob Jones\), 1004 \(User 4\)\n$/);
    // the lab's registrar hears of it
    assert.deepEqual(routings.at(-1), { aliases: { "2001": "1001" }, delegations: { "1001": ["1002", "1004"] }, ringDelays: { "1001": 0 }, assertedIdentity: { "1002": ["1001"], "1004": ["1001"] } });
    assert.deepEqual(svc.registrarRouting().ringDelays, { "1001": 15 });
    // the ring mode from the phone too; an empty list removes everyone
    const r = await put(alice, { delegates: [], ringMode: "simultaneous" });
    assert.deepEqual([r.status, r.body.delegates, r.body.removed, r.body.ringMode, r.body.ringDelaySeconds], [200, [], ["1002", "1004"], "simultaneous", 15]);
    assert.deepEqual(routings.at(-1)?.delegations, {});
    assert.match(logText, /delegates: set by the boss's phone/);
  });

  it("refuses with 400 and a message naming the number: unknown extension, the boss itself, more than 8, twice, a bad body; nothing changes", async () => {
    assert.equal((await put(alice, { delegates: ["1002"] })).status, 200);
    const bad = async (body: unknown): Promise<string> => {
      const a = await put(alice, body);
      assert.equal(a.status, 400, JSON.stringify(body));
      assert.equal(a.body.error?.code, ServiceErrorCodes.BAD_REQUEST);
      return a.body.error!.message;
    };
    assert.equal(await bad({ delegates: ["1003", "1099"] }), "delegates: no user with extension 1099");
    assert.equal(await bad({ delegates: ["1001"] }), "delegates: 1001 is the boss's own extension (a user cannot be their own delegate)");
    assert.equal(await bad({ delegates: ["1002", "1003", "1004", "1005", "1006", "1007", "1008", "1009", "1010"] }), "delegates: at most 8 (got 9)");
    assert.equal(await bad({ delegates: ["1003", "1003"] }), "delegates: 1003 is listed twice");
    assert.equal(await bad({ delegates: [1003] }), "delegates/0: must be an extension, a string of 1 to 15 digits");
    assert.equal(await bad({ delegates: "1003" }), "delegates: must be an array of extensions");
    assert.equal(await bad({}), "delegates: missing");
    assert.equal(await bad([]), 'the body must be a JSON object: {"delegates": ["1002", ...]}');
    assert.match(await bad("{nope"), /^the body is not JSON/);
    assert.equal(await bad({ delegates: [], ringMode: "forward" }), 'ringMode: must be "simultaneous" or "delayed"');
    assert.equal(await bad({ delegates: [], ringMode: "delayed", ringDelaySeconds: 61 }), "ringDelaySeconds: must be a whole number from 0 to 60");
    assert.equal(await bad({ delegates: [], ringDelaySeconds: 5 }), "ringDelaySeconds: goes with ringMode");
    // a user who already serves 4 bosses
    for (const b of ["1011", "1012", "1013", "1014"]) assert.equal((await admin("delegate", "add", b, "1005")).code, 0);
    assert.equal(await bad({ delegates: ["1002", "1005"] }), "delegates: 1005 is already a delegate of 4 users (the most)");
    assert.match((await admin("delegate", "list", "1001")).out, /\n1001 +Alice Smith +at once +1002 \(Bob Jones\)\n$/);
  });

  it("answers 401 without a device certificate, 403 to a revoked device, 405 to another method", async () => {
    const none = await call(svc, "PUT", "/v1/delegates", { body: JSON.stringify({ delegates: [] }) });
    assert.deepEqual([none.status, none.body.error?.code], [401, "PHONE_ERR_NO_DEVICE_CERT"]);
    const get = await call(svc, "GET", "/v1/delegates");
    assert.deepEqual([get.status, get.body.error?.code, get.headers.allow], [405, "PHONE_ERR_METHOD_NOT_ALLOWED", "PUT"]);
    const carol = await phone("1003", await newPin("1003"));
    assert.equal((await admin("revoke", carol.signed.deviceId)).code, 0);
    const r = await put(carol, { delegates: ["1002"] });
    assert.deepEqual([r.status, r.body.error?.code, r.body.error?.deviceId], [403, "PHONE_ERR_DEVICE_REVOKED", carol.signed.deviceId]);
    const rows = JSON.parse((await admin("delegate", "list", "1003", "--json")).out) as Array<{ boss: string }>;
    assert.ok(!rows.some((x) => x.boss === "1003"), "the revoked phone changed nothing");
  });

  it("the phone's client: putDelegates saves and says who changed, refusals and a revoked device come back as failures", async () => {
    const ok = await putDelegates(target, alice.signed.certificatePem, alice.keyPem, ["1002", "1003"], { ringMode: "delayed", ringDelaySeconds: 20 });
    assert.deepEqual(ok, {
      ok: true,
      delegates: [
        { number: "1002", name: "Bob Jones" },
        { number: "1003", name: "User 3" },
      ],
      added: ["1003"],
      removed: [],
      ringMode: "delayed",
      ringDelaySeconds: 20,
    });
    const unknown = await putDelegates(target, alice.signed.certificatePem, alice.keyPem, ["1099"]);
    assert.deepEqual(unknown, { kind: "refused", code: "PHONE_ERR_BAD_REQUEST", reason: "delegates: no user with extension 1099" });
    assert.equal(failureWords(unknown as Exclude<typeof unknown, { ok: true }>, (d) => d.toISOString()), "Not saved: delegates: no user with extension 1099");
    assert.deepEqual(await putDelegates(target, alice.signed.certificatePem, alice.keyPem, ["1001"]), { kind: "refused", code: "PHONE_ERR_BAD_REQUEST", reason: "delegates: 1001 is the boss's own extension (a user cannot be their own delegate)" });
    assert.deepEqual(await putDelegates(target, alice.signed.certificatePem, alice.keyPem, Array.from({ length: 9 }, (_, i) => String(1002 + i))), { kind: "refused", code: "PHONE_ERR_BAD_REQUEST", reason: "delegates: at most 8 (got 9)" });
    // the policy off again
    assert.equal((await admin("policy", "set", "delegation", '{"enabled":false}')).code, 0);
    assert.deepEqual(await putDelegates(target, alice.signed.certificatePem, alice.keyPem, []), { kind: "refused", code: "PHONE_ERR_DELEGATION_OFF", reason: "delegation is off: IT's delegation policy does not enable it" });
    assert.equal((await bundleOf(bob)).delegation, undefined);
    assert.equal((await admin("policy", "set", "delegation", '{"enabled":true}')).code, 0);
    // Bob's phone, revoked
    assert.equal((await admin("revoke", bob.signed.deviceId)).code, 0);
    assert.deepEqual(await putDelegates(target, bob.signed.certificatePem, bob.keyPem, ["1001"]), { kind: "revoked" });
    // nothing secret in the service's log
    assert.ok(!logText.includes("13579") && !logText.includes("PRIVATE KEY"));
  });

  it("with the policy's forking \"phone\": the bundle says so, and the registrar gets no delegations (the boss's phone rings them)", async () => {
    assert.deepEqual(await admin("policy", "set", "delegation", '{"enabled":true,"forking":"pbx"}'), { code: 1, out: "", err: 'policy delegation: /forking: must be "server" or "phone" (got "pbx")\n' });
    assert.equal((await bundleOf(alice)).delegation?.forking, undefined, "absent while the policy does not say: the PBX forks");
    assert.equal((await admin("policy", "set", "delegation", '{"enabled":true,"forking":"phone"}')).code, 0);
    const b = await bundleOf(alice);
    assert.equal(b.delegation?.forking, "phone");
    assert.ok(b.delegation?.delegates.length, "the boss's phone still gets its delegates, to call them");
    // the delegates still call on their bosses' behalf (P-Preferred-Identity), whoever forks
    const boss1005 = ["1011", "1012", "1013", "1014"];
    assert.deepEqual(svc.registrarRouting(), { aliases: { "2001": "1001" }, delegations: {}, ringDelays: {}, assertedIdentity: { "1002": ["1001"], "1003": ["1001"], "1005": boss1005 } });
    const r = await put(alice, { delegates: ["1002", "1004"] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(routings.at(-1), { aliases: { "2001": "1001" }, delegations: {}, ringDelays: {}, assertedIdentity: { "1002": ["1001"], "1004": ["1001"], "1005": boss1005 } });
    assert.equal((await admin("policy", "set", "delegation", '{"enabled":true}')).code, 0);
    assert.equal((await bundleOf(alice)).delegation?.forking, undefined);
    assert.deepEqual(svc.registrarRouting().delegations, { "1001": ["1002", "1004"], "1011": ["1005"], "1012": ["1005"], "1013": ["1005"], "1014": ["1005"] });
  });

  /** A fresh PIN for `ext` (reset-pin prints it once). */
  async function newPin(ext: string): Promise<string> {
    const r = await admin("reset-pin", ext);
    const pin = /: ([0-9]+) \(shown once\)/.exec(r.out)?.[1];
    assert.ok(pin, r.out + r.err);
    return pin;
  }
});

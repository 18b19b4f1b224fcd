// What the phone keeps from provisioning: one file, 0600, checked on load; a damaged one means "sign in again", never a
// broken phone; a writer killed at random instants (200 times) always leaves a whole old or new state.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { build } from "esbuild";
import { makeDeviceKey } from "../../../src/provisioning/device-identity.js";
import { loadProvisioned, saveProvisioned, STATE_FILE, type ProvisionedState } from "../../../src/provisioning/device-store.js";

const writerSource = fileURLToPath(new URL("../../support/store-writer.ts", import.meta.url));

/** A CA and a device certificate for a fresh device key, as the service would issue them. */
async function issued(ext: string): Promise<ProvisionedState> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"];
  const ca = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: "01", name: "CN=test CA", notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), keys: caKeys, signingAlgorithm: alg, extensions: [new x509.BasicConstraintsExtension(true, undefined, true)] });
  const dev = await makeDeviceKey(`deskphone-${ext}`);
  const csr = new x509.Pkcs10CertificateRequest(dev.csrPem);
  const cert = await x509.X509CertificateGenerator.create({ serialNumber: "02", subject: "CN=device", issuer: ca.subject, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), publicKey: csr.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: alg });
  return {
    version: 1,
    serviceUrl: "https://127.0.0.1:9443/",
    serviceCaPem: ca.toString("pem"),
    deviceId: `dev-${ext}`,
    extension: ext,
    privateKeyPem: dev.privateKeyPem,
    certificatePem: cert.toString("pem"),
    bundle: { version: 1, accounts: [{ user: ext, password: `sip-${ext}`, domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: 5060, transport: "udp" }] }] },
    savedAt: new Date().toISOString(),
  };
}

describe("provisioning store on the phone", function () {
  this.timeout(180_000);
  let dir: string;
  let a: ProvisionedState;
  let b: ProvisionedState;
  before(async () => {
    a = await issued("1001");
    b = await issued("1002");
  });
  beforeEach(async () => (dir = await fs.mkdtemp(path.join(os.tmpdir(), "prov-store-"))));
  afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

  it("saves one 0600 file and loads it back checked; nothing stored means unprovisioned", async () => {
    assert.deepEqual(await loadProvisioned(dir), { state: null });
    await saveProvisioned(dir, a);
    assert.equal((await fs.stat(path.join(dir, STATE_FILE))).mode & 0o777, 0o600);
    assert.deepEqual((await loadProvisioned(dir)).state, a);
  });

  it("a damaged or tampered file is 'sign in again' with the reason, not a crash", async () => {
    const file = path.join(dir, STATE_FILE);
    await fs.writeFile(file, "{\"version\":1,");
    assert.match((await loadProvisioned(dir)).problem ?? "", /JSON/);
    await fs.writeFile(file, JSON.stringify({ ...a, bundle: { version: 1, accounts: [{ user: "1001" }] } }));
    assert.match((await loadProvisioned(dir)).problem ?? "", /missing 'password'/);
    await fs.writeFile(file, JSON.stringify({ ...a, certificatePem: b.certificatePem }));
    assert.match((await loadProvisioned(dir)).problem ?? "", /not signed by the service's CA/);
    await fs.writeFile(file, JSON.stringify({ ...a, privateKeyPem: b.privateKeyPem }));
    assert.match((await loadProvisioned(dir)).problem ?? "", /another key|not signed/);
  });

  it("killed at random instants while saving, 200 times: always a whole old or new state (or none yet), never broken", async () => {
    const fa = path.join(dir, "a.json");
    const fb = path.join(dir, "b.json");
    await fs.writeFile(fa, JSON.stringify(a));
    await fs.writeFile(fb, JSON.stringify(b));
    const data = path.join(dir, "data");
    await fs.mkdir(data);
    // the writer (the phone's own store code) bundled to plain JS: a process starts in tens of ms, not a second
    const writer = path.join(dir, "writer.mjs");
    await build({ entryPoints: [writerSource], bundle: true, platform: "node", format: "esm", outfile: writer, logLevel: "error", banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" } });
    const seen = { none: 0, a: 0, b: 0 };
    for (let i = 0; i < 200; i++) {
      const child = spawn(process.execPath, [writer, data, fa, fb], { stdio: ["ignore", "pipe", "inherit"] });
      await new Promise<void>((r) => child.stdout.once("data", () => r()));
      await new Promise((r) => setTimeout(r, Math.random() * 30));
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      const r = await loadProvisioned(data);
      assert.equal(r.problem, undefined, `after kill ${i}: ${r.problem}`);
      if (!r.state) seen.none++;
      else if (r.state.extension === "1001") seen.a++;
      else seen.b++;
      assert.ok(!r.state || JSON.stringify(r.state) === JSON.stringify(r.state.extension === "1001" ? a : b), "a whole state");
    }
    // temp files left by a kill are harmless (the next save makes its own); the state file is only ever renamed in
    assert.ok(seen.a + seen.b > 150, `the writer got to save most times (${JSON.stringify(seen)})`);
  });
});

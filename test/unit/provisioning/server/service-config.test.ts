// The service's config file: checked field by field (the error names the field), paths relative to the file, defaults.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkServiceConfig, loadServiceConfig, parseListen, settingsOf } from "../../../../src/provisioning/server/service-config.js";

const good = { listen: "127.0.0.1:0", dataDir: "data", sip: { domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: 5060, transport: "udp" }] } };

describe("provisioning service config", () => {
  it("accepts the minimal config and fills in the defaults", () => {
    const s = settingsOf(checkServiceConfig(good));
    assert.deepEqual(s, {
      sipDomain: "127.0.0.1",
      kamailioSubscriberFile: null,
      pinPolicy: { minLength: 5, maxLength: 24, refuseRepeated: true, refuseSequences: true, sequenceLength: 4, refuseExtension: true },
      lockout: { windowMinutes: 30, localLimit: 5, lockMinutes: 60, globalLimit: 25 },
      scrypt: { N: 16384, r: 8, p: 1 },
    });
  });

  it("names every bad field", () => {
    const bad = { ...good, listen: "localhost", sip: { domain: "", servers: [{ host: "h", transport: "sctp" }] }, lockout: { localLimit: 0 }, colour: "blue" };
    assert.throws(
      () => checkServiceConfig(bad, "svc.json"),
      (e: Error) =>
        /svc\.json: \/: unknown field 'colour'/.test(e.message) &&
        /svc\.json: \/listen: must match pattern/.test(e.message) &&
        /\/sip\/domain: must NOT have fewer than 1 characters/.test(e.message) &&
        /\/sip\/servers\/0\/transport: must be equal to one of the allowed values/.test(e.message) &&
        /\/lockout\/localLimit: must be >= 1/.test(e.message),
    );
    assert.throws(() => checkServiceConfig({ listen: "127.0.0.1:0" }, "svc.json"), /svc\.json: \/: missing 'dataDir'/);
    assert.throws(() => checkServiceConfig({ ...good, scrypt: { N: 3000 } }, "svc.json"), /svc\.json: \/scrypt\/N: must be a power of two \(got 3000\)/);
    assert.throws(() => checkServiceConfig({ ...good, pinPolicy: { minLength: 8, maxLength: 6 } }, "svc.json"), /\/pinPolicy: minLength 8 is above maxLength 6/);
    assert.throws(() => checkServiceConfig({ ...good, listen: "127.0.0.1:70000" }, "svc.json"), /\/listen: port 70000 is above 65535/);
  });

  it("reads paths relative to the config file", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "svc-config-"));
    try {
      await fs.writeFile(path.join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
      await fs.writeFile(path.join(dir, "svc.json"), JSON.stringify({ ...good, kamailioSubscriberFile: "kam/subscriber", trustedCAs: ["ca.pem"] }));
      const c = await loadServiceConfig(path.join(dir, "svc.json"));
      assert.equal(c.dataDir, path.join(dir, "data"));
      assert.equal(c.kamailioSubscriberFile, path.join(dir, "kam/subscriber"));
      assert.match(c.trustedCAs![0]!, /BEGIN CERTIFICATE/);
      await fs.writeFile(path.join(dir, "bad.json"), "{ nope");
      await assert.rejects(loadServiceConfig(path.join(dir, "bad.json")), /bad\.json: not JSON/);
      await assert.rejects(loadServiceConfig(path.join(dir, "missing.json")), /missing\.json: cannot read the config \(ENOENT\)/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("splits listen addresses, IPv6 included", () => {
    assert.deepEqual(parseListen("127.0.0.1:8443"), { host: "127.0.0.1", port: 8443 });
    assert.deepEqual(parseListen("[::1]:0"), { host: "::1", port: 0 });
    assert.doesNotThrow(() => checkServiceConfig({ ...good, listen: "[::1]:0" }));
  });
});

// The shell's delegation port as the firmware builds it: the MESSAGEs it sends (to the boss, to each delegate added or
// removed), what it asks the service to save, and what a refused save puts back on the phone.
import assert from "node:assert/strict";
import { delegationPort, type DelegationPortDeps } from "../../../firmware/delegation-port.js";
import { phoneConfigOf } from "../../../firmware/phone-config.js";
import { silentLogger } from "../../../src/base/log.js";
import { checkBundle } from "../../../src/provisioning/config-bundle.js";
import type { ProvisionedState } from "../../../src/provisioning/device-store.js";
import type { DelegatesSaved, ServiceFailure, ServiceTarget } from "../../../src/provisioning/provisioning-client.js";
import { DELEGATION_CONTENT_TYPE } from "../../../src/sip/delegation-notice.js";

const bundle = checkBundle({ version: 1, accounts: [{ user: "1001", password: "pw", displayName: "Alice", domain: "example.com", servers: [{ host: "pbx.example.com", transport: "tls" }] }] });
const provisioned: ProvisionedState = { version: 1, serviceUrl: "https://prov.example.com/", serviceCaPem: "CA", deviceId: "dev", extension: "1001", privateKeyPem: "KEY", certificatePem: "CERT", bundle, savedAt: "2024-01-01T00:00:00.000Z" };

function rig(answer: DelegatesSaved | ServiceFailure, o: { provisioned?: ProvisionedState | null; line?: boolean } = {}) {
  const sent: Array<{ uri: string; body: unknown; type: string | undefined }> = [];
  const puts: Array<{ target: ServiceTarget; cert: string; key: string; numbers: string[]; ring: unknown }> = [];
  const dispatched: unknown[] = [];
  const problems: Array<{ step: string; kind: string; server: string }> = [];
  const count = { refreshes: 0 };
  const deps: DelegationPortDeps = {
    sip: () => (o.line === false ? undefined : { sendMessage: async (uri: string, text: string, type?: string) => (sent.push({ uri, body: JSON.parse(text), type }), 200) }),
    account: () => (o.line === false ? undefined : bundle.accounts[0]),
    provisioned: () => (o.provisioned === undefined ? provisioned : o.provisioned),
    serviceTarget: (p) => ({ url: p.serviceUrl, caPem: p.serviceCaPem }),
    bundle: () => bundle,
    dispatch: (e) => void dispatched.push(e),
    problem: async (step, f, server) => void problems.push({ step, kind: f.kind, server }),
    refresh: async () => void count.refreshes++,
    hhmmOf: () => "14:05",
    log: silentLogger(),
    putDelegates: async (target, cert, key, numbers, ring) => (puts.push({ target, cert, key, numbers, ring }), answer),
  };
  return { sent, puts, dispatched, problems, count, deps };
}

const saved = (added: string[], removed: string[]): DelegatesSaved => ({ ok: true, delegates: [], added, removed, ringMode: "simultaneous", ringDelaySeconds: 0 });

describe("the delegation port", () => {
  it("tells the boss's phone a delegate answered (caller name only when known)", async () => {
    const r = rig(saved([], []));
    const port = delegationPort(r.deps);
    port.notifyAnswered("1010", "5551234", "Dave");
    port.notifyAnswered("1010", "");
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(r.sent, [
      { uri: "sip:1010@example.com", body: { kind: "delegate-answered", boss: "1010", caller: "5551234", callerName: "Dave", delegate: "1001" }, type: DELEGATION_CONTENT_TYPE },
      { uri: "sip:1010@example.com", body: { kind: "delegate-answered", boss: "1010", caller: "", delegate: "1001" }, type: DELEGATION_CONTENT_TYPE },
    ]);
  });

  it("no line: nobody is told", async () => {
    const r = rig(saved(["1002"], []), { line: false });
    const port = delegationPort(r.deps);
    port.notifyAnswered("1010", "5551234");
    assert.deepEqual(await port.setDelegates([{ number: "1002" }]), { ok: true, message: "" });
    assert.deepEqual(r.sent, []);
    assert.equal(r.count.refreshes, 1);
  });

  it("saves the list with the service (ring delay in whole seconds) and tells each delegate added or removed", async () => {
    const r = rig(saved(["1002"], ["1003"]));
    const out = await delegationPort(r.deps).setDelegates([{ number: "1002", name: "Bob" }, { number: "1004" }], { ringMode: "delayed", ringDelayMs: 7400 });
    assert.deepEqual(out, { ok: true, message: "" });
    assert.deepEqual(r.puts, [{ target: { url: provisioned.serviceUrl, caPem: "CA" }, cert: "CERT", key: "KEY", numbers: ["1002", "1004"], ring: { ringMode: "delayed", ringDelaySeconds: 7 } }]);
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(r.sent, [
      { uri: "sip:1002@example.com", body: { kind: "delegate-added", boss: "1001", bossName: "Alice" }, type: DELEGATION_CONTENT_TYPE },
      { uri: "sip:1003@example.com", body: { kind: "delegate-removed", boss: "1001", bossName: "Alice" }, type: DELEGATION_CONTENT_TYPE },
    ]);
    assert.equal(r.count.refreshes, 1);
    assert.deepEqual(r.dispatched, []);
  });

  it("refused: reported, the bundle's config put back, the service's words shown", async () => {
    const r = rig({ kind: "refused", code: "PHONE_ERR_UNKNOWN_EXTENSION", reason: "no such extension: 1099" });
    const out = await delegationPort(r.deps).setDelegates([{ number: "1099" }]);
    assert.deepEqual(out, { ok: false, message: "Delegates not saved: no such extension: 1099" });
    assert.equal(r.puts[0].ring, undefined);
    assert.deepEqual(r.problems, [{ step: "refresh", kind: "refused", server: provisioned.serviceUrl }]);
    assert.deepEqual(r.dispatched, [{ type: "config", config: phoneConfigOf(bundle) }]);
    assert.deepEqual(r.sent, []);
    assert.equal(r.count.refreshes, 0);
  });

  it("other failures are said in the provisioning words", async () => {
    const r = rig({ kind: "unreachable", reason: "timed out" });
    assert.deepEqual(await delegationPort(r.deps).setDelegates([]), { ok: false, message: "Delegates not saved: Cannot reach the provisioning service: timed out" });
  });

  it("a phone not provisioned by a service keeps no delegates", async () => {
    const r = rig(saved([], []), { provisioned: null });
    assert.deepEqual(await delegationPort(r.deps).setDelegates([{ number: "1002" }]), { ok: false, message: "Delegates are kept by the provisioning service: this phone has none" });
    assert.deepEqual(r.puts, []);
  });

  it("changed: the config is fetched again", () => {
    const r = rig(saved([], []));
    delegationPort(r.deps).changed?.();
    assert.equal(r.count.refreshes, 1);
  });
});

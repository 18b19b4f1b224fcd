// Boss / delegate calling and the private line on the service's side: the bundle's `privateLine` (never in the
// directory) and `delegation` (only while the policy enables it: the user's ring mode, delegates and bosses), the
// admin operation the phone's PUT /v1/delegates runs (its refusals, its audit), and what the lab's registrar gets.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../../../src/base/clock.js";
import { ProvisioningStore } from "../../../../src/provisioning/server/store.js";
import { buildUserBundle, delegationEnabled, type BundleSource } from "../../../../src/provisioning/server/bundle.js";
import { readRegistrarRouting, registrarRouting } from "../../../../src/provisioning/server/kamailio-subscribers.js";
import * as ops from "../../../../src/provisioning/server/admin-ops.js";
import { checkBundle } from "../../../../src/provisioning/config-bundle.js";
import { DEFAULT_PIN_POLICY } from "../../../../src/provisioning/server/pin-policy.js";
import { DEFAULT_LOCKOUT } from "../../../../src/provisioning/server/lockout.js";

const SRC: BundleSource = { sip: { domain: "pbx.example", servers: [{ host: "10.0.0.2", port: 5060, transport: "udp" }] } };

describe("delegation and private line (service side)", () => {
  let dir: string;
  let file: string;
  let store: ProvisioningStore;
  let ctx: ops.AdminContext;
  const clock = new ManualClock();

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "prov-deleg-"));
    file = path.join(dir, "provisioning.db");
    store = ProvisioningStore.open(file, { clock });
    ctx = { store, settings: { sipDomain: "pbx.example", kamailioSubscriberFile: null, pinPolicy: DEFAULT_PIN_POLICY, lockout: DEFAULT_LOCKOUT, scrypt: { N: 1024, r: 8, p: 1 } }, now: () => clock.wallNow() };
    const people: Array<[string, string, string?]> = [
      ["1001", "Alice Smith", "2001"],
      ["1002", "Bob Jones"],
      ["1003", "Carol White"],
      ["1004", "Dan Brown", "+15125550104"],
    ];
    for (const [extension, displayName, privateLine] of people) store.addUser({ extension, displayName, ...(privateLine ? { privateLine } : {}) });
  });
  afterEach(async () => {
    store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const bundle = (ext: string): ReturnType<typeof checkBundle> => {
    const b = buildUserBundle(store, ext, SRC);
    assert.ok(b, ext);
    return checkBundle(b, `bundle for ${ext}`);
  };

  describe("the bundle", () => {
    it("has the user's own private line, never anyone's in the directory, and no delegation without the policy", () => {
      ops.addDelegate(ctx, "1001", "1002");
      const alice = bundle("1001");
      assert.deepEqual(alice.privateLine, { number: "2001" });
      assert.equal(alice.delegation, undefined);
      assert.deepEqual(
        alice.directory?.map((d) => d.number),
        ["1001", "1002", "1003", "1004"],
      );
      assert.ok(!JSON.stringify(alice.directory).includes("2001") && !JSON.stringify(alice).includes("+15125550104"), "private lines are not listed");
      assert.equal(bundle("1002").privateLine, undefined);
      assert.deepEqual(bundle("1004").privateLine, { number: "+15125550104" });
      // a policy that says no is no policy
      store.setPolicy("delegation", { enabled: false });
      assert.equal(delegationEnabled(store), false);
      assert.equal(bundle("1001").delegation, undefined);
      assert.equal(bundle("1002").delegation, undefined);
    });

    it("with the policy on: the boss's ring mode and delegates (names), the delegate's bosses with each boss's ring mode", () => {
      ops.setPolicy(ctx, "delegation", '{"enabled":true}');
      assert.equal(delegationEnabled(store), true);
      ops.addDelegate(ctx, "1001", "1003");
      ops.addDelegate(ctx, "1001", "1002");
      ops.addDelegate(ctx, "1004", "1002");
      ops.setRingMode(ctx, "1001", "delayed", 20);
      assert.deepEqual(bundle("1001").delegation, {
        enabled: true,
        ringMode: "delayed",
        ringDelaySeconds: 20,
        delegates: [
          { number: "1002", name: "Bob Jones" },
          { number: "1003", name: "Carol White" },
        ],
        bosses: [],
      });
      assert.deepEqual(bundle("1002").delegation, {
        enabled: true,
        ringMode: "simultaneous",
        ringDelaySeconds: 10,
        delegates: [],
        bosses: [
          { number: "1001", name: "Alice Smith", ringMode: "delayed", ringDelaySeconds: 20 },
          { number: "1004", name: "Dan Brown", ringMode: "simultaneous", ringDelaySeconds: 10 },
        ],
      });
      // someone in no delegation still gets the block, so their phone can offer to pick delegates
      store.addUser({ extension: "1005", displayName: "Eve" });
      assert.deepEqual(bundle("1005").delegation, { enabled: true, ringMode: "simultaneous", ringDelaySeconds: 10, delegates: [], bosses: [] });
      // the delegate's private line is never handed to the boss, nor the boss's to the delegate
      assert.ok(!JSON.stringify(bundle("1002")).includes("2001"));
    });

    it("carries the policy's forking (who rings a boss's delegates) in every user's delegation, only when the policy sets it", () => {
      ops.setPolicy(ctx, "delegation", '{"enabled":true}');
      ops.addDelegate(ctx, "1001", "1002");
      assert.equal(bundle("1001").delegation?.forking, undefined, "absent: the PBX forks (\"server\")");
      ops.setPolicy(ctx, "delegation", '{"enabled":true,"forking":"phone"}');
      assert.deepEqual(bundle("1001").delegation, { enabled: true, ringMode: "simultaneous", ringDelaySeconds: 10, delegates: [{ number: "1002", name: "Bob Jones" }], bosses: [], forking: "phone" });
      assert.equal(bundle("1002").delegation?.forking, "phone");
      assert.equal(bundle("1003").delegation?.forking, "phone");
      ops.setPolicy(ctx, "delegation", '{"enabled":true,"forking":"server"}');
      assert.equal(bundle("1001").delegation?.forking, "server");
      // no delegation, no forking
      ops.setPolicy(ctx, "delegation", '{"enabled":false,"forking":"phone"}');
      assert.equal(bundle("1001").delegation, undefined);
      // the policy refuses other values, and keeps what it had
      assert.throws(() => ops.setPolicy(ctx, "delegation", '{"enabled":true,"forking":"both"}'), (e: Error) => e instanceof ops.AdminRefusal && e.message === 'policy delegation: /forking: must be "server" or "phone" (got "both")');
      assert.deepEqual(store.getPolicy("delegation"), { enabled: false, forking: "phone" });
    });

    it("stays within the schema's limits even when the database holds more (edited by other means)", () => {
      store.setPolicy("delegation", { enabled: true });
      for (let i = 0; i < 10; i++) store.addUser({ extension: String(1100 + i), displayName: `User ${i}` });
      for (let i = 0; i < 10; i++) store.addDelegate("1001", String(1100 + i));
      for (let i = 0; i < 6; i++) store.addDelegate(String(1100 + i), "1002");
      assert.equal(bundle("1001").delegation?.delegates.length, 8);
      assert.equal(bundle("1002").delegation?.bosses.length, 4);
    });
  });

  describe("setDelegates (what PUT /v1/delegates runs)", () => {
    const device = (id: string): ops.AdminContext => ({ ...ctx, actor: `device:${id}` });

    it("replaces the list, says who was added and removed, and audits each change with the phone as actor", () => {
      ops.addDelegate(ctx, "1001", "1002");
      const r = ops.setDelegates(device("dev-1"), "1001", ["1003", "1004"], { deviceId: "dev-1" });
      assert.deepEqual(r, {
        delegates: [
          { number: "1003", name: "Carol White" },
          { number: "1004", name: "Dan Brown" },
        ],
        added: ["1003", "1004"],
        removed: ["1002"],
        ringMode: "simultaneous",
        ringDelaySeconds: 10,
      });
      const log = store.auditLog({ extension: "1001" }).filter((e) => e.actor !== "cli");
      assert.deepEqual(
        log.map((e) => [e.actor, e.event, e.deviceId, e.detail]),
        [
          ["device:dev-1", "delegate-added", "dev-1", { delegate: "1003" }],
          ["device:dev-1", "delegate-added", "dev-1", { delegate: "1004" }],
          ["device:dev-1", "delegate-removed", "dev-1", { delegate: "1002" }],
        ],
      );
      // the same list again changes and audits nothing
      assert.deepEqual(ops.setDelegates(device("dev-1"), "1001", ["1004", "1003"], { deviceId: "dev-1" }).added, []);
      assert.equal(store.auditLog({ extension: "1001" }).length, log.length + 1);
      // with the ring mode; the delay is kept when not given
      const d = ops.setDelegates(device("dev-1"), "1001", [], { deviceId: "dev-1", ring: { mode: "delayed", seconds: 25 } });
      assert.deepEqual([d.delegates, d.removed, d.ringMode, d.ringDelaySeconds], [[], ["1003", "1004"], "delayed", 25]);
      assert.equal(ops.setDelegates(device("dev-1"), "1001", [], { ring: { mode: "simultaneous" } }).ringDelaySeconds, 25);
      assert.deepEqual(store.auditLog({ extension: "1001" }).filter((e) => e.event === "ring-mode-set").map((e) => e.detail), [
        { ringMode: "delayed", ringDelaySeconds: 25 },
        { ringMode: "simultaneous", ringDelaySeconds: 25 },
      ]);
    });

    it("refuses, naming the number, and changes nothing: unknown, the boss, twice, not an extension, over 8, a delegate of 4 already", () => {
      ops.addDelegate(ctx, "1001", "1002");
      const refused = (list: string[], msg: string | RegExp): void => {
        assert.throws(() => ops.setDelegates(device("d"), "1001", list), (e: Error) => e instanceof ops.AdminRefusal && (typeof msg === "string" ? e.message === msg : msg.test(e.message)));
        assert.deepEqual(store.delegatesOf("1001").map((u) => u.extension), ["1002"], `unchanged after ${list.join(",")}`);
      };
      refused(["1003", "1009"], "delegates: no user with extension 1009");
      refused(["1001"], "delegates: 1001 is the boss's own extension (a user cannot be their own delegate)");
      refused(["1003", "1003"], "delegates: 1003 is listed twice");
      refused(["10a3"], "delegates: '10a3' is not an extension (1 to 15 digits)");
      refused(["1", "2", "3", "4", "5", "6", "7", "8", "9"], "delegates: at most 8 (got 9)");
      for (const b of ["2101", "2102", "2103", "2104"]) {
        store.addUser({ extension: b, displayName: `Boss ${b}` });
        ops.addDelegate(ctx, b, "1003");
      }
      refused(["1002", "1003"], "delegates: 1003 is already a delegate of 4 users (the most)");
      assert.throws(() => ops.setDelegates(device("d"), "1001", [], { ring: { mode: "delayed", seconds: 61 } }), /the ring delay must be a whole number of seconds from 0 to 60 \(got 61\)/);
      assert.throws(() => ops.setDelegates(device("d"), "9999", []), /no user with extension 9999/);
      assert.equal(store.auditLog().filter((e) => e.actor === "device:d").length, 0, "nothing audited");
    });
  });

  describe("what the lab's registrar gets (registrarRouting)", () => {
    it("private lines always; delegations, ring delays and asserted identities only while the policy enables delegation", () => {
      ops.addDelegate(ctx, "1001", "1003");
      ops.addDelegate(ctx, "1001", "1002");
      ops.addDelegate(ctx, "1004", "1002");
      ops.setRingMode(ctx, "1004", "delayed", 5);
      assert.deepEqual(registrarRouting(store), { aliases: { "2001": "1001", "+15125550104": "1004" }, delegations: {}, ringDelays: {}, assertedIdentity: {} });
      store.setPolicy("delegation", { enabled: true });
      assert.deepEqual(registrarRouting(store), {
        aliases: { "2001": "1001", "+15125550104": "1004" },
        delegations: { "1001": ["1002", "1003"], "1004": ["1002"] },
        ringDelays: { "1001": 0, "1004": 5 },
        assertedIdentity: { "1002": ["1001", "1004"], "1003": ["1001"] },
      });
      // from the service's file, as the lab reads it while the service runs (WAL)
      assert.deepEqual(readRegistrarRouting(file).delegations, { "1001": ["1002", "1003"], "1004": ["1002"] });
    });

    it("no delegations nor ring delays when the boss's phone forks (policy forking \"phone\"), but the asserted identities stay", () => {
      ops.addDelegate(ctx, "1001", "1002");
      ops.setRingMode(ctx, "1001", "delayed", 5);
      ops.setPolicy(ctx, "delegation", '{"enabled":true,"forking":"phone"}');
      // the delegate still calls on the boss's behalf: its asserted identity does not depend on who forks
      assert.deepEqual(registrarRouting(store), { aliases: { "2001": "1001", "+15125550104": "1004" }, delegations: {}, ringDelays: {}, assertedIdentity: { "1002": ["1001"] } });
      assert.deepEqual(readRegistrarRouting(file), { aliases: { "2001": "1001", "+15125550104": "1004" }, delegations: {}, ringDelays: {}, assertedIdentity: { "1002": ["1001"] } });
      // "server", said or not, is the PBX forking
      ops.setPolicy(ctx, "delegation", '{"enabled":true,"forking":"server"}');
      assert.deepEqual(registrarRouting(store), { aliases: { "2001": "1001", "+15125550104": "1004" }, delegations: { "1001": ["1002"] }, ringDelays: { "1001": 5 }, assertedIdentity: { "1002": ["1001"] } });
      // delegation off: no one calls as another
      ops.setPolicy(ctx, "delegation", '{"enabled":false,"forking":"phone"}');
      assert.deepEqual(registrarRouting(store), { aliases: { "2001": "1001", "+15125550104": "1004" }, delegations: {}, ringDelays: {}, assertedIdentity: {} });
    });
  });
});

// The provisioning store on a temp SQLite file: schema created and migrated on open, WAL, 0600, users and their
// generated SIP passwords, removal (devices revoked, delegations gone), devices, policies, and an audit log that never
// holds a secret.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Database from "better-sqlite3";
import { ManualClock } from "../../../../src/base/clock.js";
import { ProvisioningStore, SCHEMA_VERSION, migrate, randomSipPassword, scrubDetail } from "../../../../src/provisioning/server/store.js";
import { buildUserBundle } from "../../../../src/provisioning/server/bundle.js";
import { checkBundle } from "../../../../src/provisioning/config-bundle.js";

describe("provisioning store", () => {
  let dir: string;
  let file: string;
  const clock = new ManualClock();
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "prov-store-"));
    file = path.join(dir, "provisioning.db");
  });
  afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

  it("creates the schema at the newest version, in WAL mode, in a 0600 file", async () => {
    const s = ProvisioningStore.open(file, { clock });
    try {
      assert.equal(s.schemaVersion(), SCHEMA_VERSION);
      assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    } finally {
      s.close();
    }
    const db = new Database(file);
    try {
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
      for (const t of ["users", "delegates", "policies", "pin_failures", "pin_locks", "devices", "audit", "settings", "schema_version"]) assert.ok(tables.includes(t), t);
    } finally {
      db.close();
    }
  });

  it("migrates an older database on open, keeping its rows", () => {
    const old = ProvisioningStore.open(file, { clock, schemaVersion: 1 });
    assert.equal(old.schemaVersion(), 1);
    old.addUser({ extension: "1001", displayName: "Alice" });
    old.close();
    const s = ProvisioningStore.open(file, { clock });
    try {
      assert.equal(s.schemaVersion(), SCHEMA_VERSION);
      assert.equal(s.getUser("1001")?.displayName, "Alice");
      s.setSetting("service", { sipDomain: "x" }); // the v2 table
      assert.deepEqual(s.getSetting("service"), { sipDomain: "x" });
    } finally {
      s.close();
    }
  });

  it("migrates v2 to v3 keeping users, delegations, policies and the audit log: ring mode defaults, phones as actors", () => {
    const old = ProvisioningStore.open(file, { clock, schemaVersion: 2 });
    old.addUser({ extension: "1001", displayName: "Alice", privateLine: "2001", sipPassword: "alice-secret-pw" });
    old.addUser({ extension: "1002", displayName: "Bob" });
    old.addDelegate("1001", "1002");
    old.setPolicy("delegation", { enabled: true });
    old.audit("cli", "user-added", { extension: "1001" });
    old.audit("service", "sign-in", { extension: "1001", deviceId: "d1" });
    old.close();
    const s = ProvisioningStore.open(file, { clock });
    try {
      assert.equal(s.schemaVersion(), 3);
      const alice = s.getUser("1001")!;
      assert.deepEqual([alice.displayName, alice.privateLine, alice.sipPassword, alice.ringMode, alice.ringDelaySeconds], ["Alice", "2001", "alice-secret-pw", "simultaneous", 10]);
      assert.deepEqual(s.delegations(), [{ boss: "1001", delegate: "1002" }]);
      assert.deepEqual(s.getPolicy("delegation"), { enabled: true });
      assert.deepEqual(s.auditLog().map((e) => [e.id, e.actor, e.event, e.deviceId]), [
        [1, "cli", "user-added", null],
        [2, "service", "sign-in", "d1"],
      ]);
      // ids carry on after the rebuilt table's rows, the index is back, and a phone can be the actor
      s.audit("device:d1", "delegate-removed", { extension: "1001", deviceId: "d1", detail: { delegate: "1002" } });
      assert.deepEqual(s.auditLog({ extension: "1001" }).map((e) => [e.id, e.actor]).at(-1), [3, "device:d1"]);
      assert.equal(s.setRingMode("1001", "delayed", 15), true);
      assert.deepEqual([s.getUser("1001")?.ringMode, s.getUser("1001")?.ringDelaySeconds], ["delayed", 15]);
      assert.equal(s.setRingMode("9999", "delayed", 15), false);
    } finally {
      s.close();
    }
    const db = new Database(file);
    try {
      assert.ok(db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'audit_by_extension'").get());
      assert.throws(() => db.prepare("INSERT INTO audit (at, actor, event) VALUES (0, 'someone', 'x')").run(), /CHECK constraint/);
      assert.throws(() => db.prepare("INSERT INTO audit (at, actor, event) VALUES (0, 'device:', 'x')").run(), /CHECK constraint/);
      assert.throws(() => db.prepare("UPDATE users SET ring_mode = 'forward'").run(), /CHECK constraint/);
      assert.throws(() => db.prepare("UPDATE users SET ring_delay_s = 61").run(), /CHECK constraint/);
    } finally {
      db.close();
    }
  });

  it("replaces a boss's delegates, saying who was added and removed, and lists delegates and bosses", () => {
    const s = ProvisioningStore.open(file, { clock });
    try {
      for (const [e, n] of [["1001", "Alice"], ["1002", "Bob"], ["1003", "Carol"], ["1004", "Dan"]]) s.addUser({ extension: e!, displayName: n! });
      s.addDelegate("1001", "1002");
      s.addDelegate("1001", "1003");
      assert.deepEqual(s.replaceDelegates("1001", ["1004", "1003"]), { added: ["1004"], removed: ["1002"] });
      assert.deepEqual(s.delegatesOf("1001").map((u) => u.extension), ["1003", "1004"]);
      s.addDelegate("1002", "1004");
      assert.deepEqual(s.bossesOf("1004").map((u) => u.displayName), ["Alice", "Bob"]);
      assert.deepEqual(s.replaceDelegates("1001", []), { added: [], removed: ["1003", "1004"] });
      assert.deepEqual(s.delegatesOf("1001"), []);
    } finally {
      s.close();
    }
  });

  it("refuses a database from a newer version of the service", () => {
    const db = new Database(file);
    migrate(db);
    db.prepare("UPDATE schema_version SET version = ?").run(SCHEMA_VERSION + 1);
    db.close();
    assert.throws(() => ProvisioningStore.open(file, { clock }), new RegExp(`schema version ${SCHEMA_VERSION + 1} is newer than this program knows \\(${SCHEMA_VERSION}\\)`));
  });

  it("generates a 24-character SIP password unless one is given, and uses the extension as SIP user", () => {
    const s = ProvisioningStore.open(file, { clock });
    try {
      const a = s.addUser({ extension: "1001", displayName: "Alice" });
      assert.match(a.sipPassword, /^[A-Za-z0-9]{24}$/);
      assert.equal(a.sipUser, "1001");
      assert.equal(s.addUser({ extension: "1002", displayName: "Bob", sipPassword: "given-secret" }).sipPassword, "given-secret");
      assert.notEqual(randomSipPassword(), randomSipPassword());
      assert.throws(() => s.addUser({ extension: "1001", displayName: "Again" }), /UNIQUE/);
    } finally {
      s.close();
    }
  });

  it("removes a user with their delegations and lock state, and revokes their devices", () => {
    const s = ProvisioningStore.open(file, { clock });
    try {
      s.addUser({ extension: "1001", displayName: "Alice" });
      s.addUser({ extension: "1002", displayName: "Bob" });
      s.addDelegate("1001", "1002");
      s.saveLockState("1001", { failures: [clock.wallNow()], lockedUntil: null, adminLocked: false, consecutive: 1 });
      s.addDevice({ id: "d1", extension: "1001", certSerial: "01ab", certSha256: "AA:BB" });
      assert.equal(s.deviceByFingerprint("aa:bb")?.id, "d1");
      assert.equal(s.removeUser("1001"), true);
      assert.deepEqual(s.delegations(), []);
      assert.deepEqual(s.lockState("1001", 0), { failures: [], lockedUntil: null, adminLocked: false, consecutive: 0 });
      assert.notEqual(s.getDevice("d1")?.revokedAt, null);
      assert.equal(s.removeUser("1001"), false);
    } finally {
      s.close();
    }
  });

  it("keeps named policies as JSON, and the audit log without PINs or passwords at any depth", () => {
    const s = ProvisioningStore.open(file, { clock });
    try {
      s.setPolicy("lock", { afterIdleMinutes: 10 });
      s.setPolicy("lock", { afterIdleMinutes: 5 });
      assert.deepEqual(s.getPolicy("lock"), { afterIdleMinutes: 5 });
      assert.equal(s.getPolicy("location"), undefined);
      s.audit("cli", "pin-set", { extension: "1001", detail: { pin: "13579", newPin: "24680", sipPassword: "pw", nested: { password: "x", key: "k", ok: 1 }, triesLeft: 3 } });
      const [e] = s.auditLog();
      assert.deepEqual(e?.detail, { nested: { ok: 1 }, triesLeft: 3 });
      assert.equal(e?.actor, "cli");
      assert.equal(e?.at, clock.wallNow());
      assert.deepEqual(scrubDetail([{ pin: 1, a: 2 }]), [{ a: 2 }]);
    } finally {
      s.close();
    }
  });

  it("lists the audit log newest-limited, oldest first, by extension", () => {
    const s = ProvisioningStore.open(file, { clock });
    try {
      for (let i = 0; i < 5; i++) s.audit("service", "pin-failure", { extension: i % 2 ? "1001" : "1002", detail: { i } });
      assert.deepEqual(s.auditLog({ limit: 2 }).map((e) => e.detail.i), [3, 4]);
      assert.deepEqual(s.auditLog({ extension: "1001" }).map((e) => e.detail.i), [1, 3]);
    } finally {
      s.close();
    }
  });

  it("builds a user's bundle: account, dial plan, lock policy, directory without private lines; it passes checkBundle", () => {
    const s = ProvisioningStore.open(file, { clock });
    try {
      s.addUser({ extension: "1002", displayName: "Bob Jones", privateLine: "2002", sipPassword: "bob-secret-pw" });
      s.addUser({ extension: "1001", displayName: "Alice Smith", sipPassword: "alice-secret-pw" });
      s.setPolicy("lock", { afterIdleMinutes: 10 });
      const b = buildUserBundle(s, "1001", { sip: { domain: "pbx.example", servers: [{ host: "10.0.0.2", port: 5060, transport: "udp" }] } });
      assert.deepEqual(b, {
        version: 1,
        accounts: [{ user: "1001", password: "alice-secret-pw", displayName: "Alice Smith", domain: "pbx.example", servers: [{ host: "10.0.0.2", port: 5060, transport: "udp" }] }],
        dialPlan: { emergencyNumbers: ["911", "112"], emergencyMasks: { "112": "911" }, outsideLinePrefix: "9", extensionLength: 4 },
        lock: { afterIdleMinutes: 10 },
        directory: [
          { name: "Alice Smith", number: "1001" },
          { name: "Bob Jones", number: "1002" },
        ],
      });
      checkBundle(b);
      assert.ok(!JSON.stringify(b).includes("2002"), "the private line is never listed");
      // the location and emergency policies ride along as the bundle's locationPolicy, location and emergency
      s.setPolicy("location", { locationRequired: "yes", emergencyDialMask: "112;999", notificationUri: "sip:security@pbx.example" });
      s.setPolicy("emergency", { location: { lisUrl: "https://lis.pbx.example/held" }, emergency: { routes: [{ host: "sbc.pbx.example", transport: "tcp" }] } });
      const e = buildUserBundle(s, "1001", { sip: { domain: "pbx.example", servers: [{ host: "10.0.0.2", port: 5060, transport: "udp" }] } });
      assert.deepEqual(e?.locationPolicy, { locationRequired: "yes", emergencyDialMask: "112;999", notificationUri: "sip:security@pbx.example" });
      assert.equal(e?.location?.lisUrl, "https://lis.pbx.example/held");
      assert.equal(e?.emergency?.routes?.[0]?.host, "sbc.pbx.example");
      assert.equal(buildUserBundle(s, "9999", { sip: { domain: "d", servers: [{ host: "h", transport: "udp" }] } }), undefined);
      // a PBX that routes GRUUs (the service config's sip.gruu): the bundle turns them on (RFC 5627, ED-63)
      assert.equal(e?.sip, undefined, "off unless IT says the PBX routes them");
      const g = buildUserBundle(s, "1001", { sip: { domain: "pbx.example", servers: [{ host: "10.0.0.2", transport: "udp" }], gruu: true } });
      assert.deepEqual(g?.sip, { gruu: true });
    } finally {
      s.close();
    }
  });
});

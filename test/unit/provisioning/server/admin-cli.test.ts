// The admin CLI in-process: every command, exit 0 / 1 (refused, one line) / 2 (usage), and no PIN or password in the
// store's audit log or in what it prints (except reset-pin's new PIN, once).
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../../../src/base/clock.js";
import { adminMain } from "../../../../src/provisioning/server/admin-cli.js";
import { ProvisioningStore } from "../../../../src/provisioning/server/store.js";
import { checkPin } from "../../../../src/provisioning/server/pin-policy.js";

interface Result {
  code: number;
  out: string;
  err: string;
}

describe("deskphone-admin (in-process)", () => {
  let dir: string;
  let db: string;
  const clock = new ManualClock(0, Date.UTC(2026, 0, 5, 9));

  const admin = async (...args: string[]): Promise<Result> => {
    let out = "";
    let err = "";
    const code = await adminMain(["--db", db, ...args], { out: (t) => (out += t), err: (t) => (err += t) }, { clock });
    return { code, out, err };
  };

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "admin-cli-"));
    db = path.join(dir, "provisioning.db");
  });
  afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

  it("adds, lists and removes users", async () => {
    assert.deepEqual(await admin("add-user", "1001", "--name", "Alice Smith", "--pin", "13579", "--line-uri", "sip:1001@pbx.example", "--private-line", "2001"), { code: 0, out: "added 1001 (Alice Smith)\n", err: "" });
    assert.equal((await admin("add-user", "1002", "--name", "Bob", "--sip-password", "bob-secret-pw")).out, "added 1002 (Bob); no PIN yet: deskphone-admin reset-pin 1002\n");
    const list = await admin("list-users");
    assert.equal(list.code, 0);
    assert.match(list.out, /^EXT +NAME +LINE URI +PRIVATE +PIN +LOCK +DEVICES +DELEGATES\n1001 +Alice Smith +sip:1001@pbx\.example +2001 +set +- +0 +-\n1002 +Bob +- +- +none +- +0 +-\n$/);
    const json = JSON.parse((await admin("list-users", "--json")).out) as Array<Record<string, unknown>>;
    assert.deepEqual(json[0], { extension: "1001", name: "Alice Smith", lineUri: "sip:1001@pbx.example", privateLine: "2001", sipUser: "1001", pinSet: true, lock: null, devices: 0, delegates: [] });
    assert.ok(!JSON.stringify(json).includes("bob-secret-pw"), "list-users never shows a SIP password");
    assert.deepEqual(await admin("remove-user", "1002"), { code: 0, out: "removed 1002\n", err: "" });
    assert.deepEqual(await admin("remove-user", "1002"), { code: 1, out: "", err: "no user with extension 1002\n" });
  });

  it("refuses a PIN against the policy with a one-line reason (exit 1)", async () => {
    await admin("add-user", "1001", "--name", "Alice");
    assert.deepEqual(await admin("set-pin", "1001", "1234"), { code: 1, out: "", err: "PIN refused: at least 5 digits\n" });
    assert.deepEqual(await admin("set-pin", "1001", "51234"), { code: 1, out: "", err: "PIN refused: 4 or more consecutive digits (1234)\n" });
    assert.deepEqual(await admin("set-pin", "1001", "77777"), { code: 1, out: "", err: "PIN refused: all the same digit (77777)\n" });
    assert.deepEqual(await admin("set-pin", "1001", "01001"), { code: 0, out: "PIN set for 1001\n", err: "" });
    assert.deepEqual(await admin("set-pin", "1001", "1001"), { code: 1, out: "", err: "PIN refused: at least 5 digits\n" });
    assert.deepEqual((await admin("add-user", "10001", "--name", "X", "--pin", "10001")).err, "PIN refused: the same as the extension\n");
    assert.deepEqual((await admin("add-user", "10002", "--name", "X", "--pin", "20001")).err, "PIN refused: the extension reversed\n");
    assert.deepEqual((await admin("add-user", "1001", "--name", "Again")).err, "extension 1001 already exists\n");
  });

  it("resets a PIN to a random valid one, shown once", async () => {
    await admin("add-user", "1001", "--name", "Alice");
    const r = await admin("reset-pin", "1001");
    assert.equal(r.code, 0);
    const pin = /^new PIN for 1001: ([0-9]+) \(shown once\)\n$/.exec(r.out)?.[1];
    assert.ok(pin && checkPin(pin, { extension: "1001" }).ok);
    const audit = await admin("audit", "--json");
    assert.ok(!audit.out.includes(pin), "the audit log does not have it");
    assert.deepEqual(
      (JSON.parse(audit.out) as Array<{ event: string }>).map((e) => e.event),
      ["user-added", "pin-reset"],
    );
  });

  it("unlocks, revokes devices, manages delegates and policies", async () => {
    await admin("add-user", "1001", "--name", "Alice", "--pin", "13579");
    await admin("add-user", "1002", "--name", "Bob", "--pin", "24680");
    const s = ProvisioningStore.open(db, { clock });
    s.saveLockState("1001", { failures: [], lockedUntil: clock.wallNow() + 3600_000, adminLocked: false, consecutive: 5 });
    s.addDevice({ id: "dev-1", extension: "1001", certSerial: "1f", certSha256: "ab" });
    s.close();
    assert.match((await admin("list-users")).out, /1001 +Alice +- +- +set +2026-01-05T10:00:00\.000Z +1/);
    assert.deepEqual(await admin("unlock", "1001"), { code: 0, out: "unlocked 1001 (was locked until 2026-01-05T10:00:00.000Z)\n", err: "" });
    assert.deepEqual(await admin("unlock", "1001"), { code: 0, out: "1001 was not locked; failure counts cleared\n", err: "" });
    assert.match((await admin("devices", "1001")).out, /^DEVICE +EXT +SERIAL +SHA-256 +CREATED +LAST SEEN +REVOKED\ndev-1 +1001 +1f +ab +2026-01-05T09:00:00\.000Z +- +-\n$/);
    assert.deepEqual(await admin("revoke", "dev-1"), { code: 0, out: "revoked device dev-1 (1001)\n", err: "" });
    assert.equal((await admin("revoke", "dev-1")).code, 1);
    assert.equal((await admin("revoke", "nope")).err, "no device nope\n");
    assert.deepEqual(await admin("delegate", "add", "1001", "1002"), { code: 0, out: "1002 is now a delegate of 1001\n", err: "" });
    assert.equal((await admin("delegate", "list")).out, "BOSS  NAME   RING     DELEGATES\n1001  Alice  at once  1002 (Bob)\n");
    assert.equal((await admin("delegate", "add", "1001", "1001")).err, "a user cannot be their own delegate\n");
    assert.equal((await admin("delegate", "remove", "1001", "1002")).code, 0);
    assert.equal((await admin("delegate", "remove", "1001", "1002")).err, "1002 is not a delegate of 1001\n");
    assert.equal((await admin("policy", "set", "delegation", '{"enabled":true}')).code, 0);
    assert.equal((await admin("policy", "show", "delegation")).out, '{\n  "enabled": true\n}\n');
    assert.equal((await admin("policy", "show", "logging")).out, "policy logging is not set\n");
    // --json: one JSON value for a script, null when not set
    assert.deepEqual(await admin("policy", "show", "logging", "--json"), { code: 0, out: "null\n", err: "" });
    assert.deepEqual(await admin("policy", "show", "delegation", "--json"), { code: 0, out: '{"enabled":true}\n', err: "" });
    const misplaced = await admin("policy", "set", "logging", "{}", "--json");
    assert.equal(misplaced.code, 2);
    assert.match(misplaced.err, /^deskphone-admin: --json goes with policy show\n/);
    assert.deepEqual(await admin("policy", "set", "lock", '{"afterIdleMinutes":"ten"}'), { code: 1, out: "", err: "policy lock: /afterIdleMinutes: must be integer\n" });
    assert.equal((await admin("policy", "set", "lock", "{oops")).code, 1);
    assert.equal((await admin("policy", "set", "colour", "{}")).err, "unknown policy 'colour' (one of location, emergency, logging, lock, delegation)\n");
    assert.deepEqual(await admin("policy", "set", "location", '{"locationRefreshInterval":24}'), { code: 1, out: "", err: "policy location: /locationRefreshInterval: must be <= 12\n" });
    assert.deepEqual(await admin("policy", "set", "emergency", '{"location":{"lisUrl":"ftp://x"}}'), { code: 1, out: "", err: 'policy emergency: /location/lisUrl: must match pattern "^https?://[^\\s]+$"\n' });
    const events = (JSON.parse((await admin("audit", "--ext", "1001", "--json")).out) as Array<{ event: string }>).map((e) => e.event);
    assert.deepEqual(events, ["user-added", "pin-set", "pin-unlocked", "pin-unlocked", "device-revoked", "delegate-added", "delegate-removed"]);
    assert.match((await admin("audit", "--limit", "1")).out, /^2026-01-05T09:00:00\.000Z {2}cli +policy-set +- +- +{"name":"delegation","value":{"enabled":true}}\n$/);
  });

  it("sets a boss's ring mode (delegates at once, or after N seconds), shown in delegate list; keeps the limits of 8 and 4", async () => {
    for (let i = 1; i <= 14; i++) assert.equal((await admin("add-user", String(1000 + i), "--name", `User ${i}`)).code, 0);
    await admin("delegate", "add", "1001", "1002");
    await admin("delegate", "add", "1001", "1003");
    assert.deepEqual(await admin("delegate", "ring-mode", "1001", "delayed", "--seconds", "15"), { code: 0, out: "calls to 1001 ring the delegates after 15 s\n", err: "" });
    assert.equal((await admin("delegate", "list")).out, "BOSS  NAME    RING        DELEGATES\n1001  User 1  after 15 s  1002 (User 2), 1003 (User 3)\n");
    assert.deepEqual(JSON.parse((await admin("delegate", "list", "1003", "--json")).out), [
      {
        boss: "1001",
        name: "User 1",
        ringMode: "delayed",
        ringDelaySeconds: 15,
        delegates: [
          { extension: "1002", name: "User 2" },
          { extension: "1003", name: "User 3" },
        ],
      },
    ]);
    // the delay is kept when not given; simultaneous rings at once
    assert.equal((await admin("delegate", "ring-mode", "1001", "simultaneous")).out, "calls to 1001 ring the delegates at once\n");
    assert.equal((await admin("delegate", "ring-mode", "1001", "delayed")).out, "calls to 1001 ring the delegates after 15 s\n");
    assert.equal((await admin("delegate", "ring-mode", "1001", "delayed", "--seconds", "0")).out, "calls to 1001 ring the delegates after 0 s\n");
    assert.equal((await admin("delegate", "list", "1009")).out, "no delegates\n");
    // refusals (exit 1) and usage errors (exit 2)
    assert.deepEqual(await admin("delegate", "ring-mode", "1001", "forward"), { code: 1, out: "", err: "ring mode must be simultaneous or delayed (got 'forward')\n" });
    assert.deepEqual(await admin("delegate", "ring-mode", "1001", "delayed", "--seconds", "61"), { code: 1, out: "", err: "the ring delay must be a whole number of seconds from 0 to 60 (got 61)\n" });
    assert.deepEqual(await admin("delegate", "ring-mode", "1001", "simultaneous", "--seconds", "5"), { code: 1, out: "", err: "--seconds goes with ring mode delayed (simultaneous rings the delegates at once)\n" });
    assert.deepEqual(await admin("delegate", "ring-mode", "9999", "delayed"), { code: 1, out: "", err: "no user with extension 9999\n" });
    for (const args of [["delegate", "ring-mode", "1001", "delayed", "--seconds", "ten"], ["delegate", "ring-mode", "1001"], ["delegate", "list", "--seconds", "3"], ["delegate", "add", "1001", "1004", "--json"]]) {
      const r = await admin(...args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.err, /usage: deskphone-admin/);
    }
    // at most 8 delegates per boss, and 4 bosses per delegate
    for (let d = 1004; d <= 1009; d++) assert.equal((await admin("delegate", "add", "1001", String(d))).code, 0);
    assert.deepEqual(await admin("delegate", "add", "1001", "1010"), { code: 1, out: "", err: "1001 already has 8 delegates (the most)\n" });
    for (const b of ["1011", "1012", "1013"]) assert.equal((await admin("delegate", "add", b, "1002")).code, 0);
    assert.deepEqual(await admin("delegate", "add", "1014", "1002"), { code: 1, out: "", err: "1002 is already a delegate of 4 users (the most)\n" });
    assert.equal((await admin("delegate", "add", "1001", "1002")).err, "1002 is already a delegate of 1001\n");
    // audited, with the mode and the delay
    const rings = (JSON.parse((await admin("audit", "--ext", "1001", "--json", "--limit", "100")).out) as Array<{ event: string; actor: string; detail: Record<string, unknown> }>).filter((e) => e.event === "ring-mode-set");
    assert.deepEqual(
      rings.map((e) => [e.actor, e.detail]),
      [
        ["cli", { ringMode: "delayed", ringDelaySeconds: 15 }],
        ["cli", { ringMode: "simultaneous", ringDelaySeconds: 15 }],
        ["cli", { ringMode: "delayed", ringDelaySeconds: 15 }],
        ["cli", { ringMode: "delayed", ringDelaySeconds: 0 }],
      ],
    );
  });

  it("gives a user a private line, changes it and takes it away; refuses a number already someone's", async () => {
    await admin("add-user", "1001", "--name", "Alice");
    await admin("add-user", "1002", "--name", "Bob", "--private-line", "2002");
    assert.deepEqual(await admin("set-private-line", "1001", "+15125550101"), { code: 0, out: "private line of 1001: +15125550101\n", err: "" });
    assert.deepEqual(await admin("set-private-line", "1001", "+15125550101"), { code: 0, out: "private line of 1001: +15125550101\n", err: "" });
    assert.deepEqual(await admin("set-private-line", "1001", "2002"), { code: 1, out: "", err: "2002 is already a number of 1002 (Bob)\n" });
    assert.deepEqual(await admin("set-private-line", "1001", "1002"), { code: 1, out: "", err: "1002 is already a number of 1002 (Bob)\n" });
    assert.deepEqual(await admin("set-private-line", "1001", "1001"), { code: 1, out: "", err: "the private line cannot be the extension itself\n" });
    assert.deepEqual(await admin("set-private-line", "1001", "sip:x"), { code: 1, out: "", err: "private line must be a phone number (digits, optional leading +; got 'sip:x')\n" });
    assert.deepEqual(await admin("set-private-line", "9999", "2009"), { code: 1, out: "", err: "no user with extension 9999\n" });
    assert.match((await admin("list-users")).out, /\n1001 +Alice +- +\+15125550101 +none/);
    assert.deepEqual(await admin("set-private-line", "1002"), { code: 0, out: "1002 has no private line\n", err: "" });
    assert.equal((await admin("set-private-line", "1001", "2002")).code, 0, "2002 is free again");
    const sets = (JSON.parse((await admin("audit", "--json")).out) as Array<{ event: string; extension: string; detail: unknown }>).filter((e) => e.event === "private-line-set");
    assert.deepEqual(
      sets.map((e) => [e.extension, e.detail]),
      [
        ["1001", { privateLine: "+15125550101", was: null }],
        ["1001", { privateLine: "+15125550101", was: "+15125550101" }],
        ["1002", { privateLine: null, was: "2002" }],
        ["1001", { privateLine: "2002", was: "+15125550101" }],
      ],
    );
  });

  it("checks the delegation policy's shape: {\"enabled\": boolean} and nothing else", async () => {
    assert.deepEqual(await admin("policy", "set", "delegation", '{"enabled":"yes"}'), { code: 1, out: "", err: "policy delegation: /enabled: must be boolean\n" });
    assert.deepEqual(await admin("policy", "set", "delegation", "{}"), { code: 1, out: "", err: "policy delegation: /: missing 'enabled'\n" });
    assert.deepEqual(await admin("policy", "set", "delegation", '{"enabled":true,"ringMode":"delayed"}'), { code: 1, out: "", err: "policy delegation: /: unknown field 'ringMode'\n" });
    assert.deepEqual(await admin("policy", "set", "delegation", '{"enabled":false}'), { code: 0, out: 'policy delegation set: {"enabled":false}\n', err: "" });
  });

  it("takes the delegation policy's forking: \"server\" or \"phone\", refusing any other value by name", async () => {
    assert.deepEqual(await admin("policy", "set", "delegation", '{"enabled":true,"forking":"phone"}'), { code: 0, out: 'policy delegation set: {"enabled":true,"forking":"phone"}\n', err: "" });
    assert.equal((await admin("policy", "show", "delegation")).out, '{\n  "enabled": true,\n  "forking": "phone"\n}\n');
    assert.equal((await admin("policy", "set", "delegation", '{"enabled":true,"forking":"server"}')).code, 0);
    assert.deepEqual(await admin("policy", "set", "delegation", '{"enabled":true,"forking":"pbx"}'), { code: 1, out: "", err: 'policy delegation: /forking: must be "server" or "phone" (got "pbx")\n' });
    assert.deepEqual(await admin("policy", "set", "delegation", '{"enabled":true,"forking":true}'), { code: 1, out: "", err: 'policy delegation: /forking: must be "server" or "phone" (got true)\n' });
    assert.equal((await admin("policy", "show", "delegation")).out, '{\n  "enabled": true,\n  "forking": "server"\n}\n', "a refused policy changes nothing");
  });

  it("exits 2 with the usage on a usage error", async () => {
    for (const args of [[], ["frob"], ["add-user", "1001"], ["set-pin", "1001"], ["list-users", "--name", "x"], ["audit", "--limit", "zero"], ["delegate", "swap", "1", "2"], ["policy", "set", "lock"], ["list-users", "--bogus"]]) {
      const r = await admin(...args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.err, /usage: deskphone-admin/);
    }
    let err = "";
    assert.equal(await adminMain(["list-users"], { out: () => undefined, err: (t) => (err += t) }), 2);
    assert.match(err, /give the database with --db FILE or the service's --config FILE/);
    assert.equal(await adminMain(["--help"], { out: () => undefined, err: () => undefined }), 0);
  });
});

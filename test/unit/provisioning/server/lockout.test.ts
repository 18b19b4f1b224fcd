// PIN lockout with an injected clock: the sliding 30-minute window, the hour lock (a correct PIN refused too), the admin
// lock after 25 consecutive failures, a success clearing the counts, and an unknown extension answered the same way
// with nothing stored for it.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../../../src/base/clock.js";
import { ProvisioningStore } from "../../../../src/provisioning/server/store.js";
import { PinGate } from "../../../../src/provisioning/server/pin-gate.js";
import { DEFAULT_LOCKOUT, activeLock, openState, recordFailure } from "../../../../src/provisioning/server/lockout.js";
import { hashPin, type ScryptParams } from "../../../../src/provisioning/server/pin-hash.js";

const FAST: ScryptParams = { N: 1024, r: 8, p: 1 };
const MIN = 60_000;

describe("PIN lockout rules", () => {
  it("counts failures in a sliding window and locks for an hour at the 5th", () => {
    let s = openState();
    const tries: number[] = [];
    for (let i = 0; i < 4; i++) {
      const out = recordFailure(s, 1000 + i * MIN, DEFAULT_LOCKOUT);
      s = out.state;
      tries.push(out.triesLeft);
      assert.equal(out.locked, null);
    }
    assert.deepEqual(tries, [4, 3, 2, 1]);
    const fifth = recordFailure(s, 1000 + 10 * MIN, DEFAULT_LOCKOUT);
    assert.equal(fifth.locked, 1000 + 10 * MIN + 60 * MIN);
    assert.equal(activeLock(fifth.state, 1000 + 69 * MIN), fifth.locked);
    assert.equal(activeLock(fifth.state, 1000 + 70 * MIN), null);
  });

  it("forgets failures older than 30 minutes", () => {
    let s = openState();
    for (let i = 0; i < 4; i++) s = recordFailure(s, i * 1000, DEFAULT_LOCKOUT).state;
    const later = recordFailure(s, 31 * MIN, DEFAULT_LOCKOUT);
    assert.equal(later.locked, null);
    assert.equal(later.triesLeft, 4);
    assert.equal(later.state.consecutive, 5, "the global count keeps them");
  });

  it("locks until an admin unlocks after 25 consecutive failures, telling tries left to whichever lock comes first", () => {
    let s = { ...openState(), consecutive: 23 };
    const a = recordFailure(s, 0, DEFAULT_LOCKOUT);
    assert.equal(a.triesLeft, 1, "the admin lock is one failure away, the hour lock four");
    s = a.state;
    const b = recordFailure(s, MIN, DEFAULT_LOCKOUT);
    assert.equal(b.locked, "admin");
    assert.equal(activeLock(b.state, 10 * 24 * 60 * MIN), "admin");
  });
});

describe("PIN gate (store, clock, scrypt)", () => {
  let dir: string;
  let store: ProvisioningStore;
  let clock: ManualClock;
  let gate: PinGate;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "pin-gate-"));
    clock = new ManualClock();
    store = ProvisioningStore.open(path.join(dir, "p.db"), { clock });
    store.addUser({ extension: "1001", displayName: "Alice", pinHash: await hashPin("13579", FAST) });
    gate = new PinGate(store, clock, DEFAULT_LOCKOUT, FAST);
  });
  afterEach(async () => {
    store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const wrong = async (ext = "1001"): Promise<unknown> => {
    const r = await gate.check(ext, "24680");
    return r.ok ? "ok" : r.reason === "wrong-pin" ? r.triesLeft : r.until;
  };

  it("signs in with the right PIN and counts wrong ones down to the hour lock, which refuses the right PIN too", async () => {
    assert.equal((await gate.check("1001", "13579")).ok, true);
    const seen = [];
    for (let i = 0; i < 4; i++) {
      seen.push(await wrong());
      clock.advance(MIN);
    }
    assert.deepEqual(seen, [4, 3, 2, 1]);
    const lockedAt = clock.wallNow();
    assert.equal(await wrong(), lockedAt + 60 * MIN);
    const right = await gate.check("1001", "13579");
    assert.deepEqual(right, { ok: false, reason: "locked", until: lockedAt + 60 * MIN });
    clock.advance(59 * MIN);
    assert.equal((await gate.check("1001", "13579")).ok, false);
    clock.advance(MIN);
    assert.equal((await gate.check("1001", "13579")).ok, true, "the hour is over");
    const events = store.auditLog({ extension: "1001" }).map((e) => e.event);
    assert.deepEqual(events.filter((e) => e === "pin-locked").length, 1);
    assert.ok(events.filter((e) => e === "pin-failure").length >= 7, "failures, and attempts while locked, are audited");
  });

  it("slides the window: failures spread over more than 30 minutes never lock", async () => {
    for (let i = 0; i < 12; i++) {
      assert.equal(await wrong(), i < 4 ? 4 - i : 1, `attempt ${i}`);
      clock.advance(8 * MIN);
    }
  });

  it("clears the counts on a success", async () => {
    for (let i = 0; i < 4; i++) await wrong();
    assert.equal((await gate.check("1001", "13579")).ok, true);
    assert.equal(await wrong(), 4);
    assert.deepEqual(store.lockState("1001", 0).consecutive, 1);
  });

  it("locks until an admin unlocks after 25 consecutive failures (five hour locks)", async () => {
    let last: unknown;
    for (let n = 0; n < 25; n++) {
      last = await wrong();
      if (typeof last === "number" && last > 1e12) clock.advance(61 * MIN); // wait out each hour lock
    }
    assert.equal(last, "admin");
    clock.advance(7 * 24 * 60 * MIN);
    assert.deepEqual(await gate.check("1001", "13579"), { ok: false, reason: "locked", until: "admin" });
    assert.equal(store.auditLog({ extension: "1001" }).filter((e) => e.event === "pin-locked").length, 5);
    store.saveLockState("1001", openState()); // what `deskphone-admin unlock` does
    assert.equal((await gate.check("1001", "13579")).ok, true);
  });

  it("answers an unknown extension like a known one, stores no lock state for it, and audits the attempts", async () => {
    const seen = [];
    for (let i = 0; i < 5; i++) seen.push(await wrong("4242"));
    assert.deepEqual(seen.slice(0, 4), [4, 3, 2, 1]);
    assert.equal(typeof seen[4], "number", "then the same hour lock");
    assert.deepEqual(store.lockState("4242", 0), openState());
    assert.equal(store.getUser("4242"), undefined);
    const audit = store.auditLog({ extension: "4242" });
    assert.equal(audit.length, 5);
    assert.ok(audit.every((e) => e.event === "pin-failure" && e.detail.unknownExtension === true));
  });

  it("checks attempts for one extension one at a time (no more failures slip through than the limit)", async () => {
    const all = await Promise.all(Array.from({ length: 8 }, () => gate.check("1001", "24680")));
    const answers = all.map((r) => (r.ok ? "ok" : r.reason));
    assert.deepEqual(answers, ["wrong-pin", "wrong-pin", "wrong-pin", "wrong-pin", "locked", "locked", "locked", "locked"]);
    assert.equal(store.lockState("1001", 0).consecutive, 5);
  });

  it("never stores or audits the PIN", async () => {
    await wrong();
    await gate.check("1001", "13579");
    const text = JSON.stringify(store.auditLog({ limit: 1000 }));
    assert.ok(!text.includes("24680") && !text.includes("13579"));
  });
});

import assert from "node:assert/strict";
import { ManualClock, createSystemClock } from "../../../src/base/clock.js";

describe("ManualClock", () => {
  it("fires timers in due order, with time set to each due time", () => {
    const c = new ManualClock();
    const seen: Array<[string, number]> = [];
    c.setTimeout(() => seen.push(["b", c.now()]), 20);
    c.setTimeout(() => seen.push(["a", c.now()]), 10);
    c.setTimeout(() => seen.push(["c", c.now()]), 30);
    c.advance(25);
    assert.deepEqual(seen, [["a", 10], ["b", 20]]);
    assert.equal(c.now(), 25);
    c.advance(5);
    assert.deepEqual(seen.at(-1), ["c", 30]);
  });

  it("repeats intervals and stops them on cancel", () => {
    const c = new ManualClock();
    let n = 0;
    const t = c.setInterval(() => n++, 10);
    c.advance(35);
    assert.equal(n, 3);
    t.cancel();
    c.advance(100);
    assert.equal(n, 3);
    assert.equal(c.pending(), 0);
  });

  it("runs timers a timer schedules within the same advance", () => {
    const c = new ManualClock();
    const at: number[] = [];
    c.setTimeout(() => c.setTimeout(() => at.push(c.now()), 5), 5);
    c.advance(10);
    assert.deepEqual(at, [10]);
  });

  it("resolves sleep when advanced", async () => {
    const c = new ManualClock();
    let done = false;
    const p = c.sleep(50).then(() => (done = true));
    c.advance(49);
    await Promise.resolve();
    assert.equal(done, false);
    c.advance(1);
    await p;
    assert.equal(done, true);
  });

  it("derives wall time from its base", () => {
    const c = new ManualClock(0, 1_000_000);
    c.advance(500);
    assert.equal(c.wallNow(), 1_000_500);
  });
});

describe("system clock", () => {
  it("runs a timeout and can cancel an interval", async () => {
    const c = createSystemClock();
    const t0 = c.now();
    await c.sleep(5);
    assert.ok(c.now() > t0);
    let n = 0;
    const iv = c.setInterval(() => n++, 1);
    await c.sleep(20);
    iv.cancel();
    const after = n;
    await c.sleep(10);
    assert.ok(after > 0);
    assert.equal(n, after);
  });
});

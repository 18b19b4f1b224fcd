// Shared by the I2C display tests: run a driver call whose waits go through a ManualClock.
import type { ManualClock } from "../../../../src/base/clock.js";

/**
 * Awaits `p` while moving `clock` forward 1 ms at a time (the drivers sleep through the clock: HD44780 init and
 * clear). Bounded: gives up after `maxMs` of clock time, so a driver that never finishes fails the test.
 */
export async function withClock<T>(clock: ManualClock, p: Promise<T>, maxMs = 1000): Promise<T> {
  let done = false;
  const settled = p.then(
    (v) => ((done = true), { ok: true as const, v }),
    (e: unknown) => ((done = true), { ok: false as const, e }),
  );
  for (let t = 0; t < maxMs && !done; t++) await clock.advanceAsync(1);
  if (!done) throw new Error(`still pending after ${maxMs} ms of clock time`);
  const r = await settled;
  if (!r.ok) throw r.e;
  return r.v;
}

/** The error `p` rejects with (fails if it resolves), while moving the clock. */
export async function rejection(clock: ManualClock, p: Promise<unknown>): Promise<unknown> {
  try {
    await withClock(clock, p);
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

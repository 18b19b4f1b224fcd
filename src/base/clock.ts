// The one clock module: every timer and every reading of time in the runtime goes through a Clock.
import { monotonicNowMs, wallNowMs, realSetTimeout, realClearTimeout } from "./clock-real.js";

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (fractional), for intervals, debounce and timeouts. */
  now(): number;
  /** Wall-clock milliseconds since the epoch, for timestamps shown to people and written to logs. */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  setInterval(fn: () => void, ms: number): Timer;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
}

/** The real clock, backed by the event loop. Stateless, so one per phone costs nothing. */
export function createSystemClock(): Clock {
  return {
    now: monotonicNowMs,
    wallNow: wallNowMs,
    setTimeout(fn, ms) {
      const h = realSetTimeout(fn, ms);
      return { cancel: () => realClearTimeout(h) };
    },
    setInterval(fn, ms) {
      let h: ReturnType<typeof realSetTimeout>;
      let live = true;
      // Chained timeouts aimed at start + k*ms, so the period holds on average (a timer firing a little late does not
      // push every later one back: an audio device paced by this keeps its 50 frames a second, like a sound card's
      // crystal). A callback more than a period late does not queue a burst: the schedule restarts from now.
      let due = monotonicNowMs() + ms;
      const tick = (): void => {
        if (!live) return;
        h = realSetTimeout(() => {
          if (!live) return;
          fn();
          const now = monotonicNowMs();
          due = now - due > ms ? now + ms : due + ms;
          tick();
        }, Math.max(0, due - monotonicNowMs()));
      };
      tick();
      return {
        cancel: () => {
          live = false;
          realClearTimeout(h);
        },
      };
    },
    sleep(ms) {
      return new Promise((resolve) => realSetTimeout(resolve, ms));
    },
  };
}

interface ManualTimer {
  id: number;
  due: number;
  period: number | null;
  fn: () => void;
  live: boolean;
}

/**
 * A clock that moves only when told to. Tests and emulators use it to run timer logic
 * (debounce, hook flash, retries, heartbeats) without sleeping.
 */
export class ManualClock implements Clock {
  private t: number;
  private readonly wallBase: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(startMs = 0, wallBaseMs = Date.UTC(2026, 0, 1)) {
    this.t = startMs;
    this.wallBase = wallBaseMs;
  }

  now(): number {
    return this.t;
  }

  wallNow(): number {
    return this.wallBase + this.t;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, null);
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, Math.max(ms, 0.001));
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Timers not yet fired or cancelled. */
  pending(): number {
    return this.timers.filter((t) => t.live).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order of due time. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.nextDue();
      if (!next || next.due > end) break;
      this.t = Math.max(this.t, next.due);
      this.fire(next);
    }
    this.t = end;
  }

  /** Advances in small steps, yielding to the event loop between them so promise chains can run. */
  async advanceAsync(ms: number, stepMs = 1): Promise<void> {
    let left = ms;
    while (left > 0) {
      const step = Math.min(stepMs, left);
      this.advance(step);
      left -= step;
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  private add(fn: () => void, ms: number, period: number | null): Timer {
    const timer: ManualTimer = { id: ++this.seq, due: this.t + Math.max(ms, 0), period, fn, live: true };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.live = false;
      },
    };
  }

  private nextDue(): ManualTimer | undefined {
    this.timers = this.timers.filter((t) => t.live);
    let best: ManualTimer | undefined;
    for (const t of this.timers) if (!best || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    return best;
  }

  private fire(timer: ManualTimer): void {
    if (timer.period === null) timer.live = false;
    else timer.due += timer.period;
    timer.fn();
  }
}

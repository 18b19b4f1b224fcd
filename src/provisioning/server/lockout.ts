// PIN sign-in lockout rules, as Lync had them: wrong PINs inside a sliding window (30 min) up to a local limit (5) lock
// PIN sign-in for an hour, a correct PIN included; a global count of consecutive failures since the last success (25)
// locks it until an admin unlocks. A success clears both counts. Pure functions over a LockState (pin-gate.ts runs
// them against the store).

export interface LockoutConfig {
  /** The sliding window failures are counted in (minutes). */
  windowMinutes: number;
  /** Failures in the window that lock PIN sign-in for `lockMinutes`. */
  localLimit: number;
  lockMinutes: number;
  /** Consecutive failures since the last success that lock PIN sign-in until an admin unlocks it. */
  globalLimit: number;
}

export const DEFAULT_LOCKOUT: LockoutConfig = { windowMinutes: 30, localLimit: 5, lockMinutes: 60, globalLimit: 25 };

export interface LockState {
  /** Wall-clock times (ms) of the failures inside the current window, oldest first. */
  failures: number[];
  /** The hour lock's end (wall-clock ms), or null. */
  lockedUntil: number | null;
  adminLocked: boolean;
  /** Failures since the last success or admin unlock. */
  consecutive: number;
}

export const openState = (): LockState => ({ failures: [], lockedUntil: null, adminLocked: false, consecutive: 0 });

/** The lock in force at `now`: the end of the hour lock, "admin", or null. */
export function activeLock(s: LockState, now: number): number | "admin" | null {
  if (s.adminLocked) return "admin";
  if (s.lockedUntil !== null && s.lockedUntil > now) return s.lockedUntil;
  return null;
}

export interface FailureOutcome {
  state: LockState;
  /** Wrong PINs left before PIN sign-in locks (the hour lock, or the admin lock when that comes first). */
  triesLeft: number;
  /** The lock this failure imposed, if any. */
  locked: number | "admin" | null;
}

/** Records a wrong PIN at `now` (the caller has checked no lock is in force). */
export function recordFailure(s: LockState, now: number, cfg: LockoutConfig): FailureOutcome {
  const windowStart = now - cfg.windowMinutes * 60_000;
  const failures = [...s.failures.filter((t) => t > windowStart), now];
  const consecutive = s.consecutive + 1;
  const base = { ...s, lockedUntil: s.lockedUntil !== null && s.lockedUntil > now ? s.lockedUntil : null };
  if (consecutive >= cfg.globalLimit) return { state: { ...base, failures: [], adminLocked: true, consecutive }, triesLeft: 0, locked: "admin" };
  if (failures.length >= cfg.localLimit) {
    // the window starts again after the lock: failures before it do not count twice
    const until = now + cfg.lockMinutes * 60_000;
    return { state: { ...base, failures: [], lockedUntil: until, consecutive }, triesLeft: 0, locked: until };
  }
  return { state: { ...base, failures, consecutive }, triesLeft: Math.min(cfg.localLimit - failures.length, cfg.globalLimit - consecutive), locked: null };
}


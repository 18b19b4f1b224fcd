// Checks sign-in PINs with the lockout rules (lockout.ts) against the store: verifies the PIN off the event loop,
// records failures and locks, audits, and answers an unknown extension exactly as it would a known one (its counts live
// in memory only: no lock state is stored for a number that is nobody's). Attempts for one extension run one at a time.
import type { Clock } from "../../base/clock.js";
import type { ProvisioningStore, UserRecord } from "./store.js";
import { verifyPin, decoyHash, type ScryptParams, DEFAULT_SCRYPT } from "./pin-hash.js";
import { DEFAULT_LOCKOUT, activeLock, openState, recordFailure, type LockState, type LockoutConfig } from "./lockout.js";

/** What a PIN sign-in attempt comes to. */
export type PinCheck =
  | { ok: true; user: UserRecord }
  | { ok: false; reason: "wrong-pin"; triesLeft: number }
  | { ok: false; reason: "locked"; until: number | "admin" };

const MAX_DECOYS = 10_000;

/** Checks sign-in PINs against the store with the lockout rules; attempts for one extension run one at a time. */
export class PinGate {
  private readonly decoys = new Map<string, LockState>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly decoy: Promise<string>;

  constructor(
    private readonly store: ProvisioningStore,
    private readonly clock: Clock,
    private readonly cfg: LockoutConfig = DEFAULT_LOCKOUT,
    private readonly scrypt: ScryptParams = DEFAULT_SCRYPT,
  ) {
    // made now, so the first unknown extension is not answered slower than a known one
    this.decoy = decoyHash(this.scrypt);
    this.decoy.catch(() => undefined);
  }

  check(extension: string, pin: string): Promise<PinCheck> {
    const prev = this.queues.get(extension) ?? Promise.resolve();
    const run = prev.then(() => this.checkNow(extension, pin));
    const tail = run.catch(() => undefined);
    this.queues.set(extension, tail);
    void tail.then(() => {
      if (this.queues.get(extension) === tail) this.queues.delete(extension);
    });
    return run;
  }

  private async checkNow(extension: string, pin: string): Promise<PinCheck> {
    const now = this.clock.wallNow();
    const user = this.store.getUser(extension);
    if (!user) return this.unknown(extension, pin, now);
    const state = this.store.lockState(extension, now - this.cfg.windowMinutes * 60_000);
    const lock = activeLock(state, now);
    if (lock !== null) {
      this.store.audit("service", "pin-failure", { extension, detail: { reason: "locked", lockedUntil: lock === "admin" ? "admin" : new Date(lock).toISOString() } });
      return { ok: false, reason: "locked", until: lock };
    }
    const right = await verifyPin(pin, user.pinHash ?? (await this.decoyHash()));
    if (right && user.pinHash) {
      this.store.saveLockState(extension, openState());
      return { ok: true, user };
    }
    // the PIN was checked off the event loop: read the state again in case an admin unlocked meanwhile
    const after = this.clock.wallNow();
    const fresh = this.store.lockState(extension, after - this.cfg.windowMinutes * 60_000);
    const out = recordFailure(fresh, after, this.cfg);
    this.store.saveLockState(extension, out.state);
    this.store.audit("service", "pin-failure", { extension, detail: { triesLeft: out.triesLeft, consecutive: out.state.consecutive, ...(user.pinHash ? {} : { reason: "no PIN set" }) } });
    if (out.locked !== null) {
      const until = out.locked === "admin" ? "admin" : new Date(out.locked).toISOString();
      this.store.audit("service", "pin-locked", { extension, detail: { lockedUntil: until, consecutive: out.state.consecutive } });
      return { ok: false, reason: "locked", until: out.locked };
    }
    return { ok: false, reason: "wrong-pin", triesLeft: out.triesLeft };
  }

  /** An extension nobody has: the same answers a real one would give, counted in memory, audited, nothing stored. */
  private async unknown(extension: string, pin: string, now: number): Promise<PinCheck> {
    const state = this.decoys.get(extension) ?? openState();
    state.failures = state.failures.filter((t) => t > now - this.cfg.windowMinutes * 60_000);
    const lock = activeLock(state, now);
    if (lock !== null) {
      this.store.audit("service", "pin-failure", { extension, detail: { unknownExtension: true, reason: "locked" } });
      return { ok: false, reason: "locked", until: lock };
    }
    await verifyPin(pin, await this.decoyHash());
    const out = recordFailure(state, this.clock.wallNow(), this.cfg);
    this.decoys.delete(extension);
    this.decoys.set(extension, out.state);
    if (this.decoys.size > MAX_DECOYS) this.decoys.delete(this.decoys.keys().next().value as string);
    this.store.audit("service", "pin-failure", { extension, detail: { unknownExtension: true } });
    if (out.locked !== null) return { ok: false, reason: "locked", until: out.locked };
    return { ok: false, reason: "wrong-pin", triesLeft: out.triesLeft };
  }

  private decoyHash(): Promise<string> {
    return this.decoy;
  }
}

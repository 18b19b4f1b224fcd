// New bundles (sign-in, refresh, a boss's delegation message) and revocations for the running SIP line, so that none
// ever drops a call. A bundle that leaves the line as it is (lineConfigKey: account, servers, TLS, media, emergency
// routing, location, SIP timing and GRUU all the same) is applied at once, in place, calls or not. One that needs the
// line restarted (SipPhone.stop() hangs up every call, emergency calls included) or a revocation (the line stops)
// waits while the phone has a call (live or ending), an emergency test call, or the emergency callback window open
// (the PSAP must reach the phone): the newest change is kept, the hold is logged, and it is applied as soon as a state
// change (onState) or the end of the window allows. The core's config waits with it, so the screen never shows an
// account the line does not run yet. Changes are applied one at a time, in order.
import type { Clock, Timer } from "../src/base/clock.js";
import type { Logger } from "../src/base/log.js";
import type { PhoneState } from "../src/phone/core/phone-state.js";
import type { ConfigBundle } from "../src/provisioning/config-bundle.js";
import { lineConfigKey, lineRestartHold } from "./phone-config.js";

export type LineChange = { kind: "bundle"; bundle: ConfigBundle; by: "service" | "config" } | { kind: "revoked"; message: string };

type HoldState = Pick<PhoneState, "calls" | "ending" | "emergencyCallbackUntil" | "emergencyTest">;

export interface LineChangesDeps {
  clock: Clock;
  log: Pick<Logger, "info" | "warn" | "error">;
  /** The phone's state now (the shell's). */
  state(): HoldState;
  /** Subscribes to the phone's state changes (the shell's onState). */
  onState(cb: (s: HoldState) => void): unknown;
  /** The bundle the running line was started with, or null when no line runs (then nothing can be dropped). */
  running(): ConfigBundle | null;
  /** Applies a bundle to the running line without restarting it (the core's config, the boss lines watched). */
  inPlace(b: ConfigBundle, by: "service" | "config"): Promise<void>;
  /** Restarts the line with a bundle (stops the old one: its calls end). */
  restart(b: ConfigBundle, by: "service" | "config"): Promise<void>;
  /** The device was revoked: the line stops, back to the sign-in wizard. */
  revoke(message: string): Promise<void>;
}

export class LineChanges {
  private waiting: LineChange | null = null;
  private logged: LineChange | null = null;
  private queue: Promise<void> = Promise.resolve();
  private windowTimer: Timer | undefined;
  private closed = false;

  constructor(private readonly d: LineChangesDeps) {
    d.onState((s) => {
      if (this.waiting && !lineRestartHold(s, d.clock.now())) this.retry();
    });
  }

  /** The change held back for when the phone is free, or null. */
  get held(): LineChange | null {
    return this.waiting;
  }

  /** A new bundle or a revocation: applied now when it may be (resolves once applied), else held (resolves at once). */
  offer(c: LineChange): Promise<void> {
    this.waiting = c;
    return this.run();
  }

  /** Forgets a held change (the provisioning it came from is being forgotten: sign-out, factory reset). */
  drop(): void {
    this.waiting = null;
    this.windowTimer?.cancel();
    this.windowTimer = undefined;
  }

  /** The phone is stopping: nothing held is applied any more (the calls its stop ends must not start a line). */
  close(): void {
    this.closed = true;
    this.drop();
  }

  private retry(): void {
    if (this.waiting) this.run().catch((e: Error) => this.d.log.error({ err: e.message }, "cannot apply the new config"));
  }

  private run(): Promise<void> {
    const run = this.queue.then(() => this.step());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async step(): Promise<void> {
    const c = this.waiting;
    if (!c || this.closed) return;
    const { clock, log } = this.d;
    const running = this.d.running();
    const inPlace = c.kind === "bundle" && running !== null && lineConfigKey(c.bundle) === lineConfigKey(running);
    const hold = !inPlace && running ? lineRestartHold(this.d.state(), clock.now()) : null;
    if (hold) return this.hold(c, hold);
    this.drop();
    if (this.logged === c) log.info({ change: c.kind }, c.kind === "bundle" ? "the phone is free: applying the new config held back" : "the phone is free: the revocation held back takes effect");
    this.logged = null;
    if (c.kind === "revoked") await this.d.revoke(c.message);
    else if (inPlace) await this.d.inPlace(c.bundle, c.by);
    else await this.d.restart(c.bundle, c.by);
  }

  private hold(c: LineChange, why: string): void {
    const { clock, log } = this.d;
    if (this.logged !== c) {
      this.logged = c;
      log.warn(
        { change: c.kind, why },
        c.kind === "bundle" ? "new config held back: the SIP line restarts with it once no call is up and the emergency callback window is over" : "device revoked: the line stops once no call is up and the emergency callback window is over",
      );
    }
    // the window ends on the clock, not on a state change: look again then (the core's own timer clears it as well)
    const until = this.d.state().emergencyCallbackUntil;
    if (until !== null && !this.windowTimer) {
      this.windowTimer = clock.setTimeout(
        () => {
          this.windowTimer = undefined;
          this.retry();
        },
        Math.max(0, until - clock.now()) + 10,
      );
    }
  }
}

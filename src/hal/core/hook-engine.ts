// Hook switch logic written once: debounce raw contact levels, then tell a hook flash from a hang-up.
import type { Clock, Timer } from "../../base/clock.js";
import { Listeners, type Unsubscribe } from "../api/events.js";
import type { HookEvent, HookState, HookSwitch } from "../api/hook.js";

export interface HookTiming {
  debounceMs: number;
  hookFlashMinMs: number;
  hookFlashMaxMs: number;
}

/**
 * Feed it raw levels (1 = off-hook) from any source: a GPIO line, an input event, a front-panel frame.
 *
 * A level must hold for debounceMs before it counts. A debounced on-hook is reported only after
 * hookFlashMaxMs: if the handset comes back off-hook sooner (and the pulse lasted at least
 * hookFlashMinMs) it is a "flash", and no "on"/"off" pair is reported.
 */
export class HookEngine implements HookSwitch {
  private readonly listeners = new Listeners<HookEvent>();
  private raw: 0 | 1;
  private stable: 0 | 1;
  private reported: HookState;
  private debounceTimer: Timer | undefined;
  private flashTimer: Timer | undefined;
  private onSince = 0;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly timing: HookTiming,
    initialOffHook: 0 | 1,
    private readonly onClose: () => Promise<void> = async () => undefined,
  ) {
    this.raw = initialOffHook;
    this.stable = initialOffHook;
    this.reported = initialOffHook ? "off" : "on";
  }

  state(): HookState {
    return this.reported;
  }

  onHook(cb: (ev: HookEvent) => void): Unsubscribe {
    return this.listeners.add(cb);
  }

  /** A raw contact level (1 = off-hook) seen at clock time tMs. */
  feed(level: 0 | 1, tMs: number = this.clock.now()): void {
    if (this.closed || level === this.raw) return;
    this.raw = level;
    this.debounceTimer?.cancel();
    this.debounceTimer = undefined;
    if (level === this.stable) return; // bounced back before settling
    this.debounceTimer = this.clock.setTimeout(() => {
      this.debounceTimer = undefined;
      this.settle(level, tMs);
    }, this.timing.debounceMs);
  }

  /** A level snapshot from a source that can miss edges (a heartbeat): applied at once, no debounce. */
  resync(level: 0 | 1, tMs: number = this.clock.now()): void {
    if (this.closed || this.debounceTimer) return;
    this.raw = level;
    if (level !== this.stable) this.settle(level, tMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.debounceTimer?.cancel();
    this.flashTimer?.cancel();
    this.listeners.clear();
    await this.onClose();
  }

  private settle(level: 0 | 1, tMs: number): void {
    this.stable = level;
    if (level === 0) {
      if (this.reported === "on") return;
      this.onSince = tMs;
      this.flashTimer?.cancel();
      this.flashTimer = this.clock.setTimeout(() => {
        this.flashTimer = undefined;
        this.report("on", this.onSince);
      }, this.timing.hookFlashMaxMs);
      return;
    }
    if (this.flashTimer) {
      this.flashTimer.cancel();
      this.flashTimer = undefined;
      if (tMs - this.onSince >= this.timing.hookFlashMinMs) this.listeners.emit({ type: "flash", tMs });
      return; // too short to be a flash: a glitch, the handset never left
    }
    if (this.reported === "on") this.report("off", tMs);
  }

  private report(state: HookState, tMs: number): void {
    this.reported = state;
    this.listeners.emit({ type: state, tMs });
  }
}

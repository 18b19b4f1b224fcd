// Hook switch on one GPIO input: the line's edges feed the shared HookEngine (logical 1 = off-hook).
import type { Clock } from "../../base/clock.js";
import type { Unsubscribe } from "../api/events.js";
import type { BoardLine, BoardTiming } from "../api/board.js";
import type { GpioChip, GpioLine } from "../api/gpio.js";
import type { HookEvent, HookState, HookSwitch } from "../api/hook.js";
import { HookEngine } from "../core/hook-engine.js";

/** A HookSwitch over a GPIO line. The board's activeLow makes "off-hook" read as 1, whichever way the contact works. */
export class GpioHook implements HookSwitch {
  private readonly engine: HookEngine;
  private readonly unwatch: Unsubscribe;

  constructor(
    private readonly line: GpioLine,
    clock: Clock,
    timing: BoardTiming,
  ) {
    this.engine = new HookEngine(clock, timing, line.read(), async () => {
      this.unwatch();
      this.line.close();
    });
    this.unwatch = line.watch((level, tMs) => this.engine.feed(level, tMs));
  }

  state(): HookState {
    return this.engine.state();
  }

  onHook(cb: (ev: HookEvent) => void): Unsubscribe {
    return this.engine.onHook(cb);
  }

  /**
   * Reads the line and applies its level at once. For moments an edge may have been lost: after a resume,
   * or on a kernel whose sysfs poll coalesced two edges into one read.
   */
  resync(): void {
    this.engine.resync(this.line.read());
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}

export function createGpioHook(chip: GpioChip, line: BoardLine, clock: Clock, timing: BoardTiming): GpioHook {
  // Both edges always: a hook that saw only one edge could never tell a lift from a hang-up.
  const gpio = chip.request({ line: line.line, direction: "in", edge: "both", activeLow: line.activeLow, bias: line.bias, consumer: "hook" });
  try {
    return new GpioHook(gpio, clock, timing);
  } catch (e) {
    gpio.close();
    throw e;
  }
}

// LED modes (off/on/slow/fast/wink) turned into on/off levels on a clock, for LEDs wired to plain outputs.
import type { Clock, Timer } from "../../base/clock.js";
import type { LedMode, Leds } from "../api/leds.js";
import { LED_MODES } from "../api/leds.js";
import { PhoneError, ErrorCodes } from "../../base/errors.js";

export interface BlinkTiming {
  ledSlowMs: number;
  ledFastMs: number;
  ledWinkOnMs: number;
  ledWinkOffMs: number;
}

/** Levels for each mode as [onMs, offMs]; off and on are steady. */
function pattern(mode: LedMode, t: BlinkTiming): [number, number] | null {
  switch (mode) {
    case "slow":
      return [t.ledSlowMs, t.ledSlowMs];
    case "fast":
      return [t.ledFastMs, t.ledFastMs];
    case "wink":
      return [t.ledWinkOnMs, t.ledWinkOffMs];
    default:
      return null;
  }
}

/** Drives `apply(id, lit)` so each LED shows its mode. One timer per blinking LED; none for steady ones. */
export class LedBlinker implements Leds {
  private readonly modes = new Map<string, LedMode>();
  private readonly timers = new Map<string, Timer>();
  private closed = false;

  constructor(
    readonly ids: readonly string[],
    private readonly clock: Clock,
    private readonly timing: BlinkTiming,
    private readonly apply: (id: string, lit: boolean) => void,
    private readonly onClose: () => Promise<void> = async () => undefined,
  ) {
    for (const id of ids) {
      this.modes.set(id, "off");
      apply(id, false);
    }
  }

  set(id: string, mode: LedMode): void {
    if (!this.modes.has(id)) throw new PhoneError(ErrorCodes.UNKNOWN_LED, `no LED named '${id}' on this board`, { id });
    if (!LED_MODES.includes(mode)) throw new PhoneError(ErrorCodes.BAD_REQUEST, `'${mode}' is not an LED mode`, { mode });
    if (this.modes.get(id) === mode) return;
    this.modes.set(id, mode);
    this.timers.get(id)?.cancel();
    this.timers.delete(id);
    const p = pattern(mode, this.timing);
    if (!p) {
      this.apply(id, mode === "on");
      return;
    }
    let lit = true;
    this.apply(id, true);
    const step = (): void => {
      lit = !lit;
      this.apply(id, lit);
      this.timers.set(id, this.clock.setTimeout(step, lit ? p[0] : p[1]));
    };
    this.timers.set(id, this.clock.setTimeout(step, p[0]));
  }

  get(id: string): LedMode {
    const m = this.modes.get(id);
    if (!m) throw new PhoneError(ErrorCodes.UNKNOWN_LED, `no LED named '${id}' on this board`, { id });
    return m;
  }

  snapshot(): Record<string, LedMode> {
    return Object.fromEntries(this.modes);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    for (const id of this.ids) this.apply(id, false);
    await this.onClose();
  }
}

// A hook switch from a Linux input device: one EV_SW switch (e.g. gpio-keys with linux,input-type = EV_SW) or one
// EV_KEY key, fed through the shared HookEngine for debounce and hook-flash detection.
import type { Clock } from "../../base/clock.js";
import { PhoneError, ErrorCodes } from "../../base/errors.js";
import type { BoardTiming } from "../api/board.js";
import type { HookSwitch } from "../api/hook.js";
import { EV_KEY, EV_SW, type InputEventSource } from "../api/input-events.js";
import { HookEngine } from "../core/hook-engine.js";
import { KEY_MAX, SW_MAX } from "../protocol/linux-keycodes.js";

export interface EvdevHookOptions {
  eventType: "EV_SW" | "EV_KEY";
  code: number;
  /** The event value that means the handset is lifted. */
  offHookValue: 0 | 1;
  /** The raw value at open, if known (e.g. from `evtest --query`). Reading it needs EVIOCGSW/EVIOCGKEY, ioctls
   * Node cannot issue, so by default the hook starts on-hook and learns otherwise from the first event. */
  initialValue?: 0 | 1;
}

/** Takes ownership of `src`: closing the hook switch closes it. */
export function createEvdevHook(src: InputEventSource, opts: EvdevHookOptions, clock: Clock, timing: BoardTiming): HookSwitch {
  const type = opts.eventType === "EV_SW" ? EV_SW : opts.eventType === "EV_KEY" ? EV_KEY : undefined;
  const max = type === EV_SW ? SW_MAX : KEY_MAX;
  if (type === undefined || !Number.isInteger(opts.code) || opts.code < 0 || opts.code > max || (opts.offHookValue !== 0 && opts.offHookValue !== 1)) {
    void src.close();
    throw new PhoneError(
      ErrorCodes.BOARD_INVALID,
      `evdev hook on ${src.path}: needs eventType EV_SW or EV_KEY, a code 0-${max} and offHookValue 0 or 1 ` +
        `(got ${String(opts.eventType)}, ${String(opts.code)}, ${String(opts.offHookValue)})`,
      { path: src.path },
    );
  }
  const level = (value: number): 0 | 1 => (value === opts.offHookValue ? 1 : 0);
  const initial = opts.initialValue === undefined ? 0 : level(opts.initialValue);
  let unsub = (): void => undefined;
  const engine = new HookEngine(clock, timing, initial, async () => {
    unsub();
    await src.close();
  });
  unsub = src.onEvent((ev) => {
    if (ev.type !== type || ev.code !== opts.code) return;
    if (ev.value !== 0 && ev.value !== 1) return; // EV_KEY autorepeat (2)
    // The phone's clock, not the kernel's CLOCK_REALTIME stamp: hook timing must agree with every other timer.
    engine.feed(level(ev.value), clock.now());
  });
  return engine;
}

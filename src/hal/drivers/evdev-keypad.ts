// A keypad from a Linux input device (gpio-keys, matrix-keypad, tca8418_keypad...): EV_KEY events -> key ids.
// The kernel has already debounced and scanned; this maps codes to the phone's key names and adds long press.
import type { Clock } from "../../base/clock.js";
import { PhoneError, ErrorCodes } from "../../base/errors.js";
import type { Unsubscribe } from "../api/events.js";
import { EV_KEY, EV_SYN, type InputEventSource } from "../api/input-events.js";
import { isValidKeyId, type KeyId, type Keypad } from "../api/keypad.js";
import { KeyStream, LongPressKeypad } from "../core/long-press.js";
import { keyCode, SYN_DROPPED, SYN_REPORT } from "../protocol/linux-keycodes.js";

/** EV_KEY values: 0 release, 1 press, 2 autorepeat (ignored: the phone has its own long press). */
const KEY_UP = 0;
const KEY_DOWN = 1;

class EvdevKeys extends KeyStream implements Keypad {
  readonly keys: readonly KeyId[];
  private readonly unsub: Unsubscribe;
  /** After SYN_DROPPED the kernel's buffer overflowed: ignore events until the next SYN_REPORT. */
  private dropping = false;
  private closed = false;

  constructor(
    private readonly src: InputEventSource,
    private readonly map: ReadonlyMap<number, KeyId>,
    private readonly clock: Clock,
  ) {
    super();
    this.keys = [...new Set(map.values())];
    this.unsub = src.onEvent((ev) => {
      // Times come from the phone's clock, not the kernel's CLOCK_REALTIME stamp, so keys, hook and timers agree.
      const t = this.clock.now();
      if (ev.type === EV_SYN) {
        if (ev.code === SYN_DROPPED) {
          // Events were lost and without EVIOCGKEY (an ioctl) we cannot ask which keys are down: release all.
          this.dropping = true;
          this.releaseAll(t);
        } else if (ev.code === SYN_REPORT) {
          this.dropping = false;
        }
        return;
      }
      if (ev.type !== EV_KEY || this.dropping) return;
      const key = this.map.get(ev.code);
      if (key === undefined) return;
      if (ev.value === KEY_DOWN) this.emit(key, true, t);
      else if (ev.value === KEY_UP) this.emit(key, false, t);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsub();
    this.releaseAll(this.clock.now());
    this.clear();
    await this.src.close();
  }
}

/**
 * Takes ownership of `src` (closing the keypad closes it, and so does a keymap error).
 * keymap: `{ "KEY_NUMERIC_1": "1", "KEY_ENTER": "SEND", "0x160": "OK", "28": "SEND" }` (a KEY_/BTN_ name or a
 * code number -> key id). Bad entries fail with PHONE_ERR_BOARD_INVALID naming the entry.
 */
export function createEvdevKeypad(src: InputEventSource, keymap: Record<string, KeyId>, clock: Clock, longPressMs: number): Keypad {
  let map: Map<number, KeyId>;
  try {
    map = parseKeymap(src.path, keymap);
  } catch (e) {
    void src.close();
    throw e;
  }
  const keys = new EvdevKeys(src, map, clock);
  return longPressMs > 0 ? new LongPressKeypad(keys, clock, longPressMs) : keys;
}

function parseKeymap(path: string, keymap: Record<string, KeyId>): Map<number, KeyId> {
  const map = new Map<number, KeyId>();
  const names = new Map<number, string>();
  for (const [name, key] of Object.entries(keymap)) {
    const code = keyCode(name);
    if (code === undefined)
      throw new PhoneError(ErrorCodes.BOARD_INVALID, `evdev keymap for ${path}: '${name}' is not a known KEY_ name or key code`, {
        path,
        entry: name,
      });
    if (!isValidKeyId(key))
      throw new PhoneError(ErrorCodes.BOARD_INVALID, `evdev keymap for ${path}: '${name}' maps to '${key}', which is not a key name`, {
        path,
        entry: name,
      });
    const other = names.get(code);
    if (other !== undefined)
      throw new PhoneError(ErrorCodes.BOARD_INVALID, `evdev keymap for ${path}: '${other}' and '${name}' are both code ${code}`, {
        path,
        entry: name,
      });
    names.set(code, name);
    map.set(code, key);
  }
  return map;
}

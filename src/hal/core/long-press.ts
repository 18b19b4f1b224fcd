// Long press as a stage on the key stream: key events in, the same events out plus a "long" event.
import type { Clock, Timer } from "../../base/clock.js";
import { Listeners, type Unsubscribe } from "../api/events.js";
import type { KeyEvent, KeyId, Keypad } from "../api/keypad.js";

/** Wraps a keypad; while a key stays down for `longPressMs` it emits `{key, down: true, long: true}` once. */
export class LongPressKeypad implements Keypad {
  private readonly listeners = new Listeners<KeyEvent>();
  private readonly timers = new Map<KeyId, Timer>();
  private readonly unsub: Unsubscribe;

  constructor(
    private readonly inner: Keypad,
    private readonly clock: Clock,
    private readonly longPressMs: number,
  ) {
    this.unsub = inner.onKey((ev) => this.handle(ev));
  }

  get keys(): readonly KeyId[] {
    return this.inner.keys;
  }

  onKey(cb: (ev: KeyEvent) => void): Unsubscribe {
    return this.listeners.add(cb);
  }

  down(): readonly KeyId[] {
    return this.inner.down();
  }

  async close(): Promise<void> {
    this.unsub();
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    this.listeners.clear();
    await this.inner.close();
  }

  private handle(ev: KeyEvent): void {
    this.timers.get(ev.key)?.cancel();
    this.timers.delete(ev.key);
    if (ev.down && !ev.long) {
      const downAt = ev.tMs;
      this.timers.set(
        ev.key,
        this.clock.setTimeout(() => {
          this.timers.delete(ev.key);
          this.listeners.emit({ key: ev.key, down: true, long: true, tMs: downAt + this.longPressMs });
        }, this.longPressMs),
      );
    }
    this.listeners.emit(ev);
  }
}

/** Base for keypads that track which keys are down and fan events out. Drivers extend it. */
export class KeyStream {
  private readonly listeners = new Listeners<KeyEvent>();
  private readonly held = new Set<KeyId>();

  onKey(cb: (ev: KeyEvent) => void): Unsubscribe {
    return this.listeners.add(cb);
  }

  down(): readonly KeyId[] {
    return [...this.held];
  }

  /** Emits a change; repeated downs or ups of the same key are dropped. */
  emit(key: KeyId, down: boolean, tMs: number): void {
    if (down === this.held.has(key)) return;
    if (down) this.held.add(key);
    else this.held.delete(key);
    this.listeners.emit({ key, down, tMs });
  }

  /** Releases every held key (device lost or closed). */
  releaseAll(tMs: number): void {
    for (const k of [...this.held]) this.emit(k, false, tMs);
  }

  clear(): void {
    this.listeners.clear();
  }
}

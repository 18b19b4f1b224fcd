// Shared bits for the evdev tests: an in-memory InputEventSource and a bounded real-time wait for FIFO reads.
import { Listeners, type Unsubscribe } from "../../../../src/hal/api/events.js";
import type { InputEvent, InputEventSource } from "../../../../src/hal/api/input-events.js";
import { until as poll } from "../../../support/poll.js";

export class FakeSource implements InputEventSource {
  readonly path = "/dev/input/fake0";
  closed = false;
  private readonly listeners = new Listeners<InputEvent>();

  onEvent(cb: (ev: InputEvent) => void): Unsubscribe {
    return this.listeners.add(cb);
  }

  push(type: number, code: number, value: number): void {
    this.listeners.emit({ type, code, value, tMs: 0 });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
  }
}

/** Waits (real time, at most `ms`) until `cond()` holds; throws naming `what` otherwise. */
export const waitFor = (cond: () => boolean, what: string, ms = 3000): Promise<void> => poll(what, cond, ms, 5);

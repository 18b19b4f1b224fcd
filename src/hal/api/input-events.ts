// Linux input events (EV_KEY, EV_SW, ...) as decoded records.
import type { Unsubscribe } from "./events.js";

export const EV_SYN = 0;
export const EV_KEY = 1;
export const EV_SW = 5;
export const EV_MSC = 4;

export interface InputEvent {
  type: number;
  code: number;
  value: number;
  /** Kernel timestamp in ms (from the record's timeval). */
  tMs: number;
}

export interface InputEventSource {
  readonly path: string;
  onEvent(cb: (ev: InputEvent) => void): Unsubscribe;
  close(): Promise<void>;
}

// The hook switch: a debounced level plus hook-flash detection.
import type { Unsubscribe } from "./events.js";

export type HookState = "on" | "off";

export interface HookEvent {
  /** "off" = handset lifted, "on" = replaced, "flash" = a short on-hook inside the flash window. */
  type: "off" | "on" | "flash";
  tMs: number;
}

export interface HookSwitch {
  state(): HookState;
  onHook(cb: (ev: HookEvent) => void): Unsubscribe;
  close(): Promise<void>;
}

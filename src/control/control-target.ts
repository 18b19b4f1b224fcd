// What the control protocol drives: the phone as a rig sees it (keys, hook, screen, LEDs, audio, state).
import type { Unsubscribe } from "../hal/api/events.js";

export type ControlEventType = "screen" | "leds" | "call" | "registration" | "provisioning" | "location" | "audio" | "key" | "hook";
export const CONTROL_EVENT_TYPES: readonly ControlEventType[] = ["screen", "leds", "call", "registration", "provisioning", "location", "audio", "key", "hook"];

/** The audio a rig can feed or hear: the three voice paths, and the ringer (capture only: it has no microphone). */
export type AudioPathName = "handset" | "speaker" | "headset" | "ringer";

export interface HelloData {
  protocol: 1;
  firmware: string;
  board: string;
  keys: string[];
  leds: string[];
  audioPaths: string[];
  display: { kind: "text"; cols: number; rows: number } | { kind: "pixel"; width: number; height: number } | { kind: "none" };
}

export interface ControlTarget {
  hello(): HelloData;
  /** Resolves once the key-down (and, after holdMs, the key-up) has entered the phone through its keypad driver. */
  pressKey(key: string, holdMs?: number): Promise<void>;
  keyDown(key: string): Promise<void>;
  keyUp(key: string): Promise<void>;
  setHook(state: "on" | "off"): Promise<void>;
  hookFlash(): Promise<void>;
  readScreen(): Record<string, unknown>;
  readLeds(): Record<string, string>;
  getState(): Record<string, unknown>;
  audioInject(path: AudioPathName, pcm: Int16Array, rate: number): void;
  /** What the phone played on `path` during the next `ms` of clock time. */
  audioCapture(path: AudioPathName, ms: number): Promise<{ rate: number; pcm: Int16Array }>;
  /** Subscribes to the target's events; data is plain JSON. */
  onEvent(cb: (type: ControlEventType, data: Record<string, unknown>) => void): Unsubscribe;
  close(): void;
}

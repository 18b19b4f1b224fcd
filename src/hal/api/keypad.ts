// Keys by logical name. The names are the control protocol's (CONTROL.md, press_key).
import type { Unsubscribe } from "./events.js";

/** "0".."9", "*", "#", and named keys: SEND, END, HOLD, TRANSFER, CONF, MUTE, SPEAKER, HEADSET, VOL_UP, VOL_DOWN,
 * REDIAL, MESSAGES, MENU, OK, BACK, UP, DOWN, LEFT, RIGHT, SOFT1..SOFT4, LINE1..LINEn, DND, FWD, and the boss line
 * keys BOSS1..BOSS4 (a delegate's phone: one per boss). */
export type KeyId = string;

export const DIGIT_KEYS: readonly KeyId[] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
export const NAMED_KEYS: readonly KeyId[] = [
  "SEND", "END", "HOLD", "TRANSFER", "CONF", "MUTE", "SPEAKER", "HEADSET", "VOL_UP", "VOL_DOWN", "REDIAL",
  "MESSAGES", "MENU", "OK", "BACK", "UP", "DOWN", "LEFT", "RIGHT", "SOFT1", "SOFT2", "SOFT3", "SOFT4", "DND", "FWD",
];

/** Boss line keys (delegation). Not in NAMED_KEYS: the front-panel wire protocol has no codes for them yet. */
export const BOSS_KEYS: readonly KeyId[] = ["BOSS1", "BOSS2", "BOSS3", "BOSS4"];

export function isValidKeyId(k: string): boolean {
  return DIGIT_KEYS.includes(k) || NAMED_KEYS.includes(k) || /^LINE[1-9][0-9]?$/.test(k) || BOSS_KEYS.includes(k);
}

export interface KeyEvent {
  key: KeyId;
  /** true = down, false = up. */
  down: boolean;
  tMs: number;
  /** Set on the "long" event the long-press stage adds while a key stays down. */
  long?: boolean;
}

export interface Keypad {
  /** Every key this keypad can report. */
  readonly keys: readonly KeyId[];
  onKey(cb: (ev: KeyEvent) => void): Unsubscribe;
  /** Keys down right now. */
  down(): readonly KeyId[];
  close(): Promise<void>;
}

// The board profile's shape (board/*.json, checked against board/schema.json): devices by role, timing as data.
import type { Bias, Edge } from "./gpio.js";
import type { KeyId } from "./keypad.js";

/** A GPIO line as a board names it: offset on the board's GPIO chip plus polarity and bias. */
export interface BoardLine {
  line: number;
  activeLow?: boolean;
  bias?: Bias;
  edge?: Edge;
}

export interface BoardTiming {
  /** Contact debounce for keys and hook, ms. */
  debounceMs: number;
  /** An on-hook pulse between these bounds while off-hook is a hook flash, ms. */
  hookFlashMinMs: number;
  hookFlashMaxMs: number;
  /** A key held this long also reports a long press, ms. */
  longPressMs: number;
  /** Keypad matrix scan period while a key is down, ms. */
  scanIntervalMs: number;
  /** LED blink half-periods, ms. */
  ledSlowMs: number;
  ledFastMs: number;
  ledWinkOnMs: number;
  ledWinkOffMs: number;
}

export type KeypadConfig =
  | { driver: "gpio-matrix"; rows: BoardLine[]; cols: BoardLine[]; keymap: (KeyId | "")[][] }
  | { driver: "tca8418"; bus: number; address: number; int: BoardLine; keymap: (KeyId | "")[][] }
  | { driver: "evdev"; device: string; keymap: Record<string, KeyId> }
  | { driver: "frontpanel" };

export type HookConfig =
  | { driver: "gpio"; line: BoardLine }
  | { driver: "evdev"; device: string; eventType: "EV_SW" | "EV_KEY"; code: number; offHookValue: 0 | 1 }
  | { driver: "frontpanel" };

export type LedsConfig =
  | { driver: "gpio"; leds: Record<string, BoardLine> }
  | { driver: "frontpanel"; leds: Record<string, number> };

export type DisplayConfig =
  | { driver: "hd44780-pcf8574"; bus: number; address: number; cols: 16 | 20; rows: 2 | 4 }
  | { driver: "ssd1306"; bus: number; address: number; width: 128; height: 64 | 32 }
  | { driver: "frontpanel"; cols: number; rows: number }
  | { driver: "none" };

export interface AudioPathConfig {
  /** ALSA PCM names, by card name (e.g. "plughw:CARD=Handset,DEV=0"), never by index. */
  capture?: string;
  playback?: string;
}

export interface AudioConfig {
  driver: "alsa";
  rate: 8000 | 16000;
  periodMs: 10 | 20;
  bufferMs: number;
  paths: {
    handset: AudioPathConfig;
    speaker: AudioPathConfig;
    headset?: AudioPathConfig;
    /** The ringer plays on its own path, apart from call audio. */
    ringer: AudioPathConfig;
  };
  mixer: { driver: "alsa"; card: string; controls: Record<string, string> } | { driver: "none" };
}

/**
 * Call-progress tone plans (src/media/tones.ts holds their values; board/schema.json lists the same names):
 * North America, United Kingdom, Germany, France, Australia.
 */
export type TonePlanName = "us" | "uk" | "de" | "fr" | "au";

export interface FrontPanelConfig {
  driver: "fp-slip-v1";
  path: string;
  baudRate: number;
  ackTimeoutMs: number;
  retries: number;
  /** The MCU sends a heartbeat this often; three missed ones mark the panel lost. */
  heartbeatMs: number;
}

export interface BoardProfile {
  id: string;
  model: string;
  description?: string;
  /** Labels of the GPIO chip, in order of preference (Pi 5: pinctrl-rp1; Pi 4: pinctrl-bcm2711; older: pinctrl-bcm2835). */
  gpioChip?: string[];
  timing: BoardTiming;
  keypad: KeypadConfig;
  hook: HookConfig;
  leds: LedsConfig;
  display: DisplayConfig;
  audio: AudioConfig;
  frontpanel?: FrontPanelConfig;
  /** The country whose call-progress tones and ring sound the phone plays (src/media/tones.ts); absent = "us". */
  tonePlan?: TonePlanName;
  watchdog: { systemdSec: number; hardwareSec: number };
}

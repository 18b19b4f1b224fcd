// Indicator LEDs by id, each with a mode; blinking is the driver's job, not the caller's.

export type LedMode = "off" | "on" | "slow" | "fast" | "wink";
export const LED_MODES: readonly LedMode[] = ["off", "on", "slow", "fast", "wink"];

export interface Leds {
  readonly ids: readonly string[];
  set(id: string, mode: LedMode): void;
  get(id: string): LedMode;
  snapshot(): Record<string, LedMode>;
  close(): Promise<void>;
}

// Audio as PCM frames: mono S16 at 8 or 16 kHz, in 10 or 20 ms periods.
import type { Unsubscribe } from "./events.js";

export interface AudioFormat {
  rate: 8000 | 16000;
  /** Period (frame) length in ms; one frame = rate * periodMs / 1000 samples. */
  periodMs: 10 | 20;
}

export function samplesPerFrame(f: AudioFormat): number {
  return (f.rate * f.periodMs) / 1000;
}

export interface AudioStats {
  frames: number;
  xruns: number;
  restarts: number;
}

export interface AudioCapture {
  /** One call per period with exactly samplesPerFrame() samples. */
  onFrame(cb: (frame: Int16Array, tMs: number) => void): Unsubscribe;
  onError(cb: (err: Error) => void): Unsubscribe;
  stats(): AudioStats;
  stop(): Promise<void>;
}

export interface AudioPlayback {
  /** Queues one frame; false when the device's queue is full (the frame is dropped). */
  write(frame: Int16Array): boolean;
  onError(cb: (err: Error) => void): Unsubscribe;
  stats(): AudioStats;
  /** Lets queued audio play out, then stops. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/** One audio path (handset, speaker, headset, ringer). */
export interface AudioDevice {
  readonly name: string;
  openCapture(format: AudioFormat): AudioCapture;
  openPlayback(format: AudioFormat): AudioPlayback;
}

/** Volume and mute per control (e.g. "Handset", "Speaker"), in percent. */
export interface Mixer {
  readonly controls: readonly string[];
  setVolume(control: string, percent: number): Promise<void>;
  getVolume(control: string): Promise<number>;
  setMute(control: string, muted: boolean): Promise<void>;
  close(): Promise<void>;
}

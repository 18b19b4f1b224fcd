// Emulated audio paths for the simulated board: a microphone fed by inject(), an earpiece/speaker whose output is kept.
import type { Clock, Timer } from "../../base/clock.js";
import { PhoneError, ErrorCodes, notSupported } from "../../base/errors.js";
import { Listeners, type Unsubscribe } from "../api/events.js";
import type { AudioCapture, AudioDevice, AudioFormat, AudioPlayback, AudioStats, Mixer } from "../api/audio.js";
import { samplesPerFrame } from "../api/audio.js";
import { toneS16 } from "./pcm-analysis.js";

export interface EmulatedAudioOptions {
  name: string;
  clock: Clock;
  capture: boolean;
  playback: boolean;
  bufferMs: number;
  /** How much played audio is kept for captured(), in seconds. */
  keepSeconds?: number;
}

/** Resamples by sample repetition/dropping: enough for tones and speech checks in a simulator. */
function resample(pcm: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return pcm;
  const n = Math.round((pcm.length * to) / from);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = pcm[Math.min(pcm.length - 1, Math.floor((i * from) / to))];
  return out;
}

/**
 * One audio path. Capture delivers a frame every period on the clock: injected samples first, silence after.
 * Playback consumes one frame per period on the clock (as a sound card would), keeping what it played.
 */
export class EmulatedAudioDevice implements AudioDevice {
  readonly name: string;
  private readonly clock: Clock;
  private micQueue: Int16Array[] = [];
  private micRate = 16000;
  private played: Int16Array[] = [];
  private playedSamples = 0;
  private playRate = 16000;
  private readonly keepSeconds: number;

  constructor(private readonly opts: EmulatedAudioOptions) {
    this.name = opts.name;
    this.clock = opts.clock;
    this.keepSeconds = opts.keepSeconds ?? 60;
  }

  // ---- backend face ----

  /** Samples spoken into this path's microphone, at `rate`; they are heard by the phone's next capture frames. */
  inject(pcm: Int16Array, rate: number): void {
    this.micQueue.push(resample(pcm, rate, this.micRate));
  }

  injectTone(t: { hz: number; ms: number; dbfs: number }): void {
    this.micQueue.push(toneS16({ ...t, rate: this.micRate }));
  }

  /** Everything the phone played on this path (up to keepSeconds), at playedRate(). */
  captured(): Int16Array {
    const out = new Int16Array(this.playedSamples);
    let o = 0;
    for (const f of this.played) {
      out.set(f, o);
      o += f.length;
    }
    return out;
  }

  playedRate(): number {
    return this.playRate;
  }

  clearCaptured(): void {
    this.played = [];
    this.playedSamples = 0;
  }

  // ---- bus face ----

  openCapture(format: AudioFormat): AudioCapture {
    if (!this.opts.capture) throw notSupported("capture", `audio path '${this.name}'`);
    this.micRate = format.rate;
    const n = samplesPerFrame(format);
    const frames = new Listeners<{ frame: Int16Array; tMs: number }>();
    const errors = new Listeners<Error>();
    const stats: AudioStats = { frames: 0, xruns: 0, restarts: 0 };
    let pending: Int16Array = new Int16Array(0);
    const timer: Timer = this.clock.setInterval(() => {
      const frame = new Int16Array(n);
      let filled = 0;
      while (filled < n) {
        if (pending.length === 0) {
          const next = this.micQueue.shift();
          if (!next) break;
          pending = next;
        }
        const take = Math.min(n - filled, pending.length);
        frame.set(pending.subarray(0, take), filled);
        pending = pending.subarray(take);
        filled += take;
      }
      stats.frames++;
      frames.emit({ frame, tMs: this.clock.now() });
    }, format.periodMs);
    let stopped = false;
    return {
      onFrame: (cb): Unsubscribe => frames.add(({ frame, tMs }) => cb(frame, tMs)),
      onError: (cb): Unsubscribe => errors.add(cb),
      stats: () => ({ ...stats }),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        timer.cancel();
        frames.clear();
      },
    };
  }

  openPlayback(format: AudioFormat): AudioPlayback {
    if (!this.opts.playback) throw notSupported("playback", `audio path '${this.name}'`);
    this.playRate = format.rate;
    const n = samplesPerFrame(format);
    const maxQueued = Math.max(1, Math.floor(this.opts.bufferMs / format.periodMs));
    const queue: Int16Array[] = [];
    const errors = new Listeners<Error>();
    const stats: AudioStats = { frames: 0, xruns: 0, restarts: 0 };
    let started = false;
    const keep = (f: Int16Array): void => {
      this.played.push(f);
      this.playedSamples += f.length;
      const limit = this.keepSeconds * format.rate;
      while (this.playedSamples - (this.played[0]?.length ?? 0) >= limit) this.playedSamples -= this.played.shift()!.length;
    };
    const timer: Timer = this.clock.setInterval(() => {
      const f = queue.shift();
      if (f) {
        keep(f);
        stats.frames++;
      } else if (started) {
        // the card plays silence when starved, as a real one does after an underrun
        stats.xruns++;
        keep(new Int16Array(n));
        started = false;
      }
    }, format.periodMs);
    let stopped = false;
    return {
      write: (frame: Int16Array): boolean => {
        if (stopped) throw new PhoneError(ErrorCodes.DEVICE_CLOSED, `audio path '${this.name}' playback is stopped`);
        if (queue.length >= maxQueued) return false;
        queue.push(frame.slice());
        started = true;
        return true;
      },
      onError: (cb): Unsubscribe => errors.add(cb),
      stats: () => ({ ...stats }),
      drain: async () => {
        while (queue.length) await this.clock.sleep(format.periodMs);
        timer.cancel();
        stopped = true;
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        timer.cancel();
        queue.length = 0;
      },
    };
  }
}

/** A mixer whose state can be read back: volume in percent and mute per control. */
export class EmulatedMixer implements Mixer {
  private readonly st = new Map<string, { volume: number; muted: boolean }>();

  constructor(readonly controls: readonly string[]) {
    for (const c of controls) this.st.set(c, { volume: 70, muted: false });
  }

  private get(control: string): { volume: number; muted: boolean } {
    const s = this.st.get(control);
    if (!s) throw new PhoneError(ErrorCodes.MIXER, `no mixer control '${control}' (have ${this.controls.join(", ")})`, { control });
    return s;
  }

  async setVolume(control: string, percent: number): Promise<void> {
    if (!(percent >= 0 && percent <= 100)) throw new PhoneError(ErrorCodes.BAD_REQUEST, `volume is 0-100 percent, not ${percent}`);
    this.get(control).volume = Math.round(percent);
  }

  async getVolume(control: string): Promise<number> {
    return this.get(control).volume;
  }

  async setMute(control: string, muted: boolean): Promise<void> {
    this.get(control).muted = muted;
  }

  state(): Record<string, { volume: number; muted: boolean }> {
    return Object.fromEntries([...this.st].map(([k, v]) => [k, { ...v }]));
  }

  async close(): Promise<void> {}
}

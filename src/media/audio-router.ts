// The phone's audio between calls and the hardware: one path at a time (handset, speaker, headset) opened at the
// pipeline's rate (16 kHz on a wideband board, else 8 kHz) / 20 ms; microphone frames go to whoever listens (the RTP session), received speech and call-progress tones go to
// the earpiece; the ring goes to the ringer (or the speaker). The capture clock paces the tones: one tone frame per
// microphone frame, so no second timer runs beside the device's own.
import type { Clock, Timer } from "../base/clock.js";
import type { Logger } from "../base/log.js";
import { Listeners, type Unsubscribe } from "../hal/api/events.js";
import type { AudioCapture, AudioDevice, AudioFormat, AudioPlayback } from "../hal/api/audio.js";
import { ToneSource, type ToneName } from "./tones.js";

export type AudioPathName = "none" | "handset" | "speaker" | "headset";
export type AudioRole = "handset" | "speaker" | "headset" | "ringer";

/** The narrowband format (the default); a wideband board runs the pipeline at 16 kHz. */
export const CALL_FORMAT: AudioFormat = { rate: 8000, periodMs: 20 };
/** Sidetone level on the handset: about -18 dB. */
const SIDETONE_GAIN = 0.125;

export class AudioRouter {
  private path: AudioPathName = "none";
  private capture: AudioCapture | undefined;
  private playback: AudioPlayback | undefined;
  private unsub: Unsubscribe | undefined;
  private tone: ToneSource | undefined;
  private readonly mic = new Listeners<Int16Array>();
  private readonly sources = new Set<() => Int16Array>();
  private ring: { playback: AudioPlayback; timer: Timer; source: ToneSource } | undefined;
  private muted = false;
  private readonly format: AudioFormat;

  constructor(
    private readonly devices: Partial<Record<AudioRole, AudioDevice>>,
    private readonly clock: Clock,
    private readonly log: Logger,
    opts: { rate?: AudioFormat["rate"] } = {},
  ) {
    this.format = { rate: opts.rate ?? CALL_FORMAT.rate, periodMs: CALL_FORMAT.periodMs };
  }

  /** The pipeline's sample rate: microphone frames come, and sources must give frames, at this rate. */
  get rate(): AudioFormat["rate"] {
    return this.format.rate;
  }

  get current(): AudioPathName {
    return this.path;
  }

  setPath(p: AudioPathName): void {
    if (p === this.path) return;
    this.close();
    this.path = p;
    if (p === "none") return;
    const dev = this.devices[p] ?? (p === "headset" ? this.devices.handset : undefined);
    if (!dev) {
      this.log.warn({ path: p }, "no audio device for this path on this board");
      return;
    }
    try {
      this.playback = dev.openPlayback(this.format);
      this.capture = dev.openCapture(this.format);
      this.unsub = this.capture.onFrame((frame) => this.tick(frame));
      this.capture.onError((e) => this.log.warn({ err: e.message, path: p }, "audio capture error"));
      this.playback.onError((e) => this.log.warn({ err: e.message, path: p }, "audio playback error"));
    } catch (e) {
      this.log.warn({ err: (e as Error).message, path: p }, "cannot open the audio path");
    }
  }

  setTone(t: ToneName | null): void {
    this.tone = t ? new ToneSource(t, this.format.rate) : undefined;
  }

  setMute(on: boolean): void {
    this.muted = on;
  }

  /** The ring: on the ringer device when the board has one, else the speaker. */
  setRinger(on: boolean): void {
    if (!on) {
      this.ring?.timer.cancel();
      void this.ring?.playback.stop().catch(() => undefined);
      this.ring = undefined;
      return;
    }
    if (this.ring) return;
    const dev = this.devices.ringer ?? this.devices.speaker;
    if (!dev) return;
    try {
      const playback = dev.openPlayback(this.format);
      const source = new ToneSource("ring", this.format.rate);
      const frame = (this.format.rate * this.format.periodMs) / 1000;
      const timer = this.clock.setInterval(() => playback.write(source.next(frame)), this.format.periodMs);
      this.ring = { playback, timer, source };
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "cannot open the ringer");
    }
  }

  /** Microphone frames of the open path (silence while muted). */
  onMic(cb: (frame: Int16Array) => void): Unsubscribe {
    return this.mic.add(cb);
  }

  /**
   * A source of far-end audio (a call's jitter buffer), pulled one frame per period on the device's own clock, so
   * the earpiece is fed at exactly its rate whatever the network or the UI is doing. Several sources are mixed.
   */
  addSource(pull: () => Int16Array): Unsubscribe {
    this.sources.add(pull);
    return () => this.sources.delete(pull);
  }

  private tick(frame: Int16Array): void {
    this.mic.emit(this.muted ? new Int16Array(frame.length) : frame);
    if (!this.playback) return;
    // every source is pulled every period, heard or not, so their buffers keep time
    const parts = [...this.sources].map((pull) => pull());
    if (this.tone) {
      this.playback.write(this.tone.next(frame.length));
      return;
    }
    if (!parts.length) return;
    // sidetone: in a call on the handset you hear yourself a little (about -18 dB), as on any wired phone
    if (this.path === "handset" && !this.muted) parts.push(frame.map((v) => Math.round(v * SIDETONE_GAIN)));
    if (parts.length === 1) {
      this.playback.write(parts[0]);
      return;
    }
    const mix = new Int16Array(parts[0].length);
    for (const p of parts) for (let i = 0; i < mix.length; i++) mix[i] = Math.max(-32768, Math.min(32767, mix[i] + (p[i] ?? 0)));
    this.playback.write(mix);
  }

  private close(): void {
    this.unsub?.();
    this.unsub = undefined;
    void this.capture?.stop().catch(() => undefined);
    void this.playback?.stop().catch(() => undefined);
    this.capture = undefined;
    this.playback = undefined;
  }

  stop(): void {
    this.setRinger(false);
    this.close();
    this.path = "none";
  }
}

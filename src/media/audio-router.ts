// The phone's audio between calls and the hardware: one path at a time (handset, speaker, headset) opened at the
// pipeline's rate (16 kHz on a wideband board, else 8 kHz) / 20 ms; microphone frames go to whoever listens (the RTP session), received speech and call-progress tones go to
// the earpiece; the ring goes to the ringer (or the speaker). The capture clock paces the tones: one tone frame per
// microphone frame, so no second timer runs beside the device's own.
import type { Clock, Timer } from "../base/clock.js";
import type { Logger } from "../base/log.js";
import type { Unsubscribe } from "../hal/api/events.js";
import type { AudioCapture, AudioDevice, AudioFormat, AudioPlayback } from "../hal/api/audio.js";
import { ToneSource, type RingPattern, type ToneName, type TonePlanName } from "./tones.js";

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
  /** Microphone listeners (the calls' RTP sessions) and far-end sources (their jitter buffers), each with its call's tag. */
  private readonly mic = new Map<(frame: Int16Array) => void, string | undefined>();
  private readonly sources = new Map<() => Int16Array, string | undefined>();
  /** The calls joined in a local 3-way conference, by tag; null when there is none. */
  private conference: Set<string> | null = null;
  /** Conference members whose own audio is not heard (listen-only). */
  private listenOnly = new Set<string>();
  private ring: { playback: AudioPlayback; timer: Timer; source: ToneSource } | undefined;
  /** The board's tone plan: which country's tones and ring sound play. */
  private readonly tonePlan: TonePlanName;
  private muted = false;
  private readonly format: AudioFormat;

  constructor(
    private readonly devices: Partial<Record<AudioRole, AudioDevice>>,
    private readonly clock: Clock,
    private readonly log: Logger,
    opts: { rate?: AudioFormat["rate"]; tonePlan?: TonePlanName } = {},
  ) {
    this.format = { rate: opts.rate ?? CALL_FORMAT.rate, periodMs: CALL_FORMAT.periodMs };
    this.tonePlan = opts.tonePlan ?? "us";
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
    this.tone = t ? new ToneSource(t, this.format.rate, this.tonePlan) : undefined;
  }

  setMute(on: boolean): void {
    this.muted = on;
  }

  /**
   * The ring: on the ringer device when the board has one, else the speaker, in the plan's ring frequencies with
   * `pattern`'s cadence. Already ringing with another pattern: the new one starts at once (from its first burst).
   */
  setRinger(on: boolean, pattern: RingPattern = "standard"): void {
    if (!on) {
      this.ring?.timer.cancel();
      void this.ring?.playback.stop().catch(() => undefined);
      this.ring = undefined;
      return;
    }
    if (this.ring) {
      if (this.ring.source.pattern !== pattern) this.ring.source = new ToneSource("ring", this.format.rate, this.tonePlan, pattern);
      return;
    }
    const dev = this.devices.ringer ?? this.devices.speaker;
    if (!dev) return;
    try {
      const playback = dev.openPlayback(this.format);
      const source = new ToneSource("ring", this.format.rate, this.tonePlan, pattern);
      const frame = (this.format.rate * this.format.periodMs) / 1000;
      // reads the source at each period, so a change of pattern is heard at the next frame
      const timer = this.clock.setInterval(() => {
        if (this.ring) playback.write(this.ring.source.next(frame));
      }, this.format.periodMs);
      this.ring = { playback, timer, source };
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "cannot open the ringer");
    }
  }

  /** Microphone frames of the open path (silence while muted); `tag` names the call, for the conference mix. */
  onMic(cb: (frame: Int16Array) => void, tag?: string): Unsubscribe {
    this.mic.set(cb, tag);
    return () => this.mic.delete(cb);
  }

  /**
   * A local 3-way conference: each call named in `tags` is sent the microphone mixed with the other calls' audio (the
   * earpiece hears every call anyway); null or one call ends it. The mixing runs on the device's clock, as all else.
   * A `listenOnly` member (a security desk listening in on an emergency call, one-way) is sent the mix but is heard by
   * no one: its audio reaches neither the earpiece nor the other calls.
   */
  setConference(tags: string[] | null, opts: { listenOnly?: string[] } = {}): void {
    this.conference = tags && tags.length > 1 ? new Set(tags) : null;
    this.listenOnly = new Set(this.conference ? (opts.listenOnly ?? []) : []);
  }

  /**
   * A source of far-end audio (a call's jitter buffer), pulled one frame per period on the device's own clock, so
   * the earpiece is fed at exactly its rate whatever the network or the UI is doing. Several sources are mixed.
   */
  addSource(pull: () => Int16Array, tag?: string): Unsubscribe {
    this.sources.set(pull, tag);
    return () => this.sources.delete(pull);
  }

  private tick(frame: Int16Array): void {
    const mic = this.muted ? new Int16Array(frame.length) : frame;
    const conf = this.conference;
    // every source is pulled every period, heard or not, so their buffers keep time
    const pulled = this.playback || conf ? [...this.sources].map(([pull, tag]) => ({ tag, pcm: pull() })) : [];
    const heard = this.listenOnly.size ? pulled.filter((h) => h.tag === undefined || !this.listenOnly.has(h.tag)) : pulled;
    for (const [cb, tag] of this.mic) {
      const others = conf && tag !== undefined && conf.has(tag) ? heard.filter((h) => h.tag !== undefined && h.tag !== tag && conf.has(h.tag)).map((h) => h.pcm) : [];
      cb(others.length ? mixFrames([mic, ...others]) : mic);
    }
    if (!this.playback) return;
    const parts = heard.map((h) => h.pcm);
    if (this.tone) {
      // a tone during a call (call waiting) is heard over the call, not instead of it
      const tone = this.tone.next(frame.length);
      this.playback.write(parts.length ? mixFrames([tone, ...parts]) : tone);
      return;
    }
    if (!parts.length) return;
    // sidetone: in a call on the handset you hear yourself a little (about -18 dB), as on any wired phone
    if (this.path === "handset" && !this.muted) parts.push(frame.map((v) => Math.round(v * SIDETONE_GAIN)));
    this.playback.write(parts.length === 1 ? parts[0] : mixFrames(parts));
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

/** Frames summed, saturating at the 16-bit limits. */
function mixFrames(parts: Int16Array[]): Int16Array {
  const mix = new Int16Array(parts[0].length);
  for (const p of parts) for (let i = 0; i < mix.length; i++) mix[i] = Math.max(-32768, Math.min(32767, mix[i] + (p[i] ?? 0)));
  return mix;
}

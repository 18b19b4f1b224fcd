// ALSA audio through arecord/aplay child processes: S16LE mono frames, xrun detection, restart with backoff.
// Cards are named by CARD= name (plughw:CARD=Handset,DEV=0), never by index: indexes change with USB plug order.
import { spawn as nodeSpawn, type ChildProcess } from "node:child_process";
import type { Clock, Timer } from "../../base/clock.js";
import { PhoneError, ErrorCodes, notSupported } from "../../base/errors.js";
import { silentLogger, type Logger } from "../../base/log.js";
import { Listeners, type Unsubscribe } from "../api/events.js";
import type { AudioCapture, AudioDevice, AudioFormat, AudioPlayback, AudioStats } from "../api/audio.js";
import { samplesPerFrame } from "../api/audio.js";
import { PcmFrameSlicer } from "../core/pcm-frame-slicer.js";

export interface AlsaAudioOptions {
  /** The path's role, for messages: handset, speaker, headset, ringer. */
  name: string;
  capturePcm?: string;
  playbackPcm?: string;
  bufferMs: number;
  clock: Clock;
  env?: NodeJS.ProcessEnv;
  spawn?: typeof nodeSpawn;
  log?: Logger;
}

export const RESTART_FIRST_MS = 100;
export const RESTART_MAX_MS = 2000;
const KILL_GRACE_MS = 500;

/** The arguments both tools share: raw S16LE mono at the format's rate, ALSA period and buffer in µs. */
export function alsaArgs(pcm: string, format: AudioFormat, bufferMs: number): string[] {
  const periodUs = format.periodMs * 1000;
  const bufferUs = Math.max(periodUs * 2, Math.round(bufferMs * 1000));
  return ["-q", "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", String(format.rate), `--period-time=${periodUs}`, `--buffer-time=${bufferUs}`, "-D", pcm];
}

/**
 * Keeps one child process running: starts it, watches stderr for xruns and open errors, and restarts it with
 * backoff (100 ms doubling to 2 s) when it exits on its own. stop() ends it for good.
 */
class Supervised {
  child: ChildProcess | undefined;
  private restartTimer: Timer | undefined;
  private backoff = RESTART_FIRST_MS;
  private stopped = false;
  private startedOnce = false;
  readonly stats: AudioStats = { frames: 0, xruns: 0, restarts: 0 };
  readonly errors = new Listeners<Error>();

  constructor(
    private readonly tool: "arecord" | "aplay",
    private readonly args: string[],
    private readonly o: AlsaAudioOptions,
    private readonly role: "capture" | "playback",
    private readonly pcm: string,
    private readonly onStart: (child: ChildProcess) => void,
  ) {}

  start(): void {
    if (this.stopped) return;
    if (this.startedOnce) this.stats.restarts++;
    this.startedOnce = true;
    const spawn = this.o.spawn ?? nodeSpawn;
    const child = spawn(this.tool, this.args, { env: this.o.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    this.child = child;
    let stderr = "";
    let gotData = false;
    child.stdout?.once("data", () => {
      gotData = true;
      this.backoff = RESTART_FIRST_MS;
    });
    child.stderr?.on("data", (d: Buffer) => {
      const text = d.toString();
      stderr = (stderr + text).slice(-2000);
      const xruns = (text.match(/(overrun|underrun)!!!/g) ?? []).length;
      if (xruns) {
        this.stats.xruns += xruns;
        this.errors.emit(new PhoneError(ErrorCodes.AUDIO_XRUN, `${this.o.name} ${this.role}: ${xruns > 1 ? `${xruns} xruns` : "an xrun"} on ${this.pcm}`, { path: this.o.name, pcm: this.pcm }));
      }
    });
    child.on("error", (e) => {
      this.errors.emit(new PhoneError(ErrorCodes.AUDIO_DEVICE, `${this.o.name} ${this.role}: cannot run ${this.tool}: ${e.message} (install alsa-utils)`, { path: this.o.name }));
    });
    child.on("exit", (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopped) return;
      const why = /audio open error|No such file|cannot find card|Unknown PCM/i.test(stderr)
        ? `cannot open ALSA device '${this.pcm}': ${stderr.trim().split("\n").pop()}`
        : `${this.tool} exited (${signal ?? `code ${code}`})${gotData || this.role === "playback" ? "" : " before any audio"}`;
      this.errors.emit(new PhoneError(ErrorCodes.AUDIO_DEVICE, `${this.o.name} ${this.role}: ${why}; restarting in ${this.backoff} ms`, { path: this.o.name, pcm: this.pcm }));
      this.restartTimer = this.o.clock.setTimeout(() => this.start(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, RESTART_MAX_MS);
    });
    this.onStart(child);
  }

  /** Playback: closes stdin so the child plays out what it has and exits; no restart follows. */
  async finish(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.restartTimer?.cancel();
    const child = this.child;
    if (!child || child.exitCode !== null || !child.stdin || child.stdin.destroyed) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.stdin!.end();
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.restartTimer?.cancel();
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = this.o.clock.setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
      child.once("exit", () => {
        kill.cancel();
        resolve();
      });
      child.stdin?.destroy();
      child.kill("SIGTERM");
    });
  }
}

export class AlsaAudioDevice implements AudioDevice {
  readonly name: string;
  private readonly log: Logger;

  constructor(private readonly o: AlsaAudioOptions) {
    this.name = o.name;
    this.log = o.log ?? silentLogger();
  }

  openCapture(format: AudioFormat): AudioCapture {
    const pcm = this.o.capturePcm;
    if (!pcm) throw notSupported("capture", `audio path '${this.name}' (no capture device in the board)`);
    const frames = new Listeners<{ frame: Int16Array; tMs: number }>();
    const slicer = new PcmFrameSlicer(samplesPerFrame(format), (frame) => {
      sup.stats.frames++;
      frames.emit({ frame, tMs: this.o.clock.now() });
    });
    const sup = new Supervised("arecord", alsaArgs(pcm, format, this.o.bufferMs), this.o, "capture", pcm, (child) => {
      slicer.reset();
      child.stdout?.on("data", (d: Buffer) => slicer.push(d));
    });
    sup.errors.add((e) => this.log.warn({ err: e }, "audio capture"));
    sup.start();
    return {
      onFrame: (cb): Unsubscribe => frames.add(({ frame, tMs }) => cb(frame, tMs)),
      onError: (cb): Unsubscribe => sup.errors.add(cb),
      stats: () => ({ ...sup.stats }),
      stop: () => sup.stop(),
    };
  }

  openPlayback(format: AudioFormat): AudioPlayback {
    const pcm = this.o.playbackPcm;
    if (!pcm) throw notSupported("playback", `audio path '${this.name}' (no playback device in the board)`);
    // Frames waiting in the pipe beyond the ALSA buffer are latency; past it, drop rather than fall behind.
    const limitBytes = Math.max(2, Math.ceil(this.o.bufferMs / format.periodMs)) * samplesPerFrame(format) * 2;
    let dropped = 0;
    const sup = new Supervised("aplay", alsaArgs(pcm, format, this.o.bufferMs), this.o, "playback", pcm, (child) => {
      child.stdin?.on("error", () => undefined); // EPIPE when aplay dies: the exit handler restarts it
    });
    sup.errors.add((e) => this.log.warn({ err: e }, "audio playback"));
    sup.start();
    return {
      write: (frame: Int16Array): boolean => {
        const stdin = sup.child?.stdin;
        if (!stdin || stdin.destroyed || stdin.writableLength >= limitBytes) {
          dropped++;
          return false;
        }
        stdin.write(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
        sup.stats.frames++;
        return true;
      },
      onError: (cb): Unsubscribe => sup.errors.add(cb),
      stats: () => ({ ...sup.stats, dropped }) as AudioStats,
      drain: () => sup.finish(),
      stop: () => sup.stop(),
    };
  }
}

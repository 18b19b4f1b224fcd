// Volume and mute through ALSA mixer controls, by spawning amixer on a card named by its CARD= name.
import { execFile as nodeExecFile } from "node:child_process";
import { PhoneError, ErrorCodes } from "../../base/errors.js";
import type { Mixer } from "../api/audio.js";

export interface AlsaMixerOptions {
  card: string;
  /** Role (handset, speaker, ringer, ...) -> ALSA simple control name ("PCM", "Speaker"). */
  controls: Record<string, string>;
  /** `-D` device instead of `-c card` (a softvol ctl in tests, "hw:CARD=Name" on hardware). */
  device?: string;
  env?: NodeJS.ProcessEnv;
  execFile?: typeof nodeExecFile;
}

/** Parses `amixer sget` output: the first "[NN%]" is the volume, "[off]" anywhere means muted. */
export function parseAmixerLevel(out: string): { percent: number | null; muted: boolean | null } {
  const p = /\[(\d{1,3})%\]/.exec(out);
  const sw = /\[(on|off)\]/.exec(out);
  return { percent: p ? Number(p[1]) : null, muted: sw ? sw[1] === "off" : null };
}

export class AlsaMixer implements Mixer {
  readonly controls: readonly string[];

  constructor(private readonly o: AlsaMixerOptions) {
    this.controls = Object.keys(o.controls);
  }

  private control(role: string): string {
    const c = this.o.controls[role];
    if (!c) throw new PhoneError(ErrorCodes.MIXER, `no mixer control for '${role}' on card ${this.o.card} (board has ${this.controls.join(", ")})`, { role });
    return c;
  }

  private amixer(args: string[], role: string): Promise<string> {
    const target = this.o.device ? ["-D", this.o.device] : ["-c", this.o.card];
    const run = this.o.execFile ?? nodeExecFile;
    return new Promise((resolve, reject) => {
      run("amixer", [...target, ...args], { env: this.o.env ?? process.env, timeout: 5000 }, (err, stdout, stderr) => {
        if (err)
          reject(
            new PhoneError(ErrorCodes.MIXER, `amixer on ${this.o.device ?? `card ${this.o.card}`}, control '${this.o.controls[role]}' (${role}): ${String(stderr || err.message).trim()}`, {
              card: this.o.card,
              control: this.o.controls[role],
            }),
          );
        else resolve(String(stdout));
      });
    });
  }

  async setVolume(role: string, percent: number): Promise<void> {
    if (!(percent >= 0 && percent <= 100)) throw new PhoneError(ErrorCodes.BAD_REQUEST, `volume is 0-100 percent, not ${percent}`);
    await this.amixer(["-q", "sset", this.control(role), `${Math.round(percent)}%`], role);
  }

  async getVolume(role: string): Promise<number> {
    const out = await this.amixer(["sget", this.control(role)], role);
    const { percent } = parseAmixerLevel(out);
    if (percent === null) throw new PhoneError(ErrorCodes.MIXER, `amixer gave no volume for '${this.control(role)}' on card ${this.o.card}`, { out: out.slice(0, 200) });
    return percent;
  }

  async setMute(role: string, muted: boolean): Promise<void> {
    await this.amixer(["-q", "sset", this.control(role), muted ? "mute" : "unmute"], role);
  }

  async close(): Promise<void> {}
}

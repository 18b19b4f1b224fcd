// Call-progress tones and the ring, as 8 kHz PCM frames on demand (North American plan, ITU-T E.180 / ANSI T1.401):
// dial 350+440 Hz steady (stuttered for the first 2 s when voicemail waits); ringback 440+480 Hz 2 s on 4 s off; busy 480+620 Hz 0.5/0.5 s; reorder 480+620 Hz
// 0.25/0.25 s; call waiting 440 Hz 0.3 s once; ring 440+480 Hz 2 s on 4 s off (through the ringer or speaker).

export type ToneName = "dial" | "stutter-dial" | "ringback" | "busy" | "reorder" | "call-waiting" | "ring";

interface ToneSpec {
  hz: number[];
  /** On/off cadence in ms; [] = steady. */
  cadence: number[];
  /** Plays once, then silence. */
  once?: boolean;
  /** The cadence runs this long, then the tone is steady. */
  stutterMs?: number;
  dbfs: number;
}

export const TONES: Readonly<Record<ToneName, ToneSpec>> = {
  dial: { hz: [350, 440], cadence: [], dbfs: -16 },
  // message waiting: ten 0.1 s on / 0.1 s off, then steady dial tone (Telcordia GR-506)
  "stutter-dial": { hz: [350, 440], cadence: [100, 100], stutterMs: 2000, dbfs: -16 },
  ringback: { hz: [440, 480], cadence: [2000, 4000], dbfs: -19 },
  busy: { hz: [480, 620], cadence: [500, 500], dbfs: -21 },
  reorder: { hz: [480, 620], cadence: [250, 250], dbfs: -21 },
  "call-waiting": { hz: [440], cadence: [300, 100000], once: true, dbfs: -16 },
  ring: { hz: [440, 480], cadence: [2000, 4000], dbfs: -10 },
};

/** A tone as a stream of frames: each call to next() returns the following `samples` samples. */
export class ToneSource {
  private n = 0;
  private readonly amp: number;

  constructor(
    readonly name: ToneName,
    private readonly rate = 8000,
  ) {
    const spec = TONES[name];
    // split the level over the frequencies so the sum peaks at the given dBFS
    this.amp = (32767 * 10 ** (spec.dbfs / 20)) / spec.hz.length;
  }

  next(samples: number): Int16Array {
    const spec = TONES[this.name];
    const out = new Int16Array(samples);
    const period = spec.cadence.length ? spec.cadence.reduce((a, b) => a + b, 0) : 0;
    for (let i = 0; i < samples; i++, this.n++) {
      const ms = (this.n * 1000) / this.rate;
      let on = true;
      if (period && !(spec.stutterMs !== undefined && ms >= spec.stutterMs)) {
        if (spec.once && ms >= period) on = false;
        else on = ms % period < spec.cadence[0];
      }
      if (!on) continue;
      let v = 0;
      for (const f of spec.hz) v += Math.sin((2 * Math.PI * f * this.n) / this.rate);
      out[i] = Math.round(v * this.amp);
    }
    return out;
  }
}

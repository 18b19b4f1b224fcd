// Call-progress tones and the ring, as PCM frames on demand, by national tone plan (the board's "tonePlan"):
// dial, stutter dial (message waiting), ringback, busy, reorder, call waiting, and the phone's own ring sound.
// A cadence is a list of on/off durations in ms, [on, off, on, off, ...], of any number of pairs, repeated.
// The ring's cadence is a ring pattern (standard, or a Telcordia GR-506 distinctive ring); its frequencies are the plan's.
import type { TonePlanName } from "../hal/api/board.js";

export type { TonePlanName };

export type ToneName = "dial" | "stutter-dial" | "ringback" | "busy" | "reorder" | "call-waiting" | "ring";

export interface ToneSpec {
  hz: readonly number[];
  /** On/off cadence in ms: on, off, on, off, ... (an even count, any number of pairs); [] = steady. */
  cadence: readonly number[];
  /** Plays the cadence once, then silence. */
  once?: boolean;
  /** The cadence runs this long, then the tone is steady. */
  stutterMs?: number;
  /** Peak level of the sum of the frequencies. */
  dbfs: number;
}

export interface TonePlan {
  country: string;
  /** Where the values come from. */
  source: string;
  tones: Readonly<Record<ToneName, ToneSpec>>;
}

export type RingPattern = "standard" | "double" | "triple" | "short";

/**
 * The phone's ring cadences, ms. Telcordia GR-506-CORE distinctive ringing (the Bellcore-dr1..dr4 of SIP Alert-Info):
 * standard = pattern 1 (2.0 on 4.0 off); double = pattern 2 (0.8 on 0.4 off 0.8 on 4.0 off); triple = pattern 3
 * (0.4 on 0.2 off 0.4 on 0.2 off 0.8 on 4.0 off); short = pattern 4, short-long-short (0.3 on 0.2 off 1.0 on 0.2 off
 * 0.3 on 4.0 off).
 */
export const RING_PATTERNS: Readonly<Record<RingPattern, readonly number[]>> = {
  standard: [2000, 4000],
  double: [800, 400, 800, 4000],
  triple: [400, 200, 400, 200, 800, 4000],
  short: [300, 200, 1000, 200, 300, 4000],
};

/** Levels shared by every plan: dial and call waiting -16 dBFS, ringback -19, busy/reorder -21, the ring -10 (peak). */
const LEVEL = { dial: -16, ringback: -19, busy: -21, callWaiting: -16, ring: -10 } as const;

/** Stutter dial (message waiting) in every plan: the plan's dial tone broken 0.1 s on / 0.1 s off for 2 s, then steady. */
function stutter(hz: readonly number[]): ToneSpec {
  return { hz, cadence: [100, 100], stutterMs: 2000, dbfs: LEVEL.dial };
}

function ring(hz: readonly number[]): ToneSpec {
  return { hz, cadence: RING_PATTERNS.standard, dbfs: LEVEL.ring };
}

export const TONE_PLANS: Readonly<Record<TonePlanName, TonePlan>> = {
  us: {
    country: "United States / North America",
    // ANSI T1.401 "precise tones" and Telcordia GR-506 (stutter dial: ten 0.1/0.1 s bursts); ITU-T E.180 Suppl. 2, United States.
    source: "ANSI T1.401, Telcordia GR-506-CORE",
    tones: {
      dial: { hz: [350, 440], cadence: [], dbfs: LEVEL.dial },
      "stutter-dial": stutter([350, 440]),
      ringback: { hz: [440, 480], cadence: [2000, 4000], dbfs: LEVEL.ringback },
      busy: { hz: [480, 620], cadence: [500, 500], dbfs: LEVEL.busy },
      reorder: { hz: [480, 620], cadence: [250, 250], dbfs: LEVEL.busy },
      // one 0.3 s burst (the network would repeat it once after 10 s)
      "call-waiting": { hz: [440], cadence: [300, 9700], once: true, dbfs: LEVEL.callWaiting },
      ring: ring([440, 480]),
    },
  },
  uk: {
    country: "United Kingdom",
    // BT SIN 350 (network supervisory tones). Reorder = number unobtainable (400 Hz steady). SIN 350's dial tone has
    // 440 Hz 3 dB below 350 Hz and its "special proceed indication" is 0.75/0.75 s; both are played here as in the other plans.
    source: "BT SIN 350",
    tones: {
      dial: { hz: [350, 440], cadence: [], dbfs: LEVEL.dial },
      "stutter-dial": stutter([350, 440]),
      ringback: { hz: [400, 450], cadence: [400, 200, 400, 2000], dbfs: LEVEL.ringback },
      busy: { hz: [400], cadence: [375, 375], dbfs: LEVEL.busy },
      reorder: { hz: [400], cadence: [], dbfs: LEVEL.busy },
      "call-waiting": { hz: [400], cadence: [100, 2000], dbfs: LEVEL.callWaiting },
      ring: ring([400, 450]),
    },
  },
  de: {
    country: "Germany",
    // ITU-T E.180 Suppl. 2, Germany (variant I of each tone): ringing 1.0/4.0, busy 0.48/0.48, congestion 0.24/0.24,
    // call waiting 0.2 on 0.2 off 0.2 on 5.0 off. Reorder = congestion tone.
    source: "ITU-T E.180 Suppl. 2 (Germany)",
    tones: {
      dial: { hz: [425], cadence: [], dbfs: LEVEL.dial },
      "stutter-dial": stutter([425]),
      ringback: { hz: [425], cadence: [1000, 4000], dbfs: LEVEL.ringback },
      busy: { hz: [425], cadence: [480, 480], dbfs: LEVEL.busy },
      reorder: { hz: [425], cadence: [240, 240], dbfs: LEVEL.busy },
      "call-waiting": { hz: [425], cadence: [200, 200, 200, 5000], dbfs: LEVEL.callWaiting },
      ring: ring([425]),
    },
  },
  fr: {
    country: "France",
    // ITU-T E.180 Suppl. 2, France: dial 440 Hz steady, ringing 1.5/3.5, busy 0.5/0.5. France lists no separate
    // congestion tone: reorder is a fast 0.25/0.25 440 Hz (as Asterisk's fr zone); call waiting 0.3 s every 10 s.
    source: "ITU-T E.180 Suppl. 2 (France)",
    tones: {
      dial: { hz: [440], cadence: [], dbfs: LEVEL.dial },
      "stutter-dial": stutter([440]),
      ringback: { hz: [440], cadence: [1500, 3500], dbfs: LEVEL.ringback },
      busy: { hz: [440], cadence: [500, 500], dbfs: LEVEL.busy },
      reorder: { hz: [440], cadence: [250, 250], dbfs: LEVEL.busy },
      "call-waiting": { hz: [440], cadence: [300, 10000], dbfs: LEVEL.callWaiting },
      ring: ring([440]),
    },
  },
  au: {
    country: "Australia",
    // Communications Alliance AS/ACIF S002 and ITU-T E.180 Suppl. 2, Australia: dial 413+438 steady, ringing 413+438
    // 0.4/0.2/0.4/2.0, busy 425 0.375/0.375, number unobtainable 425 2.5 on 0.5 off (played as reorder: the
    // congestion tone has busy's cadence and differs only in level), call waiting 425 0.2/0.2/0.2/4.4.
    source: "AS/ACIF S002, ITU-T E.180 Suppl. 2 (Australia)",
    tones: {
      dial: { hz: [413, 438], cadence: [], dbfs: LEVEL.dial },
      "stutter-dial": stutter([413, 438]),
      ringback: { hz: [413, 438], cadence: [400, 200, 400, 2000], dbfs: LEVEL.ringback },
      busy: { hz: [425], cadence: [375, 375], dbfs: LEVEL.busy },
      reorder: { hz: [425], cadence: [2500, 500], dbfs: LEVEL.busy },
      "call-waiting": { hz: [425], cadence: [200, 200, 200, 4400], dbfs: LEVEL.callWaiting },
      ring: ring([413, 438]),
    },
  },
};

/** The North American tones (the plan used when a board names none). */
export const TONES: Readonly<Record<ToneName, ToneSpec>> = TONE_PLANS.us.tones;

/** A tone as a stream of frames: each call to next() returns the following `samples` samples. */
export class ToneSource {
  /** The ring's pattern (undefined for the other tones). */
  readonly pattern: RingPattern | undefined;
  private n = 0;
  private readonly spec: ToneSpec;
  private readonly amp: number;
  /** Ends of the cadence's segments, in samples from the start of a period. */
  private readonly ends: number[] = [];
  private readonly period: number;
  private readonly stutterEnd: number | undefined;

  /** `pattern` is for the ring only (default "standard"). */
  constructor(
    readonly name: ToneName,
    private readonly rate = 8000,
    readonly plan: TonePlanName = "us",
    pattern?: RingPattern,
  ) {
    const p = TONE_PLANS[plan];
    if (!p) throw new RangeError(`unknown tone plan '${String(plan)}' (known: ${Object.keys(TONE_PLANS).join(", ")})`);
    const spec = p.tones[name];
    if (!spec) throw new RangeError(`unknown tone '${String(name)}'`);
    if (pattern !== undefined && name !== "ring") throw new RangeError(`a ring pattern is for the ring, not '${name}'`);
    this.pattern = name === "ring" ? (pattern ?? "standard") : undefined;
    const cadence = this.pattern ? RING_PATTERNS[this.pattern] : spec.cadence;
    if (!cadence) throw new RangeError(`unknown ring pattern '${String(pattern)}'`);
    this.spec = { ...spec, cadence };
    let t = 0;
    for (const ms of cadence) this.ends.push((t += Math.round((ms * rate) / 1000)));
    this.period = t;
    this.stutterEnd = spec.stutterMs === undefined ? undefined : Math.round((spec.stutterMs * rate) / 1000);
    // split the level over the frequencies so the sum peaks at the given dBFS
    this.amp = (32767 * 10 ** (spec.dbfs / 20)) / spec.hz.length;
  }

  /** The cadence this source plays, ms ([] = steady). */
  get cadence(): readonly number[] {
    return this.spec.cadence;
  }

  next(samples: number): Int16Array {
    const out = new Int16Array(samples);
    for (let i = 0; i < samples; i++, this.n++) {
      if (!this.on(this.n)) continue;
      let v = 0;
      for (const f of this.spec.hz) v += Math.sin((2 * Math.PI * f * this.n) / this.rate);
      out[i] = Math.round(v * this.amp);
    }
    return out;
  }

  /** Whether sample n (from the start) falls in an "on" segment of the cadence. */
  private on(n: number): boolean {
    if (!this.period) return true;
    if (this.stutterEnd !== undefined && n >= this.stutterEnd) return true;
    if (this.spec.once && n >= this.period) return false;
    const t = n % this.period;
    for (let k = 0; k < this.ends.length; k++) if (t < this.ends[k]) return k % 2 === 0;
    return false;
  }
}

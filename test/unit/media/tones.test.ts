// Call-progress tones by national plan, and the ring patterns, measured from the PCM they produce: the frequencies by
// Goertzel (each component of a dual tone present and balanced, nothing between or beside them), the cadence from the
// envelope in 10 ms blocks. The expected values are written out here, not read from the module under test.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { RING_PATTERNS, TONE_PLANS, ToneSource, type RingPattern, type ToneName, type TonePlanName } from "../../../src/media/tones.js";
import { dominantHz, rmsDbfs } from "../../../src/hal/emul/pcm-analysis.js";
import { ManualClock } from "../../../src/base/clock.js";
import { silentLogger } from "../../../src/base/log.js";
import { EmulatedAudioDevice } from "../../../src/hal/emul/audio-emul.js";
import { AudioRouter } from "../../../src/media/audio-router.js";
import { boardPath, listShippedBoards, loadBoard, parseBoard, shippedBoardDir } from "../../../src/hal/board-loader.js";

interface Want {
  hz: number[];
  /** on, off, on, off, ... ms; [] = steady; with `once`, only the first burst then silence. */
  cadence: number[];
  once?: true;
}

type Checked = "dial" | "ringback" | "busy" | "reorder" | "call-waiting";

// ANSI T1.401; BT SIN 350; ITU-T E.180 Suppl. 2 (Germany, France); AS/ACIF S002 (Australia).
const WANT: Record<TonePlanName, Record<Checked, Want> & { ringHz: number[] }> = {
  us: {
    dial: { hz: [350, 440], cadence: [] },
    ringback: { hz: [440, 480], cadence: [2000, 4000] },
    busy: { hz: [480, 620], cadence: [500, 500] },
    reorder: { hz: [480, 620], cadence: [250, 250] },
    "call-waiting": { hz: [440], cadence: [300], once: true },
    ringHz: [440, 480],
  },
  uk: {
    dial: { hz: [350, 440], cadence: [] },
    ringback: { hz: [400, 450], cadence: [400, 200, 400, 2000] },
    busy: { hz: [400], cadence: [375, 375] },
    reorder: { hz: [400], cadence: [] },
    "call-waiting": { hz: [400], cadence: [100, 2000] },
    ringHz: [400, 450],
  },
  de: {
    dial: { hz: [425], cadence: [] },
    ringback: { hz: [425], cadence: [1000, 4000] },
    busy: { hz: [425], cadence: [480, 480] },
    reorder: { hz: [425], cadence: [240, 240] },
    "call-waiting": { hz: [425], cadence: [200, 200, 200, 5000] },
    ringHz: [425],
  },
  fr: {
    dial: { hz: [440], cadence: [] },
    ringback: { hz: [440], cadence: [1500, 3500] },
    busy: { hz: [440], cadence: [500, 500] },
    reorder: { hz: [440], cadence: [250, 250] },
    "call-waiting": { hz: [440], cadence: [300, 10000] },
    ringHz: [440],
  },
  au: {
    dial: { hz: [413, 438], cadence: [] },
    ringback: { hz: [413, 438], cadence: [400, 200, 400, 2000] },
    busy: { hz: [425], cadence: [375, 375] },
    reorder: { hz: [425], cadence: [2500, 500] },
    "call-waiting": { hz: [425], cadence: [200, 200, 200, 4400] },
    ringHz: [413, 438],
  },
};

// Telcordia GR-506-CORE distinctive ringing patterns 1-4.
const WANT_RING: Record<RingPattern, number[]> = {
  standard: [2000, 4000],
  double: [800, 400, 800, 4000],
  triple: [400, 200, 400, 200, 800, 4000],
  short: [300, 200, 1000, 200, 300, 4000],
};

const PLANS: TonePlanName[] = ["us", "uk", "de", "fr", "au"];
const BLOCK_MS = 10;

const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
const db = (p: number): number => 10 * Math.log10(p);

/** Goertzel power at one frequency over a Hann-windowed stretch (the window keeps a near neighbour's leakage low). */
function power(pcm: Int16Array, rate: number, hz: number): number {
  const n = pcm.length;
  const c = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = pcm[i] * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1))) + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - c * s1 * s2) / (n * n);
}

interface Run {
  on: boolean;
  ms: number;
}

/** The envelope as on/off runs of 10 ms blocks: a block is "on" when it holds any tone at all. */
function runs(pcm: Int16Array, rate: number): Run[] {
  const per = (rate * BLOCK_MS) / 1000;
  const out: Run[] = [];
  for (let i = 0; i + per <= pcm.length; i += per) {
    const on = rmsDbfs(pcm.subarray(i, i + per)) > -60;
    const last = out[out.length - 1];
    if (last && last.on === on) last.ms += BLOCK_MS;
    else out.push({ on, ms: BLOCK_MS });
  }
  return out;
}

const show = (r: Run[]): string => r.map((x) => `${x.on ? "on" : "off"} ${x.ms}`).join(", ");

/**
 * The measured runs follow `cadence` (from its start, or from segment `skip` when the first runs are left out), each
 * within one block; at least one whole period is seen. The last run is cut by the end of the buffer and not judged.
 */
function assertCadence(pcm: Int16Array, rate: number, cadence: number[], label: string, skip = 0): void {
  const all = runs(pcm, rate);
  const r = all.slice(skip, -1);
  assert.ok(r.length >= cadence.length, `${label}: ${r.length} whole runs, want at least a period (${cadence.length}): ${show(all)}`);
  r.forEach((x, i) => {
    const k = (i + skip) % cadence.length;
    assert.equal(x.on, k % 2 === 0, `${label}: run ${i + skip} should be ${k % 2 === 0 ? "on" : "off"}: ${show(all)}`);
    assert.ok(Math.abs(x.ms - cadence[k]) <= BLOCK_MS, `${label}: run ${i + skip} lasted ${x.ms} ms, want ${cadence[k]} ±${BLOCK_MS}: ${show(all)}`);
  });
}

/**
 * The longest burst (its whole blocks, at most 1 s) is the given frequencies: the dominant one is among them, every
 * one is present at the same level within 1 dB, and 20 dB quieter between two of them and 60 Hz beside them.
 */
function assertFrequencies(pcm: Int16Array, rate: number, hz: number[], label: string): void {
  let at0 = 0;
  let best = { start: 0, ms: 0 };
  for (const r of runs(pcm, rate)) {
    if (r.on && r.ms > best.ms) best = { start: at0, ms: r.ms };
    at0 += r.ms;
  }
  assert.ok(best.ms >= 100, `${label}: no burst of 100 ms or more`);
  // whole blocks only: leave out the block at each end, which may be partly silent
  const from = ((best.start + BLOCK_MS) * rate) / 1000;
  const burst = pcm.subarray(from, from + (rate * Math.min(best.ms - 2 * BLOCK_MS, 1000)) / 1000);
  assert.ok(rmsDbfs(burst) > -30, `${label}: level ${rmsDbfs(burst).toFixed(1)} dBFS`);
  // dominantHz scans a 10 Hz grid first: over a short stretch every frequency is within a bin of a grid point
  const dom = dominantHz(burst.subarray(0, Math.min(burst.length, (rate * 150) / 1000)), rate);
  assert.ok(
    hz.some((f) => Math.abs(dom - f) <= 3),
    `${label}: dominant ${dom} Hz, want one of ${hz.join("+")}`,
  );
  const at = hz.map((f) => db(power(burst, rate, f)));
  const weakest = Math.min(...at);
  assert.ok(Math.max(...at) - weakest <= 1, `${label}: components ${hz.map((f, i) => `${f} Hz ${at[i].toFixed(1)} dB`).join(", ")}`);
  const sorted = [...hz].sort((a, b) => a - b);
  const probes = [sorted[0] - 60, sorted[sorted.length - 1] + 60];
  for (let i = 1; i < sorted.length; i++) probes.push((sorted[i - 1] + sorted[i]) / 2);
  for (const p of probes) {
    const got = db(power(burst, rate, p));
    assert.ok(got <= weakest - 20, `${label}: ${p} Hz is at ${got.toFixed(1)} dB, within 20 dB of the tone (${weakest.toFixed(1)} dB)`);
  }
}

/** A tone's samples: a steady one for 3 s, a repeating cadence for two periods and a bit. */
function generate(src: ToneSource, rate: number, cadence: number[], once = false): Int16Array {
  const ms = !cadence.length ? 3000 : once ? 2000 : 2 * sum(cadence) + 100;
  return src.next((rate * ms) / 1000);
}

describe("tone plans", () => {
  for (const plan of PLANS) {
    const want = WANT[plan];

    it(`${plan}: dial tone is steady ${want.dial.hz.join("+")} Hz`, () => {
      const pcm = new ToneSource("dial", 8000, plan).next(8000 * 3);
      const r = runs(pcm, 8000);
      assert.deepEqual(r, [{ on: true, ms: 3000 }], show(r));
      assertFrequencies(pcm, 8000, want.dial.hz, `${plan} dial`);
    });

    it(`${plan}: ringback, busy, reorder and call waiting have the plan's frequencies and cadences`, () => {
      for (const name of ["ringback", "busy", "reorder", "call-waiting"] as const) {
        const w = want[name];
        const label = `${plan} ${name}`;
        const pcm = generate(new ToneSource(name, 8000, plan), 8000, w.cadence, w.once);
        assertFrequencies(pcm, 8000, w.hz, label);
        if (!w.cadence.length) assert.deepEqual(runs(pcm, 8000), [{ on: true, ms: 3000 }], label);
        else if (w.once) assert.deepEqual(runs(pcm, 8000), [{ on: true, ms: w.cadence[0] }, { on: false, ms: 2000 - w.cadence[0] }], label);
        else assertCadence(pcm, 8000, w.cadence, label);
      }
    });

    it(`${plan}: stutter dial is the dial tone broken 0.1 s on / 0.1 s off for 2 s, then steady`, () => {
      const pcm = new ToneSource("stutter-dial", 8000, plan).next(8000 * 4);
      const r = runs(pcm, 8000);
      assert.equal(r.length, 21, show(r));
      r.slice(0, 20).forEach((x, i) => assert.deepEqual(x, { on: i % 2 === 0, ms: 100 }, show(r)));
      assert.deepEqual(r[20], { on: true, ms: 2000 });
      assertFrequencies(pcm, 8000, want.dial.hz, `${plan} stutter dial`);
    });
  }

  it("a cadence of several on/off pairs keeps its order period after period, at 8 and 16 kHz", () => {
    for (const rate of [8000, 16000]) {
      // UK ringback: 0.4 on 0.2 off 0.4 on 2.0 off, over three periods
      const uk = new ToneSource("ringback", rate, "uk").next(rate * 9.1);
      const r = runs(uk, rate);
      assert.ok(r.length >= 12, show(r));
      assertCadence(uk, rate, [400, 200, 400, 2000], `uk ringback at ${rate}`);
      // German call waiting: 0.2 on 0.2 off 0.2 on 5.0 off, over two periods
      const de = new ToneSource("call-waiting", rate, "de").next(rate * 11.5);
      assertCadence(de, rate, [200, 200, 200, 5000], `de call waiting at ${rate}`);
    }
  });

  it("frames of any size join into one seamless tone (20 ms frames give the same samples as one long buffer)", () => {
    const whole = new ToneSource("ringback", 8000, "au").next(8000 * 3);
    const framed = new ToneSource("ringback", 8000, "au");
    const parts: number[] = [];
    for (let i = 0; i < 150; i++) parts.push(...framed.next(160));
    assert.deepEqual(Int16Array.from(parts), whole);
  });

  it("every plan has every tone with an on/off cadence of whole pairs, and the board schema lists exactly these plans", async () => {
    const names: ToneName[] = ["dial", "stutter-dial", "ringback", "busy", "reorder", "call-waiting", "ring"];
    assert.deepEqual(Object.keys(TONE_PLANS).sort(), [...PLANS].sort());
    for (const plan of PLANS) {
      assert.deepEqual(Object.keys(TONE_PLANS[plan].tones).sort(), [...names].sort(), plan);
      assert.ok(TONE_PLANS[plan].source.length > 0, `${plan} names its source`);
      for (const n of names) {
        const c = TONE_PLANS[plan].tones[n].cadence;
        assert.ok(c.length % 2 === 0 && c.every((ms) => Number.isInteger(ms) && ms > 0), `${plan} ${n}: ${c.join(",")}`);
      }
    }
    const schema = JSON.parse(await fs.readFile(path.join(shippedBoardDir(), "schema.json"), "utf8")) as {
      properties: Record<string, { enum?: string[] }>;
      required: string[];
    };
    assert.deepEqual(schema.properties.tonePlan.enum, PLANS);
    assert.ok(!schema.required.includes("tonePlan"), "tonePlan is optional");
  });

  it("refuses an unknown plan, and a ring pattern on a tone other than the ring", () => {
    assert.throws(() => new ToneSource("dial", 8000, "xx" as TonePlanName), /unknown tone plan 'xx' \(known: us, uk, de, fr, au\)/);
    assert.throws(() => new ToneSource("busy", 8000, "us", "double"), /a ring pattern is for the ring, not 'busy'/);
  });
});

describe("ring patterns", () => {
  for (const pattern of Object.keys(WANT_RING) as RingPattern[]) {
    it(`${pattern}: ${WANT_RING[pattern].map((ms) => ms / 1000).join(" / ")} s (Telcordia GR-506)`, () => {
      assert.deepEqual(RING_PATTERNS[pattern], WANT_RING[pattern]);
      const src = new ToneSource("ring", 8000, "us", pattern);
      assert.equal(src.pattern, pattern);
      assertCadence(generate(src, 8000, WANT_RING[pattern]), 8000, WANT_RING[pattern], pattern);
    });
  }

  it("the ring defaults to the standard pattern, and sounds at each plan's ring frequencies", () => {
    for (const plan of PLANS) {
      const src = new ToneSource("ring", 8000, plan);
      assert.equal(src.pattern, "standard");
      const pcm = generate(src, 8000, WANT_RING.standard);
      assertCadence(pcm, 8000, WANT_RING.standard, `${plan} ring`);
      assertFrequencies(pcm, 8000, WANT[plan].ringHz, `${plan} ring`);
      assertFrequencies(new ToneSource("ring", 8000, plan, "triple").next(8000), 8000, WANT[plan].ringHz, `${plan} triple ring`);
    }
  });
});

describe("audio router with a tone plan", () => {
  function router(tonePlan: TonePlanName | undefined, rate: 8000 | 16000 = 8000) {
    const clock = new ManualClock();
    const handset = new EmulatedAudioDevice({ name: "handset", clock, capture: true, playback: true, bufferMs: 80 });
    const ringer = new EmulatedAudioDevice({ name: "ringer", clock, capture: false, playback: true, bufferMs: 80 });
    const r = new AudioRouter({ handset, ringer }, clock, silentLogger(), { rate, tonePlan });
    return { clock, handset, ringer, router: r };
  }

  it("plays the plan's dial tone on the handset (each plan, and at 16 kHz), the US one when no plan is given", () => {
    const cases: [TonePlanName | undefined, 8000 | 16000][] = [...PLANS.map((p) => [p, 8000] as [TonePlanName, 8000]), ["uk", 16000], [undefined, 8000]];
    for (const [plan, rate] of cases) {
      const { clock, handset, router: r } = router(plan, rate);
      r.setPath("handset");
      r.setTone("dial");
      clock.advance(1000);
      const pcm = handset.captured();
      assert.equal(handset.playedRate(), rate);
      assert.ok(pcm.length >= rate * 0.9, `${plan} at ${rate}: ${pcm.length} samples played`);
      assertFrequencies(pcm, rate, WANT[plan ?? "us"].dial.hz, `${plan ?? "default"} dial on the handset at ${rate}`);
      r.stop();
    }
  });

  it("plays the plan's busy cadence on the handset", () => {
    const { clock, handset, router: r } = router("uk");
    r.setPath("handset");
    r.setTone("busy");
    clock.advance(2000);
    assertCadence(handset.captured(), 8000, [375, 375], "uk busy on the handset");
    r.stop();
  });

  it("rings the ringer with the asked pattern, switches pattern while ringing, keeps a pattern asked again, and stops", () => {
    const { clock, handset, ringer, router: r } = router("de");
    r.setRinger(true, "double");
    clock.advance(12_500);
    const double = ringer.captured();
    assertCadence(double, 8000, WANT_RING.double, "double on the ringer");
    assertFrequencies(double, 8000, [425], "de ring");
    assert.equal(handset.captured().length, 0, "nothing on the handset");

    // 480 ms into a period: in double's first burst; triple starts from its own first burst
    ringer.clearCaptured();
    r.setRinger(true, "triple");
    clock.advance(7500);
    // 1.5 s into triple's second period (in its 0.8 s burst): asking for triple again must not restart it
    r.setRinger(true, "triple");
    clock.advance(6000);
    // the first run holds the last frame of the old pattern, still queued at the switch
    assertCadence(ringer.captured(), 8000, WANT_RING.triple, "triple after the switch", 1);

    r.setRinger(false);
    const played = ringer.captured().length;
    clock.advance(1000);
    assert.equal(ringer.captured().length, played, "silent after the ringer is turned off");
    r.stop();
  });

  it("rings on the speaker, at the plan's ring frequencies, when the board has no ringer", () => {
    const clock = new ManualClock();
    const speaker = new EmulatedAudioDevice({ name: "speaker", clock, capture: true, playback: true, bufferMs: 80 });
    const r = new AudioRouter({ speaker }, clock, silentLogger(), { tonePlan: "uk" });
    r.setRinger(true);
    clock.advance(6500);
    assertCadence(speaker.captured(), 8000, WANT_RING.standard, "standard ring on the speaker");
    assertFrequencies(speaker.captured(), 8000, [400, 450], "uk ring on the speaker");
    r.stop();
  });
});

describe("the board's tonePlan", () => {
  it("is optional: a board without it loads, and a router given it plays the US tones", async () => {
    const b = JSON.parse(await fs.readFile(boardPath("sim"), "utf8")) as Record<string, unknown>;
    delete b.tonePlan;
    const board = await parseBoard(JSON.stringify(b), "board/no-plan.json");
    assert.equal(board.tonePlan, undefined);
    const clock = new ManualClock();
    const handset = new EmulatedAudioDevice({ name: "handset", clock, capture: true, playback: true, bufferMs: 80 });
    const r = new AudioRouter({ handset }, clock, silentLogger(), { tonePlan: board.tonePlan });
    r.setPath("handset");
    r.setTone("dial");
    clock.advance(500);
    assertFrequencies(handset.captured(), 8000, [350, 440], "no plan: US dial");
    r.stop();
  });

  it("is accepted for every plan, and every shipped board names a known one", async () => {
    const b = JSON.parse(await fs.readFile(boardPath("sim"), "utf8")) as Record<string, unknown>;
    for (const plan of PLANS) {
      b.tonePlan = plan;
      assert.equal((await parseBoard(JSON.stringify(b), "board/plan.json")).tonePlan, plan);
    }
    for (const name of await listShippedBoards()) {
      const plan = (await loadBoard(name)).tonePlan ?? "us";
      assert.ok(PLANS.includes(plan), `${name}: ${plan}`);
    }
  });
});

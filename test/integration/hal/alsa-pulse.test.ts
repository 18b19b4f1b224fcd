// The ALSA driver against a PulseAudio null sink: real 10/20 ms pacing, and a tone played comes back from the monitor.
import assert from "node:assert/strict";
import { createSystemClock } from "../../../src/base/clock.js";
import { AlsaAudioDevice } from "../../../src/hal/drivers/alsa-audio.js";
import type { AudioFormat } from "../../../src/hal/api/audio.js";
import { samplesPerFrame } from "../../../src/hal/api/audio.js";
import { dominantHz, rmsDbfs, toneS16 } from "../../../src/hal/emul/pcm-analysis.js";
import { startPulse, type PulseLab } from "../../support/pulse.js";
import { AlsaMixer } from "../../../src/hal/drivers/alsa-mixer.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { isPhoneError } from "../../../src/base/errors.js";

const run = promisify(execFile);

const clock = createSystemClock();

describe("ALSA driver on a PulseAudio null sink (paced)", function () {
  this.timeout(60000);
  let pulse: PulseLab;
  // a daemon per test: one that died during an earlier test (seen once in a while on a busy machine, cause unknown:
  // status() says how it ended) must not fail the next
  beforeEach(async () => (pulse = await startPulse(16000)));
  afterEach(async () => pulse?.stop());

  for (const periodMs of [10, 20] as const) {
    it(`delivers capture frames in real time with ${periodMs} ms periods, and hears a 440 Hz tone played into the sink`, async () => {
      const format: AudioFormat = { rate: 16000, periodMs };
      const mic = new AlsaAudioDevice({ name: "handset", capturePcm: "pulse", bufferMs: 80, clock, env: pulse.env });
      const spk = new AlsaAudioDevice({ name: "speaker", playbackPcm: "pulse", bufferMs: 200, clock, env: { ...pulse.env } });
      const cap = mic.openCapture(format);
      const frames: { t: number; f: Int16Array }[] = [];
      cap.onFrame((f, t) => frames.push({ t, f }));
      const errors: string[] = [];
      cap.onError((e) => errors.push(e.message));
      const play = spk.openPlayback(format);
      const n = samplesPerFrame(format);
      const tone = toneS16({ hz: 440, ms: 1500, dbfs: -12, rate: format.rate });
      let i = 0;
      // feed the speaker one period at a time, as the phone's audio loop does
      const feeder = clock.setInterval(() => {
        while (i < tone.length && play.write(tone.subarray(i, i + n))) i += n;
      }, periodMs);
      const want = Math.round(1200 / periodMs);
      const t0 = clock.now();
      while (frames.length < want && clock.now() - t0 < 20000) await clock.sleep(20);
      const elapsed = clock.now() - t0;
      feeder.cancel();
      await play.stop();
      await cap.stop();
      assert.ok(frames.length >= want, `got ${frames.length} frames; ${pulse.status()}; errors: ${errors.slice(0, 3).join(" / ")}`);
      for (const { f } of frames) assert.equal(f.length, n);
      // Paced: 1.2 s of audio cannot arrive much faster than 1.2 s (an unpaced PCM delivers it in milliseconds).
      assert.ok(elapsed >= 1200 * 0.75, `1200 ms of frames arrived in ${elapsed.toFixed(0)} ms`);
      const heard = new Int16Array(frames.slice(-Math.round(400 / periodMs)).flatMap(({ f }) => [...f]));
      assert.ok(rmsDbfs(heard) > -30, `level ${rmsDbfs(heard).toFixed(1)} dBFS`);
      const hz = dominantHz(heard, format.rate);
      assert.ok(Math.abs(hz - 440) <= 5, `dominant ${hz} Hz`);
    });
  }

  it("sets volume and mute through real amixer on a real mixer control (PulseAudio's ALSA ctl)", async () => {
    const mixer = new AlsaMixer({ card: "pulse", device: "pulse", controls: { speaker: "Master", ringer: "NoSuchControl" }, env: pulse.env });
    await mixer.setVolume("speaker", 40);
    assert.equal(await mixer.getVolume("speaker"), 40);
    assert.match((await run("pactl", ["get-sink-volume", "fake"], { env: pulse.env })).stdout, /\b40%/);
    await mixer.setMute("speaker", true);
    assert.match((await run("pactl", ["get-sink-mute", "fake"], { env: pulse.env })).stdout, /Mute: yes/);
    await mixer.setMute("speaker", false);
    assert.match((await run("pactl", ["get-sink-mute", "fake"], { env: pulse.env })).stdout, /Mute: no/);
    await assert.rejects(mixer.setVolume("ringer", 10), (e: unknown) => isPhoneError(e, "PHONE_ERR_MIXER") && /NoSuchControl/.test((e as Error).message));
  });
});

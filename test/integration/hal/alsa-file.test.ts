// The ALSA driver running real arecord/aplay through ALSA `file` PCMs: exact content, exact frames, restarts, errors.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { promises as fs } from "node:fs";
import { createSystemClock } from "../../../src/base/clock.js";
import { isPhoneError } from "../../../src/base/errors.js";
import { AlsaAudioDevice } from "../../../src/hal/drivers/alsa-audio.js";
import type { AudioFormat } from "../../../src/hal/api/audio.js";
import { samplesPerFrame } from "../../../src/hal/api/audio.js";
import { makeAlsaEnv, type AlsaEnv } from "../../support/alsa-env.js";

const clock = createSystemClock();

function randomPcm(samples: number, seed: number): Int16Array {
  const out = new Int16Array(samples);
  let s = seed;
  for (let i = 0; i < samples; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = (s >>> 8) - 32768 * ((s >>> 31) & 1);
  }
  return out;
}

const bytes = (pcm: Int16Array): Buffer => Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = clock.now() + ms;
  while (!cond()) {
    if (clock.now() > end) assert.fail(`timed out waiting for ${what}`);
    await clock.sleep(5);
  }
}

describe("ALSA driver through arecord/aplay and ALSA file PCMs", function () {
  this.timeout(15000);
  let alsa: AlsaEnv;
  beforeEach(async () => (alsa = await makeAlsaEnv()));
  afterEach(async () => alsa.cleanup());

  for (const format of [{ rate: 8000, periodMs: 10 }, { rate: 16000, periodMs: 20 }, { rate: 8000, periodMs: 20 }, { rate: 16000, periodMs: 10 }] as AudioFormat[]) {
    it(`captures the microphone's samples exactly, in ${format.periodMs} ms frames at ${format.rate} Hz`, async () => {
      const n = samplesPerFrame(format);
      const mic = randomPcm(n * 25 + 7, format.rate + format.periodMs);
      await fs.writeFile(alsa.micFile, bytes(mic));
      const dev = new AlsaAudioDevice({ name: "handset", capturePcm: "fake_mic", bufferMs: 80, clock, env: alsa.env });
      const cap = dev.openCapture(format);
      const frames: Int16Array[] = [];
      cap.onFrame((f) => {
        if (frames.length < 26) frames.push(f);
      });
      await waitFor(() => frames.length >= 26, "26 frames");
      await cap.stop();
      for (const f of frames) assert.equal(f.length, n);
      const got = new Int16Array(frames.flatMap((f) => [...f]));
      assert.deepEqual(got.subarray(0, mic.length), mic, "the file's samples, in order");
    });
  }

  it("plays exactly the frames written", async () => {
    const format: AudioFormat = { rate: 8000, periodMs: 20 };
    const dev = new AlsaAudioDevice({ name: "speaker", playbackPcm: "tap_out", bufferMs: 400, clock, env: alsa.env });
    const play = dev.openPlayback(format);
    const sent = randomPcm(samplesPerFrame(format) * 10, 42);
    for (let i = 0; i < 10; i++) assert.equal(play.write(sent.subarray(i * 160, (i + 1) * 160)), true);
    await play.drain();
    const played = await fs.readFile(alsa.playedFile);
    assert.ok(played.length >= sent.byteLength);
    assert.deepEqual(played.subarray(0, sent.byteLength), bytes(sent));
    assert.equal(play.stats().frames, 10);
  });

  it("names the ALSA device it cannot open, and keeps trying", async () => {
    const dev = new AlsaAudioDevice({ name: "headset", capturePcm: "plughw:CARD=NoSuchHeadset,DEV=0", bufferMs: 80, clock, env: alsa.env });
    const cap = dev.openCapture({ rate: 8000, periodMs: 20 });
    const errors: Error[] = [];
    cap.onError((e) => errors.push(e));
    await waitFor(() => errors.length >= 2, "two failed attempts");
    await cap.stop();
    assert.ok(isPhoneError(errors[0], "PHONE_ERR_AUDIO_DEVICE"));
    assert.match(errors[0].message, /headset capture: cannot open ALSA device 'plughw:CARD=NoSuchHeadset,DEV=0'/);
    assert.ok(cap.stats().restarts >= 1);
  });

  it("restarts arecord when it dies and carries on delivering frames", async () => {
    const format: AudioFormat = { rate: 8000, periodMs: 10 };
    await fs.writeFile(alsa.micFile, bytes(randomPcm(80, 1)));
    const children: ChildProcess[] = [];
    const tracking = ((cmd: string, args: string[], opts: object) => {
      const c = spawn(cmd, args, opts);
      children.push(c);
      return c;
    }) as typeof spawn;
    const dev = new AlsaAudioDevice({ name: "handset", capturePcm: "fake_mic", bufferMs: 80, clock, env: alsa.env, spawn: tracking });
    const cap = dev.openCapture(format);
    let frames = 0;
    cap.onFrame(() => frames++);
    await waitFor(() => frames > 0, "first frames");
    children[0].kill("SIGKILL");
    await waitFor(() => children.length === 2, "a new arecord");
    const before = frames;
    await waitFor(() => frames > before + 10, "frames after the restart");
    await cap.stop();
    assert.equal(cap.stats().restarts, 1);
    assert.ok(children.every((c) => c.exitCode !== null || c.signalCode !== null), "no arecord left running");
  });

  it("refuses a path the board gives no device for", () => {
    const dev = new AlsaAudioDevice({ name: "ringer", playbackPcm: "tap_out", bufferMs: 80, clock, env: alsa.env });
    assert.throws(() => dev.openCapture({ rate: 8000, periodMs: 20 }), (e: unknown) => isPhoneError(e, "PHONE_ERR_NOT_SUPPORTED"));
  });
});

import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/base/clock.js";
import { isPhoneError } from "../../../../src/base/errors.js";
import { EmulatedAudioDevice, EmulatedMixer } from "../../../../src/hal/emul/audio-emul.js";
import { dominantHz, toneS16 } from "../../../../src/hal/emul/pcm-analysis.js";

describe("emulated audio path", () => {
  it("delivers one capture frame per period on the clock: injected samples, then silence", () => {
    const clock = new ManualClock();
    const dev = new EmulatedAudioDevice({ name: "handset", clock, capture: true, playback: true, bufferMs: 80 });
    const cap = dev.openCapture({ rate: 8000, periodMs: 20 });
    const frames: Int16Array[] = [];
    cap.onFrame((f) => frames.push(f));
    dev.injectTone({ hz: 1000, ms: 100, dbfs: -10 });
    clock.advance(99);
    assert.equal(frames.length, 4);
    clock.advance(101);
    assert.equal(frames.length, 10);
    assert.ok(frames.every((f) => f.length === 160));
    const spoken = new Int16Array(frames.slice(0, 5).flatMap((f) => [...f]));
    assert.equal(dominantHz(spoken, 8000), 1000);
    assert.ok(frames.slice(5).every((f) => f.every((s) => s === 0)));
  });

  it("resamples injected audio to the capture rate", () => {
    const clock = new ManualClock();
    const dev = new EmulatedAudioDevice({ name: "handset", clock, capture: true, playback: false, bufferMs: 80 });
    const cap = dev.openCapture({ rate: 16000, periodMs: 10 });
    const frames: Int16Array[] = [];
    cap.onFrame((f) => frames.push(f));
    dev.inject(toneS16({ hz: 500, ms: 200, dbfs: -10, rate: 8000 }), 8000);
    clock.advance(200);
    assert.equal(frames.length, 20);
    assert.ok(Math.abs(dominantHz(new Int16Array(frames.flatMap((f) => [...f])), 16000) - 500) <= 3);
  });

  it("plays one queued frame per period, keeps what was played, drops past the buffer", () => {
    const clock = new ManualClock();
    const dev = new EmulatedAudioDevice({ name: "speaker", clock, capture: false, playback: true, bufferMs: 60 });
    const play = dev.openPlayback({ rate: 8000, periodMs: 20 });
    const f = (v: number): Int16Array => new Int16Array(160).fill(v);
    assert.equal(play.write(f(1)), true);
    assert.equal(play.write(f(2)), true);
    assert.equal(play.write(f(3)), true);
    assert.equal(play.write(f(4)), false, "a 60 ms buffer holds three 20 ms frames");
    clock.advance(60);
    const got = dev.captured();
    assert.equal(got.length, 480);
    assert.deepEqual([got[0], got[160], got[320]], [1, 2, 3]);
    clock.advance(20);
    assert.equal(play.stats().xruns, 1, "starved after the queue ran dry");
    assert.throws(() => dev.openCapture({ rate: 8000, periodMs: 20 }), (e: unknown) => isPhoneError(e, "PHONE_ERR_NOT_SUPPORTED"));
  });

  it("stops its timers", async () => {
    const clock = new ManualClock();
    const dev = new EmulatedAudioDevice({ name: "handset", clock, capture: true, playback: true, bufferMs: 80 });
    const cap = dev.openCapture({ rate: 8000, periodMs: 20 });
    const play = dev.openPlayback({ rate: 8000, periodMs: 20 });
    await cap.stop();
    await play.stop();
    await cap.stop();
    assert.equal(clock.pending(), 0);
  });
});

describe("emulated mixer", () => {
  it("keeps volume and mute per control and refuses unknown controls", async () => {
    const m = new EmulatedMixer(["handset", "speaker"]);
    await m.setVolume("speaker", 35);
    await m.setMute("handset", true);
    assert.deepEqual(m.state(), { handset: { volume: 70, muted: true }, speaker: { volume: 35, muted: false } });
    assert.equal(await m.getVolume("speaker"), 35);
    await assert.rejects(m.setVolume("ringer", 10), (e: unknown) => isPhoneError(e, "PHONE_ERR_MIXER"));
    await assert.rejects(m.setVolume("speaker", 140), (e: unknown) => isPhoneError(e, "PHONE_ERR_BAD_REQUEST"));
  });
});

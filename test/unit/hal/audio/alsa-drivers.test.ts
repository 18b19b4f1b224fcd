// The ALSA driver's logic with a stand-in for child_process: frame slicing, restart backoff, xruns; the mixer's commands.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { PassThrough, Writable } from "node:stream";
import type { spawn as nodeSpawn, execFile as nodeExecFile } from "node:child_process";
import { ManualClock } from "../../../../src/base/clock.js";
import { isPhoneError } from "../../../../src/base/errors.js";
import { AlsaAudioDevice, alsaArgs } from "../../../../src/hal/drivers/alsa-audio.js";
import { AlsaMixer, parseAmixerLevel } from "../../../../src/hal/drivers/alsa-mixer.js";
import { PcmFrameSlicer } from "../../../../src/hal/core/pcm-frame-slicer.js";

class FakeChild extends EventEmitter {
  stdout = new PassThrough();
  stderr = new PassThrough();
  stdin: Writable = new PassThrough();
  exitCode: number | null = null;
  signalCode: string | null = null;
  constructor(readonly args: string[]) {
    super();
  }
  kill(sig = "SIGTERM"): boolean {
    this.die(null, sig);
    return true;
  }
  die(code: number | null, sig: string | null = null): void {
    if (this.exitCode !== null || this.signalCode !== null) return;
    this.exitCode = code;
    this.signalCode = sig;
    this.emit("exit", code, sig);
  }
}

function fakeSpawn(): { spawn: typeof nodeSpawn; children: FakeChild[] } {
  const children: FakeChild[] = [];
  const spawn = ((_cmd: string, args: string[]) => {
    const c = new FakeChild(args);
    children.push(c);
    return c;
  }) as unknown as typeof nodeSpawn;
  return { spawn, children };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("PCM frame slicer", () => {
  it("cuts any chunking into exact frames", () => {
    const frames: Int16Array[] = [];
    const s = new PcmFrameSlicer(4, (f) => frames.push(f));
    const bytes = Buffer.alloc(2 * 12);
    for (let i = 0; i < 12; i++) bytes.writeInt16LE(i - 6, i * 2);
    for (const cut of [3, 1, 7, 2, 11]) {
      const start = [3, 1, 7, 2, 11].slice(0, [3, 1, 7, 2, 11].indexOf(cut)).reduce((a, b) => a + b, 0);
      s.push(bytes.subarray(start, start + cut));
    }
    assert.equal(frames.length, 3);
    assert.deepEqual(frames.map((f) => [...f]), [[-6, -5, -4, -3], [-2, -1, 0, 1], [2, 3, 4, 5]]);
    assert.equal(s.pending, 0);
  });
});

describe("ALSA audio driver logic", () => {
  it("passes the format to arecord as ALSA wants it", () => {
    assert.deepEqual(alsaArgs("plughw:CARD=Handset,DEV=0", { rate: 16000, periodMs: 20 }, 80), [
      "-q", "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", "16000", "--period-time=20000", "--buffer-time=80000", "-D", "plughw:CARD=Handset,DEV=0",
    ]);
  });

  it("restarts a dying arecord with doubling backoff up to 2 s, and resets it once audio flows", async () => {
    const clock = new ManualClock();
    const { spawn, children } = fakeSpawn();
    const dev = new AlsaAudioDevice({ name: "handset", capturePcm: "hw:CARD=X", bufferMs: 80, clock, spawn });
    const cap = dev.openCapture({ rate: 8000, periodMs: 10 });
    const errors: Error[] = [];
    cap.onError((e) => errors.push(e));
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      children.at(-1)!.stderr.write("arecord: main:831: audio open error: No such device\n");
      await tick();
      children.at(-1)!.die(1);
      const n = children.length;
      let waited = 0;
      while (children.length === n) {
        clock.advance(1);
        waited++;
      }
      delays.push(waited);
    }
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 2000]);
    assert.ok(errors.every((e) => isPhoneError(e, "PHONE_ERR_AUDIO_DEVICE")));
    assert.match(errors[0].message, /handset capture: cannot open ALSA device 'hw:CARD=X'/);
    // audio flows again: the next failure waits the first delay again
    children.at(-1)!.stdout.write(Buffer.alloc(160));
    await tick();
    children.at(-1)!.die(null, "SIGKILL");
    const n = children.length;
    clock.advance(99);
    assert.equal(children.length, n);
    clock.advance(1);
    assert.equal(children.length, n + 1);
    assert.equal(cap.stats().restarts, 7);
    await cap.stop();
    assert.equal(clock.pending(), 0);
  });

  it("counts xruns from stderr and reports them without stopping", async () => {
    const clock = new ManualClock();
    const { spawn, children } = fakeSpawn();
    const dev = new AlsaAudioDevice({ name: "speaker", playbackPcm: "hw:CARD=Y", bufferMs: 40, clock, spawn });
    const play = dev.openPlayback({ rate: 8000, periodMs: 20 });
    const errors: Error[] = [];
    play.onError((e) => errors.push(e));
    children[0].stderr.write("underrun!!! (at least 1.2 ms long)\nunderrun!!! (at least 0.4 ms long)\n");
    await tick();
    assert.equal(play.stats().xruns, 2);
    assert.ok(isPhoneError(errors[0], "PHONE_ERR_AUDIO_XRUN"));
    assert.equal(children.length, 1);
    await play.stop();
  });

  it("drops frames instead of queueing latency when aplay falls behind", async () => {
    const clock = new ManualClock();
    const { spawn, children } = fakeSpawn();
    const dev = new AlsaAudioDevice({ name: "speaker", playbackPcm: "hw:CARD=Y", bufferMs: 40, clock, spawn });
    const play = dev.openPlayback({ rate: 8000, periodMs: 20 });
    // a pipe nobody drains: every byte written stays queued, as when aplay is stuck
    children[0].stdin = new Writable({ write() {} });
    const frame = new Int16Array(160);
    let accepted = 0;
    for (let i = 0; i < 50; i++) if (play.write(frame)) accepted++;
    assert.ok(accepted >= 2 && accepted <= 4, `accepted ${accepted}`);
    await play.stop();
  });
});

describe("ALSA mixer", () => {
  const real = `Simple mixer control 'PCM',0
  Capabilities: pvolume pvolume-joined pswitch pswitch-joined
  Playback channels: Mono
  Limits: Playback 0 - 255
  Mono: Playback 166 [65%] [-17.80dB] [on]
`;
  it("parses amixer's report", () => {
    assert.deepEqual(parseAmixerLevel(real), { percent: 65, muted: false });
    assert.deepEqual(parseAmixerLevel(real.replace("[on]", "[off]")), { percent: 65, muted: true });
  });

  it("runs amixer on the card by name with the board's control names, and names both on failure", async () => {
    const calls: string[][] = [];
    const execFile = ((_cmd: string, args: string[], _opts: object, cb: (e: Error | null, out: string, err: string) => void) => {
      calls.push(args);
      if (args.includes("Ringer")) cb(new Error("exit 1"), "", "amixer: Unable to find simple control 'Ringer',0\n");
      else cb(null, real, "");
    }) as unknown as typeof nodeExecFile;
    const m = new AlsaMixer({ card: "Handset", controls: { handset: "PCM", ringer: "Ringer" }, execFile });
    await m.setVolume("handset", 40);
    await m.setMute("handset", true);
    assert.equal(await m.getVolume("handset"), 65);
    assert.deepEqual(calls, [
      ["-c", "Handset", "-q", "sset", "PCM", "40%"],
      ["-c", "Handset", "-q", "sset", "PCM", "mute"],
      ["-c", "Handset", "sget", "PCM"],
    ]);
    await assert.rejects(m.setVolume("ringer", 10), (e: unknown) => isPhoneError(e, "PHONE_ERR_MIXER") && /card Handset, control 'Ringer' \(ringer\): amixer: Unable to find/.test((e as Error).message));
    await assert.rejects(m.setVolume("headset", 10), (e: unknown) => isPhoneError(e, "PHONE_ERR_MIXER"));
  });
});

// The media engine's parts without a network: G.711 both laws, RTP headers, SDP, tones, the audio router (mute,
// sidetone), the E-model.
import assert from "node:assert/strict";
import { alawToLinear, decodeG711, encodeG711, linearToAlaw, linearToUlaw, ulawToLinear } from "../../../src/media/g711.js";
import { buildRtp, dtmfPayload, parseRtp } from "../../../src/media/rtp-packet.js";
import { answerDirection, buildSdp, parseSdp } from "../../../src/media/sdp.js";
import { ToneSource } from "../../../src/media/tones.js";
import { dominantHz, rmsDbfs, toneDbfs, toneS16 } from "../../../src/hal/emul/pcm-analysis.js";
import { ManualClock } from "../../../src/base/clock.js";
import { silentLogger } from "../../../src/base/log.js";
import { EmulatedAudioDevice } from "../../../src/hal/emul/audio-emul.js";
import { AudioRouter } from "../../../src/media/audio-router.js";
import { mosFromR, rFactor } from "../../../src/media/e-model.js";
import { Downsampler, Upsampler } from "../../../src/media/resample.js";

/** An audio router on an emulated handset, on the handset path, with a manual clock. */
function handsetRouter(): { clock: ManualClock; handset: EmulatedAudioDevice; router: AudioRouter } {
  const clock = new ManualClock();
  const handset = new EmulatedAudioDevice({ name: "handset", clock, capture: true, playback: true, bufferMs: 80 });
  const router = new AudioRouter({ handset }, clock, silentLogger());
  router.setPath("handset");
  return { clock, handset, router };
}

describe("G.711", () => {
  it("round-trips every code word of both laws (the encoder inverts the decoder)", () => {
    for (let c = 0; c < 256; c++) {
      const u = ulawToLinear(c);
      // 0x7f and 0xff both mean zero in μ-law
      assert.equal(ulawToLinear(linearToUlaw(u)), u, `μ-law ${c}`);
      assert.equal(linearToAlaw(alawToLinear(c)), c, `A-law ${c}`);
    }
  });

  it("keeps a 1 kHz tone's frequency and level within a dB through encode and decode", () => {
    const tone = toneS16({ hz: 1000, ms: 200, dbfs: -10, rate: 8000 });
    for (const law of ["PCMU", "PCMA"] as const) {
      const back = decodeG711(law, encodeG711(law, tone));
      assert.equal(Math.round(dominantHz(back, 8000)), 1000);
      assert.ok(Math.abs(rmsDbfs(back) - rmsDbfs(tone)) < 1, law);
    }
  });
});

describe("RTP", () => {
  it("builds and parses the fixed header; skips CSRCs, extensions and padding; ignores RTCP", () => {
    const p = { payloadType: 0, marker: true, sequence: 65535, timestamp: 0xfffffff0, ssrc: 0x12345678, payload: Buffer.from([1, 2, 3]) };
    const b = buildRtp(p);
    assert.deepEqual({ ...parseRtp(b), payload: Buffer.from(parseRtp(b)!.payload) }, p);
    const odd = Buffer.concat([Buffer.from([0xb1, 0x08, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]), Buffer.alloc(4, 9), Buffer.from([0xbe, 0xde, 0, 1]), Buffer.alloc(4), Buffer.from([7, 7, 0, 2])]);
    assert.deepEqual([...parseRtp(odd)!.payload], [7, 7]);
    assert.equal(parseRtp(Buffer.from([0x80, 200, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])), null, "RTCP SR");
    assert.equal(parseRtp(Buffer.from("garbage")), null);
    assert.deepEqual([...dtmfPayload(5, true, 10, 800)], [5, 0x8a, 0x03, 0x20]);
  });
});

describe("SDP", () => {
  it("offers PCMU, PCMA and telephone-event; reads an answer; answers an offer with one codec", () => {
    const offer = buildSdp({ address: "10.0.0.5", port: 40000, sessionId: 1, version: 1, codecs: ["PCMU", "PCMA"], dtmfPt: 101, direction: "sendrecv" });
    assert.match(offer, /m=audio 40000 RTP\/AVP 0 8 101/);
    assert.match(offer, /a=rtpmap:101 telephone-event\/8000/);
    const r = parseSdp(offer);
    assert.deepEqual(r, { address: "10.0.0.5", port: 40000, codecs: [{ pt: 0, codec: "PCMU" }, { pt: 8, codec: "PCMA" }], dtmfPt: 101, direction: "sendrecv", rtcpMux: false, rtcpPort: 40001, profile: "RTP/AVP", crypto: [], ptime: 20 });
    const mux = parseSdp(offer.replace("a=ptime:20", "a=ptime:20\r\na=rtcp-mux"));
    assert.deepEqual([mux.rtcpMux, mux.rtcpPort], [true, 40000], "rtcp-mux accepted: RTCP on the RTP port");
    assert.throws(() => parseSdp("v=0\r\ns=-\r\n"), /no audio stream/);
    assert.throws(() => parseSdp("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 5 RTP/AVP 0\r\n"), /no connection address/);
  });

  it("answers hold offers per RFC 3264 §6.1", () => {
    assert.equal(answerDirection("sendonly", false), "recvonly");
    assert.equal(answerDirection("sendrecv", true), "sendonly");
    assert.equal(answerDirection("inactive", false), "inactive");
    assert.equal(answerDirection("recvonly", false), "sendonly");
  });
});

describe("call-progress tones", () => {
  it("dial tone is steady 350+440 Hz; busy is 480+620 Hz on for 0.5 s, off for 0.5 s", () => {
    const dial = new ToneSource("dial").next(8000);
    assert.ok([350, 440].includes(Math.round(dominantHz(dial, 8000) / 10) * 10), `dial ${dominantHz(dial, 8000)}`);
    const busy = new ToneSource("busy");
    const on = busy.next(4000);
    const off = busy.next(4000);
    assert.ok(rmsDbfs(on) > -30);
    assert.equal(rmsDbfs(off), -Infinity);
  });
});

describe("audio router", () => {
  it("mutes the microphone: the call gets silence while muted, the voice again after", async () => {
    const { clock, handset, router } = handsetRouter();
    const heard: number[] = [];
    router.onMic((f) => heard.push(rmsDbfs(f)));
    handset.injectTone({ hz: 1000, ms: 1000, dbfs: -10 });
    clock.advance(100);
    router.setMute(true);
    clock.advance(100);
    router.setMute(false);
    clock.advance(100);
    assert.ok(heard.length >= 14, `frames (${heard.length})`);
    assert.ok(heard.slice(1, 4).every((d) => d > -20), "voice before");
    assert.ok(heard.slice(6, 9).every((d) => d === -Infinity), "silence while muted");
    assert.ok(heard.slice(-3).every((d) => d > -20), "voice after");
    router.stop();
  });

  it("stutter dial tone: broken for two seconds, then steady", () => {
    const t = new ToneSource("stutter-dial");
    const first = t.next(800); // 0-100 ms: on
    const gap = t.next(800); // 100-200 ms: off
    t.next(8000 * 2);
    const later = t.next(800);
    assert.ok(rmsDbfs(first) > -30);
    assert.equal(rmsDbfs(gap), -Infinity);
    assert.ok(rmsDbfs(later) > -30);
  });
});

describe("E-model (ITU-T G.107) call quality", () => {
  it("rates G.711 with PLC: clean and quick ~4.4; 5% loss ~3.9; 200 ms and 10% loss poor", async () => {
    const mos = (oneWayDelayMs: number, lossPercent: number): number => mosFromR(rFactor({ oneWayDelayMs, lossPercent }));
    assert.ok(Math.abs(mos(0, 0) - 4.41) < 0.02, `${mos(0, 0)}`);
    assert.ok(Math.abs(mos(60, 5) - 3.82) < 0.1, `${mos(60, 5)}`);
    assert.ok(mos(200, 10) < 3.6, `${mos(200, 10)}`);
    assert.equal(mosFromR(-5), 1);
    assert.equal(mosFromR(120), 4.5);
  });
});

describe("audio router sidetone", () => {
  it("in a call on the handset, the user hears the far end and, about 18 dB down, themselves; muted, only the far end", async () => {
    const { clock, handset, router } = handsetRouter();
    router.addSource(() => new Int16Array(160)); // a call whose far end is silent
    handset.injectTone({ hz: 700, ms: 2000, dbfs: -10 });
    clock.advance(600);
    const heard = handset.captured();
    const rate = handset.playedRate();
    const tail = heard.subarray(heard.length - rate / 4);
    assert.ok(Math.abs(dominantHz(tail, rate) - 700) < 20, `own voice heard (${dominantHz(tail, rate)} Hz)`);
    assert.ok(Math.abs(rmsDbfs(tail) - -28) < 2, `at about -18 dB (${rmsDbfs(tail)} dBFS for a -10 dBFS voice)`);
    handset.clearCaptured();
    router.setMute(true);
    clock.advance(300);
    const muted = handset.captured();
    assert.equal(rmsDbfs(muted.subarray(muted.length - rate / 10)), -Infinity);
    router.stop();
  });
});

describe("audio router: conference and path switching", () => {
  it("a 3-way conference sends each call the microphone mixed with the other call; ended, each gets the microphone alone", () => {
    const { clock, handset, router } = handsetRouter();
    router.addSource(() => new Int16Array(160).fill(1000), "call-1");
    router.addSource(() => new Int16Array(160).fill(30), "call-2");
    const sent: Record<string, number[]> = { "call-1": [], "call-2": [] };
    router.onMic((f) => sent["call-1"].push(f[0]), "call-1");
    router.onMic((f) => sent["call-2"].push(f[0]), "call-2");
    handset.inject(new Int16Array(1600).fill(5), 8000);
    clock.advance(40);
    router.setConference(["call-1", "call-2"]);
    clock.advance(40);
    router.setConference(null);
    clock.advance(40);
    assert.deepEqual(sent["call-1"], [5, 5, 35, 35, 5, 5], "call 1 hears the user, then the user and call 2");
    assert.deepEqual(sent["call-2"], [5, 5, 1005, 1005, 5, 5], "call 2 hears the user, then the user and call 1");
  });

  it("a listen-only member (a security desk on an emergency call, one-way) is sent the mix but heard by no one", () => {
    const { clock, handset, router } = handsetRouter();
    router.addSource(() => new Int16Array(160).fill(1000), "call-1"); // the PSAP
    router.addSource(() => new Int16Array(160).fill(30), "call-2"); // the security desk
    const sent: Record<string, number[]> = { "call-1": [], "call-2": [] };
    router.onMic((f) => sent["call-1"].push(f[0]), "call-1");
    router.onMic((f) => sent["call-2"].push(f[0]), "call-2");
    handset.inject(new Int16Array(1600).fill(5), 8000);
    router.setConference(["call-1", "call-2"], { listenOnly: ["call-2"] });
    clock.advance(40);
    assert.deepEqual(sent["call-1"], [5, 5], "the PSAP hears the user only, not the desk");
    assert.deepEqual(sent["call-2"], [1005, 1005], "the desk hears the user and the PSAP");
    const played = handset.captured();
    assert.ok(played.length > 0 && played.every((v) => Math.abs(v - 1000) <= 2), `the earpiece plays the PSAP (and sidetone), never the desk (${[...new Set(played)].slice(0, 5).join(", ")})`);
    router.setConference(["call-1", "call-2"]);
    clock.advance(20);
    assert.equal(sent["call-1"].at(-1), 35, "two-way: the PSAP hears the desk too");
  });

  it("switches handset -> speaker mid-call without a gap: one microphone frame every period, the far end on the speaker at once", () => {
    const clock = new ManualClock();
    const handset = new EmulatedAudioDevice({ name: "handset", clock, capture: true, playback: true, bufferMs: 80 });
    const speaker = new EmulatedAudioDevice({ name: "speaker", clock, capture: true, playback: true, bufferMs: 80 });
    const router = new AudioRouter({ handset, speaker }, clock, silentLogger());
    router.setPath("handset");
    router.addSource(() => new Int16Array(160).fill(700));
    const at: number[] = [];
    router.onMic(() => at.push(clock.now()));
    clock.advance(100);
    router.setPath("speaker");
    clock.advance(100);
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    assert.equal(at.length, 10, `a frame every 20 ms across the switch (at ${at.join(", ")})`);
    assert.ok(Math.max(...gaps) <= 20, `no gap longer than a period (${gaps.join(", ")})`);
    const onSpeaker = speaker.captured();
    assert.ok(onSpeaker.length >= 4 * 160 && onSpeaker.every((v) => v === 700), `the far end plays on the speaker from its first period (${onSpeaker.length} samples)`);
  });
});

describe("2:1 resampling (the 16 kHz pipeline and 8 kHz codecs)", () => {
  it("up: a 1 kHz tone at 8 kHz is the same tone at 16 kHz, at the same level, with no image at 7 kHz", () => {
    const up = new Upsampler();
    const tone = toneS16({ hz: 1000, ms: 400, dbfs: -10, rate: 8000 });
    // in 20 ms frames, as the pipeline runs it (the filter state carries across frames)
    const out = new Int16Array(tone.length * 2);
    for (let i = 0; i < tone.length; i += 160) out.set(up.process(tone.subarray(i, i + 160)), i * 2);
    const tail = out.subarray(1600);
    assert.equal(Math.round(dominantHz(tail, 16000)), 1000);
    assert.ok(Math.abs(rmsDbfs(tail) - rmsDbfs(tone)) < 0.5, `level ${rmsDbfs(tail)} vs ${rmsDbfs(tone)}`);
    const down = toneDbfs(tail, 16000, 1000) - toneDbfs(tail, 16000, 7000);
    assert.ok(down > 50, `the 7 kHz image is > 50 dB down (${down.toFixed(1)} dB)`);
    assert.ok(Math.abs(toneDbfs(tail, 16000, 1000) - rmsDbfs(tone)) < 0.5, "the tone level measured alone");
  });

  it("down: a 1 kHz tone passes, a 6 kHz tone (which would alias to 2 kHz) is removed", () => {
    const pass = new Downsampler().process(toneS16({ hz: 1000, ms: 400, dbfs: -10, rate: 16000 })).subarray(400);
    assert.equal(Math.round(dominantHz(pass, 8000)), 1000);
    assert.ok(Math.abs(rmsDbfs(pass) + 10) < 0.5, `1 kHz level kept (${rmsDbfs(pass)} dBFS)`);
    const stop = new Downsampler().process(toneS16({ hz: 6000, ms: 400, dbfs: -10, rate: 16000 })).subarray(400);
    assert.ok(rmsDbfs(stop) < -55, `6 kHz removed before decimation (${rmsDbfs(stop)} dBFS)`);
  });
});

// One call's media on real UDP sockets: a far end streams a 1 kHz tone as RTP through 5% loss and up to 40 ms of
// jitter (so packets also arrive out of order); the phone's RTP session, jitter buffer and audio router must still
// put a clean 1 kHz tone on the earpiece, conceal the losses, and send its own microphone back.
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { createSystemClock } from "../../../src/base/clock.js";
import { silentLogger } from "../../../src/base/log.js";
import { EmulatedAudioDevice } from "../../../src/hal/emul/audio-emul.js";
import { dominantHz, rmsDbfs, toneS16 } from "../../../src/hal/emul/pcm-analysis.js";
import { AudioRouter } from "../../../src/media/audio-router.js";
import { RtpSession } from "../../../src/media/rtp-session.js";
import { buildSdp, parseSdp } from "../../../src/media/sdp.js";
import { buildRtp } from "../../../src/media/rtp-packet.js";
import { encodeG711 } from "../../../src/media/g711.js";

/** An RTP session on an emulated handset (real time), and a UDP socket to play the far end. */
async function sessionWithPeer() {
  const clock = createSystemClock();
  const handset = new EmulatedAudioDevice({ name: "handset", clock, capture: true, playback: true, bufferMs: 80 });
  const router = new AudioRouter({ handset }, clock, silentLogger());
  router.setPath("handset");
  const session = new RtpSession("t", { clock, log: silentLogger(), router, localAddress: () => "127.0.0.1" });
  const peer = dgram.createSocket("udp4");
  await new Promise<void>((r) => peer.bind(0, "127.0.0.1", () => r()));
  return { clock, handset, router, session, peer };
}

describe("RTP session through a lossy, jittery network", function () {
  this.timeout(20000);

  it("plays a clean tone with 5% loss and 40 ms jitter, conceals the losses, and sends the microphone back", async () => {
    const { clock, handset, router, session, peer } = await sessionWithPeer();
    let fromPhone = 0;
    peer.on("message", () => fromPhone++);
    try {
      const offer = buildSdp({ address: "127.0.0.1", port: peer.address().port, sessionId: 7, version: 1, codecs: ["PCMU"], dtmfPt: null, direction: "sendrecv" });
      const answer = parseSdp(await session.acceptOffer(offer, { hold: false }));
      assert.deepEqual(answer.codecs.map((c) => c.codec), ["PCMU"]);
      const tone = toneS16({ hz: 1000, ms: 2000, dbfs: -12, rate: 8000 });
      let seed = 12345;
      const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
      const sends: Promise<void>[] = [];
      let lost = 0;
      for (let i = 0; i < 100; i++) {
        if (i % 20 === 7) {
          lost++; // 5% loss
          continue;
        }
        const pkt = buildRtp({ payloadType: 0, marker: i === 0, sequence: i, timestamp: 5000 + i * 160, ssrc: 42, payload: encodeG711("PCMU", tone.subarray(i * 160, (i + 1) * 160)) });
        const at = i * 20 + rand() * 40; // up to 40 ms late: later packets overtake earlier ones
        sends.push(clock.sleep(at).then(() => new Promise<void>((r) => peer.send(pkt, answer.port, "127.0.0.1", () => r()))));
      }
      await Promise.all(sends);
      await clock.sleep(300);
      const s = session.jitterStats();
      assert.ok(s.concealed >= lost - 1, `losses concealed (${s.concealed} for ${lost} lost)`);
      const played = handset.captured();
      const rate = handset.playedRate();
      const last = played.subarray(Math.max(0, played.length - rate), played.length - Math.round(rate * 0.3)); // the stream's last stretch
      assert.ok(Math.abs(dominantHz(last, rate) - 1000) < 20, `the tone survives (${dominantHz(last, rate)} Hz)`);
      assert.ok(rmsDbfs(last) > -20, `at its level (${rmsDbfs(last)} dBFS)`);
      assert.ok(fromPhone >= 50, `the phone's microphone went out as RTP (${fromPhone} packets)`);
      assert.equal(session.rtcpStats().localLost, lost, "RTCP's count of lost packets");
      const q = session.quality();
      assert.ok(Math.abs(q.lossPercent - 5) < 1, `loss seen ${q.lossPercent}%`);
      // 5% loss takes G.711+PLC from 4.4 to about 3.9; the jitter buffer's delay (it grows if this machine is busy)
      // may take a little more
      assert.ok(q.mos > 3.0 && q.mos < 4.1, `5% loss lowers the MOS (${q.mos.toFixed(2)}, delay ${q.delayMs} ms)`);
    } finally {
      session.close();
      router.stop();
      peer.close();
    }
  });

  it("an emergency offer puts G.711 first and stays plain RTP even under an SRTP-required policy (re-offers too)", async () => {
    const clock = createSystemClock();
    const handset = new EmulatedAudioDevice({ name: "handset", clock, capture: true, playback: true, bufferMs: 80 });
    const router = new AudioRouter({ handset }, clock, silentLogger());
    const normal = new RtpSession("n", { clock, log: silentLogger(), router, localAddress: () => "127.0.0.1", codecs: ["G722", "PCMU", "PCMA"], srtp: "required" });
    const sos = new RtpSession("e", { clock, log: silentLogger(), router, localAddress: () => "127.0.0.1", codecs: ["G722", "PCMU", "PCMA"], srtp: "required" });
    try {
      const n = parseSdp(await normal.createOffer({ hold: false }));
      assert.deepEqual(n.codecs.map((c) => c.codec), ["G722", "PCMU", "PCMA"]);
      assert.equal(n.profile, "RTP/SAVP");
      const e = parseSdp(await sos.createOffer({ hold: false, emergency: true }));
      assert.deepEqual(e.codecs.map((c) => c.codec), ["PCMU", "PCMA", "G722"]);
      assert.equal(e.profile, "RTP/AVP");
      assert.equal(e.crypto.length, 0);
      const again = parseSdp(await sos.createOffer({ hold: false }));
      assert.deepEqual(again.codecs.map((c) => c.codec), ["PCMU", "PCMA", "G722"], "a re-offer in the same call keeps the emergency order");
    } finally {
      normal.close();
      sos.close();
    }
  });

  it("ptime 10: a far end that asks for 10 ms packets gets them, and its 10 ms packets are played", async () => {
    const { clock, handset, router, session, peer } = await sessionWithPeer();
    const sizes: number[] = [];
    peer.on("message", (m) => sizes.push(m.length - 12));
    try {
      const offer = buildSdp({ address: "127.0.0.1", port: peer.address().port, sessionId: 7, version: 1, codecs: ["PCMU"], dtmfPt: null, direction: "sendrecv" }).replace("a=ptime:20", "a=ptime:10");
      const answer = parseSdp(await session.acceptOffer(offer, { hold: false }));
      const tone = toneS16({ hz: 1000, ms: 1500, dbfs: -12, rate: 8000 });
      for (let i = 0; i < 150; i++) {
        const pkt = buildRtp({ payloadType: 0, marker: i === 0, sequence: i, timestamp: 800 + i * 80, ssrc: 43, payload: encodeG711("PCMU", tone.subarray(i * 80, (i + 1) * 80)) });
        await new Promise<void>((r) => peer.send(pkt, answer.port, "127.0.0.1", () => r()));
        await clock.sleep(10);
      }
      await clock.sleep(200);
      assert.ok(sizes.length > 20 && sizes.every((n) => n === 80), `the phone sends 10 ms (80-byte PCMU) packets (${[...new Set(sizes)].join(", ")})`);
      const played = handset.captured();
      const rate = handset.playedRate();
      const last = played.subarray(Math.max(0, played.length - rate), played.length - Math.round(rate * 0.3));
      assert.ok(Math.abs(dominantHz(last, rate) - 1000) < 20, `the far end's 10 ms packets are heard (${dominantHz(last, rate)} Hz)`);
      assert.ok(rmsDbfs(last) > -20, `at its level (${rmsDbfs(last)} dBFS)`);
    } finally {
      session.close();
      router.stop();
      peer.close();
    }
  });

  it("two sessions exchange DTMF (RFC 4733) and RTCP sender and receiver reports: each learns the round-trip time and the loss", async () => {
    const clock = createSystemClock();
    const make = (name: string): { router: AudioRouter; session: RtpSession } => {
      const dev = new EmulatedAudioDevice({ name, clock, capture: true, playback: true, bufferMs: 80 });
      const router = new AudioRouter({ handset: dev }, clock, silentLogger());
      router.setPath("handset");
      return { router, session: new RtpSession(name, { clock, log: silentLogger(), router, localAddress: () => "127.0.0.1", rtcpIntervalMs: 200 }) };
    };
    const a = make("a");
    const b = make("b");
    try {
      await a.session.setAnswer(await b.session.acceptOffer(await a.session.createOffer({ hold: false }), { hold: false }));
      const digits: string[] = [];
      b.session.onDtmf((d) => digits.push(d));
      assert.equal(a.session.sendDtmf("7", 100), true);
      await clock.sleep(300);
      assert.equal(a.session.sendDtmf("#", 100), true);
      await clock.sleep(900);
      assert.deepEqual(digits, ["7", "#"], "RFC 4733 digits received once each (the end packet is sent three times)");
      for (const [who, s] of [["a", a.session], ["b", b.session]] as const) {
        const r = s.rtcpStats();
        assert.ok(r.sent >= 2 && r.received >= 2, `${who} sent ${r.sent}, received ${r.received} reports`);
        assert.ok(r.rttMs !== null && r.rttMs >= 0 && r.rttMs < 50, `${who}: round trip ${r.rttMs} ms on loopback`);
        assert.equal(r.remoteFractionLost, 0);
        assert.equal(r.localLost, 0);
        // RTCP XR (RFC 3611) rode along: each end's report has the other's view of its stream as RemoteMetrics
        const report = s.qualityReport({ callId: "c1@test", localId: "sip:a@test", remoteId: "sip:b@test" }) ?? "";
        assert.match(report, /^VQSessionReport: CallTerm\r\n/);
        assert.match(report, /\r\nRemoteMetrics:\r\n/, `${who} learnt the far end's metrics from its XR:\n${report}`);
        assert.match(report, /PacketLoss:NLR=0\.0 JDR=/);
      }
    } finally {
      for (const x of [a, b]) {
        x.session.close();
        x.router.stop();
      }
    }
  });
});

// One call's media: an RTP socket, the SDP offer/answer for it, the chosen codec (G.722, G.711) both ways between the
// socket and the audio router (resampled when the codec's rate is not the router's), RFC 4733 DTMF, and SRTP with
// SDES keys when policy asks for it. Implements SIP's media port session by shape (media/ does not import sip/).
import * as dgram from "node:dgram";
import { randomInt } from "node:crypto";
import type { Clock } from "../base/clock.js";
import type { Logger } from "../base/log.js";
import type { Unsubscribe } from "../hal/api/events.js";
import type { AudioRouter } from "./audio-router.js";
import { CODECS, openCodec, type CodecName, type CodecStream } from "./codecs.js";
import { Downsampler, Upsampler } from "./resample.js";
import { isSrtpError, SrtpSession } from "./srtp.js";
import { BurstGapTracker, buildXrVoip, findXr, type VoipMetrics } from "./rtcp-xr.js";
import { buildVqSessionReport, remoteMetricsFromXr } from "./vq-report.js";
import { buildCryptoAttr, newCryptoAttr, parseCryptoAttr, SUPPORTED_SUITES, type CryptoAttr } from "./sdes.js";
import { buildRtp, dtmfPayload, DTMF_EVENTS, parseRtp } from "./rtp-packet.js";
import { JitterBuffer, type JitterStats } from "./jitter-buffer.js";
import { buildRtcp, parseRtcp, ReceiverStats, roundTripMs } from "./rtcp.js";
import { mosFromR, rFactor } from "./e-model.js";
import type { Timer } from "../base/clock.js";
import { answerDirection, buildSdp, parseSdp, type Direction, type RemoteSdp } from "./sdp.js";

/** Packet time: 20 ms (RFC 3551's default for G.711 and G.722). */
const FRAME_MS = 20;

export const DEFAULT_CODECS: CodecName[] = ["G722", "PCMU", "PCMA"];

export interface RtpSessionOptions {
  clock: Clock;
  log: Logger;
  router: AudioRouter;
  /** The address put in our SDP and bound (the SIP transport's local address). */
  localAddress: () => string;
  /** Codecs offered, in preference order (default: G.722, then G.711 μ-law and A-law). */
  codecs?: CodecName[];
  dtmfPt?: number;
  /** Mean RTCP report interval (ms; RFC 3550 §6.2 minimum 5 s; randomised 0.5-1.5x). */
  rtcpIntervalMs?: number;
  /**
   * SRTP policy: "required" offers only RTP/SAVP with an SDES key and refuses any plain-RTP offer or answer (the call
   * fails, with the reason); "off" (default) offers plain RTP and accepts an SRTP offer.
   */
  srtp?: "off" | "required";
}

/** What RTCP tells about the call's network. */
export interface RtcpStats {
  sent: number;
  received: number;
  /** Round-trip time from the far end's last report about us (ms), or null before one came. */
  rttMs: number | null;
  /** The fraction of our packets the far end says it lost lately (0..1). */
  remoteFractionLost: number | null;
  /** The far end's interarrival jitter for our stream (ms). */
  remoteJitterMs: number | null;
  /** Our own view of the far end's stream: lost packets and jitter (ms). */
  localLost: number;
  localJitterMs: number;
}

export class RtpSession {
  private sock: dgram.Socket | undefined;
  private rtcpSock: dgram.Socket | undefined;
  private port = 0;
  private rtcpTimer: Timer | undefined;
  private recv: ReceiverStats | undefined;
  private sentPackets = 0;
  private sentOctets = 0;
  private sentSinceReport = false;
  private readonly cname = `deskphone-${randomInt(1, 2 ** 31).toString(36)}@phone.invalid`;
  private readonly rtcp: RtcpStats = { sent: 0, received: 0, rttMs: null, remoteFractionLost: null, remoteJitterMs: null, localLost: 0, localJitterMs: 0 };
  private readonly sessionId = randomInt(1, 2 ** 31);
  private version = 0;
  private remote: RemoteSdp | undefined;
  private codec: { codec: CodecName; pt: number } | undefined;
  private stream: CodecStream | undefined;
  /** Between the codec's rate and the router's, when they differ (one per direction: each keeps filter state). */
  private toCodec: { process(pcm: Int16Array): Int16Array } | undefined;
  private fromCodec: { process(pcm: Int16Array): Int16Array } | undefined;
  private dtmfPt: number | null = null;
  private localDirection: Direction = "sendrecv";
  private seq = randomInt(0, 0xffff);
  private ts = randomInt(0, 2 ** 31);
  private readonly ssrc = randomInt(1, 2 ** 31);
  private unsubMic: Unsubscribe | undefined;
  private unsubSource: Unsubscribe | undefined;
  private jitter = new JitterBuffer({ frameSamples: 160, frameMs: 20 });
  private remoteSsrc: number | null = null;
  /** The first half of a frame that came as a 10 ms packet (ptime 10), waiting for its second half. */
  private half: { ts: number; pcm: Int16Array } | null = null;
  /** RFC 3611 burst/gap loss of the far end's stream, and the sequence number it expects next. */
  private burstGap = new BurstGapTracker(FRAME_MS);
  private highestSeq: number | null = null;
  /** What the far end last reported of our stream in an RTCP XR VoIP Metrics block. */
  private remoteXr: VoipMetrics | undefined;
  private maxDelayMs = 0;
  private startedAt: number | null = null;
  private stoppedAt: number | null = null;
  /** SRTP: our key (sent in our a=crypto, used to protect what we send) and the far end's (to check what it sends). */
  private localCrypto: CryptoAttr | undefined;
  private remoteKey: string | undefined;
  private srtpOut: SrtpSession | undefined;
  private srtpIn: SrtpSession | undefined;
  private dtmfBusy = false;
  private closed = false;
  remoteDirection: Direction = "sendrecv";
  /** Packets and bytes, for tests and the status page. */
  readonly stats = { sent: 0, received: 0, dtmfSent: 0, dtmfReceived: 0, badPackets: 0, srtpErrors: 0 };
  private lastDtmfTs: number | null = null;
  private readonly dtmfListeners = new Set<(digit: string) => void>();

  constructor(
    readonly tag: string,
    private readonly o: RtpSessionOptions,
  ) {}

  /** Binds RTP on an even port and RTCP on the next one (RFC 3550 §11). */
  private async bind(): Promise<void> {
    if (this.sock) return;
    const open = (port: number): Promise<dgram.Socket | null> =>
      new Promise((resolve) => {
        const s = dgram.createSocket("udp4");
        s.once("error", () => {
          s.close();
          resolve(null);
        });
        s.bind({ address: this.o.localAddress(), port }, () => resolve(s));
      });
    for (let attempt = 0; attempt < 40 && !this.sock; attempt++) {
      const even = 20000 + 2 * randomInt(0, 10000);
      const rtp = await open(even);
      if (!rtp) continue;
      const rtcp = await open(even + 1);
      if (!rtcp) {
        rtp.close();
        continue;
      }
      this.sock = rtp;
      this.rtcpSock = rtcp;
    }
    if (!this.sock || !this.rtcpSock) throw new Error("no free RTP/RTCP port pair");
    this.sock.on("message", (b, rinfo) => this.receive(b, rinfo.address, rinfo.port));
    this.sock.on("error", (e) => this.o.log.warn({ err: e.message, call: this.tag }, "RTP socket error"));
    this.rtcpSock.on("message", (b) => this.receiveRtcp(b));
    this.rtcpSock.on("error", (e) => this.o.log.warn({ err: e.message, call: this.tag }, "RTCP socket error"));
    this.port = this.sock.address().port;
  }

  private get offered(): CodecName[] {
    const all = this.o.codecs ?? DEFAULT_CODECS;
    // an emergency call offers G.711 first (RFC 6881 ED-72, standards §7 item 19): every PSAP takes it
    return this.emergency ? (["PCMU", "PCMA"] as CodecName[]).concat(all.filter((c) => c !== "PCMU" && c !== "PCMA")) : all;
  }

  /** Set by the first emergency offer: G.711 first and plain RTP for the whole call (re-INVITEs included). */
  private emergency = false;

  private local(direction: Direction, codecs: CodecName[], dtmfPt: number | null, crypto: CryptoAttr | undefined): string {
    this.version++;
    return buildSdp({ address: this.o.localAddress(), port: this.port, sessionId: this.sessionId, version: this.version, codecs, dtmfPt, direction, ...(crypto ? { crypto: [buildCryptoAttr(crypto)] } : {}) });
  }

  /** Our SDES key for this call (one per call, kept across re-INVITEs), with the tag it answers or offers under. */
  private ourCrypto(tag: number): CryptoAttr {
    this.localCrypto = this.localCrypto ? { ...this.localCrypto, tag } : newCryptoAttr(tag);
    return this.localCrypto;
  }

  /**
   * The far end's usable a=crypto line, or why there is none. A plain RTP/AVP stream is null; an SRTP one whose keys
   * we cannot use throws (answering it in the clear would not be what the far end asked for).
   */
  private remoteCrypto(r: RemoteSdp): CryptoAttr | null {
    const secure = r.profile.toUpperCase().includes("SAVP");
    if (!secure && !r.crypto.length) return null;
    const reasons: string[] = [];
    for (const line of r.crypto) {
      try {
        const a = parseCryptoAttr(line);
        if (SUPPORTED_SUITES.includes(a.suite)) return a;
        reasons.push(`suite ${a.suite}`);
      } catch (e) {
        reasons.push((e as Error).message);
      }
    }
    if (!secure) return null; // a=crypto on a plain RTP/AVP line is not SDES-SRTP (RFC 4568 §3.1.4); ignore it
    throw new Error(`SRTP: no usable key in the SDP (${reasons.join("; ") || "no a=crypto line"}; we support ${SUPPORTED_SUITES.join(", ")})`);
  }

  /** Keys both directions from our a=crypto and the far end's (RFC 4568 §6.1: each side's key protects what it sends). */
  private keySrtp(remote: CryptoAttr): void {
    if (!this.localCrypto) throw new Error("SRTP: no local key");
    const rk = Buffer.concat([remote.key, remote.salt]).toString("base64");
    if (!this.srtpOut) this.srtpOut = new SrtpSession({ key: this.localCrypto.key, salt: this.localCrypto.salt });
    if (rk !== this.remoteKey) {
      // a new key from the far end (first answer, or a re-INVITE that re-keyed): a new receive context
      this.srtpIn = new SrtpSession({ key: remote.key, salt: remote.salt });
      this.remoteKey = rk;
    }
  }

  /** Whether this call's media is encrypted (SRTP). */
  get secure(): boolean {
    return !!this.srtpOut && !!this.srtpIn;
  }

  async createOffer(opts: { hold: boolean; emergency?: boolean }): Promise<string> {
    await this.bind();
    if (opts.emergency) this.emergency = true;
    this.localDirection = opts.hold ? "sendonly" : "sendrecv";
    // an emergency call is never refused for want of SRTP (RFC 6881 §16: getting through beats protecting the data)
    const srtp = this.o.srtp === "required" && !this.emergency;
    return this.local(this.localDirection, this.offered, this.o.dtmfPt ?? 101, srtp ? this.ourCrypto(1) : undefined);
  }

  async setAnswer(sdp: string): Promise<void> {
    const r = parseSdp(sdp);
    const chosen = r.codecs.find((c) => this.offered.includes(c.codec));
    if (!chosen && r.port !== 0) throw new Error("the answer has no codec we offered");
    if (this.localCrypto && r.port !== 0) {
      // we offered SRTP only: an answer in the clear is refused, never used
      const rc = this.remoteCrypto(r);
      if (!rc) throw new Error("SRTP required: the far end answered with plain RTP");
      this.keySrtp(rc);
    }
    this.apply(r, chosen);
  }

  async acceptOffer(sdp: string, opts: { hold: boolean }): Promise<string> {
    const r = parseSdp(sdp);
    // the offerer's preference order decides (RFC 3264 §6.1), among the codecs we have
    const chosen = r.codecs.find((c) => this.offered.includes(c.codec));
    if (!chosen) throw new Error(`no common codec (offered: ${r.codecs.map((c) => c.codec).join(", ") || "none we know"})`);
    const rc = this.remoteCrypto(r);
    if (!rc && this.o.srtp === "required") throw new Error("SRTP required: the offer is plain RTP");
    await this.bind();
    let ours: CryptoAttr | undefined;
    if (rc) {
      ours = this.ourCrypto(rc.tag);
      this.keySrtp(rc);
    }
    this.localDirection = answerDirection(r.direction, opts.hold);
    this.apply(r, chosen);
    return this.local(this.localDirection, [chosen.codec], r.dtmfPt, ours);
  }

  private apply(r: RemoteSdp, chosen: { codec: CodecName; pt: number } | undefined): void {
    this.remote = r;
    this.remoteDirection = r.direction;
    if (chosen && chosen.codec !== this.codec?.codec) this.useCodec(chosen);
    else if (chosen) this.codec = chosen;
    this.dtmfPt = r.dtmfPt;
    this.unsubMic?.();
    this.unsubMic = undefined;
    // the microphone goes out only in a call both ways: a held party must not hear the user (we have no music on hold)
    if (this.sending() && this.localDirection === "sendrecv") this.unsubMic = this.o.router.onMic((frame) => this.sendAudio(frame), this.tag);
    if (r.port !== 0) this.armRtcp();
    if (r.port !== 0 && this.startedAt === null) this.startedAt = this.o.clock.wallNow();
    // the far end is heard unless we hold (sendonly/inactive on our side)
    const hearing = !this.closed && (this.localDirection === "sendrecv" || this.localDirection === "recvonly");
    if (hearing && !this.unsubSource) this.unsubSource = this.o.router.addSource(() => this.playout(), this.tag);
    if (!hearing) {
      this.unsubSource?.();
      this.unsubSource = undefined;
      this.jitter.reset();
    }
  }

  /** Opens the codec's encoder/decoder, converters to the router's rate, and a jitter buffer of its frame size. */
  private useCodec(chosen: { codec: CodecName; pt: number }): void {
    this.codec = chosen;
    this.stream = openCodec(chosen.codec);
    const rate = this.stream.info.sampleRate;
    const routerRate = this.o.router.rate;
    this.toCodec = rate === routerRate ? undefined : rate > routerRate ? new Upsampler() : new Downsampler();
    this.fromCodec = rate === routerRate ? undefined : rate > routerRate ? new Downsampler() : new Upsampler();
    this.jitter = new JitterBuffer({ frameSamples: (rate * FRAME_MS) / 1000, frameMs: FRAME_MS, tsPerFrame: (CODECS[chosen.codec].rtpClock * FRAME_MS) / 1000 });
  }

  /** One frame of the far end's audio at the router's rate (pulled once per period by the router). */
  private playout(): Int16Array {
    const pcm = this.jitter.pull();
    return this.fromCodec ? this.fromCodec.process(pcm) : pcm;
  }

  /** The jitter buffer's counters (late, duplicate, concealed...). */
  jitterStats(): JitterStats {
    return this.jitter.stats();
  }

  private sending(): boolean {
    const d = this.localDirection;
    const rd = this.remoteDirection;
    return !this.closed && (d === "sendrecv" || d === "sendonly") && (rd === "sendrecv" || rd === "recvonly") && !!this.remote && this.remote.port !== 0 && !!this.codec;
  }

  private send(payloadType: number, payload: Uint8Array, marker: boolean, timestamp: number): void {
    const r = this.remote;
    if (!this.sock || !r) return;
    const pkt = buildRtp({ payloadType, marker, sequence: this.seq, timestamp, ssrc: this.ssrc, payload });
    this.seq = (this.seq + 1) & 0xffff;
    this.sock.send(this.srtpOut ? this.srtpOut.protectRtp(pkt) : pkt, r.port, r.address);
    this.stats.sent++;
    this.sentPackets++;
    this.sentOctets += payload.length;
    this.sentSinceReport = true;
  }

  private sendAudio(frame: Int16Array): void {
    if (!this.codec || !this.stream) return;
    const ts = this.ts;
    // the RTP clock runs at 8 kHz for every codec we have (G.722 too), whatever the router's rate
    this.ts = (this.ts + (frame.length * this.stream.info.rtpClock) / this.o.router.rate) >>> 0;
    const pcm = this.toCodec ? this.toCodec.process(frame) : frame;
    if (this.dtmfBusy) return;
    const payload = this.stream.encode(pcm);
    if (this.remote?.ptime === 10) {
      // the far end asked for 10 ms packets (its a=ptime): the frame goes as two, each half of the payload (G.711 and
      // G.722 both code each sample on its own byte or half-pair, so a split at the middle is a split in time)
      const half = payload.length >> 1;
      const tsHalf = (frame.length * this.stream.info.rtpClock) / this.o.router.rate / 2;
      this.send(this.codec.pt, payload.subarray(0, half), false, ts);
      this.send(this.codec.pt, payload.subarray(half), false, (ts + tsHalf) >>> 0);
      return;
    }
    this.send(this.codec.pt, payload, false, ts);
  }

  private receive(wire: Buffer, _from: string, _port: number): void {
    if (wire.length >= 2 && wire[1] >= 200 && wire[1] <= 207) {
      this.receiveRtcp(wire); // RTCP multiplexed on the RTP port (RFC 5761)
      return;
    }
    let b = wire;
    if (this.srtpIn) {
      const plain = this.srtpIn.unprotectRtp(wire);
      if (isSrtpError(plain)) {
        // a wrong key, a forged or replayed packet: dropped and counted, never played
        this.stats.srtpErrors++;
        if (this.stats.srtpErrors === 1 || this.stats.srtpErrors % 500 === 0) this.o.log.warn({ call: this.tag, reason: plain.reason, count: this.stats.srtpErrors }, "SRTP packet rejected");
        return;
      }
      b = plain;
    } else if (this.localCrypto) return; // SRTP is required and not keyed yet: nothing plain is played
    const p = parseRtp(b);
    if (!p) {
      this.stats.badPackets++;
      return;
    }
    this.stats.received++;
    if (!this.recv || this.recv.ssrc !== p.ssrc) this.recv = new ReceiverStats(p.ssrc, 8000);
    this.recv.packet(p.sequence, p.timestamp, this.o.clock.now());
    if (this.dtmfPt !== null && p.payloadType === this.dtmfPt) {
      this.receiveDtmf(p.timestamp, p.payload);
      return;
    }
    if (!this.codec || !this.stream || p.payloadType !== this.codec.pt) return;
    const local = this.localDirection;
    if (local === "sendonly" || local === "inactive") return; // we hold: the far end is not heard
    if (this.remoteSsrc !== p.ssrc) {
      // a new source (first packet, or the far end restarted its stream): its timestamps start elsewhere
      if (this.remoteSsrc !== null) this.jitter.reset();
      this.remoteSsrc = p.ssrc;
      this.highestSeq = null;
    }
    this.trackLoss(p.sequence);
    const pcm = this.stream.decode(p.payload);
    const frameSamples = (this.stream.info.sampleRate * FRAME_MS) / 1000;
    if (pcm.length < frameSamples) {
      // a 10 ms packet: two adjacent ones make a frame; a half whose neighbour was lost is dropped (and concealed)
      const tsPerSample = this.stream.info.rtpClock / this.stream.info.sampleRate;
      const h = this.half;
      if (h && ((p.timestamp - h.ts) >>> 0) === h.pcm.length * tsPerSample && h.pcm.length + pcm.length === frameSamples) {
        const whole = new Int16Array(frameSamples);
        whole.set(h.pcm);
        whole.set(pcm, h.pcm.length);
        this.half = null;
        this.jitter.push(h.ts, whole);
        return;
      }
      this.half = { ts: p.timestamp, pcm };
      return;
    }
    this.jitter.push(p.timestamp, pcm);
  }

  /** Feeds the burst/gap tracker: the packets missing before this one were lost (a late one is not counted twice). */
  private trackLoss(seq: number): void {
    if (this.highestSeq === null) {
      this.highestSeq = seq;
      this.burstGap.packet(true);
      return;
    }
    const delta = (seq - this.highestSeq) & 0xffff;
    if (delta === 0 || delta >= 0x8000) return; // a duplicate, or an old packet arriving late
    for (let i = 1; i < Math.min(delta, 3000); i++) this.burstGap.packet(false);
    this.burstGap.packet(true);
    this.highestSeq = seq;
  }

  /** RFC 4733 receive: one digit per event (its RTP timestamp), reported on its first packet; end retransmits ignored. */
  private receiveDtmf(timestamp: number, payload: Uint8Array): void {
    if (payload.length < 4 || timestamp === this.lastDtmfTs) return;
    this.lastDtmfTs = timestamp;
    const digit = Object.keys(DTMF_EVENTS).find((k) => DTMF_EVENTS[k] === payload[0]);
    if (!digit) return;
    this.stats.dtmfReceived++;
    for (const cb of this.dtmfListeners) cb(digit);
  }

  /** Digits the far end sends as telephone-events. */
  onDtmf(cb: (digit: string) => void): () => void {
    this.dtmfListeners.add(cb);
    return () => this.dtmfListeners.delete(cb);
  }

  /** Our measurements of the far end's stream as an RFC 3611 VoIP Metrics block (also the report's LocalMetrics). */
  private voipMetrics(): VoipMetrics {
    const lost = this.recv?.lost() ?? 0;
    const received = this.stats.received;
    const js = this.jitter.stats();
    this.maxDelayMs = Math.max(this.maxDelayMs, js.delayMs);
    const bg = this.burstGap.densities();
    const rtt = this.rtcp.rttMs ?? 0;
    const lossRate = lost + received > 0 ? lost / (lost + received) : 0;
    const endSystemDelayMs = js.delayMs + 2 * FRAME_MS; // jitter buffer, packetisation, playout period
    // the narrowband E-model for every codec (G.722 rated as G.711 would be: a conservative estimate)
    const r = rFactor({ oneWayDelayMs: rtt / 2 + endSystemDelayMs, lossPercent: 100 * lossRate });
    const rLq = rFactor({ oneWayDelayMs: 0, lossPercent: 100 * lossRate });
    return {
      ssrc: this.recv?.ssrc ?? 0,
      lossRate,
      discardRate: received > 0 ? Math.min(1, (js.late + js.dropped) / received) : 0,
      ...bg,
      roundTripDelayMs: Math.round(rtt),
      endSystemDelayMs,
      signalLevelDbm: NaN,
      noiseLevelDbm: NaN,
      rerl: NaN,
      gmin: this.burstGap.gmin,
      rFactor: Math.round(r),
      extRFactor: NaN,
      mosLq: Math.round(10 * mosFromR(rLq)) / 10,
      mosCq: Math.round(10 * mosFromR(r)) / 10,
      rxConfig: { plc: "standard", jitterBufferAdaptive: true, jitterBufferRate: 0 },
      jbNominalMs: js.targetMs,
      jbMaximumMs: this.maxDelayMs,
      jbAbsMaxMs: 300,
    };
  }

  /**
   * The end-of-call quality report (RFC 6035 "VQSessionReport: CallTerm", application/vq-rtcpxr) for the SIP layer to
   * PUBLISH to a collector; null when no media ever flowed. The SIP identifiers come from the caller.
   */
  qualityReport(ids: { callId: string; localId: string; remoteId: string; origId?: string }): string | null {
    const r = this.remote;
    if (!r || !this.codec || this.startedAt === null) return null;
    const m = this.voipMetrics();
    const info = CODECS[this.codec.codec];
    const rtt = this.rtcp.rttMs ?? 0;
    return buildVqSessionReport({
      ...ids,
      start: new Date(this.startedAt),
      stop: new Date(this.stoppedAt ?? this.o.clock.wallNow()),
      local: { addr: this.o.localAddress(), port: this.port, ssrc: this.ssrc },
      remote: { addr: r.address, port: r.port, ssrc: this.recv?.ssrc ?? 0 },
      codec: { pt: this.codec.pt, name: this.codec.codec, clockRate: info.sampleRate, frameMs: FRAME_MS, framesPerPacket: 1, plc: "standard", silenceSuppression: false },
      jitterBuffer: { adaptive: true, rate: 0, nominalMs: m.jbNominalMs, maxMs: m.jbMaximumMs, absMaxMs: m.jbAbsMaxMs },
      loss: { networkLossRate: m.lossRate, jbDiscardRate: m.discardRate },
      burstGap: { burstDensity: m.burstDensity, burstDurationMs: m.burstDurationMs, gapDensity: m.gapDensity, gapDurationMs: m.gapDurationMs, gmin: m.gmin },
      delay: { roundTripMs: m.roundTripDelayMs, endSystemMs: m.endSystemDelayMs, oneWayMs: Math.round(rtt / 2 + m.endSystemDelayMs), symmOneWayMs: Math.round(rtt / 2 + m.endSystemDelayMs), interArrivalJitterMs: Math.round((this.recv?.jitter ?? 0) / 8) },
      quality: { rCq: m.rFactor, mosLq: m.mosLq, mosCq: m.mosCq, estimator: "G.107" },
      ...(this.remoteXr ? { remoteMetrics: remoteMetricsFromXr(this.remoteXr) } : {}),
    });
  }

  private receiveRtcp(wire: Buffer): void {
    let b = wire;
    if (this.srtpIn) {
      const plain = this.srtpIn.unprotectRtcp(wire);
      if (isSrtpError(plain)) {
        this.stats.srtpErrors++;
        return;
      }
      b = plain;
    } else if (this.localCrypto) return;
    for (const x of findXr(b)) for (const v of x.voip) if (v.ssrc === this.ssrc) this.remoteXr = v;
    for (const r of parseRtcp(b)) {
      this.rtcp.received++;
      if (r.sender && this.recv && r.ssrc === this.recv.ssrc) this.recv.senderReport(r.sender.ntpMs, this.o.clock.now());
      for (const blk of r.reports) {
        if (blk.ssrc !== this.ssrc) continue;
        this.rtcp.rttMs = roundTripMs(blk, this.o.clock.wallNow());
        this.rtcp.remoteFractionLost = blk.fractionLost;
        this.rtcp.remoteJitterMs = blk.jitter / 8;
      }
    }
  }

  /** Sends an SR (we sent since the last one) or an RR, with our report on the far end's stream. */
  private sendRtcp(): void {
    const r = this.remote;
    if (!this.rtcpSock || !r || r.port === 0 || this.closed) return;
    const blocks = this.recv ? [this.recv.report(this.o.clock.now())] : [];
    const sender = this.sentSinceReport ? { ntpMs: this.o.clock.wallNow(), rtpTimestamp: this.ts, packets: this.sentPackets, octets: this.sentOctets } : undefined;
    this.sentSinceReport = false;
    // the compound packet carries our VoIP metrics of the far end's stream (RFC 3611 XR) after the SR/RR and SDES
    const base = buildRtcp(this.ssrc, this.cname, blocks, sender);
    const pkt = this.recv ? Buffer.concat([base, buildXrVoip(this.ssrc, this.voipMetrics())]) : base;
    (r.rtcpMux ? this.sock : this.rtcpSock)?.send(this.srtpOut ? this.srtpOut.protectRtcp(pkt) : pkt, r.rtcpPort, r.address);
    this.rtcp.sent++;
  }

  private armRtcp(): void {
    if (this.rtcpTimer || this.closed) return;
    const mean = this.o.rtcpIntervalMs ?? 5000;
    const next = (): void => {
      this.rtcpTimer = this.o.clock.setTimeout(() => {
        this.sendRtcp();
        next();
      }, mean * (0.5 + Math.random()));
    };
    next();
  }

  private qualityMark = { lost: 0, received: 0 };

  /**
   * Call quality since the last call (the E-model's MOS): loss is the worse of what we saw since then and what the far
   * end last reported; delay is half the round trip plus the jitter buffer and one packet.
   */
  quality(): { mos: number; lossPercent: number; delayMs: number } {
    const lost = this.recv?.lost() ?? 0;
    const received = this.stats.received;
    const dl = Math.max(0, lost - this.qualityMark.lost);
    const dr = Math.max(0, received - this.qualityMark.received);
    this.qualityMark = { lost, received };
    const localPct = dl + dr > 0 ? (100 * dl) / (dl + dr) : 0;
    const lossPercent = Math.max(localPct, 100 * (this.rtcp.remoteFractionLost ?? 0));
    const delayMs = (this.rtcp.rttMs ?? 0) / 2 + this.jitter.stats().targetMs + 20;
    return { mos: mosFromR(rFactor({ oneWayDelayMs: delayMs, lossPercent })), lossPercent, delayMs };
  }

  /** What a status page or a test rig reads of this call's media: codec, packet counts, jitter buffer, RTCP. */
  mediaStats(): { call: string; codec: CodecName | null; srtp: boolean; packets: RtpSession["stats"]; jitter: JitterStats; rtcp: RtcpStats } {
    return { call: this.tag, codec: this.codec?.codec ?? null, srtp: this.secure, packets: { ...this.stats }, jitter: this.jitter.stats(), rtcp: this.rtcpStats() };
  }

  /** RTCP's picture of the call's network. */
  rtcpStats(): RtcpStats {
    return { ...this.rtcp, localLost: this.recv?.lost() ?? 0, localJitterMs: (this.recv?.jitter ?? 0) / 8 };
  }

  sendDtmf(digit: string, durationMs: number): boolean {
    const ev = DTMF_EVENTS[digit.toUpperCase()];
    if (this.dtmfPt === null || ev === undefined || !this.sock || !this.remote) return false;
    const pt = this.dtmfPt;
    const ts = this.ts;
    const total = Math.max(40, durationMs) * 8;
    this.dtmfBusy = true;
    this.stats.dtmfSent++;
    let dur = 0;
    const step = (): void => {
      dur = Math.min(total, dur + 160);
      const end = dur >= total;
      if (!end) {
        this.send(pt, dtmfPayload(ev, false, 10, dur), dur === 160, ts);
        this.o.clock.setTimeout(step, 20);
        return;
      }
      // the end packet goes three times (RFC 4733 §2.5.1.4)
      for (let i = 0; i < 3; i++) this.send(pt, dtmfPayload(ev, true, 10, dur), false, ts);
      this.ts = (ts + dur) >>> 0;
      this.dtmfBusy = false;
    };
    step();
    return true;
  }

  get localPort(): number {
    return this.port;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stoppedAt = this.o.clock.wallNow();
    this.rtcpTimer?.cancel();
    this.rtcpSock?.close();
    this.rtcpSock = undefined;
    this.unsubSource?.();
    this.unsubMic?.();
    this.sock?.close();
    this.sock = undefined;
  }
}

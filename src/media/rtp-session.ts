// One call's media: an RTP socket, the SDP offer/answer for it, G.711 both ways between the socket and the audio
// router, and RFC 4733 DTMF. Implements SIP's media port session by shape (media/ does not import sip/).
import * as dgram from "node:dgram";
import { randomInt } from "node:crypto";
import type { Clock } from "../base/clock.js";
import type { Logger } from "../base/log.js";
import type { Unsubscribe } from "../hal/api/events.js";
import type { AudioRouter } from "./audio-router.js";
import { decodeG711, encodeG711, type G711Codec } from "./g711.js";
import { buildRtp, dtmfPayload, DTMF_EVENTS, parseRtp } from "./rtp-packet.js";
import { JitterBuffer, type JitterStats } from "./jitter-buffer.js";
import { buildRtcp, parseRtcp, ReceiverStats, roundTripMs } from "./rtcp.js";
import { mosFromR, rFactor } from "./e-model.js";
import type { Timer } from "../base/clock.js";
import { answerDirection, buildSdp, parseSdp, type Direction, type RemoteSdp } from "./sdp.js";

export interface RtpSessionOptions {
  clock: Clock;
  log: Logger;
  router: AudioRouter;
  /** The address put in our SDP and bound (the SIP transport's local address). */
  localAddress: () => string;
  /** Codecs offered, in preference order. */
  codecs?: G711Codec[];
  dtmfPt?: number;
  /** Mean RTCP report interval (ms; RFC 3550 §6.2 minimum 5 s; randomised 0.5-1.5x). */
  rtcpIntervalMs?: number;
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
  private codec: { codec: G711Codec; pt: number } | undefined;
  private dtmfPt: number | null = null;
  private localDirection: Direction = "sendrecv";
  private seq = randomInt(0, 0xffff);
  private ts = randomInt(0, 2 ** 31);
  private readonly ssrc = randomInt(1, 2 ** 31);
  private unsubMic: Unsubscribe | undefined;
  private unsubSource: Unsubscribe | undefined;
  private readonly jitter = new JitterBuffer({ frameSamples: 160, frameMs: 20 });
  private remoteSsrc: number | null = null;
  private dtmfBusy = false;
  private closed = false;
  remoteDirection: Direction = "sendrecv";
  /** Packets and bytes, for tests and the status page. */
  readonly stats = { sent: 0, received: 0, dtmfSent: 0, dtmfReceived: 0, badPackets: 0 };
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

  private local(direction: Direction, codecs: G711Codec[], dtmfPt: number | null): string {
    this.version++;
    return buildSdp({ address: this.o.localAddress(), port: this.port, sessionId: this.sessionId, version: this.version, codecs, dtmfPt, direction });
  }

  async createOffer(opts: { hold: boolean }): Promise<string> {
    await this.bind();
    this.localDirection = opts.hold ? "sendonly" : "sendrecv";
    return this.local(this.localDirection, this.o.codecs ?? ["PCMU", "PCMA"], this.o.dtmfPt ?? 101);
  }

  async setAnswer(sdp: string): Promise<void> {
    const r = parseSdp(sdp);
    const chosen = r.codecs.find((c) => (this.o.codecs ?? ["PCMU", "PCMA"]).includes(c.codec));
    if (!chosen && r.port !== 0) throw new Error("the answer has no codec we offered");
    this.apply(r, chosen);
  }

  async acceptOffer(sdp: string, opts: { hold: boolean }): Promise<string> {
    const r = parseSdp(sdp);
    const ours = this.o.codecs ?? ["PCMU", "PCMA"];
    const chosen = r.codecs.find((c) => ours.includes(c.codec));
    if (!chosen) throw new Error(`no common codec (offered: ${r.codecs.map((c) => c.codec).join(", ") || "none we know"})`);
    await this.bind();
    this.localDirection = answerDirection(r.direction, opts.hold);
    this.apply(r, chosen);
    return this.local(this.localDirection, [chosen.codec], r.dtmfPt);
  }

  private apply(r: RemoteSdp, chosen: { codec: G711Codec; pt: number } | undefined): void {
    this.remote = r;
    this.remoteDirection = r.direction;
    if (chosen) this.codec = chosen;
    this.dtmfPt = r.dtmfPt;
    this.unsubMic?.();
    this.unsubMic = undefined;
    if (this.sending()) this.unsubMic = this.o.router.onMic((frame) => this.sendAudio(frame));
    if (r.port !== 0) this.armRtcp();
    // the far end is heard unless we hold (sendonly/inactive on our side)
    const hearing = !this.closed && (this.localDirection === "sendrecv" || this.localDirection === "recvonly");
    if (hearing && !this.unsubSource) this.unsubSource = this.o.router.addSource(() => this.jitter.pull());
    if (!hearing) {
      this.unsubSource?.();
      this.unsubSource = undefined;
      this.jitter.reset();
    }
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
    this.sock.send(pkt, r.port, r.address);
    this.stats.sent++;
    this.sentPackets++;
    this.sentOctets += payload.length;
    this.sentSinceReport = true;
  }

  private sendAudio(frame: Int16Array): void {
    if (!this.codec) return;
    const ts = this.ts;
    this.ts = (this.ts + frame.length) >>> 0;
    if (this.dtmfBusy) return;
    this.send(this.codec.pt, encodeG711(this.codec.codec, frame), false, ts);
  }

  private receive(b: Buffer, _from: string, _port: number): void {
    if (b.length >= 2 && b[1] >= 200 && b[1] <= 204) {
      this.receiveRtcp(b); // RTCP multiplexed on the RTP port (RFC 5761)
      return;
    }
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
    if (!this.codec || p.payloadType !== this.codec.pt) return;
    const local = this.localDirection;
    if (local === "sendonly" || local === "inactive") return; // we hold: the far end is not heard
    if (this.remoteSsrc !== p.ssrc) {
      // a new source (first packet, or the far end restarted its stream): its timestamps start elsewhere
      if (this.remoteSsrc !== null) this.jitter.reset();
      this.remoteSsrc = p.ssrc;
    }
    this.jitter.push(p.timestamp, decodeG711(this.codec.codec, p.payload));
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

  private receiveRtcp(b: Buffer): void {
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
    const pkt = buildRtcp(this.ssrc, this.cname, blocks, sender);
    (r.rtcpMux ? this.sock : this.rtcpSock)?.send(pkt, r.rtcpPort, r.address);
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
    this.rtcpTimer?.cancel();
    this.rtcpSock?.close();
    this.rtcpSock = undefined;
    this.unsubSource?.();
    this.unsubMic?.();
    this.sock?.close();
    this.sock = undefined;
  }
}

// SDP for plain RTP audio (RFC 4566, offer/answer per RFC 3264), through sdp-transform rather than by hand:
// G.722 (9), G.711 (PCMU 0, PCMA 8) and RFC 4733 telephone-event, ptime 20, the direction attribute used for hold,
// and for SRTP the RTP/SAVP profile with SDES keys (RFC 4568 a=crypto lines, carried here as text).
import * as sdpt from "sdp-transform";
import { CODECS, codecByRtpmap, type CodecName } from "./codecs.js";

export type Direction = "sendrecv" | "sendonly" | "recvonly" | "inactive";

export interface LocalSdp {
  address: string;
  port: number;
  sessionId: number;
  version: number;
  /** Codecs in preference order; for an answer, the one chosen. */
  codecs: CodecName[];
  /** The telephone-event payload type, or null when not offered/accepted. */
  dtmfPt: number | null;
  direction: Direction;
  /** SRTP: the a=crypto values (RFC 4568) offered or the one answered; the m-line then says RTP/SAVP. */
  crypto?: string[];
}

export interface RemoteSdp {
  address: string;
  port: number;
  /** Payload types of the audio m-line mapped to what they are, in the remote's order. */
  codecs: Array<{ pt: number; codec: CodecName }>;
  dtmfPt: number | null;
  direction: Direction;
  /** Where the far end wants RTCP: its a=rtcp port, else RTP port + 1. */
  rtcpPort: number;
  /** The far end multiplexes RTCP on the RTP port (RFC 5761 a=rtcp-mux). */
  rtcpMux: boolean;
  /** The m-line's profile: RTP/AVP (plain) or RTP/SAVP (SRTP). */
  profile: string;
  /** The a=crypto values of the audio stream (RFC 4568), in the remote's order. */
  crypto: string[];
  /** The packet time the far end asks for (a=ptime), or null. */
  ptime: number | null;
}

export function buildSdp(l: LocalSdp): string {
  const pts: number[] = l.codecs.map((c) => CODECS[c].pt);
  const rtp: Array<{ payload: number; codec: string; rate: number }> = l.codecs.map((c) => ({ payload: CODECS[c].pt, codec: c, rate: CODECS[c].rtpClock }));
  const fmtp: Array<{ payload: number; config: string }> = [];
  if (l.dtmfPt !== null) {
    pts.push(l.dtmfPt);
    rtp.push({ payload: l.dtmfPt, codec: "telephone-event", rate: 8000 });
    fmtp.push({ payload: l.dtmfPt, config: "0-16" });
  }
  const session: sdpt.SessionDescription = {
    version: 0,
    origin: { username: "deskphone", sessionId: l.sessionId, sessionVersion: l.version, netType: "IN", ipVer: 4, address: l.address },
    name: "deskphone",
    connection: { version: 4, ip: l.address },
    timing: { start: 0, stop: 0 },
    media: [
      {
        type: "audio",
        port: l.port,
        protocol: l.crypto?.length ? "RTP/SAVP" : "RTP/AVP",
        payloads: pts.join(" "),
        rtp,
        fmtp,
        ptime: 20,
        direction: l.direction,
        ...(l.crypto?.length ? { crypto: l.crypto.map((c) => parseCryptoLine(c)) } : {}),
      },
    ],
  };
  return sdpt.write(session);
}

/** Parses the first audio m-line; throws with a plain reason when there is none we can use. */
export function parseSdp(text: string): RemoteSdp {
  let s: sdpt.SessionDescription;
  try {
    s = sdpt.parse(text);
  } catch (e) {
    throw new Error(`unreadable SDP: ${(e as Error).message}`);
  }
  const m = s.media?.find((x) => x.type === "audio");
  if (!m) throw new Error("the SDP has no audio stream");
  const address = m.connection?.ip ?? s.connection?.ip;
  if (!address) throw new Error("the SDP has no connection address");
  const pts = String(m.payloads ?? "").split(/\s+/).filter(Boolean).map(Number);
  const names = new Map<number, string>();
  for (const r of m.rtp ?? []) names.set(r.payload, `${r.codec}/${r.rate ?? 8000}`.toUpperCase());
  const codecs: RemoteSdp["codecs"] = [];
  let dtmfPt: number | null = null;
  for (const pt of pts) {
    const n = names.get(pt) ?? (pt === 0 ? "PCMU/8000" : pt === 8 ? "PCMA/8000" : pt === 9 ? "G722/8000" : "");
    const codec = codecByRtpmap(n);
    if (codec) codecs.push({ pt, codec });
    else if (n === "TELEPHONE-EVENT/8000" && dtmfPt === null) dtmfPt = pt;
  }
  const dir = (m.direction ?? s.direction ?? "sendrecv") as Direction;
  const rtcpMux = m.rtcpMux !== undefined;
  const crypto = (m.crypto ?? []).map((c) => `${c.id} ${c.suite} ${c.config}${c.sessionConfig ? ` ${c.sessionConfig}` : ""}`);
  const ptime = m.ptime !== undefined ? Number(m.ptime) : null;
  return { address, port: m.port, codecs, dtmfPt, direction: m.port === 0 ? "inactive" : dir, rtcpMux, rtcpPort: rtcpMux ? m.port : (m.rtcp?.port ?? m.port + 1), profile: m.protocol, crypto, ptime };
}

/** An a=crypto value ("tag suite key-params [session-params]") in sdp-transform's shape. */
function parseCryptoLine(v: string): { id: number; suite: string; config: string; sessionConfig?: string } {
  const [id, suite, config, ...rest] = v.trim().split(/\s+/);
  return { id: Number(id), suite, config, ...(rest.length ? { sessionConfig: rest.join(" ") } : {}) };
}

/** The direction we answer with, given the offer's and whether we hold (RFC 3264 §6.1). */
export function answerDirection(offered: Direction, hold: boolean): Direction {
  if (offered === "inactive") return "inactive";
  if (offered === "sendonly") return hold ? "inactive" : "recvonly";
  if (offered === "recvonly") return hold ? "inactive" : "sendonly";
  return hold ? "sendonly" : "sendrecv";
}

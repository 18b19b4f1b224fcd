// The SIP voice-quality report body of RFC 6035 (application/vq-rtcpxr, event package vq-rtcpxr): the end-of-call
// "VQSessionReport: CallTerm" with its SessionInfo lines and LocalMetrics / RemoteMetrics sets, in the order and syntax
// of the ABNF (§4.6.1) and the worked example (§4.7), with units per §4.6.2 (percentages for NLR/JDR/BLD/GLD, ms for
// delays, MOS to one decimal, SSRC in hex); plus a tolerant parser for a collector or a test. Pure text, no SIP.

import type { PlcMode, VoipMetrics } from "./rtcp-xr.js";

export interface CodecDesc {
  /** RTP payload type. */
  pt: number;
  /** Payload description, e.g. "PCMU" (PD). */
  name: string;
  /** Sample rate, Hz (SR). */
  clockRate: number;
  /** Frame duration, ms (FD). */
  frameMs: number;
  /** Frames per RTP packet (FPP); with it the packet rate (PPS) is written too. */
  framesPerPacket?: number;
  /** Packet loss concealment (PLC=0..3); written as 0 (unspecified) when absent. */
  plc?: PlcMode;
  /** Silence suppression (SSUP=on/off); left out when absent. */
  silenceSuppression?: boolean;
}

export interface JitterBufferDesc {
  /** JBA: 3 adaptive, 2 fixed. */
  adaptive: boolean;
  /** JBR: the implementation's adjustment rate, 0..15 (RFC 3611 §4.7.6) - not a time. */
  rate?: number;
  /** JBN: nominal delay, ms. */
  nominalMs: number;
  /** JBM: current maximum delay, ms. */
  maxMs: number;
  /** JBX: absolute maximum delay, ms. */
  absMaxMs: number;
}

export interface LossDesc {
  /** NLR, as a fraction 0..1 (written as a percentage). */
  networkLossRate: number;
  /** JDR: packets discarded by the jitter buffer, fraction 0..1. */
  jbDiscardRate: number;
}

export interface BurstGapDesc {
  /** BLD, fraction 0..1. */
  burstDensity: number;
  /** BD, ms. */
  burstDurationMs: number;
  /** GLD, fraction 0..1. */
  gapDensity: number;
  /** GD, ms. */
  gapDurationMs: number;
  /** GMIN. */
  gmin: number;
}

export interface DelayDesc {
  /** RTD, ms. */
  roundTripMs: number;
  /** ESD, ms. */
  endSystemMs: number;
  /** OWD, ms. */
  oneWayMs: number;
  /** SOWD, ms. */
  symmOneWayMs: number;
  /** IAJ, ms. */
  interArrivalJitterMs: number;
  /** MAJ, ms. */
  meanAbsJitterMs?: number;
}

export interface QualityDesc {
  /** RLQ: listening-quality R. */
  rLq?: number;
  /** RCQ: conversational-quality R (what an RFC 3611 R factor is). */
  rCq?: number;
  /** EXTRI: R of the segment beyond this end (RFC 3611 external R factor). */
  extRIn?: number;
  /** MOSLQ, 1.0..5.0. */
  mosLq: number;
  /** MOSCQ, 1.0..5.0. */
  mosCq: number;
  /** QoEEstAlg: the estimator, e.g. "G.107". */
  estimator?: string;
}

export interface SignalDesc {
  /** SL, dBm0. */
  levelDbm?: number;
  /** NL, dBm0. */
  noiseDbm?: number;
  /** RERL, dB. */
  rerlDb?: number;
}

export interface RtpEndpoint {
  addr: string;
  port: number;
  ssrc: number;
}

/** The metric sets a report carries for one direction. */
export interface QualityMetrics {
  codec: CodecDesc;
  jitterBuffer: JitterBufferDesc;
  loss: LossDesc;
  burstGap: BurstGapDesc;
  delay: DelayDesc;
  quality: QualityDesc;
  signal?: SignalDesc;
}

/**
 * What the far end measured of our stream (from its RTCP XR VoIP Metrics block): any subset. Its SessionDesc falls
 * back to our codec and its Timestamps are the session's.
 */
export type RemoteQualityMetrics = { [K in keyof QualityMetrics]?: Partial<QualityMetrics[K]> };

export interface CallQualityReport extends QualityMetrics {
  /** The SIP Call-ID. */
  callId: string;
  /** Our From URI (name-addr or addr-spec). */
  localId: string;
  /** The far end's (To) URI. */
  remoteId: string;
  /** Who originated the session; the ABNF requires the line, so it defaults to `localId` (right for a call we placed). */
  origId?: string;
  /** DialogID line (Call-ID;to-tag=..;from-tag=..), written last when given. */
  dialogId?: string;
  start: Date;
  stop: Date;
  local: RtpEndpoint;
  remote: RtpEndpoint;
  remoteMetrics?: RemoteQualityMetrics;
}

export const VQ_CONTENT_TYPE = "application/vq-rtcpxr";
export const VQ_EVENT_PACKAGE = "vq-rtcpxr";

const CRLF = "\r\n";
const PLC_CODE: Record<PlcMode, number> = { unspecified: 0, disabled: 1, enhanced: 2, standard: 3 };
const JBA_ADAPTIVE = 3;
const JBA_NON_ADAPTIVE = 2;
const SESSION_LINES = new Set(["CallID", "LocalID", "RemoteID", "OrigID", "LocalGroup", "RemoteGroup", "LocalAddr", "LocalMAC", "RemoteAddr", "RemoteMAC", "DialogID"]);

type Param = [key: string, value: string | number | undefined];

const finite = (v: number | undefined): v is number => typeof v === "number" && Number.isFinite(v);
const int = (v: number | undefined): number | undefined => (finite(v) ? Math.round(v) : undefined);
const percent = (f: number | undefined): string | undefined => (finite(f) ? (f * 100).toFixed(1) : undefined);
const mos = (v: number | undefined): string | undefined => (finite(v) ? v.toFixed(1) : undefined);

/** RFC 3339 date-time in UTC, whole seconds, 'Z' (§4.6.1 allows no other zone). */
export function vqTimestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function ssrcHex(ssrc: number): string {
  return "0x" + (ssrc >>> 0).toString(16).padStart(8, "0");
}

/** `Name:K=V K=V` with the absent values left out; no line at all when every value is absent. */
function metricLine(name: string, params: Param[]): string[] {
  const kv = params.filter((p): p is [string, string | number] => p[1] !== undefined).map(([k, v]) => `${k}=${v}`);
  return kv.length ? [`${name}:${kv.join(" ")}`] : [];
}

function metrics(r: CallQualityReport, m: RemoteQualityMetrics): string[] {
  const codec = { ...r.codec, ...m.codec };
  const fpp = int(codec.framesPerPacket);
  const pps = fpp && codec.frameMs ? Math.round(1000 / (codec.frameMs * fpp)) : undefined;
  const jb = m.jitterBuffer;
  const loss = m.loss;
  const bg = m.burstGap;
  const d = m.delay;
  const q = m.quality;
  const s = m.signal;
  const jba = jb?.adaptive === undefined ? undefined : jb.adaptive ? JBA_ADAPTIVE : JBA_NON_ADAPTIVE;
  return [
    `Timestamps:START=${vqTimestamp(r.start)} STOP=${vqTimestamp(r.stop)}`,
    ...metricLine("SessionDesc", [
      ["PT", int(codec.pt)],
      ["PD", codec.name],
      ["SR", int(codec.clockRate)],
      ["FD", int(codec.frameMs)],
      ["FPP", fpp],
      ["PPS", pps],
      ["PLC", PLC_CODE[codec.plc ?? "unspecified"]],
      ["SSUP", codec.silenceSuppression === undefined ? undefined : codec.silenceSuppression ? "on" : "off"],
    ]),
    ...metricLine("JitterBuffer", [
      ["JBA", jba],
      ["JBR", int(jb?.rate)],
      ["JBN", int(jb?.nominalMs)],
      ["JBM", int(jb?.maxMs)],
      ["JBX", int(jb?.absMaxMs)],
    ]),
    ...metricLine("PacketLoss", [
      ["NLR", percent(loss?.networkLossRate)],
      ["JDR", percent(loss?.jbDiscardRate)],
    ]),
    ...metricLine("BurstGapLoss", [
      ["BLD", percent(bg?.burstDensity)],
      ["BD", int(bg?.burstDurationMs)],
      ["GLD", percent(bg?.gapDensity)],
      ["GD", int(bg?.gapDurationMs)],
      ["GMIN", int(bg?.gmin)],
    ]),
    ...metricLine("Delay", [
      ["RTD", int(d?.roundTripMs)],
      ["ESD", int(d?.endSystemMs)],
      ["OWD", int(d?.oneWayMs)],
      ["SOWD", int(d?.symmOneWayMs)],
      ["IAJ", int(d?.interArrivalJitterMs)],
      ["MAJ", int(d?.meanAbsJitterMs)],
    ]),
    ...metricLine("Signal", [
      ["SL", int(s?.levelDbm)],
      ["NL", int(s?.noiseDbm)],
      ["RERL", int(s?.rerlDb)],
    ]),
    ...metricLine("QualityEst", [
      ["RLQ", int(q?.rLq)],
      ["RCQ", int(q?.rCq)],
      ["EXTRI", int(q?.extRIn)],
      ["MOSLQ", mos(q?.mosLq)],
      ["MOSCQ", mos(q?.mosCq)],
      ["QoEEstAlg", q?.estimator],
    ]),
  ];
}

function addrLine(e: RtpEndpoint): string {
  return `IP=${e.addr} PORT=${Math.round(e.port)} SSRC=${ssrcHex(e.ssrc)}`;
}

/**
 * The body of an end-of-call report: `VQSessionReport: CallTerm`, SessionInfo (CallID, LocalID, RemoteID, OrigID,
 * LocalAddr, RemoteAddr), `LocalMetrics:` and its lines, `RemoteMetrics:` when the far end reported, then DialogID.
 * Every line ends in CRLF. Optional values that are absent (or NaN) are left out, as the ABNF allows.
 */
export function buildVqSessionReport(r: CallQualityReport): string {
  const lines = [
    "VQSessionReport: CallTerm",
    `CallID: ${r.callId}`,
    `LocalID: ${r.localId}`,
    `RemoteID: ${r.remoteId}`,
    `OrigID: ${r.origId ?? r.localId}`,
    `LocalAddr: ${addrLine(r.local)}`,
    `RemoteAddr: ${addrLine(r.remote)}`,
    "LocalMetrics:",
    ...metrics(r, r),
    ...(r.remoteMetrics ? ["RemoteMetrics:", ...metrics(r, r.remoteMetrics)] : []),
    ...(r.dialogId ? [`DialogID: ${r.dialogId}`] : []),
  ];
  return lines.map((l) => l + CRLF).join("");
}

/** The far end's XR VoIP Metrics block as a report's RemoteMetrics (unavailable values left out). */
export function remoteMetricsFromXr(x: VoipMetrics): RemoteQualityMetrics {
  const opt = (v: number): number | undefined => (Number.isFinite(v) ? v : undefined);
  return {
    codec: { plc: x.rxConfig.plc },
    jitterBuffer: { adaptive: x.rxConfig.jitterBufferAdaptive, rate: x.rxConfig.jitterBufferRate, nominalMs: x.jbNominalMs, maxMs: x.jbMaximumMs, absMaxMs: x.jbAbsMaxMs },
    loss: { networkLossRate: x.lossRate, jbDiscardRate: x.discardRate },
    burstGap: { burstDensity: x.burstDensity, burstDurationMs: x.burstDurationMs, gapDensity: x.gapDensity, gapDurationMs: x.gapDurationMs, gmin: x.gmin },
    delay: { roundTripMs: x.roundTripDelayMs, endSystemMs: x.endSystemDelayMs },
    signal: { levelDbm: opt(x.signalLevelDbm), noiseDbm: opt(x.noiseLevelDbm), rerlDb: opt(x.rerl) },
    quality: { rCq: opt(x.rFactor), extRIn: opt(x.extRFactor), mosLq: opt(x.mosLq), mosCq: opt(x.mosCq) },
  };
}

export interface ParsedVqReport {
  /** "VQSessionReport", "VQIntervalReport", "VQAlertReport"... */
  type: string;
  /** What follows the type's colon, e.g. "CallTerm". */
  event?: string;
  callId?: string;
  /** SessionInfo lines (and DialogID) by name, raw values; see `parseVqParams` for LocalAddr/RemoteAddr. */
  session: Record<string, string>;
  /** LocalMetrics lines by name, each as its K=V parameters, e.g. `local.PacketLoss.NLR === "5.0"`. */
  local: Record<string, Record<string, string>>;
  remote?: Record<string, Record<string, string>>;
}

/** `K=V K=V ...` (a value may be a "quoted string" holding spaces, as FMTP is) as a record; quotes are removed. */
export function parseVqParams(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of value.matchAll(/([^\s=]+)=("[^"]*"|\S*)/g)) out[m[1]] = m[2].startsWith('"') ? m[2].slice(1, -1) : m[2];
  return out;
}

/**
 * A vq-rtcpxr body read back, tolerant of LF-only line ends, folded lines (a line starting with white space continues
 * the one before) and SessionInfo lines placed among the metrics (as some phones do).
 */
export function parseVqSessionReport(body: string): ParsedVqReport {
  const lines: string[] = [];
  for (const raw of body.split(/\r?\n/)) {
    if (/^[ \t]/.test(raw) && lines.length) lines[lines.length - 1] += " " + raw.trim();
    else if (raw.trim()) lines.push(raw.trim());
  }
  const [first = "", ...rest] = lines;
  const colon = first.indexOf(":");
  const type = (colon < 0 ? first : first.slice(0, colon)).trim();
  const event = colon < 0 ? "" : first.slice(colon + 1).trim();
  const out: ParsedVqReport = { type, ...(event ? { event } : {}), session: {}, local: {} };
  let section: Record<string, Record<string, string>> | null = null;
  for (const line of rest) {
    const c = line.indexOf(":");
    if (c < 0) continue;
    const name = line.slice(0, c).trim();
    const value = line.slice(c + 1).trim();
    if (name === "LocalMetrics") section = out.local;
    else if (name === "RemoteMetrics") section = out.remote = {};
    else if (SESSION_LINES.has(name) || !section) out.session[name] ??= value;
    else section[name] = parseVqParams(value);
  }
  if (out.session.CallID !== undefined) out.callId = out.session.CallID;
  return out;
}

// The audio codecs a call can use, behind one shape: name, RTP payload type and clock, the sample rate of its PCM,
// and a per-stream encoder/decoder pair (G.722 keeps ADPCM state per direction; G.711 is stateless).
import { decodeG711, encodeG711 } from "./g711.js";
import { G722Decoder, G722Encoder } from "./g722.js";

export type CodecName = "PCMU" | "PCMA" | "G722";

export const CODEC_NAMES: readonly CodecName[] = ["G722", "PCMU", "PCMA"];

export interface CodecInfo {
  name: CodecName;
  /** The static payload type (RFC 3551). */
  pt: number;
  /** The RTP clock (G.722 counts 8000/s on the wire although it samples at 16 kHz: RFC 3551 §4.5.2). */
  rtpClock: 8000;
  /** The rate of the PCM the codec takes and gives. */
  sampleRate: 8000 | 16000;
}

export const CODECS: Readonly<Record<CodecName, CodecInfo>> = {
  PCMU: { name: "PCMU", pt: 0, rtpClock: 8000, sampleRate: 8000 },
  PCMA: { name: "PCMA", pt: 8, rtpClock: 8000, sampleRate: 8000 },
  G722: { name: "G722", pt: 9, rtpClock: 8000, sampleRate: 16000 },
};

/** One stream's encoder and decoder. */
export interface CodecStream {
  readonly info: CodecInfo;
  encode(pcm: Int16Array): Uint8Array;
  decode(payload: Uint8Array): Int16Array;
}

export function openCodec(name: CodecName): CodecStream {
  const info = CODECS[name];
  if (name === "G722") {
    const enc = new G722Encoder();
    const dec = new G722Decoder();
    return { info, encode: (pcm) => enc.encode(pcm), decode: (p) => dec.decode(p) };
  }
  return { info, encode: (pcm) => encodeG711(name, pcm), decode: (p) => decodeG711(name, p) };
}

/** The codec a payload-type name (rtpmap, upper case, e.g. "G722/8000") stands for. */
export function codecByRtpmap(name: string): CodecName | null {
  if (name === "PCMU/8000") return "PCMU";
  if (name === "PCMA/8000") return "PCMA";
  if (name === "G722/8000") return "G722";
  return null;
}

// The media port: what SIP needs from a media engine, as SDP in and out. SIP never imports media/; the firmware hands
// SIP an object of this shape (media/ implements it), so either side can be tested and replaced alone.

export type MediaDirection = "sendrecv" | "sendonly" | "recvonly" | "inactive";

export interface MediaSession {
  /**
   * Our SDP offer; `hold` offers sendonly (RFC 3264 §8.4). `emergency`: an emergency call (RFC 6881 ED-62 item 9,
   * ED-72, ED-73): G.711 (PCMU, PCMA) first or only, and no silence suppression (no VAD/CN).
   */
  createOffer(opts: { hold: boolean; emergency?: boolean }): Promise<string>;
  /** The far end's answer to our last offer. Throws on an answer we cannot use (no common codec). */
  setAnswer(sdp: string): Promise<void>;
  /** The far end's offer; returns our answer. Throws when nothing in it is usable (SIP then answers 488). */
  acceptOffer(sdp: string, opts: { hold: boolean }): Promise<string>;
  /** What the far end last said of its sending (sendonly/inactive = it put us on hold). */
  readonly remoteDirection: MediaDirection;
  /** RFC 4733 telephone-event; false when the far end did not negotiate it (SIP then falls back to INFO). */
  sendDtmf(digit: string, durationMs: number): boolean;
  /**
   * The end-of-call voice quality report body (RFC 6035, application/vq-rtcpxr) for SIP to PUBLISH to a collector,
   * given the dialog's identifiers; null when no media flowed. Optional: a media engine without it sends none.
   */
  qualityReport?(ids: { callId: string; localId: string; remoteId: string; origId?: string }): string | null;
  close(): void;
}

export interface MediaPort {
  /** A media session for one call (`tag` names it in logs). */
  open(tag: string): MediaSession;
}

// The media engine the firmware hands to SIP as its media port: a new RTP session per call, all sharing one audio
// router (so the earpiece follows the phone's audio path whatever call is up).
import type { Clock } from "../base/clock.js";
import type { Logger } from "../base/log.js";
import type { AudioRouter } from "./audio-router.js";
import type { CodecName } from "./codecs.js";
import { RtpSession } from "./rtp-session.js";

export interface MediaEngineOptions {
  clock: Clock;
  log: Logger;
  router: AudioRouter;
  localAddress: () => string;
  codecs?: CodecName[];
  srtp?: "off" | "required";
}

export class MediaEngine {
  private readonly live = new Set<RtpSession>();

  constructor(private o: MediaEngineOptions) {}

  /** New policy (codecs, SRTP) for the calls opened from now on: a new config bundle arrived. */
  configure(p: { codecs?: CodecName[]; srtp?: "off" | "required" }): void {
    const { codecs: _c, srtp: _s, ...rest } = this.o;
    this.o = { ...rest, ...(p.codecs ? { codecs: p.codecs } : {}), ...(p.srtp ? { srtp: p.srtp } : {}) };
  }

  open(tag: string): RtpSession {
    const { clock, log, router, localAddress, codecs, srtp } = this.o;
    const s = new RtpSession(tag, { clock, log, router, localAddress, ...(codecs ? { codecs } : {}), ...(srtp ? { srtp } : {}) });
    this.live.add(s);
    const close = s.close.bind(s);
    s.close = () => {
      this.live.delete(s);
      close();
    };
    return s;
  }

  /** Joins the calls (by tag, e.g. "call-1") in a local 3-way conference, mixed by the audio router; null ends it. */
  conference(tags: string[] | null): void {
    this.o.router.setConference(tags);
  }

  get sessions(): ReadonlySet<RtpSession> {
    return this.live;
  }

  stop(): void {
    for (const s of [...this.live]) s.close();
    this.o.router.stop();
  }
}

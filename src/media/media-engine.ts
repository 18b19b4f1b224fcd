// The media engine the firmware hands to SIP as its media port: a new RTP session per call, all sharing one audio
// router (so the earpiece follows the phone's audio path whatever call is up).
import type { Clock } from "../base/clock.js";
import type { Logger } from "../base/log.js";
import type { AudioRouter } from "./audio-router.js";
import type { G711Codec } from "./g711.js";
import { RtpSession } from "./rtp-session.js";

export interface MediaEngineOptions {
  clock: Clock;
  log: Logger;
  router: AudioRouter;
  localAddress: () => string;
  codecs?: G711Codec[];
}

export class MediaEngine {
  private readonly live = new Set<RtpSession>();

  constructor(private readonly o: MediaEngineOptions) {}

  open(tag: string): RtpSession {
    const s = new RtpSession(tag, { clock: this.o.clock, log: this.o.log, router: this.o.router, localAddress: this.o.localAddress, ...(this.o.codecs ? { codecs: this.o.codecs } : {}) });
    this.live.add(s);
    const close = s.close.bind(s);
    s.close = () => {
      this.live.delete(s);
      close();
    };
    return s;
  }

  get sessions(): ReadonlySet<RtpSession> {
    return this.live;
  }

  stop(): void {
    for (const s of [...this.live]) s.close();
    this.o.router.stop();
  }
}

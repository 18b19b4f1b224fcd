// sip.js's SessionDescriptionHandler over the media port: it tracks who made the offer (sip.js calls getDescription
// and setDescription in an order that depends on the direction; see sipjs-node.md) and passes hold requests through
// `sessionDescriptionHandlerOptions.hold`.
import type { BodyAndContentType, SessionDescriptionHandler, SessionDescriptionHandlerModifier, SessionDescriptionHandlerOptions } from "sip.js";
import type { MediaSession } from "./media-port.js";

export interface HoldOptions extends SessionDescriptionHandlerOptions {
  hold?: boolean;
}

export interface SdhAdapterOptions {
  /** An emergency call: every offer asks the media side for G.711 first and no VAD (MediaSession.createOffer). */
  emergency?: boolean;
}

export class SdhAdapter implements SessionDescriptionHandler {
  private remoteOffer: string | null = null;
  private offerOut = false;
  private closed = false;

  constructor(
    readonly media: MediaSession,
    private readonly onRemoteDirection: (held: boolean) => void,
    private readonly options: SdhAdapterOptions = {},
  ) {}

  async getDescription(options?: HoldOptions, _modifiers?: SessionDescriptionHandlerModifier[]): Promise<BodyAndContentType> {
    const hold = options?.hold === true;
    if (this.remoteOffer !== null) {
      const offer = this.remoteOffer;
      this.remoteOffer = null;
      const body = await this.media.acceptOffer(offer, { hold });
      this.reportDirection();
      return { body, contentType: "application/sdp" };
    }
    this.offerOut = true;
    const offer = this.options.emergency ? this.media.createOffer({ hold, emergency: true }) : this.media.createOffer({ hold });
    return { body: await offer, contentType: "application/sdp" };
  }

  async setDescription(sdp: string, _options?: HoldOptions, _modifiers?: SessionDescriptionHandlerModifier[]): Promise<void> {
    if (this.offerOut) {
      this.offerOut = false;
      await this.media.setAnswer(sdp);
      this.reportDirection();
      return;
    }
    this.remoteOffer = sdp;
  }

  hasDescription(contentType: string): boolean {
    return /^application\/sdp\b/i.test(contentType);
  }

  sendDtmf(tones: string, options?: { duration?: number }): boolean {
    let ok = true;
    for (const t of tones) ok = this.media.sendDtmf(t, options?.duration ?? 100) && ok;
    return ok;
  }

  rollbackDescription(): Promise<void> {
    this.offerOut = false;
    this.remoteOffer = null;
    return Promise.resolve();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.media.close();
  }

  private reportDirection(): void {
    const d = this.media.remoteDirection;
    this.onRemoteDirection(d === "sendonly" || d === "inactive");
  }
}

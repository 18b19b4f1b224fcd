// An emergency call from the phone's side: the location (a fresh one if the LIS answers within the budget, else the
// cached one, else none: the call never waits longer), the INVITE with it (RFC 6442), the security desk told by
// MESSAGE once the INVITE has left (Kari's Law notification), and a location that changes during the call sent on
// (the SIP side keeps to one update per 10 s). Nothing here may delay or stop the call: every failure is logged and
// the call goes on without what failed.
import type { Clock } from "../base/clock.js";
import type { Logger } from "../base/log.js";
import type { KnownLocation, LocationPolicy } from "../location/location-types.js";
import { withCallExtras } from "../location/pidf-normalise.js";

/** The location side as the emergency call needs it (LocationService has this shape). */
export interface EmergencyLocationSource {
  /** The location to send: fresh within `budgetMs`, else the cached one, else null; never later than the budget. */
  forEmergency(budgetMs: number): Promise<KnownLocation | null>;
  /** Called when the current location changes; returns the unsubscribe function. */
  onChange(cb: (l: KnownLocation | null) => void): () => void;
}

/** The SIP side as the emergency call needs it (SipPhone has this shape). */
export interface EmergencySip {
  placeEmergency(callId: number, dialString: string, opts: { pidf?: string | null; requestUri?: "service-urn" | "dial-string"; elin?: string; lync?: boolean }): void;
  updateLocation(callId: number, pidf: string): void;
  notifyEmergency(uris: string[], text: string): void;
}

export interface EmergencyCallerOptions {
  policy: LocationPolicy;
  requestUri: "service-urn" | "dial-string";
  /** Lync-compatible extras: Supported: geolocation and msftE911PidfExtn (ConferenceUri/Mode, LocationPolicyTagID). */
  lync: boolean;
  /** Send an LLDP-MED ELIN as the calling number when one is known. */
  elinCallerId: boolean;
  /** Who is calling, for the security desk's message. */
  caller: { name?: string; extension: string; callbackNumber: string };
  /** How long the call may wait for a fresh location (ms; RFC 6881 ED-32 recommends 250). */
  budgetMs: number;
  clock: Clock;
  log: Logger;
}

/** The address for the security desk: the screen's line plus the town, region and postcode (TV-13's wording). */
export function notificationLocation(l: KnownLocation | null): string {
  if (!l) return "unknown";
  const c = l.civic;
  if (!c) return l.text || "unknown";
  const town = [c.A3, [c.A1, c.PC].filter(Boolean).join(" ")].filter((x) => x && x.trim()).join(" ");
  return [l.text, town].filter((x) => x && x.trim()).join(", ");
}

/** The security desk's message (standards §8 TV-13). */
export function notificationText(dialString: string, caller: EmergencyCallerOptions["caller"], l: KnownLocation | null): string {
  const who = caller.name ? `${caller.name} (x${caller.extension})` : `x${caller.extension}`;
  return `Emergency call to ${dialString} placed by ${who}, callback ${caller.callbackNumber}, location: ${notificationLocation(l)}`;
}

export class EmergencyCaller {
  private readonly live = new Map<number, () => void>();

  constructor(
    private readonly sip: EmergencySip,
    private readonly location: EmergencyLocationSource | null,
    private readonly o: EmergencyCallerOptions,
  ) {}

  private pidfFor(l: KnownLocation): string | null {
    const p = this.o.policy;
    try {
      return withCallExtras(l.pidf, {
        timestamp: new Date(this.o.clock.wallNow()),
        ...(this.o.lync ? { lync: { ...(p.conferenceUri ? { conferenceUri: p.conferenceUri } : {}), ...(p.conferenceMode ? { conferenceMode: p.conferenceMode } : {}), ...(p.policyTagId ? { policyTagId: p.policyTagId } : {}) } } : {}),
      });
    } catch (e) {
      // a location the phone cannot send validly is not sent; the call still goes
      this.o.log.error({ err: (e as Error).message, source: l.source }, "emergency location not usable: calling without it");
      return null;
    }
  }

  /**
   * Places emergency call `callId` to `target` (the dial string). Resolves once the INVITE has been handed to SIP,
   * with the location text sent (null: none).
   */
  async place(callId: number, target: string): Promise<{ locationText: string | null }> {
    const started = this.o.clock.now();
    let loc: KnownLocation | null = null;
    if (this.location && this.o.policy.enhancedEmergencyServicesEnabled) {
      try {
        loc = await this.location.forEmergency(this.o.budgetMs);
      } catch (e) {
        this.o.log.error({ err: (e as Error).message }, "emergency location lookup failed: calling without a location");
      }
    }
    const pidf = loc ? this.pidfFor(loc) : null;
    const elin = this.o.elinCallerId ? loc?.elin : undefined;
    this.sip.placeEmergency(callId, target, { pidf, requestUri: this.o.requestUri, lync: this.o.lync, ...(elin ? { elin } : {}) });
    const sent = pidf && loc ? loc : null;
    this.o.log.warn({ callId, target, location: sent ? sent.source : "none", waitedMs: Math.round(this.o.clock.now() - started) }, "emergency call placed");
    // after the INVITE: tell the security desk (never awaited; its failure is the SIP side's log line)
    if (this.o.policy.notificationUris.length) {
      try {
        this.sip.notifyEmergency(this.o.policy.notificationUris, notificationText(target, this.o.caller, sent));
      } catch (e) {
        this.o.log.warn({ err: (e as Error).message }, "security desk notification not sent");
      }
    }
    // a location learned during the call goes to the PSAP (the SIP side paces it to one update per 10 s)
    if (this.location && this.o.policy.enhancedEmergencyServicesEnabled) {
      const off = this.location.onChange((l) => {
        if (!l || !this.live.has(callId)) return;
        const next = this.pidfFor(l);
        if (next) this.sip.updateLocation(callId, next);
      });
      this.live.set(callId, off);
    }
    return { locationText: sent ? sent.text : null };
  }

  /** The call ended: stop sending it location updates. */
  ended(callId: number): void {
    this.live.get(callId)?.();
    this.live.delete(callId);
  }
}

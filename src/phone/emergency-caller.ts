// An emergency call from the phone's side: the location (a fresh one if the LIS answers within the budget, else the
// cached one, else none: the call never waits longer), the INVITE with it (RFC 6442), the security desk told by
// MESSAGE once the INVITE has left (Kari's Law notification), and a location that changes during the call sent on
// (the SIP side keeps to one update per 10 s), and the security desk conferenced in once the call is answered
// (ConferenceUri; ConferenceMode "oneway": it listens, no one hears it; "twoway": it talks too). In Lync mode the E9-1-1
// provider conferences the desk from the PIDF-LO's msftE911PidfExtn instead. Nothing here may delay or stop the call:
// every failure is logged and the call goes on without what failed.
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
  emergencyTest(opts: { pidf?: string | null; lync?: boolean }): Promise<{ code: number; text: string }>;
}

/** The security desk's leg: a plain call the phone core never sees, mixed into the emergency call by the router. */
export interface EmergencyDeskPorts {
  calls: { place(callId: number, target: string, opts: { emergency: boolean }): void; hangup(callId: number): void };
  audio: { setConference(tags: string[] | null, opts?: { listenOnly?: string[] }): void };
}

/** Call ids of security-desk legs start here, far from the core's own ids. */
export const DESK_CALL_ID_BASE = 1_000_000;

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
  /** How to call and mix in the security desk (none: the desk is only told by MESSAGE). */
  desk?: EmergencyDeskPorts;
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
  /** Emergency call id -> its security desk leg's call id. */
  private readonly desks = new Map<number, number>();
  private nextDesk = DESK_CALL_ID_BASE;
  /** Emergency calls placed and not ended yet. */
  private readonly placed = new Set<number>();

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
    this.placed.add(callId);
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

  /**
   * A test call to urn:service:test.sos (RFC 6881 ED-77, TV-16) with the location an emergency call would send now:
   * the test service's answer (code, and the text it echoes). The caller decides when a test may run (ED-81).
   */
  async test(): Promise<{ code: number; text: string }> {
    let loc: KnownLocation | null = null;
    if (this.location && this.o.policy.enhancedEmergencyServicesEnabled) loc = await this.location.forEmergency(this.o.budgetMs).catch(() => null);
    const pidf = loc ? this.pidfFor(loc) : null;
    const r = await this.sip.emergencyTest({ pidf, lync: this.o.lync });
    this.o.log.info({ code: r.code, location: !!pidf }, "emergency test call");
    return r;
  }

  /** The call ended: stop sending it location updates; the security desk's leg ends with it. */
  ended(callId: number): void {
    this.placed.delete(callId);
    this.live.get(callId)?.();
    this.live.delete(callId);
    const desk = this.desks.get(callId);
    if (desk === undefined) return;
    this.desks.delete(callId);
    this.o.desk?.audio.setConference(null);
    this.o.desk?.calls.hangup(desk);
  }

  /** Whether `callId` is a security desk's leg (its SIP events come here, not to the phone core). */
  isDeskCall(callId: number): boolean {
    return callId >= DESK_CALL_ID_BASE;
  }

  /** Progress of an emergency call: once answered, the security desk is called in (ConferenceUri, not in Lync mode). */
  progress(callId: number, state: "ringing" | "early" | "connected"): void {
    const uri = this.o.policy.conferenceUri;
    if (state !== "connected" || !this.placed.has(callId) || !uri || this.o.lync || !this.o.desk || this.desks.has(callId)) return;
    const desk = this.nextDesk++;
    this.desks.set(callId, desk);
    this.o.log.warn({ callId, desk, uri, mode: this.o.policy.conferenceMode ?? "twoway" }, "emergency call answered: calling the security desk in");
    try {
      this.o.desk.calls.place(desk, uri, { emergency: false });
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, "the security desk cannot be called (the emergency call goes on)");
    }
  }

  /** Progress of a security desk's leg: answered, it joins the emergency call's audio per ConferenceMode. */
  deskProgress(deskId: number, state: "ringing" | "early" | "connected"): void {
    const call = [...this.desks].find(([, d]) => d === deskId)?.[0];
    if (state !== "connected" || call === undefined) return;
    const oneway = (this.o.policy.conferenceMode ?? "twoway") === "oneway";
    this.o.desk?.audio.setConference([`call-${call}`, `call-${deskId}`], oneway ? { listenOnly: [`call-${deskId}`] } : {});
    this.o.log.warn({ callId: call, desk: deskId, oneway }, "security desk conferenced into the emergency call");
  }

  /** A security desk's leg ended (hung up, refused, unreachable): the emergency call goes on alone. */
  deskEnded(deskId: number): void {
    const call = [...this.desks].find(([, d]) => d === deskId)?.[0];
    if (call === undefined) return;
    this.desks.delete(call);
    this.o.desk?.audio.setConference(null);
    this.o.log.warn({ callId: call, desk: deskId }, "the security desk left the emergency call");
  }
}

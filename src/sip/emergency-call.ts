// One emergency call on sip.js (shared standards emergency-location.md §3.9, §7 items 14, 15, 19-24): the INVITE to
// urn:service:sos (or a dial-string URI) with Priority: emergency and the PIDF-LO by value, sent over the first route
// that takes it; a 424 (or a 415/488 to the multipart body) retried at once without the refused location; location
// updates by re-INVITE at most one per interval, the latest only. The call is never given up because of location,
// and a route that fails (transport error, 408, 503, 5xx, no answer at all, a 404 for the URN...) hands the call to
// the next one. SipPhone owns the routes (its registered user agent, second unregistered ones) and the call record.
// The emergency test call (RFC 6881 ED-77/ED-78, TV-16: emergencyTestCall) is dressed the same and takes the same
// routes, on the user agent core alone: it is answered, read and ended at once, with no media and no call record.
import { Inviter, SessionState, UserAgent, type Core, type InviterOptions, type Referral, type URI } from "sip.js";
import type { Clock, Timer } from "../base/clock.js";
import type { Logger } from "../base/log.js";
import type { SipServer } from "./dns-targets.js";
import { geolocationErrorCode, locationFrom424, locationProfileTag, parseMultipart, serviceUrnToSip, token, type ConveyedLocation, type EmergencyDress, type EmergencyDressing } from "./emergency-invite.js";
import type { TransportTarget } from "./transport/node-transport.js";

export interface EmergencyCallOptions {
  /** The PIDF-LO document to send by value; null/absent: the INVITE carries no location (no Geolocation, no PIDF part). */
  pidf?: string | null;
  /** Request-URI and To: `urn:service:sos` (default, RFC 6881 ED-62) or `sip:<dial string>@<domain>;user=phone`. */
  requestUri?: "service-urn" | "dial-string";
  /** The service URN when requestUri is "service-urn" (default urn:service:sos; e.g. urn:service:sos.fire, urn:service:test.sos). */
  serviceUrn?: string;
  /** An ELIN (LLDP-MED / provisioned): sent as the calling number in P-Asserted-Identity (From stays the AoR, for callback). */
  elin?: string;
  /** Lync/Skype for Business: adds `Supported: geolocation` (MS-SIPRE 2.2.23); the PIDF part is the only, so also the last. */
  lync?: boolean;
}

export type EmergencyEnd = "remote-hangup" | "local-hangup" | "busy" | "rejected" | "not-found" | "unavailable" | "cancelled" | "failed";

/** A way to the PSAP: a user agent whose connection is up. */
export interface EmergencyRoute {
  /** For the log: "main tcp:pbx:5060", "tls:sbc.example.com:5061"... */
  label: string;
  ua: UserAgent;
  /** A second user agent opened for this call (closed when the call moves on or ends); false for the main one. */
  owned: boolean;
}

/** What the route planner needs from SipPhone. */
export interface RouteHost {
  log: Logger;
  /** The main user agent when its connection is up, whether it is registered, and where it is connected. */
  main(): { ua: UserAgent; registered: boolean; target?: TransportTarget } | undefined;
  /** A second, unregistered user agent connected to `target`; rejects when the connection fails. */
  open(target: TransportTarget): Promise<UserAgent>;
  resolve(server: SipServer): Promise<TransportTarget[]>;
  emergencyRoutes: readonly SipServer[];
  servers: readonly SipServer[];
}

const describe = (t: TransportTarget): string => `${t.protocol.toLowerCase()}:${t.serverName ?? t.host}:${t.port}`;
const same = (a: TransportTarget | undefined, b: TransportTarget): boolean => !!a && a.protocol === b.protocol && a.host === b.host && a.port === b.port;

/**
 * Where a TLS target falls back to over TCP (ED-58: if TLS fails, retry without it): the same address on the server's
 * `fallbackTcpPort`; without one, a server named without a port is resolved again for TCP (SRV _sip._tcp, else 5060),
 * and anything else goes to 5060.
 */
export async function tcpFallbackTargets(server: SipServer, failed: TransportTarget, resolve: (s: SipServer) => Promise<TransportTarget[]>): Promise<TransportTarget[]> {
  const named = failed.serverName ? { serverName: failed.serverName } : {};
  if (server.fallbackTcpPort) return [{ protocol: "TCP", host: failed.host, port: server.fallbackTcpPort, ...named }];
  if (server.port === undefined && failed.serverName) {
    try {
      const t = await resolve({ host: server.host, transport: "tcp" });
      if (t.length) return t;
    } catch {
      // falls through to 5060
    }
  }
  return [{ protocol: "TCP", host: failed.host, port: 5060, ...named }];
}

/**
 * The routes an emergency call tries, in order, each connection opened only when it is reached:
 * - registered: the main connection, then each of `emergencyRoutes`, then the account's servers on a connection of
 *   their own (skipping the one the main connection already reached);
 * - not registered (registrar unreachable, signed out, refused): `emergencyRoutes` first, then the main connection
 *   if it is up, then the account's servers.
 * A TLS target that does not connect is retried at once over TCP (tcpFallbackTargets).
 */
export async function* emergencyRoutes(host: RouteHost): AsyncGenerator<EmergencyRoute, void, undefined> {
  const first = host.main();
  let mainTried: TransportTarget | undefined;
  let mainUsed = false;
  const mainRoute = function* (): Generator<EmergencyRoute> {
    const m = host.main();
    if (!m || mainUsed) return;
    mainUsed = true;
    mainTried = m.target;
    yield { label: `main ${m.target ? describe(m.target) : ""}${m.registered ? "" : " (not registered)"}`.trim(), ua: m.ua, owned: false };
  };
  const serverRoutes = async function* (server: SipServer, skip?: TransportTarget): AsyncGenerator<EmergencyRoute> {
    let targets: TransportTarget[];
    try {
      targets = await host.resolve(server);
    } catch (e) {
      host.log.warn({ server: server.host, err: (e as Error).message }, "emergency route: cannot resolve");
      return;
    }
    for (const t of targets) {
      if (skip && same(skip, t)) continue;
      const tries = [t];
      for (let i = 0; i < tries.length; i++) {
        const target = tries[i];
        let ua: UserAgent;
        try {
          ua = await host.open(target);
        } catch (e) {
          host.log.warn({ route: describe(target), err: (e as Error).message }, "emergency route: no connection");
          if (target.protocol === "TLS") {
            const tcp = await tcpFallbackTargets(server, target, host.resolve);
            host.log.warn({ from: describe(target), to: tcp.map(describe) }, "emergency route: TLS failed, retrying over TCP at once");
            tries.push(...tcp);
          }
          continue;
        }
        yield { label: describe(target), ua, owned: true };
      }
    }
  };
  if (first?.registered) yield* mainRoute();
  for (const s of host.emergencyRoutes) yield* serverRoutes(s);
  yield* mainRoute();
  for (const s of host.servers) yield* serverRoutes(s, mainTried);
}

/** What the call reports to SipPhone. */
export interface EmergencyCallHost {
  clock: Clock;
  log: Logger;
  domain: string;
  dressing: EmergencyDressing;
  /** Re-INVITEs with a new location: at most one per this many ms (ED-38: 10 s). */
  updateMinMs: number;
  /** A route that sends no response at all (not even 100 Trying) within this is left for the next one (ms; 0 = never). */
  answerMs: number;
  /** The call's session is now `session` (hang-up, DTMF and the media act on it). */
  bind(session: Inviter): void;
  onRefer(referral: Referral): void;
  progress(state: "ringing" | "early" | "connected"): void;
  /** The call was answered; `carried`: the INVITE answered had the location in it (else a retry went without). */
  answered?(carried: boolean): void;
  ended(reason: EmergencyEnd, code?: number): void;
  /** Closes a route's own user agent (a little later when `linger`, so a BYE still in flight gets its answer). */
  closeRoute(route: EmergencyRoute, linger: boolean): void;
}

/**
 * The headers and outgoing-hook dressing that convey `loc` on an INVITE (RFC 6442): by value, a Geolocation cid that
 * the multipart body's PIDF-LO part answers with its Content-ID; by reference, the URI and its Supported option tag.
 * `extraTags` go into Supported as well (Lync: geolocation).
 */
export function locationConveyance(domain: string, loc: ConveyedLocation, extraTags: string[] = []): { headers: string[]; dress: EmergencyDress } {
  const headers: string[] = [];
  const dress: EmergencyDress = { supported: [...extraTags] };
  if (loc && "pidf" in loc) {
    const cid = `loc-${token()}@${domain}`;
    headers.push(`Geolocation: <cid:${cid}>`, "Geolocation-Routing: yes", "Accept: application/sdp, application/pidf+xml");
    dress.pidf = loc.pidf;
    dress.contentId = cid;
  } else if (loc && "uri" in loc) {
    headers.push(`Geolocation: <${loc.uri}>`, "Geolocation-Routing: yes", "Accept: application/sdp, application/pidf+xml");
    dress.supported?.push(locationProfileTag(loc.uri));
  }
  return { headers, dress };
}

function endReason(code: number | undefined): EmergencyEnd {
  if (code === 486 || code === 600) return "busy";
  if (code === 603) return "rejected";
  if (code === 404 || code === 484 || code === 604) return "not-found";
  if (code === 480 || code === 408 || code === 410) return "unavailable";
  return "failed";
}

/** Final answers that come from the PSAP itself: the call ends there, no other route is tried. */
const PSAP_FINAL = new Set([486, 600, 603]);

export class EmergencyCall {
  /** Resolves once the first INVITE has left (or the call ended without one): notifications wait for it (item 24). */
  readonly inviteLeft: Promise<void>;
  private leftResolve: () => void = () => undefined;
  private readonly routes: AsyncGenerator<EmergencyRoute, void, undefined>;
  private route: EmergencyRoute | undefined;
  private session: Inviter | undefined;
  /** The location the next INVITE carries. */
  private location: ConveyedLocation;
  private locationRejections = 0;
  /** This route was already tried again without location after a refusal. */
  private retriedBare = false;
  /** The newest location the phone knows (the first one, or the latest update). */
  private knownPidf: string | undefined;
  /** What the current INVITE carries (a 424/415/488 is about it). */
  private sentLocation: ConveyedLocation = null;
  private callIdValue: string | undefined;
  private lastInviter: Inviter | undefined;
  private cseq = 1;
  private response: Core.IncomingResponse | undefined;
  private answered = false;
  private lastCode: number | undefined;
  private connected = false;
  private finished = false;
  private hungUp = false;
  private answerTimer: Timer | undefined;
  private readonly keys: string[] = [];
  // location updates (ED-38)
  private lastLocationAt: number | undefined;
  private pendingPidf: string | undefined;
  private updateTimer: Timer | undefined;
  private reinviting = false;

  constructor(
    private readonly host: EmergencyCallHost,
    routes: AsyncGenerator<EmergencyRoute, void, undefined>,
    readonly dialString: string,
    private readonly opts: EmergencyCallOptions,
  ) {
    this.routes = routes;
    this.location = opts.pidf ? { pidf: opts.pidf } : null;
    this.knownPidf = opts.pidf ?? undefined;
    this.inviteLeft = new Promise((resolve) => (this.leftResolve = resolve));
  }

  /** The user agent the call uses now (notifications go the same way). */
  get ua(): UserAgent | undefined {
    return this.finished ? undefined : this.route?.ua;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Where the call went, for the log and tests. */
  get routeLabel(): string | undefined {
    return this.route?.label;
  }

  start(): void {
    void this.nextRoute();
  }

  hangup(): void {
    if (this.finished) return;
    this.hungUp = true;
    this.updateTimer?.cancel();
    const s = this.session;
    const quiet = (e: Error): void => this.host.log.debug({ err: e.message }, "emergency call hang-up");
    if (!s) {
      this.finish("local-hangup");
      return;
    }
    if (s.state === SessionState.Established) s.bye().catch(quiet);
    else if (s.state === SessionState.Initial || s.state === SessionState.Establishing) {
      s.cancel().catch(quiet);
      // no response yet: the CANCEL waits for one (RFC 3261 §9.1) that may never come; the call is over for the phone now
      if (!this.answered) this.finish("local-hangup");
    }
  }

  /** A new location (ED-38): sent by re-INVITE at most once per `updateMinMs`; a newer one replaces one still waiting. */
  updateLocation(pidf: string): void {
    if (this.finished || this.hungUp) return;
    if (this.pendingPidf !== undefined) this.host.log.info("emergency location update replaced by a newer one before it was sent");
    this.pendingPidf = pidf;
    this.knownPidf = pidf;
    // a call not answered yet: the next INVITE (a retry, another route) carries the newest location
    if (!this.connected && this.location && "pidf" in this.location) this.location = { pidf };
    this.scheduleUpdate();
  }

  /** Closes everything at once (the phone stops). */
  dispose(): void {
    if (!this.finished) this.hangup();
    if (!this.finished) this.finish("local-hangup");
  }

  // ---- the INVITE and its outcome ----

  private async nextRoute(): Promise<void> {
    if (this.route) this.host.closeRoute(this.route, false);
    this.route = undefined;
    this.session = undefined;
    let r: IteratorResult<EmergencyRoute, void>;
    try {
      r = await this.routes.next();
    } catch (e) {
      this.host.log.error({ err: (e as Error).message }, "emergency route planning failed");
      r = { done: true, value: undefined };
    }
    if (this.finished || this.hungUp) {
      if (!r.done) this.host.closeRoute(r.value, false);
      this.finish("local-hangup");
      return;
    }
    if (r.done) {
      this.host.log.error({ dial: this.dialString, code: this.lastCode }, "EMERGENCY CALL FAILED: no route took it");
      this.finish(endReason(this.lastCode), this.lastCode);
      return;
    }
    this.route = r.value;
    // another way out is another path: what one proxy refused (424), the next one may take
    this.location = this.knownPidf !== undefined ? { pidf: this.knownPidf } : null;
    this.locationRejections = 0;
    this.retriedBare = false;
    this.host.log.warn({ route: r.value.label, dial: this.dialString }, "emergency call: sending the INVITE");
    this.send();
  }

  private requestTarget(): string {
    if (this.opts.requestUri === "dial-string") return `sip:${this.dialString.replace(/#/g, "%23")}@${this.host.domain};user=phone`;
    return serviceUrnToSip(this.opts.serviceUrn ?? "urn:service:sos");
  }

  /** The headers and outgoing-hook dressing that convey `loc`. */
  private conveyance(loc: ConveyedLocation, extraTags: string[] = []): { headers: string[]; dress: EmergencyDress } {
    return locationConveyance(this.host.domain, loc, extraTags);
  }

  private send(): void {
    const route = this.route;
    if (!route || this.finished) return;
    const loc = this.location;
    const { headers, dress } = this.conveyance(loc, this.opts.lync ? ["geolocation"] : []);
    const extraHeaders = ["Priority: emergency", ...headers];
    if (this.opts.elin) extraHeaders.push(`P-Asserted-Identity: <sip:${this.opts.elin}@${this.host.domain};user=phone>`);
    const marker = this.host.dressing.add(dress);
    this.keys.push(marker.key);
    extraHeaders.push(marker.header);
    const target = UserAgent.makeURI(this.requestTarget());
    if (!target) {
      this.host.log.error({ dial: this.dialString }, "emergency call: no usable Request-URI");
      this.finish("failed");
      return;
    }
    // every INVITE of the call (retries, other routes) keeps one Call-ID with a higher CSeq (TV-9)
    // (sip.js passes these params on to the request message; its typings list only some of them)
    if (this.lastInviter) this.cseq = Math.max(this.cseq, this.lastInviter.request.cseq);
    const params = this.callIdValue ? ({ callId: this.callIdValue, cseq: ++this.cseq } as unknown as InviterOptions["params"]) : undefined;
    // Contact (ED-63: globally routable, still valid minutes after the call): over the registered connection sip.js
    // puts the public GRUU the registrar gave (SipAccount.instanceId, RFC 5627), so a PSAP callback reaches this phone.
    // A route of its own (unregistered, so no GRUU) keeps the plain Contact: the proxy or SBC behind it maps it for the
    // PSAP, which ED-63 allows ("A B2BUA mapping is acceptable")
    let inviter: Inviter;
    try {
      inviter = new Inviter(route.ua, target, { extraHeaders, earlyMedia: true, ...(params ? { params } : {}) });
    } catch (e) {
      this.host.log.error({ err: (e as Error).message }, "emergency call: cannot build the INVITE");
      this.lastCode = 500;
      void this.nextRoute();
      return;
    }
    this.callIdValue ??= inviter.request.callId;
    this.session = inviter;
    this.lastInviter = inviter;
    // this INVITE carries the newest location: nothing left to update once it is answered
    if (loc && "pidf" in loc && loc.pidf === this.pendingPidf) this.pendingPidf = undefined;
    this.sentLocation = loc;
    this.response = undefined;
    this.answered = false;
    if (loc) this.lastLocationAt = this.host.clock.now();
    inviter.delegate = { onRefer: (referral) => this.host.onRefer(referral) };
    inviter.stateChange.addListener((s) => {
      if (inviter !== this.session) {
        // an attempt given up (no answer) that the far end took after all: not this call's any more
        if (s === SessionState.Established) inviter.bye().catch(() => undefined);
        return;
      }
      if (s === SessionState.Established && !this.connected) {
        this.connected = true;
        this.answerTimer?.cancel();
        this.host.log.warn({ route: route.label, location: !!loc }, "emergency call connected");
        this.host.answered?.(!!loc);
        this.host.progress("connected");
        this.scheduleUpdate();
      }
      // sip.js moves to Terminated before it hands the final response to onReject: decide a turn later
      if (s === SessionState.Terminated) queueMicrotask(() => this.terminated(inviter));
    });
    this.host.bind(inviter);
    const heard = (): void => {
      this.answered = true;
      this.answerTimer?.cancel();
    };
    this.answerTimer?.cancel();
    if (this.host.answerMs > 0) this.answerTimer = this.host.clock.setTimeout(() => this.noAnswer(inviter), this.host.answerMs);
    inviter
      .invite({
        requestDelegate: {
          onTrying: heard,
          onProgress: (r) => {
            heard();
            const code = r.message.statusCode ?? 0;
            if (code === 180) this.host.progress("ringing");
            else if (code === 183 && r.message.body) this.host.progress("early");
          },
          onAccept: heard,
          onRedirect: (r) => {
            heard();
            this.response = r;
          },
          onReject: (r) => {
            heard();
            this.response = r;
          },
        },
      })
      .then(() => this.leftResolve())
      .catch((e: Error) => this.host.log.warn({ err: e.message, route: route.label }, "emergency INVITE not sent"));
  }

  private noAnswer(inviter: Inviter): void {
    if (inviter !== this.session || this.answered || this.finished) return;
    this.host.log.warn({ route: this.route?.label, ms: this.host.answerMs }, "emergency route does not answer: trying the next one");
    this.session = undefined;
    this.lastCode = 408;
    inviter.cancel().catch(() => undefined);
    void this.nextRoute();
  }

  private terminated(inviter: Inviter): void {
    if (inviter !== this.session || this.finished) return;
    this.answerTimer?.cancel();
    const code = this.response?.message.statusCode;
    if (this.connected) {
      this.finish(this.hungUp ? "local-hangup" : "remote-hangup");
      return;
    }
    if (this.hungUp) {
      this.finish("local-hangup");
      return;
    }
    const carried = this.sentLocation;
    if (code === 424 && carried) {
      // RFC 6442 §4.3 / TV-9: at once, again: with the location the 424 offers (once), otherwise without any
      const msg = this.response?.message;
      this.locationRejections++;
      const offered = msg ? locationFrom424({ geolocation: msg.getHeader("Geolocation"), contentType: msg.getHeader("Content-Type") }, msg.body ?? "") : null;
      this.location = this.locationRejections === 1 ? offered : null;
      this.host.log.warn(
        { code, geolocationError: geolocationErrorCode(msg?.getHeader("Geolocation-Error")), detail: msg?.getHeader("Geolocation-Error"), retryWith: this.location ? ("pidf" in this.location ? "location from the 424" : "location reference from the 424") : "no location" },
        "emergency INVITE refused for its location (424 Bad Location Information): sent again at once",
      );
      this.send();
      return;
    }
    if ((code === 415 || code === 488) && carried && "pidf" in carried) {
      // the multipart body (or the PIDF part) was not understood: the call matters more than the location
      this.location = null;
      this.host.log.warn({ code }, "emergency INVITE with location refused (multipart body?): sent again at once without location");
      this.send();
      return;
    }
    if (code !== undefined && PSAP_FINAL.has(code)) {
      this.host.log.warn({ code, route: this.route?.label }, "emergency call refused by the far end");
      this.finish(endReason(code), code);
      return;
    }
    if (carried && code !== undefined && code >= 400 && this.response?.message.statusCode === code && !this.retriedBare) {
      // a real answer refusing an INVITE that carried location (a PSAP or proxy that cannot take a multipart body
      // answers 500, 400...): the same way out once more without it, before the next route; the call comes first
      this.retriedBare = true;
      this.location = null;
      this.host.log.warn({ code, route: this.route?.label }, "emergency INVITE with location refused: sent again at once without location");
      this.send();
      return;
    }
    this.lastCode = code ?? 503;
    this.host.log.warn({ code: this.lastCode, route: this.route?.label }, "emergency route failed: trying the next one");
    void this.nextRoute();
  }

  private finish(reason: EmergencyEnd, code?: number): void {
    if (this.finished) return;
    this.finished = true;
    this.answerTimer?.cancel();
    this.updateTimer?.cancel();
    this.leftResolve();
    for (const k of this.keys) this.host.dressing.delete(k);
    if (this.route) this.host.closeRoute(this.route, true);
    void this.routes.return(undefined).catch(() => undefined);
    this.host.ended(reason, code);
  }

  // ---- location updates (ED-38, TV-10) ----

  private scheduleUpdate(): void {
    if (this.finished || this.pendingPidf === undefined || this.updateTimer || this.reinviting || !this.connected) return;
    const wait = this.lastLocationAt === undefined ? 0 : this.lastLocationAt + this.host.updateMinMs - this.host.clock.now();
    if (wait > 0) {
      this.updateTimer = this.host.clock.setTimeout(() => {
        this.updateTimer = undefined;
        this.sendUpdate();
      }, wait);
      return;
    }
    this.sendUpdate();
  }

  private sendUpdate(): void {
    const s = this.session;
    const pidf = this.pendingPidf;
    if (!s || s.state !== SessionState.Established || pidf === undefined || this.finished) return;
    this.pendingPidf = undefined;
    this.reinviting = true;
    const { headers, dress } = this.conveyance({ pidf }, this.opts.lync ? ["geolocation"] : []);
    const marker = this.host.dressing.add(dress);
    this.keys.push(marker.key);
    this.lastLocationAt = this.host.clock.now();
    const done = (again: boolean): void => {
      this.reinviting = false;
      if (again && this.pendingPidf === undefined) this.pendingPidf = pidf;
      this.scheduleUpdate();
    };
    this.host.log.info("emergency location update: re-INVITE with the new location");
    s.invite({
      requestOptions: { extraHeaders: ["Priority: emergency", ...headers, marker.header] },
      requestDelegate: {
        onAccept: () => {
          this.host.log.info("emergency location update accepted");
          done(false);
        },
        onReject: (r) => {
          const code = r.message.statusCode;
          this.host.log.warn({ code, geolocationError: geolocationErrorCode(r.message.getHeader("Geolocation-Error")) }, "emergency location update refused (the call goes on)");
          // 491: the far end's own re-INVITE crossed ours: the same location again after the interval
          done(code === 491);
        },
      },
    }).catch((e: Error) => {
      this.host.log.warn({ err: e.message }, "emergency location update not sent; tried again later");
      done(true);
    });
  }
}

// ---- the emergency test call (RFC 6881 ED-77, ED-78; shared standards emergency-location.md §3.7 "Testing", TV-16) ----

export interface EmergencyTestOptions {
  /** The PIDF-LO to send by value, as a real call would (the test checks the location gets through); null/absent: none. */
  pidf?: string | null;
  /** The test service (default `urn:service:test.sos`; `urn:service:test.sos.fire`... too, RFC 6881 ED-77). */
  serviceUrn?: string;
  /** Lync/Skype for Business: `Supported: geolocation`, as on a real call (MS-SIPRE 2.2.23). */
  lync?: boolean;
}

export interface EmergencyTestResult {
  /** The final answer (ED-77): 200 the test service took the call, 404 no test service (or the PSAP does not test),
   * 486 busy, any other code as received; 0 when nothing answered at all. */
  code: number;
  /** The text/plain the test service answered with (ED-78: the PSAP, the service and the location it received),
   * "" when none. */
  text: string;
}

/** What the test call needs from SipPhone. */
export interface EmergencyTestHost {
  clock: Clock;
  log: Logger;
  domain: string;
  dressing: EmergencyDressing;
  /** A route that sends no response at all within this is left for the next one (ms; 0 = never), as for a real call. */
  answerMs: number;
  /** The whole test is given up (the INVITE cancelled) when it has no final answer after this long (ms). */
  deadlineMs: number;
  /** The SDP offer a real emergency call makes (G.711 first, no VAD) and how to let it go; its media never starts. */
  offer(): Promise<{ sdp: string; close(): void } | null>;
  /** Calls `seen` with each response for Call-ID `callId` as it came off the wire (before the incoming hook cut a
   * multipart body down to its SDP part), until the returned function is called. */
  watch(callId: string, seen: (raw: string) => void): () => void;
  closeRoute(route: EmergencyRoute, linger: boolean): void;
}

/**
 * The text a test service echoed in its answer (ED-78): the body of a text/plain response, else the first text/plain
 * part of a multipart one (SDP + text/plain); a part without Content-Type is text/plain (RFC 2046 §5.1). "" if none.
 */
export function testEcho(raw: string): string {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return "";
  const head = raw.slice(0, end);
  const body = raw.slice(end + 4);
  const type = /^(?:content-type|c)[ \t]*:[ \t]*(.*)$/im.exec(head)?.[1]?.trim() ?? "";
  if (/^text\/plain\b/i.test(type)) return body.trim();
  const part = parseMultipart(type, body).find((p) => /^text\/plain\b/i.test(p.headers["content-type"] ?? "text/plain"));
  return part ? part.content.trim() : "";
}

/** One route's try: `next` = it did not carry the test (the next route may); else the answer. */
type TestAttempt = { next: true; code: number } | { next: false; code: number; text: string };

/** The methods a real call's INVITE allows (sip.js's Inviter list), so the test's looks the same. */
const INVITE_ALLOW = "ACK,CANCEL,INVITE,MESSAGE,BYE,OPTIONS,INFO,NOTIFY,REFER";

/**
 * The emergency test call: an INVITE to `urn:service:test.sos` dressed as a real emergency call with location (the
 * SDP offer and the PIDF-LO in the multipart body, Geolocation cid, Geolocation-Routing), but without
 * `Priority: emergency` (a test is not an emergency: see SipPhone.emergencyTest), over the routes a real call takes.
 * A route that does not carry it (no connection, no response within `answerMs`, 408, 5xx) hands it to the next; any
 * other final answer is the result. A 2xx is acknowledged and ended at once (ACK, BYE): its text/plain is the echo.
 * Nothing is retried without the location (a 424/415/488 is the result: the test is of the call as it would go).
 * Runs on the user agent core (no sip.js Session): no media starts, and the phone's call events never hear of it.
 * Never throws.
 */
export async function emergencyTestCall(host: EmergencyTestHost, routes: AsyncGenerator<EmergencyRoute, void, undefined>, opts: EmergencyTestOptions = {}): Promise<EmergencyTestResult> {
  const urn = opts.serviceUrn ?? "urn:service:test.sos";
  const keys: string[] = [];
  const started = host.clock.now();
  let media: { sdp: string; close(): void } | null = null;
  let route: EmergencyRoute | undefined;
  let answered = false;
  let last = 0;
  try {
    const target = UserAgent.makeURI(serviceUrnToSip(urn));
    if (!target) throw new Error(`'${urn}' cannot be sent`);
    try {
      media = await host.offer();
    } catch (e) {
      host.log.warn({ err: (e as Error).message }, "emergency test: no SDP offer; the INVITE goes without one");
    }
    for (;;) {
      const left = started + host.deadlineMs - host.clock.now();
      if (left <= 0) {
        host.log.warn({ ms: host.deadlineMs }, "emergency test: no answer in time");
        break;
      }
      const r = await routes.next();
      if (r.done) break;
      route = r.value;
      host.log.info({ route: route.label, urn, location: !!opts.pidf }, "emergency test call: sending the INVITE");
      const a = await testAttempt(host, route, target, opts, media?.sdp, keys, left);
      if (!a.next) {
        answered = true;
        host.log.warn({ route: route.label, code: a.code, echo: a.text }, "emergency test call answered");
        return { code: a.code, text: a.text };
      }
      if (a.code) last = a.code;
      host.log.warn({ route: route.label, code: a.code || undefined }, "emergency test: the route did not carry it");
      host.closeRoute(route, false);
      route = undefined;
    }
    host.log.warn({ code: last }, "emergency test: no route carried it");
    return { code: last, text: "" };
  } catch (e) {
    host.log.error({ err: (e as Error).message, urn }, "emergency test call failed");
    return { code: last, text: "" };
  } finally {
    media?.close();
    for (const k of keys) host.dressing.delete(k);
    // a BYE (or a CANCEL) may still be in flight on a route of its own: it stays a moment
    if (route) host.closeRoute(route, answered);
    void routes.return(undefined).catch(() => undefined);
  }
}

function testAttempt(host: EmergencyTestHost, route: EmergencyRoute, target: URI, opts: EmergencyTestOptions, sdp: string | undefined, keys: string[], leftMs: number): Promise<TestAttempt> {
  return new Promise((resolve) => {
    const ua = route.ua;
    const core = ua.userAgentCore;
    const { headers, dress } = locationConveyance(host.domain, opts.pidf ? { pidf: opts.pidf } : null, opts.lync ? ["geolocation"] : []);
    const marker = host.dressing.add(dress);
    keys.push(marker.key);
    const extraHeaders = [...headers, marker.header, `Contact: ${ua.contact.toString({ anonymous: false, outbound: !ua.contact.pubGruu })}`, `Allow: ${INVITE_ALLOW}`];
    const body = sdp ? { contentDisposition: "session", contentType: "application/sdp", content: sdp } : undefined;
    const message = core.makeOutgoingRequestMessage("INVITE", target, core.configuration.aor, target, {}, extraHeaders, body);
    let raw = "";
    const unwatch = host.watch(message.callId, (text) => {
      if (/^SIP\/2\.0 2\d\d /.test(text)) raw = text;
    });
    const timers: Timer[] = [];
    let settled = false;
    let heard = false;
    let request: Core.OutgoingInviteRequest | undefined;
    const done = (a: TestAttempt): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) t.cancel();
      unwatch();
      resolve(a);
    };
    const giveUp = (why: string): void => {
      if (settled) return;
      host.log.warn({ route: route.label, why }, "emergency test: INVITE cancelled");
      try {
        request?.cancel();
      } catch (e) {
        host.log.debug({ err: (e as Error).message }, "emergency test CANCEL");
      }
      done({ next: true, code: 0 });
    };
    try {
      request = core.invite(message, {
        onTrying: () => (heard = true),
        onProgress: () => (heard = true),
        onAccept: (r) => {
          heard = true;
          const late = settled;
          const text = late ? "" : testEcho(raw);
          // a test is over once answered: acknowledged and ended at once (a late answer to one given up too)
          try {
            r.ack();
          } catch (e) {
            host.log.warn({ err: (e as Error).message }, "emergency test: ACK not sent");
          }
          try {
            r.session.bye();
          } catch (e) {
            host.log.warn({ err: (e as Error).message }, "emergency test: BYE not sent");
          }
          if (late) host.log.info({ route: route.label }, "emergency test: a late answer ended at once");
          done({ next: false, code: r.message.statusCode ?? 200, text });
        },
        onRedirect: (r) => {
          heard = true;
          done({ next: false, code: r.message.statusCode ?? 300, text: "" });
        },
        onReject: (r) => {
          heard = true;
          const code = r.message.statusCode ?? 0;
          // sip.js makes up a 408 (timeout) or 503 (transport error) without any header: nothing answered those
          const real = r.message.getHeader("Via") !== undefined;
          if (code === 408 || (code >= 500 && code < 600)) done({ next: true, code: real ? code : 0 });
          else done({ next: false, code, text: "" });
        },
      });
    } catch (e) {
      host.log.warn({ err: (e as Error).message, route: route.label }, "emergency test: INVITE not sent");
      done({ next: true, code: 0 });
      return;
    }
    if (settled) return;
    if (host.answerMs > 0) timers.push(host.clock.setTimeout(() => !heard && giveUp("no response"), host.answerMs));
    timers.push(host.clock.setTimeout(() => giveUp("no final answer in time"), leftMs));
  });
}

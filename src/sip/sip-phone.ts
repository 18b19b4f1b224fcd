// The phone's SIP side on sip.js 0.21.2: one account, its registration kept alive by a supervisor (reconnect,
// re-register, backoff, failover across servers and DNS SRV targets), and calls driven by the phone core's effects.
// It reports in plain events; it knows nothing of keys or screens, and media arrives through the media port.
// Emergency calls (placeEmergency, updateLocation, notifyEmergency) go out whatever the registration: over the
// registered connection or over second, unregistered user agents on the account's emergency routes (emergency-call.ts);
// their RFC 6442 wire form is made by the transports' hooks (emergency-invite.ts). The emergency test call
// (emergencyTest, RFC 6881 ED-77) goes the same way, dressed the same, on a path of its own: no call events.
import { Core, Grammar, Invitation, Inviter, Registerer, RegistererState, SessionState, Subscriber, UserAgent, type Message, type Referral, type Session, type URI, type UserAgentDelegate } from "sip.js";
import type { Clock, Timer } from "../base/clock.js";
import { isUuid } from "./instance-id.js";
import type { Logger } from "../base/log.js";
import { resolveServer, systemResolver, type Resolver, type SipServer } from "./dns-targets.js";
import type { DialogEntry, DialogParticipant, LineState } from "./dialog-info.js";
import { DialogNotifier, DialogWatchers } from "./dialog-package.js";
import { EmergencyCall, emergencyRoutes, emergencyTestCall, type EmergencyCallOptions, type EmergencyRoute, type EmergencyTestOptions, type EmergencyTestResult, type RouteHost } from "./emergency-call.js";
import { EmergencyDressing, rewriteEmergencyIncoming, sipToServiceUrn } from "./emergency-invite.js";
import type { MediaPort } from "./media-port.js";
import { fixRegisterExpires } from "./message-fixes.js";
import { ALONE_RING_MS, CALLER_HEADER, DelegateFork, HANDOVER_MS, NameAddrUri, allowsRefer, forkCallerOf } from "./delegate-fork.js";
import { SdhAdapter, type HoldOptions } from "./sdh-adapter.js";
import { NodeTransport, type NodeTransportOptions, type TransportTarget } from "./transport/node-transport.js";

export type { SipServer } from "./dns-targets.js";
export type { EmergencyCallOptions, EmergencyTestOptions, EmergencyTestResult } from "./emergency-call.js";
export type { LineState } from "./dialog-info.js";

export interface SipAccount {
  /** The extension / user part of the address of record. */
  user: string;
  /** The digest password. Never logged. */
  password: string;
  /** The digest user name when it differs from `user`. */
  authUser?: string;
  displayName?: string;
  /** The SIP domain of the address of record (sip:user@domain). */
  domain: string;
  /** Registrars in order of preference: the first that works is used; the next ones are failover. */
  servers: SipServer[];
  /** Registration lifetime asked for (s). */
  expires?: number;
  /** Send calls with `Privacy: id` (RFC 3323/3325): the PBX withholds our identity from the callee. */
  hideCallerId?: boolean;
  /** PEM CA certificates trusted for TLS (the system's when absent). */
  caCerts?: string[];
  /** Subscribe to message-summary (RFC 3842) for voicemail waiting. */
  mwi?: boolean;
  /** Where each call's end-of-call voice quality report goes (RFC 6035 PUBLISH, Event: vq-rtcpxr); none when absent. */
  qualityCollector?: string;
  /**
   * Other ways out for emergency calls (a second proxy, an SBC), in order: used when the account is not registered or
   * the INVITE over the registered connection fails (transport error, no answer, 408, 5xx...). Each is reached over a
   * connection of its own, without registering. A TLS one that does not connect is retried at once over TCP to the
   * same host (its `fallbackTcpPort`, see SipServer).
   */
  emergencyRoutes?: SipServer[];
  /**
   * This device's instance id (a UUID, the same across restarts: sip/instance-id.ts). When set, the REGISTER Contact
   * carries `+sip.instance="<urn:uuid:ID>"` (RFC 5626 §4.1; sip.js always sends `Supported: path, gruu` on REGISTER),
   * so a registrar that supports RFC 5627 hands out a public GRUU, which sip.js then uses as the Contact of the calls
   * over the registered connection, emergency calls included (ED-63: a globally routable Contact, for the PSAP's
   * callback). Absent: the phone registers with a plain Contact, as before.
   */
  instanceId?: string;
}

export interface SipTuning {
  /** Retry delays after a failure: first, doubling to at most `max` (ms). */
  backoffMs: { first: number; max: number };
  /** UDP: an OPTIONS ping to the registrar this often (ms; 0 = off) finds a server gone without a connection. */
  pingMs: number;
  /** How long a ping may go unanswered before the server counts as gone (ms). */
  pingTimeoutMs: number;
  /** TCP/TLS CRLF keep-alive (ms). */
  keepAliveMs: number;
  /** Refresh registration at this % of the granted lifetime (sip.js allows 50-99; sipjs-node.md advises 85-90). */
  refreshFrequency: number;
  /** Emergency location updates by re-INVITE: at most one per this many ms (RFC 6881 ED-38: 10 s, the default). */
  locationUpdateMinMs?: number;
  /** An emergency route that sends no response at all (not even 100 Trying) within this is left for the next (ms; default 4000; 0 = wait for Timer B). */
  emergencyAnswerMs?: number;
  /** A TCP/TLS connection to an emergency route not up within this fails (ms; default 3000). */
  emergencyConnectMs?: number;
  /** An emergency test call with no final answer within this is given up (ms; default 30000). */
  emergencyTestMs?: number;
  /** Most watchers of this phone's dialogs at once (RFC 4235 subscriptions; default 16): more are refused 503. */
  dialogWatchersMax?: number;
}

export const DEFAULT_SIP_TUNING: SipTuning = { backoffMs: { first: 1000, max: 60_000 }, pingMs: 30_000, pingTimeoutMs: 8000, keepAliveMs: 30_000, refreshFrequency: 85 };

/** "answered-elsewhere": the caller's CANCEL said the call was answered on another branch (RFC 3326 Reason cause=200,
 * "Call completed elsewhere": a delegate, or another of the user's devices, took it); not a missed call. */
export type SipEndReason = "remote-hangup" | "busy" | "rejected" | "not-found" | "unavailable" | "cancelled" | "answered-elsewhere" | "failed" | "transferred" | "forwarded" | "local-hangup";

export interface SipRegistration {
  state: "registering" | "registered" | "failed";
  server: string;
  reason: string;
}

export interface SipPhoneEvents {
  registration(r: SipRegistration): void;
  /** The id the phone will give the next incoming call (asked first, so the call is known to SIP before the phone acts on it). */
  nextCallId(): number;
  /**
   * A call arrived (the phone may answer, reject or forward it before this returns). `to`: the user part of the To
   * header, the number the caller dialled: the account's own user, its private number (an alias of it on the
   * server), or a boss's number when the server forked the boss's call to this delegate. `actualCaller`: who really
   * placed the call when the server asserts (P-Asserted-Identity) another of its users than the From header names,
   * i.e. a delegate calling on behalf of its boss: `remote`/`number` are the boss, `actualCaller` the delegate.
   * `rungByBoss`: the boss's own phone rang this delegate (delegate-fork.ts); `to` is the boss, `remote` the real caller.
   */
  incoming(callId: number, info: { remote: { uri: string; name?: string }; number: string; to: string; ring?: "standard" | "double" | "triple" | "short"; actualCaller?: { uri: string; number: string; name?: string }; rungByBoss?: boolean }): void;
  progress(callId: number, state: "ringing" | "early" | "connected"): void;
  held(callId: number, held: boolean): void;
  remoteHold(callId: number, held: boolean): void;
  ended(callId: number, reason: SipEndReason, code?: number): void;
  /** The far end transferred call `callId` (REFER): the phone now calls `number` as call `newCallId`. */
  referred(callId: number, newCallId: number, remote: { uri: string; number: string }): void;
  mwi(waiting: boolean, count: number): void;
  /** An emergency call was answered: whether the INVITE answered carried the location (a refusal may drop it). */
  emergencyAnswered?(callId: number, carriedLocation: boolean): void;
  /**
   * A SIP MESSAGE arrived (already answered 200). `from` is its From (user = the user part). Delegation notices come
   * as `application/vnd.deskphone.delegation+json` (read them with delegation-notice.ts); text/plain as it is.
   */
  message?(from: { uri: string; user: string; name?: string }, contentType: string, body: string): void;
  /** Ringing delegates from this phone (ringDelegates): `delegate` answered incoming call `callId`, which is handed
   * to it and ends here ("answered-elsewhere") right after. */
  delegateAnswered?(callId: number, delegate: string, caller: { uri: string; number: string; name?: string }): void;
  /** Call `callId` was replaced by an INVITE with Replaces (RFC 3891): it goes on, with this far end now. */
  replaced?(callId: number, remote: { uri: string; number: string; name?: string }): void;
  /** The line state of a number watched with watchDialogs() (RFC 4235 dialog package); "unknown" without a subscription. */
  dialogState?(number: string, state: LineState): void;
}

interface CallRecord {
  session: Session;
  /** The final reason, when this side decided it (reject, forward, transfer, hang up). */
  why?: SipEndReason;
  code?: number;
  connected: boolean;
  /** Who the call is with, for the dialog package (absent when withheld, or on the private line). */
  remote?: DialogParticipant;
  /** An outgoing call got a provisional response (RFC 4235: early rather than trying). */
  progressed?: boolean;
  /**
   * A call to another number than the user's own: its private number (an alias), or a boss's call forked to this
   * delegate. Watchers learn only that the line is in use (the private line is unpublished; a boss's call is not ours).
   */
  otherLine?: boolean;
  /** This session was replaced by another (an INVITE with Replaces, RFC 3891): its end is not the call's end. */
  replaced?: boolean;
  /** The delegates this phone rings for this call (ringDelegates). */
  fork?: DelegateFork;
  /** Handed to a delegate who answered: the call ended here already ("answered-elsewhere"). */
  handedOver?: boolean;
  /** A boss's phone rang this delegate (a leg offered on hold until the caller replaces it): no remote-hold event. */
  rungByBoss?: boolean;
  /** Incoming: who calls, as shown (P-Asserted-Identity, else From; "Anonymous" when withheld). */
  caller?: { uri: string; number: string; name?: string; hidden: boolean };
  /** Incoming: the caller's INVITE said it takes REFER (its Allow lists it, or it has no Allow). */
  takesRefer?: boolean;
}

/**
 * The ring a caller's PBX asks for in Alert-Info (RFC 3261 §20.4): the Bellcore distinctive-ring names most PBXs send
 * (`info=Bellcore-dr2`, or in the URI), and RFC 7462's `<urn:alert:service:...>` for an internal/external call
 * (internal rings double, as on most desk phones). Unknown values ring normally.
 */
export function ringFromAlertInfo(header: string): "standard" | "double" | "triple" | "short" | undefined {
  const dr = /bellcore-dr([1-5])/i.exec(header)?.[1];
  if (dr) return (["standard", "double", "triple", "short", "short"] as const)[Number(dr) - 1];
  if (/urn:alert:source:internal|info=alert-internal/i.test(header)) return "double";
  return undefined;
}

/**
 * The dialog an INVITE replaces (RFC 3891 §6.1): from its Replaces header, or, from a transferee that puts the
 * Refer-To URI's headers into the To URI instead (baresip 1.0: `To: <sip:b@h?Replaces=id?to-tag?x?from-tag?y>`, its
 * unescaping turning ';' and '=' into '?'), from there. Undefined when the INVITE replaces nothing.
 */
export function replacesOf(header: string | undefined, to: string | undefined): { callId: string; toTag?: string; fromTag?: string } | undefined {
  let text = header?.trim();
  if (!text) {
    const m = /[?&]Replaces=([^>&]*)/i.exec(to ?? "");
    if (!m) return undefined;
    try {
      text = decodeURIComponent(m[1]);
    } catch {
      text = m[1];
    }
  }
  const parts = text.split(/[;?=]/).map((x) => x.trim());
  const callId = parts[0];
  if (!callId) return undefined;
  const after = (name: string): string | undefined => {
    const i = parts.findIndex((p, k) => k > 0 && p.toLowerCase() === name);
    return i > 0 ? parts[i + 1] : undefined;
  };
  return { callId, ...(after("to-tag") ? { toTag: after("to-tag") } : {}), ...(after("from-tag") ? { fromTag: after("from-tag") } : {}) };
}

/** Words for a failed registration's status code. */
export function registrationReason(code: number, phrase: string): string {
  if (code === 401 || code === 407) return "Wrong user name or password";
  if (code === 403) return "Not allowed by the server (403)";
  if (code === 404) return "Unknown extension (404)";
  if (code === 408) return "Server not answering";
  if (code === 503) return "Server not reachable";
  return `Server refused: ${code} ${phrase}`;
}

function endReason(code: number): SipEndReason {
  if (code === 486 || code === 600) return "busy";
  if (code === 603) return "rejected";
  if (code === 404 || code === 484 || code === 604) return "not-found";
  if (code === 480 || code === 408 || code === 410) return "unavailable";
  if (code === 487) return "cancelled";
  return "failed";
}

/** Whether a CANCEL's Reason headers (RFC 3326) say the call was answered elsewhere: SIP cause 200, or the words. */
export function answeredElsewhere(reasons: string[]): boolean {
  return reasons.some((r) =>
    r
      .split(",")
      .some((one) => (/^\s*sip\s*;/i.test(one) && /;\s*cause\s*=\s*200\b/i.test(one)) || /completed elsewhere/i.test(one)),
  );
}

/** Parses an RFC 3842 message-summary body. */
export function parseMessageSummary(body: string): { waiting: boolean; count: number } {
  const waiting = /^Messages-Waiting[ \t]*:[ \t]*yes/im.test(body);
  const voice = /^Voice-Message[ \t]*:[ \t]*(\d+)\s*\/\s*(\d+)/im.exec(body);
  return { waiting, count: voice ? Number(voice[1]) : 0 };
}

let sipTimersSet = false;
/**
 * sip.js's transaction timers D, I, J and K are 0 (it assumes reliable transports); RFC 3261 wants them on UDP.
 * `Core.Timers` is one shared object read at run time; the values below are right for UDP and harmless on TCP/TLS
 * (a finished transaction lingers a few seconds). Set once per process: it is the library's global, not ours.
 */
function setUdpTransactionTimers(): void {
  if (sipTimersSet) return;
  sipTimersSet = true;
  Object.assign(Core.Timers, { TIMER_D: 32_000, TIMER_I: 5000, TIMER_J: 32_000, TIMER_K: 5000 });
}

export class SipPhone {
  private ua: UserAgent | undefined;
  private transport: NodeTransport | undefined;
  private registerer: Registerer | undefined;
  private subscriber: Subscriber | undefined;
  private target: TransportTarget | undefined;
  private serverIndex = 0;
  private targetQueue: TransportTarget[] = [];
  private failures = 0;
  private retry: Timer | undefined;
  private ping: Timer | undefined;
  private stopped = false;
  private readonly calls = new Map<number, CallRecord>();
  /** Each session's description handler, to read its media at the end of the call (sip.js may drop its own reference). */
  private readonly sdhs = new WeakMap<Session, SdhAdapter>();
  /** Emergency calls by call id (their current session is in `calls` as well). */
  private readonly emergencies = new Map<number, EmergencyCall>();
  /** Calls handed to a delegate and not yet let go (handOver): ended at stop(). */
  private readonly handovers = new Set<{ end(): void }>();
  private lastEmergency: EmergencyCall | undefined;
  /** The unregistered user agents emergency calls opened (closed with their call, and all at stop()). */
  private readonly routeUas = new Set<UserAgent>();
  /** Multipart/PIDF-LO dressing of marked emergency INVITEs, for every transport's outgoing hook. */
  private readonly dressing: EmergencyDressing;
  /** Emergency test calls under way: their responses as received, by Call-ID (the text/plain echo, ED-78). */
  private readonly testWatch = new Map<string, (raw: string) => void>();
  private reg: SipRegistration = { state: "registering", server: "", reason: "" };
  /** The dialog package's notifier: watchers (delegates, busy lamp fields) of this phone's calls. */
  private readonly notifier: DialogNotifier;
  /** The dialog package's subscriber side: the numbers this phone watches (a delegate's bosses). */
  private readonly watchers: DialogWatchers;
  private dialogWatchersAllowed: string[] | undefined;

  constructor(
    private readonly account: SipAccount,
    private readonly media: MediaPort,
    private readonly events: SipPhoneEvents,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly tuning: SipTuning = DEFAULT_SIP_TUNING,
    private readonly resolver: Resolver = systemResolver,
    private readonly transportExtras: Partial<NodeTransportOptions> = {},
  ) {
    if (!account.servers.length) throw new Error("the SIP account has no server");
    if (account.instanceId !== undefined && !isUuid(account.instanceId)) throw new Error(`the SIP account's instance id '${account.instanceId}' is not a UUID`);
    setUdpTransactionTimers();
    this.dressing = new EmergencyDressing({ username: account.authUser ?? account.user, password: account.password });
    this.notifier = new DialogNotifier({
      clock,
      log,
      aor: () => `sip:${account.user}@${account.domain}`,
      users: () => [account.user],
      snapshot: () => this.dialogSnapshot(),
      allowed: () => this.dialogWatchersAllowed,
      ...(tuning.dialogWatchersMax !== undefined ? { maxWatchers: tuning.dialogWatchersMax } : {}),
    });
    this.watchers = new DialogWatchers({
      clock,
      log,
      ua: () => this.ua,
      target: (n) => this.targetUri(n),
      backoffMs: tuning.backoffMs,
      report: (n, st) => this.events.dialogState?.(n, st),
    });
  }

  get registration(): SipRegistration {
    return this.reg;
  }

  /** The transport now in use (tests drop it to simulate a network failure). */
  get currentTransport(): NodeTransport | undefined {
    return this.transport;
  }

  async start(): Promise<void> {
    const ua: UserAgent = this.makeUserAgent(
      this.transportOptions(
        () => {
          if (!this.target) throw new Error("no SIP server chosen");
          return this.target;
        },
        () => ua,
        true,
      ),
      {
        onInvite: (inv) => this.onInvite(inv),
        onDisconnect: (err) => {
          if (err) this.lost(err.message);
        },
        onNotify: (n) => {
          n.accept().catch(() => undefined);
          if (/message-summary/i.test(n.request.getHeader("Event") ?? "")) {
            const m = parseMessageSummary(n.request.body ?? "");
            this.events.mwi(m.waiting, m.count);
          }
        },
        onMessage: (m) => this.onMessage(m),
        onSubscribeRequest: (req) => {
          if (this.stopped || this.signedOut) req.reject({ statusCode: 480 });
          else this.notifier.onSubscribe(req);
        },
      },
    );
    this.ua = ua;
    this.transport = ua.transport as NodeTransport;
    await this.connect();
  }

  /**
   * The options of a transport: the wire fixes in both directions (REGISTER Expires; multipart bodies and service URNs
   * for emergency calls, emergency-invite.ts) ahead of any the caller added; `main` = the registered connection.
   */
  private transportOptions(target: () => TransportTarget, ua: () => UserAgent | undefined, main: boolean): NodeTransportOptions {
    const extras = this.transportExtras;
    return {
      clock: this.clock,
      log: this.log,
      caCerts: this.account.caCerts,
      keepAliveMs: this.tuning.keepAliveMs,
      ...extras,
      ...(main ? {} : { connectTimeoutMs: this.tuning.emergencyConnectMs ?? 3000 }),
      target,
      rewriteIncoming: (text) => {
        if (this.testWatch.size) this.peekTestResponse(text);
        const m = rewriteEmergencyIncoming(fixRegisterExpires(text));
        return extras.rewriteIncoming ? extras.rewriteIncoming(m) : m;
      },
      rewriteOutgoing: (text) => {
        const m = this.dressing.outgoing(text);
        return extras.rewriteOutgoing ? extras.rewriteOutgoing(m) : m;
      },
      onLocal: (local) => {
        const u = ua();
        if (u) this.setContact(u, local);
        if (main) extras.onLocal?.(local);
      },
    };
  }

  private makeUserAgent(transportOptions: NodeTransportOptions, delegate: UserAgentDelegate): UserAgent {
    const a = this.account;
    const uri = UserAgent.makeURI(`sip:${a.user}@${a.domain}`);
    if (!uri) throw new Error(`'sip:${a.user}@${a.domain}' is not a SIP address`);
    return new UserAgent({
      uri,
      transportConstructor: NodeTransport,
      transportOptions,
      authorizationUsername: a.authUser ?? a.user,
      authorizationPassword: a.password,
      displayName: a.displayName ?? "",
      contactName: a.user,
      // the same id the REGISTER Contact carries (register()); sip.js puts it nowhere else (instanceIdAlwaysAdded off:
      // the id names the device for good, so only the registrar learns it; calls carry the GRUU instead)
      ...(a.instanceId ? { instanceId: a.instanceId.toLowerCase() } : {}),
      viaHost: "127.0.0.1",
      forceRport: true,
      userAgentString: "deskphone/0.1 (sip.js 0.21.2)",
      logBuiltinEnabled: false,
      // sip.js's own log: warnings at debug level; everything at trace (it never prints the password; Authorization
      // headers are in the message dumps it does not make at these levels)
      logLevel: this.log.level === "trace" ? "debug" : "warn",
      logConnector: (level, category, _label, content) => {
        if (this.log.level === "trace") this.log.trace({ sipjs: category, level }, content);
        else if (level === "error" || level === "warn") this.log.debug({ sipjs: category }, content);
      },
      sessionDescriptionHandlerFactory: (session) => {
        const id = this.idOf(session);
        const emergency = id !== undefined && this.emergencies.has(id);
        const sdh = new SdhAdapter(
          this.media.open(`call-${id ?? "?"}`),
          (held) => {
            const cid = this.idOf(session);
            if (cid !== undefined && !this.calls.get(cid)?.rungByBoss) this.events.remoteHold(cid, held);
          },
          emergency ? { emergency: true } : {},
        );
        this.sdhs.set(session, sdh);
        return sdh;
      },
      delegate,
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.retry?.cancel();
    this.ping?.cancel();
    // the watchers hear this phone is gone (NOTIFY terminated), and its own subscriptions end (unSUBSCRIBE)
    const connected = !!this.transport?.isConnected();
    const farewell = this.notifier.terminateAll("noresource", connected);
    this.watchers.stop();
    for (const [id] of this.calls) this.hangup(id);
    for (const h of [...this.handovers]) h.end();
    for (const e of [...this.emergencies.values()]) e.dispose();
    for (const u of [...this.routeUas]) this.closeRouteUa(u);
    const ua = this.ua;
    if (!ua) return;
    try {
      const r = this.registerer;
      // unREGISTER and wait for its answer (unregister() resolves once it is sent: a 200 arriving after the
      // connection is closed leaves sip.js's registration timers running until Timer F), but never wait long for a
      // server that is gone (sip.js would wait 32 s, Timer F)
      const unregistered =
        r?.state === RegistererState.Registered && connected
          ? new Promise<void>((resolve) => {
              r.stateChange.addListener((st) => st !== RegistererState.Registered && resolve());
              r.unregister().catch(() => resolve());
            })
          : Promise.resolve();
      if (connected) await Promise.race([Promise.all([unregistered, farewell]), this.clock.sleep(1000)]);
    } finally {
      await this.transport?.dispose().catch(() => undefined);
    }
  }

  /** The user signed out: unREGISTER and stop keeping the registration alive (the connection stays, so an emergency
   * call can still go out). */
  signOut(): void {
    this.signedOut = true;
    this.retry?.cancel();
    this.ping?.cancel();
    this.forgetGruu();
    const r = this.registerer;
    this.registerer = undefined;
    this.subscriber?.dispose().catch(() => undefined);
    this.subscriber = undefined;
    // signed out: this phone's own watches pause; those watching it are told to come back later (RFC 6665 §4.1.3:
    // "deactivated" means subscribe again, while "noresource" would tell them the line is gone for good)
    this.watchers.suspend();
    void this.notifier.terminateAll("deactivated", true);
    if (r?.state === RegistererState.Registered) r.unregister().catch(() => undefined);
    this.reg = { state: "registering", server: "", reason: "" }; // so the next line is reported
    this.setReg({ state: "failed", server: this.describe(this.target), reason: "Signed out" });
  }

  /** Signs in again after signOut(). */
  signIn(): void {
    if (!this.signedOut) return;
    this.signedOut = false;
    this.failures = 0;
    if (this.transport?.isConnected()) this.register();
    else void this.reconnect();
  }

  private signedOut = false;

  // ---- registration supervisor ----

  private setReg(r: SipRegistration): void {
    if (r.state === this.reg.state && r.reason === this.reg.reason && r.server === this.reg.server) return;
    this.reg = r;
    this.log.info({ state: r.state, server: r.server, reason: r.reason }, "SIP registration");
    this.events.registration(r);
  }

  private describe(t: TransportTarget | undefined): string {
    return t ? `${t.protocol.toLowerCase()}:${t.serverName ?? t.host}:${t.port}` : "";
  }

  private setContact(ua: UserAgent, local: { address: string; port: number; protocol: string }): void {
    // sip.js builds the Contact from viaHost with no port (sipjs-node.md): the real address, port and transport go in here.
    // Only the registered Contact's URI changes, in place: the GRUUs sip.js keeps beside it (ua.contact.pubGruu and
    // tempGruu, from the 200 to REGISTER) and the +sip.instance the Registerer adds to it (register()) stay
    ua.contact.uri.host = local.address;
    ua.contact.uri.port = local.port;
    ua.contact.uri.setParam("transport", local.protocol.toLowerCase());
  }

  private async nextTarget(): Promise<TransportTarget> {
    if (!this.targetQueue.length) {
      const server = this.account.servers[this.serverIndex % this.account.servers.length];
      this.targetQueue = await resolveServer(server, this.resolver);
    }
    const t = this.targetQueue[0];
    return t;
  }

  /** After a failure, the next attempt goes to the next address, then the next server (failover), round the list. */
  private advanceTarget(): void {
    this.targetQueue.shift();
    if (!this.targetQueue.length) this.serverIndex = (this.serverIndex + 1) % this.account.servers.length;
  }

  private async connect(): Promise<void> {
    if (this.stopped || !this.ua || !this.transport) return;
    this.setReg({ state: "registering", server: this.describe(this.target), reason: "" });
    try {
      this.target = await this.nextTarget();
      this.setReg({ state: "registering", server: this.describe(this.target), reason: "" });
      if (this.ua.state === "Started") await this.transport.connect();
      else await this.ua.start();
    } catch (e) {
      this.fail((e as Error).message, true);
      return;
    }
    this.register();
  }

  private register(): void {
    const ua = this.ua;
    if (!ua || this.stopped || this.signedOut) return;
    const registrar = UserAgent.makeURI(`sip:${this.account.domain}`) as URI;
    // a new registration (a new connection, perhaps to another server): a GRUU is ours again only once its 200 says so
    this.forgetGruu(ua);
    const instance = this.account.instanceId?.toLowerCase();
    const registerer = new Registerer(ua, {
      expires: this.account.expires ?? 600,
      refreshFrequency: this.tuning.refreshFrequency,
      registrar,
      // RFC 5627 §3.2: +sip.instance (with sip.js's `Supported: gruu`) asks the registrar for GRUUs. No reg-id: that
      // would ask for RFC 5626 outbound flows, which this phone does not keep (sip.js's regId option adds one)
      ...(instance ? { extraContactHeaderParams: [`+sip.instance="<urn:uuid:${instance}>"`] } : {}),
    });
    this.registerer = registerer;
    registerer.stateChange.addListener((s) => {
      if (this.registerer !== registerer || this.stopped) return;
      if (s === RegistererState.Registered) {
        this.failures = 0;
        this.noteGruu(ua);
        this.setReg({ state: "registered", server: this.describe(this.target), reason: "" });
        this.armPing();
        if (this.account.mwi) this.subscribeMwi();
        this.watchers.resume();
      } else if (s === RegistererState.Unregistered && this.reg.state === "registered") {
        // the registration ran out without a refresh: start over
        this.fail("Registration expired", false);
      }
    });
    registerer
      .register({
        requestDelegate: {
          onReject: (resp) => {
            if (this.registerer !== registerer) return;
            const code = resp.message.statusCode ?? 0;
            this.fail(registrationReason(code, resp.message.reasonPhrase ?? ""), code === 408 || code === 503);
          },
        },
      })
      .catch((e: Error) => this.fail(e.message, true));
  }

  /** The GRUU last logged (to log each new one once, not at every refresh). */
  private gruuLogged: string | undefined;

  /** Registered: says which Contact calls over the registered connection carry (a GRUU, or the plain one). */
  private noteGruu(ua: UserAgent): void {
    if (!this.account.instanceId) return;
    const gruu = ua.contact.pubGruu?.toString() ?? "";
    if (gruu === this.gruuLogged) return;
    this.gruuLogged = gruu;
    if (gruu) this.log.info({ gruu }, "public GRUU from the registrar: the Contact of calls, emergency calls included (ED-63)");
    else this.log.warn({ server: this.describe(this.target) }, "the registrar gave no GRUU: calls carry the registered Contact");
  }

  /** The registration is gone or being made again: the GRUUs it gave no longer route here. */
  private forgetGruu(ua: UserAgent | undefined = this.ua): void {
    if (!ua) return;
    ua.contact.pubGruu = undefined;
    ua.contact.tempGruu = undefined;
  }

  private subscribeMwi(): void {
    if (!this.ua || this.subscriber) return;
    const target = UserAgent.makeURI(`sip:${this.account.user}@${this.account.domain}`) as URI;
    const sub = new Subscriber(this.ua, target, "message-summary", { expires: 3600 });
    sub.delegate = {
      onNotify: (n) => {
        n.accept().catch(() => undefined);
        const m = parseMessageSummary(n.request.body ?? "");
        this.events.mwi(m.waiting, m.count);
      },
    };
    this.subscriber = sub;
    sub.subscribe().catch((e: Error) => this.log.warn({ err: e.message }, "message-summary subscription failed"));
  }

  /** A failure: "No service" with the reason, then a retry after a growing delay (to the next server if `move`). */
  private fail(reason: string, move: boolean): void {
    if (this.stopped || this.signedOut) return;
    this.ping?.cancel();
    this.forgetGruu();
    this.failures++;
    this.setReg({ state: "failed", server: this.describe(this.target), reason });
    if (move || this.failures > 2) this.advanceTarget();
    const delay = Math.min(this.tuning.backoffMs.max, this.tuning.backoffMs.first * 2 ** Math.min(this.failures - 1, 16));
    this.retry?.cancel();
    this.retry = this.clock.setTimeout(() => void this.reconnect(), delay);
  }

  private lost(why: string): void {
    if (this.stopped) return;
    this.log.warn({ why, server: this.describe(this.target) }, "SIP connection lost");
    // the registration went with the connection: its refresh timers must not fire on the next one
    this.registerer?.dispose().catch(() => undefined);
    this.registerer = undefined;
    this.subscriber = undefined;
    this.watchers.suspend();
    this.fail(`Connection lost (${why})`, true);
  }

  private async reconnect(): Promise<void> {
    if (this.stopped || !this.transport) return;
    // a registration still up (UDP: no connection to lose, the server stopped answering) must not go on refreshing
    // beside the next one; disposed now, while the Contact is still the old one (its unREGISTER names that one)
    this.registerer?.dispose().catch(() => undefined);
    this.registerer = undefined;
    this.subscriber?.dispose().catch(() => undefined);
    this.subscriber = undefined;
    // a new target means a new connection; on UDP the socket is reopened too so the Contact is fresh
    await this.transport.disconnect().catch(() => undefined);
    await this.connect();
  }

  /** UDP has no connection to lose: an unanswered OPTIONS tells that the server is gone. */
  private armPing(): void {
    this.ping?.cancel();
    if (!this.tuning.pingMs || this.target?.protocol !== "UDP") return;
    this.ping = this.clock.setInterval(() => this.sendPing(), this.tuning.pingMs);
  }

  private sendPing(): void {
    const ua = this.ua;
    if (!ua || !this.transport?.isConnected()) return;
    const core = ua.userAgentCore;
    const to = UserAgent.makeURI(`sip:${this.account.domain}`) as URI;
    const from = UserAgent.makeURI(`sip:${this.account.user}@${this.account.domain}`) as URI;
    const msg = core.makeOutgoingRequestMessage("OPTIONS", to, from, to, {});
    let answered = false;
    const deadline = this.clock.setTimeout(() => {
      if (!answered) this.fail("Server not answering", true);
    }, this.tuning.pingTimeoutMs);
    core.request(msg, {
      onAccept: () => {
        answered = true;
        deadline.cancel();
      },
      onReject: (r) => {
        // any answer means the server is alive; a timeout/transport error (408/503 made up by sip.js) means it is not
        const code = r.message.statusCode ?? 0;
        if (code === 408 || code === 503) return;
        answered = true;
        deadline.cancel();
      },
    });
  }

  // ---- calls ----

  private idOf(session: Session): number | undefined {
    for (const [id, c] of this.calls) if (c.session === session) return id;
    return undefined;
  }

  private targetUri(target: string): URI {
    const text = /^sips?:/.test(target) ? target : target.includes("@") ? `sip:${target}` : `sip:${target}@${this.account.domain}`;
    const uri = UserAgent.makeURI(text);
    if (!uri) throw new Error(`'${target}' is not a number or SIP address`);
    return uri;
  }

  private watch(id: number, rec: CallRecord): void {
    rec.session.stateChange.addListener((s) => {
      this.notifier.changed();
      if (s === SessionState.Established && !rec.connected && !rec.handedOver) {
        rec.connected = true;
        this.events.progress(id, "connected");
      }
      if (s === SessionState.Terminated) {
        rec.fork?.stop();
        if (rec.replaced || rec.handedOver) return; // the call goes on in the session that replaced it, or a delegate's
        this.calls.delete(id);
        if (rec.connected) this.reportQuality(rec.session);
        // sip.js moves to Terminated before it hands the final response to onReject: read the code a turn later
        queueMicrotask(() => {
          const reason = rec.why ?? (rec.connected ? "remote-hangup" : rec.code ? endReason(rec.code) : "failed");
          this.events.ended(id, reason, rec.code);
        });
      }
    });
  }

  /** RFC 6035: the call's voice quality report, PUBLISHed to the collector the account names (once, at the end). */
  private reportQuality(session: Session): void {
    const collector = this.account.qualityCollector;
    // the call's own user agent: an emergency call may have gone over a connection of its own
    const ua = session.userAgent ?? this.ua;
    const media = this.sdhs.get(session)?.media;
    if (!collector || !ua || !media?.qualityReport) return;
    const request = (session as Inviter | Invitation).request;
    const id = (n: { uri: URI }): string => sipToServiceUrn(n.uri.toString());
    const body = media.qualityReport({ callId: request.callId, localId: id(session.localIdentity), remoteId: id(session.remoteIdentity), origId: id(session instanceof Inviter ? session.localIdentity : session.remoteIdentity) });
    const to = UserAgent.makeURI(collector);
    if (!body || !to) return;
    const core = ua.userAgentCore;
    const from = UserAgent.makeURI(`sip:${this.account.user}@${this.account.domain}`) as URI;
    const msg = core.makeOutgoingRequestMessage("PUBLISH", to, from, to, {}, ["Event: vq-rtcpxr"], { contentDisposition: "render", contentType: "application/vq-rtcpxr", content: body });
    core.request(msg, {
      onAccept: () => this.log.info({ collector }, "call quality report published"),
      onReject: (r) => this.log.warn({ collector, code: r.message.statusCode }, "the quality collector refused the report"),
    });
  }

  /**
   * Places a call. `onBehalfOf` (a delegate calling for a boss): the INVITE carries `P-Preferred-Identity:
   * <sip:BOSS@domain>` (RFC 3325); From stays this phone's own address of record, and the server decides whether the
   * far end sees the boss (it asserts the boss's identity only for the boss's delegates).
   */
  place(callId: number, target: string, opts: { emergency: boolean; onBehalfOf?: string }): void {
    const ua = this.ua;
    if (!ua) {
      this.events.ended(callId, "failed");
      return;
    }
    let inviter: Inviter;
    try {
      const extraHeaders = this.account.hideCallerId && !opts.emergency ? ["Privacy: id"] : [];
      if (opts.emergency) extraHeaders.push("Priority: emergency");
      if (opts.onBehalfOf && !opts.emergency) extraHeaders.push(`P-Preferred-Identity: <${this.targetUri(opts.onBehalfOf).toString()}>`);
      inviter = new Inviter(ua, this.targetUri(target), { extraHeaders, earlyMedia: true });
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "cannot place the call");
      this.events.ended(callId, "not-found");
      return;
    }
    this.startInvite(callId, inviter);
  }

  /** Sends the INVITE of an outgoing call and follows it. */
  private startInvite(callId: number, inviter: Inviter): void {
    const rec: CallRecord = { session: inviter, connected: false, remote: { uri: inviter.remoteIdentity.uri.toString() } };
    this.calls.set(callId, rec);
    this.watch(callId, rec);
    this.notifier.changed();
    inviter.delegate = { onRefer: (referral) => this.onRefer(callId, referral) };
    inviter
      .invite({
        requestDelegate: {
          onProgress: (r) => {
            const code = r.message.statusCode ?? 0;
            if (code > 100 && !rec.progressed) {
              rec.progressed = true;
              this.notifier.changed();
            }
            if (code === 180) this.events.progress(callId, "ringing");
            else if (code === 183 && r.message.body) this.events.progress(callId, "early");
          },
          onReject: (r) => {
            rec.code = r.message.statusCode;
          },
        },
      })
      .catch((e: Error) => {
        this.log.warn({ err: e.message }, "INVITE failed");
        rec.why ??= "failed";
      });
  }

  // ---- emergency calls (shared standards emergency-location.md §3.9, §7 items 14, 15, 19-24) ----

  /**
   * Places an emergency call: INVITE to `urn:service:sos` (or `sip:<dialString>@<domain>;user=phone`) with
   * `Priority: emergency` and, given a PIDF-LO, the location by value (RFC 6442: Geolocation cid, Geolocation-Routing:
   * yes, multipart/mixed with the SDP first and the one PIDF-LO part last). It always goes out: over the registered
   * connection when there is one, else (or when that fails) over `account.emergencyRoutes` and the account's servers
   * on connections of its own, TLS falling back to TCP. A 424 (or a 415/488 to the multipart body) is retried at once
   * without the refused location. Reports through the usual events (progress, ended) under `callId`. Never throws.
   */
  placeEmergency(callId: number, dialString: string, opts: EmergencyCallOptions = {}): void {
    try {
      if (this.stopped) throw new Error("the SIP side is stopped");
      const routes = emergencyRoutes(this.routeHost());
      const call: EmergencyCall = new EmergencyCall(
        {
          clock: this.clock,
          log: this.log,
          domain: this.account.domain,
          dressing: this.dressing,
          updateMinMs: this.tuning.locationUpdateMinMs ?? 10_000,
          answerMs: this.tuning.emergencyAnswerMs ?? 4000,
          bind: (session) => {
            const rec = this.calls.get(callId);
            if (rec) rec.session = session;
            else this.calls.set(callId, { session, connected: false });
            this.notifier.changed();
          },
          onRefer: (referral) => this.onRefer(callId, referral),
          answered: (carried) => this.events.emergencyAnswered?.(callId, carried),
          progress: (state) => {
            const rec = this.calls.get(callId);
            if (state === "connected" && rec) rec.connected = true;
            if (rec) rec.progressed = true;
            this.notifier.changed();
            this.events.progress(callId, state);
          },
          ended: (reason, code) => {
            const rec = this.calls.get(callId);
            this.calls.delete(callId);
            if (this.emergencies.get(callId) === call) this.emergencies.delete(callId);
            if (rec?.connected) this.reportQuality(rec.session);
            this.notifier.changed();
            this.events.ended(callId, rec?.why ?? reason, code);
          },
          closeRoute: (route, linger) => this.closeRoute(route, linger),
        },
        routes,
        dialString,
        opts,
      );
      this.emergencies.set(callId, call);
      this.lastEmergency = call;
      this.log.warn({ callId, dial: dialString, location: !!opts.pidf, form: opts.requestUri ?? "service-urn" }, "EMERGENCY CALL");
      call.start();
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "cannot place the emergency call");
      this.events.ended(callId, "failed");
    }
  }

  /** The ways out an emergency call (or test) takes: the main connection, the emergency routes, the servers. */
  private routeHost(): RouteHost {
    return {
      log: this.log,
      main: () => (this.ua && this.transport?.isConnected() ? { ua: this.ua, registered: this.reg.state === "registered" && !this.signedOut, ...(this.transport.where ? { target: this.transport.where } : {}) } : undefined),
      open: (t) => this.openRouteUa(t),
      resolve: (server) => resolveServer(server, this.resolver),
      emergencyRoutes: this.account.emergencyRoutes ?? [],
      servers: this.account.servers,
    };
  }

  /**
   * The emergency test call (RFC 6881 ED-77/ED-78; shared standards §3.7 "Testing", TV-16): an INVITE to
   * `urn:service:test.sos` (or `opts.serviceUrn`) dressed as an emergency call with location (the SDP offer a real one
   * makes and the PIDF-LO in a multipart body, Geolocation cid, Geolocation-Routing: yes; Lync: Supported:
   * geolocation), over the way a real one goes (the registered connection; not registered, the emergency routes
   * first). On a 2xx it reads the text/plain echo (the 200's body, or its text/plain part beside the SDP) and ends the
   * call at once (ACK, BYE). Resolves with the final status and the echo: { 200, "..." }, { 404, "" } (no test
   * service), { 486, "" } (busy), any other code, or 0 when nothing answered. Never throws.
   *
   * No `Priority: emergency`: RFC 6881 asks no Priority of endpoints at all (§3.8), and ED-77 makes the test an
   * automated exchange with a test service, not an emergency call; the Priority header would ask every hop for
   * emergency treatment, and a Lync Front End takes it as the mark of an emergency call (MS-SIPRE 3.17.5.2: E911
   * routing, the security desk notified). The service URN alone says what the request is.
   *
   * Its own path: the user agent core only (no sip.js Session, no call id), so the phone core hears nothing of it
   * (no progress, no ended); the media offer is made but never started.
   */
  async emergencyTest(opts: EmergencyTestOptions = {}): Promise<EmergencyTestResult> {
    if (this.stopped) return { code: 0, text: "" };
    try {
      const routes = emergencyRoutes(this.routeHost());
      this.log.warn({ urn: opts.serviceUrn ?? "urn:service:test.sos", location: !!opts.pidf }, "EMERGENCY TEST CALL");
      return await emergencyTestCall(
        {
          clock: this.clock,
          log: this.log,
          domain: this.account.domain,
          dressing: this.dressing,
          answerMs: this.tuning.emergencyAnswerMs ?? 4000,
          deadlineMs: this.tuning.emergencyTestMs ?? 30_000,
          offer: async () => {
            const m = this.media.open("emergency-test");
            try {
              return { sdp: await m.createOffer({ hold: false, emergency: true }), close: () => m.close() };
            } catch (e) {
              m.close();
              throw e;
            }
          },
          watch: (callId, seen) => {
            this.testWatch.set(callId, seen);
            return () => {
              if (this.testWatch.get(callId) === seen) this.testWatch.delete(callId);
            };
          },
          closeRoute: (route, linger) => this.closeRoute(route, linger),
        },
        routes,
        opts,
      );
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "emergency test call failed");
      return { code: 0, text: "" };
    }
  }

  /** A response for an emergency test call under way, as received (its multipart body still whole). */
  private peekTestResponse(text: string): void {
    if (!text.startsWith("SIP/2.0 ")) return;
    const end = text.indexOf("\r\n\r\n");
    const id = /^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)/im.exec(end < 0 ? text : text.slice(0, end))?.[1];
    const seen = id ? this.testWatch.get(id) : undefined;
    seen?.(text);
  }

  /**
   * A new location during emergency call `callId` (RFC 6881 ED-38): sent by re-INVITE with the new PIDF-LO (same
   * multipart form), at most one per `tuning.locationUpdateMinMs` (10 s) after the last location sent; a newer one
   * replaces one still waiting, so only the latest goes. Ignored for other calls.
   */
  updateLocation(callId: number, pidf: string): void {
    try {
      this.emergencies.get(callId)?.updateLocation(pidf);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "emergency location update failed");
    }
  }

  /**
   * Emergency notification (item 24, TV-13): a SIP MESSAGE (text/plain; charset=UTF-8) to each URI, sent once the
   * latest emergency call's INVITE has left, over the same way out. The result is only logged: a failure (408, 500,
   * no route) has no effect on the call, and nothing here throws or waits in the caller.
   */
  notifyEmergency(uris: string[], text: string): void {
    const call = this.lastEmergency;
    const left = call ? call.inviteLeft : Promise.resolve();
    left
      .then(() => {
        for (const uri of uris) this.sendNotification(uri, text, call);
      })
      .catch((e: Error) => this.log.warn({ err: e.message }, "emergency notification not sent"));
  }

  private sendNotification(uri: string, text: string, call: EmergencyCall | undefined): void {
    try {
      const ua = call?.ua ?? this.ua;
      if (!ua || this.stopped) throw new Error("no SIP connection");
      const to = this.targetUri(uri);
      const core = ua.userAgentCore;
      const from = UserAgent.makeURI(`sip:${this.account.user}@${this.account.domain}`) as URI;
      const msg = core.makeOutgoingRequestMessage("MESSAGE", to, from, to, {}, [], { contentDisposition: "render", contentType: "text/plain; charset=UTF-8", content: text });
      core.request(msg, {
        onAccept: (r) => this.log.info({ uri, code: r.message.statusCode }, "emergency notification delivered"),
        onReject: (r) => this.log.warn({ uri, code: r.message.statusCode, reason: r.message.reasonPhrase }, "emergency notification not delivered (the call is not affected)"),
      });
      this.log.info({ uri }, "emergency notification sent");
    } catch (e) {
      this.log.warn({ uri, err: (e as Error).message }, "emergency notification not sent (the call is not affected)");
    }
  }

  /** A second user agent, not registered, on its own connection to `target` (an INVITE needs no registration). */
  private async openRouteUa(target: TransportTarget): Promise<UserAgent> {
    if (this.stopped) throw new Error("the SIP side is stopped");
    const ua: UserAgent = this.makeUserAgent(
      this.transportOptions(() => target, () => ua, false),
      {
        // a call to this connection's Contact (a PSAP callback) is a call like any other
        onInvite: (inv) => this.onInvite(inv),
        onDisconnect: (err) => {
          if (err) this.log.warn({ err: err.message, route: `${target.protocol.toLowerCase()}:${target.host}:${target.port}` }, "emergency route connection lost");
        },
        onNotify: (n) => n.accept().catch(() => undefined),
      },
    );
    this.routeUas.add(ua);
    try {
      await ua.start();
    } catch (e) {
      this.closeRouteUa(ua);
      throw e;
    }
    if (this.stopped) {
      this.closeRouteUa(ua);
      throw new Error("the SIP side is stopped");
    }
    return ua;
  }

  private closeRoute(route: EmergencyRoute, linger: boolean): void {
    if (!route.owned) return;
    const ua = route.ua;
    // a BYE or its answer may still be in flight when the call ends: the connection stays a moment
    if (linger && !this.stopped) this.clock.setTimeout(() => this.closeRouteUa(ua), 4000);
    else this.closeRouteUa(ua);
  }

  private closeRouteUa(ua: UserAgent): void {
    if (!this.routeUas.delete(ua)) return;
    const transport = ua.transport as NodeTransport;
    ua.stop()
      .catch(() => undefined)
      .finally(() => void transport.dispose().catch(() => undefined));
  }

  /**
   * An INVITE with Replaces (RFC 3891), e.g. a transfer completing: the call it names goes on with the new party. The
   * new session takes the call's id (the phone keeps one call: its far end changed), is accepted at once, and the
   * replaced session is ended. True when it was handled (a Replaces naming no call of ours is answered 481).
   */
  private replaceCall(inv: Invitation): boolean {
    const header = replacesOf(inv.request.getHeader("Replaces"), inv.request.getHeader("To"));
    if (!header) return false;
    const { callId, toTag, fromTag } = header;
    const tags = [toTag, fromTag];
    const found = [...this.calls].find(([, c]) => {
      const d = c.session.dialog;
      return !!d && d.callId === callId && tags.includes(d.localTag) && tags.includes(d.remoteTag);
    });
    if (!found || found[1].session.state !== SessionState.Established) {
      this.log.warn({ replaces: callId }, "an INVITE replacing a call this phone does not have: refused (481)");
      inv.reject({ statusCode: 481 }).catch(() => undefined);
      return true;
    }
    const [id, old] = found;
    old.replaced = true;
    const rec: CallRecord = { session: inv, connected: false };
    this.calls.set(id, rec);
    // the new session is this call now: its end ends the call (and must not report a second "connected")
    inv.stateChange.addListener((st) => {
      this.notifier.changed();
      if (st === SessionState.Established) rec.connected = true;
      if (st === SessionState.Terminated && this.calls.get(id) === rec) {
        this.calls.delete(id);
        queueMicrotask(() => this.events.ended(id, rec.why ?? "remote-hangup", rec.code));
      }
    });
    inv.delegate = { onRefer: (referral) => this.onRefer(id, referral) };
    const from = inv.remoteIdentity;
    this.log.info({ callId: id, by: from.uri.toString() }, "call replaced (RFC 3891): it goes on with a new party");
    inv
      .accept()
      .then(() => {
        this.events.replaced?.(id, { uri: from.uri.toString(), number: from.uri.user ?? "", ...(from.displayName ? { name: from.displayName } : {}) });
        old.session.bye().catch(() => undefined);
      })
      .catch((e: Error) => {
        this.log.warn({ err: e.message }, "the replacing call could not be answered: the old one stays");
        old.replaced = false;
        this.calls.set(id, old);
      });
    return true;
  }

  private onInvite(inv: Invitation): void {
    if (this.replaceCall(inv)) return;
    const paiText = inv.request.getHeader("P-Asserted-Identity");
    const pai = paiText ? Grammar.nameAddrHeaderParse(paiText) : undefined;
    const to = inv.request.to.uri.user ?? "";
    // a boss's phone ringing this delegate itself (delegate-fork.ts): From and To are the boss, the header names the
    // real caller, who is the one shown
    const f = inv.remoteIdentity;
    // (an asserted identity naming someone else than the boss means the header is not the boss's phone's word)
    const bossAsserted = !pai?.uri || pai.uri.user === to;
    const forked = to && to !== this.account.user && bossAsserted && f.uri?.user === to && f.uri.host === inv.request.to.uri.host ? forkCallerOf(inv.request.getHeader(CALLER_HEADER)) : undefined;
    const hidden = /(^|[;,\s])id([;,\s]|$)/i.test(inv.request.getHeader("Privacy") ?? "") || /@anonymous\.invalid\b/i.test(forked?.uri ?? "");
    const from = pai?.uri ? pai : inv.remoteIdentity;
    const uri = forked?.uri ?? from.uri?.toString() ?? "";
    const number = hidden ? "" : (forked?.number ?? from.uri?.user ?? "");
    const name = hidden ? "Anonymous" : forked ? forked.name : (from.displayName || undefined);
    // what the dialog package tells watchers: nothing of a withheld caller; of a call to another number (the
    // unpublished private line, a boss's call) not even its Call-ID and tags (no pickup of it by Replaces)
    const otherLine = !!to && to !== this.account.user && to !== this.account.authUser;
    const shown = !hidden && !otherLine && uri;
    const rec: CallRecord = {
      session: inv,
      connected: false,
      caller: { uri: hidden ? "sip:anonymous@anonymous.invalid" : uri, number, ...(name ? { name } : {}), hidden },
      takesRefer: allowsRefer(inv.request.getHeaders("Allow")),
      ...(otherLine ? { otherLine } : {}),
      ...(forked ? { rungByBoss: true } : {}),
      ...(shown ? { remote: { uri, ...(name ? { display: name } : {}) } } : {}),
    };
    // the record is in place before the phone hears of the call: it may reject or forward it at once (DND, forward)
    const id = this.events.nextCallId();
    this.calls.set(id, rec);
    this.watch(id, rec);
    this.notifier.changed();
    inv.delegate = {
      onCancel: (cancel) => {
        // RFC 3326: a forking proxy cancels the other branches once one answered (Reason: SIP;cause=200)
        rec.why = answeredElsewhere(cancel.request.getHeaders("Reason")) ? "answered-elsewhere" : "cancelled";
      },
      onRefer: (referral) => this.onRefer(id, referral),
    };
    const ring = ringFromAlertInfo(inv.request.getHeaders("Alert-Info").join(","));
    // a delegate calling on behalf of its boss: the server asserted the boss, From still names the delegate (one of
    // this domain's users: a From from elsewhere that differs from the asserted identity says nothing of the kind)
    const actual = !hidden && !forked && pai?.uri && f.uri?.user && f.uri.host === this.account.domain && f.uri.user !== pai.uri.user ? { uri: f.uri.toString(), number: f.uri.user, ...(f.displayName ? { name: f.displayName } : {}) } : undefined;
    this.events.incoming(id, { remote: { uri: hidden ? "sip:anonymous@anonymous.invalid" : uri, ...(name ? { name } : {}) }, number, to, ...(ring ? { ring } : {}), ...(actual ? { actualCaller: actual } : {}), ...(forked ? { rungByBoss: true } : {}) });
  }

  /** The far end transfers us (REFER, RFC 3515): accept, call the Refer-To target; the old call ends by its BYE. */
  private onRefer(callId: number, referral: Referral): void {
    referral.accept().catch(() => undefined);
    const to = referral.referTo.uri;
    const newId = this.events.nextCallId();
    let inviter: Inviter;
    try {
      // not referral.makeInviter(): its own progress NOTIFYs say "Subscription-State: terminated" on the first 1xx,
      // after which the transferor (baresip, seen) answers 481 and never learns the new call is up
      const target = to.clone();
      target.clearHeaders();
      const extraHeaders = this.account.hideCallerId ? ["Privacy: id"] : [];
      if (referral.replaces) extraHeaders.push(`Replaces: ${decodeURIComponent(referral.replaces)}`);
      if (referral.referredBy) extraHeaders.push(`Referred-By: ${referral.referredBy}`);
      if (!this.ua) throw new Error("no user agent");
      inviter = new Inviter(this.ua, target, { earlyMedia: true, extraHeaders });
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "cannot follow the transfer");
      return;
    }
    this.events.referred(callId, newId, { uri: to.toString(), number: to.user ?? "" });
    // RFC 3515 §2.4.4: the transferor learns how the new call went from NOTIFYs carrying a sipfrag; it hangs up on 200
    const old = this.calls.get(callId)?.session;
    const notify = (frag: string, final: boolean): void => {
      try {
        old?.dialog?.notify(undefined, {
          extraHeaders: ["Event: refer", `Subscription-State: ${final ? "terminated;reason=noresource" : "active;expires=60"}`],
          body: { contentDisposition: "render", contentType: "message/sipfrag;version=2.0", content: frag },
        });
      } catch (e) {
        this.log.debug({ err: (e as Error).message }, "transfer NOTIFY not sent");
      }
    };
    notify("SIP/2.0 100 Trying", false);
    let told = false;
    inviter.stateChange.addListener((st) => {
      if (told) return;
      if (st === SessionState.Established) notify("SIP/2.0 200 OK", (told = true));
      else if (st === SessionState.Terminated) notify("SIP/2.0 503 Service Unavailable", (told = true));
    });
    this.startInvite(newId, inviter);
  }

  answer(callId: number): void {
    const c = this.calls.get(callId);
    c?.fork?.stop();
    if (c?.session instanceof Invitation) c.session.accept().catch((e: Error) => this.log.warn({ err: e.message }, "answer failed"));
  }

  reject(callId: number, code: 486 | 603 | 480): void {
    const c = this.calls.get(callId);
    if (!(c?.session instanceof Invitation) || c.session.state !== SessionState.Initial) return;
    c.why = code === 486 ? "busy" : "rejected";
    c.session.reject({ statusCode: code }).catch(() => undefined);
  }

  forward(callId: number, target: string): void {
    const c = this.calls.get(callId);
    if (!(c?.session instanceof Invitation) || c.session.state !== SessionState.Initial) return;
    c.why = "forwarded";
    c.session.reject({ statusCode: 302, extraHeaders: [`Contact: <${this.targetUri(target).toString()}>`] }).catch(() => undefined);
  }

  hangup(callId: number): void {
    const e = this.emergencies.get(callId);
    if (e) {
      const r = this.calls.get(callId);
      if (r) r.why ??= "local-hangup";
      e.hangup();
      return;
    }
    const c = this.calls.get(callId);
    if (!c) return;
    c.why ??= "local-hangup";
    const s = c.session;
    const done = (e: Error): void => this.log.debug({ err: e.message }, "hang up");
    if (s.state === SessionState.Established) s.bye().catch(done);
    else if (s instanceof Inviter && (s.state === SessionState.Initial || s.state === SessionState.Establishing)) s.cancel().catch(done);
    else if (s instanceof Invitation && s.state === SessionState.Initial) s.reject({ statusCode: 603 }).catch(done);
  }

  hold(callId: number, hold: boolean): void {
    const c = this.calls.get(callId);
    if (!c || c.session.state !== SessionState.Established) return;
    const sdhOptions: HoldOptions = { hold };
    c.session
      .invite({ sessionDescriptionHandlerOptions: sdhOptions, requestDelegate: { onAccept: () => this.events.held(callId, hold) } })
      .catch((e: Error) => this.log.warn({ err: e.message }, "hold/resume failed"));
  }

  /** Blind transfer (REFER); the call ends once the far end took the REFER. */
  transfer(callId: number, target: string): void {
    const c = this.calls.get(callId);
    if (!c || c.session.state !== SessionState.Established) return;
    c.session
      .refer(this.targetUri(target), {
        requestDelegate: {
          onAccept: () => {
            c.why = "transferred";
            c.session.bye().catch(() => undefined);
          },
        },
      })
      .catch((e: Error) => this.log.warn({ err: e.message }, "transfer failed"));
  }

  /** Attended transfer: REFER the held call to the consulted party (Refer-To with Replaces, RFC 3891). */
  transferAttended(callId: number, toCallId: number): void {
    const a = this.calls.get(callId);
    const b = this.calls.get(toCallId);
    if (!a || !b) return;
    a.session
      .refer(b.session, {
        requestDelegate: {
          onAccept: () => {
            a.why = "transferred";
            b.why = "transferred";
            a.session.bye().catch(() => undefined);
            // the target ends the replaced dialog itself once the transferee's INVITE with Replaces arrives (RFC 3891);
            // ending it here at once would make that INVITE find nothing (481). One that does not support Replaces
            // would leave it up, so this side ends it after a grace period (a BYE crossing the target's: 481, harmless)
            this.clock.setTimeout(() => {
              if (b.session.state === SessionState.Established) b.session.bye().catch(() => undefined);
            }, 5000);
          },
        },
      })
      .catch((e: Error) => this.log.warn({ err: e.message }, "attended transfer failed"));
  }

  // ---- a boss's phone ringing its delegates (delegation.forking "phone": the PBX does not fork) ----

  /**
   * Rings `delegates` for incoming call `callId` (still ringing here) from this phone: delegate-fork.ts. The first to
   * answer gets the call (handOver); the boss answering, the caller giving up or the call being turned away here
   * cancels the others. `alone`: the phone itself does not ring (DND): when every delegate's leg ended unanswered,
   * the caller gets 486.
   */
  ringDelegates(callId: number, delegates: string[], opts: { alone?: boolean } = {}): void {
    const rec = this.calls.get(callId);
    const ua = this.ua;
    const inv = rec?.session;
    if (!ua || !rec || !(inv instanceof Invitation) || inv.state !== SessionState.Initial || rec.fork || !delegates.length) return;
    const boss = UserAgent.makeURI(`sip:${this.account.user}@${this.account.domain}`);
    const caller = rec.caller;
    if (!boss || !caller) return;
    if (!rec.takesRefer) {
      // the hand-over is a transfer: a caller that cannot be transferred stays with this phone alone
      this.log.warn({ callId }, "the caller's phone does not take REFER (its Allow): the delegates are not rung for this call");
      if (opts.alone) this.reject(callId, 486);
      return;
    }
    const fork = new DelegateFork({
      ua,
      log: this.log,
      boss,
      ...(this.account.displayName ? { bossName: this.account.displayName } : {}),
      caller: { uri: caller.uri, ...(caller.name ? { name: caller.name } : {}) },
      targetUri: (n) => this.targetUri(n),
      answered: (delegate, leg) => {
        ringing?.cancel();
        this.handOver(callId, rec, inv, delegate, leg);
      },
      // `alone`: this phone does not ring (DND, busy), so with no delegate left the caller is told busy
      ...(opts.alone ? { none: () => this.reject(callId, 486) } : {}),
    });
    rec.fork = fork;
    // `alone`: nothing here rings and no forward is armed, so the caller is not left ringing for ever
    const ringing = opts.alone
      ? this.clock.setTimeout(() => {
          if (this.calls.get(callId) !== rec || fork.taken) return;
          this.log.info({ callId }, "no delegate answered in time: the caller is told the boss is unavailable");
          fork.stop();
          this.reject(callId, 480);
        }, ALONE_RING_MS)
      : undefined;
    fork.start(delegates);
  }

  /**
   * A delegate answered a call this phone rang it for: the call ends here as answered elsewhere, the caller is
   * answered on hold and REFERred (RFC 3515) to the delegate's address of record with Replaces naming the delegate's
   * leg (RFC 3891), so its INVITE is routed by the PBX like any call to the delegate; the delegate's phone replaces
   * the leg with it. This phone leaves both dialogs once the caller's NOTIFY says the new call is up (RFC 5589: the
   * transferor ends its dialog on the final sipfrag), or when the transfer fails, or after HANDOVER_MS with no word.
   */
  private handOver(callId: number, rec: CallRecord, inv: Invitation, delegate: string, leg: Inviter): void {
    const bye = (s: Session): void => {
      if (s.state === SessionState.Established) s.bye().catch(() => undefined);
    };
    if (this.calls.get(callId) !== rec || inv.state !== SessionState.Initial) {
      bye(leg); // the boss answered meanwhile, or the caller gave up
      return;
    }
    rec.why = "answered-elsewhere";
    rec.handedOver = true;
    this.calls.delete(callId);
    this.notifier.changed();
    this.log.info({ callId, delegate }, "a delegate answered: the call is handed to it (REFER with Replaces)");
    const caller: { uri: string; number: string; name?: string } = rec.caller ?? { uri: inv.remoteIdentity.uri.toString(), number: inv.remoteIdentity.uri.user ?? "" };
    this.events.delegateAnswered?.(callId, delegate, { uri: caller.uri, number: caller.number, ...(caller.name ? { name: caller.name } : {}) });
    queueMicrotask(() => this.events.ended(callId, "answered-elsewhere"));
    const timers: Timer[] = [];
    const handover = {
      end: (): void => {
        for (const t of timers) t.cancel();
        this.handovers.delete(handover);
        bye(inv);
        bye(leg);
      },
    };
    this.handovers.add(handover);
    const lost = (why: object, words: string): void => {
      this.log.warn({ callId, delegate, ...why }, words);
      handover.end();
    };
    // the caller reached the delegate: this phone's dialog with the caller ends now, the leg once the delegate's
    // phone has replaced it (it ends it itself; one left up is ended here)
    const done = (): void => {
      bye(inv);
      timers.push(this.clock.setTimeout(() => handover.end(), 5000));
    };
    const hold: HoldOptions = { hold: true };
    inv
      .accept({ sessionDescriptionHandlerOptions: hold })
      .then(() => {
        if (!leg.dialog) throw new Error("the delegate's leg has no dialog");
        const d = leg.dialog;
        const target = new NameAddrUri("sip", delegate, this.account.domain, undefined, {}, { Replaces: [encodeURIComponent(`${d.callId};to-tag=${d.remoteTag};from-tag=${d.localTag}`)] });
        timers.push(this.clock.setTimeout(() => lost({}, "the caller never said whether it reached the delegate: both ends are hung up"), HANDOVER_MS));
        return inv.refer(target, {
          onNotify: (n) => {
            n.accept().catch(() => undefined);
            const code = Number(/^SIP\/2\.0 (\d{3})/.exec(n.request.body ?? "")?.[1] ?? 0);
            if (code >= 200 && code < 300) done();
            else if (code >= 300) lost({ code }, "the caller could not reach the delegate: the call is lost");
          },
          requestDelegate: {
            onReject: (r) => lost({ code: r.message.statusCode }, "the caller's phone refused the transfer to the delegate: the call is lost"),
          },
        });
      })
      .catch((e: Error) => lost({ err: e.message }, "handing the call to the delegate failed"));
  }

  // ---- messages and the dialog package (delegation, busy lamp field) ----

  /**
   * Sends a SIP MESSAGE (RFC 3428) to `uri` (a number, user@host or a SIP URI) over the registered connection.
   * Resolves with the final status code (200/202 delivered; 404 nobody registered there; 407 handled inside), or 0
   * when nothing answered (timeout, no connection, transport error). Never throws.
   */
  sendMessage(uri: string, text: string, contentType = "text/plain; charset=UTF-8"): Promise<number> {
    return new Promise<number>((resolve) => {
      try {
        const ua = this.ua;
        if (!ua || this.stopped || !this.transport?.isConnected()) {
          resolve(0);
          return;
        }
        const to = this.targetUri(uri);
        const core = ua.userAgentCore;
        const from = UserAgent.makeURI(`sip:${this.account.user}@${this.account.domain}`) as URI;
        const msg = core.makeOutgoingRequestMessage("MESSAGE", to, from, to, {}, [], { contentDisposition: "render", contentType, content: text });
        // sip.js makes up a 408 (Timer F) or 503 (transport error) with no headers at all: those are "no answer"
        const code = (r: { message: Core.IncomingResponseMessage }): number => (r.message.getHeader("Call-ID") === undefined ? 0 : (r.message.statusCode ?? 0));
        core.request(msg, {
          onAccept: (r) => resolve(code(r)),
          onReject: (r) => {
            this.log.info({ uri, code: r.message.statusCode }, "MESSAGE not delivered");
            resolve(code(r));
          },
          onRedirect: (r) => resolve(code(r)),
        });
      } catch (e) {
        this.log.warn({ uri, err: (e as Error).message }, "MESSAGE not sent");
        resolve(0);
      }
    });
  }

  /** An incoming MESSAGE: answered 200, then handed on. */
  private onMessage(m: Message): void {
    m.accept().catch(() => undefined);
    try {
      const req = m.request;
      const from = req.from;
      const name = from.displayName || undefined;
      this.events.message?.({ uri: from.uri.toString(), user: from.uri.user ?? "", ...(name ? { name } : {}) }, req.getHeader("Content-Type") ?? "text/plain", req.body ?? "");
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "incoming MESSAGE not handled");
    }
  }

  /**
   * Watches these numbers' calls (RFC 4235 dialog package; a delegate's boss line keys): a subscription per number
   * (Event: dialog, Accept: application/dialog-info+xml, 600 s) while registered, made again after a failure (with
   * backoff) or a lost connection. Each state goes to events.dialogState. Replaces the list watched before; [] stops.
   */
  watchDialogs(numbers: string[]): void {
    this.watchers.set(numbers);
    if (this.reg.state === "registered" && !this.signedOut && !this.stopped) this.watchers.resume();
  }

  /** Who may watch this phone's calls (user parts; others get 403); undefined (the default) = anyone the server let through. */
  allowDialogWatchers(users: string[] | undefined): void {
    this.dialogWatchersAllowed = users ? [...users] : undefined;
  }

  /** This phone's calls as RFC 4235 dialogs (what watchers are told). */
  private dialogSnapshot(): DialogEntry[] {
    const out: DialogEntry[] = [];
    for (const [id, rec] of this.calls) {
      const s = rec.session;
      if (s.state === SessionState.Terminated) continue;
      const outgoing = s instanceof Inviter;
      const state = s.state === SessionState.Established ? "confirmed" : outgoing && !rec.progressed ? "trying" : "early";
      const dialog = rec.otherLine ? undefined : s.dialog;
      const callId = rec.otherLine ? undefined : (dialog?.callId ?? (s as Inviter | Invitation).request.callId);
      out.push({
        id: `call-${id}`,
        state,
        direction: outgoing ? "initiator" : "recipient",
        ...(callId ? { callId } : {}),
        ...(dialog ? { localTag: dialog.localTag, remoteTag: dialog.remoteTag } : {}),
        local: { uri: `sip:${this.account.user}@${this.account.domain}`, ...(this.account.displayName ? { display: this.account.displayName } : {}) },
        ...(rec.remote ? { remote: rec.remote } : {}),
      });
    }
    return out;
  }

  /** DTMF: RFC 4733 through the media session; SIP INFO (application/dtmf-relay) when it was not negotiated. */
  dtmf(callId: number, digit: string): void {
    const c = this.calls.get(callId);
    if (!c || c.session.state !== SessionState.Established) return;
    const sdh = c.session.sessionDescriptionHandler;
    if (sdh?.sendDtmf(digit)) return;
    c.session
      .info({ requestOptions: { body: { contentDisposition: "render", contentType: "application/dtmf-relay", content: `Signal=${digit}\r\nDuration=160\r\n` } } })
      .catch((e: Error) => this.log.warn({ err: e.message }, "DTMF INFO failed"));
  }
}

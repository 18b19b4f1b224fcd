// The HELD client (RFC 5985 §8 HTTP binding, RFC 6155 device identity): POSTs the phone's locationRequest to a LIS
// over node:https (or http: in a lab), follows redirects, and applies the HELD error rules of the shared standards
// (§1.3, §7 items 8-9): notLocatable blocks that LIS until the link changes, locationUnknown is tried at most 3 times
// with capped backoff, badIdentifier and cannotProvideLiType are retried once (badIdentifier first without the LLDP
// switch port extension, which such a LIS is then not sent until the link changes), and an emergency request survives a
// TLS failure. A location comes back normalised (pidf-normalise.ts) as a KnownLocation. Timers use the injected clock.
// Connections are kept alive and reused (HeldConnectionPool): the TLS handshake is not paid again on every request.
import * as http from "node:http";
import * as https from "node:https";
import type { Clock } from "../base/clock.js";
import type { Logger } from "../base/log.js";
import type { DeviceIds, HeldOutcome, KnownLocation, LisTarget } from "./location-types.js";
import { buildLocationRequest, ipVersion, lldpIdText, normaliseMac, parseHeldResponse, type HeldAnswer, type HeldDeviceIds, type HeldLocationType, type HeldResponseTime } from "./held.js";
import { normalisePidf } from "./pidf-normalise.js";

/**
 * How an exchange's TLS is set up. "verify": the server is authenticated (RFC 2818). For an emergency only (RFC 5985
 * §8 "except in the event of an emergency", RFC 6881 ED-61), after a TLS failure: "noverify" keeps TLS (still private)
 * but accepts any certificate; if TLS itself cannot be set up, "plain" speaks HTTP to the same host and, when the URL
 * names a port, the same port (a LIS behind a broken TLS front often still answers there), else port 80.
 */
export type TlsMode = "verify" | "noverify" | "plain";

/** One HTTP POST, as the transport sees it. */
export interface HttpExchange {
  url: URL;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  tls: TlsMode;
  caPem?: string;
  maxBodyBytes: number;
  signal?: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Why an exchange failed below HELD: the outcome codes of HeldOutcome. */
export class HeldHttpError extends Error {
  constructor(
    readonly code: "tls" | "network" | "timeout" | "http" | "malformed",
    message: string,
  ) {
    super(message);
  }
}

/** Sends one exchange; rejects with a HeldHttpError. */
export type HeldTransport = (x: HttpExchange) => Promise<HttpAnswer>;

export interface HeldClientOptions {
  clock: Clock;
  log: Logger;
  /** The HTTP exchange; default node:https / node:http (nodeTransport) on kept-alive connections (see keepAlive). */
  transport?: HeldTransport;
  /**
   * Keep connections to the LIS open and reuse them (HeldConnectionPool), sparing a TLS handshake per request; close()
   * ends them. Default true; false: one connection per exchange. Ignored when `transport` is given.
   */
  keepAlive?: boolean | HeldPoolOptions;
  /** The largest answer body accepted; default 64 KiB. */
  maxBodyBytes?: number;
  /** Backoff between locationUnknown / generalLisError tries: first wait, doubling up to max; default 1 s, 4 s. */
  backoffMs?: { first: number; max: number };
  /** The longest Retry-After the client waits before following a redirect; default 30 s. */
  maxRetryAfterMs?: number;
}

export interface LocateOptions {
  /** An emergency call is waiting on this: TLS failures fall back instead of failing. */
  emergency: boolean;
  /** Default "emergencyRouting" (standards §7 item 7). */
  responseTime?: HeldResponseTime;
  /** Default ["civic", "geodetic"]. */
  types?: HeldLocationType[];
  /** Default false. */
  exact?: boolean;
  signal?: AbortSignal;
}

const MAX_REDIRECTS = 3;
const MAX_UNKNOWN_TRIES = 3;
const CERT_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL|EPROTO|HOSTNAME/;
/** What a kept-alive connection the LIS closed while it sat idle looks like when it is used again. */
const STALE_ERRORS = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);

/** Limits of the kept-alive connections (HeldConnectionPool). */
export interface HeldPoolOptions {
  /** Connections open at once per agent (https, http); a request beyond them gets a connection of its own. Default 4. */
  maxSockets?: number;
  /** Idle connections kept per LIS. Default 1. */
  maxFreeSockets?: number;
  /** An idle connection is closed after this long (sooner when the LIS's Keep-Alive header says so). Default 30 s. */
  idleMs?: number;
}

interface PoolEntry {
  agent: http.Agent;
  inFlight: number;
}

/**
 * Kept-alive connections to LISes (RFC 5985 §8 allows persistent connections): one node:https agent and one node:http
 * agent (the emergency "plain" fallback), made on first use. A TLS handshake is paid once and later requests reuse the
 * connection; the agent keys its pool by TLS options (CA, certificate checking), so a connection opened without
 * certificate checks is never reused by a checked request. Never a queue: when every connection of an agent is busy
 * (a LIS that hangs), a request gets a connection of its own at once. close() ends every connection; the pool may be
 * used again afterwards (new agents).
 */
export class HeldConnectionPool {
  private readonly opts: Required<HeldPoolOptions>;
  private entries: { https: PoolEntry | null; http: PoolEntry | null } = { https: null, http: null };
  private connections = 0;

  constructor(opts: HeldPoolOptions = {}) {
    this.opts = { maxSockets: opts.maxSockets ?? 4, maxFreeSockets: opts.maxFreeSockets ?? 1, idleMs: opts.idleMs ?? 30_000 };
  }

  /** Connections opened so far (fresh ones, not reuses): diagnostics and tests. */
  opened(): number {
    return this.connections;
  }

  /**
   * The agent a request should use, and the release to call when it is done; agent false (a connection of its own,
   * not kept) when the agent's connections are all busy.
   */
  take(secure: boolean): { agent: http.Agent | false; release(): void } {
    const kind = secure ? "https" : "http";
    let e = this.entries[kind];
    if (!e) {
      // no maxTotalSockets: the agent counts idle sockets of every name (other LISes, the no-certificate-check variant)
      // toward it and then queues the request; the in-flight cap below bounds the pool without a queue
      const o: https.AgentOptions = { keepAlive: true, keepAliveMsecs: 1000, maxSockets: this.opts.maxSockets, maxFreeSockets: this.opts.maxFreeSockets, timeout: this.opts.idleMs, scheduling: "lifo" };
      e = { agent: secure ? new https.Agent(o) : new http.Agent(o), inFlight: 0 };
      this.entries[kind] = e;
    }
    if (e.inFlight >= this.opts.maxSockets) return { agent: false, release: () => undefined };
    const entry = e;
    entry.inFlight++;
    let released = false;
    return {
      agent: entry.agent,
      release: () => {
        if (!released) entry.inFlight--;
        released = true;
      },
    };
  }

  /** Counts a fresh connection (the transport calls it on a socket's first use). */
  countConnection(): void {
    this.connections++;
  }

  /** Closes the idle connections of one agent (after one of them turned out dead: the others are likely dead too). */
  dropIdle(secure: boolean): void {
    const e = this.entries[secure ? "https" : "http"];
    if (!e) return;
    for (const list of Object.values(e.agent.freeSockets)) for (const s of list ?? []) s.destroy();
  }

  /** Ends every connection, busy or idle (the location service stops); the next request opens new ones. */
  close(): void {
    for (const e of [this.entries.https, this.entries.http]) e?.agent.destroy();
    this.entries = { https: null, http: null };
  }
}

/**
 * node:https / node:http transport, the timeout on the given clock. Without a pool every exchange has a connection of
 * its own. With one, connections are kept alive and reused; when a reused connection turns out dead before any answer
 * (the LIS closed it while idle: ECONNRESET, EPIPE, "socket hang up"), the idle ones are dropped and the request is sent
 * once more on a fresh connection, within the same timeout.
 */
export function nodeTransport(clock: Clock, pool?: HeldConnectionPool): HeldTransport {
  return (x) =>
    new Promise((resolve, reject) => {
      const secure = x.url.protocol === "https:";
      const body = Buffer.from(x.body, "utf8");
      let done = false;
      let current: http.ClientRequest | null = null;
      let release = (): void => undefined;
      const finish = (err: HeldHttpError | null, answer?: HttpAnswer): void => {
        if (done) return;
        done = true;
        timer.cancel();
        release();
        if (err) {
          current?.destroy();
          reject(err);
        } else resolve(answer!);
      };
      const timer = clock.setTimeout(() => finish(new HeldHttpError("timeout", `The LIS did not answer within ${x.timeoutMs} ms`)), x.timeoutMs);
      const attempt = (retry: boolean): void => {
        release();
        const taken = pool ? pool.take(secure) : { agent: false as const, release: () => undefined };
        release = taken.release;
        let connected = false;
        let handshaken = false;
        let answered = false;
        const opts: https.RequestOptions = { method: "POST", agent: taken.agent, headers: { ...x.headers, "Content-Length": String(body.length) }, signal: x.signal };
        if (secure) Object.assign(opts, { rejectUnauthorized: x.tls === "verify", ...(x.caPem ? { ca: x.caPem } : {}) });
        const req = (secure ? https : http).request(x.url, opts);
        current = req;
        req.on("socket", (s) => {
          if (req.reusedSocket) {
            connected = handshaken = true; // set up (TLS included) for an earlier request
            return;
          }
          pool?.countConnection();
          const onConnect = (): void => void (connected = true);
          const onSecure = (): void => void (handshaken = true);
          s.once("connect", onConnect);
          s.once("secureConnect", onSecure);
          req.once("close", () => {
            s.off("connect", onConnect);
            s.off("secureConnect", onSecure);
          });
        });
        req.on("error", (e: NodeJS.ErrnoException) => {
          if (done || req !== current) return;
          if (x.signal?.aborted) return finish(new HeldHttpError("network", "The location request was cancelled"));
          if (pool && req.reusedSocket && !answered && !retry && STALE_ERRORS.has(e.code ?? "")) {
            pool.dropIdle(secure);
            return attempt(true);
          }
          const tls = secure && !handshaken && (connected || CERT_ERRORS.test(e.code ?? ""));
          finish(new HeldHttpError(tls ? "tls" : "network", tls ? `TLS with the LIS failed: ${e.message}` : `Could not reach the LIS: ${e.message}`));
        });
        req.on("response", (res) => {
          answered = true;
          const tooBig = new HeldHttpError("malformed", `The LIS's answer is larger than ${x.maxBodyBytes} bytes; refused`);
          if (Number(res.headers["content-length"]) > x.maxBodyBytes) return finish(tooBig);
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            if (size > x.maxBodyBytes) finish(tooBig);
            else chunks.push(c);
          });
          res.on("end", () => finish(null, { status: res.statusCode ?? 0, statusText: res.statusMessage ?? "", headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", (e) => finish(new HeldHttpError("network", `The LIS's answer broke off: ${e.message}`)));
        });
        req.end(body);
      };
      attempt(false);
    });
}

/** The origin of a URL, for logs: the path and query may carry a secret (e.g. a tenant key). */
const origin = (url: string | URL): string => {
  try {
    return new URL(url).origin;
  } catch {
    return "(bad URL)";
  }
};

/** Retry-After as ms: delta-seconds or an HTTP-date (RFC 9110 §10.2.3); absent or unreadable: 0. */
function retryAfterMs(v: string | string[] | undefined, nowMs: number): number {
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  if (!s) return 0;
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? 0 : Math.max(0, t - nowMs);
}

/** Asks LISes for the phone's location (RFC 5985), keeping the per-LIS notLocatable blocks until the link changes. */
export class HeldClient {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly transport: HeldTransport;
  private readonly maxBodyBytes: number;
  private readonly backoff: { first: number; max: number };
  private readonly maxRetryAfterMs: number;
  private readonly blocked = new Set<string>();
  /** LISes that refused a request carrying the LLDP extension (badIdentifier): asked without it until the link changes. */
  private readonly noLldp = new Set<string>();
  private readonly pool: HeldConnectionPool | null;
  private link = 0;

  constructor(opts: HeldClientOptions) {
    this.clock = opts.clock;
    this.log = opts.log;
    const keep = opts.keepAlive ?? true;
    this.pool = opts.transport || keep === false ? null : new HeldConnectionPool(keep === true ? {} : keep);
    this.transport = opts.transport ?? nodeTransport(opts.clock, this.pool ?? undefined);
    this.maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024;
    this.backoff = opts.backoffMs ?? { first: 1000, max: 4000 };
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 30_000;
  }

  /** Connections opened to LISes so far (kept-alive ones count once); null without the built-in transport's pool. */
  connectionsOpened(): number | null {
    return this.pool?.opened() ?? null;
  }

  /** Ends the kept-alive connections (requests in flight fail); a later locate() opens new ones. */
  close(): void {
    this.pool?.close();
  }

  /** The network attachment changed (link down/up, new DHCP lease): LISes that said notLocatable may be asked again. */
  linkChanged(): void {
    this.link++;
    this.blocked.clear();
    this.noLldp.clear();
    // a connection kept from the old attachment may be dead without a reset to say so (another address, another route)
    this.pool?.dropIdle(true);
    this.pool?.dropIdle(false);
  }

  /** Asks `target` for the phone's location, with the retries the HELD error rules allow. Never throws. */
  async locate(target: LisTarget, ids: DeviceIds, opts: LocateOptions): Promise<HeldOutcome> {
    const lis = origin(target.url);
    const fail = (code: Extract<HeldOutcome, { ok: false }>["code"], message: string): HeldOutcome => {
      this.log.warn({ lis, code, emergency: opts.emergency }, `HELD: ${message}`);
      return { ok: false, code, message };
    };
    if (this.blocked.has(target.url)) return fail("blocked", "This LIS said it can never locate this phone (notLocatable); it is not asked again until the network link changes");
    const link = this.link;
    let device = this.usableIds(ids);
    if (device.lldp && this.noLldp.has(target.url)) delete device.lldp;
    const state = { tls: "verify" as TlsMode, exact: opts.exact ?? false, unknownTries: 0, retried: new Set<string>() };
    for (;;) {
      let answer: HeldAnswer;
      try {
        const body = buildLocationRequest({ responseTime: opts.responseTime ?? "emergencyRouting", types: opts.types, exact: state.exact, device });
        answer = parseHeldResponse(await this.ask(target, body, opts, state));
      } catch (e) {
        if (e instanceof HeldHttpError) return fail(e.code, e.message);
        return fail("malformed", (e as Error).message);
      }
      if (answer.kind === "location") return this.located(target, answer, opts, state.tls);
      const said = `The LIS answered ${answer.code}${answer.message ? ` ("${answer.message}")` : ""}`;
      const once = (rule: string): boolean => {
        if (state.retried.has(rule)) return false;
        state.retried.add(rule);
        return true;
      };
      switch (answer.code) {
        case "notLocatable":
          if (link === this.link) this.blocked.add(target.url);
          return fail("notLocatable", `${said}; it is not asked again until the network link changes`);
        case "locationUnknown":
        case "generalLisError": // RFC 5985 §6.3: retries MUST be limited; standards §1.3: backoff, then keep the cache
          if (++state.unknownTries >= MAX_UNKNOWN_TRIES) return fail(answer.code, `${said} ${state.unknownTries} times; giving up for now`);
          if (!(await this.pause(Math.min(this.backoff.first * 2 ** (state.unknownTries - 1), this.backoff.max), opts.signal))) return fail("network", "The location request was cancelled");
          continue;
        case "timeout": // the LIS ran out of time: once more, then fall back (standards §1.3)
          if (once("timeout")) continue;
          return fail("timeout", `${said} twice`);
        case "cannotProvideLiType": // RFC 5985 §6.2: ask again accepting any type
          if (once("liType")) {
            state.exact = false;
            continue;
          }
          return fail(answer.code, said);
        case "badIdentifier": {
          // RFC 6155 §7.3: once more with the required identifiers the phone has (it sends every one it has)
          const required = answer.requiredIdentifiers ?? [];
          const have = required.filter((n) => (device as Record<string, unknown>)[n] !== undefined);
          if (device.lldp && have.length === required.length && once("lldp")) {
            // nothing it asks for is missing: it may be refusing the identifier it does not know (RFC 6155 has no LLDP)
            this.log.info({ lis }, "HELD: the LIS refused the request carrying the LLDP switch port; asking without it");
            this.noLldp.add(target.url);
            const { lldp: _dropped, ...rest } = device;
            device = rest;
            continue;
          }
          if (have.length && once("badIdentifier")) continue;
          const missing = required.filter((n) => !have.includes(n));
          return fail("badIdentifier", `${said}${missing.length ? `; the phone has no ${missing.join(" or ")} to send` : ""}`);
        }
        default: // requestError, xmlError, unsupportedMessage: the same request would fail the same way
          return fail(answer.code, said);
      }
    }
  }

  /** ip and mac as RFC 6155 writes them, the LLDP switch port; one that cannot be sent is left out (and logged). */
  private usableIds(ids: DeviceIds): HeldDeviceIds {
    const out: HeldDeviceIds = {};
    try {
      if (ids.ip) out.ip = ipVersion(ids.ip).address;
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "HELD: the phone's IP address cannot be sent; left out");
    }
    try {
      if (ids.mac) out.mac = normaliseMac(ids.mac);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "HELD: the phone's MAC address cannot be sent; left out");
    }
    try {
      if (ids.lldp) out.lldp = { chassis: lldpIdText("chassis", ids.lldp.chassis), port: lldpIdText("port", ids.lldp.port) };
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "HELD: the switch port LLDP gave cannot be sent; left out");
    }
    return out;
  }

  /** One HELD exchange; for an emergency, a TLS failure steps down to "noverify", then "plain", and stays there. */
  private async ask(target: LisTarget, body: string, opts: LocateOptions, state: { tls: TlsMode }): Promise<string> {
    for (;;) {
      try {
        return await this.exchange(target, body, opts, state.tls);
      } catch (e) {
        const secure = new URL(target.url).protocol === "https:";
        if (!(e instanceof HeldHttpError && e.code === "tls" && opts.emergency && secure && state.tls !== "plain")) throw e;
        state.tls = state.tls === "verify" ? "noverify" : "plain";
        this.log.warn({ lis: origin(target.url), tls: state.tls, err: e.message }, "HELD: TLS failed during an emergency; retrying with less protection");
      }
    }
  }

  /** POST with up to 3 redirects (RFC 5985 §8: follow Location, observe Retry-After). Resolves to the 2xx body. */
  private async exchange(target: LisTarget, body: string, opts: LocateOptions, tls: TlsMode): Promise<string> {
    const route = (u: URL): URL => {
      if (tls === "plain" && u.protocol === "https:") u.protocol = "http:";
      return u;
    };
    let url = route(new URL(target.url));
    for (let hop = 0; ; hop++) {
      const headers = { "Content-Type": "application/held+xml;charset=utf-8", Accept: "application/held+xml" };
      const a = await this.transport({ url, body, headers, timeoutMs: target.timeoutMs, tls, caPem: target.caPem, maxBodyBytes: this.maxBodyBytes, signal: opts.signal });
      if (a.status >= 200 && a.status < 300) return a.body;
      if (a.status < 300 || a.status >= 400) throw new HeldHttpError("http", `The LIS answered HTTP ${a.status}${a.statusText ? ` ${a.statusText}` : ""}`);
      if (hop >= MAX_REDIRECTS) throw new HeldHttpError("http", `The LIS redirected more than ${MAX_REDIRECTS} times`);
      const location = a.headers.location;
      let next: URL;
      try {
        next = new URL(String(location ?? ""), url);
      } catch {
        throw new HeldHttpError("http", `The LIS answered HTTP ${a.status} without a usable Location`);
      }
      if (next.protocol !== "https:" && next.protocol !== "http:") throw new HeldHttpError("http", `The LIS redirected to a ${next.protocol} URL, which HELD cannot use`);
      if (url.protocol === "https:" && next.protocol === "http:" && !opts.emergency) throw new HeldHttpError("http", "The LIS redirected from https to plain http; refused");
      const wait = retryAfterMs(a.headers["retry-after"], this.clock.wallNow());
      if (wait > this.maxRetryAfterMs) throw new HeldHttpError("http", `The LIS asked to wait ${Math.ceil(wait / 1000)} s before following its redirect, longer than the phone waits`);
      if (wait > 0 && !(await this.pause(wait, opts.signal))) throw new HeldHttpError("network", "The location request was cancelled");
      this.log.info({ from: origin(url), to: origin(next), status: a.status }, "HELD: following the LIS's redirect");
      url = route(next);
    }
  }

  /** The success outcome: the presence normalised into a KnownLocation. */
  private located(target: LisTarget, a: Extract<HeldAnswer, { kind: "location" }>, opts: LocateOptions, tls: TlsMode): HeldOutcome {
    const lis = origin(target.url);
    if (!a.presence) {
      // location by reference only: the phone needs a value to send (dereferencing is another protocol)
      this.log.warn({ lis }, "HELD: the LIS gave only location URIs, no location value");
      return { ok: false, code: "locationUnknown", message: "The LIS gave only location URIs (location by reference), no location value" };
    }
    const now = this.clock.wallNow();
    let n;
    try {
      n = normalisePidf(a.presence, { now: new Date(now), method: "Wiremap", providedBy: target.providerInfoUrl });
    } catch (e) {
      this.log.warn({ lis, err: (e as Error).message }, "HELD: the LIS's location cannot be used");
      return { ok: false, code: "malformed", message: (e as Error).message };
    }
    const location: KnownLocation = { source: "lis", pidf: n.pidf, text: n.text, obtainedAt: now, lisUrl: target.url };
    if (n.civic) location.civic = n.civic;
    if (a.locationUris) location.locationUris = a.locationUris;
    if (n.retentionExpiry) location.expiresAt = n.retentionExpiry.getTime();
    if (n.retentionExpiry && n.retentionExpiry.getTime() <= now) this.log.warn({ lis, retentionExpiry: n.retentionExpiry.toISOString() }, "HELD: the LIS's location is already past its retention-expiry; recipients may discard it");
    this.log.info({ lis, emergency: opts.emergency, tls, changes: n.changes.length }, "HELD: location obtained");
    return { ok: true, location, ...(a.usedIds ? { usedIds: a.usedIds } : {}) };
  }

  /** Waits `ms` on the clock; false when `signal` aborts first. */
  private pause(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        t.cancel();
        resolve(false);
      };
      const t = this.clock.setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

// The HELD client (RFC 5985 §8 HTTP binding, RFC 6155 device identity): POSTs the phone's locationRequest to a LIS
// over node:https (or http: in a lab), follows redirects, and applies the HELD error rules of the shared standards
// (§1.3, §7 items 8-9): notLocatable blocks that LIS until the link changes, locationUnknown is tried at most 3 times
// with capped backoff, badIdentifier and cannotProvideLiType are retried once, and an emergency request survives a
// TLS failure. A location comes back normalised (pidf-normalise.ts) as a KnownLocation. Timers use the injected clock.
import * as http from "node:http";
import * as https from "node:https";
import type { Clock } from "../base/clock.js";
import type { Logger } from "../base/log.js";
import type { DeviceIds, HeldOutcome, KnownLocation, LisTarget } from "./location-types.js";
import { buildLocationRequest, ipVersion, normaliseMac, parseHeldResponse, type HeldAnswer, type HeldDeviceIds, type HeldLocationType, type HeldResponseTime } from "./held.js";
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
  /** The HTTP exchange; default node:https / node:http (nodeTransport). */
  transport?: HeldTransport;
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

/** node:https / node:http transport: no keep-alive (one connection per exchange), the timeout on the given clock. */
export function nodeTransport(clock: Clock): HeldTransport {
  return (x) =>
    new Promise((resolve, reject) => {
      const secure = x.url.protocol === "https:";
      let connected = false;
      let handshaken = false;
      let done = false;
      const body = Buffer.from(x.body, "utf8");
      const opts: https.RequestOptions = { method: "POST", agent: false, headers: { ...x.headers, "Content-Length": String(body.length) }, signal: x.signal };
      if (secure) Object.assign(opts, { rejectUnauthorized: x.tls === "verify", ...(x.caPem ? { ca: x.caPem } : {}) });
      const req = (secure ? https : http).request(x.url, opts);
      const finish = (err: HeldHttpError | null, answer?: HttpAnswer): void => {
        if (done) return;
        done = true;
        timer.cancel();
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(answer!);
      };
      const timer = clock.setTimeout(() => finish(new HeldHttpError("timeout", `The LIS did not answer within ${x.timeoutMs} ms`)), x.timeoutMs);
      req.on("socket", (s) => {
        s.once("connect", () => (connected = true));
        s.once("secureConnect", () => (handshaken = true));
      });
      req.on("error", (e: NodeJS.ErrnoException) => {
        if (x.signal?.aborted) return finish(new HeldHttpError("network", "The location request was cancelled"));
        const tls = secure && !handshaken && (connected || CERT_ERRORS.test(e.code ?? ""));
        finish(new HeldHttpError(tls ? "tls" : "network", tls ? `TLS with the LIS failed: ${e.message}` : `Could not reach the LIS: ${e.message}`));
      });
      req.on("response", (res) => {
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
  private link = 0;

  constructor(opts: HeldClientOptions) {
    this.clock = opts.clock;
    this.log = opts.log;
    this.transport = opts.transport ?? nodeTransport(opts.clock);
    this.maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024;
    this.backoff = opts.backoffMs ?? { first: 1000, max: 4000 };
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 30_000;
  }

  /** The network attachment changed (link down/up, new DHCP lease): LISes that said notLocatable may be asked again. */
  linkChanged(): void {
    this.link++;
    this.blocked.clear();
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
    const device = this.usableIds(ids);
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
          if (have.length && once("badIdentifier")) continue;
          const missing = required.filter((n) => !have.includes(n));
          return fail("badIdentifier", `${said}${missing.length ? `; the phone has no ${missing.join(" or ")} to send` : ""}`);
        }
        default: // requestError, xmlError, unsupportedMessage: the same request would fail the same way
          return fail(answer.code, said);
      }
    }
  }

  /** ip and mac as RFC 6155 writes them; one the phone has in a form that cannot be sent is left out (and logged). */
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

// LIS discovery (RFC 5986, shared standards §1.5): from the access-network domain (DHCPv4 option 213, decoded here) or,
// failing that, the DHCP domain name (option 15), U-NAPTR (RFC 4848) finds HELD URIs of service "LIS:HELD"; each is
// verified by a HELD request, and the first that gives any HELD answer but notLocatable is the phone's LIS.
//
// The rules followed, with their sources:
// - Records whose service field is not LIS with the HELD protocol are not ours (RFC 4848 §4.5: "LIS:HELD", case-
//   insensitive); that holds for non-terminal records too (RFC 3958 §2.2.4: a lookup must yield records "with
//   appropriate application service and protocol").
// - A domain's records are tried lowest order first, then lowest preference (RFC 3403 §4.1); each domain reached
//   through a non-terminal rule is sorted on its own, depth first, backtracking on failure (RFC 3958 §2.2.4).
// - Flag "u" (terminal): the regexp must be exactly "!.*!<URI>!" and the replacement empty (RFC 4848 §2.1, §2.2).
//   Empty flag (non-terminal): the regexp empty, the replacement is the next name to look up (RFC 4848 §4.4). "s" and
//   "a" give a host, not the HTTP(S) URI a LIS is (RFC 5986 §2); any other flag is ignored (RFC 4848 §4.4).
// - Only https URIs are used, http only when allowed (a lab): RFC 5986 §5, an http LIS cannot be authenticated. An
//   https LIS is authenticated against the host in the URI (RFC 5986 §4); that is the verifier's job (HeldClient).
// - Verification (RFC 5986 §2): "Any HTTP 200 response containing a HELD response signifies success. This includes
//   HELD error responses, with the exception of the 'notLocatable' error." Network, TLS, HTTP and malformed failures
//   move on to the next URI (§4: a Device "MAY attempt to use alternative choices").
// - notLocatable (or the HeldClient's block on a LIS that said it earlier): "the Device SHOULD NOT attempt to use any
//   alternative choices from the same domain name" (§4): discovery goes on with the next input domain.
// - Loops and runaway chains: a name already looked up for this input domain is not looked up again (a loop, noted),
//   and at most maxSteps NAPTR lookups are made per input domain (RFC 5483 §6: no chain more than 5 deep).
// Discovery runs on the domains of non-VPN interfaces first (RFC 5986 §2.2); choosing them is the caller's part.
import { promises as dnsp } from "node:dns";
import { decodeSingleDnsName } from "../base/dns-name.js";
import type { HeldOutcome } from "./location-types.js";

/** The U-NAPTR application service and protocol of a HELD LIS (RFC 5986 §4, §6.2-6.3). */
export const LIS_SERVICE = "LIS:HELD";

/** The default number of NAPTR lookups one input domain may cost, its own and those its non-terminal rules lead to. */
export const DEFAULT_MAX_STEPS = 10;

/** A NAPTR record as node:dns resolveNaptr gives it. */
export interface NaptrRecord {
  flags: string;
  service: string;
  regexp: string;
  replacement: string;
  order: number;
  preference: number;
}

export interface NaptrResolver {
  resolveNaptr(name: string): Promise<NaptrRecord[]>;
}

export interface LisDiscoveryOptions {
  /** Input domains in turn: the access-network domain (option 213) first, then the DHCP domain name (option 15). */
  domains: string[];
  /** Default: a node:dns/promises Resolver (on `servers` when given, else the system's). */
  resolver?: NaptrResolver;
  /** DNS servers for the default resolver ("127.0.0.1:5353", "[::1]:53", "10.0.0.2"). */
  servers?: string[];
  /** One HELD request to the URI (HeldClient.locate); any HELD answer but notLocatable verifies it. */
  verify: (url: string) => Promise<HeldOutcome>;
  /** Use http: URIs too (a lab LIS); default false, https only. */
  allowHttp?: boolean;
  /** NAPTR lookups per input domain; default DEFAULT_MAX_STEPS. */
  maxSteps?: number;
}

export interface LisDiscoveryResult {
  /** The verified LIS URI, or null when none was found. */
  url: string | null;
  /** Every step in plain words, for the log. URIs appear as their origin: the path and query may carry a secret. */
  notes: string[];
  /** The input domain the LIS was found from. */
  domain?: string;
  /** The verifying HELD answer (a location when it is ok). */
  outcome?: HeldOutcome;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Finds the LIS. Never throws: whatever goes wrong becomes a note. */
export async function discoverLis(o: LisDiscoveryOptions): Promise<LisDiscoveryResult> {
  const notes: string[] = [];
  try {
    return await run(o, notes);
  } catch (e) {
    notes.push(`LIS discovery stopped on an unexpected error: ${(e as Error)?.message ?? String(e)}`);
    return { url: null, notes };
  }
}

/**
 * DHCPv4 option 213 / DHCPv6 option 57, the access-network domain (RFC 5986 §3.1-3.3): one RFC 1035 name in wire form,
 * no compression, precisely one root label, at most 255 octets. Gives the name lower case without the trailing dot.
 */
export function decodeAccessDomainOption(v: Uint8Array): Checked<string> {
  const d = decodeSingleDnsName(v);
  return d.ok ? d : { ok: false, reason: `DHCP option 213 (access-network domain) ${d.reason}` };
}

/** The URI of a terminal U-NAPTR rule's regexp: exactly "!.*!<URI>!" (RFC 4848 §2.2), the URI per RFC 3986. */
export function uNaptrUri(regexp: string): Checked<string> {
  const fail = (reason: string): Checked<string> => ({ ok: false, reason });
  if (regexp === "") return fail('is empty; a "u" rule gives its URI in the regexp');
  const m = /^!\.\*!(.*)!$/s.exec(regexp);
  if (!m) {
    if (regexp[0] !== "!") return fail(`uses the delimiter '${regexp[0]}'; U-NAPTR allows only "!.*!<URI>!" (RFC 4848 §2.2)`);
    if (!regexp.startsWith("!.*!")) return fail('does not match the whole name with ".*"; U-NAPTR allows only "!.*!<URI>!" (RFC 4848 §2.2)');
    return fail('does not end with the URI and a closing "!" (no flags are allowed); U-NAPTR allows only "!.*!<URI>!" (RFC 4848 §2.2)');
  }
  const uri = m[1];
  if (uri === "") return fail("gives an empty URI");
  if (uri.includes("!")) return fail('has a "!" inside the URI part (or trailing flags); U-NAPTR allows only "!.*!<URI>!" (RFC 4848 §2.2)');
  if (uri.includes("\\")) return fail("has a backslash (a back-reference or an escape); the URI must be a constant string (RFC 4848 §2.2)");
  if (/[\s"<>^`{|}]/.test(uri) || /[^\x21-\x7e]/.test(uri)) return fail("gives something that is not a URI (characters a URI cannot hold)");
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(uri)) return fail("gives something that is not a URI (no scheme)");
  try {
    new URL(uri);
  } catch {
    return fail("gives something that is not a URI");
  }
  return { ok: true, value: uri };
}

// ---------------------------------------------------------------------------------------------------------------

interface Run {
  o: LisDiscoveryOptions;
  resolver: NaptrResolver;
  notes: string[];
  maxSteps: number;
  /** URI -> what its verification said, so a URI reached twice is asked once. */
  tried: Map<string, Verdict>;
}

/** One input domain's resolution. */
interface DomainRun {
  domain: string;
  lookups: number;
  looked: Set<string>;
  limitNoted: boolean;
}

type Verdict = "lis" | "notLocatable" | "failed";
type Walk = { found: string; outcome: HeldOutcome } | "notLocatable" | "next";

async function run(o: LisDiscoveryOptions, notes: string[]): Promise<LisDiscoveryResult> {
  const domains: string[] = [];
  for (const raw of o.domains) {
    const d = inputDomain(raw);
    if (!d.ok) notes.push(`LIS discovery: ${JSON.stringify(clip(raw))} ${d.reason}; skipped`);
    else if (!domains.includes(d.value)) domains.push(d.value);
  }
  if (!domains.length) {
    notes.push("LIS discovery: no domain to look in (no access-network domain, DHCP option 213, and no DHCP domain name, option 15)");
    return { url: null, notes };
  }
  const maxSteps = Math.max(1, Math.floor(o.maxSteps ?? DEFAULT_MAX_STEPS));
  const r: Run = { o, resolver: o.resolver ?? defaultResolver(o.servers), notes, maxSteps, tried: new Map() };
  for (const [i, domain] of domains.entries()) {
    notes.push(`LIS discovery: U-NAPTR lookup of ${LIS_SERVICE} in ${domain} (domain ${i + 1} of ${domains.length})`);
    const w = await walk(r, { domain, lookups: 0, looked: new Set(), limitNoted: false }, domain, []);
    if (typeof w === "object") return { url: w.found, notes, domain, outcome: w.outcome };
    if (w === "notLocatable") notes.push(`LIS discovery: ${domain} gave a LIS that cannot locate this phone; its other choices are not tried (RFC 5986 §4)`);
    else notes.push(`LIS discovery: ${domain} gave no working LIS`);
  }
  notes.push(`LIS discovery: no LIS found in ${domains.join(", ")}`);
  return { url: null, notes };
}

function defaultResolver(servers?: string[]): NaptrResolver {
  const r = new dnsp.Resolver({ timeout: 2000, tries: 2 });
  if (servers?.length) r.setServers(servers);
  return r;
}

/** Resolves `name`'s NAPTR records and works through those for LIS:HELD, depth first. */
async function walk(r: Run, d: DomainRun, name: string, chain: string[]): Promise<Walk> {
  const where = `NAPTR ${name}`;
  if (chain.includes(name)) {
    r.notes.push(`${where}: a loop (${[...chain, name].join(" -> ")}); not looked up again`);
    return "next";
  }
  if (d.looked.has(name)) {
    r.notes.push(`${where}: already looked up for ${d.domain}; not looked up again`);
    return "next";
  }
  if (d.lookups >= r.maxSteps) {
    r.notes.push(d.limitNoted ? `${where}: not looked up (the lookup limit for ${d.domain} is reached)` : `${where}: not looked up: ${d.domain} has cost ${d.lookups} NAPTR lookups, the most allowed; no further rules are followed for it`);
    d.limitNoted = true;
    return "next";
  }
  d.lookups++;
  d.looked.add(name);
  let records: NaptrRecord[];
  try {
    records = await r.resolver.resolveNaptr(name);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    const why = code === "ENOTFOUND" ? "no such name" : code === "ENODATA" ? "no NAPTR records" : `the lookup failed (${code ?? (e as Error)?.message ?? String(e)})`;
    r.notes.push(`${where}: ${why}`);
    return "next";
  }
  const mine = records.filter((x) => isLisHeld(x.service));
  const others = records.length - mine.length;
  if (!mine.length) {
    r.notes.push(`${where}: ${records.length ? `${records.length} record${plural(records.length)}, none for ${LIS_SERVICE}` : "no NAPTR records"}`);
    return "next";
  }
  r.notes.push(`${where}: ${mine.length} record${plural(mine.length)} for ${LIS_SERVICE}${others ? ` (${others} for other services ignored)` : ""}`);
  const sorted = mine.map((x, i) => ({ x, i })).sort((a, b) => a.x.order - b.x.order || a.x.preference - b.x.preference || a.i - b.i);
  for (const { x } of sorted) {
    const rule = `${where} rule ${x.order}/${x.preference} (flags "${x.flags}")`;
    const flags = x.flags.toLowerCase();
    if (flags === "u") {
      if (!isRoot(x.replacement)) {
        r.notes.push(`${rule}: ignored: a "u" rule must have an empty replacement, this one has ${JSON.stringify(clip(x.replacement))} (RFC 4848 §2.1)`);
        continue;
      }
      const uri = uNaptrUri(x.regexp);
      if (!uri.ok) {
        r.notes.push(`${rule}: ignored: its regexp ${JSON.stringify(clip(x.regexp))} ${uri.reason}`);
        continue;
      }
      const url = lisUrl(uri.value, r.o.allowHttp ?? false);
      if (!url.ok) {
        r.notes.push(`${rule}: ${origin(uri.value)} refused: ${url.reason}`);
        continue;
      }
      r.notes.push(`${rule}: gives the LIS ${origin(url.value)}`);
      const v = await check(r, d, url.value);
      if (typeof v === "object") return v;
      if (v === "notLocatable") return v;
    } else if (flags === "") {
      if (x.regexp !== "") {
        r.notes.push(`${rule}: ignored: a non-terminal rule must have an empty regexp, this one has ${JSON.stringify(clip(x.regexp))}`);
        continue;
      }
      const next = isRoot(x.replacement) ? null : inputDomain(x.replacement);
      if (!next?.ok) {
        r.notes.push(`${rule}: ignored: a non-terminal rule needs a domain to look up next, ${next ? `${JSON.stringify(clip(x.replacement))} ${next.reason}` : "its replacement is empty"}`);
        continue;
      }
      r.notes.push(`${rule}: non-terminal, next lookup in ${next.value}`);
      const w = await walk(r, d, next.value, [...chain, name]);
      if (w !== "next") return w;
    } else if (flags === "s" || flags === "a") {
      r.notes.push(`${rule}: ignored: an "${flags}" rule gives a host, not the HTTP(S) URI a LIS is known by (RFC 5986 §2)`);
    } else {
      r.notes.push(`${rule}: ignored: U-NAPTR knows no such flag (RFC 4848 §4.4)`);
    }
  }
  return "next";
}

/** Verifies one LIS URI by a HELD request (RFC 5986 §2). */
async function check(r: Run, d: DomainRun, url: string): Promise<Walk> {
  const lis = origin(url);
  const before = r.tried.get(url);
  if (before === "failed") {
    r.notes.push(`verify ${lis}: already tried, it failed; skipped`);
    return "next";
  }
  if (before === "notLocatable") {
    r.notes.push(`verify ${lis}: already said notLocatable`);
    return "notLocatable";
  }
  let outcome: HeldOutcome;
  try {
    outcome = await r.o.verify(url);
  } catch (e) {
    outcome = { ok: false, code: "network", message: (e as Error)?.message ?? String(e) };
  }
  const v = verdict(outcome);
  r.tried.set(url, v);
  if (outcome.ok) {
    r.notes.push(`verify ${lis}: the LIS answered with a location; this is the LIS (found from ${d.domain})`);
    return { found: url, outcome };
  }
  if (v === "lis") {
    r.notes.push(`verify ${lis}: the LIS answered the HELD error ${outcome.code} (${outcome.message}); any HELD answer but notLocatable shows a working LIS (RFC 5986 §2), so this is the LIS (found from ${d.domain})`);
    return { found: url, outcome };
  }
  if (v === "notLocatable") {
    r.notes.push(`verify ${lis}: ${outcome.code === "blocked" ? "this LIS said notLocatable earlier on this link" : "the LIS answered notLocatable"}: it cannot locate this phone (${outcome.message})`);
    return "notLocatable";
  }
  r.notes.push(`verify ${lis}: no HELD answer (${outcome.code}: ${outcome.message}); trying the next choice`);
  return "next";
}

/**
 * What a HELD outcome says about the LIS. HeldOutcome's "timeout" covers both the HELD error timeout (a HELD answer:
 * the HeldClient says "The LIS answered timeout ...") and the phone's own timeout (no answer).
 */
function verdict(o: HeldOutcome): Verdict {
  if (o.ok) return "lis";
  switch (o.code) {
    case "notLocatable":
    case "blocked":
      return "notLocatable";
    case "requestError":
    case "xmlError":
    case "generalLisError":
    case "locationUnknown":
    case "unsupportedMessage":
    case "cannotProvideLiType":
    case "badIdentifier":
      return "lis";
    case "timeout":
      return /^The LIS answered timeout\b/.test(o.message) ? "lis" : "failed";
    default: // http, tls, network, malformed
      return "failed";
  }
}

/** RFC 4848 §4.5: service-parms = [app-service] *(":" app-protocol), case-insensitive; LIS with the HELD protocol. */
function isLisHeld(service: string): boolean {
  const [app, ...protocols] = service.trim().toLowerCase().split(":");
  return app === "lis" && protocols.includes("held");
}

/** A LIS URI the phone may use: https with a host and no user info; http only when allowed. */
function lisUrl(uri: string, allowHttp: boolean): Checked<string> {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return { ok: false, reason: "not a valid URL" };
  }
  if (u.protocol === "http:" && !allowHttp) return { ok: false, reason: "an http LIS cannot be authenticated (RFC 5986 §5); only https is used" };
  if (u.protocol !== "https:" && u.protocol !== "http:") return { ok: false, reason: `HELD runs over HTTP(S), not ${u.protocol}` };
  if (!u.hostname) return { ok: false, reason: "the URI names no host" };
  if (u.username || u.password) return { ok: false, reason: "a user name or password in the URI is refused" };
  return { ok: true, value: uri };
}

/** A domain to look up: host-name labels (letters, digits, '-', '_'), lower case, no trailing dot. */
function inputDomain(raw: string): Checked<string> {
  const s = raw.trim().replace(/\.$/, "").toLowerCase();
  if (!s) return { ok: false, reason: "is empty" };
  if (s.length > 253) return { ok: false, reason: "is longer than a domain name can be" };
  if (!s.split(".").every((l) => /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/.test(l))) return { ok: false, reason: "is not a domain name" };
  return { ok: true, value: s };
}

const isRoot = (name: string): boolean => name === "" || name === ".";

/** The origin of a URI, for notes: the path and query may carry a secret (e.g. a tenant key). */
function origin(uri: string): string {
  try {
    const u = new URL(uri);
    return u.origin === "null" ? `${u.protocol}...` : u.origin;
  } catch {
    return "(bad URI)";
  }
}

const plural = (n: number): string => (n === 1 ? "" : "s");

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}...` : s;
}

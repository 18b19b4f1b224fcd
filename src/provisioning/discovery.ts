// How a phone finds its provisioning service the first time, in this order: the override in its own settings; DHCP,
// read from the lease files of the system's client (option 43 with our sub-options, then 160, then 66); DNS SRV
// _deskphone-prov._tcp.<domain>; else the user types the address in. Only https URLs are accepted: the extension
// and PIN are sent to whatever is found, and they must never travel in the clear.
//
// Assumed, not verified against a running system (say so if you know better):
// - 160 before 66: option 160 names a provisioning server outright, 66 only a TFTP server that may serve other
//   devices (Polycom phones give 160 precedence the same way, by their documentation as remembered, not re-read).
// - 66 and 160 hold a host name or address, host:port, host/path, or a URL; a bare name becomes https://name/.
// - dhcpcd's older --dumplease output may quote values ('...'); both quoted and bare values are read.
// - Option 43 is vendor-specific: a network serving several vendors must send our layout only to our phones (by
//   vendor class, option 60). Lync Phone Edition's own option 43 (sub-option 1 = "MS-UC-Client") is refused here
//   with a note, as sub-option 1 is not an https URL.
import { promises as dnsp } from "node:dns";
import { promises as fs } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { DHCP_OPTION, accessDomains, decodeSipServers, decodeText, decodeVendorOptions, readLeaseFile, type Lease, type LeaseFormat } from "./dhcp-leases.js";

export type DiscoverySource = "override" | "dhcp-43" | "dhcp-160" | "dhcp-66" | "dns-srv" | "manual";

export interface DiscoveryResult {
  /** The provisioning service (always https), or null: the user must enter it ("manual"). */
  url: string | null;
  source: DiscoverySource;
  /** SHA-256 of the provisioning service's CA certificate, 64 lowercase hex digits (option 43 sub-option 2). */
  caFingerprint?: string;
  /** SIP servers from option 120 (names or IPv4 addresses), for the caller's information: not a provisioning URL. */
  sipServers?: string[];
  /** The domain DHCP gave (option 15), or the one the SRV record was found in. */
  domain?: string;
  /** Why other sources gave nothing, or what was refused, in plain words (file paths included). */
  notes: string[];
}

export interface SrvResolver {
  resolveSrv(name: string): Promise<Array<{ name: string; port: number; priority: number; weight: number }>>;
}

export interface DiscoveryOptions {
  /** The URL from the phone's own settings. */
  override?: string;
  /** Lease files to read, newest first. When leaseFiles or leaseDirs is given, the system's places are not read. */
  leaseFiles?: string[];
  /** Directories whose *.lease, *.leases and *.lease.env files are read, newest first. */
  leaseDirs?: string[];
  /** Only leases for this interface (when the lease says which). */
  interface?: string;
  /** Resolver for the SRV query (a node:dns/promises Resolver with its servers set, or a test's fake). */
  resolver?: SrvResolver;
  /** Domain for the SRV query, ahead of the lease's domain-name and the resolver's search list. */
  domain?: string;
  /** Where the search domains come from; /etc/resolv.conf by default. */
  resolvConf?: string;
}

export const SRV_SERVICE = "_deskphone-prov._tcp";

/** Where the usual clients keep their IPv4 leases (IPv6 leases, dhcpd's server leases and NM's other files skipped). */
export const SYSTEM_LEASE_DIRS: ReadonlyArray<{ dir: string; match: RegExp }> = [
  { dir: "/var/lib/dhcp", match: /^dhclient(?!6).*\.leases?$/ }, // Debian/Ubuntu dhclient
  { dir: "/var/lib/dhclient", match: /^(?!dhclient6).*\.leases?$/ }, // RHEL/Fedora dhclient
  { dir: "/var/lib/dhcpcd", match: /\.lease$/ }, // dhcpcd 9+ on Linux
  { dir: "/var/lib/dhcpcd5", match: /\.lease$/ }, // dhcpcd 5-8 on Raspberry Pi OS / Debian
  { dir: "/var/db/dhcpcd", match: /\.lease$/ }, // dhcpcd on the BSDs
  { dir: "/var/lib/NetworkManager", match: /^(?:internal-|dhclient-).*\.lease$/ }, // NM internal client, NM + dhclient
];

const GIVEN_DIR_MATCH = /^(?!dhclient6).*\.(?:leases?|lease\.env)$/;

const LABEL: Record<LeaseFormat, string> = {
  dhclient: "dhclient lease",
  "dhcpcd-raw": "dhcpcd lease",
  "dhcpcd-env": "dhcpcd lease (key=value)",
  networkmanager: "NetworkManager lease",
};

/** Finds the provisioning service. Never throws: whatever goes wrong on the way becomes a note. */
export async function discover(o: DiscoveryOptions = {}): Promise<DiscoveryResult> {
  const notes: string[] = [];
  try {
    return await run(o, notes);
  } catch (e) {
    notes.push(`discovery stopped on an unexpected error: ${(e as Error)?.message ?? String(e)}`);
    return { url: null, source: "manual", notes };
  }
}

async function run(o: DiscoveryOptions, notes: string[]): Promise<DiscoveryResult> {
  // 1. the phone's own settings
  if (o.override !== undefined && o.override.trim() !== "") {
    const u = provisioningUrl(o.override, { bareHost: false });
    if (u.ok) return { url: u.value, source: "override", notes };
    notes.push(`override ${clip(o.override)} refused: ${u.reason}`);
  }

  // 2. DHCP
  const leases = await loadLeases(o, notes);
  const extra: Pick<DiscoveryResult, "sipServers" | "domain"> = {};
  const sip = firstDecoded(leases, DHCP_OPTION.SIP_SERVERS, decodeSipServers, notes);
  if (sip) extra.sipServers = sip;
  const leaseDomain = firstDecoded(leases, DHCP_OPTION.DOMAIN_NAME, decodeDomain, notes);
  if (leaseDomain) extra.domain = leaseDomain;

  for (const l of leases) {
    const raw = l.lease.options[DHCP_OPTION.VENDOR_SPECIFIC];
    if (!raw) continue;
    const v = decodeVendorOptions(raw);
    if (!v.ok) {
      notes.push(`${l.where}: ${v.reason}; option 43 ignored`);
      continue;
    }
    if (v.value.url === undefined) {
      notes.push(`${l.where}: option 43 has no sub-option 1 (provisioning URL)`);
      continue;
    }
    const u = provisioningUrl(v.value.url, { bareHost: false });
    if (!u.ok) {
      notes.push(`${l.where}: option 43 sub-option 1 ${clip(v.value.url)} refused: ${u.reason}`);
      continue;
    }
    return { url: u.value, source: "dhcp-43", ...(v.value.caFingerprint ? { caFingerprint: v.value.caFingerprint } : {}), ...extra, notes };
  }
  for (const [code, source] of [[DHCP_OPTION.PROVISIONING_URL, "dhcp-160"], [DHCP_OPTION.TFTP_SERVER_NAME, "dhcp-66"]] as const) {
    for (const l of leases) {
      const raw = l.lease.options[code];
      if (!raw) continue;
      const t = decodeText(raw);
      const u = t.ok ? provisioningUrl(t.value, { bareHost: true }) : t;
      if (u.ok) return { url: u.value, source, ...extra, notes };
      notes.push(`${l.where}: option ${code} ${t.ok ? `${clip(t.value)} refused: ${u.reason}` : u.reason}`);
    }
  }
  if (leases.length) {
    notes.push(`DHCP: no usable option 43, 160 or 66 in ${leases.map((l) => l.where).join(", ")}`);
  }

  // 3. DNS SRV
  const srv = await findSrv(o, leaseDomain, notes);
  if (srv) return { url: srv.url, source: "dns-srv", ...extra, domain: srv.domain, notes };

  // 4. the user types it in
  notes.push("no provisioning service found: its address must be entered by hand");
  return { url: null, source: "manual", ...extra, notes };
}

/**
 * The access-network domains the leases name for LIS discovery (RFC 5986 §2: DHCP option 213, else the domain name,
 * option 15), newest lease first, each once; with notes on what was read.
 */
export async function leaseAccessDomains(o: Pick<DiscoveryOptions, "leaseFiles" | "leaseDirs" | "interface"> = {}): Promise<{ domains: string[]; notes: string[] }> {
  const notes: string[] = [];
  const domains: string[] = [];
  for (const l of await loadLeases(o, notes)) for (const d of accessDomains(l.lease, notes)) if (!domains.includes(d)) domains.push(d);
  return { domains, notes };
}

/** DHCP option 99 (GEOCONF_CIVIC, RFC 4776) of the current lease, raw, for the location service to decode. */
export interface LeaseCivic {
  /** The option's value (`what | country | CA elements`), or null when the current lease has none. */
  option: Buffer | null;
  /** The IPv4 address of that lease, when it says: a lease for another address than the phone's is not current. */
  address?: string;
  /** Which lease it is, for the log ("dhclient lease /var/lib/dhcp/dhclient.eth0.leases"). */
  where?: string;
  notes: string[];
}

/**
 * Option 99 of the newest lease only (the current one; for `interface` when given): an older lease, perhaps from
 * another network, never lends its location. null option when there is no lease or the newest has no option 99.
 */
export async function leaseGeoconfCivic(o: Pick<DiscoveryOptions, "leaseFiles" | "leaseDirs" | "interface"> = {}): Promise<LeaseCivic> {
  const notes: string[] = [];
  const leases = await loadLeases(o, notes);
  // the newest across every place read (several directories each list theirs newest first)
  const newest = leases.reduce<LoadedLease | undefined>((best, l) => (!best || l.mtimeMs > best.mtimeMs ? l : best), undefined);
  if (!newest) return { option: null, notes };
  const raw = newest.lease.options[DHCP_OPTION.GEOCONF_CIVIC];
  return { option: raw && raw.length ? raw : null, where: newest.where, ...(newest.lease.address ? { address: newest.lease.address } : {}), notes };
}

// ---------------------------------------------------------------------------------------------------------------
// Lease files

interface LoadedLease {
  where: string;
  lease: Lease;
  /** The file's modification time (0 when it could not be read). */
  mtimeMs: number;
}

async function loadLeases(o: DiscoveryOptions, notes: string[]): Promise<LoadedLease[]> {
  const given = o.leaseFiles !== undefined || o.leaseDirs !== undefined;
  const dirs = given ? (o.leaseDirs ?? []).map((dir) => ({ dir, match: GIVEN_DIR_MATCH })) : SYSTEM_LEASE_DIRS;
  const files = [...(o.leaseFiles ?? [])];
  /** The modification times listLeaseFiles read (files given by name are statted below). */
  const mtimes = new Map<string, number>();
  for (const d of dirs) {
    for (const f of await listLeaseFiles(d.dir, d.match, given, notes)) {
      files.push(f.file);
      mtimes.set(f.file, f.mtimeMs);
    }
  }
  const out: LoadedLease[] = [];
  for (const file of [...new Set(files)]) {
    try {
      const lease = await readLeaseFile(file, o.interface ? { interface: o.interface } : {});
      if (!lease) {
        if (o.leaseFiles?.includes(file)) notes.push(`${file}: no lease${o.interface ? ` for ${o.interface}` : ""} in it (or no such file)`);
        continue;
      }
      const where = `${LABEL[lease.format]} ${file}`;
      for (const p of lease.problems) notes.push(`${where}: ${p}`);
      if (lease.format === "networkmanager" && Object.keys(lease.options).length === 0) {
        notes.push(`${where}: holds no DHCP options (NetworkManager's internal client keeps only the address in its lease file)`);
      }
      const mtimeMs = mtimes.get(file) ?? (await fs.stat(file).catch(() => null))?.mtimeMs ?? 0;
      out.push({ where, lease, mtimeMs });
    } catch (e) {
      notes.push(`lease file ${(e as Error)?.message ?? String(e)}`);
    }
  }
  if (!files.length) notes.push(`DHCP: no lease files found${dirs.length ? ` (looked in ${dirs.map((d) => d.dir).join(", ")})` : ""}`);
  return out;
}

/** Lease files in a directory with their modification times, newest first (by modification time, then name). */
async function listLeaseFiles(dir: string, match: RegExp, given: boolean, notes: string[]): Promise<Array<{ file: string; mtimeMs: number }>> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((n) => match.test(n) && !n.endsWith(".lease6"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (given || code !== "ENOENT") notes.push(`${dir}: cannot list lease files (${code ?? String(e)})`);
    return [];
  }
  const stamped: Array<{ file: string; mtimeMs: number }> = [];
  for (const n of names) {
    const file = path.join(dir, n);
    const st = await fs.stat(file).catch(() => null);
    if (st?.isFile()) stamped.push({ file, mtimeMs: st.mtimeMs });
  }
  return stamped.sort((a, b) => b.mtimeMs - a.mtimeMs || a.file.localeCompare(b.file));
}

function firstDecoded<T>(leases: LoadedLease[], code: number, decode: (b: Buffer) => { ok: true; value: T } | { ok: false; reason: string }, notes: string[]): T | undefined {
  for (const l of leases) {
    const raw = l.lease.options[code];
    if (!raw) continue;
    const d = decode(raw);
    if (d.ok) return d.value;
    notes.push(`${l.where}: ${d.reason}; ignored`);
  }
  return undefined;
}

function decodeDomain(b: Buffer): { ok: true; value: string } | { ok: false; reason: string } {
  const t = decodeText(b);
  if (!t.ok) return { ok: false, reason: `option 15 (domain name) ${t.reason}` };
  const first = t.value.split(/\s+/)[0].replace(/\.$/, "").toLowerCase(); // some servers put a search list here
  return isHostName(first) ? { ok: true, value: first } : { ok: false, reason: `option 15 (domain name) ${clip(t.value)} is not a domain name` };
}

// ---------------------------------------------------------------------------------------------------------------
// DNS SRV

async function findSrv(o: DiscoveryOptions, leaseDomain: string | undefined, notes: string[]): Promise<{ url: string; domain: string } | null> {
  const domains: string[] = [];
  const add = (d: string | undefined): void => {
    const n = d?.trim().replace(/\.$/, "").toLowerCase();
    if (n && isHostName(n) && !domains.includes(n)) domains.push(n);
  };
  add(o.domain);
  add(leaseDomain);
  for (const d of await searchDomains(o.resolvConf ?? "/etc/resolv.conf")) add(d);
  if (!domains.length) {
    notes.push("DNS SRV: no domain to look in (none given, none in the lease, no search domain)");
    return null;
  }
  const resolver = o.resolver ?? new dnsp.Resolver({ timeout: 2000, tries: 2 });
  for (const domain of domains) {
    const name = `${SRV_SERVICE}.${domain}`;
    let records: Awaited<ReturnType<SrvResolver["resolveSrv"]>>;
    try {
      records = await resolver.resolveSrv(name);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException)?.code;
      notes.push(`DNS SRV ${name}: ${code === "ENOTFOUND" || code === "ENODATA" ? "no such record" : (code ?? (e as Error)?.message ?? String(e))}`);
      continue;
    }
    // RFC 2782: 'A Target of "." means that the service is decidedly not available at this domain.'
    if (records.length === 1 && records[0].name.replace(/\.$/, "") === "") {
      notes.push(`DNS SRV ${name}: the domain says the service is not available there (target ".")`);
      continue;
    }
    const usable = records.filter((r) => (isHostName(r.name.replace(/\.$/, "")) || net.isIP(r.name) !== 0) && Number.isInteger(r.port) && r.port > 0 && r.port < 65536);
    if (!usable.length) {
      notes.push(`DNS SRV ${name}: ${records.length ? "no record with a usable target and port" : "no records"}`);
      continue;
    }
    // Lowest priority first; within it the highest weight (deterministic, as the SIP side orders SRV records;
    // RFC 2782 asks for a weighted random choice there).
    const best = [...usable].sort((a, b) => a.priority - b.priority || b.weight - a.weight)[0];
    return { url: new URL(`https://${best.name.replace(/\.$/, "")}:${best.port}/`).href, domain };
  }
  return null;
}

/** The search list of resolv.conf(5): "search" or "domain", the last one wins. */
async function searchDomains(file: string): Promise<string[]> {
  const text = await fs.readFile(file, "utf8").catch(() => "");
  let list: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(search|domain)\s+(.+?)\s*$/.exec(line.replace(/[#;].*$/, ""));
    if (m) list = m[1] === "domain" ? [m[2].split(/\s+/)[0]] : m[2].split(/\s+/);
  }
  return list;
}

// ---------------------------------------------------------------------------------------------------------------
// URLs

/**
 * An acceptable provisioning URL: https only, with a host name or address and no user name or password in it.
 * bareHost (66, 160): "name", "name:port" or "name/path" become https://name[:port]/[path].
 */
export function provisioningUrl(text: string, opts: { bareHost: boolean }): { ok: true; value: string } | { ok: false; reason: string } {
  const s = text.trim();
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(s)?.[1]?.toLowerCase();
  if (scheme) {
    if (scheme === "http") return { ok: false, reason: "http is refused: the extension and PIN must never travel in the clear (https only)" };
    if (scheme !== "https") return { ok: false, reason: `only https URLs are accepted (this one is ${scheme}:)` };
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      return { ok: false, reason: "not a valid URL" };
    }
    if (!u.hostname) return { ok: false, reason: "the URL names no host" };
    if (u.username || u.password) return { ok: false, reason: "a user name or password in the URL is refused" };
    const host = u.hostname.replace(/^\[|\]$/g, "");
    if (!isHostName(host.replace(/\.$/, "")) && net.isIP(host) === 0) return { ok: false, reason: `${u.hostname} is not a host name or address` };
    return { ok: true, value: u.href };
  }
  if (!opts.bareHost) return { ok: false, reason: "not a URL (an https:// URL is needed)" };
  const m = /^([^/:\s]+)(?::(\d{1,5}))?(\/\S*)?$/.exec(s);
  const host = m?.[1].replace(/\.$/, "");
  if (!m || !host || (!isHostName(host) && !net.isIPv4(host))) return { ok: false, reason: "neither a host name, an address nor a URL" };
  const port = m[2] ? Number(m[2]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) return { ok: false, reason: `port ${m[2]} is out of range` };
  return { ok: true, value: new URL(`https://${host}${port ? `:${port}` : ""}${m[3] ?? "/"}`).href };
}

function isHostName(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split(".").every((l) => /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(l));
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}

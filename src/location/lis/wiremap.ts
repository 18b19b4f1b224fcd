// The reference LIS's wiremap: a JSON file IT edits that maps a phone to a civic address, by its MAC address, by the
// switch port it is plugged into (LLDP chassis ID + port ID, or the chassis alone), or by the IP subnet it is on.
// Loading checks every field and names each bad one by its JSON path ("wiremap.json: entries[3].civic.country must
// be two letters"). Lookup order, most specific first (like Lync's, standards §5.3, but with the MAC first: here a
// MAC entry is IT's explicit per-phone address, not Lync's SNMP-resolved guess): mac, chassis + port, chassis alone,
// subnet (the longest prefix wins), then the file's `default`. The format is shown in wiremap.example.json.
import { promises as fs } from "node:fs";
import { isIP } from "node:net";
import { PhoneError, ErrorCodes } from "../../base/errors.js";
import { CIVIC_ORDER, type CivicAddress, type CivicElement, type LocationMethod } from "../pidf-lo.js";

/** How a lookup found its entry, most specific first. */
export type MatchKind = "mac" | "port" | "chassis" | "subnet" | "default";

/** An IP address as a number, for subnet matching (IPv4-mapped IPv6 addresses count as IPv4). */
export interface IpAddr {
  v: 4 | 6;
  n: bigint;
}

/** A CIDR subnet, e.g. 10.1.3.0/24 or 2001:db8:1::/48. */
export interface Subnet extends IpAddr {
  prefix: number;
  /** As written in the file. */
  text: string;
}

/** One checked wiremap entry (or the default). */
export interface WiremapEntry {
  /** Where it is in the file, for logs: "entries[3]" or "default". */
  where: string;
  name?: string;
  mac?: string;
  chassis?: string;
  port?: string;
  subnet?: Subnet;
  /** The address served; null for a notLocatable entry. */
  civic: CivicAddress | null;
  method: LocationMethod;
  /** The LIS answers notLocatable: it will never locate these phones (RFC 5985 §6.3). */
  notLocatable: boolean;
}

/** A checked wiremap file. */
export interface Wiremap {
  file: string;
  entries: WiremapEntry[];
  default: WiremapEntry | null;
  /** Requests without a <mac> get badIdentifier (RFC 6155 §7.3) instead of a subnet or default answer. */
  requireMac: boolean;
}

/** The identifiers a request gives (MAC normalised to XX-XX-XX-XX-XX-XX). */
export interface DeviceKeys {
  mac?: string;
  ip?: string;
  chassis?: string;
  port?: string;
}

export interface WiremapMatch {
  entry: WiremapEntry;
  by: MatchKind;
}

/** IANA method tokens an entry may name (RFC 4119 §2.2.3); Wiremap when absent. */
export const WIREMAP_METHODS: readonly LocationMethod[] = ["Wiremap", "Manual", "DHCP", "LLDP-MED", "GPS", "Derived", "Default"];

const TOP_FIELDS = ["comment", "requireMac", "entries", "default"];
const ENTRY_FIELDS = ["comment", "name", "mac", "chassis", "port", "subnet", "civic", "method", "notLocatable"];
const MAX_VALUE = 255;
/** Words IT may write for an element (Lync's Set-CsLisLocation names among them), for the hint in the error. */
const CIVIC_WORDS: Record<string, CivicElement> = { state: "A1", county: "A2", city: "A3", street: "RD", streetname: "RD", streetsuffix: "STS", housenumber: "HNO", number: "HNO", landmark: "LMK", location: "LOC", floor: "FLR", name: "NAM", company: "NAM", companyname: "NAM", zip: "PC", postcode: "PC", postalcode: "PC", building: "BLD", suite: "UNIT", desk: "SEAT" };

/** A MAC in any usual spelling (00:11:.., 00-11-.., 0011.2233.4455, 001122334455; 48 or 64 bits) -> "00-11-22-33-44-55", or null. */
export function normaliseMac(s: string): string | null {
  const hex = s.trim();
  if (!/^[0-9A-Fa-f]{2}([-:]?[0-9A-Fa-f]{2})*$/.test(hex) && !/^[0-9A-Fa-f]{4}(\.[0-9A-Fa-f]{4})+$/.test(hex)) return null;
  const digits = hex.replace(/[-:.]/g, "").toUpperCase();
  if (digits.length !== 12 && digits.length !== 16) return null;
  return digits.match(/../g)!.join("-");
}

function v4Number(s: string): bigint | null {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((n, p) => (n << 8n) | BigInt(Number(p)), 0n);
}

/** An IP address (v4, v6, v4-mapped v6; a zone "%eth0" is dropped) as a number, or null. */
export function parseIp(text: string): IpAddr | null {
  const s = text.trim().replace(/%.*$/, "");
  const family = isIP(s);
  if (family === 4) return { v: 4, n: v4Number(s)! };
  if (family !== 6) return null;
  let str = s;
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(str);
  if (dotted) {
    const n = v4Number(dotted[2])!;
    str = `${dotted[1]}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = str.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  const n = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  if (n >> 32n === 0xffffn) return { v: 4, n: n & 0xffffffffn };
  return { v: 6, n };
}

/** "10.1.3.0/24" -> a subnet, or the reason it is not one. */
function parseSubnet(text: string): Subnet | string {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return "must be an address and a prefix length, e.g. 10.1.3.0/24";
  const ip = parseIp(m[1]);
  if (!ip || m[1].includes("%")) return `has '${m[1]}', which is not an IP address`;
  const bits = ip.v === 4 ? 32 : 128;
  const given = Number(m[2]);
  // a v4-mapped v6 subnet (::ffff:10.0.0.0/104) is the v4 subnet it covers
  const prefix = ip.v === 4 && isIP(m[1]) === 6 ? given - 96 : given;
  if (prefix < 0 || prefix > bits) return `has prefix length /${given}, beyond the address's ${bits} bits`;
  const host = (1n << BigInt(bits - prefix)) - 1n;
  if ((ip.n & host) !== 0n) return `has host bits set (the subnet of ${m[1]}/${given} starts at ${ipText({ v: ip.v, n: ip.n & ~host })})`;
  return { ...ip, prefix, text: text.trim() };
}

function ipText(ip: IpAddr): string {
  if (ip.v === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.n >> s) & 255n)).join(".");
  const groups = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((ip.n >> s) & 0xffffn).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}

function inSubnet(ip: IpAddr, net: Subnet): boolean {
  if (ip.v !== net.v) return false;
  const shift = BigInt((net.v === 4 ? 32 : 128) - net.prefix);
  return ip.n >> shift === net.n >> shift;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const typeWord = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v)}`);

function checkCivic(v: unknown, at: string, problems: string[]): CivicAddress | null {
  if (!isObject(v)) {
    problems.push(`${at} must be an object of RFC 5139 elements (country, A1, A3, RD, HNO, FLR, ROOM, ...), not ${typeWord(v)}`);
    return null;
  }
  const out: Partial<Record<CivicElement | "lang", string>> = {};
  for (const [k, val] of Object.entries(v)) {
    const p = `${at}.${k}`;
    if (k !== "lang" && !(CIVIC_ORDER as readonly string[]).includes(k)) {
      const near = CIVIC_ORDER.find((e) => e.toLowerCase() === k.toLowerCase()) ?? CIVIC_WORDS[k.toLowerCase().replace(/[^a-z]/g, "")];
      problems.push(`${p} is not an RFC 5139 element${near ? ` (did you mean ${near}?)` : ""}; use ${CIVIC_ORDER.join(" ")} or lang`);
      continue;
    }
    if (typeof val !== "string") {
      problems.push(`${p} must be a string${typeof val === "number" ? ` (put the number in quotes: "${val}")` : `, not ${typeWord(val)}`}`);
      continue;
    }
    if (!val.trim()) problems.push(`${p} is empty (leave the element out instead)`);
    else if (val.length > MAX_VALUE) problems.push(`${p} is longer than ${MAX_VALUE} characters`);
    else out[k as CivicElement | "lang"] = val.trim();
  }
  if (v.country === undefined) problems.push(`${at}.country is missing (ISO 3166-1 two-letter code, e.g. "US")`);
  else if (typeof v.country === "string" && v.country.trim() && !/^[A-Za-z]{2}$/.test(v.country.trim())) problems.push(`${at}.country must be two letters (ISO 3166-1, e.g. "US"), not "${v.country}"`);
  if (typeof v.lang === "string" && !/^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(v.lang.trim())) problems.push(`${at}.lang must be a language tag such as "en-US", not "${v.lang}"`);
  if (typeof out.country !== "string") return null;
  return { ...out, country: out.country.toUpperCase() } as CivicAddress;
}

function checkEntry(v: unknown, at: string, isDefault: boolean, problems: string[]): WiremapEntry | null {
  if (!isObject(v)) {
    problems.push(`${at} must be an object, not ${typeWord(v)}`);
    return null;
  }
  const before = problems.length;
  for (const k of Object.keys(v)) if (!ENTRY_FIELDS.includes(k)) problems.push(`${at}.${k} is not a wiremap field (use ${ENTRY_FIELDS.join(", ")})`);
  const str = (k: string): string | undefined => {
    const x = v[k];
    if (x === undefined) return undefined;
    if (typeof x !== "string" || !x.trim()) problems.push(`${at}.${k} must be a non-empty string, not ${typeWord(x)}`);
    else return x.trim();
    return undefined;
  };
  const entry: WiremapEntry = { where: at, civic: null, method: "Wiremap", notLocatable: false };
  const name = str("name");
  if (name) entry.name = name;
  str("comment");
  const keys = ["mac", "chassis", "subnet"].filter((k) => v[k] !== undefined);
  if (isDefault && (keys.length || v.port !== undefined)) problems.push(`${at} matches every phone: it takes no mac, chassis, port or subnet`);
  else if (!isDefault && keys.length === 0 && v.port === undefined) problems.push(`${at} needs one of mac, chassis (with or without port) or subnet`);
  else if (keys.length > 1) problems.push(`${at} has ${keys.join(" and ")}: give one of mac, chassis (+ port), subnet per entry`);
  if (v.port !== undefined && v.chassis === undefined && !isDefault) problems.push(`${at}.port needs the switch's chassis too (port IDs repeat across switches)`);
  const mac = str("mac");
  if (mac) {
    const m = normaliseMac(mac);
    if (m) entry.mac = m;
    else problems.push(`${at}.mac must be a MAC address like 00-11-22-33-44-55, not "${mac}"`);
  }
  const chassis = str("chassis");
  if (chassis) entry.chassis = chassis;
  const port = str("port");
  if (port) entry.port = port;
  const subnet = str("subnet");
  if (subnet) {
    const s = parseSubnet(subnet);
    if (typeof s === "string") problems.push(`${at}.subnet ${s}`);
    else entry.subnet = s;
  }
  if (v.notLocatable !== undefined && v.notLocatable !== true) problems.push(`${at}.notLocatable must be true or left out, not ${typeWord(v.notLocatable)}`);
  if (v.notLocatable === true) {
    entry.notLocatable = true;
    if (v.civic !== undefined || v.method !== undefined) problems.push(`${at} is notLocatable: it takes no civic or method`);
  } else if (v.civic === undefined) problems.push(`${at}.civic is missing (or say "notLocatable": true)`);
  else entry.civic = checkCivic(v.civic, `${at}.civic`, problems);
  if (v.method !== undefined && !WIREMAP_METHODS.includes(v.method as LocationMethod)) problems.push(`${at}.method must be one of ${WIREMAP_METHODS.join(", ")}, not ${typeWord(v.method)}`);
  else if (v.method !== undefined) entry.method = v.method as LocationMethod;
  return problems.length === before ? entry : null;
}

/** Checks parsed wiremap JSON; throws PHONE_ERR_CONFIG_INVALID naming every bad field by its path. */
export function parseWiremap(data: unknown, file = "wiremap"): Wiremap {
  const problems: string[] = [];
  const map: Wiremap = { file, entries: [], default: null, requireMac: false };
  if (!isObject(data)) throw invalid(file, [`must be a JSON object with "entries", not ${typeWord(data)}`]);
  for (const k of Object.keys(data)) if (!TOP_FIELDS.includes(k)) problems.push(`${k} is not a wiremap field (use ${TOP_FIELDS.join(", ")})`);
  if (data.requireMac !== undefined && typeof data.requireMac !== "boolean") problems.push(`requireMac must be true or false, not ${typeWord(data.requireMac)}`);
  map.requireMac = data.requireMac === true;
  if (!Array.isArray(data.entries)) problems.push(data.entries === undefined ? "entries is missing (a list, may be empty)" : `entries must be a list, not ${typeWord(data.entries)}`);
  else data.entries.forEach((e, i) => {
    const entry = checkEntry(e, `entries[${i}]`, false, problems);
    if (entry) map.entries.push(entry);
  });
  if (data.default !== undefined) map.default = checkEntry(data.default, "default", true, problems);
  // the same key twice would make the answer depend on the order of lines
  const seen = new Map<string, string>();
  for (const e of map.entries) {
    const key = e.mac ? `mac ${e.mac}` : e.chassis ? `chassis ${e.chassis.toLowerCase()}${e.port ? ` port ${e.port.toLowerCase()}` : ""}` : `subnet ${e.subnet!.v}/${e.subnet!.n}/${e.subnet!.prefix}`;
    const first = seen.get(key);
    if (first) problems.push(`${e.where} has the same ${key.startsWith("subnet") ? `subnet as ${first} (${e.subnet!.text})` : `${key} as ${first}`}`);
    else seen.set(key, e.where);
  }
  if (problems.length) throw invalid(file, problems);
  return map;
}

function invalid(file: string, problems: string[]): PhoneError {
  const shown = problems.length > 10 ? [...problems.slice(0, 10), `and ${problems.length - 10} more`] : problems;
  return new PhoneError(ErrorCodes.CONFIG_INVALID, `${file}: ${shown.join("; ")}`, { file, problems });
}

/** Reads and checks a wiremap file; the error names the file and every bad field. */
export async function loadWiremap(file: string): Promise<Wiremap> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    throw invalid(file, [`cannot read the wiremap (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw invalid(file, [`not JSON (${(e as Error).message})`]);
  }
  return parseWiremap(data, file);
}

const sameId = (a: string, b: string): boolean => (normaliseMac(a) ?? a.trim().toLowerCase()) === (normaliseMac(b) ?? b.trim().toLowerCase());

/**
 * The entry for a phone: mac, then chassis + port, then chassis alone, then the longest subnet holding its ip, then
 * the default; null when nothing matches. Chassis and port IDs compare case-insensitively (a MAC-form chassis in any
 * spelling).
 */
export function lookupLocation(map: Wiremap, ids: DeviceKeys): WiremapMatch | null {
  const mac = ids.mac ? normaliseMac(ids.mac) : null;
  const byMac = mac ? map.entries.find((e) => e.mac === mac) : undefined;
  if (byMac) return { entry: byMac, by: "mac" };
  if (ids.chassis) {
    const onSwitch = map.entries.filter((e) => e.chassis && sameId(e.chassis, ids.chassis!));
    const byPort = ids.port ? onSwitch.find((e) => e.port && e.port.toLowerCase() === ids.port!.trim().toLowerCase()) : undefined;
    if (byPort) return { entry: byPort, by: "port" };
    const byChassis = onSwitch.find((e) => !e.port);
    if (byChassis) return { entry: byChassis, by: "chassis" };
  }
  const ip = ids.ip ? parseIp(ids.ip) : null;
  if (ip) {
    let best: WiremapEntry | undefined;
    for (const e of map.entries) if (e.subnet && inSubnet(ip, e.subnet) && (!best || e.subnet.prefix > best.subnet!.prefix)) best = e;
    if (best) return { entry: best, by: "subnet" };
  }
  return map.default ? { entry: map.default, by: "default" } : null;
}

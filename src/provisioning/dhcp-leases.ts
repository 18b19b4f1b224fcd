// The DHCP lease the operating system's client left on disk, read back for provisioning discovery: ISC dhclient's
// text leases, dhcpcd's raw BOOTP packet (and its key=value dump), NetworkManager's internal-client lease; plus the
// decoders for the options discovery reads (43 with our sub-options, 66/160/15 text, 120 SIP servers of RFC 3361), and
// the access-network domain of LIS discovery (213, RFC 5986 §3.2) with option 15 behind it (accessDomains), and option
// 99 (GEOCONF_CIVIC, RFC 4776) kept raw with the lease's address for the location service (which decodes it).
//
// What each client really writes (checked against their sources; see discovery.ts for what is assumed):
// - dhclient (isc-projects/dhcp common/options.c pretty_print_option): `lease { interface "eth0"; option NAME VALUE;
//   ... }`, newest block last. Options of type text are quoted, with \" \\ \$ ... escaped and non-printables as \ooo.
//   Options of type "X" (vendor-encapsulated-options, and every option dhclient has no name for, printed as
//   `unknown-NNN`) are quoted text when every byte is printable, else bytes in hex `%x` joined by ':' ("1:1b:68").
//   Option 120 has no name in ISC DHCP 4.4, so it prints as unknown-120. Option 213 is named v4-access-domain (type
//   "d", common/tables.c, RFC5986_OPTIONS is on in site.h) and pretty_dname prints it unquoted in presentation form,
//   every label followed by '.': `option v4-access-domain example.com.;`.
// - dhcpcd (NetworkConfiguration/dhcpcd src/dhcp.c write_lease/read_lease): DBDIR/<if>[-<ssid>].lease is the DHCP
//   reply exactly as received. `dhcpcd --dumplease` prints the script variables, one `name=value` a line:
//   vendor_encapsulated_options is hex without separators, tftp_server_name and domain_name plain text, sip_server a
//   space-separated list of names or addresses. dhcpcd exports no variable for an option it has no definition for
//   (160 has none), so option 160 is only found in the raw lease. 213 is defined (dhcpcd-definitions.conf `define 213
//   domain access_domain`) and printed decoded, without the trailing dot: `access_domain=example.com`.
// - NetworkManager: with the systemd-based internal client (NM before the nettools client) the lease file is
//   systemd's dhcp_lease_save format: `ADDRESS=`, `DOMAINNAME=`, `SIP=` (IPv4 only), `VENDOR_SPECIFIC=<hex>` and
//   `OPTION_224`..`OPTION_254=<hex>` for the private range only; 66, 160 and 213 are never saved. The nettools client (the
//   default today) writes `ADDRESS=` and nothing else. There is no PRIVATE_160 key in either. With NM's dhclient
//   backend the file is dhclient's format (dhclient-<uuid>-<if>.lease).
// Option 99 (GEOCONF_CIVIC): ISC dhclient 4.4 has no name for it (common/tables.c), so it prints as `unknown-99`, in hex
//   (a value starts with `what`, 0-2, never printable), or under the name dhclient.conf defines: `option geoconf-civic
//   code 99 = string;` and `also request geoconf-civic;`. dhcpcd defines 99 as `encap geoconf_civic` with only `what`
//   and `country_code` embedded ("the rest of this option is not supported", dhcpcd-definitions.conf), so its dump
//   loses the address: the raw lease has the whole option; or dhcpcd.conf redefines it, `define 99 binhex
//   geoconf_civic` and `option geoconf_civic`, and the dump then holds `geoconf_civic=<hex>`. NetworkManager's internal
//   client never saves it. The lease's own address (dhclient fixed-address, the packet's yiaddr, dhcpcd ip_address, NM
//   ADDRESS) is kept so that a lease left from another address is not taken for the current one.
import { promises as fs } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { decodeSingleDnsName } from "../base/dns-name.js";
import { PhoneError, ErrorCodes } from "../base/errors.js";

/** Raw option payloads by option code; an option seen more than once is concatenated (RFC 3396). */
export interface DhcpOptions {
  [code: number]: Buffer;
}

export type LeaseFormat = "dhclient" | "dhcpcd-raw" | "dhcpcd-env" | "networkmanager";

export interface Lease {
  format: LeaseFormat;
  interface?: string;
  /** The IPv4 address the lease gave (dhclient fixed-address, BOOTP yiaddr, dhcpcd ip_address, NM ADDRESS), when it says. */
  address?: string;
  options: DhcpOptions;
  /** Recoverable problems (an option cut short, an unclosed last block): the rest of the lease was still read. */
  problems: string[];
}

export const DHCP_OPTION = { DOMAIN_NAME: 15, VENDOR_SPECIFIC: 43, OVERLOAD: 52, TFTP_SERVER_NAME: 66, GEOCONF_CIVIC: 99, SIP_SERVERS: 120, PROVISIONING_URL: 160, ACCESS_DOMAIN: 213 } as const;

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A lease file is a few KiB; anything much bigger is not one and is not read into memory. */
const MAX_LEASE_BYTES = 1024 * 1024;

/**
 * Reads one lease file. null: nothing to read (no such file, an empty file, no lease in it, or none for the
 * interface asked for). Throws a PhoneError (never anything else) when the file cannot be read or is not a lease.
 */
export async function readLeaseFile(file: string, opts: { interface?: string } = {}): Promise<Lease | null> {
  let data: Buffer;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new PhoneError(ErrorCodes.CONFIG_INVALID, `${file}: not a regular file`, { file });
    if (st.size > MAX_LEASE_BYTES) throw new PhoneError(ErrorCodes.CONFIG_INVALID, `${file}: ${st.size} bytes is too big for a lease file`, { file });
    data = await fs.readFile(file);
  } catch (e) {
    if (e instanceof PhoneError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    if (code === "ENOENT") return null;
    const perm = code === "EACCES" || code === "EPERM";
    throw new PhoneError(perm ? ErrorCodes.PERMISSION : ErrorCodes.STORE_IO, `${file}: cannot read (${code})`, { file, code }, { cause: e });
  }
  try {
    return parseLease(data, { fileName: path.basename(file), interface: opts.interface });
  } catch (e) {
    const why = e instanceof PhoneError ? e.message : String(e);
    throw new PhoneError(ErrorCodes.CONFIG_INVALID, `${file}: ${why}`, { file });
  }
}

/** Parses lease bytes whatever the client; fileName gives the interface for formats that keep it only there. */
export function parseLease(data: Buffer, hints: { fileName?: string; interface?: string } = {}): Lease | null {
  if (data.length === 0) return null;
  let lease: Lease | null;
  if (data.length >= BOOTP_OPTIONS && data.readUInt32BE(BOOTP_FIXED) === MAGIC_COOKIE) {
    const p = parseDhcpPacket(data);
    const yiaddr = [...data.subarray(YIADDR, YIADDR + 4)].join(".");
    lease = { format: "dhcpcd-raw", options: p.options, problems: p.problems, ...ifName(dhcpcdInterface(hints.fileName)), ...(yiaddr !== "0.0.0.0" ? { address: yiaddr } : {}) };
  } else if (isBinary(data)) {
    if ((data[0] === 1 || data[0] === 2) && data.length < BOOTP_OPTIONS) {
      throw invalid(`truncated DHCP packet: ${data.length} bytes, a BOOTP header and magic cookie take ${BOOTP_OPTIONS}`);
    }
    throw invalid(`not a lease file (binary data without the DHCP magic cookie 99.130.83.99 at offset ${BOOTP_FIXED})`);
  } else {
    const text = data.toString("latin1");
    if (/(?:^|[\s;}])lease\s*\{/.test(text)) lease = parseDhclientLeases(text, hints.interface);
    else if (/^(?:ADDRESS|DOMAINNAME|VENDOR_SPECIFIC|SIP|NETMASK|ROUTER|SERVER_ADDRESS)=/m.test(text)) lease = parseNetworkManagerLease(text, hints.fileName);
    else if (DHCPCD_ENV_LINE.test(text)) lease = parseDhcpcdEnv(text);
    else throw invalid("not a lease file (no `lease {` block, no KEY=value lines of dhcpcd or NetworkManager)");
  }
  if (lease && hints.interface && lease.interface && lease.interface !== hints.interface) return null;
  return lease;
}

// ---------------------------------------------------------------------------------------------------------------
// dhcpcd: the raw DHCP reply (RFC 2131 section 2: fixed BOOTP fields, 236 bytes; then the options field, whose
// first four octets are the magic cookie 99.130.83.99)

const BOOTP_FIXED = 236;
/** 'yiaddr', "your (client) IP address" (RFC 2131 section 2). */
const YIADDR = 16;
const BOOTP_OPTIONS = BOOTP_FIXED + 4;
const MAGIC_COOKIE = 0x63825363;
const SNAME = { at: 44, len: 64 };
const FILE = { at: 108, len: 128 };

/** Options of a DHCP packet, including those overloaded into 'file' and 'sname'; problems say what was skipped. */
export function parseDhcpPacket(p: Buffer): { options: DhcpOptions; problems: string[] } {
  if (p.length < BOOTP_OPTIONS) throw invalid(`truncated DHCP packet: ${p.length} bytes, a BOOTP header and magic cookie take ${BOOTP_OPTIONS}`);
  if (p.readUInt32BE(BOOTP_FIXED) !== MAGIC_COOKIE) throw invalid(`no DHCP magic cookie at offset ${BOOTP_FIXED}`);
  if (p[0] !== 1 && p[0] !== 2) throw invalid(`op ${p[0]} is neither BOOTREQUEST nor BOOTREPLY`);
  const chunks = new Map<number, Buffer[]>();
  const problems: string[] = [];
  const sink = (code: number, value: Buffer): void => void chunks.set(code, [...(chunks.get(code) ?? []), value]);
  walkOptions(p.subarray(BOOTP_OPTIONS), "options field", sink, problems);
  // RFC 2131 section 4.1: "The options in the 'options' field MUST be interpreted first, so that any 'option
  // overload' options may be interpreted. The 'file' field MUST be interpreted next (if the 'option overload' option
  // indicates that the 'file' field contains DHCP options), followed by the 'sname' field." Values (RFC 2132 9.3):
  // 1 = 'file' holds options, 2 = 'sname' holds options, 3 = both.
  const overload = chunks.get(DHCP_OPTION.OVERLOAD);
  if (overload) {
    const v = Buffer.concat(overload);
    if (v.length !== 1 || v[0] < 1 || v[0] > 3) problems.push(`option 52 (overload) has a bad value ${v.toString("hex") || "(empty)"}; 'file' and 'sname' not read`);
    else {
      if (v[0] & 1) walkOptions(p.subarray(FILE.at, FILE.at + FILE.len), "'file' field", sink, problems);
      if (v[0] & 2) walkOptions(p.subarray(SNAME.at, SNAME.at + SNAME.len), "'sname' field", sink, problems);
    }
  }
  const options: DhcpOptions = {};
  for (const [code, parts] of chunks) options[code] = Buffer.concat(parts);
  return { options, problems };
}

function walkOptions(region: Buffer, where: string, sink: (code: number, value: Buffer) => void, problems: string[]): void {
  let i = 0;
  while (i < region.length) {
    const code = region[i];
    if (code === 0) {
      i++; // pad
      continue;
    }
    if (code === 255) return; // end
    if (i + 1 >= region.length) {
      problems.push(`${where}: option ${code} is cut short (no length byte); the rest of the field was ignored`);
      return;
    }
    const len = region[i + 1];
    if (i + 2 + len > region.length) {
      problems.push(`${where}: option ${code} length ${len} overruns the field (${region.length - i - 2} bytes left); the rest of the field was ignored`);
      return;
    }
    sink(code, region.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
}

/** dhcpcd names its lease [dhcpcd-]<if>[-<ssid>].lease; interface names rarely hold '-', SSIDs often do. */
function dhcpcdInterface(fileName?: string): string | undefined {
  const m = fileName && /^(?:dhcpcd-)?([^-]+)(?:-.*)?\.lease$/.exec(fileName);
  return m ? m[1] : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// dhcpcd --dumplease (and saved copies of it): name=value lines

const DHCPCD_ENV_LINE = /^(?:new_)?(?:interface|reason|ip_address|subnet_mask|routers|domain_name|domain_name_servers|dhcp_server_identifier|dhcp_lease_time|dhcp_message_type|broadcast_address|vendor_encapsulated_options|tftp_server_name|sip_server|deskphone_prov_url|access_domain)=/m;

export function parseDhcpcdEnv(text: string): Lease {
  const lease: Lease = { format: "dhcpcd-env", options: {}, problems: [] };
  for (const [key, value] of keyValues(text, /^(?:new_)?([a-z][a-z0-9_]*)=(.*)$/)) {
    if (key === "interface") lease.interface = value;
    else if (key === "ip_address" && net.isIPv4(value)) lease.address = value;
    else if (key === "geoconf_civic") putHex(lease, DHCP_OPTION.GEOCONF_CIVIC, key, value); // our binhex define for 99
    else if (key === "vendor_encapsulated_options") putHex(lease, DHCP_OPTION.VENDOR_SPECIFIC, key, value);
    else if (key === "tftp_server_name") lease.options[DHCP_OPTION.TFTP_SERVER_NAME] = Buffer.from(value, "latin1");
    else if (key === "domain_name") lease.options[DHCP_OPTION.DOMAIN_NAME] = Buffer.from(value, "latin1");
    else if (key === "sip_server") putSip(lease, key, value);
    else if (key === "deskphone_prov_url") lease.options[DHCP_OPTION.PROVISIONING_URL] = Buffer.from(value, "latin1"); // our define for 160
    else if (key === "access_domain") putDomainName(lease, key, value);
  }
  return lease;
}

// ---------------------------------------------------------------------------------------------------------------
// NetworkManager internal client (systemd's dhcp_lease_save key=value format)

export function parseNetworkManagerLease(text: string, fileName?: string): Lease {
  const lease: Lease = { format: "networkmanager", options: {}, problems: [] };
  const m = fileName && /^internal-[0-9a-fA-F-]{36}-(.+)\.lease$/.exec(fileName);
  if (m) lease.interface = m[1];
  for (const [key, value] of keyValues(text, /^([A-Z][A-Z0-9_]*)=(.*)$/)) {
    const priv = /^OPTION_(\d{3})$/.exec(key);
    if (key === "ADDRESS" && net.isIPv4(value)) lease.address = value;
    else if (key === "VENDOR_SPECIFIC") putHex(lease, DHCP_OPTION.VENDOR_SPECIFIC, key, value);
    else if (key === "DOMAINNAME") lease.options[DHCP_OPTION.DOMAIN_NAME] = Buffer.from(value, "latin1");
    else if (key === "SIP") putSip(lease, key, value);
    else if (priv && Number(priv[1]) >= 224 && Number(priv[1]) <= 254) putHex(lease, Number(priv[1]), key, value);
  }
  return lease;
}

function* keyValues(text: string, line: RegExp): Generator<[string, string]> {
  for (const raw of text.split(/\r?\n/)) {
    const m = line.exec(raw.trim());
    if (!m) continue;
    let v = m[2].trim();
    // Older dhcpcd quoted values for the shell; systemd's parse_env_file accepts quotes too.
    if (v.length >= 2 && (v[0] === "'" || v[0] === '"') && v.endsWith(v[0])) v = v.slice(1, -1);
    yield [m[1], v];
  }
}

function putHex(lease: Lease, code: number, key: string, value: string): void {
  const hex = value.replace(/:/g, "");
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) lease.problems.push(`${key}: not hex bytes (${clip(value)})`);
  else lease.options[code] = Buffer.from(hex, "hex");
}

/** A printed SIP server list back to the wire form of option 120, so every format decodes the same way. */
function putSip(lease: Lease, key: string, value: string): void {
  const items = value.split(/[\s,]+/).filter(Boolean);
  if (!items.length) return;
  if (items.every((s) => net.isIPv4(s))) {
    lease.options[DHCP_OPTION.SIP_SERVERS] = Buffer.concat([Buffer.from([1]), ...items.map((s) => Buffer.from(s.split(".").map(Number)))]);
    return;
  }
  const names = items.map((s) => encodeDnsName(s));
  if (names.some((n) => n === null)) lease.problems.push(`${key}: neither IPv4 addresses nor domain names (${clip(value)})`);
  else lease.options[DHCP_OPTION.SIP_SERVERS] = Buffer.concat([Buffer.from([0]), ...(names as Buffer[])]);
}

/**
 * A printed option 213 (presentation form, "example.com" or "example.com.") back to its wire form, so every format
 * decodes the same way. dhcpcd prints a value holding several names space-separated: each is encoded, and the decoder
 * then refuses the option for holding more than one root label, as it would the raw bytes.
 */
function putDomainName(lease: Lease, key: string, value: string): void {
  const names = value.split(/\s+/).filter(Boolean).map((s) => encodeDnsName(s));
  if (!names.length) return;
  if (names.some((n) => n === null)) lease.problems.push(`${key}: not a domain name (${clip(value)})`);
  else lease.options[DHCP_OPTION.ACCESS_DOMAIN] = Buffer.concat(names as Buffer[]);
}

export function encodeDnsName(name: string): Buffer | null {
  const labels = name.replace(/\.$/, "").split(".");
  if (labels.some((l) => l.length === 0 || l.length > 63)) return null;
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "latin1")])), Buffer.from([0])]);
}

// ---------------------------------------------------------------------------------------------------------------
// ISC dhclient lease files

type Tok = { kind: "word" | "string" | "punct"; text: string; bytes?: Buffer };

/**
 * Option names dhclient prints for the codes discovery needs; options it has no name for print as unknown-NNN.
 * dhclient (like dhcpcd) only gets what it asks for, and a code is printed under the name it was defined with, so
 * the image's dhclient.conf should say, with these names:
 *   option deskphone-prov-url code 160 = text;  option deskphone-sip-servers code 120 = string;
 *   also request vendor-encapsulated-options, tftp-server-name, deskphone-prov-url, deskphone-sip-servers;
 * and its dhcpcd.conf: define 160 string deskphone_prov_url; option vendor_encapsulated_options, tftp_server_name,
 * sip_server, deskphone_prov_url.
 */
const DHCLIENT_OPTION_NAMES: Record<string, number> = {
  "domain-name": DHCP_OPTION.DOMAIN_NAME,
  "vendor-encapsulated-options": DHCP_OPTION.VENDOR_SPECIFIC,
  "tftp-server-name": DHCP_OPTION.TFTP_SERVER_NAME,
  "deskphone-sip-servers": DHCP_OPTION.SIP_SERVERS,
  "deskphone-prov-url": DHCP_OPTION.PROVISIONING_URL,
  "v4-access-domain": DHCP_OPTION.ACCESS_DOMAIN,
  "geoconf-civic": DHCP_OPTION.GEOCONF_CIVIC,
};

/** The newest (last) `lease { }` block, for one interface when asked; lease6 and other blocks are skipped. */
export function parseDhclientLeases(text: string, iface?: string): Lease | null {
  const { toks, problem } = tokenize(text);
  const problems: string[] = problem ? [problem] : [];
  const leases: Lease[] = [];
  let i = 0;
  while (i < toks.length) {
    const start = i;
    while (i < toks.length && toks[i].kind !== "punct") i++;
    if (i >= toks.length) break;
    const t = toks[i++];
    if (t.text !== "{") continue; // ';' ends a top-level statement (default-duid ...); a stray '}' is skipped
    const head = toks.slice(start, i - 1).map((x) => x.text);
    const end = matchBrace(toks, i);
    if (end < 0) {
      problems.push(`the last ${head[0] ?? "block"} block is not closed (file cut short?); it was ignored`);
      break;
    }
    if (head.length === 1 && head[0] === "lease") leases.push(leaseBlock(toks.slice(i, end)));
    i = end + 1;
  }
  const picked = iface ? leases.filter((l) => l.interface === iface) : leases;
  const last = picked[picked.length - 1];
  if (!last) {
    if (problems.length) throw invalid(problems.join("; "));
    return null;
  }
  last.problems.unshift(...problems);
  return last;
}

function matchBrace(toks: Tok[], from: number): number {
  let depth = 1;
  for (let j = from; j < toks.length; j++) {
    if (toks[j].kind !== "punct") continue;
    if (toks[j].text === "{") depth++;
    else if (toks[j].text === "}" && --depth === 0) return j;
  }
  return -1;
}

function leaseBlock(body: Tok[]): Lease {
  const lease: Lease = { format: "dhclient", options: {}, problems: [] };
  let i = 0;
  while (i < body.length) {
    const start = i;
    while (i < body.length && !(body[i].kind === "punct" && (body[i].text === ";" || body[i].text === "{"))) i++;
    const stmt = body.slice(start, i);
    if (i < body.length && body[i].text === "{") {
      const end = matchBrace(body, i + 1);
      i = end < 0 ? body.length : end + 1; // a nested block has nothing we read
      continue;
    }
    i++;
    const [kw, a] = stmt;
    if (kw?.text === "interface" && a?.kind === "string") lease.interface = a.text;
    else if (kw?.text === "fixed-address" && a?.kind === "word" && net.isIPv4(a.text)) lease.address = a.text;
    else if (kw?.text === "option" && a?.kind === "word") dhclientOption(lease, a.text, stmt.slice(2));
  }
  return lease;
}

function dhclientOption(lease: Lease, name: string, value: Tok[]): void {
  const unknown = /^unknown-(\d{1,3})$/.exec(name);
  const code = unknown ? Number(unknown[1]) : DHCLIENT_OPTION_NAMES[name];
  if (code === undefined || code > 254) return;
  const v = value.filter((t) => t.text !== ",");
  if (code === DHCP_OPTION.ACCESS_DOMAIN && !unknown) {
    // type "d": printed as a name (example.com.), not as bytes; unknown-213 (a dhclient without the name) is bytes
    if (v.length === 1 && v[0].kind !== "punct") putDomainName(lease, `option ${name}`, v[0].text);
    else lease.problems.push(`option ${name}: value not understood (${clip(value.map((t) => t.text).join(" "))})`);
    return;
  }
  if (v.length === 1 && v[0].kind === "string" && v[0].bytes) lease.options[code] = v[0].bytes;
  else if (v.length === 1 && v[0].kind === "word" && /^[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2})*$/.test(v[0].text)) {
    lease.options[code] = Buffer.from(v[0].text.split(":").map((h) => parseInt(h, 16)));
  } else lease.problems.push(`option ${name}: value not understood (${clip(value.map((t) => t.text).join(" "))})`);
}

/** dhclient's lexer, for what a lease file holds: words, "strings" with ISC escapes, { } ; , and # comments. */
function tokenize(text: string): { toks: Tok[]; problem?: string } {
  const toks: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) i++;
    else if (c === "#") while (i < text.length && text[i] !== "\n") i++;
    else if ("{};,".includes(c)) {
      toks.push({ kind: "punct", text: c });
      i++;
    } else if (c === '"') {
      const s = readString(text, i + 1);
      if (!s) return { toks, problem: "a quoted string is not closed (file cut short?)" };
      toks.push({ kind: "string", text: s.bytes.toString("latin1"), bytes: s.bytes });
      i = s.next;
    } else {
      const start = i;
      while (i < text.length && !/[\s{};,"#]/.test(text[i])) i++;
      toks.push({ kind: "word", text: text.slice(start, i) });
    }
  }
  return { toks };
}

function readString(text: string, from: number): { bytes: Buffer; next: number } | null {
  const out: number[] = [];
  let i = from;
  while (i < text.length) {
    const c = text[i++];
    if (c === '"') return { bytes: Buffer.from(out), next: i };
    if (c !== "\\") {
      out.push(c.charCodeAt(0) & 0xff);
      continue;
    }
    if (i >= text.length) return null;
    const e = text[i++];
    const simple: Record<string, number> = { t: 9, r: 13, n: 10, b: 8 };
    if (e in simple) out.push(simple[e]);
    else if (/[0-7]/.test(e)) {
      let v = Number(e);
      for (let k = 0; k < 2 && /[0-7]/.test(text[i] ?? ""); k++) v = v * 8 + Number(text[i++]);
      out.push(v & 0xff);
    } else if (e === "x" && /[0-9a-fA-F]/.test(text[i] ?? "")) {
      let h = text[i++];
      if (/[0-9a-fA-F]/.test(text[i] ?? "")) h += text[i++];
      out.push(parseInt(h, 16));
    } else out.push(e.charCodeAt(0) & 0xff);
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// Option decoders

export interface VendorInfo {
  /** Sub-option 1 as sent (printable ASCII); whether it is an acceptable URL is discovery's decision. */
  url?: string;
  /** Sub-option 2 as 64 lowercase hex digits. */
  caFingerprint?: string;
  /** Sub-option codes present that this layout does not define (ignored). */
  unknown: number[];
}

/**
 * Option 43, our layout. RFC 2132 section 8.4 lets the vendor define it; we use the code/length/value encoding of
 * the options field, where code 0 is a pad and code 255 ends the list, and:
 *   sub-option 1: the provisioning service URL, printable ASCII (an https URL, checked by discovery);
 *   sub-option 2: the SHA-256 fingerprint of the provisioning service's CA certificate, either the 32 raw bytes or
 *                 64 hex digits in ASCII (upper or lower case, pairs optionally separated by ':').
 * A sub-option given more than once is concatenated in order (as RFC 3396 does for options), so a URL may be
 * longer than 255 bytes. Parsing is strict: a length running past the option, a code without a length byte, a URL
 * that is not printable ASCII or a fingerprint of the wrong size rejects the whole option, with the reason; a server
 * that meant to pin a CA must not end up unpinned because its fingerprint was mangled.
 */
export function decodeVendorOptions(v: Buffer): Decoded<VendorInfo> {
  if (v.length === 0) return fail("option 43 is empty");
  const subs = new Map<number, Buffer[]>();
  let i = 0;
  while (i < v.length) {
    const code = v[i];
    if (code === 0) {
      i++;
      continue;
    }
    if (code === 255) break;
    if (i + 1 >= v.length) return fail(`option 43 sub-option ${code} has no length byte (the option ends at ${v.length} bytes)`);
    const len = v[i + 1];
    if (i + 2 + len > v.length) return fail(`option 43 sub-option ${code} length ${len} overruns the option (${v.length} bytes)`);
    subs.set(code, [...(subs.get(code) ?? []), v.subarray(i + 2, i + 2 + len)]);
    i += 2 + len;
  }
  const info: VendorInfo = { unknown: [...subs.keys()].filter((c) => c !== 1 && c !== 2) };
  const url = subs.get(1);
  if (url) {
    const text = decodeText(Buffer.concat(url));
    if (!text.ok || /\s/.test(text.value)) return fail(`option 43 sub-option 1 (provisioning URL) ${text.ok ? "holds white space" : text.reason}`);
    info.url = text.value;
  }
  const fp = subs.get(2);
  if (fp) {
    const b = Buffer.concat(fp);
    const ascii = b.toString("latin1");
    if (b.length === 32) info.caFingerprint = b.toString("hex");
    else if (/^[0-9a-fA-F]{64}$/.test(ascii) || /^(?:[0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2}$/.test(ascii)) info.caFingerprint = ascii.replace(/:/g, "").toLowerCase();
    else return fail(`option 43 sub-option 2 (CA fingerprint) is neither 32 bytes nor 64 hex digits (${b.length} bytes)`);
  }
  return { ok: true, value: info };
}

/** A text option (15, 66, 160): printable ASCII; trailing NULs that some servers add are dropped. */
export function decodeText(v: Buffer): Decoded<string> {
  let end = v.length;
  while (end > 0 && v[end - 1] === 0) end--;
  const b = v.subarray(0, end);
  if (b.length === 0) return fail("is empty");
  if (b.some((c) => c < 0x20 || c > 0x7e)) return fail("is not printable ASCII");
  const s = b.toString("latin1").trim();
  return s ? { ok: true, value: s } : fail("is empty");
}

/** Option 213, the access-network domain (RFC 5986 §3.2): one RFC 1035 name, precisely one root label, <= 255 octets. */
export function decodeAccessDomain(v: Buffer): Decoded<string> {
  const d = decodeSingleDnsName(v);
  return d.ok ? d : fail(`option 213 (access-network domain) ${d.reason}`);
}

/**
 * The domains LIS discovery looks in for this lease (RFC 5986 §2, §3.4): the access-network domain of option 213 first,
 * then the domain name of option 15 (its first word: some servers put a search list there), which is only used when
 * the first gives nothing. A duplicate is given once. An option that cannot be read is left out; why goes to `notes`.
 */
export function accessDomains(lease: Pick<Lease, "options">, notes?: string[]): string[] {
  const out: string[] = [];
  const access = lease.options[DHCP_OPTION.ACCESS_DOMAIN];
  if (access) {
    const d = decodeAccessDomain(access);
    if (d.ok) out.push(d.value);
    else notes?.push(`${d.reason}; not used`);
  }
  const domain = lease.options[DHCP_OPTION.DOMAIN_NAME];
  if (domain) {
    const t = decodeText(domain);
    const first = t.ok ? t.value.split(/\s+/)[0].replace(/\.$/, "").toLowerCase() : "";
    const d = t.ok ? decodeSingleDnsName(encodeDnsName(first) ?? Buffer.alloc(0)) : null;
    if (d?.ok) {
      if (!out.includes(d.value)) out.push(d.value);
    } else notes?.push(`option 15 (domain name) ${t.ok ? `${clip(t.value)} is not a domain name` : t.reason}; not used`);
  }
  return out;
}

/**
 * Option 120, SIP servers (RFC 3361 section 3): "If the encoding byte has the value 0, it is followed by a list of
 * domain names ... If the encoding byte has the value 1, it is followed by one or more IPv4 addresses". Names are in
 * DNS wire format and may use RFC 1035 section 4.1.4 compression; a pointer's offset counts from the first octet
 * after the encoding byte (as dhcpcd decodes it; RFC 3361 does not spell the base out) and must point backwards.
 */
export function decodeSipServers(v: Buffer): Decoded<string[]> {
  if (v.length < 2) return fail(`option 120 is ${v.length} bytes, too short for an encoding byte and a server`);
  const data = v.subarray(1);
  if (v[0] === 1) {
    if (data.length % 4 !== 0) return fail(`option 120 (IPv4 encoding) holds ${data.length} address bytes, not a multiple of 4`);
    const out: string[] = [];
    for (let i = 0; i < data.length; i += 4) out.push(`${data[i]}.${data[i + 1]}.${data[i + 2]}.${data[i + 3]}`);
    return { ok: true, value: out };
  }
  if (v[0] !== 0) return fail(`option 120 has an unknown encoding byte ${v[0]} (0 = domain names, 1 = IPv4 addresses)`);
  const names: string[] = [];
  let pos = 0;
  while (pos < data.length) {
    const n = readDnsName(data, pos);
    if (!n.ok) return fail(`option 120 (domain names): ${n.reason}`);
    names.push(n.value.name);
    pos = n.value.next;
  }
  return { ok: true, value: names };
}

function readDnsName(data: Buffer, from: number): Decoded<{ name: string; next: number }> {
  const labels: string[] = [];
  let pos = from;
  let next = -1; // where the next name starts, once a pointer has been followed
  // RFC 1035 4.1.4: a pointer replaces the end of a name by "a prior occurance of the same name". Each jump must go
  // below the start of this name and below the previous jump's target (as systemd checks), so a loop cannot happen.
  let floor = from;
  let length = 0;
  for (;;) {
    if (pos >= data.length) return fail(`name at offset ${from} runs past the end of the option`);
    const len = data[pos];
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= data.length) return fail(`compression pointer at offset ${pos} is cut short`);
      const ptr = ((len & 0x3f) << 8) | data[pos + 1];
      if (ptr >= floor) return fail(`compression pointer at offset ${pos} to ${ptr} does not point backwards`);
      if (next < 0) next = pos + 2;
      floor = ptr;
      pos = ptr;
      continue;
    }
    if (kind !== 0) return fail(`label type 0x${kind.toString(16)} at offset ${pos} is reserved`);
    if (pos + 1 + len > data.length) return fail(`label at offset ${pos} (length ${len}) runs past the end of the option`);
    const label = data.subarray(pos + 1, pos + 1 + len);
    if (label.some((c) => c <= 0x20 || c > 0x7e || c === 0x2e)) return fail(`label at offset ${pos} holds a character a host name cannot`);
    labels.push(label.toString("latin1"));
    length += len + 1;
    if (length > 255) return fail(`name at offset ${from} is longer than 255 octets`);
    pos += 1 + len;
  }
  if (!labels.length) return fail(`empty (root) name at offset ${from}`);
  return { ok: true, value: { name: labels.join("."), next } };
}

// ---------------------------------------------------------------------------------------------------------------

function isBinary(b: Buffer): boolean {
  return b.some((c) => c === 0 || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c));
}

function ifName(name: string | undefined): { interface?: string } {
  return name ? { interface: name } : {};
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}

function fail<T>(reason: string): Decoded<T> {
  return { ok: false, reason };
}

function invalid(message: string): PhoneError {
  return new PhoneError(ErrorCodes.CONFIG_INVALID, message);
}

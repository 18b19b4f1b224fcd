// The wire side of emergency calls (shared standards emergency-location.md §3, RFC 6442, RFC 5031) that sip.js 0.21.2
// cannot do itself (sipjs-node.md §2):
// - a multipart/mixed INVITE body (SDP first, then exactly one application/pidf+xml part with a Content-ID): sip.js
//   gets plain SDP from the description handler; the request carries a private marker header, and the transport's
//   outgoing hook turns it into the multipart body and strips the marker (workaround (c));
// - incoming multipart bodies (an INVITE or 200 with SDP plus other parts): only the SDP part reaches sip.js ((d));
// - `urn:service:sos` Request-URI and To: sip.js cannot parse a urn: URI, so it sends to a placeholder SIP URI
//   (sip:sos@service-urn.invalid) that the outgoing hook turns into the URN, and the incoming hook turns a URN in
//   To/From back into the placeholder (the dialog is matched by tags, never by these URIs).
// Everything here is a pure string function, unit-tested without a network.
import { createHash, randomBytes } from "node:crypto";

/** The private header that tells the transport's outgoing hook to dress an INVITE as an emergency one. Never on the wire. */
export const EMERGENCY_MARKER = "X-Deskphone-Emergency";

/** The host of the placeholder SIP URI that stands for a `urn:service:*` URN inside sip.js. */
export const SERVICE_URN_HOST = "service-urn.invalid";

const SERVICE_URN = /^urn:service:([a-z0-9][a-z0-9.-]*)$/i;

/** `urn:service:sos.fire` -> `sip:sos.fire@service-urn.invalid` (lower case: URN comparison is case-insensitive, RFC 5031 §3). */
export function serviceUrnToSip(urn: string): string {
  const m = SERVICE_URN.exec(urn.trim());
  if (!m) throw new Error(`'${urn}' is not a service URN`);
  return `sip:${m[1].toLowerCase()}@${SERVICE_URN_HOST}`;
}

/** The placeholder back to its URN (`sip:sos@service-urn.invalid` -> `urn:service:sos`); any other URI as it is. */
export function sipToServiceUrn(uri: string): string {
  const m = new RegExp(`^sip:([a-z0-9][a-z0-9.-]*)@${SERVICE_URN_HOST.replace(/\./g, "\\.")}$`, "i").exec(uri);
  return m ? `urn:service:${m[1]}` : uri;
}

/** Whether a service URN asks for an emergency service: `urn:service:sos` and its sub-services (RFC 5031 §4.2, ED-11). */
export function isSosUrn(uri: string): boolean {
  return /^urn:service:(test\.)?sos(\.[a-z0-9-]+)*$/i.test(uri.trim());
}

/** A fresh token (hex), for Content-IDs, boundaries and marker keys. */
export function token(bytes = 8): string {
  return randomBytes(bytes).toString("hex");
}

/** What the outgoing hook adds to one marked INVITE. */
export interface EmergencyDress {
  /** The PIDF-LO document: sent by value as the second (and last) part of a multipart/mixed body. */
  pidf?: string;
  /** Its Content-ID without the angle brackets (the `cid:` of the Geolocation header). */
  contentId?: string;
  /** Option tags merged into the Supported header (Lync: `geolocation`; by reference: `geolocation-http`/`-sip`). */
  supported?: string[];
}

/**
 * The dressing of marked INVITEs, by marker value. SipPhone keeps one for all its transports; an entry lives as long
 * as the call may still send the request (sip.js re-sends it after a 401/407 with the marker still on).
 */
export class EmergencyDressing {
  private readonly entries = new Map<string, EmergencyDress>();

  /**
   * The account's digest credentials: a request whose Request-URI or body the hook changed has its Authorization /
   * Proxy-Authorization answer computed again for what is on the wire (sip.js computed it for the placeholder URI,
   * and, with qop=auth-int, for the SDP alone).
   */
  constructor(private readonly credentials?: DigestCredentials) {}

  /** Registers a dressing; returns the marker header line to put in the request's extraHeaders. */
  add(d: EmergencyDress): { key: string; header: string } {
    const key = token();
    this.entries.set(key, d);
    return { key, header: `${EMERGENCY_MARKER}: ${key}` };
  }

  get(key: string): EmergencyDress | undefined {
    return this.entries.get(key);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The transport's outgoing hook. */
  readonly outgoing = (text: string): string => rewriteEmergencyOutgoing(text, (k) => this.entries.get(k), this.credentials);
}

/** Splits a SIP message into its header section (without the blank line) and body. */
function split(text: string): { head: string; body: string } {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return { head: text.replace(/\r\n$/, ""), body: "" };
  return { head: text.slice(0, end), body: text.slice(end + 4) };
}

const CONTENT_TYPE = /^(?:content-type|c)[ \t]*:[ \t]*(.*)$/im;
const HAS_LENGTH = /^(?:content-length|l)[ \t]*:/im;

/** Sets Content-Type (when `type` is given) and Content-Length for `body`, and joins the message. */
function join(head: string, body: string, type: string | undefined): string {
  let h = head.replace(/\r\n$/, "");
  if (type !== undefined) h = CONTENT_TYPE.test(h) ? h.replace(CONTENT_TYPE, `Content-Type: ${type}`) : `${h}\r\nContent-Type: ${type}`;
  const length = `Content-Length: ${Buffer.byteLength(body, "utf8")}`;
  h = HAS_LENGTH.test(h) ? h.replace(/^(?:content-length|l)[ \t]*:.*$/gim, length) : `${h}\r\n${length}`;
  return `${h}\r\n\r\n${body}`;
}

/** A multipart/mixed body (RFC 2046): each part's headers, a blank line, its content; the CRLF before a delimiter belongs to it. */
export function buildMultipart(parts: Array<{ headers: string[]; content: string }>, boundary: string): string {
  return parts.map((p) => `--${boundary}\r\n${p.headers.map((x) => `${x}\r\n`).join("")}\r\n${p.content}\r\n`).join("") + `--${boundary}--\r\n`;
}

export interface BodyPart {
  headers: Record<string, string>;
  content: string;
}

/** The parts of a multipart body; `contentType` is the message's whole Content-Type value. Empty when it is not multipart. */
export function parseMultipart(contentType: string, body: string): BodyPart[] {
  if (!/^multipart\//i.test(contentType.trim())) return [];
  const b = /;[ \t]*boundary[ \t]*=[ \t]*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = b?.[1] ?? b?.[2];
  if (!boundary) return [];
  const parts: BodyPart[] = [];
  const delim = `--${boundary}`;
  // the body starts with a delimiter (or a preamble, then CRLF + delimiter); each later delimiter is preceded by CRLF
  let at = body.startsWith(delim) ? 0 : body.indexOf(`\r\n${delim}`);
  if (at < 0) return [];
  if (at > 0) at += 2;
  for (;;) {
    const lineEnd = body.indexOf("\r\n", at);
    const line = body.slice(at, lineEnd < 0 ? undefined : lineEnd);
    if (line.startsWith(`${delim}--`) || lineEnd < 0) break;
    const start = lineEnd + 2;
    const next = body.indexOf(`\r\n${delim}`, start - 2);
    if (next < 0) break;
    const raw = body.slice(start, Math.max(start, next));
    const sep = raw.indexOf("\r\n\r\n");
    const headText = raw.startsWith("\r\n") ? "" : sep < 0 ? raw : raw.slice(0, sep);
    const content = raw.startsWith("\r\n") ? raw.slice(2) : sep < 0 ? "" : raw.slice(sep + 4);
    const headers: Record<string, string> = {};
    for (const l of headText.split("\r\n")) {
      const i = l.indexOf(":");
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    parts.push({ headers, content });
    at = next + 2;
  }
  return parts;
}

/**
 * The outgoing hook: an INVITE carrying the marker gets its dressing (multipart body with the PIDF-LO, Supported
 * tags) and loses the marker; any message has the service-URN placeholder turned back into the URN.
 */
export function rewriteEmergencyOutgoing(text: string, lookup: (key: string) => EmergencyDress | undefined, credentials?: DigestCredentials): string {
  const dressed = dress(placeholderToUrn(text), lookup);
  if (dressed === text || !credentials || !/^[A-Z]+ /.test(dressed)) return dressed;
  const before = split(text);
  const after = split(dressed);
  const line = (t: string): string => t.slice(0, t.indexOf("\r\n"));
  return line(before.head) === line(after.head) && before.body === after.body ? dressed : redigest(dressed, credentials);
}

function dress(text: string, lookup: (key: string) => EmergencyDress | undefined): string {
  const { head, body } = split(text);
  const marker = new RegExp(`^${EMERGENCY_MARKER}[ \\t]*:[ \\t]*(\\S*)[ \\t]*(?:\\r\\n|$)`, "im");
  const m = marker.exec(head);
  if (!m) return text;
  let h = head.replace(marker, "").replace(/\r\n$/, "");
  const d = lookup(m[1]);
  if (!d) return join(h, body, undefined);
  if (d.supported?.length) {
    const sup = /^(Supported|k)([ \t]*:[ \t]*)(.*)$/im.exec(h);
    if (sup) {
      const have = sup[3].split(",").map((x) => x.trim()).filter(Boolean);
      const all = [...have, ...d.supported.filter((t) => !have.some((x) => x.toLowerCase() === t.toLowerCase()))];
      h = h.replace(sup[0], `Supported: ${all.join(", ")}`);
    } else h += `\r\nSupported: ${d.supported.join(", ")}`;
  }
  if (!d.pidf || !/^INVITE /.test(h)) return join(h, body, undefined);
  const contentId = d.contentId ?? `${token()}@deskphone.invalid`;
  const sdpType = CONTENT_TYPE.exec(h)?.[1]?.trim() || "application/sdp";
  const parts = body ? [{ headers: [`Content-Type: ${sdpType}`], content: body }] : [];
  parts.push({ headers: ["Content-Type: application/pidf+xml", `Content-ID: <${contentId}>`], content: d.pidf.replace(/\r?\n$/, "") });
  const boundary = `boundary-${token()}`;
  // a top-level disposition would describe the whole multipart; each part speaks for itself
  h = h.replace(/^Content-Disposition[ \t]*:.*(\r\n|$)/gim, "").replace(/\r\n$/, "");
  return join(h, buildMultipart(parts, boundary), `multipart/mixed;boundary=${boundary}`);
}

export interface DigestCredentials {
  username: string;
  password: string;
}

const md5 = (s: string): string => createHash("md5").update(s, "utf8").digest("hex");

/**
 * Computes the digest answer (RFC 2617, MD5; qop auth, auth-int or none) of each Authorization / Proxy-Authorization
 * header of `username` again for the request as it stands: its Request-URI and, for auth-int, its body.
 */
export function redigest(text: string, c: DigestCredentials): string {
  const { head, body } = split(text);
  const start = /^([A-Za-z]+) (\S+) SIP\/2\.0/.exec(head);
  if (!start) return text;
  const [, method, ruri] = start;
  const h = head.replace(/^((?:Proxy-)?Authorization[ \t]*:[ \t]*Digest[ \t]+)(.*)$/gim, (line, name: string, params: string) => {
    const p: Record<string, string> = {};
    for (const m of params.matchAll(/([A-Za-z-]+)[ \t]*=[ \t]*(?:"([^"]*)"|([^,\s]*))/g)) p[m[1].toLowerCase()] = m[2] ?? m[3] ?? "";
    if (p.username !== c.username || (p.algorithm && p.algorithm.toUpperCase() !== "MD5") || !p.realm || !p.nonce) return line;
    const ha1 = md5(`${c.username}:${p.realm}:${c.password}`);
    const ha2 = p.qop === "auth-int" ? md5(`${method}:${ruri}:${md5(body)}`) : md5(`${method}:${ruri}`);
    const response = p.qop ? md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`) : md5(`${ha1}:${p.nonce}:${ha2}`);
    return name + params.replace(/uri[ \t]*=[ \t]*"[^"]*"/i, `uri="${ruri}"`).replace(/response[ \t]*=[ \t]*"[^"]*"/i, `response="${response}"`);
  });
  return `${h}\r\n\r\n${body}`;
}

/** sip:NAME@service-urn.invalid -> urn:service:NAME in the Request-URI, To and From (never elsewhere, never in a body). */
function placeholderToUrn(text: string): string {
  if (!text.includes(SERVICE_URN_HOST)) return text;
  const { head, body } = split(text);
  const re = new RegExp(`sip:([a-z0-9][a-z0-9.-]*)@${SERVICE_URN_HOST.replace(/\./g, "\\.")}`, "gi");
  const lines = head.split("\r\n");
  const out = lines.map((l, i) => (i === 0 || /^(To|t|From|f)[ \t]*:/i.test(l) ? l.replace(re, "urn:service:$1") : l)).join("\r\n");
  if (out === head) return text;
  return text.indexOf("\r\n\r\n") < 0 ? out : `${out}\r\n\r\n${body}`;
}

/** urn:service:NAME in To/From -> the placeholder sip.js can parse (angle brackets added to an addr-spec). */
function urnToPlaceholder(head: string): string {
  return head.replace(/^(To|t|From|f)([ \t]*:[ \t]*)(.*)$/gim, (line, name: string, colon: string, value: string) => {
    if (!/urn:service:/i.test(value)) return line;
    const inBrackets = value.replace(/<[ \t]*urn:service:([a-z0-9][a-z0-9.-]*)[ \t]*>/gi, (_m, s: string) => `<sip:${s.toLowerCase()}@${SERVICE_URN_HOST}>`);
    if (inBrackets !== value) return `${name}${colon}${inBrackets}`;
    // addr-spec form: "To: urn:service:sos;tag=x" (the parameters are the header's, RFC 3261 §20)
    const bare = /^urn:service:([a-z0-9][a-z0-9.-]*)(.*)$/i.exec(value.trim());
    return bare ? `${name}${colon}<sip:${bare[1].toLowerCase()}@${SERVICE_URN_HOST}>${bare[2]}` : line;
  });
}

/**
 * The incoming hook: a multipart body (an INVITE or 200 with SDP and, e.g., a PIDF-LO) reaches sip.js as its SDP part
 * alone (sip.js would otherwise see no offer/answer: sipjs-node.md (d)); a service URN in To/From becomes the
 * placeholder. Anything else passes unchanged.
 */
export function rewriteEmergencyIncoming(text: string): string {
  const parts0 = split(text);
  const body = parts0.body;
  let head = parts0.head;
  let changed = false;
  if (/urn:service:/i.test(head)) {
    const h = urnToPlaceholder(head);
    if (h !== head) {
      head = h;
      changed = true;
    }
  }
  const type = CONTENT_TYPE.exec(head)?.[1] ?? "";
  if (body && /^multipart\//i.test(type.trim())) {
    const parts = parseMultipart(type, body);
    const sdp = parts.find((p) => /^application\/sdp\b/i.test(p.headers["content-type"] ?? ""));
    if (sdp) {
      head = head.replace(/^Content-Disposition[ \t]*:.*(\r\n|$)/gim, "").replace(/\r\n$/, "");
      if (sdp.headers["content-disposition"]) head += `\r\nContent-Disposition: ${sdp.headers["content-disposition"]}`;
      return join(head, sdp.content, sdp.headers["content-type"]);
    }
  }
  return changed ? `${head}\r\n\r\n${body}` : text;
}

/** A location conveyed with a request: by value (a PIDF-LO document) or by reference (a URI), or none. */
export type ConveyedLocation = { pidf: string } | { uri: string } | null;

/**
 * The location a 424 (Bad Location Information, RFC 6442 §4.3) offers instead of ours: the PIDF-LO the Geolocation
 * cid points at in its body (or the last PIDF-LO part, or a PIDF-LO body), else a Geolocation URI by reference;
 * null when it carries none (the retry then goes without location).
 */
export function locationFrom424(headers: { geolocation?: string; contentType?: string }, body: string): ConveyedLocation {
  const geo = headers.geolocation ?? "";
  const ref = /<[ \t]*([^>]+?)[ \t]*>/.exec(geo)?.[1];
  const type = (headers.contentType ?? "").trim();
  if (body.trim()) {
    if (/^application\/pidf\+xml\b/i.test(type)) return { pidf: body };
    const parts = parseMultipart(type, body).filter((p) => /^application\/pidf\+xml\b/i.test(p.headers["content-type"] ?? ""));
    if (parts.length) {
      const cid = ref && /^cid:/i.test(ref) ? ref.slice(4) : undefined;
      const pick = (cid && parts.find((p) => (p.headers["content-id"] ?? "").replace(/^<|>$/g, "") === cid)) || parts[parts.length - 1];
      return { pidf: pick.content };
    }
  }
  if (ref && /^(https?|sips?|pres):/i.test(ref)) return { uri: ref };
  return null;
}

/** The location option tag a by-reference URI needs in Supported (RFC 6442 §4.6). */
export function locationProfileTag(uri: string): string {
  return /^https?:/i.test(uri) ? "geolocation-http" : "geolocation-sip";
}

/** The `Geolocation-Error` code of a response (RFC 6442 §4.3), for the log. */
export function geolocationErrorCode(header: string | undefined): number | undefined {
  const m = /^\s*(\d{1,3})/.exec(header ?? "");
  return m ? Number(m[1]) : undefined;
}

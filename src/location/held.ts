// HELD messages (RFC 5985) with RFC 6155 device identity, as plain functions: the phone's locationRequest, in the
// shape of the shared standards' example (held-request-device-id.xml), with the LLDP switch port in an extension when
// known (LLDP_ID_NS: RFC 6155 has no element for it), and the reading of a LIS's answer (a locationResponse or an
// error). Unknown XML inside an answer is ignored (RFC 5985 §5.1). No I/O here.
import { isIP } from "node:net";
import type { Element } from "@xmldom/xmldom";
import type { DeviceIds, HeldErrorCode } from "./location-types.js";
import { NS, child, is, kids, parseXml, serializeStandalone, tokenText } from "./pidf-normalise.js";

/**
 * The namespace of the switch-port identifiers inside `device` (`<chassis>`, `<port>`): not RFC 6155's, which has none;
 * the reference LIS (lis/lis-server.ts) reads them. RFC 6155's schema lets `device` hold elements of any namespace.
 */
export const LLDP_ID_NS = "urn:x-deskphone:held:lldp";

/** What to ask for (RFC 5985 §6.2). */
export type HeldLocationType = "civic" | "geodetic" | "locationURI";

/** RFC 5985 §6.1: milliseconds, or the emergency tokens (RFC 6881 ED-23). */
export type HeldResponseTime = number | "emergencyRouting" | "emergencyDispatch";

/** RFC 6155 identifiers besides ip and mac, in the order the phone writes them. */
export const EXTRA_ID_NAMES = ["udpport", "tcpport", "sctpport", "dccpport", "nai", "uri", "fqdn", "duid", "msisdn", "imsi", "imei", "min", "mdn"] as const;
export type ExtraIdName = (typeof EXTRA_ID_NAMES)[number];

/** The phone's identifiers for a HELD `device` element: ip, mac, and any other RFC 6155 identifier. */
export type HeldDeviceIds = DeviceIds & Partial<Record<ExtraIdName, string | number>>;

export interface LocationRequestOptions {
  responseTime: HeldResponseTime;
  /** Default ["civic", "geodetic"]. */
  types?: HeldLocationType[];
  /** Only the requested types, or cannotProvideLiType (RFC 5985 §6.2). Default false. */
  exact?: boolean;
  device?: HeldDeviceIds;
}

const HEX = /^[0-9A-Fa-f]+$/;

/** A MAC (any of ':', '-', '.' or no separator) as RFC 6155 writes it: "A0-12-34-56-78-90" (or 8 groups, EUI-64). */
export function normaliseMac(mac: string): string {
  const hex = mac.trim().replace(/[:.\s-]/g, "");
  if (!HEX.test(hex) || (hex.length !== 12 && hex.length !== 16)) throw new Error(`'${mac}' is not a MAC address (6 or 8 hex bytes)`);
  return hex.toUpperCase().match(/../g)!.join("-");
}

/** An IPv4 or IPv6 address and its RFC 6155 version digit; an IPv6 zone ("%eth0") is dropped. */
export function ipVersion(ip: string): { address: string; v: "4" | "6" } {
  const address = ip.trim().replace(/%.*$/, "");
  const v = isIP(address);
  if (v === 0) throw new Error(`'${ip}' is not an IP address`);
  return { address, v: v === 4 ? "4" : "6" };
}

/** An LLDP chassis or port id as it can be sent: 1-1024 characters, no control characters (LldpId.text). */
export function lldpIdText(what: "chassis" | "port", id: string): string {
  const s = id.trim();
  if (!s || s.length > 1024 || [...s].some((c) => c < " " || c === "\x7f")) throw new Error(`'${s.slice(0, 40)}' is not an LLDP ${what} id that can be sent (1-1024 printable characters)`);
  return s;
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);

function extraId(name: ExtraIdName, value: string | number): string {
  const s = String(value).trim();
  const digits = (min: number, max: number): boolean => /^\d+$/.test(s) && s.length >= min && s.length <= max;
  const ok = name.endsWith("port") ? digits(1, 5) && Number(s) <= 65535 : name === "duid" ? HEX.test(s) && s.length % 2 === 0 : ["msisdn", "imsi", "mdn"].includes(name) ? digits(6, 15) : name === "imei" ? digits(1, 15) : name === "min" ? digits(10, 10) : s.length > 0;
  if (!ok) throw new Error(`'${s}' is not a valid RFC 6155 ${name}`);
  return `    <${name}>${esc(s)}</${name}>`;
}

/** The phone's HELD locationRequest document (UTF-8 XML text). Throws on an identifier it cannot send validly. */
export function buildLocationRequest(o: LocationRequestOptions): string {
  const rt = o.responseTime;
  if (typeof rt === "number" && !(Number.isSafeInteger(rt) && rt >= 0)) throw new Error(`responseTime must be a whole number of milliseconds >= 0, got ${rt}`);
  const types = [...new Set(o.types ?? ["civic", "geodetic"])];
  if (types.length === 0) throw new Error("a HELD request needs at least one location type");
  const d = o.device ?? {};
  const ids: string[] = [];
  if (d.ip) {
    const { address, v } = ipVersion(d.ip);
    ids.push(`    <ip v="${v}">${address}</ip>`);
  }
  if (d.mac) ids.push(`    <mac>${normaliseMac(d.mac)}</mac>`);
  for (const name of EXTRA_ID_NAMES) {
    const value = d[name];
    if (value !== undefined && value !== "") ids.push(extraId(name, value));
  }
  if (d.lldp) ids.push(`    <lldp:chassis>${esc(lldpIdText("chassis", d.lldp.chassis))}</lldp:chassis>`, `    <lldp:port>${esc(lldpIdText("port", d.lldp.port))}</lldp:port>`);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<locationRequest xmlns="${NS.held}" responseTime="${rt}">`,
    `  <locationType exact="${o.exact ? "true" : "false"}">${types.join(" ")}</locationType>`,
    ...(ids.length ? [`  <device xmlns="${NS.heldId}"${d.lldp ? ` xmlns:lldp="${LLDP_ID_NS}"` : ""}>`, ...ids, `  </device>`] : []),
    `</locationRequest>`,
    "",
  ].join("\n");
}

const CODES: readonly HeldErrorCode[] = ["requestError", "xmlError", "generalLisError", "locationUnknown", "unsupportedMessage", "timeout", "cannotProvideLiType", "notLocatable", "badIdentifier"];

/** A LIS's answer, read. */
export type HeldAnswer =
  | {
      kind: "location";
      /** The PIDF-LO `presence`, as a document of its own with every namespace it uses declared (absent: URIs only). */
      presence?: string;
      /** Location-by-reference URIs (locationUriSet), when given. */
      locationUris?: string[];
      /** When the URIs expire (locationUriSet/@expires, as sent). */
      urisExpire?: string;
      /** Local names of the identifiers the LIS says it used (the echoed RFC 6155 `device`, §4). */
      usedIds?: string[];
    }
  | {
      kind: "error";
      /** An unknown code from a newer LIS reads as generalLisError; its text is then in `message`. */
      code: HeldErrorCode;
      message?: string;
      /** RFC 6155 §7.3: the identifiers the LIS needs (local names, e.g. ["mac", "ip"]). */
      requiredIdentifiers?: string[];
    };

/**
 * Reads a HELD answer. Throws a plain-words Error for text that is not XML ("HELD answer is not XML: ..."), a document
 * that is not a HELD locationResponse or error, an error without a code, and a locationResponse with neither a
 * presence nor location URIs ("HELD answer has no presence or locationUriSet").
 */
export function parseHeldResponse(xml: string): HeldAnswer {
  const root = parseXml(xml, "HELD answer").documentElement!;
  if (is(root, NS.held, "error")) {
    const raw = (root.getAttribute("code") ?? "").trim();
    if (!raw) throw new Error("HELD answer is an error without a code");
    const known = CODES.find((c) => c === raw);
    const msg = child(root, NS.held, "message");
    const text = msg ? tokenText(msg) : undefined;
    const req = child(root, NS.heldId, "requiredIdentifiers");
    const required = req ? tokenText(req).split(" ").filter((q) => q).map((q) => localIfHeldId(req, q)) : undefined;
    return {
      kind: "error",
      code: known ?? "generalLisError",
      ...(known ? (text ? { message: text } : {}) : { message: `LIS error code "${raw}"${text ? `: ${text}` : ""}` }),
      ...(required?.length ? { requiredIdentifiers: required } : {}),
    };
  }
  if (!is(root, NS.held, "locationResponse")) {
    const what = root.namespaceURI === NS.held ? `a HELD ${root.localName}` : `<${root.tagName}>${root.namespaceURI ? ` in ${root.namespaceURI}` : ""}`;
    throw new Error(`HELD answer is not a locationResponse or error: it is ${what}`);
  }
  const presence = child(root, NS.pidf, "presence");
  const set = child(root, NS.held, "locationUriSet");
  const uris = set ? kids(set).filter((e) => is(e, NS.held, "locationURI")).map(tokenText).filter((u) => u) : [];
  if (!presence && uris.length === 0) throw new Error("HELD answer has no presence or locationUriSet");
  const device = child(root, NS.heldId, "device");
  return {
    kind: "location",
    ...(presence ? { presence: serializeStandalone(presence) } : {}),
    ...(uris.length ? { locationUris: uris, urisExpire: set!.getAttribute("expires") ?? undefined } : {}),
    ...(device ? { usedIds: kids(device).map((e) => e.localName ?? "") } : {}),
  };
}

/** A QName from requiredIdentifiers: its local name when it is in the RFC 6155 namespace, else as written. */
function localIfHeldId(ctx: Element, qname: string): string {
  const [prefix, local] = qname.includes(":") ? qname.split(":", 2) : [null, qname];
  return ctx.lookupNamespaceURI(prefix) === NS.heldId ? local : qname;
}

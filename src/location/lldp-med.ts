// LLDP (IEEE 802.1AB) and LLDP-MED (ANSI/TIA-1057) decoding, the part a desk phone needs for emergency location:
// the chassis and port ids (what a Lync LIS is sent), the TTL, and the Location Identification TLV (civic LCI, ECS ELIN,
// coordinate LCI). Also DHCP option 99 (RFC 4776), whose civic elements are encoded the same way. Shared standards
// §1.6-1.7: CAtype -> RFC 5139 element table, language (0) and script (128) -> xml:lang, and the design rule that a
// street name sent in A6 (legacy) moves to RD when there is no RD. Whatever comes off the wire, the civic address
// returned is one buildPidfLo turns into a schema-valid document (text cleaned, country two letters, lang a language
// tag); framing errors throw an LldpError in plain words, content problems land in `problems`.
import { CIVIC_ORDER, type CivicAddress, type CivicElement } from "./pidf-lo.js";

/** A malformed LLDPDU, Ethernet frame, civic LCI or DHCP option; the message says what and where. */
export class LldpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LldpError";
  }
}

/** A chassis or port id: the raw TLV value (subtype octet first, as MS-E911WS sends it base64) and a printable form. */
export interface LldpId {
  subtype: number;
  /** The whole TLV value, subtype octet included. */
  raw: Buffer;
  /** "ca:20:37:c0:fe:f6" for a MAC, an address for a network address, the text when printable, else hex. */
  text: string;
}

/** A civic address decoded from CA elements, with the RFC 4776 `what` (0 DHCP server, 1 network element, 2 client). */
export interface CivicLci {
  what: number;
  civic: CivicAddress;
  /** Elements skipped or changed on the way (unknown CAtype, repeated element, bad text), in plain words. */
  problems: string[];
}

/** An RFC 3825 coordinate LCI (LLDP-MED location data format 1). */
export interface CoordinateLci {
  lat: number;
  lon: number;
  /** Bits of resolution the sender claims (0-34). */
  latResolution: number;
  lonResolution: number;
  altitude?: { value: number; unit: "metres" | "floors" };
  /** 1 WGS84, 2 NAD83/NAVD88, 3 NAD83/MLLW (other values kept as numbers). */
  datum: "WGS84" | "NAD83/NAVD88" | "NAD83/MLLW" | number;
}

/** What an LLDPDU's LLDP-MED TLVs said about location. */
export interface LldpMedInfo {
  /** LLDP-MED device type from the capabilities TLV (4 = network connectivity device, i.e. a switch). */
  deviceType?: number;
  civic?: CivicLci;
  /** The ECS ELIN, 10-25 digits. */
  elin?: string;
  coordinate?: CoordinateLci;
}

/** A decoded LLDPDU. */
export interface LldpInfo {
  chassisId: LldpId;
  portId: LldpId;
  /** Seconds the information stays valid; 0 means "forget me" (the neighbour is shutting down). */
  ttl: number;
  systemName?: string;
  portDescription?: string;
  /** Present when the LLDPDU carried any LLDP-MED TLV. */
  med?: LldpMedInfo;
  /** Content problems that did not stop the decoding (a garbled location TLV, a missing End TLV), in plain words. */
  problems: string[];
}

/** CAtype (RFC 4776 §3.4, RFC 5139 Table 1) -> civic element; 0 (language) and 128 (script) make xml:lang. */
export const CATYPE_ELEMENT: Readonly<Record<number, CivicElement>> = {
  1: "A1", 2: "A2", 3: "A3", 4: "A4", 5: "A5", 6: "A6",
  16: "PRD", 17: "POD", 18: "STS", 19: "HNO", 20: "HNS", 21: "LMK", 22: "LOC", 23: "NAM", 24: "PC",
  25: "BLD", 26: "UNIT", 27: "FLR", 28: "ROOM", 29: "PLC", 30: "PCN", 31: "POBOX", 32: "ADDCODE", 33: "SEAT",
  34: "RD", 35: "RDSEC", 36: "RDBR", 37: "RDSUBBR", 38: "PRM", 39: "POM",
};

const TIA_OUI = 0x0012bb;
const ETHERTYPE_LLDP = 0x88cc;
const LANG_TAG = /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/;

/** Text as XML 1.0 allows it: control characters and U+FFFE/U+FFFF become spaces, whitespace collapsed. */
export function cleanText(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffe\uffff]/g, " ").replace(/\s+/g, " ").trim();
}

/**
 * A civic address buildPidfLo can always express validly: country two letters (upper-cased), only RFC 5139 elements,
 * text cleaned, empty elements dropped, `lang` kept only if it is a language tag, A6 moved to RD when there is no RD.
 * Throws an LldpError when the country is not two letters (nothing valid can be made of it).
 */
export function normaliseCivic(input: Partial<Record<string, unknown>>, problems: string[] = []): CivicAddress {
  const country = typeof input.country === "string" ? input.country.trim().toUpperCase() : "";
  if (!/^[A-Z]{2}$/.test(country)) throw new LldpError(`the country code '${String(input.country ?? "")}' is not two letters (ISO 3166-1)`);
  const civic: CivicAddress = { country };
  for (const k of CIVIC_ORDER) {
    if (k === "country") continue;
    const v = input[k];
    if (v === undefined) continue;
    if (typeof v !== "string") {
      problems.push(`${k} is not text; left out`);
      continue;
    }
    const t = cleanText(v);
    if (t) civic[k] = t;
  }
  if (input.lang !== undefined) {
    const lang = typeof input.lang === "string" ? input.lang.trim() : "";
    if (LANG_TAG.test(lang)) civic.lang = lang;
    else problems.push(`the language '${String(input.lang)}' is not a language tag; left out`);
  }
  if (civic.A6 !== undefined && civic.RD === undefined) {
    // RFC 5139: A6 must not carry a street name, yet switches and DHCP servers put the street there (design rule §1.7).
    civic.RD = civic.A6;
    delete civic.A6;
  }
  return civic;
}

/** A script subtag goes after the primary language: "en-US" + "Latn" -> "en-Latn-US". */
function withScript(lang: string | undefined, script: string): string {
  const [primary, ...rest] = (lang || "und").split("-");
  return [primary, script, ...rest].join("-");
}

/**
 * CA elements `CAtype(1) CAlength(1) CAvalue` after `what` and the country, as DHCP option 99 and the LLDP-MED civic
 * LCI both carry them. `body` starts at `what`.
 */
function decodeCivicBody(body: Buffer, where: string): CivicLci {
  if (body.length < 3) throw new LldpError(`${where}: ${body.length} octets, too short for 'what' and the country code`);
  const what = body[0];
  const problems: string[] = [];
  if (what > 2) problems.push(`${where}: 'what' is ${what} (0, 1 or 2 expected)`);
  const raw: Record<string, string> = { country: body.toString("latin1", 1, 3) };
  let language: string | undefined;
  let script: string | undefined;
  for (let i = 3; i < body.length; ) {
    if (i + 2 > body.length) throw new LldpError(`${where}: CA element at offset ${i} is cut off before its length octet`);
    const type = body[i];
    const len = body[i + 1];
    if (i + 2 + len > body.length) throw new LldpError(`${where}: CA element type ${type} at offset ${i} claims ${len} octets but only ${body.length - i - 2} remain`);
    const value = cleanText(body.toString("utf8", i + 2, i + 2 + len));
    i += 2 + len;
    const el = CATYPE_ELEMENT[type];
    if (type === 0 || type === 128) {
      if (type === 0 ? language !== undefined : script !== undefined) problems.push(`${where}: a second ${type === 0 ? "language" : "script"} element; the first is kept`);
      else if (type === 0) language = value;
      else script = value;
    } else if (!el) {
      problems.push(type === 40 ? `${where}: an RFC 6848 extension element (CAtype 40) is not kept` : `${where}: unknown CAtype ${type}; left out`);
    } else if (raw[el] !== undefined) {
      problems.push(`${where}: a second ${el} (CAtype ${type}); the first is kept`);
    } else if (value) {
      raw[el] = value;
    }
  }
  if (language !== undefined || script !== undefined) raw.lang = script ? withScript(language, script) : (language ?? "");
  const civic = normaliseCivic(raw, problems);
  return { what, civic, problems };
}

/**
 * DHCPv4 option 99 (GEOCONF_CIVIC, RFC 4776 §3.1): the option value (`what | country | CA elements`), or the whole
 * option with its code (99) and length octets in front. Throws an LldpError on a truncated or garbled option.
 */
export function parseDhcpCivic(bytes: Uint8Array): CivicLci {
  let b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 2 && b[0] === 99) {
    // A value never starts with 99 ('what' is 0-2), so this is the option's code and length.
    if (b[1] > b.length - 2) throw new LldpError(`DHCP option 99 claims ${b[1]} octets but only ${b.length - 2} follow`);
    b = b.subarray(2, 2 + b[1]);
  }
  return decodeCivicBody(b, "DHCP option 99");
}

/** The LLDP-MED civic LCI: `LCI-length | what | country | CA elements`. */
export function parseCivicLci(lci: Buffer): CivicLci {
  if (lci.length < 1) throw new LldpError("civic LCI: empty");
  const n = lci[0];
  if (n + 1 > lci.length) throw new LldpError(`civic LCI: LCI length says ${n} octets but only ${lci.length - 1} follow`);
  const out = decodeCivicBody(lci.subarray(1, 1 + n), "civic LCI");
  if (n + 1 < lci.length) out.problems.push(`civic LCI: ${lci.length - 1 - n} octets after the LCI ignored`);
  return out;
}

/** Bits [start, start+len) of a buffer as an unsigned BigInt, most significant bit first. */
function bits(b: Buffer, start: number, len: number): bigint {
  const all = BigInt(`0x${b.toString("hex")}`);
  return (all >> BigInt(b.length * 8 - start - len)) & ((1n << BigInt(len)) - 1n);
}

/** Two's complement fixed point: `total` bits, `frac` of them fraction. */
function fixed(v: bigint, total: number, frac: number): number {
  const signed = v >= 1n << BigInt(total - 1) ? v - (1n << BigInt(total)) : v;
  return Number(signed) / 2 ** frac;
}

/** RFC 3825 §2.1 coordinate LCI, 16 octets. */
export function parseCoordinateLci(b: Buffer): CoordinateLci {
  if (b.length !== 16) throw new LldpError(`coordinate LCI: ${b.length} octets, 16 expected`);
  const lat = fixed(bits(b, 6, 34), 34, 25);
  const lon = fixed(bits(b, 46, 34), 34, 25);
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) throw new LldpError(`coordinate LCI: latitude ${lat} or longitude ${lon} out of range`);
  const at = Number(bits(b, 80, 4));
  const datumCode = b[15];
  const out: CoordinateLci = {
    lat,
    lon,
    latResolution: Number(bits(b, 0, 6)),
    lonResolution: Number(bits(b, 40, 6)),
    datum: ({ 1: "WGS84", 2: "NAD83/NAVD88", 3: "NAD83/MLLW" } as const)[datumCode as 1 | 2 | 3] ?? datumCode,
  };
  if (at === 1 || at === 2) out.altitude = { value: fixed(bits(b, 90, 30), 30, 8), unit: at === 1 ? "metres" : "floors" };
  return out;
}

const printable = (b: Buffer): boolean => b.length > 0 && /^[\x20-\x7e]+$/.test(b.toString("latin1"));
const hex = (b: Buffer): string => [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");

/** Chassis id subtypes 4 and port id subtype 3 are MACs; chassis 5 / port 4 network addresses (IANA family first). */
function idText(kind: "chassis" | "port", v: Buffer): string {
  const sub = v[0];
  const id = v.subarray(1);
  const mac = kind === "chassis" ? 4 : 3;
  const addr = kind === "chassis" ? 5 : 4;
  if (sub === mac && id.length === 6) return hex(id);
  if (sub === addr && id.length === 5 && id[0] === 1) return [...id.subarray(1)].join(".");
  if (sub === addr && id.length === 17 && id[0] === 2) return Array.from({ length: 8 }, (_, j) => id.readUInt16BE(1 + 2 * j).toString(16)).join(":");
  return printable(id) ? id.toString("latin1") : hex(id);
}

function decodeLocation(v: Buffer, med: LldpMedInfo, problems: string[]): void {
  if (v.length < 1) throw new LldpError("location identification TLV: no data format octet");
  const format = v[0];
  const data = v.subarray(1);
  if (format === 1) med.coordinate = parseCoordinateLci(data);
  else if (format === 2) {
    const c = parseCivicLci(data);
    med.civic = c;
    problems.push(...c.problems);
  } else if (format === 3) {
    const elin = data.toString("latin1");
    if (!/^[0-9]{10,25}$/.test(elin)) throw new LldpError(`ECS ELIN '${cleanText(elin)}' is not 10-25 digits`);
    med.elin = elin;
  } else problems.push(`location identification TLV: unknown data format ${format}; ignored`);
}

/**
 * Decodes an LLDPDU (the bytes after the Ethernet header of an 0x88cc frame). Throws an LldpError when the TLV
 * framing is broken (a TLV running past the end, the mandatory Chassis ID / Port ID / TTL missing or malformed); a
 * garbled LLDP-MED location TLV is reported in `problems` and the rest is kept.
 */
export function parseLldpdu(pdu: Uint8Array): LldpInfo {
  const b = Buffer.from(pdu.buffer, pdu.byteOffset, pdu.byteLength);
  const problems: string[] = [];
  const found: Partial<Pick<LldpInfo, "chassisId" | "portId" | "ttl" | "systemName" | "portDescription" | "med">> = {};
  let i = 0;
  let index = 0;
  let ended = false;
  while (i < b.length) {
    if (i + 2 > b.length) throw new LldpError(`LLDPDU: TLV header at offset ${i} is cut off`);
    const type = b[i] >> 1;
    const len = ((b[i] & 1) << 8) | b[i + 1];
    if (i + 2 + len > b.length) throw new LldpError(`LLDPDU: TLV type ${type} at offset ${i} claims ${len} octets but only ${b.length - i - 2} remain`);
    const v = b.subarray(i + 2, i + 2 + len);
    i += 2 + len;
    const mandatory = [1, 2, 3][index];
    if (mandatory !== undefined && type !== mandatory) throw new LldpError(`LLDPDU: TLV ${index + 1} is type ${type}; Chassis ID, Port ID and TTL must come first`);
    index++;
    if (type === 0) {
      ended = true;
      break;
    }
    if (type === 1 || type === 2) {
      if (len < 2 || len > 256) throw new LldpError(`LLDPDU: ${type === 1 ? "Chassis" : "Port"} ID TLV of ${len} octets (2-256 allowed)`);
      const id: LldpId = { subtype: v[0], raw: Buffer.from(v), text: idText(type === 1 ? "chassis" : "port", v) };
      if (type === 1) found.chassisId = id;
      else found.portId = id;
    } else if (type === 3) {
      if (len < 2) throw new LldpError(`LLDPDU: TTL TLV of ${len} octets (2 expected)`);
      found.ttl = v.readUInt16BE(0);
    } else if (type === 4 || type === 5) {
      const text = cleanText(v.toString("utf8"));
      if (type === 4) found.portDescription = text;
      else found.systemName = text;
    } else if (type === 127 && len >= 4 && v.readUIntBE(0, 3) === TIA_OUI) {
      const med = (found.med ??= {});
      const sub = v[3];
      try {
        if (sub === 1) {
          if (len < 7) throw new LldpError(`LLDP-MED capabilities TLV of ${len} octets (7 expected)`);
          med.deviceType = v[6];
        } else if (sub === 3) decodeLocation(v.subarray(4), med, problems);
      } catch (e) {
        if (!(e instanceof LldpError)) throw e;
        problems.push(`LLDP-MED subtype ${sub}: ${e.message}; ignored`);
      }
    }
  }
  if (!found.chassisId || !found.portId || found.ttl === undefined) throw new LldpError(`LLDPDU: ${b.length} octets without the Chassis ID, Port ID and TTL TLVs`);
  if (!ended) problems.push("LLDPDU: no End TLV");
  return { chassisId: found.chassisId, portId: found.portId, ttl: found.ttl, systemName: found.systemName, portDescription: found.portDescription, med: found.med, problems };
}

/** An Ethernet II frame (an 802.1Q tag allowed): the LLDPDU decoded, or null when the frame is not LLDP. */
export function parseLldpFrame(frame: Uint8Array): (LldpInfo & { sourceMac: string }) | null {
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (b.length < 14) throw new LldpError(`Ethernet frame of ${b.length} octets (14 at least)`);
  let off = 12;
  let type = b.readUInt16BE(off);
  if (type === 0x8100 || type === 0x88a8) {
    if (b.length < 18) throw new LldpError("VLAN-tagged Ethernet frame cut off");
    off += 4;
    type = b.readUInt16BE(off);
  }
  if (type !== ETHERTYPE_LLDP) return null;
  return { ...parseLldpdu(b.subarray(off + 2)), sourceMac: hex(b.subarray(6, 12)) };
}

// PIDF-LO (RFC 4119, RFC 5491, RFC 5139 civic) as the phone emits it in an emergency INVITE: one tuple whose status
// holds one geopriv (location-info, usage-rules, method, provided-by), then its timestamp, every level in the order
// the schemas' sequences fix (shared standards §2.2), civic elements in RFC 5139 order. Text is XML-escaped and
// whitespace-collapsed (the values are xs:token); the tuple id is made an NCName. Every document this builds validates
// against pidf-lo-validate.xsd (the tests run xmllint on them). Also the one-line address the screen shows.

/** RFC 5139 §4: the civicAddress sequence, in schema order. */
export const CIVIC_ORDER = ["country", "A1", "A2", "A3", "A4", "A5", "A6", "PRM", "PRD", "RD", "STS", "POD", "POM", "RDSEC", "RDBR", "RDSUBBR", "HNO", "HNS", "LMK", "LOC", "FLR", "NAM", "PC", "BLD", "UNIT", "ROOM", "SEAT", "PLC", "PCN", "POBOX", "ADDCODE"] as const;

export type CivicElement = (typeof CIVIC_ORDER)[number];

/** A civic address: `country` (ISO 3166-1 alpha-2) and any other RFC 5139 elements; `lang` is its xml:lang. */
export type CivicAddress = Partial<Record<CivicElement, string>> & { country: string; lang?: string };

/** IANA "Method Tokens" the phone uses (RFC 4119 §2.2.3 and the registry). */
export type LocationMethod = "Manual" | "DHCP" | "LLDP-MED" | "Wiremap" | "GPS" | "Derived" | "Default";

export interface LocationObject {
  /** The presentity: the phone's address of record, e.g. "pres:1001@example.com" or "sip:1001@example.com". */
  entity: string;
  /** The tuple's id (made an NCName if it is not one). */
  tupleId: string;
  civic?: CivicAddress;
  /** A geodetic point (WGS 84, EPSG 4326). With a civic address too, the point comes first (coarse first, RFC 5491). */
  point?: { lat: number; lon: number };
  method: LocationMethod;
  /** The location provider's information URL (RFC 7852 EmergencyCallDataReference), required for emergency use. */
  providedBy?: string;
  /** Whether the PSAP may pass the location on (RFC 4119: say so explicitly; a location the phone made: true). */
  retransmissionAllowed: boolean;
  retentionExpiry?: Date;
  timestamp: Date;
}

const NS = {
  pidf: "urn:ietf:params:xml:ns:pidf",
  gp: "urn:ietf:params:xml:ns:pidf:geopriv10",
  gbp: "urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy",
  ca: "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr",
  gml: "http://www.opengis.net/gml",
  ad: "urn:ietf:params:xml:ns:EmergencyCallData",
};

/** XML text or attribute value, escaped; tokens collapse their whitespace (xs:token). */
function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] ?? c);
}
const token = (s: string): string => esc(s.replace(/\s+/g, " ").trim());

/** xs:ID / NCName: no colon, not starting with a digit, '-', or '.'; other characters replaced. */
export function ncName(s: string): string {
  const body = s.replace(/[^A-Za-z0-9._-]/g, "-");
  return /^[A-Za-z_]/.test(body) ? body : `t-${body}`;
}

/** xs:dateTime in UTC, whole seconds (the form HELD and the examples use). */
const utc = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z");

function civicXml(c: CivicAddress): string {
  const country = c.country.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country)) throw new Error(`civic address: country must be two letters (ISO 3166-1), got '${c.country}'`);
  const parts: string[] = [`<ca:country>${country}</ca:country>`];
  for (const k of CIVIC_ORDER) {
    if (k === "country") continue;
    const v = c[k];
    if (v !== undefined && v.trim()) parts.push(`<ca:${k}>${token(v)}</ca:${k}>`);
  }
  const lang = c.lang ? ` xml:lang="${esc(c.lang)}"` : "";
  return `<ca:civicAddress${lang}>${parts.join("")}</ca:civicAddress>`;
}

function pointXml(p: { lat: number; lon: number }): string {
  if (!(Math.abs(p.lat) <= 90 && Math.abs(p.lon) <= 180)) throw new Error(`point out of range (${p.lat}, ${p.lon})`);
  return `<gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>${p.lat} ${p.lon}</gml:pos></gml:Point>`;
}

/** The PIDF-LO document (UTF-8 XML text). Throws on a location it cannot express validly (bad country, no location). */
export function buildPidfLo(o: LocationObject): string {
  if (!o.civic && !o.point) throw new Error("a location object needs a civic address or a point");
  const info = [o.point ? pointXml(o.point) : "", o.civic ? civicXml(o.civic) : ""].join("");
  const rules = [`<gbp:retransmission-allowed>${o.retransmissionAllowed ? "true" : "false"}</gbp:retransmission-allowed>`, o.retentionExpiry ? `<gbp:retention-expiry>${utc(o.retentionExpiry)}</gbp:retention-expiry>` : ""].join("");
  const provided = o.providedBy ? `<gp:provided-by><ad:EmergencyCallDataReference xmlns:ad="${NS.ad}" purpose="EmergencyCallData.ProviderInfo" ref="${esc(o.providedBy)}"/></gp:provided-by>` : "";
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<presence xmlns="${NS.pidf}" xmlns:gp="${NS.gp}" xmlns:gbp="${NS.gbp}" xmlns:ca="${NS.ca}" xmlns:gml="${NS.gml}" entity="${esc(o.entity)}">`,
    `<tuple id="${ncName(o.tupleId)}"><status><gp:geopriv>`,
    `<gp:location-info>${info}</gp:location-info>`,
    `<gp:usage-rules>${rules}</gp:usage-rules>`,
    `<gp:method>${o.method}</gp:method>${provided}`,
    `</gp:geopriv></status><timestamp>${utc(o.timestamp)}</timestamp></tuple>`,
    `</presence>`,
    "",
  ].join("\n");
}

/**
 * The address on one line, as the screen shows it: "1100 N Lamar BLVD, Tower 2, Fl 3, Suite 300, Rm 3-214" (house
 * number and street, or else the landmark or city; building, floor, unit, room: test vector TV-1's wording).
 */
export function civicLine(c: CivicAddress): string {
  const street = [c.HNO, c.HNS, c.PRM, c.PRD, c.RD, c.STS, c.POD, c.POM].filter((x) => x && x.trim()).join(" ");
  const parts = [street || c.LMK || c.A3 || "", c.BLD, c.FLR ? `Fl ${c.FLR}` : "", c.UNIT, c.ROOM ? `Rm ${c.ROOM}` : ""].filter((x): x is string => !!x && !!x.trim());
  return parts.join(", ").replace(/\s+/g, " ");
}

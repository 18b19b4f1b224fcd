// Makes a PIDF-LO received from a LIS (HELD or Lync's MS-E911WS) into one the phone may send (shared standards §7
// item 13, test vectors TV-1, TV-2, TV-7): the location chosen by RFC 5491's priority, in one tuple whose id is an
// NCName, usage-rules with an explicit retransmission-allowed, a method, civic elements cleaned and in RFC 5139 order,
// every location chunk kept as received (no civic<->geodetic conversion) and a UTC timestamp. Also the call-time
// extras (timestamp, Lync's msftE911PidfExtn), and the small strict XML helpers held.ts shares.
import { DOMImplementation, DOMParser, XMLSerializer, type Document, type Element, type Node } from "@xmldom/xmldom";
import { CIVIC_ORDER, civicLine, ncName, type CivicAddress, type CivicElement, type LocationMethod } from "./pidf-lo.js";

/** Namespaces of PIDF-LO, HELD and the Lync extension (shared standards §2.1, §1.1, §1.4). */
export const NS = {
  pidf: "urn:ietf:params:xml:ns:pidf",
  gp: "urn:ietf:params:xml:ns:pidf:geopriv10",
  gbp: "urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy",
  ca: "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr",
  dm: "urn:ietf:params:xml:ns:pidf:data-model",
  gml: "http://www.opengis.net/gml",
  gs: "http://www.opengis.net/pidflo/1.0",
  ad: "urn:ietf:params:xml:ns:EmergencyCallData",
  ms: "urn:schema:Rtc.LIS.msftE911PidfExtn.2008",
  msTag: "urn:schema:Rtc.Lis.LocationPolicyTagID.2008",
  held: "urn:ietf:params:xml:ns:geopriv:held",
  heldId: "urn:ietf:params:xml:ns:geopriv:held:id",
  xml: "http://www.w3.org/XML/1998/namespace",
  xmlns: "http://www.w3.org/2000/xmlns/",
} as const;

const PREFIX: Record<string, string> = { [NS.gp]: "gp", [NS.gbp]: "gbp", [NS.ca]: "ca", [NS.ms]: "ms", [NS.ad]: "ad" };

/** Parses XML strictly (any parser complaint refuses the text). Throws "<what> is not XML: <reason>". */
export function parseXml(text: string, what: string): Document {
  let reason: string | undefined;
  const parser = new DOMParser({
    locator: true,
    onError: (_level, msg) => {
      reason ??= msg.replace(/\s*@#\[line:(\d+),col:(\d+)\]\s*$/, " (line $1, column $2)").trim();
      throw new Error(reason);
    },
  });
  try {
    const doc = parser.parseFromString(text.replace(/^\uFEFF/, ""), "application/xml");
    if (!doc.documentElement) throw new Error("no root element");
    return doc;
  } catch (e) {
    throw new Error(`${what} is not XML: ${reason ?? (e as Error).message}`);
  }
}

/** The element children of a node. */
export const kids = (n: Node): Element[] => Array.from(n.childNodes).filter((c): c is Element => c.nodeType === 1);
/** Whether `e` is the element {ns}local. */
export const is = (e: Element, ns: string, local: string): boolean => e.namespaceURI === ns && e.localName === local;
/** The first child element {ns}local. */
export const child = (n: Node, ns: string, local: string): Element | undefined => kids(n).find((e) => is(e, ns, local));
/** Text content with whitespace collapsed (xs:token). */
export const tokenText = (e: Element): string => (e.textContent ?? "").replace(/\s+/g, " ").trim();

/** The namespace bindings in scope at `el` (prefix "" is the default namespace), nearest declaration first. */
function inScope(el: Element): Map<string, string> {
  const m = new Map<string, string>();
  for (let n: Node | null = el; n && n.nodeType === 1; n = n.parentNode) {
    const e = n as Element;
    for (const a of Array.from(e.attributes)) {
      if (a.name === "xmlns" && !m.has("")) m.set("", a.value);
      else if (a.prefix === "xmlns" && !m.has(a.localName ?? "")) m.set(a.localName ?? "", a.value);
    }
    if (e.namespaceURI && !m.has(e.prefix ?? "")) m.set(e.prefix ?? "", e.namespaceURI);
  }
  return m;
}

/** `el` as a document of its own (XML declaration first), declaring every namespace in scope where it sat. */
export function serializeStandalone(el: Element): string {
  const doc = new DOMImplementation().createDocument(null, "", null);
  const copy = doc.importNode(el, true);
  for (const [p, uri] of inScope(el)) {
    const name = p ? `xmlns:${p}` : "xmlns";
    if (p !== "xml" && !copy.hasAttribute(name)) copy.setAttributeNS(NS.xmlns, name, uri);
  }
  doc.appendChild(copy);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(doc)}\n`;
}

const docOf = (n: Node): Document => {
  if (!n.ownerDocument) throw new Error("internal: a node without a document");
  return n.ownerDocument;
};

/** A new element {ns}local for `parent`, reusing a prefix in scope there, else declaring a conventional one on `root`. */
function make(parent: Element, root: Element, ns: string, local: string): Element {
  const doc = docOf(parent);
  const scope = inScope(parent);
  if (scope.get("") === ns) return doc.createElementNS(ns, local);
  const bound = [...scope].find(([p, u]) => p && u === ns)?.[0];
  if (bound) return doc.createElementNS(ns, `${bound}:${local}`);
  let p = PREFIX[ns] ?? "ns";
  for (let i = 1; inScope(root).has(p) || scope.has(p); i++) p = `${PREFIX[ns] ?? "ns"}${i}`;
  root.setAttributeNS(NS.xmlns, `xmlns:${p}`, ns);
  return doc.createElementNS(ns, `${p}:${local}`);
}

function textEl(parent: Element, root: Element, ns: string, local: string, text: string): Element {
  const e = make(parent, root, ns, local);
  e.appendChild(docOf(parent).createTextNode(text));
  return e;
}

/** xs:dateTime to a Date; a value without a zone is taken as UTC (HELD's times are UTC, RFC 5985 §6.5). */
function parseDateTime(s: string): Date | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.exec(s.trim());
  const d = m ? new Date(`${m[1]}${(m[2] ?? "").slice(0, 4)}${m[3] ?? "Z"}`) : undefined;
  return d && !Number.isNaN(d.getTime()) ? d : undefined;
}
const utc = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z");

/** Drops comments and the whitespace between elements, then indents element-only content by two spaces. */
function tidy(el: Element, depth = 0): void {
  for (const c of Array.from(el.childNodes)) if (c.nodeType === 8 || c.nodeType === 7) el.removeChild(c);
  const elementOnly = Array.from(el.childNodes).every((c) => c.nodeType === 1 || (c.nodeType === 3 && !(c.nodeValue ?? "").trim()));
  if (!elementOnly || kids(el).length === 0) return;
  for (const c of Array.from(el.childNodes)) if (c.nodeType === 3) el.removeChild(c);
  const pad = (n: number): Node => docOf(el).createTextNode(`\n${"  ".repeat(n)}`);
  for (const c of kids(el)) {
    el.insertBefore(pad(depth + 1), c);
    tidy(c, depth + 1);
  }
  el.appendChild(pad(depth));
}

const serialize = (doc: Document): string => {
  tidy(doc.documentElement!);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(doc.documentElement!)}\n`;
};

/** RFC 5139 §4: drop empty, unknown and repeated civic elements, uppercase the country, put the rest in schema order. */
function cleanCivic(ca: Element, changes: string[]): void {
  const seen = new Map<string, Element>();
  const ext: Element[] = [];
  for (const e of kids(ca)) {
    ca.removeChild(e);
    const name = e.localName ?? "";
    if (!tokenText(e) && kids(e).length === 0) changes.push(`dropped the empty civic element ${name}`);
    else if (e.namespaceURI !== NS.ca) ext.push(e); // RFC 6848 extensions (cae:...) go after ADDCODE, as received
    else if (!(CIVIC_ORDER as readonly string[]).includes(name)) changes.push(`dropped ${name}, which is not an RFC 5139 civic element`);
    else if (seen.has(name)) changes.push(`dropped a second civic ${name}`);
    else {
      for (const a of Array.from(e.attributes)) if (!(a.localName === "lang" && a.namespaceURI === NS.xml && name !== "country" && name !== "PLC")) e.removeAttributeNode(a);
      if (name === "country") {
        const cc = tokenText(e).toUpperCase();
        if (!/^[A-Z]{2}$/.test(cc)) {
          changes.push(`dropped the country '${tokenText(e)}', which is not an ISO 3166-1 two-letter code`);
          continue;
        }
        if (e.textContent !== cc) {
          if (tokenText(e) !== cc) changes.push(`uppercased the country '${tokenText(e)}'`);
          e.textContent = cc;
        }
      }
      seen.set(name, e);
    }
  }
  const received = [...seen.keys()];
  const ordered = CIVIC_ORDER.filter((name) => seen.has(name));
  if (received.join() !== ordered.join()) changes.push("put the civic elements in RFC 5139 order");
  for (const name of ordered) ca.appendChild(seen.get(name)!);
  for (const e of ext) ca.appendChild(e);
}

/** The civic address of a civicAddress element (its country may be missing: then ""). */
function civicOf(ca: Element): CivicAddress {
  const c: CivicAddress = { country: "" };
  for (const e of kids(ca)) if (e.namespaceURI === NS.ca) c[e.localName as CivicElement] = tokenText(e);
  const lang = ca.getAttributeNS(NS.xml, "lang");
  if (lang) c.lang = lang;
  return c;
}

/** The first coordinates of a geodetic shape, for the screen: "-34.407242, 150.882518 (±30 m)". */
function pointText(info: Element): string {
  const pos = info.getElementsByTagNameNS(NS.gml, "pos")[0];
  if (!pos) return "";
  const radius = info.getElementsByTagNameNS(NS.gs, "radius")[0];
  const metres = radius && /9001$/.test(radius.getAttribute("uom") ?? "") ? ` (±${tokenText(radius)} m)` : "";
  return tokenText(pos).split(" ").join(", ") + metres;
}

export interface NormaliseOptions {
  /** The method token to add when the LIS gave none (RFC 4119 §2.2.3); default "Wiremap". */
  method?: LocationMethod;
  /** The time of normalisation: the timestamp when the document has none, and the reference for retention-expiry. */
  now: Date;
  /** RFC 7852 provider-info URL added as provided-by when the document has none (RFC 6881 ED-41). */
  providedBy?: string;
  /** The presentity when the document lacks one; default the pseudonym "pres:anonymous@anonymous.invalid". */
  entity?: string;
  /** retransmission-allowed when the document has no usage-rules at all; default true (see the comment below). */
  retransmissionAllowed?: boolean;
}

export interface NormalisedPidf {
  /** A PIDF-LO valid against pidf-lo-validate.xsd. */
  pidf: string;
  /** The first civic address, when there is one with a country. */
  civic?: CivicAddress;
  /** One line for the screen: civicLine(), or the coordinates when there is no street, landmark or city. */
  text: string;
  /** The usage-rules' retention-expiry: recipients discard the location after it (RFC 4119 §2.2.2). */
  retentionExpiry?: Date;
  /** What was changed, in plain words, for the log. */
  changes: string[];
}

/**
 * Rewrites a received `presence` document into a valid PIDF-LO. A document that is already valid keeps every element
 * and value; only whitespace may differ, and the timestamp is written in UTC ("Z") form. Throws when the document is
 * not PIDF or holds no location.
 */
export function normalisePidf(presenceXml: string, opts: NormaliseOptions): NormalisedPidf {
  const changes: string[] = [];
  const doc = parseXml(presenceXml, "The location document");
  const root = doc.documentElement!;
  if (!is(root, NS.pidf, "presence")) throw new Error(`The location document is not PIDF: its root element is <${root.tagName}>, not a PIDF presence`);
  const geoOf = (e: Element): Element | undefined => {
    const holder = is(e, NS.pidf, "tuple") ? child(e, NS.pidf, "status") : e;
    return holder && child(holder, NS.gp, "geopriv");
  };
  // RFC 5491 §3 rule 8: the first device with a location, then the first tuple, a person only as the last resort
  const chosen = [["device", NS.dm], ["tuple", NS.pidf], ["person", NS.dm]].flatMap(([l, ns]) => kids(root).filter((e) => is(e, ns, l) && geoOf(e)))[0];
  if (!chosen) throw new Error("The location document holds no location: no geopriv in a device, tuple or person");
  const geo = geoOf(chosen)!;
  const others = kids(root).filter((e) => e !== chosen);
  if (others.length) changes.push(`kept only the chosen location, dropping ${others.map((e) => e.localName).join(", ")}`);
  const p = root.prefix ? `${root.prefix}:` : "";
  let tuple = chosen;
  if (!is(chosen, NS.pidf, "tuple")) {
    // the phone sends one tuple (standards §7 item 12; the Lync extension sits in its status): a device's or person's
    // geopriv moves into a new tuple with its id and timestamp; the rest (deviceID, notes) is not location and stays out
    tuple = doc.createElementNS(NS.pidf, `${p}tuple`);
    tuple.setAttribute("id", chosen.getAttribute("id") ?? "location");
    tuple.appendChild(doc.createElementNS(NS.pidf, `${p}status`)).appendChild(geo);
    const ts = child(chosen, NS.dm, "timestamp");
    if (ts) tuple.appendChild(doc.createElementNS(NS.pidf, `${p}timestamp`)).appendChild(doc.createTextNode(tokenText(ts)));
    changes.push(`moved the location of the ${chosen.localName} into a tuple`);
  }
  const status = child(tuple, NS.pidf, "status")!;
  for (const g of kids(status)) if (g !== geo && is(g, NS.gp, "geopriv")) status.removeChild(g); // one geopriv per tuple (RFC 5491)
  for (const c of Array.from(root.childNodes)) root.removeChild(c);
  root.appendChild(tuple);

  if (!root.getAttribute("entity")) {
    root.setAttribute("entity", opts.entity ?? "pres:anonymous@anonymous.invalid");
    changes.push("added the missing entity");
  }
  const id = tuple.getAttribute("id") ?? "";
  if (ncName(id) !== id) {
    tuple.setAttribute("id", ncName(id || "location"));
    changes.push(`made the tuple id '${id}' an NCName`);
  }

  // geopriv: location-info, usage-rules, method, provided-by, then extensions (RFC 4119 §2.2.5 sequence)
  const part = (l: string): Element | undefined => child(geo, NS.gp, l);
  const info = part("location-info");
  if (!info || kids(info).length === 0) throw new Error("The location document holds no location: its geopriv has no location-info");
  for (const ca of kids(info).filter((e) => is(e, NS.ca, "civicAddress"))) cleanCivic(ca, changes);
  let rules = part("usage-rules");
  if (!rules) {
    // No usage-rules at all (Lync's LIS): the LIS said nothing, so the phone's device policy is the Rule Maker's voice,
    // as for a location the phone builds itself (standards §2.2 design note): retransmission allowed unless told not,
    // so the PSAP may pass the location on to responders (and lync-style-e911.pidf.xml, TV-7, says true).
    rules = make(geo, root, NS.gp, "usage-rules");
    geo.appendChild(rules); // in place first, so its child sees the prefixes in scope
    rules.appendChild(textEl(rules, root, NS.gbp, "retransmission-allowed", String(opts.retransmissionAllowed ?? true)));
    changes.push("added usage-rules");
  } else {
    // The LIS's rules are copied unchanged (standards §2.2). If they omit retransmission-allowed, RFC 4119 §2.2.2 says
    // it means 'no': written out as false, so it is explicit (same meaning). The prose words yes/no become booleans.
    const ra = child(rules, NS.gbp, "retransmission-allowed");
    const v = ra ? tokenText(ra) : "";
    const fixed = ["true", "false", "1", "0"].includes(v) ? v : v.toLowerCase() === "yes" ? "true" : "false";
    if (!ra) rules.insertBefore(textEl(rules, root, NS.gbp, "retransmission-allowed", fixed), rules.firstChild);
    else if (fixed !== v) ra.textContent = fixed;
    if (fixed !== v) changes.push(`made retransmission-allowed explicit: ${ra ? `'${v}'` : "absent"} -> ${fixed}`);
    const order = ["retransmission-allowed", "retention-expiry", "external-ruleset", "note-well"];
    const rank = (e: Element): number => (e.namespaceURI === NS.gbp && order.includes(e.localName ?? "") ? order.indexOf(e.localName ?? "") : order.length);
    for (const e of kids(rules).sort((a, b) => rank(a) - rank(b))) rules.appendChild(e);
  }
  let method = part("method");
  if (!method || !tokenText(method)) {
    if (method) geo.removeChild(method);
    method = textEl(geo, root, NS.gp, "method", opts.method ?? "Wiremap");
    changes.push(`added method ${opts.method ?? "Wiremap"}`);
  }
  let by = part("provided-by");
  if (!by && opts.providedBy) {
    const holder = make(geo, root, NS.gp, "provided-by");
    geo.appendChild(holder);
    const ref = make(holder, root, NS.ad, "EmergencyCallDataReference");
    holder.appendChild(ref);
    by = holder;
    ref.setAttribute("purpose", "EmergencyCallData.ProviderInfo");
    ref.setAttribute("ref", opts.providedBy);
  }
  const extensions = kids(geo).filter((e) => e.namespaceURI !== NS.gp);
  const known = [info, rules, method, by];
  for (const e of kids(geo)) {
    if (e.namespaceURI === NS.gp && !known.includes(e)) changes.push(`dropped geopriv's unknown or repeated element ${e.localName}`);
    geo.removeChild(e);
  }
  for (const e of [...known, ...extensions]) if (e) geo.appendChild(e);

  // timestamp: last in the tuple (RFC 3863 sequence), UTC
  const ts = child(tuple, NS.pidf, "timestamp");
  const when = ts ? parseDateTime(tokenText(ts)) : undefined;
  if (ts) tuple.removeChild(ts);
  tuple.appendChild(doc.createElementNS(NS.pidf, `${p}timestamp`)).appendChild(doc.createTextNode(utc(when ?? opts.now)));
  if (!when) changes.push(ts ? `replaced the timestamp '${tokenText(ts)}', which is not an xs:dateTime` : "added a timestamp");
  else if (utc(when) !== tokenText(ts!)) changes.push(`wrote the timestamp '${tokenText(ts!)}' in UTC`);

  const civicEl = kids(info).find((e) => is(e, NS.ca, "civicAddress"));
  const c = civicEl ? civicOf(civicEl) : undefined;
  const place = c && (c.HNO || c.RD || c.LMK || c.A3);
  const text = [place ? "" : pointText(info), c ? civicLine(c) : ""].filter((s) => s).join(", ");
  const expiry = child(rules, NS.gbp, "retention-expiry");
  return {
    pidf: serialize(doc),
    civic: c && c.country ? c : undefined,
    text: text || "Location from the LIS",
    retentionExpiry: expiry ? parseDateTime(tokenText(expiry)) : undefined,
    changes,
  };
}

export interface CallExtras {
  /** The tuple's timestamp: when the location is sent. */
  timestamp: Date;
  /** Lync mode: the location policy's security-desk conference and LocationPolicyTagID (MS-SIPRE 2.2.23, App. D). */
  lync?: { conferenceUri?: string; conferenceMode?: "oneway" | "twoway"; policyTagId?: string };
}

/**
 * The PIDF-LO as sent in a call: the first located tuple's timestamp set, and in Lync mode ms:msftE911PidfExtn
 * (ConferenceUri, ConferenceMode, LocationPolicyTagID) in its status right after the geopriv, replacing any there, as
 * in lync-style-e911.pidf.xml. Throws when the document has no tuple with a geopriv.
 */
export function withCallExtras(pidf: string, x: CallExtras): string {
  const doc = parseXml(pidf, "The PIDF-LO");
  const root = doc.documentElement!;
  const tuple = kids(root).find((t) => is(t, NS.pidf, "tuple") && child(child(t, NS.pidf, "status") ?? t, NS.gp, "geopriv"));
  if (!is(root, NS.pidf, "presence") || !tuple) throw new Error("The PIDF-LO has no tuple with a location (geopriv) to send");
  const p = root.prefix ? `${root.prefix}:` : "";
  const old = child(tuple, NS.pidf, "timestamp");
  if (old) tuple.removeChild(old);
  tuple.appendChild(doc.createElementNS(NS.pidf, `${p}timestamp`)).appendChild(doc.createTextNode(utc(x.timestamp)));
  if (x.lync) {
    const status = child(tuple, NS.pidf, "status")!;
    for (const e of kids(status)) if (is(e, NS.ms, "msftE911PidfExtn")) status.removeChild(e);
    const geo = child(status, NS.gp, "geopriv")!;
    const ext = make(status, root, NS.ms, "msftE911PidfExtn");
    status.insertBefore(ext, geo.nextSibling);
    if (x.lync.conferenceUri) ext.appendChild(textEl(ext, root, NS.ms, "ConferenceUri", x.lync.conferenceUri));
    if (x.lync.conferenceMode) ext.appendChild(textEl(ext, root, NS.ms, "ConferenceMode", x.lync.conferenceMode));
    if (x.lync.policyTagId) ext.appendChild(doc.createElementNS(NS.msTag, "LocationPolicyTagID")).appendChild(doc.createTextNode(x.lync.policyTagId));
  }
  return serialize(doc);
}

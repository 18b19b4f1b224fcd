// Normalising a LIS's PIDF-LO (standards §7 item 13): every output validated by xmllint against pidf-lo-validate.xsd.
// TV-1 (a valid document keeps its content), TV-2 (compound location kept as received), TV-7 (Lync's LIS presence made
// valid, and with the call extras it has what lync-style-e911.pidf.xml has), RFC 5491's choice among several
// locations, every invalid vector repaired, and withCallExtras on what pidf-lo.ts builds.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { DOMParser, type Element } from "@xmldom/xmldom";
import { parseHeldResponse } from "../../../src/location/held.js";
import { buildPidfLo } from "../../../src/location/pidf-lo.js";
import { normalisePidf, withCallExtras } from "../../../src/location/pidf-normalise.js";
import { schemaComplaint } from "../../support/xml-schema.js";

const schemas = fileURLToPath(new URL("../../fixtures/location-schemas/", import.meta.url));
const example = (f: string): Promise<string> => fs.readFile(path.join(schemas, "examples", f), "utf8");
const now = new Date("2026-03-01T09:30:00Z");

/** xmllint's verdict against pidf-lo-validate.xsd: null when the document validates, else its complaint. */
const invalid = (xml: string): Promise<string | null> => schemaComplaint(xml);

interface Tree {
  name: string;
  attrs: Record<string, string>;
  text?: string;
  kids: Tree[];
}
/** A document as a comparable tree: {namespace}name, attributes (not xmlns declarations), collapsed leaf text. */
function tree(xml: string): Tree {
  const walk = (e: Element): Tree => {
    const kids = Array.from(e.childNodes).filter((c): c is Element => c.nodeType === 1);
    const attrs: Record<string, string> = {};
    for (const a of Array.from(e.attributes)) if (a.name !== "xmlns" && a.prefix !== "xmlns") attrs[`{${a.namespaceURI ?? ""}}${a.localName}`] = a.value;
    return { name: `{${e.namespaceURI ?? ""}}${e.localName}`, attrs, kids: kids.map(walk), ...(kids.length ? {} : { text: (e.textContent ?? "").replace(/\s+/g, " ").trim() }) };
  };
  return walk(new DOMParser().parseFromString(xml, "application/xml").documentElement!);
}
/** The tree's first element named {…}local, depth first. */
function find(t: Tree, local: string): Tree | undefined {
  if (t.name.endsWith(`}${local}`)) return t;
  for (const k of t.kids) {
    const f = find(k, local);
    if (f) return f;
  }
  return undefined;
}
const local = (t: Tree): string => t.name.replace(/^\{.*\}/, "");

describe("normalising a LIS's PIDF-LO", () => {
  it("TV-1: a valid LIS document keeps every element and value (timestamp already UTC: nothing changes)", async () => {
    const office = await example("office-floor-room.pidf.xml");
    const n = normalisePidf(office, { now });
    assert.equal(await invalid(n.pidf), null);
    assert.deepEqual(tree(n.pidf), tree(office));
    assert.deepEqual(n.changes, []);
    assert.equal(n.text, "1100 N Lamar BLVD, Tower 2, Fl 3, Suite 300, Rm 3-214");
    assert.deepEqual(n.civic, { country: "US", lang: "en-US", A1: "TX", A2: "Travis", A3: "Austin", PRD: "N", RD: "Lamar", STS: "BLVD", HNO: "1100", LOC: "East wing, next to elevator bank B", FLR: "3", NAM: "Example Corp", PC: "78703", BLD: "Tower 2", UNIT: "Suite 300", ROOM: "3-214", SEAT: "Desk 17", PLC: "office" });
    assert.equal(n.retentionExpiry?.toISOString(), "2026-01-16T15:04:05.000Z");
  });

  it("TV-1: only the timestamp changes when the LIS wrote it with an offset (same instant, in UTC)", async () => {
    const office = await example("office-floor-room.pidf.xml");
    const n = normalisePidf(office.replace("2026-01-15T15:04:05Z</timestamp>", "2026-01-15T17:04:05.250+02:00</timestamp>"), { now });
    assert.equal(await invalid(n.pidf), null);
    assert.deepEqual(tree(n.pidf), tree(office));
    assert.deepEqual(n.changes, ["wrote the timestamp '2026-01-15T17:04:05.250+02:00' in UTC"]);
  });

  it("TV-2: the compound answer of RFC 5985 §10.3 keeps both chunks, coarse first, as received; no conversion", async () => {
    const answer = parseHeldResponse(await example("rfc5985-10.3-response.xml"));
    assert.ok(answer.kind === "location" && answer.presence);
    const n = normalisePidf(answer.presence, { now });
    assert.equal(await invalid(n.pidf), null);
    const before = find(tree(answer.presence), "location-info")!;
    const after = find(tree(n.pidf), "location-info")!;
    assert.deepEqual(after, before);
    assert.deepEqual(after.kids.map(local), ["Circle", "civicAddress"]);
    assert.deepEqual(find(tree(n.pidf), "usage-rules"), find(tree(answer.presence), "usage-rules"), "the LIS's usage-rules copied unchanged");
    assert.equal(find(tree(n.pidf), "timestamp")!.text, "2007-05-24T02:35:02Z");
    assert.equal(n.text, "Northfield Avenue, 39, Fl 2");
    assert.equal(n.civic?.country, "AU");
  });

  it("TV-7: Lync's LIS presence fails the schema; normalised it validates, and with the call extras it is lync-style-e911", async () => {
    const lis = await example("ms-e911ws-lis-presence.xml");
    assert.match((await invalid(lis)) ?? "", /_LIS:0|usage-rules/);
    const n = normalisePidf(lis, { now });
    assert.equal(await invalid(n.pidf), null);
    assert.deepEqual(n.changes, ["made the tuple id '_LIS:0' an NCName", "dropped the empty civic element PRD", "dropped the empty civic element HNS", "added usage-rules", "added method Wiremap", "added a timestamp"]);
    assert.equal(n.text, "3910 163rd Ave NE");
    const sent = withCallExtras(n.pidf, { timestamp: new Date("2026-01-15T15:04:05Z"), lync: { conferenceUri: "sip:+14255550199@contoso.com;user=phone", conferenceMode: "twoway", policyTagId: "user-tagid" } });
    assert.equal(await invalid(sent), null);
    const want = tree(await example("lync-style-e911.pidf.xml"));
    const got = tree(sent);
    assert.equal(got.attrs["{}entity"], "sip:voip_911_user1@contoscovdomain.com", "the LIS's entity is kept");
    assert.equal(got.kids[0].attrs["{}id"], "_LIS-0");
    got.attrs["{}entity"] = want.attrs["{}entity"];
    got.kids[0].attrs["{}id"] = want.kids[0].attrs["{}id"];
    assert.deepEqual(got, want);
  });

  it("RFC 5491 §3: the first device with a location wins over an earlier tuple; it becomes the one tuple sent", async () => {
    const fig2 = await example("rfc5491-fig2-compound.pidf.xml");
    const withTuple = fig2.replace("<dm:device", `<tuple id="t1"><status><gp:geopriv><gp:location-info><cl:civicAddress><cl:country>US</cl:country><cl:A3>Elsewhere</cl:A3></cl:civicAddress></gp:location-info><gp:usage-rules/></gp:geopriv></status></tuple><dm:device`);
    const n = normalisePidf(withTuple, { now });
    assert.equal(await invalid(n.pidf), null);
    const t = tree(n.pidf);
    assert.deepEqual(t.kids.map(local), ["tuple"]);
    assert.equal(t.kids[0].attrs["{}id"], "mikepc");
    assert.deepEqual(find(t, "location-info")!.kids.map(local), ["Point", "civicAddress"]);
    assert.equal(find(t, "retransmission-allowed")!.text, "false", "empty usage-rules: RFC 4119's default 'no', written out");
    assert.equal(find(t, "timestamp")!.text, "2007-06-22T20:57:29Z");
    assert.equal(n.text, "-43.5723, 153.21760, Fl 2");
    assert.equal(n.civic, undefined, "no country: no CivicAddress");
    assert.deepEqual(n.changes, ["kept only the chosen location, dropping tuple", "moved the location of the device into a tuple", "made retransmission-allowed explicit: absent -> false"]);
  });

  it("RFC 5491 §3: with no device, the first tuple that has a location (a status-only tuple is skipped)", async () => {
    const office = await example("office-floor-room.pidf.xml");
    const n = normalisePidf(office.replace('<tuple id="phone-ext-4321">', '<tuple id="im"><status><basic>open</basic></status></tuple><tuple id="phone-ext-4321">'), { now });
    assert.equal(await invalid(n.pidf), null);
    assert.deepEqual(tree(n.pidf), tree(office));
  });

  it("repairs every invalid vector into a valid PIDF-LO, saying what it changed", async () => {
    const said: Record<string, RegExp> = {
      "order.pidf.xml": /RFC 5139 order/,
      "unknown_ca.pidf.xml": /dropped STP/,
      "no_usage_rules.pidf.xml": /added usage-rules/,
      "lower_country.pidf.xml": /uppercased the country 'us'/,
      "bad_bool.pidf.xml": /'yes' -> true/,
      "no_entity.pidf.xml": /added the missing entity/,
      "bad_timestamp.pidf.xml": /replaced the timestamp '2026-01-15 15:04'/,
    };
    const files = await fs.readdir(path.join(schemas, "examples", "invalid"));
    assert.deepEqual(files.sort(), Object.keys(said).sort());
    for (const f of files) {
      const bad = await example(`invalid/${f}`);
      assert.notEqual(await invalid(bad), null, `${f} is invalid as given`);
      const n = normalisePidf(bad, { now });
      assert.equal(await invalid(n.pidf), null, f);
      assert.match(n.changes.join("; "), said[f], f);
    }
  });

  it("adds method, provided-by and a timestamp when missing; keeps the LIS's method; fills in retransmission-allowed", async () => {
    const office = await example("office-floor-room.pidf.xml");
    const bare = office
      .replace(/<gp:method>Wiremap<\/gp:method>/, "")
      .replace(/<gp:provided-by>[\s\S]*<\/gp:provided-by>/, "")
      .replace(/<timestamp>.*<\/timestamp>/, "")
      .replace(/<gbp:retransmission-allowed>true<\/gbp:retransmission-allowed>/, "");
    const n = normalisePidf(bare, { now, method: "Manual", providedBy: "https://lis.example.com/info" });
    assert.equal(await invalid(n.pidf), null);
    const t = tree(n.pidf);
    assert.equal(find(t, "method")!.text, "Manual");
    assert.equal(find(t, "EmergencyCallDataReference")!.attrs["{}ref"], "https://lis.example.com/info");
    assert.equal(find(t, "timestamp")!.text, "2026-03-01T09:30:00Z");
    assert.deepEqual(find(t, "usage-rules")!.kids.map((k) => `${local(k)}=${k.text}`), ["retransmission-allowed=false", "retention-expiry=2026-01-16T15:04:05Z"]);
    assert.equal(find(tree(normalisePidf(office, { now, method: "Manual" }).pidf), "method")!.text, "Wiremap");
  });

  it("refuses a document that is not PIDF or has no location, in plain words", () => {
    assert.throws(() => normalisePidf("<presence", { now }), /^Error: The location document is not XML/);
    assert.throws(() => normalisePidf(`<locationResponse xmlns="urn:ietf:params:xml:ns:geopriv:held"/>`, { now }), /is not PIDF: its root element is <locationResponse>/);
    assert.throws(() => normalisePidf(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:a@b"><tuple id="a"><status><basic>open</basic></status></tuple></presence>`, { now }), /holds no location: no geopriv/);
    const empty = `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:a@b"><tuple id="a"><status><geopriv xmlns="urn:ietf:params:xml:ns:pidf:geopriv10"><location-info/><usage-rules/></geopriv></status></tuple></presence>`;
    assert.throws(() => normalisePidf(empty, { now }), /its geopriv has no location-info/);
  });
});

describe("call-time extras on a PIDF-LO", () => {
  const built = buildPidfLo({ entity: "sip:1001@example.com", tupleId: "p1", civic: { country: "US", RD: "Lamar", HNO: "1100" }, method: "Manual", retransmissionAllowed: true, timestamp: new Date("2026-01-01T00:00:00Z") });

  it("sets the timestamp, and in Lync mode puts msftE911PidfExtn right after the geopriv, once", async () => {
    const plain = withCallExtras(built, { timestamp: new Date("2026-02-02T10:11:12.999Z") });
    assert.equal(await invalid(plain), null);
    assert.equal(find(tree(plain), "timestamp")!.text, "2026-02-02T10:11:12Z");
    assert.equal(find(tree(plain), "msftE911PidfExtn"), undefined);
    const lync = withCallExtras(withCallExtras(built, { timestamp: new Date(0), lync: { conferenceUri: "sip:desk@example.com" } }), { timestamp: new Date("2026-02-02T10:11:12Z"), lync: { policyTagId: "subnet-tagid-7", conferenceMode: "oneway" } });
    assert.equal(await invalid(lync), null);
    const status = find(tree(lync), "status")!;
    assert.deepEqual(status.kids.map(local), ["geopriv", "msftE911PidfExtn"]);
    assert.deepEqual(status.kids[1].kids.map((k) => `${k.name}=${k.text}`), ["{urn:schema:Rtc.LIS.msftE911PidfExtn.2008}ConferenceMode=oneway", "{urn:schema:Rtc.Lis.LocationPolicyTagID.2008}LocationPolicyTagID=subnet-tagid-7"]);
    assert.match(lync, /<presence [^>]*xmlns:ms="urn:schema:Rtc.LIS.msftE911PidfExtn.2008"/);
  });

  it("refuses a document without a located tuple", () => {
    assert.throws(() => withCallExtras(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:a@b"/>`, { timestamp: now }), /no tuple with a location/);
  });
});

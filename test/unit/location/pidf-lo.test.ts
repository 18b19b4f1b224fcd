// PIDF-LO as the phone builds it: every document validated by xmllint against pidf-lo-validate.xsd (the shared
// standards' driver schema, vendored in test/fixtures/location-schemas), civic elements in RFC 5139 order, text
// escaped, the tuple id an NCName; the screen's one-line address (test vector TV-1's wording).
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { buildPidfLo, civicLine, ncName, type LocationObject } from "../../../src/location/pidf-lo.js";
import { schemaComplaint } from "../../support/xml-schema.js";

const schemas = fileURLToPath(new URL("../../fixtures/location-schemas/", import.meta.url));

/** xmllint's verdict on a document against the PIDF-LO driver schema: null when it validates, else its complaint. */
const invalid = (xml: string): Promise<string | null> => schemaComplaint(xml);

/** TV-1's office: 1100 N Lamar BLVD, Tower 2, floor 3, suite 300, room 3-214. */
const office: LocationObject = {
  entity: "pres:1001@example.com",
  tupleId: "phone-ext-1001",
  civic: { country: "US", lang: "en-US", A1: "TX", A2: "Travis", A3: "Austin", PRD: "N", RD: "Lamar", STS: "BLVD", HNO: "1100", LOC: "East wing, next to elevator bank B", FLR: "3", NAM: "Example Corp", PC: "78703", BLD: "Tower 2", UNIT: "Suite 300", ROOM: "3-214", SEAT: "Desk 17", PLC: "office" },
  method: "Wiremap",
  providedBy: "https://lis.example.com/adr/providerinfo/lis-1",
  retransmissionAllowed: true,
  retentionExpiry: new Date("2026-01-16T15:04:05Z"),
  timestamp: new Date("2026-01-15T15:04:05.123Z"),
};

describe("PIDF-LO the phone emits", () => {
  it("the xmllint check itself refuses a document the schema does not allow (the test can fail)", async () => {
    const bad = await fs.readdir(path.join(schemas, "examples", "invalid"));
    assert.ok(bad.length > 0);
    for (const f of bad) assert.notEqual(await invalid(await fs.readFile(path.join(schemas, "examples", "invalid", f), "utf8")), null, f);
  });

  it("builds TV-1's office location: valid, the elements in schema order, and the screen's line", async () => {
    const xml = buildPidfLo(office);
    assert.equal(await invalid(xml), null);
    const order = [...xml.matchAll(/<ca:([A-Za-z0-9]+)>/g)].map((m) => m[1]);
    assert.deepEqual(order, ["country", "A1", "A2", "A3", "PRD", "RD", "STS", "HNO", "LOC", "FLR", "NAM", "PC", "BLD", "UNIT", "ROOM", "SEAT", "PLC"]);
    assert.match(xml, /<timestamp>2026-01-15T15:04:05Z<\/timestamp>/);
    assert.match(xml, /<gbp:retransmission-allowed>true</);
    assert.equal(civicLine(office.civic!), "1100 N Lamar BLVD, Tower 2, Fl 3, Suite 300, Rm 3-214");
  });

  it("stays valid with what a user may type (markup, quotes, ampersands, spaces) and with the fewest fields", async () => {
    const typed: LocationObject = { ...office, civic: { country: "us", RD: "  Main   <Street> & \"Co\" ", HNO: "1", ROOM: "R&D 'lab'" }, providedBy: undefined, retentionExpiry: undefined, method: "Manual", retransmissionAllowed: false };
    const xml = buildPidfLo(typed);
    assert.equal(await invalid(xml), null);
    assert.match(xml, /<ca:RD>Main &lt;Street&gt; &amp; &quot;Co&quot;<\/ca:RD>/);
    assert.match(xml, /<ca:country>US<\/ca:country>/);
    assert.equal(await invalid(buildPidfLo({ ...office, civic: { country: "DE" }, providedBy: undefined })), null);
  });

  it("makes the tuple id an NCName (a MAC or a number would not be), and a point alone or with a civic address validates", async () => {
    assert.equal(ncName("00:11:22:33:44:55"), "t-00-11-22-33-44-55");
    assert.equal(ncName("phone-1"), "phone-1");
    assert.equal(await invalid(buildPidfLo({ ...office, tupleId: "00:11:22:33:44:55" })), null);
    assert.equal(await invalid(buildPidfLo({ ...office, civic: undefined, point: { lat: 30.2672, lon: -97.7431 }, method: "GPS" })), null);
    const both = buildPidfLo({ ...office, point: { lat: 30.2672, lon: -97.7431 } });
    assert.equal(await invalid(both), null);
    assert.ok(both.indexOf("<gml:Point") < both.indexOf("<ca:civicAddress"), "coarse (the point) first, RFC 5491");
  });

  it("refuses what it cannot express validly, with the reason", () => {
    assert.throws(() => buildPidfLo({ ...office, civic: { country: "USA" } }), /country must be two letters/);
    assert.throws(() => buildPidfLo({ ...office, civic: undefined }), /needs a civic address or a point/);
    assert.throws(() => buildPidfLo({ ...office, civic: undefined, point: { lat: 100, lon: 0 } }), /out of range/);
  });
});

// HELD messages (RFC 5985, RFC 6155): the phone's locationRequest against the standards' example and held-validate.xsd
// (xmllint), MAC/IP forms, and the reading of LIS answers: a location (presence as a document of its own, URIs, the
// echoed device), errors (badIdentifier's requiredIdentifiers), unknown XML ignored, bad documents refused in words.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { DOMParser, type Element } from "@xmldom/xmldom";
import { buildLocationRequest, LLDP_ID_NS, normaliseMac, parseHeldResponse } from "../../../src/location/held.js";
import { schemaComplaint, type LocationSchema } from "../../support/xml-schema.js";

const schemas = fileURLToPath(new URL("../../fixtures/location-schemas/", import.meta.url));
const example = (f: string): Promise<string> => fs.readFile(path.join(schemas, "examples", f), "utf8");

/** xmllint's verdict against a driver schema: null when the document validates, else its complaint. */
const invalid = (xml: string, schema: LocationSchema = "held-validate.xsd"): Promise<string | null> => schemaComplaint(xml, schema);

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
const squash = (s: string): string => s.replace(/>\s+</g, "><").replace(/\s+/g, " ").trim();

describe("HELD locationRequest (RFC 5985 §6, RFC 6155)", () => {
  it("is the standards' example, text and all (whitespace aside), and validates against held-validate.xsd", async () => {
    const xml = buildLocationRequest({ responseTime: "emergencyRouting", device: { ip: "192.0.2.5", mac: "a0:12:34:56:78:90" } });
    const want = await example("held-request-device-id.xml");
    assert.equal(squash(xml).replace(/encoding="UTF-8"/, ""), squash(want).replace(/encoding="UTF-8"/, ""));
    assert.deepEqual(tree(xml), tree(want));
    assert.equal(await invalid(xml), null);
  });

  it("the xmllint check refuses a request the schema does not allow (the test can fail)", async () => {
    const bad = (await example("held-request-device-id.xml")).replace("A0-12-34-56-78-90", "A0:12:34:56:78:90");
    assert.match((await invalid(bad)) ?? "", /mac/);
  });

  it("writes any MAC form as XX-XX-XX-XX-XX-XX uppercase (EUI-64 too) and refuses what is not one", () => {
    for (const m of ["a0:12:34:56:78:90", "A0-12-34-56-78-90", "a012.3456.7890", "a01234567890", " A0 12 34 56 78 90 "]) assert.equal(normaliseMac(m), "A0-12-34-56-78-90", m);
    assert.equal(normaliseMac("00:11:22:ff:fe:33:44:55"), "00-11-22-FF-FE-33-44-55");
    assert.throws(() => normaliseMac("a0:12:34:56:78"), /'a0:12:34:56:78' is not a MAC address/);
    assert.throws(() => normaliseMac("g0:12:34:56:78:90"), /not a MAC address/);
  });

  it("marks IPv6 as v=\"6\" (zone dropped) and refuses a non-address", async () => {
    const xml = buildLocationRequest({ responseTime: 0, device: { ip: "2001:db8::1:ea7:fee1:d1e%eth0" } });
    assert.match(xml, /<ip v="6">2001:db8::1:ea7:fee1:d1e<\/ip>/);
    assert.equal(await invalid(xml), null);
    assert.throws(() => buildLocationRequest({ responseTime: 0, device: { ip: "192.0.2.300" } }), /'192.0.2.300' is not an IP address/);
  });

  it("takes a millisecond responseTime, other types, exact, no device, and other RFC 6155 identifiers, all valid", async () => {
    const xml = buildLocationRequest({ responseTime: 8000, types: ["locationURI", "civic", "civic"], exact: true, device: { ip: "192.0.2.5", tcpport: 5061, fqdn: "phone7.example.com", duid: "000100011C39CF88080027FE8F95", imei: "490154203237518" } });
    assert.match(xml, /responseTime="8000"/);
    assert.match(xml, /<locationType exact="true">locationURI civic<\/locationType>/);
    assert.match(xml, /<tcpport>5061<\/tcpport>/);
    assert.equal(await invalid(xml), null);
    const bare = buildLocationRequest({ responseTime: "emergencyDispatch" });
    assert.doesNotMatch(bare, /device/);
    assert.equal(await invalid(bare), null);
  });

  it("carries the LLDP switch port in its extension namespace inside <device>, valid against held-validate.xsd", async () => {
    const xml = buildLocationRequest({ responseTime: "emergencyRouting", device: { ip: "192.0.2.5", mac: "a0:12:34:56:78:90", lldp: { chassis: "00:1f:9e:00:03:00", port: " Gi1/0/7 & <x>" } } });
    assert.equal(await invalid(xml), null, xml);
    const device = tree(xml).kids.find((k) => k.name.endsWith("}device"))!;
    assert.deepEqual(
      device.kids.map((k) => [k.name, k.text]),
      [
        ["{urn:ietf:params:xml:ns:geopriv:held:id}ip", "192.0.2.5"],
        ["{urn:ietf:params:xml:ns:geopriv:held:id}mac", "A0-12-34-56-78-90"],
        [`{${LLDP_ID_NS}}chassis`, "00:1f:9e:00:03:00"],
        [`{${LLDP_ID_NS}}port`, "Gi1/0/7 & <x>"],
      ],
    );
    assert.equal(LLDP_ID_NS, "urn:x-deskphone:held:lldp");
    assert.doesNotMatch(buildLocationRequest({ responseTime: 0, device: { ip: "192.0.2.5" } }), /lldp/, "no extension namespace without a port");
    assert.throws(() => buildLocationRequest({ responseTime: 0, device: { lldp: { chassis: "", port: "1" } } }), /not an LLDP chassis id that can be sent/);
    assert.throws(() => buildLocationRequest({ responseTime: 0, device: { lldp: { chassis: "sw1", port: "a\u0001b" } } }), /not an LLDP port id/);
  });

  it("refuses what it cannot write validly, with the reason", () => {
    assert.throws(() => buildLocationRequest({ responseTime: -1 }), /whole number of milliseconds/);
    assert.throws(() => buildLocationRequest({ responseTime: 1.5 }), /whole number of milliseconds/);
    assert.throws(() => buildLocationRequest({ responseTime: 0, types: [] }), /at least one location type/);
    assert.throws(() => buildLocationRequest({ responseTime: 0, device: { udpport: 70000 } }), /'70000' is not a valid RFC 6155 udpport/);
    assert.throws(() => buildLocationRequest({ responseTime: 0, device: { min: "123" } }), /valid RFC 6155 min/);
  });
});

describe("HELD answers (RFC 5985 §6.3-6.6, RFC 6155 §4, §7.3)", () => {
  it("reads RFC 5985 §10.3: the presence as its own valid PIDF-LO document, the same content, and the URIs", async () => {
    const xml = await example("rfc5985-10.3-response.xml");
    const a = parseHeldResponse(xml);
    assert.equal(a.kind, "location");
    if (a.kind !== "location") return;
    assert.deepEqual(a.locationUris, ["https://ls.example.com:9768/357yc6s64ceyoiuy5ax3o", "sip:9769+357yc6s64ceyoiuy5ax3o@ls.example.com:"]);
    assert.equal(a.urisExpire, "2006-01-01T13:00:00.0Z");
    assert.equal(a.usedIds, undefined);
    assert.equal(await invalid(a.presence!, "pidf-lo-validate.xsd"), null);
    assert.deepEqual(tree(a.presence!), tree(xml).kids[1]);
  });

  it("declares in the presence the namespaces the answer declared further up (prefixed HELD document)", async () => {
    const office = (await example("office-floor-room.pidf.xml")).replace(/^<\?xml[^>]*>\s*/, "");
    const moved = office
      .replace(/<presence xmlns="urn:ietf:params:xml:ns:pidf"[^>]*>/, '<p:presence entity="pres:alice@example.com">')
      .replace(/<(\/?)(tuple|status|timestamp)\b/g, "<$1p:$2")
      .replace("</presence>", "</p:presence>");
    const xml = `<h:locationResponse xmlns:h="urn:ietf:params:xml:ns:geopriv:held" xmlns:p="urn:ietf:params:xml:ns:pidf" xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" xmlns:gbp="urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy" xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr">${moved}</h:locationResponse>`;
    const a = parseHeldResponse(xml);
    assert.ok(a.kind === "location" && a.presence);
    assert.equal(await invalid(a.presence, "pidf-lo-validate.xsd"), null);
    assert.deepEqual(tree(a.presence), tree(office));
  });

  it("ignores unknown XML (RFC 5985 §5.1) and reports the identifiers the LIS echoes as used (RFC 6155 §4)", async () => {
    const office = (await example("office-floor-room.pidf.xml")).replace(/^<\?xml[^>]*>\s*/, "");
    const xml = `<locationResponse xmlns="urn:ietf:params:xml:ns:geopriv:held" x:odd="1" xmlns:x="urn:example:x">
      <x:hint><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:decoy@example.com"/></x:hint>
      <device xmlns="urn:ietf:params:xml:ns:geopriv:held:id"><mac>A0-12-34-56-78-90</mac><ip v="4">192.0.2.5</ip></device>
      ${office}<x:trailer>ignored</x:trailer></locationResponse>`;
    const a = parseHeldResponse(xml);
    assert.ok(a.kind === "location");
    assert.deepEqual(a.usedIds, ["mac", "ip"]);
    assert.deepEqual(tree(a.presence!), tree(office));
  });

  it("reads errors: badIdentifier's requiredIdentifiers (plain or prefixed QNames), locationUnknown's message", async () => {
    assert.deepEqual(parseHeldResponse(await example("held-error-badIdentifier.xml")), { kind: "error", code: "badIdentifier", message: "MAC address required", requiredIdentifiers: ["mac", "ip"] });
    const prefixed = `<error xmlns="urn:ietf:params:xml:ns:geopriv:held" code="badIdentifier"><id:requiredIdentifiers xmlns:id="urn:ietf:params:xml:ns:geopriv:held:id">id:mac
      id:ip</id:requiredIdentifiers></error>`;
    assert.deepEqual(parseHeldResponse(prefixed), { kind: "error", code: "badIdentifier", requiredIdentifiers: ["mac", "ip"] });
    const unknown = `<error xmlns="urn:ietf:params:xml:ns:geopriv:held" code="locationUnknown"><message xml:lang="en">Unable to determine location</message></error>`;
    assert.deepEqual(parseHeldResponse(unknown), { kind: "error", code: "locationUnknown", message: "Unable to determine location" });
    assert.deepEqual(parseHeldResponse(`<error xmlns="urn:ietf:params:xml:ns:geopriv:held" code="notLocatable"/>`), { kind: "error", code: "notLocatable" });
  });

  it("reads an error code it does not know as generalLisError, keeping the code in the message", () => {
    const a = parseHeldResponse(`<error xmlns="urn:ietf:params:xml:ns:geopriv:held" code="quotaExceeded"><message>slow down</message></error>`);
    assert.deepEqual(a, { kind: "error", code: "generalLisError", message: 'LIS error code "quotaExceeded": slow down' });
  });

  it("refuses what is not a usable HELD answer, in plain words", () => {
    assert.throws(() => parseHeldResponse("Service Unavailable"), /^Error: HELD answer is not XML: /);
    assert.throws(() => parseHeldResponse(`<locationResponse xmlns="urn:ietf:params:xml:ns:geopriv:held"><presence>`), /^Error: HELD answer is not XML: /);
    assert.throws(() => parseHeldResponse("<html><body>Login</body></html>"), /HELD answer is not a locationResponse or error: it is <html>/);
    assert.throws(() => parseHeldResponse(`<locationRequest xmlns="urn:ietf:params:xml:ns:geopriv:held"/>`), /it is a HELD locationRequest/);
    assert.throws(() => parseHeldResponse(`<locationResponse xmlns="urn:example:other"/>`), /not a locationResponse or error: it is <locationResponse> in urn:example:other/);
    assert.throws(() => parseHeldResponse(`<locationResponse xmlns="urn:ietf:params:xml:ns:geopriv:held"><x xmlns="urn:x"/></locationResponse>`), /HELD answer has no presence or locationUriSet/);
    assert.throws(() => parseHeldResponse(`<error xmlns="urn:ietf:params:xml:ns:geopriv:held"/>`), /error without a code/);
  });
});

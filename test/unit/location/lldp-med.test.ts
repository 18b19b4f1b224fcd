// LLDP / LLDP-MED decoding and DHCP option 99: test vectors TV-17 (civic LCI, A6 -> RD) and TV-18 (ELIN) of the
// shared standards, the chassis/port ids a LIS is sent, truncated and garbled TLVs (an LldpError in plain words, or a
// problem noted and the rest kept), the CAtype table, language/script, RFC 3825 coordinates, and a mutation run: no
// byte soup makes the decoder throw anything else, and every civic address it returns makes a schema-valid PIDF-LO.
import assert from "node:assert/strict";
import { LldpError, parseDhcpCivic, parseLldpdu, parseLldpFrame, parseCoordinateLci, type LldpInfo } from "../../../src/location/lldp-med.js";
import { buildPidfLo, type CivicAddress } from "../../../src/location/pidf-lo.js";
import { schemaComplaint } from "../../support/xml-schema.js";


/** xmllint's verdict against pidf-lo-validate.xsd: null when valid, else its complaint. */
const invalid = (xml: string): Promise<string | null> => schemaComplaint(xml);

const pidfOf = (civic: CivicAddress): string => buildPidfLo({ entity: "sip:1001@example.com", tupleId: "loc-lldp-med", civic, method: "Manual", retransmissionAllowed: true, timestamp: new Date("2026-01-15T10:00:00Z") });

/** One LLDP TLV: 7-bit type, 9-bit length. */
function tlv(type: number, value: Buffer | number[] | string): Buffer {
  const v = Buffer.isBuffer(value) ? value : typeof value === "string" ? Buffer.from(value, "latin1") : Buffer.from(value);
  return Buffer.concat([Buffer.from([(type << 1) | (v.length >> 8), v.length & 0xff]), v]);
}
const med = (subtype: number, data: Buffer | number[]): Buffer => tlv(127, Buffer.concat([Buffer.from([0x00, 0x12, 0xbb, subtype]), Buffer.from(data)]));
const location = (format: number, data: Buffer | number[]): Buffer => med(3, Buffer.concat([Buffer.from([format]), Buffer.from(data)]));
/** A civic LCI: LCI-length, what, country, then [CAtype, value] pairs. */
function lci(what: number, country: string, elements: Array<[number, string | Buffer]>): Buffer {
  const body = Buffer.concat([Buffer.from([what]), Buffer.from(country, "latin1"), ...elements.map(([t, v]) => { const b = Buffer.isBuffer(v) ? v : Buffer.from(v, "utf8"); return Buffer.concat([Buffer.from([t, b.length]), b]); })]);
  return Buffer.concat([Buffer.from([body.length]), body]);
}

const switchMac = [0x00, 0x1b, 0x54, 0xaa, 0xbb, 0xcc];
const chassis = tlv(1, [4, ...switchMac]);
const port = tlv(2, Buffer.concat([Buffer.from([5]), Buffer.from("Gi1/0/17")]));
const ttl = tlv(3, [0, 120]);
const end = tlv(0, []);
const pdu = (...tlvs: Buffer[]): Buffer => Buffer.concat([chassis, port, ttl, ...tlvs, end]);

/** TV-17's LCI, byte for byte as the standards digest gives it (lldpd's test bytes). */
const TV17_LCI = Buffer.from([0x15, 0x02, 0x46, 0x52, 0x06, 0x0d, ...Buffer.from("Commercial Rd"), 0x13, 0x01, ...Buffer.from("4")]);

describe("LLDP-MED decoding", () => {
  it("TV-17: the civic LCI gives FR / RD Commercial Rd / HNO 4 (A6 moved to RD), and a valid PIDF-LO", async () => {
    const info = parseLldpdu(pdu(location(2, TV17_LCI)));
    assert.deepEqual(info.med?.civic, { what: 2, civic: { country: "FR", RD: "Commercial Rd", HNO: "4" }, problems: [] });
    assert.deepEqual(info.problems, []);
    const xml = pidfOf(info.med!.civic!.civic);
    assert.match(xml, /<ca:country>FR<\/ca:country><ca:RD>Commercial Rd<\/ca:RD><ca:HNO>4<\/ca:HNO>/);
    assert.equal(await invalid(xml), null);
  });

  it("TV-18: data format 3 gives the ELIN; civic and ELIN TLVs together give both", () => {
    assert.equal(parseLldpdu(pdu(location(3, [...Buffer.from("5125550123")]))).med?.elin, "5125550123");
    const both = parseLldpdu(pdu(location(2, TV17_LCI), location(3, [...Buffer.from("5125550123")])));
    assert.equal(both.med?.elin, "5125550123");
    assert.equal(both.med?.civic?.civic.RD, "Commercial Rd");
  });

  it("keeps the chassis and port ids raw (subtype first, as a LIS is sent them) and printable, and the TTL", () => {
    const info: LldpInfo = parseLldpdu(pdu(tlv(4, "GigabitEthernet1/0/17"), tlv(5, "sw-3rd-floor")));
    assert.deepEqual([...info.chassisId.raw], [4, ...switchMac]);
    assert.equal(info.chassisId.subtype, 4);
    assert.equal(info.chassisId.text, "00:1b:54:aa:bb:cc");
    assert.equal(info.portId.raw.toString("latin1"), "\x05Gi1/0/17");
    assert.equal(info.portId.text, "Gi1/0/17");
    assert.equal(info.ttl, 120);
    assert.equal(info.systemName, "sw-3rd-floor");
    assert.equal(info.portDescription, "GigabitEthernet1/0/17");
    assert.equal(info.med, undefined);
    const ipChassis = parseLldpdu(Buffer.concat([tlv(1, [5, 1, 10, 0, 0, 1]), tlv(2, [3, ...switchMac]), ttl]));
    assert.equal(ipChassis.chassisId.text, "10.0.0.1");
    assert.equal(ipChassis.portId.text, "00:1b:54:aa:bb:cc");
    assert.deepEqual(ipChassis.problems, ["LLDPDU: no End TLV"]);
    assert.equal(parseLldpdu(Buffer.concat([tlv(1, [7, 0x00, 0xff]), port, ttl, end])).chassisId.text, "00:ff");
  });

  it("refuses broken framing with an LldpError saying where", () => {
    const whole = pdu(location(2, TV17_LCI));
    assert.throws(() => parseLldpdu(whole.subarray(0, whole.length - 12)), (e: Error) => e instanceof LldpError && /TLV type 127 at offset \d+ claims \d+ octets but only \d+ remain/.test(e.message));
    assert.throws(() => parseLldpdu(whole.subarray(0, 1)), /TLV header at offset 0 is cut off/);
    assert.throws(() => parseLldpdu(Buffer.concat([port, chassis, ttl, end])), /TLV 1 is type 2; Chassis ID, Port ID and TTL must come first/);
    assert.throws(() => parseLldpdu(Buffer.concat([chassis, port, end])), /TLV 3 is type 0/);
    assert.throws(() => parseLldpdu(Buffer.alloc(0)), /without the Chassis ID, Port ID and TTL/);
    assert.throws(() => parseLldpdu(Buffer.concat([tlv(1, [4]), port, ttl, end])), /Chassis ID TLV of 1 octets/);
    assert.throws(() => parseLldpdu(Buffer.concat([chassis, port, tlv(3, [0]), end])), /TTL TLV of 1 octets/);
  });

  it("a garbled location TLV is noted and skipped; the ids and the other TLVs stay", () => {
    const cut = Buffer.from(TV17_LCI.subarray(0, 10)); // LCI length says 21, 9 follow
    const a = parseLldpdu(pdu(location(2, cut), location(3, [...Buffer.from("5125550123")])));
    assert.equal(a.med?.civic, undefined);
    assert.equal(a.med?.elin, "5125550123");
    assert.equal(a.chassisId.text, "00:1b:54:aa:bb:cc");
    assert.match(a.problems.join(), /civic LCI: LCI length says 21 octets but only 9 follow/);
    const overrun = lci(2, "US", [[19, "1100"]]);
    overrun[overrun.length - 5] = 9; // HNO claims 9 octets, 4 are there
    assert.match(parseLldpdu(pdu(location(2, overrun))).problems.join(), /CA element type 19 at offset 3 claims 9 octets but only 4 remain/);
    assert.match(parseLldpdu(pdu(location(3, [...Buffer.from("911")]))).problems.join(), /ECS ELIN '911' is not 10-25 digits/);
    assert.match(parseLldpdu(pdu(location(2, lci(2, "U1", [[19, "1"]])))).problems.join(), /country code 'U1' is not two letters/);
    assert.match(parseLldpdu(pdu(location(9, [1, 2]))).problems.join(), /unknown data format 9/);
    assert.match(parseLldpdu(pdu(location(1, [1, 2, 3]))).problems.join(), /coordinate LCI: 3 octets, 16 expected/);
    assert.match(parseLldpdu(pdu(med(1, [0, 0x3f]))).problems.join(), /capabilities TLV of 6 octets/);
  });

  it("maps every CAtype of the table, language and script to xml:lang, keeps A6 when RD is there, skips unknown types", async () => {
    const all: Array<[number, string]> = [[0, "en-US"], [128, "Latn"], [1, "TX"], [2, "Travis"], [3, "Austin"], [4, "Downtown"], [5, "Block 7"], [6, "Group 2"], [16, "N"], [17, "SW"], [18, "BLVD"], [19, "1100"], [20, "A"], [21, "Old Mill"], [22, "East wing"], [23, "Example Corp"], [24, "78703"], [25, "Tower 2"], [26, "Suite 300"], [27, "3"], [28, "3-214"], [29, "office"], [30, "Austin"], [31, "U40"], [32, "13203000003"], [33, "Desk 17"], [34, "Lamar"], [35, "14"], [36, "Lane 7"], [37, "Alley 8"], [38, "Old"], [39, "Extended"], [7, "what is 7"], [40, "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr:ext MP 248"]];
    const r = parseDhcpCivic(lci(2, "us", all).subarray(1));
    assert.deepEqual(r.civic, { country: "US", lang: "en-Latn-US", A1: "TX", A2: "Travis", A3: "Austin", A4: "Downtown", A5: "Block 7", A6: "Group 2", PRD: "N", POD: "SW", STS: "BLVD", HNO: "1100", HNS: "A", LMK: "Old Mill", LOC: "East wing", NAM: "Example Corp", PC: "78703", BLD: "Tower 2", UNIT: "Suite 300", FLR: "3", ROOM: "3-214", PLC: "office", PCN: "Austin", POBOX: "U40", ADDCODE: "13203000003", SEAT: "Desk 17", RD: "Lamar", RDSEC: "14", RDBR: "Lane 7", RDSUBBR: "Alley 8", PRM: "Old", POM: "Extended" });
    assert.deepEqual(r.problems, ["DHCP option 99: unknown CAtype 7; left out", "DHCP option 99: an RFC 6848 extension element (CAtype 40) is not kept"]);
    assert.equal(await invalid(pidfOf(r.civic)), null);
    assert.equal(parseDhcpCivic(lci(2, "JP", [[128, "Jpan"]]).subarray(1)).civic.lang, "und-Jpan");
  });

  it("cleans text a switch may send (control characters, bad UTF-8, markup) and drops a bad language; the PIDF-LO validates", async () => {
    const r = parseDhcpCivic(lci(2, "DE", [[0, "de DE!"], [6, Buffer.from([0x48, 0x61, 0x75, 0x70, 0x74, 0x00, 0x73, 0x74, 0x72, 0xff, 0x0b])], [19, "  12 "], [22, "<b>&'\""], [28, "\u0007"], [19, "13"]]).subarray(1));
    assert.deepEqual(r.civic, { country: "DE", RD: "Haupt str\ufffd", HNO: "12", LOC: "<b>&'\"" });
    assert.deepEqual(r.problems, ["DHCP option 99: a second HNO (CAtype 19); the first is kept", "the language 'de DE!' is not a language tag; left out"]);
    assert.equal(await invalid(pidfOf(r.civic)), null);
  });

  it("DHCP option 99: the value or the whole option; truncation and a bad country are LldpErrors", () => {
    const value = TV17_LCI.subarray(1);
    const expect = { what: 2, civic: { country: "FR", RD: "Commercial Rd", HNO: "4" }, problems: [] };
    assert.deepEqual(parseDhcpCivic(value), expect);
    assert.deepEqual(parseDhcpCivic(Buffer.concat([Buffer.from([99, value.length]), value])), expect);
    assert.deepEqual(parseDhcpCivic(new Uint8Array(Buffer.concat([Buffer.from([99, value.length]), value, Buffer.from([255])]))), expect);
    assert.throws(() => parseDhcpCivic(Buffer.concat([Buffer.from([99, 40]), value])), /DHCP option 99 claims 40 octets but only 21 follow/);
    assert.throws(() => parseDhcpCivic(value.subarray(0, value.length - 1)), (e: Error) => e instanceof LldpError && /CA element type 19 at offset 18 claims 1 octets but only 0 remain/.test(e.message));
    assert.throws(() => parseDhcpCivic(Buffer.from([2, 0x46])), /2 octets, too short for 'what' and the country code/);
    assert.throws(() => parseDhcpCivic(Buffer.from([2, 0x31, 0x32])), /country code '12' is not two letters/);
    assert.deepEqual(parseDhcpCivic(Buffer.from([5, 0x46, 0x52])).problems, ["DHCP option 99: 'what' is 5 (0, 1 or 2 expected)"]);
  });

  it("RFC 3825 coordinates: latitude, longitude, altitude and datum", () => {
    /** Encodes the fields MSB first, as RFC 3825 §2.1 lays them out. */
    const enc = (lat: number, lon: number, alt: number, at: number, datum: number): Buffer => {
      const fx = (v: number, total: number, frac: number): bigint => BigInt.asUintN(total, BigInt(Math.round(v * 2 ** frac)));
      const fields: Array<[bigint, number]> = [[34n, 6], [fx(lat, 34, 25), 34], [34n, 6], [fx(lon, 34, 25), 34], [BigInt(at), 4], [30n, 6], [fx(alt, 30, 8), 30], [BigInt(datum), 8]];
      let n = 0n;
      for (const [v, w] of fields) n = (n << BigInt(w)) | v;
      return Buffer.from(n.toString(16).padStart(32, "0"), "hex");
    };
    const c = parseCoordinateLci(enc(48.85667, -2.2014, 117.5, 1, 1));
    assert.ok(Math.abs(c.lat - 48.85667) < 1e-6 && Math.abs(c.lon + 2.2014) < 1e-6);
    assert.deepEqual([c.latResolution, c.lonResolution, c.altitude, c.datum], [34, 34, { value: 117.5, unit: "metres" }, "WGS84"]);
    const s = parseCoordinateLci(enc(-33.8568, 151.2153, -2, 2, 2));
    assert.ok(Math.abs(s.lat + 33.8568) < 1e-6 && Math.abs(s.lon - 151.2153) < 1e-6);
    assert.deepEqual([s.altitude, s.datum], [{ value: -2, unit: "floors" }, "NAD83/NAVD88"]);
    assert.equal(parseCoordinateLci(enc(0, 0, 0, 0, 9)).altitude, undefined);
    assert.equal(parseLldpdu(pdu(location(1, enc(1, 2, 0, 0, 1)))).med?.coordinate?.lat, 1);
  });

  it("Ethernet frames: LLDP (tagged or not) is decoded with its source MAC, anything else is null, a runt is an error", () => {
    const dst = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e];
    const frame = Buffer.concat([Buffer.from([...dst, ...switchMac, 0x88, 0xcc]), pdu(location(2, TV17_LCI))]);
    assert.equal(parseLldpFrame(frame)?.sourceMac, "00:1b:54:aa:bb:cc");
    const tagged = Buffer.concat([Buffer.from([...dst, ...switchMac, 0x81, 0x00, 0x00, 0x64, 0x88, 0xcc]), pdu()]);
    assert.equal(parseLldpFrame(tagged)?.chassisId.text, "00:1b:54:aa:bb:cc");
    assert.equal(parseLldpFrame(Buffer.concat([Buffer.from([...dst, ...switchMac, 0x08, 0x00]), Buffer.alloc(40)])), null);
    assert.throws(() => parseLldpFrame(Buffer.alloc(10)), /Ethernet frame of 10 octets/);
  });

  it("byte soup: 2000 mutations of a TV-17 LLDPDU only ever give LldpErrors or decodings whose civic address validates", async function () {
    this.timeout(60000);
    const base = pdu(location(2, TV17_LCI), location(3, [...Buffer.from("5125550123")]), location(2, lci(2, "US", [[0, "en"], [34, "Main"], [19, "1"], [28, "2"]])));
    let seed = 42; // mulberry32: a fixed seed, so a failure repeats
    const rnd = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) % n);
    };
    const civics = new Map<string, CivicAddress>();
    let errors = 0;
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(base);
      for (let k = 0, m = 1 + rnd(4); k < m; k++) b[rnd(b.length)] = rnd(256);
      const cut = rnd(4) === 0 ? b.subarray(0, rnd(b.length)) : b;
      try {
        const info = parseLldpdu(cut);
        const c = info.med?.civic?.civic;
        if (c) civics.set(JSON.stringify(c), c);
        if (info.med?.elin) assert.match(info.med.elin, /^[0-9]{10,25}$/);
      } catch (e) {
        assert.ok(e instanceof LldpError, String(e));
        errors++;
      }
    }
    assert.ok(errors > 100 && civics.size > 20, `${errors} errors, ${civics.size} civic addresses`);
    const docs = [...civics.values()].slice(0, 60).map(pidfOf);
    const bad = (await Promise.all(docs.map(invalid))).filter((x) => x !== null);
    assert.deepEqual(bad, []);
  });
});

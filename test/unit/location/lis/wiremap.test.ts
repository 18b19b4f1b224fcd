// The reference LIS's wiremap: the example file loads, lookups follow the documented order (mac, chassis + port,
// chassis, longest subnet, default) with MAC and IP spellings normalised, and every bad field is named by its JSON
// path in plain words, all of them at once.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { isPhoneError } from "../../../../src/base/errors.js";
import { loadWiremap, lookupLocation, normaliseMac, parseIp, parseWiremap, type Wiremap } from "../../../../src/location/lis/wiremap.js";

const example = fileURLToPath(new URL("../../../../src/location/lis/wiremap.example.json", import.meta.url));
const civic = (extra: Record<string, string> = {}): Record<string, string> => ({ country: "US", A3: "Austin", RD: "Lamar", HNO: "1100", ...extra });

/** The map's problems as one message (the error names every bad field; `all`: every one, past the message's ten). */
function problems(data: unknown, all = false): string {
  try {
    parseWiremap(data, "wiremap.json");
  } catch (e) {
    assert.ok(isPhoneError(e, "PHONE_ERR_CONFIG_INVALID"), String(e));
    return all ? (e.details.problems as string[]).join("; ") : e.message;
  }
  assert.fail("the wiremap was accepted");
}

describe("LIS wiremap", () => {
  it("loads the example file, with its requireMac, entries and default", async () => {
    const map = await loadWiremap(example);
    assert.equal(map.requireMac, false);
    assert.equal(map.entries.length, 5);
    assert.ok(map.default?.civic);
    assert.equal(map.entries[3].subnet?.prefix, 24);
    assert.equal(map.entries[4].notLocatable, true);
  });

  it("normalises MAC spellings and parses IPv4, IPv6 and IPv4-mapped addresses", () => {
    for (const m of ["00:11:22:33:44:55", "00-11-22-33-44-55", "001122334455", "0011.2233.4455", " 00:11:22:33:44:55 "]) assert.equal(normaliseMac(m), "00-11-22-33-44-55", m);
    assert.equal(normaliseMac("a0-12-34-56-78-90-ab-cd"), "A0-12-34-56-78-90-AB-CD");
    for (const m of ["00:11:22:33:44", "00-11-22-33-44-5G", "0:1:2:3:4:5", "", "00:11-22:33:44:55:66:77:88:99"]) assert.equal(normaliseMac(m), null, m);
    assert.deepEqual(parseIp("10.1.3.77"), { v: 4, n: 0x0a01034dn });
    assert.deepEqual(parseIp("::ffff:10.1.3.77"), { v: 4, n: 0x0a01034dn });
    assert.deepEqual(parseIp("2001:db8::1"), { v: 6, n: (0x20010db8n << 96n) | 1n });
    assert.deepEqual(parseIp("fe80::1%eth0"), { v: 6, n: (0xfe80n << 112n) | 1n });
    assert.equal(parseIp("10.1.3"), null);
    assert.equal(parseIp("phone.example.com"), null);
  });

  describe("lookup order", () => {
    let map: Wiremap;
    before(() => {
      map = parseWiremap({
        entries: [
          { name: "desk", mac: "00:11:22:33:44:55", civic: civic({ SEAT: "desk" }) },
          { chassis: "00-1F-9E-00-03-00", port: "Gi1/0/7", civic: civic({ ROOM: "3-214" }) },
          { chassis: "00-1F-9E-00-03-00", civic: civic({ FLR: "3" }) },
          { subnet: "10.1.0.0/16", civic: civic({ LOC: "campus" }) },
          { subnet: "10.1.3.0/24", civic: civic({ FLR: "3", LOC: "voice VLAN" }) },
          { subnet: "2001:db8:3::/48", civic: civic({ LOC: "v6" }) },
          { subnet: "10.66.0.0/16", notLocatable: true },
        ],
        default: { civic: civic({ LOC: "building" }), method: "Default" },
      });
    });
    const where = (ids: Parameters<typeof lookupLocation>[1]): string => {
      const m = lookupLocation(map, ids);
      return m ? `${m.by} ${m.entry.where}` : "none";
    };

    it("takes the MAC first, in any spelling, over a port or a subnet the phone is also in", () => {
      assert.equal(where({ mac: "00-11-22-33-44-55", chassis: "00-1f-9e-00-03-00", port: "Gi1/0/7", ip: "10.1.3.5" }), "mac entries[0]");
      assert.equal(where({ mac: "0011.2233.4455" }), "mac entries[0]");
    });

    it("then the switch port (chassis + port, case-insensitive), then the chassis alone", () => {
      assert.equal(where({ mac: "00-00-00-00-00-01", chassis: "00:1f:9e:00:03:00", port: "gi1/0/7", ip: "10.1.3.5" }), "port entries[1]");
      assert.equal(where({ chassis: "00-1F-9E-00-03-00", port: "Gi1/0/8", ip: "10.1.3.5" }), "chassis entries[2]");
      assert.equal(where({ chassis: "00-1F-9E-00-03-00" }), "chassis entries[2]");
      assert.equal(where({ chassis: "switch-9", port: "Gi1/0/7", ip: "10.1.3.5" }), "subnet entries[4]");
    });

    it("then the longest subnet holding the ip (v4, v6, v4-mapped), then the default", () => {
      assert.equal(where({ ip: "10.1.3.5" }), "subnet entries[4]");
      assert.equal(where({ ip: "::ffff:10.1.3.5" }), "subnet entries[4]");
      assert.equal(where({ ip: "10.1.4.5" }), "subnet entries[3]");
      assert.equal(where({ ip: "2001:db8:3:1::77" }), "subnet entries[5]");
      assert.equal(where({ ip: "10.66.9.9" }), "subnet entries[6]");
      assert.equal(where({ ip: "192.0.2.1" }), "default default");
      assert.equal(where({}), "default default");
      assert.equal(lookupLocation({ ...map, default: null }, { ip: "192.0.2.1" }), null);
      assert.equal(lookupLocation(map, { ip: "10.1.3.5" })?.entry.method, "Wiremap");
      assert.equal(lookupLocation(map, {})?.entry.method, "Default");
    });
  });

  describe("errors name the field by its JSON path", () => {
    it("a country that is not two letters", () => {
      const msg = problems({ entries: [{ mac: "00-11-22-33-44-55", civic: civic() }, { subnet: "10.0.0.0/8", civic: civic() }, { chassis: "sw1", civic: civic() }, { mac: "00-11-22-33-44-66", civic: civic({ country: "USA" }) }] });
      assert.match(msg, /^wiremap\.json: entries\[3\]\.civic\.country must be two letters/);
    });

    it("every bad field at once, each with what to write instead", () => {
      const data = {
        requireMac: "yes",
        entry: [],
        entries: [
          { mac: "00-11-22-33-44", civic: civic() },
          { subnet: "10.1.3.5/24", civic: civic() },
          { subnet: "10.1.3.0/33", civic: civic() },
          { civic: civic() },
          { mac: "00-11-22-33-44-55", subnet: "10.0.0.0/8", civic: civic() },
          { port: "Gi1/0/7", civic: civic() },
          { mac: "00-11-22-33-44-77" },
          { mac: "00-11-22-33-44-78", civic: { country: "US", Floor: "3", flr: "3", HNO: 12, RD: "" } },
          { mac: "00-11-22-33-44-79", civic: { A3: "Austin", lang: "en US" } },
          { subnet: "10.66.0.0/16", notLocatable: true, civic: civic() },
          { mac: "00-11-22-33-44-80", civic: civic(), method: "GPS-ish" },
        ],
      };
      const msg = problems(data, true);
      for (const want of [
        /requireMac must be true or false/,
        /entry is not a wiremap field/,
        /entries\[0\]\.mac must be a MAC address like 00-11-22-33-44-55, not "00-11-22-33-44"/,
        /entries\[1\]\.subnet has host bits set \(the subnet of 10\.1\.3\.5\/24 starts at 10\.1\.3\.0\)/,
        /entries\[2\]\.subnet has prefix length \/33, beyond the address's 32 bits/,
        /entries\[3\] needs one of mac, chassis \(with or without port\) or subnet/,
        /entries\[4\] has mac and subnet: give one/,
        /entries\[5\]\.port needs the switch's chassis too/,
        /entries\[6\]\.civic is missing/,
        /entries\[7\]\.civic\.Floor is not an RFC 5139 element \(did you mean FLR\?\)/,
        /entries\[7\]\.civic\.flr is not an RFC 5139 element \(did you mean FLR\?\)/,
        /entries\[7\]\.civic\.HNO must be a string \(put the number in quotes: "12"\)/,
        /entries\[7\]\.civic\.RD is empty/,
        /entries\[8\]\.civic\.country is missing/,
        /entries\[8\]\.civic\.lang must be a language tag/,
        /entries\[9\] is notLocatable: it takes no civic or method/,
        /entries\[10\]\.method must be one of Wiremap, Manual/,
      ])
        assert.match(msg, want);
      assert.doesNotMatch(msg, /entries\[5\] needs one of/, "a port alone is told it needs its chassis, once");
      // the message itself lists ten and says how many more there are
      assert.match(problems(data), /; and \d+ more$/);
    });

    it("duplicates, a default with match keys, and a file that is not a wiremap", () => {
      assert.match(problems({ entries: [{ mac: "00:11:22:33:44:55", civic: civic() }, { mac: "001122334455", civic: civic() }] }), /entries\[1\] has the same mac 00-11-22-33-44-55 as entries\[0\]/);
      assert.match(problems({ entries: [{ subnet: "10.1.0.0/16", civic: civic() }, { subnet: "10.1.0.0/16", notLocatable: true }] }), /entries\[1\] has the same subnet as entries\[0\] \(10\.1\.0\.0\/16\)/);
      assert.match(problems({ entries: [{ chassis: "SW1", port: "Gi1", civic: civic() }, { chassis: "sw1", port: "gi1", civic: civic() }] }), /entries\[1\] has the same chassis sw1 port gi1 as entries\[0\]/);
      assert.match(problems({ entries: [], default: { subnet: "0.0.0.0/0", civic: civic() } }), /default matches every phone: it takes no mac, chassis, port or subnet/);
      assert.match(problems({ entries: [], default: { civic: civic({ country: "U5" }) } }), /default\.civic\.country must be two letters/);
      assert.match(problems([]), /wiremap\.json: must be a JSON object with "entries", not a list/);
      assert.match(problems({}), /entries is missing/);
      assert.match(problems({ entries: [42] }), /entries\[0\] must be an object, not number 42/);
    });

    it("a file that cannot be read or is not JSON", async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "wiremap-"));
      try {
        const file = path.join(dir, "wiremap.json");
        await assert.rejects(loadWiremap(file), (e: Error) => e.message === `${file}: cannot read the wiremap (ENOENT)`);
        await fs.writeFile(file, '{ "entries": [ }');
        await assert.rejects(loadWiremap(file), (e: Error) => e.message.startsWith(`${file}: not JSON (`));
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });
  });
});

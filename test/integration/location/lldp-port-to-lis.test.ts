// The switch port from LLDP to the LIS, end to end: an LLDP frame (chassis MAC 00:1f:9e:00:03:00, port "Gi1/0/7", no
// LLDP-MED location) replayed through the real tcpdump (`tcpdump -r FILE -w -`) into the LLDP listener, the location
// service, the real HELD client over HTTPS, and the reference LIS, whose wiremap places that switch port in room 3-214
// and the phone's subnet only on its floor. The LIS is asked first without the port (the switch has not spoken), then
// again with it, and must match the wiremap by port; both requests travel on one kept-alive TLS connection.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { createSystemClock } from "../../../src/base/clock.js";
import { silentLogger } from "../../../src/base/log.js";
import { HeldClient } from "../../../src/location/held-client.js";
import { LldpListener } from "../../../src/location/lldp-listener.js";
import { LocationService } from "../../../src/location/location-service.js";
import { startLisServer, type LisServer } from "../../../src/location/lis/lis-server.js";
import { schemaComplaint } from "../../support/xml-schema.js";
import { until as poll } from "../../support/poll.js";

const run = promisify(execFile);
const clock = createSystemClock();

const SWITCH = [0x00, 0x1f, 0x9e, 0x00, 0x03, 0x00];
const tlv = (type: number, v: number[]): Buffer => Buffer.concat([Buffer.from([(type << 1) | (v.length >> 8), v.length & 0xff]), Buffer.from(v)]);
/** An LLDP frame from the switch: chassis id subtype 4 (MAC), port id subtype 5 (interface name), TTL 120. */
const frame = Buffer.concat([
  Buffer.from([0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e, ...SWITCH, 0x88, 0xcc]),
  tlv(1, [4, ...SWITCH]),
  tlv(2, [5, ...Buffer.from("Gi1/0/7")]),
  tlv(3, [0, 120]),
  tlv(0, []),
]);
/** A little-endian microsecond pcap file holding `frames`. */
function pcap(frames: Buffer[]): Buffer {
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  const u16 = (v: number): Buffer => Buffer.from([v & 255, v >> 8]);
  const head = Buffer.concat([u32(0xa1b2c3d4), u16(2), u16(4), u32(0), u32(0), u32(1600), u32(1)]);
  return Buffer.concat([head, ...frames.flatMap((f, i) => [u32(1768000000 + i), u32(0), u32(f.length), u32(f.length), f])]);
}

const civic = (extra: Record<string, string>): Record<string, string> => ({ country: "US", A1: "TX", A3: "Austin", RD: "Lamar", STS: "BLVD", HNO: "1100", BLD: "Tower 2", ...extra });

/** Polls until `cond` holds; fails after `ms`. */
const until = (cond: () => boolean, what: string, ms = 15000): Promise<void> => poll(what, cond, ms, 10);

describe("LLDP switch port -> HELD -> reference LIS wiremap (end to end)", function () {
  this.timeout(60000);
  let dir: string;
  let lis: LisServer;
  let caPem: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "lldp-lis-"));
    const [cert, key] = [path.join(dir, "cert.pem"), path.join(dir, "key.pem")];
    await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]);
    caPem = await fs.readFile(cert, "utf8");
    const wiremap = path.join(dir, "wiremap.json");
    await fs.writeFile(
      wiremap,
      JSON.stringify({
        entries: [
          { chassis: "00-1F-9E-00-03-00", port: "Gi1/0/7", civic: civic({ FLR: "3", ROOM: "3-214" }) },
          { chassis: "00-1F-9E-00-03-00", civic: civic({ FLR: "3", LOC: "Floor 3 switch" }) },
          { subnet: "127.0.0.0/8", civic: civic({ LOC: "Voice VLAN" }) },
        ],
      }),
    );
    lis = await startLisServer({ wiremapFile: wiremap, port: 0, host: "127.0.0.1", tls: { certPem: caPem, keyPem: await fs.readFile(key, "utf8") } });
  });
  after(async () => {
    await lis?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("the LIS places the phone by the chassis and port LLDP gave (room 3-214), not by its subnet", async () => {
    const file = path.join(dir, "switch.pcap");
    await fs.writeFile(file, pcap([frame]));
    const listener = new LldpListener({ iface: "file", clock, restart: false, command: { cmd: "tcpdump", args: ["-r", file, "-w", "-"] } });
    const held = new HeldClient({ clock, log: silentLogger() });
    const svc = new LocationService({
      clock,
      storePath: path.join(dir, "location.json"),
      locator: held,
      lisTarget: { url: `${lis.url}/held`, caPem, timeoutMs: 3000 },
      deviceIds: () => ({ ip: "127.0.0.1", mac: "02:00:00:00:00:99" }),
      entity: "sip:1001@example.com",
      policy: { refreshIntervalH: 4 },
      lldp: listener,
    });
    try {
      await svc.start();
      await until(() => svc.current()?.source === "lis", "the first LIS answer");
      assert.equal(svc.current()?.civic?.LOC, "Voice VLAN", "before the switch speaks: by subnet");
      assert.equal(lis.requests[0].by, "subnet");
      await listener.start();
      await until(() => svc.current()?.civic?.ROOM === "3-214", "the LIS answer by switch port");
      const last = lis.requests[lis.requests.length - 1];
      assert.equal(last.by, "port");
      assert.equal(last.entry, "entries[0]");
      assert.deepEqual(last.ids, { ip: "127.0.0.1", mac: "02-00-00-00-00-99", chassis: "00:1f:9e:00:03:00", port: "Gi1/0/7" });
      const cur = svc.current()!;
      assert.equal(cur.source, "lis");
      assert.match(cur.pidf, /<ca:ROOM>3-214<\/ca:ROOM>/);
      assert.equal(await schemaComplaint(cur.pidf), null);
      assert.equal(lis.requests.length, 2);
      assert.deepEqual(lis.connections(), { tcp: 1, tls: 1 }, "both requests on one kept-alive connection");
    } finally {
      await listener.stop();
      await svc.stop();
    }
  });
});

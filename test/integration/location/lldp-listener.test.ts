// The LLDP listener on a real link: a veth pair, the real lldpd daemon on one end as the "switch" (LLDP-MED class 4,
// a civic location, an ELIN and a coordinate configured with lldpcli), the listener (real tcpdump) on the other end.
// It must report what lldpd sent, follow a change, survive tcpdump being killed (restart with backoff), stop cleanly,
// and feed the location service a PIDF-LO that xmllint validates. Also pcap files: `tcpdump -r FILE -w -` (the
// injectable command), a big-endian nanosecond file through `cat`, a garbled stream, TTL expiry, and the clear errors
// for a missing interface or a missing tcpdump. Needs root (ip link, raw capture), lldpd, tcpdump and xmllint.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { createSystemClock, ManualClock } from "../../../src/base/clock.js";
import { LldpListener, type LldpUpdate } from "../../../src/location/lldp-listener.js";
import { LocationService } from "../../../src/location/location-service.js";
import { schemaComplaint } from "../../support/xml-schema.js";

const run = promisify(execFile);
const clock = createSystemClock();

/** xmllint's verdict against pidf-lo-validate.xsd: null when valid, else its complaint. */
const invalid = (xml: string, _dir: string): Promise<string | null> => schemaComplaint(xml);

/** Resolves with the first update `ok` accepts, or rejects after `ms`. */
function nextUpdate(l: LldpListener, ok: (u: LldpUpdate | null) => boolean, ms = 15000): Promise<LldpUpdate | null> {
  return new Promise((resolve, reject) => {
    const t = clock.setTimeout(() => {
      off();
      reject(new Error(`no matching LLDP update within ${ms} ms (latest: ${JSON.stringify(l.latest()?.civic)})`));
    }, ms);
    const off = l.onUpdate((u) => {
      if (!ok(u)) return;
      t.cancel();
      off();
      resolve(u);
    });
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A pcap file: global header and records, in the byte order asked, micro- or nanosecond magic. */
function pcap(frames: Buffer[], le: boolean, nano = false): Buffer {
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    if (le) b.writeUInt32LE(v);
    else b.writeUInt32BE(v);
    return b;
  };
  const u16 = (v: number): Buffer => {
    const b = Buffer.alloc(2);
    if (le) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    return b;
  };
  const head = Buffer.concat([u32(nano ? 0xa1b23c4d : 0xa1b2c3d4), u16(2), u16(4), u32(0), u32(0), u32(1600), u32(1)]);
  return Buffer.concat([head, ...frames.flatMap((f, i) => [u32(1768000000 + i), u32(0), u32(f.length), u32(f.length), f])]);
}

const tlv = (type: number, v: Buffer | number[]): Buffer => {
  const b = Buffer.from(v);
  return Buffer.concat([Buffer.from([(type << 1) | (b.length >> 8), b.length & 0xff]), b]);
};
const SWITCH = [0x00, 0x1b, 0x54, 0xaa, 0xbb, 0xcc];
/** An LLDP frame from SWITCH carrying TV-17's civic LCI and TV-18's ELIN, with the TTL given. */
function tv17Frame(ttl: number): Buffer {
  const lci = [0x15, 0x02, 0x46, 0x52, 0x06, 0x0d, ...Buffer.from("Commercial Rd"), 0x13, 0x01, ...Buffer.from("4")];
  return Buffer.concat([
    Buffer.from([0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e, ...SWITCH, 0x88, 0xcc]),
    tlv(1, [4, ...SWITCH]),
    tlv(2, [5, ...Buffer.from("Gi1/0/17")]),
    tlv(3, [ttl >> 8, ttl & 255]),
    tlv(127, [0x00, 0x12, 0xbb, 0x03, 0x02, ...lci]),
    tlv(127, [0x00, 0x12, 0xbb, 0x03, 0x03, ...Buffer.from("5125550123")]),
    tlv(0, []),
  ]);
}

describe("LLDP listener (tcpdump, pcap stream)", function () {
  this.timeout(60000);
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "lldp-it-"));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it("replays a pcap file through `tcpdump -r FILE -w -`: TV-17 civic, TV-18 ELIN, ids; the TTL expires on its clock", async () => {
    const file = path.join(dir, "tv17.pcap");
    const garbled = tv17Frame(120).subarray(0, 30); // cut inside the Port ID TLV
    await fs.writeFile(file, pcap([tv17Frame(120), garbled], true));
    const manual = new ManualClock();
    const l = new LldpListener({ iface: "file", clock: manual, restart: false, command: { cmd: "tcpdump", args: ["-r", file, "-w", "-"] } });
    const problem = new Promise<string>((r) => l.onProblem(r));
    const first = nextUpdate(l, (u) => !!u);
    await l.start();
    const u = (await first)!;
    assert.deepEqual(u.civic, { country: "FR", RD: "Commercial Rd", HNO: "4" });
    assert.equal(u.what, 2);
    assert.equal(u.elin, "5125550123");
    assert.equal(u.chassisId.text, "00:1b:54:aa:bb:cc");
    assert.deepEqual([...u.chassisId.raw], [4, ...SWITCH]);
    assert.equal(u.portId.text, "Gi1/0/17");
    assert.equal(u.ttl, 120);
    assert.equal(u.receivedAt, manual.wallNow());
    assert.match(await problem, /LLDP frame on file: LLDPDU: TLV type 2 at offset 9 claims 9 octets but only \d+ remain; ignored/);
    const gone: Array<LldpUpdate | null> = [];
    l.onUpdate((x) => gone.push(x));
    manual.advance(119_999);
    assert.deepEqual(gone, []);
    manual.advance(1);
    assert.deepEqual(gone, [null], "the neighbour's information expires after its TTL");
    assert.equal(l.latest(), null);
    await l.stop();
  });

  it("reads a big-endian, nanosecond pcap stream (through `cat`), and says so when the stream is not pcap", async () => {
    const file = path.join(dir, "be.pcap");
    await fs.writeFile(file, pcap([tv17Frame(60)], false, true));
    const l = new LldpListener({ iface: "file", clock, restart: false, command: { cmd: "cat", args: [file] } });
    const first = nextUpdate(l, (u) => !!u);
    await l.start();
    assert.equal((await first)?.elin, "5125550123");
    await l.stop();
    const junk = path.join(dir, "junk.pcap");
    await fs.writeFile(junk, Buffer.from("this is not a capture at all, just text\n"));
    const j = new LldpListener({ iface: "file", clock, restart: false, command: { cmd: "cat", args: [junk] } });
    const problem = new Promise<string>((r) => j.onProblem(r));
    await j.start();
    assert.match(await problem, /the capture does not start with a pcap header \(magic 0x73696874\)/);
    await j.stop();
  });

  it("a clear error when the interface does not exist or tcpdump is missing", async () => {
    const l = new LldpListener({ iface: "nosuch-if0", clock });
    await assert.rejects(l.start(), /network interface 'nosuch-if0' does not exist/);
    await l.stop();
    const m = new LldpListener({ iface: "lo", clock, command: { cmd: path.join(dir, "no-tcpdump-here"), args: [] } });
    await assert.rejects(m.start(), /no-tcpdump-here is not installed \(could not run/);
    await m.stop();
  });

  describe("on a veth pair with lldpd as the switch", () => {
    const tag = `${process.pid % 100000}`;
    const phoneIf = `dlp${tag}`;
    const switchIf = `dls${tag}`;
    let sock: string;
    let lldpd: ChildProcess | null = null;
    let lldpdLog = "";
    let listener: LldpListener;
    const lldpcli = (...args: string[]): Promise<unknown> => run("lldpcli", ["-u", sock, ...args]);

    before(async function () {
      if (process.getuid?.() !== 0) this.skip(); // creating links and capturing need root (the suite runs as root)
      await fs.chmod(dir, 0o755); // lldpcli reaches lldpd's socket only through a directory others may enter
      sock = path.join(dir, "lldpd.sock");
      await run("ip", ["link", "add", phoneIf, "type", "veth", "peer", "name", switchIf]);
      await run("ip", ["link", "set", phoneIf, "up"]);
      await run("ip", ["link", "set", switchIf, "up"]);
      // -dd: foreground, log to stderr; -L "": no lldpcli run over the system's /etc/lldpd.d; -M 4: LLDP-MED as a switch.
      lldpd = spawn("timeout", ["-k", "5", "300", "lldpd", "-dd", "-I", switchIf, "-u", sock, "-p", path.join(dir, "lldpd.pid"), "-M", "4", "-L", ""], { stdio: ["ignore", "ignore", "pipe"] });
      lldpd.stderr!.on("data", (c: Buffer) => (lldpdLog = (lldpdLog + c.toString()).slice(-4000)));
      for (let i = 0; ; i++) {
        try {
          await lldpcli("show", "configuration");
          break;
        } catch (e) {
          if (i > 100) throw new Error(`lldpd did not come up: ${(e as Error).message}\n${lldpdLog}`);
          await clock.sleep(100);
        }
      }
      await lldpcli("configure", "lldp", "tx-interval", "1");
      await lldpcli("configure", "ports", switchIf, "med", "location", "address", "country", "FR", "street", "Commercial Rd", "number", "4");
      await lldpcli("configure", "ports", switchIf, "med", "location", "elin", "5125550123");
      await lldpcli("configure", "ports", switchIf, "med", "location", "coordinate", "latitude", "48.85667N", "longitude", "2.2014E", "altitude", "117.47", "m", "datum", "WGS84");
    });

    after(async () => {
      await listener?.stop();
      if (lldpd?.pid && lldpd.exitCode === null) {
        const closed = new Promise((r) => lldpd!.once("close", r));
        lldpd.kill("SIGTERM");
        await closed;
      }
      await run("ip", ["link", "del", phoneIf]).catch(() => undefined);
    });

    it("reports the civic address, ELIN, coordinate and ids lldpd sends; the service turns them into a valid PIDF-LO", async () => {
      listener = new LldpListener({ iface: phoneIf, clock, backoff: { minMs: 500, maxMs: 2000 } });
      const problems: string[] = [];
      listener.onProblem((m) => problems.push(m));
      const svc = new LocationService({ clock, storePath: path.join(dir, "loc.json"), locator: { locate: () => new Promise(() => undefined), linkChanged: () => undefined }, lisTarget: null, deviceIds: () => ({}), entity: "sip:1001@example.com", policy: { refreshIntervalH: 4 }, lldp: listener });
      await svc.start();
      const got = nextUpdate(listener, (u) => !!u?.civic && !!u.elin && !!u.coordinate);
      await listener.start();
      const u = (await got)!;
      const switchMac = (await fs.readFile(`/sys/class/net/${switchIf}/address`, "utf8")).trim();
      assert.deepEqual(u.civic, { country: "FR", RD: "Commercial Rd", HNO: "4" });
      assert.equal(u.what, 2);
      assert.equal(u.elin, "5125550123");
      assert.equal(u.chassisId.text, switchMac);
      assert.equal(u.sourceMac, switchMac);
      assert.equal(u.iface, phoneIf);
      assert.ok(u.coordinate && Math.abs(u.coordinate.lat - 48.85667) < 1e-4 && Math.abs(u.coordinate.lon - 2.2014) < 1e-4, JSON.stringify(u.coordinate));
      assert.equal(u.coordinate.datum, "WGS84");
      assert.equal(u.coordinate.altitude?.unit, "metres");
      assert.ok(Math.abs((u.coordinate.altitude?.value ?? 0) - 117.47) < 0.01);
      const cur = svc.current()!;
      assert.equal(cur.source, "lldp-med");
      assert.equal(cur.elin, "5125550123");
      assert.match(cur.pidf, /<ca:country>FR<\/ca:country><ca:RD>Commercial Rd<\/ca:RD><ca:HNO>4<\/ca:HNO>/);
      assert.equal(await invalid(cur.pidf, dir), null);
      assert.deepEqual(problems, []);
      await svc.stop();
    });

    it("follows a change of the switch's location", async () => {
      const changed = nextUpdate(listener, (u) => u?.civic?.ROOM === "3-214");
      await lldpcli("configure", "ports", switchIf, "med", "location", "address", "country", "US", "city", "Austin", "street", "Lamar", "number", "1100", "building", "Tower 2", "floor", "3", "room", "3-214");
      const u = (await changed)!;
      assert.deepEqual(u.civic, { country: "US", A3: "Austin", RD: "Lamar", HNO: "1100", BLD: "Tower 2", FLR: "3", ROOM: "3-214" });
    });

    it("restarts tcpdump with backoff when it dies, and stop() ends it", async () => {
      const pid = listener.capturePid();
      assert.ok(pid && alive(pid));
      const problem = new Promise<string>((r) => listener.onProblem(r));
      process.kill(pid, "SIGKILL");
      assert.match(await problem, new RegExp(`LLDP capture on ${phoneIf}: tcpdump ended \\(killed by SIGKILL\\)`));
      const again = await nextUpdate(listener, (x) => !!x);
      assert.ok(again?.civic);
      const pid2 = listener.capturePid();
      assert.ok(pid2 && pid2 !== pid && alive(pid2));
      await listener.stop();
      assert.equal(listener.capturePid(), null);
      assert.equal(alive(pid2), false);
    });
  });
});

// DHCP option 99 (GEOCONF_CIVIC, RFC 4776) from the lease files of the system's DHCP client to the location service's
// "dhcp" source: dhclient (unknown-99 in hex, or the name dhclient.conf defines), dhcpcd's raw lease (the DHCPACK as
// received) and its key=value dump (with our binhex define; dhcpcd's own definition keeps only `what` and the country),
// NetworkManager's internal client (never keeps it). Only the newest lease counts, only for the phone's own address,
// and only the phone's own location (`what` 2). The PIDF-LO built from it (method DHCP) is checked by xmllint.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { ManualClock } from "../../../src/base/clock.js";
import { LocationService, type DhcpCivicLease, type LocationServiceDeps } from "../../../src/location/location-service.js";
import type { KnownLocation } from "../../../src/location/location-types.js";
import type { LldpSource, LldpUpdate } from "../../../src/location/lldp-listener.js";
import type { NetworkChange, NetworkSource, NetworkState } from "../../../src/location/network-watch.js";
import { parseDhcpCivic } from "../../../src/location/lldp-med.js";
import { DHCP_OPTION, readLeaseFile } from "../../../src/provisioning/dhcp-leases.js";
import { leaseGeoconfCivic } from "../../../src/provisioning/discovery.js";
import { schemaComplaint } from "../../support/xml-schema.js";

const FIX = fileURLToPath(new URL("./fixtures/dhcp-99/", import.meta.url));
const fx = (f: string): string => path.join(FIX, f);
const ROOM = { lang: "en-US", country: "US", A1: "TX", A3: "Austin", PRD: "N", RD: "Lamar", STS: "BLVD", HNO: "1100", BLD: "Tower 2", FLR: "3", ROOM: "3-214", PC: "78703" };
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

class FakeNetwork implements NetworkSource {
  s: NetworkState = { iface: "eth0", linkUp: true, ipv4: "192.0.2.11", mac: "00:04:f2:00:00:01", gateway: "192.0.2.1", gatewayMac: "02:fc:00:00:00:0a" };
  private ls = new Set<(now: NetworkState, c: NetworkChange[], before: NetworkState | null) => void>();
  state(): NetworkState {
    return this.s;
  }
  onChange(l: (now: NetworkState, c: NetworkChange[], before: NetworkState | null) => void): () => void {
    this.ls.add(l);
    return () => this.ls.delete(l);
  }
  set(patch: Partial<NetworkState>, changes: NetworkChange[]): void {
    const before = this.s;
    this.s = { ...this.s, ...patch };
    for (const l of this.ls) l(this.s, changes, before);
  }
}

/** The raw dhcpcd lease from its hex fixture, as the binary file dhcpcd writes. */
async function dhcpcdRaw(dir: string): Promise<string> {
  const hex = (await fs.readFile(fx("dhcpcd-eth0.lease.hex"), "utf8")).replace(/^#.*$/gm, "").replace(/\s+/g, "");
  const file = path.join(dir, "eth0.lease");
  await fs.writeFile(file, Buffer.from(hex, "hex"));
  return file;
}

describe("DHCP option 99 (RFC 4776) from the lease files", () => {
  let dir: string;
  beforeEach(async () => (dir = await fs.mkdtemp(path.join(os.tmpdir(), "dhcp99-"))));
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  describe("reading the leases (src/provisioning)", () => {
    it("dhclient: unknown-99 in hex, from the newest lease block, with the lease's fixed-address", async () => {
      const l = (await readLeaseFile(fx("dhclient.eth0.leases")))!;
      assert.equal(l.address, "192.0.2.11");
      const civic = parseDhcpCivic(l.options[DHCP_OPTION.GEOCONF_CIVIC]);
      assert.equal(civic.what, 2);
      assert.deepEqual(civic.civic, ROOM);
      assert.deepEqual(civic.problems, []);
    });

    it("dhclient: under the name dhclient.conf defines (geoconf-civic)", async () => {
      const r = await leaseGeoconfCivic({ leaseFiles: [fx("dhclient-named.eth0.leases")] });
      assert.deepEqual(parseDhcpCivic(r.option!).civic, ROOM);
      assert.equal(r.address, "192.0.2.11");
      assert.equal(r.where, `dhclient lease ${fx("dhclient-named.eth0.leases")}`);
    });

    it("dhcpcd: the raw lease (the DHCPACK) with yiaddr as the address; the dump with our binhex define", async () => {
      const raw = await leaseGeoconfCivic({ leaseFiles: [await dhcpcdRaw(dir)] });
      assert.deepEqual(parseDhcpCivic(raw.option!).civic, ROOM);
      assert.equal(raw.address, "192.0.2.20");
      assert.match(raw.where ?? "", /^dhcpcd lease /);
      const env = await leaseGeoconfCivic({ leaseFiles: [fx("dhcpcd-eth0.lease.env")] });
      assert.deepEqual(parseDhcpCivic(env.option!).civic, ROOM);
      assert.equal(env.address, "192.0.2.21");
    });

    it("dhcpcd's own definition (what and country only) and NetworkManager's internal client: no option 99", async () => {
      const builtin = await leaseGeoconfCivic({ leaseFiles: [fx("dhcpcd-builtin.lease.env")] });
      assert.equal(builtin.option, null);
      assert.equal(builtin.address, "192.0.2.21");
      const nm = await leaseGeoconfCivic({ leaseDirs: [fx("nm")] });
      assert.equal(nm.option, null);
      assert.equal(nm.address, "192.0.2.30");
    });

    it("only the newest lease counts: an older one with option 99 does not lend it to a newer one without", async () => {
      const older = path.join(dir, "dhclient.eth0.leases");
      const newer = path.join(dir, "dhclient.eth1.leases");
      await fs.copyFile(fx("dhclient.eth0.leases"), older);
      await fs.copyFile(fx("dhclient-no99.eth0.leases"), newer);
      await fs.utimes(older, new Date(1_700_000_000_000), new Date(1_700_000_000_000));
      const r = await leaseGeoconfCivic({ leaseDirs: [dir] });
      assert.equal(r.option, null);
      assert.equal(r.address, "198.51.100.7");
      assert.equal(r.where, `dhclient lease ${newer}`);
      await fs.utimes(newer, new Date(1_600_000_000_000), new Date(1_600_000_000_000));
      assert.notEqual((await leaseGeoconfCivic({ leaseDirs: [dir] })).option, null, "the other way round it does");
      const none = await leaseGeoconfCivic({ leaseFiles: [path.join(dir, "missing.leases")] });
      assert.equal(none.option, null);
      assert.equal(none.where, undefined);
    });
  });

  describe("the location service's DHCP source", () => {
    let clock: ManualClock;
    let network: FakeNetwork;
    const services: LocationService[] = [];
    const pidfs: string[] = [];

    function service(dhcpCivic: () => Promise<DhcpCivicLease>, over: Partial<LocationServiceDeps> = {}): LocationService {
      const svc = new LocationService({
        clock,
        storePath: path.join(dir, `location-${services.length}.json`),
        locator: { locate: () => new Promise(() => undefined), linkChanged: () => undefined },
        lisTarget: null,
        deviceIds: () => ({}),
        entity: "sip:1001@example.com",
        policy: { refreshIntervalH: 4 },
        network,
        dhcpCivic,
        ...over,
      });
      svc.onChange((now) => now && pidfs.push(now.pidf));
      services.push(svc);
      return svc;
    }
    /** Waits until the service's current location satisfies `ok` (the DHCP read is file I/O, not on the clock). */
    async function until(svc: LocationService, ok: (l: KnownLocation | null) => boolean, what: string): Promise<void> {
      for (let i = 0; i < 500 && !ok(svc.current()); i++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(ok(svc.current()), `timed out waiting for ${what}; current: ${JSON.stringify(svc.current()?.text ?? null)}`);
    }

    beforeEach(() => {
      clock = new ManualClock();
      network = new FakeNetwork();
    });
    afterEach(async () => {
      for (const s of services.splice(0)) await s.stop();
    });
    after(async function () {
      this.timeout(60000);
      assert.ok(pidfs.length > 0);
      for (const p of new Set(pidfs)) assert.equal(await schemaComplaint(p), null, p);
    });

    it("a dhclient lease's option 99 becomes the current location: source dhcp, method DHCP, the address on one line", async () => {
      const svc = service(() => leaseGeoconfCivic({ leaseFiles: [fx("dhclient.eth0.leases")] }));
      await svc.start();
      await until(svc, (l) => l?.source === "dhcp", "the DHCP location");
      const cur = svc.current()!;
      assert.deepEqual(cur.civic, ROOM);
      assert.equal(cur.text, "1100 N Lamar BLVD, Tower 2, Fl 3, Rm 3-214");
      assert.match(cur.pidf, /<gp:method>DHCP<\/gp:method>/);
      assert.match(cur.pidf, /<ca:ROOM>3-214<\/ca:ROOM>/);
      assert.equal(await schemaComplaint(cur.pidf), null);
    });

    it("ranks below LLDP-MED and above the provisioned address", async () => {
      let emit: (u: LldpUpdate | null) => void = () => undefined;
      const lldp: LldpSource = { onUpdate: (l) => ((emit = l), () => undefined), latest: () => null };
      const raw = await dhcpcdRaw(dir);
      const svc = service(() => leaseGeoconfCivic({ leaseFiles: [raw] }), { provisioned: { country: "US", RD: "Congress", HNO: "1" }, lldp });
      network.s = { ...network.s, ipv4: "192.0.2.20" };
      await svc.start();
      await until(svc, (l) => l?.source === "dhcp", "the DHCP location over the provisioned one");
      const id = { subtype: 4, raw: Buffer.from([4, 0, 0x1b, 0x54, 0xaa, 0xbb, 0xcc]), text: "00:1b:54:aa:bb:cc" };
      emit({ iface: "eth0", chassisId: id, portId: id, ttl: 120, sourceMac: id.text, civic: { country: "FR", RD: "Commercial Rd", HNO: "4" }, what: 2, receivedAt: clock.wallNow() });
      assert.equal(svc.current()?.source, "lldp-med");
      emit(null);
      assert.equal(svc.current()?.source, "dhcp");
    });

    it("not used: a lease for another address, option 99 of the DHCP server (what 0), a garbled option 99", async () => {
      network.s = { ...network.s, ipv4: "192.0.2.99" };
      const other = service(() => leaseGeoconfCivic({ leaseFiles: [fx("dhclient.eth0.leases")] }), { provisioned: { country: "US", RD: "Congress", HNO: "1" } });
      await other.start();
      await other.refresh();
      assert.equal(other.current()?.source, "provisioned", "the lease is for 192.0.2.11, the phone has 192.0.2.99");
      network.s = { ...network.s, ipv4: "192.0.2.11" };
      for (const f of ["dhclient-what0.eth0.leases", "dhclient-bad99.eth0.leases"]) {
        const svc = service(() => leaseGeoconfCivic({ leaseFiles: [fx(f)] }), { provisioned: { country: "US", RD: "Congress", HNO: "1" } });
        await svc.start();
        await svc.refresh();
        assert.equal(svc.current()?.source, "provisioned", f);
      }
      const near = service(() => leaseGeoconfCivic({ leaseFiles: [fx("dhclient-what0.eth0.leases")] }), { dhcpProximityKnown: true });
      await near.start();
      await until(near, (l) => l?.source === "dhcp", "what 0 accepted when the site says it is close");
      assert.equal(near.current()?.civic?.RD, "Congress");
      const failing = service(() => Promise.reject(new Error("EIO")));
      await failing.start();
      await failing.refresh(); // a read that fails is logged, never thrown
      assert.equal(failing.current(), null);
    });

    it("after a network change it reads again, and once more when the DHCP client has had time to write the new lease", async () => {
      const current = path.join(dir, "dhclient.eth0.leases");
      await fs.copyFile(fx("dhclient.eth0.leases"), current);
      let reads = 0;
      const svc = service(() => (reads++, leaseGeoconfCivic({ leaseFiles: [current] })), { dhcpSettleMs: 3000 });
      await svc.start();
      await until(svc, (l) => l?.source === "dhcp", "the DHCP location");
      // moved to another network: the address changes first, the client writes its lease a moment later
      network.set({ ipv4: "198.51.100.7", gateway: "198.51.100.1", gatewayMac: "02:fc:00:00:00:0b" }, ["address", "gateway"]);
      await svc.refresh(); // the read the change started has run too by now
      assert.equal(svc.current(), null, "the old lease (192.0.2.11) is not taken for the new address");
      await fs.copyFile(fx("dhclient-no99.eth0.leases"), current);
      const before = reads;
      await clock.advanceAsync(3000, 100);
      await tick();
      assert.equal(reads, before + 1, "read once more after dhcpSettleMs");
      assert.equal(svc.current(), null, "the new network's lease has no option 99");
      // back on the first network
      await fs.copyFile(fx("dhclient.eth0.leases"), current);
      network.set({ ipv4: "192.0.2.11", gateway: "192.0.2.1", gatewayMac: "02:fc:00:00:00:0a" }, ["address", "gateway"]);
      await until(svc, (l) => l?.source === "dhcp" && l.civic?.ROOM === "3-214", "the DHCP location again");
    });
  });
});

// The location service on a ManualClock with a fake HELD client, a fake LLDP source and a fake network watch: source
// ranking (LIS > LLDP-MED > DHCP > provisioned > manual), the cache across a restart, forEmergency's 250 ms budget (slow
// LIS: the cached location at 250 ms, fast LIS: the fresh one; a late answer fires onChange), refresh on a network
// change (and linkChanged()) and every N hours, manual locations per gateway, TV-17/TV-18 end to end. Every PIDF-LO the
// service hands out is validated with xmllint at the end. Also the network watch it listens to, on files of the test's.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../../src/base/clock.js";
import { LocationService, type Locator, type LocationServiceDeps } from "../../../src/location/location-service.js";
import type { DeviceIds, HeldOutcome, KnownLocation, LisTarget } from "../../../src/location/location-types.js";
import type { LldpSource, LldpUpdate } from "../../../src/location/lldp-listener.js";
import { interfaceAddress, NetworkWatch, normaliseMac, readArpMac, readDefaultGateway, type NetworkChange, type NetworkSource, type NetworkState } from "../../../src/location/network-watch.js";
import { buildPidfLo, civicLine, type CivicAddress } from "../../../src/location/pidf-lo.js";
import { parseCivicLci } from "../../../src/location/lldp-med.js";
import { schemaComplaint } from "../../support/xml-schema.js";


/** xmllint's verdict against pidf-lo-validate.xsd: null when valid, else its complaint. */
const invalid = (xml: string): Promise<string | null> => schemaComplaint(xml);

const ENTITY = "sip:1001@example.com";
const LIS: LisTarget = { url: "https://lis.example.com/held", timeoutMs: 5000 };
const GW_A = "02:fc:00:00:00:0a";
const GW_B = "02:fc:00:00:00:0b";
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** What HeldClient would hand back: a LIS PIDF-LO (method Wiremap) for TV-1's office, room `room`. */
function lisAnswer(clock: ManualClock, room: string): HeldOutcome {
  const civic: CivicAddress = { country: "US", A1: "TX", A3: "Austin", PRD: "N", RD: "Lamar", STS: "BLVD", HNO: "1100", BLD: "Tower 2", FLR: "3", ROOM: room };
  const pidf = buildPidfLo({ entity: ENTITY, tupleId: "lis-1", civic, method: "Wiremap", providedBy: "https://lis.example.com/info", retransmissionAllowed: true, timestamp: new Date(clock.wallNow()) });
  return { ok: true, location: { source: "lis", pidf, civic, text: civicLine(civic), obtainedAt: clock.wallNow() } };
}

class FakeLocator implements Locator {
  calls: Array<{ ids: DeviceIds; emergency: boolean; at: number }> = [];
  linkChanges = 0;
  /** The answer to call n (1-based); by default the LIS never answers. */
  answer: (n: number) => Promise<HeldOutcome> = () => new Promise(() => undefined);
  constructor(private readonly clock: ManualClock) {}
  locate(_t: LisTarget, ids: DeviceIds, opts: { emergency: boolean }): Promise<HeldOutcome> {
    this.calls.push({ ids, emergency: opts.emergency, at: this.clock.now() });
    return this.answer(this.calls.length);
  }
  linkChanged(): void {
    this.linkChanges++;
  }
  /** An answer arriving `ms` later on the clock. */
  after(ms: number, outcome: () => HeldOutcome): Promise<HeldOutcome> {
    return new Promise((r) => this.clock.setTimeout(() => r(outcome()), ms));
  }
}

class FakeLldp implements LldpSource {
  last: LldpUpdate | null = null;
  private ls = new Set<(u: LldpUpdate | null) => void>();
  onUpdate(l: (u: LldpUpdate | null) => void): () => void {
    this.ls.add(l);
    return () => this.ls.delete(l);
  }
  latest(): LldpUpdate | null {
    return this.last;
  }
  emit(u: LldpUpdate | null): void {
    this.last = u;
    for (const l of this.ls) l(u);
  }
}

class FakeNetwork implements NetworkSource {
  s: NetworkState = { iface: "eth0", linkUp: true, ipv4: "192.0.2.10", mac: "00:04:f2:00:00:01", gateway: "192.0.2.1", gatewayMac: GW_A };
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

/** TV-17's LCI bytes, decoded as the listener does. */
const TV17 = parseCivicLci(Buffer.from([0x15, 0x02, 0x46, 0x52, 0x06, 0x0d, ...Buffer.from("Commercial Rd"), 0x13, 0x01, ...Buffer.from("4")]));
function lldpUpdate(clock: ManualClock, extra: Partial<LldpUpdate> = {}): LldpUpdate {
  const id = { subtype: 4, raw: Buffer.from([4, 0, 0x1b, 0x54, 0xaa, 0xbb, 0xcc]), text: "00:1b:54:aa:bb:cc" };
  return { iface: "eth0", chassisId: id, portId: { ...id, subtype: 3 }, ttl: 120, sourceMac: id.text, civic: TV17.civic, what: TV17.what, receivedAt: clock.wallNow(), ...extra };
}

describe("location service", () => {
  let dir: string;
  let clock: ManualClock;
  let locator: FakeLocator;
  let lldp: FakeLldp;
  let network: FakeNetwork;
  let services: LocationService[];
  const seen: KnownLocation[] = [];

  function service(over: Partial<LocationServiceDeps> = {}): { svc: LocationService; changes: Array<KnownLocation | null> } {
    const svc = new LocationService({ clock, storePath: path.join(dir, "location.json"), locator, lisTarget: LIS, deviceIds: () => ({ ip: network.s.ipv4 ?? undefined, mac: network.s.mac ?? undefined }), entity: ENTITY, policy: { refreshIntervalH: 4 }, lldp, network, ...over });
    const changes: Array<KnownLocation | null> = [];
    svc.onChange((now) => {
      changes.push(now);
      if (now) seen.push(now);
    });
    services.push(svc);
    return { svc, changes };
  }

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "locsvc-"));
    clock = new ManualClock();
    locator = new FakeLocator(clock);
    lldp = new FakeLldp();
    network = new FakeNetwork();
    services = [];
  });
  afterEach(async () => {
    for (const s of services) await s.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });
  after(async function () {
    this.timeout(60000);
    const docs = [...new Set(seen.map((l) => l.pidf))];
    assert.ok(docs.length > 10, `${docs.length} documents`);
    const bad = (await Promise.all(docs.map(async (d) => [d, await invalid(d)] as const))).filter(([, v]) => v !== null);
    assert.deepEqual(bad, [], "every PIDF-LO the service handed out validates");
  });

  it("TV-17/TV-18: the switch's civic address becomes the current location (method token as configured), ELIN kept", async () => {
    const { svc, changes } = service({ lisTarget: null, lldpMethod: "LLDP-MED" });
    await svc.start();
    assert.equal(svc.current(), null);
    lldp.emit(lldpUpdate(clock, { elin: "5125550123" }));
    const cur = svc.current()!;
    assert.equal(cur.source, "lldp-med");
    assert.equal(cur.text, "4 Commercial Rd");
    assert.equal(cur.elin, "5125550123");
    assert.equal(svc.elin(), "5125550123");
    assert.match(cur.pidf, /<ca:country>FR<\/ca:country><ca:RD>Commercial Rd<\/ca:RD><ca:HNO>4<\/ca:HNO>/);
    assert.match(cur.pidf, /<gp:method>LLDP-MED<\/gp:method>/);
    assert.match(cur.pidf, /entity="sip:1001@example.com"/);
    assert.equal(await invalid(cur.pidf), null);
    lldp.emit(lldpUpdate(clock, { elin: "5125550123" })); // the next LLDPDU, 30 s later: nothing new
    assert.equal(changes.length, 1);
    const { svc: dflt } = service({ lisTarget: null, storePath: path.join(dir, "other.json") });
    await dflt.start();
    assert.match(dflt.current()!.pidf, /<gp:method>Manual<\/gp:method>/, "the default token for LLDP-MED (a registered seed token)");
  });

  it("ranks LIS > LLDP-MED > DHCP > provisioned > manual; the LLDP ELIN rides on the LIS location", async () => {
    locator.answer = () => locator.after(1000, () => lisAnswer(clock, "3-214"));
    const { svc, changes } = service({ provisioned: { country: "US", A3: "Austin", RD: "Lamar", HNO: "1100" } });
    await svc.start();
    assert.equal(svc.current()?.source, "provisioned");
    assert.match(svc.current()!.pidf, /<gp:method>Manual<\/gp:method>/);
    await svc.setManual({ country: "US", RD: "Lamar", HNO: "1100", ROOM: "typed" });
    assert.equal(svc.current()?.source, "provisioned", "manual ranks last");
    svc.setDhcpCivic({ country: "US", RD: "Lamar", HNO: "1100", FLR: "2" });
    assert.equal(svc.current()?.source, "dhcp");
    assert.match(svc.current()!.pidf, /<gp:method>DHCP<\/gp:method>/);
    lldp.emit(lldpUpdate(clock, { elin: "5125550123" }));
    assert.equal(svc.current()?.source, "lldp-med");
    await clock.advanceAsync(1000, 100);
    assert.equal(svc.current()?.source, "lis");
    assert.equal(svc.current()?.text, "1100 N Lamar BLVD, Tower 2, Fl 3, Rm 3-214");
    assert.equal(svc.current()?.lisUrl, LIS.url);
    assert.equal(svc.current()?.elin, "5125550123", "TV-18: the ELIN is still there for ELIN mode");
    assert.deepEqual(changes.map((c) => c?.source), ["provisioned", "dhcp", "lldp-med", "lis"]);
    assert.deepEqual(Object.keys(svc.sources()).sort(), ["dhcp", "lis", "lldp-med", "manual", "provisioned"]);
    lldp.emit(null); // the switch's TTL ran out
    assert.equal(svc.current()?.source, "lis");
    assert.equal(svc.current()?.elin, undefined);
    assert.equal(locator.calls[0].ids.ip, "192.0.2.10");
  });

  it("after a restart the cached location is known at once, before the LIS answers", async () => {
    locator.answer = () => Promise.resolve(lisAnswer(clock, "3-214"));
    const first = service();
    await first.svc.start();
    await tick();
    assert.equal(first.svc.current()?.source, "lis");
    await first.svc.stop();
    locator.answer = () => new Promise(() => undefined); // the LIS is down after the reboot
    const second = service();
    await second.svc.start();
    assert.equal(second.svc.current()?.text, "1100 N Lamar BLVD, Tower 2, Fl 3, Rm 3-214");
    assert.equal(second.svc.current()?.pidf, first.svc.current()?.pidf);
    assert.equal(locator.calls.length, 2, "and it asks again");
  });

  it("forEmergency, LIS slow: resolves at exactly 250 ms with the cached location; the late answer fires onChange", async () => {
    locator.answer = (n) => (n === 1 ? Promise.resolve(lisAnswer(clock, "3-214")) : locator.after(1000, () => lisAnswer(clock, "4-100")));
    const { svc, changes } = service();
    await svc.start();
    await tick();
    const cached = svc.current();
    assert.equal(cached?.civic?.ROOM, "3-214");
    let got: KnownLocation | null | undefined;
    void svc.forEmergency().then((l) => (got = l));
    assert.equal(locator.calls[1].emergency, true);
    await clock.advanceAsync(249);
    assert.equal(got, undefined, "still within the budget");
    await clock.advanceAsync(1);
    assert.equal(got, cached);
    assert.equal(changes.length, 1);
    await clock.advanceAsync(750, 50);
    assert.equal(svc.current()?.civic?.ROOM, "4-100");
    assert.deepEqual(changes.map((c) => c?.civic?.ROOM), ["3-214", "4-100"], "the late answer is a mid-call update");
  });

  it("forEmergency, LIS fast: resolves with the fresh location as soon as it arrives; no LIS or a failing one: at once", async () => {
    locator.answer = (n) => (n === 1 ? Promise.resolve(lisAnswer(clock, "3-214")) : locator.after(100, () => lisAnswer(clock, "5-500")));
    const { svc } = service();
    await svc.start();
    await tick();
    let got: KnownLocation | null | undefined;
    void svc.forEmergency().then((l) => (got = l));
    await clock.advanceAsync(100);
    assert.equal(got?.civic?.ROOM, "5-500");
    assert.equal(clock.now(), 100);
    locator.answer = () => Promise.resolve({ ok: false, code: "tls", message: "certificate verify failed" });
    const t0 = clock.now();
    const l = await svc.forEmergency();
    assert.equal(l?.civic?.ROOM, "5-500", "the cached one, without waiting");
    assert.equal(clock.now(), t0);
    const { svc: none } = service({ lisTarget: null, storePath: path.join(dir, "none.json") });
    await none.start();
    assert.equal(await none.forEmergency(), null);
  });

  it("a network change asks the LIS again and tells the HELD client; a just-learnt gateway MAC does not", async () => {
    locator.answer = () => Promise.resolve(lisAnswer(clock, "3-214"));
    const { svc } = service();
    await svc.start();
    await tick();
    assert.equal(locator.calls.length, 1);
    network.set({ ipv4: "192.0.2.77" }, ["address"]);
    await tick();
    assert.equal(locator.calls.length, 2);
    assert.equal(locator.calls[1].ids.ip, "192.0.2.77");
    assert.equal(locator.linkChanges, 1);
    network.set({ linkUp: false }, ["link"]);
    assert.equal(locator.linkChanges, 2);
    assert.equal(locator.calls.length, 2, "no request while the link is down");
    network.set({ linkUp: true }, ["link"]);
    await tick();
    assert.equal(locator.calls.length, 3);
    network.set({ gatewayMac: GW_A }, ["gateway-mac"]);
    await tick();
    assert.equal(locator.linkChanges, 3);
    assert.equal(locator.calls.length, 3);
    assert.equal(svc.current()?.source, "lis");
  });

  it("sends the LIS the switch port LLDP gave; asks again when it changes, not on every LLDPDU; forgets it at link-down", async () => {
    locator.answer = () => Promise.resolve(lisAnswer(clock, "3-214"));
    const port = (chassis: string, p: string): Partial<LldpUpdate> => ({ chassisId: { subtype: 4, raw: Buffer.alloc(7), text: chassis }, portId: { subtype: 5, raw: Buffer.from(`\x05${p}`), text: p }, civic: undefined });
    lldp.last = lldpUpdate(clock, port("00:1f:9e:00:03:00", "Gi1/0/7")); // already heard before the service starts
    const { svc } = service();
    await svc.start();
    await tick();
    assert.equal(locator.calls.length, 1, "one request at start, not one more for the port already known");
    assert.deepEqual(locator.calls[0].ids, { ip: "192.0.2.10", mac: "00:04:f2:00:00:01", lldp: { chassis: "00:1f:9e:00:03:00", port: "Gi1/0/7" } });
    lldp.emit(lldpUpdate(clock, port("00:1f:9e:00:03:00", "Gi1/0/7"))); // the next LLDPDU, 30 s later
    await tick();
    assert.equal(locator.calls.length, 1);
    network.set({ linkUp: false }, ["link"]);
    network.set({ linkUp: true }, ["link"]); // re-plugged: the switch has not spoken yet
    await tick();
    assert.equal(locator.calls.length, 2);
    assert.equal(locator.calls[1].ids.lldp, undefined, "the old port is not sent after a link-down");
    lldp.emit(lldpUpdate(clock, port("00:1f:9e:00:03:00", "Gi1/0/9")));
    await tick();
    assert.equal(locator.calls.length, 3, "the switch spoke: ask again with its port");
    assert.deepEqual(locator.calls[2].ids.lldp, { chassis: "00:1f:9e:00:03:00", port: "Gi1/0/9" });
    await svc.forEmergency();
    assert.deepEqual(locator.calls[3].ids.lldp, { chassis: "00:1f:9e:00:03:00", port: "Gi1/0/9" }, "and at emergency time");
    lldp.emit(null); // TTL ran out
    await svc.refresh();
    assert.equal(locator.calls[4].ids.lldp, undefined);
    const { svc: noLis } = service({ lisTarget: null, storePath: path.join(dir, "nolis.json") });
    await noLis.start();
    lldp.emit(lldpUpdate(clock, port("00:1f:9e:00:03:00", "Gi1/0/1")));
    await tick();
    assert.equal(locator.calls.length, 6, "the one service with a LIS asked again; the one without none");
  });

  it("stop() leaves the locator open: it is not the service's (the firmware shares it with LIS discovery)", async () => {
    let closed = 0;
    const { svc } = service({ locator: Object.assign(locator, { close: () => void closed++ }) });
    await svc.start();
    await svc.stop();
    await svc.start();
    await svc.stop();
    assert.equal(closed, 0);
  });

  it("a new gateway drops the LIS location if the LIS cannot locate the phone there; notLocatable drops it at once", async () => {
    let verdict: HeldOutcome = { ok: false, code: "network", message: "connection refused" };
    locator.answer = (n) => Promise.resolve(n === 1 ? lisAnswer(clock, "3-214") : verdict);
    const { svc } = service({ provisioned: { country: "US", RD: "Congress", HNO: "1" } });
    await svc.start();
    await tick();
    assert.equal(svc.current()?.source, "lis");
    await svc.refresh();
    assert.equal(svc.current()?.source, "lis", "a transport error on the same network keeps the LIS location");
    network.set({ gateway: "198.51.100.1", gatewayMac: GW_B }, ["gateway"]);
    await tick();
    assert.equal(svc.current()?.source, "provisioned", "from the old network, and no answer on the new one");
    verdict = lisAnswer(clock, "9-900");
    await svc.refresh();
    assert.equal(svc.current()?.source, "lis");
    verdict = { ok: false, code: "notLocatable", message: "the LIS cannot locate this device" };
    await svc.refresh();
    assert.equal(svc.current()?.source, "provisioned");
  });

  it("an older answer arriving after a newer one is ignored", async () => {
    locator.answer = (n) => (n === 1 ? locator.after(500, () => lisAnswer(clock, "old")) : locator.after(100, () => lisAnswer(clock, "new")));
    const { svc, changes } = service();
    await svc.start();
    void svc.refresh();
    await clock.advanceAsync(600, 50);
    assert.equal(svc.current()?.civic?.ROOM, "new");
    assert.deepEqual(changes.map((c) => c?.civic?.ROOM), ["new"]);
  });

  it("a manual location is used on the gateway it was entered on only", async () => {
    const { svc, changes } = service({ lisTarget: null });
    await svc.start();
    const m = await svc.setManual({ country: "us", RD: "Main St", HNO: "5", ROOM: "<12>" });
    assert.equal(m.source, "manual");
    assert.match(m.pidf, /<gp:method>Manual<\/gp:method>/);
    assert.match(m.pidf, /<gbp:retransmission-allowed>true<\/gbp:retransmission-allowed>/);
    assert.match(m.pidf, /<ca:ROOM>&lt;12&gt;<\/ca:ROOM>/);
    assert.equal(svc.current()?.text, "5 Main St, Rm <12>");
    network.set({ gateway: "198.51.100.1", gatewayMac: GW_B }, ["gateway"]);
    assert.equal(svc.current(), null, "another network: not used");
    network.set({ gateway: "192.0.2.1", gatewayMac: GW_A }, ["gateway"]);
    assert.equal(svc.current()?.text, "5 Main St, Rm <12>");
    assert.deepEqual(Object.keys(svc.manualEntries()), [GW_A]);
    await svc.clearManual();
    assert.equal(svc.current(), null);
    assert.deepEqual(changes.map((c) => c?.source ?? null), ["manual", null, "manual", null]);
    network.set({ gatewayMac: null }, ["gateway"]);
    await assert.rejects(svc.setManual({ country: "US", RD: "Main St" }), /gateway's MAC address is not known yet/);
    network.set({ gatewayMac: GW_A }, ["gateway-mac"]);
    await assert.rejects(svc.setManual({ country: "USA", RD: "Main St" }), /country code 'USA' is not two letters/);
  });

  it("a manual location restored from the cache stands until the gateway is known, then only on its own network", async () => {
    const first = service({ lisTarget: null });
    await first.svc.start();
    await first.svc.setManual({ country: "US", RD: "Main St", HNO: "5" });
    await first.svc.stop();
    network.s = { ...network.s, gatewayMac: null };
    const second = service({ lisTarget: null });
    await second.svc.start();
    assert.equal(second.svc.current()?.source, "manual", "known at once after the restart");
    network.set({ gatewayMac: GW_B }, ["gateway-mac"]);
    assert.equal(second.svc.current(), null);
    network.set({ gatewayMac: GW_A }, ["gateway"]);
    assert.equal(second.svc.current()?.text, "5 Main St");
  });

  it("asks the LIS every refreshIntervalH hours; a timestamp-only change does not fire onChange", async () => {
    locator.answer = () => Promise.resolve(lisAnswer(clock, "3-214"));
    const { svc, changes } = service({ policy: { refreshIntervalH: 2 } });
    await svc.start();
    await tick();
    await clock.advanceAsync(2 * 3600_000 - 1, 600_000);
    assert.equal(locator.calls.length, 1);
    await clock.advanceAsync(1);
    assert.equal(locator.calls.length, 2);
    await clock.advanceAsync(2 * 3600_000, 600_000);
    assert.deepEqual(locator.calls.map((c) => c.at / 3600_000), [0, 2, 4]);
    assert.equal(changes.length, 1, "same location, newer timestamp: no change");
    assert.equal(svc.current()?.obtainedAt, clock.wallNow(), "but the current one is the newest");
  });

  it("an LLDP location restored from the cache lapses if the switch does not confirm it; link down drops LLDP", async () => {
    const first = service({ lisTarget: null });
    await first.svc.start();
    lldp.emit(lldpUpdate(clock));
    await first.svc.stop();
    lldp = new FakeLldp();
    const second = service({ lisTarget: null, provisioned: { country: "US", RD: "Congress", HNO: "1" } });
    await second.svc.start();
    assert.equal(second.svc.current()?.source, "lldp-med");
    await clock.advanceAsync(120_000, 10_000);
    assert.equal(second.svc.current()?.source, "provisioned");
    lldp.emit(lldpUpdate(clock));
    assert.equal(second.svc.current()?.source, "lldp-med");
    network.set({ linkUp: false }, ["link"]);
    assert.equal(second.svc.current()?.source, "provisioned");
  });

  it("whatever the LIS client returns, what it hands out is usable: a LIS answer without a PIDF-LO is rebuilt", async () => {
    const civic: CivicAddress = { country: "us", RD: "Lamar", HNO: "1100" };
    locator.answer = () => Promise.resolve({ ok: true, location: { source: "lis", pidf: "", civic, text: "", obtainedAt: 0 } });
    const { svc } = service();
    await svc.start();
    await tick();
    const cur = svc.current()!;
    assert.match(cur.pidf, /<gp:method>Wiremap<\/gp:method>/);
    assert.equal(cur.text, "1100 Lamar");
    assert.equal(await invalid(cur.pidf), null);
    locator.answer = () => Promise.reject(new Error("socket hang up"));
    await svc.refresh();
    assert.equal(svc.current()?.source, "lis");
    const { svc: badConfig } = service({ lisTarget: null, provisioned: { country: "Texas" }, storePath: path.join(dir, "bad.json") });
    await badConfig.start(); // a provisioned address that cannot be a valid PIDF-LO is left out (logged), the phone boots
    assert.equal(badConfig.current(), null);
    await assert.rejects(service({ storePath: path.join(dir, "unstarted.json") }).svc.setManual({ country: "US" }), /not started yet/);
  });
});

describe("network watch (the service's network source)", () => {
  let dir: string;
  let files: { route: string; arp: string; sys: string };
  let nets: NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  const ROUTE_HDR = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";
  const ARP_HDR = "IP address       HW type     Flags       HW address            Mask     Device\n";
  const route = (rows: string[]): Promise<void> => fs.writeFile(files.route, ROUTE_HDR + rows.join("\n") + "\n");
  const arp = (rows: string[]): Promise<void> => fs.writeFile(files.arp, ARP_HDR + rows.join("\n") + "\n");
  const oper = (iface: string, s: string): Promise<void> => fs.mkdir(path.join(files.sys, iface), { recursive: true }).then(() => fs.writeFile(path.join(files.sys, iface, "operstate"), `${s}\n`));
  const v4 = (address: string, mac: string): os.NetworkInterfaceInfo => ({ address, mac, family: "IPv4", internal: false, netmask: "255.255.255.0", cidr: `${address}/24` });

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "netwatch-"));
    files = { route: path.join(dir, "route"), arp: path.join(dir, "arp"), sys: path.join(dir, "sys") };
    nets = { eth0: [v4("192.0.2.10", "00:04:F2:00:00:01")] };
    await route(["eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0", "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0", "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0"]);
    await arp(["192.0.2.1        0x1         0x2         02:FC:00:00:00:0A     *        eth0"]);
    await oper("eth0", "up");
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it("reads the default gateway (lowest metric, or on the interface asked), its MAC, the interface's address", async () => {
    assert.deepEqual(await readDefaultGateway(files.route), { iface: "eth0", gateway: "192.0.2.1" });
    assert.deepEqual(await readDefaultGateway(files.route, "wlan0"), { iface: "wlan0", gateway: "192.168.1.1" });
    assert.equal(await readDefaultGateway(files.route, "eth9"), null);
    assert.equal(await readArpMac("192.0.2.1", files.arp), GW_A);
    assert.equal(await readArpMac("192.0.2.1", files.arp, "wlan0"), null);
    await arp(["192.0.2.1        0x1         0x0         00:00:00:00:00:00     *        eth0"]);
    assert.equal(await readArpMac("192.0.2.1", files.arp), null, "an incomplete entry is no MAC");
    assert.deepEqual(interfaceAddress("eth0", nets), { ipv4: "192.0.2.10", mac: "00:04:f2:00:00:01" });
    assert.deepEqual(interfaceAddress("eth9", nets), { ipv4: null, mac: null });
    assert.equal(normaliseMac("00-04-F2-00-00-01"), "00:04:f2:00:00:01");
    assert.equal(normaliseMac("00:00:00:00:00:00"), null);
  });

  it("polls every 5 s on its clock and reports link, address, gateway and gateway-MAC changes", async () => {
    const clock = new ManualClock();
    const watch = new NetworkWatch({ clock, routePath: files.route, arpPath: files.arp, sysNetDir: files.sys, interfaces: () => nets });
    const seenChanges: NetworkChange[][] = [];
    watch.onChange((_s, c) => seenChanges.push(c));
    assert.deepEqual(await watch.start(), { iface: "eth0", linkUp: true, ipv4: "192.0.2.10", mac: "00:04:f2:00:00:01", gateway: "192.0.2.1", gatewayMac: GW_A });
    const step = async (): Promise<void> => {
      clock.advance(5000);
      await watch.poll();
    };
    await arp([]);
    await step();
    assert.equal(watch.state()?.gatewayMac, GW_A, "an aged-out ARP entry keeps the MAC of the same gateway");
    assert.deepEqual(seenChanges, []);
    await oper("eth0", "down");
    await step();
    await oper("eth0", "up");
    nets = { eth0: [v4("192.0.2.11", "00:04:F2:00:00:01")] };
    await step();
    await route(["eth0\t00000000\t016433C6\t0003\t0\t0\t100\t00000000\t0\t0\t0"]);
    await step();
    assert.equal(watch.state()?.gatewayMac, null);
    await arp(["198.51.100.1     0x1         0x2         02:fc:00:00:00:0b     *        eth0"]);
    await step();
    assert.deepEqual(watch.state(), { iface: "eth0", linkUp: true, ipv4: "192.0.2.11", mac: "00:04:f2:00:00:01", gateway: "198.51.100.1", gatewayMac: GW_B });
    assert.deepEqual(seenChanges, [["link"], ["link", "address"], ["gateway"], ["gateway-mac"]]);
    watch.stop();
    assert.equal(clock.pending(), 0);
  });

  it("unreadable files are 'not known', never an exception", async () => {
    const watch = new NetworkWatch({ clock: new ManualClock(), iface: "eth0", routePath: path.join(dir, "none"), arpPath: path.join(dir, "none"), sysNetDir: path.join(dir, "none"), interfaces: () => nets });
    assert.deepEqual(await watch.start(), { iface: "eth0", linkUp: true, ipv4: "192.0.2.10", mac: "00:04:f2:00:00:01", gateway: null, gatewayMac: null });
    watch.stop();
  });
});

// The phone's one "current location" (standards §0, §7 items 6, 10, 11, 25): gathered from the LIS (HELD), LLDP-MED,
// DHCP option 99, the provisioned static location and the user's manual entry for the current network, ranked by
// SOURCE_RANK (LIS > LLDP-MED > DHCP > provisioned > manual). It is cached on disk, so a location is known at once after
// a restart; asked again on start, on a link/address/gateway change (telling the HELD client the link changed) and
// every refreshIntervalH hours; and at emergency-call time forEmergency() asks the LIS but never waits longer than its
// budget (250 ms): a late answer still updates the location and fires onChange, which is how a call learns of it.
// The LIS is sent the switch port LLDP gave (chassis and port ids, forgotten when the link goes down) and is asked
// again when the switch gives another port (not when the port only disappears), so a LIS whose wiremap goes by switch
// port can place the phone. DHCP option 99 is read from the current lease (deps.dhcpCivic) at start, on each refresh
// and again a little after a network change; only a lease for the phone's own address counts, and only the phone's own
// location (RFC 4776 `what` 2) unless the site says the DHCP server's or the network element's is close enough
// (dhcpProximityKnown).
//
// Method tokens of the PIDF-LO built here (RFC 4119 §2.2.3: registered tokens only; standards §9 leaves the registry
// check open and falls back to the RFC 4119 seed values): DHCP-derived -> "DHCP"; user-entered and provisioned ->
// "Manual" (MS-SIPRE 2.2.23 requires it for an address not known to match the device); LLDP-MED -> `lldpMethod`,
// default "Manual" too: the switch port's address was typed in by an administrator and is not checked against the
// phone, and "Manual" is a seed token, whereas "LLDP-MED" is not confirmed registered. Set lldpMethod once checked.
import type { Clock, Timer } from "../base/clock.js";
import { silentLogger, type Logger } from "../base/log.js";
import { SOURCE_RANK, type DeviceIds, type HeldOutcome, type KnownLocation, type LisTarget, type LocationSource } from "./location-types.js";
import { buildPidfLo, civicLine, type CivicAddress, type LocationMethod } from "./pidf-lo.js";
import { normaliseCivic, parseDhcpCivic, type CivicLci } from "./lldp-med.js";
import type { LldpSource, LldpUpdate } from "./lldp-listener.js";
import { LocationStore } from "./location-store.js";
import type { NetworkChange, NetworkSource, NetworkState } from "./network-watch.js";

/** What the service needs of the HELD client (src/location/held-client.ts's HeldClient fits). */
export interface Locator {
  locate(target: LisTarget, ids: DeviceIds, opts: { emergency: boolean }): Promise<HeldOutcome>;
  /** The link changed: forget "notLocatable" verdicts and discovered LIS state. */
  linkChanged(): void;
}

/** DHCP option 99 of the phone's current lease (src/provisioning/discovery.ts leaseGeoconfCivic gives this shape). */
export interface DhcpCivicLease {
  /** The option's value (`what | country | CA elements`, RFC 4776 §3.1), or null: the current lease has none. */
  option: Uint8Array | null;
  /** The lease's IPv4 address: when it is not the phone's, the lease is an old one and is not used. */
  address?: string;
  /** Which lease, for the log. */
  where?: string;
  /** What the reading noticed (unreadable files, ...), for the log. */
  notes?: string[];
}

export interface LocationServiceDeps {
  clock: Clock;
  log?: Logger;
  /** The JSON file of the location cache and the manual entries. */
  storePath: string;
  locator: Locator;
  /** The LIS to ask; none: no HELD. */
  lisTarget?: LisTarget | null;
  /** The phone's identifiers, read at each request (they change with the address). */
  deviceIds(): DeviceIds;
  /** The phone's AoR, the presentity of the PIDF-LO built here, e.g. "sip:1001@example.com". */
  entity: string;
  /** The static location from the config bundle. */
  provisioned?: CivicAddress;
  policy: { refreshIntervalH: number };
  lldp?: LldpSource;
  network?: NetworkSource;
  /** Method token for LLDP-MED-derived locations (default "Manual"; see the file header). */
  lldpMethod?: LocationMethod;
  /** The provider information URL put in provided-by of the PIDF-LO built here (RFC 6881 ED-41). */
  providedBy?: string;
  /** How long a location restored from the cache stands for LLDP-MED before the switch confirms it (default 120 s). */
  lldpRestoreMs?: number;
  /**
   * Reads DHCP option 99 from the current lease: the "dhcp" source. Read at start, on every refresh, and once more
   * dhcpSettleMs after a network change (the DHCP client writes its lease after the address appears). None: only
   * setDhcpCivic() sets the DHCP location.
   */
  dhcpCivic?: () => Promise<DhcpCivicLease>;
  /** See dhcpCivic; default 5000 ms. */
  dhcpSettleMs?: number;
  /**
   * Also use an option 99 that gives the location of the DHCP server (`what` 0) or of the network element closest to
   * the phone (1), not the phone's own (2): RFC 4776 says these SHOULD NOT be used unless they are known to be close
   * to the phone, which only the site can say. Default false.
   */
  dhcpProximityKnown?: boolean;
}

interface Slot {
  loc: KnownLocation;
  /** The network (gateway MAC) it was obtained on; null when not known. */
  net: string | null;
  /** What it was built from, to rebuild only on a real change. */
  key?: string;
}

/** The PIDF-LO without its timestamps: two documents equal this way say the same thing. */
const substance = (pidf: string): string => pidf.replace(/<((?:[\w.-]+:)?timestamp)>[^<]*<\/\1>/g, "");

function sameLocation(a: KnownLocation | null, b: KnownLocation | null): boolean {
  if (!a || !b) return a === b;
  return a.source === b.source && a.text === b.text && a.elin === b.elin && substance(a.pidf) === substance(b.pidf);
}

const HOUR = 3600_000;

/** The key of the manual location of a network with no default gateway. */
export const NO_GATEWAY = "ff:ff:ff:ff:ff:ff"; // the broadcast address: never a gateway's own

/** The location orchestrator (see the file header). */
export class LocationService {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly store: LocationStore;
  private readonly slots: Partial<Record<LocationSource, Slot>> = {};
  private cur: KnownLocation | null = null;
  private lldpLast: LldpUpdate | null = null;
  /** The switch port LLDP last gave on this link (sent to the LIS); null until the switch speaks after a link-up. */
  private lldpPort: { chassis: string; port: string } | null = null;
  /** start() has asked the LIS: later changes of the switch port ask again. */
  private asked = false;
  /** The latest DHCP read: an older one finishing later is not applied. */
  private dhcpSeq = 0;
  private dhcpSettle: Timer | null = null;
  private lisTarget: LisTarget | null;
  private readonly listeners = new Set<(now: KnownLocation | null, before: KnownLocation | null) => void>();
  private readonly unsubscribe: Array<() => void> = [];
  private timers: Timer[] = [];
  private lisSeq = 0;
  private lisApplied = 0;
  private running = false;
  /** The cache file has been read: only then may it be written (else a write before start() would lose it). */
  private loaded = false;

  constructor(private readonly deps: LocationServiceDeps) {
    this.clock = deps.clock;
    this.log = deps.log ?? silentLogger();
    this.store = new LocationStore(deps.storePath, { log: this.log });
    this.lisTarget = deps.lisTarget ?? null;
  }

  /** Loads the cache (the location is known at once), subscribes to the sources, then starts a refresh (not awaited). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const loaded = await this.store.load();
    if (loaded.problem) this.log.warn(`location: ${loaded.problem}`);
    this.loaded = true;
    this.restore();
    const provisioned = this.deps.provisioned && this.tryBuild("provisioned", this.deps.provisioned, "Manual");
    if (provisioned) this.setSlot("provisioned", provisioned);
    this.rebuildManual();
    if (this.deps.lldp) {
      this.unsubscribe.push(this.deps.lldp.onUpdate((u) => this.lldpUpdate(u)));
      const now = this.deps.lldp.latest();
      if (now) this.lldpUpdate(now);
    }
    if (this.deps.network) this.unsubscribe.push(this.deps.network.onChange((s, c) => this.networkChanged(s, c)));
    this.recompute();
    const hours = Number.isFinite(this.deps.policy.refreshIntervalH) && this.deps.policy.refreshIntervalH > 0 ? Math.min(this.deps.policy.refreshIntervalH, 24) : 4;
    this.timers.push(this.clock.setInterval(() => void this.refresh(), hours * HOUR));
    this.asked = true;
    void this.refresh();
  }

  /**
   * Stops timers and subscriptions; waits for the cache file to be written. The locator is left open: the service does
   * not own it (the firmware shares one HeldClient with LIS discovery and closes it itself).
   */
  async stop(): Promise<void> {
    this.running = false;
    this.asked = false;
    this.dhcpSettle?.cancel();
    this.dhcpSettle = null;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    for (const u of this.unsubscribe.splice(0)) u();
    await this.store.flushed();
  }

  /** The best location known now, or null. */
  current(): KnownLocation | null {
    return this.cur;
  }

  /** The ECS ELIN the switch sent (LLDP-MED), else the current location's, else null. */
  elin(): string | null {
    return this.lldpLast?.elin ?? this.cur?.elin ?? null;
  }

  /** What each source has now (for the status screen and diagnostics). */
  sources(): Partial<Record<LocationSource, KnownLocation>> {
    return Object.fromEntries(Object.entries(this.slots).map(([k, s]) => [k, s.loc]));
  }

  /** Manual locations stored for every network, by gateway MAC. */
  manualEntries(): ReturnType<LocationStore["manualEntries"]> {
    return this.store.manualEntries();
  }

  /** Called whenever the current location changes (its text, its PIDF-LO other than timestamps, its source or ELIN). */
  onChange(listener: (now: KnownLocation | null, before: KnownLocation | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Changes the LIS (e.g. found by discovery later); a refresh follows. */
  setLisTarget(target: LisTarget | null): void {
    this.lisTarget = target;
    if (!target) this.dropSlot("lis");
    if (this.running) void this.refresh();
  }

  /** Asks the LIS (if there is one), reads DHCP option 99 (if it can), and re-ranks the sources. Never throws. */
  async refresh(): Promise<void> {
    const dhcp = this.readDhcp();
    if (this.lisTarget) await this.queryLis(false);
    else this.recompute();
    await dhcp;
  }

  /**
   * The location for an emergency call: starts a LIS request (emergency: true) and resolves with the fresh location if
   * it arrives within `budgetMs`, else at `budgetMs` with the current one (or null). A later answer still updates the
   * current location and fires onChange.
   */
  forEmergency(budgetMs = 250): Promise<KnownLocation | null> {
    if (!this.lisTarget) return Promise.resolve(this.cur);
    return new Promise((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        timer.cancel();
        resolve(this.cur);
      };
      const timer = this.clock.setTimeout(finish, Math.max(0, budgetMs));
      void this.queryLis(true).then(finish);
    });
  }

  /** The location DHCP option 99 gave (see parseDhcpCivic; deps.dhcpCivic reads it itself), or null when there is none. */
  setDhcpCivic(civic: CivicAddress | null): void {
    if (!civic) return this.dropSlot("dhcp");
    const key = JSON.stringify(civic);
    if (this.slots.dhcp?.key === key) return;
    const loc = this.tryBuild("dhcp", civic, "DHCP");
    if (loc) this.setSlot("dhcp", loc, key);
  }

  /** Reads option 99 of the current lease (deps.dhcpCivic) into the DHCP slot. Never throws. */
  private async readDhcp(): Promise<void> {
    const read = this.deps.dhcpCivic;
    if (!read || !this.running) return;
    const seq = ++this.dhcpSeq;
    let lease: DhcpCivicLease;
    try {
      lease = await read();
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "location: the DHCP lease could not be read; the DHCP location is kept as it was");
      return;
    }
    if (!this.running || seq !== this.dhcpSeq) return;
    const where = lease.where;
    if (lease.notes?.length) this.log.debug({ notes: lease.notes }, "location: reading the DHCP lease");
    const ipv4 = this.network()?.ipv4;
    if (lease.address && ipv4 && lease.address !== ipv4) {
      this.log.info({ where, lease: lease.address, ipv4 }, "location: the newest DHCP lease is for another address (not written yet for this one?); its option 99 is not used");
      return this.setDhcpCivic(null);
    }
    if (!lease.option) return this.setDhcpCivic(null);
    let lci: CivicLci;
    try {
      lci = parseDhcpCivic(lease.option);
    } catch (e) {
      this.log.warn({ where }, `location: DHCP option 99 cannot be read: ${(e as Error).message}; not used`);
      return this.setDhcpCivic(null);
    }
    if (lci.problems.length) this.log.info({ where, problems: lci.problems }, "location: DHCP option 99 read with problems");
    if (lci.what !== 2 && !this.deps.dhcpProximityKnown) {
      const of = lci.what === 0 ? "the DHCP server" : lci.what === 1 ? "the network element closest to the phone" : `an unknown 'what' (${lci.what})`;
      this.log.warn({ where, what: lci.what }, `location: DHCP option 99 gives the location of ${of}, not of the phone (RFC 4776: not used unless known to be close); not used`);
      return this.setDhcpCivic(null);
    }
    this.setDhcpCivic(lci.civic);
  }

  /** Stores what the user typed as the location of the current network (its gateway MAC) and uses it there. */
  async setManual(civic: CivicAddress): Promise<KnownLocation> {
    if (!this.loaded) throw new Error("the location service is not started yet");
    const mac = this.netKey();
    if (!mac) throw new Error("the default gateway's MAC address is not known yet, and a manual location is kept per network; try again once the network is up");
    const clean = normaliseCivic(civic);
    this.build("manual", clean, "Manual"); // throws, in plain words, before anything is stored
    await this.store.setManual(mac, clean, this.clock.wallNow());
    this.rebuildManual();
    return this.slots.manual!.loc;
  }

  /** Forgets the manual location of the current network. */
  async clearManual(): Promise<void> {
    const mac = this.netKey();
    if (mac && this.loaded) await this.store.clearManual(mac);
    this.rebuildManual();
  }

  private network(): NetworkState | null {
    return this.deps.network?.state() ?? null;
  }

  /**
   * The network a manual location is kept for: its default gateway's MAC. A network with no gateway at all (an
   * isolated lab, a phone watching loopback) counts as one network of its own; a gateway whose MAC is not learnt yet
   * gives null (wait for it).
   */
  private netKey(): string | null {
    const n = this.network();
    if (!n) return null;
    return n.gatewayMac ?? (n.gateway ? null : NO_GATEWAY);
  }

  /** The cached location goes back into the slot of its source (provisioned and manual are rebuilt from config/store). */
  private restore(): void {
    const cached = this.store.current();
    if (!cached) return;
    const { location, network } = cached;
    if (location.source === "provisioned") return;
    this.slots[location.source] = { loc: location, net: network };
    this.log.info({ source: location.source, text: location.text }, "location: restored from the cache");
    if (location.source === "lldp-med") {
      // Stands until the switch speaks (it then replaces it) or for about one LLDP TTL.
      const t = this.clock.setTimeout(() => {
        if (this.slots["lldp-med"]?.loc === location) this.dropSlot("lldp-med");
      }, this.deps.lldpRestoreMs ?? 120_000);
      this.timers.push(t);
    }
  }

  private async queryLis(emergency: boolean): Promise<void> {
    const target = this.lisTarget;
    if (!target) return;
    const seq = ++this.lisSeq;
    const net = this.netKey();
    let outcome: HeldOutcome;
    try {
      outcome = await this.deps.locator.locate(target, this.deviceIds(), { emergency });
    } catch (e) {
      outcome = { ok: false, code: "network", message: (e as Error).message };
    }
    if (!this.running || seq < this.lisApplied) return; // stopped, or a newer answer is already in
    const netNow = this.netKey();
    if (net && netNow && net !== netNow) return; // asked on another network; the refresh for this one decides
    this.lisApplied = seq;
    if (outcome.ok) {
      const loc = this.lisLocation(outcome.location, target);
      if (loc) return this.setSlot("lis", loc, undefined, netNow);
      outcome = { ok: false, code: "malformed", message: "the LIS location has no PIDF-LO and no civic address" };
    }
    this.log.info({ code: outcome.code, emergency }, `location: the LIS gave no location: ${outcome.message}`);
    const held = this.slots.lis;
    if (outcome.code === "notLocatable" || (held && held.net && netNow && held.net !== netNow)) this.dropSlot("lis");
    else this.recompute();
  }

  /** The LIS's location as the phone keeps it: its PIDF-LO as given (the HELD client normalises it), fields filled. */
  private lisLocation(l: KnownLocation, target: LisTarget): KnownLocation | null {
    let civic: CivicAddress | undefined;
    try {
      civic = l.civic && normaliseCivic(l.civic);
    } catch {
      civic = undefined;
    }
    let pidf = typeof l.pidf === "string" && l.pidf.includes("<presence") ? l.pidf : null;
    if (!pidf && civic) pidf = this.tryBuild("lis", civic, "Wiremap")?.pidf ?? null;
    if (!pidf) return null;
    return { ...l, source: "lis", pidf, civic, text: l.text || (civic ? civicLine(civic) || civic.country : ""), obtainedAt: l.obtainedAt || this.clock.wallNow(), lisUrl: l.lisUrl ?? target.url };
  }

  /** The phone's identifiers for the LIS, with the switch port LLDP gave when the deps do not give one. */
  private deviceIds(): DeviceIds {
    const ids = this.deps.deviceIds();
    return this.lldpPort && !ids.lldp ? { ...ids, lldp: this.lldpPort } : ids;
  }

  private lldpUpdate(u: LldpUpdate | null): void {
    this.lldpLast = u;
    const port = u ? { chassis: u.chassisId.text, port: u.portId.text } : null;
    if (JSON.stringify(port) !== JSON.stringify(this.lldpPort)) {
      this.lldpPort = port;
      // a LIS with a wiremap by switch port may now place the phone better; a port that disappears (the switch's LLDP
      // aged out) is not a reason to ask: the next request simply goes without it (link down is networkChanged's)
      if (port && this.asked && this.lisTarget) void this.refresh();
    }
    const point = u?.coordinate && u.coordinate.datum === "WGS84" ? { lat: u.coordinate.lat, lon: u.coordinate.lon } : undefined;
    if (!u || (!u.civic && !point)) {
      this.dropSlot("lldp-med");
      return;
    }
    const key = JSON.stringify([u.civic, point, u.elin]);
    const slot = this.slots["lldp-med"];
    if (slot?.key === key) {
      slot.net = this.netKey() ?? slot.net;
      return;
    }
    const loc = this.tryBuild("lldp-med", u.civic, this.deps.lldpMethod ?? "Manual", point);
    if (loc) this.setSlot("lldp-med", { ...loc, elin: u.elin, obtainedAt: u.receivedAt }, key);
  }

  private networkChanged(s: NetworkState, changes: NetworkChange[]): void {
    const moved = changes.some((c) => c !== "gateway-mac");
    this.log.info({ changes, gateway: s.gateway, gatewayMac: s.gatewayMac }, "location: the network changed");
    if (moved) this.deps.locator.linkChanged();
    if (changes.includes("link") && !s.linkUp) {
      // re-plugged maybe elsewhere: wait for the switch (its port too: the LIS must not place the phone by the old one)
      this.lldpPort = null;
      this.dropSlot("lldp-med");
    }
    for (const src of ["lldp-med", "dhcp"] as const) {
      const slot = this.slots[src];
      if (slot?.net && s.gatewayMac && slot.net !== s.gatewayMac) this.dropSlot(src);
    }
    this.rebuildManual();
    const lis = this.slots.lis;
    const lisStale = !!(lis?.net && s.gatewayMac && lis.net !== s.gatewayMac);
    if (s.linkUp && (moved || lisStale)) void this.refresh();
    else this.recompute();
    if (s.linkUp && moved && this.deps.dhcpCivic) {
      this.dhcpSettle?.cancel();
      this.dhcpSettle = this.clock.setTimeout(() => {
        this.dhcpSettle = null;
        void this.readDhcp();
      }, this.deps.dhcpSettleMs ?? 5000);
    }
  }

  /** The manual slot: the entry stored for the current gateway, if any (a restored one stands until the gateway is known). */
  private rebuildManual(): void {
    const mac = this.netKey();
    const slot = this.slots.manual;
    if (!mac) {
      if (slot && !slot.key) return this.recompute(); // restored from the cache, network not known yet
      return this.dropSlot("manual");
    }
    const entry = this.store.manualFor(mac);
    if (!entry) return this.dropSlot("manual");
    const key = JSON.stringify([mac, entry.enteredAt, entry.civic]);
    if (slot?.key === key) return this.recompute();
    const loc = this.tryBuild("manual", entry.civic, "Manual");
    if (loc) this.setSlot("manual", { ...loc, obtainedAt: entry.enteredAt }, key, mac);
  }

  private build(source: LocationSource, civic: CivicAddress | undefined, method: LocationMethod, point?: { lat: number; lon: number }): KnownLocation {
    const c = civic && normaliseCivic(civic);
    const pidf = buildPidfLo({ entity: this.deps.entity, tupleId: `loc-${source}`, civic: c, point, method, providedBy: this.deps.providedBy, retransmissionAllowed: true, timestamp: new Date(this.clock.wallNow()) });
    const text = c ? civicLine(c) || c.country : point ? `${point.lat}, ${point.lon}` : "";
    return { source, pidf, text, civic: c, obtainedAt: this.clock.wallNow() };
  }

  private tryBuild(source: LocationSource, civic: CivicAddress | undefined, method: LocationMethod, point?: { lat: number; lon: number }): KnownLocation | null {
    try {
      return this.build(source, civic, method, point);
    } catch (e) {
      this.log.warn({ source }, `location: the ${source} location is not usable: ${(e as Error).message}`);
      return null;
    }
  }

  private setSlot(source: LocationSource, loc: KnownLocation, key?: string, net: string | null = this.netKey()): void {
    this.slots[source] = { loc, net, key };
    this.recompute();
  }

  private dropSlot(source: LocationSource): void {
    if (this.slots[source]) delete this.slots[source];
    this.recompute();
  }

  /** Picks the best source; saves and announces a change. */
  private recompute(): void {
    const best = (Object.keys(this.slots) as LocationSource[]).sort((a, b) => SOURCE_RANK[a] - SOURCE_RANK[b])[0];
    let next: KnownLocation | null = best ? this.slots[best]!.loc : null;
    const elin = this.lldpLast?.elin;
    if (next && elin && !next.elin) next = { ...next, elin };
    const cur = this.cur;
    if (next === cur || (next && cur && next.pidf === cur.pidf && next.source === cur.source && next.text === cur.text && next.elin === cur.elin)) return;
    const before = this.cur;
    this.cur = next;
    if (this.loaded) void this.store.setCurrent(next, best ? this.slots[best]!.net : null);
    if (sameLocation(before, next)) return;
    this.log.info({ source: next?.source ?? null, text: next?.text ?? null }, "location: current location changed");
    for (const l of this.listeners) {
      try {
        l(next, before);
      } catch (e) {
        this.log.error({ err: e }, "location: an onChange listener threw");
      }
    }
  }
}

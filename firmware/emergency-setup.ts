// The phone's emergency side, wired from the config bundle: the location policy (Lync's fields) and what it means for
// the dial plan, and the location service (LIS over HELD, LLDP-MED on the link, the provisioned address, the user's
// manual entry per network, a cache in DATA_DIR/location.json) rebuilt whenever a new bundle arrives. The LIS is the
// bundle's, else found by RFC 5986 discovery (U-NAPTR "LIS:HELD" on the DHCP lease's access-network domain, option
// 213, else its domain name). The network watch runs once for the whole life of the phone.
import * as path from "node:path";
import type { Clock } from "../src/base/clock.js";
import type { Logger } from "../src/base/log.js";
import type { ConfigBundle } from "../src/provisioning/config-bundle.js";
import type { DialPlanConfig } from "../src/phone/core/dial-plan.js";
import { DEFAULT_LOCATION_POLICY, type KnownLocation, type LocationPolicy } from "../src/location/location-types.js";
import { HeldClient } from "../src/location/held-client.js";
import { LocationService } from "../src/location/location-service.js";
import { LldpListener } from "../src/location/lldp-listener.js";
import { NetworkWatch } from "../src/location/network-watch.js";
import type { CivicAddress } from "../src/location/pidf-lo.js";
import { discoverLis } from "../src/location/lis-discovery.js";
import { leaseAccessDomains, leaseGeoconfCivic } from "../src/provisioning/discovery.js";

/** The bundle's location policy with defaults filled in (absent: enabled, no prompt, 911, mask 112, every 4 h). */
export function locationPolicyOf(b: ConfigBundle | null): LocationPolicy {
  const p = b?.locationPolicy ?? {};
  const d = DEFAULT_LOCATION_POLICY;
  const list = (s: string | undefined, sep: RegExp): string[] | undefined => (s === undefined ? undefined : s.split(sep).map((x) => x.trim()).filter(Boolean));
  return {
    enhancedEmergencyServicesEnabled: p.enhancedEmergencyServicesEnabled ?? d.enhancedEmergencyServicesEnabled,
    locationRequired: p.locationRequired ?? d.locationRequired,
    ...(p.enhancedEmergencyServiceDisclaimer ? { disclaimer: p.enhancedEmergencyServiceDisclaimer } : {}),
    useLocationForE911Only: p.useLocationForE911Only ?? d.useLocationForE911Only,
    emergencyDialString: p.emergencyDialString ?? d.emergencyDialString,
    emergencyDialMasks: list(p.emergencyDialMask, /;/) ?? d.emergencyDialMasks,
    notificationUris: list(p.notificationUri, /,/) ?? d.notificationUris,
    ...(p.conferenceUri ? { conferenceUri: p.conferenceUri } : {}),
    ...(p.conferenceMode ? { conferenceMode: p.conferenceMode } : {}),
    locationRefreshIntervalH: p.locationRefreshInterval ?? d.locationRefreshIntervalH,
    ...(p.locationPolicyTagId ? { policyTagId: p.locationPolicyTagId } : {}),
  };
}

/**
 * The dial plan's emergency part with the policy folded in: the emergency dial string is an emergency number, and
 * each mask dials it (Lync: mask 112 -> 911). The dial plan's own numbers and masks stay (911 and 112 by default).
 */
export function emergencyDialPlan(dp: DialPlanConfig, p: LocationPolicy): DialPlanConfig {
  const numbers = [...new Set([...dp.emergencyNumbers, p.emergencyDialString])];
  const masks: Record<string, string> = { ...(dp.emergencyMasks ?? {}) };
  for (const m of p.emergencyDialMasks) if (m !== p.emergencyDialString) masks[m] = p.emergencyDialString;
  return { ...dp, emergencyNumbers: numbers, emergencyMasks: masks };
}

/** The location side of the running phone (see the file header). */
export class PhoneLocation {
  private readonly network: NetworkWatch;
  private service: LocationService | null = null;
  private lldp: LldpListener | null = null;
  private off: (() => void) | null = null;
  private readonly held: HeldClient;

  constructor(
    private readonly o: { dataDir: string; clock: Clock; log: Logger; onLocation(l: KnownLocation | null): void; leaseOptions?: { leaseFiles?: string[]; leaseDirs?: string[] }; dnsServers?: string[]; iface?: string },
  ) {
    this.network = new NetworkWatch({ clock: o.clock, log: o.log, ...(o.iface ? { iface: o.iface } : {}) });
    this.held = new HeldClient({ clock: o.clock, log: o.log });
  }

  get current(): LocationService | null {
    return this.service;
  }

  /** The default gateway's MAC: the network a manual location is kept for. */
  networkName(): string | null {
    return this.network.state()?.gatewayMac ?? null;
  }

  async start(): Promise<void> {
    await this.network.start();
  }

  /** A new bundle (or none): the location service starts again with its LIS, address and refresh interval. */
  async apply(b: ConfigBundle | null): Promise<void> {
    await this.stopService();
    const acc = b?.accounts[0];
    const policy = locationPolicyOf(b);
    if (!acc || !policy.enhancedEmergencyServicesEnabled) {
      this.o.onLocation(null);
      return;
    }
    const loc = b.location ?? {};
    if (loc.lldpInterface) {
      const l = new LldpListener({ iface: loc.lldpInterface, clock: this.o.clock, log: this.o.log });
      this.lldp = l;
      // a missing tcpdump or interface is logged; the phone goes on with its other sources
      l.start().catch((e: Error) => this.o.log.warn({ err: e.message, iface: loc.lldpInterface }, "LLDP-MED location not available"));
    }
    const s = new LocationService({
      clock: this.o.clock,
      log: this.o.log,
      storePath: path.join(this.o.dataDir, "location.json"),
      locator: this.held,
      lisTarget: loc.lisUrl ? { url: loc.lisUrl, timeoutMs: 3000, ...(loc.lisCa ? { caPem: loc.lisCa } : {}) } : null,
      deviceIds: () => this.ids(),
      entity: `sip:${acc.user}@${acc.domain}`,
      ...(loc.civic ? { provisioned: loc.civic as CivicAddress } : {}),
      policy: { refreshIntervalH: policy.locationRefreshIntervalH },
      ...(this.lldp ? { lldp: this.lldp } : {}),
      network: this.network,
      // DHCP option 99 (RFC 4776) from the newest lease: the "dhcp" source
      dhcpCivic: () => leaseGeoconfCivic({ ...(this.o.leaseOptions ?? {}), ...(this.o.iface ? { interface: this.o.iface } : {}) }),
    });
    this.service = s;
    this.off = s.onChange((now) => this.o.onLocation(now));
    await s.start();
    this.o.onLocation(s.current());
    if (!loc.lisUrl) void this.discover(s);
  }

  /** RFC 5986 LIS discovery (in the background: the phone never waits for it); a LIS found is used from then on. */
  private async discover(s: LocationService): Promise<void> {
    const { domains, notes } = await leaseAccessDomains(this.o.leaseOptions ?? {});
    if (!domains.length) {
      this.o.log.info({ notes }, "LIS discovery: no access-network domain in the DHCP leases (no LIS is used)");
      return;
    }
    const r = await discoverLis({
      domains,
      ...(this.o.dnsServers ? { servers: this.o.dnsServers } : {}),
      verify: (url) => this.held.locate({ url, timeoutMs: 3000 }, this.ids(), { emergency: false }),
    });
    this.o.log.info({ url: r.url, notes: [...notes, ...r.notes] }, "LIS discovery");
    if (r.url && this.service === s) s.setLisTarget({ url: r.url, timeoutMs: 3000 });
  }

  private ids(): { ip?: string; mac?: string } {
    const st = this.network.state();
    return { ...(st?.ipv4 ? { ip: st.ipv4 } : {}), ...(st?.mac ? { mac: st.mac } : {}) };
  }

  private async stopService(): Promise<void> {
    this.off?.();
    this.off = null;
    const s = this.service;
    this.service = null;
    await s?.stop();
    const l = this.lldp;
    this.lldp = null;
    await l?.stop();
  }

  /** Stops the location service and the network watch; ends the HELD client's kept-alive connections (it is ours). */
  async stop(): Promise<void> {
    await this.stopService();
    this.held.close();
    this.network.stop();
  }
}

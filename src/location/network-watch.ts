// Where the phone is attached: the default gateway and its MAC (from /proc/net/route and /proc/net/arp), the
// interface's link state (/sys/class/net/IFACE/operstate), IPv4 address and MAC (os.networkInterfaces()), and a poller
// on the injected Clock that reports what changed. A manual location is kept per default gateway MAC (standards §5.4),
// and a link, address or gateway change makes the location service ask again (§7 item 10). Paths are injectable so
// tests can hand it files of their own.
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Clock, Timer } from "../base/clock.js";
import { silentLogger, type Logger } from "../base/log.js";

/** The attachment as last seen. */
export interface NetworkState {
  /** The interface watched (the configured one, or the default route's). */
  iface: string | null;
  linkUp: boolean;
  ipv4: string | null;
  /** The interface's MAC, lower case, colon separated. */
  mac: string | null;
  /** The default gateway's IPv4 address. */
  gateway: string | null;
  /** The default gateway's MAC, from the ARP table (kept while the gateway stays the same, even if the entry ages out). */
  gatewayMac: string | null;
}

/**
 * What changed: "link" (up/down), "address" (IPv4 or MAC), "gateway" (another gateway: its address, or a known MAC
 * replaced by another), "gateway-mac" (the same gateway's MAC learnt for the first time).
 */
export type NetworkChange = "link" | "address" | "gateway" | "gateway-mac";

/** What the location service needs from a network watch. */
export interface NetworkSource {
  state(): NetworkState | null;
  onChange(listener: (now: NetworkState, changes: NetworkChange[], before: NetworkState | null) => void): () => void;
}

const hexIp = (h: string): string | null => {
  if (!/^[0-9A-Fa-f]{8}$/.test(h)) return null;
  const n = parseInt(h, 16); // /proc/net/route: host byte order, little endian on every platform the phone runs on
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join(".");
};

/** The default IPv4 route (lowest metric, up, via a gateway), optionally on one interface; null when there is none. */
export async function readDefaultGateway(routePath = "/proc/net/route", iface?: string): Promise<{ iface: string; gateway: string } | null> {
  const text = await fs.readFile(routePath, "utf8");
  let best: { iface: string; gateway: string; metric: number } | null = null;
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [name, dest, gw, flags, , , metric, mask] = f;
    if (iface && name !== iface) continue;
    const fl = parseInt(flags, 16);
    if (dest !== "00000000" || mask !== "00000000" || (fl & 3) !== 3) continue;
    const gateway = hexIp(gw);
    const m = Number(metric);
    if (gateway && (!best || m < best.metric)) best = { iface: name, gateway, metric: m };
  }
  return best && { iface: best.iface, gateway: best.gateway };
}

/** A MAC in the phone's one form: lower case, colon separated; null when it is not a MAC or all zeros. */
export function normaliseMac(mac: string | null | undefined): string | null {
  const hex = (mac ?? "").replace(/[^0-9A-Fa-f]/g, "").toLowerCase();
  if (hex.length !== 12 || /^0+$/.test(hex)) return null;
  return hex.match(/../g)!.join(":");
}

/** The MAC the ARP table holds for `ip` (complete entries only), optionally on one interface. */
export async function readArpMac(ip: string, arpPath = "/proc/net/arp", iface?: string): Promise<string | null> {
  const text = await fs.readFile(arpPath, "utf8");
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || f[0] !== ip || (iface && f[5] !== iface)) continue;
    if ((parseInt(f[2], 16) & 2) === 0) continue; // ATF_COM: the entry is complete
    const mac = normaliseMac(f[3]);
    if (mac) return mac;
  }
  return null;
}

/** The interface's first IPv4 address and its MAC. */
export function interfaceAddress(iface: string, nets: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): { ipv4: string | null; mac: string | null } {
  const list = nets[iface] ?? [];
  const v4 = list.find((a) => a.family === "IPv4" && !a.internal);
  return { ipv4: v4?.address ?? null, mac: normaliseMac(list[0]?.mac) };
}

export interface NetworkWatchOptions {
  clock: Clock;
  log?: Logger;
  /** The interface to watch; by default the one the default route uses. */
  iface?: string;
  /** Poll period (default 5000 ms). */
  intervalMs?: number;
  routePath?: string;
  arpPath?: string;
  /** The directory holding IFACE/operstate (default /sys/class/net). */
  sysNetDir?: string;
  /** Defaults to os.networkInterfaces. */
  interfaces?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
}

/** Polls the attachment and reports changes (see the file header). */
export class NetworkWatch implements NetworkSource {
  private readonly log: Logger;
  private current: NetworkState | null = null;
  private timer: Timer | null = null;
  private polling: Promise<void> | null = null;
  private readonly listeners = new Set<(now: NetworkState, changes: NetworkChange[], before: NetworkState | null) => void>();

  constructor(private readonly opts: NetworkWatchOptions) {
    this.log = opts.log ?? silentLogger();
  }

  /** The state from the last poll (null before the first). */
  state(): NetworkState | null {
    return this.current;
  }

  onChange(listener: (now: NetworkState, changes: NetworkChange[], before: NetworkState | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads the state once, then polls. Never throws: an unreadable file counts as "not known". */
  async start(): Promise<NetworkState> {
    await this.poll();
    this.timer ??= this.opts.clock.setInterval(() => void this.poll(), this.opts.intervalMs ?? 5000);
    return this.current!;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** One poll now (concurrent calls share it); reports the changes since the last one. */
  poll(): Promise<void> {
    this.polling ??= this.read()
      .then((s) => this.update(s))
      .finally(() => (this.polling = null));
    return this.polling;
  }

  /** Reads the attachment as it is now. */
  async read(): Promise<NetworkState> {
    const o = this.opts;
    const quiet = <T>(p: Promise<T>, what: string): Promise<T | null> =>
      p.catch((e: Error) => {
        this.log.debug({ err: e.message }, `network watch: could not read ${what}`);
        return null;
      });
    const route = await quiet(readDefaultGateway(o.routePath, o.iface), "the routing table");
    const iface = o.iface ?? route?.iface ?? null;
    const gateway = route?.gateway ?? null;
    let gatewayMac = gateway ? await quiet(readArpMac(gateway, o.arpPath, iface ?? undefined), "the ARP table") : null;
    if (!gatewayMac && gateway && this.current?.gateway === gateway) gatewayMac = this.current.gatewayMac;
    const addr = iface ? interfaceAddress(iface, (o.interfaces ?? os.networkInterfaces)()) : { ipv4: null, mac: null };
    const oper = iface ? await quiet(fs.readFile(path.join(o.sysNetDir ?? "/sys/class/net", iface, "operstate"), "utf8"), "the link state") : null;
    // "unknown" is what virtual links and some drivers report while passing traffic; an address counts then.
    const linkUp = oper === null ? addr.ipv4 !== null : oper.trim() === "up" || (oper.trim() === "unknown" && addr.ipv4 !== null);
    return { iface, linkUp, ipv4: addr.ipv4, mac: addr.mac, gateway, gatewayMac };
  }

  private update(now: NetworkState): void {
    const before = this.current;
    this.current = now;
    const changes: NetworkChange[] = [];
    if (!before) {
      this.log.info(now, "network watch: first reading");
      return;
    }
    if (before.linkUp !== now.linkUp || before.iface !== now.iface) changes.push("link");
    if (before.ipv4 !== now.ipv4 || before.mac !== now.mac) changes.push("address");
    if (before.gateway !== now.gateway || (before.gatewayMac !== null && now.gatewayMac !== null && before.gatewayMac !== now.gatewayMac)) changes.push("gateway");
    else if (before.gatewayMac === null && now.gatewayMac !== null) changes.push("gateway-mac");
    if (!changes.length) return;
    this.log.info({ ...now, changes }, "network watch: attachment changed");
    for (const l of this.listeners) {
      try {
        l(now, changes, before);
      } catch (e) {
        this.log.error({ err: e }, "network watch: a listener threw");
      }
    }
  }
}

// RFC 3263 server location, the part a phone needs: an IP address is used as it is; a name with a port is looked up
// as A/AAAA; a name without one is looked up as SRV (_sip._udp, _sip._tcp, _sips._tcp by the configured transport),
// ordered by priority then weight (RFC 2782), falling back to A/AAAA on the default port.
import { promises as dnsp } from "node:dns";
import * as net from "node:net";
import type { TransportTarget, SipProtocol } from "./transport/node-transport.js";

export interface SipServer {
  host: string;
  port?: number;
  transport: "udp" | "tcp" | "tls";
  /**
   * Emergency calls only (RFC 6881 ED-58): where a TLS server that does not connect is tried at once over TCP: this
   * port on the same address. Without it, a server named without a port is looked up again for TCP (SRV _sip._tcp,
   * else 5060), and any other goes to 5060.
   */
  fallbackTcpPort?: number;
}

export interface Resolver {
  resolveSrv(name: string): Promise<Array<{ name: string; port: number; priority: number; weight: number }>>;
  lookup(host: string): Promise<string[]>;
}

export const systemResolver: Resolver = {
  resolveSrv: (name) => dnsp.resolveSrv(name),
  lookup: async (host) => (await dnsp.lookup(host, { all: true })).map((a) => a.address),
};

/** A resolver asking the given DNS servers ("10.0.0.53" or "127.0.0.1:5353"), or the system's when none are given. */
export function createResolver(servers?: readonly string[]): Resolver {
  if (!servers?.length) return systemResolver;
  const r = new dnsp.Resolver({ timeout: 2000, tries: 2 });
  r.setServers([...servers]);
  return {
    resolveSrv: (name) => r.resolveSrv(name),
    lookup: async (host) => {
      const v4 = await r.resolve4(host).catch(() => [] as string[]);
      if (v4.length) return v4;
      return r.resolve6(host);
    },
  };
}

const PROTO: Record<SipServer["transport"], SipProtocol> = { udp: "UDP", tcp: "TCP", tls: "TLS" };
const SRV: Record<SipServer["transport"], string> = { udp: "_sip._udp.", tcp: "_sip._tcp.", tls: "_sips._tcp." };

/** Orders SRV records: lowest priority first; within a priority, higher weight first (deterministic, no shuffle). */
export function orderSrv<T extends { priority: number; weight: number }>(records: T[]): T[] {
  return [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight);
}

/** Every address to try for `server`, in order. Throws with a plain reason when the name does not resolve. */
export async function resolveServer(server: SipServer, resolver: Resolver = systemResolver): Promise<TransportTarget[]> {
  const protocol = PROTO[server.transport];
  const defaultPort = server.transport === "tls" ? 5061 : 5060;
  const serverName = net.isIP(server.host) ? undefined : server.host;
  const named = (host: string, port: number): TransportTarget => ({ protocol, host, port, ...(serverName ? { serverName } : {}) });
  if (net.isIP(server.host)) return [named(server.host, server.port ?? defaultPort)];
  if (server.port === undefined) {
    let srv: Awaited<ReturnType<Resolver["resolveSrv"]>> = [];
    try {
      srv = await resolver.resolveSrv(SRV[server.transport] + server.host);
    } catch {
      srv = [];
    }
    if (srv.length) {
      const out: TransportTarget[] = [];
      for (const r of orderSrv(srv)) {
        try {
          for (const a of await resolver.lookup(r.name)) out.push(named(a, r.port));
        } catch {
          // a target that does not resolve is skipped; the next one is tried
        }
      }
      if (out.length) return out;
    }
  }
  let addrs: string[];
  try {
    addrs = await resolver.lookup(server.host);
  } catch (e) {
    throw new Error(`cannot find the server '${server.host}' (DNS: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return addrs.map((a) => named(a, server.port ?? defaultPort));
}

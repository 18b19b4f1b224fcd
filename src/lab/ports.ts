// Free loopback ports for the real peers of the lab and the tests. A port is "free" when we could bind it a moment
// ago; another process may still take it before the peer does, so launchers retry on "Address already in use".
import * as dgram from "node:dgram";
import * as net from "node:net";

export type PortProto = "udp" | "tcp";

const HOST = "127.0.0.1";

/**
 * Ports handed out by this process recently: the kernel may return a just-closed port again, and two launchers
 * asking one after the other must not get the same one.
 */
const handedOut = new Set<number>();
const HANDED_OUT_MAX = 2000;

function remember(ports: number[]): void {
  for (const p of ports) handedOut.add(p);
  while (handedOut.size > HANDED_OUT_MAX) {
    const first = handedOut.values().next().value;
    if (first === undefined) break;
    handedOut.delete(first);
  }
}

/** Binds `port` (0 = any) on 127.0.0.1 with `proto`; resolves with the bound port, or null if it is taken. */
export function tryBind(proto: PortProto, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    if (proto === "tcp") {
      const s = net.createServer();
      s.once("error", () => resolve(null));
      s.listen({ port, host: HOST, exclusive: true }, () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    } else {
      const u = dgram.createSocket({ type: "udp4", reuseAddr: false });
      u.once("error", () => {
        try {
          u.close();
        } catch {
          // never bound
        }
        resolve(null);
      });
      u.bind({ port, address: HOST, exclusive: true }, () => {
        const p = u.address().port;
        u.close(() => resolve(p));
      });
    }
  });
}

/** True when `port` can be bound on 127.0.0.1 on both UDP and TCP. */
export async function portFreeBoth(port: number): Promise<boolean> {
  return (await tryBind("tcp", port)) !== null && (await tryBind("udp", port)) !== null;
}

/** A free loopback port for `proto`, found by binding port 0 and closing again. */
export async function freePort(proto: PortProto = "udp"): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await tryBind(proto, 0);
    if (p !== null && !handedOut.has(p)) {
      remember([p]);
      return p;
    }
  }
  throw new Error(`no free loopback ${proto} port found in 50 tries`);
}

export interface FreePortsOptions {
  /** Distance between the returned ports; every port of the block in between is free too. Default 1. */
  spacing?: number;
}

/**
 * `n` ports `base, base+spacing, ...`, where the whole block `base .. base + n*spacing - 1` is free on both UDP and TCP
 * (a SIP peer binds a port on both; baresip also binds its SIP port + 1 for TLS, so it takes spacing 2). The bases are
 * drawn from below the kernel's ephemeral range, so outgoing connections of other peers do not land on them.
 */
export async function freePorts(n: number, opts: FreePortsOptions = {}): Promise<number[]> {
  const spacing = Math.max(1, Math.floor(opts.spacing ?? 1));
  const size = n * spacing;
  if (n < 1 || size > 1000) throw new RangeError(`freePorts: cannot find a block of ${n} x ${spacing} ports`);
  const low = 20000;
  const high = 32000 - size;
  for (let attempt = 0; attempt < 200; attempt++) {
    // Half the tries from a random base below the ephemeral range, half from what the kernel hands out for port 0.
    let base: number;
    if (attempt % 2 === 0) base = low + Math.floor(Math.random() * (high - low));
    else {
      const p = await tryBind("tcp", 0);
      if (p === null || p + size > 65535) continue;
      base = p;
    }
    const block = Array.from({ length: size }, (_, i) => base + i);
    if (block.some((p) => handedOut.has(p))) continue;
    let ok = true;
    for (const p of block) {
      if (!(await portFreeBoth(p))) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    remember(block);
    return Array.from({ length: n }, (_, i) => base + i * spacing);
  }
  throw new Error(`no free block of ${size} consecutive loopback ports (UDP and TCP) found`);
}

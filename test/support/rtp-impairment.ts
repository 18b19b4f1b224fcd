// A bad network between two RTP endpoints, for tests: a relay with one UDP port per side that learns each side's
// address from what it sends (symmetric RTP), and toward side A loses a share of the packets and delays each one by a
// random 0..2x the given jitter (so packets also arrive out of order). Deterministic: a seeded generator decides.
import * as dgram from "node:dgram";

export interface ImpairedRelay {
  /** The port side A (the phone under test) must send to: it stands for side B. */
  readonly portForA: number;
  /** The port side B (the far end) must send to: it stands for side A. */
  readonly portForB: number;
  readonly stats: { toA: number; lostToA: number; toB: number };
  close(): Promise<void>;
}

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startImpairedRelay(o: { lossToA: number; jitterMsToA: number; seed?: number }): Promise<ImpairedRelay> {
  const random = rng(o.seed ?? 1);
  const forA = dgram.createSocket("udp4");
  const forB = dgram.createSocket("udp4");
  let a: dgram.RemoteInfo | undefined;
  let b: dgram.RemoteInfo | undefined;
  const stats = { toA: 0, lostToA: 0, toB: 0 };
  const timers = new Set<NodeJS.Timeout>();
  forA.on("message", (msg, from) => {
    a = from;
    if (!b) return;
    stats.toB++;
    forB.send(msg, b.port, b.address);
  });
  forB.on("message", (msg, from) => {
    b = from;
    if (!a) return;
    if (random() < o.lossToA) {
      stats.lostToA++;
      return;
    }
    const to = a;
    const t = setTimeout(() => {
      timers.delete(t);
      stats.toA++;
      forA.send(msg, to.port, to.address);
    }, random() * 2 * o.jitterMsToA);
    timers.add(t);
  });
  await Promise.all([forA, forB].map((s) => new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()))));
  return {
    portForA: forA.address().port,
    portForB: forB.address().port,
    stats,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      await Promise.all([forA, forB].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

// Two SerialLinks joined back to back in memory: a null-modem cable for unit tests and the simulator.
import { Listeners, type Unsubscribe } from "../api/events.js";
import type { SerialLink } from "../api/serial.js";
import { PhoneError, ErrorCodes } from "../../base/errors.js";

export interface SerialPairOptions {
  pathA?: string;
  pathB?: string;
  /** Split every write into pieces of 1..maxChunk bytes, each delivered in its own event-loop turn. */
  randomChunks?: { maxChunk: number; seed?: number };
}

export interface SerialPair {
  readonly a: SerialLink;
  readonly b: SerialLink;
  /** Pulls the cable: both ends close and report `err` to their onClose listeners. */
  disconnect(err?: Error): void;
}

/** mulberry32: a tiny seeded PRNG so random chunking is reproducible. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class PairEnd implements SerialLink {
  readonly data = new Listeners<Uint8Array>();
  readonly closed = new Listeners<Error | undefined>();
  peer!: PairEnd;
  isClosed = false;
  // Bytes on their way to the peer, delivered in order on later event-loop turns (never on the Clock:
  // a ManualClock test must not have to advance time for bytes to move).
  private queue: Uint8Array[] = [];
  private scheduled = false;

  constructor(
    readonly path: string,
    private readonly chunker: ((n: number) => number) | undefined,
  ) {}

  async write(data: Uint8Array): Promise<void> {
    if (this.isClosed) throw new PhoneError(ErrorCodes.DEVICE_CLOSED, `serial link ${this.path} is closed`, { path: this.path });
    if (data.length === 0) return;
    this.queue.push(Uint8Array.from(data));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.pump());
    }
  }

  onData(cb: (chunk: Uint8Array) => void): Unsubscribe {
    return this.data.add(cb);
  }

  onClose(cb: (err?: Error) => void): Unsubscribe {
    return this.closed.add(cb);
  }

  async close(): Promise<void> {
    this.shut(undefined);
  }

  shut(err: Error | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.queue = [];
    this.closed.emit(err);
    this.closed.clear();
    this.data.clear();
  }

  private pump(): void {
    this.scheduled = false;
    const head = this.queue[0];
    if (!head || this.isClosed) return;
    const n = this.chunker ? Math.min(head.length, this.chunker(head.length)) : head.length;
    const piece = head.subarray(0, n);
    if (n === head.length) this.queue.shift();
    else this.queue[0] = head.subarray(n);
    // Bytes sent to a closed end fall on the floor, as on a real line.
    if (!this.peer.isClosed) this.peer.data.emit(piece);
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.pump());
    }
  }
}

export function createSerialPair(opts: SerialPairOptions = {}): SerialPair {
  let chunker: ((n: number) => number) | undefined;
  if (opts.randomChunks) {
    const rnd = prng(opts.randomChunks.seed ?? 1);
    const max = Math.max(1, opts.randomChunks.maxChunk);
    chunker = () => 1 + Math.floor(rnd() * max);
  }
  const a = new PairEnd(opts.pathA ?? "mem:a", chunker);
  const b = new PairEnd(opts.pathB ?? "mem:b", chunker);
  a.peer = b;
  b.peer = a;
  return {
    a,
    b,
    disconnect(err = new PhoneError(ErrorCodes.DEVICE_ABSENT, "serial cable disconnected")) {
      a.shut(err);
      b.shut(err);
    },
  };
}

// A stand-in for /dev/input/eventN: a real FIFO in a temp dir carrying binary struct input_event records, so the
// evdev driver reads it through exactly the fs code path it uses on a device.
//
// Backend face: key(code, down), sw(code, value), syn(), event(type, code, value), writeRaw(bytes), path, close().
// Like the kernel (input_report_key + input_sync), key() and sw() follow the event with SYN_REPORT unless told not to.
import { execFile } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { createSystemClock, type Clock } from "../../base/clock.js";
import { PhoneError, ErrorCodes } from "../../base/errors.js";
import { EV_KEY, EV_SW, EV_SYN } from "../api/input-events.js";

const run = promisify(execFile);
const SYN_REPORT = 0;

export interface EvdevEmulOptions {
  /** 24 for a 64-bit reader, 16 for a 32-bit one; must match what the reader expects. */
  recordSize?: 16 | 24;
  /** Stamps records with clock.wallNow(), as the kernel stamps them with CLOCK_REALTIME. */
  clock?: Clock;
  /** File name of the FIFO inside the temp dir (default "event0"). */
  name?: string;
}

/** One struct input_event in native byte order (see src/hal/drivers/input-evdev.ts for the layouts). */
export function encodeInputEvent(type: number, code: number, value: number, tMs: number, size: 16 | 24): Buffer {
  const b = Buffer.alloc(size);
  const le = os.endianness() === "LE";
  const sec = Math.floor(tMs / 1000);
  const usec = Math.round((tMs - sec * 1000) * 1000);
  if (size === 24) {
    if (le) {
      b.writeBigInt64LE(BigInt(sec), 0);
      b.writeBigInt64LE(BigInt(usec), 8);
    } else {
      b.writeBigInt64BE(BigInt(sec), 0);
      b.writeBigInt64BE(BigInt(usec), 8);
    }
  } else if (le) {
    b.writeUInt32LE(sec >>> 0, 0);
    b.writeUInt32LE(usec, 4);
  } else {
    b.writeUInt32BE(sec >>> 0, 0);
    b.writeUInt32BE(usec, 4);
  }
  const p = size - 8;
  if (le) {
    b.writeUInt16LE(type, p);
    b.writeUInt16LE(code, p + 2);
    b.writeInt32LE(value, p + 4);
  } else {
    b.writeUInt16BE(type, p);
    b.writeUInt16BE(code, p + 2);
    b.writeInt32BE(value, p + 4);
  }
  return b;
}

export class EvdevEmul {
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly dir: string,
    private readonly fh: fsp.FileHandle,
    readonly recordSize: 16 | 24,
    private readonly clock: Clock,
  ) {}

  static async create(opts: EvdevEmulOptions = {}): Promise<EvdevEmul> {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "evdev-emul-"));
    const fifo = path.join(dir, opts.name ?? "event0");
    try {
      await run("mkfifo", ["-m", "600", fifo]);
      // O_RDWR: on Linux opening a FIFO read-write never blocks, and it keeps a writer present, so the driver's
      // read-only open returns at once. Closing this handle is what gives the reader EOF.
      const fh = await fsp.open(fifo, "r+");
      return new EvdevEmul(fifo, dir, fh, opts.recordSize ?? (process.arch === "arm" || process.arch === "ia32" ? 16 : 24), opts.clock ?? createSystemClock());
    } catch (e) {
      await fsp.rm(dir, { recursive: true, force: true });
      throw new PhoneError(ErrorCodes.DEVICE_ABSENT, `evdev emulator: cannot make a FIFO at ${fifo} (is mkfifo installed?): ${(e as Error).message}`, {
        path: fifo,
      });
    }
  }

  /** EV_KEY press (1) or release (0), then SYN_REPORT unless sync is false. */
  key(code: number, down: boolean, { sync = true }: { sync?: boolean } = {}): Promise<void> {
    return this.events([[EV_KEY, code, down ? 1 : 0]], sync);
  }

  /** EV_SW with a value (1 = set, e.g. inserted / lid shut), then SYN_REPORT unless sync is false. */
  sw(code: number, value: number, { sync = true }: { sync?: boolean } = {}): Promise<void> {
    return this.events([[EV_SW, code, value]], sync);
  }

  syn(code = SYN_REPORT): Promise<void> {
    return this.events([[EV_SYN, code, 0]], false);
  }

  /** Any one record, unsynced (autorepeat: event(EV_KEY, code, 2); overflow: event(EV_SYN, SYN_DROPPED, 0)). */
  event(type: number, code: number, value: number): Promise<void> {
    return this.events([[type, code, value]], false);
  }

  /** Raw bytes as they are, e.g. half a record, to test readers against split records. */
  writeRaw(bytes: Uint8Array): Promise<void> {
    return this.enqueue(Buffer.from(bytes));
  }

  /** Encodes a record with this emulator's size and clock without writing it. */
  encode(type: number, code: number, value: number): Buffer {
    return encodeInputEvent(type, code, value, this.clock.wallNow(), this.recordSize);
  }

  /** Closes the writer (the reader sees EOF) and removes the temp dir. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail.catch(() => undefined);
    await this.fh.close().catch(() => undefined);
    await fsp.rm(this.dir, { recursive: true, force: true });
  }

  private events(list: [number, number, number][], sync: boolean): Promise<void> {
    const recs = list.map(([t, c, v]) => this.encode(t, c, v));
    if (sync) recs.push(this.encode(EV_SYN, SYN_REPORT, 0));
    return this.enqueue(Buffer.concat(recs));
  }

  /** Writes in call order; one write per call, as the kernel hands a batch to read() at once. */
  private enqueue(buf: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new PhoneError(ErrorCodes.DEVICE_CLOSED, `evdev emulator ${this.path} is closed`));
    const p = this.tail.then(async () => {
      await this.fh.write(buf);
    });
    this.tail = p.catch(() => undefined);
    return p;
  }
}

// Linux input events from /dev/input/eventN (or a FIFO carrying the same bytes), read with plain fs streams.
//
// struct input_event (include/uapi/linux/input.h), native byte order:
//   64-bit userspace: s64 tv_sec, s64 tv_usec, u16 type, u16 code, s32 value   = 24 bytes
//   32-bit userspace (arm, ia32): 32-bit sec and usec, then the same 8 bytes = 16 bytes. The kernel picks the
//   layout from the reading process (compat), so an armhf Node on an arm64 kernel still gets 16 bytes, and
//   it stays 16 with a 64-bit time_t userland (the UAPI keeps __kernel_ulong_t there).
// Timestamps are CLOCK_REALTIME unless EVIOCSCLOCKID says otherwise.
//
// No native code, hence no ioctl: a real device would normally be grabbed with EVIOCGRAB so the console or a
// desktop does not see the keys too, and queried with EVIOCGKEY/EVIOCGSW for the state at open. Node cannot issue
// ioctls, so neither happens here: keep phone key devices away from consoles (udev rules) and treat the
// initial switch state as a board fact.
import { promises as fsp } from "node:fs";
import type { ReadStream } from "node:fs";
import * as os from "node:os";
import { PhoneError, ErrorCodes, errnoCode } from "../../base/errors.js";
import { Listeners, type Unsubscribe } from "../api/events.js";
import type { InputEvent, InputEventSource } from "../api/input-events.js";

export type InputRecordSize = 16 | 24;

export interface EvdevOptions {
  /** Bytes per struct input_event; defaults to the running Node's word size. */
  recordSize?: InputRecordSize;
}

/** The record size the kernel uses for this process. */
export function defaultRecordSize(arch: string = process.arch): InputRecordSize {
  return arch === "arm" || arch === "ia32" || arch === "mipsel" || arch === "ppc" ? 16 : 24;
}

/** Decodes one record at `off` (native byte order). Exported for the emulator's tests and tools. */
export function decodeInputEvent(buf: Buffer, off: number, size: InputRecordSize, le = os.endianness() === "LE"): InputEvent {
  let sec: number;
  let usec: number;
  if (size === 24) {
    sec = Number(le ? buf.readBigInt64LE(off) : buf.readBigInt64BE(off));
    usec = Number(le ? buf.readBigInt64LE(off + 8) : buf.readBigInt64BE(off + 8));
  } else {
    // Unsigned, as the compat layout is (__kernel_ulong_t): keeps working past 2038.
    sec = le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
    usec = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
  }
  const p = off + size - 8;
  return {
    type: le ? buf.readUInt16LE(p) : buf.readUInt16BE(p),
    code: le ? buf.readUInt16LE(p + 2) : buf.readUInt16BE(p + 2),
    value: le ? buf.readInt32LE(p + 4) : buf.readInt32BE(p + 4),
    tMs: sec * 1000 + usec / 1000,
  };
}

export class EvdevInputSource implements InputEventSource {
  private readonly listeners = new Listeners<InputEvent>();
  private readonly errors = new Listeners<PhoneError>();
  private pending: Buffer = Buffer.alloc(0);
  private closed = false;

  constructor(
    readonly path: string,
    readonly recordSize: InputRecordSize,
    private readonly stream: ReadStream,
  ) {
    stream.on("data", (chunk) => this.onChunk(chunk as Buffer));
    stream.on("error", (e) => this.fail(e, "reading"));
    // EOF: every writer of a FIFO went away. A real evdev node never ends; unplugging gives ENODEV instead.
    stream.on("end", () => this.fail(undefined, "reading (end of stream)"));
  }

  onEvent(cb: (ev: InputEvent) => void): Unsubscribe {
    return this.listeners.add(cb);
  }

  /** The device went away or failed (unplugged: ENODEV; FIFO: all writers closed). Reported once. */
  onError(cb: (err: PhoneError) => void): Unsubscribe {
    return this.errors.add(cb);
  }

  /** Stops reading. Resolves at once: a read blocked in the thread pool ends with the next event or EOF, and
   * the stream closes the descriptor then (a blocking read on a device cannot be interrupted without ioctl). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.errors.clear();
    this.stream.destroy();
  }

  private onChunk(chunk: Buffer): void {
    if (this.closed) return;
    // Records can straddle reads (FIFOs, short reads): keep the tail for the next chunk.
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const whole = buf.length - (buf.length % this.recordSize);
    for (let off = 0; off < whole && !this.closed; off += this.recordSize)
      this.listeners.emit(decodeInputEvent(buf, off, this.recordSize));
    this.pending = Buffer.from(buf.subarray(whole));
  }

  private fail(e: unknown, doing: string): void {
    if (this.closed) return;
    const why = e instanceof Error ? `: ${e.message}` : "";
    const code = errnoCode(e) === "ENODEV" ? ErrorCodes.DEVICE_ABSENT : ErrorCodes.DEVICE_CLOSED;
    const err = new PhoneError(code, `input device ${this.path}: ${doing} failed${why}`, { path: this.path }, { cause: e });
    this.errors.emit(err);
    this.errors.clear();
  }
}

/** Opens an input event device (or FIFO) for reading. A FIFO's open waits until it has a writer. */
export async function openEvdev(path: string, opts: EvdevOptions = {}): Promise<EvdevInputSource> {
  const size = opts.recordSize ?? defaultRecordSize();
  if (size !== 16 && size !== 24) throw new PhoneError(ErrorCodes.BOARD_INVALID, `input_event records are 16 or 24 bytes, not ${String(size)}`);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, "r");
  } catch (e) {
    const code = errnoCode(e);
    if (code === "ENOENT" || code === "ENODEV" || code === "ENXIO")
      throw new PhoneError(ErrorCodes.DEVICE_ABSENT, `no input device at ${path} (is its kernel driver or overlay loaded?)`, { path }, { cause: e });
    if (code === "EACCES" || code === "EPERM")
      throw new PhoneError(
        ErrorCodes.PERMISSION,
        `cannot read input device ${path}: permission denied (the phone user needs group 'input')`,
        { path },
        { cause: e },
      );
    throw new PhoneError(ErrorCodes.DEVICE_ABSENT, `cannot open input device ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
  // A multiple of the record size keeps most chunks aligned; the decoder copes when they are not.
  const stream = fh.createReadStream({ highWaterMark: size * 64 });
  return new EvdevInputSource(path, size, stream);
}

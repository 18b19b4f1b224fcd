// A Linux /dev/i2c-N bus as an I2cBus, on the npm package i2c-bus (native), loaded only when a bus is opened.
//
// Traps (hardware-hal.md §2): i2c-bus's openPromisified() resolves even when /dev/i2c-N does not exist (it opens
// the node lazily per address), so the node is checked here first; and opening proves nothing about the chips on
// it, so drivers probe their address at start. On a Pi a NACK comes back as EREMOTEIO ("Remote I/O error") from
// i2c-bcm2835; other adapters use ENXIO.
import { promises as fs, constants as fsc } from "node:fs";
import { join } from "node:path";
import { PhoneError, ErrorCodes, errnoCode } from "../../base/errors.js";
import type { I2cBus } from "../api/i2c.js";
// Type only (erased): the native binding loads in openNodeI2cBus(), not when this module is imported.
import type { PromisifiedBus } from "i2c-bus";

/** The part of i2c-bus's PromisifiedBus this driver uses (tests pass a stand-in to check the errno mapping). */
export type RawI2cBus = Pick<PromisifiedBus, "i2cWrite" | "i2cRead" | "readByte" | "readI2cBlock" | "close">;

export interface NodeI2cBusOptions {
  /** Where the bus nodes live; default /dev. i2c-bus itself always opens /dev/i2c-N: this only moves the check. */
  devDir?: string;
  /** I2C_SLAVE_FORCE: talk to an address a kernel driver has claimed (normally a sign of a wrong overlay). */
  forceAccess?: boolean;
}

const hex = (addr: number): string => `0x${addr.toString(16).padStart(2, "0")}`;
/** SMBus "read I2C block data" moves at most 32 bytes (I2C_SMBUS_BLOCK_MAX). */
const SMBUS_BLOCK_MAX = 32;

export class NodeI2cBus implements I2cBus {
  private closed = false;

  constructor(
    readonly bus: number,
    private readonly raw: RawI2cBus,
    private readonly path = `/dev/i2c-${bus}`,
  ) {}

  async write(addr: number, data: Uint8Array): Promise<void> {
    this.check(addr);
    if (data.length === 0) return;
    const buf = Buffer.from(data);
    try {
      const r = await this.raw.i2cWrite(addr, buf.length, buf);
      if (r.bytesWritten !== buf.length) throw new Error(`short write: ${r.bytesWritten} of ${buf.length} bytes`);
    } catch (e) {
      throw this.error(e, addr, `writing ${buf.length} bytes`);
    }
  }

  async read(addr: number, length: number): Promise<Uint8Array> {
    this.check(addr);
    const buf = Buffer.alloc(length);
    try {
      const r = await this.raw.i2cRead(addr, length, buf);
      if (r.bytesRead !== length) throw new Error(`short read: ${r.bytesRead} of ${length} bytes`);
      return new Uint8Array(buf);
    } catch (e) {
      throw this.error(e, addr, `reading ${length} bytes`);
    }
  }

  /**
   * A register read. With a one-byte register and at most 32 bytes this is an SMBus read (byte or I2C block),
   * which the kernel sends as write + repeated START + read. Anything else is a write then a read with a STOP
   * between, which suits chips that keep their register pointer across a STOP (most do).
   */
  async writeRead(addr: number, data: Uint8Array, length: number): Promise<Uint8Array> {
    this.check(addr);
    if (data.length === 1 && length >= 1 && length <= SMBUS_BLOCK_MAX) {
      try {
        if (length === 1) return Uint8Array.of(await this.raw.readByte(addr, data[0]));
        const buf = Buffer.alloc(length);
        const r = await this.raw.readI2cBlock(addr, data[0], length, buf);
        if (r.bytesRead !== length) throw new Error(`short read: ${r.bytesRead} of ${length} bytes`);
        return new Uint8Array(buf);
      } catch (e) {
        throw this.error(e, addr, `reading register ${hex(data[0])}`);
      }
    }
    await this.write(addr, data);
    return this.read(addr, length);
  }

  /** A one-byte read: ACK -> true, NACK -> false; any other failure is an error (the bus itself is broken). */
  async probe(addr: number): Promise<boolean> {
    try {
      await this.read(addr, 1);
      return true;
    } catch (e) {
      if (e instanceof PhoneError && e.code === ErrorCodes.I2C_NACK) return false;
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.raw.close().catch(() => undefined);
  }

  private check(addr: number): void {
    if (this.closed) throw new PhoneError(ErrorCodes.DEVICE_CLOSED, `I2C bus ${this.path} is closed`, { bus: this.bus });
    if (!Number.isInteger(addr) || addr < 0x03 || addr > 0x77)
      throw new PhoneError(ErrorCodes.BAD_REQUEST, `I2C address ${addr} is outside 0x03-0x77 (7-bit, non-reserved)`, { bus: this.bus, address: addr });
  }

  /** errno -> stable code; the message names the bus node and the address. */
  private error(e: unknown, addr: number, doing: string): PhoneError {
    const details = { bus: this.bus, address: addr, path: this.path, errno: errnoCode(e) };
    const code = errnoCode(e);
    const msg = e instanceof Error ? e.message : String(e);
    if (code === "ENXIO" || code === "EREMOTEIO" || /remote i\/o/i.test(msg))
      return new PhoneError(ErrorCodes.I2C_NACK, `no ACK from ${hex(addr)} on ${this.path} (is the device connected?)`, details, { cause: e });
    if (code === "ENOENT" || code === "ENODEV") return absent(this.path, this.bus, e, addr);
    if (code === "EACCES" || code === "EPERM") return permission(this.path, this.bus, e, addr);
    if (code === "EBUSY")
      return new PhoneError(ErrorCodes.DEVICE_BUSY, `address ${hex(addr)} on ${this.path} is claimed by a kernel driver (check the device-tree overlays)`, details, { cause: e });
    return new PhoneError(ErrorCodes.I2C_IO, `I/O error ${doing} at ${hex(addr)} on ${this.path}: ${msg}`, details, { cause: e });
  }
}

function absent(path: string, bus: number, cause?: unknown, address?: number): PhoneError {
  return new PhoneError(ErrorCodes.DEVICE_ABSENT, `no I2C bus ${path} (enable it with dtparam=i2c_arm=on)`, { bus, path, address }, { cause });
}

function permission(path: string, bus: number, cause?: unknown, address?: number): PhoneError {
  return new PhoneError(ErrorCodes.PERMISSION, `no permission to open ${path}: add the phone's user to group i2c`, { bus, path, address }, { cause });
}

/** Opens /dev/i2c-`bus`. Rejects with DEVICE_ABSENT or PERMISSION if the node is missing or closed to us. */
export async function openNodeI2cBus(bus: number, opts: NodeI2cBusOptions = {}): Promise<I2cBus> {
  if (!Number.isInteger(bus) || bus < 0) throw new PhoneError(ErrorCodes.BAD_REQUEST, `I2C bus number ${bus} is not a non-negative integer`, { bus });
  const path = join(opts.devDir ?? "/dev", `i2c-${bus}`);
  try {
    await fs.access(path, fsc.R_OK | fsc.W_OK);
  } catch (e) {
    if (errnoCode(e) === "EACCES" || errnoCode(e) === "EPERM") throw permission(path, bus, e);
    throw absent(path, bus, e);
  }
  const { openPromisified } = await import("i2c-bus");
  const raw = await openPromisified(bus, { forceAccess: opts.forceAccess ?? false });
  return new NodeI2cBus(bus, raw, path);
}

// An emulated I2C bus: routes transfers by address to chip emulators, NACKs empty addresses, injects faults, counts.
//
// Errors look like the real driver's (i2c-bus-node.ts), so a driver cannot tell the two apart:
//   PHONE_ERR_I2C_NACK "no ACK from 0x27 on /dev/i2c-1", PHONE_ERR_I2C_IO "I/O error talking to 0x27 on /dev/i2c-1".
// Transfers complete on a later microtask, as real ones complete on a later event-loop turn; a driver that forgets
// to await shows up here too.
import { PhoneError, ErrorCodes } from "../../base/errors.js";
import { Listeners, type Unsubscribe } from "../api/events.js";
import type { I2cBus } from "../api/i2c.js";

/** A chip's face on the bus. A device may throw a PhoneError (e.g. an injected EIO); it reaches the driver unchanged. */
export interface I2cDeviceEmul {
  write(bytes: Uint8Array): void;
  read(length: number): Uint8Array;
}

export type I2cFaultKind = "nack" | "eio";

export interface I2cBusStats {
  /** Transfers attempted, including failed ones and probes; a writeRead (repeated start) is one. */
  transactions: number;
  /** Bytes that reached a device. */
  bytesWritten: number;
  bytesRead: number;
}

/** One transfer as seen on the wire, for tests that count register accesses. */
export interface I2cTransfer {
  addr: number;
  kind: "write" | "read" | "writeRead" | "probe";
  /** Bytes the host sent (empty for read and probe). */
  data: Uint8Array;
  /** Bytes the host asked for. */
  readLength: number;
  /** Set when the transfer failed. */
  error?: PhoneError;
}

interface Fault {
  kind: I2cFaultKind;
  count: number;
  afterBytes: number;
}

const hex = (addr: number): string => `0x${addr.toString(16).padStart(2, "0")}`;

export class EmulatedI2cBus implements I2cBus {
  private readonly devices = new Map<number, I2cDeviceEmul>();
  private readonly faults = new Map<number, Fault[]>();
  private readonly transfers = new Listeners<I2cTransfer>();
  private readonly counters: I2cBusStats = { transactions: 0, bytesWritten: 0, bytesRead: 0 };

  constructor(readonly bus: number) {}

  // ---- backend face ----

  attach(addr: number, dev: I2cDeviceEmul): void {
    checkAddr(addr);
    if (this.devices.has(addr) && this.devices.get(addr) !== dev)
      throw new PhoneError(ErrorCodes.DEVICE_BUSY, `address ${hex(addr)} on emulated /dev/i2c-${this.bus} already has a device`, { bus: this.bus, address: addr });
    this.devices.set(addr, dev);
  }

  /** Unplugs the device: from now on its address NACKs. */
  detach(addr: number): void {
    this.devices.delete(addr);
  }

  /**
   * The next `count` transfers to `addr` fail. "nack": the address is not acknowledged, nothing reaches the device.
   * "eio": the transfer breaks off; with `afterBytes` the device has already latched that many bytes of a write
   * (a glitch mid-transfer, which is what desynchronises a nibble-wise protocol like the HD44780's).
   */
  failNext(addr: number, kind: I2cFaultKind, count = 1, opts: { afterBytes?: number } = {}): void {
    const list = this.faults.get(addr) ?? [];
    list.push({ kind, count, afterBytes: opts.afterBytes ?? 0 });
    this.faults.set(addr, list);
  }

  stats(): I2cBusStats {
    return { ...this.counters };
  }

  /** Every transfer, after it completed or failed. */
  onTransfer(cb: (t: I2cTransfer) => void): Unsubscribe {
    return this.transfers.add(cb);
  }

  /** Addresses that have a device attached (what i2cdetect would list). */
  addresses(): number[] {
    return [...this.devices.keys()].sort((a, b) => a - b);
  }

  // ---- bus face ----

  write(addr: number, data: Uint8Array): Promise<void> {
    return this.transfer({ addr, kind: "write", data: Uint8Array.from(data), readLength: 0 }, () => undefined);
  }

  read(addr: number, length: number): Promise<Uint8Array> {
    return this.transfer({ addr, kind: "read", data: new Uint8Array(0), readLength: length }, (dev) => this.take(dev, length));
  }

  writeRead(addr: number, data: Uint8Array, length: number): Promise<Uint8Array> {
    return this.transfer({ addr, kind: "writeRead", data: Uint8Array.from(data), readLength: length }, (dev) => this.take(dev, length));
  }

  /** Like the real driver: a one-byte read, false on NACK. The read reaches the device (it may have side effects). */
  async probe(addr: number): Promise<boolean> {
    try {
      await this.transfer({ addr, kind: "probe", data: new Uint8Array(0), readLength: 1 }, (dev) => this.take(dev, 1));
      return true;
    } catch (e) {
      if (e instanceof PhoneError && e.code === ErrorCodes.I2C_NACK) return false;
      throw e;
    }
  }

  /**
   * The emulated bus is the wiring, not a file handle: a platform hands the same object to every opener (and again
   * after a restart), so closing it must not break the next user. Nothing to release.
   */
  async close(): Promise<void> {}

  // ---- internals ----

  private async transfer<T>(t: I2cTransfer, then: (dev: I2cDeviceEmul) => T): Promise<T> {
    await Promise.resolve();
    this.counters.transactions++;
    try {
      checkAddr(t.addr);
      const dev = this.devices.get(t.addr);
      if (!dev) throw this.nack(t.addr);
      const fault = this.nextFault(t.addr);
      if (fault?.kind === "nack") throw this.nack(t.addr);
      if (fault?.kind === "eio") {
        const part = t.data.subarray(0, Math.min(fault.afterBytes, t.data.length));
        if (part.length > 0) this.give(dev, part);
        throw this.eio(t.addr);
      }
      if (t.data.length > 0) this.give(dev, t.data);
      const out = then(dev);
      this.transfers.emit(t);
      return out;
    } catch (e) {
      const err = e instanceof PhoneError ? e : this.eio(t.addr, e);
      this.transfers.emit({ ...t, error: err });
      throw err;
    }
  }

  private give(dev: I2cDeviceEmul, bytes: Uint8Array): void {
    dev.write(bytes);
    this.counters.bytesWritten += bytes.length;
  }

  private take(dev: I2cDeviceEmul, length: number): Uint8Array {
    const out = dev.read(length);
    this.counters.bytesRead += out.length;
    return out;
  }

  private nextFault(addr: number): Fault | undefined {
    const list = this.faults.get(addr);
    const f = list?.[0];
    if (!list || !f) return undefined;
    if (--f.count <= 0) list.shift();
    return f;
  }

  private nack(addr: number): PhoneError {
    return new PhoneError(ErrorCodes.I2C_NACK, `no ACK from ${hex(addr)} on /dev/i2c-${this.bus} (is the device connected?)`, { bus: this.bus, address: addr });
  }

  private eio(addr: number, cause?: unknown): PhoneError {
    const why = cause instanceof Error ? `: ${cause.message}` : "";
    return new PhoneError(ErrorCodes.I2C_IO, `I/O error talking to ${hex(addr)} on /dev/i2c-${this.bus}${why}`, { bus: this.bus, address: addr }, { cause });
  }
}

function checkAddr(addr: number): void {
  if (!Number.isInteger(addr) || addr < 0x03 || addr > 0x77)
    throw new PhoneError(ErrorCodes.BAD_REQUEST, `I2C address ${addr} is outside 0x03-0x77 (7-bit, non-reserved)`, { address: addr });
}

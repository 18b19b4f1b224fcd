// A UART (or USB CDC-ACM, or pty) as a SerialLink, on the npm package serialport v13, loaded only when opened.
import { promises as fs, constants as fsc } from "node:fs";
import { Listeners, type Unsubscribe } from "../api/events.js";
import type { SerialLink } from "../api/serial.js";
import { PhoneError, ErrorCodes, errnoCode } from "../../base/errors.js";
// Type only (erased): the native binding loads in openNodeSerial(), not when this module is imported.
import type { SerialPort as SerialPortT } from "serialport";

/** serialport's errors carry no errno code, only text ("Error Resource temporarily unavailable Cannot lock port"). */
function openError(path: string, e: unknown): PhoneError {
  const msg = (e as Error)?.message ?? String(e);
  if (/cannot lock port|resource temporarily unavailable/i.test(msg))
    return new PhoneError(ErrorCodes.DEVICE_BUSY, `serial port ${path} is in use by another process (cannot lock it)`, { path }, { cause: e });
  if (/permission denied|EACCES/i.test(msg)) return permission(path, e);
  if (/no such file|ENOENT/i.test(msg)) return absent(path, e);
  return new PhoneError(ErrorCodes.DEVICE_ABSENT, `could not open serial port ${path}: ${msg}`, { path }, { cause: e });
}

function absent(path: string, cause?: unknown): PhoneError {
  return new PhoneError(ErrorCodes.DEVICE_ABSENT, `no serial device at ${path} (is the front panel connected, and is the path in the board profile right?)`, { path }, { cause });
}

function permission(path: string, cause?: unknown): PhoneError {
  return new PhoneError(ErrorCodes.PERMISSION, `no permission to open ${path}: add the phone's user to group dialout`, { path }, { cause });
}

class NodeSerialLink implements SerialLink {
  private readonly data = new Listeners<Uint8Array>();
  private readonly closed = new Listeners<Error | undefined>();
  private isClosed = false;

  constructor(
    readonly path: string,
    private readonly port: SerialPortT,
  ) {
    port.on("data", (chunk: Buffer) => this.data.emit(chunk));
    // Write and open errors arrive through callbacks; this listener only keeps an 'error' event from crashing the process.
    port.on("error", () => undefined);
    port.on("close", (err?: Error | null) => this.finish(err ?? undefined));
    // A port that was ever unpiped stays paused until resumed (hardware-hal.md §3); make sure bytes flow.
    port.resume();
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.isClosed) return Promise.reject(new PhoneError(ErrorCodes.DEVICE_CLOSED, `serial port ${this.path} is closed`, { path: this.path }));
    return new Promise((resolve, reject) => {
      this.port.write(Buffer.from(bytes), (err) => {
        if (err) reject(new PhoneError(ErrorCodes.DEVICE_ABSENT, `write to serial port ${this.path} failed: ${err.message}`, { path: this.path }, { cause: err }));
        else resolve();
      });
    });
  }

  onData(cb: (chunk: Uint8Array) => void): Unsubscribe {
    return this.data.add(cb);
  }

  onClose(cb: (err?: Error) => void): Unsubscribe {
    return this.closed.add(cb);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    if (this.port.isOpen) await new Promise<void>((resolve) => this.port.close(() => resolve()));
    this.finish(undefined);
  }

  private finish(err: Error | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closed.emit(err);
    this.closed.clear();
    this.data.clear();
    this.port.removeAllListeners("data");
  }
}

/**
 * Opens `path` at `baudRate`, 8N1, no flow control, with an exclusive lock. Ptys are not listed by
 * SerialPort.list(), so the path is always explicit.
 */
export async function openNodeSerial(path: string, baudRate: number): Promise<SerialLink> {
  try {
    await fs.access(path, fsc.R_OK | fsc.W_OK);
  } catch (e) {
    if (errnoCode(e) === "EACCES" || errnoCode(e) === "EPERM") throw permission(path, e);
    throw absent(path, e);
  }
  const { SerialPort } = await import("serialport");
  const port = new SerialPort({ path, baudRate, dataBits: 8, parity: "none", stopBits: 1, rtscts: false, lock: true, autoOpen: false });
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  } catch (e) {
    throw openError(path, e);
  }
  return new NodeSerialLink(path, port);
}

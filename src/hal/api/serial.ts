// A byte link to a microcontroller (UART, USB CDC-ACM, pty in tests).
import type { Unsubscribe } from "./events.js";

export interface SerialLink {
  readonly path: string;
  write(data: Uint8Array): Promise<void>;
  onData(cb: (chunk: Uint8Array) => void): Unsubscribe;
  /** Called once if the link goes away (device unplugged, pty closed). */
  onClose(cb: (err?: Error) => void): Unsubscribe;
  close(): Promise<void>;
}

// One call at a time to a chip whose state we mirror, re-initialising it after any failure before the next call.
import { PhoneError, ErrorCodes, isPhoneError } from "../../base/errors.js";

export interface ResyncHooks {
  /** Brings the chip back to a known state (init sequence plus whatever the driver restores). */
  resync(): Promise<void>;
  /** Forgets what we believe the chip shows, so the next call repaints everything. */
  invalidate(): void;
}

/**
 * Bytes of two calls must never interleave on the bus, and after a failed transfer the chip's state is unknown
 * (half a nibble latched, a window half set). So calls run in order, a failure marks the chip for resync and
 * invalidates the driver's shadow, and the next call resyncs first. Errors name the chip and what was being done.
 */
export class ResyncQueue {
  private queue: Promise<unknown> = Promise.resolve();
  private needsInit = true;
  private closed = false;

  constructor(
    private readonly where: string,
    private readonly details: Record<string, unknown>,
    private readonly hooks: ResyncHooks,
  ) {}

  /** Runs `job` after every earlier call. `init` marks the job that itself initialises the chip. */
  run(doing: string, job: () => Promise<void>, opts: { init?: boolean } = {}): Promise<void> {
    if (this.closed) return Promise.reject(new PhoneError(ErrorCodes.DEVICE_CLOSED, `${this.where} is closed`, this.details));
    const next = this.queue.then(async () => {
      try {
        if (this.needsInit && !opts.init) await this.hooks.resync();
        await job();
      } catch (e) {
        this.needsInit = true;
        this.hooks.invalidate();
        throw this.wrap(e, doing);
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The driver's init sequence calls this once it has completed. */
  initialised(): void {
    this.needsInit = false;
  }

  /** Waits for the call in progress; later calls are refused with DEVICE_CLOSED. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private wrap(e: unknown, doing: string): PhoneError {
    const code = isPhoneError(e) ? e.code : ErrorCodes.I2C_IO;
    const why = e instanceof Error ? e.message : String(e);
    return new PhoneError(code, `${this.where}: ${doing} failed: ${why}`, this.details, { cause: e });
  }
}

// Start order and shutdown: close() finishes what is running then stops; destroy() stops now. Both idempotent.
import type { Logger } from "../src/base/log.js";

type Step = { name: string; stop: () => Promise<void> | void };

export class Lifecycle {
  private readonly steps: Step[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly log: Logger) {}

  /** Registers something started; it is stopped in reverse start order. */
  started(name: string, stop: () => Promise<void> | void): void {
    this.steps.push({ name, stop });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const s of this.steps.reverse()) {
        try {
          await s.stop();
        } catch (e) {
          this.log.warn({ err: e, step: s.name }, "stop failed");
        }
      }
    })();
    return this.closing;
  }

  /** Stops without waiting for anything to finish: the process is going away. */
  destroy(code = 1): never {
    process.exit(code);
  }
}

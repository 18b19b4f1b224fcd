// DATA_DIR/sip-trace.log: the SIP messages IT's logging policy (the bundle's logging.sipTrace) asks the phone to keep,
// appended in order and rotated at 1 MiB.
import { promises as fs } from "node:fs";

/**
 * SIP traces IT asked for (logging policy): JSON lines appended in order, the file kept under 1 MiB by moving it to
 * `.1` (one old file kept). A full disk loses trace lines, never a call: every error is swallowed after one warning.
 */
export class TraceFile {
  private chain: Promise<void> = Promise.resolve();
  private size = -1;
  private warned = false;

  constructor(
    private readonly file: string,
    private readonly log: { warn(o: object, m: string): void },
  ) {}

  write(line: string): void {
    this.chain = this.chain
      .then(async () => {
        if (this.size < 0) this.size = (await fs.stat(this.file).catch(() => ({ size: 0 }))).size;
        if (this.size > 1 << 20) {
          await fs.rename(this.file, `${this.file}.1`);
          this.size = 0;
        }
        await fs.appendFile(this.file, line + "\n", { mode: 0o600 });
        this.size += line.length + 1;
      })
      .catch((e: Error) => {
        if (!this.warned) this.log.warn({ err: e.message }, "cannot write the SIP trace");
        this.warned = true;
      });
  }

  flush(): Promise<void> {
    return this.chain;
  }
}

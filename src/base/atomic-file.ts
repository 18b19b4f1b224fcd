// Durable writes: temp file in the same directory, fsync, rename, fsync the directory.
import { promises as fs, constants as fsc } from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { PhoneError, ErrorCodes } from "./errors.js";

export interface AtomicWriteOptions {
  /** File mode, e.g. 0o600 for secrets. */
  mode?: number;
}

/**
 * Replaces `file` with `data` so that a crash at any instant leaves either the old or the new
 * content, never a torn file. The parent directory must exist.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const mode = opts.mode ?? 0o644;
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, mode);
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fs.rename(tmp, file);
    const dh = await fs.open(dir, "r");
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw new PhoneError(ErrorCodes.STORE_IO, `could not save ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
}

// The phone's SIP instance id (RFC 5626 §4.1 / RFC 5627 `+sip.instance="<urn:uuid:...>"`): one UUID v4 for the life of
// the device, kept in DATA_DIR/instance-id so it survives restarts. A registrar that hands out GRUUs derives the
// phone's public GRUU from it (the bundle's `sip.gruu` turns this on), so a new id would strand the old binding and
// give the phone another GRUU: the file is written only when there is none (ENOENT) or what it holds is not a UUID.
// A file that cannot be read (EIO from a failing SD card, EACCES...) is left alone and the phone runs with an id for
// this run only, so a passing read error never changes the GRUU for good. Created atomically (temp file, fsync,
// rename: base/atomic-file.ts); a file that cannot be written also leaves an id for this run only. Never throws.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { writeFileAtomic } from "../base/atomic-file.js";
import type { Logger } from "../base/log.js";

/** The file's name in the data directory. */
export const INSTANCE_ID_FILE = "instance-id";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `s` is a UUID in its text form (8-4-4-4-12 hex digits, RFC 4122 §3), as sip.js's grammar wants it. */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}

/** How the file is read and written (tests give failing ones). */
export interface InstanceIdIo {
  readFile(file: string): Promise<string>;
  writeFile(file: string, text: string): Promise<void>;
}

const FILE_IO: InstanceIdIo = {
  readFile: (file) => fs.readFile(file, "utf8"),
  writeFile: (file, text) => writeFileAtomic(file, text, { mode: 0o644 }),
};

/**
 * The instance id kept in `dataDir`/instance-id (lower case). A valid one is read quietly. No file: a new UUID v4 is
 * written there first (logged). A file that is not a UUID (empty, garbage, torn): replaced by a new id (a warning with
 * what was wrong). A file that cannot be read (any error but ENOENT): a new id for this run only, the file untouched
 * (an error logged). A file that cannot be written: the new id still holds for this run (an error logged).
 */
export async function loadInstanceId(dataDir: string, log: Logger, io: InstanceIdIo = FILE_IO): Promise<string> {
  const file = path.join(dataDir, INSTANCE_ID_FILE);
  let problem: string | undefined;
  try {
    const text = (await io.readFile(file)).trim();
    if (isUuid(text)) return text.toLowerCase();
    problem = text ? `not a UUID (${JSON.stringify(text.slice(0, 40))}${text.length > 40 ? "..." : ""})` : "empty";
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") {
      const id = randomUUID();
      log.error({ file, problem: `unreadable (${code ?? (e as Error).message})`, instanceId: id }, "cannot read the SIP instance id: a new one for this run only, the file is left as it is");
      return id;
    }
  }
  const id = randomUUID();
  if (problem) log.warn({ file, problem, instanceId: id }, "the SIP instance id file is broken: replaced by a new id (the phone gets a new GRUU)");
  try {
    await io.writeFile(file, `${id}\n`);
    if (!problem) log.info({ file, instanceId: id }, "SIP instance id created");
  } catch (e) {
    log.error({ file, err: (e as Error).message, instanceId: id }, "cannot save the SIP instance id: it holds for this run only (a new GRUU after a restart)");
  }
  return id;
}

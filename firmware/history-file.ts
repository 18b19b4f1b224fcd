// The call history in DATA_DIR/history.json: read once at start, saved (atomically) after every change, one save after
// another, so that stopping can wait for the last one.
import { promises as fs } from "node:fs";
import { writeFileAtomic } from "../src/base/atomic-file.js";
import type { HistoryEntry } from "../src/phone/core/phone-state.js";

/** The saved call history; a missing or damaged file is an empty history (the phone still starts). */
export async function readHistory(file: string): Promise<HistoryEntry[]> {
  try {
    const h = JSON.parse(await fs.readFile(file, "utf8")) as unknown;
    return Array.isArray(h) ? (h as HistoryEntry[]).filter((e) => e && typeof e.number === "string" && typeof e.at === "number") : [];
  } catch {
    return [];
  }
}

/** Saves the history to `file`; a failed save is a warning (the phone goes on with the history it has in memory). */
export class HistorySaver {
  // saves run one after another; stopping waits for the last one (a call ended just before SIGTERM is kept)
  private last: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly log: { warn(o: object, m: string): void },
  ) {}

  save(h: HistoryEntry[]): void {
    this.last = this.last.then(() => writeFileAtomic(this.file, JSON.stringify(h))).catch((e: Error) => this.log.warn({ err: e.message }, "cannot save the call history"));
  }

  /** Resolves once every save asked for so far is done (or failed). */
  saved(): Promise<void> {
    return this.last;
  }
}

// The location cache that survives a restart, and the manual locations the user typed, kept per network (the default
// gateway's MAC, standards §5.4 / §7 item 25). One JSON file, replaced atomically on each change:
//   { "current"?: KnownLocation, "currentNetwork"?: string, "manual": { "<gateway MAC>": { "civic": …, "enteredAt": ms } } }
// load() checks every field; a file that is not JSON starts the store empty, a bad entry is dropped, and the reason is
// returned and logged, never thrown (the phone must boot). A bad file is kept beside it as FILE.bad for diagnosis.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../base/atomic-file.js";
import { errnoCode } from "../base/errors.js";
import { silentLogger, type Logger } from "../base/log.js";
import { SOURCE_RANK, type KnownLocation, type LocationSource } from "./location-types.js";
import { normaliseCivic } from "./lldp-med.js";
import { normaliseMac } from "./network-watch.js";
import type { CivicAddress } from "./pidf-lo.js";

/** A location the user entered on one network. */
export interface ManualEntry {
  civic: CivicAddress;
  /** Wall-clock ms. */
  enteredAt: number;
}

/** The file's content. */
export interface LocationStoreData {
  current?: KnownLocation;
  /** The network (gateway MAC) `current` was obtained on, when known. */
  currentNetwork?: string;
  manual: Record<string, ManualEntry>;
}

/** What load() found. */
export interface LoadResult {
  data: LocationStoreData;
  /** Why part or all of the file was not used; absent when it was read whole (or did not exist yet). */
  problem?: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const optStr = (v: unknown): boolean => v === undefined || typeof v === "string";

/** A civic address from JSON, normalised; throws with the reason when it cannot be one. */
function civicFrom(v: unknown, notes: string[] = []): CivicAddress {
  if (!isObj(v)) throw new Error("the civic address is not an object");
  return normaliseCivic(v, notes);
}

/** A KnownLocation from JSON, or the reason it is not one. */
function knownFrom(v: unknown): KnownLocation | string {
  if (!isObj(v)) return "it is not an object";
  if (typeof v.source !== "string" || !(v.source in SOURCE_RANK)) return `unknown source '${String(v.source)}'`;
  if (typeof v.pidf !== "string" || !v.pidf.includes("<presence")) return "its PIDF-LO is missing";
  if (typeof v.text !== "string") return "its text is missing";
  if (typeof v.obtainedAt !== "number" || !Number.isFinite(v.obtainedAt)) return "its time is missing";
  if (!optStr(v.lisUrl)) return "its LIS URL is not text";
  if (v.elin !== undefined && (typeof v.elin !== "string" || !/^[0-9]{10,25}$/.test(v.elin))) return "its ELIN is not 10-25 digits";
  const out: KnownLocation = { source: v.source as LocationSource, pidf: v.pidf, text: v.text, obtainedAt: v.obtainedAt };
  try {
    if (v.civic !== undefined) out.civic = civicFrom(v.civic);
  } catch (e) {
    return (e as Error).message;
  }
  if (typeof v.elin === "string") out.elin = v.elin;
  if (typeof v.lisUrl === "string") out.lisUrl = v.lisUrl;
  return out;
}

/** The store's content checked field by field; problems name what was dropped. */
export function validateStoreData(v: unknown): LoadResult {
  if (!isObj(v)) return { data: { manual: {} }, problem: "the file does not hold a JSON object" };
  const problems: string[] = [];
  const data: LocationStoreData = { manual: {} };
  if (v.current !== undefined) {
    const k = knownFrom(v.current);
    if (typeof k === "string") problems.push(`the cached location was dropped: ${k}`);
    else {
      data.current = k;
      const net = normaliseMac(typeof v.currentNetwork === "string" ? v.currentNetwork : null);
      if (net) data.currentNetwork = net;
    }
  }
  if (v.manual !== undefined && !isObj(v.manual)) problems.push("the manual locations are not an object; dropped");
  for (const [key, entry] of Object.entries(isObj(v.manual) ? v.manual : {})) {
    const mac = normaliseMac(key);
    try {
      if (!mac) throw new Error(`'${key}' is not a MAC address`);
      if (!isObj(entry)) throw new Error("it is not an object");
      if (typeof entry.enteredAt !== "number" || !Number.isFinite(entry.enteredAt)) throw new Error("its time is missing");
      const notes: string[] = [];
      data.manual[mac] = { civic: civicFrom(entry.civic, notes), enteredAt: entry.enteredAt };
      problems.push(...notes.map((n) => `the manual location for ${key}: ${n}`));
    } catch (e) {
      problems.push(`the manual location for ${key} was dropped: ${(e as Error).message}`);
    }
  }
  return problems.length ? { data, problem: problems.join("; ") } : { data };
}

/** The location file (see the file header). Writes are queued, so the file always holds the latest state. */
export class LocationStore {
  private data: LocationStoreData = { manual: {} };
  private writing: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(
    readonly file: string,
    opts: { log?: Logger } = {},
  ) {
    this.log = opts.log ?? silentLogger();
  }

  /** Reads the file. Never throws: a missing file is an empty store; a bad one is reported in `problem`. */
  async load(): Promise<LoadResult> {
    let text: string;
    try {
      text = await fs.readFile(this.file, "utf8");
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return { data: (this.data = { manual: {} }) };
      const problem = `could not read ${this.file}: ${(e as Error).message}; starting without a cached location`;
      this.log.warn(problem);
      return { data: (this.data = { manual: {} }), problem };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      const problem = `${this.file} is not valid JSON (${(e as Error).message}); starting without a cached location`;
      await this.keepBad();
      this.log.warn(problem);
      return { data: (this.data = { manual: {} }), problem };
    }
    const r = validateStoreData(parsed);
    this.data = r.data;
    if (r.problem) {
      await this.keepBad();
      r.problem = `${this.file}: ${r.problem}`;
      this.log.warn(r.problem);
    }
    return r;
  }

  /** The cached current location and the network it was obtained on. */
  current(): { location: KnownLocation; network: string | null } | null {
    return this.data.current ? { location: this.data.current, network: this.data.currentNetwork ?? null } : null;
  }

  /** Caches the current location (null forgets it). */
  setCurrent(location: KnownLocation | null, network: string | null = null): Promise<void> {
    if (location) this.data.current = location;
    else delete this.data.current;
    const net = location ? normaliseMac(network) : null;
    if (net) this.data.currentNetwork = net;
    else delete this.data.currentNetwork;
    return this.save();
  }

  /** The manual location entered on the network whose gateway has this MAC. */
  manualFor(gatewayMac: string | null): ManualEntry | null {
    const mac = normaliseMac(gatewayMac);
    return (mac && this.data.manual[mac]) || null;
  }

  /** Every manual location, by gateway MAC (the user may delete ones of other networks). */
  manualEntries(): Readonly<Record<string, ManualEntry>> {
    return this.data.manual;
  }

  /** Stores a manual location for a network; throws if the MAC or the civic address is not usable. */
  async setManual(gatewayMac: string, civic: CivicAddress, enteredAt: number): Promise<void> {
    const mac = normaliseMac(gatewayMac);
    if (!mac) throw new Error(`'${gatewayMac}' is not a gateway MAC address`);
    this.data.manual[mac] = { civic: normaliseCivic(civic), enteredAt };
    await this.save();
  }

  /** Forgets the manual location of a network (nothing happens if there is none). */
  clearManual(gatewayMac: string): Promise<void> {
    const mac = normaliseMac(gatewayMac);
    if (!mac || !this.data.manual[mac]) return this.writing;
    delete this.data.manual[mac];
    return this.save();
  }

  /** Resolves when every write so far is on disk (or failed and was logged). */
  flushed(): Promise<void> {
    return this.writing;
  }

  /** Queues a write of the whole state; a failed write is logged and the next change tries again. */
  private save(): Promise<void> {
    const json = `${JSON.stringify(this.data, null, 2)}\n`;
    this.writing = this.writing.then(async () => {
      try {
        await fs.mkdir(path.dirname(this.file), { recursive: true });
        await writeFileAtomic(this.file, json);
      } catch (e) {
        this.log.error({ err: (e as Error).message }, `location store: could not save ${this.file}`);
      }
    });
    return this.writing;
  }

  private async keepBad(): Promise<void> {
    await fs.copyFile(this.file, `${this.file}.bad`).catch(() => undefined);
  }
}

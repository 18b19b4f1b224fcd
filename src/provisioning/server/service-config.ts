// The provisioning service's config file (JSON, `--config FILE`): where it listens, its data directory, the SIP
// domain and servers the phones get, the names on its TLS certificate, the Kamailio subscriber file, and the PIN,
// lockout and scrypt settings. Checked with ajv; every error names the field, as config-bundle.ts does.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { Ajv } from "ajv";
import { PhoneError, ErrorCodes } from "../../base/errors.js";
import { CONFIG_BUNDLE_SCHEMA, schemaErrorWords, type BundleServer, type ConfigBundle } from "../config-bundle.js";
import { DEFAULT_PIN_POLICY, type PinPolicy } from "./pin-policy.js";
import { DEFAULT_LOCKOUT, type LockoutConfig } from "./lockout.js";
import { DEFAULT_SCRYPT, type ScryptParams } from "./pin-hash.js";

export interface ProvisioningServiceConfig {
  /** "host:port" ("127.0.0.1:0" picks a free port; "[::1]:8443" for IPv6). */
  listen: string;
  /** The SQLite file, the CA and the TLS keys live here (created 0700). */
  dataDir: string;
  /**
   * What the phones are told: their SIP domain and servers, in failover order; `gruu`: the PBX hands out and routes
   * GRUUs (RFC 5627), so the phones register for one and use it as their Contact (bundle `sip.gruu`).
   */
  sip: { domain: string; servers: BundleServer[]; gruu?: boolean };
  /** DNS names and IP addresses on the service's TLS certificate (default localhost, 127.0.0.1). */
  tlsNames?: string[];
  /** Kamailio's db_text `subscriber` file, rewritten after every user or SIP password change. */
  kamailioSubscriberFile?: string;
  pinPolicy?: Partial<PinPolicy>;
  lockout?: Partial<LockoutConfig>;
  scrypt?: Partial<ScryptParams>;
  /** The dial plan in every bundle (default: 911/112, "9" for an outside line, 4-digit extensions). */
  dialPlan?: ConfigBundle["dialPlan"];
  /** CAs the phones trust for SIP over TLS: PEM text, or files (relative to the config file). */
  trustedCAs?: string[];
}

/** What the service and the admin CLI must agree on; the service publishes it in the store's settings. */
export interface ServiceSettings {
  sipDomain: string;
  kamailioSubscriberFile: string | null;
  pinPolicy: PinPolicy;
  lockout: LockoutConfig;
  scrypt: ScryptParams;
}

export const DEFAULT_TLS_NAMES = ["localhost", "127.0.0.1"];
export const DB_FILE = "provisioning.db";
export const SETTINGS_KEY = "service";

const positive = { type: "integer", minimum: 1 } as const;

export const SERVICE_CONFIG_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["listen", "dataDir", "sip"],
  properties: {
    listen: { type: "string", pattern: "^(\\[[0-9a-fA-F:.]+\\]|[^:\\s\\[\\]]+):[0-9]{1,5}$" },
    dataDir: { type: "string", minLength: 1 },
    sip: {
      type: "object",
      additionalProperties: false,
      required: ["domain", "servers"],
      properties: { domain: { type: "string", minLength: 1 }, servers: CONFIG_BUNDLE_SCHEMA.properties.accounts.items.properties.servers, gruu: { type: "boolean" } },
    },
    tlsNames: { type: "array", minItems: 1, items: { type: "string", minLength: 1, pattern: "^[A-Za-z0-9.:*-]+$" } },
    kamailioSubscriberFile: { type: "string", minLength: 1 },
    pinPolicy: {
      type: "object",
      additionalProperties: false,
      properties: {
        minLength: { type: "integer", minimum: 4, maximum: 24 },
        maxLength: { type: "integer", minimum: 4, maximum: 24 },
        refuseRepeated: { type: "boolean" },
        refuseSequences: { type: "boolean" },
        sequenceLength: { type: "integer", minimum: 3, maximum: 24 },
        refuseExtension: { type: "boolean" },
      },
    },
    lockout: {
      type: "object",
      additionalProperties: false,
      properties: { windowMinutes: positive, localLimit: positive, lockMinutes: positive, globalLimit: positive },
    },
    scrypt: {
      type: "object",
      additionalProperties: false,
      properties: { N: { type: "integer", minimum: 1024, maximum: 1048576 }, r: { type: "integer", minimum: 1, maximum: 32 }, p: { type: "integer", minimum: 1, maximum: 16 } },
    },
    dialPlan: CONFIG_BUNDLE_SCHEMA.properties.dialPlan,
    trustedCAs: { type: "array", items: { type: "string", minLength: 1 } },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile(SERVICE_CONFIG_SCHEMA);

const bad = (file: string, msg: string): PhoneError => new PhoneError(ErrorCodes.CONFIG_INVALID, `${file}: ${msg}`, { file });

/** Checks a parsed service config; throws PHONE_ERR_CONFIG_INVALID naming every bad field. */
export function checkServiceConfig(data: unknown, file = "config"): ProvisioningServiceConfig {
  if (!validate(data)) throw new PhoneError(ErrorCodes.CONFIG_INVALID, (validate.errors ?? []).map((e) => schemaErrorWords(file, e)).join("; "), { file });
  const c = data as unknown as ProvisioningServiceConfig;
  const { port } = parseListen(c.listen);
  if (port > 65535) throw bad(file, `/listen: port ${port} is above 65535`);
  const pin = { ...DEFAULT_PIN_POLICY, ...c.pinPolicy };
  if (pin.minLength > pin.maxLength) throw bad(file, `/pinPolicy: minLength ${pin.minLength} is above maxLength ${pin.maxLength}`);
  const n = c.scrypt?.N;
  if (n !== undefined && (n & (n - 1)) !== 0) throw bad(file, `/scrypt/N: must be a power of two (got ${n})`);
  return c;
}

/** "host:port" -> parts ("[::1]:0" -> host "::1"). */
export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(":");
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(listen.slice(i + 1)) };
}

/**
 * Reads and checks a config file. Relative paths in it (dataDir, kamailioSubscriberFile, trustedCAs files) are
 * relative to the file; trustedCAs files are read into PEM text.
 */
export async function loadServiceConfig(file: string): Promise<ProvisioningServiceConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    throw bad(file, `cannot read the config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw bad(file, `not JSON (${(e as Error).message})`);
  }
  const c = checkServiceConfig(data, file);
  const dir = path.dirname(path.resolve(file));
  const out: ProvisioningServiceConfig = { ...c, dataDir: path.resolve(dir, c.dataDir) };
  if (c.kamailioSubscriberFile) out.kamailioSubscriberFile = path.resolve(dir, c.kamailioSubscriberFile);
  if (c.trustedCAs) {
    out.trustedCAs = [];
    for (const ca of c.trustedCAs) {
      if (ca.includes("-----BEGIN")) out.trustedCAs.push(ca);
      else {
        try {
          out.trustedCAs.push(await fs.readFile(path.resolve(dir, ca), "utf8"));
        } catch (e) {
          throw bad(file, `/trustedCAs: cannot read '${ca}' (${(e as NodeJS.ErrnoException).code ?? ""})`);
        }
      }
    }
  }
  return out;
}

/** The settings a checked config comes to (defaults filled in). */
export function settingsOf(c: ProvisioningServiceConfig): ServiceSettings {
  return {
    sipDomain: c.sip.domain,
    kamailioSubscriberFile: c.kamailioSubscriberFile ? path.resolve(c.kamailioSubscriberFile) : null,
    pinPolicy: { ...DEFAULT_PIN_POLICY, ...c.pinPolicy },
    lockout: { ...DEFAULT_LOCKOUT, ...c.lockout },
    scrypt: { ...DEFAULT_SCRYPT, ...c.scrypt },
  };
}

/** Settings as stored (by a service that ran on this database) with defaults for anything missing. */
export function settingsFromStored(v: unknown): ServiceSettings | null {
  if (!v || typeof v !== "object") return null;
  const s = v as Partial<ServiceSettings>;
  if (typeof s.sipDomain !== "string") return null;
  return {
    sipDomain: s.sipDomain,
    kamailioSubscriberFile: typeof s.kamailioSubscriberFile === "string" ? s.kamailioSubscriberFile : null,
    pinPolicy: { ...DEFAULT_PIN_POLICY, ...s.pinPolicy },
    lockout: { ...DEFAULT_LOCKOUT, ...s.lockout },
    scrypt: { ...DEFAULT_SCRYPT, ...s.scrypt },
  };
}

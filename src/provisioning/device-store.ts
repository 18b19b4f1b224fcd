// What the phone keeps from provisioning, in one file written atomically with mode 0600 (temp file, fsync, rename):
// the service it signed in to and its CA, the device key and certificate, and the config bundle. One file and one
// rename, so a power cut at any instant leaves the phone either provisioned with a whole, valid state or not
// provisioned at all. The PIN is never part of it. Also IT's error report: the last sign-in / refresh problems.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../base/atomic-file.js";
import { checkBundle, type ConfigBundle } from "./config-bundle.js";
import { checkDeviceCertificate } from "./device-identity.js";

export interface ProvisionedState {
  version: 1;
  serviceUrl: string;
  serviceCaPem: string;
  deviceId: string;
  extension: string;
  privateKeyPem: string;
  certificatePem: string;
  bundle: ConfigBundle;
  savedAt: string;
}

export const STATE_FILE = "provisioning.json";
export const REPORT_FILE = "provisioning-report.json";

export async function saveProvisioned(dataDir: string, s: ProvisionedState): Promise<void> {
  await writeFileAtomic(path.join(dataDir, STATE_FILE), JSON.stringify(s), { mode: 0o600 });
}

/**
 * The stored state, or null when there is none; a file that is damaged or fails a check (bundle schema, certificate
 * chain) is treated as none, with the reason (the phone then shows the sign-in wizard rather than failing).
 */
export async function loadProvisioned(dataDir: string): Promise<{ state: ProvisionedState | null; problem?: string }> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dataDir, STATE_FILE), "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? { state: null } : { state: null, problem: `cannot read ${STATE_FILE} (${code})` };
  }
  try {
    const s = JSON.parse(text) as ProvisionedState;
    if (s.version !== 1) return { state: null, problem: `${STATE_FILE}: unknown version` };
    for (const k of ["serviceUrl", "serviceCaPem", "deviceId", "extension", "privateKeyPem", "certificatePem"] as const) if (typeof s[k] !== "string" || !s[k]) return { state: null, problem: `${STATE_FILE}: missing ${k}` };
    checkBundle(s.bundle, STATE_FILE);
    // an expired certificate is still ours (the refresh says whether the service takes it): check chain and key only
    const why = checkDeviceCertificate(s.certificatePem, s.serviceCaPem, s.privateKeyPem, new Date(s.savedAt));
    if (why) return { state: null, problem: `${STATE_FILE}: ${why}` };
    return { state: s };
  } catch (e) {
    return { state: null, problem: `${STATE_FILE}: ${(e as Error).message}` };
  }
}

export async function forgetProvisioned(dataDir: string): Promise<void> {
  await fs.rm(path.join(dataDir, STATE_FILE), { force: true });
}

/** One line of IT's error report: what failed, where, and how TLS went. Never a PIN or a password. */
export interface ReportEntry {
  at: string;
  step: "discovery" | "sign-in" | "refresh" | "registration";
  code: string;
  server?: string;
  tls?: string;
  detail: string;
}

/** Adds an entry to the report kept on the phone for IT (the last 50). */
export async function reportProblem(dataDir: string, e: ReportEntry): Promise<void> {
  const file = path.join(dataDir, REPORT_FILE);
  const old = await readReport(dataDir);
  await writeFileAtomic(file, JSON.stringify([e, ...old].slice(0, 50)), { mode: 0o600 });
}

export async function readReport(dataDir: string): Promise<ReportEntry[]> {
  try {
    const r = JSON.parse(await fs.readFile(path.join(dataDir, REPORT_FILE), "utf8")) as unknown;
    return Array.isArray(r) ? (r as ReportEntry[]) : [];
  } catch {
    return [];
  }
}

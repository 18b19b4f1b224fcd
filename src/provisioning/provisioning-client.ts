// The phone's side of the provisioning service's HTTPS API (src/provisioning/server/openapi.yaml): sign in with
// extension + PIN + CSR, then refresh the config with mutual TLS, and (a boss's phone) write back the delegates the boss
// picked. Every failure becomes words for the screen and a code for IT's error report; the PIN is sent once and never
// kept or logged. Answers are size-capped and checked.
import * as https from "node:https";
import type { IncomingMessage } from "node:http";
import { checkBundle, type ConfigBundle } from "./config-bundle.js";
import { checkDeviceCertificate } from "./device-identity.js";
import type { Clock, Timer } from "../base/clock.js";

/** The most the phone reads of an answer: a config bundle with a directory is well under this. */
const MAX_ANSWER_BYTES = 1 << 20;

export interface ServiceTarget {
  /** https://host:port/ of the service. */
  url: string;
  /** The service's CA (PEM) the phone trusts; the system's CAs when absent. */
  caPem?: string;
  timeoutMs?: number;
  /** With a clock, `timeoutMs` bounds the whole exchange (a service trickling bytes cannot hold the phone). */
  clock?: Clock;
}

export type ServiceFailure =
  | { kind: "wrong-pin"; triesLeft?: number }
  | { kind: "locked"; until: Date | "admin" }
  | { kind: "unreachable"; reason: string }
  | { kind: "untrusted"; reason: string }
  | { kind: "revoked" }
  | { kind: "bad-answer"; reason: string }
  /** The service understood and said no (PUT /v1/delegates: an unknown extension, too many, delegation off): its words. */
  | { kind: "refused"; code: string; reason: string };

export interface SignedIn {
  deviceId: string;
  certificatePem: string;
  caPem: string;
  bundle: ConfigBundle;
}

/** TLS verification failures: the service is there but not the one we trust. */
const UNTRUSTED = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT/;

interface Answer {
  status: number;
  body: unknown;
}

function request(t: ServiceTarget, method: "GET" | "POST" | "PUT", route: string, body: unknown, tls: { certPem?: string; keyPem?: string } = {}): Promise<Answer | ServiceFailure> {
  let url: URL;
  try {
    url = new URL(route, t.url);
  } catch {
    return Promise.resolve({ kind: "unreachable", reason: `not a URL: ${t.url}` });
  }
  if (url.protocol !== "https:") return Promise.resolve({ kind: "unreachable", reason: "the service must be https (the PIN never travels in the clear)" });
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve) => {
    let done = false;
    let deadline: Timer | undefined;
    const finish = (v: Answer | ServiceFailure): void => {
      if (!done) resolve(v);
      done = true;
      deadline?.cancel();
    };
    const req = https.request(
      url,
      {
        method,
        ...(t.caPem ? { ca: t.caPem } : {}),
        ...(tls.certPem && tls.keyPem ? { cert: tls.certPem, key: tls.keyPem } : {}),
        headers: { accept: "application/json", ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}) },
        timeout: t.timeoutMs ?? 10_000,
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) {
            finish({ kind: "bad-answer", reason: `the answer is larger than ${MAX_ANSWER_BYTES} bytes` });
            res.destroy();
            return;
          }
          chunks.push(c);
        });
        res.on("error", (e) => finish({ kind: "unreachable", reason: e.message }));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : {};
          } catch {
            finish({ kind: "bad-answer", reason: `the answer (HTTP ${res.statusCode}) is not JSON` });
            return;
          }
          finish({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    const late = (): void => {
      finish({ kind: "unreachable", reason: `no answer in ${((t.timeoutMs ?? 10_000) / 1000).toFixed(1).replace(/\.0$/, "")} s` });
      req.destroy();
    };
    req.on("timeout", late);
    if (t.clock) deadline = t.clock.setTimeout(late, t.timeoutMs ?? 10_000);
    req.on("error", (e: NodeJS.ErrnoException) => {
      const code = e.code ?? "";
      if (UNTRUSTED.test(code)) finish({ kind: "untrusted", reason: `${code}` });
      else finish({ kind: "unreachable", reason: code === "ECONNREFUSED" ? "connection refused" : code === "ENOTFOUND" ? `no such host (${url.hostname})` : e.message });
    });
    if (payload) req.write(payload);
    req.end();
  });
}

const isFailure = (a: Answer | ServiceFailure): a is ServiceFailure => "kind" in a;

function errorOf(body: unknown): { code?: string; message?: string; triesLeft?: number; lockedUntil?: string } {
  const e = (body as { error?: unknown } | null)?.error;
  return e && typeof e === "object" ? (e as { code?: string; message?: string; triesLeft?: number; lockedUntil?: string }) : {};
}

/** The bundle inside an answer, checked against the schema; a bad one is named, field by field. */
function bundleOf(body: unknown): ConfigBundle | ServiceFailure {
  try {
    return checkBundle((body as { bundle?: unknown } | null)?.bundle, "the service's config");
  } catch (e) {
    return { kind: "bad-answer", reason: (e as Error).message };
  }
}

/** Signs in: PIN sign-in for this extension; the service signs `csrPem` and sends the config. */
export async function signIn(t: ServiceTarget, extension: string, pin: string, csrPem: string, privateKeyPem: string): Promise<SignedIn | ServiceFailure> {
  const a = await request(t, "POST", "v1/sign-in", { extension, pin, csr: csrPem });
  if (isFailure(a)) return a;
  const err = errorOf(a.body);
  if (a.status === 401) return { kind: "wrong-pin", ...(typeof err.triesLeft === "number" ? { triesLeft: err.triesLeft } : {}) };
  if (a.status === 423) {
    const until = err.lockedUntil && err.lockedUntil !== "admin" ? new Date(err.lockedUntil) : "admin";
    return { kind: "locked", until: until instanceof Date && Number.isNaN(until.getTime()) ? "admin" : until };
  }
  if (a.status !== 200) return { kind: "bad-answer", reason: `HTTP ${a.status}${err.code ? ` ${err.code}` : ""}${err.message ? `: ${err.message}` : ""}` };
  // JSON null (or any non-object) is a bad answer like any other, not a TypeError
  const b = (a.body !== null && typeof a.body === "object" ? a.body : {}) as { device?: { id?: unknown }; certificate?: unknown; ca?: unknown };
  if (typeof b.device?.id !== "string" || typeof b.certificate !== "string" || typeof b.ca !== "string") return { kind: "bad-answer", reason: "the answer lacks the device id, certificate or CA" };
  const bundle = bundleOf(a.body);
  if ("kind" in bundle) return bundle;
  const why = checkDeviceCertificate(b.certificate, b.ca, privateKeyPem);
  if (why) return { kind: "bad-answer", reason: why };
  return { deviceId: b.device.id, certificatePem: b.certificate, caPem: b.ca, bundle };
}

/** The current config, fetched with the device certificate (mutual TLS). */
export async function fetchConfig(t: ServiceTarget, certPem: string, keyPem: string): Promise<ConfigBundle | ServiceFailure> {
  const a = await request(t, "GET", "v1/config", undefined, { certPem, keyPem });
  if (isFailure(a)) return a;
  if (a.status === 401 || a.status === 403) return { kind: "revoked" };
  if (a.status !== 200) {
    const err = errorOf(a.body);
    return { kind: "bad-answer", reason: `HTTP ${a.status}${err.code ? ` ${err.code}` : ""}` };
  }
  return bundleOf(a.body);
}

/** The delegates as the service stored them (PUT /v1/delegates): who they are now, and who was added and removed. */
export interface DelegatesSaved {
  ok: true;
  delegates: Array<{ number: string; name: string }>;
  added: string[];
  removed: string[];
  /** The boss's ring mode as now stored. */
  ringMode: "simultaneous" | "delayed";
  ringDelaySeconds: number;
}

/** The most of the service's own words a refusal carries to the screen. */
const MAX_REASON_CHARS = 200;

/** The service's message, printable and cut short (it never holds a secret, but it is shown as it is). */
const wordsOf = (m: unknown): string => (typeof m === "string" ? m.replace(/[\x00-\x1f\x7f]+/g, " ").slice(0, MAX_REASON_CHARS) : "");

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

/**
 * Replaces the boss's delegates with `delegates` (extensions; [] removes them all), with the device certificate
 * (mutual TLS), and sets the boss's ring mode too when `ring` is given. A refusal (unknown extension, the boss's own,
 * more than 8, one listed twice, delegation off) is `{ kind: "refused" }` with the service's words; a revoked device
 * or removed user is `{ kind: "revoked" }`.
 */
export async function putDelegates(
  t: ServiceTarget,
  certPem: string,
  keyPem: string,
  delegates: string[],
  ring?: { ringMode: "simultaneous" | "delayed"; ringDelaySeconds?: number },
): Promise<DelegatesSaved | ServiceFailure> {
  const a = await request(t, "PUT", "v1/delegates", { delegates, ...(ring ? { ringMode: ring.ringMode, ...(ring.ringDelaySeconds !== undefined ? { ringDelaySeconds: ring.ringDelaySeconds } : {}) } : {}) }, { certPem, keyPem });
  if (isFailure(a)) return a;
  const err = errorOf(a.body);
  if (a.status === 401 || (a.status === 403 && (err.code === undefined || err.code === "PHONE_ERR_DEVICE_REVOKED"))) return { kind: "revoked" };
  if (a.status === 400 || a.status === 409 || a.status === 413) return { kind: "refused", code: typeof err.code === "string" ? err.code.slice(0, 64) : `HTTP ${a.status}`, reason: wordsOf(err.message) || `HTTP ${a.status}` };
  if (a.status !== 200) return { kind: "bad-answer", reason: `HTTP ${a.status}${err.code ? ` ${err.code}` : ""}` };
  const b = (a.body !== null && typeof a.body === "object" ? a.body : {}) as Record<string, unknown>;
  const list = b.delegates;
  const people = Array.isArray(list) && list.every((d) => d !== null && typeof d === "object" && typeof (d as { number?: unknown }).number === "string" && typeof (d as { name?: unknown }).name === "string");
  if (!people || !isStringList(b.added) || !isStringList(b.removed)) return { kind: "bad-answer", reason: "the answer lacks the delegates, or who was added and removed" };
  const ringMode = b.ringMode === "delayed" ? "delayed" : "simultaneous";
  const ringDelaySeconds = typeof b.ringDelaySeconds === "number" && Number.isInteger(b.ringDelaySeconds) ? b.ringDelaySeconds : 0;
  return {
    ok: true,
    delegates: (list as Array<{ number: string; name: string }>).map((d) => ({ number: d.number, name: d.name })),
    added: b.added,
    removed: b.removed,
    ringMode,
    ringDelaySeconds,
  };
}

/** Whether a service answers at `t` (GET /v1/health over TLS the phone trusts): null when it does, else why not. */
export async function checkService(t: ServiceTarget): Promise<ServiceFailure | null> {
  const a = await request(t, "GET", "v1/health", undefined);
  if (isFailure(a)) return a;
  return a.status === 200 ? null : { kind: "bad-answer", reason: `HTTP ${a.status} from /v1/health` };
}

/** Words for the screen (20-column LCD lines scroll when longer). */
export function failureWords(f: ServiceFailure, clock: (d: Date) => string): string {
  switch (f.kind) {
    case "wrong-pin":
      return f.triesLeft === undefined ? "Wrong extension or PIN" : `Wrong PIN, ${f.triesLeft} ${f.triesLeft === 1 ? "try" : "tries"} left`;
    case "locked":
      return f.until === "admin" ? "PIN locked: ask IT to unlock it" : `PIN locked until ${clock(f.until)}`;
    case "unreachable":
      return `Cannot reach the provisioning service: ${f.reason}`;
    case "untrusted":
      return "Service certificate not trusted";
    case "revoked":
      return "This phone was signed out by IT";
    case "bad-answer":
      return `The provisioning service answered badly: ${f.reason}`;
    case "refused":
      return `Not saved: ${f.reason}`;
  }
}

// The reference provisioning service (HTTPS, openapi.yaml describes it): a phone signs in with extension + PIN and a
// PKCS#10 request, and gets a device certificate from the service's own CA, the CA, and its config bundle; later it
// fetches its config with that certificate (mutual TLS), and a boss's phone writes back the delegates the boss picked
// (PUT /v1/delegates, mutual TLS too). PIN lockout as Lync had it (pin-gate.ts); the state is one SQLite file the
// admin CLI works on too. Nothing here logs a PIN, a SIP password or a key.
import * as https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { createSystemClock, type Clock } from "../../base/clock.js";
import { silentLogger, type Logger } from "../../base/log.js";
import { ErrorCodes } from "../../base/errors.js";
import { ProvisioningStore, type DeviceRecord, type RingMode } from "./store.js";
import { PinGate } from "./pin-gate.js";
import { openDeviceCa, CsrError, type DeviceCa } from "./device-ca.js";
import { buildUserBundle, delegationEnabled, type BundleSource } from "./bundle.js";
import { registrarRouting, writeSubscriberFile, type RegistrarRouting } from "./kamailio-subscribers.js";
import { checkServiceConfig, parseListen, settingsOf, DB_FILE, DEFAULT_TLS_NAMES, SETTINGS_KEY, type ProvisioningServiceConfig, type ServiceSettings } from "./service-config.js";
import { AdminRefusal, EXTENSION_RE, setDelegates } from "./admin-ops.js";
import { MAX_DELEGATES, MAX_RING_DELAY_SECONDS } from "../config-bundle.js";

/** The error codes of the HTTP API (stable: add, never rename). */
export const ServiceErrorCodes = {
  BAD_REQUEST: ErrorCodes.BAD_REQUEST,
  WRONG_PIN: "PHONE_ERR_WRONG_PIN",
  PIN_LOCKED: "PHONE_ERR_PIN_LOCKED",
  NO_DEVICE_CERT: "PHONE_ERR_NO_DEVICE_CERT",
  DEVICE_REVOKED: "PHONE_ERR_DEVICE_REVOKED",
  TOO_LARGE: "PHONE_ERR_TOO_LARGE",
  NOT_FOUND: "PHONE_ERR_NOT_FOUND",
  METHOD_NOT_ALLOWED: "PHONE_ERR_METHOD_NOT_ALLOWED",
  INTERNAL: "PHONE_ERR_INTERNAL",
  /** PUT /v1/delegates while IT's delegation policy does not enable delegation (409). */
  DELEGATION_OFF: "PHONE_ERR_DELEGATION_OFF",
} as const;

/** The largest request body taken (a CSR is a few KiB). */
export const MAX_BODY_BYTES = 64 * 1024;

export interface ProvisioningService {
  /** https://host:port (no trailing slash). */
  url: string;
  port: number;
  /** The service's CA: phones trust it for the service's TLS certificate, and their certificates chain to it. */
  caPem: string;
  /** The private lines and delegations as the registrar takes them (see kamailio-subscribers.ts), read now. */
  registrarRouting(): RegistrarRouting;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  log?: Logger;
  clock?: Clock;
  /**
   * Called after a phone changed its boss's delegates or ring mode (PUT /v1/delegates), with the routing as it now
   * is: the lab restarts or reconfigures its registrar. Admin CLI changes, made in another process, do not call it.
   */
  onRoutingChanged?: (routing: RegistrarRouting) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const badRequest = (message: string): HttpError => new HttpError(400, ServiceErrorCodes.BAD_REQUEST, message);

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(text)), "cache-control": "no-store", ...headers });
  res.end(text);
}

/** Reads the body, at most MAX_BODY_BYTES (413 beyond, told by Content-Length or by counting). */
function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > MAX_BODY_BYTES) return Promise.reject(new HttpError(413, ServiceErrorCodes.TOO_LARGE, `the body is ${declared} bytes, over the limit of ${MAX_BODY_BYTES} bytes`));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (d: Buffer) => {
      if (over) return;
      size += d.length;
      if (size > MAX_BODY_BYTES) {
        over = true;
        parts.length = 0;
        reject(new HttpError(413, ServiceErrorCodes.TOO_LARGE, `the body is over the limit of ${MAX_BODY_BYTES} bytes`));
        return;
      }
      parts.push(d);
    });
    req.on("end", () => {
      if (!over) resolve(Buffer.concat(parts));
    });
    req.on("error", reject);
    req.on("close", () => {
      if (!req.complete && !over) reject(badRequest("the request was cut short"));
    });
  });
}

interface SignInRequest {
  extension: string;
  pin: string;
  csr: string;
}

/** Checks the sign-in body field by field; the PIN is never quoted back. */
function signInRequestOf(raw: Buffer): SignInRequest {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch (e) {
    throw badRequest(`the body is not JSON (${(e as Error).message})`);
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("the body must be a JSON object with extension, pin and csr");
  const b = body as Record<string, unknown>;
  for (const f of ["extension", "pin", "csr"]) if (b[f] === undefined || b[f] === null || b[f] === "") throw badRequest(`${f}: missing`);
  if (typeof b.extension !== "string" || !EXTENSION_RE.test(b.extension)) throw badRequest("extension: must be a string of 1 to 15 digits");
  if (typeof b.pin !== "string" || !/^[0-9]{1,64}$/.test(b.pin)) throw badRequest("pin: must be a string of digits");
  if (typeof b.csr !== "string") throw badRequest("csr: must be a PEM string");
  return { extension: b.extension, pin: b.pin, csr: b.csr };
}

interface DelegatesRequest {
  delegates: string[];
  ringMode?: RingMode;
  ringDelaySeconds?: number;
}

/** Checks the PUT /v1/delegates body's shape (who the delegates may be is setDelegates' business). */
function delegatesRequestOf(raw: Buffer): DelegatesRequest {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch (e) {
    throw badRequest(`the body is not JSON (${(e as Error).message})`);
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest('the body must be a JSON object: {"delegates": ["1002", ...]}');
  const b = body as Record<string, unknown>;
  if (b.delegates === undefined || b.delegates === null) throw badRequest("delegates: missing");
  if (!Array.isArray(b.delegates)) throw badRequest("delegates: must be an array of extensions");
  if (b.delegates.length > MAX_DELEGATES) throw badRequest(`delegates: at most ${MAX_DELEGATES} (got ${b.delegates.length})`);
  b.delegates.forEach((d, i) => {
    if (typeof d !== "string" || !EXTENSION_RE.test(d)) throw badRequest(`delegates/${i}: must be an extension, a string of 1 to 15 digits`);
  });
  if (b.ringMode !== undefined && b.ringMode !== "simultaneous" && b.ringMode !== "delayed") throw badRequest('ringMode: must be "simultaneous" or "delayed"');
  if (b.ringDelaySeconds !== undefined) {
    if (typeof b.ringDelaySeconds !== "number" || !Number.isInteger(b.ringDelaySeconds) || b.ringDelaySeconds < 0 || b.ringDelaySeconds > MAX_RING_DELAY_SECONDS) throw badRequest(`ringDelaySeconds: must be a whole number from 0 to ${MAX_RING_DELAY_SECONDS}`);
    if (b.ringMode === undefined) throw badRequest("ringDelaySeconds: goes with ringMode");
  }
  return { delegates: b.delegates as string[], ...(b.ringMode !== undefined ? { ringMode: b.ringMode } : {}), ...(b.ringDelaySeconds !== undefined ? { ringDelaySeconds: b.ringDelaySeconds } : {}) };
}

/** Starts the service on `config.listen`; resolves once it accepts connections. */
export async function startProvisioningService(config: ProvisioningServiceConfig, opts: ServiceOptions = {}): Promise<ProvisioningService> {
  const cfg = checkServiceConfig(config);
  const log = opts.log ?? silentLogger();
  const clock = opts.clock ?? createSystemClock();
  const settings = settingsOf(cfg);
  const dataDir = path.resolve(cfg.dataDir);
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });

  const store = ProvisioningStore.open(path.join(dataDir, DB_FILE), { clock });
  let server: https.Server | undefined;
  try {
    // the admin CLI reads these when it is given the database alone
    store.setSetting(SETTINGS_KEY, settings);
    const ca = await openDeviceCa(dataDir, { tlsNames: cfg.tlsNames ?? DEFAULT_TLS_NAMES, clock });
    if (settings.kamailioSubscriberFile) await writeSubscriberFile(settings.kamailioSubscriberFile, store, settings.sipDomain);
    const gate = new PinGate(store, clock, settings.lockout, settings.scrypt);
    const source: BundleSource = { sip: cfg.sip, ...(cfg.dialPlan ? { dialPlan: cfg.dialPlan } : {}), ...(cfg.trustedCAs ? { trustedCAs: cfg.trustedCAs } : {}) };
    const api = new Api(store, ca, gate, source, settings, clock, log, opts.onRoutingChanged);

    server = https.createServer({ key: ca.serverKeyPem, cert: ca.serverCertPem, ca: [ca.caPem], requestCert: true, rejectUnauthorized: false, minVersion: "TLSv1.2", requestTimeout: 30_000, headersTimeout: 15_000 }, (req, res) => void api.handle(req, res));
    const { host, port } = parseListen(cfg.listen);
    const srv = server;
    await new Promise<void>((resolve, reject) => {
      srv.once("error", reject);
      srv.listen(port, host, () => {
        srv.off("error", reject);
        resolve();
      });
    });
    const bound = (srv.address() as AddressInfo).port;
    const shown = host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "::1" : host;
    const url = `https://${shown.includes(":") ? `[${shown}]` : shown}:${bound}`;
    log.info({ url, dataDir, users: store.listUsers().length }, "provisioning service listening");
    let stopped = false;
    return {
      url,
      port: bound,
      caPem: ca.caPem,
      registrarRouting: () => registrarRouting(store),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await new Promise<void>((resolve) => {
          srv.close(() => resolve());
          srv.closeAllConnections();
        });
        store.close();
      },
    };
  } catch (e) {
    server?.close(() => undefined);
    store.close();
    throw e;
  }
}

class Api {
  constructor(
    private readonly store: ProvisioningStore,
    private readonly ca: DeviceCa,
    private readonly gate: PinGate,
    private readonly source: BundleSource,
    private readonly settings: ServiceSettings,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly onRoutingChanged?: (routing: RegistrarRouting) => void,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = new URL(req.url ?? "/", "https://service").pathname;
    try {
      const routes: Record<string, { method: string; run: () => Promise<void> }> = {
        "/v1/sign-in": { method: "POST", run: () => this.signIn(req, res) },
        "/v1/config": { method: "GET", run: () => this.config(req, res) },
        "/v1/delegates": { method: "PUT", run: () => this.putDelegates(req, res) },
        "/v1/health": { method: "GET", run: async () => send(res, 200, { ok: true }) },
      };
      const r = routes[route];
      if (!r) throw new HttpError(404, ServiceErrorCodes.NOT_FOUND, `no such resource: ${route}`);
      if (req.method !== r.method) throw new HttpError(405, ServiceErrorCodes.METHOD_NOT_ALLOWED, `${route} takes ${r.method}`, {}, { allow: r.method });
      await r.run();
    } catch (e) {
      if (!(e instanceof HttpError)) this.log.error({ err: (e as Error).message, route }, "request failed");
      const err = e instanceof HttpError ? e : new HttpError(500, ServiceErrorCodes.INTERNAL, "the service failed to answer; see its log");
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // a body too large is drained unread, and the connection not kept
      const close = err.status === 413;
      if (close) req.resume();
      send(res, err.status, { error: { code: err.code, message: err.message, ...err.extra } }, { ...err.headers, ...(close ? { connection: "close" } : {}) });
    }
  }

  private async signIn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const r = signInRequestOf(await readBody(req));
    let csr;
    try {
      csr = await this.ca.checkCsr(r.csr);
    } catch (e) {
      if (e instanceof CsrError) throw badRequest(e.message);
      throw e;
    }
    const check = await this.gate.check(r.extension, r.pin);
    if (!check.ok && check.reason === "wrong-pin") {
      this.log.info({ extension: r.extension, triesLeft: check.triesLeft }, "sign-in: wrong PIN");
      const tries = `${check.triesLeft} ${check.triesLeft === 1 ? "try" : "tries"} left before PIN sign-in locks`;
      throw new HttpError(401, ServiceErrorCodes.WRONG_PIN, `wrong extension or PIN (${tries})`, { triesLeft: check.triesLeft });
    }
    if (!check.ok) {
      this.log.info({ extension: r.extension, lockedUntil: check.until }, "sign-in: PIN locked");
      if (check.until === "admin") throw new HttpError(423, ServiceErrorCodes.PIN_LOCKED, "PIN sign-in is locked after too many wrong PINs, until an administrator unlocks it", { lockedUntil: "admin" });
      const until = new Date(check.until).toISOString();
      const retry = Math.max(1, Math.ceil((check.until - this.clock.wallNow()) / 1000));
      throw new HttpError(423, ServiceErrorCodes.PIN_LOCKED, `PIN sign-in is locked after too many wrong PINs, until ${until}`, { lockedUntil: until }, { "retry-after": String(retry) });
    }
    const user = check.user;
    const bundle = buildUserBundle(this.store, user.extension, this.source);
    if (!bundle) throw new HttpError(401, ServiceErrorCodes.WRONG_PIN, "wrong extension or PIN", { triesLeft: 0 }); // removed while we checked
    const id = randomUUID();
    const cert = await this.ca.issueClientCertificate(csr, id);
    this.store.transaction(() => {
      this.store.addDevice({ id, extension: user.extension, certSerial: cert.serial, certSha256: cert.sha256 });
      this.store.audit("service", "sign-in", { extension: user.extension, deviceId: id, detail: { serial: cert.serial, notAfter: cert.notAfter.toISOString() } });
    });
    this.log.info({ extension: user.extension, deviceId: id }, "sign-in: device certificate issued");
    send(res, 200, { device: { id }, certificate: cert.pem, ca: this.ca.caPem, bundle });
  }

  /** The device whose certificate the connection presented (mutual TLS): 401 without a known one, 403 revoked. */
  private deviceOf(req: IncomingMessage): DeviceRecord {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    if (!peer || !peer.raw) throw new HttpError(401, ServiceErrorCodes.NO_DEVICE_CERT, "a device certificate is required (sign in with extension and PIN first)");
    if (!socket.authorized) throw new HttpError(401, ServiceErrorCodes.NO_DEVICE_CERT, `the client certificate was not accepted (${String(socket.authorizationError ?? "not issued by this service")})`);
    const device = this.store.deviceByFingerprint(peer.fingerprint256);
    if (!device) throw new HttpError(401, ServiceErrorCodes.NO_DEVICE_CERT, "this certificate belongs to no device this service knows (sign in again)");
    if (device.revokedAt !== null) throw new HttpError(403, ServiceErrorCodes.DEVICE_REVOKED, `this device was revoked on ${new Date(device.revokedAt).toISOString()} (sign in again)`, { deviceId: device.id });
    return device;
  }

  private async putDelegates(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const device = this.deviceOf(req);
    const body = delegatesRequestOf(await readBody(req));
    if (!this.store.getUser(device.extension)) throw new HttpError(403, ServiceErrorCodes.DEVICE_REVOKED, "the user of this device was removed", { deviceId: device.id });
    if (!delegationEnabled(this.store)) throw new HttpError(409, ServiceErrorCodes.DELEGATION_OFF, "delegation is off: IT's delegation policy does not enable it");
    const ctx = { store: this.store, settings: this.settings, actor: `device:${device.id}` as const, now: () => this.clock.wallNow() };
    let r;
    try {
      r = setDelegates(ctx, device.extension, body.delegates, { deviceId: device.id, ...(body.ringMode ? { ring: { mode: body.ringMode, ...(body.ringDelaySeconds !== undefined ? { seconds: body.ringDelaySeconds } : {}) } } : {}) });
    } catch (e) {
      if (e instanceof AdminRefusal) throw badRequest(e.message);
      throw e;
    }
    this.store.touchDevice(device.id);
    this.log.info({ extension: device.extension, deviceId: device.id, added: r.added, removed: r.removed, ringMode: r.ringMode, ringDelaySeconds: r.ringDelaySeconds }, "delegates: set by the boss's phone");
    if (this.onRoutingChanged && (r.added.length || r.removed.length || body.ringMode)) {
      try {
        this.onRoutingChanged(registrarRouting(this.store));
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, "delegates: the routing-changed hook failed");
      }
    }
    send(res, 200, r);
  }

  private async config(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const device = this.deviceOf(req);
    const bundle = buildUserBundle(this.store, device.extension, this.source);
    if (!bundle) throw new HttpError(403, ServiceErrorCodes.DEVICE_REVOKED, "the user of this device was removed", { deviceId: device.id });
    this.store.transaction(() => {
      this.store.touchDevice(device.id);
      this.store.audit("service", "config-fetched", { extension: device.extension, deviceId: device.id });
    });
    send(res, 200, { bundle });
  }
}

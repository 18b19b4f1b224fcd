// The reference provisioning service (HTTPS, openapi.yaml describes it): a phone signs in with extension + PIN and a
// PKCS#10 request, and gets a device certificate from the service's own CA, the CA, and its config bundle; later it
// fetches its config with that certificate (mutual TLS). PIN lockout as Lync had it (pin-gate.ts); the state is one
// SQLite file the admin CLI works on too. Nothing here logs a PIN, a SIP password or a key.
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
import { ProvisioningStore } from "./store.js";
import { PinGate } from "./pin-gate.js";
import { openDeviceCa, CsrError, type DeviceCa } from "./device-ca.js";
import { buildUserBundle, type BundleSource } from "./bundle.js";
import { writeSubscriberFile } from "./kamailio-subscribers.js";
import { checkServiceConfig, parseListen, settingsOf, DB_FILE, DEFAULT_TLS_NAMES, SETTINGS_KEY, type ProvisioningServiceConfig } from "./service-config.js";
import { EXTENSION_RE } from "./admin-ops.js";

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
} as const;

/** The largest request body taken (a CSR is a few KiB). */
export const MAX_BODY_BYTES = 64 * 1024;

export interface ProvisioningService {
  /** https://host:port (no trailing slash). */
  url: string;
  port: number;
  /** The service's CA: phones trust it for the service's TLS certificate, and their certificates chain to it. */
  caPem: string;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  log?: Logger;
  clock?: Clock;
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
    const api = new Api(store, ca, gate, source, clock, log);

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
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = new URL(req.url ?? "/", "https://service").pathname;
    try {
      const routes: Record<string, { method: string; run: () => Promise<void> }> = {
        "/v1/sign-in": { method: "POST", run: () => this.signIn(req, res) },
        "/v1/config": { method: "GET", run: () => this.config(req, res) },
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

  private async config(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    if (!peer || !peer.raw) throw new HttpError(401, ServiceErrorCodes.NO_DEVICE_CERT, "a device certificate is required (sign in with extension and PIN first)");
    if (!socket.authorized) throw new HttpError(401, ServiceErrorCodes.NO_DEVICE_CERT, `the client certificate was not accepted (${String(socket.authorizationError ?? "not issued by this service")})`);
    const device = this.store.deviceByFingerprint(peer.fingerprint256);
    if (!device) throw new HttpError(401, ServiceErrorCodes.NO_DEVICE_CERT, "this certificate belongs to no device this service knows (sign in again)");
    if (device.revokedAt !== null) throw new HttpError(403, ServiceErrorCodes.DEVICE_REVOKED, `this device was revoked on ${new Date(device.revokedAt).toISOString()} (sign in again)`, { deviceId: device.id });
    const bundle = buildUserBundle(this.store, device.extension, this.source);
    if (!bundle) throw new HttpError(403, ServiceErrorCodes.DEVICE_REVOKED, "the user of this device was removed", { deviceId: device.id });
    this.store.transaction(() => {
      this.store.touchDevice(device.id);
      this.store.audit("service", "config-fetched", { extension: device.extension, deviceId: device.id });
    });
    send(res, 200, { bundle });
  }
}

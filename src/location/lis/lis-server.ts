// The reference LIS for labs and small sites: HELD (RFC 5985) over HTTPS (plain HTTP only to test the phone's
// emergency fallback, RFC 6881 ED-61), with RFC 6155 device identity. A phone POSTs a locationRequest; the LIS takes
// its <device> <mac>/<ip> (and the switch port, <chassis> and <port> in held.ts's LLDP_ID_NS extension: RFC 6155 has
// none), else the request's source IP, looks it up in the wiremap (wiremap.ts) and answers a locationResponse holding
// one PIDF-LO (built by pidf-lo.ts: an unlinked pseudonym entity, method from the entry, usage-rules with
// retransmission-allowed and +24 h retention, provided-by this LIS's URL) and the <device> identifiers it used (none
// when it used the source IP, RFC 6155 §4), or a HELD error. HTTP per RFC 5985 §8: POST only (GET/HEAD 404),
// held+xml in Content-Type and Accept (else 406), no Expect or Range (501) or If-* (412), every HELD answer 2xx with
// Content-Length and no caching. The wiremap file is checked for changes (size, mtime, inode) before each request; a
// bad edit is logged and the last good map kept.
import * as http from "node:http";
import * as https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { promises as fs } from "node:fs";
import { randomBytes } from "node:crypto";
import { DOMParser, onErrorStopParsing, type Element } from "@xmldom/xmldom";
import { createSystemClock, type Clock } from "../../base/clock.js";
import { silentLogger, type Logger } from "../../base/log.js";
import { buildPidfLo } from "../pidf-lo.js";
import { LLDP_ID_NS } from "../held.js";
import type { HeldErrorCode } from "../location-types.js";
import { loadWiremap, lookupLocation, normaliseMac, parseIp, type DeviceKeys, type MatchKind, type Wiremap } from "./wiremap.js";

export const HELD_NS = "urn:ietf:params:xml:ns:geopriv:held";
export const HELD_ID_NS = "urn:ietf:params:xml:ns:geopriv:held:id";
export const HELD_TYPE = "application/held+xml";
/** The largest request body taken (a locationRequest is a few hundred bytes). */
export const MAX_BODY_BYTES = 64 * 1024;
/** How long a location may be kept (usage-rules retention-expiry after the timestamp). */
export const RETENTION_MS = 24 * 3600_000;

export interface LisServerOptions {
  wiremapFile: string;
  /** 0 picks a free port. */
  port: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** PEM certificate chain and key; null serves plain HTTP (only to test a phone's emergency fallback). */
  tls: { certPem: string; keyPem: string } | null;
  /** The URL phones use, put in provided-by and the entity's host (default: the URL it listens on). */
  publicUrl?: string;
  clock?: Clock;
  log?: Logger;
  /** How long an idle kept-alive connection stays open, ms (default node's 5 s; 0: no limit). */
  keepAliveTimeoutMs?: number;
}

/** One request as the tests and the log see it. */
export interface LisRequestRecord {
  /** Wall-clock ms. */
  at: number;
  method: string;
  path: string;
  /** The source IP (an IPv4-mapped address as plain IPv4). */
  remote: string;
  status: number;
  /** "locationResponse", a HELD error code, or null for an HTTP-level refusal. */
  held: "locationResponse" | HeldErrorCode | null;
  /** How the wiremap matched, and the entry ("entries[3]" or "default"). */
  by?: MatchKind;
  entry?: string;
  /** The identifiers the lookup used. */
  ids?: DeviceKeys;
}

export interface LisServer {
  /** http(s)://host:port (no trailing slash). */
  url: string;
  port: number;
  /** The wiremap in use (the last good one). */
  wiremap(): Wiremap;
  /** Every request so far, oldest first (the last 1000). */
  readonly requests: readonly LisRequestRecord[];
  /** Connections accepted so far: TCP, and (HTTPS) TLS handshakes completed. Shows whether phones reuse connections. */
  connections(): { tcp: number; tls: number };
  /** Closes the connections that sit idle between requests, as a LIS with a short keep-alive timeout would. */
  closeIdleConnections(): void;
  /** Re-reads the wiremap now; rejects with the file's errors (the last good map stays in use). */
  reload(): Promise<Wiremap>;
  stop(): Promise<void>;
}

/** An HTTP-level refusal (not a HELD answer). */
class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A HELD error answer (sent with 200). */
class HeldError extends Error {
  constructor(
    readonly code: HeldErrorCode,
    message: string,
    readonly required?: string,
  ) {
    super(message);
  }
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] ?? c);
}

/** The HELD error document (RFC 5985 §6.3, RFC 6155 §7.3 requiredIdentifiers). */
export function heldErrorXml(code: HeldErrorCode, message: string, required?: string): string {
  const req = required ? `<requiredIdentifiers xmlns="${HELD_ID_NS}">${esc(required)}</requiredIdentifiers>` : "";
  return `<?xml version="1.0" encoding="UTF-8"?>\n<error xmlns="${HELD_NS}" code="${code}"><message xml:lang="en">${esc(message)}</message>${req}</error>\n`;
}

const plainIp = (a: string | undefined): string => (a ?? "").replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");

/** The media type (lowercase, no parameters) of a header value. */
const mediaType = (v: string): string => v.split(";")[0].trim().toLowerCase();

function acceptsHeld(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(",").some((part) => mediaType(part) === HELD_TYPE && !/;\s*q\s*=\s*0(\.0*)?\s*(;|$)/i.test(part));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > MAX_BODY_BYTES) return Promise.reject(new HttpRefusal(413, `the body is over ${MAX_BODY_BYTES} bytes`, { connection: "close" }));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on("data", (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY_BYTES) reject(new HttpRefusal(413, `the body is over ${MAX_BODY_BYTES} bytes`, { connection: "close" }));
      else parts.push(d);
    });
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

const children = (el: Element, ns: string, name: string): Element[] => {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === name) out.push(n as Element);
  return out;
};
const text = (el: Element | undefined): string | undefined => el?.textContent?.trim() || undefined;

interface ParsedRequest {
  /** Identifiers the <device> gave. */
  device: DeviceKeys;
  /** The ip element's v attribute, echoed as given. */
  ipVersion?: string;
}

/** The locationRequest's parts the LIS uses; HELD errors for what it cannot take. */
function parseRequest(body: Buffer): ParsedRequest {
  let doc;
  try {
    doc = new DOMParser({ onError: onErrorStopParsing }).parseFromString(body.toString("utf8"), "application/xml");
  } catch (e) {
    throw new HeldError("xmlError", `the request is not well-formed XML (${(e as Error).message.split("\n")[0]})`);
  }
  const root = doc.documentElement;
  if (!root) throw new HeldError("xmlError", "the request has no document element");
  if (doc.doctype) throw new HeldError("xmlError", "a DOCTYPE is not allowed in a HELD request");
  if (root.namespaceURI !== HELD_NS || root.localName !== "locationRequest") throw new HeldError("unsupportedMessage", `this LIS takes locationRequest (${HELD_NS}), not ${root.localName ?? root.nodeName}${root.namespaceURI ? ` (${root.namespaceURI})` : ""}`);
  const rt = root.getAttribute("responseTime");
  if (rt !== null && !/^\s*(emergencyRouting|emergencyDispatch|\d+)\s*$/.test(rt)) throw new HeldError("requestError", `responseTime must be emergencyRouting, emergencyDispatch or milliseconds, not "${rt}"`);
  const lt = children(root, HELD_NS, "locationType")[0];
  if (lt) {
    const types = (lt.textContent ?? "").trim().split(/\s+/).filter(Boolean);
    const ok = (types.length === 1 && types[0] === "any") || (types.length > 0 && types.every((t) => ["civic", "geodetic", "locationURI"].includes(t)));
    if (!ok) throw new HeldError("requestError", `locationType must be "any" or a list of civic, geodetic, locationURI, not "${types.join(" ")}"`);
    const exact = /^\s*(true|1)\s*$/.test(lt.getAttribute("exact") ?? "");
    // this LIS has civic addresses only: with exact="true", anything else asked for cannot be given
    if (exact && types[0] !== "any" && types.some((t) => t !== "civic")) throw new HeldError("cannotProvideLiType", `this LIS gives civic locations only, and the request asked for exactly: ${types.join(" ")}`);
  }
  const device: DeviceKeys = {};
  const out: ParsedRequest = { device };
  const dev = children(root, HELD_ID_NS, "device")[0];
  if (dev) {
    const ipEl = children(dev, HELD_ID_NS, "ip")[0];
    const ip = text(ipEl);
    if (ipEl && (!ip || !parseIp(ip))) throw new HeldError("badIdentifier", `the device ip "${ip ?? ""}" is not an IP address`);
    if (ip) {
      device.ip = ip;
      out.ipVersion = ipEl.getAttribute("v") ?? (ip.includes(":") ? "6" : "4");
    }
    const macEl = children(dev, HELD_ID_NS, "mac")[0];
    const mac = text(macEl);
    if (macEl) {
      const m = mac ? normaliseMac(mac) : null;
      if (!m) throw new HeldError("badIdentifier", `the device mac "${mac ?? ""}" is not a MAC address (XX-XX-XX-XX-XX-XX)`);
      device.mac = m;
    }
    const chassis = text(children(dev, LLDP_ID_NS, "chassis")[0]);
    const port = text(children(dev, LLDP_ID_NS, "port")[0]);
    if (chassis) device.chassis = chassis;
    if (chassis && port) device.port = port;
  }
  return out;
}

/** The <device> echo: the identifiers the answer was based on (RFC 6155 §4); "" when only the source IP was used. */
function deviceEcho(used: DeviceKeys, ipVersion: string | undefined): string {
  const parts: string[] = [];
  if (used.ip) parts.push(`<ip v="${esc(ipVersion ?? "4")}">${esc(used.ip)}</ip>`);
  if (used.mac) parts.push(`<mac>${used.mac}</mac>`);
  if (used.chassis) parts.push(`<lldp:chassis>${esc(used.chassis)}</lldp:chassis>`);
  if (used.port) parts.push(`<lldp:port>${esc(used.port)}</lldp:port>`);
  if (!parts.length) return "";
  const lldp = used.chassis ? ` xmlns:lldp="${LLDP_ID_NS}"` : "";
  return `<device xmlns="${HELD_ID_NS}"${lldp}>${parts.join("")}</device>`;
}

/** Starts the LIS; rejects with the wiremap's errors when the file is bad. */
export async function startLisServer(opts: LisServerOptions): Promise<LisServer> {
  const log = opts.log ?? silentLogger();
  const clock = opts.clock ?? createSystemClock();
  const file = opts.wiremapFile;
  const sig = async (): Promise<string> => {
    const s = await fs.stat(file, { bigint: true });
    return `${s.ino}/${s.size}/${s.mtimeNs}/${s.ctimeNs}`;
  };
  let loadedSig = await sig().catch(() => "");
  let map = await loadWiremap(file);
  let failedSig = "";
  let loading: Promise<void> | null = null;

  const reload = async (): Promise<Wiremap> => {
    const s = await sig().catch(() => "");
    try {
      map = await loadWiremap(file);
    } catch (e) {
      failedSig = s;
      log.error({ file, err: (e as Error).message }, "wiremap not reloaded: keeping the last good one");
      throw e;
    }
    loadedSig = s;
    failedSig = "";
    log.info({ file, entries: map.entries.length }, "wiremap reloaded");
    return map;
  };
  /** Reloads when the file changed since the last attempt (each bad version is logged once). */
  const refresh = (): Promise<void> => {
    loading ??= (async () => {
      let s: string;
      try {
        s = await sig();
      } catch (e) {
        s = `gone: ${(e as NodeJS.ErrnoException).code ?? ""}`;
        if (s !== failedSig) log.error({ file, err: (e as Error).message }, "wiremap unreadable: keeping the last good one");
        failedSig = s;
        return;
      }
      if (s !== loadedSig && s !== failedSig) await reload().catch(() => undefined);
    })().finally(() => (loading = null));
    return loading;
  };

  const requests: LisRequestRecord[] = [];
  let publicUrl = opts.publicUrl?.replace(/\/+$/, "") ?? "";
  let entityHost = "";

  const send = (res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { "content-type": type, "content-length": String(Buffer.byteLength(body)), "cache-control": "no-cache", ...headers });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rec: LisRequestRecord = { at: clock.wallNow(), method: req.method ?? "", path: req.url ?? "/", remote: plainIp(req.socket.remoteAddress), status: 0, held: null };
    requests.push(rec);
    if (requests.length > 1000) requests.shift();
    try {
      const refusal = httpRefusal(req);
      if (refusal) throw refusal;
      const body = await readBody(req);
      await refresh();
      const answer = locate(body, rec);
      rec.status = 200;
      send(res, 200, `${HELD_TYPE};charset=utf-8`, answer);
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof HttpRefusal) {
        rec.status = e.status;
        if (e.headers.connection === "close") req.resume();
        send(res, e.status, "text/plain; charset=utf-8", `${e.message}\n`, e.headers);
        return;
      }
      const held = e instanceof HeldError ? e : new HeldError("generalLisError", "the LIS failed to answer; see its log");
      if (!(e instanceof HeldError)) log.error({ err: (e as Error).message }, "request failed");
      rec.status = 200;
      rec.held = held.code;
      send(res, 200, `${HELD_TYPE};charset=utf-8`, heldErrorXml(held.code, held.message, held.required));
    } finally {
      log.info({ method: rec.method, remote: rec.remote, status: rec.status, held: rec.held, by: rec.by, entry: rec.entry }, "HELD request");
    }
  };

  const locate = (body: Buffer, rec: LisRequestRecord): string => {
    const parsed = parseRequest(body);
    const m = map;
    if (m.requireMac && !parsed.device.mac) throw new HeldError("badIdentifier", "this LIS locates phones by MAC address: send <mac> (and <ip>) in <device>", "mac ip");
    const keys: DeviceKeys = { ...parsed.device, ip: parsed.device.ip ?? rec.remote };
    rec.ids = keys;
    const found = lookupLocation(m, keys);
    if (!found) throw new HeldError("locationUnknown", "no wiremap entry matches this phone's identifiers");
    rec.by = found.by;
    rec.entry = found.entry.where;
    if (found.entry.notLocatable || !found.entry.civic) throw new HeldError("notLocatable", "this LIS will never have a location for this phone");
    // the identifiers the answer rests on: a source-IP answer echoes no <device>
    const used: DeviceKeys = {};
    if (found.by === "mac") used.mac = parsed.device.mac;
    if (found.by === "port" || found.by === "chassis") Object.assign(used, { chassis: parsed.device.chassis, ...(found.by === "port" ? { port: parsed.device.port } : {}) });
    if ((found.by === "subnet" || found.by === "default") && parsed.device.ip) used.ip = parsed.device.ip;
    const now = new Date(clock.wallNow());
    const pidf = buildPidfLo({
      entity: `pres:${randomBytes(10).toString("hex")}@${entityHost}`,
      tupleId: `lis-${randomBytes(6).toString("hex")}`,
      civic: found.entry.civic,
      method: found.entry.method,
      providedBy: publicUrl,
      retransmissionAllowed: true,
      retentionExpiry: new Date(now.getTime() + RETENTION_MS),
      timestamp: now,
    }).replace(/^<\?xml[^>]*\?>\s*/, "");
    rec.held = "locationResponse";
    return `<?xml version="1.0" encoding="UTF-8"?>\n<locationResponse xmlns="${HELD_NS}">\n${pidf}${deviceEcho(used, parsed.ipVersion)}</locationResponse>\n`;
  };

  const refuse = (req: IncomingMessage, res: ServerResponse, status: number, message: string): void => {
    requests.push({ at: clock.wallNow(), method: req.method ?? "", path: req.url ?? "/", remote: plainIp(req.socket.remoteAddress), status, held: null });
    req.resume();
    send(res, status, "text/plain; charset=utf-8", `${message}\n`, { connection: "close" });
  };
  const serverOpts: http.ServerOptions = { requestTimeout: 30_000, headersTimeout: 15_000 };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => void handle(req, res);
  const server = opts.tls ? https.createServer({ ...serverOpts, cert: opts.tls.certPem, key: opts.tls.keyPem, minVersion: "TLSv1.2" }, onRequest) : http.createServer(serverOpts, onRequest);
  // Node answers Expect itself (100 Continue, or 417) unless these are handled: RFC 5985 §8 lets a LIS say 501
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => refuse(req, res, 501, "HELD devices must not send Expect"));
  server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => refuse(req, res, 501, "HELD devices must not send Expect"));

  const counts = { tcp: 0, tls: 0 };
  server.on("connection", () => counts.tcp++);
  server.on("secureConnection", () => counts.tls++);
  if (opts.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = opts.keepAliveTimeoutMs;

  const host = opts.host ?? "0.0.0.0";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const url = `${opts.tls ? "https" : "http"}://${shown.includes(":") ? `[${shown}]` : shown}:${bound}`;
  publicUrl ||= url;
  entityHost = new URL(publicUrl).hostname || "lis.invalid";
  log.info({ url, publicUrl, wiremap: file, entries: map.entries.length, tls: !!opts.tls }, "LIS listening");
  let stopped = false;
  return {
    url,
    port: bound,
    wiremap: () => map,
    connections: () => ({ ...counts }),
    closeIdleConnections: () => server.closeIdleConnections(),
    requests,
    reload,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The HTTP-level checks of RFC 5985 §8, before any body is read; null when the request may proceed. */
function httpRefusal(req: IncomingMessage): HttpRefusal | null {
  const h = req.headers;
  if (req.method === "GET" || req.method === "HEAD") return new HttpRefusal(404, "not found: this LIS answers HELD locationRequests by POST");
  if (req.method !== "POST") return new HttpRefusal(405, "this LIS takes POST only", { allow: "POST" });
  if (h.expect !== undefined || h.range !== undefined) return new HttpRefusal(501, "HELD devices must not send Expect or Range", { connection: "close" });
  const cond = ["if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range"].find((k) => h[k] !== undefined);
  if (cond) return new HttpRefusal(412, `this LIS takes no conditional requests (${cond})`, { connection: "close" });
  const type = h["content-type"] ?? "";
  if (mediaType(type) !== HELD_TYPE) return new HttpRefusal(406, `Content-Type must be ${HELD_TYPE};charset=utf-8, not "${type}"`, { connection: "close" });
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1];
  if (charset && charset.toLowerCase() !== "utf-8") return new HttpRefusal(406, `this LIS reads UTF-8 only, not charset ${charset}`, { connection: "close" });
  if (!acceptsHeld(h.accept)) return new HttpRefusal(406, `Accept must include ${HELD_TYPE}, not "${h.accept ?? ""}"`, { connection: "close" });
  return null;
}

// The simulator's phone face: an HTTP page that shows the emulated LCD, LEDs, keypad and hook, and talks the
// control protocol over a WebSocket (/control), so every click goes through the same commands a rig uses. Also the
// phone's admin page for IT (/admin, and /admin/report.json): what the About menu says and the sign-in / registration
// error report kept on the phone (codes, server reached, TLS result; never a PIN or password).
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { promises as fs } from "node:fs";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";
import { PhoneError, ErrorCodes } from "../base/errors.js";
import type { ControlServer } from "../control/control-server.js";
import { parseListenSpec } from "../control/control-server.js";

const PAGE = fileURLToPath(new URL("./phone-face.html", import.meta.url));

/** What the admin page shows. */
export interface AdminStatus {
  about: string[];
  report: Array<{ at: string; step: string; code: string; server?: string; tls?: string; detail: string }>;
}

const escHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

function adminPage(a: AdminStatus): string {
  const rows = a.report.map((r) => `<tr><td>${escHtml(r.at)}</td><td>${escHtml(r.step)}</td><td>${escHtml(r.code)}</td><td>${escHtml(r.server ?? "")}</td><td>${escHtml(r.tls ?? "")}</td><td>${escHtml(r.detail)}</td></tr>`).join("");
  return `<!doctype html><html><head><meta charset="utf-8"><title>Phone status</title></head><body><h1>Phone status</h1><ul>${a.about.map((l) => `<li>${escHtml(l)}</li>`).join("")}</ul><h2>Error report</h2><table border="1"><tr><th>When</th><th>Step</th><th>Code</th><th>Server</th><th>TLS</th><th>What happened</th></tr>${rows || '<tr><td colspan="6">Nothing went wrong</td></tr>'}</table></body></html>`;
}

export class FaceServer {
  private http: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly control: ControlServer,
    private readonly admin?: () => Promise<AdminStatus>,
  ) {}

  /** Serves on a tcp: spec; resolves with the page's URL. */
  async listen(spec: string): Promise<string> {
    const l = parseListenSpec(spec);
    if (l.kind !== "tcp") throw new PhoneError(ErrorCodes.CONFIG_INVALID, `the phone face serves HTTP on tcp:HOST:PORT, not '${spec}'`);
    const page = await fs.readFile(PAGE);
    const srv = http.createServer((req, res) => {
      if (req.method === "GET" && (req.url === "/" || req.url === "/index.html")) {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
        res.end(page);
      } else if (req.method === "GET" && this.admin && (req.url === "/admin" || req.url === "/admin/report.json")) {
        const json = req.url.endsWith(".json");
        void this.admin().then(
          (a) => {
            res.writeHead(200, { "content-type": json ? "application/json" : "text/html; charset=utf-8", "cache-control": "no-store" });
            res.end(json ? JSON.stringify(a) : adminPage(a));
          },
          (e: Error) => {
            res.writeHead(500, { "content-type": "text/plain" });
            res.end(`cannot read the phone's status: ${e.message}\n`);
          },
        );
      } else {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("not found\n");
      }
    });
    const wss = new WebSocketServer({ server: srv, path: "/control", maxPayload: 64 * 1024 });
    wss.on("connection", (ws) => {
      const conn = this.control.attach({ send: (text) => ws.readyState === ws.OPEN && ws.send(text), close: () => ws.close() });
      ws.on("message", (data) => void conn.request(String(data)));
      ws.on("close", () => conn.gone());
      ws.on("error", () => undefined);
    });
    await new Promise<void>((resolve, reject) => {
      srv.once("error", (e) => reject(new PhoneError(ErrorCodes.DEVICE_BUSY, `phone face: cannot listen on ${spec}: ${e.message}`)));
      srv.listen(l.port, l.host, () => resolve());
    });
    this.http = srv;
    this.wss = wss;
    const a = srv.address() as AddressInfo;
    return `http://${a.address}:${a.port}/`;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const c of this.wss?.clients ?? []) c.terminate();
      await new Promise<void>((r) => (this.wss ? this.wss.close(() => r()) : r()));
      await new Promise<void>((r) => (this.http ? this.http.close(() => r()) : r()));
    })();
    return this.closing;
  }
}

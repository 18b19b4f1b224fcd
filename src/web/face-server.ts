// The simulator's phone face: an HTTP page that shows the emulated LCD, LEDs, keypad and hook, and talks the
// control protocol over a WebSocket (/control), so every click goes through the same commands a rig uses. Also the
// phone's admin page for IT (/admin, and /admin/report.json): what the About menu says and the sign-in / registration
// error report kept on the phone (codes, server reached, TLS result; never a PIN or password), and the location page
// (/admin/location): the location emergency calls send and where it came from; IT types the civic address for the
// network the phone is on (a manual location, kept per default gateway) or clears it.
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

/** What the location page reads and changes (the firmware implements it over the location service). */
export interface AdminLocation {
  status(): Promise<{ current: { text: string; source: string } | null; network: string | null; manual: Array<{ network: string; text: string }> }>;
  /** Stores a civic address (RFC 5139 element names) for the current network; resolves with an error text or null. */
  setManual(civic: Record<string, string>): Promise<string | null>;
  clearManual(): Promise<void>;
}

/** The civic fields the form offers (RFC 5139 names, with their meaning). */
const CIVIC_FORM: Array<[string, string]> = [["country", "Country (2 letters)"], ["A1", "State / region"], ["A3", "City"], ["RD", "Street"], ["STS", "Street suffix"], ["HNO", "House number"], ["PC", "Postcode"], ["BLD", "Building"], ["FLR", "Floor"], ["UNIT", "Unit / suite"], ["ROOM", "Room"], ["SEAT", "Desk"], ["LOC", "Other detail"]];

const escHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

function adminPage(a: AdminStatus): string {
  const rows = a.report.map((r) => `<tr><td>${escHtml(r.at)}</td><td>${escHtml(r.step)}</td><td>${escHtml(r.code)}</td><td>${escHtml(r.server ?? "")}</td><td>${escHtml(r.tls ?? "")}</td><td>${escHtml(r.detail)}</td></tr>`).join("");
  return `<!doctype html><html><head><meta charset="utf-8"><title>Phone status</title></head><body><h1>Phone status</h1><ul>${a.about.map((l) => `<li>${escHtml(l)}</li>`).join("")}</ul><h2>Error report</h2><table border="1"><tr><th>When</th><th>Step</th><th>Code</th><th>Server</th><th>TLS</th><th>What happened</th></tr>${rows || '<tr><td colspan="6">Nothing went wrong</td></tr>'}</table></body></html>`;
}

function locationPage(st: Awaited<ReturnType<AdminLocation["status"]>>, said = ""): string {
  const cur = st.current ? `${escHtml(st.current.text)} <small>(from ${escHtml(st.current.source)})</small>` : "<b>No location known</b>: emergency calls go out without one";
  const fields = CIVIC_FORM.map(([k, label]) => `<label>${escHtml(label)} <input name="${k}"></label><br>`).join("");
  const manual = st.manual.map((m) => `<li>${escHtml(m.network)}: ${escHtml(m.text)}</li>`).join("");
  return `<!doctype html><html><head><meta charset="utf-8"><title>Phone location</title></head><body><h1>Emergency location</h1><p>${cur}</p><p>Network (default gateway): ${escHtml(st.network ?? "unknown")}</p>${said ? `<p><b>${escHtml(said)}</b></p>` : ""}<h2>Set the location for this network</h2><form method="post" action="/admin/location">${fields}<button>Save</button></form><form method="post" action="/admin/location?clear=1"><button>Clear the manual location</button></form><h2>Manual locations kept</h2><ul>${manual || "<li>none</li>"}</ul></body></html>`;
}

/** A request body as text, at most 16 KiB. */
function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      text += c;
      if (text.length > 16 * 1024) {
        reject(new Error("body too large"));
        req.destroy();
      }
    });
    req.on("end", () => resolve(text));
    req.on("error", reject);
  });
}

/** A civic address from a JSON body or a posted form: only the known fields, trimmed, empty ones left out. */
function civicOf(body: string, json: boolean): Record<string, string> {
  const raw: Record<string, unknown> = json ? (JSON.parse(body) as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(body));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === "string" && v.trim()) out[k] = v.trim();
  return out;
}

export class FaceServer {
  private http: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly control: ControlServer,
    private readonly admin?: () => Promise<AdminStatus>,
    private readonly location?: AdminLocation,
  ) {}

  private async serveLocation(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const loc = this.location!;
    const url = new URL(req.url ?? "/", "http://phone");
    const json = url.pathname.endsWith(".json") || /json/.test(req.headers["content-type"] ?? "");
    let said = "";
    let status = 200;
    if (req.method === "POST" || req.method === "DELETE") {
      if (req.method === "DELETE" || url.searchParams.get("clear") === "1") {
        await loc.clearManual();
        said = "Manual location cleared";
      } else {
        let civic: Record<string, string>;
        try {
          civic = civicOf(await readBody(req), json);
        } catch (e) {
          civic = {};
          said = `Not a location: ${(e as Error).message}`;
        }
        const err = said ? said : await loc.setManual(civic);
        if (err) {
          status = 400;
          said = err;
        } else said = "Location saved";
      }
    }
    const st = await loc.status();
    res.writeHead(status, { "content-type": json ? "application/json" : "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(json ? JSON.stringify({ ...st, ...(said ? { result: said } : {}) }) : locationPage(st, said));
  }

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
      } else if (this.location && /^\/admin\/location(\.json)?(\?|$)/.test(req.url ?? "") && ["GET", "POST", "DELETE"].includes(req.method ?? "")) {
        this.serveLocation(req, res).catch((e: Error) => {
          if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
          res.end(`location page failed: ${e.message}\n`);
        });
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

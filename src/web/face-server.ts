// The simulator's phone face: an HTTP page that shows the emulated LCD, LEDs, keypad and hook, and talks the
// control protocol over a WebSocket (/control), so every click goes through the same commands a rig uses.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { promises as fs } from "node:fs";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";
import { PhoneError, ErrorCodes } from "../base/errors.js";
import type { ControlServer } from "../control/control-server.js";
import { parseListenSpec } from "../control/control-server.js";

const PAGE = fileURLToPath(new URL("./phone-face.html", import.meta.url));

export class FaceServer {
  private http: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly control: ControlServer) {}

  /** Serves on a tcp: spec; resolves with the page's URL. */
  async listen(spec: string): Promise<string> {
    const l = parseListenSpec(spec);
    if (l.kind !== "tcp") throw new PhoneError(ErrorCodes.CONFIG_INVALID, `the phone face serves HTTP on tcp:HOST:PORT, not '${spec}'`);
    const page = await fs.readFile(PAGE);
    const srv = http.createServer((req, res) => {
      if (req.method === "GET" && (req.url === "/" || req.url === "/index.html")) {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
        res.end(page);
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

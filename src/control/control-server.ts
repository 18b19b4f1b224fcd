// Control protocol v1 server: newline-delimited JSON over TCP (loopback by default) and unix sockets, several
// clients at once, each with its own subscriptions. Shape from baresip's ctrl_tcp: token, response, event.
import * as net from "node:net";
import { promises as fs } from "node:fs";
import type { Clock } from "../base/clock.js";
import { PhoneError, ErrorCodes, isPhoneError } from "../base/errors.js";
import { silentLogger, type Logger } from "../base/log.js";
import type { Unsubscribe } from "../hal/api/events.js";
import { COMMANDS, matches, type Params, type Session } from "./control-commands.js";
import type { ControlEventType, ControlTarget } from "./control-target.js";

export const MAX_LINE_BYTES = 64 * 1024;

export type ListenSpec = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

/** "tcp:127.0.0.1:7070", "tcp:7070" (loopback), "unix:/run/phone/control.sock". */
export function parseListenSpec(spec: string): ListenSpec {
  const tcp = /^tcp:(?:(.+):)?(\d{1,5})$/.exec(spec);
  if (tcp) {
    const port = Number(tcp[2]);
    if (port > 65535) throw new PhoneError(ErrorCodes.CONFIG_INVALID, `control: port ${port} is out of range in '${spec}'`);
    return { kind: "tcp", host: tcp[1] ?? "127.0.0.1", port };
  }
  const unix = /^unix:(\/.+)$/.exec(spec);
  if (unix) return { kind: "unix", path: unix[1] };
  if (spec.startsWith("serial:")) throw new PhoneError(ErrorCodes.NOT_SUPPORTED, `control: serial listeners ('${spec}') are not supported yet; use tcp: or unix:`);
  throw new PhoneError(ErrorCodes.CONFIG_INVALID, `control: '${spec}' is not a listener (tcp:HOST:PORT or unix:/path)`);
}

/** Where a connection's replies go: a TCP/unix socket (one JSON per line) or a WebSocket (one JSON per message). */
export interface ControlSink {
  send(text: string): void;
  close(): void;
}

/** One client: its subscriptions, its pending wait_for calls, and the requests it sends, one JSON text each. */
export class Connection implements Session {
  private readonly subs = new Set<ControlEventType>();
  private readonly waits = new Set<() => void>();

  constructor(
    private readonly sink: ControlSink,
    private readonly server: ControlServer,
  ) {}

  send(obj: unknown): void {
    this.sink.send(JSON.stringify(obj));
  }

  event(type: ControlEventType, data: Record<string, unknown>, t: number): void {
    if (this.subs.has(type)) this.send({ event: type, t, data });
  }

  subscribe(types: ControlEventType[]): ControlEventType[] {
    for (const t of types) this.subs.add(t);
    return [...this.subs];
  }

  waitFor(type: ControlEventType, match: Params, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      let off: Unsubscribe = () => undefined;
      const done = (): void => {
        timer.cancel();
        off();
        this.waits.delete(cancel);
      };
      const cancel = (): void => {
        done();
        reject(new PhoneError(ErrorCodes.TIMEOUT, "connection closed"));
      };
      const timer = this.server.clock.setTimeout(() => {
        done();
        reject(new PhoneError(ErrorCodes.TIMEOUT, `no '${type}' event matching ${JSON.stringify(match)} within ${timeoutMs} ms`, { event: type }));
      }, timeoutMs);
      off = this.server.target.onEvent((t, data) => {
        if (t !== type || !matches(data, match)) return;
        done();
        resolve({ event: t, t: this.server.elapsed(), data });
      });
      this.waits.add(cancel);
    });
  }

  /** The transport went away: cancel waits, forget the client. */
  gone(): void {
    for (const w of this.waits) w();
    this.server.forget(this);
  }

  close(): void {
    this.sink.close();
  }

  tooLong(): void {
    this.send({ token: null, ok: false, error: { code: ErrorCodes.BAD_REQUEST, message: `line longer than ${MAX_LINE_BYTES} bytes` } });
  }

  async request(line: string): Promise<void> {
    if (!line.trim()) return;
    if (Buffer.byteLength(line) > MAX_LINE_BYTES) return this.tooLong();
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch (e) {
      this.send({ token: null, ok: false, error: { code: ErrorCodes.BAD_REQUEST, message: `not JSON: ${(e as Error).message}` } });
      return;
    }
    const m = (msg && typeof msg === "object" && !Array.isArray(msg) ? msg : {}) as Params;
    const token = typeof m.token === "string" || typeof m.token === "number" ? m.token : null;
    try {
      if (typeof m.command !== "string") throw new PhoneError(ErrorCodes.BAD_REQUEST, "a request needs a string 'command'");
      const handler = Object.prototype.hasOwnProperty.call(COMMANDS, m.command) ? COMMANDS[m.command] : undefined;
      if (!handler) throw new PhoneError(ErrorCodes.BAD_REQUEST, `unknown command '${m.command}' (known: ${Object.keys(COMMANDS).join(", ")})`);
      const params = m.params === undefined ? {} : m.params;
      if (typeof params !== "object" || params === null || Array.isArray(params)) throw new PhoneError(ErrorCodes.BAD_REQUEST, "params must be an object");
      const data = await handler(this.server.target, params as Params, this);
      this.send({ token, ok: true, data: data ?? {} });
    } catch (e) {
      const err = isPhoneError(e) ? { code: e.code, message: e.message } : { code: ErrorCodes.BAD_REQUEST, message: (e as Error).message };
      this.send({ token, ok: false, error: err });
    }
  }
}

/** Newline framing for stream sockets, with the 64 KiB line limit (a longer line is answered once and skipped). */
function attachLineSocket(sock: net.Socket, server: ControlServer): void {
  sock.setNoDelay(true);
  const conn = server.attach({
    send: (text) => {
      if (!sock.destroyed) sock.write(text + "\n");
    },
    close: () => {
      sock.end();
      sock.destroy();
    },
  });
  let buf = Buffer.alloc(0);
  let discarding = false;
  sock.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const nl = buf.indexOf(0x0a);
      if (nl < 0) {
        if (buf.length > MAX_LINE_BYTES) {
          if (!discarding) conn.tooLong();
          discarding = true;
          buf = Buffer.alloc(0);
        }
        return;
      }
      const line = buf.subarray(0, nl).toString("utf8").replace(/\r$/, "");
      buf = buf.subarray(nl + 1);
      if (discarding) discarding = false;
      else void conn.request(line);
    }
  });
  sock.on("error", () => undefined);
  sock.on("close", () => conn.gone());
}

export class ControlServer {
  private readonly servers: net.Server[] = [];
  private readonly conns = new Set<Connection>();
  private readonly unixPaths: string[] = [];
  private readonly started: number;
  private readonly off: Unsubscribe;
  private closing: Promise<void> | undefined;
  readonly addresses: string[] = [];

  constructor(
    readonly target: ControlTarget,
    readonly clock: Clock,
    private readonly log: Logger = silentLogger(),
  ) {
    this.started = clock.now();
    this.off = target.onEvent((type, data) => {
      const t = this.elapsed();
      for (const c of this.conns) c.event(type, data, t);
    });
  }

  elapsed(): number {
    return Math.round((this.clock.now() - this.started) * 10) / 10;
  }

  /** Starts a listener; resolves with its address ("tcp:127.0.0.1:7070", "unix:/path"). */
  async listen(spec: string): Promise<string> {
    const l = parseListenSpec(spec);
    const srv = net.createServer((sock) => {
      if (this.closing) return sock.destroy();
      attachLineSocket(sock, this);
    });
    if (l.kind === "unix") await fs.rm(l.path, { force: true });
    await new Promise<void>((resolve, reject) => {
      srv.once("error", (e) => reject(new PhoneError(ErrorCodes.DEVICE_BUSY, `control: cannot listen on ${spec}: ${e.message}`, { spec })));
      if (l.kind === "tcp") srv.listen(l.port, l.host, () => resolve());
      else srv.listen(l.path, () => resolve());
    });
    this.servers.push(srv);
    let addr: string;
    if (l.kind === "unix") {
      this.unixPaths.push(l.path);
      addr = `unix:${l.path}`;
    } else {
      const a = srv.address() as net.AddressInfo;
      addr = `tcp:${a.address}:${a.port}`;
    }
    this.addresses.push(addr);
    this.log.info({ control: addr }, "control listening");
    return addr;
  }

  /** A new client on any transport; the transport feeds it with request(text) and calls gone() when it ends. */
  attach(sink: ControlSink): Connection {
    const c = new Connection(sink, this);
    if (this.closing) c.close();
    else this.conns.add(c);
    return c;
  }

  forget(c: Connection): void {
    this.conns.delete(c);
  }

  /** Stops listening, ends every client, removes unix socket files. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.off();
      for (const c of this.conns) c.close();
      await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      for (const p of this.unixPaths) await fs.rm(p, { force: true });
    })();
    return this.closing;
  }
}

// The SIP transport sip.js runs on in Node: UDP (with the RFC 3261 retransmission timers sip.js lacks, and requests
// too large for UDP sent over TCP per §18.1.1), TCP and TLS (certificate checked against the configured CAs; a
// failure names the check). Stream framing by Content-Length, CRLF keep-alive (RFC 5626 §4.4.1) that drops a dead
// connection. Where it connects is asked of `target()` on every connect, so the registration supervisor can fail
// over without rebuilding the user agent. It never reconnects by itself (sip.js's Transport contract).
import * as dgram from "node:dgram";
import * as net from "node:net";
import * as tls from "node:tls";
import { EmitterImpl, TransportState, type Emitter, type Transport } from "sip.js";
import type { Clock, Timer } from "../../base/clock.js";
import type { Logger } from "../../base/log.js";
import { StreamFramer } from "./stream-framer.js";
import { UdpRetransmitter } from "./udp-retransmitter.js";

export type SipProtocol = "UDP" | "TCP" | "TLS";

export interface TransportTarget {
  protocol: SipProtocol;
  host: string;
  port: number;
  /** The name the TLS certificate must carry (the domain the phone was configured with); defaults to `host`. */
  serverName?: string;
}

export interface NodeTransportOptions {
  clock: Clock;
  log: Logger;
  /** Where to connect now (asked on every connect). */
  target: () => TransportTarget;
  /** PEM certificates of the CAs trusted for TLS; the system's CAs when absent. */
  caCerts?: string[];
  /** Local address to bind (default: any). */
  localAddress?: string;
  /** CRLF ping interval on TCP/TLS (ms); 0 = off. A connection that does not answer within `keepAliveTimeoutMs` is dropped. */
  keepAliveMs?: number;
  keepAliveTimeoutMs?: number;
  /** TCP/TLS: a connection not up (TLS handshake included) within this long fails (ms; default: the system's own timeout). */
  connectTimeoutMs?: number;
  /** RFC 3261 §18.1.1: a request larger than this goes over TCP instead of UDP (default 1300). */
  udpMaxBytes?: number;
  /** T1/T2 for the UDP retransmission timers (RFC 3261 defaults 500/4000). */
  timers?: { T1: number; T2: number };
  /** Rewrites every message before it is sent / after it is received (workarounds; see message-fixes.ts). */
  rewriteOutgoing?: (text: string) => string;
  rewriteIncoming?: (text: string) => string;
  /** Told the local address and port once connected (the Contact must carry them). */
  onLocal?: (local: { address: string; port: number; protocol: SipProtocol }) => void;
  /** Sees every message on the wire (tests, traces): "out" before sending, "in" as received. */
  tap?: (dir: "in" | "out", text: string) => void;
}

/** Why a TLS connection failed, in words that name the check. */
export function describeTlsError(e: NodeJS.ErrnoException, target: TransportTarget): string {
  const code = e.code ?? "";
  const name = target.serverName ?? target.host;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return `TLS: the server's certificate does not name '${name}' (host name check failed: ${e.message})`;
  if (code === "CERT_HAS_EXPIRED") return `TLS: the server's certificate has expired (validity check failed)`;
  if (code === "CERT_NOT_YET_VALID") return `TLS: the server's certificate is not valid yet (validity check failed; is the clock right?)`;
  if (["DEPTH_ZERO_SELF_SIGNED_CERT", "SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "UNABLE_TO_GET_ISSUER_CERT"].includes(code))
    return `TLS: the server's certificate is not signed by a trusted CA (chain check failed: ${code}); add its CA to the trusted CAs`;
  return `TLS: ${e.message}${code ? ` (${code})` : ""}`;
}

export class NodeTransport implements Transport {
  readonly stateChange: Emitter<TransportState>;
  onConnect: (() => void) | undefined;
  onDisconnect: ((error?: Error) => void) | undefined;
  onMessage: ((message: string) => void) | undefined;

  private _state = TransportState.Disconnected;
  private readonly emitter = new EmitterImpl<TransportState>();
  private readonly opts: NodeTransportOptions;
  private current: TransportTarget | undefined;
  private udp: dgram.Socket | undefined;
  private stream: net.Socket | undefined;
  /** UDP only: a TCP connection for requests too large for UDP. */
  private bigStream: net.Socket | undefined;
  private retransmitter: UdpRetransmitter | undefined;
  private keepAlive: Timer | undefined;
  private keepAliveDeadline: Timer | undefined;
  private userDisconnect = false;

  constructor(_logger: unknown, options: NodeTransportOptions) {
    this.opts = options;
    this.stateChange = this.emitter;
  }

  get protocol(): string {
    return (this.current ?? this.opts.target()).protocol;
  }

  get state(): TransportState {
    return this._state;
  }

  isConnected(): boolean {
    return this._state === TransportState.Connected;
  }

  /** Where the transport is connected now (for the screen and logs). */
  get where(): TransportTarget | undefined {
    return this.current;
  }

  async connect(): Promise<void> {
    if (this._state === TransportState.Connected || this._state === TransportState.Connecting) return;
    this.userDisconnect = false;
    const target = (this.current = this.opts.target());
    this.transition(TransportState.Connecting);
    try {
      if (target.protocol === "UDP") await this.openUdp(target);
      else this.stream = await this.openStream(target, target.protocol === "TLS", (m) => this.deliver(m), () => this.lost(new Error(`connection to ${target.host}:${target.port} closed by the server`)));
    } catch (e) {
      this.transition(TransportState.Disconnected);
      throw e;
    }
    this.transition(TransportState.Connected);
    this.startKeepAlive();
    this.onConnect?.();
  }

  async disconnect(): Promise<void> {
    if (this._state === TransportState.Disconnected) return;
    this.userDisconnect = true;
    this.transition(TransportState.Disconnecting);
    this.teardown();
    this.transition(TransportState.Disconnected);
    this.onDisconnect?.();
  }

  async dispose(): Promise<void> {
    await this.disconnect();
  }

  /** Drops the connection as if the network failed (tests, and the keep-alive's verdict). */
  kill(why: string): void {
    this.lost(new Error(why));
  }

  async send(message: string): Promise<void> {
    if (!this.isConnected() || !this.current) throw new Error(`SIP transport not connected (state ${this._state})`);
    const text = this.opts.rewriteOutgoing ? this.opts.rewriteOutgoing(message) : message;
    const t = this.current;
    if (t.protocol !== "UDP") {
      this.opts.tap?.("out", text);
      await writeStream(this.stream, text);
      return;
    }
    const bytes = Buffer.byteLength(text);
    if (bytes > (this.opts.udpMaxBytes ?? 1300) && !/^SIP\/2\.0 /.test(text)) {
      // RFC 3261 §18.1.1: too large for UDP; the same request goes over TCP, with the Via saying so
      const overTcp = text.replace(/^(Via|v)([ \t]*:[ \t]*SIP\/2\.0\/)UDP/im, "$1$2TCP");
      this.bigStream ??= await this.openStream({ ...t, protocol: "TCP" }, false, (m) => this.deliver(m), () => (this.bigStream = undefined), false);
      this.opts.tap?.("out", overTcp);
      await writeStream(this.bigStream, overTcp);
      return;
    }
    this.opts.tap?.("out", text);
    await this.udpSend(text);
    this.retransmitter?.sent(text);
  }

  private udpSend(text: string): Promise<void> {
    const t = this.current;
    const sock = this.udp;
    if (!t || !sock) return Promise.reject(new Error("SIP transport not connected"));
    return new Promise((resolve, reject) => sock.send(text, t.port, t.host, (err) => (err ? reject(err) : resolve())));
  }

  private deliver(raw: string): void {
    const text = this.opts.rewriteIncoming ? this.opts.rewriteIncoming(raw) : raw;
    this.opts.tap?.("in", text);
    this.retransmitter?.received(text);
    this.onMessage?.(text);
  }

  private async openUdp(t: TransportTarget): Promise<void> {
    const sock = dgram.createSocket(net.isIPv6(t.host) ? "udp6" : "udp4");
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind({ address: this.opts.localAddress, port: 0 }, () => {
        sock.off("error", reject);
        resolve();
      });
    });
    sock.on("message", (buf) => {
      const s = buf.toString("utf8");
      if (/^\s*$/.test(s)) return; // a keep-alive
      this.deliver(s);
    });
    sock.on("error", (e) => this.opts.log.warn({ err: e.message }, "SIP UDP socket error"));
    this.udp = sock;
    this.retransmitter = new UdpRetransmitter(this.opts.clock, this.opts.timers ?? { T1: 500, T2: 4000 }, (text) => void this.udpSend(text).catch(() => undefined));
    const local = sock.address();
    const address = this.opts.localAddress ?? (await localAddressToward(t));
    this.opts.onLocal?.({ address, port: local.port, protocol: "UDP" });
  }

  /** Opens a TCP/TLS connection; `primary` = the transport's own (its local address becomes the Contact's). */
  private openStream(t: TransportTarget, secure: boolean, onMessage: (m: string) => void, onClose: () => void, primary = true): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const servername = t.serverName ?? (net.isIP(t.host) ? undefined : t.host);
      const sock: net.Socket = secure
        ? tls.connect({ host: t.host, port: t.port, ca: this.opts.caCerts, servername, rejectUnauthorized: true, ...(t.serverName && net.isIP(t.host) ? { checkServerIdentity: (_h: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(t.serverName ?? t.host, cert) } : {}) })
        : net.connect({ host: t.host, port: t.port, localAddress: this.opts.localAddress });
      let open = false;
      let failed = false;
      const limit = this.opts.connectTimeoutMs;
      const deadline = limit
        ? this.opts.clock.setTimeout(() => {
            if (open) return;
            failed = true;
            sock.destroy();
            reject(new Error(`${secure ? "TLS" : t.protocol} ${t.host}:${t.port}: no connection within ${limit} ms`));
          }, limit)
        : undefined;
      const framer = new StreamFramer({
        message: onMessage,
        ping: () => void writeStream(sock, "\r\n").catch(() => undefined),
        pong: () => this.keepAliveDeadline?.cancel(),
      });
      sock.setNoDelay(true); // real-peers.md: Nagle held a credentialed INVITE 40 ms behind Kamailio's delayed ACK
      sock.on(secure ? "secureConnect" : "connect", () => {
        deadline?.cancel();
        if (failed) return;
        open = true;
        if (primary) this.opts.onLocal?.({ address: sock.localAddress ?? "127.0.0.1", port: sock.localPort ?? 0, protocol: secure ? "TLS" : "TCP" });
        resolve(sock);
      });
      sock.on("data", (chunk: Buffer) => {
        this.keepAliveDeadline?.cancel();
        try {
          framer.push(chunk);
        } catch (e) {
          this.opts.log.warn({ err: (e as Error).message, peer: `${t.host}:${t.port}` }, "SIP stream broken; dropping the connection");
          sock.destroy();
        }
      });
      sock.on("error", (e: NodeJS.ErrnoException) => {
        const msg = secure ? describeTlsError(e, t) : `${t.protocol} ${t.host}:${t.port}: ${e.code === "ECONNREFUSED" ? "connection refused" : e.message}`;
        deadline?.cancel();
        if (!open) reject(new Error(msg));
        else this.opts.log.warn({ err: msg }, "SIP connection error");
      });
      sock.on("close", () => {
        if (open) onClose();
      });
    });
  }

  private lost(error: Error): void {
    if (this.userDisconnect || this._state === TransportState.Disconnected) return;
    this.teardown();
    this.transition(TransportState.Disconnected);
    this.onDisconnect?.(error);
  }

  private startKeepAlive(): void {
    const every = this.opts.keepAliveMs ?? 30_000;
    if (!every || this.current?.protocol === "UDP") return;
    this.keepAlive = this.opts.clock.setInterval(() => {
      const sock = this.stream;
      if (!sock) return;
      void writeStream(sock, "\r\n\r\n").catch(() => undefined);
      this.keepAliveDeadline?.cancel();
      this.keepAliveDeadline = this.opts.clock.setTimeout(() => this.kill("no answer to the CRLF keep-alive: connection dead"), this.opts.keepAliveTimeoutMs ?? 10_000);
    }, every);
  }

  private teardown(): void {
    this.keepAlive?.cancel();
    this.keepAliveDeadline?.cancel();
    this.retransmitter?.clear();
    this.retransmitter = undefined;
    this.stream?.destroy();
    this.stream = undefined;
    this.bigStream?.destroy();
    this.bigStream = undefined;
    this.udp?.close();
    this.udp = undefined;
  }

  private transition(s: TransportState): void {
    if (s === this._state) return;
    this._state = s;
    this.emitter.emit(s);
  }
}

function writeStream(sock: net.Socket | undefined, text: string): Promise<void> {
  if (!sock || sock.destroyed) return Promise.reject(new Error("SIP connection closed"));
  return new Promise((resolve, reject) => sock.write(text, (err) => (err ? reject(err) : resolve())));
}

/** The local address the kernel would use toward `t` (a connected UDP socket tells without sending anything). */
async function localAddressToward(t: TransportTarget): Promise<string> {
  const probe = dgram.createSocket(net.isIPv6(t.host) ? "udp6" : "udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once("error", reject);
      probe.connect(t.port, t.host, () => resolve());
    });
    return probe.address().address;
  } catch {
    return "127.0.0.1";
  } finally {
    probe.close();
  }
}

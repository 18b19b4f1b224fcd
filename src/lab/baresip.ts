// A real far-end phone for the lab and the tests: baresip 1.0.0 on loopback with one account, playing a tone as its
// microphone (aufile), recording what it hears (sndfile), driven over its ctrl_tcp socket (netstring-framed JSON).
// Started under `setsid timeout`; stopped with SIGTERM to the baresip PID itself (graceful: it un-REGISTERs), then
// SIGKILL to its process group after 2 s.
import { EventEmitter } from "node:events";
import { promises as fs } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { createSystemClock, type Clock } from "../base/clock.js";
import { ErrorCodes, PhoneError } from "../base/errors.js";
import type { Logger } from "../base/log.js";
import { freePort, freePorts } from "./ports.js";
import { keepLab, peerError, spawnPeer, type PeerProcess } from "./process.js";

export type SipTransport = "udp" | "tcp" | "tls";

export interface BaresipAccount {
  user: string;
  password: string;
  registrar: { host: string; port: number; transport: SipTransport };
  /** "auto": answers every call at once (no CALL_INCOMING event then, only CALL_ESTABLISHED). */
  answerMode: "auto" | "manual";
  /** Re-registration interval in seconds (default 600). */
  regint?: number;
}

export interface BaresipOptions {
  account: BaresipAccount;
  /** The tone baresip sends as its microphone (default 1000 Hz). */
  toneHz?: number;
  /** Length of the tone file (default 60 s; after it ends baresip sends nothing). */
  toneSeconds?: number;
  /** PEM to trust for TLS (Kamailio's caFile); baresip 1.0.0 has no option to skip verification. */
  caFile?: string;
  /** Fixed SIP port (baresip also binds port + 1 for TLS); else a free pair is picked. */
  sipPort?: number;
  /** Seconds the process may live at most (default 900). */
  lifetimeS?: number;
  /** Where baresip's modules are (default /usr/lib/baresip/modules). */
  modulePath?: string;
  /** Extra lines for baresip's config file. */
  extraConfig?: string[];
  clock?: Clock;
  logger?: Logger;
}

/** An event from ctrl_tcp, e.g. `{event: true, class: "call", type: "CALL_ESTABLISHED", peeruri: "sip:...", ...}`. */
export interface BaresipEvent {
  type: string;
  class?: string;
  accountaor?: string;
  direction?: string;
  peeruri?: string;
  id?: string;
  param?: string;
  [k: string]: unknown;
}

/** A response to a ctrl_tcp command: `{response: true, ok, data, token}`. */
export interface BaresipResponse {
  response: true;
  ok: boolean;
  data: string;
  token?: string;
  [k: string]: unknown;
}

export interface Baresip {
  readonly sipPort: number;
  readonly ctrlPort: number;
  /** The account's address of record, e.g. "sip:1001@127.0.0.1". */
  readonly uri: string;
  readonly runDir: string;
  /** Emits "event" with every parsed BaresipEvent (and "close" when the ctrl_tcp connection ends). */
  readonly events: EventEmitter;
  /** Every event so far, oldest first. */
  readonly history: readonly BaresipEvent[];
  /** Sends a menu command over ctrl_tcp; resolves with its response (rejects after `timeoutMs`, default 5000). */
  command(cmd: string, params?: string, timeoutMs?: number): Promise<BaresipResponse>;
  dial(uri: string): Promise<BaresipResponse>;
  /** Accepts the incoming call (manual answer mode). */
  answer(): Promise<BaresipResponse>;
  hangup(): Promise<BaresipResponse>;
  /** How many events so far: pass as `since` to waitFor to wait for a new one. */
  mark(): number;
  /**
   * The first event of `type` that `predicate` accepts among those from index `since` on (default 0: also the ones
   * already seen), or the next one to come; rejects after `timeoutMs` (default 10000).
   */
  waitFor(type: string, predicate?: (e: BaresipEvent) => boolean, timeoutMs?: number, since?: number): Promise<BaresipEvent>;
  /** Resolves once the account is registered (REGISTER_OK, or `reginfo` says OK: the event may predate our connection). */
  registered(timeoutMs?: number): Promise<void>;
  /** WAV files (8 kHz mono S16) of the audio baresip received, one per call, oldest first. */
  recordings(): Promise<string[]>;
  /** WAV files of the audio baresip sent. */
  sentRecordings(): Promise<string[]>;
  log(): Promise<string>;
  /** SIGTERM to baresip (graceful: un-REGISTERs), SIGKILL to its group after 2 s; removes runDir unless KEEP_LAB=1. */
  stop(): Promise<void>;
  /** SIGKILL at once (a crash; nothing un-REGISTERs). */
  kill(): Promise<void>;
}

/** A WAV file (PCM S16LE mono) holding a sine tone. */
export function toneWav(hz: number, seconds: number, rate = 8000, amplitude = 0.3): Buffer {
  const n = Math.round(rate * seconds);
  const buf = Buffer.alloc(44 + n * 2);
  buf.write("RIFF", 0, "ascii");
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write("WAVE", 8, "ascii");
  buf.write("fmt ", 12, "ascii");
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write("data", 36, "ascii");
  buf.writeUInt32LE(n * 2, 40);
  const a = Math.round(32767 * amplitude);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(a * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  return buf;
}

/** Characters that would break out of a baresip accounts line (URI params, quoted outbound, the line itself). */
const UNSAFE = /[;<>"\s,=]/;

function accountLine(a: BaresipAccount): string {
  if (UNSAFE.test(a.user) || a.user === "") throw new PhoneError(ErrorCodes.CONFIG_INVALID, "baresip: user name not usable in an accounts line", { user: a.user });
  if (UNSAFE.test(a.password)) throw new PhoneError(ErrorCodes.CONFIG_INVALID, "baresip: the password holds a character baresip's accounts file cannot carry (; < > \" , = or space)", { user: a.user });
  const t = a.registrar.transport;
  const host = a.registrar.host.includes(":") ? `[${a.registrar.host}]` : a.registrar.host;
  return (
    `<sip:${a.user}@127.0.0.1;transport=${t}>;auth_pass=${a.password};outbound="sip:${host}:${a.registrar.port};transport=${t}"` +
    `;regint=${a.regint ?? 600};answermode=${a.answerMode};audio_codecs=PCMU,PCMA\n`
  );
}

class BaresipPeer implements Baresip {
  readonly events = new EventEmitter();
  readonly history: BaresipEvent[] = [];
  private sock: net.Socket | undefined;
  private buf = Buffer.alloc(0);
  private seq = 0;
  private readonly pending = new Map<string, { resolve: (r: BaresipResponse) => void; reject: (e: Error) => void }>();
  private stopped = false;

  constructor(
    private readonly proc: PeerProcess,
    readonly runDir: string,
    readonly sipPort: number,
    readonly ctrlPort: number,
    readonly uri: string,
    private readonly clock: Clock,
    private readonly logger: Logger | undefined,
  ) {
    this.events.setMaxListeners(100);
  }

  /** Connects to ctrl_tcp, retrying until baresip listens; false if baresip exited first. */
  async connect(timeoutMs: number): Promise<boolean> {
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      if (this.proc.exitInfo() !== undefined) return false;
      try {
        this.sock = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(this.ctrlPort, "127.0.0.1");
          s.once("connect", () => {
            s.off("error", reject);
            resolve(s);
          });
          s.once("error", reject);
        });
        break;
      } catch (e) {
        if (this.clock.now() > deadline) {
          throw new PhoneError(ErrorCodes.TIMEOUT, `baresip's ctrl_tcp did not open on 127.0.0.1:${this.ctrlPort} (sip ${this.sipPort}) within ${timeoutMs} ms: ${(e as Error).message}\n--- last lines of baresip's log ---\n${this.proc.tail(15)}`, { peer: "baresip", port: this.ctrlPort });
        }
        await this.clock.sleep(25);
      }
    }
    const s = this.sock;
    s.setNoDelay(true);
    s.on("data", (d: Buffer) => this.onData(d));
    s.on("error", () => undefined);
    s.on("close", () => {
      for (const p of this.pending.values()) p.reject(new Error(`baresip (sip ${this.sipPort}): ctrl_tcp connection closed`));
      this.pending.clear();
      this.events.emit("close");
    });
    return true;
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const colon = this.buf.indexOf(0x3a); // ':'
      if (colon < 0) return;
      const len = Number(this.buf.subarray(0, colon).toString("ascii"));
      if (!Number.isInteger(len) || len < 0 || colon > 10) {
        this.logger?.warn({ port: this.ctrlPort }, "baresip: bad netstring from ctrl_tcp; dropping the buffer");
        this.buf = Buffer.alloc(0);
        return;
      }
      if (this.buf.length < colon + 1 + len + 1) return;
      const text = this.buf.subarray(colon + 1, colon + 1 + len).toString("utf8");
      this.buf = this.buf.subarray(colon + 1 + len + 1); // skip the trailing ','
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(text) as Record<string, unknown>;
      } catch {
        this.logger?.warn({ port: this.ctrlPort }, "baresip: unparsable JSON from ctrl_tcp");
        continue;
      }
      if (msg.event === true) {
        const ev = msg as BaresipEvent;
        this.history.push(ev);
        if (this.history.length > 5000) this.history.splice(0, this.history.length - 5000);
        this.logger?.debug({ type: ev.type, peeruri: ev.peeruri, param: ev.param }, "baresip event");
        this.events.emit("event", ev);
      } else if (msg.response === true) {
        const token = typeof msg.token === "string" ? msg.token : undefined;
        const p = token !== undefined ? this.pending.get(token) : undefined;
        if (p && token !== undefined) {
          this.pending.delete(token);
          p.resolve({ ...msg, ok: msg.ok === true, data: typeof msg.data === "string" ? msg.data : "" } as BaresipResponse);
        }
      }
    }
  }

  command(cmd: string, params?: string, timeoutMs = 5000): Promise<BaresipResponse> {
    const s = this.sock;
    if (!s || s.destroyed) return Promise.reject(new Error(`baresip (sip ${this.sipPort}): not connected to ctrl_tcp`));
    const token = `t${++this.seq}`;
    const body = JSON.stringify({ command: cmd, ...(params !== undefined ? { params } : {}), token });
    return new Promise((resolve, reject) => {
      const t = this.clock.setTimeout(() => {
        this.pending.delete(token);
        reject(new PhoneError(ErrorCodes.TIMEOUT, `baresip (ctrl ${this.ctrlPort}): no response to "${cmd}" within ${timeoutMs} ms`, { peer: "baresip", command: cmd }));
      }, timeoutMs);
      this.pending.set(token, {
        resolve: (r) => {
          t.cancel();
          resolve(r);
        },
        reject: (e) => {
          t.cancel();
          reject(e);
        },
      });
      s.write(`${Buffer.byteLength(body)}:${body},`, (e) => {
        if (e) {
          t.cancel();
          this.pending.delete(token);
          reject(e);
        }
      });
    });
  }

  dial(uri: string): Promise<BaresipResponse> {
    return this.command("dial", uri);
  }

  answer(): Promise<BaresipResponse> {
    return this.command("accept");
  }

  hangup(): Promise<BaresipResponse> {
    return this.command("hangup");
  }

  mark(): number {
    return this.history.length;
  }

  waitFor(type: string, predicate: (e: BaresipEvent) => boolean = () => true, timeoutMs = 10000, since = 0): Promise<BaresipEvent> {
    const old = this.history.slice(since).find((e) => e.type === type && predicate(e));
    if (old) return Promise.resolve(old);
    return new Promise((resolve, reject) => {
      const on = (e: BaresipEvent): void => {
        if (e.type !== type || !predicate(e)) return;
        t.cancel();
        this.events.off("event", on);
        resolve(e);
      };
      const t = this.clock.setTimeout(() => {
        this.events.off("event", on);
        const seen = this.history.slice(-20).map((e) => `${e.type}${e.param ? `(${e.param})` : ""}`).join(", ");
        reject(new PhoneError(ErrorCodes.TIMEOUT, `baresip ${this.uri} (sip ${this.sipPort}): no ${type} event within ${timeoutMs} ms; last events: ${seen || "none"}\n--- last lines of baresip's log ---\n${this.proc.tail(10)}`, { peer: "baresip", type }));
      }, timeoutMs);
      this.events.on("event", on);
    });
  }

  async registered(timeoutMs = 10000): Promise<void> {
    const deadline = this.clock.now() + timeoutMs;
    let last = "";
    for (;;) {
      if (this.history.some((e) => e.type === "REGISTER_OK")) return;
      const r = await this.command("reginfo").catch((e: Error) => ({ ok: false, data: e.message }) as BaresipResponse);
      last = r.data.replace(/\u001b\[[0-9;]*m/g, " ");
      if (/\bOK\b/.test(last)) return;
      const fail = this.history.filter((e) => e.type === "REGISTER_FAIL").at(-1);
      if (this.clock.now() > deadline) {
        throw new PhoneError(ErrorCodes.TIMEOUT, `baresip ${this.uri} (sip ${this.sipPort}) did not register within ${timeoutMs} ms${fail ? ` (last REGISTER_FAIL: ${fail.param ?? ""})` : ""}; reginfo: ${last.trim()}\n--- last lines of baresip's log ---\n${this.proc.tail(10)}`, { peer: "baresip" });
      }
      await this.clock.sleep(50);
    }
  }

  private async wavs(kind: "dec" | "enc"): Promise<string[]> {
    const d = path.join(this.runDir, "rec");
    const names = await fs.readdir(d).catch(() => [] as string[]);
    // dump-YYYY-MM-DD-hh-mm-ss-dec.wav: sorting by name sorts by time
    return names.filter((f) => f.endsWith(`-${kind}.wav`)).sort().map((f) => path.join(d, f));
  }

  recordings(): Promise<string[]> {
    return this.wavs("dec");
  }

  sentRecordings(): Promise<string[]> {
    return this.wavs("enc");
  }

  log(): Promise<string> {
    return this.proc.log();
  }

  private async cleanup(): Promise<void> {
    this.sock?.destroy();
    if (!keepLab()) await fs.rm(this.runDir, { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // SIGTERM to baresip itself: one SIGTERM is graceful; the `timeout` wrapper would forward a second one
    await this.proc.stop({ signal: "SIGTERM", target: "main", graceMs: 2000 });
    await this.cleanup();
  }

  async kill(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.proc.kill();
    await this.cleanup();
  }
}

/** Starts baresip with one account; resolves once its ctrl_tcp socket is connected (not yet registered: see registered()). */
export async function startBaresip(opts: BaresipOptions): Promise<Baresip> {
  const clock = opts.clock ?? createSystemClock();
  const logger = opts.logger?.child({ peer: "baresip", user: opts.account.user });
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), "lab-baresip-"));
  try {
    const wav = path.join(runDir, "tone.wav");
    await fs.writeFile(wav, toneWav(opts.toneHz ?? 1000, Math.min(Math.max(opts.toneSeconds ?? 60, 1), 600)));
    await fs.mkdir(path.join(runDir, "rec"));
    await fs.writeFile(path.join(runDir, "accounts"), accountLine(opts.account), { mode: 0o600 });
    await fs.writeFile(path.join(runDir, "contacts"), "");
    const modulePath = opts.modulePath ?? "/usr/lib/baresip/modules";
    const logFile = path.join(runDir, "baresip.log");

    for (let attempt = 1; ; attempt++) {
      const sipPort = opts.sipPort ?? (await freePorts(1, { spacing: 2 }))[0];
      const ctrlPort = await freePort("tcp");
      const conf = [
        "poll_method epoll",
        `sip_listen 127.0.0.1:${sipPort}`,
        ...(opts.caFile ? [`sip_cafile ${opts.caFile}`] : []),
        "net_interface 127.0.0.1",
        "dns_server 127.0.0.1:53",
        `audio_source aufile,${wav}`,
        "audio_player",
        "audio_alert",
        "audio_level no",
        `snd_path ${path.join(runDir, "rec")}`,
        `module_path ${modulePath}`,
        "module g711.so",
        "module aufile.so",
        "module sndfile.so",
        "module_app account.so",
        "module_app contact.so",
        "module_app menu.so",
        "module_app ctrl_tcp.so",
        `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
        ...(opts.extraConfig ?? []),
        "",
      ].join("\n");
      await fs.writeFile(path.join(runDir, "config"), conf);
      await fs.appendFile(logFile, `--- baresip start: sip 127.0.0.1:${sipPort} ctrl ${ctrlPort} ---\n`);
      const proc = spawnPeer({ name: "baresip", command: "baresip", args: ["-f", runDir], cwd: runDir, lifetimeS: opts.lifetimeS ?? 900, logFile, clock, logger });
      const peer = new BaresipPeer(proc, runDir, sipPort, ctrlPort, `sip:${opts.account.user}@127.0.0.1`, clock, logger);
      let connected = false;
      try {
        connected = await peer.connect(10000);
      } catch (e) {
        await proc.kill();
        throw e;
      }
      if (connected) {
        logger?.info({ sipPort, ctrlPort, transport: opts.account.registrar.transport }, "baresip started");
        return peer;
      }
      // it exited before ctrl_tcp opened: a port taken in the meantime is worth another try
      await proc.kill();
      const tail = proc.tail(15);
      if (opts.sipPort !== undefined || attempt >= 3 || !/in use|sock_bind|listen/i.test(tail)) {
        throw peerError("baresip", `exited during start (code ${proc.exitInfo()?.code ?? "-"})`, `${sipPort} (ctrl ${ctrlPort})`, tail);
      }
    }
  } catch (e) {
    if (!keepLab()) await fs.rm(runDir, { recursive: true, force: true });
    throw e;
  }
}

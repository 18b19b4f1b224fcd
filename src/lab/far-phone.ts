// A real far-end phone for the lab and the tests: baresip 1.0 on loopback with one account, playing a tone as its
// microphone and recording what it hears (sndfile), driven over its ctrl_tcp socket (netstring JSON).
import { spawn, execFile, type ChildProcess } from "node:child_process";
import * as net from "node:net";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { EventEmitter } from "node:events";
import { createSystemClock, type Clock } from "../base/clock.js";
import { freePort } from "./registrar.js";

const run = promisify(execFile);

export interface FarPhoneOptions {
  user: string;
  password: string;
  registrar: { port: number; transport: "udp" | "tcp" | "tls" };
  answer: "auto" | "manual";
  toneHz?: number;
  /** Codecs baresip offers and accepts, in order (default PCMU, PCMA); "G722" makes it a wideband phone. */
  codecs?: Array<"PCMU" | "PCMA" | "G722">;
  /** SRTP with SDES keys, mandatory ("srtp-mand": no plain RTP), or off (default). */
  mediaenc?: "srtp-mand";
  /** The first port of baresip's RTP/RTCP pair (else any), so a test can point a relay at it. */
  rtpPort?: number;
  /** The SIP port baresip listens on (UDP and TCP; else any), so a proxy can route to it before it starts. */
  sipPort?: number;
  caFile?: string;
  /** The display name baresip puts in its From (none by default). */
  displayName?: string;
  lifetimeS?: number;
  clock?: Clock;
}

export interface BaresipEvent {
  type: string;
  class?: string;
  accountaor?: string;
  peeruri?: string;
  param?: string;
  [k: string]: unknown;
}

export class FarPhone {
  readonly events = new EventEmitter();
  private readonly seen: BaresipEvent[] = [];
  private ctrl: net.Socket | undefined;
  private buf = Buffer.alloc(0);
  private token = 0;
  private readonly waiting = new Map<string, (r: Record<string, unknown>) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly dir: string,
    readonly sipPort: number,
    private readonly ctrlPort: number,
    private readonly clock: Clock,
  ) {}

  /** Starts baresip; a port taken between being picked and being bound (another process got it) is tried again. */
  static async start(o: FarPhoneOptions): Promise<FarPhone> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await FarPhone.startOnce(o);
      } catch (e) {
        if (attempt >= 3 || !/Address already in use/.test((e as Error).message)) throw e;
      }
    }
  }

  private static async startOnce(o: FarPhoneOptions): Promise<FarPhone> {
    const clock = o.clock ?? createSystemClock();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "baresip-"));
    const sipPort = o.sipPort ?? (await freePort());
    const ctrlPort = await freePort();
    const wav = path.join(dir, "tone.wav");
    // the tone at the codec's rate: 16 kHz when baresip may talk G.722 (so a tone above 4 kHz can be heard)
    const rate = o.codecs?.includes("G722") ? "16000" : "8000";
    await run("sox", ["-n", "-r", rate, "-c", "1", "-b", "16", wav, "synth", "120", "sine", String(o.toneHz ?? 1000), "vol", "0.3"]);
    await fs.mkdir(path.join(dir, "rec"));
    const conf = [
      "poll_method epoll",
      `sip_listen 127.0.0.1:${sipPort}`,
      o.caFile ? `sip_cafile ${o.caFile}` : "",
      "sip_verify_server no",
      "net_interface 127.0.0.1",
      "dns_server 127.0.0.1:53",
      `audio_source aufile,${wav}`,
      "audio_player",
      "audio_alert",
      `snd_path ${path.join(dir, "rec")}`,
      "module_path /usr/lib/baresip/modules",
      "module g711.so",
      "module g722.so",
      "module srtp.so",
      o.rtpPort ? `rtp_ports ${o.rtpPort}-${o.rtpPort + 3}` : "",
      "module aufile.so",
      "module sndfile.so",
      "module_app account.so",
      "module_app menu.so",
      "module_app ctrl_tcp.so",
      `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
      "",
    ].join("\n");
    await fs.writeFile(path.join(dir, "config"), conf);
    const t = o.registrar.transport;
    await fs.writeFile(
      path.join(dir, "accounts"),
      `${o.displayName ? `"${o.displayName.replace(/["\\]/g, "")}" ` : ""}<sip:${o.user}@127.0.0.1;transport=${t}>;auth_pass=${o.password};outbound="sip:127.0.0.1:${o.registrar.port};transport=${t}";regint=600;answermode=${o.answer};audio_codecs=${(o.codecs ?? ["PCMU", "PCMA"]).join(",")}${o.mediaenc ? `;mediaenc=${o.mediaenc}` : ""}\n`,
    );
    await fs.writeFile(path.join(dir, "contacts"), "");
    const out = await fs.open(path.join(dir, "baresip.log"), "a");
    const child = spawn("setsid", ["timeout", String(o.lifetimeS ?? 600), "baresip", "-f", dir], { stdio: ["ignore", out.fd, out.fd] });
    await out.close();
    const p = new FarPhone(child, dir, sipPort, ctrlPort, clock);
    try {
      await p.connect();
    } catch (e) {
      await p.stop();
      throw e;
    }
    return p;
  }

  get uri(): string {
    return `sip:${this.sipPort}`;
  }

  private async connect(): Promise<void> {
    const deadline = this.clock.now() + 10000;
    for (;;) {
      try {
        this.ctrl = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(this.ctrlPort, "127.0.0.1");
          s.once("connect", () => resolve(s));
          s.once("error", reject);
        });
        break;
      } catch (e) {
        if (this.clock.now() > deadline) throw new Error(`baresip's ctrl_tcp did not open on ${this.ctrlPort}: ${(e as Error).message}; log: ${await this.log()}`);
        await this.clock.sleep(50);
      }
    }
    this.ctrl.on("data", (d: Buffer) => this.onData(d));
    this.ctrl.on("error", () => undefined);
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const colon = this.buf.indexOf(":");
      if (colon < 0) return;
      const len = Number(this.buf.subarray(0, colon).toString());
      if (this.buf.length < colon + 1 + len + 1) return;
      const json = JSON.parse(this.buf.subarray(colon + 1, colon + 1 + len).toString()) as Record<string, unknown>;
      this.buf = this.buf.subarray(colon + 1 + len + 1);
      if (json.event) {
        this.seen.push(json as BaresipEvent);
        this.events.emit("event", json);
      } else if (json.response && typeof json.token === "string") {
        this.waiting.get(json.token)?.(json);
        this.waiting.delete(json.token);
      }
    }
  }

  command(command: string, params?: string): Promise<Record<string, unknown>> {
    const token = String(++this.token);
    const body = JSON.stringify({ command, ...(params !== undefined ? { params } : {}), token });
    return new Promise((resolve, reject) => {
      this.waiting.set(token, resolve);
      this.ctrl?.write(`${Buffer.byteLength(body)}:${body},`, (e) => e && reject(e));
    });
  }

  dial(uri: string): Promise<Record<string, unknown>> {
    return this.command("dial", uri);
  }

  answer(): Promise<Record<string, unknown>> {
    return this.command("accept");
  }

  hangup(): Promise<Record<string, unknown>> {
    return this.command("hangup");
  }

  /** The first event of `type` (already seen or coming) that `match` accepts. */
  waitFor(type: string, timeoutMs = 10000, match: (e: BaresipEvent) => boolean = () => true, since = 0): Promise<BaresipEvent> {
    const old = this.seen.slice(since).find((e) => e.type === type && match(e));
    if (old) return Promise.resolve(old);
    return new Promise((resolve, reject) => {
      const t = this.clock.setTimeout(() => {
        this.events.off("event", on);
        reject(new Error(`baresip: no ${type} event within ${timeoutMs} ms (seen: ${this.seen.map((e) => e.type).join(", ")})`));
      }, timeoutMs);
      const on = (e: BaresipEvent): void => {
        if (e.type !== type || !match(e)) return;
        t.cancel();
        this.events.off("event", on);
        resolve(e);
      };
      this.events.on("event", on);
    });
  }

  /** How many events so far (pass to waitFor's `since` to wait for a new one). */
  get eventCount(): number {
    return this.seen.length;
  }

  /** Waits until the account is registered (asked with `reginfo`: the REGISTER_OK event may come before we connect). */
  async registered(timeoutMs = 10000): Promise<void> {
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      const r = await this.command("reginfo");
      if (/\sOK\s/.test(String(r.data ?? "").replace(/\u001b\[[0-9;]*m/g, " "))) return;
      if (this.clock.now() > deadline) throw new Error(`baresip did not register: ${String(r.data ?? "")}`);
      await this.clock.sleep(100);
    }
  }

  /** WAV files of what baresip heard (sndfile writes one per call direction). */
  async recordings(): Promise<string[]> {
    const d = path.join(this.dir, "rec");
    return (await fs.readdir(d)).filter((f) => f.endsWith(".wav")).map((f) => path.join(d, f));
  }

  /** The baresip process's id (it runs under `setsid timeout`, as that one's child), for benchmarks reading /proc. */
  async pid(): Promise<number | null> {
    const parent = this.child.pid;
    if (!parent) return null;
    const kids = await fs.readFile(`/proc/${parent}/task/${parent}/children`, "utf8").catch(() => "");
    for (const k of kids.split(/\s+/).filter(Boolean)) {
      const comm = await fs.readFile(`/proc/${k}/comm`, "utf8").catch(() => "");
      if (comm.trim() === "baresip") return Number(k);
    }
    return null;
  }

  log(): Promise<string> {
    return fs.readFile(path.join(this.dir, "baresip.log"), "utf8").catch(() => "");
  }

  async stop(): Promise<void> {
    this.ctrl?.destroy();
    const c = this.child;
    if (c.pid && c.exitCode === null) {
      const gone = new Promise<void>((r) => c.once("exit", () => r()));
      try {
        process.kill(-c.pid, "SIGTERM");
      } catch {
        // gone
      }
      await Promise.race([gone, this.clock.sleep(2000)]);
      try {
        process.kill(-c.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    if (!process.env.KEEP_LAB) await fs.rm(this.dir, { recursive: true, force: true });
  }
}

// A `phone` process on the simulated board, driven only through its control protocol (TCP, JSON lines).
import { spawn, type ChildProcess } from "node:child_process";
import * as net from "node:net";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

export class PhoneProcess {
  private sock!: net.Socket;
  private buf = "";
  private n = 0;
  private readonly pending = new Map<string, (r: { ok: boolean; data?: unknown; error?: { code: string; message: string } }) => void>();
  out = "";

  private constructor(
    private readonly child: ChildProcess,
    readonly dir: string,
  ) {}

  /** Starts `phone --config` with `bundle` (none when null) and connects to its control port. */
  static async start(bundle: unknown, extraArgs: string[] = [], keepDir?: string): Promise<PhoneProcess> {
    const dir = keepDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), "phone-sip-")));
    const cfg = path.join(dir, "config.json");
    if (bundle !== null) await fs.writeFile(cfg, JSON.stringify(bundle));
    const child = spawn(process.execPath, [path.join(root, "bin/phone.js"), "--board", "sim", ...(bundle !== null ? ["--config", cfg] : []), "--control", "tcp:127.0.0.1:0", "--web", "none", "--no-terminal", "--data-dir", path.join(dir, "data"), "--log-level", process.env.PHONE_LOG_LEVEL ?? "warn", ...extraArgs], {
      cwd: root,
      env: { ...process.env, PHONE_BOARD: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const p = new PhoneProcess(child, dir);
    child.stderr?.on("data", (d) => (p.out += d));
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`phone did not start: ${p.out}`)), 20000);
      child.stdout?.on("data", (d) => {
        p.out += d;
        const m = /control: listening on tcp:127\.0\.0\.1:(\d+)/.exec(p.out);
        if (m) {
          clearTimeout(t);
          resolve(Number(m[1]));
        }
      });
      child.once("exit", (code) => reject(new Error(`phone exited (${code}): ${p.out}`)));
    });
    await p.connect(port);
    p.child.stdout?.on("data", (d) => (p.out += d));
    return p;
  }

  /** The phone's process id (benchmarks read its CPU and memory from /proc). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts the phone with `bundle` and waits until its line is registered. */
  static async registered(bundle: unknown, extraArgs: string[] = []): Promise<PhoneProcess> {
    const p = await PhoneProcess.start(bundle, extraArgs);
    await p.until("registered", (x) => x.registration.state === "registered");
    return p;
  }

  /** Dials `number` on the keypad and waits until the call is connected. */
  async call(number: string): Promise<PhoneStateSummary> {
    await this.keys(number);
    return this.until(`connected to ${number}`, (x) => x.calls.some((c) => c.number === number && c.state === "connected"));
  }

  private connect(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sock = net.connect(port, "127.0.0.1", () => resolve());
      this.sock.once("error", reject);
      this.sock.on("data", (d) => {
        this.buf += d.toString();
        let i;
        while ((i = this.buf.indexOf("\n")) >= 0) {
          const line = this.buf.slice(0, i);
          this.buf = this.buf.slice(i + 1);
          const msg = JSON.parse(line) as { token?: string; ok: boolean };
          if (msg.token) {
            this.pending.get(msg.token)?.(msg);
            this.pending.delete(msg.token);
          }
        }
      });
    });
  }

  async cmd<T = Record<string, unknown>>(command: string, params: Record<string, unknown> = {}): Promise<T> {
    const token = `t${++this.n}`;
    const r = await new Promise<{ ok: boolean; data?: unknown; error?: { code: string; message: string } }>((resolve) => {
      this.pending.set(token, resolve);
      this.sock.write(JSON.stringify({ token, command, params }) + "\n");
    });
    if (!r.ok) throw new Error(`${command}: ${r.error?.code} ${r.error?.message}`);
    return r.data as T;
  }

  async keys(s: string): Promise<void> {
    for (const k of s.length > 1 && !/^[0-9*#]+$/.test(s) ? [s] : [...s]) await this.cmd("press_key", { key: k });
  }

  state(): Promise<PhoneStateSummary> {
    return this.cmd<PhoneStateSummary>("get_state");
  }

  async screen(): Promise<string> {
    return (await this.cmd<{ rows: string[] }>("read_screen")).rows.join("\n");
  }

  /** Polls get_state until `pred` holds (real SIP peers run on real time). */
  async until(what: string, pred: (s: PhoneStateSummary) => boolean, timeoutMs = 10000): Promise<PhoneStateSummary> {
    const end = Date.now() + timeoutMs;
    let s = await this.state();
    while (!pred(s)) {
      if (Date.now() > end) throw new Error(`phone: timed out waiting for ${what}; state ${JSON.stringify(s)}; screen:\n${await this.screen()}\nlog: ${this.out.slice(process.env.PHONE_LOG_LEVEL ? -200000 : -2000)}`);
      await new Promise((r) => setTimeout(r, 50));
      s = await this.state();
    }
    return s;
  }

  /** Stops the process but keeps its directory (config and data) for a restart with `start(..., dir)`. */
  async stopKeepingData(): Promise<string> {
    this.keep = true;
    await this.stop();
    return this.dir;
  }

  private keep = false;

  async stop(): Promise<void> {
    if (process.env.PHONE_TRACE_FILE) await fs.appendFile(process.env.PHONE_TRACE_FILE, this.out);
    this.sock?.destroy();
    if (this.child.exitCode === null) {
      const gone = new Promise((r) => this.child.once("exit", r));
      this.child.kill("SIGTERM");
      const t = setTimeout(() => this.child.kill("SIGKILL"), 5000);
      await gone;
      clearTimeout(t);
    }
    if (!this.keep) await fs.rm(this.dir, { recursive: true, force: true });
  }
}

export interface PhoneStateSummary {
  mode: string;
  registration: { state: string; server: string; reason: string };
  calls: Array<{ id: number; direction: string; state: string; number: string; remote: { uri: string; name?: string }; focused: boolean; remoteHold: boolean }>;
  history: Array<{ kind: string; number: string; seconds: number }>;
  dnd: boolean;
  audioPath: string;
}

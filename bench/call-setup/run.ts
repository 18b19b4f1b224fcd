// bench/call-setup: how fast a call goes up, through a real Kamailio (digest auth) to an auto-answering baresip.
//   phone:   SEND key (control protocol) -> the call's "connected" event (control protocol), p50/p99 over N calls,
//            with the phone logging as it ships (warn); then SEND -> INVITE on the wire, from the phone's SIP trace
//            (--log-level trace, a second run: tracing costs time, so it is not mixed into the first figure);
//   baresip: the same calls placed by a second baresip (ctrl_tcp "dial" -> CALL_ESTABLISHED), in the same run;
//   ratio:   phone / baresip, SEND-to-established p50.
// Usage: npm run bench:call-setup [-- --calls 50 --transport tcp|udp]
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import * as net from "node:net";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { startRegistrar } from "../../src/lab/registrar.js";
import { FarPhone } from "../../src/lab/far-phone.js";

const { values } = parseArgs({ options: { calls: { type: "string", default: "50" }, transport: { type: "string", default: "tcp" } } });
const N = Number(values.calls);
const transport = values.transport === "udp" ? "udp" : "tcp";
const root = fileURLToPath(new URL("../../", import.meta.url));

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const fmt = (xs: number[]): string => `p50 ${pct(xs, 50).toFixed(1)} ms  p99 ${pct(xs, 99).toFixed(1)} ms  (n=${xs.length})`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Splits a stream into lines. */
function lines(stream: Readable, cb: (line: string) => void): void {
  let buf = "";
  stream.on("data", (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      cb(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
}

/** Runs the phone (the deployable) N calls to 1002; returns SEND->connected times and SEND->INVITE times. */
async function phoneCalls(port: number, logLevel: "warn" | "trace"): Promise<{ established: number[]; toInvite: number[] }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bench-call-"));
  const cfg = path.join(dir, "config.json");
  const account = { user: "1001", password: "bench-1001", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port, transport }] };
  await fs.writeFile(cfg, JSON.stringify({ version: 1, accounts: [account], dialPlan: { extensionLength: 0 } }));
  const args = [path.join(root, "bin/phone.js"), "--board", "sim", "--config", cfg, "--control", "tcp:127.0.0.1:0", "--web", "none", "--no-terminal", "--data-dir", path.join(dir, "data"), "--log-level", logLevel];
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const kill = (): void => void child.kill("SIGKILL");
  process.on("exit", kill); // never leave the phone behind, even on a crash
  // the log (with the SIP trace at trace level) is on stderr, epoch-ms `time`; addresses on stdout
  const invites: number[] = [];
  lines(child.stderr, (line) => {
    if (line.startsWith("{") && line.includes('"dir":"out"') && line.includes('"sip":"INVITE ')) invites.push((JSON.parse(line) as { time: number }).time);
  });
  const controlPort = await new Promise<number>((resolve) =>
    lines(child.stdout, (line) => {
      const m = /control: listening on tcp:127\.0\.0\.1:(\d+)/.exec(line);
      if (m) resolve(Number(m[1]));
    }),
  );
  const sock = net.connect(controlPort, "127.0.0.1");
  sock.setNoDelay(true);
  await new Promise((r) => sock.once("connect", r));
  let token = 0;
  const answers = new Map<string, (data: unknown) => void>();
  const waiters: Array<(calls: Array<{ state: string }>) => boolean> = [];
  lines(sock, (line) => {
    const msg = JSON.parse(line) as { token?: string; event?: string; data?: { calls?: Array<{ state: string }> } };
    if (msg.token) {
      answers.get(msg.token)?.(msg.data);
      answers.delete(msg.token);
    } else if (msg.event === "call") for (let w = waiters.length - 1; w >= 0; w--) if (waiters[w](msg.data?.calls ?? [])) waiters.splice(w, 1);
  });
  const cmd = (command: string, params: Record<string, unknown> = {}): Promise<unknown> =>
    new Promise((resolve) => {
      const t = `b${++token}`;
      answers.set(t, resolve);
      sock.write(JSON.stringify({ token: t, command, params }) + "\n");
    });
  /** Resolves with the moment the matching call event arrived (not when the awaiting code got round to it). */
  const callEvent = (pred: (calls: Array<{ state: string }>) => boolean): Promise<number> => new Promise((resolve) => waiters.push((c) => (pred(c) ? (resolve(performance.now()), true) : false)));
  await cmd("subscribe", { events: ["call"] });
  for (let i = 0; i < 400; i++) {
    const s = (await cmd("get_state")) as { registration: { state: string } };
    if (s.registration.state === "registered") break;
    await sleep(25);
  }
  const established: number[] = [];
  const toInvite: number[] = [];
  for (let i = 0; i < N; i++) {
    for (const d of "1002") await cmd("press_key", { key: d });
    const connected = callEvent((c) => c.some((x) => x.state === "connected"));
    const before = invites.length;
    const wall0 = Date.now();
    const t0 = performance.now();
    // press_key answers after the key-up (the key's hold time): the connected event may come first, so time it there
    await cmd("press_key", { key: "SEND" });
    established.push((await connected) - t0);
    for (let w = 0; w < 100 && logLevel === "trace" && invites.length === before; w++) await sleep(5);
    if (invites.length > before) toInvite.push(Math.max(0, invites[before] - wall0));
    const idle = callEvent((c) => c.length === 0);
    await cmd("press_key", { key: "END" });
    await idle;
    await sleep(50);
  }
  sock.destroy();
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  process.off("exit", kill);
  await fs.rm(dir, { recursive: true, force: true });
  return { established, toInvite };
}

const users = [
  { user: "1001", password: "bench-1001" },
  { user: "1002", password: "bench-1002" },
  { user: "1003", password: "bench-1003" },
];
const k = await startRegistrar({ users, lifetimeS: 1800 });
const port = transport === "udp" ? k.udpPort : k.tcpPort;
const callee = await FarPhone.start({ user: "1002", password: "bench-1002", registrar: { port, transport }, answer: "auto" });
const caller = await FarPhone.start({ user: "1003", password: "bench-1003", registrar: { port, transport }, answer: "manual" });
try {
  await callee.registered();
  await caller.registered();
  const plain = await phoneCalls(port, "warn");
  const traced = await phoneCalls(port, "trace");
  const bare: number[] = [];
  for (let i = 0; i < N; i++) {
    const since = caller.eventCount;
    const t0 = performance.now();
    await caller.dial("sip:1002@127.0.0.1");
    await caller.waitFor("CALL_ESTABLISHED", 10000, () => true, since);
    bare.push(performance.now() - t0);
    await caller.hangup();
    await caller.waitFor("CALL_CLOSED", 10000, () => true, since);
    await sleep(50);
  }
  console.log(`call setup over ${transport.toUpperCase()} through Kamailio (digest auth, 407 round trip) to auto-answering baresip, ${N} calls each`);
  console.log(`phone   SEND -> established          ${fmt(plain.established)}`);
  console.log(`phone   SEND -> INVITE on the wire   ${fmt(traced.toInvite)}  (from the SIP trace, ms resolution)`);
  console.log(`phone   SEND -> established, traced  ${fmt(traced.established)}  (what tracing costs)`);
  console.log(`baresip dial -> established          ${fmt(bare)}`);
  console.log(`ratio phone/baresip (p50, established): ${(pct(plain.established, 50) / pct(bare, 50)).toFixed(2)}x`);
} finally {
  await caller.stop();
  await callee.stop();
  await k.stop();
}

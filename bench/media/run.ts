// bench/media: what a call costs the phone and how steadily its audio leaves, next to baresip in the same call.
//   1. CPU and memory: the phone (the deployable, simulated board) calls an auto-answering baresip through Kamailio
//      and talks for --seconds (30); both processes' CPU seconds (utime+stime from /proc) over the call, per
//      call-second, with each one's idle cost over the same time shown apart, and RSS (now and peak); the ratio.
//   2. RTP send timing: the phone calls a sipp UAS whose SDP points at this script's own UDP socket; every packet is
//      timestamped on arrival (loopback) and the deviation of each interval from 20 ms is reported, first with the
//      UI quiet, then while the bench redraws the screen continuously (volume keys, as fast as the control protocol
//      takes them).
//   3. Jitter buffer: the playout delay it adds (audio waiting at playout, averaged) in the baresip call.
// Usage: npm run bench:media [-- --seconds 30 --codec PCMU|G722]
import * as dgram from "node:dgram";
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { freePort, startRegistrar } from "../../src/lab/registrar.js";
import { FarPhone } from "../../src/lab/far-phone.js";
import { startSipp } from "../../src/lab/sipp.js";
import { PhoneProcess } from "../../test/support/phone-process.js";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "30" }, window: { type: "string", default: "10" } } });
const CALL_S = Number(values.seconds);
const WINDOW_S = Number(values.window);
const here = path.dirname(fileURLToPath(import.meta.url));
const TICK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/** CPU seconds (user + system) a process has used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / TICK; // fields 14 and 15 of proc(5), counted after "pid (comm)"
}

/** Resident memory now and at its peak, in MiB. */
async function memory(pid: number): Promise<{ rss: number; peak: number }> {
  const st = await fs.readFile(`/proc/${pid}/status`, "utf8");
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(st)?.[1] ?? NaN) / 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** CPU seconds each process uses over `ms`. */
async function cpuOver(pids: number[], ms: number): Promise<number[]> {
  const before = await Promise.all(pids.map(cpuSeconds));
  await sleep(ms);
  const after = await Promise.all(pids.map(cpuSeconds));
  return after.map((a, i) => a - before[i]);
}

interface MediaStats {
  codec: string | null;
  packets: { sent: number; received: number };
  jitter: { targetMs: number; bufferedMs: number; delayMs: number; concealed: number; late: number };
}

const users = ["1001", "1002", "1009"].map((u) => ({ user: u, password: `bench-${u}` }));
const k = await startRegistrar({ users, lifetimeS: 1800 });
const bundle = {
  version: 1,
  accounts: [{ user: "1001", password: "bench-1001", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: k.tcpPort, transport: "tcp" }] }],
  dialPlan: { extensionLength: 0 },
};
const far = await FarPhone.start({ user: "1002", password: "bench-1002", registrar: { port: k.tcpPort, transport: "tcp" }, answer: "auto", lifetimeS: 1800 });
let phone: PhoneProcess | undefined;
try {
  await far.registered();
  phone = await PhoneProcess.registered(bundle);
  const p = phone;
  const phonePid = p.pid;
  const barePid = await far.pid();
  if (!phonePid || !barePid) throw new Error("cannot find the phone's or baresip's process id");

  // 1. CPU and memory in a call with baresip, after the same time idle
  const idle = await cpuOver([phonePid, barePid], CALL_S * 1000);
  await p.call("1002");
  const jitterSamples: Array<{ delay: number; target: number }> = [];
  const before = await Promise.all([phonePid, barePid].map(cpuSeconds));
  const t0 = performance.now();
  while (performance.now() - t0 < CALL_S * 1000) {
    await sleep(1000);
    const m = (await p.cmd<{ media: MediaStats[] }>("get_state")).media[0];
    if (m) jitterSamples.push({ delay: m.jitter.delayMs, target: m.jitter.targetMs });
  }
  const after = await Promise.all([phonePid, barePid].map(cpuSeconds));
  const seconds = (performance.now() - t0) / 1000;
  const inCall = after.map((a, i) => a - before[i]);
  const final = (await p.cmd<{ media: MediaStats[] }>("get_state")).media[0];
  const [pm, bm] = await Promise.all([memory(phonePid), memory(barePid)]);
  await p.keys("END");
  await p.until("idle", (s) => s.calls.length === 0);

  // 2. RTP send timing toward a sink, quiet UI then continuous redraws
  const sipPort = await freePort();
  const reg = await startSipp({ scenario: path.join(here, "../../test/integration/sip/scenarios/register.xml"), remote: `127.0.0.1:${k.udpPort}`, port: sipPort, keys: { user: "1009" }, args: ["-au", "1009", "-ap", "bench-1009"], timeoutS: 10 });
  if ((await reg.done).code !== 0) throw new Error("sipp could not register 1009");
  const sink = dgram.createSocket("udp4");
  const arrivals: number[] = [];
  sink.on("message", () => arrivals.push(performance.now()));
  await new Promise<void>((r) => sink.bind(0, "127.0.0.1", () => r()));
  const uas = await startSipp({ scenario: path.join(here, "uas-rtp-sink.xml"), port: sipPort, keys: { user: "1009", sink_port: String(sink.address().port) }, timeoutS: 2 * WINDOW_S + 30 });
  await p.call("1009");
  await sleep(500);
  const quietFrom = arrivals.length;
  await sleep(WINDOW_S * 1000);
  const loadFrom = arrivals.length;
  let redraws = 0;
  const loadEnd = performance.now() + WINDOW_S * 1000;
  while (performance.now() < loadEnd) {
    for (const key of ["VOL_UP", "VOL_DOWN"]) {
      await p.cmd("key_down", { key });
      await p.cmd("key_up", { key });
      redraws++;
    }
  }
  const loadTo = arrivals.length;
  await p.keys("END");
  await uas.done;
  sink.close();
  const deviation = (from: number, to: number): number[] => {
    const d: number[] = [];
    for (let i = from + 1; i < to; i++) d.push(Math.abs(arrivals[i] - arrivals[i - 1] - 20));
    return d;
  };
  const quiet = deviation(quietFrom, loadFrom);
  const loaded = deviation(loadFrom, loadTo);

  const per = (cpu: number): string => `${((cpu / seconds) * 1000).toFixed(1)} ms CPU per call-second`;
  const f2 = (x: number): string => x.toFixed(2);
  console.log(`bench/media on node ${process.version}, ${process.arch}; one ${final?.codec ?? "?"} call through Kamailio (TCP) to an auto-answering baresip, ${seconds.toFixed(1)} s`);
  console.log(`phone    in call ${f2(inCall[0])} s CPU = ${per(inCall[0])}  (idle over the same time: ${f2(idle[0])} s)  RSS ${pm.rss.toFixed(1)} MiB, peak ${pm.peak.toFixed(1)} MiB`);
  console.log(`baresip  in call ${f2(inCall[1])} s CPU = ${per(inCall[1])}  (idle over the same time: ${f2(idle[1])} s)  RSS ${bm.rss.toFixed(1)} MiB, peak ${bm.peak.toFixed(1)} MiB`);
  const extra = (i: number): number => Math.max(0, inCall[i] - idle[i]);
  console.log(`ratio phone/baresip: CPU in call ${(inCall[0] / inCall[1]).toFixed(2)}x, call's own CPU (minus idle) ${(extra(0) / Math.max(extra(1), 1 / TICK)).toFixed(2)}x, RSS ${(pm.rss / bm.rss).toFixed(2)}x`);
  console.log(`phone packets: sent ${final?.packets.sent}, received ${final?.packets.received}, concealed frames ${final?.jitter.concealed}, late ${final?.jitter.late}`);
  const delay = jitterSamples.map((s) => s.delay);
  console.log(`jitter buffer delay (audio waiting at playout, ~1 s average, sampled each second): p50 ${pct(delay, 50)} ms  max ${Math.max(...delay)} ms; target p50 ${pct(jitterSamples.map((s) => s.target), 50)} ms (n=${delay.length})`);
  const line = (name: string, d: number[]): string => `${name}  deviation from 20 ms: p50 ${f2(pct(d, 50))} ms  p99 ${f2(pct(d, 99))} ms  max ${f2(Math.max(...d))} ms  (n=${d.length} intervals)`;
  console.log(line("RTP send, UI quiet    ", quiet));
  console.log(line("RTP send, UI redrawing", loaded) + `  with ${redraws} redraws = ${(redraws / WINDOW_S).toFixed(0)}/s`);
} finally {
  await phone?.stop();
  await far.stop();
  await k.stop();
}

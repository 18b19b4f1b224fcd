// sipp 3.6.1 (Debian's sip-tester) as a scripted SIP peer for edge cases: runs a scenario (a file, or inline XML) to its
// end, with its message trace and error log kept for the test to read. Started under `setsid timeout`, stopped by
// process group. Notes: the Call-ID must be exactly [call_id]; every custom [keyword] needs a `keys` entry; this build
// has no TLS.
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createSystemClock, type Clock } from "../base/clock.js";
import type { Logger } from "../base/log.js";
import { freePort } from "./ports.js";
import { keepLab, spawnPeer } from "./process.js";

export interface SippRun {
  /** 0 = every call passed; 1 = a call failed; other = sipp could not run the scenario; null = killed by a signal. */
  code: number | null;
  /** sipp's screen output (the first 64 KiB). */
  stdout: string;
  /** sipp's stderr (the first 64 KiB). */
  stderr: string;
  /** Why calls failed (the -trace_err file, at most 256 KiB). */
  errLog: string;
  /** The messages sipp sent and received (the -trace_msg file, at most 1 MiB). */
  messages: string;
  /** errLog and stderr together: everything that says why a run failed. */
  errors: string;
}

export interface SippOptions {
  /** A scenario file's path, or the scenario's XML itself (text starting with "<"). */
  scenario: string;
  /** Where sipp sends its first request (UAC), e.g. "127.0.0.1:5060". */
  remote?: string;
  /** Local SIP port; 0 or unset = a free one is picked (so `port` is known for a UAS). */
  port?: number;
  transport?: "u1" | "t1";
  /** Values for custom [keywords] (-key NAME VALUE). */
  keys?: Record<string, string>;
  /** Extra sipp arguments (e.g. ["-au", "1001", "-ap", "secret"], ["-m", "3"]). */
  args?: string[];
  /** How long the scenario may take (sipp's -timeout; default 30000 ms). The process is killed a little later. */
  timeoutMs?: number;
  /** Same as timeoutMs, in seconds (older callers). */
  timeoutS?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface SippHandle {
  readonly port: number;
  /** Resolves when sipp ends (by itself, or after stop()). */
  readonly done: Promise<SippRun>;
  /** SIGKILL to sipp's process group; `done` then resolves. */
  stop(): void;
}

const CAP_OUT = 64 * 1024;
const CAP_ERR = 256 * 1024;
const CAP_MSG = 1024 * 1024;

async function readCapped(file: string, cap: number): Promise<string> {
  try {
    const h = await fs.open(file, "r");
    try {
      const st = await h.stat();
      const len = Math.min(st.size, cap);
      const buf = Buffer.alloc(len);
      await h.read(buf, 0, len, 0);
      return buf.toString("utf8") + (st.size > cap ? `\n[... ${st.size - cap} more bytes not read]\n` : "");
    } finally {
      await h.close();
    }
  } catch {
    return "";
  }
}

/** Starts sipp in the background (typically a UAS waiting for a call); `done` resolves with its result. */
export async function startSipp(o: SippOptions): Promise<SippHandle> {
  const clock = o.clock ?? createSystemClock();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "lab-sipp-"));
  let scenario = o.scenario;
  if (/^\s*</.test(scenario)) {
    scenario = path.join(dir, "scenario.xml");
    await fs.writeFile(scenario, o.scenario);
  }
  const port = o.port && o.port > 0 ? o.port : await freePort("udp");
  const timeoutMs = o.timeoutMs ?? (o.timeoutS !== undefined ? o.timeoutS * 1000 : 30000);
  const timeoutS = Math.max(1, Math.ceil(timeoutMs / 1000));
  const msgFile = path.join(dir, "msg.log");
  const errFile = path.join(dir, "err.log");
  const args = ["-sf", scenario, "-i", "127.0.0.1", "-p", String(port), "-t", o.transport ?? "u1", "-m", "1", "-nostdin"];
  args.push("-trace_msg", "-message_file", msgFile, "-trace_err", "-error_file", errFile);
  // sipp's own -timeout ends a stuck scenario as a failure; the `timeout` wrapper is only the backstop
  args.push("-timeout", `${timeoutS}s`, "-timeout_error");
  for (const [k, v] of Object.entries(o.keys ?? {})) args.push("-key", k, v);
  args.push(...(o.args ?? []));
  if (o.remote) args.push(o.remote);
  const outFile = path.join(dir, "stdout.log");
  const stderrFile = path.join(dir, "stderr.log");
  const proc = spawnPeer({ name: "sipp", command: "sipp", args, cwd: dir, lifetimeS: timeoutS + 5, logFile: outFile, stderrFile, logCapBytes: CAP_OUT, clock, logger: o.logger });
  const done = (async (): Promise<SippRun> => {
    const info = await proc.exited;
    const out = await readCapped(outFile, CAP_OUT);
    const stderr = await readCapped(stderrFile, CAP_OUT);
    const errLog = await readCapped(errFile, CAP_ERR);
    const r: SippRun = { code: info.code, stdout: out, stderr, errLog, messages: await readCapped(msgFile, CAP_MSG), errors: errLog + (stderr ? `\n${stderr}` : "") };
    if (!keepLab()) await fs.rm(dir, { recursive: true, force: true });
    o.logger?.debug({ peer: "sipp", code: r.code, port }, "sipp ended");
    return r;
  })();
  return {
    port,
    done,
    stop: () => {
      void proc.kill();
    },
  };
}

/** Runs sipp to its end (e.g. as a UAC against Kamailio) and resolves with its result. */
export async function runSipp(o: SippOptions): Promise<SippRun> {
  const h = await startSipp(o);
  return h.done;
}

// sipp (Debian's sip-tester) as a scripted SIP peer for edge cases: runs a scenario file to its end, with its
// message trace and error log kept for the test to read. Started under `setsid timeout`, stopped by process group.
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface SippRun {
  /** 0 = every call passed; 1 = a call failed; other = sipp could not run the scenario. */
  code: number | null;
  /** The messages sipp sent and received (-trace_msg). */
  messages: string;
  /** Why calls failed (-trace_err), and sipp's stderr. */
  errors: string;
}

export interface SippOptions {
  scenario: string;
  /** Where sipp sends its first request (UAC), e.g. "127.0.0.1:5060". */
  remote?: string;
  /** Local SIP port (0 = any). */
  port: number;
  transport?: "u1" | "t1";
  /** Values for custom [keywords] (-key NAME VALUE). */
  keys?: Record<string, string>;
  /** Extra sipp arguments. */
  args?: string[];
  timeoutS?: number;
}

export interface SippHandle {
  readonly port: number;
  /** Resolves when sipp ends (by itself, or after stop()). */
  readonly done: Promise<SippRun>;
  stop(): void;
}

/** Starts sipp in the background; `done` resolves with its result. */
export async function startSipp(o: SippOptions): Promise<SippHandle> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sipp-"));
  const args = ["-sf", o.scenario, "-i", "127.0.0.1", "-p", String(o.port), "-t", o.transport ?? "u1", "-m", "1", "-nostdin", "-trace_msg", "-message_file", path.join(dir, "msg.log"), "-trace_err", "-error_file", path.join(dir, "err.log"), "-timeout", `${o.timeoutS ?? 30}s`, "-timeout_error"];
  for (const [k, v] of Object.entries(o.keys ?? {})) args.push("-key", k, v);
  args.push(...(o.args ?? []));
  if (o.remote) args.push(o.remote);
  const child = spawn("setsid", ["timeout", String((o.timeoutS ?? 30) + 5), "sipp", ...args], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const done = new Promise<SippRun>((resolve) => {
    child.once("exit", (code) => {
      void (async () => {
        const read = (f: string): Promise<string> => fs.readFile(path.join(dir, f), "utf8").catch(() => "");
        const r = { code, messages: await read("msg.log"), errors: (await read("err.log")) + stderr };
        if (!process.env.KEEP_LAB) await fs.rm(dir, { recursive: true, force: true });
        resolve(r);
      })();
    });
  });
  return {
    port: o.port,
    done,
    stop: () => {
      if (child.pid && child.exitCode === null) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    },
  };
}

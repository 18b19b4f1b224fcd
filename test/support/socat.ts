// A pair of linked ptys from socat, for serial tests against real tty devices; killed by PID on stop or exit.
import { spawn, spawnSync } from "node:child_process";
import { promises as fs, existsSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface PtyPair {
  /** Two tty paths; bytes written to one come out of the other. */
  a: string;
  b: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 5000;

/** Fails (never skips) when socat is missing: the pty tests are part of the suite. */
function requireSocat(): void {
  const r = spawnSync("socat", ["-V"], { stdio: "ignore" });
  if (r.error) throw new Error("socat is not installed; the serial pty tests need it: run `apt-get install socat`");
}

export async function startPtyPair(): Promise<PtyPair> {
  requireSocat();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "fp-pty-"));
  const a = path.join(dir, "a");
  const b = path.join(dir, "b");
  const child = spawn("socat", ["-d", `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  child.on("exit", () => (exited = true));
  const pid = child.pid;
  // Last resort if the test process ends without stop(): no socat outlives the suite.
  const onExit = (): void => {
    if (!exited && pid) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", onExit);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off("exit", onExit);
    if (!exited && pid) {
      const gone = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const killTimer = setTimeout(() => child.kill("SIGKILL"), 2000);
      await gone;
      clearTimeout(killTimer);
    }
    await fs.rm(dir, { recursive: true, force: true });
  };

  // The links appear a few ms after spawn (hardware-hal.md §3); wait for both, bounded.
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(existsSync(a) && existsSync(b))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`socat did not create the pty pair within ${START_TIMEOUT_MS} ms${exited ? " (it exited)" : ""}: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return { a, b, stop };
}

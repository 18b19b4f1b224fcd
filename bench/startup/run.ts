// bench/startup: process start to the idle screen drawn (the runtime prints its "running" line after the first
// screen is on the emulated LCD), p50 of 10 runs, next to `node -e 0`. Prints its figures.
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const RUNS = 10;

function time(args: string[], until?: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    let t: number | undefined;
    child.stdout.on("data", (d) => {
      out += d;
      if (until && t === undefined && until.test(out)) {
        t = performance.now() - t0;
        child.kill("SIGTERM");
      }
    });
    child.on("exit", () => (t !== undefined || !until ? resolve(t ?? performance.now() - t0) : reject(new Error(out))));
  });
}

const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const data = mkdtempSync(path.join(os.tmpdir(), "bench-startup-"));
const phone: number[] = [];
const bare: number[] = [];
for (let i = 0; i < RUNS; i++) {
  bare.push(await time(["-e", "0"]));
  phone.push(await time([path.join(root, "bin/phone.js"), "--board", "sim", "--no-terminal", "--control", "none", "--web", "none", "--data-dir", data, "--log-level", "warn"], /running board/));
}
rmSync(data, { recursive: true, force: true });
console.log(`startup to idle screen (sim board)  p50 ${p50(phone).toFixed(0)} ms  (min ${Math.min(...phone).toFixed(0)}, max ${Math.max(...phone).toFixed(0)}) over ${RUNS} runs`);
console.log(`node -e 0                            p50 ${p50(bare).toFixed(0)} ms   ratio ${(p50(phone) / p50(bare)).toFixed(1)}x`);

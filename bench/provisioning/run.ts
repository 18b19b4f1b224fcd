// bench/provisioning: N simulated phones (default 500) sign in at once against one provisioning service (its own
// process, as IT runs it): each makes its key and CSR first, then all POST /v1/sign-in together over HTTPS.
// Prints: how many succeeded, the total time, p50/p99 per sign-in, the PIN hash cost (scrypt N, r, p and one hash's
// time on this machine) and the limit that cost sets (cores / time per hash = sign-ins per second at best).
// Usage: npm run bench:provisioning [-- --phones 500]
import { spawn } from "node:child_process";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { promises as fs } from "node:fs";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { scrypt, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { makeDeviceKey } from "../../src/provisioning/device-identity.js";
import { adminMain } from "../../src/provisioning/server/admin-cli.js";
import { DEFAULT_SCRYPT } from "../../src/provisioning/server/pin-hash.js";

const { values } = parseArgs({ options: { phones: { type: "string", default: "500" } } });
const N = Number(values.phones);
const root = fileURLToPath(new URL("../../", import.meta.url));
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bench-prov-"));
const config = path.join(dir, "service.json");
await fs.writeFile(config, JSON.stringify({ listen: "127.0.0.1:0", dataDir: path.join(dir, "data"), sip: { domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: 5060, transport: "udp" }] } }));
const child = spawn(process.execPath, [path.join(root, "bin/provisioning-service.js"), "--config", config, "--log-level", "warn"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
process.on("exit", () => child.kill("SIGKILL"));
const url = await new Promise<string>((resolve) => {
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    const m = /listening on (https:\/\/\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
});
const ca = await fs.readFile(path.join(dir, "data", "ca-cert.pem"), "utf8");
try {
  // IT adds the users (the CLI's own code, in this process: N processes would measure Node's start-up instead)
  const quiet = { out: () => undefined, err: (t: string) => process.stderr.write(t) };
  // one PIN for all (each hash has its own salt, so the service's work is the same as with N different PINs)
  const pins = Array.from({ length: N }, () => "29517");
  const t0 = performance.now();
  for (let i = 0; i < N; i++) if ((await adminMain(["--config", config, "add-user", String(3000 + i), "--name", `Phone ${i}`, "--pin", pins[i]], quiet)) !== 0) throw new Error(`cannot add user ${3000 + i}`);
  const addMs = performance.now() - t0;
  const keys = await Promise.all(Array.from({ length: N }, (_, i) => makeDeviceKey(`bench-${i}`)));
  const agent = new https.Agent({ ca, maxSockets: Infinity, keepAlive: false });
  const signIn = (i: number): Promise<{ ms: number; status: number }> =>
    new Promise((resolve) => {
      const body = JSON.stringify({ extension: String(3000 + i), pin: pins[i], csr: keys[i].csrPem });
      const start = performance.now();
      const req = https.request(new URL("v1/sign-in", url), { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on("end", () => resolve({ ms: performance.now() - start, status: res.statusCode ?? 0 }));
      });
      req.on("error", () => resolve({ ms: performance.now() - start, status: 0 }));
      req.end(body);
    });
  const all0 = performance.now();
  const results = await Promise.all(Array.from({ length: N }, (_, i) => signIn(i)));
  const totalMs = performance.now() - all0;
  const ok = results.filter((r) => r.status === 200).length;
  // the hash cost: one scrypt with the service's parameters, as a sign-in runs it (median of 20)
  const one: number[] = [];
  for (let i = 0; i < 20; i++) {
    const s = performance.now();
    await new Promise<void>((r) => scrypt("24680", randomBytes(16), 32, { N: DEFAULT_SCRYPT.N, r: DEFAULT_SCRYPT.r, p: DEFAULT_SCRYPT.p, maxmem: 64 * 1024 * 1024 }, () => r()));
    one.push(performance.now() - s);
  }
  const hashMs = pct(one, 50);
  const cores = os.availableParallelism();
  const limit = (cores * 1000) / hashMs;
  const ms = results.map((r) => r.ms);
  console.log(`bench/provisioning on node ${process.version}, ${cores} cores; ${N} phones sign in at once (users added first: ${(addMs / 1000).toFixed(1)} s)`);
  console.log(`signed in: ${ok}/${N}${ok < N ? ` (statuses: ${JSON.stringify(results.filter((r) => r.status !== 200).slice(0, 5))})` : ""}`);
  console.log(`total ${(totalMs / 1000).toFixed(2)} s = ${((N * 1000) / totalMs).toFixed(0)} sign-ins/s; per sign-in p50 ${pct(ms, 50).toFixed(0)} ms  p99 ${pct(ms, 99).toFixed(0)} ms  max ${Math.max(...ms).toFixed(0)} ms`);
  console.log(`PIN hash: scrypt N=${DEFAULT_SCRYPT.N} r=${DEFAULT_SCRYPT.r} p=${DEFAULT_SCRYPT.p}, ${hashMs.toFixed(1)} ms per hash here -> limit ${cores} cores / ${hashMs.toFixed(1)} ms = ${limit.toFixed(0)} sign-ins/s (${((N / limit) * 1000).toFixed(0)} ms for ${N} at best); achieved ${((100 * N * 1000) / totalMs / limit).toFixed(0)}% of it`);
} finally {
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  await fs.rm(dir, { recursive: true, force: true });
}

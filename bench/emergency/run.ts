// bench/emergency: from the last digit of 9-1-1 to the emergency INVITE on the wire, p50/p99 over N calls each, with
// the LIS answering normally, slowly (2 s) and not at all (it takes the connection and never answers).
//   The phone (the deployable, simulated board) is driven through its control protocol: the time the last digit's
//   press_key leaves the bench is the start. The INVITE goes through a real Kamailio to a PSAP played by sipp, whose
//   message log stamps its arrival (same host clock, microseconds). The LIS is the reference LIS over HTTPS, behind a
//   TCP relay the bench slows down or stalls. The PSAP answers 486, and the next call starts from an idle phone.
//   Also printed: how many INVITEs carried a PIDF-LO (a slow or silent LIS must not cost the cached location).
// Usage: npm run bench:emergency [-- --calls 50]
import { execFile } from "node:child_process";
import * as net from "node:net";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs, promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { startRegistrar, freePort } from "../../src/lab/registrar.js";
import { startSipp } from "../../src/lab/sipp.js";
import { startLisServer } from "../../src/location/lis/lis-server.js";
import { PhoneProcess } from "../../test/support/phone-process.js";
import { untilListening } from "../../test/support/sip-messages.js";

const { values } = parseArgs({ options: { calls: { type: "string", default: "50" } } });
const N = Number(values.calls);
const run = promisify(execFile);
const here = fileURLToPath(new URL("./", import.meta.url));
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const fmt = (xs: number[]): string => `p50 ${pct(xs, 50).toFixed(1)} ms  p99 ${pct(xs, 99).toFixed(1)} ms  max ${Math.max(...xs).toFixed(1)} ms  (n=${xs.length})`;

type Mode = { name: string; delayMs: number | "never" };

/** A TCP relay in front of the LIS that holds back the LIS's answers by `mode.delayMs` (as of each answer), or for ever. */
async function slowRelay(target: number): Promise<{ port: number; mode: Mode; close(): void }> {
  const state = { mode: { name: "normal", delayMs: 0 } as Mode };
  const socks = new Set<net.Socket>();
  const srv = net.createServer((c) => {
    socks.add(c);
    const up = net.connect(target, "127.0.0.1");
    socks.add(up);
    c.pipe(up);
    up.on("data", (b) => {
      const d = state.mode.delayMs; // per answer, not per connection: the phone keeps its connection to the LIS alive
      if (d === "never") return;
      if (d === 0) c.write(b);
      else setTimeout(() => !c.destroyed && c.write(b), d);
    });
    const end = (): void => {
      c.destroy();
      up.destroy();
    };
    c.on("close", end).on("error", end);
    up.on("error", end);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    get mode() {
      return state.mode;
    },
    set mode(m: Mode) {
      state.mode = m;
    },
    close: () => {
      for (const s of socks) s.destroy();
      srv.close();
    },
  };
}

/** When each INVITE reached the PSAP (epoch ms), and whether it carried a PIDF-LO, from sipp's message log. */
function invitesOf(log: string): Array<{ at: number; pidf: boolean }> {
  const out: Array<{ at: number; pidf: boolean }> = [];
  const re = /^-{10,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*\n[A-Z]+ message received \[\d+\] bytes :\s*\n+(INVITE [^\n]*)([\s\S]*?)(?=^-{10,} |$(?![\s\S]))/gm;
  for (const m of log.matchAll(re)) {
    const [date, frac] = m[1].split(".");
    const at = new Date(`${date.replace(" ", "T")}`).getTime() + Number(`0.${frac}`) * 1000;
    out.push({ at, pidf: /application\/pidf\+xml/.test(m[3]) });
  }
  return out;
}

async function main(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bench-e911-"));
  const [cert, key] = [path.join(dir, "cert.pem"), path.join(dir, "key.pem")];
  await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]);
  const tls = { certPem: await fs.readFile(cert, "utf8"), keyPem: await fs.readFile(key, "utf8") };
  const wiremap = path.join(dir, "wiremap.json");
  await fs.writeFile(wiremap, JSON.stringify({ entries: [], default: { civic: { country: "US", A1: "TX", A3: "Austin", RD: "Lamar", STS: "BLVD", HNO: "1100", FLR: "3", ROOM: "3-214" } } }));
  const lis = await startLisServer({ wiremapFile: wiremap, port: 0, host: "127.0.0.1", tls });
  const relay = await slowRelay(lis.port);
  const psapPort = await freePort();
  const k = await startRegistrar({ users: [{ user: "1001", password: "bench-1001" }], lifetimeS: 1800, emergencyRoute: { host: "127.0.0.1", port: psapPort, transport: "tcp" } });
  const bundle = {
    version: 1,
    accounts: [{ user: "1001", password: "bench-1001", displayName: "Bench", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: k.tcpPort, transport: "tcp" }] }],
    location: { lisUrl: `https://127.0.0.1:${relay.port}/held`, lisCa: tls.certPem },
  };
  const phone = await PhoneProcess.registered(bundle);
  try {
    await phone.until("a location from the LIS", (s) => (s as unknown as { location: { source: string } | null }).location?.source === "lis", 15000);
    const modes: Mode[] = [
      { name: "LIS answering normally", delayMs: 0 },
      { name: "LIS answering in 2 s", delayMs: 2000 },
      { name: "LIS not answering at all", delayMs: "never" },
    ];
    console.log(`bench/emergency: last digit of 911 -> INVITE at the PSAP (via Kamailio), ${N} calls per case, phone waits at most 200 ms for a fresh location`);
    for (const mode of modes) {
      relay.mode = mode;
      const psap = await startSipp({ scenario: path.join(here, "psap-486.xml"), port: psapPort, transport: "t1", args: ["-m", String(N)], timeoutS: N * 6 + 30 });
      await untilListening(psapPort, "sipp (the PSAP)");
      const lastDigit: number[] = [];
      for (let i = 0; i < N; i++) {
        await phone.keys("91");
        lastDigit.push(Date.now());
        await phone.keys("1");
        await phone.until("the call refused by the PSAP", (s) => s.calls.length === 0 && s.mode !== "call", 15000);
        await phone.keys("END");
        await phone.until("idle", (s) => s.mode === "idle", 5000);
      }
      const r = await psap.done;
      const inv = invitesOf(r.messages);
      if (r.code !== 0 || inv.length !== N) throw new Error(`the PSAP saw ${inv.length} INVITEs of ${N} (sipp exit ${r.code}): ${r.errors.slice(-2000)}`);
      const ms = inv.map((x, i) => x.at - lastDigit[i]);
      console.log(`  ${mode.name.padEnd(26)} ${fmt(ms)}; with location: ${inv.filter((x) => x.pidf).length}/${N}`);
    }
  } finally {
    await phone.stop();
    relay.close();
    await lis.stop();
    await k.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`bench/emergency failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);

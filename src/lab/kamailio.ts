// A real Kamailio 5.6 on 127.0.0.1 as registrar and proxy with digest auth, for the lab and the tests: UDP and TCP on
// one port number (as on a PBX's 5060), TLS on the next (a fresh self-signed P-256 certificate for 127.0.0.1 and
// localhost), users in db_text tables in a temp dir, locations in memory (a restart loses them, like a real crash).
// The cfg is src/lab/kamailio.cfg; every run-specific value is a define on the command line.
import { execFile } from "node:child_process";
import * as dgram from "node:dgram";
import { existsSync, readdirSync, promises as fs } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createSystemClock, type Clock } from "../base/clock.js";
import { ErrorCodes, PhoneError } from "../base/errors.js";
import type { Logger } from "../base/log.js";
import { freePorts, tryBind } from "./ports.js";
import { keepLab, peerError, spawnPeer, type PeerProcess } from "./process.js";

const run = promisify(execFile);

export interface KamailioUser {
  user: string;
  password: string;
}

export interface KamailioOptions {
  /** Subscribers of domain "127.0.0.1". */
  users: KamailioUser[];
  /** registrar min_expires (default 60): a shorter Expires gets 423 Interval Too Brief. */
  minExpires?: number;
  /** registrar max_expires (default 3600); also the expiry for a REGISTER without one. */
  maxExpires?: number;
  /** Fixed ports; otherwise UDP and TCP share a free port and TLS takes the next. */
  ports?: { udp: number; tcp: number; tls: number };
  /** Seconds the process may live at most (a leaked one dies by itself). Default 1800. */
  lifetimeS?: number;
  /** Worker processes (children / tcp_children). Default 2. */
  children?: number;
  /** How long to wait for it to answer (default 15000 ms). */
  readyTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface Kamailio {
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly tlsPort: number;
  /** PEM of the self-signed TLS certificate: trust it as a CA. SAN: IP:127.0.0.1, DNS:localhost. */
  readonly caFile: string;
  readonly runDir: string;
  /** SIGTERM to the process group, SIGKILL after 3 s; removes runDir unless KEEP_LAB=1. */
  stop(): Promise<void>;
  /** SIGKILL to the process group: a crash. runDir stays (for restart() and log()). */
  kill(): Promise<void>;
  /** Starts again on the same ports with the same users (registrations are gone). Stops a running one first. */
  restart(): Promise<void>;
  /** Kamailio's output of every run so far. */
  log(): Promise<string>;
}

const CFG_SOURCE = fileURLToPath(new URL("./kamailio.cfg", import.meta.url));

let moduleDirCache: string | undefined;

/** Kamailio's module directory: what `kamailio -I` says, else the first /usr/lib/<arch>/kamailio/modules with tm.so. */
export async function kamailioModuleDir(): Promise<string> {
  if (moduleDirCache) return moduleDirCache;
  const candidates: string[] = [];
  try {
    const { stdout, stderr } = await run("kamailio", ["-I"], { timeout: 5000 });
    const m = /Default paths to modules:\s*(\S+)/.exec(stdout + stderr);
    if (m?.[1]) candidates.push(...m[1].split(":"));
  } catch {
    // not on PATH or too old for -I: glob below
  }
  for (const lib of ["/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/local/lib64"]) {
    candidates.push(path.join(lib, "kamailio", "modules"));
    try {
      for (const d of readdirSync(lib)) candidates.push(path.join(lib, d, "kamailio", "modules"));
    } catch {
      // no such lib dir
    }
  }
  const found = candidates.find((d) => existsSync(path.join(d, "tm.so")));
  if (!found) throw new PhoneError(ErrorCodes.DEVICE_ABSENT, "Kamailio's modules are not installed (apt install kamailio kamailio-tls-modules)", { peer: "kamailio" });
  if (!existsSync(path.join(found, "tls.so"))) throw new PhoneError(ErrorCodes.DEVICE_ABSENT, `Kamailio's TLS module is missing in ${found} (apt install kamailio-tls-modules)`, { peer: "kamailio" });
  moduleDirCache = found;
  return found;
}

/** A db_text field value: ':' and '\' and line ends escaped. */
function dbText(s: string): string {
  return s.replace(/[\\:\n\r]/g, (c) => (c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\" + c));
}

async function writeTables(dir: string, users: KamailioUser[]): Promise<void> {
  for (const u of users) {
    if (!/^[A-Za-z0-9._~+-]+$/.test(u.user)) throw new PhoneError(ErrorCodes.CONFIG_INVALID, `kamailio: user name not usable in a SIP URI: ${JSON.stringify(u.user)}`, { user: u.user });
  }
  const rows = users.map((u, i) => `${i + 1}:${dbText(u.user)}:127.0.0.1:${dbText(u.password)}::`).join("\n");
  // ha1/ha1b must allow null, or auth fails with "null value not allowed - field 4"
  await fs.writeFile(path.join(dir, "subscriber"), `id(int,auto) username(string) domain(string) password(string) ha1(string,null) ha1b(string,null)\n${rows}\n`, { mode: 0o600 });
  await fs.writeFile(path.join(dir, "version"), "table_name(string) table_version(int)\nsubscriber:7\n");
}

async function makeCert(dir: string): Promise<{ key: string; cert: string }> {
  const key = path.join(dir, "tls-key.pem");
  const cert = path.join(dir, "tls-cert.pem");
  try {
    await run(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "7", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,digitalSignature,keyCertSign", "-addext", "extendedKeyUsage=serverAuth,clientAuth"],
      { timeout: 15000 },
    );
  } catch (e) {
    throw new Error(`kamailio: openssl could not make the TLS certificate: ${(e as Error).message}`, { cause: e });
  }
  return { key, cert };
}

/** Sends one OPTIONS to 127.0.0.1:port over UDP; true if any SIP response came back within `waitMs`. */
export function udpOptionsAnswered(port: number, clock: Clock, waitMs = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const u = dgram.createSocket("udp4");
    let settled = false;
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      t.cancel();
      try {
        u.close();
      } catch {
        // already closed
      }
      resolve(ok);
    };
    const t = clock.setTimeout(() => done(false), waitMs);
    u.on("message", (m) => done(m.subarray(0, 8).toString() === "SIP/2.0 "));
    u.on("error", () => done(false));
    u.bind(0, "127.0.0.1", () => {
      const lp = u.address().port;
      const branch = `z9hG4bK-probe-${lp}-${Math.floor(Math.random() * 1e9)}`;
      const msg =
        `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${lp};branch=${branch};rport\r\nMax-Forwards: 70\r\n` +
        `From: <sip:probe@127.0.0.1:${lp}>;tag=${lp}\r\nTo: <sip:127.0.0.1:${port}>\r\nCall-ID: probe-${branch}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
      u.send(msg, port, "127.0.0.1", (e) => e && done(false));
    });
  });
}

/** True if a TCP connection to 127.0.0.1:port is accepted. */
export function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Starts Kamailio; resolves once it answers OPTIONS on UDP and accepts TCP connections on its TCP and TLS ports. */
export async function startKamailio(opts: KamailioOptions): Promise<Kamailio> {
  const clock = opts.clock ?? createSystemClock();
  const log = opts.logger?.child({ peer: "kamailio" });
  const mpath = await kamailioModuleDir();
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), "lab-kamailio-"));
  try {
    const dbDir = path.join(runDir, "db");
    const rtDir = path.join(runDir, "run");
    await fs.mkdir(dbDir);
    await fs.mkdir(rtDir);
    await writeTables(dbDir, opts.users);
    const { key, cert } = await makeCert(runDir);
    const tlsCfg = path.join(runDir, "tls.cfg");
    await fs.writeFile(
      tlsCfg,
      `[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\nprivate_key = ${key}\ncertificate = ${cert}\n\n` +
        `[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n`,
    );
    const cfg = path.join(runDir, "kamailio.cfg");
    await fs.copyFile(CFG_SOURCE, cfg);
    const logFile = path.join(runDir, "kamailio.log");
    const minExpires = opts.minExpires ?? 60;
    const maxExpires = Math.max(opts.maxExpires ?? 3600, minExpires);

    let ports = opts.ports;
    let proc: PeerProcess | undefined;

    const args = (p: { udp: number; tcp: number; tls: number }): string[] => {
      const defs: Record<string, string> = {
        UDP_PORT: String(p.udp),
        TCP_PORT: String(p.tcp),
        TLS_PORT: String(p.tls),
        DB_URL: `"text://${dbDir}"`,
        TLS_CFG: `"${tlsCfg}"`,
        MIN_EXPIRES: String(minExpires),
        MAX_EXPIRES: String(maxExpires),
        CHILDREN: String(opts.children ?? 2),
      };
      return [
        "-DD",
        "-E",
        "-f", cfg,
        "-L", mpath,
        "-Y", rtDir,
        "-P", path.join(rtDir, "kamailio.pid"),
        "-m", "32",
        "-M", "4",
        ...Object.entries(defs).flatMap(([k, v]) => ["-A", `${k}=${v}`]),
      ];
    };

    const launchOnce = async (p: { udp: number; tcp: number; tls: number }): Promise<void> => {
      await fs.rm(path.join(rtDir, "kamailio.pid"), { force: true }); // a killed one leaves it behind
      await fs.appendFile(logFile, `--- kamailio start on udp ${p.udp} tcp ${p.tcp} tls ${p.tls} ---\n`);
      const pr = spawnPeer({ name: "kamailio", command: "kamailio", args: args(p), lifetimeS: opts.lifetimeS ?? 1800, logFile, clock, logger: log });
      proc = pr;
      const deadline = clock.now() + (opts.readyTimeoutMs ?? 15000);
      for (;;) {
        if (pr.exitInfo() !== undefined) {
          throw peerError("kamailio", `exited during start (code ${pr.exitInfo()?.code ?? "-"}, signal ${pr.exitInfo()?.signal ?? "-"})`, `${p.udp}/${p.tcp}/${p.tls}`, pr.tail(15));
        }
        if ((await udpOptionsAnswered(p.udp, clock)) && (await tcpAccepts(p.tcp)) && (await tcpAccepts(p.tls))) break;
        if (clock.now() > deadline) {
          await pr.kill();
          throw new PhoneError(ErrorCodes.TIMEOUT, `kamailio did not answer on udp ${p.udp} / tcp ${p.tcp} / tls ${p.tls} within ${opts.readyTimeoutMs ?? 15000} ms\n--- last lines of kamailio's log ---\n${pr.tail(15)}`, { peer: "kamailio", ports: p });
        }
        await clock.sleep(50);
      }
      log?.info({ ports: p, runDir }, "kamailio ready");
    };

    /** Waits for the ports of a killed instance to be released (its children may hold them a moment). */
    const portsReleased = async (p: { udp: number; tcp: number; tls: number }): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        const ok = (await tryBind("udp", p.udp)) !== null && (await tryBind("tcp", p.tcp)) !== null && (await tryBind("tcp", p.tls)) !== null;
        if (ok) return;
        await clock.sleep(50);
      }
    };

    if (ports) {
      await launchOnce(ports);
    } else {
      // a picked port may be taken before Kamailio binds it: try a few blocks
      for (let attempt = 1; ; attempt++) {
        const [shared, tls] = await freePorts(2);
        const p = { udp: shared, tcp: shared, tls };
        try {
          await launchOnce(p);
          ports = p;
          break;
        } catch (e) {
          await proc?.kill();
          const inUse = /Address already in use|bind/i.test(proc?.tail(30) ?? "");
          if (!inUse || attempt >= 3) throw e;
          log?.warn({ ports: p }, "kamailio: port taken, trying others");
        }
      }
    }
    const fixed = ports;

    const k: Kamailio = {
      udpPort: fixed.udp,
      tcpPort: fixed.tcp,
      tlsPort: fixed.tls,
      caFile: cert,
      runDir,
      async stop() {
        await proc?.stop({ signal: "SIGTERM", target: "group", graceMs: 3000 });
        proc = undefined;
        if (!keepLab()) await fs.rm(runDir, { recursive: true, force: true });
      },
      async kill() {
        await proc?.kill();
      },
      async restart() {
        if (proc?.running()) await proc.stop({ signal: "SIGTERM", graceMs: 3000 });
        await portsReleased(fixed);
        await launchOnce(fixed);
      },
      log: () => fs.readFile(logFile, "utf8").catch(() => ""),
    };
    return k;
  } catch (e) {
    if (!keepLab()) await fs.rm(runDir, { recursive: true, force: true });
    throw e;
  }
}

// Child processes for the real peers (Kamailio, baresip, sipp): each runs as `setsid timeout LIFETIME program ...`, so
// it has its own session and process group (stopped as a whole, never by name) and dies by itself if we leak it.
// Output goes to a log file with a size cap; the last lines stay in memory for error messages. Every running peer is
// in a registry that SIGKILLs leftovers when this process exits.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, writeSync, promises as fs } from "node:fs";
import { createSystemClock, type Clock } from "../base/clock.js";
import type { Logger } from "../base/log.js";

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnPeerOptions {
  /** Name for messages and logs ("kamailio"). */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Seconds the process may live at most; `timeout` then sends SIGTERM (and SIGKILL 5 s later). */
  lifetimeS: number;
  /** stdout and stderr go here (appended). */
  logFile: string;
  /** stderr goes here instead (same cap), if given. */
  stderrFile?: string;
  /** The file stops growing at this size (default 4 MiB); the memory tail keeps the newest lines. */
  logCapBytes?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface StopOptions {
  /** First signal (default SIGTERM). */
  signal?: NodeJS.Signals;
  /** "group" signals the whole session; "main" only the program (not its `timeout` wrapper). Default "group". */
  target?: "group" | "main";
  /** How long to wait before SIGKILL of the whole group (default 3000 ms). */
  graceMs?: number;
}

export interface PeerProcess {
  readonly name: string;
  /** The session id: the pid of the `timeout` wrapper, which leads the session and the process group. */
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the wrapper has exited (the program may still linger a moment: see stop()). */
  readonly exited: Promise<ExitInfo>;
  exitInfo(): ExitInfo | undefined;
  running(): boolean;
  /** Live (non-zombie) processes of the session. */
  pids(): number[];
  /** The program itself (the child of `timeout`), if it runs. */
  mainPid(): number | undefined;
  /** Sends `sig` to the whole process group; false if there was none. */
  signalGroup(sig: NodeJS.Signals): boolean;
  /** Sends `sig` to the program only; false if it does not run. */
  signalMain(sig: NodeJS.Signals): boolean;
  /** Signals, waits, escalates to SIGKILL, and resolves once no process of the session is left. */
  stop(opts?: StopOptions): Promise<void>;
  /** SIGKILL to the group (a crash); resolves once no process of the session is left. */
  kill(): Promise<void>;
  /** The last `lines` lines of output (from memory, so it works after the cap). */
  tail(lines?: number): string;
  /** The log file's text. */
  log(): Promise<string>;
}

const TAIL_CHARS = 16 * 1024;

/** Processes of session `sid` as [pid, state] pairs, read from /proc (no `ps`, no names). */
function sessionMembers(sid: number): Array<{ pid: number; ppid: number; state: string }> {
  const out: Array<{ pid: number; ppid: number; state: string }> = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid pgrp session ..." -- comm may hold spaces and parentheses
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(rest[3]) === sid) out.push({ pid: Number(e), ppid: Number(rest[1]), state: rest[0] ?? "" });
  }
  return out;
}

const registry = new Set<PeerProcess>();
let hooksInstalled = false;

function killAllSync(): void {
  for (const p of registry) p.signalGroup("SIGKILL");
  registry.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killAllSync);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const handler = (): void => {
      killAllSync();
      // If nobody else handles the signal, keep its default meaning: die by it.
      if (process.listenerCount(sig) === 1) {
        process.off(sig, handler);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, handler);
  }
}

/** Kills `p`'s process group when this process exits, unless it was stopped before. */
export function ensureStopped(p: PeerProcess): void {
  installHooks();
  registry.add(p);
}

/** Takes `p` off the exit registry (it has been stopped). */
export function forgetStopped(p: PeerProcess): void {
  registry.delete(p);
}

/** Stops every registered peer (SIGKILL, no grace); for a test's final cleanup. */
export async function stopAllPeers(): Promise<void> {
  await Promise.all([...registry].map((p) => p.kill()));
}

/** An append-only file that stops growing at `cap` bytes (counting what it held before). */
function cappedFile(file: string, cap: number): { write(chunk: Buffer): void; close(): void } {
  const fd = openSync(file, "a");
  let written = fstatSync(fd).size;
  let full = written >= cap;
  let open = true;
  return {
    write(chunk) {
      if (!open || full) return;
      const part = chunk.length <= cap - written ? chunk : chunk.subarray(0, cap - written);
      try {
        writeSync(fd, part);
        written += part.length;
        if (part.length < chunk.length) {
          writeSync(fd, `\n[log capped at ${cap} bytes; the newest lines are kept in memory only]\n`);
          full = true;
        }
      } catch {
        full = true;
      }
    },
    close() {
      if (!open) return;
      open = false;
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    },
  };
}

/** Starts `command` as `setsid timeout -k 5 LIFETIME command args...`, output to a capped log file. */
export function spawnPeer(o: SpawnPeerOptions): PeerProcess {
  const clock = o.clock ?? createSystemClock();
  const cap = o.logCapBytes ?? 4 * 1024 * 1024;
  let tailText = "";
  const toTail = (chunk: Buffer): void => {
    tailText = (tailText + chunk.toString("utf8")).slice(-TAIL_CHARS);
  };
  const outLog = cappedFile(o.logFile, cap);
  const errLog = o.stderrFile ? cappedFile(o.stderrFile, cap) : outLog;
  const closeLog = (): void => {
    outLog.close();
    errLog.close();
  };

  const child: ChildProcess = spawn("setsid", ["timeout", "-k", "5", String(Math.max(1, Math.ceil(o.lifetimeS))), o.command, ...o.args], {
    cwd: o.cwd,
    env: o.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => {
    toTail(d);
    outLog.write(d);
  });
  child.stderr?.on("data", (d: Buffer) => {
    toTail(d);
    errLog.write(d);
  });
  let info: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("error", (e) => {
      const msg = Buffer.from(`\n[${o.name}: could not start: ${e.message}]\n`);
      toTail(msg);
      errLog.write(msg);
      info = { code: null, signal: null };
      closeLog();
      resolve(info);
    });
    // "close": the process has exited and its stdio is drained (every child of the session has let go of the pipes)
    child.once("exit", (code, signal) => {
      info = { code, signal };
    });
    child.once("close", (code, signal) => {
      info = info ?? { code, signal };
      closeLog();
      resolve(info);
    });
  });
  const sid = child.pid ?? -1;
  o.logger?.debug({ peer: o.name, pid: sid, command: o.command }, "peer started");

  const pids = (): number[] => (sid > 0 ? sessionMembers(sid).filter((m) => m.state !== "Z").map((m) => m.pid) : []);
  const mainPid = (): number | undefined => {
    if (sid <= 0) return undefined;
    const m = sessionMembers(sid).find((x) => x.ppid === sid && x.state !== "Z");
    return m?.pid;
  };
  const signalGroup = (sig: NodeJS.Signals): boolean => {
    if (sid <= 0) return false;
    try {
      process.kill(-sid, sig);
      return true;
    } catch {
      return false;
    }
  };
  const signalMain = (sig: NodeJS.Signals): boolean => {
    const pid = mainPid();
    if (pid === undefined) return false;
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false;
    }
  };
  /** Waits until no live process of the session is left (zombies are left to init), at most `ms`. */
  const waitGone = async (ms: number): Promise<boolean> => {
    const deadline = clock.now() + ms;
    for (;;) {
      if (info !== undefined && pids().length === 0) return true;
      if (info === undefined && sid <= 0) return true;
      if (clock.now() >= deadline) return false;
      await clock.sleep(info === undefined ? 25 : 20);
      if (info === undefined && pids().length === 0) return true; // wrapper reaped by us soon; nothing alive
    }
  };

  const peer: PeerProcess = {
    name: o.name,
    pid: sid,
    logFile: o.logFile,
    exited,
    exitInfo: () => info,
    running: () => pids().length > 0,
    pids,
    mainPid,
    signalGroup,
    signalMain,
    async stop(s: StopOptions = {}) {
      const sig = s.signal ?? "SIGTERM";
      if (pids().length > 0) {
        const sent = s.target === "main" ? signalMain(sig) : signalGroup(sig);
        if (!sent) signalGroup(sig);
        if (!(await waitGone(s.graceMs ?? 3000))) {
          o.logger?.warn({ peer: o.name, pid: sid }, `peer did not stop on ${sig}; SIGKILL`);
          signalGroup("SIGKILL");
          await waitGone(5000);
        }
      }
      await Promise.race([exited, clock.sleep(1000)]);
      forgetStopped(peer);
    },
    async kill() {
      signalGroup("SIGKILL");
      await waitGone(5000);
      await Promise.race([exited, clock.sleep(1000)]);
      forgetStopped(peer);
    },
    tail(lines = 12) {
      return tailText.split("\n").filter((l) => l.trim() !== "").slice(-lines).join("\n");
    },
    log: () => fs.readFile(o.logFile, "utf8").catch(() => ""),
  };
  ensureStopped(peer);
  return peer;
}

/** True if the temp dirs of the lab are to be kept (env KEEP_LAB=1) for a post-mortem. */
export function keepLab(): boolean {
  return process.env.KEEP_LAB === "1" || process.env.KEEP_LAB === "true";
}

/** An error about a peer that names it, its port and the last lines of its log. */
export function peerError(peer: string, what: string, port: number | string, logTail: string): Error {
  const e = new Error(`${peer} (port ${port}): ${what}\n--- last lines of ${peer}'s log ---\n${logTail || "(empty)"}`);
  e.name = "PeerError";
  return e;
}

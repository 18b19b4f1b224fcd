// Listens for LLDP on a network interface: runs `tcpdump -i IFACE -U -w - -s 1600 ether proto 0x88cc` and reads the
// pcap stream from its stdout (global header, then records; either byte order, micro- or nanosecond timestamps),
// decodes each frame (lldp-med.ts) and reports the neighbour's chassis/port ids and LLDP-MED location to its
// listeners; when the neighbour's TTL runs out it reports null. Nothing here throws at its listeners: a garbled frame or
// a dead tcpdump is reported (onProblem, the log) and the listener carries on; tcpdump is restarted with backoff until
// stop(). The command is injectable (a test feeds `tcpdump -r file.pcap -w -`).
import { spawn, type ChildProcess } from "node:child_process";
import type { Clock, Timer } from "../base/clock.js";
import { silentLogger, type Logger } from "../base/log.js";
import { errnoCode } from "../base/errors.js";
import type { CivicAddress } from "./pidf-lo.js";
import { LldpError, parseLldpFrame, type CoordinateLci, type LldpId } from "./lldp-med.js";

/** What the switch on the other end of the cable last said, for the location service. */
export interface LldpUpdate {
  iface: string;
  chassisId: LldpId;
  portId: LldpId;
  /** Seconds the neighbour said its information stays valid. */
  ttl: number;
  /** The neighbour's source MAC. */
  sourceMac: string;
  systemName?: string;
  /** The LLDP-MED civic address (normalised: A6 -> RD, cleaned text) and its RFC 4776 `what`. */
  civic?: CivicAddress;
  what?: number;
  /** The LLDP-MED ECS ELIN. */
  elin?: string;
  coordinate?: CoordinateLci;
  /** Wall-clock ms of reception. */
  receivedAt: number;
}

/** A source of LLDP updates; `null` means the neighbour's information expired (or it said goodbye with TTL 0). */
export interface LldpSource {
  onUpdate(listener: (u: LldpUpdate | null) => void): () => void;
  latest(): LldpUpdate | null;
}

/** The program and arguments that write a pcap stream of the interface's LLDP frames to stdout. */
export interface CaptureCommand {
  cmd: string;
  args: string[];
}

/** The default capture: tcpdump on `iface`, unbuffered, LLDP frames only. */
export function tcpdumpCommand(iface: string): CaptureCommand {
  return { cmd: "tcpdump", args: ["-i", iface, "-U", "-w", "-", "-s", "1600", "ether", "proto", "0x88cc"] };
}

export interface LldpListenerOptions {
  iface: string;
  clock: Clock;
  log?: Logger;
  /** Defaults to tcpdumpCommand(iface). */
  command?: CaptureCommand;
  /** Restart the capture when it ends (default true); a file replay passes false. */
  restart?: boolean;
  /** Backoff between restarts: starts at minMs, doubles up to maxMs, back to minMs after a good frame. */
  backoff?: { minMs: number; maxMs: number };
  /** How long stop() waits after SIGTERM before SIGKILL (default 2000 ms). */
  stopGraceMs?: number;
}

/** One pcap record. */
export interface PcapPacket {
  linkType: number;
  data: Buffer;
}

/**
 * Incremental pcap (libpcap file format) reader: push() chunks as they arrive. Throws an LldpError on a stream it
 * cannot follow (not pcap, pcapng, an absurd record length); after that it must be discarded.
 */
export class PcapStreamParser {
  private buf: Buffer = Buffer.alloc(0);
  private le: boolean | null = null;
  private linkType = 0;
  private snap = 0;

  constructor(private readonly onPacket: (p: PcapPacket) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    if (this.le === null) {
      if (this.buf.length < 24) return;
      const magic = this.buf.readUInt32LE(0);
      if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) this.le = true;
      else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) this.le = false;
      else if (magic === 0x0a0d0d0a) throw new LldpError("the capture is pcapng; a classic pcap stream is needed (tcpdump -w writes one)");
      else throw new LldpError(`the capture does not start with a pcap header (magic 0x${magic.toString(16)})`);
      this.snap = this.u32(16);
      this.linkType = this.u32(20) & 0x0fffffff;
      this.buf = this.buf.subarray(24);
    }
    while (this.buf.length >= 16) {
      const incl = this.u32(8);
      if (incl > Math.max(this.snap, 262144)) throw new LldpError(`pcap record of ${incl} octets exceeds the snapshot length ${this.snap}; the stream is garbled`);
      if (this.buf.length < 16 + incl) return;
      const data = Buffer.from(this.buf.subarray(16, 16 + incl));
      this.buf = this.buf.subarray(16 + incl);
      this.onPacket({ linkType: this.linkType, data });
    }
  }

  private u32(off: number): number {
    return this.le ? this.buf.readUInt32LE(off) : this.buf.readUInt32BE(off);
  }
}

const LINKTYPE_ETHERNET = 1;

/** Why a capture could not start, in plain words, from tcpdump's stderr or the spawn error. */
function captureFailure(iface: string, cmd: string, stderr: string, code: number | null, signal: string | null, spawnError?: Error): string {
  if (spawnError) return errnoCode(spawnError) === "ENOENT" ? `${cmd} is not installed (could not run '${cmd}'); LLDP location needs it` : `could not run ${cmd}: ${spawnError.message}`;
  if (/No such device|doesn't exist|does not exist/i.test(stderr)) return `network interface '${iface}' does not exist (${cmd}: ${lastLine(stderr)})`;
  if (/not up|went down/i.test(stderr)) return `network interface '${iface}' is down (${cmd}: ${lastLine(stderr)})`;
  if (/permission|not permitted/i.test(stderr)) return `${cmd} may not capture on '${iface}': permission denied (root or CAP_NET_RAW needed)`;
  const how = signal ? `killed by ${signal}` : `exit code ${code ?? "none"}`;
  return `${cmd} ended (${how})${stderr.trim() ? `: ${lastLine(stderr)}` : ""}`;
}

/** The last line of stderr that says something (not tcpdump's parenthesised repeat), without the program's prefix. */
const lastLine = (s: string): string =>
  (
    s
      .trim()
      .split("\n")
      .filter((l) => !/^\(.*\)$/.test(l.trim()))
      .pop() ?? ""
  )
    .trim()
    .replace(/^[\w.-]+: /, "");

/** LLDP listener on one interface (see the file header). */
export class LldpListener implements LldpSource {
  private readonly log: Logger;
  private readonly command: CaptureCommand;
  private readonly backoff: { minMs: number; maxMs: number };
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private stopped = true;
  private delayMs: number;
  private restartTimer: Timer | null = null;
  private ttlTimer: Timer | null = null;
  private last: LldpUpdate | null = null;
  private lastProblem = "";
  private readonly updateListeners = new Set<(u: LldpUpdate | null) => void>();
  private readonly problemListeners = new Set<(message: string) => void>();

  constructor(private readonly opts: LldpListenerOptions) {
    this.log = opts.log ?? silentLogger();
    this.command = opts.command ?? tcpdumpCommand(opts.iface);
    this.backoff = opts.backoff ?? { minMs: 1000, maxMs: 60000 };
    this.delayMs = this.backoff.minMs;
  }

  /** Called with each decoded LLDPDU from the neighbour, and with null when its information expires. */
  onUpdate(listener: (u: LldpUpdate | null) => void): () => void {
    this.updateListeners.add(listener);
    return () => this.updateListeners.delete(listener);
  }

  /** Called with a plain-words description of each problem (garbled frame, capture ended, restart failed). */
  onProblem(listener: (message: string) => void): () => void {
    this.problemListeners.add(listener);
    return () => this.problemListeners.delete(listener);
  }

  /** The running capture process's pid (diagnostics, tests), or null. */
  capturePid(): number | null {
    return this.child?.pid ?? null;
  }

  /** The neighbour's last update still within its TTL, or null. */
  latest(): LldpUpdate | null {
    return this.last;
  }

  /**
   * Starts the capture. Resolves once the capture runs; rejects with the reason when the first attempt fails
   * (tcpdump missing, no such interface, interface down, permission). Except when tcpdump is missing, the listener
   * keeps retrying with backoff until stop().
   */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.launch();
  }

  /** Stops the capture (SIGTERM, SIGKILL after the grace time) and every timer. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.restartTimer?.cancel();
    this.restartTimer = null;
    this.ttlTimer?.cancel();
    this.ttlTimer = null;
    const child = this.child;
    if (!child) return;
    child.kill("SIGTERM");
    const kill = this.opts.clock.setTimeout(() => child.kill("SIGKILL"), this.opts.stopGraceMs ?? 2000);
    await this.exited;
    kill.cancel();
  }

  /** One capture process; resolves when it runs, rejects with the reason if it ends before. */
  private launch(): Promise<void> {
    const { cmd, args } = this.command;
    this.log.debug({ cmd, args }, "lldp: starting capture");
    return new Promise<void>((resolve, reject) => {
      let started = false;
      let stderr = "";
      let spawnError: Error | undefined;
      let done = false;
      const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
      this.child = child;
      this.exited = new Promise<void>((r) => {
        child.once("close", () => r());
        child.once("error", () => child.pid === undefined && r());
      });
      const ready = (): void => {
        if (started) return;
        started = true;
        resolve();
      };
      const finish = (code: number | null, signal: string | null = null): void => {
        if (done) return;
        done = true;
        if (this.child === child) this.child = null;
        const reason = captureFailure(this.opts.iface, cmd, stderr, code, signal, spawnError);
        const expected = this.opts.restart === false && code === 0; // a file replay that reached its end
        if (started && !this.stopped && !expected) this.problem(`LLDP capture on ${this.opts.iface}: ${reason}`);
        if (!started) reject(new Error(reason));
        if (this.stopped) return;
        if (errnoCode(spawnError) === "ENOENT") this.stopped = true; // no program to run: nothing to retry
        if (this.opts.restart === false || this.stopped) this.log.info({ iface: this.opts.iface, reason }, "lldp: capture ended");
        else this.scheduleRestart();
      };
      const parser = new PcapStreamParser((p) => this.packet(p));
      let broken = false;
      child.stdout.on("data", (chunk: Buffer) => {
        ready();
        if (broken) return;
        try {
          parser.push(chunk);
        } catch (e) {
          broken = true;
          this.problem(`LLDP capture on ${this.opts.iface}: ${(e as Error).message}; restarting it`);
          child.kill("SIGTERM");
        }
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString("utf8")).slice(-4000);
        if (/listening on|reading from file/.test(stderr)) ready();
      });
      child.on("error", (e) => {
        spawnError = e;
        if (child.pid === undefined) finish(null);
      });
      child.on("close", (code, signal) => finish(code, signal));
    });
  }

  private scheduleRestart(): void {
    const ms = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.backoff.maxMs);
    this.log.info({ iface: this.opts.iface, inMs: ms }, "lldp: restarting capture");
    this.restartTimer = this.opts.clock.setTimeout(() => {
      this.restartTimer = null;
      if (this.stopped) return;
      this.launch().catch((e: Error) => this.problem(`LLDP capture on ${this.opts.iface}: ${e.message}`));
    }, ms);
  }

  private packet(p: PcapPacket): void {
    if (p.linkType !== LINKTYPE_ETHERNET) {
      this.problem(`LLDP capture on ${this.opts.iface}: link type ${p.linkType} is not Ethernet; frame ignored`);
      return;
    }
    let info;
    try {
      info = parseLldpFrame(p.data);
    } catch (e) {
      if (!(e instanceof LldpError)) throw e;
      this.problem(`LLDP frame on ${this.opts.iface}: ${e.message}; ignored`);
      return;
    }
    if (!info) return;
    if (info.problems.length) this.problem(`LLDP frame on ${this.opts.iface}: ${info.problems.join("; ")}`);
    else this.lastProblem = "";
    this.delayMs = this.backoff.minMs;
    const med = info.med;
    const u: LldpUpdate = {
      iface: this.opts.iface,
      chassisId: info.chassisId,
      portId: info.portId,
      ttl: info.ttl,
      sourceMac: info.sourceMac,
      systemName: info.systemName,
      civic: med?.civic?.civic,
      what: med?.civic?.what,
      elin: med?.elin,
      coordinate: med?.coordinate,
      receivedAt: this.opts.clock.wallNow(),
    };
    this.ttlTimer?.cancel();
    this.ttlTimer = null;
    if (info.ttl === 0) return this.expire();
    this.last = u;
    this.ttlTimer = this.opts.clock.setTimeout(() => this.expire(), info.ttl * 1000);
    this.emit(u);
  }

  private expire(): void {
    this.ttlTimer = null;
    if (!this.last) return;
    this.last = null;
    this.log.info({ iface: this.opts.iface }, "lldp: neighbour information expired");
    this.emit(null);
  }

  private emit(u: LldpUpdate | null): void {
    for (const l of this.updateListeners) {
      try {
        l(u);
      } catch (e) {
        this.log.error({ err: e }, "lldp: an update listener threw");
      }
    }
  }

  /** Reports a problem once (the same message again, e.g. the same bad frame every 30 s, only goes to the log). */
  private problem(message: string): void {
    if (message === this.lastProblem) {
      this.log.debug({ iface: this.opts.iface }, message);
      return;
    }
    this.lastProblem = message;
    this.log.warn({ iface: this.opts.iface }, message);
    for (const l of this.problemListeners) {
      try {
        l(message);
      } catch (e) {
        this.log.error({ err: e }, "lldp: a problem listener threw");
      }
    }
  }
}

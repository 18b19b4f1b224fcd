// A sysfs GPIO tree written as real files in a temp dir, with the kernel's reactions to writes, for running onoff on.
//
// onoff hard-codes '/sys/class/gpio/' (onoff.js: GPIO_ROOT_PATH) and requires 'fs' and the native 'epoll'.
// loadOnoff() evaluates onoff's own onoff.js with that one constant pointed here, its 'fs' wrapped so that
// each write also runs what gpiolib-sysfs.c would do (export creates gpioN/, "high" sets the raw level,
// active_low inverts value and edges, ...), and 'epoll' replaced by a stand-in that wakes pollers when the
// kernel would call sysfs_notify (an edge matching the `edge` file). Everything onoff reads, it reads from
// these files.
import * as fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { constants as osConstants, tmpdir } from "node:os";
import { join, relative } from "node:path";
import type * as OnoffModule from "onoff";

type Level = 0 | 1;
type Edge = "none" | "rising" | "falling" | "both";

export interface FakeChip {
  label: string;
  base: number;
  ngpio: number;
}

interface KLine {
  direction: "in" | "out";
  activeLow: boolean;
  edge: Edge;
  /** Raw level driven while an output. */
  outRaw: Level;
  /** Logical level last published, for edge detection. */
  seen: Level;
}

interface Poller {
  cb: (err: Error | null, fd: number, events: number) => void;
  fds: Set<number>;
}

export function errnoError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: fake kernel says no, ${syscall} '${path}'`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  e.path = path;
  e.errno = -((osConstants.errno as Record<string, number>)[code] ?? 1);
  return e;
}

export class FakeSysfsKernel {
  /** Stands for /sys. */
  readonly root: string;
  readonly classDir: string;
  /** Every store the kernel handled, e.g. "export 529", "gpio529/direction high". */
  readonly writes: string[] = [];
  /** Raw levels each output drove, in order (to check for glitches). */
  readonly driveHistory = new Map<number, Level[]>();
  private readonly lines = new Map<number, KLine>();
  private readonly wires = new Map<number, Level>();
  private readonly exportFaults = new Map<number, string>();
  private readonly fdPaths = new Map<number, string>();
  private readonly pollers = new Set<Poller>();

  private constructor(root: string, private readonly chips: FakeChip[]) {
    this.root = root;
    this.classDir = join(root, "class", "gpio");
  }

  /** A tree with these chips; `withClassDir: false` makes a kernel without sysfs GPIO at all. */
  static async create(chips: FakeChip[], opts: { withClassDir?: boolean } = {}): Promise<FakeSysfsKernel> {
    const k = new FakeSysfsKernel(await mkdtemp(join(tmpdir(), "fake-sysfs-")), chips);
    if (opts.withClassDir === false) return k;
    fs.mkdirSync(k.classDir, { recursive: true });
    fs.writeFileSync(join(k.classDir, "export"), "");
    fs.writeFileSync(join(k.classDir, "unexport"), "");
    for (const c of chips) {
      const d = join(k.classDir, `gpiochip${c.base}`);
      fs.mkdirSync(d);
      fs.writeFileSync(join(d, "label"), `${c.label}\n`);
      fs.writeFileSync(join(d, "base"), `${c.base}\n`);
      fs.writeFileSync(join(d, "ngpio"), `${c.ngpio}\n`);
    }
    return k;
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  /** onoff's own code, running against this tree. */
  loadOnoff(): () => Promise<typeof OnoffModule> {
    const req = createRequire(import.meta.url);
    const onoffPath = req.resolve("onoff");
    const src = fs.readFileSync(onoffPath, "utf8");
    const marker = "const GPIO_ROOT_PATH = '/sys/class/gpio/';";
    if (!src.includes(marker)) throw new Error(`${onoffPath} no longer declares GPIO_ROOT_PATH as this fake expects`);
    const patched = src.replace(marker, `const GPIO_ROOT_PATH = ${JSON.stringify(this.classDir + "/")};`);
    const pollers = this.pollers;
    class FakeEpoll {
      static readonly EPOLLPRI = 2;
      private readonly p: Poller;
      constructor(cb: Poller["cb"]) {
        this.p = { cb, fds: new Set() };
        pollers.add(this.p);
      }
      add(fd: number): this {
        this.p.fds.add(fd);
        return this;
      }
      remove(fd: number): this {
        this.p.fds.delete(fd);
        return this;
      }
      close(): void {
        pollers.delete(this.p);
      }
    }
    const hookedFs = Object.assign({ ...fs } as typeof fs, {
      openSync: (p: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode): number => {
        const fd = fs.openSync(p, flags ?? "r", mode);
        this.fdPaths.set(fd, String(p));
        return fd;
      },
      closeSync: (fd: number): void => {
        this.fdPaths.delete(fd);
        fs.closeSync(fd);
      },
      writeFileSync: (p: fs.PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView): void => {
        this.store(String(p), String(data));
      },
      writeSync: (fd: number, buf: Buffer, off = 0, len = buf.length): number => {
        this.store(this.fdPaths.get(fd) ?? `fd ${fd}`, buf.subarray(off, off + len).toString());
        return len;
      },
      write: (): never => {
        throw new Error("fake kernel: async fs.write is not modelled; the driver should use writeSync");
      },
    });
    const onoffRequire = createRequire(onoffPath);
    const mod = { exports: {} as Record<string, unknown> };
    const fakeRequire = (id: string): unknown => (id === "fs" ? hookedFs : id === "epoll" ? { Epoll: FakeEpoll } : onoffRequire(id));
    new Function("require", "module", "exports", patched)(fakeRequire, mod, mod.exports);
    return async () => mod.exports as unknown as typeof OnoffModule;
  }

  // ---- what tests do to the "hardware" ----

  /** Makes the next export of `number` fail with this errno (EBUSY, EACCES, EINVAL ...). */
  failExport(number: number, code: string): void {
    this.exportFaults.set(number, code);
  }

  /** Something outside drives the pin (a switch): raw level 0/1. Wakes pollers as an edge IRQ would. */
  setInput(number: number, raw: Level): void {
    this.wires.set(number, raw);
    const l = this.lines.get(number);
    if (!l || l.direction !== "in") return;
    this.publish(number, true);
  }

  /** The pin's electrical level. */
  raw(number: number): Level {
    const l = this.lines.get(number);
    if (l?.direction === "out") return l.outRaw;
    return this.wires.get(number) ?? 0;
  }

  exported(number: number): boolean {
    return this.lines.has(number) && fs.existsSync(join(this.classDir, `gpio${number}`));
  }

  file(number: number, name: "direction" | "value" | "edge" | "active_low"): string {
    return fs.readFileSync(join(this.classDir, `gpio${number}`, name), "utf8").trim();
  }

  /** Lets pending poll wake-ups run (they are delivered on the event loop, as epoll's are). */
  async flush(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
  }

  // ---- the kernel side ----

  private store(path: string, data: string): void {
    const rel = relative(this.classDir, path);
    const v = data.trim();
    if (rel === "export") return this.doExport(path, Number.parseInt(v, 10));
    if (rel === "unexport") return this.doUnexport(path, Number.parseInt(v, 10));
    const m = /^gpio(\d+)\/(direction|value|edge|active_low)$/.exec(rel);
    if (!m) {
      fs.writeFileSync(path, data);
      return;
    }
    const n = Number(m[1]);
    const l = this.lines.get(n);
    if (!l) throw errnoError("ENOENT", "open", path);
    this.writes.push(`gpio${n}/${m[2]} ${v}`);
    switch (m[2]) {
      case "direction":
        if (!["in", "out", "low", "high"].includes(v)) throw errnoError("EINVAL", "write", path);
        // gpiolib refuses to make a line with an armed IRQ an output.
        if (v !== "in" && l.edge !== "none") throw errnoError("EIO", "write", path);
        if (v === "in") l.direction = "in";
        else this.drive(n, l, v === "high" ? 1 : 0); // "out" implies "low" (gpiolib-sysfs.c)
        this.writeAttr(n, "direction", l.direction);
        this.publish(n, false);
        return;
      case "value": {
        if (l.direction !== "out") throw errnoError("EPERM", "write", path);
        const logical: Level = Number.parseInt(v, 10) ? 1 : 0;
        this.drive(n, l, (logical ^ (l.activeLow ? 1 : 0)) as Level);
        this.publish(n, false);
        return;
      }
      case "edge":
        if (!["none", "rising", "falling", "both"].includes(v)) throw errnoError("EINVAL", "write", path);
        if (v !== "none" && l.direction === "out") throw errnoError("EIO", "write", path);
        l.edge = v as Edge;
        this.writeAttr(n, "edge", v);
        return;
      case "active_low":
        l.activeLow = Number.parseInt(v, 10) !== 0;
        this.writeAttr(n, "active_low", l.activeLow ? "1" : "0");
        this.publish(n, false);
        return;
    }
  }

  private doExport(path: string, n: number): void {
    const fault = this.exportFaults.get(n);
    if (fault) {
      this.exportFaults.delete(n);
      throw errnoError(fault, fault === "EACCES" ? "open" : "write", path);
    }
    if (!this.chips.some((c) => n >= c.base && n < c.base + c.ngpio)) throw errnoError("EINVAL", "write", path);
    if (this.lines.has(n)) throw errnoError("EBUSY", "write", path);
    this.writes.push(`export ${n}`);
    const l: KLine = { direction: "in", activeLow: false, edge: "none", outRaw: 0, seen: 0 };
    this.lines.set(n, l);
    fs.mkdirSync(join(this.classDir, `gpio${n}`));
    this.writeAttr(n, "direction", "in");
    this.writeAttr(n, "edge", "none");
    this.writeAttr(n, "active_low", "0");
    this.publish(n, false);
  }

  private doUnexport(path: string, n: number): void {
    if (!this.lines.has(n)) throw errnoError("EINVAL", "write", path);
    this.writes.push(`unexport ${n}`);
    this.lines.delete(n);
    fs.rmSync(join(this.classDir, `gpio${n}`), { recursive: true, force: true });
  }

  private drive(n: number, l: KLine, raw: Level): void {
    l.direction = "out";
    l.outRaw = raw;
    const h = this.driveHistory.get(n) ?? [];
    if (h[h.length - 1] !== raw) h.push(raw);
    this.driveHistory.set(n, h);
  }

  /** Rewrites `value` from the raw level; with `notify`, wakes pollers when the logical change matches `edge`. */
  private publish(n: number, notify: boolean): void {
    const l = this.lines.get(n);
    if (!l) return;
    const logical = (this.raw(n) ^ (l.activeLow ? 1 : 0)) as Level;
    this.writeAttr(n, "value", String(logical));
    const changed = logical !== l.seen;
    l.seen = logical;
    if (!notify || !changed) return;
    const wanted = l.edge === "both" || (l.edge === "rising" && logical === 1) || (l.edge === "falling" && logical === 0);
    if (!wanted) return;
    const valuePath = join(this.classDir, `gpio${n}`, "value");
    for (const p of this.pollers) {
      for (const fd of p.fds) {
        if (this.fdPaths.get(fd) === valuePath) setImmediate(() => p.fds.has(fd) && p.cb(null, fd, FakeSysfsKernelEpollPri));
      }
    }
  }

  private writeAttr(n: number, name: string, value: string): void {
    fs.writeFileSync(join(this.classDir, `gpio${n}`, name), `${value}\n`);
  }
}

const FakeSysfsKernelEpollPri = 2;

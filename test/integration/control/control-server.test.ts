// Control protocol v1 over real sockets against the simulated board: every command, bad input, several clients.
import assert from "node:assert/strict";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promises as fs } from "node:fs";
import { createSystemClock } from "../../../src/base/clock.js";
import { silentLogger } from "../../../src/base/log.js";
import { loadBoard } from "../../../src/hal/board-loader.js";
import { buildDevices, type PhoneDevices } from "../../../src/hal/boards.js";
import { SimPlatform } from "../../../src/hal/emul/sim-platform.js";
import { ControlServer, MAX_LINE_BYTES, parseListenSpec } from "../../../src/control/control-server.js";
import { SimTarget } from "../../../src/control/sim-target.js";
import { toneS16, int16ToS16le, s16leToInt16, dominantHz } from "../../../src/hal/emul/pcm-analysis.js";
import { isPhoneError } from "../../../src/base/errors.js";

type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

class Client {
  readonly lines: Msg[] = [];
  private buf = "";
  private seq = 0;
  constructor(readonly sock: net.Socket) {
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf("\n")) >= 0) {
        this.lines.push(JSON.parse(this.buf.slice(0, i)));
        this.buf = this.buf.slice(i + 1);
      }
    });
  }
  static async connect(addr: string): Promise<Client> {
    const sock = addr.startsWith("unix:") ? net.connect(addr.slice(5)) : net.connect(Number(addr.split(":")[2]), "127.0.0.1");
    await new Promise((r, j) => sock.once("connect", r).once("error", j));
    return new Client(sock);
  }
  async next(pred: (m: Msg) => boolean, what: string, ms = 5000): Promise<Msg> {
    for (let t = 0; t < ms; t += 5) {
      const i = this.lines.findIndex(pred);
      if (i >= 0) return this.lines.splice(i, 1)[0];
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`no ${what}; have ${JSON.stringify(this.lines)}`);
  }
  async ask(command: string, params?: object): Promise<Msg> {
    const token = `t${++this.seq}`;
    this.sock.write(JSON.stringify({ token, command, params }) + "\n");
    return this.next((m) => m.token === token, `answer to ${command}`);
  }
  raw(line: string): void {
    this.sock.write(line);
  }
  close(): void {
    this.sock.destroy();
  }
}

describe("control protocol v1 server", function () {
  this.timeout(20000);
  const clock = createSystemClock();
  let sim: SimPlatform;
  let dev: PhoneDevices;
  let target: SimTarget;
  let server: ControlServer;
  let addr: string;
  let a: Client;

  beforeEach(async () => {
    const board = await loadBoard("sim");
    sim = await SimPlatform.create(board, { clock });
    dev = await buildDevices(board, sim, clock, silentLogger());
    target = new SimTarget(sim, { clock, keypad: dev.keypad, hook: dev.hook, firmware: "test" });
    server = new ControlServer(target, clock);
    addr = await server.listen("tcp:127.0.0.1:0");
    a = await Client.connect(addr);
  });
  afterEach(async () => {
    a?.close();
    await server.close();
    target.close();
    await dev.close();
    await sim.close();
  });

  it("hello describes the board", async () => {
    const r = await a.ask("hello");
    assert.equal(r.ok, true);
    assert.equal(r.data.protocol, 1);
    assert.equal(r.data.board, "sim");
    assert.ok(r.data.keys.includes("5") && r.data.keys.includes("SEND"));
    assert.deepEqual(r.data.display, { kind: "text", cols: 20, rows: 4 });
    assert.ok(r.data.leds.includes("MESSAGE"));
    assert.deepEqual(r.data.audioPaths, ["handset", "speaker", "headset", "ringer"]);
  });

  it("press_key answers once the key entered the phone; key_down/key_up hold it", async () => {
    const seen: string[] = [];
    dev.keypad.onKey((e) => seen.push(`${e.key}${e.down ? "+" : "-"}`));
    assert.deepEqual(await a.ask("press_key", { key: "5" }), { token: "t1", ok: true, data: {} });
    assert.deepEqual(seen, ["5+", "5-"]);
    await a.ask("key_down", { key: "MENU" });
    assert.deepEqual(dev.keypad.down(), ["MENU"]);
    await a.ask("key_up", { key: "MENU" });
    assert.deepEqual(dev.keypad.down(), []);
  });

  it("runs key presses sent back to back one after another, so a repeated digit is pressed twice", async () => {
    const seen: string[] = [];
    dev.keypad.onKey((e) => seen.push(`${e.key}${e.down ? "+" : "-"}`));
    const answers = await Promise.all(["1", "0", "0", "1"].map((key) => a.ask("press_key", { key })));
    assert.ok(answers.every((r) => r.ok));
    assert.deepEqual(seen, ["1+", "1-", "0+", "0-", "0+", "0-", "1+", "1-"]);
  });

  it("set_hook and hook_flash go through the hook switch", async () => {
    await a.ask("set_hook", { state: "off" });
    assert.equal(dev.hook.state(), "off");
    const flashes: string[] = [];
    dev.hook.onHook((e) => flashes.push(e.type));
    assert.equal((await a.ask("hook_flash")).ok, true);
    assert.deepEqual(flashes, ["flash"]);
    await a.ask("set_hook", { state: "on" });
    assert.equal(dev.hook.state(), "on");
    assert.equal((await a.ask("get_state")).data.hook, "on");
  });

  it("read_screen reads the emulated display RAM; read_leds the LED modes", async () => {
    const d = dev.display!;
    assert.equal(d.kind, "text");
    if (d.kind === "text") await d.show(["Hello rig", "", "", ""]);
    const r = await a.ask("read_screen");
    assert.equal(r.data.kind, "text");
    assert.equal(r.data.rows[0].trimEnd(), "Hello rig");
    dev.leds.set("MUTE", "on");
    await new Promise((res) => setTimeout(res, 30));
    assert.equal((await a.ask("read_leds")).data.MUTE, "on");
  });

  it("get_state has the documented shape", async () => {
    const s = (await a.ask("get_state")).data;
    for (const k of ["provisioned", "extension", "registration", "lines", "calls", "dnd", "forward", "location", "locked"]) assert.ok(k in s, k);
  });

  it("audio_inject feeds the microphone; audio_capture returns what the phone played with level and frequency", async () => {
    const mic = dev.audio.handset!.openCapture({ rate: 16000, periodMs: 20 });
    const heard: Int16Array[] = [];
    mic.onFrame((f) => heard.push(f));
    assert.equal((await a.ask("audio_inject", { path: "handset", tone: { hz: 1000, ms: 200, dbfs: -10 } })).ok, true);
    await new Promise((res) => setTimeout(res, 300));
    await mic.stop();
    assert.equal(dominantHz(new Int16Array(heard.slice(0, 10).flatMap((f) => [...f])), 16000), 1000);

    const pcm = toneS16({ hz: 440, ms: 100, dbfs: -10, rate: 8000 });
    assert.equal((await a.ask("audio_inject", { path: "speaker", pcm: int16ToS16le(pcm).toString("base64"), rate: 8000 })).ok, true);

    const spk = dev.audio.speaker!.openPlayback({ rate: 16000, periodMs: 20 });
    const tone = toneS16({ hz: 700, ms: 600, dbfs: -12, rate: 16000 });
    const feeding = clock.setInterval(() => {
      if (tone.length) spk.write(tone.subarray(0, 320));
    }, 20);
    const cap = await a.ask("audio_capture", { path: "speaker", ms: 300 });
    feeding.cancel();
    await spk.stop();
    assert.equal(cap.ok, true);
    assert.equal(cap.data.rate, 16000);
    assert.ok(Math.abs(cap.data.dominant_hz - 700) <= 3, `${cap.data.dominant_hz}`);
    assert.ok(cap.data.rms_dbfs > -20);
    assert.ok(s16leToInt16(Buffer.from(cap.data.pcm, "base64")).length > 1600);
  });

  it("subscribe and wait_for deliver events; wait_for times out with PHONE_ERR_TIMEOUT", async () => {
    assert.deepEqual((await a.ask("subscribe", { events: ["key", "screen"] })).data, { subscribed: ["key", "screen"] });
    await a.ask("press_key", { key: "9" });
    const ev = await a.next((m) => m.event === "key" && m.data.key === "9" && m.data.down === true, "key event");
    assert.equal(typeof ev.t, "number");
    const waiting = a.ask("wait_for", { event: "key", match: { key: "#", down: true }, timeoutMs: 3000 });
    const b = await Client.connect(addr);
    await b.ask("press_key", { key: "#" });
    const w = await waiting;
    assert.equal(w.ok, true);
    assert.deepEqual(w.data.data, { key: "#", down: true, long: false });
    const late = await b.ask("wait_for", { event: "hook", match: { state: "off" }, timeoutMs: 50 });
    assert.equal(late.ok, false);
    assert.equal(late.error.code, "PHONE_ERR_TIMEOUT");
    b.close();
  });

  it("two clients at once: each gets only the events it subscribed to", async () => {
    const b = await Client.connect(addr);
    await a.ask("subscribe", { events: ["key"] });
    await b.ask("subscribe", { events: ["hook"] });
    await b.ask("set_hook", { state: "off" });
    await a.ask("press_key", { key: "1" });
    await a.next((m) => m.event === "key", "key event on a");
    await b.next((m) => m.event === "hook", "hook event on b");
    await new Promise((res) => setTimeout(res, 50));
    assert.ok(!a.lines.some((m) => m.event === "hook"), "a did not subscribe to hook");
    assert.ok(!b.lines.some((m) => m.event === "key"), "b did not subscribe to key");
    b.close();
  });

  it("answers bad input with specific errors and keeps the connection", async () => {
    a.raw("this is not json\n");
    const e1 = await a.next((m) => m.token === null, "error for a malformed line");
    assert.equal(e1.error.code, "PHONE_ERR_BAD_REQUEST");
    assert.match(e1.error.message, /not JSON/);
    const u = await a.ask("dial_everyone");
    assert.equal(u.ok, false);
    assert.match(u.error.message, /unknown command 'dial_everyone'/);
    const k = await a.ask("press_key", { key: "X" });
    assert.deepEqual(k.error.code, "PHONE_ERR_UNKNOWN_KEY");
    assert.match(k.error.message, /no key named 'X' on this board/);
    const p = await a.ask("set_hook", { state: "sideways" });
    assert.equal(p.error.code, "PHONE_ERR_BAD_REQUEST");
    assert.match(p.error.message, /params\.state/);
    a.raw("x".repeat(MAX_LINE_BYTES + 10) + "\n");
    const big = await a.next((m) => m.token === null, "error for an oversize line");
    assert.match(big.error.message, /longer than 65536 bytes/);
    assert.equal((await a.ask("hello")).ok, true, "the connection still works");
  });

  it("listens on a unix socket too, and removes it on close", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctl-"));
    const sockPath = path.join(dir, "control.sock");
    const u = await server.listen(`unix:${sockPath}`);
    const c = await Client.connect(u);
    assert.equal((await c.ask("hello")).data.board, "sim");
    c.close();
    await server.close();
    await assert.rejects(fs.stat(sockPath));
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("parses listener specs and refuses bad ones clearly", () => {
    assert.deepEqual(parseListenSpec("tcp:7070"), { kind: "tcp", host: "127.0.0.1", port: 7070 });
    assert.deepEqual(parseListenSpec("tcp:0.0.0.0:7071"), { kind: "tcp", host: "0.0.0.0", port: 7071 });
    assert.deepEqual(parseListenSpec("unix:/run/phone/control.sock"), { kind: "unix", path: "/run/phone/control.sock" });
    assert.throws(() => parseListenSpec("serial:/dev/ttyGS0"), (e: unknown) => isPhoneError(e, "PHONE_ERR_NOT_SUPPORTED"));
    assert.throws(() => parseListenSpec("udp:1"), (e: unknown) => isPhoneError(e, "PHONE_ERR_CONFIG_INVALID"));
  });
});

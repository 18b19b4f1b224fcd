// The `phone` command as a person or a service manager runs it: starts on the simulated board, refuses bad boards clearly.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as net from "node:net";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const bin = path.join(root, "bin/phone.js");

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs phone with args; if `until` matches stdout, sends SIGTERM and waits for a clean exit. */
function runPhone(args: string[], until?: RegExp, limitMs = 20000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, PHONE_BOARD: "" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const limit = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`phone ${args.join(" ")} did not finish: stdout=${out} stderr=${err}`));
    }, limitMs);
    child.stdout.on("data", (d) => {
      out += d;
      if (until && until.test(out)) child.kill("SIGTERM");
    });
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => {
      clearTimeout(limit);
      resolve({ code, out, err });
    });
  });
}

describe("phone command", function () {
  this.timeout(30000);
  let dir: string;
  beforeEach(async () => (dir = await fs.mkdtemp(path.join(os.tmpdir(), "phone-cli-"))));
  afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

  it("starts on the simulated board and stops cleanly on SIGTERM", async () => {
    const r = await runPhone(["--board", "sim", "--control", "tcp:127.0.0.1:0", "--web", "tcp:127.0.0.1:0", "--no-terminal", "--data-dir", dir, "--log-level", "warn"], /running board 'sim'/);
    assert.match(r.out, /phone face: http:\/\/127\.0\.0\.1:\d+\//);
    assert.match(r.out, /control: listening on tcp:127\.0\.0\.1:\d+/);
    assert.match(r.out, /running board 'sim' \(Simulated desk phone\) on chip emulators/);
    assert.equal(r.code, 0, r.err);
  });

  it("runs a hardware board's drivers on emulators with --emulate", async () => {
    const r = await runPhone(["--board", "rpi-frontpanel", "--emulate", "--control", "none", "--web", "none", "--no-terminal", "--data-dir", dir, "--log-level", "warn"], /running board/);
    assert.match(r.out, /running board 'rpi-frontpanel'/);
    assert.equal(r.code, 0, r.err);
  });

  it("names the field of a bad board file and exits 1", async () => {
    const board = JSON.parse(await fs.readFile(path.join(root, "board/sim.json"), "utf8"));
    board.display.cols = 24;
    const file = path.join(dir, "bad.json");
    await fs.writeFile(file, JSON.stringify(board));
    const r = await runPhone(["--board", file, "--no-terminal", "--data-dir", dir]);
    assert.equal(r.code, 1);
    assert.match(r.err, /PHONE_ERR_BOARD_INVALID: .*bad\.json: \/display\/cols: must be one of \[16,20\] \(got 24\)/);
  });

  it("says which boards exist for an unknown name", async () => {
    const r = await runPhone(["--board", "nokia", "--no-terminal", "--data-dir", dir]);
    assert.equal(r.code, 1);
    assert.match(r.err, /PHONE_ERR_BOARD_NOT_FOUND: .*shipped boards: rpi-frontpanel, rpi-gpio, rpi-i2c, sim/);
  });

  it("names the absent part when a hardware board runs on a machine without it", async () => {
    // This machine has no /dev/i2c-1: the first role built (the display) says so, with the hint to enable it.
    const r = await runPhone(["--board", "rpi-gpio", "--no-terminal", "--data-dir", dir]);
    assert.equal(r.code, 1);
    assert.match(r.err, /PHONE_ERR_DEVICE_ABSENT: display \(hd44780-pcf8574\): .*\/dev\/i2c-1/);
  });

  it("is driven over the control protocol: a key pressed on the emulated keypad shows on the emulated LCD", async () => {
    const child = spawn(process.execPath, [bin, "--board", "sim", "--control", "tcp:127.0.0.1:0", "--web", "none", "--no-terminal", "--data-dir", dir, "--log-level", "warn"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    try {
      let out = "";
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on("data", (d) => {
          out += d;
          const m = /control: listening on tcp:127\.0\.0\.1:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.on("exit", () => reject(new Error(`phone exited: ${out}`)));
      });
      const sock = net.connect(port, "127.0.0.1");
      const lines: Array<Record<string, unknown>> = [];
      let buf = "";
      sock.on("data", (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          lines.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
      });
      const ask = async (token: string, command: string, params: object = {}): Promise<Record<string, unknown>> => {
        sock.write(JSON.stringify({ token, command, params }) + "\n");
        for (let i = 0; i < 500; i++) {
          const r = lines.find((l) => l.token === token);
          if (r) return r;
          await new Promise((res) => setTimeout(res, 10));
        }
        throw new Error(`no answer to ${command}`);
      };
      const hello = await ask("h", "hello");
      assert.equal((hello.data as { board: string }).board, "sim");
      assert.deepEqual(await ask("k", "press_key", { key: "5" }), { token: "k", ok: true, data: {} });
      await ask("k2", "press_key", { key: "7" });
      const scr = (await ask("s", "read_screen")).data as { rows: string[] };
      assert.equal(scr.rows[1].trimEnd(), "57", "the phone core is dialling what was pressed");
      const st = (await ask("g", "get_state")).data as { mode: string; dialled: string };
      assert.deepEqual([st.mode, st.dialled], ["dialing", "57"]);
      sock.end();
    } finally {
      child.kill("SIGTERM");
    }
  });

  it("rejects an unknown option with the usage", async () => {
    const r = await runPhone(["--bored", "sim"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /usage: phone/);
  });
});

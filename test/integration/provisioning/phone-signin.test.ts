// From IT's first command to a call: the admin CLI adds user 1001 with a PIN; the phone (a `phone` process on the
// simulated board, knowing only the service's URL and CA) is signed in on its keypad, registers to a real Kamailio
// with the SIP credentials the service wrote for it, and calls baresip. Then what goes wrong: a wrong PIN up to the
// lock and the CLI's unlock; a revoked device back at the sign-in screen; the service down at boot.
import assert from "node:assert/strict";
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { startRegistrar, type Registrar } from "../../../src/lab/registrar.js";
import { FarPhone } from "../../../src/lab/far-phone.js";
import { PhoneProcess } from "../../support/phone-process.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));

interface Service {
  url: string;
  caFile: string;
  config: string;
  child: ChildProcess;
}

describe("provisioning: CLI -> sign-in on the keypad -> registered -> a call", function () {
  this.timeout(90_000);
  let k: Registrar;
  let dir: string;
  let svc: Service;
  let far: FarPhone | undefined;
  let phone: PhoneProcess | undefined;

  const admin = async (...args: string[]): Promise<{ code: number; out: string }> => {
    try {
      const r = await run(process.execPath, [path.join(root, "bin/deskphone-admin.js"), "--config", svc.config, ...args], { cwd: root });
      return { code: 0, out: r.stdout + r.stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, out: x.stdout + x.stderr };
    }
  };

  before(async () => {
    k = await startRegistrar({ users: [], lifetimeS: 900 });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "prov-e2e-"));
    const config = path.join(dir, "service.json");
    const dataDir = path.join(dir, "service-data");
    await fs.writeFile(config, JSON.stringify({ listen: "127.0.0.1:0", dataDir, sip: { domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: k.tcpPort, transport: "tcp" }] }, kamailioSubscriberFile: k.subscriberFile }));
    const child = spawn(process.execPath, [path.join(root, "bin/provisioning-service.js"), "--config", config], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stderr?.on("data", (d) => (out += d));
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the service did not start: ${out}`)), 20_000);
      child.stdout?.on("data", (d) => {
        out += d;
        const m = /provisioning: listening on (https:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]);
        }
      });
    });
    svc = { url, caFile: path.join(dataDir, "ca-cert.pem"), config, child };
    // IT's commands: the user with a PIN, and the far-end phone's line (its SIP password given, baresip needs it)
    const add = await admin("add-user", "1001", "--name", "Alice Smith", "--pin", "24680");
    assert.equal(add.code, 0, add.out);
    assert.equal((await admin("add-user", "1002", "--name", "Far End", "--pin", "86420", "--sip-password", "far-secret-1002")).code, 0);
    far = await FarPhone.start({ user: "1002", password: "far-secret-1002", registrar: { port: k.tcpPort, transport: "tcp" }, answer: "auto", toneHz: 1000 });
    await far.registered();
  });
  after(async () => {
    await far?.stop();
    svc?.child.kill("SIGTERM");
    await k?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await phone?.stop();
    phone = undefined;
  });

  /** Waits for the sign-in screen, then types the extension and the PIN as a user does. */
  async function signInOnKeypad(p: PhoneProcess, extension: string, pin: string): Promise<void> {
    await p.until("the sign-in screen", (x) => (x as unknown as { signin: unknown }).signin !== null);
    await p.keys(extension);
    await p.keys("OK");
    await p.keys(pin);
    await p.keys("OK");
  }

  const startPhone = (extra: string[] = [], keep?: string): Promise<PhoneProcess> => PhoneProcess.start(null, ["--provisioning", svc.url, "--provisioning-ca", svc.caFile, "--provisioning-refresh-s", "1", ...extra], keep);

  it("signs in with extension and PIN, registers with the credentials the service made, calls 1002; the PIN is nowhere", async () => {
    phone = await startPhone();
    const p = phone;
    await p.until("the sign-in screen", (x) => (x as unknown as { signin: { step: string } | null }).signin?.step === "extension");
    assert.match(await p.screen(), /Sign in[\s\S]*Extension:/);
    await p.keys("1001");
    await p.keys("OK");
    await p.keys("24680");
    assert.match(await p.screen(), /PIN for 1001:[\s\S]*\*\*\*\*\*/);
    await p.keys("OK");
    const s = await p.until("registered", (x) => x.registration.state === "registered", 20_000);
    assert.equal((s as unknown as { provisionedBy: string }).provisionedBy, "service");
    // the line as the service named it (on a 20-column LCD "1001 Alice Smith" and the clock scroll: read the state)
    assert.deepEqual((s as unknown as { lines: Array<{ extension: string; name: string }> }).lines.map((l) => [l.extension, l.name]), [["1001", "Alice Smith"]]);
    await p.call("1002");
    const cap = await p.cmd<{ dominant_hz: number }>("audio_capture", { path: "speaker", ms: 500 });
    assert.ok(Math.abs(cap.dominant_hz - 1000) < 30, `the far end heard (${cap.dominant_hz} Hz)`);
    await p.keys("END");
    // stored 0600, without the PIN; the log has no PIN either
    const stored = await fs.readFile(path.join(p.dir, "data", "provisioning.json"), "utf8");
    assert.equal((await fs.stat(path.join(p.dir, "data", "provisioning.json"))).mode & 0o777, 0o600);
    assert.ok(!stored.includes("24680") && !p.out.includes("24680"), "the PIN is not stored or logged");
    assert.ok(!(await fs.stat(path.join(p.dir, "data", "sip-trace.log")).catch(() => null)), "no SIP trace unless IT's policy asks for it");
    // a restart comes back provisioned, without asking again
    const keep = await p.stopKeepingData();
    phone = await startPhone([], keep);
    await phone.until("registered again", (x) => x.registration.state === "registered", 20_000);
    // * and # held from power-up: factory reset, back to the sign-in screen with nothing kept
    const again = await phone.stopKeepingData();
    phone = await startPhone(["--sim-hold-keys", "*,#"], again);
    await phone.until("reset", (x) => (x as unknown as { signin: { message: string } | null }).signin?.message === "Factory reset done" && x.mode === "idle", 15_000);
    assert.ok(!(await fs.stat(path.join(phone.dir, "data", "provisioning.json")).catch(() => null)), "the stored provisioning is gone");
    assert.ok(!(await fs.stat(path.join(phone.dir, "data", "history.json")).catch(() => null)), "the call history is gone");
  });

  it("a wrong PIN says how many tries are left, then that the PIN is locked; the CLI unlocks it", async () => {
    phone = await startPhone();
    const p = phone;
    await p.until("sign-in", (x) => (x as unknown as { signin: unknown }).signin !== null);
    await p.keys("1001");
    await p.keys("OK");
    let last = "";
    for (let i = 0; i < 5; i++) {
      await p.keys("11335");
      await p.keys("OK");
      const s = await p.until("an answer", (x) => (x as unknown as { signin: { step: string; message: string } }).signin.step === "pin" && (x as unknown as { signin: { message: string } }).signin.message !== "");
      last = (s as unknown as { signin: { message: string } }).signin.message;
      if (i < 4) assert.equal(last, `Wrong PIN, ${4 - i} ${4 - i === 1 ? "try" : "tries"} left`);
    }
    assert.match(last, /^Wrong PIN, 0 tries left|^PIN locked until \d\d:\d\d$/);
    await p.keys("24680");
    await p.keys("OK");
    const locked = await p.until("locked", (x) => /PIN locked until \d\d:\d\d/.test((x as unknown as { signin: { message: string } }).signin.message));
    assert.ok(locked);
    // on the screen too (22 characters: the row scrolls on a 20-column LCD, so the words come round in turn: read
    // until they do, a loaded machine may read the screen at any point of the scroll)
    let screen = "";
    for (let i = 0; i < 40 && !/PIN locked|locked until|until \d\d:\d\d/.test(screen); i++) {
      if (i) await new Promise((r) => setTimeout(r, 250));
      screen = await p.screen();
    }
    const un = await admin("unlock", "1001");
    assert.match(screen, /PIN locked|locked until|until \d\d:\d\d/);
    assert.equal(un.code, 0, un.out);
    await p.keys("24680");
    await p.keys("OK");
    await p.until("registered after unlock", (x) => x.registration.state === "registered", 20_000);
    const audit = await admin("audit", "--ext", "1001");
    assert.match(audit.out, /pin-failure/);
    assert.match(audit.out, /pin-locked/);
    assert.ok(!audit.out.includes("24680") && !audit.out.includes("11335"), "no PIN in the audit log");
  });

  it("IT's logging policy turns SIP traces on: the phone logs its SIP messages, credentials cut out (off by default)", async () => {
    assert.equal((await admin("policy", "set", "logging", '{"sipTrace":true}')).code, 0);
    try {
      phone = await startPhone();
      const p = phone;
      await signInOnKeypad(p, "1001", "24680");
      await p.until("registered", (x) => x.registration.state === "registered", 20_000);
      const file = path.join(p.dir, "data", "sip-trace.log");
      let trace = "";
      for (let i = 0; i < 50 && !/Authorization: \[redacted\]/.test(trace); i++) {
        await new Promise((r) => setTimeout(r, 100));
        trace = await fs.readFile(file, "utf8").catch(() => "");
      }
      assert.match(trace, /"sip":"REGISTER sip:/);
      assert.match(trace, /Authorization: \[redacted\]/);
      assert.ok(!/Authorization: Digest/.test(trace), "no digest response in the trace");
    } finally {
      assert.equal((await admin("policy", "set", "logging", "{}")).code, 0);
    }
    // the first test's phone, with the policy unset, logged no SIP message
  });

  it("no service found on the network: its address is typed on the keypad (* for a dot, # for the port), then the sign-in", async () => {
    phone = await PhoneProcess.start(null, ["--provisioning-ca", svc.caFile]);
    const p = phone;
    await p.until("the address step", (x) => (x as unknown as { signin: { step: string } | null }).signin?.step === "service");
    assert.match(await p.screen(), /Service address:/);
    await p.keys("127*0*0*9#1");
    await p.keys("OK");
    await p.until("refused", (x) => /Cannot reach the provisioning service/.test((x as unknown as { signin: { message: string } }).signin.message));
    for (let i = 0; i < 11; i++) await p.keys("SOFT3");
    const port = new URL(svc.url).port;
    await p.keys(`127*0*0*1#${port}`);
    await p.keys("OK");
    await p.until("the extension step", (x) => (x as unknown as { signin: { step: string } }).signin.step === "extension");
    await p.keys("1001");
    await p.keys("OK");
    await p.keys("24680");
    await p.keys("OK");
    await p.until("registered", (x) => x.registration.state === "registered", 20_000);
  });

  it("a device IT revokes goes back to the sign-in screen at its next refresh, saying so", async () => {
    phone = await startPhone();
    const p = phone;
    await signInOnKeypad(p, "1001", "24680");
    await p.until("registered", (x) => x.registration.state === "registered", 20_000);
    const devices = await admin("devices", "1001");
    const ids = [...devices.out.matchAll(/\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/g)].map((m) => m[1]);
    assert.ok(ids.length >= 1, devices.out);
    for (const id of ids) assert.equal((await admin("revoke", id)).code, 0);
    const s = await p.until("back at sign-in", (x) => (x as unknown as { signin: { message: string } | null }).signin?.message === "This phone was signed out by IT", 15_000);
    assert.equal((s as unknown as { provisionedBy: string | null }).provisionedBy, null);
    assert.ok(!(await fs.stat(path.join(p.dir, "data", "provisioning.json")).catch(() => null)), "what the service gave is forgotten");
  });

  it("the service unreachable: the sign-in screen says why, and the error report kept on the phone for IT records it", async () => {
    phone = await PhoneProcess.start(null, ["--provisioning", "https://127.0.0.1:9/", "--provisioning-ca", svc.caFile, "--web", "tcp:127.0.0.1:0"]);
    const p = phone;
    await signInOnKeypad(p, "1001", "24680");
    const s = await p.until("an error", (x) => /Cannot reach the provisioning service: connection refused/.test((x as unknown as { signin: { message: string } }).signin.message));
    assert.ok(s);
    const report = JSON.parse(await fs.readFile(path.join(p.dir, "data", "provisioning-report.json"), "utf8")) as Array<{ code: string; server: string }>;
    assert.equal(report[0].code, "PHONE_ERR_PROV_UNREACHABLE");
    assert.equal(report[0].server, "https://127.0.0.1:9/");
    // and on the phone's About menu, for IT on the phone
    const about = ((await p.state()) as unknown as { about: string[] }).about;
    assert.ok(about.some((l) => /PROV_UNREACHABLE: Cannot reach the provisioning service/.test(l)), about.join(" | "));
    for (const key of ["MENU", "UP", "OK"]) await p.keys(key);
    assert.match(await p.screen(), /deskphone 0\.1\.0/);
    // and on the phone's admin page
    const face = /phone face: (http:\/\/\S+)/.exec(p.out)?.[1];
    assert.ok(face, p.out);
    const page = await (await fetch(new URL("admin", face))).text();
    assert.match(page, /PHONE_ERR_PROV_UNREACHABLE/);
    assert.match(page, /https:\/\/127\.0\.0\.1:9\//);
    const json = (await (await fetch(new URL("admin/report.json", face))).json()) as { report: Array<{ code: string }> };
    assert.equal(json.report[0].code, "PHONE_ERR_PROV_UNREACHABLE");
  });

  it("a service whose certificate is not signed by the CA the phone trusts is refused: 'Service certificate not trusted'", async () => {
    phone = await PhoneProcess.start(null, ["--provisioning", svc.url, "--provisioning-ca", k.caFile]);
    const p = phone;
    await signInOnKeypad(p, "1001", "24680");
    await p.until("untrusted", (x) => (x as unknown as { signin: { message: string } }).signin.message === "Service certificate not trusted");
  });
});

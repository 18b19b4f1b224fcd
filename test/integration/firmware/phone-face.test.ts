// The simulator's phone face in a real headless Chromium (Debian's, driven by playwright-core): click keys, lift the
// handset, and see the emulated LCD change. The phone runs as its own process, as `npm start` runs it.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const CHROMIUM = "/usr/bin/chromium";

describe("phone face in a browser", function () {
  this.timeout(60000);
  let phone: ChildProcess;
  let browser: Browser;
  let dir: string;
  let url: string;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (scripts/install.sh does)`);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "phone-face-"));
    phone = spawn(process.execPath, [path.join(root, "bin/phone.js"), "--board", "sim", "--control", "none", "--web", "tcp:127.0.0.1:0", "--no-terminal", "--data-dir", dir, "--log-level", "warn"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    url = await new Promise<string>((resolve, reject) => {
      let out = "";
      phone.stdout!.on("data", (d) => {
        out += d;
        const m = /phone face: (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      phone.on("exit", () => reject(new Error(`phone exited before serving its face: ${out}`)));
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });

  after(async () => {
    await browser?.close();
    phone?.kill("SIGTERM");
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("shows the LCD, takes key clicks and the handset, and the screen follows", async () => {
    const page = await browser.newPage();
    await page.goto(url);
    const lcd = page.getByTestId("lcd");
    await page.waitForFunction(`document.getElementById("lcd").textContent.includes("Ready")`);
    await page.click('[data-testid="hook"]');
    await page.waitForFunction(`document.getElementById("lcd").textContent.includes("Dial a number")`);
    assert.equal(await page.getByTestId("hook").textContent(), "Replace handset");
    for (const k of "1001") await page.click(`button[data-key="${k}"]`);
    // no account configured: the call to 1001 is placed and fails with a plain word on the screen
    await page.waitForFunction(`document.getElementById("lcd").textContent.includes("Call failed") && document.getElementById("lcd").textContent.includes("1001")`);
    await page.click('[data-testid="hook"]');
    await page.waitForFunction(`document.getElementById("lcd").textContent.includes("Ready")`);
    // on-hook dialling goes to the speaker, and its LED follows
    await page.click('button[data-key="4"]');
    await page.waitForSelector('[data-led="SPEAKER"][data-mode="on"]');
    assert.match((await lcd.textContent()) ?? "", /\n4/);
    await page.screenshot({ path: path.join(dir, "face.png") });
    await page.close();
  });

  it("plays the handset audio: Listen, lift the handset, and the dial tone comes through", async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(`document.getElementById("lcd").textContent.includes("Ready")`);
    await page.click('[data-testid="listen"]');
    await page.click('[data-testid="hook"]');
    await page.waitForFunction(`/handset: (350|440) Hz/.test(document.getElementById("audio-level").textContent)`);
    await page.click('[data-testid="hook"]');
    await page.waitForFunction(`/speaker: silence/.test(document.getElementById("audio-level").textContent)`);
    await page.click('[data-testid="listen"]');
    await page.close();
  });
});

// The boss edits the delegates on the phone, end to end: the real provisioning service (in-process, HTTPS, its own
// CA) writing Kamailio's users, a real Kamailio, and two `phone` processes on the simulated board (boss 1001, delegate
// 1002) signed in on their keypads with extension + PIN. The boss's phone is driven by key presses only: Menu >
// Delegates > Add delegate, 1002, OK saves the list with the service (PUT /v1/delegates) and tells 1002 by SIP
// MESSAGE; 1002's phone says so and fetches its config again (1001 becomes its boss). An extension the service does
// not know is refused on the boss's screen, and the list stays as it was. Delete undoes the first the same way.
// A new config never drops a call: with 1002 in a call with a far end (baresip 1003, auto-answer), being made a
// delegate changes only the core's config, applied at once with the line and the call untouched; a config that needs
// the line restarted (1002's SIP password changed, with the delegation removed) is held back until the call ends.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startRegistrar, type Registrar } from "../../../src/lab/registrar.js";
import { startProvisioningService, type ProvisioningService } from "../../../src/provisioning/server/service.js";
import { loadServiceConfig } from "../../../src/provisioning/server/service-config.js";
import { adminMain } from "../../../src/provisioning/server/admin-cli.js";
import { FarPhone } from "../../../src/lab/far-phone.js";
import { PhoneProcess, type PhoneStateSummary } from "../../support/phone-process.js";

interface Summary extends PhoneStateSummary {
  notice: string;
  bossLines: Record<string, string>;
  delegation: { enabled: boolean; delegates: Array<{ number: string; name?: string }>; bosses: Array<{ number: string; name?: string }> };
  delegateEntry: { digits: string; message: string } | null;
  signin: unknown;
}
const sum = (s: PhoneStateSummary): Summary => s as unknown as Summary;

describe("Menu > Delegates on the boss's phone, end to end (provisioning service, Kamailio, two phones)", function () {
  this.timeout(90_000);
  let k: Registrar;
  let dir: string;
  let configFile: string;
  let caFile: string;
  let svc: ProvisioningService;
  let boss: PhoneProcess;
  let delegate: PhoneProcess;
  let far: FarPhone;

  const admin = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = "";
    let err = "";
    const code = await adminMain(["--config", configFile, ...args], { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  };
  /** The service's delegates of `boss`, by extension (deskphone-admin delegate list BOSS --json). */
  const delegatesOf = async (b: string): Promise<string[]> => {
    const r = await admin("delegate", "list", b, "--json");
    assert.equal(r.code, 0, r.err);
    const rows = JSON.parse(r.out) as Array<{ boss: string; delegates: Array<{ extension: string }> }>;
    return rows.filter((x) => x.boss === b).flatMap((x) => x.delegates.map((d) => d.extension));
  };

  /** A phone that knows only the service's URL and CA, signed in on its keypad as a user does. */
  async function signedIn(extension: string, pin: string): Promise<PhoneProcess> {
    const p = await PhoneProcess.start(null, ["--provisioning", svc.url, "--provisioning-ca", caFile]);
    await p.until("the sign-in screen", (x) => sum(x).signin !== null);
    await p.keys(extension);
    await p.keys("OK");
    await p.keys(pin);
    await p.keys("OK");
    await p.until(`${extension} registered`, (x) => x.registration.state === "registered", 20_000);
    return p;
  }

  /** MENU (again if the first press only took a notice away), then DOWN until `label` is the selected line (">label"
   * on the screen), then OK. */
  async function openFromMenu(p: PhoneProcess, label: string): Promise<void> {
    for (let i = 0; i < 3 && !/^Menu /.test(await p.screen()); i++) await p.keys("MENU");
    assert.match(await p.screen(), /^Menu /);
    for (let i = 0; i < 10 && !(await p.screen()).includes(`>${label}`); i++) await p.keys("DOWN");
    assert.ok((await p.screen()).includes(`>${label}`), `'${label}' in the menu:\n${await p.screen()}`);
    await p.keys("OK");
  }

  /** Menu > Delegates, with the cursor moved (UP) onto the line starting `line`. */
  async function delegatesMenuAt(p: PhoneProcess, line: string): Promise<void> {
    await openFromMenu(p, "Delegates");
    for (let i = 0; i < 12 && !(await p.screen()).includes(`>${line}`); i++) await p.keys("UP");
    assert.ok((await p.screen()).includes(`>${line}`), `'${line}' in Menu > Delegates:\n${await p.screen()}`);
  }

  /** Polls the screen until `pred` holds (a long line scrolls on the LCD: its start comes round once a cycle). */
  async function screenUntil(p: PhoneProcess, what: string, pred: (rows: string[]) => boolean, timeoutMs = 30_000): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const rows = (await p.screen()).split("\n");
      if (pred(rows)) return rows;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what} on the screen:\n${rows.join("\n")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Back to the idle screen. */
  async function leaveMenus(p: PhoneProcess): Promise<void> {
    await p.keys("END");
    await p.until("idle", (x) => x.mode === "idle");
  }

  before(async () => {
    k = await startRegistrar({ users: [], lifetimeS: 900 });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "phone-delegates-edit-"));
    configFile = path.join(dir, "service.json");
    await fs.writeFile(configFile, JSON.stringify({ listen: "127.0.0.1:0", dataDir: path.join(dir, "service-data"), sip: { domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: k.tcpPort, transport: "tcp" }] }, kamailioSubscriberFile: k.subscriberFile }));
    svc = await startProvisioningService(await loadServiceConfig(configFile));
    caFile = path.join(dir, "service-ca.pem");
    await fs.writeFile(caFile, svc.caPem);
    // IT's side: the two users with PINs, delegation on
    assert.equal((await admin("add-user", "1001", "--name", "Alice Smith", "--pin", "13579")).code, 0);
    assert.equal((await admin("add-user", "1002", "--name", "Bob Jones", "--pin", "24680")).code, 0);
    assert.equal((await admin("policy", "set", "delegation", '{"enabled":true}')).code, 0);
    // the far end the delegate calls: a user of the service too (its SIP password given, for baresip's account)
    assert.equal((await admin("add-user", "1003", "--name", "Carol White", "--sip-password", "pw-1003-far-end")).code, 0);
    far = await FarPhone.start({ user: "1003", password: "pw-1003-far-end", registrar: { port: k.tcpPort, transport: "tcp" }, answer: "auto" });
    await far.registered();
    [boss, delegate] = await Promise.all([signedIn("1001", "13579"), signedIn("1002", "24680")]);
    assert.deepEqual(sum(await boss.state()).delegation, { enabled: true, delegates: [], bosses: [] });
  });

  after(async () => {
    await boss?.stop();
    await delegate?.stop();
    await far?.stop();
    await svc?.stop();
    await k?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("Add delegate, 1002, OK: saved with the service, and 1002's phone is told and gets 1001 as its boss", async () => {
    await delegatesMenuAt(boss, "Add delegate");
    await boss.keys("OK");
    await boss.until("the extension entry", (x) => sum(x).delegateEntry !== null);
    await boss.keys("1002");
    assert.equal(sum(await boss.state()).delegateEntry?.digits, "1002");
    await boss.keys("OK");
    // the boss's phone: the list as the service has it (the name comes from the service's next config)
    await boss.until("the boss's list from the service", (x) => JSON.stringify(sum(x).delegation.delegates) === JSON.stringify([{ number: "1002", name: "Bob Jones" }]), 15_000);
    assert.deepEqual(await delegatesOf("1001"), ["1002"]);
    assert.match((await admin("delegate", "list")).out, /\n1001 +Alice Smith +at once +1002 \(Bob Jones\)\n$/);
    // the delegate's phone: the notice, then its new config with the boss (Bosses in its menu and softkeys)
    const told = sum(await delegate.until("the delegate told", (x) => /You are now a delegate of/.test(sum(x).notice), 15_000));
    assert.equal(told.notice, "You are now a delegate of Alice Smith (1001)");
    const d = sum(await delegate.until("1001 among the delegate's bosses", (x) => sum(x).delegation.bosses.some((b) => b.number === "1001"), 15_000));
    assert.deepEqual(d.delegation.bosses, [{ number: "1001", name: "Alice Smith" }]);
    // its new line watches the boss's line (RFC 4235): up and registered again with the new config
    await delegate.until("the boss's line watched", (x) => sum(x).bossLines["1001"] === "idle", 15_000);
    await delegate.until("registered", (x) => x.registration.state === "registered", 15_000);
    // the idle screen's Boss softkey (the boss lines)
    assert.match((await delegate.screen()).split("\n").at(-1) ?? "", /Boss/);
    await leaveMenus(boss);
  });

  it("an extension that is no user (1999): the service's refusal is the boss's notice, and the list stays as it was", async () => {
    // 1002 is the delegate (added above); the boss's line is up again with that config
    await boss.until("the boss registered", (x) => x.registration.state === "registered", 15_000);
    await delegatesMenuAt(boss, "Add delegate");
    await boss.keys("OK");
    await boss.until("the extension entry", (x) => sum(x).delegateEntry !== null);
    await boss.keys("1999");
    await boss.keys("OK");
    const refused = sum(await boss.until("the refusal", (x) => /not saved/i.test(sum(x).notice), 15_000));
    // the service's words, said once, as the notice
    assert.equal(refused.notice, "Delegates not saved: delegates: no user with extension 1999");
    // on the boss's 20x4 too: over Menu > Delegates it takes the title's place (the menu's rows stay), from its start
    // (it scrolls from the OK that asked; should the service be slow, its start comes round again)
    const rows = await screenUntil(boss, "the refusal's start on the title row", (r) => r[0].includes("Delegates not "));
    assert.ok(rows.slice(1, 3).some((r) => r.startsWith(">")), `the cursor's line in view:\n${rows.join("\n")}`);
    assert.deepEqual(await delegatesOf("1001"), ["1002"], "the service's list is unchanged");
    // the boss's phone shows the list as the service has it again, without 1999 (not sent again with the next change)
    assert.deepEqual(refused.delegation.delegates, [{ number: "1002", name: "Bob Jones" }]);
    assert.doesNotMatch((await boss.screen()).split("\n").slice(1).join("\n"), /1999/, "not in the list (the notice on the title row says it)");
    assert.equal((await admin("audit", "--ext", "1001", "--json")).out.includes("1999"), false, "nothing audited for 1999");
    await leaveMenus(boss);
  });

  it("Delete on 1002 in Menu > Delegates: removed at the service, and 1002's phone is told and loses its boss", async () => {
    await boss.until("the boss registered", (x) => x.registration.state === "registered", 15_000);
    await delegatesMenuAt(boss, "1002");
    await boss.keys("SOFT2"); // Delete
    await boss.until("the boss's list empty", (x) => sum(x).delegation.delegates.length === 0);
    for (let i = 0; i < 100 && (await delegatesOf("1001")).length; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await delegatesOf("1001"), []);
    assert.equal((await admin("delegate", "list")).out, "no delegates\n");
    const told = sum(await delegate.until("the delegate told", (x) => /no longer a delegate/.test(sum(x).notice), 15_000));
    assert.equal(told.notice, "You are no longer a delegate of Alice Smith (1001)");
    await delegate.until("no bosses left", (x) => sum(x).delegation.bosses.length === 0, 15_000);
    await leaveMenus(boss);
  });

  /** The delegate calls the far end (1003, auto-answer): connected on both sides. Returns the far end's event count. */
  async function delegateInCall(): Promise<number> {
    const since = far.eventCount;
    await delegate.call("1003");
    await far.waitFor("CALL_ESTABLISHED", 10_000, () => true, since);
    return since;
  }

  /** The call is still up on both sides for `ms`: no BYE reached the far end, the delegate's call stays connected. */
  async function callStaysUp(since: number, ms: number): Promise<void> {
    await assert.rejects(far.waitFor("CALL_CLOSED", ms, () => true, since), /no CALL_CLOSED event/, "the far end's call was closed");
    const s = await delegate.state();
    assert.deepEqual(
      s.calls.map((c) => [c.number, c.state]),
      [["1003", "connected"]],
    );
  }

  it("1002 in a call when the boss adds it as a delegate: applied at once (only the core's config changed), the call stays up", async () => {
    await boss.until("the boss registered", (x) => x.registration.state === "registered", 15_000);
    const since = await delegateInCall();
    const logBefore = delegate.out.length;
    await delegatesMenuAt(boss, "Add delegate");
    await boss.keys("OK");
    await boss.until("the extension entry", (x) => sum(x).delegateEntry !== null);
    await boss.keys("1002");
    await boss.keys("OK");
    await boss.until("the boss's list from the service", (x) => sum(x).delegation.delegates.some((d) => d.number === "1002"), 15_000);
    // the delegate's phone fetched its config during the call: the new boss at once, its line watched on the same line
    const d = sum(await delegate.until("1001 among the delegate's bosses, during the call", (x) => sum(x).delegation.bosses.some((b) => b.number === "1001"), 15_000));
    assert.equal(d.calls[0]?.state, "connected");
    await delegate.until("the boss's line watched", (x) => sum(x).bossLines["1001"] === "idle", 15_000);
    await callStaysUp(since, 3000);
    assert.equal((await delegate.state()).registration.state, "registered");
    assert.doesNotMatch(delegate.out.slice(logBefore), /held back/, "nothing held back: the line was not to be restarted");
    // hung up: the far end sees the BYE now, and the boss stays
    await delegate.keys("END");
    await far.waitFor("CALL_CLOSED", 10_000, () => true, since);
    const after = sum(await delegate.until("idle", (x) => x.calls.length === 0));
    assert.deepEqual(after.delegation.bosses, [{ number: "1001", name: "Alice Smith" }]);
    await leaveMenus(boss);
  });

  it("a config that restarts the line (new SIP password, delegation removed) during a call: held back, the call stays up; applied once hung up", async () => {
    await boss.until("the boss registered", (x) => x.registration.state === "registered", 15_000);
    const since = await delegateInCall();
    // during the call IT changes 1002's SIP password (Kamailio has the new one at once, so the old line could place no
    // new call; the phone learns it from its next config)
    assert.equal((await admin("set-sip-password", "1002", "--sip-password", "pw-1002-changed")).code, 0);
    const logBefore = delegate.out.length;
    // the boss removes 1002: the delegate is told by MESSAGE and fetches its config, which has the new password
    await delegatesMenuAt(boss, "1002");
    await boss.keys("SOFT2"); // Delete
    await boss.until("the boss's list empty", (x) => sum(x).delegation.delegates.length === 0, 15_000);
    await delegate.until("the delegate told", (x) => /no longer a delegate/.test(sum(x).notice), 15_000);
    for (let i = 0; i < 200 && !/new config held back/.test(delegate.out.slice(logBefore)); i++) await new Promise((r) => setTimeout(r, 50));
    const held = delegate.out.slice(logBefore).split("\n").find((l) => /new config held back/.test(l));
    assert.ok(held, `the hold is logged:\n${delegate.out.slice(logBefore)}`);
    assert.match(held, /"why":"1 call up"/);
    // nothing of it shows yet (the core's config waits with the line): 1001 is still the boss, the call is up
    await callStaysUp(since, 3000);
    assert.deepEqual(sum(await delegate.state()).delegation.bosses, [{ number: "1001", name: "Alice Smith" }]);
    // hung up: the far end sees the BYE, then the line restarts with the new config and registers with the new password
    await delegate.keys("END");
    await far.waitFor("CALL_CLOSED", 10_000, () => true, since);
    await delegate.until("no bosses left once idle", (x) => x.calls.length === 0 && sum(x).delegation.bosses.length === 0, 15_000);
    await delegate.until("registered again (with the new password)", (x) => x.registration.state === "registered", 15_000);
    await leaveMenus(boss);
  });
});

// GRUU is IT's choice (the bundle's sip.gruu, RFC 5627), against a real Kamailio that hands GRUUs out: a `phone`
// process without it registers with a plain Contact (no +sip.instance, no DATA_DIR/instance-id written), so a proxy
// that does not route GRUUs keeps working; with `sip.gruu: true` the REGISTER carries the device's instance id from
// DATA_DIR/instance-id and the registrar answers with a pub-gruu, the same id (and GRUU) after a restart. The SIP
// messages are read from the phone's own trace (logging.sipTrace, DATA_DIR/sip-trace.log).
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { startRegistrar, type Registrar } from "../../../src/lab/registrar.js";
import { PhoneProcess } from "../../support/phone-process.js";

describe("sip.gruu in the bundle: GRUU only when IT turns it on (phone process, Kamailio)", function () {
  this.timeout(60_000);
  let k: Registrar;
  let dir: string | undefined;
  let p: PhoneProcess | undefined;

  before(async () => {
    k = await startRegistrar({ users: [{ user: "1001", password: "pw-1001" }], lifetimeS: 600 });
  });
  after(async () => {
    await p?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
    await k?.stop();
  });

  const bundle = (gruu?: boolean): Record<string, unknown> => ({
    version: 1,
    accounts: [{ user: "1001", password: "pw-1001", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: k.tcpPort, transport: "tcp" }] }],
    sip: { retryFirstMs: 200, retryMaxMs: 1000, pingMs: 0, ...(gruu === undefined ? {} : { gruu }) },
    logging: { sipTrace: true },
  });

  /** Runs the phone (in the same directory each time: a restart) until registered; returns its REGISTER and the 200. */
  async function registerOnce(gruu?: boolean): Promise<{ register: string; ok: string }> {
    if (p) dir = await p.stopKeepingData();
    if (dir) await fs.rm(path.join(dir, "data", "sip-trace.log"), { force: true });
    p = await PhoneProcess.start(bundle(gruu), [], dir);
    dir = p.dir;
    await p.until("registered", (x) => x.registration.state === "registered", 15_000);
    // the trace is appended as the messages pass: the 200 may land just after the state says registered
    for (let i = 0; ; i++) {
      const text = await fs.readFile(path.join(p.dir, "data", "sip-trace.log"), "utf8").catch(() => "");
      const trace = text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { dir: string; sip: string });
      const register = trace.find((m) => m.dir === "out" && m.sip.startsWith("REGISTER "))?.sip;
      const ok = trace.find((m) => m.dir === "in" && /^SIP\/2\.0 200 /.test(m.sip) && /^CSeq:\s*\d+ REGISTER/im.test(m.sip))?.sip;
      if (register && ok) return { register, ok };
      assert.ok(i < 50, `a REGISTER and its 200 in the trace:\n${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const contact = (msg: string): string => /^(?:Contact|m)\s*:(.*)$/im.exec(msg)?.[1] ?? "";
  const instanceFile = (): string => path.join(p!.dir, "data", "instance-id");

  it("default (no sip.gruu): a plain Contact, no instance id, no GRUU, no instance-id file", async () => {
    const { register, ok } = await registerOnce();
    assert.doesNotMatch(contact(register), /\+sip\.instance/);
    assert.doesNotMatch(contact(ok), /pub-gruu/);
    assert.equal(await fs.stat(instanceFile()).catch(() => null), null, "no instance id kept");
    // sip.gruu: false is the same
    const off = await registerOnce(false);
    assert.doesNotMatch(contact(off.register), /\+sip\.instance/);
  });

  it("sip.gruu: true: +sip.instance from DATA_DIR/instance-id, a pub-gruu from the registrar, both the same after a restart", async () => {
    const { register, ok } = await registerOnce(true);
    const id = (await fs.readFile(instanceFile(), "utf8")).trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.match(contact(register), new RegExp(`\\+sip\\.instance="<urn:uuid:${id}>"`));
    const gruu = /pub-gruu="([^"]+)"/.exec(contact(ok))?.[1];
    assert.equal(gruu, `sip:1001@127.0.0.1;gr=urn:uuid:${id}`);
    const again = await registerOnce(true);
    assert.equal((await fs.readFile(instanceFile(), "utf8")).trim(), id, "the same id after a restart");
    assert.match(contact(again.register), new RegExp(`\\+sip\\.instance="<urn:uuid:${id}>"`));
  });
});

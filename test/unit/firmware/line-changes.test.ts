// What a new bundle means for the running SIP line: which changes need the line restarted (lineConfigKey), when a
// restart must wait (lineRestartHold: never under a call, an emergency test call or the emergency callback window),
// the boss lines a delegate's phone watches (phone-config.ts), and LineChanges, which applies a change in place, at
// once, or holds the newest back until the phone is free.
import assert from "node:assert/strict";
import { ManualClock } from "../../../src/base/clock.js";
import { bossNumbersOf, lineConfigKey, lineRestartHold } from "../../../firmware/phone-config.js";
import { LineChanges, type LineChangesDeps } from "../../../firmware/line-changes.js";
import { checkBundle, type ConfigBundle } from "../../../src/provisioning/config-bundle.js";

const base = { version: 1, accounts: [{ user: "1002", password: "pw-1002", domain: "example.com", servers: [{ host: "pbx.example.com", transport: "tls" }] }] };
const bundle = (extra: Record<string, unknown> = {}): ConfigBundle => checkBundle(structuredClone({ ...base, ...extra }));
const delegation = (bosses: string[], enabled = true): Record<string, unknown> => ({
  delegation: { enabled, ringMode: "simultaneous", ringDelaySeconds: 0, delegates: [], bosses: bosses.map((number) => ({ number, ringMode: "simultaneous", ringDelaySeconds: 0 })) },
});
const newPassword = (): ConfigBundle => bundle({ accounts: [{ ...base.accounts[0], password: "new-password" }] });

describe("a new bundle and the running SIP line", () => {
  describe("lineConfigKey: the part of a bundle the line is built from", () => {
    const same = (a: ConfigBundle, b: ConfigBundle): boolean => lineConfigKey(a) === lineConfigKey(b);

    it("the core's parts change in place: delegation (a boss added), dial plan, lock, forward, directory, private line, callback minutes, test calls, log level", () => {
      const before = bundle();
      for (const extra of [
        delegation(["1001"]),
        { dialPlan: { outsideLinePrefix: "0" } },
        { lock: { pin: "2580", afterIdleMinutes: 5 } },
        { features: { callWaiting: false, forward: { busy: "1009" } } },
        { directory: [{ name: "Reception", number: "1000" }] },
        { privateLine: { number: "2002" } },
        { emergency: { callbackMinutes: 10, testCalls: true, testAfterBootMinutes: 0 } },
        { logging: { level: "debug" } },
      ])
        assert.ok(same(before, bundle(extra)), `${JSON.stringify(extra)} keeps the line`);
    });

    it("the line's parts restart it: password, servers, caller-ID hiding, CAs, media, emergency routing, location policy and sources, SIP timing, GRUU, DNS, SIP tracing", () => {
      const before = bundle();
      const changed: ConfigBundle[] = [
        newPassword(),
        bundle({ accounts: [{ ...base.accounts[0], servers: [{ host: "pbx2.example.com", transport: "tls" }] }] }),
        bundle({ features: { hideCallerId: true } }),
        bundle({ trustedCAs: ["-----BEGIN CERTIFICATE-----x"] }),
        bundle({ media: { codecs: ["PCMU"] } }),
        bundle({ emergency: { requestUri: "dial-string" } }),
        bundle({ emergency: { routes: [{ host: "sbc.example.com", transport: "tcp" }] } }),
        bundle({ locationPolicy: { locationRequired: "yes" } }),
        bundle({ location: { lisUrl: "https://lis.example.com/held" } }),
        bundle({ sip: { pingMs: 5000 } }),
        bundle({ sip: { gruu: true } }),
        bundle({ dnsServers: ["10.0.0.53"] }),
        bundle({ logging: { sipTrace: true } }),
        bundle({ logging: { level: "trace" } }),
      ];
      for (const b of changed) assert.equal(same(before, b), false, `${lineConfigKey(b)} restarts the line`);
    });

    it("the same data in another key order, or a core-only field beside a line field, is no change to the line", () => {
      const a = bundle({ sip: { pingMs: 5000, keepAliveMs: 0 }, emergency: { lync: true } });
      const b = bundle({ sip: { keepAliveMs: 0, pingMs: 5000 }, emergency: { callbackMinutes: 5, lync: true } });
      assert.ok(same(a, b));
      assert.notEqual(lineConfigKey(null), lineConfigKey(bundle()), "no bundle: any bundle starts a line");
    });
  });

  const idle = { calls: [], ending: [], emergencyCallbackUntil: null, emergencyTest: { running: false, result: "" } };
  const call = { id: 1 } as never;

  describe("lineRestartHold: a restart waits while the phone is not free", () => {
    it("free: idle, or the callback window over", () => {
      assert.equal(lineRestartHold(idle, 1000), null);
      assert.equal(lineRestartHold({ ...idle, emergencyCallbackUntil: 1000 }, 1000), null);
    });

    it("held: a call up, a call ending, an emergency test call, the emergency callback window open", () => {
      assert.equal(lineRestartHold({ ...idle, calls: [call] }, 0), "1 call up");
      assert.equal(lineRestartHold({ ...idle, calls: [call], ending: [call] }, 0), "2 calls up");
      assert.equal(lineRestartHold({ ...idle, ending: [call] }, 0), "1 call up");
      assert.match(lineRestartHold({ ...idle, emergencyTest: { running: true, result: "" } }, 0) ?? "", /emergency test call/);
      assert.equal(lineRestartHold({ ...idle, emergencyCallbackUntil: 30 * 60_000 }, 60_000), "the emergency callback window is open (1740 s left)");
    });
  });

  it("bossNumbersOf: the bosses watched, none when delegation is off or absent", () => {
    assert.deepEqual(bossNumbersOf(bundle(delegation(["1001", "1003"]))), ["1001", "1003"]);
    assert.deepEqual(bossNumbersOf(bundle(delegation(["1001"], false))), []);
    assert.deepEqual(bossNumbersOf(bundle()), []);
    assert.deepEqual(bossNumbersOf(null), []);
  });

  describe("LineChanges", () => {
    type State = ReturnType<LineChangesDeps["state"]>;
    /** A phone with a line running `running` (null: no line), its state and what was applied. */
    function rig(running: ConfigBundle | null = bundle()) {
      const clock = new ManualClock(0);
      const r = {
        clock,
        state: { ...idle } as State,
        running,
        applied: [] as string[],
        logs: [] as Array<{ level: string; o: Record<string, unknown>; msg: string }>,
        listeners: [] as Array<(s: State) => void>,
        fail: false,
        /** The phone's state changes. */
        set(s: Partial<State>): void {
          r.state = { ...r.state, ...s };
          for (const l of r.listeners) l(r.state);
        },
      };
      const note = (level: string) => (o: Record<string, unknown>, msg: string) => void r.logs.push({ level, o, msg });
      const changes = new LineChanges({
        clock,
        log: { info: note("info"), warn: note("warn"), error: note("error") } as unknown as LineChangesDeps["log"],
        state: () => r.state,
        onState: (cb) => r.listeners.push(cb),
        running: () => r.running,
        inPlace: async (b) => {
          r.applied.push(`in place ${lineConfigKey(b) === lineConfigKey(r.running) ? "" : "?"}${bossNumbersOf(b).join(",")}`);
          r.running = b;
        },
        restart: async (b) => {
          if (r.fail) throw new Error("no line");
          r.applied.push(`restart ${b.accounts[0].password}`);
          r.running = b;
        },
        revoke: async (m) => {
          r.applied.push(`revoked: ${m}`);
          r.running = null;
        },
      });
      return { r, changes };
    }
    const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

    it("no line running: a bundle starts one at once, calls or not (nothing to drop)", async () => {
      const { r, changes } = rig(null);
      r.state = { ...r.state, calls: [call] };
      await changes.offer({ kind: "bundle", bundle: bundle(), by: "service" });
      assert.deepEqual(r.applied, ["restart pw-1002"]);
      assert.equal(changes.held, null);
    });

    it("only the core's config changed (a boss added): applied in place at once, even during a call", async () => {
      const { r, changes } = rig();
      r.set({ calls: [call] });
      await changes.offer({ kind: "bundle", bundle: bundle(delegation(["1001"])), by: "service" });
      assert.deepEqual(r.applied, ["in place 1001"]);
      assert.deepEqual(r.logs, [], "nothing held, nothing logged");
    });

    it("a new line while a call is up: held (logged once, with why), the newest kept, applied when the phone is free", async () => {
      const { r, changes } = rig();
      r.set({ calls: [call] });
      await changes.offer({ kind: "bundle", bundle: newPassword(), by: "service" });
      assert.deepEqual(r.applied, []);
      assert.equal(r.logs.length, 1);
      assert.equal(r.logs[0].level, "warn");
      assert.match(r.logs[0].msg, /new config held back/);
      assert.equal(r.logs[0].o.why, "1 call up");
      // still busy: the call is held, then a second call; nothing applied
      r.set({ calls: [{ ...(call as object), state: "held" } as never] });
      r.set({ calls: [call, call] });
      await settle();
      assert.deepEqual(r.applied, []);
      // a newer bundle replaces the held one (the newest wins)
      const newest = bundle({ accounts: [{ ...base.accounts[0], password: "newest" }] });
      await changes.offer({ kind: "bundle", bundle: newest, by: "service" });
      assert.equal(changes.held?.kind === "bundle" && changes.held.bundle, newest);
      // the call hung up but its end not yet confirmed: still held
      r.set({ calls: [], ending: [call] });
      await settle();
      assert.deepEqual(r.applied, []);
      r.set({ ending: [] });
      await settle();
      assert.deepEqual(r.applied, ["restart newest"]);
      assert.equal(changes.held, null);
      assert.ok(r.logs.some((l) => l.level === "info" && /applying the new config held back/.test(l.msg)));
      // later state changes apply nothing more
      r.set({ calls: [call] });
      r.set({ calls: [] });
      await settle();
      assert.deepEqual(r.applied, ["restart newest"]);
    });

    it("the emergency callback window: held until it is over, by the clock (no state change needed)", async () => {
      const { r, changes } = rig();
      r.set({ emergencyCallbackUntil: 30 * 60_000 });
      await changes.offer({ kind: "bundle", bundle: newPassword(), by: "service" });
      assert.match(String(r.logs[0]?.o.why), /emergency callback window is open \(1800 s left\)/);
      r.clock.advance(30 * 60_000 - 1);
      await settle();
      assert.deepEqual(r.applied, []);
      r.clock.advance(20);
      await settle();
      assert.deepEqual(r.applied, ["restart new-password"]);
    });

    it("an emergency test call holds it too", async () => {
      const { r, changes } = rig();
      r.set({ emergencyTest: { running: true, result: "" } });
      await changes.offer({ kind: "bundle", bundle: newPassword(), by: "service" });
      assert.deepEqual(r.applied, []);
      r.set({ emergencyTest: { running: false, result: "Test call OK" } });
      await settle();
      assert.deepEqual(r.applied, ["restart new-password"]);
    });

    it("a revocation during a call: the line stops only once the call is over", async () => {
      const { r, changes } = rig();
      r.set({ calls: [call] });
      await changes.offer({ kind: "revoked", message: "This phone was removed by IT" });
      assert.deepEqual(r.applied, []);
      assert.match(r.logs[0].msg, /device revoked: the line stops once/);
      r.set({ calls: [] });
      await settle();
      assert.deepEqual(r.applied, ["revoked: This phone was removed by IT"]);
    });

    it("drop() forgets a held change; close() applies nothing more; a failing restart is logged, not thrown", async () => {
      const a = rig();
      a.r.set({ calls: [call] });
      await a.changes.offer({ kind: "bundle", bundle: newPassword(), by: "service" });
      a.changes.drop();
      a.r.set({ calls: [] });
      await settle();
      assert.deepEqual(a.r.applied, []);

      const b = rig();
      b.r.set({ calls: [call] });
      await b.changes.offer({ kind: "bundle", bundle: newPassword(), by: "service" });
      b.changes.close();
      b.r.set({ calls: [] });
      await b.changes.offer({ kind: "bundle", bundle: newPassword(), by: "service" });
      assert.deepEqual(b.r.applied, []);

      const c = rig();
      c.r.fail = true;
      c.r.set({ calls: [call] });
      await c.changes.offer({ kind: "bundle", bundle: newPassword(), by: "service" });
      c.r.set({ calls: [] });
      await settle();
      assert.ok(c.r.logs.some((l) => l.level === "error" && l.msg === "cannot apply the new config" && l.o.err === "no line"));
      // offered directly (refresh, sign-in), the failure goes to the caller as before
      c.r.state = { ...idle };
      await assert.rejects(c.changes.offer({ kind: "bundle", bundle: newPassword(), by: "service" }), /no line/);
    });
  });
});

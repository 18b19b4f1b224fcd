// `npm start`'s lab: the phone comes up unprovisioned, is signed in on its keypad with the lab's extension and PIN
// (the lab's provisioning service made them with the admin CLI's commands), registers to the lab's Kamailio, and 1002
// is a far-end phone that answers; 911 reaches the lab's PSAP with the lab LIS's address; 1001 is a boss with the far
// end as its delegate and the private line 2001, which the lab's Kamailio routes to the phone (a caller from outside,
// sipp, calls it). A second start of the same phone comes back signed in.
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../../src/lab/registrar.js";
import { startSipp } from "../../../src/lab/sipp.js";
import { PhoneProcess } from "../../support/phone-process.js";

const sipScenarios = fileURLToPath(new URL("../sip/scenarios/", import.meta.url));

describe("the lab behind npm start", function () {
  this.timeout(90000);
  let phone: PhoneProcess | undefined;
  afterEach(async () => phone?.stop());

  it("signs in as 1001 with the lab's PIN, registers to the lab's Kamailio and calls 1002, whose tone is heard; 2001 rings it as the private line", async () => {
    phone = await PhoneProcess.start(null, ["--lab"]);
    // the banner follows the control port's line (the phone prints it once everything listens)
    for (let i = 0; i < 100 && !/lab: Kamailio/.test(phone.out); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(phone.out, /lab: Kamailio on 127\.0\.0\.1 .*provisioning https:\/\/127\.0\.0\.1:\d+.*sign in on the phone as 1001, PIN (\d+).*dial 1002/);
    const pin = /PIN (\d+)/.exec(phone.out)?.[1] ?? "";
    await phone.until("the sign-in screen", (x) => (x as unknown as { signin: unknown }).signin !== null);
    await phone.keys("1001");
    await phone.keys("OK");
    await phone.keys(pin);
    await phone.keys("OK");
    await phone.until("registered", (x) => x.registration.state === "registered", 20000);
    await phone.keys("1002");
    await phone.until("connected", (x) => x.calls[0]?.state === "connected");
    const cap = await phone.cmd<{ dominant_hz: number }>("audio_capture", { path: "speaker", ms: 600 });
    assert.ok(Math.abs(cap.dominant_hz - 440) < 20, `the far end's 440 Hz heard (${cap.dominant_hz} Hz)`);
    await phone.keys("END");
    await phone.until("idle", (x) => x.mode === "idle");
    // 911 in the lab: the phone has the lab LIS's address; the lab PSAP answers with its own tone
    assert.match(phone.out, /LIS https:\/\/127\.0\.0\.1:\d+.*911 reaches a lab PSAP/);
    await phone.until("a location from the lab LIS", (x) => (x as unknown as { location: { source: string } | null }).location?.source === "lis", 20000);
    await phone.keys("911");
    await phone.until("the PSAP answered", (x) => x.calls[0]?.state === "connected");
    // the lab PSAP is a baresip, which cannot take a multipart body: it refuses the INVITE with the PIDF-LO, the phone
    // sends it again at once without, and the screen then says no location was sent (the truth, not the attempt)
    await phone.until("the call shown as answered without location", (x) => (x as unknown as { calls: Array<{ locationSent?: string | null }> }).calls[0]?.locationSent === null);
    assert.match(phone.out, /emergency INVITE with location refused: sent again at once without location/);
    const psapTone = await phone.cmd<{ dominant_hz: number }>("audio_capture", { path: "speaker", ms: 600 });
    assert.ok(Math.abs(psapTone.dominant_hz - 660) < 20, `the lab PSAP's 660 Hz heard (${psapTone.dominant_hz} Hz)`);
    await phone.keys("END");
    await phone.until("idle", (x) => x.mode === "idle");
    // delegation and the private line: 1001 is a boss (the far end its delegate, in Menu > Delegates) and the lab's
    // Kamailio has 2001 as 1001's alias: a call to it from outside rings the phone under "Private line"
    assert.match(phone.out, /1001's private line: 2001 .*1001's delegates: 1002 /);
    const delegation = (await phone.state()) as unknown as { delegation?: { enabled: boolean; delegates: Array<{ number: string }> } };
    assert.deepEqual(delegation.delegation?.enabled && delegation.delegation.delegates.map((d) => d.number), ["1002"]);
    const udp = /udp (\d+)/.exec(phone.out)?.[1] ?? "";
    const sipp = await startSipp({ scenario: path.join(sipScenarios, "uac-call-forked.xml"), remote: `127.0.0.1:${udp}`, port: await freePort(), keys: { target: "2001" }, timeoutS: 20 });
    try {
      const ringing = await phone.until("the private line ringing", (x) => x.calls[0]?.state === "incoming");
      assert.equal((ringing.calls[0] as unknown as { line?: string }).line, "private");
      assert.match(await phone.screen(), /Private line/);
      await phone.keys("OK");
      await phone.until("the private call connected", (x) => x.calls[0]?.state === "connected");
      await phone.keys("END");
      await phone.until("idle", (x) => x.mode === "idle");
      const r = await sipp.done;
      assert.equal(r.code, 0, r.errors);
    } finally {
      sipp.stop();
    }
    // npm start again with the same data: a new lab (new ports), the phone signed in already, refreshed to the new lab
    const dir = await phone.stopKeepingData();
    phone = await PhoneProcess.start(null, ["--lab"], dir);
    await phone.until("registered without signing in", (x) => x.registration.state === "registered", 30000);
    assert.equal((await phone.state() as unknown as { signin: unknown }).signin, null);
  });
});

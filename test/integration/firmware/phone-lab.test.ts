// `npm start`'s lab: the phone comes up unprovisioned, is signed in on its keypad with the lab's extension and PIN
// (the lab's provisioning service made them with the admin CLI's commands), registers to the lab's Kamailio, and 1002
// is a far-end phone that answers. A second start of the same phone comes back signed in.
import assert from "node:assert/strict";
import { PhoneProcess } from "../../support/phone-process.js";

describe("the lab behind npm start", function () {
  this.timeout(90000);
  let phone: PhoneProcess | undefined;
  afterEach(async () => phone?.stop());

  it("signs in as 1001 with the lab's PIN, registers to the lab's Kamailio and calls 1002, whose tone is heard", async () => {
    phone = await PhoneProcess.start(null, ["--lab"]);
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
    // npm start again with the same data: a new lab (new ports), the phone signed in already, refreshed to the new lab
    const dir = await phone.stopKeepingData();
    phone = await PhoneProcess.start(null, ["--lab"], dir);
    await phone.until("registered without signing in", (x) => x.registration.state === "registered", 30000);
    assert.equal((await phone.state() as unknown as { signin: unknown }).signin, null);
  });
});

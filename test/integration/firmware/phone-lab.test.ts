// `npm start`'s lab: the phone comes up registered to a real Kamailio, and 1002 is a far-end phone that answers.
import assert from "node:assert/strict";
import { PhoneProcess } from "../../support/phone-process.js";

describe("the lab behind npm start", function () {
  this.timeout(60000);
  let phone: PhoneProcess | undefined;
  afterEach(async () => phone?.stop());

  it("registers to the lab's Kamailio and calls the far-end phone at 1002, whose tone is heard", async () => {
    phone = await PhoneProcess.start(null, ["--lab"]);
    await phone.until("registered", (x) => x.registration.state === "registered", 20000);
    assert.match(phone.out, /lab: Kamailio on 127\.0\.0\.1 .*dial 1002/);
    await phone.keys("1002");
    await phone.until("connected", (x) => x.calls[0]?.state === "connected");
    const cap = await phone.cmd<{ dominant_hz: number }>("audio_capture", { path: "speaker", ms: 600 });
    assert.ok(Math.abs(cap.dominant_hz - 440) < 20, `the far end's 440 Hz heard (${cap.dominant_hz} Hz)`);
    await phone.keys("END");
    await phone.until("idle", (x) => x.mode === "idle");
  });
});

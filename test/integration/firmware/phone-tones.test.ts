// What the handset plays before any call: dial tone on lifting it, silence once a digit is dialled, reorder on an
// invalid number. Heard through the emulated audio path, read back with the control protocol's audio_capture.
import assert from "node:assert/strict";
import { PhoneProcess } from "../../support/phone-process.js";

describe("call-progress tones on the simulated handset", function () {
  this.timeout(30000);
  let phone: PhoneProcess | undefined;
  afterEach(async () => phone?.stop());

  it("dial tone (350+440 Hz) when the handset is lifted; silence after a digit; reorder when the call cannot be made", async () => {
    phone = await PhoneProcess.start(null);
    await phone.cmd("set_hook", { state: "off" });
    const dial = await phone.cmd<{ dominant_hz: number; rms_dbfs: number }>("audio_capture", { path: "handset", ms: 300 });
    assert.ok([350, 440].some((f) => Math.abs(dial.dominant_hz - f) < 15), `dial tone at ${dial.dominant_hz} Hz`);
    assert.ok(dial.rms_dbfs > -30, `dial tone level ${dial.rms_dbfs} dBFS`);
    await phone.keys("1");
    await new Promise((r) => setTimeout(r, 150));
    const quiet = await phone.cmd<{ rms_dbfs: number | null }>("audio_capture", { path: "handset", ms: 200 });
    assert.ok((quiet.rms_dbfs ?? -Infinity) < -60, `silence while dialling (${quiet.rms_dbfs})`);
    await phone.keys("234"); // 1234 is placed, and fails at once: this phone has no account
    await phone.until("call failed", (x) => x.mode === "ended");
    const reorder = await phone.cmd<{ dominant_hz: number }>("audio_capture", { path: "handset", ms: 300 });
    assert.ok([480, 620].some((f) => Math.abs(reorder.dominant_hz - f) < 15), `reorder at ${reorder.dominant_hz} Hz`);
    await phone.cmd("set_hook", { state: "on" });
    await phone.keys("VOL_DOWN");
    assert.match(await phone.screen(), /Ringer volume 50%/);
    const mixer = ((await phone.state()) as unknown as { mixer: Record<string, { volume: number }> }).mixer;
    assert.equal(mixer.ringer.volume, 50, "the ringer's mixer control follows");
  });
});

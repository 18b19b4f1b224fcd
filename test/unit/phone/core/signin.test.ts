// The sign-in wizard in the core: extension, PIN (masked, never in the summary), the service's answers, 911 from it.
import assert from "node:assert/strict";
import type { PhoneConfig, PhoneEvent } from "../../../../src/phone/core/phone-state.js";
import { summarize } from "../../../../src/phone/core/reduce.js";
import { coreRunner } from "../../../support/core-run.js";

const config: PhoneConfig = { dialPlan: { emergencyNumbers: ["911", "112"], outsideLinePrefix: "9", extensionLength: 4 }, lockPin: null, interdigitMs: 4000 };
const run = coreRunner(config);
const key = (k: string): PhoneEvent => ({ type: "key", key: k, down: true, at: 0 });
const keys = (d: string): PhoneEvent[] => [...d].map(key);
const unprovisioned: PhoneEvent = { type: "provisioning", state: "unprovisioned" };

describe("sign-in wizard", () => {
  it("takes the extension, then the PIN masked, and asks the shell to sign in; the PIN never shows in the summary", () => {
    const typed = run([unprovisioned, ...keys("1001"), key("OK"), ...keys("13579")]);
    assert.deepEqual({ step: typed.state.signin?.step, extension: typed.state.signin?.extension }, { step: "pin", extension: "1001" });
    const sum = JSON.stringify(summarize(typed.state));
    assert.ok(!sum.includes("13579"), `no PIN in the summary: ${sum}`);
    assert.match(sum, /"pinDigits":5/);
    const sent = run([key("OK")], typed.state);
    assert.deepEqual(sent.effects, [{ type: "provision-sign-in" }]);
    assert.equal(sent.state.signin?.step, "busy");
    assert.equal(run([{ type: "signin-submitted" }], sent.state).state.signin?.pin, "", "the PIN leaves the state once taken");
  });

  it("a wrong PIN asks for the PIN again with the service's words; * deletes; an empty PIN goes back to the extension", () => {
    const busy = run([unprovisioned, ...keys("1001"), key("OK"), ...keys("1111"), key("OK"), { type: "signin-submitted" }]);
    const wrong = run([{ type: "signin-result", ok: false, message: "Wrong PIN, 3 tries left", retry: "pin" }], busy.state);
    assert.deepEqual(wrong.state.signin, { step: "pin", extension: "1001", pin: "", message: "Wrong PIN, 3 tries left" });
    const edited = run([...keys("12"), key("*")], wrong.state);
    assert.equal(edited.state.signin?.pin, "1");
    assert.equal(run([key("*"), key("*")], edited.state).state.signin?.step, "extension");
  });

  it("911 typed in the extension field is dialled, not sent as an extension", () => {
    const r = run([unprovisioned, ...keys("911"), key("SEND")]);
    const placed = r.effects.filter((e) => e.type === "place-call");
    assert.deepEqual(placed, [{ type: "place-call", callId: 1, target: "911", emergency: true }]);
  });

  it("provisioned: the wizard goes; Sign out of a service-provisioned phone forgets the user; Factory reset asks the shell", () => {
    const signed = run([unprovisioned, { type: "provisioning", state: "provisioned", by: "service" }]);
    assert.equal(signed.state.signin, null);
    const out = run([key("MENU"), key("OK"), key("DOWN"), key("DOWN"), key("OK")], signed.state);
    assert.deepEqual(out.effects, [{ type: "provision-sign-out" }]);
    const reset = run([key("MENU"), key("OK"), key("DOWN"), key("DOWN"), key("DOWN"), key("OK")], signed.state);
    assert.deepEqual(reset.effects, [{ type: "factory-reset" }]);
  });
});

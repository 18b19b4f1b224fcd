import assert from "node:assert/strict";
import { decide, emergencyTarget, type DialPlanConfig } from "../../../../src/phone/core/dial-plan.js";

const plan: DialPlanConfig = {
  emergencyNumbers: ["911", "112"],
  emergencyMasks: { "112": "911" },
  outsideLinePrefix: "9",
  extensionLength: 4,
  patterns: ["9XXXXXXXXXX", "91XXXXXXXXXX"],
};

/** Feeds digits one by one and returns the first decision that is not "more". */
function dial(digits: string, cfg = plan): { after: string; d: ReturnType<typeof decide> } {
  let s = "";
  for (const ch of digits) {
    s += ch;
    const d = decide(s, cfg);
    if (d.kind !== "more") return { after: s, d };
  }
  return { after: s, d: { kind: "more" } };
}

describe("dial plan", () => {
  it("sends 911 on the last digit, before any other rule", () => {
    assert.deepEqual(dial("911"), { after: "911", d: { kind: "send", target: "911", emergency: true, reason: "emergency" } });
  });

  it("sends 9911 (outside-line prefix) as 911: Kari's Law", () => {
    const r = dial("9911");
    assert.equal(r.after, "9911");
    assert.deepEqual(r.d, { kind: "send", target: "911", emergency: true, reason: "emergency" });
  });

  it("sends 112 through the mask as 911, with or without the prefix", () => {
    assert.deepEqual(dial("112").d, { kind: "send", target: "911", emergency: true, reason: "emergency" });
    assert.deepEqual(dial("9112").d, { kind: "send", target: "911", emergency: true, reason: "emergency" });
  });

  it("treats an emergency number as emergency even on the send key or the timer", () => {
    assert.equal(decide("911", plan, "send-key").kind, "send");
    assert.deepEqual(emergencyTarget("911", { ...plan, outsideLinePrefix: "" }), "911");
    assert.equal(emergencyTarget("9911", { ...plan, outsideLinePrefix: "" }), undefined, "without a prefix configured 9911 is not special");
  });

  it("completes a 4-digit extension at once, and waits for longer outside numbers", () => {
    assert.deepEqual(dial("1001").d, { kind: "send", target: "1001", emergency: false, reason: "extension" });
    // 9 + 10 digits matches the outside pattern only when complete; 9 + 1 + 10 digits the long-distance one
    assert.deepEqual(dial("95125550100").d, { kind: "send", target: "95125550100", emergency: false, reason: "pattern" });
    assert.equal(decide("9512", plan).kind, "more");
  });

  it("sends on # / SEND or the interdigit timeout with what was dialled", () => {
    assert.deepEqual(decide("95", plan, "send-key"), { kind: "send", target: "95", emergency: false, reason: "terminator" });
    assert.deepEqual(decide("95", plan, "timeout"), { kind: "send", target: "95", emergency: false, reason: "timeout" });
    assert.deepEqual(decide("", plan, "timeout"), { kind: "invalid", reason: "nothing dialled" });
  });

  it("does not send a shorter number early when an emergency string is still possible", () => {
    const cfg: DialPlanConfig = { ...plan, extensionLength: 2 };
    assert.equal(decide("11", cfg).kind, "more", "11 could still become 112");
    assert.equal(decide("91", cfg).kind, "more", "91 could still become 911");
    assert.deepEqual(decide("23", cfg), { kind: "send", target: "23", emergency: false, reason: "extension" });
  });

  it("says so when no internal number can be that long", () => {
    const d = decide("10012", { ...plan, patterns: [] });
    assert.equal(d.kind, "invalid");
  });
});

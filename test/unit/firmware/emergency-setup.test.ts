// The bundle's location policy as the phone reads it (Lync's field meanings and defaults), and the dial plan it makes:
// the emergency dial string is an emergency number, each mask dials it, the plan's own numbers stay.
import assert from "node:assert/strict";
import { emergencyDialPlan, locationPolicyOf } from "../../../firmware/emergency-setup.js";
import { checkBundle } from "../../../src/provisioning/config-bundle.js";
import { decide } from "../../../src/phone/core/dial-plan.js";

const base = { version: 1, accounts: [{ user: "1001", password: "pw", domain: "example.com", servers: [{ host: "pbx.example.com", transport: "tls" }] }] };

describe("emergency setup from the bundle", () => {
  it("defaults: enabled, no prompt, 911 with mask 112, every 4 hours, nobody notified", () => {
    const p = locationPolicyOf(checkBundle(base));
    assert.deepEqual(p, { enhancedEmergencyServicesEnabled: true, locationRequired: "no", useLocationForE911Only: true, emergencyDialString: "911", emergencyDialMasks: ["112"], notificationUris: [], locationRefreshIntervalH: 4 });
  });

  it("reads Lync's lists: masks split on ';', notification URIs on ','", () => {
    const p = locationPolicyOf(checkBundle({ ...base, locationPolicy: { emergencyDialString: "999", emergencyDialMask: "112;911", notificationUri: "sip:a@example.com, sip:b@example.com", conferenceUri: "sip:desk@example.com", conferenceMode: "oneway", locationRefreshInterval: 2, locationPolicyTagId: "user-tagid" } }));
    assert.deepEqual(p.emergencyDialMasks, ["112", "911"]);
    assert.deepEqual(p.notificationUris, ["sip:a@example.com", "sip:b@example.com"]);
    assert.equal(p.policyTagId, "user-tagid");
    assert.equal(p.conferenceMode, "oneway");
  });

  it("the dial plan: 999 is the emergency number, 112 and 911 dial it, with and without the outside-line prefix", () => {
    const p = locationPolicyOf(checkBundle({ ...base, locationPolicy: { emergencyDialString: "999", emergencyDialMask: "112;911" } }));
    const plan = emergencyDialPlan({ emergencyNumbers: ["911", "112"], emergencyMasks: { "112": "911" }, outsideLinePrefix: "9", extensionLength: 4 }, p);
    for (const [dialled, sent] of [["999", "999"], ["112", "999"], ["911", "999"], ["9112", "999"], ["9999", "999"]]) {
      const d = decide(dialled, plan, "digit");
      assert.deepEqual(d.kind === "send" ? { target: d.target, emergency: d.emergency } : d, { target: sent, emergency: true }, `${dialled} is sent as ${sent}`);
    }
  });
});

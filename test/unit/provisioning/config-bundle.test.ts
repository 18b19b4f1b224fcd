// The config bundle's checks: a clear error per bad field, media policy rules (SRTP needs TLS), no secret in errors.
import assert from "node:assert/strict";
import { checkBundle } from "../../../src/provisioning/config-bundle.js";

const base = (server: Record<string, unknown> = { host: "pbx.example", port: 5061, transport: "tls" }, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  version: 1,
  accounts: [{ user: "1001", password: "s3cret-pw", domain: "example.com", servers: [server] }],
  ...extra,
});

describe("config bundle", () => {
  it("accepts a minimal bundle and a media policy with codecs, SRTP over TLS and a quality collector", () => {
    assert.equal(checkBundle(base()).accounts[0].user, "1001");
    const b = checkBundle(base(undefined, { media: { codecs: ["G722", "PCMU"], srtp: "required", qualityCollector: "sip:vq@example.com" } }));
    assert.deepEqual(b.media?.codecs, ["G722", "PCMU"]);
  });

  it("refuses SRTP 'required' over a transport that is not TLS (the SDES keys would travel in the clear), naming the server", () => {
    assert.throws(
      () => checkBundle(base({ host: "pbx.example", port: 5060, transport: "tcp" }, { media: { srtp: "required" } }), "bundle.json"),
      (e: Error) => /bundle\.json: \/accounts\/0\/servers\/0: media\.srtp "required" .* needs transport "tls" \(this server says tcp\)/.test(e.message),
    );
  });

  it("names each bad media field, and never shows the password", () => {
    assert.throws(
      () => checkBundle(base(undefined, { media: { codecs: ["G729"], srtp: "maybe", qualityCollector: "vq@example" } }), "b.json"),
      (e: Error) => /\/media\/codecs\/0/.test(e.message) && /\/media\/srtp/.test(e.message) && /\/media\/qualityCollector/.test(e.message) && !e.message.includes("s3cret-pw"),
    );
  });

  it("names an unknown field", () => {
    assert.throws(() => checkBundle(base(undefined, { medai: {} }), "b.json"), /b\.json: \/: unknown field 'medai'/);
  });

  it("accepts Lync's location policy fields, a LIS, a static civic address and emergency routes", () => {
    const b = checkBundle(
      base(undefined, {
        locationPolicy: { enhancedEmergencyServicesEnabled: true, locationRequired: "disclaimer", enhancedEmergencyServiceDisclaimer: "Without a location, responders may not find you.", useLocationForE911Only: true, emergencyDialString: "911", emergencyDialMask: "112;999", notificationUri: "sip:security@example.com, sip:desk@example.com", conferenceUri: "sip:+14255550199@example.com;user=phone", conferenceMode: "oneway", locationRefreshInterval: 4, locationPolicyTagId: "user-tagid" },
        location: { lisUrl: "https://lis.example.com/held", civic: { country: "US", A1: "TX", RD: "Lamar", HNO: "1100", FLR: "3" }, lldpInterface: "eth0" },
        emergency: { requestUri: "service-urn", routes: [{ host: "sbc.example.com", port: 5060, transport: "tcp" }], lync: false, callbackMinutes: 30 },
      }),
    );
    assert.equal(b.locationPolicy?.emergencyDialMask, "112;999");
    assert.equal(b.location?.civic?.FLR, "3");
  });

  it("names each bad location field: refresh interval out of Lync's 1-12 h, a mask with letters, an unknown civic element, a bad country", () => {
    assert.throws(
      () => checkBundle(base(undefined, { locationPolicy: { locationRefreshInterval: 24, emergencyDialMask: "112;abc", locationRequired: "always" }, location: { civic: { country: "USA", FLOOR: "3" } } }), "b.json"),
      (e: Error) =>
        /\/locationPolicy\/locationRefreshInterval/.test(e.message) && /\/locationPolicy\/emergencyDialMask/.test(e.message) && /\/locationPolicy\/locationRequired/.test(e.message) && /\/location\/civic\/country/.test(e.message) && /\/location\/civic/.test(e.message),
    );
  });
});

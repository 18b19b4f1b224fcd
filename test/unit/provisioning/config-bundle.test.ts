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

  it("sip.gruu: absent by default (GRUU off), a boolean when given, anything else named", () => {
    assert.equal(checkBundle(base()).sip?.gruu, undefined);
    assert.equal(checkBundle(base(undefined, { sip: { gruu: true } })).sip?.gruu, true);
    assert.equal(checkBundle(base(undefined, { sip: { gruu: false, pingMs: 0 } })).sip?.gruu, false);
    assert.throws(() => checkBundle(base(undefined, { sip: { gruu: "yes" } }), "b.json"), /b\.json: \/sip\/gruu: must be boolean/);
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

  describe("private line and delegation", () => {
    const delegation = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
      enabled: true,
      ringMode: "delayed",
      ringDelaySeconds: 15,
      delegates: [{ number: "1002", name: "Bob Jones" }, { number: "+15125550103" }],
      bosses: [{ number: "1004", name: "Dan Brown", ringMode: "simultaneous", ringDelaySeconds: 10 }],
      ...over,
    });

    it("accepts a private line (with or without a ring pattern) and a delegation block", () => {
      const b = checkBundle(base(undefined, { privateLine: { number: "2001", ringPattern: "double" }, delegation: delegation() }));
      assert.deepEqual(b.privateLine, { number: "2001", ringPattern: "double" });
      assert.equal(b.delegation?.ringDelaySeconds, 15);
      assert.equal(b.delegation?.bosses[0]?.ringMode, "simultaneous");
      assert.deepEqual(checkBundle(base(undefined, { privateLine: { number: "*71#" } })).privateLine, { number: "*71#" });
      // empty lists and the limits themselves
      const eight = Array.from({ length: 8 }, (_, i) => ({ number: String(1100 + i) }));
      const four = Array.from({ length: 4 }, (_, i) => ({ number: String(1200 + i), ringMode: "delayed", ringDelaySeconds: 60 }));
      assert.equal(checkBundle(base(undefined, { delegation: delegation({ delegates: eight, bosses: four, ringDelaySeconds: 0 }) })).delegation?.delegates.length, 8);
      assert.equal(checkBundle(base(undefined, { delegation: delegation({ enabled: false, delegates: [], bosses: [] }) })).delegation?.enabled, false);
    });

    it("takes an optional forking, \"server\" or \"phone\" (who rings the boss's delegates), and names another value", () => {
      assert.equal(checkBundle(base(undefined, { delegation: delegation() })).delegation?.forking, undefined);
      assert.equal(checkBundle(base(undefined, { delegation: delegation({ forking: "phone" }) })).delegation?.forking, "phone");
      assert.equal(checkBundle(base(undefined, { delegation: delegation({ forking: "server" }) })).delegation?.forking, "server");
      assert.throws(() => checkBundle(base(undefined, { delegation: delegation({ forking: "pbx" }) }), "b.json"), /b\.json: \/delegation\/forking: must be equal to one of the allowed values/);
      assert.throws(() => checkBundle(base(undefined, { delegation: delegation({ forking: null }) }), "b.json"), /b\.json: \/delegation\/forking: must be equal to one of the allowed values/);
    });

    it("names each bad field: limits of 8 delegates and 4 bosses, ring mode and delay, numbers, missing and unknown fields", () => {
      const nine = Array.from({ length: 9 }, (_, i) => ({ number: String(1100 + i) }));
      const five = Array.from({ length: 5 }, (_, i) => ({ number: String(1200 + i), ringMode: "delayed", ringDelaySeconds: 5 }));
      const expect = (extra: Record<string, unknown>, ...want: RegExp[]): void =>
        assert.throws(
          () => checkBundle(base(undefined, extra), "b.json"),
          (e: Error) => {
            for (const w of want) assert.match(e.message, w);
            assert.ok(!e.message.includes("s3cret-pw"), "no password in the error");
            return true;
          },
        );
      expect({ delegation: delegation({ delegates: nine, bosses: five }) }, /b\.json: \/delegation\/delegates: must NOT have more than 8 items/, /b\.json: \/delegation\/bosses: must NOT have more than 4 items/);
      expect({ delegation: delegation({ ringMode: "forward", ringDelaySeconds: 61 }) }, /\/delegation\/ringMode: must be equal to one of the allowed values/, /\/delegation\/ringDelaySeconds: must be <= 60/);
      expect({ delegation: delegation({ ringDelaySeconds: 2.5 }) }, /\/delegation\/ringDelaySeconds: must be integer/);
      expect({ delegation: delegation({ delegates: [{ number: "10 02" }], bosses: [{ number: "1004", ringMode: "delayed" }] }) }, /\/delegation\/delegates\/0\/number: must match pattern/, /\/delegation\/bosses\/0: missing 'ringDelaySeconds'/);
      expect({ delegation: { enabled: true, delegates: [], bosses: [] } }, /\/delegation: missing 'ringMode'/, /\/delegation: missing 'ringDelaySeconds'/);
      expect({ delegation: delegation({ delegates: [{ number: "1002", phone: "x" }] }) }, /\/delegation\/delegates\/0: unknown field 'phone'/);
      expect({ privateLine: { number: "sip:2001@pbx" } }, /b\.json: \/privateLine\/number: must match pattern/);
      expect({ privateLine: { ringPattern: "double" } }, /b\.json: \/privateLine: missing 'number'/);
      expect({ privateLine: { number: "2001", ringPattern: "loud" } }, /\/privateLine\/ringPattern: must be equal to one of the allowed values/);
      expect({ privateLine: "2001" }, /\/privateLine: must be object/);
    });

    it("refuses a number twice, or the account's own number as the private line, a delegate or a boss", () => {
      expect2({ privateLine: { number: "1001" } }, "b.json: /privateLine/number: 1001 is the account's own number; the private line is a second number");
      expect2({ delegation: delegation({ delegates: [{ number: "1002" }, { number: "1002" }] }) }, "b.json: /delegation/delegates/1/number: 1002 is listed twice");
      expect2({ delegation: delegation({ delegates: [{ number: "1001" }] }) }, "b.json: /delegation/delegates/0/number: 1001 is the account's own number (a user cannot be their own delegate)");
      expect2({ delegation: delegation({ bosses: [{ number: "1001", ringMode: "delayed", ringDelaySeconds: 5 }] }) }, "b.json: /delegation/bosses/0/number: 1001 is the account's own number (a user cannot be their own boss)");
      // a delegate who is also a boss of this user is fine (two assistants covering each other)
      assert.ok(checkBundle(base(undefined, { delegation: delegation({ delegates: [{ number: "1004" }] }) })));
    });
  });
});

function expect2(extra: Record<string, unknown>, message: string): void {
  assert.throws(() => checkBundle(base(undefined, extra), "b.json"), (e: Error) => e.message === message);
}

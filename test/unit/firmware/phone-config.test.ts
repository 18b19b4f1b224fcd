// The phone core's config from a bundle: the defaults with no bundle, and how the delegation, private-line and
// forward fields are carried over (seconds become milliseconds, absent optional fields stay absent).
import assert from "node:assert/strict";
import { DEFAULT_PHONE_CONFIG, phoneConfigOf } from "../../../firmware/phone-config.js";
import { checkBundle } from "../../../src/provisioning/config-bundle.js";

const base = { version: 1, accounts: [{ user: "1001", password: "pw", domain: "example.com", servers: [{ host: "pbx.example.com", transport: "tls" }] }] };

describe("the phone config from a bundle", () => {
  it("no bundle: the defaults (911 and 112, outside line 9, 4-digit extensions, no lock)", () => {
    const c = phoneConfigOf(null);
    assert.equal(c, DEFAULT_PHONE_CONFIG);
    assert.deepEqual(c, {
      dialPlan: { emergencyNumbers: ["911", "112"], emergencyMasks: { "112": "911" }, outsideLinePrefix: "9", extensionLength: 4 },
      lockPin: null,
      interdigitMs: 4000,
    });
  });

  it("a bare bundle: the defaults where it is silent, the line's own number, no delegation / private line / forward", () => {
    const c = phoneConfigOf(checkBundle(base));
    assert.equal(c.ownNumber, "1001");
    assert.equal(c.lockPin, null);
    assert.equal(c.interdigitMs, 4000);
    assert.equal(c.lockAfterIdleMs, 0);
    assert.equal(c.callWaiting, true);
    assert.deepEqual(c.emergency, { locationRequired: "no" });
    for (const k of ["delegation", "privateLine", "forward", "ringPattern", "directory"] as const) assert.equal(k in c, false, `${k} absent`);
  });

  it("delegation: ring delays in ms, forking carried, bosses with their names and ring modes", () => {
    const c = phoneConfigOf(
      checkBundle({
        ...base,
        delegation: {
          enabled: true,
          ringMode: "delayed",
          ringDelaySeconds: 12,
          forking: "phone",
          delegates: [{ number: "1002", name: "Bob" }, { number: "1003" }],
          bosses: [
            { number: "1010", name: "Carol", ringMode: "simultaneous", ringDelaySeconds: 0 },
            { number: "1011", ringMode: "delayed", ringDelaySeconds: 5 },
          ],
        },
      }),
    );
    assert.deepEqual(c.delegation, {
      enabled: true,
      delegates: [{ number: "1002", name: "Bob" }, { number: "1003" }],
      ringMode: "delayed",
      ringDelayMs: 12_000,
      forking: "phone",
      bosses: [
        { number: "1010", name: "Carol", ringMode: "simultaneous", ringDelayMs: 0 },
        { number: "1011", ringMode: "delayed", ringDelayMs: 5000 },
      ],
    });
  });

  it("delegation without forking: no forking field (the PBX forks)", () => {
    const c = phoneConfigOf(checkBundle({ ...base, delegation: { enabled: false, ringMode: "simultaneous", ringDelaySeconds: 0, delegates: [], bosses: [] } }));
    assert.deepEqual(c.delegation, { enabled: false, delegates: [], ringMode: "simultaneous", ringDelayMs: 0, bosses: [] });
  });

  it("private line: its number, and its ring pattern only when the bundle names one", () => {
    assert.deepEqual(phoneConfigOf(checkBundle({ ...base, privateLine: { number: "5550100", ringPattern: "triple" } })).privateLine, { number: "5550100", ringPattern: "triple" });
    assert.deepEqual(phoneConfigOf(checkBundle({ ...base, privateLine: { number: "5550100" } })).privateLine, { number: "5550100" });
  });

  it("forward: absent targets are null, no-answer after 20 s unless the bundle says otherwise", () => {
    assert.deepEqual(phoneConfigOf(checkBundle({ ...base, features: { forward: { busy: "1005" } } })).forward, { always: null, busy: "1005", noAnswer: null, noAnswerMs: 20_000 });
    assert.deepEqual(phoneConfigOf(checkBundle({ ...base, features: { forward: { always: "1004", noAnswer: "1006", noAnswerSeconds: 30 } } })).forward, { always: "1004", busy: null, noAnswer: "1006", noAnswerMs: 30_000 });
  });
});

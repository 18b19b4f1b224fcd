// The Lync PIN policy: one clear refusal per rule, the PINs it accepts, and random PINs that pass it.
import assert from "node:assert/strict";
import { checkPin, longestRun, randomPin, DEFAULT_PIN_POLICY } from "../../../../src/provisioning/server/pin-policy.js";

const owner = { extension: "1001" };
const refused = (pin: string, o: { extension: string; otherNumbers?: string[] } = owner, policy = DEFAULT_PIN_POLICY): string => {
  const v = checkPin(pin, o, policy);
  assert.equal(v.ok, false, `${pin} should be refused`);
  return v.ok ? "" : `${v.rule}: ${v.message}`;
};

describe("PIN policy", () => {
  it("accepts PINs of 5 or more digits with no easy pattern", () => {
    for (const pin of ["13579", "24680", "8901", "27183", "90125", "7890", "123", "121212", "0000012", "98798", "31415926535"].filter((p) => p.length >= 5)) assert.deepEqual(checkPin(pin, owner), { ok: true }, pin);
  });

  it("refuses anything but digits", () => {
    assert.equal(refused("12a45"), "digits: PIN refused: digits only (0-9)");
    assert.equal(refused(" 13579"), "digits: PIN refused: digits only (0-9)");
  });

  it("refuses a PIN shorter than the minimum (5 by default) or longer than the maximum (24)", () => {
    assert.equal(refused("1357"), "too-short: PIN refused: at least 5 digits");
    assert.equal(refused(""), "too-short: PIN refused: at least 5 digits");
    assert.equal(refused("1357913579135791357913579"), "too-long: PIN refused: at most 24 digits");
    assert.deepEqual(checkPin("1357", owner, { ...DEFAULT_PIN_POLICY, minLength: 4 }), { ok: true });
  });

  it("refuses one digit repeated", () => {
    assert.equal(refused("11111"), "repeated: PIN refused: all the same digit (11111)");
    assert.equal(refused("0000000"), "repeated: PIN refused: all the same digit (00000)");
  });

  it("refuses 4 or more consecutive digits, ascending or descending, anywhere in the PIN", () => {
    assert.equal(refused("12345"), "sequence: PIN refused: 4 or more consecutive digits (12345)");
    assert.equal(refused("98765"), "sequence: PIN refused: 4 or more consecutive digits (98765)");
    assert.equal(refused("01234"), "sequence: PIN refused: 4 or more consecutive digits (01234)");
    assert.equal(refused("51234"), "sequence: PIN refused: 4 or more consecutive digits (1234)");
    assert.equal(refused("90432108"), "sequence: PIN refused: 4 or more consecutive digits (43210)");
  });

  it("does not wrap around: 8901 and 7890 are not runs (9 -> 0 is not consecutive)", () => {
    assert.deepEqual(checkPin("58901", owner), { ok: true });
    assert.deepEqual(checkPin("78905", owner), { ok: true });
    assert.deepEqual(checkPin("10987", owner), { ok: true }, "1-0-9 wraps downwards: only 987 runs");
    assert.equal(longestRun("8901").length, 2, "89 and 01, never 8901");
  });

  it("takes the run length from the policy", () => {
    assert.equal(refused("13456", owner, { ...DEFAULT_PIN_POLICY, sequenceLength: 3 }), "sequence: PIN refused: 3 or more consecutive digits (3456)");
    assert.deepEqual(checkPin("12345", owner, { ...DEFAULT_PIN_POLICY, refuseSequences: false }), { ok: true });
  });

  it("refuses the extension, the extension reversed, and the user's other numbers", () => {
    const o = { extension: "52817", otherNumbers: ["+1 425 555 0199", "73910"] };
    assert.equal(refused("52817", o), "extension: PIN refused: the same as the extension");
    assert.equal(refused("71825", o), "extension-reversed: PIN refused: the extension reversed");
    assert.equal(refused("73910", o), "number: PIN refused: the same as one of the user's phone numbers");
    assert.equal(refused("14255550199", o), "number: PIN refused: the same as one of the user's phone numbers");
    assert.deepEqual(checkPin("52817", o, { ...DEFAULT_PIN_POLICY, refuseExtension: false }), { ok: true });
  });

  it("makes random PINs the policy accepts (6 digits by default)", () => {
    for (let i = 0; i < 200; i++) {
      const pin = randomPin(owner);
      assert.match(pin, /^[0-9]{6}$/);
      assert.deepEqual(checkPin(pin, owner), { ok: true });
    }
    assert.match(randomPin(owner, { ...DEFAULT_PIN_POLICY, minLength: 8 }), /^[0-9]{8}$/);
  });
});

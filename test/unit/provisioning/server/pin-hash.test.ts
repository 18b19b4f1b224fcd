// PINs as salted scrypt hashes: the stored format with its parameters, asynchronous verification, damaged values.
import assert from "node:assert/strict";
import { scryptSync } from "node:crypto";
import { hashPin, verifyPin, parsePinHash, decoyHash, DEFAULT_SCRYPT } from "../../../../src/provisioning/server/pin-hash.js";

describe("PIN hashes (scrypt)", () => {
  it("stores scrypt$N$r$p$salt$hash with the default N=2^14 r=8 p=1, a 16-byte salt and a 32-byte hash", async () => {
    const h = await hashPin("13579");
    const m = /^scrypt\$16384\$8\$1\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(h);
    assert.ok(m, h);
    const salt = Buffer.from(m[1]!, "base64");
    const hash = Buffer.from(m[2]!, "base64");
    assert.equal(salt.length, 16);
    assert.equal(hash.length, 32);
    // the value is exactly scrypt(pin, salt) with those parameters: another implementation can check it
    assert.deepEqual(scryptSync("13579", salt, 32, { N: 16384, r: 8, p: 1 }), hash);
    assert.ok(!h.includes("13579"));
    assert.deepEqual(DEFAULT_SCRYPT, { N: 16384, r: 8, p: 1 });
  });

  it("verifies the right PIN and refuses a wrong one, asynchronously", async () => {
    const h = await hashPin("24680");
    const pending = verifyPin("24680", h);
    assert.ok(pending instanceof Promise);
    assert.equal(await pending, true);
    assert.equal(await verifyPin("24681", h), false);
    assert.equal(await verifyPin("", h), false);
  });

  it("salts every hash, and keeps the parameters it was made with", async () => {
    const a = await hashPin("13579", { N: 1024, r: 8, p: 1 });
    const b = await hashPin("13579", { N: 1024, r: 8, p: 1 });
    assert.notEqual(a, b);
    assert.match(a, /^scrypt\$1024\$8\$1\$/);
    assert.deepEqual(parsePinHash(a)?.params, { N: 1024, r: 8, p: 1 });
    assert.equal(await verifyPin("13579", a), true);
    assert.equal(await verifyPin("13579", b), true);
  });

  it("treats a damaged or foreign stored value as a mismatch, never as a match or a crash", async () => {
    for (const bad of ["", "13579", "bcrypt$2b$10$abc", "scrypt$16384$8$1$$", "scrypt$3$8$1$AAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA==", "scrypt$1073741824$8$1$AAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA=="]) {
      assert.equal(await verifyPin("13579", bad), false, bad);
    }
  });

  it("makes decoy hashes with the service's parameters that match nothing", async () => {
    const d = await decoyHash({ N: 1024, r: 8, p: 1 });
    assert.match(d, /^scrypt\$1024\$8\$1\$/);
    assert.equal(await verifyPin("", d), false);
  });

  it("refuses parameters that are not a power of two", async () => {
    await assert.rejects(hashPin("13579", { N: 1000, r: 8, p: 1 }), /power of two/);
  });
});

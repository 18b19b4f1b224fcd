// SRTP/SRTCP (RFC 3711) and SDES a=crypto (RFC 4568). Known answers: RFC 3711 Appendix B.2 (AES-CM keystream)
// and B.3 (key derivation), and the packets of libsrtp's srtp_validate() (test/srtp_driver.c, cisco/libsrtp).
import assert from "node:assert/strict";
import {
  aesCmIv,
  aesCmKeystream,
  AUTH_TAG_LENGTH,
  deriveKey,
  deriveSessionKeys,
  isSrtpError,
  KDF_LABEL,
  SrtpSession,
} from "../../../src/media/srtp.js";
import type { SrtpError } from "../../../src/media/srtp.js";
import { buildCryptoAttr, newCryptoAttr, parseCryptoAttr, SUPPORTED_SUITES } from "../../../src/media/sdes.js";
import { buildRtp } from "../../../src/media/rtp-packet.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

// RFC 3711 Appendix B.3 master key and salt (libsrtp's test_key starts with the same 30 bytes).
const RFC_MASTER = { key: hex("E1F97A0D3E018BE0D64FA32C06DE4139"), salt: hex("0EC675AD498AFEEBB6960B3AABE6") };

function ok(r: Buffer | SrtpError): Buffer {
  if (isSrtpError(r)) assert.fail(`expected a packet, got ${r.reason}: ${r.message}`);
  return r;
}

function reason(r: Buffer | SrtpError): string {
  return isSrtpError(r) ? r.reason : "ok";
}

function rtp(seq: number, ssrc = 0x11223344, payloadLength = 160): Buffer {
  const payload = Buffer.alloc(payloadLength);
  for (let i = 0; i < payloadLength; i++) payload[i] = (seq + i) & 0xff;
  return buildRtp({ payloadType: 0, marker: false, sequence: seq, timestamp: seq * 160, ssrc, payload });
}

/** A minimal RTCP RR (no report blocks) followed by `extra` bytes of another packet. */
function rtcp(ssrc: number, extra = 16): Buffer {
  const b = Buffer.alloc(8 + extra, 0x5a);
  b.writeUInt32BE(0x80c90001, 0);
  b.writeUInt32BE(ssrc, 4);
  return b;
}

const pair = () => [new SrtpSession(RFC_MASTER), new SrtpSession(RFC_MASTER)] as const;

describe("SRTP (RFC 3711)", () => {
  it("AES-CM keystream matches RFC 3711 Appendix B.2", () => {
    const key = hex("2B7E151628AED2A6ABF7158809CF4F3C");
    const salt = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"); // the vector's salt, "already shifted" by 16 bits
    const iv = aesCmIv(salt, 0, 0); // SSRC 0, ROC 0, SEQ 0
    assert.deepEqual(Buffer.from(iv), hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"));
    const ks = aesCmKeystream(key, iv, 1044512); // 65282 AES blocks
    assert.equal(ks.length, 1044512);
    const block = (n: number) => ks.subarray(n * 16, n * 16 + 16);
    assert.deepEqual(block(0), hex("E03EAD0935C95E80E166B16DD92B4EB4"));
    assert.deepEqual(block(1), hex("D23513162B02D0F72A43A2FE4A5F97AB"));
    assert.deepEqual(block(2), hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
    assert.deepEqual(block(0xfeff), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
    assert.deepEqual(block(0xff00), hex("362B7C3C6773516318A077D7FC5073AE"));
    assert.deepEqual(block(0xff01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
  });

  it("key derivation matches RFC 3711 Appendix B.3", () => {
    const { rtp: k } = deriveSessionKeys(RFC_MASTER.key, RFC_MASTER.salt);
    assert.deepEqual(k.encryptionKey, hex("C61E7A93744F39EE10734AFE3FF7A087"));
    assert.deepEqual(k.salt, hex("30CBBC08863D8C85D49DB34A9AE1"));
    assert.deepEqual(k.authKey, hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
    // The full AES-CM outputs the appendix prints: the 16-byte block behind the 14-byte salt, and a 94-byte auth key.
    assert.deepEqual(deriveKey(RFC_MASTER.key, RFC_MASTER.salt, KDF_LABEL.rtpSalt, 16), hex("30CBBC08863D8C85D49DB34A9AE17AC6"));
    assert.deepEqual(
      deriveKey(RFC_MASTER.key, RFC_MASTER.salt, KDF_LABEL.rtpAuth, 94),
      hex(`CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE E049646C43D9327AD175578EF7227098
           6371C10C9A369AC2F94A8C5FBCDDDC25 6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2`),
    );
    const { rtcp: c } = deriveSessionKeys(RFC_MASTER.key, RFC_MASTER.salt);
    assert.notDeepEqual(c.encryptionKey, k.encryptionKey, "SRTCP uses its own labels (3, 4, 5)");
  });

  it("produces and reads libsrtp's srtp_validate() SRTP and SRTCP packets", () => {
    const plainRtp = hex("800f1234decafbadcafebabe abababababababababababababababab");
    const srtp = hex("800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb");
    const plainRtcp = hex("81c8000bcafebabe abababababababababababababababab");
    const srtcp = hex("81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798");
    const [tx, rx] = pair();
    assert.deepEqual(tx.protectRtp(plainRtp), srtp);
    assert.deepEqual(ok(rx.unprotectRtp(srtp)), plainRtp);
    // libsrtp numbers its first SRTCP packet 1; ours starts at 0 (§3.4), so the vector is our second packet.
    tx.protectRtcp(plainRtcp);
    assert.deepEqual(tx.protectRtcp(plainRtcp), srtcp);
    assert.deepEqual(ok(rx.unprotectRtcp(srtcp)), plainRtcp);
    assert.deepEqual(tx.stats, { protected: 3, unprotected: 0, authFailures: 0, replays: 0, short: 0 });
    assert.deepEqual(rx.stats, { protected: 0, unprotected: 2, authFailures: 0, replays: 0, short: 0 });
  });

  it("round-trips across a sequence-number wrap, including a late packet from before the wrap", () => {
    const [tx, rx] = pair();
    const seqs = [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3];
    const wire = new Map(seqs.map((s) => [s, tx.protectRtp(rtp(s))]));
    for (const [s, p] of wire) assert.equal(p.length, rtp(s).length + AUTH_TAG_LENGTH);

    // After the wrap the sender's ROC is 1: the same RTP packet sent with ROC 0 encrypts and authenticates differently.
    const rocZero = new SrtpSession(RFC_MASTER).protectRtp(rtp(1));
    assert.notDeepEqual(wire.get(1), rocZero);
    assert.equal(reason(new SrtpSession(RFC_MASTER).unprotectRtp(wire.get(1)!)), "auth", "a fresh receiver assumes ROC 0");

    const arrival = [65530, 65531, 65532, 65534, 65535, 0, 1, 65533, 3, 2]; // 65533 arrives after the wrap, 2 after 3
    for (const s of arrival) assert.deepEqual(ok(rx.unprotectRtp(wire.get(s)!)), rtp(s), `seq ${s}`);
    assert.equal(rx.stats.unprotected, arrival.length);

    // Both sides keep going with ROC 1.
    assert.deepEqual(ok(rx.unprotectRtp(tx.protectRtp(rtp(4)))), rtp(4));
  });

  it("keeps many wraps in step (ROC 0 -> 3)", () => {
    const [tx, rx] = pair();
    for (let i = 0; i < 3 * 65536 + 100; i += 97) {
      const s = (40000 + i) & 0xffff;
      assert.deepEqual(ok(rx.unprotectRtp(tx.protectRtp(rtp(s, 7, 8)))), rtp(s, 7, 8));
    }
  });

  it("rejects a replayed packet with reason replay and counts it", () => {
    const [tx, rx] = pair();
    const packets = Array.from({ length: 100 }, (_, i) => tx.protectRtp(rtp(1000 + i)));
    ok(rx.unprotectRtp(packets[0]));
    const again = rx.unprotectRtp(packets[0]);
    assert.ok(isSrtpError(again));
    assert.equal(again.reason, "replay");
    assert.match(again.message, /replay/);
    for (const p of packets.slice(2)) ok(rx.unprotectRtp(p));
    assert.equal(reason(rx.unprotectRtp(packets[1])), "replay", "more than 64 behind the newest: outside the window");
    assert.equal(reason(rx.unprotectRtp(packets[99])), "replay");
    assert.equal(reason(rx.unprotectRtp(packets[50])), "replay", "inside the window, already seen");
    assert.equal(rx.stats.replays, 4);
    assert.equal(rx.stats.authFailures, 0);
  });

  it("accepts a late packet inside the 64-packet window once", () => {
    const [tx, rx] = pair();
    const packets = Array.from({ length: 70 }, (_, i) => tx.protectRtp(rtp(i)));
    packets.forEach((p, i) => i !== 10 && ok(rx.unprotectRtp(p)));
    assert.deepEqual(ok(rx.unprotectRtp(packets[10])), rtp(10), "59 behind: still inside the window");
    assert.equal(reason(rx.unprotectRtp(packets[10])), "replay");
  });

  it("rejects a packet with a flipped bit with reason auth, and a failure moves no state", () => {
    const [tx, rx] = pair();
    const good = tx.protectRtp(rtp(10));
    for (const bit of [0, 8 * 3 + 1, 8 * 20, 8 * (good.length - 1)]) {
      const bad = Buffer.from(good);
      bad[bit >> 3] ^= 1 << (bit & 7);
      const r = rx.unprotectRtp(bad);
      assert.ok(isSrtpError(r));
      assert.equal(r.reason, "auth", `bit ${bit}`);
    }
    assert.equal(rx.stats.authFailures, 4);
    assert.equal(rx.stats.unprotected, 0);
    // A forged packet far ahead must not move the window or the ROC: the genuine stream is still accepted.
    const forged = Buffer.from(tx.protectRtp(rtp(40000)));
    forged[forged.length - 1] ^= 0xff;
    assert.equal(reason(rx.unprotectRtp(forged)), "auth");
    assert.deepEqual(ok(rx.unprotectRtp(good)), rtp(10));
  });

  it("checks the replay list before the tag: a tampered copy of a received packet is a replay", () => {
    const [tx, rx] = pair();
    const good = tx.protectRtp(rtp(5));
    ok(rx.unprotectRtp(good));
    const tampered = Buffer.from(good);
    tampered[20] ^= 1;
    assert.equal(reason(rx.unprotectRtp(tampered)), "replay");
  });

  it("a receiver with the wrong key (a wrong SDES key) rejects everything with auth", () => {
    const tx = new SrtpSession(RFC_MASTER);
    const other = newCryptoAttr();
    const rx = new SrtpSession({ key: other.key, salt: other.salt });
    for (let s = 0; s < 20; s++) assert.equal(reason(rx.unprotectRtp(tx.protectRtp(rtp(s)))), "auth");
    assert.equal(reason(rx.unprotectRtcp(tx.protectRtcp(rtcp(1)))), "auth");
    assert.deepEqual(rx.stats, { protected: 0, unprotected: 0, authFailures: 21, replays: 0, short: 0 });
  });

  it("leaves the header (CSRCs, header extension) in the clear and encrypts only the payload", () => {
    const [tx, rx] = pair();
    const header = hex("92 00 0005 00000320 0000abcd 00000001 00000002 bede0001 10ff0000"); // CC=2, X=1, 1-word extension
    const payload = Buffer.from("payload bytes to hide!");
    const packet = Buffer.concat([header, payload]);
    const srtp = tx.protectRtp(packet);
    assert.deepEqual(srtp.subarray(0, header.length), header);
    assert.notDeepEqual(srtp.subarray(header.length, packet.length), payload);
    assert.deepEqual(ok(rx.unprotectRtp(srtp)), packet);
    const bare = rtp(6, 0xabcd, 0);
    assert.deepEqual(ok(rx.unprotectRtp(tx.protectRtp(bare))), bare, "empty payload");
  });

  it("SRTCP: round trip with E flag and index, replay window on the index", () => {
    const [tx, rx] = pair();
    const plain = [rtcp(0xabc, 16), rtcp(0xabc, 40), rtcp(0xabc, 4)];
    const wire = plain.map((p) => tx.protectRtcp(p));
    wire.forEach((w, i) => {
      assert.equal(w.length, plain[i].length + 4 + AUTH_TAG_LENGTH);
      assert.equal(w.readUInt32BE(plain[i].length), (0x80000000 | i) >>> 0, "E=1 and index");
      assert.deepEqual(w.subarray(0, 8), plain[i].subarray(0, 8), "header and SSRC in the clear");
      assert.notDeepEqual(w.subarray(8, plain[i].length), plain[i].subarray(8));
    });
    assert.deepEqual(ok(rx.unprotectRtcp(wire[1])), plain[1]);
    assert.deepEqual(ok(rx.unprotectRtcp(wire[0])), plain[0], "out of order inside the window");
    assert.equal(reason(rx.unprotectRtcp(wire[0])), "replay");
    assert.equal(reason(rx.unprotectRtcp(wire[1])), "replay");
    assert.deepEqual(ok(rx.unprotectRtcp(wire[2])), plain[2]);

    const flipped = Buffer.from(tx.protectRtcp(plain[0]));
    flipped[plain[0].length] ^= 0x80; // clear the E flag: authenticated, so it must fail
    assert.equal(reason(rx.unprotectRtcp(flipped)), "auth");
    assert.deepEqual(rx.stats, { protected: 0, unprotected: 3, authFailures: 1, replays: 2, short: 0 });
  });

  it("too-short packets give reason short", () => {
    const [tx, rx] = pair();
    assert.equal(reason(rx.unprotectRtp(Buffer.alloc(21))), "short");
    const cc15 = Buffer.from(tx.protectRtp(rtp(1, 1, 30)));
    cc15[0] |= 0x0f; // 15 CSRCs: a 72-byte header does not fit
    assert.equal(reason(rx.unprotectRtp(cc15)), "short");
    assert.equal(reason(rx.unprotectRtcp(Buffer.alloc(21))), "short");
    assert.equal(rx.stats.short, 3);
    assert.throws(() => tx.protectRtp(Buffer.alloc(11)), RangeError);
    assert.throws(() => tx.protectRtcp(Buffer.alloc(7)), RangeError);
    assert.throws(() => new SrtpSession({ key: Buffer.alloc(15), salt: Buffer.alloc(14) }), /16 bytes/);
  });
});

describe("SDES a=crypto (RFC 4568)", () => {
  const EXAMPLE = "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4";
  // The example's key||salt is ASCII text.
  const EXAMPLE_KEY_SALT = Buffer.from("YS___semctl () {\t220;}\n}\nunles", "latin1");

  it("parses the RFC 4568 example", () => {
    const a = parseCryptoAttr(EXAMPLE);
    assert.equal(a.tag, 1);
    assert.equal(a.suite, "AES_CM_128_HMAC_SHA1_80");
    assert.deepEqual(Buffer.from(a.key), EXAMPLE_KEY_SALT.subarray(0, 16));
    assert.deepEqual(Buffer.from(a.salt), EXAMPLE_KEY_SALT.subarray(16));
    assert.equal(a.lifetime, "2^20");
    assert.deepEqual(a.mki, { value: 1, length: 4 });
    assert.equal(a.sessionParams, undefined);

    const withFec = parseCryptoAttr(`a=crypto:${EXAMPLE}  FEC_ORDER=FEC_SRTP`);
    assert.deepEqual(withFec.sessionParams, ["FEC_ORDER=FEC_SRTP"]);
    assert.equal(buildCryptoAttr(withFec), `${EXAMPLE} FEC_ORDER=FEC_SRTP`);
    assert.equal(buildCryptoAttr(a), EXAMPLE);
  });

  it("reads the lifetime or the MKI alone", () => {
    const key = "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
    assert.deepEqual(parseCryptoAttr(`2 AES_CM_128_HMAC_SHA1_80 ${key}|1048576`).lifetime, "1048576");
    const m = parseCryptoAttr(`2 AES_CM_128_HMAC_SHA1_80 ${key}|7:1`);
    assert.equal(m.lifetime, undefined);
    assert.deepEqual(m.mki, { value: 7, length: 1 });
  });

  it("round-trips new attributes through build and parse, and keys an SRTP session pair", () => {
    const offer = newCryptoAttr(3);
    assert.equal(offer.suite, SUPPORTED_SUITES[0]);
    assert.equal(offer.key.length, 16);
    assert.equal(offer.salt.length, 14);
    assert.notDeepEqual(Buffer.from(newCryptoAttr().key), Buffer.from(offer.key), "random");
    const line = buildCryptoAttr(offer);
    assert.match(line, /^3 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}$/);
    const parsed = parseCryptoAttr(line);
    assert.deepEqual({ ...parsed, key: Buffer.from(parsed.key), salt: Buffer.from(parsed.salt) }, { ...offer, key: Buffer.from(offer.key), salt: Buffer.from(offer.salt) });

    const full = { ...offer, lifetime: "2^31", mki: { value: 255, length: 1 }, sessionParams: ["WSH=64"] };
    assert.equal(buildCryptoAttr(parseCryptoAttr(buildCryptoAttr(full))), buildCryptoAttr(full));

    const tx = new SrtpSession(offer);
    const rx = new SrtpSession(parsed);
    assert.deepEqual(ok(rx.unprotectRtp(tx.protectRtp(rtp(9)))), rtp(9));
  });

  it("rejects bad input with a specific message", () => {
    const key = "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
    const bad: [string, RegExp][] = [
      ["1 AES_CM_128_HMAC_SHA1_80", /expected "<tag> <crypto-suite> <key-params>/],
      [`1 AES_CM_128_HMAC_SHA1_32 ${key}`, /unsupported crypto suite "AES_CM_128_HMAC_SHA1_32"/],
      [`1 F8_128_HMAC_SHA1_80 ${key}`, /unsupported crypto suite/],
      [`x1 AES_CM_128_HMAC_SHA1_80 ${key}`, /tag must be 1 to 9 digits/],
      ["1 AES_CM_128_HMAC_SHA1_80 WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz", /"inline:" key method/],
      ["1 AES_CM_128_HMAC_SHA1_80 uri:https://example.com/key", /"inline:" key method/],
      ["1 AES_CM_128_HMAC_SHA1_80 inline:", /has no key\|\|salt/],
      ["1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGV!", /not valid base64/],
      ["1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGV", /not valid base64/],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${Buffer.alloc(16).toString("base64")}`, /must be 30 bytes .* got 16/],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${Buffer.alloc(33).toString("base64")}`, /must be 30 bytes .* got 33/],
      [`1 AES_CM_128_HMAC_SHA1_80 ${key}|2^x`, /neither a lifetime .* nor an MKI/],
      [`1 AES_CM_128_HMAC_SHA1_80 ${key}|1:4|2^20`, /MKI "1:4" must be the last/],
      [`1 AES_CM_128_HMAC_SHA1_80 ${key}|2^20|2^20`, /lifetime "2\^20" must come before the MKI/],
      [`1 AES_CM_128_HMAC_SHA1_80 ${key}|2^20|1:4|x`, /too many "\|" fields/],
      [`1 AES_CM_128_HMAC_SHA1_80 ${key}|1:0`, /MKI length must be 1 to 128/],
      [`1 AES_CM_128_HMAC_SHA1_80 ${key}|1:129`, /MKI length must be 1 to 128/],
      [`1 AES_CM_128_HMAC_SHA1_80 ${key}|256:1`, /does not fit in 1 byte/],
      [`1 AES_CM_128_HMAC_SHA1_80 ${key}|2^20|1:4;${key}|2^20|2:4`, /more than one key-params/],
      [`1 AES_CM_128_HMAC_SHA1_80 ${key} UNENCRYPTED_SRTP`, /session parameter "UNENCRYPTED_SRTP" is not supported/],
      [`1 AES_CM_128_HMAC_SHA1_80 ${key} KDR=23`, /session parameter "KDR=23" is not supported/],
      [`1 AES_CM_128_HMAC_SHA1_80 ${key} SOMETHING_NEW`, /unknown session parameter "SOMETHING_NEW"/],
    ];
    for (const [line, message] of bad) assert.throws(() => parseCryptoAttr(line), message, line);
    assert.deepEqual(parseCryptoAttr(`1 AES_CM_128_HMAC_SHA1_80 ${key} -OPTIONAL_EXT WSH=128`).sessionParams, ["-OPTIONAL_EXT", "WSH=128"]);

    const good = newCryptoAttr();
    assert.throws(() => buildCryptoAttr({ ...good, key: good.key.subarray(0, 15) }), /key must be 16 bytes/);
    assert.throws(() => buildCryptoAttr({ ...good, salt: Buffer.alloc(12) }), /salt must be 14 bytes/);
    assert.throws(() => buildCryptoAttr({ ...good, suite: "AEAD_AES_128_GCM" }), /unsupported crypto suite/);
    assert.throws(() => buildCryptoAttr({ ...good, tag: -1 }), /tag must be an integer/);
    assert.throws(() => buildCryptoAttr({ ...good, lifetime: "forever" }), /lifetime must be 2\^n or n/);
  });
});

// fp-slip-v1 codec: CRC, SLIP, frame check, the doc's example dumps, line noise, payload round trips, key table.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { DIGIT_KEYS, NAMED_KEYS } from "../../../../src/hal/api/keypad.js";
import {
  FrameDecoder, FrameType, KEY_CODES, MAX_FRAME_BYTES, SlipDecoder, bitmapFromCodes, bitmapHas, checkFrame, crc16CcittFalse,
  encodeFrame, encodePayload, frameBytes, keyCode, keyForCode, latin1Bytes, lcdChars, messageFrame, parsePayload, slipEncode,
  type Message,
} from "../../../../src/hal/protocol/fp-slip-v1-codec.js";

const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, "0").toUpperCase()).join(" ");
const bytes = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/), (h) => parseInt(h, 16));

/** Seeded PRNG so the noise tests are reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe("fp-slip-v1 codec", () => {
  describe("CRC-16/CCITT-FALSE", () => {
    it("gives the catalogue check value 0x29B1 for '123456789'", () => {
      assert.equal(crc16CcittFalse(new TextEncoder().encode("123456789")), 0x29b1);
    });
    it("is the init value 0xFFFF for no bytes, and changes with one flipped bit", () => {
      assert.equal(crc16CcittFalse(new Uint8Array(0)), 0xffff);
      assert.notEqual(crc16CcittFalse(Uint8Array.of(0x01)), crc16CcittFalse(Uint8Array.of(0x03)));
    });
  });

  describe("SLIP", () => {
    it("escapes C0 as DB DC and DB as DB DD, between leading and trailing END", () => {
      assert.equal(hex(slipEncode(Uint8Array.of(0x01, 0xc0, 0xdb, 0x02))), "C0 01 DB DC DB DD 02 C0");
    });
    it("decodes escapes back, whatever the chunking", () => {
      const wire = slipEncode(Uint8Array.of(0xc0, 0xdb, 0xdc, 0xdd, 0x00));
      const d = new SlipDecoder();
      const out = [...wire].flatMap((b) => d.push(Uint8Array.of(b)));
      assert.deepEqual(out.map(hex), ["C0 DB DC DD 00"]);
    });
    it("drops a packet with a bad escape and counts it, keeping the next", () => {
      const d = new SlipDecoder();
      const out = d.push(Uint8Array.of(0xc0, 0x01, 0xdb, 0x41, 0x02, 0xc0, 0xc0, 0x05, 0xc0));
      assert.deepEqual(out.map(hex), ["05"]);
      assert.equal(d.stats().badEscapes, 1);
    });
    it("drops an oversized packet and counts it, keeping the next", () => {
      const d = new SlipDecoder(16);
      const big = new Uint8Array(40).fill(0x11);
      const out = d.push(Uint8Array.from([0xc0, ...big, 0xc0, 0xc0, 0x22, 0xc0]));
      assert.deepEqual(out.map(hex), ["22"]);
      assert.equal(d.stats().oversize, 1);
    });
  });

  describe("example frames of docs/frontpanel-protocol.md §13", () => {
    const A = { msg: { type: "KEY", code: 0x35, down: true, tMs: 0x1234 } as Message, seq: 0x07, frame: "01 07 35 01 12 34 98 3E", wire: "C0 01 07 35 01 12 34 98 3E C0" };
    const B = { msg: { type: "ACK", acked: 0x01 } as Message, seq: 0x07, frame: "7F 07 01 B1 13", wire: "C0 7F 07 01 B1 13 C0" };
    const C = {
      msg: { type: "LCD_TEXT", row: 1, col: 2, attr: 0, text: latin1Bytes("À=Û") } as Message,
      seq: 0x2a,
      frame: "11 2A 01 02 00 C0 3D DB F8 EA",
      wire: "C0 11 2A 01 02 00 DB DC 3D DB DD F8 EA C0",
    };
    for (const [name, ex] of Object.entries({ A, B, C })) {
      it(`${name}: encodes to the documented bytes and decodes back`, () => {
        const m = ex.msg;
        assert.equal(hex(frameBytes(FrameType[m.type], ex.seq, encodePayload(m))), ex.frame);
        assert.equal(hex(messageFrame(m, ex.seq)), ex.wire);
        const [f] = new FrameDecoder().push(bytes(ex.wire));
        assert.equal(f.seq, ex.seq);
        const p = parsePayload(f.type, f.payload);
        assert.ok(p.ok);
        assert.deepEqual(p.msg, m);
      });
    }
    it("the document shows exactly these dumps", () => {
      const doc = readFileSync(new URL("../../../../docs/frontpanel-protocol.md", import.meta.url), "utf8");
      const section = doc.slice(doc.indexOf("## 13."));
      const frames = [...section.matchAll(/^frame: (.+)$/gm)].map((m) => m[1].trim());
      const wires = [...section.matchAll(/^wire: +(.+)$/gm)].map((m) => m[1].trim());
      assert.deepEqual(frames, [A.frame, B.frame, C.frame]);
      assert.deepEqual(wires, [A.wire, B.wire, C.wire]);
      assert.match(section, /C0 16 00 01 00 01 FF C2 C0/);
      assert.equal(hex(messageFrame({ type: "QUERY", protoMajor: 1, protoMinor: 0, flags: 1 }, 0)), "C0 16 00 01 00 01 FF C2 C0");
    });
  });

  describe("frame decoder on a noisy line", () => {
    const f1 = encodeFrame(FrameType.KEY, 1, Uint8Array.of(0x31, 1, 0, 0));
    const f2 = encodeFrame(FrameType.LCD_TEXT, 2, Uint8Array.of(0, 0, 0, 0xc0, 0xdb, 0x41));

    it("finds frames between garbage bytes and counts the garbage", () => {
      const d = new FrameDecoder();
      const out = d.push(Uint8Array.from([0x55, 0xaa, 0x13, ...f1, 0x01, 0x02, 0x03, 0x04, 0x05, ...f2, 0x99]));
      assert.deepEqual(out.map((f) => f.seq), [1, 2]);
      assert.equal(d.stats().crcErrors, 1); // 01..05 between the frames: long enough to be checked, and wrong
      assert.equal(d.stats().runts, 1); // 55 AA 13 before the first END
    });
    it("survives a frame cut mid-way: the cut one is dropped, the next decodes", () => {
      const d = new FrameDecoder();
      const out = d.push(Uint8Array.from([...f1.subarray(0, 5), ...f2]));
      assert.deepEqual(out.map((f) => f.seq), [2]);
      assert.equal(d.stats().runts + d.stats().crcErrors, 1);
    });
    it("drops an oversized frame and counts it", () => {
      const d = new FrameDecoder();
      const huge = encodeFrame(FrameType.LCD_TEXT, 3, new Uint8Array(MAX_FRAME_BYTES).fill(0x41));
      const out = d.push(Uint8Array.from([...huge, ...f1]));
      assert.deepEqual(out.map((f) => f.seq), [1]);
      assert.equal(d.stats().oversize, 1);
    });
    it("counts a flipped bit as a CRC error", () => {
      const bad = Uint8Array.from(f1);
      bad[3] ^= 0x04;
      const d = new FrameDecoder();
      assert.deepEqual(d.push(bad), []);
      assert.equal(d.stats().crcErrors, 1);
      assert.equal(checkFrame(Uint8Array.of(1, 2, 3)), "runt");
    });
    it("never throws on random noise and still decodes every frame around it", () => {
      const r = rng(7);
      const d = new FrameDecoder();
      const stream: number[] = [];
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 200; i++) {
        for (let n = Math.floor(r() * 20); n > 0; n--) stream.push(Math.floor(r() * 256));
        const f = encodeFrame(FrameType.KEY, i & 0xff, Uint8Array.of(0x30 + (i % 10), i & 1, 0, i & 0xff));
        frames.push(f);
        stream.push(...f);
      }
      const got: number[] = [];
      let i = 0;
      while (i < stream.length) {
        const n = 1 + Math.floor(r() * 9);
        for (const f of d.push(Uint8Array.from(stream.slice(i, i + n)))) got.push(f.seq);
        i += n;
      }
      // Random noise can itself pass the 16-bit CRC only by a 1-in-65536 chance; our 200 frames must all be there.
      assert.ok(got.length >= 200);
      for (let k = 0; k < 200; k++) assert.ok(got.includes(k & 0xff));
      const s = d.stats();
      assert.ok(s.crcErrors + s.runts + s.badEscapes > 0, "the noise was counted");
    });
  });

  describe("payloads", () => {
    const samples: Message[] = [
      { type: "KEY", code: 0x4c, down: false, tMs: 65535 },
      { type: "HOOK", offHook: true, tMs: 1 },
      { type: "HELLO", protoMajor: 1, protoMinor: 3, fwMajor: 2, fwMinor: 9, caps: 0x1f, nKeys: 45, nLeds: 5, lcdCols: 20, lcdRows: 4, hook: 1 },
      { type: "HEARTBEAT", uptimeS: 0x01020304, errFlags: 2, hook: 0, keysDown: bitmapFromCodes([0x35, 0x68, 0x23]) },
      { type: "LED", id: 3, mode: "wink", colour: 2, onMs: 100, offMs: 900 },
      { type: "LCD_TEXT", row: 3, col: 19, attr: 0, text: Uint8Array.of(0x41) },
      { type: "LCD_CLEAR" },
      { type: "BACKLIGHT", level: 128 },
      { type: "RINGER", cadence: 2 },
      { type: "BEEP", hz: 1000, ms: 250 },
      { type: "QUERY", protoMajor: 1, protoMinor: 0, flags: 1 },
      { type: "LCD_GLYPH", slot: 7, rows: [0x1f, 0, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0] },
      { type: "ACK", acked: 0x11 },
      { type: "NAK", acked: 0x10, reason: 3 },
    ];
    for (const m of samples)
      it(`${m.type} round-trips and refuses a short payload`, () => {
        const p = encodePayload(m);
        assert.deepEqual(parsePayload(FrameType[m.type], p), { ok: true, msg: m });
        if (p.length > 0 && m.type !== "LCD_TEXT") assert.deepEqual(parsePayload(FrameType[m.type], p.subarray(0, p.length - 1)), { ok: false, reason: "bad-length" });
      });
    it("accepts extra trailing bytes (later minor versions append fields)", () => {
      const p = Uint8Array.from([...encodePayload({ type: "HOOK", offHook: false, tMs: 5 }), 0xee, 0xff]);
      assert.deepEqual(parsePayload(FrameType.HOOK, p), { ok: true, msg: { type: "HOOK", offHook: false, tMs: 5 } });
    });
    it("refuses unknown types and out-of-range values as results, not exceptions", () => {
      assert.deepEqual(parsePayload(0x33, new Uint8Array(0)), { ok: false, reason: "unknown-type" });
      assert.deepEqual(parsePayload(FrameType.KEY, Uint8Array.of(0x31, 2, 0, 0)), { ok: false, reason: "bad-value" });
      assert.deepEqual(parsePayload(FrameType.LED, Uint8Array.of(0, 9, 0, 0, 0, 0, 0)), { ok: false, reason: "bad-value" });
      assert.deepEqual(parsePayload(FrameType.LCD_GLYPH, new Uint8Array(9).fill(8)), { ok: false, reason: "bad-value" });
    });
  });

  describe("key codes", () => {
    it("cover every digit, *, #, named key and LINE1..LINE8 with distinct codes below 0x80", () => {
      const keys = [...DIGIT_KEYS, ...NAMED_KEYS, ...Array.from({ length: 8 }, (_, i) => `LINE${i + 1}`)];
      const codes = keys.map((k) => keyCode(k));
      assert.ok(codes.every((c) => c !== undefined && c > 0 && c < 0x80), JSON.stringify(codes));
      assert.equal(new Set(codes).size, keys.length);
      assert.equal(Object.keys(KEY_CODES).length, keys.length);
      for (const k of keys) assert.equal(keyForCode(keyCode(k) as number), k);
    });
    it("match the table of the doc for a few samples", () => {
      assert.deepEqual([keyCode("0"), keyCode("*"), keyCode("#"), keyCode("SEND"), keyCode("BACK"), keyCode("FWD"), keyCode("LINE1"), keyCode("LINE8")], [0x30, 0x2a, 0x23, 0x40, 0x4e, 0x58, 0x61, 0x68]);
    });
    it("map to heartbeat bitmap bits", () => {
      const b = bitmapFromCodes([0x35, 0x68]);
      assert.equal(b.length, 16);
      assert.equal(b[0x35 >> 3], 1 << (0x35 & 7));
      assert.ok(bitmapHas(b, 0x68) && !bitmapHas(b, 0x36));
    });
  });

  describe("LCD text", () => {
    it("keeps ASCII, Latin-1 and glyphs 0-7, replaces the rest with '?'", () => {
      assert.equal(lcdChars("Grüße 5°C \u0001€\t"), "Grüße 5°C \u0001??");
      assert.equal(hex(latin1Bytes("Aé\u0002")), "41 E9 02");
    });
  });
});

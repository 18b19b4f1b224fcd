// The grayscale PNG encoder: chunk structure, CRCs (checked against node:zlib's own crc32) and the IDAT scanlines.
import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { crc32, encodeGrayPng } from "../../../../src/hal/emul/png.js";

interface Chunk {
  type: string;
  data: Buffer;
  crc: number;
}

function chunks(png: Buffer): Chunk[] {
  const out: Chunk[] = [];
  let at = 8;
  while (at < png.length) {
    const len = png.readUInt32BE(at);
    const type = png.toString("latin1", at + 4, at + 8);
    out.push({ type, data: png.subarray(at + 8, at + 8 + len), crc: png.readUInt32BE(at + 8 + len) });
    at += 12 + len;
  }
  assert.equal(at, png.length, "chunks end exactly at the end of the file");
  return out;
}

describe("hal/emul png", () => {
  it("computes the standard CRC-32 ('123456789' -> 0xCBF43926)", () => {
    assert.equal(crc32(Buffer.from("123456789")), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });

  it("writes signature, IHDR, IDAT, IEND with valid CRCs and the pixels as filter-0 scanlines", () => {
    const gray = Uint8Array.from([0, 50, 100, 150, 200, 255]);
    const png = encodeGrayPng(3, 2, gray);
    assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
    const cs = chunks(png);
    assert.deepEqual(cs.map((c) => c.type), ["IHDR", "IDAT", "IEND"]);
    const zcrc = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;
    for (const c of cs) {
      const body = Buffer.concat([Buffer.from(c.type, "latin1"), c.data]);
      assert.equal(c.crc, zcrc ? zcrc(body) : crc32(body), `${c.type} CRC`);
    }
    const ihdr = cs[0].data;
    assert.deepEqual([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9], ihdr[10], ihdr[11], ihdr[12]], [3, 2, 8, 0, 0, 0, 0]);
    assert.deepEqual([...zlib.inflateSync(cs[1].data)], [0, 0, 50, 100, 0, 150, 200, 255]);
    assert.equal(cs[2].data.length, 0);
  });

  it("refuses a pixel buffer that does not match the size", () => {
    assert.throws(() => encodeGrayPng(3, 2, new Uint8Array(5)), RangeError);
    assert.throws(() => encodeGrayPng(0, 2, new Uint8Array(0)), RangeError);
  });
});

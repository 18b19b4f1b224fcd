import assert from "node:assert/strict";
import { dominantHz, int16ToS16le, rmsDbfs, s16leToInt16, toneS16 } from "../../../../src/hal/emul/pcm-analysis.js";

describe("pcm analysis", () => {
  for (const [hz, rate] of [[350, 8000], [440, 8000], [1004, 16000], [3400, 8000], [697, 16000]]) {
    it(`finds ${hz} Hz at ${rate} Hz sampling and measures the level`, () => {
      const t = toneS16({ hz, ms: 200, dbfs: -20, rate });
      assert.equal(t.length, (rate * 200) / 1000);
      assert.ok(Math.abs(dominantHz(t, rate) - hz) <= 2, `${dominantHz(t, rate)}`);
      assert.ok(Math.abs(rmsDbfs(t) - -20) < 0.2, `${rmsDbfs(t)}`);
    });
  }

  it("picks the louder of two tones", () => {
    const a = toneS16({ hz: 480, ms: 300, dbfs: -10, rate: 8000 });
    const b = toneS16({ hz: 620, ms: 300, dbfs: -25, rate: 8000 });
    const mix = a.map((s, i) => s + b[i]);
    assert.ok(Math.abs(dominantHz(Int16Array.from(mix), 8000) - 480) <= 2);
  });

  it("calls silence silence", () => {
    assert.equal(rmsDbfs(new Int16Array(160)), -Infinity);
    assert.equal(dominantHz(new Int16Array(160), 8000), 0);
  });

  it("converts S16LE both ways, at any byte offset", () => {
    const pcm = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
    const le = int16ToS16le(pcm);
    assert.deepEqual([...le.subarray(0, 4)], [0, 0, 1, 0]);
    const shifted = Buffer.concat([Buffer.from([9]), le]).subarray(1);
    assert.deepEqual(s16leToInt16(shifted), pcm);
  });
});

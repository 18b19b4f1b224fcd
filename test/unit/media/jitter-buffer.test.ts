// The adaptive jitter buffer: order, duplicates, late packets, concealment, adaptation to underruns and to a level
// that stays high (the far end's clock running fast).
import assert from "node:assert/strict";
import { JitterBuffer } from "../../../src/media/jitter-buffer.js";

const N = 160;
const frame = (v: number): Int16Array => new Int16Array(N).fill(v);
const jb = (o: Partial<ConstructorParameters<typeof JitterBuffer>[0]> = {}): JitterBuffer => new JitterBuffer({ frameSamples: N, frameMs: 20, initialMs: 40, minMs: 20, maxMs: 200, shrinkAfter: 5, ...o });
const first = (pcm: Int16Array): number => pcm[0];

describe("jitter buffer", () => {
  it("waits for the target delay, then plays frames in timestamp order whatever order they came in", () => {
    const b = jb();
    b.push(1000, frame(1));
    assert.equal(first(b.pull()), 0, "silence until 40 ms are buffered");
    b.push(1000 + 2 * N, frame(3));
    b.push(1000 + N, frame(2));
    assert.deepEqual([b.pull(), b.pull(), b.pull()].map(first), [1, 2, 3]);
  });

  it("drops and counts duplicates and packets that come after their turn", () => {
    const b = jb();
    b.push(0, frame(1));
    b.push(0, frame(1));
    b.push(N, frame(2));
    b.pull();
    b.pull();
    b.push(0, frame(9)); // its turn is over
    const s = b.stats();
    assert.equal(s.duplicate, 1);
    assert.equal(s.late, 1);
  });

  it("conceals a lost frame by repeating the last one, fading, and goes on with the next", () => {
    const b = jb();
    b.push(0, frame(1000));
    b.push(N, frame(1000));
    b.push(3 * N, frame(7)); // 2N lost
    assert.deepEqual([b.pull(), b.pull(), b.pull(), b.pull()].map(first), [1000, 1000, 800, 7]);
    assert.equal(b.stats().concealed, 1);
  });

  it("raises the delay after an underrun, and cuts a multi-frame packet into frames", () => {
    const b = jb();
    const two = new Int16Array(2 * N).fill(5);
    b.push(0, two);
    assert.deepEqual([b.pull(), b.pull()].map(first), [5, 5]);
    b.pull(); // nothing came: underrun
    assert.equal(b.stats().underruns, 1);
    assert.equal(b.stats().targetMs, 60);
  });

  it("grows the delay when packets come after their turn: one concealment frame is played in place, then the stream goes on", () => {
    const b = jb();
    b.push(0, frame(100));
    b.push(N, frame(200));
    assert.deepEqual([b.pull(), b.pull()].map(first), [100, 200]);
    b.push(3 * N, frame(400));
    assert.equal(first(b.pull()), 160, "2N is missing: concealed (the last frame, faded)");
    b.push(2 * N, frame(300)); // 2N arrives after its turn: late
    assert.equal(b.stats().targetMs, 60, "one frame more delay");
    b.push(4 * N, frame(500));
    assert.deepEqual([b.pull(), b.pull(), b.pull()].map(first), [100, 400, 500], "a stretch frame (fading on), then the stream, 20 ms later than before");
    assert.equal(b.stats().late, 1);
  });

  it("shrinks a delay that stays above target (drift, calmer network) by dropping frames, down to the minimum", () => {
    const b = jb();
    for (let i = 0; i < 20; i++) b.push(i * N, frame(i));
    const played: number[] = [];
    for (let i = 0; i < 12; i++) played.push(first(b.pull()));
    const s = b.stats();
    assert.ok(s.dropped >= 1, "dropped a frame");
    assert.ok(s.targetMs < 40 || s.dropped >= 2, `delay shrank (${s.targetMs} ms)`);
    assert.ok(played.every((v, i) => i === 0 || v > played[i - 1]), "still in order");
  });

  it("handles the RTP timestamp wrapping around 2^32", () => {
    const b = jb();
    b.push(0xffffffff - N + 1, frame(1));
    b.push(0, frame(2));
    assert.deepEqual([b.pull(), b.pull()].map(first), [1, 2]);
  });
});

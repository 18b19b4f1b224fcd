// An adaptive jitter buffer for one RTP stream of fixed-size audio frames (G.711: 160 samples per 20 ms).
// Packets go in as they arrive (any order); the audio path pulls exactly one frame per period on its own clock.
//   - reordering: frames are kept by RTP timestamp and played in order;
//   - late (already played out) and duplicate packets are dropped and counted;
//   - loss: a missing frame is concealed by repeating the last one, fading out over three frames, then silence;
//   - adaptation: playout starts `targetMs` behind the first packet; an underrun (nothing to play though packets are
//     still coming) raises the target one frame, and a level that stays above target shrinks it by dropping a frame,
//     which also absorbs clock drift between the far end's sampling clock and ours.
// Pure: no timers; the caller decides when a period has passed.

export interface JitterStats {
  received: number;
  late: number;
  duplicate: number;
  /** Frames concealed (nothing arrived in time). */
  concealed: number;
  /** Frames dropped to shrink the delay (too much buffered, or drift). */
  dropped: number;
  underruns: number;
  /** The playout delay being aimed at, in ms. */
  targetMs: number;
  /** Audio waiting in the buffer now, in ms. */
  bufferedMs: number;
  /** The delay the buffer adds: audio waiting at each playout, averaged over about the last second (ms). */
  delayMs: number;
}

export interface JitterBufferOptions {
  /** Samples per frame (160 at 8 kHz / 20 ms). */
  frameSamples: number;
  /** Milliseconds per frame. */
  frameMs: number;
  /** RTP timestamp units per frame (default frameSamples; G.722 samples at 16 kHz but counts 8 kHz on the wire). */
  tsPerFrame?: number;
  /** Playout delay to start with (ms). */
  initialMs?: number;
  minMs?: number;
  maxMs?: number;
  /** Periods the level must stay high before the delay shrinks by one frame. */
  shrinkAfter?: number;
}

const FADE = [0.8, 0.5, 0.25];

export class JitterBuffer {
  private readonly frames = new Map<number, Int16Array>();
  /** The RTP timestamp of the next frame to play, once playout started. */
  private next: number | null = null;
  private readonly pending: Array<{ ts: number; pcm: Int16Array }> = [];
  private last: Int16Array | null = null;
  private lossRun = 0;
  private highFor = 0;
  private targetFrames: number;
  private readonly minFrames: number;
  private readonly maxFrames: number;
  private waitingToStart = true;
  /** Concealment frames still to play in place of real ones, to grow the delay after late packets. */
  private stretch = 0;
  /** Frames waiting at playout, smoothed (exponential, about 50 periods). */
  private meanLevel = 0;
  private readonly stat = { received: 0, late: 0, duplicate: 0, concealed: 0, dropped: 0, underruns: 0 };

  /** RTP timestamp units per frame. */
  private readonly step: number;

  constructor(private readonly o: JitterBufferOptions) {
    this.step = o.tsPerFrame ?? o.frameSamples;
    this.minFrames = Math.max(1, Math.round((o.minMs ?? o.frameMs) / o.frameMs));
    this.maxFrames = Math.max(this.minFrames, Math.round((o.maxMs ?? 300) / o.frameMs));
    this.targetFrames = Math.min(this.maxFrames, Math.max(this.minFrames, Math.round((o.initialMs ?? 40) / o.frameMs)));
  }

  /** A decoded packet with its RTP timestamp (any length: it is cut into frames). */
  push(timestamp: number, pcm: Int16Array): void {
    this.stat.received++;
    const n = this.o.frameSamples;
    for (let off = 0, k = 0; off + n <= pcm.length; off += n, k++) this.insert((timestamp + k * this.step) >>> 0, pcm.subarray(off, off + n));
  }

  private insert(ts: number, frame: Int16Array): void {
    if (this.next !== null && before(ts, this.next)) {
      // it came after its turn (it was concealed): the network's jitter is more than the delay we keep, so keep more,
      // by playing one concealment frame without moving on (20 ms more delay each time, up to the maximum)
      this.stat.late++;
      if (this.targetFrames < this.maxFrames) {
        this.targetFrames++;
        this.stretch++;
      }
      return;
    }
    if (this.frames.has(ts)) {
      this.stat.duplicate++;
      return;
    }
    this.frames.set(ts, frame);
  }

  /** Buffered frames from the playout point on (contiguous or not). */
  private level(): number {
    return this.frames.size;
  }

  /** The next frame to play (called once per period). Silence before the stream starts or after it dried up. */
  pull(): Int16Array {
    const n = this.o.frameSamples;
    if (this.waitingToStart) {
      if (this.level() < this.targetFrames) return new Int16Array(n);
      this.waitingToStart = false;
      this.next = this.oldest();
    }
    if (this.next === null) return new Int16Array(n);
    this.meanLevel += (this.level() - this.meanLevel) / 50;
    if (this.stretch > 0) {
      this.stretch--;
      this.highFor = 0;
      return this.conceal();
    }
    // too much buffered for too long (jitter calmed down, or the far end's clock runs fast): drop one frame
    if (this.level() > this.targetFrames + 1) {
      if (++this.highFor >= (this.o.shrinkAfter ?? 50)) {
        this.highFor = 0;
        this.frames.delete(this.next);
        this.next = (this.next + this.step) >>> 0;
        this.stat.dropped++;
        if (this.targetFrames > this.minFrames) this.targetFrames--;
      }
    } else this.highFor = 0;
    const frame = this.frames.get(this.next);
    if (frame) {
      this.frames.delete(this.next);
      this.next = (this.next + this.step) >>> 0;
      this.last = frame;
      this.lossRun = 0;
      return frame;
    }
    if (this.frames.size === 0) {
      // nothing at all: the far end stopped (hold, silence suppression) or the network stalled; start over later
      this.stat.underruns++;
      if (this.targetFrames < this.maxFrames) this.targetFrames++;
      this.waitingToStart = true;
      this.next = null;
      return this.conceal();
    }
    // a hole with later frames waiting: that frame was lost or is very late; conceal it and move on
    this.next = (this.next + this.step) >>> 0;
    return this.conceal();
  }

  private conceal(): Int16Array {
    const n = this.o.frameSamples;
    this.stat.concealed++;
    const gain = FADE[this.lossRun] ?? 0;
    this.lossRun++;
    if (!this.last || gain === 0) return new Int16Array(n);
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.round(this.last[i] * gain);
    return out;
  }

  private oldest(): number | null {
    let best: number | null = null;
    for (const ts of this.frames.keys()) if (best === null || before(ts, best)) best = ts;
    return best;
  }

  /** Forget the stream (a new SSRC, or a re-INVITE that changed it). */
  reset(): void {
    this.frames.clear();
    this.next = null;
    this.waitingToStart = true;
    this.last = null;
    this.lossRun = 0;
    this.stretch = 0;
  }

  stats(): JitterStats {
    return { ...this.stat, targetMs: this.targetFrames * this.o.frameMs, bufferedMs: this.level() * this.o.frameMs, delayMs: Math.round(this.meanLevel * this.o.frameMs) };
  }
}

/** RTP timestamp order with wrap-around (RFC 3550 serial arithmetic on 32 bits). */
function before(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

// Cuts a byte stream of S16LE mono PCM into frames of exactly N samples, carrying partial bytes across chunks.

export class PcmFrameSlicer {
  private carry: Buffer = Buffer.alloc(0);

  constructor(
    private readonly samplesPerFrame: number,
    private readonly onFrame: (frame: Int16Array) => void,
  ) {}

  push(chunk: Uint8Array): void {
    const bytesPerFrame = this.samplesPerFrame * 2;
    let buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (buf.length >= bytesPerFrame) {
      const frame = new Int16Array(this.samplesPerFrame);
      for (let i = 0; i < this.samplesPerFrame; i++) frame[i] = buf.readInt16LE(i * 2);
      this.onFrame(frame);
      buf = buf.subarray(bytesPerFrame);
    }
    this.carry = Buffer.from(buf);
  }

  /** Bytes waiting for the rest of their frame. */
  get pending(): number {
    return this.carry.length;
  }

  reset(): void {
    this.carry = Buffer.alloc(0);
  }
}

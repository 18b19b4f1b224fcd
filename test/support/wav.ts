// Reads a 16-bit PCM WAV file (what baresip's sndfile module records) into samples and their rate.
import { promises as fs } from "node:fs";

export async function readWav(file: string): Promise<{ rate: number; channels: number; pcm: Int16Array }> {
  const b = await fs.readFile(file);
  if (b.toString("ascii", 0, 4) !== "RIFF" || b.toString("ascii", 8, 12) !== "WAVE") throw new Error(`${file}: not a WAV file`);
  let rate = 0;
  let channels = 1;
  for (let off = 12; off + 8 <= b.length; ) {
    const id = b.toString("ascii", off, off + 4);
    // a recorder stopped early (or one whose file was reopened) may leave the data chunk's size unset: take what is there
    const declared = b.readUInt32LE(off + 4);
    const size = id === "data" && (declared === 0 || declared > b.length - off - 8) ? b.length - off - 8 : declared;
    if (id === "fmt ") {
      if (b.readUInt16LE(off + 8) !== 1 || b.readUInt16LE(off + 22) !== 16) throw new Error(`${file}: not 16-bit PCM`);
      channels = b.readUInt16LE(off + 10);
      rate = b.readUInt32LE(off + 12);
    } else if (id === "data") {
      const all = new Int16Array(b.buffer.slice(b.byteOffset + off + 8, b.byteOffset + off + 8 + (size & ~1)));
      const pcm = channels === 1 ? all : all.filter((_, i) => i % channels === 0);
      return { rate, channels, pcm };
    }
    off += 8 + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

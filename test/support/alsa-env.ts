// A private ALSA configuration per test: a fake microphone that plays a file, and a tap that records playback.
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface AlsaEnv {
  dir: string;
  /** Environment for arecord/aplay: HOME points at the dir holding .asoundrc. */
  env: NodeJS.ProcessEnv;
  micFile: string;
  playedFile: string;
  cleanup(): Promise<void>;
}

/**
 * `fake_mic`: capture returns micFile's bytes, then silence (the file plugin is unpaced: read only what you need).
 * `tap_out`: playback is written to playedFile byte for byte (padded to the period at the end).
 */
export async function makeAlsaEnv(): Promise<AlsaEnv> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "alsa-env-"));
  const micFile = path.join(dir, "mic.raw");
  const playedFile = path.join(dir, "played.raw");
  await fs.writeFile(micFile, Buffer.alloc(0));
  await fs.writeFile(
    path.join(dir, ".asoundrc"),
    `pcm.fake_mic {\n type file\n slave.pcm "null"\n file "/dev/null"\n infile "${micFile}"\n format "raw"\n}\n` +
      `pcm.tap_out {\n type file\n slave.pcm "null"\n file "${playedFile}"\n format "raw"\n}\n`,
  );
  return {
    dir,
    env: { ...process.env, HOME: dir },
    micFile,
    playedFile,
    cleanup: () => fs.rm(dir, { recursive: true, force: true }),
  };
}

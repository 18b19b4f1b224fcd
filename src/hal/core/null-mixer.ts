// The mixer of a board without one: every control change is refused with NOT_SUPPORTED.
import type { Mixer } from "../api/audio.js";
import { notSupported } from "../../base/errors.js";

export class NullMixer implements Mixer {
  readonly controls: readonly string[] = [];
  async setVolume(): Promise<void> {
    throw notSupported("volume control", "this board (no mixer)");
  }
  async getVolume(): Promise<number> {
    throw notSupported("volume control", "this board (no mixer)");
  }
  async setMute(): Promise<void> {
    throw notSupported("mute", "this board (no mixer)");
  }
  async close(): Promise<void> {}
}

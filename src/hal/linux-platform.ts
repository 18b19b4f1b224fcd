// The real platform: sysfs GPIO (onoff), /dev/i2c-N (i2c-bus), UARTs (serialport), /dev/input/event*, ALSA.
import type { Clock } from "../base/clock.js";
import type { Logger } from "../base/log.js";
import type { AudioDevice, Mixer } from "./api/audio.js";
import type { AudioConfig } from "./api/board.js";
import type { GpioChip } from "./api/gpio.js";
import type { I2cBus } from "./api/i2c.js";
import type { InputEventSource } from "./api/input-events.js";
import type { Platform } from "./api/platform.js";
import type { SerialLink } from "./api/serial.js";
import { openSysfsGpioChip } from "./drivers/gpio-sysfs.js";
import { openNodeI2cBus } from "./drivers/i2c-bus-node.js";
import { openNodeSerial } from "./drivers/serial-node.js";
import { openEvdev } from "./drivers/input-evdev.js";
import { AlsaAudioDevice } from "./drivers/alsa-audio.js";
import { AlsaMixer } from "./drivers/alsa-mixer.js";
import { NullMixer } from "./core/null-mixer.js";

export class LinuxPlatform implements Platform {
  readonly kind = "linux" as const;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  openGpioChip(labels: readonly string[]): Promise<GpioChip> {
    return openSysfsGpioChip(labels, { clock: this.clock });
  }

  openI2c(bus: number): Promise<I2cBus> {
    return openNodeI2cBus(bus);
  }

  openSerial(path: string, baudRate: number): Promise<SerialLink> {
    return openNodeSerial(path, baudRate);
  }

  openInput(path: string): Promise<InputEventSource> {
    return openEvdev(path);
  }

  audioDevice(role: string, audio: AudioConfig): AudioDevice {
    const p = audio.paths[role as keyof AudioConfig["paths"]] ?? {};
    return new AlsaAudioDevice({ name: role, capturePcm: p.capture, playbackPcm: p.playback, bufferMs: audio.bufferMs, clock: this.clock, log: this.log });
  }

  mixer(audio: AudioConfig): Mixer {
    if (audio.mixer.driver === "none") return new NullMixer();
    return new AlsaMixer({ card: audio.mixer.card, controls: audio.mixer.controls });
  }

  async close(): Promise<void> {
    // Buses and lines are owned and closed by the devices built on them.
  }
}

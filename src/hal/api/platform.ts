// Where drivers get their buses: real Linux devices, or the chip emulators of the simulated board.
import type { AudioDevice, Mixer } from "./audio.js";
import type { AudioConfig } from "./board.js";
import type { GpioChip } from "./gpio.js";
import type { I2cBus } from "./i2c.js";
import type { InputEventSource } from "./input-events.js";
import type { SerialLink } from "./serial.js";

export interface Platform {
  readonly kind: "linux" | "emulated";
  /** The first chip whose label is in `labels` (board order). Fails with PHONE_ERR_GPIO_CHIP_NOT_FOUND. */
  openGpioChip(labels: readonly string[]): Promise<GpioChip>;
  /** Fails with PHONE_ERR_DEVICE_ABSENT when /dev/i2c-N does not exist. */
  openI2c(bus: number): Promise<I2cBus>;
  openSerial(path: string, baudRate: number): Promise<SerialLink>;
  openInput(path: string): Promise<InputEventSource>;
  audioDevice(role: string, audio: AudioConfig): AudioDevice;
  mixer(audio: AudioConfig): Mixer;
  close(): Promise<void>;
}

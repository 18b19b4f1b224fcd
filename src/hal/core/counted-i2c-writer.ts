// Writes to one I2C device and counts transfers, bytes and failures, for benchmarks and diagnostics.
import type { I2cBus } from "../api/i2c.js";

export interface I2cWriteStats {
  /** I2C write transfers sent (successful or not). */
  writes: number;
  /** Bytes in those transfers, control bytes included. */
  bytes: number;
  /** Transfers that failed. */
  errors: number;
}

export class CountedI2cWriter {
  private readonly io: I2cWriteStats = { writes: 0, bytes: 0, errors: 0 };

  constructor(
    private readonly bus: I2cBus,
    private readonly address: number,
  ) {}

  async write(bytes: readonly number[]): Promise<void> {
    this.io.writes++;
    this.io.bytes += bytes.length;
    try {
      await this.bus.write(this.address, Uint8Array.from(bytes));
    } catch (e) {
      this.io.errors++;
      throw e;
    }
  }

  get stats(): Readonly<I2cWriteStats> {
    return { ...this.io };
  }
}

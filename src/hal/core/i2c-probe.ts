// The start-up check every I2C chip driver makes: opening a bus proves nothing, so ask the chip to acknowledge.
import { PhoneError, ErrorCodes } from "../../base/errors.js";
import type { I2cBus } from "../api/i2c.js";

/**
 * Resolves when a device acknowledges `address`; otherwise throws PHONE_ERR_DEVICE_ABSENT naming the part, the
 * address and the bus, with a hint for the person at the bench. A bus error during the probe counts as absent
 * (nothing usable answered) and its text is kept in the details.
 */
export async function probeOrAbsent(bus: I2cBus, address: number, part: string, hint: string): Promise<void> {
  let present = false;
  let failure: string | undefined;
  try {
    present = await bus.probe(address);
  } catch (e) {
    failure = (e as Error).message;
  }
  if (!present)
    throw new PhoneError(ErrorCodes.DEVICE_ABSENT, `no ${part} answers at 0x${address.toString(16)} on /dev/i2c-${bus.bus} (${hint})`, {
      bus: bus.bus,
      address,
      part,
      ...(failure ? { probeError: failure } : {}),
    });
}

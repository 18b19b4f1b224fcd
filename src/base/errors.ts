// Errors with stable codes: code for programs and logs, message in plain words for people.

/** Every code the runtime can raise. Codes are API: add, never rename. */
export const ErrorCodes = {
  // configuration and board
  BOARD_INVALID: "PHONE_ERR_BOARD_INVALID",
  BOARD_NOT_FOUND: "PHONE_ERR_BOARD_NOT_FOUND",
  UNKNOWN_DRIVER: "PHONE_ERR_UNKNOWN_DRIVER",
  CONFIG_INVALID: "PHONE_ERR_CONFIG_INVALID",
  // devices and buses
  DEVICE_ABSENT: "PHONE_ERR_DEVICE_ABSENT",
  DEVICE_BUSY: "PHONE_ERR_DEVICE_BUSY",
  DEVICE_CLOSED: "PHONE_ERR_DEVICE_CLOSED",
  PERMISSION: "PHONE_ERR_PERMISSION",
  GPIO_UNAVAILABLE: "PHONE_ERR_GPIO_UNAVAILABLE",
  GPIO_CHIP_NOT_FOUND: "PHONE_ERR_GPIO_CHIP_NOT_FOUND",
  I2C_NACK: "PHONE_ERR_I2C_NACK",
  I2C_IO: "PHONE_ERR_I2C_IO",
  SERIAL_TIMEOUT: "PHONE_ERR_SERIAL_TIMEOUT",
  SERIAL_PROTOCOL: "PHONE_ERR_SERIAL_PROTOCOL",
  SERIAL_NAK: "PHONE_ERR_SERIAL_NAK",
  AUDIO_DEVICE: "PHONE_ERR_AUDIO_DEVICE",
  AUDIO_XRUN: "PHONE_ERR_AUDIO_XRUN",
  MIXER: "PHONE_ERR_MIXER",
  // control protocol and UI
  NOT_SUPPORTED: "PHONE_ERR_NOT_SUPPORTED",
  UNKNOWN_KEY: "PHONE_ERR_UNKNOWN_KEY",
  UNKNOWN_LED: "PHONE_ERR_UNKNOWN_LED",
  BAD_REQUEST: "PHONE_ERR_BAD_REQUEST",
  TIMEOUT: "PHONE_ERR_TIMEOUT",
  // storage
  STORE_IO: "PHONE_ERR_STORE_IO",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class PhoneError extends Error {
  readonly code: ErrorCode;
  /** Structured facts for logs and the control protocol; never secrets. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PhoneError";
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isPhoneError(e: unknown, code?: ErrorCode): e is PhoneError {
  return e instanceof PhoneError && (code === undefined || e.code === code);
}

/** Thrown where a driver lacks an optional operation (STYLE habit 2). */
export function notSupported(what: string, by: string): PhoneError {
  return new PhoneError(ErrorCodes.NOT_SUPPORTED, `${by} does not support ${what}`, { what, by });
}

/** The errno-style code of a Node system error, if any. */
export function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

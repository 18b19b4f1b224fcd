// An I2C bus as plain transfers. Drivers speak their chip's protocol over this and nothing else.

export interface I2cBus {
  readonly bus: number;
  /** One write transfer: START, addr+W, bytes, STOP. Rejects with PHONE_ERR_I2C_NACK or PHONE_ERR_I2C_IO. */
  write(addr: number, data: Uint8Array): Promise<void>;
  /** One read transfer of `length` bytes. */
  read(addr: number, length: number): Promise<Uint8Array>;
  /** Write then read with a repeated start (register read). */
  writeRead(addr: number, data: Uint8Array, length: number): Promise<Uint8Array>;
  /** True when a device acknowledges its address. Used at start: opening a bus proves nothing. */
  probe(addr: number): Promise<boolean>;
  close(): Promise<void>;
}

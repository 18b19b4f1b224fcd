// TCA8418 keypad scan controller: register map, bit fields and key-event encoding (TI SCPS215G), for driver and emulator.
// Register and bit names are the datasheet's register map; Linux drivers/input/keyboard/tca8418_keypad.c uses the same.
import { PhoneError, ErrorCodes } from "../../base/errors.js";

/** Register addresses. Only those the driver or the emulator touch are named. */
export const TCA8418_REG = {
  CFG: 0x01,
  INT_STAT: 0x02,
  KEY_LCK_EC: 0x03,
  KEY_EVENT_A: 0x04,
  KEY_EVENT_J: 0x0d,
  GPIO_INT_STAT1: 0x11,
  GPIO_DAT_STAT1: 0x14,
  KP_GPIO1: 0x1d,
  KP_GPIO2: 0x1e,
  KP_GPIO3: 0x1f,
  GPIO_PULL3: 0x2e,
} as const;

/** CFG (0x01) bits. */
export const TCA8418_CFG = { AI: 0x80, GPI_E_CFG: 0x40, OVR_FLOW_M: 0x20, INT_CFG: 0x10, OVR_FLOW_IEN: 0x08, K_LCK_IEN: 0x04, GPI_IEN: 0x02, KE_IEN: 0x01 } as const;

/** INT_STAT (0x02) bits; write 1 to clear. */
export const TCA8418_INT = { CAD: 0x10, OVR_FLOW: 0x08, K_LCK: 0x04, GPI: 0x02, K_INT: 0x01 } as const;
/** Every INT_STAT bit (the top three are reserved). */
export const TCA8418_INT_ALL = 0x1f;

/** KEY_LCK_EC (0x03): K_LCK_EN/LCK2/LCK1 in bits 6-4, KEC (events in the FIFO) in bits 3-0. */
export const TCA8418_KEY_LCK_EC = { LOCK_BITS: 0x70, KEC: 0x0f } as const;

/** A KEY_EVENT byte: bit 7 set for a press, clear for a release; bits 6-0 the key number. */
export const TCA8418_EVENT = { PRESS: 0x80, KEY: 0x7f } as const;

/** Key events the FIFO holds (KEY_EVENT_A..J). */
export const TCA8418_FIFO_DEPTH = 10;
/** The scan matrix: ROW0-7 by COL0-9. */
export const TCA8418_ROWS = 8;
export const TCA8418_COLS = 10;

/** Key number as the chip reports it: row * 10 + col + 1 (1..80). Throws for a position outside the matrix. */
export function tca8418KeyNumber(row: number, col: number): number {
  if (!Number.isInteger(row) || !Number.isInteger(col) || row < 0 || row >= TCA8418_ROWS || col < 0 || col >= TCA8418_COLS)
    throw new PhoneError(ErrorCodes.BAD_REQUEST, `TCA8418 has rows 0-${TCA8418_ROWS - 1} and columns 0-${TCA8418_COLS - 1}, not (${row}, ${col})`, { row, col });
  return row * TCA8418_COLS + col + 1;
}

/**
 * Key number 1..80 -> matrix position, decoded like tca8418_keypad.c (a column of 0 means column 9 of the row
 * before). Numbers above 80 are GPI events, and 0 is an empty FIFO slot: neither is a key.
 */
export function tca8418KeyPosition(keyNumber: number): { row: number; col: number } | undefined {
  if (!Number.isInteger(keyNumber) || keyNumber < 1 || keyNumber > TCA8418_ROWS * TCA8418_COLS) return undefined;
  let row = Math.floor(keyNumber / TCA8418_COLS);
  let col = keyNumber % TCA8418_COLS;
  if (col === 0) {
    row -= 1;
    col = TCA8418_COLS - 1;
  } else {
    col -= 1;
  }
  return { row, col };
}

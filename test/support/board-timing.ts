// The timing block of the shipped boards, for tests that build a device without loading a board file.
import type { BoardTiming } from "../../src/hal/api/board.js";

export const TEST_TIMING: BoardTiming = {
  debounceMs: 20,
  hookFlashMinMs: 80,
  hookFlashMaxMs: 700,
  longPressMs: 800,
  scanIntervalMs: 5,
  ledSlowMs: 500,
  ledFastMs: 125,
  ledWinkOnMs: 100,
  ledWinkOffMs: 900,
};

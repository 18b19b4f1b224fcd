// Indicator LEDs on plain GPIO outputs: the shared LedBlinker turns modes into levels on each line.
import type { Clock } from "../../base/clock.js";
import type { BoardLine, BoardTiming } from "../api/board.js";
import type { GpioChip, GpioLine } from "../api/gpio.js";
import type { Leds } from "../api/leds.js";
import { LedBlinker } from "../core/led-blinker.js";

/** One output per LED id; logical 1 = lit (the board's activeLow covers LEDs wired to sink current). */
export function createGpioLeds(chip: GpioChip, leds: Record<string, BoardLine>, clock: Clock, timing: BoardTiming): Leds {
  const lines = new Map<string, GpioLine>();
  let closed = false;
  const closeAll = (): void => {
    closed = true;
    for (const l of lines.values()) l.close();
  };
  try {
    for (const [id, bl] of Object.entries(leds)) {
      // initial 0: every LED starts dark, with no flash of light while the phone boots.
      lines.set(id, chip.request({ line: bl.line, direction: "out", initial: 0, activeLow: bl.activeLow, bias: bl.bias, consumer: `LED ${id}` }));
    }
  } catch (e) {
    closeAll();
    throw e;
  }
  return new LedBlinker(
    [...lines.keys()],
    clock,
    timing,
    // LedBlinker.close() turns LEDs off on every call; after the first the lines are gone, so close stays idempotent.
    (id, lit) => {
      if (!closed) lines.get(id)?.write(lit ? 1 : 0);
    },
    async () => closeAll(),
  );
}

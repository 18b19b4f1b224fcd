// bench/hal: key press at an emulator -> key event at the HAL API (p50/p99) for every keypad path, and a full screen
// written to the HD44780 and SSD1306 emulators (time and I2C bytes per frame). Prints its figures; asserts nothing.
import { performance } from "node:perf_hooks";
import { createSystemClock } from "../../src/base/clock.js";
import { silentLogger } from "../../src/base/log.js";
import { loadBoard } from "../../src/hal/board-loader.js";
import { buildDevices } from "../../src/hal/boards.js";
import { SimPlatform } from "../../src/hal/emul/sim-platform.js";
import { openEvdev } from "../../src/hal/drivers/input-evdev.js";
import type { BoardProfile } from "../../src/hal/api/board.js";
import { EmulatedI2cBus } from "../../src/hal/emul/i2c-bus-emul.js";
import { Hd44780Pcf8574Emul } from "../../src/hal/emul/hd44780-pcf8574-emul.js";
import { Ssd1306Emul } from "../../src/hal/emul/ssd1306-emul.js";
import { Hd44780Pcf8574Display } from "../../src/hal/drivers/hd44780-pcf8574.js";
import { Ssd1306Display } from "../../src/hal/drivers/ssd1306.js";
import { ManualClock } from "../../src/base/clock.js";

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);

async function keyLatency(label: string, board: BoardProfile, presses: number): Promise<void> {
  const clock = createSystemClock();
  const sim = await SimPlatform.create(board, { clock, openInput: (p) => openEvdev(p) });
  const dev = await buildDevices(board, sim, clock, silentLogger());
  const keys = sim.keys().filter((k) => /^[0-9]$/.test(k));
  const down: number[] = [];
  const up: number[] = [];
  for (let i = 0; i < presses; i++) {
    const key = keys[i % keys.length];
    for (const [isDown, into] of [[true, down], [false, up]] as const) {
      const got = new Promise<void>((resolve) => {
        const off = dev.keypad.onKey((ev) => {
          if (ev.key === key && ev.down === isDown && !ev.long) {
            off();
            resolve();
          }
        });
      });
      const t0 = performance.now();
      if (isDown) await sim.keyDown(key);
      else await sim.keyUp(key);
      await got;
      into.push(performance.now() - t0);
    }
  }
  await dev.close();
  await sim.close();
  console.log(
    `key ${label.padEnd(34)} n=${presses}  down p50 ${fmt(pct(down, 50))} p99 ${fmt(pct(down, 99))}   up p50 ${fmt(pct(up, 50))} p99 ${fmt(pct(up, 99))}`,
  );
}

async function screens(): Promise<void> {
  const frames = 200;
  const clock = new ManualClock();
  // HD44780 20x4: every frame changes all 80 characters
  {
    const bus = new EmulatedI2cBus(1);
    const emu = new Hd44780Pcf8574Emul({ cols: 20, rows: 4 });
    bus.attach(0x27, emu);
    const opening = Hd44780Pcf8574Display.open(bus, { address: 0x27, cols: 20, rows: 4, clock });
    await clock.advanceAsync(200);
    const lcd = await opening;
    const before = bus.stats();
    const times: number[] = [];
    for (let i = 0; i < frames; i++) {
      const ch = String.fromCharCode(65 + (i % 26));
      const lines = [0, 1, 2, 3].map((r) => `${ch}${r}`.repeat(10));
      const t0 = performance.now();
      await lcd.show(lines);
      times.push(performance.now() - t0);
      if (emu.text()[3] !== lines[3]) throw new Error("HD44780 emulator does not show what was written");
    }
    const after = bus.stats();
    const bytes = (after.bytesWritten - before.bytesWritten) / frames;
    const tx = (after.transactions - before.transactions) / frames;
    console.log(`screen HD44780 20x4 full change          p50 ${fmt(pct(times, 50))} p99 ${fmt(pct(times, 99))}  ${bytes.toFixed(0)} I2C bytes/frame in ${tx.toFixed(0)} transfers (~${((bytes * 9) / 100).toFixed(1)} ms on a 100 kHz bus)`);
    const one: number[] = [];
    const b2 = bus.stats();
    for (let i = 0; i < frames; i++) {
      const lines = emu.text();
      lines[0] = `Hardware check ${String(i % 100).padStart(2, "0")}:00`.slice(0, 20);
      const t0 = performance.now();
      await lcd.show(lines);
      one.push(performance.now() - t0);
    }
    const a2 = bus.stats();
    console.log(`screen HD44780 20x4 clock digits change  p50 ${fmt(pct(one, 50))} p99 ${fmt(pct(one, 99))}  ${((a2.bytesWritten - b2.bytesWritten) / frames).toFixed(0)} I2C bytes/frame`);
    await lcd.close();
  }
  // SSD1306 128x64: full frames (all pages dirty), then one text line (one page dirty)
  {
    const bus = new EmulatedI2cBus(1);
    const emu = new Ssd1306Emul({ width: 128, height: 64 });
    bus.attach(0x3c, emu);
    const opening = Ssd1306Display.open(bus, { address: 0x3c, width: 128, height: 64, clock });
    await clock.advanceAsync(200);
    const oled = await opening;
    const full: number[] = [];
    const b0 = bus.stats();
    for (let i = 0; i < frames; i++) {
      const pixels = new Uint8Array(128 * 64);
      for (let p = 0; p < pixels.length; p++) pixels[p] = (p + i) % 3 === 0 ? 1 : 0;
      const t0 = performance.now();
      await oled.present({ width: 128, height: 64, pixels });
      full.push(performance.now() - t0);
    }
    const a0 = bus.stats();
    const fb = (a0.bytesWritten - b0.bytesWritten) / frames;
    console.log(`screen SSD1306 128x64 full frame         p50 ${fmt(pct(full, 50))} p99 ${fmt(pct(full, 99))}  ${fb.toFixed(0)} I2C bytes/frame (~${((fb * 9) / 400).toFixed(1)} ms at 400 kHz)`);
    const part: number[] = [];
    const base = new Uint8Array(128 * 64);
    const b1 = bus.stats();
    for (let i = 0; i < frames; i++) {
      const pixels = base.slice();
      for (let x = 0; x < 40; x++) pixels[9 * 128 + x] = (x + i) % 2;
      const t0 = performance.now();
      await oled.present({ width: 128, height: 64, pixels });
      part.push(performance.now() - t0);
    }
    const a1 = bus.stats();
    console.log(`screen SSD1306 128x64 one line changed   p50 ${fmt(pct(part, 50))} p99 ${fmt(pct(part, 99))}  ${((a1.bytesWritten - b1.bytesWritten) / frames).toFixed(0)} I2C bytes/frame`);
    await oled.close();
  }
}

async function main(): Promise<void> {
  console.log(`bench/hal on node ${process.version}, ${process.arch}`);
  const sim = await loadBoard("sim");
  await keyLatency("tca8418 (I2C + INT on GPIO) [sim]", sim, 1000);
  const gpio = await loadBoard("rpi-gpio");
  await keyLatency(`gpio matrix (debounce ${gpio.timing.debounceMs} ms) [rpi-gpio]`, gpio, 100);
  const evdev: BoardProfile = {
    ...gpio,
    id: "bench-evdev",
    keypad: { driver: "evdev", device: "/dev/input/by-path/platform-matrix-keypad-event", keymap: Object.fromEntries([..."0123456789"].map((d) => [`KEY_${d}`, d])) },
  };
  await keyLatency("evdev (input_event via FIFO)", evdev, 1000);
  const fp = await loadBoard("rpi-frontpanel");
  await keyLatency("front panel (fp-slip-v1, in-memory UART)", fp, 1000);
  await screens();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

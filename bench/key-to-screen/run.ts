// bench/key-to-screen: a control-protocol press_key sent over TCP until the emulated LCD's display RAM shows the
// change, p50/p99 over 1,000 presses, with the runtime's phone core and screen presenter drawing it. Presses
// alternate "5" (idle -> dialling "5") and END (back to idle), so every press changes the screen.
import * as net from "node:net";
import { performance } from "node:perf_hooks";
import { createSystemClock } from "../../src/base/clock.js";
import { silentLogger } from "../../src/base/log.js";
import { loadBoard } from "../../src/hal/board-loader.js";
import { buildDevices } from "../../src/hal/boards.js";
import { SimPlatform } from "../../src/hal/emul/sim-platform.js";
import { ControlServer } from "../../src/control/control-server.js";
import { SimTarget } from "../../src/control/sim-target.js";
import { ScreenPresenter } from "../../firmware/screen-presenter.js";
import { PhoneShell } from "../../src/phone/shell.js";
import { viewOf } from "../../src/ui/view-model.js";

const N = 1000;
const clock = createSystemClock();
const board = await loadBoard("sim");
const sim = await SimPlatform.create(board, { clock });
const dev = await buildDevices(board, sim, clock, silentLogger());
const phone = new PhoneShell(dev, clock, { dialPlan: { emergencyNumbers: ["911"], outsideLinePrefix: "9", extensionLength: 4 }, lockPin: null, interdigitMs: 4000 }, silentLogger());
const presenter = new ScreenPresenter(dev.display, () => viewOf(phone.state, { clock: "12:00", lineName: "bench" }), clock, silentLogger());
phone.onState(() => void presenter.draw());
phone.start();
await presenter.start();
const target = new SimTarget(sim, { clock, keypad: dev.keypad, hook: dev.hook, firmware: "bench" });
const server = new ControlServer(target, clock);
const addr = await server.listen("tcp:127.0.0.1:0");
const sock = net.connect(Number(addr.split(":")[2]), "127.0.0.1");
await new Promise((r) => sock.once("connect", r));
sock.setNoDelay(true);

const rows = (): string => {
  const s = sim.screen();
  return s.kind === "text" ? s.rows.join("\n") : "";
};
const times: number[] = [];
for (let i = 0; i < N; i++) {
  const key = i % 2 === 0 ? "5" : "END";
  const before = rows();
  const t0 = performance.now();
  sock.write(JSON.stringify({ token: i, command: "press_key", params: { key, holdMs: 0 } }) + "\n");
  while (rows() === before) await new Promise((r) => setImmediate(r));
  times.push(performance.now() - t0);
  // let the press finish (key up) before the next one
  await new Promise<void>((resolve) => {
    const onData = (d: Buffer): void => {
      if (d.toString().includes(`"token":${i},`)) {
        sock.off("data", onData);
        resolve();
      }
    };
    sock.on("data", onData);
  });
}
const s = [...times].sort((a, b) => a - b);
const q = (p: number): number => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
console.log(`key-to-screen (control press_key over TCP -> HD44780 display RAM changed), n=${N}: p50 ${q(50).toFixed(2)} ms  p99 ${q(99).toFixed(2)} ms  max ${s.at(-1)!.toFixed(2)} ms`);
sock.destroy();
await server.close();
target.close();
presenter.stop();
phone.stop();
await dev.close();
await sim.close();
process.exit(0);

// `phone` entry: parse arguments, load the board, build the devices on the real or simulated platform, run, stop cleanly.
import { parseArgs } from "node:util";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { createSystemClock } from "../src/base/clock.js";
import { createLogger } from "../src/base/log.js";
import { isPhoneError } from "../src/base/errors.js";
import { loadBoard } from "../src/hal/board-loader.js";
import { buildDevices } from "../src/hal/boards.js";
import type { Platform } from "../src/hal/api/platform.js";
import { LinuxPlatform } from "../src/hal/linux-platform.js";
import { SimPlatform } from "../src/hal/emul/sim-platform.js";
import { openEvdev } from "../src/hal/drivers/input-evdev.js";
import { chooseBoard } from "./board-choice.js";
import { Lifecycle } from "./lifecycle.js";
import { ScreenPresenter } from "./screen-presenter.js";
import { PhoneShell } from "../src/phone/shell.js";
import { summarize } from "../src/phone/core/reduce.js";
import { viewOf } from "../src/ui/view-model.js";
import type { PhoneConfig } from "../src/phone/core/phone-state.js";
import { SimTerminal } from "./sim-terminal.js";
import { ControlServer } from "../src/control/control-server.js";
import { SimTarget } from "../src/control/sim-target.js";
import { FaceServer } from "../src/web/face-server.js";

const USAGE = `usage: phone [--board NAME|FILE] [--emulate] [--control SPEC]... [--data-dir DIR] [--log-level LEVEL] [--no-terminal]

  --board NAME|FILE   board profile: a name from board/ (sim, rpi-gpio, rpi-i2c, rpi-frontpanel) or a .json path
  --emulate           run the board's drivers against chip emulators instead of real hardware
  --control SPEC      control protocol listener: tcp:HOST:PORT, tcp:PORT (loopback) or unix:/path; repeatable;
                      default tcp:127.0.0.1:7070 on the simulated board, none on hardware; "none" turns it off
  --web SPEC          the phone's face (HTTP + WebSocket): tcp:HOST:PORT; default tcp:127.0.0.1:8080 on the
                      simulated board; "none" turns it off
  --data-dir DIR      where the phone keeps its state (default ./.phone-data)
  --log-level LEVEL   trace, debug, info, warn, error (default info)
  --no-terminal       on the simulated board, do not draw the phone in this terminal
`;

const FIRMWARE = "deskphone 0.1.0";

/** Until provisioning delivers a config bundle (issue 6): US emergency numbers, "9" for an outside line, 4-digit
 * extensions, no lock PIN (phone lock stays off until one is configured). */
const DEFAULT_PHONE_CONFIG: PhoneConfig = {
  dialPlan: { emergencyNumbers: ["911", "112"], emergencyMasks: { "112": "911" }, outsideLinePrefix: "9", extensionLength: 4 },
  lockPin: null,
  interdigitMs: 4000,
};

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        board: { type: "string" },
        emulate: { type: "boolean", default: false },
        control: { type: "string", multiple: true },
        web: { type: "string" },
        "data-dir": { type: "string", default: ".phone-data" },
        "log-level": { type: "string", default: "info" },
        "no-terminal": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`phone: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const clock = createSystemClock();
  const terminal = !args["no-terminal"] && process.stdout.isTTY && process.stdin.isTTY;
  const log = createLogger({ level: terminal ? "warn" : args["log-level"] });
  const life = new Lifecycle(log);

  const choice = await chooseBoard(args.board, process.env);
  const board = await loadBoard(choice.board);
  const dataDir = path.resolve(args["data-dir"]);
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const emulated = board.id === "sim" || args.emulate;
  log.info({ board: board.id, why: choice.why, emulated, dataDir }, "starting");

  let platform: Platform;
  let sim: SimPlatform | undefined;
  if (emulated) platform = sim = await SimPlatform.create(board, { clock, openInput: (p) => openEvdev(p) });
  else platform = new LinuxPlatform(clock, log);
  life.started("platform", () => platform.close());

  const devices = await buildDevices(board, platform, clock, log);
  life.started("devices", () => devices.close());
  const phone = new PhoneShell(devices, clock, DEFAULT_PHONE_CONFIG, log);
  const hhmm = (): string => {
    const d = new Date(clock.wallNow());
    return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  };
  const presenter = new ScreenPresenter(devices.display, () => viewOf(phone.state, { clock: hhmm(), lineName: "Not provisioned" }), clock, log);
  phone.onState(() => void presenter.draw());
  phone.start();
  await presenter.start();
  life.started("phone", () => {
    presenter.stop();
    phone.stop();
  });

  const specs = (args.control ?? (sim ? ["tcp:127.0.0.1:7070"] : [])).filter((c) => c !== "none");
  const web = args.web ?? (sim ? "tcp:127.0.0.1:8080" : "none");
  let banner = "";
  if (specs.length || web !== "none") {
    if (!sim) throw new Error("the control protocol on real hardware needs a test jig, which this version does not drive yet");
    const target = new SimTarget(sim, { clock, keypad: devices.keypad, hook: devices.hook, firmware: FIRMWARE, phoneState: () => summarize(phone.state) });
    const control = new ControlServer(target, clock, log);
    life.started("control", async () => {
      await control.close();
      target.close();
    });
    for (const spec of specs) process.stdout.write(`control: listening on ${await control.listen(spec)}\n`);
    if (web !== "none") {
      const face = new FaceServer(control);
      const url = await face.listen(web);
      life.started("phone face", () => face.close());
      banner = `phone face: ${url}  (open it in a browser)`;
      process.stdout.write(banner + "\n");
    }
  }

  const stop = (): void => {
    void life.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);

  if (sim && terminal) {
    const face = new SimTerminal(sim, clock, process.stdout, process.stdin, stop, banner);
    face.start();
    life.started("terminal", () => face.stop());
  } else {
    process.stdout.write(`phone: running board '${board.id}' (${board.model})${emulated ? " on chip emulators" : ""}; Ctrl-C stops\n`);
  }
  return -1; // keep running
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e: unknown) => {
    const msg = isPhoneError(e) ? `${e.code}: ${e.message}` : (e as Error)?.stack ?? String(e);
    process.stderr.write(`phone: cannot start: ${msg}\n`);
    process.exit(1);
  },
);

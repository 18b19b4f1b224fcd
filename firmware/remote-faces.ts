// The simulated phone's remote faces: the control protocol (--control: rigs and tests drive the keypad and read the
// screen and the phone's state) and the phone's web face (--web: the phone in a browser, IT's status and location
// pages). Both drive the chip emulators, so they run on the emulated board only.
import type { Clock } from "../src/base/clock.js";
import type { Logger } from "../src/base/log.js";
import type { HookSwitch } from "../src/hal/api/hook.js";
import type { Keypad } from "../src/hal/api/keypad.js";
import type { SimPlatform } from "../src/hal/emul/sim-platform.js";
import type { MediaEngine } from "../src/media/media-engine.js";
import type { PhoneShell } from "../src/phone/shell.js";
import { summarize } from "../src/phone/core/reduce.js";
import { ControlServer } from "../src/control/control-server.js";
import { SimTarget } from "../src/control/sim-target.js";
import { FaceServer } from "../src/web/face-server.js";
import { civicLine } from "../src/location/pidf-lo.js";
import type { BundleAccount } from "../src/provisioning/config-bundle.js";
import { readReport } from "../src/provisioning/device-store.js";
import type { PhoneLocation } from "./emergency-setup.js";
import type { Lifecycle } from "./lifecycle.js";

export interface RemoteFacesOptions {
  /** The emulated board; undefined on real hardware. */
  sim: SimPlatform | undefined;
  /** --control, as given (undefined: the default). */
  control: string[] | undefined;
  /** --web, as given (undefined: the default). */
  web: string | undefined;
  clock: Clock;
  keypad: Keypad;
  hook: HookSwitch;
  firmware: string;
  phone: PhoneShell;
  /** The line's account (the bundle's first), if any. */
  account(): BundleAccount | undefined;
  media: MediaEngine;
  dataDir: string;
  location: PhoneLocation;
  /** A civic address typed on the admin page; resolves with what was wrong, or null. */
  setManualLocation(civic: Record<string, string>): Promise<string | null>;
  life: Lifecycle;
  log: Logger;
}

/** Starts the listeners asked for (each address printed on stdout); resolves with the web face's banner ("" without). */
export async function startRemoteFaces(o: RemoteFacesOptions): Promise<string> {
  const { sim, clock, phone, media, dataDir, location, setManualLocation, life, log } = o;
  const specs = (o.control ?? (sim ? ["tcp:127.0.0.1:7070"] : [])).filter((c) => c !== "none");
  const web = o.web ?? (sim ? "tcp:127.0.0.1:8080" : "none");
  let banner = "";
  if (specs.length || web !== "none") {
    if (!sim) throw new Error("the control protocol on real hardware needs a test jig, which this version does not drive yet");
    const target = new SimTarget(sim, {
      clock,
      keypad: o.keypad,
      hook: o.hook,
      firmware: o.firmware,
      phoneState: () => {
        const account = o.account();
        return {
          ...summarize(phone.state),
          provisioned: Boolean(account),
          extension: account?.user ?? null,
          lines: account ? [{ id: 1, extension: account.user, name: account.displayName ?? null, registration: phone.state.registration.state }] : [],
          media: [...media.sessions].map((m) => m.mediaStats()),
        };
      },
    });
    let lastCalls = "";
    let lastReg = "";
    phone.onState((st) => {
      const sum = summarize(st);
      const calls = JSON.stringify(sum.calls);
      if (calls !== lastCalls) target.publish("call", { calls: sum.calls as unknown as Record<string, unknown> });
      const reg = JSON.stringify(sum.registration);
      if (reg !== lastReg) target.publish("registration", sum.registration as Record<string, unknown>);
      lastCalls = calls;
      lastReg = reg;
    });
    const control = new ControlServer(target, clock, log);
    life.started("control", async () => {
      await control.close();
      target.close();
    });
    for (const spec of specs) process.stdout.write(`control: listening on ${await control.listen(spec)}\n`);
    if (web !== "none") {
      const face = new FaceServer(control, async () => ({ about: phone.state.about, report: await readReport(dataDir) }), {
        status: async () => {
          const s = location.current;
          const cur = s?.current();
          return {
            current: cur ? { text: cur.text, source: cur.source } : null,
            network: location.networkName(),
            manual: Object.entries(s?.manualEntries() ?? {}).map(([network, m]) => ({ network, text: civicLine(m.civic) })),
          };
        },
        setManual: (civic) => setManualLocation(civic),
        clearManual: async () => {
          await location.current?.clearManual();
        },
      });
      const url = await face.listen(web);
      life.started("phone face", () => face.close());
      banner = `phone face: ${url}  (open it in a browser)`;
      process.stdout.write(banner + "\n");
    }
  }
  return banner;
}

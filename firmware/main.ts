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
import { startLab } from "./lab.js";
import { ControlServer } from "../src/control/control-server.js";
import { SimTarget } from "../src/control/sim-target.js";
import { FaceServer } from "../src/web/face-server.js";
import { loadBundle, type ConfigBundle } from "../src/provisioning/config-bundle.js";
import { SipPhone, DEFAULT_SIP_TUNING, type SipAccount } from "../src/sip/sip-phone.js";
import { createResolver } from "../src/sip/dns-targets.js";
import { AudioRouter } from "../src/media/audio-router.js";
import { MediaEngine } from "../src/media/media-engine.js";
import { writeFileAtomic } from "../src/base/atomic-file.js";
import type { HistoryEntry } from "../src/phone/core/phone-state.js";

const USAGE = `usage: phone [--board NAME|FILE] [--emulate] [--config FILE] [--control SPEC]... [--data-dir DIR] [--log-level LEVEL] [--no-terminal]

  --board NAME|FILE   board profile: a name from board/ (sim, rpi-gpio, rpi-i2c, rpi-frontpanel) or a .json path
  --emulate           run the board's drivers against chip emulators instead of real hardware
  --lab               also start the lab on loopback (Kamailio + a far-end phone at 1002) and register to it;
                      what \`npm start\` does (ignored with --config)
  --config FILE       a config bundle (JSON: accounts, dial plan, features, lock; see the README) to run with
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

/** The phone core's config from a bundle (defaults where it is silent, or with no bundle at all). */
function phoneConfigOf(b: ConfigBundle | null): PhoneConfig {
  const d = DEFAULT_PHONE_CONFIG;
  if (!b) return d;
  const fwd = b.features?.forward;
  return {
    dialPlan: { ...d.dialPlan, ...(b.dialPlan ?? {}) },
    lockPin: b.lock?.pin ?? null,
    interdigitMs: b.dialPlan?.interdigitMs ?? d.interdigitMs,
    lockAfterIdleMs: (b.lock?.afterIdleMinutes ?? 0) * 60_000,
    callWaiting: b.features?.callWaiting ?? true,
    ...(b.accounts[0]?.ringPattern ? { ringPattern: b.accounts[0].ringPattern } : {}),
    ...(b.directory ? { directory: b.directory } : {}),
    ...(fwd ? { forward: { always: fwd.always ?? null, busy: fwd.busy ?? null, noAnswer: fwd.noAnswer ?? null, noAnswerMs: (fwd.noAnswerSeconds ?? 20) * 1000 } } : {}),
  };
}

/** The saved call history; a missing or damaged file is an empty history (the phone still starts). */
async function readHistory(file: string): Promise<HistoryEntry[]> {
  try {
    const h = JSON.parse(await fs.readFile(file, "utf8")) as unknown;
    return Array.isArray(h) ? (h as HistoryEntry[]).filter((e) => e && typeof e.number === "string" && typeof e.at === "number") : [];
  } catch {
    return [];
  }
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        board: { type: "string" },
        config: { type: "string" },
        lab: { type: "boolean", default: false },
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

  let configFile = args.config;
  let labBanner = "";
  if (!configFile && args.lab) {
    const lab = await startLab(dataDir, log);
    if (lab) {
      life.started("lab", () => lab.stop());
      configFile = lab.bundleFile;
      labBanner = lab.banner;
    }
  }
  const bundle = configFile ? await loadBundle(configFile) : null;
  const devices = await buildDevices(board, platform, clock, log);
  life.started("devices", () => devices.close());

  // audio and SIP, when the config has an account
  // the pipeline runs at the board's rate: 16 kHz boards get wideband (G.722) calls end to end
  const router = new AudioRouter(devices.audio, clock, log, { rate: board.audio.rate, ...(board.tonePlan ? { tonePlan: board.tonePlan } : {}) });
  let localAddress = "127.0.0.1";
  const media = new MediaEngine({ clock, log, router, localAddress: () => localAddress, ...(bundle?.media?.codecs ? { codecs: bundle.media.codecs } : {}), ...(bundle?.media?.srtp ? { srtp: bundle.media.srtp } : {}) });
  const historyFile = path.join(dataDir, "history.json");
  // saves run one after another; stopping waits for the last one (a call ended just before SIGTERM is kept)
  let historySaved: Promise<void> = Promise.resolve();
  life.started("call history", () => historySaved);
  let sip: SipPhone | undefined;
  const phone = new PhoneShell(devices, clock, phoneConfigOf(bundle), log, {
    audio: router,
    saveHistory: (h) => {
      historySaved = historySaved.then(() => writeFileAtomic(historyFile, JSON.stringify(h))).catch((e: Error) => log.warn({ err: e.message }, "cannot save the call history"));
    },
    volume: (p, percent) => {
      // the board names the mixer control for each path; the simulated mixer is keyed by the path itself
      const named = board.audio.mixer.driver === "alsa" ? board.audio.mixer.controls[p] : undefined;
      const control = [named, p].find((c) => c !== undefined && devices.mixer.controls.includes(c));
      if (control) devices.mixer.setVolume(control, percent).catch((e: Error) => log.warn({ err: e.message, control }, "cannot set the volume"));
    },
    account: {
      signOut: () => sip?.signOut(),
      signIn: () => sip?.signIn(),
    },
    calls: {
      // with no account there is no one to call: the call fails at once, on the next turn of the loop
      place: (...a) => (sip ? sip.place(...a) : void clock.setTimeout(() => phone.sipEvents().ended(a[0], "failed"), 0)),
      answer: (id) => sip?.answer(id),
      reject: (id, code) => sip?.reject(id, code),
      forward: (id, t) => sip?.forward(id, t),
      hangup: (id) => sip?.hangup(id),
      hold: (id, h) => sip?.hold(id, h),
      transfer: (id, t) => sip?.transfer(id, t),
      transferAttended: (id, to) => sip?.transferAttended(id, to),
      dtmf: (id, d) => sip?.dtmf(id, d),
    },
  });
  const saved = await readHistory(historyFile);
  if (saved.length) phone.dispatch({ type: "history-loaded", history: saved });
  const account = bundle?.accounts[0];
  const hhmm = (): string => {
    const d = new Date(clock.wallNow());
    return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  };
  const lineName = account ? (account.displayName ? `${account.user} ${account.displayName}` : account.user) : "Not provisioned";
  const presenter = new ScreenPresenter(devices.display, () => viewOf(phone.state, { clock: hhmm(), lineName, now: clock.now() }), clock, log);
  phone.onState(() => void presenter.draw());
  phone.start();
  await presenter.start();
  life.started("phone", () => {
    presenter.stop();
    phone.stop();
    media.stop();
  });
  // every 5 s each call's media estimates how it sounds; the core shows a warning when it is poor
  const quality = clock.setInterval(() => {
    for (const m of media.sessions) {
      const id = /^call-(\d+)$/.exec(m.tag)?.[1];
      if (id && phone.state.calls.some((c) => c.id === Number(id) && c.state === "connected")) phone.dispatch({ type: "call-quality", callId: Number(id), mos: m.quality().mos });
    }
  }, 5000);
  life.started("call quality", () => quality.cancel());
  if (account && bundle) {
    const acct: SipAccount = {
      ...account,
      hideCallerId: bundle.features?.hideCallerId ?? false,
      ...(bundle.trustedCAs ? { caCerts: bundle.trustedCAs } : {}),
      ...(bundle.media?.qualityCollector ? { qualityCollector: bundle.media.qualityCollector } : {}),
    };
    const t = bundle.sip ?? {};
    const tuning = {
      backoffMs: { first: t.retryFirstMs ?? DEFAULT_SIP_TUNING.backoffMs.first, max: t.retryMaxMs ?? DEFAULT_SIP_TUNING.backoffMs.max },
      pingMs: t.pingMs ?? DEFAULT_SIP_TUNING.pingMs,
      pingTimeoutMs: t.pingTimeoutMs ?? DEFAULT_SIP_TUNING.pingTimeoutMs,
      keepAliveMs: t.keepAliveMs ?? DEFAULT_SIP_TUNING.keepAliveMs,
      refreshFrequency: DEFAULT_SIP_TUNING.refreshFrequency,
    };
    const events = phone.sipEvents();
    const s = new SipPhone(acct, media, events, clock, log, tuning, createResolver(bundle.dnsServers), {
      onLocal: (l) => (localAddress = l.address),
      ...(t.udpMaxBytes ? { udpMaxBytes: t.udpMaxBytes } : {}),
      // --log-level trace shows every SIP message, credentials cut out
      ...(log.level === "trace" ? { tap: (dir: "in" | "out", text: string) => log.trace({ dir, sip: text.replace(/^((?:Proxy-)?Authorization[ \t]*:).*$/gim, "$1 [redacted]") }, "SIP") } : {}),
    });
    sip = s;
    // start() resolves after the first attempt; failures retry by themselves ("No service" on screen meanwhile)
    await s.start();
    life.started("sip", () => s.stop());
  }

  const specs = (args.control ?? (sim ? ["tcp:127.0.0.1:7070"] : [])).filter((c) => c !== "none");
  const web = args.web ?? (sim ? "tcp:127.0.0.1:8080" : "none");
  let banner = "";
  if (specs.length || web !== "none") {
    if (!sim) throw new Error("the control protocol on real hardware needs a test jig, which this version does not drive yet");
    const target = new SimTarget(sim, { clock, keypad: devices.keypad, hook: devices.hook, firmware: FIRMWARE, phoneState: () => ({
        ...summarize(phone.state),
        provisioned: Boolean(account),
        extension: account?.user ?? null,
        lines: account ? [{ id: 1, extension: account.user, name: account.displayName ?? null, registration: phone.state.registration.state }] : [],
        media: [...media.sessions].map((m) => m.mediaStats()),
      }),
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
      const face = new FaceServer(control);
      const url = await face.listen(web);
      life.started("phone face", () => face.close());
      banner = `phone face: ${url}  (open it in a browser)`;
      process.stdout.write(banner + "\n");
    }
  }

  if (labBanner) {
    process.stdout.write(labBanner + "\n");
    banner += `${banner ? "\n" : ""}${labBanner}`;
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

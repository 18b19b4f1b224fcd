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
import type { KeyId } from "../src/hal/api/keypad.js";
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
import { makeDeviceKey } from "../src/provisioning/device-identity.js";
import { checkService, failureWords, fetchConfig, putDelegates, signIn, type ServiceFailure, type ServiceTarget } from "../src/provisioning/provisioning-client.js";
import { DELEGATION_CONTENT_TYPE, formatDelegationNotice } from "../src/sip/delegation-notice.js";
import { discover, provisioningUrl } from "../src/provisioning/discovery.js";
import { forgetProvisioned, loadProvisioned, readReport, reportProblem, saveProvisioned, type ProvisionedState } from "../src/provisioning/device-store.js";
import { EmergencyCaller } from "../src/phone/emergency-caller.js";
import { emergencyTestOutcome, TEST_NO_LINE, TEST_TOO_SOON } from "../src/phone/core/emergency-test.js";
import { emergencyDialPlan, locationPolicyOf, PhoneLocation } from "./emergency-setup.js";
import { civicLine, type CivicAddress } from "../src/location/pidf-lo.js";

const USAGE = `usage: phone [--board NAME|FILE] [--emulate] [--config FILE] [--provisioning URL [--provisioning-ca FILE]] [--control SPEC]... [--data-dir DIR] [--log-level LEVEL] [--no-terminal]

  --board NAME|FILE   board profile: a name from board/ (sim, rpi-gpio, rpi-i2c, rpi-frontpanel) or a .json path
  --emulate           run the board's drivers against chip emulators instead of real hardware
  --lab               also start the lab on loopback (Kamailio + a far-end phone at 1002) and register to it;
                      what \`npm start\` does (ignored with --config)
  --config FILE       a config bundle (JSON: accounts, dial plan, features, lock; see the README) to run with,
                      instead of signing in to a provisioning service
  --provisioning URL  the provisioning service (https) to sign in to with extension + PIN on the keypad
  --provisioning-ca FILE  the CA (PEM) that service's certificate must chain to (the system's CAs otherwise)
  --control SPEC      control protocol listener: tcp:HOST:PORT, tcp:PORT (loopback) or unix:/path; repeatable;
                      default tcp:127.0.0.1:7070 on the simulated board, none on hardware; "none" turns it off
  --web SPEC          the phone's face (HTTP + WebSocket): tcp:HOST:PORT; default tcp:127.0.0.1:8080 on the
                      simulated board; "none" turns it off
  --data-dir DIR      where the phone keeps its state (default ./.phone-data)
  --log-level LEVEL   trace, debug, info, warn, error (default info)
  --no-terminal       on the simulated board, do not draw the phone in this terminal
  --network-interface IF  the phone's LAN interface (its address, MAC and gateway go to the LIS, and a location
                      typed by hand is kept per gateway); default: the one the default route uses
  --sim-hold-keys K,K on the simulated board, keys held down from power-up (as a rig's finger would): "*,#" held
                      through the first second is the factory reset
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
  const policy = locationPolicyOf(b);
  return {
    dialPlan: emergencyDialPlan({ ...d.dialPlan, ...(b.dialPlan ?? {}) }, policy),
    emergency: {
      locationRequired: policy.enhancedEmergencyServicesEnabled ? policy.locationRequired : "no",
      ...(policy.disclaimer ? { disclaimer: policy.disclaimer } : {}),
      ...(b.emergency?.callbackMinutes !== undefined ? { callbackWindowMs: b.emergency.callbackMinutes * 60_000 } : {}),
      ...(b.emergency?.testCalls ? { testCalls: true } : {}),
    },
    lockPin: b.lock?.pin ?? null,
    interdigitMs: b.dialPlan?.interdigitMs ?? d.interdigitMs,
    lockAfterIdleMs: (b.lock?.afterIdleMinutes ?? 0) * 60_000,
    callWaiting: b.features?.callWaiting ?? true,
    ...(b.accounts[0]?.ringPattern ? { ringPattern: b.accounts[0].ringPattern } : {}),
    ...(b.directory ? { directory: b.directory } : {}),
    ...(b.accounts[0] ? { ownNumber: b.accounts[0].user } : {}),
    ...(b.privateLine ? { privateLine: { number: b.privateLine.number, ...(b.privateLine.ringPattern ? { ringPattern: b.privateLine.ringPattern } : {}) } } : {}),
    ...(b.delegation
      ? {
          delegation: {
            enabled: b.delegation.enabled,
            delegates: b.delegation.delegates,
            ringMode: b.delegation.ringMode,
            ringDelayMs: b.delegation.ringDelaySeconds * 1000,
            bosses: b.delegation.bosses.map((x) => ({ number: x.number, ...(x.name ? { name: x.name } : {}), ringMode: x.ringMode, ringDelayMs: x.ringDelaySeconds * 1000 })),
          },
        }
      : {}),
    ...(fwd ? { forward: { always: fwd.always ?? null, busy: fwd.busy ?? null, noAnswer: fwd.noAnswer ?? null, noAnswerMs: (fwd.noAnswerSeconds ?? 20) * 1000 } } : {}),
  };
}

/**
 * SIP traces IT asked for (logging policy): JSON lines appended in order, the file kept under 1 MiB by moving it to
 * `.1` (one old file kept). A full disk loses trace lines, never a call: every error is swallowed after one warning.
 */
class TraceFile {
  private chain: Promise<void> = Promise.resolve();
  private size = -1;
  private warned = false;

  constructor(
    private readonly file: string,
    private readonly log: { warn(o: object, m: string): void },
  ) {}

  write(line: string): void {
    this.chain = this.chain
      .then(async () => {
        if (this.size < 0) this.size = (await fs.stat(this.file).catch(() => ({ size: 0 }))).size;
        if (this.size > 1 << 20) {
          await fs.rename(this.file, `${this.file}.1`);
          this.size = 0;
        }
        await fs.appendFile(this.file, line + "\n", { mode: 0o600 });
        this.size += line.length + 1;
      })
      .catch((e: Error) => {
        if (!this.warned) this.log.warn({ err: e.message }, "cannot write the SIP trace");
        this.warned = true;
      });
  }

  flush(): Promise<void> {
    return this.chain;
  }
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
        provisioning: { type: "string" },
        "provisioning-ca": { type: "string" },
        "provisioning-refresh-s": { type: "string" },
        lab: { type: "boolean", default: false },
        emulate: { type: "boolean", default: false },
        control: { type: "string", multiple: true },
        web: { type: "string" },
        "data-dir": { type: "string", default: ".phone-data" },
        "log-level": { type: "string", default: "info" },
        "no-terminal": { type: "boolean", default: false },
        "sim-hold-keys": { type: "string" },
        "network-interface": { type: "string" },
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
  const startedAt = clock.now();
  const terminal = !args["no-terminal"] && process.stdout.isTTY && process.stdin.isTTY;
  const askedLevel: string = args["log-level"];
  const log = createLogger({ level: terminal ? "warn" : args["log-level"] });
  const life = new Lifecycle(log);
  // stop cleanly on a signal from the start: a rig may signal as soon as it reads the first line the phone prints, and
  // a signal with no handler yet would kill the process (history and traces not flushed)
  const stop = (): void => {
    void life.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);

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

  const configFile = args.config;
  let labBanner = "";
  // where to sign in: --provisioning (the lab sets it too); DHCP / DNS discovery comes with the discovery module
  let service: ServiceTarget | undefined;
  const caPem = args["provisioning-ca"] ? await fs.readFile(args["provisioning-ca"], "utf8") : undefined;
  if (args.provisioning) service = { url: args.provisioning, clock, ...(caPem ? { caPem } : {}) };
  if (!configFile && args.lab) {
    const lab = await startLab(dataDir, log);
    if (lab) {
      life.started("lab", () => lab.stop());
      service ??= { url: lab.provisioningUrl, caPem: lab.provisioningCaPem, clock };
      labBanner = lab.banner;
    }
  }
  // no service named: find one as a phone on a company network does (DHCP options 43/160/66 from the lease files,
  // then DNS SRV), said in the log with why the other sources gave nothing
  if (!service && !configFile) {
    const found = await discover({});
    if (found.url) service = { url: found.url, clock, ...(caPem ? { caPem } : {}) };
    log.info({ source: found.source, url: found.url, notes: found.notes }, "provisioning service discovery");
  }
  // the line's config: a bundle IT placed (--config), else what the phone stored when it signed in, else none yet
  const stored = configFile ? { state: null } : await loadProvisioned(dataDir);
  if (stored.problem) {
    log.warn({ problem: stored.problem }, "the stored provisioning is not usable: sign in again");
    await reportProblem(dataDir, { at: new Date(clock.wallNow()).toISOString(), step: "refresh", code: "PHONE_ERR_STORE", detail: stored.problem }).catch(() => undefined);
  }
  let provisioned: ProvisionedState | null = stored.state;
  let bundle: ConfigBundle | null = configFile ? await loadBundle(configFile) : (provisioned?.bundle ?? null);
  const devices = await buildDevices(board, platform, clock, log);
  life.started("devices", () => devices.close());

  // audio and SIP, when the config has an account
  // the pipeline runs at the board's rate: 16 kHz boards get wideband (G.722) calls end to end
  const router = new AudioRouter(devices.audio, clock, log, { rate: board.audio.rate, ...(board.tonePlan ? { tonePlan: board.tonePlan } : {}) });
  let localAddress = "127.0.0.1";
  const media = new MediaEngine({ clock, log, router, localAddress: () => localAddress });
  const historyFile = path.join(dataDir, "history.json");
  // saves run one after another; stopping waits for the last one (a call ended just before SIGTERM is kept)
  let historySaved: Promise<void> = Promise.resolve();
  life.started("call history", () => historySaved);
  let sip: SipPhone | undefined;
  let emergencyCaller: EmergencyCaller | undefined;
  const hhmmOf = (d: Date): string => `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
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
    provisioning: {
      signIn: async (extension, pin) => {
        if (!service) return { ok: false, message: "No provisioning service is known", retry: "extension" };
        const target = service;
        try {
          const key = await makeDeviceKey(`deskphone-${extension}`);
          const r = await signIn(target, extension, pin, key.csrPem, key.privateKeyPem);
          if ("kind" in r) {
            await problem("sign-in", r, target.url);
            return { ok: false, message: failureWords(r, hhmmOf), retry: r.kind === "wrong-pin" || r.kind === "locked" ? "pin" : "extension" };
          }
          const state: ProvisionedState = { version: 1, serviceUrl: target.url, serviceCaPem: r.caPem, deviceId: r.deviceId, extension, privateKeyPem: key.privateKeyPem, certificatePem: r.certificatePem, bundle: r.bundle, savedAt: new Date(clock.wallNow()).toISOString() };
          await saveProvisioned(dataDir, state);
          provisioned = state;
          log.info({ extension, device: r.deviceId }, "signed in to the provisioning service");
          await applyBundle(r.bundle, "service");
          return { ok: true, message: "Signed in", retry: "pin" };
        } catch (e) {
          log.warn({ err: (e as Error).message }, "sign-in failed");
          return { ok: false, message: `Sign-in failed: ${(e as Error).message}`, retry: "extension" };
        }
      },
      setService: async (address) => {
        // typed on the keypad: a host or IP with an optional port, always https; trusted by the --provisioning-ca CA
        // if one was given, else by the system's CAs
        const u = provisioningUrl(address, { bareHost: true });
        if (!u.ok) return { ok: false, message: `Not an address: ${u.reason}` };
        const target: ServiceTarget = { url: u.value, clock, ...(caPem ? { caPem } : {}), timeoutMs: 5000 };
        const f = await checkService(target);
        if (f) {
          await problem("sign-in", f, target.url);
          return { ok: false, message: failureWords(f, hhmmOf) };
        }
        service = target;
        log.info({ url: target.url }, "provisioning service entered by hand");
        return { ok: true, message: "" };
      },
      signOut: () => void unprovision("Signed out"),
      factoryReset: () => void factoryReset(),
    },
    emergency: {
      // with no line the shell falls back to calls.place, which fails at once (nobody to call)
      place: (id, target) => (emergencyCaller ? emergencyCaller.place(id, target) : Promise.reject(new Error("no line to call on"))),
      ended: (id) => emergencyCaller?.ended(id),
      test: async () => {
        const caller = emergencyCaller;
        if (!caller) return { ok: false, message: TEST_NO_LINE };
        // never within 30 min of start (RFC 6881 ED-81): a site's phones all rebooting must not flood the PSAP
        if (clock.now() - startedAt < (bundle?.emergency?.testAfterBootMinutes ?? 30) * 60_000) return { ok: false, message: TEST_TOO_SOON };
        return emergencyTestOutcome(await caller.test());
      },
    },
    delegation: {
      notifyAnswered: (boss, caller, callerName) => {
        const acc = account;
        if (!sip || !acc) return;
        const body = formatDelegationNotice({ kind: "delegate-answered", boss, caller, ...(callerName ? { callerName } : {}), delegate: acc.user });
        void sip.sendMessage(`sip:${boss}@${acc.domain}`, body, DELEGATION_CONTENT_TYPE).then((code) => log.info({ boss, code }, "the boss was told a delegate answered"));
      },
      setDelegates: async (list) => {
        const p = provisioned;
        if (!p) return { ok: false, message: "Delegates are kept by the provisioning service: this phone has none" };
        const target: ServiceTarget = service ? { url: service.url, caPem: service.caPem ?? p.serviceCaPem, clock } : { url: p.serviceUrl, caPem: p.serviceCaPem, clock };
        const r = await putDelegates(target, p.certificatePem, p.privateKeyPem, list.map((d) => d.number));
        if ("kind" in r) {
          await problem("refresh", r, p.serviceUrl);
          return { ok: false, message: `Delegates not saved: ${failureWords(r, hhmmOf)}` };
        }
        // each delegate added or removed is told at once (their phones fetch their new bosses)
        const acc = account;
        if (sip && acc)
          for (const [kind, numbers] of [["delegate-added", r.added], ["delegate-removed", r.removed]] as const)
            for (const n of numbers) void sip.sendMessage(`sip:${n}@${acc.domain}`, formatDelegationNotice({ kind, boss: acc.user, ...(acc.displayName ? { bossName: acc.displayName } : {}) }), DELEGATION_CONTENT_TYPE);
        void refresh();
        return { ok: true, message: "" };
      },
      changed: () => void refresh(),
    },
    location: {
      setManual: (civic) => void setManualLocation(civic),
      clearManual: () => void location.current?.clearManual().catch((e: Error) => log.warn({ err: e.message }, "cannot clear the manual location")),
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
  // the phone's location (LIS, LLDP-MED, provisioned, typed by the user), shown in Menu > Location and sent with 911
  const location = new PhoneLocation({
    dataDir,
    clock,
    log,
    ...(args["network-interface"] ? { iface: args["network-interface"] } : {}),
    onLocation: (l) => phone.dispatch({ type: "location", location: l ? { text: l.text || "(no street address)", source: l.source, ...(l.civic ? { civic: { ...l.civic } as Record<string, string> } : {}) } : null }),
  });
  await location.start();
  life.started("location", () => location.stop());
  /** A civic address typed on the phone or the admin page; resolves with what was wrong, or null. */
  async function setManualLocation(civic: Record<string, string>): Promise<string | null> {
    const s = location.current;
    if (!s) return "Location is off (no line, or the location policy disables it)";
    if (!/^[A-Za-z]{2}$/.test(civic.country ?? "")) return "country must be two letters (ISO 3166-1, e.g. US)";
    try {
      await s.setManual(civic as CivicAddress);
      return null;
    } catch (e) {
      log.warn({ err: (e as Error).message }, "manual location refused");
      return (e as Error).message;
    }
  }
  const saved = await readHistory(historyFile);
  if (saved.length) phone.dispatch({ type: "history-loaded", history: saved });
  let account = bundle?.accounts[0];
  const hhmm = (): string => hhmmOf(new Date(clock.wallNow()));
  const lineName = (): string => (account ? (account.displayName ? `${account.user} ${account.displayName}` : account.user) : "Not provisioned");
  const presenter = new ScreenPresenter(devices.display, () => viewOf(phone.state, { clock: hhmm(), lineName: lineName(), now: clock.now() }), clock, log);
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

  const sipTrace = new TraceFile(path.join(dataDir, "sip-trace.log"), log);
  life.started("sip trace", () => sipTrace.flush());

  /** IT's error report on the phone: what failed, where, how TLS went (never a PIN or password). */
  async function problem(step: "sign-in" | "refresh", f: ServiceFailure, server: string): Promise<void> {
    const code = `PHONE_ERR_PROV_${f.kind.toUpperCase().replace(/-/g, "_")}`;
    const detail = failureWords(f, hhmmOf);
    log.warn({ step, code, server }, detail);
    await reportProblem(dataDir, { at: new Date(clock.wallNow()).toISOString(), step, code, server, tls: f.kind === "untrusted" ? `refused: ${f.reason}` : f.kind === "unreachable" ? "not reached" : "ok", detail }).catch(() => undefined);
    await showAbout();
  }

  /** Settings > About: the firmware, the line, the device, the service, and the last problems IT will ask about. */
  async function showAbout(): Promise<void> {
    const report = await readReport(dataDir);
    const host = (u: string | undefined): string => (u ? new URL(u).host : "none");
    phone.dispatch({
      type: "about",
      lines: [
        FIRMWARE,
        `Line: ${account?.user ?? "none"}`,
        `Device: ${provisioned?.deviceId.slice(0, 8) ?? "none"}`,
        `Service: ${host(provisioned?.serviceUrl ?? service?.url)}`,
        ...report.slice(0, 3).map((r) => `${r.at.slice(5, 16).replace("T", " ")} ${r.code.replace("PHONE_ERR_", "")}: ${r.detail}`),
      ],
    });
  }

  /** Starts the line (SIP registration and calls) for a bundle's first account. */
  async function startLine(b: ConfigBundle): Promise<void> {
    const acc = b.accounts[0];
    if (!acc) return;
    const acct: SipAccount = {
      ...acc,
      hideCallerId: b.features?.hideCallerId ?? false,
      ...(b.trustedCAs ? { caCerts: b.trustedCAs } : {}),
      ...(b.media?.qualityCollector ? { qualityCollector: b.media.qualityCollector } : {}),
      ...(b.emergency?.routes ? { emergencyRoutes: b.emergency.routes } : {}),
    };
    const t = b.sip ?? {};
    const tuning = {
      backoffMs: { first: t.retryFirstMs ?? DEFAULT_SIP_TUNING.backoffMs.first, max: t.retryMaxMs ?? DEFAULT_SIP_TUNING.backoffMs.max },
      pingMs: t.pingMs ?? DEFAULT_SIP_TUNING.pingMs,
      pingTimeoutMs: t.pingTimeoutMs ?? DEFAULT_SIP_TUNING.pingTimeoutMs,
      keepAliveMs: t.keepAliveMs ?? DEFAULT_SIP_TUNING.keepAliveMs,
      refreshFrequency: DEFAULT_SIP_TUNING.refreshFrequency,
    };
    const events = phone.sipEvents();
    const s = new SipPhone(
      acct,
      media,
      {
        ...events,
        registration: (r) => {
          events.registration(r);
          // refused by the registrar on a phone the service provisioned: ask the service whether it still knows us
          if (r.state === "failed" && provisioned && /password|403/.test(r.reason)) void refresh();
        },
        // a security desk's leg of an emergency call is the emergency caller's, never the phone core's
        progress: (id, st) => {
          if (emergencyCaller?.isDeskCall(id)) return emergencyCaller.deskProgress(id, st);
          events.progress(id, st);
          emergencyCaller?.progress(id, st);
        },
        ended: (id, reason, code) => (emergencyCaller?.isDeskCall(id) ? emergencyCaller.deskEnded(id) : events.ended(id, reason, code)),
        held: (id, h) => void (emergencyCaller?.isDeskCall(id) || events.held(id, h)),
        remoteHold: (id, h) => void (emergencyCaller?.isDeskCall(id) || events.remoteHold(id, h)),
      },
      clock,
      log,
      tuning,
      createResolver(b.dnsServers),
      {
        onLocal: (l) => (localAddress = l.address),
        ...(t.udpMaxBytes ? { udpMaxBytes: t.udpMaxBytes } : {}),
        // --log-level trace shows every SIP message in the log; IT's logging policy (sipTrace) keeps them in
        // DATA_DIR/sip-trace.log for IT to fetch; credentials are cut out either way
        ...(log.level === "trace" || b.logging?.sipTrace
          ? {
              tap: (dir: "in" | "out", text: string) => {
                const sip = text.replace(/^((?:Proxy-)?Authorization[ \t]*:).*$/gim, "$1 [redacted]");
                log.trace({ dir, sip }, "SIP");
                if (b.logging?.sipTrace) sipTrace.write(JSON.stringify({ time: new Date(clock.wallNow()).toISOString(), dir, sip }));
              },
            }
          : {}),
      },
    );
    sip = s;
    emergencyCaller = new EmergencyCaller(s, location.current, {
      policy: locationPolicyOf(b),
      requestUri: b.emergency?.requestUri ?? "service-urn",
      lync: b.emergency?.lync ?? false,
      elinCallerId: b.emergency?.elinCallerId ?? false,
      caller: { ...(acc.displayName ? { name: acc.displayName } : {}), extension: acc.user, callbackNumber: acc.user },
      // a fresh location may take 200 ms; with the key scan, the offer and the send, the INVITE leaves within the 250 ms
      // the issue and RFC 6881 ED-32 ask for even when the LIS is slow or silent (bench/emergency measures it)
      budgetMs: 200,
      clock,
      log,
      desk: { calls: s, audio: router },
    });
    // start() resolves after the first attempt; failures retry by themselves ("No service" on screen meanwhile)
    await s.start();
    // a delegate's phone watches each boss's line (RFC 4235 dialog package) for the boss line keys
    if (b.delegation?.enabled && b.delegation.bosses.length) s.watchDialogs(b.delegation.bosses.map((x) => x.number));
  }

  async function stopLine(): Promise<void> {
    const s = sip;
    sip = undefined;
    emergencyCaller = undefined;
    await s?.stop();
  }

  /** IT's logging policy from the bundle; the command line's --log-level, when given, wins (a rig debugging). */
  function applyLogging(b: ConfigBundle | null): void {
    const level = askedLevel !== "info" ? askedLevel : (b?.logging?.level ?? "info");
    if (!terminal) log.level = level;
  }

  /** A new bundle (sign-in, refresh): the line starts again with it. */
  async function applyBundle(b: ConfigBundle, by: "service" | "config"): Promise<void> {
    await stopLine();
    bundle = b;
    account = b.accounts[0];
    applyLogging(b);
    media.configure({ ...(b.media?.codecs ? { codecs: b.media.codecs } : {}), ...(b.media?.srtp ? { srtp: b.media.srtp } : {}) });
    phone.dispatch({ type: "config", config: phoneConfigOf(b) });
    phone.dispatch({ type: "provisioning", state: "provisioned", by });
    await showAbout();
    await location.apply(b);
    await startLine(b);
  }

  /** Back to the sign-in wizard: the line stops and what the service gave is forgotten. */
  async function unprovision(message: string): Promise<void> {
    await stopLine();
    await forgetProvisioned(dataDir).catch((e: Error) => log.warn({ err: e.message }, "cannot forget the provisioning"));
    provisioned = null;
    bundle = null;
    account = undefined;
    phone.dispatch({ type: "config", config: phoneConfigOf(null) });
    await location.apply(null);
    phone.dispatch({ type: "provisioning", state: "unprovisioned", message });
    await showAbout();
  }

  async function factoryReset(): Promise<void> {
    await unprovision("Factory reset done");
    for (const f of ["history.json", "provisioning-report.json", "location.json"]) await fs.rm(path.join(dataDir, f), { force: true }).catch(() => undefined);
    phone.dispatch({ type: "history-loaded", history: [] });
    await showAbout();
  }

  /** Asks the service for the current config with the device certificate; revoked -> the sign-in wizard. */
  let refreshing = false;
  async function refresh(): Promise<void> {
    const p = provisioned;
    if (!p || refreshing) return;
    refreshing = true;
    try {
      // a service named at start (--provisioning, the lab) wins over the stored address: IT may have moved it
      const target: ServiceTarget = service ? { url: service.url, caPem: service.caPem ?? p.serviceCaPem, clock } : { url: p.serviceUrl, caPem: p.serviceCaPem, clock };
      const r = await fetchConfig(target, p.certificatePem, p.privateKeyPem);
      if ("kind" in r) {
        await problem("refresh", r, p.serviceUrl);
        if (r.kind === "revoked") await unprovision(failureWords(r, hhmmOf));
        return; // anything else: the phone goes on with what it has
      }
      if (JSON.stringify(r) === JSON.stringify(p.bundle) && target.url === p.serviceUrl) return;
      const next: ProvisionedState = { ...p, serviceUrl: target.url, bundle: r, savedAt: new Date(clock.wallNow()).toISOString() };
      await saveProvisioned(dataDir, next);
      provisioned = next;
      if (JSON.stringify(r) === JSON.stringify(p.bundle)) return;
      log.info("new config from the provisioning service");
      await applyBundle(r, "service");
    } finally {
      refreshing = false;
    }
  }

  await showAbout();
  const refreshMs = Number(args["provisioning-refresh-s"] ?? 3600) * 1000;
  const refresher = clock.setInterval(() => void refresh(), refreshMs);
  life.started("provisioning refresh", () => refresher.cancel());
  life.started("sip", () => stopLine());
  // * and # held from power-up through the first second: factory reset (a user locked out of the menus, or a phone
  // moving to someone else without IT); on the simulated board a rig holds them with --sim-hold-keys
  if (sim && args["sim-hold-keys"]) for (const key of args["sim-hold-keys"].split(",")) await sim.keyDown(key.trim() as KeyId);
  const resetCheck = clock.setTimeout(() => {
    const held = devices.keypad.down();
    if (held.includes("*") && held.includes("#")) {
      log.warn("* and # held at power-up: factory reset");
      // the held keys also began dialling: END leaves that first
      phone.dispatch({ type: "key", key: "END", down: true, at: clock.now() });
      void factoryReset();
    }
  }, 1000);
  life.started("power-up keys", () => resetCheck.cancel());
  if (bundle) {
    applyLogging(bundle);
    phone.dispatch({ type: "provisioning", state: "provisioned", by: configFile ? "config" : "service" });
    media.configure({ ...(bundle.media?.codecs ? { codecs: bundle.media.codecs } : {}), ...(bundle.media?.srtp ? { srtp: bundle.media.srtp } : {}) });
    await location.apply(bundle);
    await startLine(bundle);
    if (provisioned) void refresh();
  } else if (service || args["provisioning-ca"]) phone.dispatch({ type: "provisioning", state: "unprovisioned", message: stored.problem ? "Please sign in again" : "", needService: !service });
  // with no service known and none to trust by hand, the phone stays a plain unprovisioned phone (it dials), as on a
  // bench with no company network; --provisioning-ca FILE alone asks for the service's address on the keypad

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

  if (labBanner) {
    process.stdout.write(labBanner + "\n");
    banner += `${banner ? "\n" : ""}${labBanner}`;
  }

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

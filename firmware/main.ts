// `phone` entry: parse arguments, load the board, build the devices on the real or simulated platform, run, stop cleanly.
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
import { viewOf } from "../src/ui/view-model.js";
import { SimTerminal } from "./sim-terminal.js";
import { startLab } from "./lab.js";
import { loadBundle, type ConfigBundle } from "../src/provisioning/config-bundle.js";
import { SipPhone, DEFAULT_SIP_TUNING, type SipAccount } from "../src/sip/sip-phone.js";
import { loadInstanceId } from "../src/sip/instance-id.js";
import { createResolver } from "../src/sip/dns-targets.js";
import { AudioRouter } from "../src/media/audio-router.js";
import { MediaEngine } from "../src/media/media-engine.js";
import { makeDeviceKey } from "../src/provisioning/device-identity.js";
import { checkService, failureWords, fetchConfig, signIn, type ServiceFailure, type ServiceTarget } from "../src/provisioning/provisioning-client.js";
import { discover, provisioningUrl } from "../src/provisioning/discovery.js";
import { forgetProvisioned, loadProvisioned, readReport, reportProblem, saveProvisioned, type ProvisionedState } from "../src/provisioning/device-store.js";
import { EmergencyCaller } from "../src/phone/emergency-caller.js";
import { emergencyTestOutcome, TEST_NO_LINE, TEST_TOO_SOON } from "../src/phone/core/emergency-test.js";
import { locationPolicyOf, PhoneLocation } from "./emergency-setup.js";
import type { CivicAddress } from "../src/location/pidf-lo.js";
import { parsePhoneArgs, USAGE } from "./cli-args.js";
import { bossNumbersOf, phoneConfigOf } from "./phone-config.js";
import { LineChanges, type LineChange } from "./line-changes.js";
import { delegationPort } from "./delegation-port.js";
import { HistorySaver, readHistory } from "./history-file.js";
import { TraceFile } from "./sip-trace-file.js";
import { startRemoteFaces } from "./remote-faces.js";

const FIRMWARE = "deskphone 0.1.0";

async function main(argv: string[]): Promise<number> {
  const parsed = parsePhoneArgs(argv);
  if (parsed.kind === "error") {
    process.stderr.write(`phone: ${parsed.message}\n${USAGE}`);
    return 2;
  }
  if (parsed.kind === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const args = parsed.args;
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
  const history = new HistorySaver(historyFile, log);
  life.started("call history", () => history.saved());
  let sip: SipPhone | undefined;
  let emergencyCaller: EmergencyCaller | undefined;
  const hhmmOf = (d: Date): string => `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  const phone = new PhoneShell(devices, clock, phoneConfigOf(bundle), log, {
    audio: router,
    saveHistory: (h) => history.save(h),
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
          await changeLine({ kind: "bundle", bundle: r.bundle, by: "service" });
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
    delegation: delegationPort({
      sip: () => sip,
      account: () => account,
      provisioned: () => provisioned,
      serviceTarget: provisionedTarget,
      bundle: () => bundle,
      dispatch: (e) => phone.dispatch(e),
      problem,
      refresh,
      hhmmOf,
      log,
    }),
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
      ringDelegates: (id, delegates, o) => sip?.ringDelegates(id, delegates, o),
    },
  });
  // new bundles and revocations never drop a call: applied in place, or held back until the phone is free
  const lineChanges = new LineChanges({
    clock,
    log,
    state: () => phone.state,
    onState: (cb) => phone.onState(cb),
    running: () => (sip ? bundle : null),
    inPlace: applyInPlace,
    restart: applyBundle,
    revoke: unprovision,
  });
  const changeLine = (c: LineChange): Promise<void> => lineChanges.offer(c);

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
      // GRUU (RFC 5627) only when IT turns it on (sip.gruu): the device's stable SIP instance id, kept in
      // DATA_DIR/instance-id (src/sip/instance-id.ts), makes a GRUU-capable registrar hand out a GRUU that becomes the
      // Contact of every call; a proxy that does not route GRUUs would lose the in-dialog requests sent to it
      ...(b.sip?.gruu ? { instanceId: await sipInstanceId() } : {}),
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
    const bosses = bossNumbersOf(b);
    if (bosses.length) s.watchDialogs(bosses);
  }

  /** The SIP instance id, read (or created) once, the first time a line with sip.gruu needs it; a factory reset forgets
   * it (the next one is a new id, so a new GRUU). */
  let instanceId: Promise<string> | undefined;
  function sipInstanceId(): Promise<string> {
    return (instanceId ??= loadInstanceId(dataDir, log));
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

  /** A new bundle for a new line (lineConfigKey): the line starts again with it (LineChanges decides when). */
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

  /** A new bundle for the line that runs now (same lineConfigKey: only the core's config, e.g. delegation, changed):
   * applied in place, the line, its registration and its calls untouched; the boss lines watched follow the bosses. */
  async function applyInPlace(b: ConfigBundle, by: "service" | "config"): Promise<void> {
    bundle = b;
    account = b.accounts[0];
    applyLogging(b);
    phone.dispatch({ type: "config", config: phoneConfigOf(b) });
    phone.dispatch({ type: "provisioning", state: "provisioned", by });
    await showAbout();
    sip?.watchDialogs(bossNumbersOf(b));
  }

  /** Back to the sign-in wizard: the line stops and what the service gave is forgotten. */
  async function unprovision(message: string): Promise<void> {
    // a config held back for after the call belongs to the provisioning being forgotten
    lineChanges.drop();
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
    // a reset phone is a new device to the PBX as well: a new SIP instance id (and GRUU) at the next sign-in
    instanceId = undefined;
    for (const f of ["history.json", "provisioning-report.json", "location.json", "instance-id"]) await fs.rm(path.join(dataDir, f), { force: true }).catch(() => undefined);
    phone.dispatch({ type: "history-loaded", history: [] });
    await showAbout();
  }

  /** Where a provisioned phone reaches its service (config refresh, delegate list). */
  function provisionedTarget(p: ProvisionedState): ServiceTarget {
    // a service named at start (--provisioning, the lab) wins over the stored address: IT may have moved it
    return service ? { url: service.url, caPem: service.caPem ?? p.serviceCaPem, clock } : { url: p.serviceUrl, caPem: p.serviceCaPem, clock };
  }

  /** Asks the service for the current config with the device certificate; revoked -> the sign-in wizard. */
  let refreshing = false;
  async function refresh(): Promise<void> {
    const p = provisioned;
    if (!p || refreshing) return;
    refreshing = true;
    try {
      const target = provisionedTarget(p);
      const r = await fetchConfig(target, p.certificatePem, p.privateKeyPem);
      if ("kind" in r) {
        await problem("refresh", r, p.serviceUrl);
        if (r.kind === "revoked") await changeLine({ kind: "revoked", message: failureWords(r, hhmmOf) });
        return; // anything else: the phone goes on with what it has
      }
      if (JSON.stringify(r) === JSON.stringify(p.bundle) && target.url === p.serviceUrl) return;
      const next: ProvisionedState = { ...p, serviceUrl: target.url, bundle: r, savedAt: new Date(clock.wallNow()).toISOString() };
      await saveProvisioned(dataDir, next);
      provisioned = next;
      if (JSON.stringify(r) === JSON.stringify(p.bundle)) return;
      log.info("new config from the provisioning service");
      await changeLine({ kind: "bundle", bundle: r, by: "service" });
    } finally {
      refreshing = false;
    }
  }

  await showAbout();
  const refreshMs = Number(args["provisioning-refresh-s"] ?? 3600) * 1000;
  const refresher = clock.setInterval(() => void refresh(), refreshMs);
  life.started("provisioning refresh", () => refresher.cancel());
  life.started("sip", () => stopLine());
  // stopped before the line (reverse order)
  life.started("held config", () => lineChanges.close());
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

  let banner = await startRemoteFaces({
    sim,
    control: args.control,
    web: args.web,
    clock,
    keypad: devices.keypad,
    hook: devices.hook,
    firmware: FIRMWARE,
    phone,
    account: () => account,
    media,
    dataDir,
    location,
    setManualLocation,
    life,
    log,
  });

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

// `deskphone-admin`: the admin CLI IT uses on the provisioning service's SQLite file (directly, while the service
// runs: WAL). Exit 0 on success, 2 on a usage error (with the usage), 1 on a refused operation (one line saying why).
import { parseArgs } from "node:util";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { createSystemClock, type Clock } from "../../base/clock.js";
import { isPhoneError } from "../../base/errors.js";
import { ProvisioningStore, type AuditRecord, type DeviceRecord } from "./store.js";
import { loadServiceConfig, settingsOf, settingsFromStored, DB_FILE, SETTINGS_KEY, type ServiceSettings } from "./service-config.js";
import { DEFAULT_PIN_POLICY } from "./pin-policy.js";
import { DEFAULT_LOCKOUT } from "./lockout.js";
import { DEFAULT_SCRYPT } from "./pin-hash.js";
import * as ops from "./admin-ops.js";

export const ADMIN_USAGE = `usage: deskphone-admin (--db FILE | --config FILE) COMMAND ...

  --db FILE        the provisioning service's SQLite file (DATA_DIR/${DB_FILE})
  --config FILE    the service's config file (its dataDir holds the database; its PIN policy applies)

commands:
  add-user EXT --name "Alice Smith" [--pin PIN] [--line-uri sip:...] [--private-line NUMBER] [--sip-password X]
  remove-user EXT                 remove a user (their devices are revoked)
  list-users [--json]
  set-pin EXT PIN                 set a sign-in PIN (checked against the PIN policy)
  reset-pin EXT                   set a new random PIN and print it, once
  unlock EXT                      lift a PIN sign-in lock (hour or admin lock) and clear the failure counts
  set-sip-password EXT [--sip-password X]   new SIP password (random 24 characters unless given)
  set-private-line EXT [NUMBER]   give EXT a private line (inbound only, never in the directory); no NUMBER: remove it
  devices [EXT] [--json]          signed-in devices
  revoke DEVICE-ID                revoke a device's certificate (its config fetches get 403)
  audit [--ext EXT] [--limit N] [--json]
  delegate add|remove BOSS DELEGATE   (at most 8 delegates per boss, 4 bosses per delegate)
  delegate ring-mode BOSS simultaneous|delayed [--seconds N]
                                  calls to BOSS ring the delegates at once, or after N seconds (0-60; default 10)
  delegate list [EXT] [--json]    bosses, their ring mode and delegates
  policy set NAME JSON            NAME: location (Lync location policy fields), emergency ({location: {lisUrl,..},
                                  emergency: {routes,..}}), logging, lock, delegation ({"enabled":true} turns
                                  boss/delegate calling on; "forking":"phone" has the boss's phone ring the
                                  delegates, for a PBX that does not fork; default "server")
  policy show NAME [--json]       the policy; --json: as one JSON value, null when it is not set
`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

class UsageError extends Error {}

type Values = {
  db?: string;
  config?: string;
  name?: string;
  pin?: string;
  "line-uri"?: string;
  "private-line"?: string;
  "sip-password"?: string;
  ext?: string;
  limit?: string;
  seconds?: string;
  json?: boolean;
  help?: boolean;
};

/** Which options each command takes (beyond --db/--config), and how many operands (min, max). */
const COMMANDS: Record<string, { options: Array<keyof Values>; operands: [number, number] }> = {
  "add-user": { options: ["name", "pin", "line-uri", "private-line", "sip-password"], operands: [1, 1] },
  "remove-user": { options: [], operands: [1, 1] },
  "list-users": { options: ["json"], operands: [0, 0] },
  "set-pin": { options: [], operands: [2, 2] },
  "reset-pin": { options: [], operands: [1, 1] },
  unlock: { options: [], operands: [1, 1] },
  "set-sip-password": { options: ["sip-password"], operands: [1, 1] },
  "set-private-line": { options: [], operands: [1, 2] },
  devices: { options: ["json"], operands: [0, 1] },
  revoke: { options: [], operands: [1, 1] },
  audit: { options: ["ext", "limit", "json"], operands: [0, 0] },
  delegate: { options: ["seconds", "json"], operands: [1, 3] },
  policy: { options: ["json"], operands: [2, 3] },
};

const iso = (ms: number | null): string => (ms === null ? "-" : new Date(ms).toISOString());
const ringWords = (mode: string, seconds: number): string => (mode === "delayed" ? `after ${seconds} s` : "at once");

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n") + "\n";
}

async function openStore(v: Values, clock: Clock): Promise<{ store: ProvisioningStore; settings: ServiceSettings }> {
  if (v.config) {
    const cfg = await loadServiceConfig(v.config);
    await fs.mkdir(cfg.dataDir, { recursive: true, mode: 0o700 });
    return { store: ProvisioningStore.open(path.join(cfg.dataDir, DB_FILE), { clock }), settings: settingsOf(cfg) };
  }
  const file = v.db!;
  try {
    await fs.access(path.dirname(path.resolve(file)));
  } catch {
    throw new ops.AdminRefusal(`${file}: its directory does not exist`);
  }
  const store = ProvisioningStore.open(file, { clock });
  // what the service published when it last ran on this file; defaults (and no Kamailio file) when it never did
  const settings = settingsFromStored(store.getSetting(SETTINGS_KEY)) ?? { sipDomain: "", kamailioSubscriberFile: null, pinPolicy: DEFAULT_PIN_POLICY, lockout: DEFAULT_LOCKOUT, scrypt: DEFAULT_SCRYPT };
  return { store, settings };
}

/** Runs one admin command; resolves the exit code. */
export async function adminMain(argv: string[], io: CliIo = processIo, opts: { clock?: Clock } = {}): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: argv,
      options: {
        db: { type: "string" },
        config: { type: "string" },
        name: { type: "string" },
        pin: { type: "string" },
        "line-uri": { type: "string" },
        "private-line": { type: "string" },
        "sip-password": { type: "string" },
        ext: { type: "string" },
        limit: { type: "string" },
        seconds: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
    values = parsed.values as Values;
    positionals = parsed.positionals;
  } catch (e) {
    io.err(`deskphone-admin: ${(e as Error).message}\n${ADMIN_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(ADMIN_USAGE);
    return 0;
  }
  const clock = opts.clock ?? createSystemClock();
  let store: ProvisioningStore | undefined;
  try {
    const [command, ...operands] = positionals;
    if (!command) throw new UsageError("no command given");
    const spec = COMMANDS[command];
    if (!spec) throw new UsageError(`unknown command '${command}'`);
    for (const k of Object.keys(values) as Array<keyof Values>) {
      if (k !== "db" && k !== "config" && values[k] !== undefined && !spec.options.includes(k)) throw new UsageError(`${command} does not take --${k}`);
    }
    if (operands.length < spec.operands[0] || operands.length > spec.operands[1]) throw new UsageError(`${command}: wrong number of arguments`);
    if (!values.db === !values.config) throw new UsageError("give the database with --db FILE or the service's --config FILE (one of them)");
    if (command === "add-user" && !values.name) throw new UsageError("add-user needs --name");
    const limit = values.limit === undefined ? 50 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive integer (got '${values.limit}')`);
    if (command === "delegate" && !((["add", "remove", "ring-mode"].includes(operands[0]!) && operands.length === 3) || (operands[0] === "list" && operands.length <= 2)))
      throw new UsageError("delegate add|remove BOSS DELEGATE, delegate ring-mode BOSS simultaneous|delayed [--seconds N], or delegate list [EXT]");
    if (command === "delegate" && values.seconds !== undefined && operands[0] !== "ring-mode") throw new UsageError("--seconds goes with delegate ring-mode");
    if (command === "delegate" && values.json && operands[0] !== "list") throw new UsageError("--json goes with delegate list");
    if (values.seconds !== undefined && !/^[0-9]{1,4}$/.test(values.seconds)) throw new UsageError(`--seconds must be a whole number of seconds (got '${values.seconds}')`);
    if (command === "policy" && !((operands[0] === "set" && operands.length === 3) || (operands[0] === "show" && operands.length === 2))) throw new UsageError("policy set NAME JSON, or policy show NAME [--json]");
    if (command === "policy" && values.json && operands[0] !== "show") throw new UsageError("--json goes with policy show");

    const opened = await openStore(values, clock);
    store = opened.store;
    const ctx: ops.AdminContext = { store, settings: opened.settings, actor: "cli", now: () => clock.wallNow() };
    await run(ctx, command, operands, values, limit, io);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`deskphone-admin: ${e.message}\n${ADMIN_USAGE}`);
      return 2;
    }
    if (e instanceof ops.AdminRefusal || isPhoneError(e)) {
      io.err(`${e.message}\n`);
      return 1;
    }
    io.err(`deskphone-admin: ${(e as Error).message}\n`);
    return 1;
  } finally {
    store?.close();
  }
}

async function run(ctx: ops.AdminContext, command: string, a: string[], v: Values, limit: number, io: CliIo): Promise<void> {
  const { store } = ctx;
  switch (command) {
    case "add-user": {
      const u = await ops.addUser(ctx, {
        extension: a[0]!,
        name: v.name!,
        ...(v.pin !== undefined ? { pin: v.pin } : {}),
        ...(v["line-uri"] !== undefined ? { lineUri: v["line-uri"] } : {}),
        ...(v["private-line"] !== undefined ? { privateLine: v["private-line"] } : {}),
        ...(v["sip-password"] !== undefined ? { sipPassword: v["sip-password"] } : {}),
      });
      io.out(`added ${u.extension} (${u.displayName})${u.pinHash ? "" : `; no PIN yet: deskphone-admin reset-pin ${u.extension}`}\n`);
      return;
    }
    case "remove-user": {
      const r = await ops.removeUser(ctx, a[0]!);
      io.out(`removed ${a[0]}${r.devicesRevoked ? ` (${r.devicesRevoked} device${r.devicesRevoked === 1 ? "" : "s"} revoked)` : ""}\n`);
      return;
    }
    case "list-users": {
      const users = store.listUsers().map((u) => ({
        extension: u.extension,
        name: u.displayName,
        lineUri: u.lineUri,
        privateLine: u.privateLine,
        sipUser: u.sipUser,
        pinSet: u.pinHash !== null,
        lock: ops.lockOf(ctx, u.extension),
        devices: store.listDevices(u.extension).filter((d) => d.revokedAt === null).length,
        delegates: store.delegations(u.extension).filter((d) => d.boss === u.extension).map((d) => d.delegate),
      }));
      if (v.json) io.out(JSON.stringify(users, null, 2) + "\n");
      else if (!users.length) io.out("no users\n");
      else io.out(table([["EXT", "NAME", "LINE URI", "PRIVATE", "PIN", "LOCK", "DEVICES", "DELEGATES"], ...users.map((u) => [u.extension, u.name, u.lineUri ?? "-", u.privateLine ?? "-", u.pinSet ? "set" : "none", u.lock ?? "-", String(u.devices), u.delegates.join(",") || "-"])]));
      return;
    }
    case "set-pin": {
      await ops.setPin(ctx, a[0]!, a[1]!);
      const lock = ops.lockOf(ctx, a[0]!);
      io.out(`PIN set for ${a[0]}${lock ? `; PIN sign-in is still locked (${lock === "admin" ? "until unlocked" : `until ${lock}`}): deskphone-admin unlock ${a[0]}` : ""}\n`);
      return;
    }
    case "reset-pin": {
      const pin = await ops.resetPin(ctx, a[0]!);
      io.out(`new PIN for ${a[0]}: ${pin} (shown once)\n`);
      return;
    }
    case "unlock": {
      const was = ops.unlock(ctx, a[0]!);
      io.out(was ? `unlocked ${a[0]} (was locked ${was === "admin" ? "until an admin unlocked it" : `until ${was}`})\n` : `${a[0]} was not locked; failure counts cleared\n`);
      return;
    }
    case "set-sip-password": {
      await ops.setSipPassword(ctx, a[0]!, v["sip-password"]);
      io.out(`SIP password changed for ${a[0]}\n`);
      return;
    }
    case "set-private-line": {
      const u = ops.setPrivateLine(ctx, a[0]!, a[1] ?? null);
      io.out(u.privateLine ? `private line of ${u.extension}: ${u.privateLine}\n` : `${u.extension} has no private line\n`);
      return;
    }
    case "devices": {
      if (a[0] !== undefined && !store.getUser(a[0]) && !store.listDevices(a[0]).length) throw new ops.AdminRefusal(`no user with extension ${a[0]}`);
      const list: DeviceRecord[] = store.listDevices(a[0]);
      if (v.json) io.out(JSON.stringify(list, null, 2) + "\n");
      else if (!list.length) io.out("no devices\n");
      else io.out(table([["DEVICE", "EXT", "SERIAL", "SHA-256", "CREATED", "LAST SEEN", "REVOKED"], ...list.map((d) => [d.id, d.extension, d.certSerial, d.certSha256, iso(d.createdAt), iso(d.lastSeenAt), iso(d.revokedAt)])]));
      return;
    }
    case "revoke": {
      const d = ops.revokeDevice(ctx, a[0]!);
      io.out(`revoked device ${d.id} (${d.extension})\n`);
      return;
    }
    case "audit": {
      const log: AuditRecord[] = store.auditLog({ ...(v.ext !== undefined ? { extension: v.ext } : {}), limit });
      if (v.json) io.out(JSON.stringify(log, null, 2) + "\n");
      else for (const r of log) io.out(`${iso(r.at)}  ${r.actor.padEnd(7)}  ${r.event.padEnd(16)}  ${(r.extension ?? "-").padEnd(6)}  ${r.deviceId ?? "-"}  ${JSON.stringify(r.detail)}\n`);
      return;
    }
    case "delegate": {
      const [verb, x, y] = a as [string, string?, string?];
      if (verb === "list") {
        const bosses = [...new Set(store.delegations(x).map((d) => d.boss))].flatMap((b) => store.getUser(b) ?? []);
        const rows = bosses.map((b) => ({
          boss: b.extension,
          name: b.displayName,
          ringMode: b.ringMode,
          ringDelaySeconds: b.ringDelaySeconds,
          delegates: store.delegatesOf(b.extension).map((d) => ({ extension: d.extension, name: d.displayName })),
        }));
        if (v.json) io.out(JSON.stringify(rows, null, 2) + "\n");
        else if (!rows.length) io.out("no delegates\n");
        else io.out(table([["BOSS", "NAME", "RING", "DELEGATES"], ...rows.map((r) => [r.boss, r.name, ringWords(r.ringMode, r.ringDelaySeconds), r.delegates.map((d) => `${d.extension} (${d.name})`).join(", ")])]));
      } else if (verb === "ring-mode") {
        const u = ops.setRingMode(ctx, x!, y!, v.seconds === undefined ? undefined : Number(v.seconds));
        io.out(`calls to ${u.extension} ring the delegates ${u.ringMode === "delayed" ? `after ${u.ringDelaySeconds} s` : "at once"}\n`);
      } else if (verb === "add") {
        ops.addDelegate(ctx, x!, y!);
        io.out(`${y} is now a delegate of ${x}\n`);
      } else {
        ops.removeDelegate(ctx, x!, y!);
        io.out(`${y} is no longer a delegate of ${x}\n`);
      }
      return;
    }
    case "policy": {
      const [verb, name, json] = a as [string, string, string?];
      if (verb === "set") {
        const value = ops.setPolicy(ctx, name, json!);
        io.out(`policy ${name} set: ${JSON.stringify(value)}\n`);
      } else {
        if (!ops.isPolicyName(name)) throw new ops.AdminRefusal(`unknown policy '${name}'`);
        const value = store.getPolicy(name);
        if (v.json) io.out(JSON.stringify(value ?? null) + "\n");
        else io.out(value === undefined ? `policy ${name} is not set\n` : JSON.stringify(value, null, 2) + "\n");
      }
      return;
    }
  }
}

// What IT can do to the provisioning store: users, PINs, locks, devices, delegates, policies. The admin CLI is a thin
// shell over these; tests call them directly. A refused operation throws AdminRefusal with a one-line message. Every
// change is audited (never with a PIN or a password), and user or SIP password changes rewrite Kamailio's subscriber
// file when one is configured.
import { Ajv, type ErrorObject } from "ajv";
import { schemaErrorSubject } from "../../base/schema-words.js";
import { CONFIG_BUNDLE_SCHEMA, MAX_BOSSES, MAX_DELEGATES, MAX_RING_DELAY_SECONDS, schemaErrorWords } from "../config-bundle.js";
import type { Actor, DeviceRecord, PolicyName, ProvisioningStore, RingMode, UserRecord } from "./store.js";
import { POLICY_NAMES, randomSipPassword } from "./store.js";
import { checkPin, randomPin, type PinOwner } from "./pin-policy.js";
import { hashPin } from "./pin-hash.js";
import { activeLock, openState } from "./lockout.js";
import { writeSubscriberFile } from "./kamailio-subscribers.js";
import type { ServiceSettings } from "./service-config.js";

/** An operation refused for a reason the admin can act on (exit code 1 in the CLI). */
export class AdminRefusal extends Error {
  override name = "AdminRefusal";
}

export interface AdminContext {
  store: ProvisioningStore;
  settings: ServiceSettings;
  /** Who is acting, for the audit log (default "cli"). */
  actor?: Actor;
  /** Wall-clock now (ms), for lock states. */
  now: () => number;
}

export const EXTENSION_RE = /^[0-9]{1,15}$/;
const NUMBER_RE = /^\+?[0-9]{1,20}$/;
const LINE_URI_RE = /^(sips?|tel):[^\s]+$/;
const SIP_PASSWORD_RE = /^[\x21-\x7e]{8,128}$/;

function refuse(msg: string): never {
  throw new AdminRefusal(msg);
}

function needUser(ctx: AdminContext, extension: string): UserRecord {
  return ctx.store.getUser(extension) ?? refuse(`no user with extension ${extension}`);
}

/** The numbers a PIN must not be: the extension (and reversed), the private line, the line URI's number. */
export function pinOwner(u: { extension: string; privateLine?: string | null; lineUri?: string | null }): PinOwner {
  const other: string[] = [];
  if (u.privateLine) other.push(u.privateLine);
  const m = u.lineUri ? /^(?:tel:|sips?:)(\+?[0-9]{3,})(?:[@;]|$)/.exec(u.lineUri) : null;
  if (m) other.push(m[1]!);
  return { extension: u.extension, otherNumbers: other };
}

async function checkedHash(ctx: AdminContext, owner: PinOwner, pin: string): Promise<string> {
  const v = checkPin(pin, owner, ctx.settings.pinPolicy);
  if (!v.ok) refuse(v.message);
  return hashPin(pin, ctx.settings.scrypt);
}

/** Rewrites Kamailio's subscriber file, if one is configured. */
export async function syncKamailio(ctx: AdminContext): Promise<void> {
  if (ctx.settings.kamailioSubscriberFile) await writeSubscriberFile(ctx.settings.kamailioSubscriberFile, ctx.store, ctx.settings.sipDomain);
}

export interface AddUserOptions {
  extension: string;
  name: string;
  pin?: string;
  lineUri?: string;
  privateLine?: string;
  sipPassword?: string;
}

export async function addUser(ctx: AdminContext, o: AddUserOptions): Promise<UserRecord> {
  if (!EXTENSION_RE.test(o.extension)) refuse(`extension must be 1 to 15 digits (got '${o.extension}')`);
  const name = o.name.trim();
  if (!name || name.length > 64 || /[\x00-\x1f\x7f]/.test(name)) refuse("name must be 1 to 64 printable characters");
  if (o.lineUri !== undefined && !LINE_URI_RE.test(o.lineUri)) refuse(`line URI must be a sip:, sips: or tel: URI (got '${o.lineUri}')`);
  if (o.privateLine !== undefined && !NUMBER_RE.test(o.privateLine)) refuse(`private line must be a phone number (digits, optional leading +; got '${o.privateLine}')`);
  if (o.privateLine === o.extension) refuse("the private line cannot be the extension itself");
  if (o.sipPassword !== undefined && !SIP_PASSWORD_RE.test(o.sipPassword)) refuse("SIP password must be 8 to 128 printable characters, no spaces");
  if (ctx.store.getUser(o.extension)) refuse(`extension ${o.extension} already exists`);
  const clash = ctx.store.numberOwner(o.extension);
  if (clash) refuse(`${o.extension} is already a number of ${clash.extension} (${clash.displayName})`);
  if (o.privateLine) {
    const owner = ctx.store.numberOwner(o.privateLine);
    if (owner) refuse(`${o.privateLine} is already a number of ${owner.extension} (${owner.displayName})`);
  }
  const pinHash = o.pin === undefined ? null : await checkedHash(ctx, pinOwner(o), o.pin);
  const user = ctx.store.transaction(() => {
    const u = ctx.store.addUser({ extension: o.extension, displayName: name, lineUri: o.lineUri ?? null, privateLine: o.privateLine ?? null, sipPassword: o.sipPassword ?? randomSipPassword(), pinHash });
    ctx.store.audit(ctx.actor ?? "cli", "user-added", { extension: o.extension, detail: { name, lineUri: o.lineUri ?? null, privateLine: o.privateLine ?? null, pinSet: pinHash !== null } });
    if (pinHash) ctx.store.audit(ctx.actor ?? "cli", "pin-set", { extension: o.extension });
    return u;
  });
  await syncKamailio(ctx);
  return user;
}

export async function removeUser(ctx: AdminContext, extension: string): Promise<{ devicesRevoked: number }> {
  needUser(ctx, extension);
  const live = ctx.store.listDevices(extension).filter((d) => d.revokedAt === null).length;
  ctx.store.transaction(() => {
    ctx.store.removeUser(extension);
    ctx.store.audit(ctx.actor ?? "cli", "user-removed", { extension, detail: { devicesRevoked: live } });
  });
  await syncKamailio(ctx);
  return { devicesRevoked: live };
}

export async function setPin(ctx: AdminContext, extension: string, pin: string): Promise<void> {
  const u = needUser(ctx, extension);
  const hash = await checkedHash(ctx, pinOwner(u), pin);
  ctx.store.transaction(() => {
    ctx.store.setPinHash(extension, hash);
    ctx.store.audit(ctx.actor ?? "cli", "pin-set", { extension });
  });
}

/** Sets a new random PIN the policy accepts and returns it (the only time it is ever shown). */
export async function resetPin(ctx: AdminContext, extension: string): Promise<string> {
  const u = needUser(ctx, extension);
  const pin = randomPin(pinOwner(u), ctx.settings.pinPolicy);
  const hash = await hashPin(pin, ctx.settings.scrypt);
  ctx.store.transaction(() => {
    ctx.store.setPinHash(extension, hash);
    ctx.store.audit(ctx.actor ?? "cli", "pin-reset", { extension });
  });
  return pin;
}

/** The PIN lock in force for `extension`: an ISO time, "admin", or null. */
export function lockOf(ctx: AdminContext, extension: string): string | null {
  const now = ctx.now();
  const lock = activeLock(ctx.store.lockState(extension, now - ctx.settings.lockout.windowMinutes * 60_000), now);
  return lock === null ? null : lock === "admin" ? "admin" : new Date(lock).toISOString();
}

/** Lifts any PIN lock and clears the failure counts; returns the lock there was (null: none). */
export function unlock(ctx: AdminContext, extension: string): string | null {
  needUser(ctx, extension);
  const was = lockOf(ctx, extension);
  ctx.store.transaction(() => {
    ctx.store.saveLockState(extension, openState());
    ctx.store.audit(ctx.actor ?? "cli", "pin-unlocked", { extension, detail: { wasLocked: was } });
  });
  return was;
}

/** Gives `extension` a private line (a second, unlisted, inbound-only number), or takes it away (null). */
export function setPrivateLine(ctx: AdminContext, extension: string, number: string | null): UserRecord {
  const u = needUser(ctx, extension);
  if (number !== null) {
    if (!NUMBER_RE.test(number)) refuse(`private line must be a phone number (digits, optional leading +; got '${number}')`);
    if (number === extension) refuse("the private line cannot be the extension itself");
    const owner = ctx.store.numberOwner(number);
    if (owner && !(owner.extension === extension && u.privateLine === number)) refuse(`${number} is already a number of ${owner.extension} (${owner.displayName})`);
  }
  ctx.store.transaction(() => {
    ctx.store.setPrivateLine(extension, number);
    ctx.store.audit(ctx.actor ?? "cli", "private-line-set", { extension, detail: { privateLine: number, was: u.privateLine } });
  });
  return ctx.store.getUser(extension)!;
}

export async function setSipPassword(ctx: AdminContext, extension: string, password?: string): Promise<void> {
  needUser(ctx, extension);
  if (password !== undefined && !SIP_PASSWORD_RE.test(password)) refuse("SIP password must be 8 to 128 printable characters, no spaces");
  ctx.store.transaction(() => {
    ctx.store.setSipPassword(extension, password ?? randomSipPassword());
    ctx.store.audit(ctx.actor ?? "cli", "sip-password-set", { extension, detail: { given: password !== undefined } });
  });
  await syncKamailio(ctx);
}

export function revokeDevice(ctx: AdminContext, id: string): DeviceRecord {
  const d = ctx.store.getDevice(id) ?? refuse(`no device ${id}`);
  if (d.revokedAt !== null) refuse(`device ${id} was already revoked on ${new Date(d.revokedAt).toISOString()}`);
  ctx.store.transaction(() => {
    ctx.store.revokeDevice(id);
    ctx.store.audit(ctx.actor ?? "cli", "device-revoked", { extension: d.extension, deviceId: id, detail: { serial: d.certSerial } });
  });
  return ctx.store.getDevice(id)!;
}

const RING_MODES: readonly RingMode[] = ["simultaneous", "delayed"];

/** Refuses a boss at the most delegates, or a delegate already serving the most bosses. */
function checkLimits(ctx: AdminContext, boss: string, delegate: string): void {
  if (ctx.store.delegatesOf(boss).length >= MAX_DELEGATES) refuse(`${boss} already has ${MAX_DELEGATES} delegates (the most)`);
  if (ctx.store.bossesOf(delegate).length >= MAX_BOSSES) refuse(`${delegate} is already a delegate of ${MAX_BOSSES} users (the most)`);
}

export function addDelegate(ctx: AdminContext, boss: string, delegate: string): void {
  needUser(ctx, boss);
  needUser(ctx, delegate);
  if (boss === delegate) refuse("a user cannot be their own delegate");
  ctx.store.transaction(() => {
    if (ctx.store.delegations(boss).some((d) => d.boss === boss && d.delegate === delegate)) refuse(`${delegate} is already a delegate of ${boss}`);
    checkLimits(ctx, boss, delegate);
    ctx.store.addDelegate(boss, delegate);
    ctx.store.audit(ctx.actor ?? "cli", "delegate-added", { extension: boss, detail: { delegate } });
  });
}

export interface DelegatesResult {
  delegates: Array<{ number: string; name: string }>;
  added: string[];
  removed: string[];
  ringMode: RingMode;
  ringDelaySeconds: number;
}

/**
 * Replaces `boss`'s delegates with `delegates` (extensions), as the boss's phone does (PUT /v1/delegates), and sets
 * the boss's ring mode too when `ring` is given. Refuses, naming the number: an unknown extension, the boss
 * themselves, one listed twice, more than MAX_DELEGATES, a new delegate already serving MAX_BOSSES bosses. Each
 * delegate added or removed is audited (actor ctx.actor, with `deviceId` when a phone did it).
 */
export function setDelegates(ctx: AdminContext, boss: string, delegates: readonly string[], o: { ring?: { mode: RingMode; seconds?: number }; deviceId?: string } = {}): DelegatesResult {
  needUser(ctx, boss);
  if (delegates.length > MAX_DELEGATES) refuse(`delegates: at most ${MAX_DELEGATES} (got ${delegates.length})`);
  const seen = new Set<string>();
  for (const d of delegates) {
    if (!EXTENSION_RE.test(d)) refuse(`delegates: '${d}' is not an extension (1 to 15 digits)`);
    if (seen.has(d)) refuse(`delegates: ${d} is listed twice`);
    seen.add(d);
    if (d === boss) refuse(`delegates: ${d} is the boss's own extension (a user cannot be their own delegate)`);
    if (!ctx.store.getUser(d)) refuse(`delegates: no user with extension ${d}`);
  }
  if (o.ring) checkRing(o.ring.mode, o.ring.seconds);
  const actor = ctx.actor ?? "cli";
  return ctx.store.transaction(() => {
    const current = new Set(ctx.store.delegatesOf(boss).map((u) => u.extension));
    for (const d of delegates) if (!current.has(d) && ctx.store.bossesOf(d).length >= MAX_BOSSES) refuse(`delegates: ${d} is already a delegate of ${MAX_BOSSES} users (the most)`);
    const { added, removed } = ctx.store.replaceDelegates(boss, delegates);
    for (const d of added) ctx.store.audit(actor, "delegate-added", { extension: boss, deviceId: o.deviceId ?? null, detail: { delegate: d } });
    for (const d of removed) ctx.store.audit(actor, "delegate-removed", { extension: boss, deviceId: o.deviceId ?? null, detail: { delegate: d } });
    if (o.ring) applyRing(ctx, boss, o.ring.mode, o.ring.seconds, o.deviceId);
    const user = ctx.store.getUser(boss)!;
    return { delegates: ctx.store.delegatesOf(boss).map((u) => ({ number: u.extension, name: u.displayName })), added, removed, ringMode: user.ringMode, ringDelaySeconds: user.ringDelaySeconds };
  });
}

function checkRing(mode: string, seconds: number | undefined): asserts mode is RingMode {
  if (!(RING_MODES as readonly string[]).includes(mode)) refuse(`ring mode must be simultaneous or delayed (got '${mode}')`);
  if (seconds !== undefined && (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_RING_DELAY_SECONDS)) refuse(`the ring delay must be a whole number of seconds from 0 to ${MAX_RING_DELAY_SECONDS} (got ${String(seconds)})`);
}

/** Stores the ring mode (an absent delay keeps the stored one) and audits a change. */
function applyRing(ctx: AdminContext, boss: string, mode: RingMode, seconds: number | undefined, deviceId?: string): void {
  const u = ctx.store.getUser(boss)!;
  const delay = seconds ?? u.ringDelaySeconds;
  if (u.ringMode === mode && u.ringDelaySeconds === delay) return;
  ctx.store.setRingMode(boss, mode, delay);
  ctx.store.audit(ctx.actor ?? "cli", "ring-mode-set", { extension: boss, deviceId: deviceId ?? null, detail: { ringMode: mode, ringDelaySeconds: delay } });
}

/**
 * Sets how calls to `boss` ring their delegates: "simultaneous" (at once) or "delayed" (after `seconds`, 0-60; the
 * stored delay, 10 by default, when not given). Returns the user as now stored.
 */
export function setRingMode(ctx: AdminContext, boss: string, mode: string, seconds?: number): UserRecord {
  needUser(ctx, boss);
  checkRing(mode, seconds);
  if (seconds !== undefined && mode === "simultaneous") refuse("--seconds goes with ring mode delayed (simultaneous rings the delegates at once)");
  ctx.store.transaction(() => applyRing(ctx, boss, mode, seconds));
  return ctx.store.getUser(boss)!;
}

export function removeDelegate(ctx: AdminContext, boss: string, delegate: string): void {
  ctx.store.transaction(() => {
    if (!ctx.store.removeDelegate(boss, delegate)) refuse(`${delegate} is not a delegate of ${boss}`);
    ctx.store.audit(ctx.actor ?? "cli", "delegate-removed", { extension: boss, detail: { delegate } });
  });
}

const ajv = new Ajv({ allErrors: true, strict: true });
/** The lock policy goes into every bundle as its `lock`: it must pass the bundle's own rules. */
const lockPolicy = ajv.compile(CONFIG_BUNDLE_SCHEMA.properties.lock);
/** So does the logging policy, as its `logging`. */
const loggingPolicy = ajv.compile(CONFIG_BUNDLE_SCHEMA.properties.logging);
/** The location policy (Lync's Set-CsLocationPolicy fields) becomes the bundle's `locationPolicy`. */
const locationPolicy = ajv.compile(CONFIG_BUNDLE_SCHEMA.properties.locationPolicy);
/**
 * The delegation policy: `{"enabled": true}` turns boss / delegate calling on (the bundle's `delegation`); `forking`
 * says who rings a boss's delegates: "server" (the PBX, the default) or "phone" (the boss's phone, for a PBX that does
 * not fork).
 */
const delegationPolicy = ajv.compile({
  type: "object",
  additionalProperties: false,
  required: ["enabled"],
  properties: { enabled: { type: "boolean" }, forking: CONFIG_BUNDLE_SCHEMA.properties.delegation.properties.forking },
});
/** The emergency policy: where location comes from (the LIS) and how emergency calls are routed. */
const emergencyPolicy = ajv.compile({
  type: "object",
  additionalProperties: false,
  properties: { location: CONFIG_BUNDLE_SCHEMA.properties.location, emergency: CONFIG_BUNDLE_SCHEMA.properties.emergency },
});

/** A policy's schema error in words; a value not in a list names the allowed ones and the one given. */
function policyErrorWords(what: string, e: ErrorObject, value: unknown): string {
  if (e.keyword !== "enum") return schemaErrorWords(what, e);
  const { where, got, allowed } = schemaErrorSubject(e, value);
  const words = allowed.map((v) => JSON.stringify(v));
  const list = words.length > 1 ? `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}` : words.join("");
  return `${what}: ${where}: must be ${list} (got ${JSON.stringify(got) ?? "nothing"})`;
}

export function isPolicyName(name: string): name is PolicyName {
  return (POLICY_NAMES as readonly string[]).includes(name);
}

/** Sets a named policy from JSON text (an object). */
export function setPolicy(ctx: AdminContext, name: string, json: string): unknown {
  if (!isPolicyName(name)) refuse(`unknown policy '${name}' (one of ${POLICY_NAMES.join(", ")})`);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e) {
    refuse(`policy ${name}: not JSON (${(e as Error).message})`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) refuse(`policy ${name}: must be a JSON object`);
  const check = name === "lock" ? lockPolicy : name === "logging" ? loggingPolicy : name === "location" ? locationPolicy : name === "emergency" ? emergencyPolicy : name === "delegation" ? delegationPolicy : null;
  if (check && !check(value)) {
    const e = check.errors?.[0];
    refuse(e ? policyErrorWords(`policy ${name}`, e, value) : `policy ${name}: invalid`);
  }
  ctx.store.transaction(() => {
    ctx.store.setPolicy(name as PolicyName, value);
    ctx.store.audit(ctx.actor ?? "cli", "policy-set", { detail: { name, value } });
  });
  return value;
}

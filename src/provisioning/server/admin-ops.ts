// What IT can do to the provisioning store: users, PINs, locks, devices, delegates, policies. The admin CLI is a thin
// shell over these; tests call them directly. A refused operation throws AdminRefusal with a one-line message. Every
// change is audited (never with a PIN or a password), and user or SIP password changes rewrite Kamailio's subscriber
// file when one is configured.
import { Ajv } from "ajv";
import { CONFIG_BUNDLE_SCHEMA, schemaErrorWords } from "../config-bundle.js";
import type { Actor, DeviceRecord, PolicyName, ProvisioningStore, UserRecord } from "./store.js";
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

export function addDelegate(ctx: AdminContext, boss: string, delegate: string): void {
  needUser(ctx, boss);
  needUser(ctx, delegate);
  if (boss === delegate) refuse("a user cannot be their own delegate");
  ctx.store.transaction(() => {
    if (!ctx.store.addDelegate(boss, delegate)) refuse(`${delegate} is already a delegate of ${boss}`);
    ctx.store.audit(ctx.actor ?? "cli", "delegate-added", { extension: boss, detail: { delegate } });
  });
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
/** The emergency policy: where location comes from (the LIS) and how emergency calls are routed. */
const emergencyPolicy = ajv.compile({
  type: "object",
  additionalProperties: false,
  properties: { location: CONFIG_BUNDLE_SCHEMA.properties.location, emergency: CONFIG_BUNDLE_SCHEMA.properties.emergency },
});

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
  const check = name === "lock" ? lockPolicy : name === "logging" ? loggingPolicy : name === "location" ? locationPolicy : name === "emergency" ? emergencyPolicy : null;
  if (check && !check(value)) {
    const e = check.errors?.[0];
    refuse(e ? schemaErrorWords(`policy ${name}`, e) : `policy ${name}: invalid`);
  }
  ctx.store.transaction(() => {
    ctx.store.setPolicy(name as PolicyName, value);
    ctx.store.audit(ctx.actor ?? "cli", "policy-set", { detail: { name, value } });
  });
  return value;
}

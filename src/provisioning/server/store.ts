// The provisioning service's state in one SQLite file (better-sqlite3, WAL, so the admin CLI can work on it while the
// service runs): users, delegates, policies, PIN failures and locks, devices, settings and the audit log. The schema is
// created and migrated on open (`schema_version`). PINs are only ever stored as scrypt hashes; the SIP password is kept
// in clear because it is handed to the phone and to Kamailio. The file is created 0600.
import Database from "better-sqlite3";
import { closeSync, openSync, chmodSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { createSystemClock, type Clock } from "../../base/clock.js";
import { SECRET_FIELDS } from "../../base/log.js";
import { openState, type LockState } from "./lockout.js";

/** Who did it: the admin CLI, the service itself, or a phone (its device id) acting for its user. */
export type Actor = "cli" | "service" | `device:${string}`;

export type AuditEvent =
  | "pin-set"
  | "pin-reset"
  | "pin-failure"
  | "pin-locked"
  | "pin-unlocked"
  | "sign-in"
  | "device-revoked"
  | "config-fetched"
  | "user-added"
  | "user-removed"
  | "sip-password-set"
  | "private-line-set"
  | "delegate-added"
  | "delegate-removed"
  | "ring-mode-set"
  | "policy-set";

export type RingMode = "simultaneous" | "delayed";

export const POLICY_NAMES = ["location", "emergency", "logging", "lock", "delegation"] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export interface UserRecord {
  extension: string;
  displayName: string;
  lineUri: string | null;
  privateLine: string | null;
  sipUser: string;
  sipPassword: string;
  pinHash: string | null;
  createdAt: number;
  pinSetAt: number | null;
  /** As a boss: calls ring the delegates at once, or after ringDelaySeconds. */
  ringMode: RingMode;
  ringDelaySeconds: number;
}

export interface NewUser {
  extension: string;
  displayName: string;
  lineUri?: string | null;
  privateLine?: string | null;
  /** Default: the extension. */
  sipUser?: string;
  /** Default: 24 random characters. */
  sipPassword?: string;
  pinHash?: string | null;
}

export interface DeviceRecord {
  id: string;
  extension: string;
  certSerial: string;
  certSha256: string;
  createdAt: number;
  lastSeenAt: number | null;
  revokedAt: number | null;
}

export interface AuditRecord {
  id: number;
  at: number;
  actor: Actor;
  event: string;
  extension: string | null;
  deviceId: string | null;
  detail: Record<string, unknown>;
}

/** Each entry takes the schema from version i to i+1; never edit one that has shipped, add another. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE users (
     extension     TEXT PRIMARY KEY,
     display_name  TEXT NOT NULL,
     line_uri      TEXT,
     private_line  TEXT UNIQUE,
     sip_user      TEXT NOT NULL UNIQUE,
     sip_password  TEXT NOT NULL,
     pin_hash      TEXT,
     created_at    INTEGER NOT NULL,
     pin_set_at    INTEGER
   );
   CREATE TABLE delegates (
     boss      TEXT NOT NULL REFERENCES users(extension) ON DELETE CASCADE,
     delegate  TEXT NOT NULL REFERENCES users(extension) ON DELETE CASCADE,
     PRIMARY KEY (boss, delegate)
   );
   CREATE TABLE policies (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE pin_failures (
     extension  TEXT NOT NULL REFERENCES users(extension) ON DELETE CASCADE,
     at         INTEGER NOT NULL
   );
   CREATE INDEX pin_failures_by_extension ON pin_failures(extension, at);
   CREATE TABLE pin_locks (
     extension             TEXT PRIMARY KEY REFERENCES users(extension) ON DELETE CASCADE,
     locked_until          INTEGER,
     admin_locked          INTEGER NOT NULL DEFAULT 0,
     consecutive_failures  INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE devices (
     id            TEXT PRIMARY KEY,
     extension     TEXT NOT NULL,
     cert_serial   TEXT NOT NULL UNIQUE,
     cert_sha256   TEXT NOT NULL UNIQUE,
     created_at    INTEGER NOT NULL,
     last_seen_at  INTEGER,
     revoked_at    INTEGER
   );
   CREATE INDEX devices_by_extension ON devices(extension);
   CREATE TABLE audit (
     id         INTEGER PRIMARY KEY AUTOINCREMENT,
     at         INTEGER NOT NULL,
     actor      TEXT NOT NULL CHECK (actor IN ('cli', 'service')),
     event      TEXT NOT NULL,
     extension  TEXT,
     device_id  TEXT,
     detail     TEXT NOT NULL DEFAULT '{}'
   );`,
  // v2: settings the service publishes for the admin CLI (PIN policy, scrypt cost, SIP domain, Kamailio file), and
  // the audit log searchable by extension
  `CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE INDEX audit_by_extension ON audit(extension, id);`,
  // v3: each user's ring mode as a boss (delegates rung at once, or after N seconds), and phones as audit actors
  // ("device:<id>", when the boss's phone edits the delegates): the audit table is rebuilt to widen its CHECK
  `ALTER TABLE users ADD COLUMN ring_mode TEXT NOT NULL DEFAULT 'simultaneous' CHECK (ring_mode IN ('simultaneous', 'delayed'));
   ALTER TABLE users ADD COLUMN ring_delay_s INTEGER NOT NULL DEFAULT 10 CHECK (ring_delay_s BETWEEN 0 AND 60);
   CREATE TABLE audit_v3 (
     id         INTEGER PRIMARY KEY AUTOINCREMENT,
     at         INTEGER NOT NULL,
     actor      TEXT NOT NULL CHECK (actor IN ('cli', 'service') OR actor GLOB 'device:?*'),
     event      TEXT NOT NULL,
     extension  TEXT,
     device_id  TEXT,
     detail     TEXT NOT NULL DEFAULT '{}'
   );
   INSERT INTO audit_v3 (id, at, actor, event, extension, device_id, detail) SELECT id, at, actor, event, extension, device_id, detail FROM audit;
   DROP TABLE audit;
   ALTER TABLE audit_v3 RENAME TO audit;
   CREATE INDEX audit_by_extension ON audit(extension, id);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** A new user's delay before their calls ring the delegates, in "delayed" ring mode. */
export const DEFAULT_RING_DELAY_S = 10;

const SIP_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/** 24 random characters from an unambiguous alphabet (about 139 bits). */
export function randomSipPassword(length = 24): string {
  const out: string[] = [];
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      // rejection sampling keeps every character equally likely
      if (b < 256 - (256 % SIP_PASSWORD_ALPHABET.length) && out.length < length) out.push(SIP_PASSWORD_ALPHABET[b % SIP_PASSWORD_ALPHABET.length]!);
    }
  }
  return out.join("");
}

const secretKeys = new Set(SECRET_FIELDS.map((f) => f.toLowerCase()));
const isSecretKey = (k: string): boolean => secretKeys.has(k.toLowerCase()) || /pin$|pinhash|password|passwd/i.test(k);

/** Audit details never carry a secret, whatever a caller passes: fields named like one are dropped, at any depth. */
export function scrubDetail(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(scrubDetail);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (!isSecretKey(k)) out[k] = scrubDetail(x);
    return out;
  }
  return v;
}

interface UserRow {
  extension: string;
  display_name: string;
  line_uri: string | null;
  private_line: string | null;
  sip_user: string;
  sip_password: string;
  pin_hash: string | null;
  created_at: number;
  pin_set_at: number | null;
  /** Absent in a database opened at an older schema version (migration tests). */
  ring_mode?: RingMode;
  ring_delay_s?: number;
}

interface DeviceRow {
  id: string;
  extension: string;
  cert_serial: string;
  cert_sha256: string;
  created_at: number;
  last_seen_at: number | null;
  revoked_at: number | null;
}

const userOf = (r: UserRow): UserRecord => ({
  extension: r.extension,
  displayName: r.display_name,
  lineUri: r.line_uri,
  privateLine: r.private_line,
  sipUser: r.sip_user,
  sipPassword: r.sip_password,
  pinHash: r.pin_hash,
  createdAt: r.created_at,
  pinSetAt: r.pin_set_at,
  ringMode: r.ring_mode ?? "simultaneous",
  ringDelaySeconds: r.ring_delay_s ?? DEFAULT_RING_DELAY_S,
});

const deviceOf = (r: DeviceRow): DeviceRecord => ({
  id: r.id,
  extension: r.extension,
  certSerial: r.cert_serial,
  certSha256: r.cert_sha256,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  revokedAt: r.revoked_at,
});

/** Reads the schema version of an open database (0 for a new, empty file). */
function versionOf(db: Database.Database): number {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (!has) return 0;
  const row = db.prepare("SELECT version FROM schema_version").get() as { version: number } | undefined;
  return row?.version ?? 0;
}

/** Brings `db` to schema version `target` (default the newest), one transaction per step. */
export function migrate(db: Database.Database, target = SCHEMA_VERSION): number {
  let v = versionOf(db);
  if (v > SCHEMA_VERSION) throw new Error(`${db.name}: schema version ${v} is newer than this program knows (${SCHEMA_VERSION}); upgrade the provisioning service`);
  while (v < target) {
    const step = MIGRATIONS[v]!;
    const next = v + 1;
    db.transaction(() => {
      db.exec(step);
      db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
      db.exec("DELETE FROM schema_version");
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(next);
    })();
    v = next;
  }
  return v;
}

export interface StoreOptions {
  clock?: Clock;
  /** Migrate up to this version only (tests of migrations). */
  schemaVersion?: number;
}

export class ProvisioningStore {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly clock: Clock;

  private constructor(file: string, db: Database.Database, clock: Clock) {
    this.file = file;
    this.db = db;
    this.clock = clock;
  }

  /** Opens (creating, 0600) and migrates the database. The parent directory must exist. */
  static open(file: string, opts: StoreOptions = {}): ProvisioningStore {
    // create it 0600 before SQLite does (the WAL and shared-memory files take the database file's mode)
    closeSync(openSync(file, "a", 0o600));
    try {
      chmodSync(file, 0o600);
    } catch {
      // not ours to change (another user's file opened read-write): SQLite will say if it cannot write
    }
    const db = new Database(file, { timeout: 5000 });
    try {
      db.pragma("journal_mode = WAL");
      db.pragma("foreign_keys = ON");
      db.pragma("synchronous = NORMAL");
      migrate(db, opts.schemaVersion ?? SCHEMA_VERSION);
    } catch (e) {
      db.close();
      throw e;
    }
    return new ProvisioningStore(file, db, opts.clock ?? createSystemClock());
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  schemaVersion(): number {
    return versionOf(this.db);
  }

  /** Runs `fn` in one transaction (all or nothing). */
  transaction<R>(fn: () => R): R {
    return this.db.transaction(fn)();
  }

  // ---- users

  addUser(u: NewUser): UserRecord {
    const now = this.clock.wallNow();
    const row: UserRow = {
      extension: u.extension,
      display_name: u.displayName,
      line_uri: u.lineUri ?? null,
      private_line: u.privateLine ?? null,
      sip_user: u.sipUser ?? u.extension,
      sip_password: u.sipPassword ?? randomSipPassword(),
      pin_hash: u.pinHash ?? null,
      created_at: now,
      pin_set_at: u.pinHash ? now : null,
    };
    this.db
      .prepare(
        `INSERT INTO users (extension, display_name, line_uri, private_line, sip_user, sip_password, pin_hash, created_at, pin_set_at)
         VALUES (@extension, @display_name, @line_uri, @private_line, @sip_user, @sip_password, @pin_hash, @created_at, @pin_set_at)`,
      )
      .run(row);
    return userOf(row);
  }

  getUser(extension: string): UserRecord | undefined {
    const r = this.db.prepare("SELECT * FROM users WHERE extension = ?").get(extension) as UserRow | undefined;
    return r ? userOf(r) : undefined;
  }

  listUsers(): UserRecord[] {
    return (this.db.prepare("SELECT * FROM users ORDER BY extension").all() as UserRow[]).map(userOf);
  }

  /** The user whose extension, private line or SIP user is `number`, if any (numbers must not collide). */
  numberOwner(number: string): UserRecord | undefined {
    const r = this.db.prepare("SELECT * FROM users WHERE extension = @n OR private_line = @n OR sip_user = @n").get({ n: number }) as UserRow | undefined;
    return r ? userOf(r) : undefined;
  }

  /**
   * Removes a user: their delegations, PIN failures and lock go with them; their devices stay listed but revoked (a
   * removed user's phone gets 403).
   */
  removeUser(extension: string): boolean {
    return this.transaction(() => {
      const gone = this.db.prepare("DELETE FROM users WHERE extension = ?").run(extension).changes > 0;
      if (gone) this.db.prepare("UPDATE devices SET revoked_at = ? WHERE extension = ? AND revoked_at IS NULL").run(this.clock.wallNow(), extension);
      return gone;
    });
  }

  setPinHash(extension: string, pinHash: string): boolean {
    return this.db.prepare("UPDATE users SET pin_hash = ?, pin_set_at = ? WHERE extension = ?").run(pinHash, this.clock.wallNow(), extension).changes > 0;
  }

  setPrivateLine(extension: string, number: string | null): boolean {
    return this.db.prepare("UPDATE users SET private_line = ? WHERE extension = ?").run(number, extension).changes > 0;
  }

  setSipPassword(extension: string, password: string): boolean {
    return this.db.prepare("UPDATE users SET sip_password = ? WHERE extension = ?").run(password, extension).changes > 0;
  }

  /** Sets a user's ring mode as a boss; false when there is no such user. */
  setRingMode(extension: string, mode: RingMode, delaySeconds: number): boolean {
    return this.db.prepare("UPDATE users SET ring_mode = ?, ring_delay_s = ? WHERE extension = ?").run(mode, delaySeconds, extension).changes > 0;
  }

  // ---- delegates

  addDelegate(boss: string, delegate: string): boolean {
    return this.db.prepare("INSERT OR IGNORE INTO delegates (boss, delegate) VALUES (?, ?)").run(boss, delegate).changes > 0;
  }

  removeDelegate(boss: string, delegate: string): boolean {
    return this.db.prepare("DELETE FROM delegates WHERE boss = ? AND delegate = ?").run(boss, delegate).changes > 0;
  }

  /** Delegations, all or those `extension` takes part in (as boss or delegate). */
  delegations(extension?: string): Array<{ boss: string; delegate: string }> {
    const rows = extension === undefined ? this.db.prepare("SELECT boss, delegate FROM delegates ORDER BY boss, delegate").all() : this.db.prepare("SELECT boss, delegate FROM delegates WHERE boss = @e OR delegate = @e ORDER BY boss, delegate").all({ e: extension });
    return rows as Array<{ boss: string; delegate: string }>;
  }

  /** `boss`'s delegates, by extension. */
  delegatesOf(boss: string): UserRecord[] {
    return (this.db.prepare("SELECT u.* FROM delegates d JOIN users u ON u.extension = d.delegate WHERE d.boss = ? ORDER BY u.extension").all(boss) as UserRow[]).map(userOf);
  }

  /** The users `delegate` is a delegate of, by extension. */
  bossesOf(delegate: string): UserRecord[] {
    return (this.db.prepare("SELECT u.* FROM delegates d JOIN users u ON u.extension = d.boss WHERE d.delegate = ? ORDER BY u.extension").all(delegate) as UserRow[]).map(userOf);
  }

  /** Makes `delegates` exactly `boss`'s delegates (no checks: admin-ops does them); says who was added and removed. */
  replaceDelegates(boss: string, delegates: readonly string[]): { added: string[]; removed: string[] } {
    return this.transaction(() => {
      const before = new Set(this.delegatesOf(boss).map((u) => u.extension));
      const after = new Set(delegates);
      const added = [...after].filter((d) => !before.has(d)).sort();
      const removed = [...before].filter((d) => !after.has(d)).sort();
      for (const d of removed) this.removeDelegate(boss, d);
      for (const d of added) this.addDelegate(boss, d);
      return { added, removed };
    });
  }

  // ---- policies and settings

  setPolicy(name: PolicyName, value: unknown): void {
    this.db.prepare("INSERT INTO policies (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at").run(name, JSON.stringify(value), this.clock.wallNow());
  }

  getPolicy(name: PolicyName): unknown {
    const r = this.db.prepare("SELECT value FROM policies WHERE name = ?").get(name) as { value: string } | undefined;
    return r ? (JSON.parse(r.value) as unknown) : undefined;
  }

  setSetting(key: string, value: unknown): void {
    this.db.prepare("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, JSON.stringify(value));
  }

  getSetting(key: string): unknown {
    const r = this.db.prepare("SELECT value FROM settings WHERE key = ?").get(key) as { value: string } | undefined;
    return r ? (JSON.parse(r.value) as unknown) : undefined;
  }

  // ---- PIN lockout

  /** The lock state of `extension`, counting the failures after `windowStart` (wall-clock ms). */
  lockState(extension: string, windowStart: number): LockState {
    const lock = this.db.prepare("SELECT locked_until, admin_locked, consecutive_failures FROM pin_locks WHERE extension = ?").get(extension) as
      | { locked_until: number | null; admin_locked: number; consecutive_failures: number }
      | undefined;
    const failures = (this.db.prepare("SELECT at FROM pin_failures WHERE extension = ? AND at > ? ORDER BY at").all(extension, windowStart) as Array<{ at: number }>).map((r) => r.at);
    if (!lock) return { ...openState(), failures };
    return { failures, lockedUntil: lock.locked_until, adminLocked: lock.admin_locked !== 0, consecutive: lock.consecutive_failures };
  }

  /** Replaces the stored lock state of a (known) extension; an open state leaves no rows behind. */
  saveLockState(extension: string, s: LockState): void {
    this.transaction(() => {
      this.db.prepare("DELETE FROM pin_failures WHERE extension = ?").run(extension);
      const add = this.db.prepare("INSERT INTO pin_failures (extension, at) VALUES (?, ?)");
      for (const at of s.failures) add.run(extension, at);
      if (s.lockedUntil === null && !s.adminLocked && s.consecutive === 0) this.db.prepare("DELETE FROM pin_locks WHERE extension = ?").run(extension);
      else
        this.db
          .prepare(
            `INSERT INTO pin_locks (extension, locked_until, admin_locked, consecutive_failures) VALUES (?, ?, ?, ?)
             ON CONFLICT(extension) DO UPDATE SET locked_until = excluded.locked_until, admin_locked = excluded.admin_locked, consecutive_failures = excluded.consecutive_failures`,
          )
          .run(extension, s.lockedUntil, s.adminLocked ? 1 : 0, s.consecutive);
    });
  }

  // ---- devices

  addDevice(d: { id: string; extension: string; certSerial: string; certSha256: string }): DeviceRecord {
    const row: DeviceRow = { id: d.id, extension: d.extension, cert_serial: d.certSerial, cert_sha256: d.certSha256.replace(/:/g, "").toLowerCase(), created_at: this.clock.wallNow(), last_seen_at: null, revoked_at: null };
    this.db.prepare("INSERT INTO devices (id, extension, cert_serial, cert_sha256, created_at, last_seen_at, revoked_at) VALUES (@id, @extension, @cert_serial, @cert_sha256, @created_at, @last_seen_at, @revoked_at)").run(row);
    return deviceOf(row);
  }

  getDevice(id: string): DeviceRecord | undefined {
    const r = this.db.prepare("SELECT * FROM devices WHERE id = ?").get(id) as DeviceRow | undefined;
    return r ? deviceOf(r) : undefined;
  }

  /** The device whose certificate has this SHA-256 fingerprint (hex, colons and case ignored). */
  deviceByFingerprint(sha256: string): DeviceRecord | undefined {
    const r = this.db.prepare("SELECT * FROM devices WHERE cert_sha256 = ?").get(sha256.replace(/:/g, "").toLowerCase()) as DeviceRow | undefined;
    return r ? deviceOf(r) : undefined;
  }

  listDevices(extension?: string): DeviceRecord[] {
    const rows = extension === undefined ? this.db.prepare("SELECT * FROM devices ORDER BY created_at, id").all() : this.db.prepare("SELECT * FROM devices WHERE extension = ? ORDER BY created_at, id").all(extension);
    return (rows as DeviceRow[]).map(deviceOf);
  }

  /** Marks a device revoked; false when there is no such device or it already was. */
  revokeDevice(id: string): boolean {
    return this.db.prepare("UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(this.clock.wallNow(), id).changes > 0;
  }

  touchDevice(id: string): void {
    this.db.prepare("UPDATE devices SET last_seen_at = ? WHERE id = ?").run(this.clock.wallNow(), id);
  }

  // ---- audit

  audit(actor: Actor, event: AuditEvent, o: { extension?: string | null; deviceId?: string | null; detail?: Record<string, unknown> } = {}): void {
    this.db
      .prepare("INSERT INTO audit (at, actor, event, extension, device_id, detail) VALUES (?, ?, ?, ?, ?, ?)")
      .run(this.clock.wallNow(), actor, event, o.extension ?? null, o.deviceId ?? null, JSON.stringify(scrubDetail(o.detail ?? {})));
  }

  /** The newest `limit` entries (all, or about one extension), oldest first. */
  auditLog(q: { extension?: string; limit?: number } = {}): AuditRecord[] {
    const limit = q.limit ?? 100;
    const rows = (
      q.extension === undefined
        ? this.db.prepare("SELECT * FROM audit ORDER BY id DESC LIMIT ?").all(limit)
        : this.db.prepare("SELECT * FROM audit WHERE extension = ? ORDER BY id DESC LIMIT ?").all(q.extension, limit)
    ) as Array<{ id: number; at: number; actor: Actor; event: string; extension: string | null; device_id: string | null; detail: string }>;
    return rows.reverse().map((r) => ({ id: r.id, at: r.at, actor: r.actor, event: r.event, extension: r.extension, deviceId: r.device_id, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }
}

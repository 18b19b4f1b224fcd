// PINs are kept only as salted scrypt hashes, with their parameters: `scrypt$N$r$p$saltB64$hashB64`. Verification is
// asynchronous (crypto.scrypt runs on libuv's thread pool), so a sign-in does not stall the service, and compares with
// timingSafeEqual.
import { scrypt as scryptCb, randomBytes, timingSafeEqual, type ScryptOptions } from "node:crypto";

export interface ScryptParams {
  /** CPU/memory cost, a power of two (default 2^14). */
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { N: 16384, r: 8, p: 1 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Bounds on what a stored hash may ask for (a damaged row must not make us allocate gigabytes). */
const MAX_N = 1 << 20;

const scryptAsync = (pin: string, salt: Buffer, len: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(pin, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key))));

/** scrypt needs 128 * N * r bytes; node refuses above 32 MiB unless maxmem says more. */
const options = (p: ScryptParams): ScryptOptions => ({ N: p.N, r: p.r, p: p.p, maxmem: 128 * p.N * p.r + 1024 * 1024 });

function checkParams(p: ScryptParams): void {
  if (!Number.isInteger(p.N) || p.N < 2 || p.N > MAX_N || (p.N & (p.N - 1)) !== 0) throw new Error(`scrypt N must be a power of two up to ${MAX_N} (got ${p.N})`);
  if (!Number.isInteger(p.r) || p.r < 1 || p.r > 32) throw new Error(`scrypt r must be 1-32 (got ${p.r})`);
  if (!Number.isInteger(p.p) || p.p < 1 || p.p > 16) throw new Error(`scrypt p must be 1-16 (got ${p.p})`);
}

const format = (p: ScryptParams, salt: Buffer, hash: Buffer): string => `scrypt$${p.N}$${p.r}$${p.p}$${salt.toString("base64")}$${hash.toString("base64")}`;

/** Hashes a PIN with a fresh random salt (asynchronously). */
export async function hashPin(pin: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  checkParams(params);
  const salt = randomBytes(SALT_BYTES);
  return format(params, salt, await scryptAsync(pin, salt, HASH_BYTES, options(params)));
}

interface Parsed {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

/** Splits a stored hash; null when it is not one of ours (a damaged row verifies nothing). */
export function parsePinHash(stored: string): Parsed | null {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return null;
  const params = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  try {
    checkParams(params);
  } catch {
    return null;
  }
  const salt = Buffer.from(m[4]!, "base64");
  const hash = Buffer.from(m[5]!, "base64");
  if (salt.length < 8 || hash.length < 16) return null;
  return { params, salt, hash };
}

/** True when `pin` matches the stored hash. A malformed stored value is a mismatch, not an exception. */
export async function verifyPin(pin: string, stored: string): Promise<boolean> {
  const p = parsePinHash(stored);
  if (!p) return false;
  const got = await scryptAsync(pin, p.salt, p.hash.length, options(p.params));
  return timingSafeEqual(got, p.hash);
}

/**
 * A hash of nothing anyone knows, with the service's parameters: verifying against it costs what a real check costs,
 * so an unknown extension or a user without a PIN answers as slowly as a wrong PIN.
 */
export function decoyHash(params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  return hashPin(randomBytes(12).toString("hex"), params);
}

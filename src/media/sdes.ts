// SDES key exchange: the SDP a=crypto attribute of RFC 4568 (§4 syntax, §6.1 inline key-params with
// key||salt, lifetime and MKI, §6.3 SRTP session parameters) for the one suite SrtpSession implements.
import { randomBytes } from "node:crypto";
import { MASTER_KEY_LENGTH, MASTER_SALT_LENGTH } from "./srtp.js";

export const SUPPORTED_SUITES: readonly string[] = Object.freeze(["AES_CM_128_HMAC_SHA1_80"]);

export interface CryptoAttr {
  tag: number;
  suite: string;
  /** 16-byte SRTP master key. */
  key: Uint8Array;
  /** 14-byte SRTP master salt. */
  salt: Uint8Array;
  /** Master key lifetime as written, e.g. "2^20" or "1048576". */
  lifetime?: string;
  /** Master Key Identifier: value and its length in bytes in each packet. SrtpSession does not support MKIs. */
  mki?: { value: number; length: number };
  /** Session parameters as written (only ones we can honour are accepted), e.g. "FEC_ORDER=FEC_SRTP". */
  sessionParams?: string[];
}

const ATTRIBUTE_PREFIX = "a=crypto:";
const KEY_METHOD_INLINE = "inline:";
const MAX_TAG = 999_999_999; // tag = 1*9DIGIT
const MAX_MKI_LENGTH = 128;
const KEY_SALT_LENGTH = MASTER_KEY_LENGTH + MASTER_SALT_LENGTH;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const TAG_SYNTAX = /^\d{1,9}$/;
const LIFETIME_SYNTAX = /^(2\^)?\d+$/;
const MKI_SYNTAX = /^(\d+):(\d{1,3})$/;
/** Session parameters that change nothing for us: FEC order (we do no FEC), window size hint, and "-" extensions that may be ignored. */
const HARMLESS_SESSION_PARAM = /^(FEC_ORDER=(FEC_SRTP|SRTP_FEC)|WSH=\d+|-\S+)$/;
/** Session parameters SrtpSession cannot honour: no unencrypted/unauthenticated modes, no re-keying by KDR, no FEC key. */
const UNSUPPORTED_SESSION_PARAM = /^(UNENCRYPTED_SRTP|UNENCRYPTED_SRTCP|UNAUTHENTICATED_SRTP|KDR=.*|FEC_KEY=.*)$/;

function fail(detail: string): never {
  throw new Error(`a=crypto: ${detail}`);
}

/** Parses the value of an a=crypto attribute (the text after "a=crypto:"; the prefix itself is tolerated). */
export function parseCryptoAttr(value: string): CryptoAttr {
  let text = value.trim();
  if (text.toLowerCase().startsWith(ATTRIBUTE_PREFIX)) text = text.slice(ATTRIBUTE_PREFIX.length);
  const fields = text.split(/[ \t]+/).filter((f) => f.length > 0);
  if (fields.length < 3) fail(`expected "<tag> <crypto-suite> <key-params> [<session-params>]", got "${value}"`);
  const [tagText, suite, keyParams, ...sessionParams] = fields;

  if (!TAG_SYNTAX.test(tagText)) fail(`tag must be 1 to 9 digits, got "${tagText}"`);
  if (!SUPPORTED_SUITES.includes(suite)) fail(`unsupported crypto suite "${suite}" (supported: ${SUPPORTED_SUITES.join(", ")})`);
  if (keyParams.includes(";")) fail("more than one key-params (\";\"-separated master keys) is not supported");
  if (!keyParams.startsWith(KEY_METHOD_INLINE)) fail(`key-params must use the "inline:" key method, got "${keyParams}"`);

  const [keySalt, ...extras] = keyParams.slice(KEY_METHOD_INLINE.length).split("|");
  const keyAndSalt = decodeKeySalt(keySalt);
  const attr: CryptoAttr = {
    tag: Number(tagText),
    suite,
    key: keyAndSalt.subarray(0, MASTER_KEY_LENGTH),
    salt: keyAndSalt.subarray(MASTER_KEY_LENGTH),
  };

  // srtp-key-info = key-salt ["|" lifetime] ["|" mki]
  if (extras.length > 2) fail(`too many "|" fields in "${keyParams}"`);
  for (let i = 0; i < extras.length; i++) {
    const field = extras[i];
    const mki = MKI_SYNTAX.exec(field);
    if (mki) {
      if (i !== extras.length - 1) fail(`the MKI "${field}" must be the last "|" field`);
      attr.mki = checkMki({ value: Number(mki[1]), length: Number(mki[2]) });
    } else if (LIFETIME_SYNTAX.test(field)) {
      if (i !== 0) fail(`the lifetime "${field}" must come before the MKI`);
      attr.lifetime = field;
    } else {
      fail(`"${field}" is neither a lifetime (2^n or n) nor an MKI (value:length)`);
    }
  }

  for (const param of sessionParams) {
    if (UNSUPPORTED_SESSION_PARAM.test(param)) fail(`session parameter "${param}" is not supported`);
    if (!HARMLESS_SESSION_PARAM.test(param)) fail(`unknown session parameter "${param}"`);
  }
  if (sessionParams.length > 0) attr.sessionParams = sessionParams;
  return attr;
}

function decodeKeySalt(b64: string): Buffer {
  if (b64.length === 0) fail("inline: has no key||salt");
  if (!BASE64.test(b64) || b64.length % 4 !== 0) fail(`key||salt "${b64}" is not valid base64`);
  const bytes = Buffer.from(b64, "base64");
  if (bytes.length !== KEY_SALT_LENGTH) {
    fail(`key||salt must be ${KEY_SALT_LENGTH} bytes (${MASTER_KEY_LENGTH}-byte key + ${MASTER_SALT_LENGTH}-byte salt), got ${bytes.length}`);
  }
  return bytes;
}

function checkMki(mki: { value: number; length: number }): { value: number; length: number } {
  if (!Number.isInteger(mki.length) || mki.length < 1 || mki.length > MAX_MKI_LENGTH) fail(`MKI length must be 1 to ${MAX_MKI_LENGTH}, got ${mki.length}`);
  if (!Number.isSafeInteger(mki.value) || mki.value < 0) fail(`MKI value must be a non-negative integer, got ${mki.value}`);
  if (mki.length < 7 && mki.value >= 2 ** (8 * mki.length)) fail(`MKI value ${mki.value} does not fit in ${mki.length} byte(s)`);
  return mki;
}

/** The attribute value (without "a=crypto:"), e.g. "1 AES_CM_128_HMAC_SHA1_80 inline:...". */
export function buildCryptoAttr(a: CryptoAttr): string {
  if (!Number.isInteger(a.tag) || a.tag < 0 || a.tag > MAX_TAG) fail(`tag must be an integer 0 to ${MAX_TAG}, got ${a.tag}`);
  if (!SUPPORTED_SUITES.includes(a.suite)) fail(`unsupported crypto suite "${a.suite}"`);
  if (a.key.length !== MASTER_KEY_LENGTH) fail(`key must be ${MASTER_KEY_LENGTH} bytes, got ${a.key.length}`);
  if (a.salt.length !== MASTER_SALT_LENGTH) fail(`salt must be ${MASTER_SALT_LENGTH} bytes, got ${a.salt.length}`);
  let keyInfo = Buffer.concat([a.key, a.salt]).toString("base64");
  if (a.lifetime !== undefined) {
    if (!LIFETIME_SYNTAX.test(a.lifetime)) fail(`lifetime must be 2^n or n, got "${a.lifetime}"`);
    keyInfo += `|${a.lifetime}`;
  }
  if (a.mki) {
    checkMki(a.mki);
    keyInfo += `|${a.mki.value}:${a.mki.length}`;
  }
  const params = a.sessionParams ?? [];
  for (const p of params) if (p.length === 0 || /\s/.test(p)) fail(`session parameter "${p}" is empty or has white space`);
  return [String(a.tag), a.suite, KEY_METHOD_INLINE + keyInfo, ...params].join(" ");
}

/** A fresh attribute for an offer or answer: random master key and salt, no lifetime, no MKI. */
export function newCryptoAttr(tag = 1): CryptoAttr {
  const material = randomBytes(KEY_SALT_LENGTH);
  return { tag, suite: SUPPORTED_SUITES[0], key: material.subarray(0, MASTER_KEY_LENGTH), salt: material.subarray(MASTER_KEY_LENGTH) };
}

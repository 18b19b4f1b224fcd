// The sign-in PIN policy (Lync's defaults): digits only, at least 5, and no easy guesses: one digit repeated, a run of
// 4 or more consecutive digits, the extension (or the extension reversed, or the user's other numbers). Each refusal
// says which rule, in plain words. A random PIN that passes the policy is made for `reset-pin`.
import { randomInt } from "node:crypto";

export interface PinPolicy {
  /** Shortest PIN (Lync: 4-24, default 5). */
  minLength: number;
  /** Longest PIN (default 24). */
  maxLength: number;
  /** Refuse a PIN of one digit repeated (11111). */
  refuseRepeated: boolean;
  /**
   * Refuse a PIN containing `sequenceLength` or more consecutive digits, ascending or descending (1234, 98765, 01234),
   * anywhere in it. The digits do not wrap around: 8901 and 7890 are not runs (9 -> 0 is not "consecutive").
   */
  refuseSequences: boolean;
  /** How long a run must be to be refused (default 4). */
  sequenceLength: number;
  /** Refuse a PIN equal to the extension, to the extension reversed, or to another number of the user's. */
  refuseExtension: boolean;
}

export const DEFAULT_PIN_POLICY: PinPolicy = {
  minLength: 5,
  maxLength: 24,
  refuseRepeated: true,
  refuseSequences: true,
  sequenceLength: 4,
  refuseExtension: true,
};

export type PinRule = "digits" | "too-short" | "too-long" | "repeated" | "sequence" | "extension" | "extension-reversed" | "number";

export type PinVerdict = { ok: true } | { ok: false; rule: PinRule; message: string };

/** Whose PIN it is: the extension and the user's other numbers (private line, the line URI's number). */
export interface PinOwner {
  extension: string;
  otherNumbers?: string[];
}

const refuse = (rule: PinRule, why: string): PinVerdict => ({ ok: false, rule, message: `PIN refused: ${why}` });

/** The longest run of consecutive digits (step +1 or -1, no wrap) in `pin`, or "" when it has none of 2 or more. */
export function longestRun(pin: string): string {
  let best = "";
  for (const step of [1, -1]) {
    let start = 0;
    for (let i = 1; i <= pin.length; i++) {
      const continues = i < pin.length && pin.charCodeAt(i) - pin.charCodeAt(i - 1) === step;
      if (!continues) {
        if (i - start > best.length && i - start >= 2) best = pin.slice(start, i);
        start = i;
      }
    }
  }
  return best;
}

/**
 * Checks a PIN against the policy. The message may quote the offending run of digits (as the admin typed it), never
 * the whole PIN unless the whole PIN is that run.
 */
export function checkPin(pin: string, owner: PinOwner, policy: PinPolicy = DEFAULT_PIN_POLICY): PinVerdict {
  if (!/^[0-9]*$/.test(pin)) return refuse("digits", "digits only (0-9)");
  if (pin.length < policy.minLength) return refuse("too-short", `at least ${policy.minLength} digits`);
  if (pin.length > policy.maxLength) return refuse("too-long", `at most ${policy.maxLength} digits`);
  if (policy.refuseRepeated && /^(\d)\1*$/.test(pin)) return refuse("repeated", `all the same digit (${pin[0]!.repeat(Math.min(pin.length, 5))})`);
  if (policy.refuseSequences) {
    const run = longestRun(pin);
    if (run.length >= policy.sequenceLength) return refuse("sequence", `${policy.sequenceLength} or more consecutive digits (${run})`);
  }
  if (policy.refuseExtension) {
    if (pin === owner.extension) return refuse("extension", "the same as the extension");
    if (pin === [...owner.extension].reverse().join("")) return refuse("extension-reversed", "the extension reversed");
    for (const n of owner.otherNumbers ?? []) {
      const digits = n.replace(/\D/g, "");
      if (digits && pin === digits) return refuse("number", "the same as one of the user's phone numbers");
    }
  }
  return { ok: true };
}

/** A random PIN the policy accepts: `length` digits (default the larger of the minimum and 6). */
export function randomPin(owner: PinOwner, policy: PinPolicy = DEFAULT_PIN_POLICY, length = Math.min(policy.maxLength, Math.max(policy.minLength, 6))): string {
  for (;;) {
    let pin = "";
    for (let i = 0; i < length; i++) pin += String(randomInt(10));
    if (checkPin(pin, owner, policy).ok) return pin;
  }
}

// The private line (lync-model.md "Private line"): a second number for the user, inbound only, unpublished. A call to it
// (call-incoming `to` = config.privateLine.number) rings with its own pattern (default "double", whatever the caller's
// PBX asks) under a "Private line" banner, rings through Do Not Disturb, and is never forwarded: forward-always,
// forward-busy and no-answer are all skipped, so a busy phone gives call waiting or 486. It never rings delegates (the
// service's part; on this phone a private call is never a boss call), and its history entry says `line: "private"`.
// Outgoing calls always use the primary number: nothing here places calls. Pure, like the rest of the core.
import type { PhoneState, RingPatternName } from "./phone-state.js";

/** The banner of a private-line call (ringing, waiting, connected). */
export const PRIVATE_BANNER = "Private line";

export const DEFAULT_PRIVATE_RING: RingPatternName = "double";

/** The user part of a number or URI, without scheme, host, parameters or visual separators ("sip:+1 (555) 01@x" ->
 * "+155501"), for comparing the number called with the configured ones. */
export function userPart(n: string): string {
  return n
    .trim()
    .toLowerCase()
    .replace(/^(sips?|tel):/, "")
    .replace(/[@;].*$/, "")
    .replace(/[\s().-]/g, "");
}

/** True when `a` and `b` name the same number (user parts equal, neither empty). */
export function sameNumber(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const x = userPart(a);
  return x !== "" && x === userPart(b);
}

/** True when a call to `to` came to the user's private line. */
export function isPrivateLineCall(s: PhoneState, to: string | undefined): boolean {
  return sameNumber(to, s.config.privateLine?.number);
}

/** How private-line calls ring. */
export function privateRing(s: PhoneState): RingPatternName {
  return s.config.privateLine?.ringPattern ?? DEFAULT_PRIVATE_RING;
}

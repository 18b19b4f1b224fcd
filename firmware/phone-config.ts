// The phone core's config (PhoneConfig) from a config bundle: the defaults until provisioning delivers one, and what
// each bundle field becomes (dial plan with the emergency policy, lock, forward, private line, delegation). And what a
// new bundle means for the running SIP line: the part of a bundle the line is built from (lineConfigKey: a new bundle
// that differs there restarts the line), and when a restart must wait (lineRestartHold: never under a call).
import type { PhoneConfig, PhoneState } from "../src/phone/core/phone-state.js";
import type { ConfigBundle } from "../src/provisioning/config-bundle.js";
import { emergencyDialPlan, locationPolicyOf } from "./emergency-setup.js";

/** Until provisioning delivers a config bundle (issue 6): US emergency numbers, "9" for an outside line, 4-digit
 * extensions, no lock PIN (phone lock stays off until one is configured). */
export const DEFAULT_PHONE_CONFIG: PhoneConfig = {
  dialPlan: { emergencyNumbers: ["911", "112"], emergencyMasks: { "112": "911" }, outsideLinePrefix: "9", extensionLength: 4 },
  lockPin: null,
  interdigitMs: 4000,
};

/** The phone core's config from a bundle (defaults where it is silent, or with no bundle at all). */
export function phoneConfigOf(b: ConfigBundle | null): PhoneConfig {
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
            ...(b.delegation.forking ? { forking: b.delegation.forking } : {}),
            bosses: b.delegation.bosses.map((x) => ({ number: x.number, ...(x.name ? { name: x.name } : {}), ringMode: x.ringMode, ringDelayMs: x.ringDelaySeconds * 1000 })),
          },
        }
      : {}),
    ...(fwd ? { forward: { always: fwd.always ?? null, busy: fwd.busy ?? null, noAnswer: fwd.noAnswer ?? null, noAnswerMs: (fwd.noAnswerSeconds ?? 20) * 1000 } } : {}),
  };
}

/** The bosses whose lines a delegate's phone watches (RFC 4235): none unless delegation is enabled. */
export function bossNumbersOf(b: ConfigBundle | null): string[] {
  return b?.delegation?.enabled ? b.delegation.bosses.map((x) => x.number) : [];
}

/**
 * What the running SIP line is built from, as a string to compare two bundles by: the accounts (servers, credentials,
 * ...), caller-ID hiding, trusted CAs, media (codecs, SRTP, quality collector), emergency routing (request URI, routes,
 * Lync extras, ELIN), the location policy and location sources (the location service and the emergency caller go with
 * the line), the SIP timing and GRUU (`sip`), the DNS servers, and whether SIP messages are traced (logging: sipTrace,
 * level "trace"). Two bundles with the same key run the same line: the rest (dial plan, lock, forward, call waiting,
 * directory, private line, delegation, emergency callback minutes and test calls) is the phone core's and changes in
 * place (the boss lines watched follow `bossNumbersOf`).
 */
export function lineConfigKey(b: ConfigBundle | null): string {
  if (!b) return "null";
  const e = b.emergency ?? {};
  return stableJson({
    accounts: b.accounts,
    hideCallerId: b.features?.hideCallerId ?? false,
    trustedCAs: b.trustedCAs ?? null,
    media: b.media ?? null,
    emergency: { requestUri: e.requestUri, routes: e.routes, lync: e.lync, elinCallerId: e.elinCallerId },
    locationPolicy: b.locationPolicy ?? null,
    location: b.location ?? null,
    sip: b.sip ?? null,
    dnsServers: b.dnsServers ?? null,
    trace: { sipTrace: b.logging?.sipTrace ?? false, level: b.logging?.level === "trace" },
  });
}

/** JSON with object keys sorted (the same data in another key order gives the same text); undefined fields left out. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? "null" : stableJson(x))).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

/**
 * Why the SIP line must not be restarted now (SipPhone.stop() hangs up every call), or null when it may: a call up
 * (live, or hung up here and not yet confirmed ended), an emergency test call under way, or the emergency callback
 * window open at monotonic `now` (the PSAP must be able to call back: no gap in the registration).
 */
export function lineRestartHold(s: Pick<PhoneState, "calls" | "ending" | "emergencyCallbackUntil" | "emergencyTest">, now: number): string | null {
  const calls = s.calls.length + (s.ending?.length ?? 0);
  if (calls) return `${calls} call${calls > 1 ? "s" : ""} up`;
  if (s.emergencyTest?.running) return "an emergency test call is under way";
  const until = s.emergencyCallbackUntil;
  if (until !== null && now < until) return `the emergency callback window is open (${Math.ceil((until - now) / 1000)} s left)`;
  return null;
}

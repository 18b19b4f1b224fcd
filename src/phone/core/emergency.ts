// Emergency-call policy in the core (standards §4.3, §7 items 18, 23, 25): nothing interrupts an emergency call (no
// hold, transfer, conference or call waiting; hanging up still works), the callback window after it (calls ring
// through DND and are never forwarded), the location the phone knows and the "Location needed" prompt (Lync
// LocationRequired, §5.2/§5.4), and the location each emergency INVITE carried. Pure, like the rest of the core.
import type { Call, ForwardConfig, LocationInfo, PhoneState } from "./phone-state.js";
import { isEmergencyTarget } from "./phone-state.js";
import { openLocationEntry } from "./location-entry.js";
import type { Step } from "./steps.js";

/** PSAP callbacks are accepted this long after an emergency call ends (§4.3 item 5: 30 min). */
export const DEFAULT_CALLBACK_WINDOW_MS = 30 * 60_000;

/** Shown when the prompt is dismissed under "disclaimer" and the policy gives no text. */
export const DEFAULT_DISCLAIMER = "Without a location, emergency services may not find you";

export const NOT_DURING_EMERGENCY = "Not during an emergency call";

/** The live emergency call, if one is up. */
export function liveEmergency(s: PhoneState): Call | undefined {
  return s.calls.find((c) => c.emergency);
}

/** Keys that would hold, transfer or conference: refused while an emergency call is up (§7 item 18, TV-11). */
const INTERRUPTING = new Set(["HOLD", "SOFT2", "FLASH", "TRANSFER", "SOFT3", "CONF"]);

/** The refusal of an interrupting key during an emergency call, or null when the key may go on. */
export function refuseDuringEmergency(s: PhoneState, k: string): Step | null {
  if (!INTERRUPTING.has(k) || !liveEmergency(s)) return null;
  return { state: { ...s, notice: NOT_DURING_EMERGENCY }, effects: [{ type: "rejected", event: `key ${k}`, why: "emergency call" }] };
}

/** True while the callback window lasts at monotonic time `at`. */
export function inCallbackWindow(s: PhoneState, at: number): boolean {
  return s.emergencyCallbackUntil !== null && at < s.emergencyCallbackUntil;
}

/** The forward targets in force: none in the callback window, and never an emergency number (ED-67). */
export function forwardInForce(s: PhoneState, at: number): ForwardConfig | undefined {
  const f = s.config.forward;
  if (!f || inCallbackWindow(s, at)) return undefined;
  const ok = (n: string | null): string | null => (n && !isEmergencyTarget(n, s.config.dialPlan) ? n : null);
  return { ...f, always: ok(f.always), busy: ok(f.busy), noAnswer: ok(f.noAnswer) };
}

/**
 * After any step: when an emergency call left the live calls (either end hung up, or it failed: an abandoned 911
 * call is called back too), the callback window opens for `callbackWindowMs` from `at`.
 */
export function openCallbackWindow(before: PhoneState, step: Step, at: number): Step {
  const sos = before.calls.filter((c) => c.emergency);
  if (!sos.length || sos.every((c) => step.state.calls.some((x) => x.id === c.id))) return step;
  const ms = before.config.emergency?.callbackWindowMs ?? DEFAULT_CALLBACK_WINDOW_MS;
  if (ms <= 0) return step;
  return { state: { ...step.state, emergencyCallbackUntil: at + ms }, effects: [...step.effects, { type: "start-timer", id: "emergency-callback", ms }] };
}

/** The "emergency-callback" timer: the window is over (re-armed for the rest if it fired early). */
export function callbackTimer(s: PhoneState, at: number | undefined): Step {
  const until = s.emergencyCallbackUntil;
  if (until === null) return { state: s, effects: [] };
  if (at !== undefined && at < until) return { state: s, effects: [{ type: "start-timer", id: "emergency-callback", ms: until - at }] };
  return { state: { ...s, emergencyCallbackUntil: null }, effects: [] };
}

/** The shell's emergency INVITE left with this location text (or none): kept on the call for its screen. */
export function locationSent(s: PhoneState, callId: number, text: string | null): Step {
  if (!s.calls.some((c) => c.id === callId && c.emergency)) return { state: s, effects: [] };
  return { state: { ...s, calls: s.calls.map((c) => (c.id === callId ? { ...c, locationSent: text } : c)) }, effects: [] };
}

const sameLocation = (a: LocationInfo | null, b: LocationInfo | null): boolean => (a === null || b === null ? a === b : a.text === b.text && a.source === b.source);

/** The location service's current location; a change brings a dismissed prompt back. */
export function locationChanged(s: PhoneState, location: LocationInfo | null): Step {
  const changed = !sameLocation(s.location, location);
  return { state: { ...s, location, locationPromptDismissed: changed ? false : s.locationPromptDismissed }, effects: [] };
}

/** The "Location needed" prompt: not asked for ("off": the policy says no, or a location is known), showing, or
 * dismissed by the user. */
export function locationPrompt(s: PhoneState): "off" | "showing" | "dismissed" {
  const required = s.config.emergency?.locationRequired ?? "no";
  if (required === "no" || s.location) return "off";
  return s.locationPromptDismissed ? "dismissed" : "showing";
}

/** True when the idle screen shows the prompt now (not over the lock screen, the sign-in wizard or a menu). */
export function promptOnScreen(s: PhoneState): boolean {
  return s.mode === "idle" && !s.locked && !s.menu && !s.locationEntry && !s.signin && !s.signedOut && locationPrompt(s) === "showing";
}

/** OK on the prompt opens Location > Enter location; Skip (SOFT3) or BACK dismisses it (with the disclaimer under
 * "disclaimer"). Other keys (digits above all: the prompt never stands before a call) go on as usual: null. */
export function promptKey(s: PhoneState, k: string): Step | null {
  if (!promptOnScreen(s)) return null;
  if (k === "OK") return { state: { ...s, locationEntry: openLocationEntry(s), notice: "" }, effects: [] };
  if (k === "SOFT3" || k === "BACK") {
    const e = s.config.emergency;
    const notice = e?.locationRequired === "disclaimer" ? e.disclaimer || DEFAULT_DISCLAIMER : "";
    return { state: { ...s, locationPromptDismissed: true, notice }, effects: [] };
  }
  return null;
}

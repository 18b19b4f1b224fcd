// First-time sign-in on the keypad (Lync Phone Edition's PIN sign-in): extension, then PIN (masked), then the shell
// asks the provisioning service. Pure: the PIN lives in the state only until the shell has taken it (the summary never
// shows it), and an emergency number typed in the extension field still dials.
import { decide } from "./dial-plan.js";
import type { PhoneEffect, PhoneState, SignInState } from "./phone-state.js";
import { offHook, type Step } from "./steps.js";

const MAX_EXTENSION = 12;
const MAX_PIN = 16;

export function signInStart(message = "", needService = false): SignInState {
  return { step: needService ? "service" : "extension", extension: "", pin: "", message, ...(needService ? { address: "" } : {}) };
}

const MAX_ADDRESS = 40;

/** The service address step: digits, * for a dot, # for the port's colon; Delete takes back; OK asks the shell. */
function serviceKey(s: PhoneState, w: SignInState, k: string): Step | null {
  const a = w.address ?? "";
  const set = (next: Partial<SignInState>, effects: PhoneEffect[] = []): Step => ({ state: { ...s, signin: { ...w, ...next } }, effects });
  if (/^[0-9]$/.test(k) || k === "*" || k === "#") {
    if (a.length >= MAX_ADDRESS) return { state: s, effects: [] };
    return set({ address: a + (k === "*" ? "." : k === "#" ? ":" : k), message: "" });
  }
  if (k === "SOFT3" || k === "BACK") return set({ address: a.slice(0, -1) });
  if (k === "OK" || k === "SOFT4" || k === "SEND") {
    if (!a) return set({ message: "Enter the service address" });
    return set({ step: "busy", message: "Checking the address..." }, [{ type: "provision-service", address: a }]);
  }
  return null;
}

/** The shell's verdict on the typed address. */
export function serviceSet(s: PhoneState, ev: { ok: boolean; message: string }): Step {
  if (!s.signin) return { state: s, effects: [] };
  return { state: { ...s, signin: { ...s.signin, step: ev.ok ? "extension" : "service", message: ev.message } }, effects: [] };
}

/** A key on the sign-in screen (idle, on hook, no menu). Returns null for keys the wizard does not take. */
export function signInKey(s: PhoneState, k: string, dial: (s: PhoneState, number: string) => Step): Step | null {
  const w = s.signin;
  if (!w) return null;
  const set = (next: Partial<SignInState>, effects: PhoneEffect[] = []): Step => ({ state: { ...s, signin: { ...w, ...next } }, effects });
  if (w.step === "busy") return { state: s, effects: [] };
  if (w.step === "service") return serviceKey(s, w, k);
  const field = w.step === "extension" ? w.extension : w.pin;
  const max = w.step === "extension" ? MAX_EXTENSION : MAX_PIN;
  if (/^[0-9]$/.test(k)) {
    if (field.length >= max) return { state: s, effects: [] };
    return set(w.step === "extension" ? { extension: field + k, message: "" } : { pin: field + k, message: "" });
  }
  // * and the Delete soft key take back a digit; on an empty PIN it goes back to the extension
  if (k === "*" || k === "SOFT3" || k === "BACK") {
    if (field.length) return set(w.step === "extension" ? { extension: field.slice(0, -1) } : { pin: field.slice(0, -1) });
    return w.step === "pin" ? set({ step: "extension", message: "" }) : { state: s, effects: [] };
  }
  if (k === "SEND" || k === "OK" || k === "SOFT4" || k === "#") {
    if (w.step === "extension") {
      // an emergency number always dials, here too (the phone is not signed in, but 911 must work)
      const d = decide(w.extension, s.config.dialPlan, "send-key");
      if (d.kind === "send" && d.emergency) {
        const lifted = offHook({ ...s, signin: { ...w, extension: "" } }, "speaker");
        const placed = dial(lifted.state, w.extension);
        return { state: placed.state, effects: [...lifted.effects, ...placed.effects] };
      }
      if (!w.extension) return set({ message: "Enter your extension" });
      return set({ step: "pin", pin: "", message: "" });
    }
    if (!w.pin) return set({ message: "Enter your PIN" });
    return set({ step: "busy", message: "Signing in..." }, [{ type: "provision-sign-in" }]);
  }
  return null;
}

/** The shell took the PIN to send it: it leaves the state at once. */
export function signInSubmitted(s: PhoneState): Step {
  return { state: s.signin ? { ...s, signin: { ...s.signin, pin: "" } } : s, effects: [] };
}

/** The service's answer: signed in (the shell then reports the phone provisioned), or why not. */
export function signInResult(s: PhoneState, ev: { ok: boolean; message: string; retry: "pin" | "extension" }): Step {
  if (!s.signin) return { state: s, effects: [] };
  if (ev.ok) return { state: { ...s, signin: { ...s.signin, step: "busy", pin: "", message: ev.message } }, effects: [] };
  return { state: { ...s, signin: { ...s.signin, step: ev.retry, pin: "", message: ev.message } }, effects: [] };
}

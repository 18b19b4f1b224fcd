// The phone's pure reducer: (state, event) -> (state, effects). Time and I/O arrive as events; nothing here waits.
import { decide } from "./dial-plan.js";
import { menuKey, openMenu } from "./menus.js";
import type { PhoneEffect, PhoneEvent, PhoneState } from "./phone-state.js";

export interface Step {
  state: PhoneState;
  effects: PhoneEffect[];
}

const DIGIT = /^[0-9*#]$/;

function offHook(s: PhoneState, path: "handset" | "speaker"): Step {
  return {
    state: { ...s, mode: "dialtone", audioPath: path, dialled: "", notice: "", menu: null },
    effects: [{ type: "audio-path", path }, { type: "tone", tone: "dial" }, ...(path === "speaker" ? [{ type: "set-led", id: "SPEAKER", mode: "on" } as const] : [])],
  };
}

function hangUp(s: PhoneState): Step {
  const effects: PhoneEffect[] = [{ type: "cancel-timer", id: "interdigit" }, { type: "tone", tone: "none" }, { type: "audio-path", path: "none" }, { type: "set-led", id: "SPEAKER", mode: "off" }];
  if (s.call) effects.unshift({ type: "hangup-call", callId: s.call.id });
  return { state: { ...s, mode: "idle", audioPath: "none", dialled: "", call: null, notice: "" }, effects };
}

/** Applies the dial plan to what has been dialled; places the call when complete. */
function dialStep(s: PhoneState, dialled: string, why: "digit" | "send-key" | "timeout"): Step {
  const d = decide(dialled, s.config.dialPlan, why);
  if (d.kind === "more")
    return { state: { ...s, mode: "dialing", dialled }, effects: [{ type: "tone", tone: "none" }, { type: "start-timer", id: "interdigit", ms: s.config.interdigitMs }] };
  if (d.kind === "invalid") return { state: { ...s, mode: "dialing", dialled, notice: d.reason }, effects: [{ type: "cancel-timer", id: "interdigit" }, { type: "tone", tone: "reorder" }] };
  // A locked phone places only emergency calls (lync-model.md: a locked phone can still call, emergency always;
  // this runtime keeps ordinary calls behind the PIN).
  if (s.locked && !d.emergency)
    return { state: { ...s, mode: "dialing", dialled: "", notice: "Phone locked" }, effects: [{ type: "cancel-timer", id: "interdigit" }, { type: "tone", tone: "reorder" }] };
  const call = { id: s.nextCallId, target: d.target, emergency: d.emergency };
  const audio: PhoneEffect[] = s.audioPath === "none" ? [{ type: "audio-path", path: "speaker" }] : [];
  return {
    state: { ...s, mode: "calling", dialled, call, nextCallId: s.nextCallId + 1, lastDialled: d.emergency ? s.lastDialled : d.target, audioPath: s.audioPath === "none" ? "speaker" : s.audioPath, notice: "" },
    effects: [{ type: "cancel-timer", id: "interdigit" }, { type: "tone", tone: "none" }, ...audio, { type: "place-call", callId: call.id, target: d.target, emergency: d.emergency }],
  };
}

function unlockKey(s: PhoneState, key: string): Step {
  if (key === "BACK" || key === "END") return { state: { ...s, unlockEntry: "" }, effects: [] };
  if (key === "OK" || key === "#") {
    if (s.unlockEntry === s.config.lockPin) return { state: { ...s, locked: false, unlockEntry: "", notice: "" }, effects: [] };
    return { state: { ...s, unlockEntry: "", notice: "Wrong PIN" }, effects: [{ type: "tone", tone: "reorder" }] };
  }
  if (/^[0-9]$/.test(key)) return { state: { ...s, unlockEntry: (s.unlockEntry + key).slice(0, 15) }, effects: [] };
  return { state: s, effects: [{ type: "rejected", event: `key ${key}`, why: "locked" }] };
}

export function reduce(s: PhoneState, ev: PhoneEvent): Step {
  switch (ev.type) {
    case "hook":
      if (ev.state === "off") return s.mode === "idle" ? offHook(s, "handset") : { state: { ...s, audioPath: "handset" }, effects: [{ type: "audio-path", path: "handset" }] };
      if (ev.state === "on") return s.audioPath === "handset" ? hangUp(s) : { state: s, effects: [] };
      if (s.mode === "idle") return { state: s, effects: [] };
      {
        // a flash with no second call yet: drop what is up and give fresh dial tone (call waiting comes with SIP)
        const down = hangUp(s);
        const up = offHook(down.state, s.audioPath === "speaker" ? "speaker" : "handset");
        return { state: up.state, effects: [...down.effects, ...up.effects] };
      }
    case "timer":
      return s.mode === "dialing" ? dialStep(s, s.dialled, "timeout") : { state: s, effects: [] };
    case "lock":
      return s.config.lockPin ? { state: { ...s, locked: true, unlockEntry: "" }, effects: [] } : { state: s, effects: [{ type: "rejected", event: "lock", why: "phone lock is not set up" }] };
    case "key": {
      if (!ev.down || ev.long) return { state: s, effects: [] };
      const k = ev.key;
      if (k === "END") return s.mode === "idle" ? { state: { ...s, notice: "", menu: null }, effects: [] } : hangUp(s);
      if (k === "SPEAKER") return s.mode === "idle" ? offHook(s, "speaker") : s.audioPath === "speaker" ? hangUp(s) : { state: { ...s, audioPath: "speaker" }, effects: [{ type: "audio-path", path: "speaker" }, { type: "set-led", id: "SPEAKER", mode: "on" }] };
      if (s.mode === "idle" && s.locked) {
        if (/^[0-9]$/.test(k)) {
          // On a locked idle phone digits go to the unlock prompt, except that an emergency number dialled there is
          // placed at once: a locked phone must never stand between a person and 911. (So a lock PIN must not begin
          // with an emergency number; pinBlocksEmergency() lets the settings screen refuse one.)
          const next = unlockKey(s, k);
          const entry = next.state.unlockEntry;
          const d = decide(entry, s.config.dialPlan, "digit");
          if (d.kind === "send" && d.emergency) return dialStep({ ...s, unlockEntry: "" }, entry, "digit");
          return next;
        }
        return unlockKey(s, k);
      }
      if (s.mode === "idle" && s.menu) {
        const r = menuKey(s.menu, k);
        if (r.chose === "Do not disturb") return { state: { ...s, dnd: !s.dnd, menu: r.menu }, effects: [{ type: "set-led", id: "DND", mode: s.dnd ? "off" : "on" }] };
        if (r.chose === "Phone lock") {
          if (!s.config.lockPin) return { state: { ...s, menu: r.menu, notice: "No lock PIN is set" }, effects: [] };
          return { state: { ...s, menu: null, locked: true, unlockEntry: "", notice: "" }, effects: [] };
        }
        return { state: { ...s, menu: r.menu, notice: "" }, effects: [] };
      }
      if (k === "MENU" && s.mode === "idle") return { state: { ...s, menu: openMenu(), notice: "" }, effects: [] };
      if (k === "DND") return s.locked ? { state: s, effects: [{ type: "rejected", event: "DND", why: "locked" }] } : { state: { ...s, dnd: !s.dnd }, effects: [{ type: "set-led", id: "DND", mode: s.dnd ? "off" : "on" }] };
      if (k === "REDIAL" && s.mode === "idle" && s.lastDialled) return dialStep({ ...offHook(s, "speaker").state }, s.lastDialled, "send-key");
      if (DIGIT.test(k)) {
        if (s.mode === "idle") {
          const lifted = offHook(s, "speaker");
          const next = dialStep(lifted.state, k, "digit");
          return { state: next.state, effects: [...lifted.effects, ...next.effects] };
        }
        if (s.mode === "dialtone" || s.mode === "dialing") {
          if (k === "#" && s.dialled) return dialStep(s, s.dialled, "send-key");
          return dialStep(s, s.dialled + k, "digit");
        }
        return { state: s, effects: [{ type: "rejected", event: `key ${k}`, why: `no dialling in ${s.mode}` }] };
      }
      if (k === "SEND" && (s.mode === "dialing" || s.mode === "dialtone")) return dialStep(s, s.dialled, "send-key");
      return { state: s, effects: [] };
    }
  }
}

/** The control protocol's get_state summary (CONTROL.md); no PIN or unlock entry ever leaves the core. */
export function summarize(s: PhoneState): Record<string, unknown> {
  return {
    mode: s.mode,
    dialled: s.dialled,
    calls: s.call ? [{ id: s.call.id, direction: "out", state: "placing", remote: { uri: s.call.target }, emergency: s.call.emergency }] : [],
    dnd: s.dnd,
    locked: s.locked,
    notice: s.notice,
  };
}

/** True when typing `pin` on the lock screen would dial an emergency number first: such a PIN must be refused. */
export function pinBlocksEmergency(pin: string, plan: PhoneState["config"]["dialPlan"]): boolean {
  for (let i = 1; i <= pin.length; i++) {
    const d = decide(pin.slice(0, i), plan, "digit");
    if (d.kind === "send" && d.emergency) return true;
  }
  return false;
}

// Steps shared by the reducer's parts: going off hook, hanging everything up, back to idle.
import type { HistoryEntry, PhoneEffect, PhoneState } from "./phone-state.js";

export interface Step {
  state: PhoneState;
  effects: PhoneEffect[];
}

export function offHook(s: PhoneState, path: "handset" | "speaker"): Step {
  return {
    state: { ...s, mode: "dialtone", audioPath: path, dialled: "", notice: "", menu: null, locationEntry: null, delegateEntry: null, onBehalfOf: null, ended: null },
    // stutter dial tone tells of voicemail waiting (GR-506); plain dial tone otherwise
    effects: [{ type: "audio-path", path }, { type: "tone", tone: s.mwi.waiting ? "stutter-dial" : "dial" }, ...(path === "speaker" ? [{ type: "set-led", id: "SPEAKER", mode: "on" } as const] : [])],
  };
}

/** Back to idle: every live call is hung up (the user put the phone down), audio off. */
export function hangUpAll(s: PhoneState): Step {
  const effects: PhoneEffect[] = [{ type: "cancel-timer", id: "interdigit" }, { type: "tone", tone: "none" }, { type: "audio-path", path: "none" }, { type: "set-led", id: "SPEAKER", mode: "off" }];
  for (const c of s.calls) effects.unshift(c.state === "incoming" ? { type: "reject-call", callId: c.id, code: 486 } : { type: "hangup-call", callId: c.id });
  if (s.muted) effects.push({ type: "mute", on: false }, { type: "set-led", id: "MUTE", mode: "off" });
  return { state: { ...s, muted: false, mode: "idle", audioPath: "none", dialled: "", calls: [], ending: [...s.ending, ...s.calls], focus: null, transferFrom: null, conference: null, onBehalfOf: null, notice: "", ended: null }, effects };
}

export function toIdle(s: PhoneState): Step {
  const unmute: PhoneEffect[] = s.muted ? [{ type: "mute", on: false }, { type: "set-led", id: "MUTE", mode: "off" }] : [];
  return {
    state: { ...s, mode: "idle", muted: false, audioPath: "none", dialled: "", ended: null, focus: null, transferFrom: null, conference: null, onBehalfOf: null },
    effects: [{ type: "cancel-timer", id: "ended" }, { type: "tone", tone: "none" }, { type: "audio-path", path: "none" }, { type: "set-led", id: "SPEAKER", mode: "off" }, ...unmute],
  };
}


/** Adds `e` to the top of the call history (kept to `historyCap`) and tells the shell. */
export function remember(s: PhoneState, e: HistoryEntry): Step {
  const history = [e, ...s.history].slice(0, s.config.historyCap ?? 100);
  return { state: { ...s, history }, effects: [{ type: "history-changed", history }] };
}

// The phone's pure reducer: (state, event) -> (state, effects). Time and I/O arrive as events; nothing here waits.
import { decide } from "./dial-plan.js";
import { menuKey, openMenu } from "./menus.js";
import { callEnded, callIncoming, callKey, callProgress, callReferred, heldChanged, placeCall, remoteHold } from "./calls.js";
import { storableConfig, type PhoneEvent, type PhoneState } from "./phone-state.js";
import { hangUpAll, offHook, toIdle, type Step } from "./steps.js";
import { serviceSet, signInKey, signInResult, signInStart, signInSubmitted } from "./signin.js";
import { callbackTimer, liveEmergency, locationChanged, locationPrompt, locationSent, openCallbackWindow, promptKey, refuseDuringEmergency } from "./emergency.js";
import { locationEntryKey, locationMenuItems, multitapTimer, openLocationEntry, LOCATION_FIELDS } from "./location-entry.js";
import { emergencyTestResult, startEmergencyTest, TEST_VALUE } from "./emergency-test.js";
import {
  bossesMenuItems,
  bossRingTimer,
  bossState,
  delegateAnswered,
  delegateEntryKey,
  delegatesMenuItems,
  delegatesMenuKey,
  delegationConfigChanged,
  delegationNotice,
  delegationOn,
  mainMenuItems,
  openDelegateEntry,
} from "./delegation.js";
import { bossKey, bossSoftkey, dialForBoss, isBossKey, safeTransferAfter, safeTransferKey, safeTransferTimer } from "./boss-keys.js";
import { delegateRingTimer, isDelegateRingTimer } from "./delegate-ring.js";

export type { Step } from "./steps.js";

const DIGIT = /^[0-9*#]$/;

/** Leaves dialling: back to the held call being transferred or waiting, else idle. */
function leaveDialling(s: PhoneState): Step {
  if (!s.calls.length) return hangUpAll(s);
  const back = s.transferFrom ?? s.calls[0].id;
  return { state: { ...s, mode: "call", dialled: "", focus: back, transferFrom: null, onBehalfOf: null, notice: "" }, effects: [{ type: "cancel-timer", id: "interdigit" }, { type: "tone", tone: "none" }] };
}

/** Applies the dial plan to what has been dialled; places the call when complete. */
function dialStep(s: PhoneState, dialled: string, why: "digit" | "send-key" | "timeout", at: number): Step {
  const d = decide(dialled, s.config.dialPlan, why);
  // dialling a transfer target: only an emergency number goes by itself; else TRANSFER (blind) or SEND (consult)
  if (s.transferFrom !== null && why === "digit" && d.kind === "send" && !d.emergency) return { state: { ...s, mode: "dialing", dialled }, effects: [{ type: "tone", tone: "none" }] };
  if (d.kind === "more")
    return { state: { ...s, mode: "dialing", dialled }, effects: [{ type: "tone", tone: "none" }, { type: "start-timer", id: "interdigit", ms: s.config.interdigitMs }] };
  if (d.kind === "invalid") return { state: { ...s, mode: "dialing", dialled, notice: d.reason }, effects: [{ type: "cancel-timer", id: "interdigit" }, { type: "tone", tone: "reorder" }] };
  // A locked phone places only emergency calls (lync-model.md: a locked phone can still call, emergency always;
  // this runtime keeps ordinary calls behind the PIN).
  if (s.locked && !d.emergency)
    return { state: { ...s, mode: "dialing", dialled: "", notice: "Phone locked" }, effects: [{ type: "cancel-timer", id: "interdigit" }, { type: "tone", tone: "reorder" }] };
  return placeCall({ ...s, dialled }, d.target, d.emergency, at);
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

/** Every key and hook event from the user re-arms the idle-lock timer (when the config asks for one). */
function touched(s: PhoneState, at: number | undefined, step: Step): Step {
  const ms = s.config.lockAfterIdleMs ?? 0;
  if (at === undefined) return step;
  const state = { ...step.state, lastActivity: at };
  if (!ms || !s.config.lockPin) return { state, effects: step.effects };
  return { state, effects: [...step.effects, { type: "start-timer", id: "idle-lock", ms }] };
}

function hookEvent(s: PhoneState, state: "off" | "on" | "flash"): Step {
  const ringing = s.calls.find((c) => c.state === "incoming");
  if (state === "off") {
    const up = { ...s, offHook: true };
    if (s.mode === "ringing" && ringing) return callKey(up, "ANSWER", "handset");
    if (s.mode === "idle" || s.mode === "ended") return offHook(up, "handset");
    return { state: { ...up, audioPath: "handset" }, effects: [{ type: "audio-path", path: "handset" }, { type: "set-led", id: "SPEAKER", mode: "off" }] };
  }
  if (state === "on") {
    const down = { ...s, offHook: false };
    if (s.audioPath !== "handset") return { state: down, effects: [] };
    if (s.mode === "ended") return toIdle(down);
    if (s.mode === "call" && s.focus !== null) return callKey(down, "HANGUP");
    return hangUpAll(down);
  }
  // flash: with a call up, it works like the HOLD/Swap key; otherwise fresh dial tone. Never during an emergency call:
  // it would hold it (or, while dialling, hang it up)
  if (s.mode === "idle") return { state: s, effects: [] };
  if (s.mode === "call" || liveEmergency(s)) return refuseDuringEmergency(s, "FLASH") ?? callKey(s, "FLASH");
  const down = hangUpAll(s);
  const up = offHook(down.state, s.audioPath === "speaker" ? "speaker" : "handset");
  return { state: up.state, effects: [...down.effects, ...up.effects] };
}

function idleKey(s: PhoneState, k: string, at: number): Step {
  if (s.locked) {
    if (/^[0-9]$/.test(k)) {
      // On a locked idle phone digits go to the unlock prompt, except that an emergency number dialled there is
      // placed at once: a locked phone must never stand between a person and 911. (So a lock PIN must not begin
      // with an emergency number; pinBlocksEmergency() lets the settings screen refuse one.)
      const next = unlockKey(s, k);
      const entry = next.state.unlockEntry;
      const d = decide(entry, s.config.dialPlan, "digit");
      if (d.kind === "send" && d.emergency) {
        const lifted = offHook({ ...s, unlockEntry: "" }, "speaker");
        const placed = dialStep(lifted.state, entry, "digit", at);
        return { state: placed.state, effects: [...lifted.effects, ...placed.effects] };
      }
      return next;
    }
    return unlockKey(s, k);
  }
  if (s.locationEntry) return locationEntryKey(s, s.locationEntry, k);
  if (s.delegateEntry) return delegateEntryKey(s, s.delegateEntry, k);
  if (s.menu) {
    const here = s.menu.stack[s.menu.stack.length - 1];
    const removed = here === "delegates" ? delegatesMenuKey(s, k) : null;
    if (removed) return removed;
    const lines =
      here === "main"
        ? mainMenuItems(s)
        : here === "delegates"
        ? delegatesMenuItems(s)
        : here === "bosses"
        ? bossesMenuItems(s)
        : here === "location"
        ? locationMenuItems(s)
        : here === "history"
        ? s.history.map((h) => ({ label: h.number, value: `call:${h.number}` }))
        : here === "directory"
          ? (s.config.directory ?? []).map((d) => ({ label: d.name, value: `call:${d.number}` }))
          : here === "about" && s.about.length
            ? s.about.map((l) => ({ label: l, value: "about" }))
            : undefined;
    const r = menuKey(s.menu, k, lines);
    if (r.chose === "Do not disturb") return toggleDnd({ ...s, menu: r.menu });
    if (r.chose === "Phone lock") {
      if (!s.config.lockPin) return { state: { ...s, menu: r.menu, notice: "No lock PIN is set" }, effects: [] };
      return { state: { ...s, menu: null, locked: true, unlockEntry: "", notice: "" }, effects: [] };
    }
    if (r.chose === "location:show") return { state: { ...s, menu: r.menu, notice: "" }, effects: [] };
    if (r.chose === "location:enter") return { state: { ...s, menu: r.menu, locationEntry: openLocationEntry(s), notice: "" }, effects: [] };
    if (r.chose === "location:clear") return { state: { ...s, menu: r.menu, notice: "Manual location cleared" }, effects: [{ type: "clear-manual-location" }] };
    if (r.chose === TEST_VALUE) return startEmergencyTest(s, r.menu);
    if (r.chose === "Factory reset") return { state: { ...s, menu: null, notice: "Resetting..." }, effects: [{ type: "factory-reset" }] };
    // signed in through the provisioning service: signing out forgets the user (the next one signs in); with a config
    // file IT placed, it only unregisters the line
    if (r.chose === "Sign out" && s.provisionedBy === "service") return { state: { ...s, menu: null, notice: "" }, effects: [{ type: "provision-sign-out" }] };
    if (r.chose === "Sign out")
      return s.signedOut
        ? { state: { ...s, signedOut: false, menu: null, notice: "" }, effects: [{ type: "sign-in" }] }
        : { state: { ...s, signedOut: true, menu: null, notice: "" }, effects: [{ type: "sign-out" }] };
    if (r.chose === "delegates:add") return openDelegateEntry({ ...s, menu: r.menu });
    if (r.chose?.startsWith("boss:")) return dialForBoss({ ...s, menu: null, notice: "" }, r.chose.slice(5));
    if (r.chose?.startsWith("delegate:")) return { state: { ...s, menu: r.menu }, effects: [] };
    if (r.chose?.startsWith("call:")) {
      // a line of the call history: dial it
      const n = r.chose.slice(5);
      const lifted = offHook({ ...s, menu: null }, "speaker");
      const placed = dialStep(lifted.state, n, "send-key", at);
      return { state: placed.state, effects: [...lifted.effects, ...placed.effects] };
    }
    return { state: { ...s, menu: r.menu, notice: "" }, effects: [] };
  }
  if (s.signin) {
    const r = signInKey(s, k, (st, n) => dialStep(st, n, "send-key", at));
    if (r) return r;
  }
  if (s.signedOut && k === "OK") return { state: { ...s, signedOut: false, notice: "" }, effects: [{ type: "sign-in" }] };
  // "Location needed": OK enters one, Skip/BACK dismisses; every other key (a digit above all) goes on as usual
  const prompted = promptKey(s, k);
  if (prompted) return prompted;
  if (k === "MENU" || k === "SOFT4") return { state: { ...s, menu: openMenu(), notice: "" }, effects: [] };
  // a delegate's Bosses list (the boss lines, for boards without BOSS keys)
  if (k === "SOFT3" && delegationOn(s)?.bosses.length) return { state: { ...s, menu: { stack: ["bosses"], cursor: 0 }, notice: "" }, effects: [] };
  if (k === "END") return { state: { ...s, notice: "" }, effects: [] };
  if (k === "DND" || k === "SOFT2") return toggleDnd(s);
  if ((k === "REDIAL" || k === "SOFT1") && s.lastDialled) {
    const lifted = offHook(s, "speaker");
    const placed = dialStep(lifted.state, s.lastDialled, "send-key", at);
    return { state: placed.state, effects: [...lifted.effects, ...placed.effects] };
  }
  if (k === "SPEAKER") return offHook(s, "speaker");
  if (DIGIT.test(k)) {
    const lifted = offHook(s, "speaker");
    const next = dialStep(lifted.state, k, "digit", at);
    return { state: next.state, effects: [...lifted.effects, ...next.effects] };
  }
  return { state: s, effects: [] };
}

function toggleDnd(s: PhoneState): Step {
  if (s.locked) return { state: s, effects: [{ type: "rejected", event: "DND", why: "locked" }] };
  return { state: { ...s, dnd: !s.dnd }, effects: [{ type: "set-led", id: "DND", mode: s.dnd ? "off" : "on" }] };
}

function dialKey(s: PhoneState, k: string, at: number): Step {
  const toBoss = bossSoftkey(s, k, at);
  if (toBoss) return toBoss;
  if (k === "END" || k === "SOFT4") return s.transferFrom !== null || s.calls.length ? leaveDialling(s) : hangUpAll(s);
  if (k === "SPEAKER") return s.audioPath === "speaker" ? (s.calls.length ? leaveDialling(s) : hangUpAll(s)) : { state: { ...s, audioPath: "speaker" }, effects: [{ type: "audio-path", path: "speaker" }, { type: "set-led", id: "SPEAKER", mode: "on" }] };
  if (k === "TRANSFER" && s.transferFrom !== null) {
    // blind transfer: the held call goes to what was dialled, and this phone is out of it
    if (!s.dialled) return { state: { ...s, notice: "Dial the number to transfer to" }, effects: [] };
    const from = s.transferFrom;
    return { state: { ...s, mode: "call", focus: from, transferFrom: null, dialled: "", notice: "Transferring" }, effects: [{ type: "cancel-timer", id: "interdigit" }, { type: "transfer-call", callId: from, target: s.dialled }] };
  }
  if (k === "#" && s.dialled) return dialStep(s, s.dialled, "send-key", at);
  if (DIGIT.test(k)) return dialStep(s, s.dialled + k, "digit", at);
  if ((k === "SEND" || k === "OK" || k === "SOFT1") && (s.mode === "dialing" || s.mode === "dialtone")) return dialStep(s, s.dialled, "send-key", at);
  if (k === "BACK" && s.dialled) return s.dialled.length > 1 ? { state: { ...s, dialled: s.dialled.slice(0, -1), notice: "" }, effects: [{ type: "start-timer", id: "interdigit", ms: s.config.interdigitMs }] } : { state: { ...s, mode: "dialtone", dialled: "", notice: "" }, effects: [{ type: "cancel-timer", id: "interdigit" }] };
  return { state: s, effects: [] };
}

/** VOL_UP/VOL_DOWN: the earpiece or speaker in use; the ringer when nothing is off hook (idle, ringing). */
function volumeKey(s: PhoneState, step: number): Step {
  const path = s.audioPath === "none" ? "ringer" : s.audioPath;
  const percent = Math.max(0, Math.min(100, s.volume[path] + step));
  const name = path === "ringer" ? "Ringer" : path === "handset" ? "Handset" : "Speaker";
  return { state: { ...s, volume: { ...s.volume, [path]: percent }, notice: `${name} volume ${percent}%` }, effects: [{ type: "volume", path, percent }] };
}

export function reduce(s: PhoneState, ev: PhoneEvent): Step {
  // a safe transfer to a boss follows its consult call (boss-keys.ts)
  const step = safeTransferAfter(s, ev, reduceEvent(s, ev));
  // an emergency call that ended (either side, or failed) opens the callback window
  const at = "at" in ev && typeof ev.at === "number" ? ev.at : s.lastActivity;
  return openCallbackWindow(s, step, at);
}

function reduceEvent(s: PhoneState, ev: PhoneEvent): Step {
  switch (ev.type) {
    case "hook":
      return touched(s, ev.at, hookEvent(s, ev.state));
    case "timer":
      if (ev.id === "interdigit") return s.mode === "dialing" ? dialStep(s, s.dialled, "timeout", ev.at ?? 0) : { state: s, effects: [] };
      if (ev.id === "ended") return s.mode === "ended" && !s.offHook ? toIdle(s) : { state: s, effects: [] };
      if (ev.id === "idle-lock")
        return s.mode === "idle" && !s.locked && s.config.lockPin && !s.calls.length ? { state: { ...s, locked: true, unlockEntry: "", menu: null, locationEntry: null, delegateEntry: null, notice: "" }, effects: [] } : { state: s, effects: [] };
      if (ev.id === "emergency-callback") return callbackTimer(s, ev.at);
      if (ev.id === "multitap") return multitapTimer(s);
      if (isDelegateRingTimer(ev.id)) return delegateRingTimer(s, ev.id);
      if (ev.id.startsWith("boss-ring:")) return bossRingTimer(s, Number(ev.id.slice("boss-ring:".length)));
      if (ev.id.startsWith("safe-transfer:")) return safeTransferTimer(s, Number(ev.id.slice("safe-transfer:".length)));
      return callKey(s, "NO-ANSWER", undefined, Number(ev.id.slice("no-answer:".length)));
    case "lock":
      return s.config.lockPin ? { state: { ...s, locked: true, unlockEntry: "", menu: null, locationEntry: null, delegateEntry: null }, effects: [] } : { state: s, effects: [{ type: "rejected", event: "lock", why: "phone lock is not set up" }] };
    case "call-incoming":
      return callIncoming(s, ev);
    case "call-progress":
      return callProgress(s, ev.callId, ev.state, ev.at);
    case "call-remote-hold":
      return remoteHold(s, ev.callId, ev.held);
    case "call-held":
      return heldChanged(s, ev.callId, ev.held);
    case "call-quality":
      return s.calls.some((c) => c.id === ev.callId) ? { state: { ...s, calls: s.calls.map((c) => (c.id === ev.callId ? { ...c, mos: Math.round(ev.mos * 10) / 10 } : c)) }, effects: [] } : { state: s, effects: [] };
    case "call-ended":
      return callEnded(s, ev);
    case "call-referred":
      return callReferred(s, ev);
    case "call-remote-changed":
      return s.calls.some((c) => c.id === ev.callId) ? { state: { ...s, calls: s.calls.map((c) => (c.id === ev.callId ? { ...c, remote: ev.remote, number: ev.number } : c)) }, effects: [] } : { state: s, effects: [] };
    case "registration":
      return { state: { ...s, registration: ev.registration }, effects: [] };
    case "mwi":
      return { state: { ...s, mwi: { waiting: ev.waiting, count: ev.count } }, effects: [{ type: "set-led", id: "MESSAGE", mode: ev.waiting ? "slow" : "off" }] };
    case "history-loaded":
      return { state: { ...s, history: ev.history.slice(0, s.config.historyCap ?? 100) }, effects: [] };
    case "provisioning":
      if (ev.state === "unprovisioned") return { state: { ...s, signin: signInStart(ev.message ?? "", ev.needService ?? false), provisionedBy: null, signedOut: false }, effects: [] };
      return { state: { ...s, signin: null, provisionedBy: ev.by ?? "config", notice: ev.message ?? s.notice }, effects: [] };
    case "config": {
      // an emergency number is never kept as a forward target or directory entry (ED-67): refused, with a notice
      const safe = storableConfig(ev.config);
      // the boss line keys follow the new list of bosses
      const leds = delegationConfigChanged(s, { ...s, config: safe.config, notice: safe.refused[0] ?? s.notice });
      return { state: leds.state, effects: [...safe.refused.map((why) => ({ type: "rejected" as const, event: "config", why })), ...leds.effects] };
    }
    case "location":
      return locationChanged(s, ev.location);
    case "emergency-location-sent":
      return locationSent(s, ev.callId, ev.text);
    case "emergency-test-result":
      return emergencyTestResult(s, ev.ok, ev.message, locationMenuItems);
    case "about":
      return { state: { ...s, about: ev.lines }, effects: [] };
    case "boss-state":
      return bossState(s, ev);
    case "delegate-answered":
      return delegateAnswered(s, ev);
    case "delegation-notice":
      return delegationNotice(s, ev.text);
    case "service-set":
      return serviceSet(s, ev);
    case "signin-submitted":
      return signInSubmitted(s);
    case "signin-result":
      return signInResult(s, ev);
    case "key": {
      if (!ev.down || ev.long) return { state: s, effects: [] };
      const at = ev.at ?? 0;
      const k = ev.key;
      if (k === "VOL_UP" || k === "VOL_DOWN") return touched(s, ev.at, volumeKey(s, k === "VOL_UP" ? 10 : -10));
      // a boss line key (delegation: boss-keys.ts); on a locked idle phone it is refused like any key but digits
      if (isBossKey(k)) return touched(s, ev.at, s.locked && s.mode === "idle" ? unlockKey(s, k) : bossKey(s, k, at));
      switch (s.mode) {
        case "idle":
          return touched(s, ev.at, idleKey(s, k, at));
        case "dialtone":
        case "dialing":
          return touched(s, ev.at, dialKey(s, k, at));
        case "ended":
          if (k === "END" || k === "SOFT4" || (k === "SPEAKER" && s.audioPath === "speaker")) return touched(s, ev.at, toIdle(s));
          if (DIGIT.test(k) || k === "SPEAKER") {
            const fresh = offHook(s, s.audioPath === "handset" ? "handset" : "speaker");
            return touched(s, ev.at, DIGIT.test(k) ? dialStep(fresh.state, k, "digit", at) : fresh);
          }
          return { state: s, effects: [] };
        case "ringing":
        case "call": {
          const cancelled = safeTransferKey(s, k);
          if (cancelled) return touched(s, ev.at, cancelled);
          const r = callKey(s, k);
          // a digit on a held call starts dialling a second call: the digit is its first
          if (r.state.mode === "dialtone" && s.mode === "call" && DIGIT.test(k)) return touched(s, ev.at, dialStep(r.state, k, "digit", at));
          return touched(s, ev.at, r);
        }
      }
    }
  }
}

/** The control protocol's get_state summary (CONTROL.md); no PIN or unlock entry ever leaves the core. */
export function summarize(s: PhoneState): Record<string, unknown> {
  return {
    mode: s.mode,
    dialled: s.dialled,
    registration: { state: s.registration.state, server: s.registration.server, reason: s.registration.reason },
    calls: s.calls.map((c) => ({
      id: c.id,
      // 1 = the primary line; "private" = the private line
      line: c.line ?? 1,
      // a call for a boss (on a delegate's phone): the boss's number
      forBoss: c.forBoss?.number ?? null,
      ...(c.onBehalfOf ? { onBehalfOf: c.onBehalfOf } : {}),
      ...(c.silentUntil !== undefined ? { ringsAt: c.silentUntil } : {}),
      direction: c.direction,
      state: c.state,
      remote: c.remote,
      number: c.number,
      emergency: c.emergency,
      remoteHold: c.remoteHold,
      focused: c.id === s.focus,
      ...(c.mos !== undefined ? { mos: c.mos } : {}),
      ...(c.ring ? { ring: c.ring } : {}),
      ...(c.locationSent !== undefined ? { locationSent: c.locationSent } : {}),
    })),
    dnd: s.dnd,
    forward: s.config.forward ?? null,
    mwi: s.mwi,
    history: s.history.slice(0, 20),
    locked: s.locked,
    signedOut: s.signedOut,
    muted: s.muted,
    audioPath: s.audioPath,
    notice: s.notice,
    conference: s.conference,
    // the wizard as a rig sees it: never the PIN, only how many digits were typed
    signin: s.signin ? { step: s.signin.step, extension: s.signin.extension, pinDigits: s.signin.pin.length, message: s.signin.message } : null,
    provisionedBy: s.provisionedBy,
    about: s.about,
    location: s.location ? { text: s.location.text, source: s.location.source } : null,
    // "off" (not asked for, or a location is known), "showing", "dismissed"
    locationPrompt: locationPrompt(s),
    locationEntry: s.locationEntry ? { field: LOCATION_FIELDS[s.locationEntry.field].id, values: s.locationEntry.values, mode: s.locationEntry.mode, message: s.locationEntry.message } : null,
    emergencyCallbackUntil: s.emergencyCallbackUntil,
    callbackMode: s.emergencyCallbackUntil !== null,
    emergencyTest: s.emergencyTest,
    // delegation: each boss's line state by number, the lists (numbers and names only), a dial or transfer for a boss
    bossLines: s.bossLines,
    delegation: {
      enabled: delegationOn(s) !== undefined,
      delegates: (s.config.delegation?.delegates ?? []).map((p) => ({ number: p.number, ...(p.name ? { name: p.name } : {}) })),
      bosses: (s.config.delegation?.bosses ?? []).map((p) => ({ number: p.number, ...(p.name ? { name: p.name } : {}) })),
    },
    onBehalfOf: s.onBehalfOf,
    safeTransfer: s.safeTransfer,
    delegateEntry: s.delegateEntry,
    privateLine: s.config.privateLine?.number ?? null,
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

// Calls in the core: placing, ringing, answering, hold and swap, call waiting, transfer, forward, the end of a call
// and its line in the call history. Pure: the SIP layer reports progress as events; the core asks for actions as effects.
import type { Call, CallEndReason, HistoryEntry, PhoneEffect, PhoneEvent, PhoneState } from "./phone-state.js";
import { hangUpAll, remember, toIdle, type Step } from "./steps.js";
import { forwardInForce, inCallbackWindow, liveEmergency, refuseDuringEmergency } from "./emergency.js";
import { isPrivateLineCall, privateRing } from "./private-line.js";
import { answeredElsewhere, bossFor } from "./delegation.js";
import { delegateRingStart, delegatesToRing } from "./delegate-ring.js";

const NOTHING = (s: PhoneState): Step => ({ state: s, effects: [] });

/** Words for the screen when a call ends. */
export const END_WORDS: Readonly<Record<CallEndReason, string>> = {
  "remote-hangup": "Call ended",
  "local-hangup": "Call ended",
  busy: "Busy",
  rejected: "Call declined",
  "not-found": "Number not found",
  unavailable: "Not available",
  cancelled: "Call cancelled",
  failed: "Call failed",
  transferred: "Call transferred",
  "no-answer": "No answer",
  forwarded: "Call forwarded",
  "answered-elsewhere": "Answered elsewhere",
};

/** The call without its quiet delay (it rings, or was answered). */
function unquiet(c: Call): Call {
  const out = { ...c };
  delete out.silentUntil;
  return out;
}

function patch(s: PhoneState, id: number, p: Partial<Call>): PhoneState {
  return { ...s, calls: s.calls.map((c) => (c.id === id ? { ...c, ...p } : c)) };
}

/**
 * Before an emergency call goes out, every other call is put aside for good: a call still up is held (a call being
 * transferred or conferenced was held already), a waiting one is turned away (486), and no transfer is pending.
 */
function asideForEmergency(s: PhoneState): Step {
  const effects: PhoneEffect[] = [];
  const waiting = s.calls.filter((c) => c.state === "incoming");
  for (const c of waiting) effects.push({ type: "reject-call", callId: c.id, code: 486 }, { type: "cancel-timer", id: `no-answer:${c.id}` });
  if (waiting.length) effects.push({ type: "ringer", on: false }, { type: "set-led", id: "RINGER", mode: "off" });
  for (const c of s.calls) if (c.state === "connected" && c.id !== s.transferFrom) effects.push({ type: "hold-call", callId: c.id, hold: true });
  const unmix: PhoneEffect[] = s.conference ? [{ type: "conference", callIds: null }] : [];
  return {
    state: { ...s, calls: s.calls.filter((c) => c.state !== "incoming"), ending: [...s.ending, ...waiting], transferFrom: null, consultFor: "transfer", conference: null },
    effects: [...unmix, ...effects],
  };
}

export function placeCall(s: PhoneState, target: string, emergency: boolean, at: number): Step {
  if (s.calls.length >= 2 && !emergency) return { state: { ...s, notice: "Two calls are up already" }, effects: [{ type: "tone", tone: "reorder" }] };
  if (emergency && s.calls.length) {
    const aside = asideForEmergency(s);
    const placed = newCall(aside.state, target, true, at);
    return { state: placed.state, effects: [...aside.effects, ...placed.effects] };
  }
  return newCall(s, target, emergency, at);
}

function newCall(s: PhoneState, target: string, emergency: boolean, at: number): Step {
  const id = s.nextCallId;
  // dialled after a boss line key: placed on behalf of the boss (never an emergency call: that is the user's own)
  const forBoss = !emergency && s.onBehalfOf ? s.onBehalfOf : undefined;
  const call: Call = { id, direction: "out", state: "calling", remote: { uri: target }, emergency, connectedAt: null, remoteHold: false, number: target, startedAt: at, ...(forBoss ? { onBehalfOf: forBoss } : {}) };
  const audio: PhoneEffect[] = s.audioPath === "none" ? [{ type: "audio-path", path: "speaker" }, { type: "set-led", id: "SPEAKER", mode: "on" }] : [];
  return {
    state: {
      ...s,
      mode: "call",
      calls: [...s.calls, call],
      focus: id,
      nextCallId: id + 1,
      lastDialled: emergency ? s.lastDialled : target,
      audioPath: s.audioPath === "none" ? "speaker" : s.audioPath,
      notice: "",
      menu: null,
      locationEntry: null,
      delegateEntry: null,
      onBehalfOf: null,
    },
    effects: [{ type: "cancel-timer", id: "interdigit" }, { type: "tone", tone: "none" }, ...audio, { type: "place-call", callId: id, target, emergency, ...(forBoss ? { onBehalfOf: forBoss } : {}) }],
  };
}

function historyOf(c: Call, endAt: number, wallAt: number): HistoryEntry {
  const kind = c.direction === "out" ? "placed" : c.connectedAt !== null ? "received" : "missed";
  return {
    kind,
    number: c.number,
    ...(c.remote.name ? { name: c.remote.name } : {}),
    at: Math.round(wallAt - (endAt - c.startedAt)),
    seconds: c.connectedAt !== null ? Math.max(0, Math.round((endAt - c.connectedAt) / 1000)) : 0,
    ...(c.line ? { line: c.line } : {}),
    ...(c.forBoss ? { forBoss: c.forBoss.number } : c.onBehalfOf ? { forBoss: c.onBehalfOf } : {}),
  };
}

type Incoming = Extract<PhoneEvent, { type: "call-incoming" }>;

/**
 * A call arrives. Which number was called (`to`) decides how it is treated: the private line (private-line.ts: own
 * ring, through DND, never forwarded), a boss's number on a delegate's phone (delegation.ts: "Call for <boss>", at once
 * or quietly until the boss's ring delay, DND applies, never forwarded by this phone: the boss's forwarding is the
 * boss's business), or the user's own number.
 */
export function callIncoming(s: PhoneState, ev: Incoming): Step {
  const next = { ...s, nextCallId: Math.max(s.nextCallId, ev.callId + 1) };
  const priv = isPrivateLineCall(s, ev.to);
  const boss = priv ? undefined : bossFor(s, ev.to);
  const ring = priv ? privateRing(s) : (ev.ring ?? s.config.ringPattern);
  // a boss's phone that rang this delegate itself applied the boss's ring delay already
  const delay = boss?.ringMode === "delayed" && boss.ringDelayMs > 0 && !ev.rungByBoss ? boss.ringDelayMs : 0;
  const call: Call = {
    id: ev.callId,
    direction: "in",
    state: "incoming",
    remote: ev.remote,
    emergency: false,
    connectedAt: null,
    remoteHold: false,
    number: ev.number,
    startedAt: ev.at,
    ...(ring ? { ring } : {}),
    ...(priv ? { line: "private" as const } : {}),
    ...(boss ? { forBoss: { number: boss.number, ...(boss.name ? { name: boss.name } : {}) } } : {}),
    ...(boss && ev.rungByBoss ? { rungByBoss: true as const } : {}),
    ...(delay ? { silentUntil: ev.at + delay } : {}),
  };
  const turnAway = (): Step => {
    const h = remember(next, historyOf(call, ev.at, ev.wallAt));
    return { state: h.state, effects: [{ type: "reject-call", callId: call.id, code: 486 }, ...h.effects] };
  };
  // after an emergency call, the callback window: calls ring through DND and are never forwarded (§7 item 23, TV-12)
  const callback = inCallbackWindow(s, ev.at);
  // a call this phone does not ring (DND, busy, an emergency call up): a boss's phone that rings its delegates itself
  // still has them rung, as a PBX that forks would, this phone staying quiet (missed here unless one answers)
  const handOrTurnAway = (): Step => {
    const handed = callback ? [] : delegatesToRing(s, call);
    if (!handed.length) return turnAway();
    const h = remember(next, { ...historyOf(call, ev.at, ev.wallAt), toDelegates: true });
    return { state: h.state, effects: [{ type: "ring-delegates", callId: call.id, delegates: handed, alone: true }, ...h.effects] };
  };
  // nothing interrupts an emergency call: a second call is busy at once, with no waiting tone (§7 item 18, TV-11);
  // the missed call in the history is its only trace
  if (liveEmergency(s)) return handOrTurnAway();
  // the private line and boss calls are never forwarded by this phone's settings
  const fwd = priv || boss ? undefined : forwardInForce(s, ev.at);
  if (fwd?.always) return { state: next, effects: [{ type: "forward-call", callId: call.id, target: fwd.always }] };
  // the private line rings through DND; a delegate's DND applies to boss calls as to any other
  if (s.dnd && !callback && !priv) return handOrTurnAway();
  const waiting = callback || (s.config.callWaiting ?? true);
  const busy = s.calls.length >= 2 || (s.calls.length >= 1 && !waiting) || s.mode === "dialtone" || s.mode === "dialing";
  if (busy) {
    if (fwd?.busy) return { state: next, effects: [{ type: "forward-call", callId: call.id, target: fwd.busy }] };
    return handOrTurnAway();
  }
  const noAnswer: PhoneEffect[] = fwd?.noAnswer ? [{ type: "start-timer", id: `no-answer:${call.id}`, ms: fwd.noAnswerMs }] : [];
  // the boss's "delayed" ring mode: shown at once, quietly; the ringer (or waiting tone) only when the timer fires
  const later: PhoneEffect[] = delay ? [{ type: "start-timer", id: `boss-ring:${call.id}`, ms: delay }] : [];
  // a boss's phone whose PBX does not fork: the delegates are rung from here (delegate-ring.ts)
  const delegates = delegateRingStart(s, call, callback);
  if (s.calls.length === 0)
    return {
      state: { ...next, mode: "ringing", calls: [call], focus: call.id, menu: null, locationEntry: null, delegateEntry: null, ended: null, notice: "" },
      effects: delay
        ? [{ type: "set-led", id: "LINE1", mode: "fast" }, ...later]
        : [{ type: "ringer", on: true, pattern: call.ring ?? "standard" }, { type: "set-led", id: "LINE1", mode: "fast" }, { type: "set-led", id: "RINGER", mode: "fast" }, ...noAnswer, ...delegates],
    };
  return { state: { ...next, calls: [...s.calls, call], notice: "" }, effects: delay ? later : [{ type: "tone", tone: "call-waiting" }, ...noAnswer, ...delegates] };
}

export function callProgress(s: PhoneState, id: number, state: "ringing" | "early" | "connected", at: number): Step {
  const c = s.calls.find((x) => x.id === id);
  if (!c) return NOTHING(s);
  const focused = s.focus === id;
  if (state === "ringing") {
    if (c.state !== "calling") return NOTHING(s);
    return { state: patch(s, id, { state: "ringing" }), effects: focused ? [{ type: "tone", tone: "ringback" }] : [] };
  }
  if (state === "early") {
    if (c.state !== "calling" && c.state !== "ringing") return NOTHING(s);
    return { state: patch(s, id, { state: "early" }), effects: focused ? [{ type: "tone", tone: "none" }] : [] };
  }
  if (c.state === "connected" || c.state === "held") return NOTHING(s);
  const effects: PhoneEffect[] = [{ type: "cancel-timer", id: `no-answer:${id}` }, { type: "set-led", id: "LINE1", mode: "on" }];
  if (focused) effects.push({ type: "tone", tone: "none" });
  if (c.direction === "in") effects.push({ type: "ringer", on: false }, { type: "set-led", id: "RINGER", mode: "off" });
  const next = patch(s, id, { state: "connected", connectedAt: at });
  return { state: { ...next, mode: focused ? "call" : next.mode, notice: focused ? "" : next.notice }, effects };
}

export function heldChanged(s: PhoneState, id: number, held: boolean): Step {
  const c = s.calls.find((x) => x.id === id);
  if (!c || (c.state !== "connected" && c.state !== "held")) return NOTHING(s);
  return { state: patch(s, id, { state: held ? "held" : "connected" }), effects: [{ type: "set-led", id: "LINE1", mode: held ? "slow" : "on" }] };
}

export function remoteHold(s: PhoneState, id: number, held: boolean): Step {
  return s.calls.some((x) => x.id === id) ? NOTHING(patch(s, id, { remoteHold: held })) : NOTHING(s);
}

type Referred = Extract<PhoneEvent, { type: "call-referred" }>;

/** We were transferred: the new call takes the old one's place on screen; the old one ends by itself. */
export function callReferred(s: PhoneState, ev: Referred): Step {
  const old = s.calls.find((c) => c.id === ev.callId);
  if (!old) return NOTHING(s);
  const call: Call = { id: ev.newCallId, direction: "out", state: "calling", remote: ev.remote, emergency: false, connectedAt: null, remoteHold: false, number: ev.number, startedAt: ev.at };
  const focus = s.focus === old.id ? call.id : s.focus;
  return { state: { ...s, calls: [...s.calls, call], focus, nextCallId: Math.max(s.nextCallId, ev.newCallId + 1), notice: `Transferred to ${ev.number}` }, effects: [] };
}

type Ended = Extract<PhoneEvent, { type: "call-ended" }>;

export function callEnded(s: PhoneState, ev: Ended): Step {
  const gone = s.ending.find((c) => c.id === ev.callId);
  if (gone) return remember({ ...s, ending: s.ending.filter((c) => c.id !== ev.callId) }, historyOf(gone, ev.at, ev.wallAt));
  const c = s.calls.find((x) => x.id === ev.callId);
  if (!c) return NOTHING(s);
  // a party of the conference hung up: the mixing ends, the other call goes on as an ordinary call
  const split = s.conference?.includes(c.id) ?? false;
  const rest = { ...s, calls: s.calls.filter((x) => x.id !== c.id), ...(split ? { conference: null } : {}) };
  // it stopped ringing because it was answered elsewhere (a delegate, another device): not "Missed call" on screen,
  // and a delegate's report of it (delegation.ts) makes one received entry of the two
  const elsewhere = ev.reason === "answered-elsewhere" && c.direction === "in" && c.connectedAt === null ? answeredElsewhere(rest, historyOf(c, ev.at, ev.wallAt)) : null;
  const h = elsewhere ? elsewhere.step : remember(rest, historyOf(c, ev.at, ev.wallAt));
  // busy tone for busy; reorder (fast busy) for a call that could not be made; nothing after a normal end
  const tone = ev.reason === "busy" ? "busy" : ["failed", "not-found", "unavailable", "rejected"].includes(ev.reason) && c.connectedAt === null && c.direction === "out" ? "reorder" : "none";
  const step = afterCallGone(h.state, c, END_WORDS[ev.reason], tone, elsewhere?.notice);
  const unmix: PhoneEffect[] = split ? [{ type: "conference", callIds: null }] : [];
  return { state: step.state, effects: [{ type: "cancel-timer", id: `no-answer:${c.id}` }, ...quietEnds(c), ...unmix, ...h.effects, ...step.effects] };
}

/** What the phone does once call `c` is gone (already removed from `s.calls`); `missed` replaces the "Missed call"
 * notice of a call that only rang. */
function afterCallGone(s: PhoneState, c: Call, words: string, tone: "busy" | "reorder" | "none", missed?: string): Step {
  const effects: PhoneEffect[] = [];
  const wasRinging = c.state === "incoming";
  if (wasRinging && !s.calls.some((x) => x.state === "incoming")) effects.push({ type: "ringer", on: false }, { type: "set-led", id: "RINGER", mode: "off" });
  const transferFrom = s.transferFrom === c.id ? null : s.transferFrom;
  if (s.mode === "dialtone" || s.mode === "dialing") return { state: { ...s, transferFrom, focus: s.calls[0]?.id ?? null }, effects };
  if (s.calls.length) {
    const focus = s.focus === c.id ? s.calls[0].id : s.focus;
    const other = s.calls.find((x) => x.id === focus);
    const ringingOnly = other?.state === "incoming" && s.calls.length === 1;
    if (ringingOnly && s.audioPath === "none") {
      // a boss call still in its quiet delay stays quiet (its timer rings it)
      if (other.silentUntil === undefined) effects.push({ type: "ringer", on: true, pattern: other.ring ?? "standard" }, { type: "set-led", id: "RINGER", mode: "fast" });
      return { state: { ...s, mode: "ringing", focus, transferFrom, notice: "" }, effects };
    }
    return { state: { ...s, mode: "call", focus, transferFrom, notice: c.state === "incoming" ? "" : words }, effects };
  }
  effects.push({ type: "set-led", id: "LINE1", mode: "off" });
  if (s.mode === "ringing" || s.audioPath === "none") {
    const idle = toIdle(s);
    const notice = wasRinging && c.direction === "in" ? (missed ?? `Missed call: ${c.remote.name || c.number}`) : "";
    return { state: { ...idle.state, notice }, effects: [...effects, ...idle.effects] };
  }
  effects.push({ type: "tone", tone }, { type: "start-timer", id: "ended", ms: s.config.endedScreenMs ?? 3000 });
  return { state: { ...s, mode: "ended", focus: null, transferFrom: null, ended: { remote: c.remote.name || c.number, reason: words } }, effects };
}

/** A call in its quiet delay is gone: its ring timer with it. */
const quietEnds = (c: Call): PhoneEffect[] => (c.silentUntil !== undefined ? [{ type: "cancel-timer", id: `boss-ring:${c.id}` }] : []);

/** The user hangs up the focused call; another call, if any, stays (held or waiting). */
function hangUpFocused(s: PhoneState, c: Call): Step {
  const hang: PhoneEffect = c.state === "incoming" ? { type: "reject-call", callId: c.id, code: 603 } : { type: "hangup-call", callId: c.id };
  const rest = { ...s, calls: s.calls.filter((x) => x.id !== c.id), ending: [...s.ending, c] };
  if (rest.calls.length) {
    const step = afterCallGone(rest, c, "Call ended", "none");
    return { state: step.state, effects: [hang, { type: "cancel-timer", id: `no-answer:${c.id}` }, ...quietEnds(c), { type: "tone", tone: "none" }, ...step.effects] };
  }
  const idle = toIdle(rest);
  return { state: idle.state, effects: [hang, ...quietEnds(c), { type: "set-led", id: "LINE1", mode: "off" }, ...idle.effects] };
}

function answer(s: PhoneState, c: Call, path: "handset" | "speaker"): Step {
  const effects: PhoneEffect[] = [];
  const up = s.calls.find((x) => x.id === s.focus && x.id !== c.id);
  if (up && up.state === "connected") effects.push({ type: "hold-call", callId: up.id, hold: true });
  const audio: PhoneEffect[] = s.audioPath === path ? [] : [{ type: "audio-path", path }, { type: "set-led", id: "SPEAKER", mode: path === "speaker" ? "on" : "off" }];
  effects.push({ type: "cancel-timer", id: `no-answer:${c.id}` }, { type: "ringer", on: false }, { type: "set-led", id: "RINGER", mode: "off" }, { type: "tone", tone: "none" }, ...audio, { type: "answer-call", callId: c.id });
  if (c.silentUntil !== undefined) effects.push({ type: "cancel-timer", id: `boss-ring:${c.id}` });
  // a delegate answered a call for the boss: the boss is told (the shell sends a MESSAGE)
  if (c.forBoss && !c.rungByBoss) effects.push({ type: "notify-delegate-answered", boss: c.forBoss.number, caller: c.number, ...(c.remote.name ? { callerName: c.remote.name } : {}) });
  const calls = c.silentUntil !== undefined ? s.calls.map((x) => (x.id === c.id ? unquiet(x) : x)) : s.calls;
  return { state: { ...s, calls, mode: "call", focus: c.id, audioPath: path, notice: "" }, effects };
}

/**
 * Keys while ringing or in a call. Besides real keys: "ANSWER" (handset lifted while ringing), "HANGUP" (handset
 * replaced), "FLASH" (hook flash), "NO-ANSWER" (the no-answer forward timer of `timerCall`).
 * Returns null for a key this part does not take (the reducer then tries dialling).
 */
export function callKey(s: PhoneState, k: string, path?: "handset" | "speaker", timerCall?: number): Step {
  if (k === "NO-ANSWER") {
    const c = s.calls.find((x) => x.id === timerCall);
    const target = s.emergencyCallbackUntil === null ? forwardInForce(s, 0)?.noAnswer : null;
    return c && c.state === "incoming" && target ? { state: s, effects: [{ type: "forward-call", callId: c.id, target }] } : NOTHING(s);
  }
  // hold, transfer, conference (and the hook flash, which would hold) are refused during an emergency call
  const refused = refuseDuringEmergency(s, k);
  if (refused) return refused;
  const focus = s.calls.find((x) => x.id === s.focus);
  const waiting = s.calls.find((x) => x.state === "incoming" && x.id !== s.focus);
  const defaultPath = path ?? (s.offHook ? "handset" : "speaker");
  if (s.mode === "ringing" && focus?.state === "incoming") {
    if (["ANSWER", "OK", "SOFT1", "SPEAKER", "HEADSET"].includes(k)) return answer(s, focus, k === "SPEAKER" ? "speaker" : defaultPath);
    if (["END", "SOFT3", "BACK"].includes(k)) return hangUpFocused(s, focus);
    return NOTHING(s);
  }
  if (!focus) return k === "END" || k === "HANGUP" ? toIdle(s) : NOTHING(s);
  if (waiting && ["OK", "SOFT1", "ANSWER", "FLASH"].includes(k)) return answer(s, waiting, defaultPath);
  if (waiting && k === "SOFT3") return { state: { ...s, calls: s.calls.filter((x) => x.id !== waiting.id), ending: [...s.ending, waiting], notice: "" }, effects: [{ type: "reject-call", callId: waiting.id, code: 486 }, { type: "tone", tone: "none" }] };
  if (s.conference) {
    const conf = s.conference;
    // hanging up leaves the conference: both calls end (the user was the bridge)
    if (["END", "SOFT4", "HANGUP"].includes(k)) {
      const all = hangUpAll({ ...s, conference: null });
      return { state: all.state, effects: [{ type: "conference", callIds: null }, ...all.effects] };
    }
    // HOLD splits it: the focused call stays, the other is held
    if (["HOLD", "SOFT2", "FLASH"].includes(k)) {
      const other = conf.find((id) => id !== focus.id);
      return { state: { ...s, conference: null, notice: "" }, effects: [{ type: "conference", callIds: null }, ...(other !== undefined ? [{ type: "hold-call" as const, callId: other, hold: true }] : [])] };
    }
    if (["TRANSFER", "SOFT3", "CONF"].includes(k)) return NOTHING(s);
  }
  switch (k) {
    case "CONF": {
      // with another call up (held, or the consultation just made): join them; else put this one aside and dial
      const other = s.calls.find((x) => x.id !== focus.id && (x.state === "held" || x.state === "connected"));
      if (other && (focus.state === "connected" || focus.state === "held")) {
        const resume: PhoneEffect[] = [focus, other].filter((x) => x.state === "held").map((x) => ({ type: "hold-call", callId: x.id, hold: false }));
        return { state: { ...s, conference: [focus.id, other.id], transferFrom: null, notice: "Conference" }, effects: [...resume, { type: "conference", callIds: [focus.id, other.id] }] };
      }
      if (focus.state !== "connected" && focus.state !== "held") return NOTHING(s);
      const hold: PhoneEffect[] = focus.state === "connected" ? [{ type: "hold-call", callId: focus.id, hold: true }] : [];
      return { state: { ...s, mode: "dialtone", transferFrom: focus.id, consultFor: "conference", dialled: "", notice: "" }, effects: [...hold, { type: "tone", tone: "dial" }] };
    }
    case "END":
    case "SOFT4":
    case "HANGUP":
      return hangUpFocused(s, focus);
    case "HOLD":
    case "SOFT2":
    case "FLASH": {
      const other = s.calls.find((x) => x.id !== focus.id && (x.state === "held" || x.state === "connected"));
      if (other) {
        // swap: hold this one, resume the other
        const effects: PhoneEffect[] = [];
        if (focus.state === "connected") effects.push({ type: "hold-call", callId: focus.id, hold: true });
        if (other.state === "held") effects.push({ type: "hold-call", callId: other.id, hold: false });
        return { state: { ...s, focus: other.id, notice: "" }, effects };
      }
      if (focus.state === "connected") return { state: s, effects: [{ type: "hold-call", callId: focus.id, hold: true }] };
      if (focus.state === "held") return { state: s, effects: [{ type: "hold-call", callId: focus.id, hold: false }] };
      return NOTHING(s);
    }
    case "TRANSFER":
    case "SOFT3": {
      if (s.transferFrom !== null && s.transferFrom !== focus.id && s.calls.some((x) => x.id === s.transferFrom))
        return { state: { ...s, notice: "Transferring" }, effects: [{ type: "transfer-attended", callId: s.transferFrom, toCallId: focus.id }] };
      const other = s.calls.find((x) => x.id !== focus.id && x.state === "held");
      if (other) return { state: { ...s, notice: "Transferring" }, effects: [{ type: "transfer-attended", callId: other.id, toCallId: focus.id }] };
      if (focus.state !== "connected" && focus.state !== "held") return NOTHING(s);
      const hold: PhoneEffect[] = focus.state === "connected" ? [{ type: "hold-call", callId: focus.id, hold: true }] : [];
      return { state: { ...s, mode: "dialtone", transferFrom: focus.id, consultFor: "transfer", dialled: "", notice: "" }, effects: [...hold, { type: "tone", tone: "dial" }] };
    }
    case "MUTE":
      return { state: { ...s, muted: !s.muted }, effects: [{ type: "mute", on: !s.muted }, { type: "set-led", id: "MUTE", mode: s.muted ? "off" : "on" }] };
    case "SPEAKER":
      if (s.audioPath === "speaker") return s.offHook ? { state: { ...s, audioPath: "handset" }, effects: [{ type: "audio-path", path: "handset" }, { type: "set-led", id: "SPEAKER", mode: "off" }] } : hangUpFocused(s, focus);
      return { state: { ...s, audioPath: "speaker" }, effects: [{ type: "audio-path", path: "speaker" }, { type: "set-led", id: "SPEAKER", mode: "on" }] };
    default:
      if (/^[0-9*#]$/.test(k)) {
        if (focus.state === "connected" || focus.state === "early") return { state: s, effects: [{ type: "send-dtmf", callId: focus.id, digit: k }] };
        if (focus.state === "held")
          // a held call and a digit: another call is being dialled (with two calls up, only an emergency number goes)
          return { state: { ...s, mode: "dialtone", dialled: "", notice: "" }, effects: [] };
      }
      return NOTHING(s);
  }
}

export type { CallEndReason };

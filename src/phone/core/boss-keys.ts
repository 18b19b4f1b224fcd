// A delegate's boss line keys (BOSS1..BOSS4, in the order of config.delegation.bosses), calls on behalf of a boss, and
// safe transfer to a boss. Only with delegation on (delegation.ts). What a boss key does:
//   idle (or the ended screen): dial tone "Call for <boss>:"; the call placed carries `onBehalfOf` (the far end sees
//     the boss where the server allows it, the delegate as the actual caller). On dial tone: the dial becomes for that boss.
//   a call for that boss ringing (or waiting): answers it, like a line key.
//   dialling a transfer target (TRANSFER pressed in a call): safe transfer to that boss; so does the "Boss" softkey
//     (SOFT2) when the call being transferred is a call for a boss.
// Safe transfer: the caller is held (TRANSFER did that), a consult call goes to the boss (a normal place-call, as a
// consult transfer in calls.ts), and when the boss answers the attended transfer completes (transfer-attended). If the
// boss does not answer within delegation.safeTransferMs (default 20 s: the `safe-transfer:<consult id>` timer), or the
// consult call fails, the consult is hung up and the caller resumed: "Boss did not answer: back to you". END while
// the boss's phone rings cancels it the same way ("Transfer cancelled"). Pure, like the rest of the core.
import type { BossInfo, Call, PhoneEffect, PhoneEvent, PhoneState } from "./phone-state.js";
import { callKey, placeCall } from "./calls.js";
import { DEFAULT_SAFE_TRANSFER_MS, DELEGATION_OFF, bossLabelOf, delegationOn } from "./delegation.js";
import { sameNumber } from "./private-line.js";
import { offHook, type Step } from "./steps.js";

export const BACK_TO_YOU = "Boss did not answer: back to you";
export const TRANSFER_CANCELLED = "Transfer cancelled";

const BOSS_KEY = /^BOSS([1-9])$/;

const NOTHING = (s: PhoneState): Step => ({ state: s, effects: [] });

/** True for a boss line key id ("BOSS1".."BOSS9"; boards have BOSS1..BOSS4). */
export function isBossKey(k: string): boolean {
  return BOSS_KEY.test(k);
}

function bossOfKey(s: PhoneState, k: string): BossInfo | undefined {
  const m = BOSS_KEY.exec(k);
  return m ? delegationOn(s)?.bosses[Number(m[1]) - 1] : undefined;
}

/** Dial tone for a call on behalf of `boss` (from idle, the ended screen, or the Bosses list). */
export function dialForBoss(s: PhoneState, boss: string): Step {
  if (s.locked) return { state: s, effects: [{ type: "rejected", event: "call for boss", why: "locked" }] };
  const lifted = offHook(s, s.audioPath === "handset" || s.offHook ? "handset" : "speaker");
  return { state: { ...lifted.state, onBehalfOf: boss }, effects: lifted.effects };
}

/** A boss line key, in any mode. */
export function bossKey(s: PhoneState, k: string, at: number): Step {
  const boss = bossOfKey(s, k);
  if (!boss) return { state: s, effects: [{ type: "rejected", event: `key ${k}`, why: delegationOn(s) ? "no boss on this key" : DELEGATION_OFF }] };
  switch (s.mode) {
    case "idle":
    case "ended":
      return dialForBoss(s, boss.number);
    case "dialtone":
    case "dialing":
      if (s.transferFrom === null) return { state: { ...s, onBehalfOf: boss.number, notice: "" }, effects: [] };
      return s.consultFor === "transfer" ? startSafeTransfer(s, boss, at) : NOTHING(s);
    case "ringing":
    case "call": {
      // a call for this boss ringing: the key answers it (the one on screen, or the one waiting)
      const ringing = s.calls.find((c) => c.state === "incoming" && sameNumber(c.forBoss?.number, boss.number));
      if (!ringing) return NOTHING(s);
      if (s.focus === ringing.id) return s.mode === "ringing" ? callKey(s, "ANSWER") : NOTHING(s);
      return callKey(s, "OK");
    }
  }
}

/** SOFT2 ("Boss") while dialling a transfer target for a call for a boss: safe transfer to that boss; else null. */
export function bossSoftkey(s: PhoneState, k: string, at: number): Step | null {
  if (k !== "SOFT2" || s.transferFrom === null || s.consultFor !== "transfer") return null;
  const held = s.calls.find((c) => c.id === s.transferFrom);
  const d = delegationOn(s);
  if (!held?.forBoss || !d) return null;
  const boss = d.bosses.find((b) => sameNumber(b.number, held.forBoss!.number)) ?? { ...held.forBoss, ringMode: "simultaneous", ringDelayMs: 0 };
  return startSafeTransfer(s, boss, at);
}

/** True when the "Boss" softkey shows (the transfer dial screen of a call for a boss). */
export function bossSoftkeyShown(s: PhoneState): boolean {
  const held = s.transferFrom !== null && s.consultFor === "transfer" ? s.calls.find((c) => c.id === s.transferFrom) : undefined;
  return !!held?.forBoss && !!delegationOn(s);
}

function startSafeTransfer(s: PhoneState, boss: BossInfo, at: number): Step {
  const from = s.transferFrom;
  if (from === null || !s.calls.some((c) => c.id === from)) return NOTHING(s);
  const placed = placeCall({ ...s, dialled: "", onBehalfOf: null }, boss.number, false, at);
  const id = s.nextCallId;
  // refused (two calls up already): as placeCall says
  if (placed.state.nextCallId === s.nextCallId) return placed;
  const calls = placed.state.calls.map((c): Call => (c.id === id && boss.name ? { ...c, remote: { ...c.remote, name: boss.name } } : c));
  const ms = delegationOn(s)?.safeTransferMs ?? DEFAULT_SAFE_TRANSFER_MS;
  return {
    state: { ...placed.state, calls, safeTransfer: { from, consult: id, boss: boss.number }, consultFor: "transfer", notice: "" },
    effects: [...placed.effects, { type: "start-timer", id: `safe-transfer:${id}`, ms }],
  };
}

/** Back to the delegate: the consult call (if still up) hung up, the caller resumed, with `words` on screen. */
function backToDelegate(s: PhoneState, words: string): Step {
  const st = s.safeTransfer;
  if (!st) return NOTHING(s);
  const effects: PhoneEffect[] = [{ type: "cancel-timer", id: `safe-transfer:${st.consult}` }];
  const consult = s.calls.find((c) => c.id === st.consult);
  const from = s.calls.find((c) => c.id === st.from);
  let { calls, ending } = s;
  if (consult) {
    effects.push({ type: "hangup-call", callId: consult.id });
    calls = calls.filter((c) => c.id !== consult.id);
    ending = [...ending, consult];
  }
  if (from) effects.push({ type: "hold-call", callId: from.id, hold: false });
  effects.push({ type: "tone", tone: "none" });
  const focus = from?.id ?? calls[0]?.id ?? null;
  return { state: { ...s, calls, ending, safeTransfer: null, transferFrom: null, focus, mode: calls.length ? "call" : s.mode, notice: words }, effects };
}

/** The `safe-transfer:<id>` timer: the boss did not answer in time. */
export function safeTransferTimer(s: PhoneState, consultId: number): Step {
  const st = s.safeTransfer;
  if (!st || st.consult !== consultId) return NOTHING(s);
  const consult = s.calls.find((c) => c.id === consultId);
  if (consult?.state === "connected" || consult?.state === "held") return NOTHING(s);
  return backToDelegate(s, BACK_TO_YOU);
}

/** END (or SOFT4) while the boss's phone rings: the safe transfer is called off, the caller resumed. Else null. */
export function safeTransferKey(s: PhoneState, k: string): Step | null {
  const st = s.safeTransfer;
  if (!st || (k !== "END" && k !== "SOFT4") || s.focus !== st.consult) return null;
  const consult = s.calls.find((c) => c.id === st.consult);
  if (!consult || consult.state === "connected" || consult.state === "held") return null;
  return backToDelegate(s, TRANSFER_CANCELLED);
}

/**
 * After every event: the boss answered the consult call (complete the transfer), the consult call failed (back to the
 * delegate), or either call went some other way (the safe transfer is over).
 */
export function safeTransferAfter(before: PhoneState, ev: PhoneEvent, step: Step): Step {
  const st = before.safeTransfer;
  if (!st || !step.state.safeTransfer) return step;
  const s = step.state;
  const has = (id: number, st2?: Call["state"]): boolean => s.calls.some((c) => c.id === id && (st2 === undefined || c.state === st2));
  if (ev.type === "call-progress" && ev.callId === st.consult && ev.state === "connected" && has(st.consult, "connected") && has(st.from))
    return {
      state: { ...s, notice: `Transferring to ${bossLabelOf(s, st.boss)}` },
      effects: [...step.effects, { type: "cancel-timer", id: `safe-transfer:${st.consult}` }, { type: "transfer-attended", callId: st.from, toCallId: st.consult }],
    };
  const consultBefore = before.calls.find((c) => c.id === st.consult);
  const unanswered = consultBefore && consultBefore.state !== "connected" && consultBefore.state !== "held";
  if (ev.type === "call-ended" && ev.callId === st.consult && unanswered && has(st.from)) {
    const back = backToDelegate(s, BACK_TO_YOU);
    return { state: back.state, effects: [...step.effects, ...back.effects] };
  }
  if (has(st.consult) && has(st.from)) return step;
  return { state: { ...s, safeTransfer: null }, effects: [...step.effects, { type: "cancel-timer", id: `safe-transfer:${st.consult}` }] };
}

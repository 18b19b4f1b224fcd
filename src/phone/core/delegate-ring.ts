// The boss's phone ringing its delegates itself (delegation.forking "phone", for a PBX that does not fork a boss's
// calls; lync-model.md "Delegation"). A call to the user's own number rings the delegates at once (ring mode
// "simultaneous") or when the `delegate-ring:<id>` timer fires ("delayed"), if it still rings here then. Never the
// private line (never sent to delegates), a call from one of the delegates (a safe transfer's consult call comes from
// the delegate), or a call in the emergency callback window (the PSAP calls back for this user). The SIP side calls
// each delegate (effect "ring-delegates"); the first to answer takes the call, this phone hears which one
// (event "delegate-answered") and the call ends here as answered elsewhere. Pure, like the rest of the core.
import type { Call, PhoneEffect, PhoneState } from "./phone-state.js";
import { delegationOn } from "./delegation.js";
import { sameNumber } from "./private-line.js";
import type { Step } from "./steps.js";

const TIMER = "delegate-ring:";
const timerOf = (callId: number): `delegate-ring:${number}` => `delegate-ring:${callId}`;

/** The delegates this phone rings itself for `call` (none unless delegation is on with forking "phone"). */
export function delegatesToRing(s: PhoneState, call: Call): string[] {
  const d = delegationOn(s);
  if (d?.forking !== "phone" || call.direction !== "in" || call.line || call.forBoss || call.emergency) return [];
  if (d.delegates.some((p) => sameNumber(p.number, call.number))) return [];
  return d.delegates.map((p) => p.number);
}

/** What a call that starts to ring here does for the delegates: ring them now, or start the ring delay. */
export function delegateRingStart(s: PhoneState, call: Call, callbackWindow: boolean): PhoneEffect[] {
  const delegates = callbackWindow ? [] : delegatesToRing(s, call);
  if (!delegates.length) return [];
  const d = delegationOn(s);
  if (d?.ringMode === "delayed" && d.ringDelayMs > 0) return [{ type: "start-timer", id: timerOf(call.id), ms: d.ringDelayMs }];
  return [{ type: "ring-delegates", callId: call.id, delegates }];
}

/** True for this module's timer ids. */
export function isDelegateRingTimer(id: string): boolean {
  return id.startsWith(TIMER);
}

/** The `delegate-ring:<id>` timer: the boss's ring delay is over; the delegates ring if the call still rings here. */
export function delegateRingTimer(s: PhoneState, id: string): Step {
  const c = s.calls.find((x) => x.id === Number(id.slice(TIMER.length)));
  const delegates = c && c.state === "incoming" ? delegatesToRing(s, c) : [];
  return { state: s, effects: c && delegates.length ? [{ type: "ring-delegates", callId: c.id, delegates }] : [] };
}

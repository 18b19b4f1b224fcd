// Delegation (lync-model.md "Delegation"), the core's part; nothing of it works unless config.delegation.enabled (the
// policy). Delegate's phone: a boss's line state (event "boss-state", from the dialog event package) drives the boss's
// line key LED (BOSS1.. in the order of config.delegation.bosses: off = idle or unknown, fast = ringing, on = busy);
// calls for a boss (call-incoming `to` = the boss's number) ring at once or, under the boss's "delayed" ring mode, show
// quietly until the `boss-ring:<id>` timer; answering one tells the boss (effect "notify-delegate-answered"). Boss's
// phone: Menu > Delegates edits the list and the user's ring mode (effect "set-delegates"); "delegate-answered" says
// who took a call and turns the missed entry of a call answered elsewhere into a received one. The boss line keys,
// calls on behalf of a boss and safe transfer are in boss-keys.ts. Pure, like the rest of the core.
import { isEmergencyTarget } from "./phone-state.js";
import type { BossInfo, BossLineState, DelegateEntry, DelegateInfo, DelegationConfig, HistoryEntry, PhoneEffect, PhoneEvent, PhoneState, RingMode } from "./phone-state.js";
import { MENUS, type MenuItem } from "./menus.js";
import { sameNumber } from "./private-line.js";
import { remember, type Step } from "./steps.js";

/** Safe transfer goes back to the delegate when the boss has not answered in this long (ms). */
export const DEFAULT_SAFE_TRANSFER_MS = 20_000;

/** A call answered elsewhere and a delegate's report of it are the same call when this close (wall clock, ms). */
const SAME_CALL_MS = 10 * 60_000;

/** The longest extension Menu > Delegates > Add delegate takes. */
const MAX_DELEGATE_DIGITS = 20;

export const DELEGATION_OFF = "delegation is off";

const NOTHING = (s: PhoneState): Step => ({ state: s, effects: [] });

/** The delegation config when the policy enables it, else undefined (then no boss or delegate behaviour at all). */
export function delegationOn(s: PhoneState): DelegationConfig | undefined {
  const d = s.config.delegation;
  return d?.enabled ? d : undefined;
}

/** The boss a call to `to` is for (on a delegate's phone), if delegation is on and `to` is a boss's number. */
export function bossFor(s: PhoneState, to: string | undefined): BossInfo | undefined {
  return to ? delegationOn(s)?.bosses.find((b) => sameNumber(b.number, to)) : undefined;
}

/** A boss or delegate as shown: the name, else the number. */
export function label(p: { number: string; name?: string }): string {
  return p.name || p.number;
}

/** A boss's number as shown: the configured boss's name when there is one. */
export function bossLabelOf(s: PhoneState, number: string): string {
  const b = s.config.delegation?.bosses.find((x) => sameNumber(x.number, number));
  return b ? label(b) : number;
}

/** The boss line key LED per boss line state. Unknown (no dialog subscription, or it failed) is dark like idle: a
 * blinking lamp would read as a call on hold. */
export const BOSS_LED_MODE: Readonly<Record<BossLineState, "off" | "on" | "slow" | "fast">> = { idle: "off", ringing: "fast", busy: "on", unknown: "off" };

/** The boss line state in words (the Bosses list). */
export const BOSS_STATE_WORDS: Readonly<Record<BossLineState, string>> = { idle: "free", ringing: "ringing", busy: "busy", unknown: "unknown" };

/** The LED (and line key) id of the boss at `index` in config.delegation.bosses. */
export const bossLedId = (index: number): string => `BOSS${index + 1}`;

function bossLed(s: PhoneState, b: BossInfo, i: number): PhoneEffect {
  return { type: "set-led", id: bossLedId(i), mode: BOSS_LED_MODE[s.bossLines[b.number] ?? "unknown"] };
}

/** Event "boss-state": the boss's line key follows it. */
export function bossState(s: PhoneState, ev: Extract<PhoneEvent, { type: "boss-state" }>): Step {
  const d = delegationOn(s);
  if (!d) return { state: s, effects: [{ type: "rejected", event: "boss-state", why: DELEGATION_OFF }] };
  const i = d.bosses.findIndex((b) => sameNumber(b.number, ev.boss));
  if (i < 0) return { state: s, effects: [{ type: "rejected", event: "boss-state", why: `${ev.boss} is not a boss of this user` }] };
  const next = { ...s, bossLines: { ...s.bossLines, [d.bosses[i].number]: ev.state } };
  return { state: next, effects: [bossLed(next, d.bosses[i], i)] };
}

/** A new config: the boss line states are kept for the bosses still there, and every boss LED is set again (the order
 * may have changed); LEDs of bosses gone, or of all when delegation went off, go dark. */
export function delegationConfigChanged(before: PhoneState, after: PhoneState): Step {
  const was = delegationOn(before);
  const now = delegationOn(after);
  const names = (d: DelegationConfig | undefined): string => JSON.stringify(d?.bosses.map((b) => b.number) ?? []);
  if (names(was) === names(now)) return NOTHING(after);
  const bosses = now?.bosses ?? [];
  const bossLines: Record<string, BossLineState> = {};
  for (const b of bosses) if (after.bossLines[b.number]) bossLines[b.number] = after.bossLines[b.number];
  const next = { ...after, bossLines };
  const effects: PhoneEffect[] = bosses.map((b, i) => bossLed(next, b, i));
  for (let i = bosses.length; i < (was?.bosses.length ?? 0); i++) effects.push({ type: "set-led", id: bossLedId(i), mode: "off" });
  return { state: next, effects };
}

/** Event "delegation-notice": what the service says ("You are now a delegate of 1001 Alice"), on screen. */
export function delegationNotice(s: PhoneState, text: string): Step {
  if (!delegationOn(s)) return { state: s, effects: [{ type: "rejected", event: "delegation-notice", why: DELEGATION_OFF }] };
  return { state: { ...s, notice: text }, effects: [] };
}

type Answered = Extract<PhoneEvent, { type: "delegate-answered" }>;

const answeredByText = (delegate: string, caller: string): string => `Answered by ${delegate} for you: ${caller}`;

/** The boss's phone: a delegate took a call for the user. The missed entry of that call (it stopped ringing here:
 * "answered-elsewhere") becomes a received one with `answeredBy`; with none, a received entry is added (and the
 * call's own end, when it comes, merges into it: answeredElsewhere()). */
export function delegateAnswered(s: PhoneState, ev: Answered): Step {
  if (!delegationOn(s)) return { state: s, effects: [{ type: "rejected", event: "delegate-answered", why: DELEGATION_OFF }] };
  const notice = answeredByText(ev.delegateName || ev.delegate, ev.callerName || ev.caller);
  const by: Pick<HistoryEntry, "answeredBy" | "answeredByName"> = { answeredBy: ev.delegate, ...(ev.delegateName ? { answeredByName: ev.delegateName } : {}) };
  const i = s.history.findIndex((e) => e.kind === "missed" && (e.answeredElsewhere || e.toDelegates) && !e.answeredBy && sameNumber(e.number, ev.caller) && Math.abs(ev.wallAt - e.at) <= SAME_CALL_MS);
  if (i >= 0) {
    const e = s.history[i];
    const history = s.history.map((x, j) => (j === i ? { ...e, kind: "received" as const, ...(e.name || !ev.callerName ? {} : { name: ev.callerName }), ...by } : x));
    return { state: { ...s, history, notice }, effects: [{ type: "history-changed", history }] };
  }
  const added = remember(s, { kind: "received", number: ev.caller, ...(ev.callerName ? { name: ev.callerName } : {}), at: ev.wallAt, seconds: 0, ...by });
  return { state: { ...added.state, notice }, effects: added.effects };
}

/** A call that rang here ended as answered elsewhere (`e` its missed entry): recorded, or merged into the received
 * entry a delegate's report made already; with the notice to show instead of "Missed call". */
export function answeredElsewhere(s: PhoneState, e: HistoryEntry): { step: Step; notice: string } {
  const i = s.history.findIndex((x) => x.answeredBy && !x.answeredElsewhere && sameNumber(x.number, e.number) && x.at >= e.at - 60_000 && x.at - e.at <= SAME_CALL_MS);
  if (i < 0) return { step: remember(s, { ...e, answeredElsewhere: true }), notice: `Answered elsewhere: ${e.name || e.number}` };
  const x = s.history[i];
  const merged: HistoryEntry = { ...e, ...x, kind: "received", at: e.at, answeredElsewhere: true, ...(x.name || !e.name ? {} : { name: e.name }) };
  const history = s.history.map((y, j) => (j === i ? merged : y));
  return { step: { state: { ...s, history }, effects: [{ type: "history-changed", history }] }, notice: answeredByText(x.answeredByName || x.answeredBy || "", merged.name || merged.number) };
}

/** The `boss-ring:<id>` timer: a boss call under the "delayed" ring mode starts to ring (or to beep, waiting). */
export function bossRingTimer(s: PhoneState, callId: number): Step {
  const c = s.calls.find((x) => x.id === callId);
  if (!c || c.state !== "incoming" || c.silentUntil === undefined) return NOTHING(s);
  const rings = { ...c };
  delete rings.silentUntil;
  const next = { ...s, calls: s.calls.map((x) => (x.id === callId ? rings : x)) };
  if (s.mode === "ringing" && s.focus === callId) return { state: next, effects: [{ type: "ringer", on: true, pattern: c.ring ?? "standard" }, { type: "set-led", id: "RINGER", mode: "fast" }] };
  if (s.mode === "call") return { state: next, effects: [{ type: "tone", tone: "call-waiting" }] };
  return NOTHING(next);
}

// ---- Menus: the main menu's delegation lines, Menu > Delegates (the boss's phone), Bosses (a delegate's phone) ----

/** The main menu: "Delegates" (and "Bosses" for a delegate) before About, when delegation is on. */
export function mainMenuItems(s: PhoneState): MenuItem[] {
  const items: MenuItem[] = MENUS.main.map((i) => ({ ...i }));
  const d = delegationOn(s);
  if (!d) return items;
  const at = items.findIndex((i) => i.opens === "about");
  const extra: MenuItem[] = [{ label: "Delegates", opens: "delegates" }, ...(d.bosses.length ? [{ label: "Bosses", opens: "bosses" as const }] : [])];
  items.splice(at < 0 ? items.length : at, 0, ...extra);
  return items;
}

export const ADD_DELEGATE = "Add delegate";

/** The boss's ring delays Menu > Delegates > Ring steps through (seconds; 0 = at once, "simultaneous"). Within the
 * service's 0..60 (MAX_RING_DELAY_SECONDS). */
export const RING_DELAY_STEPS_S: readonly number[] = [0, 5, 10, 15, 20, 30];

/** The boss's ring mode in words: "at once" or "after 10 s". */
export function ringWords(d: { ringMode: RingMode; ringDelayMs: number }): string {
  return d.ringMode === "delayed" && d.ringDelayMs > 0 ? `after ${Math.round(d.ringDelayMs / 1000)} s` : "at once";
}

const delegateLine = (p: DelegateInfo): string => (p.name ? `${p.number} ${p.name}` : p.number);

/** Menu > Delegates: each delegate, the boss's ring mode ("Ring: at once"; OK steps it), then "Add delegate" (last, so
 * UP from the top still reaches it). */
export function delegatesMenuItems(s: PhoneState): MenuItem[] {
  const d = s.config.delegation;
  const list = d?.delegates ?? [];
  return [
    ...list.map((p) => ({ label: delegateLine(p), value: `delegate:${p.number}` })),
    { label: `Ring: ${d ? ringWords(d) : "at once"}`, value: "delegates:ring" },
    { label: ADD_DELEGATE, value: "delegates:add" },
  ];
}

/** Bosses (a delegate's boss lines, for boards without BOSS keys): each boss and its line state; OK calls for the boss. */
export function bossesMenuItems(s: PhoneState): MenuItem[] {
  return (delegationOn(s)?.bosses ?? []).map((b) => ({ label: `${label(b)}: ${BOSS_STATE_WORDS[s.bossLines[b.number] ?? "unknown"]}`, value: `boss:${b.number}` }));
}

/** True when Menu > Delegates is on screen with the cursor on a delegate (its Delete softkey shows). */
export function onDelegateLine(s: PhoneState): boolean {
  const m = s.menu;
  return !!m && m.stack[m.stack.length - 1] === "delegates" && m.cursor < (s.config.delegation?.delegates.length ?? 0);
}

/** The list as the shell sends it: numbers and names only. */
const plain = (list: readonly DelegateInfo[]): DelegateInfo[] => list.map((p) => ({ number: p.number, ...(p.name ? { name: p.name } : {}) }));

function setDelegates(s: PhoneState, d: DelegationConfig, list: DelegateInfo[], notice: string, cursor: number): Step {
  const menu = s.menu ? { ...s.menu, cursor } : s.menu;
  return { state: { ...s, config: { ...s.config, delegation: { ...d, delegates: list } }, menu, delegateEntry: null, notice }, effects: [{ type: "set-delegates", delegates: plain(list) }] };
}

/** Menu > Delegates > Ring: the next step of RING_DELAY_STEPS_S (after the last, at once again), in the config and
 * sent with the list (set-delegates with ringMode and ringDelayMs). */
function nextRingMode(s: PhoneState, d: DelegationConfig): Step {
  const now = d.ringMode === "delayed" ? Math.round(d.ringDelayMs / 1000) : 0;
  const seconds = RING_DELAY_STEPS_S.find((x) => x > now) ?? 0;
  const ring = { ringMode: (seconds > 0 ? "delayed" : "simultaneous") as RingMode, ringDelayMs: seconds * 1000 };
  return {
    state: { ...s, config: { ...s.config, delegation: { ...d, ...ring } }, notice: `Delegates ring ${ringWords(ring)}` },
    effects: [{ type: "set-delegates", delegates: plain(d.delegates), ...ring }],
  };
}

/** Menu > Delegates: SOFT2 (Delete) removes the delegate under the cursor; OK on the Ring line steps the ring mode.
 * Null for any other key (the menu's). */
export function delegatesMenuKey(s: PhoneState, k: string): Step | null {
  const d = delegationOn(s);
  if (!d || !s.menu || s.menu.stack[s.menu.stack.length - 1] !== "delegates") return null;
  if ((k === "OK" || k === "SOFT4") && s.menu.cursor === d.delegates.length) return nextRingMode(s, d);
  if (k !== "SOFT2" || !onDelegateLine(s)) return null;
  const gone = d.delegates[s.menu.cursor];
  const list = d.delegates.filter((_, i) => i !== s.menu!.cursor);
  return setDelegates(s, d, list, `Removed ${label(gone)}`, Math.min(s.menu.cursor, list.length));
}

export function openDelegateEntry(s: PhoneState): Step {
  if (!delegationOn(s)) return { state: { ...s, notice: "Delegation is off" }, effects: [] };
  return { state: { ...s, delegateEntry: { digits: "", message: "" }, notice: "" }, effects: [] };
}

/** Why `n` cannot be added as a delegate, or "". */
function refusal(s: PhoneState, d: DelegationConfig, n: string): string {
  if (!n) return "Type an extension";
  if (isEmergencyTarget(n, s.config.dialPlan)) return `${n} is an emergency number`;
  if (sameNumber(n, s.config.ownNumber) || sameNumber(n, s.config.privateLine?.number)) return "That is your own number";
  if (d.delegates.some((p) => sameNumber(p.number, n))) return "Already a delegate";
  return "";
}

/** Menu > Delegates > Add delegate: digits, BACK/Delete takes one back (or leaves when empty), OK/#/Add adds, END
 * leaves. */
export function delegateEntryKey(s: PhoneState, e: DelegateEntry, k: string): Step {
  const d = delegationOn(s);
  const set = (next: DelegateEntry): Step => ({ state: { ...s, delegateEntry: next }, effects: [] });
  if (!d || k === "END" || k === "MENU") return { state: { ...s, delegateEntry: null }, effects: [] };
  if (/^[0-9]$/.test(k)) return set({ digits: (e.digits + k).slice(0, MAX_DELEGATE_DIGITS), message: "" });
  if (k === "BACK" || k === "SOFT3") return e.digits ? set({ digits: e.digits.slice(0, -1), message: "" }) : { state: { ...s, delegateEntry: null }, effects: [] };
  if (k === "OK" || k === "#" || k === "SOFT4") {
    const why = refusal(s, d, e.digits);
    if (why) return set({ ...e, message: why });
    const list = [...d.delegates, { number: e.digits }];
    return setDelegates(s, d, list, `Added delegate ${e.digits}`, list.length - 1);
  }
  return NOTHING(s);
}

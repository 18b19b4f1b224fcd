// Phone state -> Screen: what each state of the phone shows, in plain words.
import type { Call, DelegateEntry, HistoryEntry, PhoneState } from "../phone/core/phone-state.js";
import { MENUS, MENU_TITLES } from "../phone/core/menus.js";
import { DEFAULT_DISCLAIMER, promptOnScreen } from "../phone/core/emergency.js";
import { entryText, locationMenuItems, LOCATION_FIELDS, type LocationEntry } from "../phone/core/location-entry.js";
import { bossesMenuItems, bossLabelOf, delegatesMenuItems, delegationOn, mainMenuItems, onDelegateLine } from "../phone/core/delegation.js";
import { bossSoftkeyShown } from "../phone/core/boss-keys.js";
import { PRIVATE_BANNER } from "../phone/core/private-line.js";
import type { Screen, StatusIcon } from "./screen.js";

/** Below this MOS the call screen warns of a poor network (the media's E-model estimate; G.107 puts "many users
 * dissatisfied" at R 60-70, MOS 3.1-3.6). */
export const POOR_MOS = 3.6;

export interface ViewContext {
  /** The wall clock as "HH:MM". */
  clock: string;
  /** The line's name on the status bar (extension or "Not provisioned"). */
  lineName: string;
  /** Monotonic ms now, for call timers (the events' `at` are on the same clock). */
  now?: number;
}

/** "m:ss" or "h:mm:ss" since `from`. */
export function callTimer(from: number, now: number): string {
  const t = Math.max(0, Math.floor((now - from) / 1000));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

const who = (c: Call): string => c.remote.name || c.number || c.remote.uri;

/** A call-history line: "> 1002 Bob 2m" (placed), "< ..." (received), "! ..." (missed); then who answered it for the
 * user ("by Dave"), the boss it was for ("for Alice", `bossName` names the number), or "private" (the private line). */
export function historyLine(e: HistoryEntry, bossName: (n: string) => string = (n) => n): string {
  const mark = e.kind === "placed" ? ">" : e.kind === "received" ? "<" : "!";
  const name = e.name ? ` ${e.name}` : "";
  const len = e.seconds ? ` ${e.seconds >= 60 ? `${Math.round(e.seconds / 60)}m` : `${e.seconds}s`}` : "";
  const by = e.answeredBy ? ` by ${e.answeredByName || e.answeredBy}` : "";
  const boss = e.forBoss ? ` for ${bossName(e.forBoss)}` : "";
  const line = e.line === "private" ? " private" : "";
  return `${mark} ${e.number}${name}${by}${boss}${line}${len}`;
}

/** What a call is for, besides its party: a boss ("For Alice"), or the private line. */
function callTag(s: PhoneState, c: Call): string {
  if (c.forBoss) return `For ${c.forBoss.name || c.forBoss.number}`;
  if (c.onBehalfOf) return `For ${bossLabelOf(s, c.onBehalfOf)}`;
  return c.line === "private" ? PRIVATE_BANNER : "";
}

function callLine(c: Call, now: number): string {
  switch (c.state) {
    case "calling":
      return c.emergency ? `Emergency call ${c.number}` : `Calling ${c.number}`;
    case "ringing":
    case "early":
      return c.emergency ? `Emergency call ${c.number}` : `Ringing ${c.number}`;
    case "incoming":
      return `Answering ${who(c)}`;
    case "connected":
      return `${c.emergency ? `Emergency ${c.number}` : who(c)} ${c.connectedAt !== null ? callTimer(c.connectedAt, now) : ""}`.trimEnd();
    case "held":
      return `On hold ${who(c)}`;
  }
}

function callScreen(s: PhoneState, base: { title: string; clock: string; icons: StatusIcon[] }, now: number): Screen {
  const focus = s.calls.find((c) => c.id === s.focus);
  if (!focus) return { ...base, body: [s.notice], softkeys: ["", "", "", "End"] };
  const other = s.calls.find((c) => c.id !== focus.id);
  if (s.conference && other) {
    // a 3-way conference: both parties on one line, the user the bridge
    const parties = s.conference.map((id) => s.calls.find((c) => c.id === id)).filter((c): c is NonNullable<typeof c> => !!c);
    return { ...base, body: [`Conference ${focus.connectedAt !== null ? callTimer(focus.connectedAt, now) : ""}`.trimEnd(), parties.map(who).join(" + "), s.muted ? "Microphone muted" : ""].filter((l, i) => i < 2 || l), softkeys: ["", "Split", "", "End"] };
  }
  if (focus.emergency) return emergencyScreen(s, focus, other, base, now);
  const st = s.safeTransfer;
  if (st && st.consult === focus.id && focus.state !== "connected" && focus.state !== "held")
    // safe transfer: the boss's phone rings; the caller waits held, and comes back if the boss does not answer
    return { ...base, body: [`Transfer to ${focus.remote.name || focus.number}`, other ? `Held: ${who(other)}` : "", "Back if no answer"], softkeys: ["", "", "Transfer", "Cancel"] };
  const poor = focus.state === "connected" && focus.mos !== undefined && focus.mos < POOR_MOS;
  const tag = callTag(s, focus);
  const second = focus.emergency ? "Stay on the line" : s.muted ? "Microphone muted" : poor ? "Poor network quality" : tag && focus.state !== "incoming" ? tag : focus.remote.name && focus.state !== "incoming" ? focus.number : focus.remoteHold ? "On hold by far end" : "";
  // a waiting call for a boss, or to the private line, says so instead of "Waiting"
  const waitingTag = other && other.state === "incoming" ? (other.forBoss ? `For ${other.forBoss.name || other.forBoss.number}` : other.line === "private" ? "Private" : "Waiting") : "";
  const otherLine = other ? (other.state === "incoming" ? `${waitingTag}: ${who(other)}` : `${other.state === "held" ? "Held" : "Line"}: ${who(other)}`) : "";
  // the other call comes before anything else: on a 4-row LCD only two body lines show
  const body = [callLine(focus, now), otherLine || s.notice || second, otherLine ? s.notice || second : ""].filter((l, i) => i === 0 || l);
  let softkeys: string[];
  if (other?.state === "incoming") softkeys = ["Answer", "", "Reject", "End"];
  else if (other) softkeys = ["", "Swap", "Transfer", "End"];
  else if (focus.state === "connected") softkeys = ["", "Hold", "Transfer", "End"];
  else if (focus.state === "held") softkeys = ["", "Resume", "Transfer", "End"];
  else softkeys = ["", "", "", "End"];
  return { ...base, body, softkeys };
}

/** Splits `text` at the last space that keeps the first part within `width` (a 20-column row), for a two-row message. */
export function twoRows(text: string, width = 20): [string, string] {
  if (text.length <= width) return [text, ""];
  const cut = text.lastIndexOf(" ", width);
  return cut > 0 ? [text.slice(0, cut), text.slice(cut + 1)] : [text, ""];
}

/** What the emergency INVITE carried, once the shell says it has left. */
export function locationSentLine(c: Call): string | undefined {
  if (c.locationSent === undefined) return undefined;
  return c.locationSent === null ? "No location sent" : `Location sent: ${c.locationSent}`;
}

/**
 * An emergency call: what it is and where the call said we are keep the two body rows (a long location scrolls on its
 * row); a notice ("Not during an emergency call") takes the title row instead, so it never hides them. No Hold or
 * Transfer softkeys (they are refused), only End. A call held before it stays held, listed below.
 */
function emergencyScreen(s: PhoneState, focus: Call, other: Call | undefined, base: { title: string; clock: string; icons: StatusIcon[] }, now: number): Screen {
  const sent = locationSentLine(focus) ?? "";
  const body = [callLine(focus, now), sent || "Stay on the line", s.muted ? "Microphone muted" : "", other ? `Held: ${who(other)}` : "", sent ? "Stay on the line" : ""];
  return { ...base, title: s.notice || base.title, body: body.filter((l, i) => i === 0 || l), softkeys: ["", "", "", "End"] };
}

/** Location > Enter location: the field's name and number on the title row, what is typed (the multi-tap letter
 * last, else the cursor), then why it cannot be saved or what to do. */
function locationEntryScreen(e: LocationEntry, clock: string, icons: StatusIcon[]): Screen {
  const f = LOCATION_FIELDS[e.field];
  const last = e.field === LOCATION_FIELDS.length - 1;
  const text = entryText(e);
  // typing happens at the end: a long value shows its tail (a 20-column row holds 19 and the marker)
  const shown = text.length > 19 ? `<${text.slice(-18)}` : text;
  return {
    title: `${f.label} ${e.field + 1}/${LOCATION_FIELDS.length}`,
    clock,
    icons,
    body: [shown, e.message || f.hint || (last ? "# = save" : "# = next field"), "END = cancel"],
    softkeys: ["Save", f.id === "country" ? "" : e.mode, "Delete", last ? "Save" : "Next"],
  };
}

/** Menu > Delegates > Add delegate: the extension typed, then why it cannot be added or what to do. */
function delegateEntryScreen(e: DelegateEntry, clock: string, icons: StatusIcon[]): Screen {
  return { title: "Add delegate", clock, icons, body: [`${e.digits}_`, e.message || "Extension, then OK"], softkeys: ["", "", "Delete", "Add"] };
}

export function viewOf(s: PhoneState, ctx: ViewContext): Screen {
  const now = ctx.now ?? 0;
  const icons: StatusIcon[] = [];
  if (s.locked) icons.push("lock");
  if (s.registration.state === "failed") icons.push("no-service");
  if (s.dnd) icons.push("dnd");
  if (s.mwi.waiting) icons.push("message");
  if (s.muted) icons.push("mute");
  if (s.config.forward?.always) icons.push("forward");
  const base = { title: ctx.lineName, clock: ctx.clock, icons };
  switch (s.mode) {
    case "idle": {
      if (s.locked)
        // no softkeys: on a 4-row LCD the emergency hint needs the row
        return { ...base, body: ["Phone locked", s.unlockEntry ? `PIN: ${"*".repeat(s.unlockEntry.length)}` : "Enter PIN, then OK", s.notice || "Emergency: dial 911"] };
      if (s.locationEntry) return locationEntryScreen(s.locationEntry, ctx.clock, icons);
      if (s.delegateEntry) return delegateEntryScreen(s.delegateEntry, ctx.clock, icons);
      if (s.menu) {
        const here = s.menu.stack[s.menu.stack.length - 1];
        let body: string[];
        let notice = s.notice;
        let softkeys = ["", "", "Back", "OK"];
        if (here === "main") body = mainMenuItems(s).map((i) => i.label);
        else if (here === "delegates") {
          body = delegatesMenuItems(s).map((i) => i.label);
          if (onDelegateLine(s)) softkeys = ["", "Delete", "Back", ""];
        } else if (here === "bosses") {
          body = bossesMenuItems(s).map((i) => i.label);
          softkeys = body.length ? ["", "", "Back", "Call"] : ["", "", "Back", ""];
          if (!body.length) body = ["No bosses"];
        } else if (here === "location") {
          body = locationMenuItems(s).map((i) => i.label);
          // the emergency test's result is a line of this menu already (emergency-test.ts): not said twice
          if (notice && body.includes(notice)) notice = "";
        } else if (here === "history") body = s.history.length ? s.history.map((e) => historyLine(e, (n) => bossLabelOf(s, n))) : ["No calls yet"];
        else if (here === "directory" && s.config.directory?.length) body = s.config.directory.map((d) => `${d.name} ${d.number}`);
        else if (here === "about" && s.about.length) body = s.about;
        else body = MENUS[here].map((i) => (i.label === "Do not disturb" ? `Do not disturb: ${s.dnd ? "on" : "off"}` : i.label === "Sign out" && s.signedOut ? "Sign in" : i.label));
        // the notice is not a line of the menu (on a small display it would fall below the lines in view): its own
        // place on each display. It answers the last key (or the service the key asked), so it scrolls from then.
        const menuView: Screen = { title: MENU_TITLES[here], clock: ctx.clock, icons, body, selected: s.menu.cursor, softkeys };
        return notice ? { ...menuView, notice, noticeSince: s.lastActivity } : menuView;
      }
      if (s.signedOut) return { ...base, body: ["Signed out", "OK to sign in"], softkeys: ["", "", "", "Menu"] };
      if (s.signin) {
        // the sign-in wizard: extension, then the PIN masked; the message (why the last try failed) on its own line
        const w = s.signin;
        const title = "Sign in";
        if (w.step === "busy") return { title, clock: ctx.clock, icons, body: [w.message || "Signing in...", w.extension] };
        // on a 4-row LCD two body rows show: what went wrong replaces the prompt until the user types again
        if (w.step === "service") return { title, clock: ctx.clock, icons, body: [w.message || "Service address:", `${w.address ?? ""}_`, "* = .  # = :"], softkeys: ["", "", "Delete", "Next"] };
        if (w.step === "pin") return { title, clock: ctx.clock, icons, body: [w.message || `PIN for ${w.extension}:`, `${"*".repeat(w.pin.length)}_`], softkeys: ["", "", "Delete", "Sign in"] };
        return { title, clock: ctx.clock, icons, body: [w.message || "Extension:", `${w.extension}_`, "Emergency: dial 911"], softkeys: ["", "", "Delete", "Next"] };
      }
      const noService = s.registration.state === "failed";
      const service = noService ? "No service" : s.registration.state === "registering" ? "Connecting..." : "Ready";
      const status = s.notice || service;
      // after an emergency call the phone takes callbacks through DND and forwarding: it says so, and for how long
      const callback = s.emergencyCallbackUntil !== null;
      const left = callback ? Math.max(1, Math.ceil((s.emergencyCallbackUntil! - now) / 60_000)) : 0;
      // the reason gets a line of its own (it is often long: it scrolls there, while "No service" stays put)
      const second = noService
        ? s.registration.reason
        : callback ? "Emergency callback" : s.mwi.waiting ? `${s.mwi.count || "New"} voicemail${s.mwi.count === 1 ? "" : "s"}` : s.dnd ? "Do not disturb" : s.config.forward?.always ? `Forward to ${s.config.forward.always}` : "";
      const third = callback ? `${s.dnd ? "DND paused" : s.config.forward?.always ? "Forward paused" : "Calls ring"}: ${left} min` : "";
      if (promptOnScreen(s)) {
        // "Location needed" (LocationRequired): the prompt's two rows first; the usual lines below for larger panels
        const ask = s.notice ? [s.notice, "Location needed (OK)"] : ["Location needed", "OK to enter location"];
        return { ...base, body: [...ask, service, second, third].filter((l, i) => i < 2 || l), softkeys: ["Redial", "DND", "Skip", "Menu"] };
      }
      // the disclaimer (the location prompt dismissed under "disclaimer") is read, not glanced at: both rows, no scrolling
      const e = s.config.emergency;
      // a delegate's Bosses list (the boss lines, on boards without BOSS keys)
      const softkeys = ["Redial", "DND", delegationOn(s)?.bosses.length ? "Bosses" : "", "Menu"];
      if (s.notice && e?.locationRequired === "disclaimer" && s.notice === (e.disclaimer || DEFAULT_DISCLAIMER))
        return { ...base, body: [...twoRows(s.notice), service === "Ready" ? "" : service, second, third].filter((l, i) => i < 2 || l), softkeys };
      // "Answered by Dave for you: Carol Jones" (the boss's phone) reads best on two rows, when the second is free
      const by = !second && !third ? /^(Answered by .+?) (for you: .+)$/.exec(status) : null;
      if (by) return { ...base, body: [by[1], by[2]], softkeys };
      return { ...base, body: third ? [status, second, third] : [status, second], softkeys };
    }
    case "dialtone": {
      // transferring a call for a boss: the "Boss" softkey is a safe transfer to the boss
      const boss = bossSoftkeyShown(s) ? "Boss" : "";
      if (s.transferFrom === null && s.onBehalfOf) return { ...base, body: [`Call for ${bossLabelOf(s, s.onBehalfOf)}:`, s.notice], softkeys: ["", "", "", "End"] };
      return { ...base, body: [s.transferFrom !== null ? (s.consultFor === "conference" ? "Add to conference:" : "Transfer to:") : "Dial a number", s.notice], softkeys: ["", boss, "", "End"] };
    }
    case "dialing":
      if (s.transferFrom !== null && s.consultFor === "conference") return { ...base, body: [`Add: ${s.dialled}`, s.notice || "SEND, then CONF"], softkeys: ["Send", "", "", "End"] };
      if (s.transferFrom !== null) return { ...base, body: [`Transfer to: ${s.dialled}`, s.notice || "TRANSFER or SEND"], softkeys: ["Send", bossSoftkeyShown(s) ? "Boss" : "", "Transfer", "End"] };
      if (s.onBehalfOf) return { ...base, body: [s.notice || `Call for ${bossLabelOf(s, s.onBehalfOf)}:`, s.dialled], softkeys: ["Send", "", "", "End"] };
      return { ...base, body: [s.dialled, s.notice || ""], softkeys: ["Send", "", "", "End"] };
    case "ringing": {
      const c = s.calls.find((x) => x.id === s.focus);
      const name = c ? who(c) : "";
      if (c?.forBoss) {
        // a call for the boss; under the boss's "delayed" ring mode it shows quietly first, the title counting down
        const quiet = c.silentUntil !== undefined ? `Rings in ${Math.max(1, Math.ceil((c.silentUntil - now) / 1000))} s` : "";
        return { ...base, title: quiet || base.title, body: [`Call for ${c.forBoss.name || c.forBoss.number}`, `from ${name}`, c.remote.name ? c.number : ""], softkeys: ["Answer", "", "Reject", ""] };
      }
      return { ...base, body: [c?.line === "private" ? PRIVATE_BANNER : "Incoming call", name, c?.remote.name ? c.number : ""], softkeys: ["Answer", "", "Reject", ""] };
    }
    case "call":
      return callScreen(s, base, now);
    case "ended":
      return { ...base, body: [s.ended?.reason ?? "Call ended", s.ended?.remote ?? ""], softkeys: ["", "", "", "End"] };
  }
}

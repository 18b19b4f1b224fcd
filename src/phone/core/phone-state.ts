// The phone's state as plain JSON (streamed by the control protocol, compared by tests), and its events and effects.
import { emergencyTarget, type DialPlanConfig } from "./dial-plan.js";
import type { MenuState } from "./menus.js";

/**
 *   idle --lift/SPEAKER--> dialtone --digit--> dialing --complete--> call (place-call effect)
 *    |  ^                     |                   |                    |  (focused call: calling, ringing, early,
 *    |  +------ hang up ------+------ hang up ----+---- hang up -------+   connected, held; a second call waits)
 *    +--call-incoming--> ringing --answer--> call;   call --last call ends--> ended --timer--> idle
 *   Lock is orthogonal: while locked, menus are refused but dialling an emergency number always works, and an
 *   incoming call can still be answered (a locked desk phone rings and answers like any other).
 *   Emergency calls (emergency.ts): nothing interrupts one (hold, transfer, conference, a second call: 486); when it
 *   ends, the callback window lets calls ring through DND, unforwarded. The location and its prompt, and Location >
 *   Enter location (location-entry.ts), live in idle.
 *   The private line (private-line.ts): incoming calls to config.privateLine.number ring their own way, through DND,
 *   never forwarded. Delegation (delegation.ts, boss-keys.ts; only with config.delegation.enabled): a delegate's
 *   phone rings for its bosses (at once, or quietly until the boss's ring delay), shows their line states on BOSS1..
 *   keys, calls on their behalf and safe-transfers to them; a boss's phone edits its delegates (Menu > Delegates)
 *   and hears which delegate answered for it.
 */
export type Mode = "idle" | "dialtone" | "dialing" | "ringing" | "call" | "ended";

/** One SIP call as the core sees it. `state` is the call's own progress; the phone's mode says what is on screen. */
export type CallState = "calling" | "ringing" | "early" | "incoming" | "connected" | "held";

export interface Call {
  id: number;
  direction: "out" | "in";
  state: CallState;
  remote: { uri: string; name?: string };
  emergency: boolean;
  /** Monotonic ms when the call was answered (for the call timer), or null before. */
  connectedAt: number | null;
  /** The far end put us on hold (re-INVITE with sendonly/inactive). */
  remoteHold: boolean;
  /** The number dialled (outgoing) or the caller's number (incoming), as shown and kept in history. */
  number: string;
  /** Monotonic ms when the call began (placed or arrived). */
  startedAt: number;
  /** The media's estimate of how the call sounds (E-model MOS, 1-4.5), once measured. */
  mos?: number;
  /** How an incoming call rings: the pattern the caller's PBX asked for (Alert-Info), else the line's. */
  ring?: RingPatternName;
  /** Emergency calls: the location text sent with the INVITE, null when it went without one; absent until the shell
   * says the INVITE has left (event "emergency-location-sent"). */
  locationSent?: string | null;
  /** Incoming: the call came to the user's private line (config.privateLine: own ring, through DND, never forwarded). */
  line?: "private";
  /** Incoming on a delegate's phone: the call is for this boss (the number called was the boss's; delegation.ts). */
  forBoss?: { number: string; name?: string };
  /** Incoming call for a boss that the boss's own phone rang here (delegation.forking "phone"): it applied the ring
   * delay already, and it knows when this phone answers (no "notify-delegate-answered"). */
  rungByBoss?: true;
  /** Outgoing: placed on behalf of this boss (a delegate's phone; the far end sees the boss where the server allows). */
  onBehalfOf?: string;
  /** Incoming boss call under the boss's "delayed" ring mode: monotonic ms at which it starts to ring (the
   * `boss-ring:<id>` timer); until then it shows quietly, with no ringer. Absent once it rings. */
  silentUntil?: number;
}

/** The phone's current location as the location service reports it (event "location"). */
export interface LocationInfo {
  /** The address on one line for the screen ("1100 N Lamar BLVD, Tower 2, Fl 3, Rm 3-214"). */
  text: string;
  /** Where it came from: "lis", "lldp-med", "dhcp", "provisioned", "manual" (shown as is when unknown). */
  source: string;
  /** The civic address (RFC 5139 element names), when known: a manual one pre-fills Location > Enter location. */
  civic?: Readonly<Record<string, string>>;
}

/** Emergency-call policy (Lync location policy, standards §5.2; callback window §4.3 item 5). */
export interface EmergencyConfig {
  /** With no location known: "no" = nothing; "yes" = the idle screen asks for one (dismissable); "disclaimer" = asks,
   * and dismissing shows `disclaimer`. Default "no". */
  locationRequired?: "no" | "yes" | "disclaimer";
  /** Shown when the location prompt is dismissed under "disclaimer". */
  disclaimer?: string;
  /** After an emergency call ends, incoming calls ring through DND and are not forwarded for this long (ms, default
   * 30 min). */
  callbackWindowMs?: number;
  /** Menu > Location offers "Test emergency call" (RFC 6881 ED-77: an INVITE to urn:service:test.sos, TV-16). Default
   * off. */
  testCalls?: boolean;
}

/** Menu > Location > Test emergency call (emergency-test.ts): a test under way, and the last one's result line ("" for
 * none yet). */
export interface EmergencyTestState {
  running: boolean;
  result: string;
}

/** The civic elements the user types, in the order asked (RFC 5139 names). */
export type CivicField = "HNO" | "RD" | "A3" | "A1" | "PC" | "country" | "BLD" | "FLR" | "ROOM";

/** Letters per key in the letter modes; "123" types the digit itself. */
export type EntryMode = "Abc" | "ABC" | "abc" | "123";

/** Manual location entry in progress (location-entry.ts runs it). */
export interface LocationEntry {
  /** Index into LOCATION_FIELDS. */
  field: number;
  values: Record<CivicField, string>;
  /** The key being tapped and which of its characters shows; committed by a pause, another key, #, OK. */
  pending: { key: string; index: number } | null;
  mode: EntryMode;
  /** Why the address cannot be saved yet, or "". */
  message: string;
}

export interface SignInState {
  /** "service": no provisioning service was found, its address is typed first (* = ".", # = ":"). */
  step: "service" | "extension" | "pin" | "busy";
  /** The service address being typed (host or IP, optional :port). */
  address?: string;
  extension: string;
  /** The PIN being typed; emptied as soon as the shell takes it. */
  pin: string;
  /** What the last attempt said ("Wrong PIN, 3 tries left", "Cannot reach the provisioning service: ..."). */
  message: string;
}

/** Ring cadences (Telcordia GR-506 distinctive ringing 1-4): the ringer plays the one a call or its line names. */
export type RingPatternName = "standard" | "double" | "triple" | "short";

export type HistoryKind = "placed" | "received" | "missed";

export interface HistoryEntry {
  kind: HistoryKind;
  number: string;
  name?: string;
  /** Wall-clock ms since the epoch. */
  at: number;
  /** Seconds connected (0 for unanswered calls). */
  seconds: number;
  /** The call came to the private line. */
  line?: "private";
  /** A call for (incoming) or on behalf of (outgoing) this boss, on a delegate's phone: the boss's number. */
  forBoss?: string;
  /** The boss's phone: a delegate answered this call for the user (the delegate's number), and the delegate's name. */
  answeredBy?: string;
  answeredByName?: string;
  /** The call rang here and stopped because it was answered elsewhere (call-ended reason "answered-elsewhere"); a
   * delegate's "delegate-answered" turns such a missed entry into a received one with `answeredBy`. */
  answeredElsewhere?: boolean;
  /** The boss's phone was in DND and rang only its delegates (delegate-ring.ts): missed here unless a delegate's
   * answer ("delegate-answered") makes it a received one with `answeredBy`. */
  toDelegates?: boolean;
}

export interface ForwardConfig {
  /** Forward every incoming call here (302), or null. */
  always: string | null;
  /** Forward here when busy (a call is up and call waiting cannot take it), or null. */
  busy: string | null;
  /** Forward here when unanswered after `noAnswerMs`, or null. */
  noAnswer: string | null;
  noAnswerMs: number;
}

/** How calls to a boss reach the delegates: all at once, or after `ringDelayMs`. */
export type RingMode = "simultaneous" | "delayed";

/** A boss's delegate (the boss's phone keeps the list; Menu > Delegates edits it). */
export interface DelegateInfo {
  number: string;
  name?: string;
}

/** A boss this user is a delegate of, with the boss's ring mode (on the delegate's phone). */
export interface BossInfo {
  number: string;
  name?: string;
  ringMode: RingMode;
  ringDelayMs: number;
}

/** Delegation (boss / delegate), from the config bundle; nothing of it works unless `enabled` (the policy). */
export interface DelegationConfig {
  enabled: boolean;
  /** This user's delegates (this user as the boss). */
  delegates: DelegateInfo[];
  /** This user's own ring mode as a boss (the service rings the delegates by it; shown in Menu > Delegates). */
  ringMode: RingMode;
  ringDelayMs: number;
  /** The bosses this user is a delegate of: a line key each (BOSS1.., in this order), calls for them, calls on behalf. */
  bosses: BossInfo[];
  /** Safe transfer to a boss: back to the delegate when the boss has not answered within this (ms, default 20000). */
  safeTransferMs?: number;
  /**
   * Who rings the delegates for this user's calls as a boss: the PBX ("server", the default: it forks them) or this
   * phone ("phone", for a PBX that does not fork: delegate-ring.ts).
   */
  forking?: "server" | "phone";
}

/** The user's private line: a second number, inbound only, unpublished. */
export interface PrivateLineConfig {
  /** The user part of the number (what a call-incoming event's `to` carries). */
  number: string;
  /** How its calls ring (default "double"), whatever the caller's PBX asks. */
  ringPattern?: RingPatternName;
}

/** A boss's line as the dialog event package reports it (event "boss-state"). */
export type BossLineState = "idle" | "ringing" | "busy" | "unknown";

/** Safe transfer of a call to a boss under way (boss-keys.ts): `from` is held, `consult` calls the boss. */
export interface SafeTransfer {
  from: number;
  consult: number;
  boss: string;
}

/** Menu > Delegates > Add delegate: the extension being typed, and why it cannot be added ("" for nothing). */
export interface DelegateEntry {
  digits: string;
  message: string;
}

export interface PhoneConfig {
  dialPlan: DialPlanConfig;
  /** The user's own (primary) number, when the shell knows it: Menu > Delegates refuses it as a delegate. */
  ownNumber?: string;
  /** The user's private line (calls to it: own ring, "Private line", through DND, never forwarded). */
  privateLine?: PrivateLineConfig;
  /** Delegation (boss / delegate); off when absent or not enabled. */
  delegation?: DelegationConfig;
  /** How calls to this line ring unless the caller's PBX asks for another pattern (default standard). */
  ringPattern?: RingPatternName;
  /** The user's unlock PIN; null when phone lock is off. Never logged (the state summary leaves it out). */
  lockPin: string | null;
  interdigitMs: number;
  /** Lock the phone after this many ms with no key pressed while idle; 0 = never. Needs `lockPin`. */
  lockAfterIdleMs?: number;
  /** A second incoming call during a call rings as call waiting (else it is busy). */
  callWaiting?: boolean;
  forward?: ForwardConfig;
  /** How long the "call ended" screen stays (ms). */
  endedScreenMs?: number;
  /** The most call-history entries kept. */
  historyCap?: number;
  /** The company directory shown in the Directory menu (OK dials the entry). */
  directory?: ReadonlyArray<{ name: string; number: string }>;
  /** Emergency-call policy: the location prompt and the callback window. */
  emergency?: EmergencyConfig;
  /** Multi-tap text entry (Location > Enter location): a pause this long commits the letter (ms, default 1000). */
  multitapMs?: number;
}

export interface Registration {
  state: "none" | "registering" | "registered" | "failed";
  server: string;
  /** Why the phone has no service, in plain words ("Wrong password", "Server not reachable"). */
  reason: string;
}

export interface PhoneState {
  mode: Mode;
  /** Where call audio goes while off hook. */
  audioPath: "none" | "handset" | "speaker";
  /** The handset is off its cradle (the hook switch), whatever the audio path. */
  offHook: boolean;
  dialled: string;
  /** The number last placed, for REDIAL. */
  lastDialled: string;
  /** Live calls, at most two (one can be waiting or held while the other is up). */
  calls: Call[];
  /** Calls this phone hung up whose end the SIP layer has not confirmed yet (kept for the call history). */
  ending: Call[];
  /** The call on screen (the one keys act on), or null. */
  focus: number | null;
  /** While dialling a transfer target: the held call being transferred. */
  transferFrom: number | null;
  /** What the call put aside (transferFrom) is for: a transfer, or adding a third party to a conference. */
  consultFor: "transfer" | "conference";
  /** The calls joined in a local 3-way conference (the phone mixes them), or null. */
  conference: number[] | null;
  /** The last call's end, for the "call ended" screen. */
  ended: { remote: string; reason: string } | null;
  nextCallId: number;
  dnd: boolean;
  locked: boolean;
  /** Digits typed at the unlock prompt (never shown, only counted). */
  unlockEntry: string;
  /** A short message for the screen ("Wrong PIN", "Locked"). */
  notice: string;
  /** The sign-in wizard while the phone is not provisioned (null once it is). Its PIN never leaves the core. */
  signin: SignInState | null;
  /** The About menu's lines (firmware, line, device, service, the last problems for IT), from the shell. */
  about: string[];
  /** Who gave the phone its line: the provisioning service (sign-in), a config file IT placed, or nobody yet. */
  provisionedBy: "service" | "config" | null;
  /** The open menu, or null; menus are reached from idle and hidden while locked. */
  menu: MenuState | null;
  registration: Registration;
  /** Voicemail waiting (RFC 3842 message-summary). */
  mwi: { waiting: boolean; count: number };
  history: HistoryEntry[];
  /** Volume per audio path, percent (VOL_UP/VOL_DOWN change the path in use; the ringer's when idle or ringing). */
  volume: Record<"handset" | "speaker" | "ringer", number>;
  /** The microphone is muted (MUTE key, in a call; cleared when the last call ends). */
  muted: boolean;
  /** The user signed out (Settings > Sign out): the line is not registered until they sign in again. Emergency
   * calls still go out. */
  signedOut: boolean;
  /** Monotonic ms of the last event from the user (keys, hook), for lock after idle. */
  lastActivity: number;
  /** The current location (from the location service, event "location"), or null when none is known. */
  location: LocationInfo | null;
  /** The user dismissed the "Location needed" prompt; it stays away until the location changes (or a restart). */
  locationPromptDismissed: boolean;
  /** Location > Enter location: the manual location being typed (multi-tap), or null. */
  locationEntry: LocationEntry | null;
  /** The country a manual location was last entered with ("US" until one is), the entry's default. */
  lastCountry: string;
  /** Monotonic ms until which the emergency callback window lasts (incoming calls ring through DND, never forwarded),
   * or null outside it. Set when an emergency call ends; the "emergency-callback" timer clears it. */
  emergencyCallbackUntil: number | null;
  /** The emergency test call (Menu > Location, with `config.emergency.testCalls`). */
  emergencyTest: EmergencyTestState;
  /** Each boss's line state (event "boss-state", from the dialog event package), by the boss's number. */
  bossLines: Record<string, BossLineState>;
  /** The number being dialled is to be placed on behalf of this boss (a boss line key pressed), or null. */
  onBehalfOf: string | null;
  /** A safe transfer to a boss under way, or null. */
  safeTransfer: SafeTransfer | null;
  /** Menu > Delegates > Add delegate open, or null. */
  delegateEntry: DelegateEntry | null;
  config: PhoneConfig;
}

export type CallEndReason = "remote-hangup" | "busy" | "rejected" | "not-found" | "unavailable" | "cancelled" | "failed" | "transferred" | "no-answer" | "forwarded" | "local-hangup" | "answered-elsewhere";

export type PhoneEvent =
  | { type: "key"; key: string; down: boolean; long?: boolean; at?: number }
  | { type: "hook"; state: "off" | "on" | "flash"; at?: number }
  | { type: "timer"; id: TimerId; at?: number }
  | { type: "lock" }
  /** A call arrived from the network; `callId` is the next id (the shell reads `nextCallId`). `to` is the user part of
   * the To URI (the number called): the private line's, a boss's (on a delegate's phone), or the user's own. */
  | {
      type: "call-incoming";
      callId: number;
      remote: { uri: string; name?: string };
      number: string;
      ring?: RingPatternName;
      to?: string;
      /** The boss's own phone rang this delegate for a call to the boss (delegation.forking "phone"); `to` is the boss. */
      rungByBoss?: boolean;
      at: number;
      wallAt: number;
    }
  /** Progress of a call the SIP layer runs. */
  | { type: "call-progress"; callId: number; state: "ringing" | "early" | "connected"; at: number }
  | { type: "call-remote-hold"; callId: number; held: boolean }
  | { type: "call-held"; callId: number; held: boolean }
  /** The media's quality estimate for a call (E-model MOS). */
  | { type: "call-quality"; callId: number; mos: number }
  | { type: "call-ended"; callId: number; reason: CallEndReason; code?: number; at: number; wallAt: number }
  /** The far end transferred call `callId` to `number`: the SIP layer is calling it as `newCallId`. */
  | { type: "call-referred"; callId: number; newCallId: number; remote: { uri: string }; number: string; at: number }
  /** The far end of call `callId` changed: a transfer completed onto this phone (INVITE with Replaces, RFC 3891). */
  | { type: "call-remote-changed"; callId: number; remote: { uri: string; name?: string }; number: string }
  | { type: "registration"; registration: Registration }
  | { type: "mwi"; waiting: boolean; count: number }
  | { type: "history-loaded"; history: HistoryEntry[] }
  /** The phone's provisioning: unprovisioned (the sign-in wizard shows, with `message`), or provisioned and by whom. */
  | { type: "provisioning"; state: "unprovisioned" | "provisioned"; by?: "service" | "config"; message?: string; needService?: boolean }
  /** The shell's answer to a typed service address: usable (on to the extension) or why not. */
  | { type: "service-set"; ok: boolean; message: string }
  /** A new configuration (a config bundle arrived: sign-in, refresh). */
  | { type: "config"; config: PhoneConfig }
  /** What the About menu shows (the shell knows the firmware, device and the problems it reported). */
  | { type: "about"; lines: string[] }
  /** The shell took the typed PIN to the provisioning service. */
  | { type: "signin-submitted" }
  /** The service's answer; on failure `retry` says which field to type again. */
  | { type: "signin-result"; ok: boolean; message: string; retry: "pin" | "extension" }
  /** The location service's current location changed (null: none known). */
  | { type: "location"; location: LocationInfo | null }
  /** The emergency INVITE of `callId` has left, with this location text (null: sent without a location). */
  | { type: "emergency-location-sent"; callId: number; text: string | null }
  /** The emergency test call's result (the shell's answer to "emergency-test"): `ok` = the test service took it, and
   * `message` is then what it echoed (ED-78; shown after "Emergency test OK", the first 60 characters); otherwise
   * `message` says why, as shown ("Test service not available", "Emergency test failed: 486", "Not within 30 min of
   * start", "No line"). */
  | { type: "emergency-test-result"; ok: boolean; message: string }
  /** A boss's line state (dialog event package), on a delegate's phone. */
  | { type: "boss-state"; boss: string; state: BossLineState }
  /** The boss's phone: a delegate answered a call for the user. */
  | { type: "delegate-answered"; caller: string; callerName?: string; delegate: string; delegateName?: string; at: number; wallAt: number }
  /** The service says something about delegation ("You are now a delegate of 1001 Alice"). */
  | { type: "delegation-notice"; text: string };

/** "emergency-callback": the end of the emergency callback window; "multitap": the pause that commits a letter. */
/** "boss-ring:<callId>": a boss call under the "delayed" ring mode starts to ring; "safe-transfer:<consult callId>": the
 * boss did not answer a safe transfer in time. */
export type TimerId = "interdigit" | "ended" | "idle-lock" | "emergency-callback" | "multitap" | `no-answer:${number}` | `boss-ring:${number}` | `safe-transfer:${number}` | `delegate-ring:${number}`;

export type Tone = "dial" | "stutter-dial" | "reorder" | "ringback" | "busy" | "call-waiting" | "none";

export type PhoneEffect =
  | { type: "tone"; tone: Tone }
  | { type: "ringer"; on: boolean; pattern?: RingPatternName }
  | { type: "mute"; on: boolean }
  | { type: "volume"; path: "handset" | "speaker" | "ringer"; percent: number }
  | { type: "audio-path"; path: "none" | "handset" | "speaker" }
  | { type: "start-timer"; id: TimerId; ms: number }
  | { type: "cancel-timer"; id: TimerId }
  /** `onBehalfOf`: a delegate calls for this boss (the boss's number; never on an emergency call). */
  | { type: "place-call"; callId: number; target: string; emergency: boolean; onBehalfOf?: string }
  | { type: "answer-call"; callId: number }
  | { type: "reject-call"; callId: number; code: 486 | 603 | 480 }
  | { type: "forward-call"; callId: number; target: string }
  | { type: "hangup-call"; callId: number }
  | { type: "hold-call"; callId: number; hold: boolean }
  | { type: "transfer-call"; callId: number; target: string }
  | { type: "transfer-attended"; callId: number; toCallId: number }
  /** Mix these calls together with the user (a local 3-way conference), or stop mixing (null). */
  | { type: "conference"; callIds: number[] | null }
  | { type: "send-dtmf"; callId: number; digit: string }
  | { type: "history-changed"; history: HistoryEntry[] }
  /** Settings > Sign out / Sign in: unregister the line, or register it again. */
  | { type: "sign-out" }
  | { type: "sign-in" }
  /** Sign in to the provisioning service with the wizard's extension and PIN (the shell reads them from the state). */
  | { type: "provision-sign-in" }
  /** Use the provisioning service at this address (typed on the keypad: no service was found on the network). */
  | { type: "provision-service"; address: string }
  /** Forget the user this phone was provisioned for (sign out of the service): back to the sign-in wizard. */
  | { type: "provision-sign-out" }
  /** Forget everything stored (provisioning, history, settings) and start as new. */
  | { type: "factory-reset" }
  | { type: "set-led"; id: string; mode: "off" | "on" | "slow" | "fast" }
  /** Store this manually entered civic location (RFC 5139 element names: country, A1, A3, RD, HNO, PC, BLD, FLR,
   * ROOM; empty ones left out; country upper case). The shell tells the location service, which answers with a
   * "location" event when the current location changes. */
  | { type: "set-manual-location"; civic: Record<string, string> }
  /** Forget the manually entered location. */
  | { type: "clear-manual-location" }
  /** Menu > Location > Test emergency call: run the test (the shell may refuse it: ED-81) and answer with an
   * "emergency-test-result" event. */
  | { type: "emergency-test" }
  /** A delegate's phone answered a call for `boss`: the shell tells the boss (a SIP MESSAGE). */
  | { type: "notify-delegate-answered"; boss: string; caller: string; callerName?: string }
  /** The boss's phone rings its delegates for incoming call `callId` itself (delegation.forking "phone"): SIP calls
   * each; the first to answer gets the call, handed over by REFER with Replaces (delegate-ring.ts). `alone`: this
   * phone does not ring (DND): when no delegate can take it, SIP turns the caller away (486). */
  | { type: "ring-delegates"; callId: number; delegates: string[]; alone?: boolean }
  /** The boss edited the delegates on the phone: the whole new list, for the shell to write back to the service (which
   * tells the added and removed delegates). With `ringMode` (and `ringDelayMs`, 0 for simultaneous) the boss's ring
   * mode changed too (Menu > Delegates > Ring); without, the service keeps it. */
  | { type: "set-delegates"; delegates: Array<{ number: string; name?: string }>; ringMode?: RingMode; ringDelayMs?: number }
  | { type: "rejected"; event: string; why: string };

export function initialState(config: PhoneConfig): PhoneState {
  // emergency numbers are never kept as forward targets or directory entries (RFC 6881 ED-67)
  const safe = storableConfig(config);
  return {
    mode: "idle",
    audioPath: "none",
    offHook: false,
    dialled: "",
    lastDialled: "",
    calls: [],
    ending: [],
    focus: null,
    transferFrom: null,
    signin: null,
    about: [],
    provisionedBy: null,
    conference: null,
    consultFor: "transfer",
    ended: null,
    nextCallId: 1,
    dnd: false,
    locked: false,
    unlockEntry: "",
    menu: null,
    registration: { state: "none", server: "", reason: "No account configured" },
    mwi: { waiting: false, count: 0 },
    history: [],
    signedOut: false,
    muted: false,
    volume: { handset: 60, speaker: 60, ringer: 60 },
    lastActivity: 0,
    location: null,
    locationPromptDismissed: false,
    locationEntry: null,
    lastCountry: "US",
    emergencyCallbackUntil: null,
    emergencyTest: { running: false, result: "" },
    bossLines: {},
    onBehalfOf: null,
    safeTransfer: null,
    delegateEntry: null,
    notice: safe.refused[0] ?? "",
    config: safe.config,
  };
}

/** True when `target` (digits, +digits, a sip:/tel: URI, urn:service:sos...) reaches an emergency number under `plan`. */
export function isEmergencyTarget(target: string, plan: DialPlanConfig): boolean {
  const t = target.trim().toLowerCase();
  if (t.startsWith("urn:service:sos")) return true;
  const user = t.replace(/^(sips?|tel):/, "").replace(/[@;].*$/, "");
  const digits = user.replace(/^\+/, "").replace(/[\s().-]/g, "");
  return digits !== "" && emergencyTarget(digits, plan) !== undefined;
}

/**
 * The config with every emergency number taken out of what the phone stores to dial later (forward targets, directory
 * entries: RFC 6881 ED-67), and what was refused, in words for the screen.
 */
export function storableConfig(config: PhoneConfig): { config: PhoneConfig; refused: string[] } {
  const refused: string[] = [];
  const sos = (n: string | null | undefined): boolean => !!n && isEmergencyTarget(n, config.dialPlan);
  let out = config;
  const f = config.forward;
  if (f && (sos(f.always) || sos(f.busy) || sos(f.noAnswer))) {
    for (const n of [f.always, f.busy, f.noAnswer]) if (n && sos(n)) refused.push(`Forward to ${n} refused: emergency number`);
    out = { ...out, forward: { ...f, always: sos(f.always) ? null : f.always, busy: sos(f.busy) ? null : f.busy, noAnswer: sos(f.noAnswer) ? null : f.noAnswer } };
  }
  if (config.directory?.some((d) => sos(d.number))) {
    for (const d of config.directory) if (sos(d.number)) refused.push(`Directory: ${d.number} refused, emergency number`);
    out = { ...out, directory: config.directory.filter((d) => !sos(d.number)) };
  }
  return { config: out, refused };
}

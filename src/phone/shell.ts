// Runs the pure phone core against the world: keypad and hook events in; effects out to timers on the clock, LEDs,
// the SIP side (calls) and the audio side (path, tones, ringer). Their callbacks come back as events.
import type { Clock, Timer } from "../base/clock.js";
import type { Logger } from "../base/log.js";
import { Listeners, type Unsubscribe } from "../hal/api/events.js";
import type { HookSwitch } from "../hal/api/hook.js";
import type { Keypad } from "../hal/api/keypad.js";
import type { Leds } from "../hal/api/leds.js";
import type { SipPhone, SipPhoneEvents } from "../sip/sip-phone.js";
import { isDelegationContentType, parseDelegationNotice } from "../sip/delegation-notice.js";
import type { AudioRouter } from "../media/audio-router.js";
import { initialState, type HistoryEntry, type PhoneConfig, type PhoneEffect, type PhoneEvent, type PhoneState, type RingMode } from "./core/phone-state.js";
import { reduce } from "./core/reduce.js";
import { sameNumber } from "./core/private-line.js";

export interface PhoneShellDevices {
  keypad: Keypad;
  hook: HookSwitch;
  leds: Leds;
}

/** What the shell asks of the SIP side (SipPhone has this shape; tests give a fake). */
export type ShellCalls = Pick<SipPhone, "place" | "answer" | "reject" | "forward" | "hangup" | "hold" | "transfer" | "transferAttended" | "dtmf"> & Partial<Pick<SipPhone, "ringDelegates">>;
/** What the shell asks of the audio side. */
export type ShellAudio = Pick<AudioRouter, "setPath" | "setTone" | "setRinger" | "setMute" | "setConference">;

export interface PhoneShellPorts {
  calls?: ShellCalls;
  audio?: ShellAudio;
  /** Keeps the call history (atomically) when it changes. */
  saveHistory?: (h: HistoryEntry[]) => void;
  /** Sets a path's volume (the board's mixer control for it). */
  volume?: (path: "handset" | "speaker" | "ringer", percent: number) => void;
  /** The line's registration: signed out by the user, or back in. */
  account?: Pick<SipPhone, "signOut" | "signIn">;
  /** The provisioning service and what the phone stored from it (the firmware implements it). */
  provisioning?: ShellProvisioning;
  /** Emergency calls (location, RFC 6442 INVITE, the security desk told): EmergencyCaller has this shape. */
  emergency?: ShellEmergency;
  /** Boss/delegate work the SIP side and the provisioning service do for the core (the firmware implements it). */
  delegation?: ShellDelegation;
  /** The location the user typed (Menu > Location), kept for the network the phone is on. */
  location?: { setManual(civic: Record<string, string>): void; clearManual(): void };
}

export interface ShellDelegation {
  /** Tells the boss's phone that this delegate answered a call for them (a SIP MESSAGE). */
  notifyAnswered(boss: string, caller: string, callerName?: string): void;
  /** Saves the boss's new delegate list with the provisioning service and tells the delegates added or removed; with
   * `ring`, the boss's ring mode too (ringDelayMs 0 when simultaneous). */
  setDelegates(delegates: Array<{ number: string; name?: string }>, ring?: { ringMode: RingMode; ringDelayMs: number }): Promise<{ ok: boolean; message: string }>;
  /** A boss added or removed this user as a delegate: the config is fetched again (the bosses' line keys change). */
  changed?(): void;
}

export interface ShellEmergency {
  /** Places an emergency call; resolves once the INVITE is handed to SIP, with the location text sent (null: none). */
  place(callId: number, target: string): Promise<{ locationText: string | null }>;
  /** The call ended (no more location updates for it). */
  ended(callId: number): void;
  /**
   * Menu > Location > Test emergency call (RFC 6881 ED-77, TV-16): runs the test call (to urn:service:test.sos, with
   * the location) or refuses it (ED-81: { ok: false, message: "Not within 30 min of start" }). Resolves with what the
   * phone shows: ok with the test service's echo as `message` (emergencyTestOutcome() in core/emergency-test.ts turns
   * SipPhone.emergencyTest's { code, text } into this), or not ok with the words to show. Absent: "No line".
   */
  test?(): Promise<{ ok: boolean; message: string }>;
}

export interface ShellProvisioning {
  /** Signs in with an extension and PIN; resolves with what to tell the user (never rejects). */
  signIn(extension: string, pin: string): Promise<{ ok: boolean; message: string; retry: "pin" | "extension" }>;
  /** Uses the service at a typed address; resolves with whether it can be used and what to tell the user. */
  setService(address: string): Promise<{ ok: boolean; message: string }>;
  /** Forgets the user (the phone goes back to the sign-in wizard). */
  signOut(): void;
  /** Forgets everything stored. */
  factoryReset(): void;
}

export class PhoneShell {
  private s: PhoneState;
  private readonly states = new Listeners<PhoneState>();
  private readonly effects = new Listeners<PhoneEffect>();
  private readonly timers = new Map<string, Timer>();
  private readonly unsubs: Unsubscribe[] = [];
  /** The last set-delegates save: saves go one after another (stepping the ring mode sends one per press). */
  private delegatesSaved: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dev: PhoneShellDevices,
    private readonly clock: Clock,
    config: PhoneConfig,
    private readonly log: Logger,
    private readonly ports: PhoneShellPorts = {},
  ) {
    this.s = initialState(config);
  }

  start(): void {
    this.unsubs.push(this.dev.keypad.onKey((ev) => this.dispatch({ type: "key", key: ev.key, down: ev.down, long: ev.long, at: this.clock.now() })));
    this.unsubs.push(this.dev.hook.onHook((ev) => this.dispatch({ type: "hook", state: ev.type, at: this.clock.now() })));
    if (this.dev.hook.state() === "off") this.dispatch({ type: "hook", state: "off", at: this.clock.now() });
  }

  get state(): PhoneState {
    return this.s;
  }

  onState(cb: (s: PhoneState) => void): Unsubscribe {
    return this.states.add(cb);
  }

  onEffect(cb: (e: PhoneEffect) => void): Unsubscribe {
    return this.effects.add(cb);
  }

  dispatch(ev: PhoneEvent): void {
    const { state, effects } = reduce(this.s, ev);
    this.s = state;
    for (const e of effects) {
      try {
        this.run(e);
      } catch (err) {
        // one failing effect (a SIP call that cannot start) never stops the others or the phone
        this.log.warn({ effect: e.type, err: (err as Error).message }, "effect failed");
      }
    }
    this.states.emit(state);
  }

  /** SIP's events, turned into phone events with the time they happened. */
  sipEvents(): Omit<SipPhoneEvents, never> {
    const now = (): { at: number; wallAt: number } => ({ at: this.clock.now(), wallAt: this.clock.wallNow() });
    return {
      registration: (r) => this.dispatch({ type: "registration", registration: r }),
      nextCallId: () => this.s.nextCallId,
      incoming: (callId, info) => this.dispatch({ type: "call-incoming", callId, remote: info.remote, number: info.number, to: info.to, ...(info.ring ? { ring: info.ring } : {}), ...(info.rungByBoss ? { rungByBoss: true } : {}), ...now() }),
      // the boss's phone rang its delegates itself and one answered: said here; the call's own end follows
      delegateAnswered: (_callId, delegate, caller) => {
        const name = this.s.config.delegation?.delegates.find((d) => sameNumber(d.number, delegate))?.name;
        this.dispatch({ type: "delegate-answered", caller: caller.number, ...(caller.name ? { callerName: caller.name } : {}), delegate, ...(name ? { delegateName: name } : {}), ...now() });
      },
      dialogState: (boss, state) => this.dispatch({ type: "boss-state", boss, state }),
      replaced: (callId, remote) => this.dispatch({ type: "call-remote-changed", callId, remote: { uri: remote.uri, ...(remote.name ? { name: remote.name } : {}) }, number: remote.number }),
      message: (from, contentType, body) => this.onMessage(from, contentType, body),
      progress: (callId, state) => this.dispatch({ type: "call-progress", callId, state, at: this.clock.now() }),
      held: (callId, held) => this.dispatch({ type: "call-held", callId, held }),
      remoteHold: (callId, held) => this.dispatch({ type: "call-remote-hold", callId, held }),
      ended: (callId, reason) => {
        this.ports.emergency?.ended(callId);
        this.dispatch({ type: "call-ended", callId, reason, ...now() });
      },
      mwi: (waiting, count) => this.dispatch({ type: "mwi", waiting, count }),
      // the answered INVITE went without the location (refused, sent again bare): the screen must not say it was sent
      emergencyAnswered: (callId, carried) => {
        if (!carried) this.dispatch({ type: "emergency-location-sent", callId, text: null });
      },
      referred: (callId, newCallId, remote) => this.dispatch({ type: "call-referred", callId, newCallId, remote: { uri: remote.uri }, number: remote.number, at: this.clock.now() }),
    };
  }

  /** A SIP MESSAGE: a delegation notice from another phone (boss or delegate) becomes a phone event. */
  private onMessage(from: { uri: string; user: string; name?: string }, contentType: string, body: string): void {
    if (!isDelegationContentType(contentType)) {
      this.log.info({ from: from.uri, contentType }, "a message the phone does not show");
      return;
    }
    const r = parseDelegationNotice(body);
    if (!r.ok) {
      if (!r.ignored) this.log.warn({ from: from.uri, err: r.error }, "a delegation notice the phone cannot read");
      return;
    }
    const n = r.notice;
    if (n.kind === "delegate-answered") {
      this.dispatch({ type: "delegate-answered", caller: n.caller, ...(n.callerName ? { callerName: n.callerName } : {}), delegate: n.delegate, ...(from.name ? { delegateName: from.name } : {}), at: this.clock.now(), wallAt: this.clock.wallNow() });
      return;
    }
    const boss = n.bossName ? `${n.bossName} (${n.boss})` : n.boss;
    this.dispatch({ type: "delegation-notice", text: n.kind === "delegate-added" ? `You are now a delegate of ${boss}` : `You are no longer a delegate of ${boss}` });
    this.ports.delegation?.changed?.();
  }

  private run(e: PhoneEffect): void {
    const calls = this.ports.calls;
    const audio = this.ports.audio;
    switch (e.type) {
      case "start-timer":
        this.timers.get(e.id)?.cancel();
        this.timers.set(
          e.id,
          this.clock.setTimeout(() => {
            this.timers.delete(e.id);
            this.dispatch({ type: "timer", id: e.id, at: this.clock.now() });
          }, e.ms),
        );
        break;
      case "cancel-timer":
        this.timers.get(e.id)?.cancel();
        this.timers.delete(e.id);
        break;
      case "set-led":
        if (this.dev.leds.ids.includes(e.id)) this.dev.leds.set(e.id, e.mode);
        break;
      case "rejected":
        this.log.debug({ event: e.event, why: e.why }, "event not taken");
        break;
      case "place-call": {
        this.log.info({ callId: e.callId, emergency: e.emergency }, "placing a call");
        const em = this.ports.emergency;
        if (e.emergency && em) {
          const id = e.callId;
          em.place(id, e.target).then(
            (r) => this.dispatch({ type: "emergency-location-sent", callId: id, text: r.locationText }),
            (err: Error) => {
              // the emergency side failed before the INVITE: still call, the plain way (Priority: emergency, no location)
              this.log.error({ err: err.message, callId: id }, "emergency call set-up failed: calling without location");
              calls?.place(id, e.target, { emergency: true });
              this.dispatch({ type: "emergency-location-sent", callId: id, text: null });
            },
          );
        } else calls?.place(e.callId, e.target, { emergency: e.emergency, ...(e.onBehalfOf ? { onBehalfOf: e.onBehalfOf } : {}) });
        break;
      }
      case "notify-delegate-answered":
        this.ports.delegation?.notifyAnswered(e.boss, e.caller, e.callerName);
        break;
      case "set-delegates": {
        const d = this.ports.delegation;
        const ring = e.ringMode ? { ringMode: e.ringMode, ringDelayMs: e.ringMode === "delayed" ? (e.ringDelayMs ?? 0) : 0 } : undefined;
        if (d)
          this.delegatesSaved = this.delegatesSaved.then(() =>
            d.setDelegates(e.delegates, ring).then(
              (r) => !r.ok && this.dispatch({ type: "delegation-notice", text: r.message }),
              (err: Error) => this.dispatch({ type: "delegation-notice", text: `Delegates not saved: ${err.message}` }),
            ),
          );
        break;
      }
      case "set-manual-location":
        this.ports.location?.setManual(e.civic);
        break;
      case "clear-manual-location":
        this.ports.location?.clearManual();
        break;
      case "emergency-test": {
        const em = this.ports.emergency;
        const result = (r: { ok: boolean; message: string }): void => this.dispatch({ type: "emergency-test-result", ok: r.ok, message: r.message });
        // answered a turn later, port or not (never a dispatch inside this one); a port that throws still answers
        void Promise.resolve()
          .then(() => (em?.test ? em.test() : { ok: false, message: "No line" }))
          .then(result, (err: Error) => {
            this.log.warn({ err: err.message }, "emergency test failed");
            result({ ok: false, message: "Emergency test failed" });
          });
        break;
      }
      case "ring-delegates":
        this.log.info({ callId: e.callId, delegates: e.delegates }, "this phone rings the delegates itself");
        calls?.ringDelegates?.(e.callId, e.delegates, e.alone ? { alone: true } : {});
        break;
      case "answer-call":
        calls?.answer(e.callId);
        break;
      case "reject-call":
        calls?.reject(e.callId, e.code);
        break;
      case "forward-call":
        calls?.forward(e.callId, e.target);
        break;
      case "hangup-call":
        calls?.hangup(e.callId);
        break;
      case "hold-call":
        calls?.hold(e.callId, e.hold);
        break;
      case "transfer-call":
        calls?.transfer(e.callId, e.target);
        break;
      case "transfer-attended":
        calls?.transferAttended(e.callId, e.toCallId);
        break;
      case "send-dtmf":
        calls?.dtmf(e.callId, e.digit);
        break;
      case "audio-path":
        audio?.setPath(e.path);
        break;
      case "tone":
        audio?.setTone(e.tone === "none" ? null : e.tone);
        break;
      case "ringer":
        audio?.setRinger(e.on, e.pattern);
        break;
      case "mute":
        audio?.setMute(e.on);
        break;
      case "conference":
        // the SIP side names each call's media session "call-<id>" (sip-phone.ts), and so does the router's mix
        audio?.setConference(e.callIds ? e.callIds.map((id) => `call-${id}`) : null);
        break;
      case "volume":
        this.ports.volume?.(e.path, e.percent);
        break;
      case "history-changed":
        this.ports.saveHistory?.(e.history);
        break;
      case "sign-out":
        this.ports.account?.signOut();
        break;
      case "provision-sign-in": {
        const w = this.s.signin;
        const p = this.ports.provisioning;
        if (!w || !p) break;
        const { extension, pin } = w;
        // the PIN leaves the state now; it lives only in this call until the service has answered
        this.dispatch({ type: "signin-submitted" });
        void p.signIn(extension, pin).then((r) => this.dispatch({ type: "signin-result", ...r }));
        break;
      }
      case "provision-service": {
        const p = this.ports.provisioning;
        if (p) void p.setService(e.address).then((r) => this.dispatch({ type: "service-set", ...r }));
        break;
      }
      case "provision-sign-out":
        this.ports.provisioning?.signOut();
        break;
      case "factory-reset":
        this.ports.provisioning?.factoryReset();
        break;
      case "sign-in":
        this.ports.account?.signIn();
        break;
    }
    this.effects.emit(e);
  }

  stop(): void {
    for (const u of this.unsubs) u();
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }
}

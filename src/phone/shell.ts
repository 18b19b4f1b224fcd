// Runs the pure phone core against the world: keypad and hook events in, effects out (timers on the clock, LEDs).
// SIP and media are not here yet: a placed call stays "placing" and the effect is kept for the control protocol.
import type { Clock, Timer } from "../base/clock.js";
import type { Logger } from "../base/log.js";
import { Listeners, type Unsubscribe } from "../hal/api/events.js";
import type { HookSwitch } from "../hal/api/hook.js";
import type { Keypad } from "../hal/api/keypad.js";
import type { Leds } from "../hal/api/leds.js";
import { initialState, type PhoneConfig, type PhoneEffect, type PhoneEvent, type PhoneState } from "./core/phone-state.js";
import { reduce } from "./core/reduce.js";

export interface PhoneShellDevices {
  keypad: Keypad;
  hook: HookSwitch;
  leds: Leds;
}

export class PhoneShell {
  private s: PhoneState;
  private readonly states = new Listeners<PhoneState>();
  private readonly effects = new Listeners<PhoneEffect>();
  private readonly timers = new Map<string, Timer>();
  private readonly unsubs: Unsubscribe[] = [];

  constructor(
    private readonly dev: PhoneShellDevices,
    private readonly clock: Clock,
    config: PhoneConfig,
    private readonly log: Logger,
  ) {
    this.s = initialState(config);
  }

  start(): void {
    this.unsubs.push(this.dev.keypad.onKey((ev) => this.dispatch({ type: "key", key: ev.key, down: ev.down, long: ev.long })));
    this.unsubs.push(this.dev.hook.onHook((ev) => this.dispatch({ type: "hook", state: ev.type })));
    if (this.dev.hook.state() === "off") this.dispatch({ type: "hook", state: "off" });
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
    for (const e of effects) this.run(e);
    this.states.emit(state);
  }

  private run(e: PhoneEffect): void {
    switch (e.type) {
      case "start-timer":
        this.timers.get(e.id)?.cancel();
        this.timers.set(e.id, this.clock.setTimeout(() => {
          this.timers.delete(e.id);
          this.dispatch({ type: "timer", id: e.id });
        }, e.ms));
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
      case "place-call":
        this.log.info({ callId: e.callId, emergency: e.emergency }, "call placed (no SIP layer yet)");
        break;
      default:
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

// Runs events through the pure phone core and collects every effect (unit tests of the core).
import { initialState, type PhoneConfig, type PhoneEffect, type PhoneEvent, type PhoneState } from "../../src/phone/core/phone-state.js";
import { reduce } from "../../src/phone/core/reduce.js";

export type CoreRun = (events: PhoneEvent[], s?: PhoneState) => { state: PhoneState; effects: PhoneEffect[] };

/** A runner starting from `config`'s initial state (or the state given). */
export function coreRunner(config: PhoneConfig): CoreRun {
  return (events, s = initialState(config)) => {
    const effects: PhoneEffect[] = [];
    for (const e of events) {
      const r = reduce(s, e);
      s = r.state;
      effects.push(...r.effects);
    }
    return { state: s, effects };
  };
}

// The phone's state as plain JSON (streamed by the control protocol, compared by tests), and its events and effects.
import type { DialPlanConfig } from "./dial-plan.js";
import type { MenuState } from "./menus.js";

/**
 *   idle --lift/SPEAKER--> dialtone --digit--> dialing --complete--> calling (place-call effect)
 *    ^                        |                   |                     |
 *    +-------- hang up -------+------ hang up ----+------ hang up ------+
 *   Lock is orthogonal: while locked, menus are refused but dialling an emergency number always works.
 */
export type Mode = "idle" | "dialtone" | "dialing" | "calling";

export interface PhoneConfig {
  dialPlan: DialPlanConfig;
  /** The user's unlock PIN; null when phone lock is off. Never logged (the state summary leaves it out). */
  lockPin: string | null;
  interdigitMs: number;
}

export interface PhoneState {
  mode: Mode;
  /** Where call audio goes while off hook. */
  audioPath: "none" | "handset" | "speaker";
  dialled: string;
  /** The number last placed, for REDIAL. */
  lastDialled: string;
  /** The call being placed (the SIP layer reports its progress later). */
  call: { id: number; target: string; emergency: boolean } | null;
  nextCallId: number;
  dnd: boolean;
  locked: boolean;
  /** Digits typed at the unlock prompt (never shown, only counted). */
  unlockEntry: string;
  /** A short message for the screen ("Wrong PIN", "Locked"). */
  notice: string;
  /** The open menu, or null; menus are reached from idle and hidden while locked. */
  menu: MenuState | null;
  config: PhoneConfig;
}

export type PhoneEvent =
  | { type: "key"; key: string; down: boolean; long?: boolean }
  | { type: "hook"; state: "off" | "on" | "flash" }
  | { type: "timer"; id: "interdigit" }
  | { type: "lock" };

export type PhoneEffect =
  | { type: "tone"; tone: "dial" | "reorder" | "none" }
  | { type: "audio-path"; path: "none" | "handset" | "speaker" }
  | { type: "start-timer"; id: "interdigit"; ms: number }
  | { type: "cancel-timer"; id: "interdigit" }
  | { type: "place-call"; callId: number; target: string; emergency: boolean }
  | { type: "hangup-call"; callId: number }
  | { type: "set-led"; id: string; mode: "off" | "on" }
  | { type: "rejected"; event: string; why: string };

export function initialState(config: PhoneConfig): PhoneState {
  return {
    mode: "idle",
    audioPath: "none",
    dialled: "",
    lastDialled: "",
    call: null,
    nextCallId: 1,
    dnd: false,
    locked: false,
    unlockEntry: "",
    notice: "",
    menu: null,
    config,
  };
}

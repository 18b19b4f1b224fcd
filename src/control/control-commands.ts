// Control protocol v1 commands: parameter checks and dispatch onto a ControlTarget (CONTROL.md, "Commands (v1)").
import { PhoneError, ErrorCodes } from "../base/errors.js";
import { dominantHz, int16ToS16le, rmsDbfs, s16leToInt16, toneS16 } from "../hal/emul/pcm-analysis.js";
import { CONTROL_EVENT_TYPES, type AudioPathName, type ControlEventType, type ControlTarget } from "./control-target.js";

export type Params = Record<string, unknown>;

/** What a command can ask of the connection it came on (subscriptions, waiting for events). */
export interface Session {
  subscribe(types: ControlEventType[]): ControlEventType[];
  waitFor(type: ControlEventType, match: Params, timeoutMs: number): Promise<Record<string, unknown>>;
}

const bad = (message: string, details: Params = {}): PhoneError => new PhoneError(ErrorCodes.BAD_REQUEST, message, details);

function str(p: Params, name: string): string {
  const v = p[name];
  if (typeof v !== "string" || !v) throw bad(`params.${name} must be a non-empty string`, { param: name });
  return v;
}

function num(p: Params, name: string, min: number, max: number, dflt?: number): number {
  const v = p[name] ?? dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) throw bad(`params.${name} must be a number from ${min} to ${max}`, { param: name });
  return v;
}

function audioPath(p: Params): AudioPathName {
  const v = p.path;
  if (v !== "handset" && v !== "speaker" && v !== "headset" && v !== "ringer") throw bad(`params.path must be "handset", "speaker", "headset" or "ringer"`, { param: "path" });
  return v;
}

function eventType(v: unknown): ControlEventType {
  if (typeof v !== "string" || !CONTROL_EVENT_TYPES.includes(v as ControlEventType))
    throw bad(`unknown event type ${JSON.stringify(v)} (known: ${CONTROL_EVENT_TYPES.join(", ")})`, { event: v });
  return v as ControlEventType;
}

type Handler = (t: ControlTarget, p: Params, s: Session) => Promise<unknown> | unknown;

export const COMMANDS: Readonly<Record<string, Handler>> = {
  hello: (t) => t.hello(),
  subscribe: (_t, p, s) => {
    if (!Array.isArray(p.events)) throw bad("params.events must be a list of event types", { param: "events" });
    return { subscribed: s.subscribe(p.events.map(eventType)) };
  },
  press_key: async (t, p) => {
    await t.pressKey(str(p, "key"), p.holdMs === undefined ? undefined : num(p, "holdMs", 0, 60000));
    return {};
  },
  key_down: async (t, p) => {
    await t.keyDown(str(p, "key"));
    return {};
  },
  key_up: async (t, p) => {
    await t.keyUp(str(p, "key"));
    return {};
  },
  set_hook: async (t, p) => {
    if (p.state !== "on" && p.state !== "off") throw bad(`params.state must be "on" or "off"`, { param: "state" });
    await t.setHook(p.state);
    return {};
  },
  hook_flash: async (t) => {
    await t.hookFlash();
    return {};
  },
  read_screen: (t) => t.readScreen(),
  read_leds: (t) => t.readLeds(),
  get_state: (t) => t.getState(),
  audio_inject: (t, p) => {
    const path = audioPath(p);
    if (p.tone !== undefined) {
      const tone = (p.tone ?? {}) as Params;
      const rate = 16000;
      t.audioInject(path, toneS16({ hz: num(tone, "hz", 20, 7900), ms: num(tone, "ms", 1, 60000), dbfs: num(tone, "dbfs", -90, 0, -20), rate }), rate);
    } else {
      const pcm = s16leToInt16(Buffer.from(str(p, "pcm"), "base64"));
      t.audioInject(path, pcm, num(p, "rate", 8000, 48000));
    }
    return {};
  },
  audio_capture: async (t, p) => {
    const { rate, pcm } = await t.audioCapture(audioPath(p), num(p, "ms", 1, 60000));
    const level = rmsDbfs(pcm);
    return { rate, pcm: int16ToS16le(pcm).toString("base64"), rms_dbfs: Number.isFinite(level) ? Math.round(level * 10) / 10 : null, dominant_hz: dominantHz(pcm, rate) };
  },
  wait_for: (_t, p, s) => {
    const match = p.match ?? {};
    if (typeof match !== "object" || match === null || Array.isArray(match)) throw bad("params.match must be an object", { param: "match" });
    return s.waitFor(eventType(p.event), match as Params, num(p, "timeoutMs", 1, 600000, 5000));
  },
};

/** True when every key of `match` is in `data` with an equal value (recursively for objects). */
export function matches(data: unknown, match: unknown): boolean {
  if (match === null || typeof match !== "object") return Object.is(data, match);
  if (data === null || typeof data !== "object") return false;
  if (Array.isArray(match)) return Array.isArray(data) && match.length === data.length && match.every((m, i) => matches(data[i], m));
  return Object.entries(match as Params).every(([k, v]) => matches((data as Params)[k], v));
}

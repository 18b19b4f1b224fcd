// The dial plan: decides, digit by digit, whether what was dialled is complete. Pure: no timers, no I/O.
// Emergency strings are matched before any other rule, with and without the outside-line prefix (Kari's Law:
// "911" and "9911" both work), and through masks (a dialled "112" may be sent as "911").

export interface DialPlanConfig {
  /** Emergency numbers as dialled, e.g. ["911", "112"]. */
  emergencyNumbers: readonly string[];
  /** Lync's EmergencyDialMask: dialled string -> the emergency number sent, e.g. { "112": "911" }. */
  emergencyMasks?: Readonly<Record<string, string>>;
  /** The outside-line prefix, e.g. "9"; "" for none. */
  outsideLinePrefix: string;
  /** Internal extensions have this many digits (complete without waiting); 0 to always wait. */
  extensionLength: number;
  /** Patterns that are complete when matched in full: digits, "X" = any digit, "." = any number more (last only). */
  patterns?: readonly string[];
}

export type DialDecision =
  /** Send now: the number is complete. `emergency` is set for emergency calls (sent as `target`). */
  | { kind: "send"; target: string; emergency: boolean; reason: "emergency" | "extension" | "pattern" | "terminator" | "timeout" }
  /** Keep collecting; the shell arms the interdigit timer. */
  | { kind: "more" }
  /** Nothing can match any more (or nothing was dialled): play reorder. */
  | { kind: "invalid"; reason: string };

/** The emergency number `dialled` stands for, if any: exact, with the outside-line prefix, or through a mask. */
export function emergencyTarget(dialled: string, cfg: DialPlanConfig): string | undefined {
  const candidates = [dialled];
  if (cfg.outsideLinePrefix && dialled.startsWith(cfg.outsideLinePrefix)) candidates.push(dialled.slice(cfg.outsideLinePrefix.length));
  for (const c of candidates) {
    const masked = cfg.emergencyMasks?.[c];
    if (masked) return masked;
    if (cfg.emergencyNumbers.includes(c)) return c;
  }
  return undefined;
}

/** True when `dialled` is the start of some emergency string (so the plan must not send a shorter match early). */
function emergencyPrefix(dialled: string, cfg: DialPlanConfig): boolean {
  const all = [...cfg.emergencyNumbers, ...Object.keys(cfg.emergencyMasks ?? {})];
  const withPrefix = cfg.outsideLinePrefix ? all.map((n) => cfg.outsideLinePrefix + n) : [];
  return [...all, ...withPrefix].some((n) => n.length > dialled.length && n.startsWith(dialled));
}

function matchPattern(p: string, s: string): "full" | "partial" | "none" {
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ".") return "full";
    if (i >= s.length) return "partial";
    if (p[i] !== "X" && p[i] !== s[i]) return "none";
  }
  return s.length === p.length ? "full" : "none";
}

/**
 * After each digit: "send" when complete, "more" to keep collecting, "invalid" when nothing can match.
 * `event` says why we are asked: a digit, the send key (# or SEND), or the interdigit timer.
 */
export function decide(dialled: string, cfg: DialPlanConfig, event: "digit" | "send-key" | "timeout" = "digit"): DialDecision {
  // Emergency first, and at once: no interdigit wait, no terminator, whatever else the plan says.
  const e = emergencyTarget(dialled, cfg);
  if (e) return { kind: "send", target: e, emergency: true, reason: "emergency" };
  if (!dialled) return event === "digit" ? { kind: "more" } : { kind: "invalid", reason: "nothing dialled" };
  if (!/^[0-9*#]+$/.test(dialled)) return { kind: "invalid", reason: `'${dialled}' has characters a number cannot have` };
  if (event === "send-key") return { kind: "send", target: dialled, emergency: false, reason: "terminator" };
  if (event === "timeout") return { kind: "send", target: dialled, emergency: false, reason: "timeout" };
  if (emergencyPrefix(dialled, cfg)) return { kind: "more" };
  let partial = false;
  for (const p of cfg.patterns ?? []) {
    const m = matchPattern(p, dialled);
    if (m === "full" && !p.endsWith(".")) return { kind: "send", target: dialled, emergency: false, reason: "pattern" };
    if (m !== "none") partial = true;
  }
  const outside = cfg.outsideLinePrefix && dialled.startsWith(cfg.outsideLinePrefix);
  if (!outside && cfg.extensionLength > 0 && dialled.length === cfg.extensionLength && /^[0-9]+$/.test(dialled))
    return { kind: "send", target: dialled, emergency: false, reason: "extension" };
  if (!partial && !outside && cfg.extensionLength > 0 && dialled.length > cfg.extensionLength)
    return { kind: "invalid", reason: `no internal number has ${dialled.length} digits (dial ${cfg.outsideLinePrefix || "the prefix"} for an outside line)` };
  return { kind: "more" };
}

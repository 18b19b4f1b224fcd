// Phone-to-phone delegation notices (Lync's boss/delegate model on a standard SIP server): small JSON documents sent
// by SIP MESSAGE with their own content type. "delegate-answered" tells the boss a delegate took a call for them;
// "delegate-added"/"delegate-removed" tell a delegate the boss made (or unmade) them a delegate. This module is the
// format only: building the body, and reading one with clear errors (unknown kinds are ignored, not errors, so a
// newer phone can add kinds without older ones complaining).

export const DELEGATION_CONTENT_TYPE = "application/vnd.deskphone.delegation+json";

export interface DelegateAnsweredNotice {
  kind: "delegate-answered";
  /** The boss the call was for (user part / number). */
  boss: string;
  /** The caller's number (empty when withheld). */
  caller: string;
  callerName?: string;
  /** The delegate who answered (user part / number). */
  delegate: string;
}

export interface DelegateChangedNotice {
  kind: "delegate-added" | "delegate-removed";
  boss: string;
  bossName?: string;
}

export type DelegationNotice = DelegateAnsweredNotice | DelegateChangedNotice;

export type DelegationNoticeResult =
  | { ok: true; notice: DelegationNotice }
  /** A well-formed notice of a kind this phone does not know: to be ignored quietly. */
  | { ok: false; ignored: true; kind: string }
  | { ok: false; ignored: false; error: string };

const KNOWN = ["delegate-answered", "delegate-added", "delegate-removed"] as const;
const MAX_BODY = 8192;
const MAX_FIELD = 256;

/** Whether a Content-Type (parameters allowed, any case) is the delegation notice type. */
export function isDelegationContentType(contentType: string): boolean {
  return contentType.split(";")[0].trim().toLowerCase() === DELEGATION_CONTENT_TYPE;
}

/** The MESSAGE body of a notice (throws on a notice this module would itself refuse to read). */
export function formatDelegationNotice(n: DelegationNotice): string {
  const text = JSON.stringify(n);
  const back = parseDelegationNotice(text);
  if (!back.ok) throw new Error(`not a valid delegation notice: ${back.ignored ? `unknown kind '${back.kind}'` : back.error}`);
  return text;
}

/** Reads a notice body. Never throws: a malformed one comes back with words saying what is wrong. */
export function parseDelegationNotice(body: string): DelegationNoticeResult {
  const fail = (error: string): DelegationNoticeResult => ({ ok: false, ignored: false, error });
  if (body.length > MAX_BODY) return fail(`the notice is too long (${body.length} characters, at most ${MAX_BODY})`);
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (e) {
    return fail(`the notice is not JSON (${(e as Error).message})`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) return fail("the notice is not a JSON object");
  const o = data as Record<string, unknown>;
  if (typeof o.kind !== "string" || !o.kind) return fail("the notice has no 'kind'");
  const kind = o.kind;
  if (!(KNOWN as readonly string[]).includes(kind)) return { ok: false, ignored: true, kind };
  const field = (name: string, required: boolean, allowEmpty = false): string | undefined | Error => {
    const v = o[name];
    if (v === undefined || v === null) return required ? new Error(`'${kind}' needs '${name}'`) : undefined;
    if (typeof v !== "string") return new Error(`'${name}' must be a string (got ${Array.isArray(v) ? "an array" : typeof v})`);
    if (!allowEmpty && !v.trim()) return new Error(`'${name}' is empty`);
    if (v.length > MAX_FIELD) return new Error(`'${name}' is too long (${v.length} characters, at most ${MAX_FIELD})`);
    return v;
  };
  const collect = <T extends string>(specs: Array<[T, boolean, boolean?]>): Record<T, string | undefined> | string => {
    const out = {} as Record<T, string | undefined>;
    for (const [name, required, allowEmpty] of specs) {
      const v = field(name, required, allowEmpty ?? false);
      if (v instanceof Error) return v.message;
      out[name] = v;
    }
    return out;
  };
  if (kind === "delegate-answered") {
    const f = collect<"boss" | "caller" | "callerName" | "delegate">([
      ["boss", true],
      ["caller", true, true],
      ["callerName", false, true],
      ["delegate", true],
    ]);
    if (typeof f === "string") return fail(f);
    const notice: DelegateAnsweredNotice = { kind, boss: f.boss ?? "", caller: f.caller ?? "", delegate: f.delegate ?? "", ...(f.callerName ? { callerName: f.callerName } : {}) };
    return { ok: true, notice };
  }
  const f = collect<"boss" | "bossName">([
    ["boss", true],
    ["bossName", false, true],
  ]);
  if (typeof f === "string") return fail(f);
  const notice: DelegateChangedNotice = { kind: kind as DelegateChangedNotice["kind"], boss: f.boss ?? "", ...(f.bossName ? { bossName: f.bossName } : {}) };
  return { ok: true, notice };
}

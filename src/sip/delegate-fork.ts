// The boss's phone ringing its delegates itself (delegation.forking "phone", for a PBX that does not fork a boss's
// calls: issue 8, "the phone doing what the server does not"). For an incoming call that still rings here, one INVITE
// per delegate:
//   Request-URI the delegate; From the boss (the account this phone authenticates as); To the boss, so the delegate's
//   phone shows "Call for <boss>" exactly as for a call its PBX forked; `Deskphone-Caller` names who really calls (the
//   delegate's phone shows them, not the boss). The media is offered on hold (sendonly): nothing is heard either way.
// The first delegate to answer wins; the other legs are cancelled. SipPhone then answers the caller (on hold too) and
// REFERs it to the delegate's address of record with Replaces naming the winning leg (RFC 3515, RFC 3891), so the
// caller's UA calls the delegate's phone through the PBX, and that phone replaces the leg with it: the call runs
// caller <-> delegate, with this phone out of it. What the caller's UA must do is an attended transfer's transferee
// part, which any UA with transfer support does (a caller whose Allow lacks REFER is not forked: allowsRefer).
import { Grammar, Inviter, SessionState, URI, type UserAgent } from "sip.js";
import type { Logger } from "../base/log.js";
import type { HoldOptions } from "./sdh-adapter.js";

/** A boss's phone rings the delegates while nothing rings at the boss's (DND, busy): the caller waits this long at most. */
export const ALONE_RING_MS = 60_000;
/** A hand-over (REFER to the caller) with no final NOTIFY in this long has failed (RFC 3261 Timer B, 64*T1). */
export const HANDOVER_MS = 32_000;

/**
 * A URI written in angle brackets. sip.js's REFER writes a URI target bare (`Refer-To: sip:...`), which is wrong once
 * it has headers (`?Replaces=...`): RFC 3261 §20 wants the name-addr form then.
 */
export class NameAddrUri extends URI {
  override toString(): string {
    return `<${super.toString()}>`;
  }
}

/** Whether a caller's INVITE says it takes REFER: its Allow headers list it, or it sent none (RFC 3261 §20.5: no
 * Allow says nothing). A boss's phone hands a call to a delegate by REFER, so it forks only such calls. */
export function allowsRefer(allow: string[]): boolean {
  const methods = allow.join(",").split(",").map((m) => m.trim().toUpperCase()).filter(Boolean);
  return !methods.length || methods.includes("REFER");
}

/** The header that names the real caller on a leg a boss's phone places to its delegate (a name-addr). */
export const CALLER_HEADER = "Deskphone-Caller";

export interface ForkParty {
  uri: string;
  name?: string;
}

export interface DelegateForkOptions {
  ua: UserAgent;
  log: Logger;
  /** The boss: this phone's own address of record (From and To of every leg). */
  boss: URI;
  bossName?: string;
  /** Who calls the boss (as this phone shows them; "Anonymous" when withheld). */
  caller: ForkParty;
  /** A delegate's number as a request URI. */
  targetUri(number: string): URI;
  /** A delegate answered (the first one): the winning leg, established, is SipPhone's from now on. */
  answered(delegate: string, leg: Inviter): void;
  /** Every leg ended unanswered (busy, declined, not registered, gave up): no delegate will take this call. */
  none?(): void;
}

/** A name-addr for a header, the display name quoted (RFC 3261 §25.1 quoted-string). */
function nameAddr(p: ForkParty): string {
  const name = p.name ? `"${p.name.replace(/["\\]/g, (c) => `\\${c}`)}" ` : "";
  return `${name}<${p.uri}>`;
}

/** The real caller a boss's phone names on a leg to its delegate (CALLER_HEADER), if the header is there and valid. */
export function forkCallerOf(header: string | undefined): { uri: string; number: string; name?: string } | undefined {
  if (!header) return undefined;
  const p = Grammar.nameAddrHeaderParse(header);
  if (!p?.uri) return undefined;
  // sip.js keeps a quoted-string's escapes (\")
  const name = p.displayName ? p.displayName.replace(/\\(.)/g, "$1") : undefined;
  return { uri: p.uri.toString(), number: p.uri.user ?? "", ...(name ? { name } : {}) };
}

export class DelegateFork {
  private readonly legs = new Map<string, Inviter>();
  private winner: string | undefined;
  private stopped = false;

  constructor(private readonly o: DelegateForkOptions) {}

  /** Calls every delegate at once. */
  start(numbers: string[]): void {
    for (const n of numbers) {
      if (this.legs.has(n)) continue;
      let leg: Inviter;
      try {
        leg = new Inviter(this.o.ua, this.o.targetUri(n), {
          params: { toUri: this.o.boss, ...(this.o.bossName ? { toDisplayName: this.o.bossName } : {}) },
          extraHeaders: [`${CALLER_HEADER}: ${nameAddr(this.o.caller)}`],
        });
      } catch (e) {
        this.o.log.warn({ delegate: n, err: (e as Error).message }, "cannot ring this delegate");
        continue;
      }
      this.legs.set(n, leg);
      leg.stateChange.addListener((st) => {
        if (st === SessionState.Established) this.established(n, leg);
        if (st !== SessionState.Terminated) return;
        this.legs.delete(n);
        if (!this.legs.size && this.winner === undefined && !this.stopped) {
          this.stopped = true;
          this.o.none?.();
        }
      });
      const hold: HoldOptions = { hold: true };
      leg.invite({ sessionDescriptionHandlerOptions: hold }).catch((e: Error) => this.o.log.info({ delegate: n, err: e.message }, "a delegate's leg failed"));
    }
    this.o.log.info({ delegates: numbers }, "ringing the delegates from this phone");
    if (!this.legs.size && !this.stopped) {
      this.stopped = true;
      this.o.none?.();
    }
  }

  /** True once a delegate answered. */
  get taken(): boolean {
    return this.winner !== undefined;
  }

  /** The call stopped ringing here (answered by the boss, rejected, cancelled by the caller): every leg still
   * ringing is cancelled, and a delegate answering after this is hung up. The winning leg is not touched. */
  stop(): void {
    this.stopped = true;
    for (const [n, leg] of this.legs) if (n !== this.winner) this.end(leg);
  }

  private established(n: string, leg: Inviter): void {
    if (this.stopped || this.winner !== undefined) {
      // too late: the boss answered, the caller gave up, or another delegate was first
      leg.bye().catch(() => undefined);
      return;
    }
    this.winner = n;
    this.stopped = true;
    for (const [m, other] of this.legs) if (m !== n) this.end(other);
    this.o.answered(n, leg);
  }

  private end(leg: Inviter): void {
    if (leg.state === SessionState.Established) leg.bye().catch(() => undefined);
    else if (leg.state === SessionState.Initial || leg.state === SessionState.Establishing) leg.cancel().catch(() => undefined);
  }
}

// RFC 3261 §17 retransmission over UDP, which sip.js 0.21 leaves out (its core assumes a reliable transport):
//   Timer A  INVITE client: resend the request at T1, 2T1, 4T1 ... until any response, for at most 64*T1 (Timer B).
//   Timer E  non-INVITE client: resend at T1, doubling up to T2; every T2 once a provisional came; until the final
//            response, for at most 64*T1 (Timer F).
//   Timer G  INVITE server: resend a non-2xx final response at T1, doubling up to T2, until the ACK, for at most
//            64*T1 (Timer H).
// Timers B, D, F, H, I, J and K stay with sip.js's transactions (see sip-timers.ts); this class only puts copies on the
// wire. It reads the few header fields it needs from the text it is given; it never changes a message.
import type { Clock, Timer } from "../../base/clock.js";

export interface RetransmitTimers {
  T1: number;
  T2: number;
}

interface Pending {
  text: string;
  interval: number;
  timer: Timer;
  deadline: number;
  /** "invite" resends until any response; "non-invite" until a final one; "response" until the ACK. */
  kind: "invite" | "non-invite" | "response";
}

/** The top Via branch, CSeq method and (for a response) status code of a SIP message. */
export function sipKey(text: string): { branch: string; method: string; status: number | null; requestMethod: string | null } | null {
  const end = text.indexOf("\r\n\r\n");
  const head = end < 0 ? text : text.slice(0, end);
  const first = head.slice(0, head.indexOf("\r\n"));
  const via = /^(?:via|v)[ \t]*:[^\r\n]*?;[ \t]*branch=([^;,\s]+)/im.exec(head);
  const cseq = /^cseq[ \t]*:[ \t]*\d+[ \t]+([A-Za-z]+)/im.exec(head);
  if (!via || !cseq) return null;
  const status = /^SIP\/2\.0[ \t]+(\d{3})/.exec(first);
  const req = status ? null : /^([A-Za-z]+)[ \t]/.exec(first);
  return { branch: via[1], method: cseq[1].toUpperCase(), status: status ? Number(status[1]) : null, requestMethod: req ? req[1].toUpperCase() : null };
}

export class UdpRetransmitter {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly clock: Clock,
    private readonly timers: RetransmitTimers,
    private readonly resend: (text: string) => void,
  ) {}

  /** Call for every message sent. */
  sent(text: string): void {
    const k = sipKey(text);
    if (!k) return;
    if (k.requestMethod) {
      if (k.requestMethod === "ACK") return;
      // a resend of the same request by sip.js itself (e.g. with credentials) has a new branch; same branch = ours
      if (this.pending.has(`c:${k.branch}`)) return;
      this.arm(`c:${k.branch}`, text, k.requestMethod === "INVITE" ? "invite" : "non-invite");
    } else if (k.status !== null && k.method === "INVITE" && k.status >= 300) {
      this.arm(`s:${k.branch}`, text, "response");
    }
  }

  /** Call for every message received. */
  received(text: string): void {
    const k = sipKey(text);
    if (!k) return;
    if (k.status !== null) {
      const p = this.pending.get(`c:${k.branch}`);
      if (!p) return;
      if (p.kind === "invite" || k.status >= 200) this.stop(`c:${k.branch}`);
      else if (p.kind === "non-invite" && p.interval < this.timers.T2) {
        // a provisional response: from now on every T2 (RFC 3261 §17.1.2.2)
        p.interval = this.timers.T2;
        p.timer.cancel();
        p.timer = this.clock.setTimeout(() => this.fire(`c:${k.branch}`), p.interval);
      }
    } else if (k.requestMethod === "ACK") {
      this.stop(`s:${k.branch}`);
    }
  }

  /** Stops every retransmission (the transport closed). */
  clear(): void {
    for (const p of this.pending.values()) p.timer.cancel();
    this.pending.clear();
  }

  get active(): number {
    return this.pending.size;
  }

  private arm(key: string, text: string, kind: Pending["kind"]): void {
    this.stop(key);
    const interval = this.timers.T1;
    this.pending.set(key, { text, interval, kind, deadline: this.clock.now() + 64 * this.timers.T1, timer: this.clock.setTimeout(() => this.fire(key), interval) });
  }

  private fire(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    if (this.clock.now() >= p.deadline) {
      this.pending.delete(key);
      return;
    }
    this.resend(p.text);
    p.interval = p.kind === "invite" ? p.interval * 2 : Math.min(p.interval * 2, this.timers.T2);
    p.timer = this.clock.setTimeout(() => this.fire(key), p.interval);
  }

  private stop(key: string): void {
    const p = this.pending.get(key);
    if (p) p.timer.cancel();
    this.pending.delete(key);
  }
}

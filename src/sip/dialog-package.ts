// The dialog event package (RFC 4235 over RFC 6665 SUBSCRIBE/NOTIFY), both sides, on sip.js 0.21.2.
//
// Notifier: sip.js has none (UserAgentDelegate.onSubscribeRequest hands over the raw request). DialogNotifier accepts a
// SUBSCRIBE for the phone's own address of record, makes the subscription a dialog of the user agent core (a
// Core.Dialog subclass, so in-dialog re-SUBSCRIBEs reach it and not a 481), and sends the NOTIFYs itself in that
// dialog: same Call-ID and tags, the route set from Record-Route, increasing CSeq, Subscription-State active;expires=N
// or terminated, and an application/dialog-info+xml body (full state, version increasing) describing the phone's
// calls. One NOTIFY at a time per watcher (a change while one is in flight is sent when it is answered, so the
// watcher never sees them out of order). Watchers are limited; the rest are refused with 503 and Retry-After.
//
// Subscriber: DialogWatchers keeps one sip.js Subscriber (Event: dialog) per watched number while registered,
// subscribes again after a failure (backoff) or a lost connection, and reports each number's line state.
import { Core, Subscriber, SubscriptionState, type UserAgent, type URI } from "sip.js";
import type { Clock, Timer } from "../base/clock.js";
import type { Logger } from "../base/log.js";
import { buildDialogInfo, DIALOG_INFO_TYPE, DialogInfoTracker, parseDialogInfo, type DialogEntry, type LineState } from "./dialog-info.js";

type IncomingSubscribeRequest = Core.IncomingSubscribeRequest;
type IncomingRequestMessage = Core.IncomingRequestMessage;
type UserAgentCore = Core.UserAgentCore;

export interface NotifierOptions {
  clock: Clock;
  log: Logger;
  /** The address of record served ("sip:1001@example.com"): the entity of the documents. */
  aor: () => string;
  /** The user parts this phone serves (SUBSCRIBEs to any other are answered 404). */
  users: () => string[];
  /** The phone's calls now. */
  snapshot: () => DialogEntry[];
  /** Who may watch (From user parts); undefined = anyone the server let through. */
  allowed?: () => string[] | undefined;
  /** At most this many subscriptions at once (default 16). */
  maxWatchers?: number;
  /** Longest subscription granted, s (default 3600); RFC 4235 §3.3's default when Expires is absent. */
  maxExpires?: number;
  /** Shortest subscription accepted, s (default 60; shorter ones are answered 423 with Min-Expires). */
  minExpires?: number;
}

/** A watcher's subscription: a dialog of the user agent core, so requests inside it reach receiveRequest. */
class WatcherDialog extends Core.Dialog {
  version = 0;
  expiresAt = 0;
  timer: Timer | undefined;
  /** The document last sent, without its version (a NOTIFY goes only when it changes). */
  lastSent = "";
  inFlight = false;
  pending = false;
  firstSent = false;
  gone = false;
  readonly watcher: string;
  /** The Record-Route of the SUBSCRIBE, reversed: the watcher builds its route set from the first NOTIFY's. */
  readonly recordRoute: string[];

  constructor(
    core: UserAgentCore,
    message: IncomingRequestMessage,
    toTag: string,
    private readonly owner: DialogNotifier,
  ) {
    super(core, Core.Dialog.initialDialogStateForUserAgentServer(message, toTag));
    this.watcher = message.from.uri.user ?? "";
    this.recordRoute = message.getHeaders("record-route").slice().reverse();
  }

  override receiveRequest(message: IncomingRequestMessage): void {
    if (!this.sequenceGuard(message)) return;
    super.receiveRequest(message);
    if (message.method === "SUBSCRIBE") {
      // a refresh may move the watcher (target refresh)
      const contact = message.parseHeader("contact") as { uri?: URI } | undefined;
      if (contact?.uri) this.dialogState.remoteTarget = contact.uri;
      this.owner.refreshed(this, new Core.ReSubscribeUserAgentServer(this, message));
      return;
    }
    this.core.replyStateless(message, { statusCode: 405, extraHeaders: ["Allow: SUBSCRIBE"] });
  }

  get remaining(): number {
    return Math.max(0, Math.round((this.expiresAt - this.owner.now()) / 1000));
  }
}

const expiresOf = (message: IncomingRequestMessage, max: number): number => {
  const text = message.getHeader("Expires");
  if (text === undefined) return max;
  const n = Number(text.trim());
  return Number.isFinite(n) && n >= 0 ? Math.min(Math.floor(n), max) : max;
};

export class DialogNotifier {
  private readonly watchers = new Set<WatcherDialog>();
  private scheduled = false;

  constructor(private readonly o: NotifierOptions) {}

  now(): number {
    return this.o.clock.now();
  }

  get count(): number {
    return this.watchers.size;
  }

  /** A new SUBSCRIBE (outside any dialog) reached the phone. */
  onSubscribe(req: IncomingSubscribeRequest): void {
    const m = req.message;
    const reply = (statusCode: number, extraHeaders: string[] = []): void => {
      try {
        req.reject({ statusCode, extraHeaders });
      } catch (e) {
        this.o.log.debug({ err: (e as Error).message }, "SUBSCRIBE answer not sent");
      }
    };
    try {
      const event = (m.getHeader("Event") ?? "").split(";")[0].trim().toLowerCase();
      if (event !== "dialog") return reply(489, ["Allow-Events: dialog"]);
      const toUser = m.to.uri.user ?? "";
      if (!this.o.users().includes(toUser)) {
        this.o.log.info({ to: toUser, from: m.from.uri.user }, "dialog SUBSCRIBE for an address this phone does not serve");
        return reply(404);
      }
      const accept = m.getHeaders("Accept").join(",");
      if (accept && !/(^|[\s,])(application\/dialog-info\+xml|application\/\*|\*\/\*)\s*(;|,|$)/i.test(accept)) return reply(406);
      const allowed = this.o.allowed?.();
      const from = m.from.uri.user ?? "";
      if (allowed && !allowed.includes(from)) {
        this.o.log.info({ from }, "dialog SUBSCRIBE from a user not allowed to watch");
        return reply(403);
      }
      const max = this.o.maxExpires ?? 3600;
      const expires = expiresOf(m, max);
      const min = this.o.minExpires ?? 60;
      if (expires > 0 && expires < min) return reply(423, [`Min-Expires: ${min}`]);
      if (expires > 0 && this.watchers.size >= (this.o.maxWatchers ?? 16)) {
        this.o.log.warn({ from, watchers: this.watchers.size }, "too many dialog watchers: SUBSCRIBE refused");
        return reply(503, ["Retry-After: 300"]);
      }
      if (!m.parseHeader("contact")) return reply(400);
      const core = (req as unknown as { core: UserAgentCore }).core;
      const toTag = (req as unknown as { toTag: string }).toTag;
      const w = new WatcherDialog(core, m, toTag, this);
      try {
        req.accept({ statusCode: 200, extraHeaders: [`Expires: ${expires}`, `Contact: ${core.configuration.contact.toString()}`, ...m.getHeaders("record-route").map((r) => `Record-Route: ${r}`)] });
      } catch (e) {
        w.dispose(); // no subscription without its 200
        throw e;
      }
      this.o.log.info({ watcher: from, expires }, "dialog subscription accepted");
      if (expires === 0) {
        // a fetch (RFC 6665 §4.4.3): one NOTIFY with the state, and the subscription is over
        void this.send(w, "terminated;reason=timeout");
        return;
      }
      this.watchers.add(w);
      this.arm(w, expires);
      void this.send(w);
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, "dialog SUBSCRIBE failed");
      reply(500);
    }
  }

  /** A re-SUBSCRIBE inside a watcher's dialog: refresh, or end with Expires: 0. */
  refreshed(w: WatcherDialog, uas: IncomingSubscribeRequest): void {
    const expires = expiresOf(uas.message, this.o.maxExpires ?? 3600);
    const min = this.o.minExpires ?? 60;
    try {
      if (expires > 0 && expires < min) {
        uas.reject({ statusCode: 423, extraHeaders: [`Min-Expires: ${min}`] });
        return;
      }
      uas.accept({ statusCode: 200, extraHeaders: [`Expires: ${expires}`, `Contact: ${this.contact(w)}`] });
    } catch (e) {
      this.o.log.debug({ err: (e as Error).message }, "re-SUBSCRIBE answer not sent");
      return;
    }
    if (expires === 0) {
      void this.end(w, "timeout", true);
      return;
    }
    this.arm(w, expires);
    // RFC 6665 §4.2.2: a refreshed subscription gets a NOTIFY at once
    w.lastSent = "";
    void this.send(w);
  }

  /** The phone's calls changed: a NOTIFY to each watcher whose view is out of date (coalesced within a tick). */
  changed(): void {
    if (this.scheduled || !this.watchers.size) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const w of this.watchers) void this.send(w);
    });
  }

  /**
   * Ends every subscription: with a NOTIFY (reason as RFC 6665 §4.2.2 names it), or silently (connection gone).
   * Resolves once every final NOTIFY is answered (or failed).
   */
  terminateAll(reason: "noresource" | "deactivated" | "timeout", notify: boolean): Promise<void> {
    return Promise.all([...this.watchers].map((w) => this.end(w, reason, notify))).then(() => undefined);
  }

  private contact(w: WatcherDialog): string {
    return w.userAgentCore.configuration.contact.toString();
  }

  private arm(w: WatcherDialog, expires: number): void {
    w.timer?.cancel();
    w.expiresAt = this.now() + expires * 1000;
    w.timer = this.o.clock.setTimeout(() => {
      this.o.log.info({ watcher: w.watcher }, "dialog subscription expired");
      void this.end(w, "timeout", true);
    }, expires * 1000);
  }

  private end(w: WatcherDialog, reason: string, notify: boolean): Promise<void> {
    w.timer?.cancel();
    this.watchers.delete(w);
    if (notify && !w.gone) {
      w.pending = false;
      w.inFlight = false; // the last word goes now, whatever is in flight
      return this.send(w, `terminated;reason=${reason}`);
    }
    this.drop(w);
    return Promise.resolve();
  }

  private drop(w: WatcherDialog): void {
    w.gone = true;
    w.timer?.cancel();
    this.watchers.delete(w);
    w.dispose();
  }

  /**
   * One NOTIFY with the current state (`final` = a terminated Subscription-State, after which the dialog goes).
   * Resolves when it is answered (or failed, or not needed).
   */
  private send(w: WatcherDialog, final?: string): Promise<void> {
    if (w.gone) return Promise.resolve();
    if (w.inFlight && !final) {
      w.pending = true;
      return Promise.resolve();
    }
    const document = buildDialogInfo({ entity: this.o.aor(), version: 0, state: "full", dialogs: this.o.snapshot() });
    if (!final && document === w.lastSent) return Promise.resolve();
    w.lastSent = document;
    const body = document.replace(/ version="0"/, ` version="${w.version++}"`);
    const headers = ["Event: dialog", `Subscription-State: ${final ?? `active;expires=${w.remaining}`}`, `Contact: ${this.contact(w)}`];
    if (!w.firstSent) headers.push(...w.recordRoute.map((r) => `Record-Route: ${r}`));
    w.firstSent = true;
    w.inFlight = true;
    w.pending = false;
    return new Promise<void>((resolve) => {
      try {
        const message = w.createOutgoingRequestMessage("NOTIFY", { extraHeaders: headers, body: { contentDisposition: "render", contentType: DIALOG_INFO_TYPE, content: body } });
        const done = (code: number): void => {
          resolve();
          w.inFlight = false;
          if (final) return this.drop(w);
          if (code >= 200 && code < 300) {
            if (w.pending) void this.send(w);
            return;
          }
          // RFC 6665 §4.2.2: a NOTIFY that fails (481: the watcher forgot it; a timeout; no route) ends the subscription
          this.o.log.info({ watcher: w.watcher, code }, "dialog NOTIFY failed: subscription removed");
          this.drop(w);
        };
        w.userAgentCore.request(message, {
          onAccept: (r) => done(r.message.statusCode ?? 200),
          onReject: (r) => done(r.message.statusCode ?? 500),
          onRedirect: (r) => done(r.message.statusCode ?? 300),
        });
      } catch (e) {
        this.o.log.warn({ err: (e as Error).message, watcher: w.watcher }, "dialog NOTIFY not sent");
        this.drop(w);
        resolve();
      }
    });
  }
}

export interface WatchersOptions {
  clock: Clock;
  log: Logger;
  ua: () => UserAgent | undefined;
  /** The SIP URI of a watched number. */
  target: (number: string) => URI;
  /** Delays between attempts after a failure: first, doubling to at most max (ms). */
  backoffMs: { first: number; max: number };
  report: (number: string, state: LineState) => void;
  /** Subscription lifetime asked for (s; default 600). */
  expires?: number;
}

interface Watch {
  number: string;
  subscriber: Subscriber | undefined;
  tracker: DialogInfoTracker;
  /** Call-ID + notifier tag of the subscription the tracker follows (versions start again with a new one). */
  subscription: string;
  failures: number;
  retry: Timer | undefined;
  reported: LineState | undefined;
}

export class DialogWatchers {
  private readonly watches = new Map<string, Watch>();
  private active = false;

  constructor(private readonly o: WatchersOptions) {}

  /** The numbers watched now (the ones no longer listed are unsubscribed). */
  set(numbers: string[]): void {
    const wanted = [...new Set(numbers.map((n) => n.trim()).filter(Boolean))];
    for (const [n, w] of this.watches) {
      if (!wanted.includes(n)) {
        this.close(w, true);
        this.watches.delete(n);
      }
    }
    for (const n of wanted) {
      if (this.watches.has(n)) continue;
      const w: Watch = { number: n, subscriber: undefined, tracker: new DialogInfoTracker(), subscription: "", failures: 0, retry: undefined, reported: undefined };
      this.watches.set(n, w);
      this.report(w, "unknown");
      if (this.active) this.subscribe(w);
    }
  }

  get numbers(): string[] {
    return [...this.watches.keys()];
  }

  /** Registered: subscribe every watch that has no subscription. */
  resume(): void {
    this.active = true;
    for (const w of this.watches.values()) {
      if (!w.subscriber) {
        w.retry?.cancel();
        w.retry = undefined;
        this.subscribe(w);
      }
    }
  }

  /** The connection (or the registration) is gone: the subscriptions with it; states become unknown. */
  suspend(): void {
    this.active = false;
    for (const w of this.watches.values()) {
      this.close(w, false);
      this.report(w, "unknown");
    }
  }

  /** The phone stops: unsubscribe (Expires: 0) while the connection still carries it. */
  stop(): void {
    this.active = false;
    for (const w of this.watches.values()) this.close(w, true);
    this.watches.clear();
  }

  private report(w: Watch, state: LineState): void {
    if (w.reported === state) return;
    w.reported = state;
    this.o.report(w.number, state);
  }

  private close(w: Watch, unsubscribe: boolean): void {
    w.retry?.cancel();
    w.retry = undefined;
    const s = w.subscriber;
    w.subscriber = undefined;
    if (!s) return;
    if (!unsubscribe) this.o.log.debug({ number: w.number }, "dialog subscription dropped with the connection");
    this.end(s, unsubscribe);
  }

  /**
   * Ends a sip.js Subscriber for good. Its subscription dialog ends only with the notifier's final NOTIFY (or a 481-like
   * answer): there is no Timer N for an unSUBSCRIBE, nor after a refresh that timed out, so without this the dialog
   * would live on and its refresh timer re-SUBSCRIBE a dead dialog minutes later.
   */
  private end(s: Subscriber, unsubscribe: boolean): void {
    const dialog = (s as unknown as { _dialog?: Core.SubscriptionDialog })._dialog;
    const finish = (): void => {
      if (dialog && dialog.subscriptionState !== Core.SubscriptionState.Terminated) dialog.terminate();
    };
    // the connection is gone (or the subscription already failed): nothing to send, the dialog just ends here
    if (!unsubscribe) finish();
    s.dispose().catch(() => undefined);
    // the unSUBSCRIBE went: the final NOTIFY normally ends the dialog at once, else it ends here shortly after
    if (unsubscribe && dialog) this.o.clock.setTimeout(finish, 2000);
  }

  private subscribe(w: Watch): void {
    const ua = this.o.ua();
    if (!ua || !this.active) return;
    let target: URI;
    try {
      target = this.o.target(w.number);
    } catch (e) {
      this.o.log.warn({ number: w.number, err: (e as Error).message }, "cannot watch this number");
      return;
    }
    const s = new Subscriber(ua, target, "dialog", { expires: this.o.expires ?? 600, extraHeaders: [`Accept: ${DIALOG_INFO_TYPE}`] });
    w.subscriber = s;
    w.tracker.reset();
    w.subscription = "";
    s.delegate = {
      onNotify: (n) => {
        n.accept().catch(() => undefined);
        if (w.subscriber !== s) return;
        const req = n.request;
        const id = `${req.callId};${req.fromTag ?? ""}`;
        if (id !== w.subscription) {
          w.subscription = id;
          w.tracker.reset();
        }
        const body = req.body ?? "";
        const type = (req.getHeader("Content-Type") ?? "").split(";")[0].trim().toLowerCase();
        if (!body.trim()) return; // RFC 6665 allows an empty NOTIFY (pending, or terminated)
        if (type && type !== DIALOG_INFO_TYPE) {
          this.o.log.warn({ number: w.number, type }, "dialog NOTIFY with a body that is not dialog-info: ignored");
          return;
        }
        const r = parseDialogInfo(body);
        if (!r.ok) {
          this.o.log.warn({ number: w.number, err: r.error }, "dialog NOTIFY body unreadable: ignored");
          return;
        }
        w.failures = 0;
        if (w.tracker.apply(r.info)) this.report(w, w.tracker.state);
      },
    };
    s.stateChange.addListener((st) => {
      if (st !== SubscriptionState.Terminated || w.subscriber !== s) return;
      // refused (404: not registered; 403; 489), no NOTIFY in time, or ended by the notifier: try again later
      w.subscriber = undefined;
      this.end(s, false);
      this.report(w, "unknown");
      if (!this.active || this.watches.get(w.number) !== w) return;
      w.failures++;
      const delay = Math.min(this.o.backoffMs.max, this.o.backoffMs.first * 2 ** Math.min(w.failures - 1, 16));
      this.o.log.info({ number: w.number, retryMs: delay }, "dialog subscription ended: subscribing again later");
      w.retry = this.o.clock.setTimeout(() => {
        w.retry = undefined;
        if (this.active && this.watches.get(w.number) === w && !w.subscriber) this.subscribe(w);
      }, delay);
    });
    s.subscribe().catch((e: Error) => this.o.log.warn({ number: w.number, err: e.message }, "dialog SUBSCRIBE failed"));
  }
}

// The dialog event package's document (RFC 4235, application/dialog-info+xml): built by the phone that is watched
// (one <dialog> per call) and read by the phones that watch it (a delegate's line key per boss, a busy lamp field),
// reduced there to one line state. Reading never throws: a malformed body comes back with words saying what is wrong.
import { DOMParser, onErrorStopParsing, type Element } from "@xmldom/xmldom";

export const DIALOG_INFO_TYPE = "application/dialog-info+xml";
export const DIALOG_INFO_NS = "urn:ietf:params:xml:ns:dialog-info";

/** RFC 4235 §4.1.6: a dialog's state. */
export type DialogStateName = "trying" | "proceeding" | "early" | "confirmed" | "terminated";
const STATES: readonly DialogStateName[] = ["trying", "proceeding", "early", "confirmed", "terminated"];

export interface DialogParticipant {
  uri: string;
  display?: string;
}

export interface DialogEntry {
  /** Unique among the notifier's dialogs. */
  id: string;
  state: DialogStateName;
  /** initiator: the watched user placed the call; recipient: the call came to the watched user. */
  direction?: "initiator" | "recipient";
  callId?: string;
  localTag?: string;
  remoteTag?: string;
  local?: DialogParticipant;
  remote?: DialogParticipant;
}

export interface DialogInfo {
  /** The watched address of record. */
  entity: string;
  /** Increases by one with each document of a subscription, from 0. */
  version: number;
  state: "full" | "partial";
  dialogs: DialogEntry[];
}

/** What a line key shows; "unknown" when there is no working subscription. */
export type LineState = "idle" | "ringing" | "busy" | "unknown";

const esc = (s: string): string => s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c);

function participant(tag: "local" | "remote", p: DialogParticipant | undefined): string {
  if (!p) return "";
  return `<${tag}><identity${p.display ? ` display="${esc(p.display)}"` : ""}>${esc(p.uri)}</identity><target uri="${esc(p.uri)}"/></${tag}>`;
}

/** The XML document for `info` (UTF-8, one line per dialog). */
export function buildDialogInfo(info: DialogInfo): string {
  if (!Number.isInteger(info.version) || info.version < 0) throw new Error(`dialog-info version must be a non-negative integer (got ${info.version})`);
  const lines = [`<?xml version="1.0" encoding="UTF-8"?>`, `<dialog-info xmlns="${DIALOG_INFO_NS}" version="${info.version}" state="${info.state}" entity="${esc(info.entity)}">`];
  for (const d of info.dialogs) {
    const attrs = [`id="${esc(d.id)}"`];
    if (d.callId) attrs.push(`call-id="${esc(d.callId)}"`);
    if (d.localTag) attrs.push(`local-tag="${esc(d.localTag)}"`);
    if (d.remoteTag) attrs.push(`remote-tag="${esc(d.remoteTag)}"`);
    if (d.direction) attrs.push(`direction="${d.direction}"`);
    lines.push(`  <dialog ${attrs.join(" ")}><state>${d.state}</state>${participant("local", d.local)}${participant("remote", d.remote)}</dialog>`);
  }
  lines.push(`</dialog-info>`, "");
  return lines.join("\r\n");
}

export type DialogInfoResult = { ok: true; info: DialogInfo } | { ok: false; error: string };

const MAX_BODY = 256 * 1024;

function children(el: Element, name: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === name && (n as Element).namespaceURI === DIALOG_INFO_NS) out.push(n as Element);
  }
  return out;
}

function readParticipant(el: Element | undefined): DialogParticipant | undefined {
  if (!el) return undefined;
  const id = children(el, "identity")[0];
  const target = children(el, "target")[0];
  const uri = (id?.textContent ?? "").trim() || (target?.getAttribute("uri") ?? "").trim();
  if (!uri) return undefined;
  const display = id?.getAttribute("display") ?? "";
  return { uri, ...(display ? { display } : {}) };
}

/** Reads a dialog-info document. Never throws. */
export function parseDialogInfo(xml: string): DialogInfoResult {
  const fail = (error: string): DialogInfoResult => ({ ok: false, error });
  if (!xml.trim()) return fail("the dialog-info body is empty");
  if (xml.length > MAX_BODY) return fail(`the dialog-info body is too large (${xml.length} characters)`);
  let root: Element | null;
  try {
    root = new DOMParser({ onError: onErrorStopParsing }).parseFromString(xml, "application/xml").documentElement;
  } catch (e) {
    return fail(`the dialog-info body is not well-formed XML (${(e as Error).message.split("\n")[0]})`);
  }
  if (!root) return fail("the dialog-info body has no root element");
  if (root.localName !== "dialog-info") return fail(`the root element is <${root.tagName}>, not <dialog-info>`);
  if (root.namespaceURI !== DIALOG_INFO_NS) return fail(`<dialog-info> is not in the ${DIALOG_INFO_NS} namespace (it is in '${root.namespaceURI ?? ""}')`);
  const versionText = root.getAttribute("version") ?? "";
  if (!/^\d{1,15}$/.test(versionText)) return fail(versionText ? `version '${versionText}' is not a non-negative integer` : "<dialog-info> has no version");
  const state = root.getAttribute("state") ?? "";
  if (state !== "full" && state !== "partial") return fail(state ? `state '${state}' is neither 'full' nor 'partial'` : "<dialog-info> has no state");
  const entity = root.getAttribute("entity") ?? "";
  if (!entity) return fail("<dialog-info> has no entity");
  const dialogs: DialogEntry[] = [];
  for (const d of children(root, "dialog")) {
    const id = d.getAttribute("id") ?? "";
    if (!id) return fail("a <dialog> has no id");
    const st = children(d, "state")[0];
    if (!st) return fail(`<dialog id="${id}"> has no <state>`);
    const name = (st.textContent ?? "").trim();
    if (!(STATES as readonly string[]).includes(name)) return fail(`<dialog id="${id}"> has an unknown state '${name}'`);
    const dir = d.getAttribute("direction") ?? "";
    if (dir && dir !== "initiator" && dir !== "recipient") return fail(`<dialog id="${id}"> has an unknown direction '${dir}'`);
    const local = readParticipant(children(d, "local")[0]);
    const remote = readParticipant(children(d, "remote")[0]);
    const attr = (n: string): string | undefined => d.getAttribute(n) || undefined;
    const callId = attr("call-id");
    const localTag = attr("local-tag");
    const remoteTag = attr("remote-tag");
    dialogs.push({
      id,
      state: name as DialogStateName,
      ...(dir ? { direction: dir as "initiator" | "recipient" } : {}),
      ...(callId ? { callId } : {}),
      ...(localTag ? { localTag } : {}),
      ...(remoteTag ? { remoteTag } : {}),
      ...(local ? { local } : {}),
      ...(remote ? { remote } : {}),
    });
  }
  return { ok: true, info: { entity, version: Number(versionText), state, dialogs } };
}

/**
 * One line state from the dialogs: busy when any is confirmed; ringing when a call is ringing the watched user (an
 * early dialog it is the recipient of, or one without a direction); busy too when the watched user is placing a call
 * (an initiator dialog not yet answered: the user is on the phone, nothing to pick up); idle when there are none or
 * all are terminated.
 */
export function lineStateOf(dialogs: Iterable<DialogEntry>): "idle" | "ringing" | "busy" {
  let ringing = false;
  let busy = false;
  for (const d of dialogs) {
    if (d.state === "terminated") continue;
    if (d.state === "confirmed" || d.direction === "initiator") busy = true;
    else ringing = true;
  }
  return busy ? "busy" : ringing ? "ringing" : "idle";
}

/**
 * A watcher's view of one subscription: full documents replace what it knew, partial ones update it by dialog id
 * (terminated dialogs are dropped); an older or repeated version is ignored (RFC 4235 §4.1.2).
 */
export class DialogInfoTracker {
  private readonly dialogs = new Map<string, DialogEntry>();
  private version: number | undefined;

  /** Applies a document; false when it was ignored (stale, or partial before any full one). */
  apply(info: DialogInfo): boolean {
    if (this.version !== undefined && info.version <= this.version) return false;
    if (info.state === "partial" && this.version === undefined) return false;
    this.version = info.version;
    if (info.state === "full") this.dialogs.clear();
    for (const d of info.dialogs) {
      if (d.state === "terminated") this.dialogs.delete(d.id);
      else this.dialogs.set(d.id, d);
    }
    return true;
  }

  /** A new subscription (its versions start again). */
  reset(): void {
    this.dialogs.clear();
    this.version = undefined;
  }

  get state(): "idle" | "ringing" | "busy" {
    return lineStateOf(this.dialogs.values());
  }

  get current(): DialogEntry[] {
    return [...this.dialogs.values()];
  }
}

// Location > Enter location: a civic address typed field by field on the 12-key keypad with multi-tap (2 = A B C 2,
// ..., 0 = space 0, 1 = . - / 1), and the Location menu's lines. Pure: the pause that commits a letter comes back as the
// "multitap" timer; the finished address leaves as a "set-manual-location" effect (RFC 5139 element names).
import type { CivicField, EntryMode, LocationEntry, PhoneEffect, PhoneState } from "./phone-state.js";

export type { CivicField, EntryMode, LocationEntry } from "./phone-state.js";
import type { MenuItem } from "./menus.js";
import type { Step } from "./steps.js";
import { testMenuItems } from "./emergency-test.js";


export interface LocationField {
  id: CivicField;
  /** The field's name on the title line (short: the title shares the row with the clock). */
  label: string;
  /** The mode the field starts in. */
  mode: EntryMode;
  max: number;
  /** What to type, when "# = next" is not enough. */
  hint?: string;
}

export const LOCATION_FIELDS: readonly LocationField[] = [
  { id: "HNO", label: "House no.", mode: "123", max: 10 },
  { id: "RD", label: "Street", mode: "Abc", max: 60 },
  { id: "A3", label: "City", mode: "Abc", max: 40 },
  { id: "A1", label: "State", mode: "ABC", max: 30, hint: "State/region, e.g. TX" },
  { id: "PC", label: "Postcode", mode: "123", max: 12 },
  { id: "country", label: "Country", mode: "ABC", max: 2, hint: "2 letters, e.g. US" },
  { id: "BLD", label: "Building", mode: "Abc", max: 40 },
  { id: "FLR", label: "Floor", mode: "123", max: 10 },
  { id: "ROOM", label: "Room", mode: "ABC", max: 20 },
];

/** The RFC 5139 schema order, for the effect's keys. */
const CIVIC_ORDER: readonly CivicField[] = ["country", "A1", "A3", "RD", "HNO", "FLR", "PC", "BLD", "ROOM"];

const KEY_CHARS: Readonly<Record<string, string>> = {
  "1": ".-/1",
  "2": "ABC2",
  "3": "DEF3",
  "4": "GHI4",
  "5": "JKL5",
  "6": "MNO6",
  "7": "PQRS7",
  "8": "TUV8",
  "9": "WXYZ9",
  "0": " 0",
};

const MODES: readonly EntryMode[] = ["Abc", "ABC", "abc", "123"];


const DEFAULT_MULTITAP_MS = 1000;

/** The characters key `k` cycles through in field `f` (the country takes letters only). */
function charsOf(k: string, f: LocationField): string {
  const all = KEY_CHARS[k] ?? "";
  return f.id === "country" ? all.replace(/[^A-Z]/g, "") : all;
}

/** The character a pending tap stands for, cased by the mode (Abc: capital at the start of a word). */
function pendingChar(e: LocationEntry, f: LocationField): string {
  if (!e.pending) return "";
  const chars = charsOf(e.pending.key, f);
  const c = chars[e.pending.index % chars.length] ?? "";
  const before = e.values[f.id];
  const upper = f.id === "country" || e.mode === "ABC" || (e.mode === "Abc" && (before === "" || before.endsWith(" ")));
  return upper ? c.toUpperCase() : c.toLowerCase();
}

function commit(e: LocationEntry): LocationEntry {
  if (!e.pending) return e;
  const f = LOCATION_FIELDS[e.field];
  const value = (e.values[f.id] + pendingChar(e, f)).slice(0, f.max);
  return { ...e, pending: null, values: { ...e.values, [f.id]: value } };
}

/** The field's text as shown: committed letters, then the pending one (or the cursor). */
export function entryText(e: LocationEntry): string {
  const f = LOCATION_FIELDS[e.field];
  return e.values[f.id] + (e.pending ? pendingChar(e, f) : "_");
}

/** Opens the entry: pre-filled from the current location when it is a manual one, the country defaulting to the last
 * one used (or "US"). */
export function openLocationEntry(s: PhoneState): LocationEntry {
  const civic = s.location?.source === "manual" ? (s.location.civic ?? {}) : {};
  const values = Object.fromEntries(LOCATION_FIELDS.map((f) => [f.id, (civic[f.id] ?? "").slice(0, f.max)])) as Record<CivicField, string>;
  if (!values.country) values.country = s.lastCountry || "US";
  return { field: 0, values, pending: null, mode: LOCATION_FIELDS[0].mode, message: "" };
}

/** The civic address to store: trimmed (xs:token), empty elements left out, country upper case, RFC 5139 order. */
export function civicOf(values: Readonly<Record<CivicField, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const id of CIVIC_ORDER) {
    const v = values[id].replace(/\s+/g, " ").trim();
    if (v) out[id] = id === "country" ? v.toUpperCase() : v;
  }
  return out;
}

/** Why the address cannot be stored (and the field to fix), or null: a country and a street or building. */
export function entryProblem(values: Readonly<Record<CivicField, string>>): { field: CivicField; message: string } | null {
  const c = civicOf(values);
  if (!/^[A-Z]{2}$/.test(c.country ?? "")) return { field: "country", message: "Country: 2 letters" };
  if (!c.RD && !c.BLD) return { field: "RD", message: "Need street/building" };
  return null;
}

const at = (id: CivicField): number => LOCATION_FIELDS.findIndex((f) => f.id === id);

function goTo(e: LocationEntry, field: number): LocationEntry {
  return { ...commit(e), field, mode: LOCATION_FIELDS[field].mode };
}

/** Leaves the entry (saved or not): back to the Location menu when it was opened there, else to idle. */
function close(s: PhoneState, notice: string, effects: PhoneEffect[]): Step {
  return { state: { ...s, locationEntry: null, notice }, effects: [{ type: "cancel-timer", id: "multitap" }, ...effects] };
}

function save(s: PhoneState, e: LocationEntry): Step {
  const done = commit(e);
  const problem = entryProblem(done.values);
  if (problem) return { state: { ...s, locationEntry: { ...goTo(done, at(problem.field)), message: problem.message } }, effects: [{ type: "cancel-timer", id: "multitap" }] };
  const civic = civicOf(done.values);
  // the prompt has been answered: it stays away until the location service reports the new location
  const next = { ...s, lastCountry: civic.country, locationPromptDismissed: true };
  return close(next, "Location saved", [{ type: "set-manual-location", civic }]);
}

/** A key while the entry is open. */
export function locationEntryKey(s: PhoneState, e: LocationEntry, k: string): Step {
  const f = LOCATION_FIELDS[e.field];
  const last = e.field === LOCATION_FIELDS.length - 1;
  const set = (next: LocationEntry, effects: PhoneEffect[] = []): Step => ({ state: { ...s, locationEntry: next }, effects });
  const stopTap: PhoneEffect[] = e.pending ? [{ type: "cancel-timer", id: "multitap" }] : [];
  if (/^[0-9]$/.test(k)) {
    const fresh = { ...e, message: "" };
    if (e.mode === "123" && f.id !== "country") {
      const done = commit(fresh);
      const v = done.values[f.id];
      return set(v.length >= f.max ? done : { ...done, values: { ...done.values, [f.id]: v + k } }, stopTap);
    }
    if (!charsOf(k, f)) return { state: s, effects: [] };
    const tap: PhoneEffect = { type: "start-timer", id: "multitap", ms: s.config.multitapMs ?? DEFAULT_MULTITAP_MS };
    if (e.pending?.key === k) return set({ ...fresh, pending: { key: k, index: (e.pending.index + 1) % charsOf(k, f).length } }, [tap]);
    const done = commit(fresh);
    if (done.values[f.id].length >= f.max) return set(done, stopTap);
    return set({ ...done, pending: { key: k, index: 0 } }, [tap]);
  }
  switch (k) {
    case "*":
    case "SOFT2":
      if (f.id === "country") return { state: s, effects: [] };
      return set({ ...commit(e), mode: MODES[(MODES.indexOf(e.mode) + 1) % MODES.length] }, stopTap);
    case "SOFT3": {
      // Delete: the pending letter, else the last one typed
      if (e.pending) return set({ ...e, pending: null, message: "" }, stopTap);
      return set({ ...e, values: { ...e.values, [f.id]: e.values[f.id].slice(0, -1) }, message: "" });
    }
    case "BACK":
      // backspace; on an empty field, the field before; on the first, leave
      if (e.pending || e.values[f.id]) return locationEntryKey(s, e, "SOFT3");
      return e.field > 0 ? set(goTo(e, e.field - 1)) : close(s, "", []);
    case "#":
    case "OK":
    case "SOFT4":
      return last ? save(s, e) : set(goTo({ ...e, message: "" }, e.field + 1), stopTap);
    case "SOFT1":
      return save(s, e);
    case "DOWN":
      return last ? { state: s, effects: [] } : set(goTo(e, e.field + 1), stopTap);
    case "UP":
      return e.field > 0 ? set(goTo(e, e.field - 1), stopTap) : { state: s, effects: [] };
    case "END":
    case "MENU":
      return close(s, "", []);
    default:
      return { state: s, effects: [] };
  }
}

/** The "multitap" timer: the pause after a tap commits the letter. */
export function multitapTimer(s: PhoneState): Step {
  const e = s.locationEntry;
  if (!e?.pending) return { state: s, effects: [] };
  return { state: { ...s, locationEntry: commit(e) }, effects: [] };
}

const SOURCE_WORDS: Readonly<Record<string, string>> = { lis: "LIS", "lldp-med": "LLDP-MED", dhcp: "DHCP", provisioned: "config", manual: "manual" };

/** The Location menu: the current location (selected first: a long one scrolls), its source, and the actions; with
 * test calls allowed, "Test emergency call" and the last test's result (emergency-test.ts). */
export function locationMenuItems(s: PhoneState): MenuItem[] {
  const l = s.location;
  return [
    { label: l?.text || "No location known", value: "location:show" },
    ...(l ? [{ label: `Source: ${SOURCE_WORDS[l.source] ?? l.source}`, value: "location:show" }] : []),
    { label: "Enter location", value: "location:enter" },
    { label: "Clear manual entry", value: "location:clear" },
    ...testMenuItems(s),
  ];
}

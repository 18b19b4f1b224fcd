// Location menu and manual location entry: multi-tap on the 12-key keypad, field by field, stored as RFC 5139 civic.
import assert from "node:assert/strict";
import { initialState, type PhoneConfig, type PhoneEffect, type PhoneEvent, type PhoneState } from "../../../../src/phone/core/phone-state.js";
import { summarize } from "../../../../src/phone/core/reduce.js";
import { civicOf, entryProblem, entryText, LOCATION_FIELDS, type CivicField } from "../../../../src/phone/core/location-entry.js";
import { coreRunner } from "../../../support/core-run.js";

const config: PhoneConfig = { dialPlan: { emergencyNumbers: ["911", "112"], outsideLinePrefix: "9", extensionLength: 4 }, lockPin: "2580", interdigitMs: 4000, multitapMs: 800 };
const run = coreRunner(config);
const key = (k: string): PhoneEvent => ({ type: "key", key: k, down: true, at: 0 });
/** Keys one after another; "." in the string is the multi-tap pause (the timer firing). */
const type = (taps: string): PhoneEvent[] => [...taps].map((k) => (k === "." ? ({ type: "timer", id: "multitap" } as PhoneEvent) : key(k)));
const of = <T extends PhoneEffect["type"]>(effects: PhoneEffect[], t: T) => effects.filter((e): e is Extract<PhoneEffect, { type: T }> => e.type === t);
/** Menu > Location (the fourth line of the main menu). */
const toLocationMenu: PhoneEvent[] = [key("MENU"), key("DOWN"), key("DOWN"), key("DOWN"), key("OK")];
/** Menu > Location > Enter location (third line with a location known, second without). */
const openEntry = (s?: PhoneState) => {
  const menu = run(toLocationMenu, s);
  const items = menu.state.location ? 2 : 1;
  return run([...Array.from({ length: items }, () => key("DOWN")), key("OK")], menu.state);
};
const field = (s: PhoneState): string => LOCATION_FIELDS[s.locationEntry!.field].id;
const value = (s: PhoneState, id: CivicField): string => s.locationEntry!.values[id];

describe("Location menu", () => {
  it("shows the current location and its source, then Enter location and Clear manual entry", () => {
    const s0 = run([{ type: "location", location: { text: "1100 N Lamar BLVD, Fl 3", source: "lis" } }]).state;
    const menu = run(toLocationMenu, s0);
    assert.deepEqual(menu.state.menu?.stack, ["main", "location"]);
    assert.equal(menu.state.menu?.cursor, 0, "the location itself is selected (a long one scrolls)");
    // OK on the location line does nothing; on Clear it asks the shell to forget the manual location
    assert.deepEqual(run([key("OK")], menu.state).effects, []);
    const clear = run([key("DOWN"), key("DOWN"), key("DOWN"), key("OK")], menu.state);
    assert.deepEqual(clear.effects, [{ type: "clear-manual-location" }]);
    assert.equal(clear.state.notice, "Manual location cleared");
  });

  it("Enter location opens the entry at the house number, the country defaulting to US", () => {
    const e = openEntry();
    assert.equal(field(e.state), "HNO");
    assert.equal(e.state.locationEntry?.mode, "123");
    assert.equal(value(e.state, "country"), "US");
    assert.deepEqual(e.state.menu?.stack, ["main", "location"], "the menu waits under it");
  });
});

describe("multi-tap entry", () => {
  /** Entry open on the street field (house number typed: 1100). */
  const street = () => run(type("1100#"), openEntry().state);

  it("digits type themselves in the number fields; # moves on", () => {
    const s = street().state;
    assert.equal(value(s, "HNO"), "1100");
    assert.equal(field(s), "RD");
    assert.equal(s.locationEntry?.mode, "Abc");
  });

  it("a key pressed again cycles its letters (then its digit); a pause commits; a capital starts each word", () => {
    const s0 = street().state;
    const b = run(type("22"), s0);
    assert.equal(entryText(b.state.locationEntry!), "B");
    assert.deepEqual(of(b.effects, "start-timer"), [
      { type: "start-timer", id: "multitap", ms: 800 },
      { type: "start-timer", id: "multitap", ms: 800 },
    ]);
    assert.equal(entryText(run(type("2222"), s0).state.locationEntry!), "2");
    assert.equal(entryText(run(type("22222"), s0).state.locationEntry!), "A", "round again");
    // N-o-r-t-h: 66 (N), pause, 666 (o), 777 (r), 8 (t), pause, 44 (h); a different key commits by itself
    const typed = run(type("66.6667778.44."), s0);
    assert.equal(value(typed.state, "RD"), "North");
    assert.equal(typed.state.locationEntry?.pending, null);
    assert.equal(entryText(typed.state.locationEntry!), "North_");
  });

  it("0 is space then 0, 1 is . - / then 1; * changes the mode (Abc, ABC, abc, 123)", () => {
    const s0 = street().state;
    // Abc: "Main St" - M (6), a (2), i (444), n (66), space (0), S (7777), t (8)
    const main = run(type("6.2.444.66.0.77778."), s0);
    assert.equal(value(main.state, "RD"), "Main St");
    assert.equal(value(run(type("00."), s0).state, "RD"), "0");
    assert.equal(value(run(type("1.11.111.1111."), s0).state, "RD"), ".-/1");
    const modes = run(type("*"), s0);
    assert.equal(modes.state.locationEntry?.mode, "ABC");
    assert.equal(value(run(type("**2.2."), s0).state, "RD"), "aa");
    assert.equal(value(run(type("***42"), s0).state, "RD"), "42", "123: digits at once, no timer");
  });

  it("Delete takes back the pending letter, else the last one; BACK on an empty field goes to the field before", () => {
    const s0 = street().state;
    const typed = run(type("6.2.44"), s0);
    const del1 = run([key("SOFT3")], typed.state);
    assert.equal(entryText(del1.state.locationEntry!), "Ma_");
    assert.deepEqual(of(del1.effects, "cancel-timer"), [{ type: "cancel-timer", id: "multitap" }]);
    const del2 = run([key("SOFT3")], del1.state);
    assert.equal(value(del2.state, "RD"), "M");
    const back = run([key("BACK"), key("BACK")], del2.state);
    assert.equal(field(back.state), "HNO", "emptied, then to the house number");
    assert.equal(value(back.state, "HNO"), "1100");
  });

  it("the country takes two capital letters only", () => {
    const country = run(type("#####"), openEntry().state);
    assert.equal(field(country.state), "country");
    const cleared = run([key("SOFT3"), key("SOFT3")], country.state);
    assert.equal(value(cleared.state, "country"), "");
    const fr = run(type("333.777.6"), cleared.state);
    assert.equal(value(fr.state, "country"), "FR", "the third letter does not fit");
    assert.equal(entryText(run(type("2222"), cleared.state).state.locationEntry!), "A", "no digits: A B C A");
  });

  it("END leaves without saving; UP and DOWN move between fields", () => {
    const s0 = street().state;
    const end = run([key("END")], s0);
    assert.equal(end.state.locationEntry, null);
    assert.deepEqual(end.state.menu?.stack, ["main", "location"]);
    assert.deepEqual(of(end.effects, "set-manual-location"), []);
    assert.equal(field(run([key("DOWN"), key("DOWN")], s0).state), "A1");
    assert.equal(field(run([key("UP")], s0).state), "HNO");
  });
});

describe("saving a manual location", () => {
  it("walks every field and emits set-manual-location with the RFC 5139 elements typed (empty ones left out)", () => {
    // HNO 1100, RD "N Lamar", A3 skipped, A1 "TX", PC 78703, country US (default), BLD "Tower 2", FLR 3, ROOM 3-214
    const taps = "1100#" + "66.0.555.2.6.2.777.#" + "#" + "8.99.#" + "78703#" + "#" + "8.666.9.33.777.0.2222.#" + "3#" + "**3*11.***214#";
    const r = run(type(taps), openEntry().state);
    assert.deepEqual(of(r.effects, "set-manual-location"), [
      { type: "set-manual-location", civic: { country: "US", A1: "TX", RD: "N Lamar", HNO: "1100", FLR: "3", PC: "78703", BLD: "Tower 2", ROOM: "3-214" } },
    ]);
    assert.deepEqual(Object.keys(of(r.effects, "set-manual-location")[0].civic), ["country", "A1", "RD", "HNO", "FLR", "PC", "BLD", "ROOM"], "schema order");
    assert.equal(r.state.locationEntry, null);
    assert.equal(r.state.notice, "Location saved");
    assert.deepEqual(r.state.menu?.stack, ["main", "location"]);
  });

  it("Save (SOFT1) from any field; refused without a street or building, or a 2-letter country, saying why", () => {
    const e = openEntry().state;
    const noStreet = run([...type("1100"), key("SOFT1")], e);
    assert.deepEqual(of(noStreet.effects, "set-manual-location"), []);
    assert.equal(noStreet.state.locationEntry?.message, "Need street/building");
    assert.equal(field(noStreet.state), "RD", "taken to the street");
    // a building alone will do
    const bld = run([key("DOWN"), key("DOWN"), key("DOWN"), key("DOWN"), key("DOWN"), key("DOWN"), ...type("2"), key("SOFT1")], e);
    assert.deepEqual(of(bld.effects, "set-manual-location"), [{ type: "set-manual-location", civic: { country: "US", BLD: "A" } }]);
    // a one-letter country
    const badCountry = run([key("DOWN"), ...type("6"), ...Array.from({ length: 4 }, () => key("DOWN")), key("SOFT3"), key("SOFT1")], e);
    assert.equal(badCountry.state.locationEntry?.message, "Country: 2 letters");
    assert.equal(field(badCountry.state), "country");
    assert.equal(summarize(badCountry.state).locationEntry && (summarize(badCountry.state).locationEntry as { message: string }).message, "Country: 2 letters");
  });

  it("the country last saved is the next default; a manual location pre-fills the entry", () => {
    const e = openEntry().state;
    const ca = run([key("DOWN"), ...type("6"), key("DOWN"), key("DOWN"), key("DOWN"), key("DOWN"), key("SOFT3"), key("SOFT3"), ...type("222.2."), key("SOFT1")], e);
    assert.deepEqual(of(ca.effects, "set-manual-location")[0].civic.country, "CA");
    assert.equal(ca.state.lastCountry, "CA");
    const again = openEntry(run([key("MENU")], ca.state).state);
    assert.equal(value(again.state, "country"), "CA");
    const manual = run([{ type: "location", location: { text: "Tower 2", source: "manual", civic: { country: "GB", RD: "High St", BLD: "Tower 2" } } }]).state;
    const prefilled = openEntry(manual);
    assert.deepEqual([value(prefilled.state, "RD"), value(prefilled.state, "BLD"), value(prefilled.state, "country")], ["High St", "Tower 2", "GB"]);
    const lis = run([{ type: "location", location: { text: "x", source: "lis", civic: { country: "GB", RD: "High St" } } }]).state;
    assert.equal(value(openEntry(lis).state, "RD"), "", "only a manual location is edited in place");
  });

  it("saving from the prompt goes back to idle with the prompt answered", () => {
    const yes = initialState({ ...config, emergency: { locationRequired: "yes" } });
    const r = run([key("OK"), key("DOWN"), ...type("2"), key("SOFT1")], yes);
    assert.equal(of(r.effects, "set-manual-location").length, 1);
    assert.equal(r.state.menu, null);
    assert.equal(summarize(r.state).locationPrompt, "dismissed");
  });

  it("an incoming call or the lock closes the entry", () => {
    const e = openEntry().state;
    assert.equal(run([{ type: "call-incoming", callId: 1, remote: { uri: "sip:1002@pbx" }, number: "1002", at: 0, wallAt: 0 }], e).state.locationEntry, null);
    assert.equal(run([{ type: "lock" }], e).state.locationEntry, null);
  });

  it("civicOf trims and drops empty elements; entryProblem wants a country and a street or building", () => {
    const blank = Object.fromEntries(LOCATION_FIELDS.map((f) => [f.id, ""])) as Parameters<typeof civicOf>[0];
    assert.deepEqual(civicOf({ ...blank, country: "us", RD: "  Main   St " }), { country: "US", RD: "Main St" });
    assert.deepEqual(entryProblem({ ...blank, country: "US", RD: "Main St" }), null);
    assert.deepEqual(entryProblem({ ...blank, country: "US" })?.field, "RD");
    assert.deepEqual(entryProblem({ ...blank, RD: "Main St" })?.field, "country");
  });
});

// Every screen the phone has so far, as the 20x4 character LCD shows it.
import assert from "node:assert/strict";
import { initialState, type PhoneState } from "../../../src/phone/core/phone-state.js";
import { reduce } from "../../../src/phone/core/reduce.js";
import { viewOf } from "../../../src/ui/view-model.js";
import { renderText } from "../../../src/ui/text-renderer.js";
import { glyphChar } from "../../../src/ui/lcd-glyphs.js";

const config = { dialPlan: { emergencyNumbers: ["911"], outsideLinePrefix: "9", extensionLength: 4 }, lockPin: "2580", interdigitMs: 4000 };
const ctx = { clock: "09:41", lineName: "x1001 Alice" };
const keys = (s: PhoneState, digits: string): PhoneState => [...digits].reduce((st, key) => reduce(st, { type: "key", key, down: true }).state, s);
const lcd = (s: PhoneState): string[] => renderText(viewOf(s, ctx), 20, 4);

describe("phone screens (20x4)", () => {
  const idle = initialState(config);

  it("idle", () => {
    assert.deepEqual(lcd(idle), ["x1001 Alice    09:41", "Ready               ", "                    ", "Redi DND       Menu "]);
  });

  it("idle in do-not-disturb", () => {
    const s = reduce(idle, { type: "key", key: "DND", down: true }).state;
    assert.deepEqual(lcd(s), [`${glyphChar("dnd")}x1001 Alice   09:41`, "Ready               ", "Do not disturb      ", "Redi DND       Menu "]);
  });

  it("dial tone, dialling, calling", () => {
    const up = reduce(idle, { type: "hook", state: "off" }).state;
    assert.equal(lcd(up)[1], "Dial a number       ");
    const dialling = keys(up, "95");
    assert.deepEqual(lcd(dialling).slice(1), ["95                  ", "                    ", "Send           End  "]);
    const calling = keys(up, "1001");
    assert.equal(lcd(calling)[1], "Calling 1001        ");
  });

  it("emergency call", () => {
    const s = keys(reduce(idle, { type: "hook", state: "off" }).state, "911");
    assert.deepEqual(lcd(s).slice(1, 3), ["Emergency call 911  ", "Stay on the line    "]);
  });

  it("locked, with the PIN masked as it is typed", () => {
    const locked = reduce(idle, { type: "lock" }).state;
    assert.deepEqual(lcd(locked).slice(0, 4), [`${glyphChar("lock")}x1001 Alice   09:41`, "Phone locked        ", "Enter PIN, then OK  ", "Emergency: dial 911 "]);
    const typing = keys(locked, "25");
    assert.equal(lcd(typing)[2], "PIN: **             ");
    assert.ok(!lcd(typing).join("").includes("25"), "the PIN never reaches the glass");
  });
});

describe("menu screens (20x4)", () => {
  const press = (s: PhoneState, k: string): PhoneState => reduce(s, { type: "key", key: k, down: true }).state;
  it("main menu with the cursor kept in view, and settings showing DND's state", () => {
    const menu = press(initialState(config), "MENU");
    assert.deepEqual(lcd(menu), ["Menu           09:41", ">Settings           ", " Call history       ", "          Back OK   "]);
    const down3 = ["DOWN", "DOWN", "DOWN"].reduce(press, menu);
    assert.deepEqual(lcd(down3).slice(1, 3), [" Directory          ", ">Location           "]);
    const settings = press(menu, "OK");
    assert.deepEqual(lcd(settings).slice(0, 3), ["Settings       09:41", ">Do not disturb: off", " Phone lock         "]);
  });
});

describe("emergency and location screens (20x4)", () => {
  const cfg = { ...config, dialPlan: { ...config.dialPlan, emergencyNumbers: ["911", "112"] } };
  const at = (s: PhoneState, ev: Parameters<typeof reduce>[1]): PhoneState => reduce(s, ev).state;
  const press = (s: PhoneState, k: string): PhoneState => at(s, { type: "key", key: k, down: true, at: 0 });
  const view = (s: PhoneState, now = 125_000) => viewOf(s, { ...ctx, now });
  const rows = (s: PhoneState, now = 125_000) => renderText(view(s, now), 20, 4);
  const sos = keys(reduce(initialState(cfg), { type: "hook", state: "off", at: 0 }).state, "911");
  const text = "1100 N Lamar BLVD, Tower 2, Fl 3, Rm 3-214";

  it("an emergency call says what location it sent, once the INVITE has left; connected, the call line keeps 'Emergency'", () => {
    assert.deepEqual(rows(sos).slice(1), ["Emergency call 911  ", "Stay on the line    ", "               End  "]);
    const sent = at(sos, { type: "emergency-location-sent", callId: 1, text });
    assert.deepEqual(view(sent).body, ["Emergency call 911", `Location sent: ${text}`, "Stay on the line"]);
    assert.equal(rows(sent)[2], "Location sent: 1100 ", "a long location scrolls on its row");
    const up = at(sent, { type: "call-progress", callId: 1, state: "connected", at: 5000 });
    assert.equal(rows(up)[1], "Emergency 911 2:00  ");
    const none = at(sos, { type: "emergency-location-sent", callId: 1, text: null });
    assert.equal(rows(none)[2], "No location sent    ");
  });

  it("a refused key's notice takes the title row, never the location; no Hold or Transfer softkeys", () => {
    const sent = at(sos, { type: "emergency-location-sent", callId: 1, text });
    const up = at(sent, { type: "call-progress", callId: 1, state: "connected", at: 5000 });
    const held = press(up, "HOLD");
    assert.deepEqual(view(held).title, "Not during an emergency call");
    assert.deepEqual(rows(held).slice(1), ["Emergency 911 2:00  ", "Location sent: 1100 ", "               End  "]);
  });

  it("a call held before the emergency call is listed below it", () => {
    let s = keys(reduce(initialState(cfg), { type: "hook", state: "off", at: 0 }).state, "1003");
    s = at(s, { type: "call-progress", callId: 1, state: "connected", at: 1000 });
    s = at(press(s, "HOLD"), { type: "call-held", callId: 1, held: true });
    s = keys(s, "911");
    assert.deepEqual(view(s).body, ["Emergency call 911", "Stay on the line", "Held: 1003"]);
    assert.deepEqual(view(s).softkeys, ["", "", "", "End"]);
  });

  it("the location prompt: two rows and a Skip softkey; dismissed under disclaimer, the disclaimer", () => {
    const ask = initialState({ ...cfg, emergency: { locationRequired: "disclaimer" as const, disclaimer: "Tell 911 where you are" } });
    assert.deepEqual(rows(ask), ["x1001 Alice    09:41", "Location needed     ", "OK to enter location", "Redi DND  Skip Menu "]);
    const skipped = press(ask, "SOFT3");
    assert.deepEqual(rows(skipped).slice(1), ["Tell 911 where you  ", "are                 ", "Redi DND       Menu "], "read, not scrolled: both rows");
    const located = at(ask, { type: "location", location: { text, source: "lis" } });
    assert.equal(rows(located)[1], "Ready               ");
  });

  it("the callback window: the idle screen says so, and what it bypasses for how long", () => {
    let s = press(initialState(cfg), "DND");
    s = keys(s, "911");
    s = at(s, { type: "call-ended", callId: 1, reason: "remote-hangup", at: 60_000, wallAt: 0 });
    s = at(s, { type: "timer", id: "ended", at: 63_000 });
    assert.equal(s.mode, "idle");
    assert.deepEqual(view(s, 5 * 60_000).body, ["Ready", "Emergency callback", "DND paused: 26 min"]);
    assert.deepEqual(rows(s).slice(1, 3), ["Ready               ", "Emergency callback  "]);
    const over = at(s, { type: "timer", id: "emergency-callback", at: 60_000 + 30 * 60_000 });
    assert.deepEqual(rows(over).slice(1, 3), ["Ready               ", "Do not disturb      "]);
  });

  it("Location menu and the entry: field and step on the title row, the text with the pending letter, the hint", () => {
    let s = at(initialState(cfg), { type: "location", location: { text, source: "manual" } });
    for (const k of ["MENU", "DOWN", "DOWN", "DOWN", "OK"]) s = press(s, k);
    assert.deepEqual(rows(s), ["Location       09:41", ">1100 N Lamar BLVD, ", " Source: manual     ", "          Back OK   "]);
    assert.deepEqual(view(s).body, [text, "Source: manual", "Enter location", "Clear manual entry"]);
    for (const k of ["DOWN", "DOWN", "OK", "1", "1", "0", "0", "#", "6", "6"]) s = press(s, k);
    assert.deepEqual(rows(s), ["Street 2/9     09:41", "N                   ", "# = next field      ", "Save Abc  Dele Next "]);
    s = at(s, { type: "timer", id: "multitap" });
    assert.equal(rows(s)[1], "N_                  ");
    const country = ["#", "#", "#", "#"].reduce(press, s);
    assert.deepEqual(rows(country), ["Country 6/9    09:41", "US_                 ", "2 letters, e.g. US  ", "Save      Dele Next "]);
    const room = ["#", "#", "#"].reduce(press, country);
    assert.deepEqual(rows(room).slice(2), ["# = save            ", "Save ABC  Dele Save "]);
    const long = keys({ ...room, locationEntry: { ...room.locationEntry!, mode: "123" } }, "1234567890123456789012");
    assert.equal(rows(long)[1], "<45678901234567890_ ", "a long value shows its tail (a room holds 20)");
  });
});

describe("a notice over a menu (Menu > Delegates)", () => {
  // the boss 1001 with two delegates; the menu opened with key presses at 5 s (the shell stamps keys with its clock)
  const cfg = {
    ...config,
    ownNumber: "1001",
    delegation: { enabled: true, delegates: [{ number: "1002", name: "Dave" }, { number: "1006" }], ringMode: "simultaneous" as const, ringDelayMs: 0, bosses: [] },
  };
  const at = (s: PhoneState, ev: Parameters<typeof reduce>[1]): PhoneState => reduce(s, ev).state;
  const press = (s: PhoneState, k: string, t = 5000): PhoneState => at(s, { type: "key", key: k, down: true, at: t });
  const menu = ["MENU", "DOWN", "DOWN", "DOWN", "DOWN", "OK"].reduce((s, k) => press(s, k), initialState(cfg));
  const REFUSAL = "Delegates not saved: delegates: no user with extension 1999";
  const refused = at(menu, { type: "delegation-notice", text: REFUSAL });
  const view = (s: PhoneState) => viewOf(s, { ...ctx, now: 6000 });
  const screen = (s: PhoneState, cols: number, rows: number, tMs = 6000) => renderText(view(s), cols, rows, tMs);

  it("the menu is Menu > Delegates, its cursor on the first delegate", () => {
    assert.deepEqual(menu.menu?.stack, ["main", "delegates"]);
    assert.deepEqual(screen(menu, 20, 4), ["Delegates      09:41", ">1002 Dave          ", " 1006               ", "     Dele Back      "]);
  });

  it("20x4: the service's refusal takes the title's place, from its start; the cursor's line and the next stay", () => {
    assert.deepEqual(view(refused).body, ["1002 Dave", "1006", "Ring: at once", "Add delegate"], "not a line of the menu");
    assert.equal(view(refused).notice, REFUSAL);
    assert.deepEqual(screen(refused, 20, 4), ["Delegates not  09:41", ">1002 Dave          ", " 1006               ", "     Dele Back      "]);
    // it scrolls from the key that asked (5 s): the rest of it comes by on the same row, the menu staying put
    const seen = new Set<string>();
    for (let t = 5000; t < 40_000; t += 100) {
      const rows = screen(refused, 20, 4, t);
      seen.add(rows[0].slice(0, 14));
      assert.deepEqual(rows.slice(1), [">1002 Dave          ", " 1006               ", "     Dele Back      "]);
    }
    for (const part of ["Delegates not ", "no user with e", "xtension 1999 "]) assert.ok(seen.has(part), `'${part}' on the title row`);
  });

  it("the cursor on the last line: still in view with the notice (Removed Dave, Delegates ring after 10 s)", () => {
    const removed = press(menu, "SOFT2", 7000);
    assert.equal(removed.notice, "Removed Dave");
    assert.deepEqual(screen(removed, 20, 4, 7000), ["Removed Dave   09:41", ">1006               ", " Ring: at once      ", "     Dele Back      "]);
    const ring = press(press(menu, "DOWN"), "DOWN");
    const ten = press(press(ring, "OK"), "OK", 8000);
    assert.equal(ten.notice, "Delegates ring after 10 s");
    assert.deepEqual(screen(ten, 20, 4, 8000), ["Delegates ring 09:41", " 1006               ", ">Ring: after 10 s   ", "          Back OK   "]);
    const last = press(ring, "DOWN");
    assert.deepEqual(screen({ ...last, notice: "Added delegate 1002" }, 20, 4, 5000).slice(0, 3), ["Added delegate 09:41", " Ring: at once      ", ">Add delegate       "]);
  });

  it("16x2: the notice on the status row too, the cursor's line below it", () => {
    assert.deepEqual(screen(refused, 16, 2, 5000), ["Delegates  09:41", ">1002 Dave      "]);
  });

  it("the next key takes it away: the title again", () => {
    const moved = press(refused, "DOWN", 9000);
    assert.equal(moved.notice, "");
    assert.equal(view(moved).notice, undefined);
    assert.deepEqual(screen(moved, 20, 4, 9000).slice(0, 2), ["Delegates      09:41", " 1002 Dave          "]);
  });

  it("outside menus a notice shows as before (the idle screen's first line)", () => {
    const idle = press(refused, "END");
    const told = at(idle, { type: "delegation-notice", text: "You are now a delegate of 1000 Kim Lee" });
    assert.equal(view(told).notice, undefined);
    assert.equal(view(told).body[0], "You are now a delegate of 1000 Kim Lee");
    assert.equal(screen(told, 20, 4)[0], "x1001 Alice    09:41");
  });
});

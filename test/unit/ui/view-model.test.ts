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

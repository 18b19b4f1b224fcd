import assert from "node:assert/strict";
import { renderText, scrollWindow, SCROLL_PAUSE_MS, SCROLL_STEP_MS } from "../../../src/ui/text-renderer.js";
import { glyphChar, lcdGlyphs } from "../../../src/ui/lcd-glyphs.js";
import type { Screen } from "../../../src/ui/screen.js";

const idle: Screen = { title: "1001 Alice", clock: "14:05", icons: ["registered", "message"], body: ["", "2 new messages"], softkeys: ["Redial", "DND", "Fwd", "Menu"] };

describe("character LCD layout", () => {
  it("lays out a 20x4 screen: icons as glyph characters, title, clock, body, softkeys", () => {
    const rows = renderText(idle, 20, 4);
    assert.deepEqual(rows, [
      `${glyphChar("registered")}${glyphChar("message")}1001 Alice   14:05`,
      "                    ",
      "2 new messages      ",
      "Redi DND  Fwd  Menu ",
    ]);
  });

  it("drops the softkeys on a 16x2 and keeps the first body line", () => {
    const rows = renderText({ ...idle, body: ["Ready"] }, 16, 2);
    assert.deepEqual(rows, [`${glyphChar("registered")}${glyphChar("message")}1001 Ali 14:05`, "Ready           "]);
  });

  it("marks the selected menu line and keeps it in view", () => {
    const menu: Screen = { title: "Menu", body: ["Settings", "Call history", "Directory", "Location", "About"], selected: 3, softkeys: ["", "", "Back", "OK"] };
    assert.deepEqual(renderText(menu, 20, 4), ["Menu                ", " Directory          ", ">Location           ", "          Back OK   "]);
  });

  it("puts a menu's notice in the title's place (icons and clock stay), every body row keeping its line", () => {
    const menu: Screen = { title: "Delegates", clock: "09:41", icons: ["dnd"], body: ["1002 Dave", "1006", "Ring: at once", "Add delegate"], selected: 3, softkeys: ["", "Delete", "Back", ""], notice: "Removed Dave" };
    assert.deepEqual(renderText(menu, 20, 4), [`${glyphChar("dnd")}Removed Dave  09:41`, " Ring: at once      ", ">Add delegate       ", "     Dele Back      "]);
    assert.deepEqual(renderText(menu, 16, 2), [`${glyphChar("dnd")}Removed D 09:41`, ">Add delegate   "]);
    assert.deepEqual(renderText({ ...menu, notice: "" }, 20, 4)[0], `${glyphChar("dnd")}Delegates     09:41`);
    // no menu on two rows: a notice keeps the status row (the body's second line does not take it)
    assert.deepEqual(renderText({ title: "x", body: ["a", "b"], notice: "Saved" }, 16, 2), ["Saved           ", "a               "]);
  });

  it("scrolls a long notice from when it came (noticeSince), else on the clock", () => {
    const text = "Delegates not saved: delegates: no user with extension 1999";
    const menu: Screen = { title: "Delegates", clock: "09:41", body: ["1002 Dave"], selected: 0, notice: text, noticeSince: 100_000 };
    const title = (s: Screen, t: number): string => renderText(s, 20, 4, t)[0].slice(0, 14);
    assert.equal(title(menu, 100_000), "Delegates not ");
    assert.equal(title(menu, 100_000 + SCROLL_PAUSE_MS - 1), "Delegates not ", "its start first, for the usual pause");
    assert.equal(title(menu, 100_000 + SCROLL_PAUSE_MS + SCROLL_STEP_MS * 10), "not saved: del");
    assert.equal(title(menu, 99_000), "Delegates not ", "a clock behind it: its start");
    assert.equal(title({ ...menu, noticeSince: undefined }, 100_000), scrollWindow(text, 14, 100_000));
  });

  it("scrolls a long name: pause at the start, then one character per step", () => {
    const name = "Call from Bartholomew Featherstonehaugh";
    assert.equal(scrollWindow(name, 16, 0), "Call from Bartho");
    assert.equal(scrollWindow(name, 16, SCROLL_PAUSE_MS - 1), "Call from Bartho");
    assert.equal(scrollWindow(name, 16, SCROLL_PAUSE_MS + SCROLL_STEP_MS * 5), "from Bartholomew");
    assert.equal(scrollWindow("short", 16, 99999), "short           ");
  });

  it("has a 5x8 glyph for every slot", () => {
    const g = lcdGlyphs();
    assert.equal(g.length, 8);
    for (const { slot, rows } of g) {
      assert.ok(slot >= 0 && slot < 8);
      assert.equal(rows.length, 8);
      assert.ok(rows.every((r) => r >= 0 && r < 32));
    }
  });
});

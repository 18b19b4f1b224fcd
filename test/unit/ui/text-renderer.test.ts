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

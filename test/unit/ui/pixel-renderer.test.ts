import assert from "node:assert/strict";
import { createPixelRenderer } from "../../../src/ui/pixel-renderer.js";
import type { Screen } from "../../../src/ui/screen.js";
import { matchSnapshot } from "../../support/snapshot.js";
import { initialState, type PhoneState } from "../../../src/phone/core/phone-state.js";
import { reduce } from "../../../src/phone/core/reduce.js";
import { viewOf } from "../../../src/ui/view-model.js";

const idle: Screen = { title: "1001 Alice", clock: "14:05", icons: ["registered", "message"], body: ["Ready", "2 new messages"], softkeys: ["Redial", "DND", "Fwd", "Menu"] };
const menu: Screen = { title: "Menu", body: ["Settings", "Call history", "Directory", "Location", "About"], selected: 1, softkeys: ["", "", "Back", "OK"] };

const ascii = (w: number, h: number, px: Uint8Array): string =>
  Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => (px[y * w + x] ? "#" : ".")).join("")).join("\n") + "\n";

describe("pixel display rendering", function () {
  this.timeout(10000);

  it("draws text with the shipped font on a 128x64 mono panel (snapshot)", async () => {
    const r = await createPixelRenderer(128, 64);
    const out = r.render(idle);
    const lit = out.mono.pixels.reduce((a, b) => a + b, 0);
    assert.ok(lit > 300, `text and bars are drawn (${lit} lit pixels)`);
    await matchSnapshot("ui/idle-128x64.txt", ascii(128, 64, out.mono.pixels));
    await matchSnapshot("ui/menu-128x64.txt", ascii(128, 64, r.render(menu).mono.pixels));
  });

  it("draws a 320x240 colour screen (PNG snapshot)", async () => {
    const r = await createPixelRenderer(320, 240, { colour: true });
    const out = r.render(idle);
    assert.equal(out.png.subarray(1, 4).toString("latin1"), "PNG");
    await matchSnapshot("ui/idle-320x240.png", out.png);
  });

  it("renders the same screen the same way every time", async () => {
    const r = await createPixelRenderer(128, 64);
    assert.deepEqual(r.render(menu).mono.pixels, r.render(menu).mono.pixels);
  });
});

describe("a notice over a menu on a pixel panel (Menu > Delegates)", function () {
  this.timeout(10000);
  const config = {
    dialPlan: { emergencyNumbers: ["911"], outsideLinePrefix: "9", extensionLength: 4 },
    lockPin: "2580",
    interdigitMs: 4000,
    ownNumber: "1001",
    delegation: { enabled: true, delegates: [{ number: "1002", name: "Dave" }, { number: "1006" }], ringMode: "simultaneous" as const, ringDelayMs: 0, bosses: [] },
  };
  const press = (s: PhoneState, k: string): PhoneState => reduce(s, { type: "key", key: k, down: true, at: 5000 }).state;
  const menu = ["MENU", "DOWN", "DOWN", "DOWN", "DOWN", "OK"].reduce(press, initialState(config));
  const REFUSAL = "Delegates not saved: delegates: no user with extension 1999";
  const refused = viewOf(reduce(menu, { type: "delegation-notice", text: REFUSAL }).state, { clock: "09:41", lineName: "1001 Alice", now: 6000 });
  /** Rows y0..y1 (exclusive) of a mono frame, as text. */
  const band = (px: Uint8Array, y0: number, y1: number): string => ascii(128, 64, px).split("\n").slice(y0, y1).join("\n");

  it("128x64: the notice is drawn on a line of its own above the softkeys, from its start", async () => {
    const r = await createPixelRenderer(128, 64);
    assert.equal(refused.notice, REFUSAL);
    assert.equal(refused.body.length, 4, "the menu's four lines, the notice not among them");
    const shown = r.render(refused, 6000).mono.pixels;
    // the same text as a body line (no menu, row 4 at y 42) draws the same pixels as the notice's line (y 44, under
    // the rule at y 43): the notice's start is on the glass
    const asLine = r.render({ title: "", body: ["", "", "", REFUSAL], softkeys: refused.softkeys }, 0).mono.pixels;
    assert.equal(band(shown, 44, 54), band(asLine, 42, 52));
    assert.ok(band(shown, 44, 54).includes("#"));
    assert.equal(band(shown, 43, 44), "#".repeat(128), "a rule above it");
    // before (the notice a fifth body line) nothing of it was drawn on 128x64: the body's four rows held the menu
    const before = r.render({ ...refused, notice: undefined, body: [...refused.body, REFUSAL] }, 6000).mono.pixels;
    assert.notEqual(band(before, 44, 54), band(asLine, 42, 52));
  });

  it("128x64: the cursor's line stays in view above the notice, even on the menu's last line", async () => {
    const r = await createPixelRenderer(128, 64);
    const last = r.render({ ...refused, selected: 3 }, 6000).mono.pixels;
    // the selected line is lit across the panel (x 127); three list rows at y 12, 22, 32: the last (Add delegate) at 32
    const litRows = Array.from({ length: 64 }, (_, y) => y).filter((y) => y >= 12 && y < 43 && last[y * 128 + 127]);
    assert.deepEqual([litRows[0], litRows.at(-1)], [32, 41]);
    assert.deepEqual(r.render({ ...refused, notice: "Removed Dave" }, 6000).mono.pixels.slice(0, 43 * 128), r.render(refused, 6000).mono.pixels.slice(0, 43 * 128), "the list is the same whatever the notice says");
  });

  it("320x240: the notice's line above the softkeys, the list above it unchanged", async () => {
    const r = await createPixelRenderer(320, 240, { colour: true });
    const withNotice = r.render(refused, 6000);
    const without = r.render({ ...refused, notice: undefined }, 6000);
    const diffRows = new Set<number>();
    for (let p = 0; p < withNotice.mono.pixels.length; p++) if (withNotice.mono.pixels[p] !== without.mono.pixels[p]) diffRows.add(Math.floor(p / 320));
    assert.ok(diffRows.size > 0);
    assert.ok(Math.min(...diffRows) >= 190 && Math.max(...diffRows) < 216, `only the notice's line changes (rows ${Math.min(...diffRows)}..${Math.max(...diffRows)})`);
  });
});

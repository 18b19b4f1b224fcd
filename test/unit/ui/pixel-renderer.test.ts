import assert from "node:assert/strict";
import { createPixelRenderer } from "../../../src/ui/pixel-renderer.js";
import type { Screen } from "../../../src/ui/screen.js";
import { matchSnapshot } from "../../support/snapshot.js";

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

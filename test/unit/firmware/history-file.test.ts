// The call history file: read back as saved, a missing or damaged file (or damaged entries) read as an empty history,
// saves kept in order with saved() waiting for the last one.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HistorySaver, readHistory } from "../../../firmware/history-file.js";
import type { HistoryEntry } from "../../../src/phone/core/phone-state.js";

describe("the call history file", () => {
  let dir: string;
  beforeEach(async () => (dir = await fs.mkdtemp(path.join(os.tmpdir(), "history-file-"))));
  afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

  const entry = (number: string, at: number): HistoryEntry => ({ number, at }) as HistoryEntry;

  it("missing, not JSON, or not a list: an empty history", async () => {
    const file = path.join(dir, "history.json");
    assert.deepEqual(await readHistory(file), []);
    await fs.writeFile(file, "{not json");
    assert.deepEqual(await readHistory(file), []);
    await fs.writeFile(file, JSON.stringify({ number: "1002", at: 1 }));
    assert.deepEqual(await readHistory(file), []);
  });

  it("entries without a number or a time are left out", async () => {
    const file = path.join(dir, "history.json");
    await fs.writeFile(file, JSON.stringify([entry("1002", 1), null, { number: 1003, at: 2 }, { number: "1004" }, entry("1005", 3)]));
    assert.deepEqual(await readHistory(file), [entry("1002", 1), entry("1005", 3)]);
  });

  it("saves one after another: saved() resolves once the last is on disk", async () => {
    const file = path.join(dir, "history.json");
    const warnings: string[] = [];
    const saver = new HistorySaver(file, { warn: (_o, m) => void warnings.push(m) });
    saver.save([entry("1002", 1)]);
    saver.save([entry("1002", 1), entry("1003", 2)]);
    await saver.saved();
    assert.deepEqual(await readHistory(file), [entry("1002", 1), entry("1003", 2)]);
    assert.deepEqual(warnings, []);
  });

  it("a failed save is a warning, and later saves still run", async () => {
    const file = path.join(dir, "missing-dir", "history.json");
    const warnings: string[] = [];
    const saver = new HistorySaver(file, { warn: (_o, m) => void warnings.push(m) });
    saver.save([entry("1002", 1)]);
    await saver.saved();
    assert.deepEqual(warnings, ["cannot save the call history"]);
    await fs.mkdir(path.dirname(file));
    saver.save([entry("1003", 2)]);
    await saver.saved();
    assert.deepEqual(await readHistory(file), [entry("1003", 2)]);
  });
});

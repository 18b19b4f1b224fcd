// File snapshots: compared byte for byte; written only when UPDATE_SNAPSHOTS=1 (a missing snapshot fails).
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL("../snapshots/", import.meta.url));

export async function matchSnapshot(name: string, actual: Buffer | string): Promise<void> {
  const file = path.join(dir, name);
  const data = typeof actual === "string" ? Buffer.from(actual) : actual;
  if (process.env.UPDATE_SNAPSHOTS === "1") {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, data);
    return;
  }
  const expected = await fs.readFile(file).catch(() => undefined);
  assert.ok(expected, `no snapshot ${file}: run with UPDATE_SNAPSHOTS=1 after checking the output by eye`);
  if (!expected.equals(data)) {
    await fs.writeFile(file + ".actual", data);
    assert.fail(`${name} differs from its snapshot; the new output is in ${file}.actual`);
  }
}

import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomic } from "../../../src/base/atomic-file.js";
import { isPhoneError } from "../../../src/base/errors.js";

describe("writeFileAtomic", () => {
  let dir: string;
  beforeEach(async () => (dir = await fs.mkdtemp(path.join(os.tmpdir(), "atomic-"))));
  afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

  it("replaces the content and leaves no temp file", async () => {
    const f = path.join(dir, "config.json");
    await writeFileAtomic(f, "old");
    await writeFileAtomic(f, "new", { mode: 0o600 });
    assert.equal(await fs.readFile(f, "utf8"), "new");
    assert.equal((await fs.stat(f)).mode & 0o777, 0o600);
    assert.deepEqual(await fs.readdir(dir), ["config.json"]);
  });

  it("keeps the old file and reports a PhoneError when the write cannot happen", async () => {
    const f = path.join(dir, "missing-dir", "x.json");
    await assert.rejects(writeFileAtomic(f, "data"), (e: unknown) => isPhoneError(e, "PHONE_ERR_STORE_IO") && /missing-dir/.test((e as Error).message));
    const g = path.join(dir, "keep.json");
    await writeFileAtomic(g, "kept");
    await fs.chmod(dir, 0o500);
    try {
      // root ignores directory permissions; only assert when the failure really happens
      const failed = await writeFileAtomic(g, "lost").then(() => false, () => true);
      if (failed) assert.equal(await fs.readFile(g, "utf8"), "kept");
      else assert.equal(await fs.readFile(g, "utf8"), "lost");
    } finally {
      await fs.chmod(dir, 0o700);
    }
    assert.deepEqual((await fs.readdir(dir)).filter((n) => n.endsWith(".tmp")), []);
  });
});

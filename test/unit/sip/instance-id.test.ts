import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../../src/base/log.js";
import { INSTANCE_ID_FILE, isUuid, loadInstanceId, type InstanceIdIo } from "../../../src/sip/instance-id.js";

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function capture(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: createLogger({ level: "debug", destination: sink }), lines };
}

/** An error as node:fs gives it (`code` set). */
function fsError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: i/o error, open`), { code });
}

describe("instance id (RFC 5626 +sip.instance, kept in DATA_DIR/instance-id)", () => {
  let dir: string;
  beforeEach(async () => (dir = await fs.mkdtemp(path.join(os.tmpdir(), "instance-id-"))));
  afterEach(async () => fs.rm(dir, { recursive: true, force: true }));
  const file = (): string => path.join(dir, INSTANCE_ID_FILE);

  it("is created once (a UUID v4, atomically: no temp file left) and is the same on the next load", async () => {
    const { log, lines } = capture();
    const id = await loadInstanceId(dir, log);
    assert.match(id, V4);
    assert.equal(await fs.readFile(file(), "utf8"), `${id}\n`);
    assert.deepEqual(await fs.readdir(dir), [INSTANCE_ID_FILE]);
    assert.ok(lines.some((l) => l.level === 30 && l.instanceId === id && /created/.test(String(l.msg))), "its creation is logged");
    const before = lines.length;
    assert.equal(await loadInstanceId(dir, log), id, "the same id on the second load (a restart)");
    assert.equal(lines.length, before, "a good file is read quietly");
    assert.equal(await fs.readFile(file(), "utf8"), `${id}\n`, "and not rewritten");
  });

  it("reads a valid id as it is (upper case or surrounded by blanks), lower-cased, and never rewrites it", async () => {
    const text = "  6F1C3B8E-2D4A-4C5E-9F70-1A2B3C4D5E6F \n";
    await fs.writeFile(file(), text);
    const { log } = capture();
    assert.equal(await loadInstanceId(dir, log), "6f1c3b8e-2d4a-4c5e-9f70-1a2b3c4d5e6f");
    assert.equal(await fs.readFile(file(), "utf8"), text, "the file is left as it was");
  });

  for (const [what, content] of [
    ["garbage", "not-a-uuid at all\n"],
    ["empty", ""],
    ["a torn UUID", "6f1c3b8e-2d4a-4c5e-9f70"],
  ] as const) {
    it(`a file that is not a UUID (${what}) is replaced by a new id with a clear warning, not a crash`, async () => {
      await fs.writeFile(file(), content);
      const { log, lines } = capture();
      const id = await loadInstanceId(dir, log);
      assert.match(id, V4);
      assert.equal(await fs.readFile(file(), "utf8"), `${id}\n`, "the file now holds the new id");
      const warning = lines.find((l) => l.level === 40);
      assert.ok(warning, "a warning is logged");
      assert.match(String(warning.msg), /instance id file is broken: replaced/);
      assert.match(String(warning.problem), what === "empty" ? /empty/ : /not a UUID/);
      assert.equal(warning.file, file());
      assert.equal(await loadInstanceId(dir, capture().log), id, "and stays from then on");
    });
  }

  it("a read error other than ENOENT (EIO from a failing SD card): an id for this run only, the file never rewritten", async () => {
    const kept = "6f1c3b8e-2d4a-4c5e-9f70-1a2b3c4d5e6f\n";
    await fs.writeFile(file(), kept);
    const writes: string[] = [];
    let failing = true;
    const io: InstanceIdIo = {
      readFile: async (f) => {
        if (failing) throw fsError("EIO");
        return fs.readFile(f, "utf8");
      },
      writeFile: async (f, text) => {
        writes.push(text);
        await fs.writeFile(f, text);
      },
    };
    const { log, lines } = capture();
    const id = await loadInstanceId(dir, log, io);
    assert.match(id, V4);
    assert.notEqual(id, kept.trim(), "not the kept id (it could not be read)");
    assert.deepEqual(writes, [], "nothing written");
    assert.equal(await fs.readFile(file(), "utf8"), kept, "the kept id is untouched");
    const err = lines.find((l) => l.level === 50);
    assert.ok(err, "an error is logged");
    assert.match(String(err.problem), /unreadable \(EIO\)/);
    assert.match(String(err.msg), /for this run only/);
    assert.equal(lines.some((l) => l.level === 40 && /replaced/.test(String(l.msg))), false, "no 'replaced' warning");
    // the card recovers: the next start reads the phone's id (and its GRUU) as before
    failing = false;
    assert.equal(await loadInstanceId(dir, capture().log, io), kept.trim());
    assert.deepEqual(writes, []);
  });

  it("a directory where the file should be (EISDIR): an id for this run, logged, nothing written, no throw", async () => {
    await fs.mkdir(file());
    await fs.writeFile(path.join(file(), "x"), "x");
    const { log, lines } = capture();
    const id = await loadInstanceId(dir, log);
    assert.match(id, V4);
    assert.ok(lines.some((l) => l.level === 50 && /unreadable \(EISDIR\)/.test(String(l.problem))));
    assert.deepEqual(await fs.readdir(file()), ["x"], "the directory is left as it was");
    assert.deepEqual((await fs.readdir(dir)).filter((n) => n.endsWith(".tmp")), [], "no temp file left behind");
  });

  it("a file that cannot be written (no data directory): an id for this run, an error logged, no throw", async () => {
    const { log, lines } = capture();
    const missing = path.join(dir, "no-such-dir");
    const id = await loadInstanceId(missing, log);
    assert.match(id, V4);
    assert.ok(lines.some((l) => l.level === 50 && /cannot save the SIP instance id/.test(String(l.msg))));
  });

  it("isUuid", () => {
    assert.equal(isUuid("6f1c3b8e-2d4a-4c5e-9f70-1a2b3c4d5e6f"), true);
    assert.equal(isUuid("urn:uuid:6f1c3b8e-2d4a-4c5e-9f70-1a2b3c4d5e6f"), false);
    assert.equal(isUuid("6f1c3b8e2d4a4c5e9f701a2b3c4d5e6f"), false);
  });
});

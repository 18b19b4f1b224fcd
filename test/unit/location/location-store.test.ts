// The location file: what is saved comes back after a "restart" (a new store on the same file), manual locations are
// kept per gateway MAC whatever its spelling, writes queue so the last state wins, and a missing, corrupt or partly
// wrong file never stops the boot: the store starts (partly) empty, says why, and keeps the bad file as FILE.bad.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocationStore, validateStoreData } from "../../../src/location/location-store.js";
import type { KnownLocation } from "../../../src/location/location-types.js";

const lisLoc: KnownLocation = {
  source: "lis",
  pidf: '<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:1001@example.com"/>',
  text: "1100 N Lamar BLVD, Tower 2, Fl 3",
  civic: { country: "US", HNO: "1100", PRD: "N", RD: "Lamar", STS: "BLVD", BLD: "Tower 2", FLR: "3" },
  elin: "5125550123",
  obtainedAt: Date.UTC(2026, 0, 15),
  lisUrl: "https://lis.example.com/held",
};

describe("location store", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "locstore-"));
    file = path.join(dir, "sub", "location.json");
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it("keeps the current location and manual entries across a restart, in the documented shape", async () => {
    const a = new LocationStore(file);
    assert.deepEqual(await a.load(), { data: { manual: {} } }, "no file yet: empty, nothing to report");
    await a.setCurrent(lisLoc, "00-1B-54-AA-BB-CC");
    await a.setManual("00:1b:54:aa:bb:cc", { country: "us", RD: "Main", HNO: "1" }, 1000);
    await a.setManual("02FC00000005", { country: "DE", RD: "Hauptstr." }, 2000);
    const json = JSON.parse(await fs.readFile(file, "utf8"));
    assert.deepEqual(Object.keys(json).sort(), ["current", "currentNetwork", "manual"]);
    assert.deepEqual(json.manual["00:1b:54:aa:bb:cc"], { civic: { country: "US", RD: "Main", HNO: "1" }, enteredAt: 1000 });
    assert.equal(((await fs.stat(file)).mode & 0o777).toString(8), "644");
    const b = new LocationStore(file);
    const r = await b.load();
    assert.equal(r.problem, undefined);
    assert.deepEqual(b.current(), { location: lisLoc, network: "00:1b:54:aa:bb:cc" });
    assert.deepEqual(b.manualFor("00-1b-54-AA-BB-CC"), { civic: { country: "US", RD: "Main", HNO: "1" }, enteredAt: 1000 });
    assert.deepEqual(b.manualFor("02:fc:00:00:00:05")?.civic, { country: "DE", RD: "Hauptstr." });
    assert.equal(b.manualFor("02:fc:00:00:00:06"), null);
    assert.equal(b.manualFor(null), null);
    await b.clearManual("02:FC:00:00:00:05");
    await b.setCurrent(null);
    const c = new LocationStore(file);
    await c.load();
    assert.equal(c.current(), null);
    assert.deepEqual(Object.keys(c.manualEntries()), ["00:1b:54:aa:bb:cc"]);
  });

  it("a corrupt file: starts empty, says why, keeps the file as .bad, and the next save writes a good one", async () => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, '{"current": {"source": "lis", "pidf": "<presence', "utf8");
    const s = new LocationStore(file);
    const r = await s.load();
    assert.deepEqual(r.data, { manual: {} });
    assert.match(r.problem ?? "", /location\.json is not valid JSON \(.+\); starting without a cached location/);
    assert.equal(await fs.readFile(`${file}.bad`, "utf8"), '{"current": {"source": "lis", "pidf": "<presence');
    await s.setCurrent(lisLoc);
    assert.deepEqual(JSON.parse(await fs.readFile(file, "utf8")).current, lisLoc);
    for (const junk of ["[1,2]", "null", '"x"']) {
      await fs.writeFile(file, junk);
      assert.match((await new LocationStore(file).load()).problem ?? "", /does not hold a JSON object/, junk);
    }
  });

  it("a partly wrong file: bad entries are dropped one by one with the reason, good ones kept", async () => {
    const r = validateStoreData({
      current: { ...lisLoc, source: "gps" },
      manual: {
        "00:1b:54:aa:bb:cc": { civic: { country: "US", RD: "Main" }, enteredAt: 5 },
        "not-a-mac": { civic: { country: "US" }, enteredAt: 5 },
        "02:fc:00:00:00:05": { civic: { country: "USA" }, enteredAt: 5 },
        "02:fc:00:00:00:06": { civic: { country: "US" } },
        "02:fc:00:00:00:07": { civic: { country: "US", RD: 7 }, enteredAt: 5 },
      },
    });
    assert.deepEqual(r.data, { manual: { "00:1b:54:aa:bb:cc": { civic: { country: "US", RD: "Main" }, enteredAt: 5 }, "02:fc:00:00:00:07": { civic: { country: "US" }, enteredAt: 5 } } });
    assert.equal(
      r.problem,
      "the cached location was dropped: unknown source 'gps'; the manual location for not-a-mac was dropped: 'not-a-mac' is not a MAC address; the manual location for 02:fc:00:00:00:05 was dropped: the country code 'USA' is not two letters (ISO 3166-1); the manual location for 02:fc:00:00:00:06 was dropped: its time is missing; the manual location for 02:fc:00:00:00:07: RD is not text; left out",
    );
    for (const [bad, why] of [
      [{ ...lisLoc, pidf: "" }, /its PIDF-LO is missing/],
      [{ ...lisLoc, text: undefined }, /its text is missing/],
      [{ ...lisLoc, obtainedAt: "yesterday" }, /its time is missing/],
      [{ ...lisLoc, elin: "911" }, /its ELIN is not 10-25 digits/],
      [{ ...lisLoc, civic: "Main St" }, /the civic address is not an object/],
      ["x", /it is not an object/],
    ] as const) {
      const v = validateStoreData({ current: bad, manual: {} });
      assert.equal(v.data.current, undefined);
      assert.match(v.problem ?? "", why);
    }
    assert.match(validateStoreData({ manual: [] }).problem ?? "", /the manual locations are not an object/);
  });

  it("load() reports an unreadable file instead of throwing; a failed save is logged, not thrown", async () => {
    await fs.mkdir(file, { recursive: true }); // a directory where the file should be
    const r = await new LocationStore(file).load();
    assert.match(r.problem ?? "", /could not read .*location\.json: .*; starting without a cached location/);
    const blocked = path.join(dir, "a-file");
    await fs.writeFile(blocked, "");
    const s = new LocationStore(path.join(blocked, "location.json")); // its parent is a file: every write fails
    await s.setCurrent(lisLoc);
    await s.flushed();
    assert.deepEqual(s.current()?.location, lisLoc, "kept in memory");
  });

  it("queues writes: many changes without waiting leave the last state on disk", async () => {
    const s = new LocationStore(file);
    await s.load();
    for (let i = 0; i < 20; i++) void s.setManual("00:1b:54:aa:bb:cc", { country: "US", ROOM: String(i) }, i);
    void s.setCurrent({ ...lisLoc, text: "last" });
    await s.flushed();
    const t = new LocationStore(file);
    await t.load();
    assert.equal(t.manualFor("00:1b:54:aa:bb:cc")?.civic.ROOM, "19");
    assert.equal(t.current()?.location.text, "last");
  });

  it("refuses a manual location it could not turn into a valid PIDF-LO, or a non-MAC key, storing nothing", async () => {
    const s = new LocationStore(file);
    await s.load();
    await assert.rejects(s.setManual("00:1b:54:aa:bb:cc", { country: "Germany" }, 1), /country code 'Germany' is not two letters/);
    await assert.rejects(s.setManual("gateway", { country: "DE" }, 1), /'gateway' is not a gateway MAC address/);
    assert.deepEqual(s.manualEntries(), {});
  });
});

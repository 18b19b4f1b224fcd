// The emergency caller between the location service and SIP, with fakes on both sides and a manual clock: the location
// waited for at most the budget (a slow one never holds the INVITE), the notification after the INVITE with TV-13's
// wording, a location that changes mid-call passed on (and no longer after the call), a failing location side never
// stopping the call, and the security desk called in once the PSAP answers, one-way or two-way.
import assert from "node:assert/strict";
import { ManualClock } from "../../../src/base/clock.js";
import { silentLogger } from "../../../src/base/log.js";
import { DEFAULT_LOCATION_POLICY, type KnownLocation, type LocationPolicy } from "../../../src/location/location-types.js";
import { buildPidfLo } from "../../../src/location/pidf-lo.js";
import { EmergencyCaller, notificationText, type EmergencyLocationSource, type EmergencySip } from "../../../src/phone/emergency-caller.js";

const civic = { country: "US", A1: "TX", A3: "Austin", PRD: "N", RD: "Lamar", STS: "BLVD", HNO: "1100", FLR: "3", PC: "78703", BLD: "Tower 2", UNIT: "Suite 300", ROOM: "3-214" };
const known = (flr = "3"): KnownLocation => ({
  source: "lis",
  pidf: buildPidfLo({ entity: "pres:x@example.com", tupleId: "t1", civic: { ...civic, FLR: flr }, method: "Wiremap", retransmissionAllowed: true, timestamp: new Date(0) }),
  text: `1100 N Lamar BLVD, Tower 2, Fl ${flr}, Suite 300, Rm 3-214`,
  civic: { ...civic, FLR: flr },
  obtainedAt: 0,
});

function fakes(clock: ManualClock, loc: { delayMs: number; value: KnownLocation | null; fail?: boolean }) {
  const log: string[] = [];
  const listeners = new Set<(l: KnownLocation | null) => void>();
  const location: EmergencyLocationSource = {
    forEmergency: (budget) =>
      loc.fail
        ? Promise.reject(new Error("store broken"))
        : new Promise((resolve) => {
            // the service's contract: the fresh one within the budget, else the cached one (here: null) at the budget
            if (loc.delayMs <= budget) clock.setTimeout(() => resolve(loc.value), loc.delayMs);
            else clock.setTimeout(() => resolve(null), budget);
          }),
    onChange: (cb) => {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
  };
  const sip: EmergencySip & { calls: string[] } = {
    calls: log,
    placeEmergency: (id, dial, o) => log.push(`invite ${id} ${dial} ${o.pidf ? "with-location" : "no-location"} at ${clock.now()}`),
    updateLocation: (id, pidf) => log.push(`update ${id} ${/<ca:FLR>(\d+)</.exec(pidf)?.[1]}`),
    notifyEmergency: (uris, text) => log.push(`notify ${uris.join(",")}: ${text}`),
    emergencyTest: async () => ({ code: 200, text: "ok" }),
  };
  return { location, sip, log, change: (l: KnownLocation | null) => listeners.forEach((cb) => cb(l)) };
}

const policy = (p: Partial<LocationPolicy> = {}): LocationPolicy => ({ ...DEFAULT_LOCATION_POLICY, notificationUris: ["sip:security@example.com"], ...p });
const caller = { name: "Alice", extension: "4321", callbackNumber: "+1 512 555 0100" };

describe("emergency caller", () => {
  it("TV-13's notification wording: who, callback, and the address with town, region and postcode", () => {
    assert.equal(notificationText("911", caller, known()), "Emergency call to 911 placed by Alice (x4321), callback +1 512 555 0100, location: 1100 N Lamar BLVD, Tower 2, Fl 3, Suite 300, Rm 3-214, Austin TX 78703");
    assert.equal(notificationText("112", { extension: "7" , callbackNumber: "7" }, null), "Emergency call to 112 placed by x7, callback 7, location: unknown");
  });

  it("a fresh location within the budget goes with the INVITE; the desk is told after it", async () => {
    const clock = new ManualClock();
    const f = fakes(clock, { delayMs: 40, value: known() });
    const c = new EmergencyCaller(f.sip, f.location, { policy: policy(), requestUri: "service-urn", lync: false, elinCallerId: false, caller, budgetMs: 200, clock, log: silentLogger() });
    const placed = c.place(1, "911");
    clock.advance(40);
    assert.deepEqual(await placed, { locationText: known().text });
    assert.match(f.log[0], /^invite 1 911 with-location at 40$/);
    assert.match(f.log[1], /^notify sip:security@example.com: Emergency call to 911 placed by Alice/);
  });

  it("a slow LIS: the INVITE leaves at the budget with what the service had (here none); a later location is sent as an update, until the call ends", async () => {
    const clock = new ManualClock();
    const f = fakes(clock, { delayMs: 2000, value: known() });
    const c = new EmergencyCaller(f.sip, f.location, { policy: policy(), requestUri: "service-urn", lync: false, elinCallerId: false, caller, budgetMs: 200, clock, log: silentLogger() });
    const placed = c.place(2, "911");
    clock.advance(200);
    assert.deepEqual(await placed, { locationText: null });
    assert.equal(f.log[0], "invite 2 911 no-location at 200");
    f.change(known("4"));
    assert.equal(f.log.at(-1), "update 2 4");
    c.ended(2);
    f.change(known("5"));
    assert.equal(f.log.at(-1), "update 2 4", "no update after the call ended");
  });

  it("a location side that fails, or a policy with enhanced emergency services off: the call goes at once without location", async () => {
    const clock = new ManualClock();
    const broken = fakes(clock, { delayMs: 0, value: known(), fail: true });
    const a = new EmergencyCaller(broken.sip, broken.location, { policy: policy(), requestUri: "service-urn", lync: false, elinCallerId: false, caller, budgetMs: 200, clock, log: silentLogger() });
    assert.deepEqual(await a.place(3, "911"), { locationText: null });
    assert.equal(broken.log[0], "invite 3 911 no-location at 0");
    const off = fakes(clock, { delayMs: 0, value: known() });
    const b = new EmergencyCaller(off.sip, off.location, { policy: policy({ enhancedEmergencyServicesEnabled: false, notificationUris: [] }), requestUri: "service-urn", lync: false, elinCallerId: false, caller, budgetMs: 200, clock, log: silentLogger() });
    assert.deepEqual(await b.place(4, "911"), { locationText: null });
    assert.deepEqual(off.log, ["invite 4 911 no-location at 0"]);
  });

  it("the security desk: called once the PSAP answers (not before, not in Lync mode), mixed one-way, hung up with the call", async () => {
    const clock = new ManualClock();
    const f = fakes(clock, { delayMs: 0, value: known() });
    const desk: string[] = [];
    const ports = {
      calls: { place: (id: number, to: string) => desk.push(`call ${id} ${to}`), hangup: (id: number) => desk.push(`hangup ${id}`) },
      audio: { setConference: (tags: string[] | null, o?: { listenOnly?: string[] }) => desk.push(`mix ${tags ? tags.join("+") : "off"}${o?.listenOnly?.length ? ` listen-only ${o.listenOnly.join(",")}` : ""}`) },
    };
    const c = new EmergencyCaller(f.sip, f.location, { policy: policy({ conferenceUri: "sip:desk@example.com", conferenceMode: "oneway" }), requestUri: "service-urn", lync: false, elinCallerId: false, caller, budgetMs: 200, clock, log: silentLogger(), desk: ports });
    const placed = c.place(5, "911");
    clock.advance(0);
    await placed;
    c.progress(5, "ringing");
    assert.deepEqual(desk, [], "not while the PSAP rings");
    c.progress(5, "connected");
    assert.match(desk[0], /^call (\d+) sip:desk@example.com$/);
    const deskId = Number(/^call (\d+)/.exec(desk[0])![1]);
    assert.ok(c.isDeskCall(deskId) && !c.isDeskCall(5));
    c.deskProgress(deskId, "connected");
    assert.equal(desk[1], `mix call-5+call-${deskId} listen-only call-${deskId}`);
    c.ended(5);
    assert.deepEqual(desk.slice(2), ["mix off", `hangup ${deskId}`]);
    const lync = new EmergencyCaller(f.sip, f.location, { policy: policy({ conferenceUri: "sip:desk@example.com" }), requestUri: "service-urn", lync: true, elinCallerId: false, caller, budgetMs: 200, clock, log: silentLogger(), desk: ports });
    const placedLync = lync.place(6, "911");
    clock.advance(0);
    await placedLync;
    lync.progress(6, "connected");
    assert.equal(desk.length, 4, "in Lync mode the provider conferences the desk, not the phone");
  });
});

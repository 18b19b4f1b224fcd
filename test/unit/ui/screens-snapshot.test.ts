// Every screen the phone has, driven through the core (so the states are real ones), snapshotted on each display
// the UI supports: 20x4 and 16x2 character LCDs (text rows), 128x64 mono and 320x240 colour pixel panels (PNG).
// Update after checking the output by eye: UPDATE_SNAPSHOTS=1 npx mocha ... test/unit/ui/screens-snapshot.test.ts
import assert from "node:assert/strict";
import { initialState, type PhoneConfig, type PhoneEvent, type PhoneState } from "../../../src/phone/core/phone-state.js";
import { reduce } from "../../../src/phone/core/reduce.js";
import { viewOf } from "../../../src/ui/view-model.js";
import { renderText } from "../../../src/ui/text-renderer.js";
import { createPixelRenderer } from "../../../src/ui/pixel-renderer.js";
import { matchSnapshot } from "../../support/snapshot.js";

const config: PhoneConfig = { dialPlan: { emergencyNumbers: ["911", "112"], outsideLinePrefix: "9", extensionLength: 4 }, lockPin: "2580", interdigitMs: 4000 };
const WALL = Date.UTC(2026, 10, 24, 9, 41);
const ctx = { clock: "09:41", lineName: "1001 Alice", now: 125_000 };

const run = (events: PhoneEvent[], s: PhoneState = initialState(config)): PhoneState => events.reduce((st, e) => reduce(st, e).state, s);
const key = (k: string): PhoneEvent => ({ type: "key", key: k, down: true, at: 0 });
const keys = (d: string): PhoneEvent[] => [...d].map(key);
const lift: PhoneEvent = { type: "hook", state: "off", at: 0 };
const incoming = (callId: number, number: string, name?: string): PhoneEvent => ({ type: "call-incoming", callId, remote: { uri: `sip:${number}@pbx`, ...(name ? { name } : {}) }, number, at: 0, wallAt: WALL });
const progress = (callId: number, state: "ringing" | "early" | "connected", at = 2000): PhoneEvent => ({ type: "call-progress", callId, state, at });
const ended = (callId: number, reason: "busy" | "remote-hangup" | "not-found"): PhoneEvent => ({ type: "call-ended", callId, reason, at: 65_000, wallAt: WALL });
const registered: PhoneEvent = { type: "registration", registration: { state: "registered", server: "udp:pbx:5060", reason: "" } };

const up = run([registered, lift, ...keys("1002"), progress(1, "connected", 2000)]);
const LOCATION = "1100 N Lamar BLVD, Tower 2, Fl 3, Rm 3-214";
const located: PhoneEvent = { type: "location", location: { text: LOCATION, source: "lis" } };
const sos = run([registered, located, lift, ...keys("911"), { type: "emergency-location-sent", callId: 1, text: LOCATION }]);
/** The location policy asks for a location (Lync LocationRequired=disclaimer). */
const asking = initialState({ ...config, emergency: { locationRequired: "disclaimer", disclaimer: "Without a location, 911 may not find you" } });
/** Location > Enter location, on the street: 1100 typed, then N and a pending "L". */
const entering = run([registered, key("OK"), ...keys("1100#66"), { type: "timer", id: "multitap" }, ...keys("0555")], asking);

/** Menu > Location with test calls allowed (TV-16), the cursor on "Test emergency call" (the last line). */
const testLine = run([registered, located, key("MENU"), key("DOWN"), key("DOWN"), key("DOWN"), key("OK"), key("UP")], initialState({ ...config, emergency: { testCalls: true } }));
const testResult = (ok: boolean, message: string): PhoneEvent => ({ type: "emergency-test-result", ok, message });

/** Delegation on: Alice (1001) is a delegate of Kim Lee (1000, rings at once) and Raj (1007, rings after 10 s), and the
 * boss of Dave (1002) and 1006; she also has a private line (1901). */
const delegating = initialState({
  ...config,
  ownNumber: "1001",
  privateLine: { number: "1901" },
  delegation: {
    enabled: true,
    delegates: [{ number: "1002", name: "Dave" }, { number: "1006" }],
    ringMode: "simultaneous",
    ringDelayMs: 0,
    bosses: [
      { number: "1000", name: "Kim Lee", ringMode: "simultaneous", ringDelayMs: 0 },
      { number: "1007", name: "Raj", ringMode: "delayed", ringDelayMs: 10_000 },
    ],
  },
});
const to = (ev: PhoneEvent, number: string, at = 0): PhoneEvent => ({ ...ev, to: number, at }) as PhoneEvent;
const bossUp = run([registered, incoming(1, "1003", "Carol Jones"), key("OK"), progress(1, "connected", 2000)].map((e, i) => (i === 1 ? to(e, "1000") : e)), delegating);
const bossTransfer = run([key("TRANSFER"), { type: "call-held", callId: 1, held: true }], bossUp);
const safeTransfer = run([key("BOSS1"), progress(2, "ringing", 3000)], bossTransfer);
const delegatesMenu = run([registered, key("MENU"), key("DOWN"), key("DOWN"), key("DOWN"), key("DOWN"), key("OK")], delegating);
const addDelegate = run([key("UP"), key("OK")], delegatesMenu);

/** name -> state; the order is the order in the snapshot files. */
const SCREENS: Array<[string, PhoneState]> = [
  ["idle", run([registered])],
  ["idle-no-service", run([{ type: "registration", registration: { state: "failed", server: "tls:pbx:5061", reason: "Wrong user name or password" } }])],
  ["idle-connecting", run([{ type: "registration", registration: { state: "registering", server: "udp:pbx:5060", reason: "" } }])],
  ["idle-voicemail-dnd", run([registered, { type: "mwi", waiting: true, count: 3 }, key("DND")])],
  ["idle-missed-call", run([registered, incoming(1, "1003", "Carol Jones"), ended(1, "remote-hangup")])],
  ["signed-out", run([registered, key("MENU"), key("OK"), key("DOWN"), key("DOWN"), key("OK")])],
  ["menu-directory", run([registered, key("MENU"), key("DOWN"), key("DOWN"), key("OK")], initialState({ ...config, directory: [{ name: "Reception", number: "1000" }, { name: "IT Helpdesk", number: "1234" }] }))],
  ["locked", run([registered, { type: "lock" }])],
  ["locked-typing", run([registered, { type: "lock" }, ...keys("25")])],
  ["menu", run([registered, key("MENU"), key("DOWN")])],
  ["menu-settings", run([registered, key("MENU"), key("OK")])],
  ["menu-history", run([registered, lift, ...keys("1002"), progress(1, "connected", 2000), { type: "hook", state: "on", at: 0 }, { type: "call-ended", callId: 1, reason: "local-hangup", at: 95_000, wallAt: WALL }, incoming(2, "1003", "Carol"), ended(2, "remote-hangup"), key("MENU"), key("DOWN"), key("OK")])],
  ["dial-tone", run([registered, lift])],
  ["dialling", run([registered, lift, ...keys("955")])],
  ["calling", run([registered, lift, ...keys("1002")])],
  ["ringing-out", run([registered, lift, ...keys("1002"), progress(1, "ringing")])],
  ["emergency", run([registered, lift, ...keys("911")])],
  ["incoming", run([registered, incoming(1, "1003", "Carol Jones")])],
  ["incoming-anonymous", run([registered, incoming(1, "", "Anonymous")])],
  ["connected", up],
  ["muted", run([key("MUTE")], up)],
  ["volume", run([key("VOL_UP")], up)],
  ["poor-network", run([{ type: "call-quality", callId: 1, mos: 2.9 }], up)],
  ["held", run([key("HOLD"), { type: "call-held", callId: 1, held: true }], up)],
  ["held-by-far-end", run([{ type: "call-remote-hold", callId: 1, held: true }], up)],
  ["call-waiting", run([incoming(2, "1003", "Carol")], up)],
  ["two-calls", run([incoming(2, "1003", "Carol"), key("SOFT1"), { type: "call-held", callId: 1, held: true }, progress(2, "connected", 5000)], up)],
  ["transfer-dialling", run([key("TRANSFER"), { type: "call-held", callId: 1, held: true }, ...keys("1004")], up)],
  ["ended", run([ended(1, "remote-hangup")], up)],
  ["ended-busy", run([registered, lift, ...keys("1002"), ended(1, "busy")])],
  ["ended-not-found", run([registered, lift, ...keys("1099"), ended(1, "not-found")])],
  ["sign-in-extension", run([{ type: "provisioning", state: "unprovisioned" }, ...keys("10")])],
  ["sign-in-pin", run([{ type: "provisioning", state: "unprovisioned" }, ...keys("1001"), key("OK"), ...keys("135")])],
  ["sign-in-wrong-pin", run([{ type: "provisioning", state: "unprovisioned" }, ...keys("1001"), key("OK"), ...keys("11111"), key("OK"), { type: "signin-submitted" }, { type: "signin-result", ok: false, message: "Wrong PIN, 3 tries left", retry: "pin" }])],
  ["emergency-location-sent", sos],
  ["emergency-connected", run([progress(1, "connected", 5000)], sos)],
  ["emergency-no-location", run([registered, lift, ...keys("911"), { type: "emergency-location-sent", callId: 1, text: null }])],
  ["emergency-hold-refused", run([progress(1, "connected", 5000), key("HOLD")], sos)],
  ["emergency-over-held-call", run([key("HOLD"), { type: "call-held", callId: 1, held: true }, ...keys("911"), { type: "emergency-location-sent", callId: 2, text: LOCATION }], up)],
  ["idle-emergency-callback", run([registered, key("DND"), lift, ...keys("911"), progress(1, "connected", 5000), ended(1, "remote-hangup"), { type: "hook", state: "on", at: 68_000 }])],
  ["idle-location-needed", run([registered], asking)],
  ["idle-location-disclaimer", run([registered, key("SOFT3")], asking)],
  ["menu-location", run([key("MENU"), key("DOWN"), key("DOWN"), key("DOWN"), key("OK")], run([registered, located]))],
  ["menu-location-test", testLine],
  ["menu-location-testing", run([key("OK")], testLine)],
  ["menu-location-test-ok", run([key("OK"), testResult(true, "Test OK: location received: 1100 N Lamar BLVD, Fl 3, Austin\nPSAP: test.psap.example")], testLine)],
  ["menu-location-test-404", run([key("OK"), testResult(false, "Test service not available")], testLine)],
  ["location-entry", entering],
  ["location-entry-country", run(keys("####"), run([{ type: "timer", id: "multitap" }], entering))],
  ["location-entry-incomplete", run([registered, key("OK"), key("SOFT1")], asking)],
  ["conference", run([key("CONF"), { type: "call-held", callId: 1, held: true }, ...keys("1004"), key("SEND"), progress(2, "connected", 5000), key("CONF"), { type: "call-held", callId: 1, held: false }], up)],
  // the private line and delegation (issue 8)
  ["incoming-private", run([registered, to(incoming(1, "1003", "Carol Jones"), "1901")], delegating)],
  ["connected-private", run([registered, to(incoming(1, "1003", "Carol Jones"), "1901"), key("OK"), progress(1, "connected", 2000)], delegating)],
  ["idle-delegate", run([registered, { type: "delegation-notice", text: "You are now a delegate of 1000 Kim Lee" }], delegating)],
  ["menu-delegation", run([registered, key("MENU"), key("DOWN"), key("DOWN"), key("DOWN"), key("DOWN")], delegating)],
  ["bosses", run([registered, { type: "boss-state", boss: "1000", state: "busy" }, { type: "boss-state", boss: "1007", state: "idle" }, key("SOFT3")], delegating)],
  ["dial-for-boss", run([registered, key("BOSS1")], delegating)],
  ["dialling-for-boss", run([registered, key("BOSS1"), ...keys("955")], delegating)],
  ["incoming-for-boss", run([registered, to(incoming(1, "1003", "Carol Jones"), "1000")], delegating)],
  ["incoming-for-boss-quiet", run([registered, to(incoming(1, "1003", "Carol Jones"), "1007", 120_000)], delegating)],
  ["connected-for-boss", bossUp],
  ["waiting-for-boss", run([to(incoming(2, "1004", "Bob"), "1007")], run([registered, lift, ...keys("1002"), progress(1, "connected", 2000)], delegating))],
  ["transfer-to-boss", bossTransfer],
  ["safe-transfer", safeTransfer],
  ["safe-transfer-back", run([{ type: "timer", id: "safe-transfer:2", at: 23_000 }, { type: "call-held", callId: 1, held: false }], safeTransfer)],
  ["idle-answered-by", run([registered, incoming(1, "1003", "Carol Jones"), { type: "delegate-answered", caller: "1003", callerName: "Carol Jones", delegate: "1002", delegateName: "Dave", at: 5000, wallAt: WALL }, { type: "call-ended", callId: 1, reason: "answered-elsewhere", at: 6000, wallAt: WALL }], delegating)],
  [
    "menu-history-delegation",
    run(
      [
        { type: "delegate-answered", caller: "1003", callerName: "Carol", delegate: "1002", delegateName: "Dave", at: 5000, wallAt: WALL },
        to(incoming(2, "1004", "Bob"), "1901"),
        ended(2, "remote-hangup"),
        to(incoming(3, "1005"), "1000"),
        ended(3, "remote-hangup"),
        key("MENU"),
        key("DOWN"),
        key("OK"),
      ],
      run([registered], delegating),
    ),
  ],
  ["menu-delegates", delegatesMenu],
  ["add-delegate", run(keys("10"), addDelegate)],
  ["add-delegate-refused", run([...keys("1002"), key("OK")], addDelegate)],
  // a notice over a menu: the title's place on a character LCD, a line above the softkeys on a pixel panel
  ["menu-delegates-removed", run([key("SOFT2")], delegatesMenu)],
  ["menu-delegates-not-saved", run([{ type: "delegation-notice", text: "Delegates not saved: delegates: no user with extension 1999" }], delegatesMenu)],
];

describe("every screen, on every display", function () {
  this.timeout(30000);

  it("has a distinct state per screen (the gallery is not stale)", () => {
    const modes = new Set(SCREENS.map(([, s]) => s.mode));
    for (const m of ["idle", "dialtone", "dialing", "ringing", "call", "ended"]) assert.ok(modes.has(m as PhoneState["mode"]), `a screen in mode ${m}`);
  });

  for (const [cols, rows] of [
    [20, 4],
    [16, 2],
  ] as const) {
    it(`${cols}x${rows} character LCD (text rows)`, async () => {
      const text = SCREENS.map(([name, s]) => {
        const lines = renderText(viewOf(s, ctx), cols, rows, 0);
        for (const l of lines) assert.equal([...l].length, cols, `${name}: every row is ${cols} wide`);
        return `== ${name}\n${lines.map((l) => `|${l}|`).join("\n")}\n`;
      }).join("");
      await matchSnapshot(`ui/screens-${cols}x${rows}.txt`, text);
    });
  }

  for (const [w, h, colour] of [
    [128, 64, false],
    [320, 240, true],
  ] as const) {
    it(`${w}x${h} ${colour ? "colour" : "mono"} pixel panel (PNG per screen)`, async () => {
      const r = await createPixelRenderer(w, h, { colour });
      for (const [name, s] of SCREENS) await matchSnapshot(`ui/screens-${w}x${h}/${name}.png`, r.render(viewOf(s, ctx), 0).png);
    });
  }
});

// Menu > Location > Test emergency call (RFC 6881 ED-77/ED-78; shared standards §3.7 "Testing", TV-16), the core's
// part: the menu line (only with `config.emergency.testCalls`), the "emergency-test" effect, and the result the shell
// reports ("emergency-test-result"). The shell runs the test (a SIP INVITE to urn:service:test.sos with the location)
// and decides whether one may run now (ED-81: not within 30 min of start); the core shows a test running and what it
// said. Pure, like the rest of the core.
import type { PhoneState } from "./phone-state.js";
import type { MenuItem, MenuState } from "./menus.js";
import type { Step } from "./steps.js";

export type { EmergencyTestState } from "./phone-state.js";

/** The menu line that starts a test, and what it says while one runs. */
export const TEST_ITEM = "Test emergency call";
export const TESTING = "Testing...";

/** A test the test service took (200); the echo it sent follows. */
export const TEST_OK = "Emergency test OK";
/** 404 (ED-77): no test service there, or the PSAP does not take tests. */
export const TEST_NOT_AVAILABLE = "Test service not available";
/** The shell's refusal within 30 min of start (ED-81). */
export const TEST_TOO_SOON = "Not within 30 min of start";
/** With no port to run a test (no SIP line). */
export const TEST_NO_LINE = "No line";

/** How much of the test service's echo the result line keeps. */
export const ECHO_MAX = 60;

/** The menu values of the test line and its result line. */
export const TEST_VALUE = "location:test";
export const TEST_RESULT_VALUE = "location:test-result";

/**
 * What the screen says of a finished test: "Emergency test OK" and the first 60 characters of the echo (its lines
 * joined) when it went through; otherwise the shell's words as they are ("Test service not available", "Emergency
 * test failed: 486", "Not within 30 min of start").
 */
export function testResultLine(ok: boolean, message: string): string {
  const words = message.replace(/\s+/g, " ").trim();
  if (!ok) return words || "Emergency test failed";
  // the shell may have said "Emergency test OK" itself: it is said once
  const echo = (words.toLowerCase().startsWith(TEST_OK.toLowerCase()) ? words.slice(TEST_OK.length).replace(/^[\s:,-]+/, "") : words).slice(0, ECHO_MAX).trimEnd();
  return echo ? `${TEST_OK}: ${echo}` : TEST_OK;
}

/**
 * The shell's answer for a test call's SIP outcome (SipPhone.emergencyTest): a 2xx is OK with the echoed text as the
 * message; 404 is "Test service not available"; anything else "Emergency test failed: <code>" ("no answer" for 0).
 */
export function emergencyTestOutcome(r: { code: number; text: string }): { ok: boolean; message: string } {
  if (r.code >= 200 && r.code < 300) return { ok: true, message: r.text };
  if (r.code === 404) return { ok: false, message: TEST_NOT_AVAILABLE };
  return { ok: false, message: `Emergency test failed: ${r.code === 0 ? "no answer" : r.code}` };
}

/** The Location menu's test lines: none unless the policy allows tests; "Testing..." while one runs; the last result. */
export function testMenuItems(s: PhoneState): MenuItem[] {
  if (!s.config.emergency?.testCalls) return [];
  const t = s.emergencyTest;
  return [{ label: t.running ? TESTING : TEST_ITEM, value: TEST_VALUE }, ...(t.result ? [{ label: t.result, value: TEST_RESULT_VALUE }] : [])];
}

/** OK on "Test emergency call": the shell runs the test; pressed again while one runs, nothing happens. */
export function startEmergencyTest(s: PhoneState, menu: MenuState | null): Step {
  if (s.emergencyTest.running) return { state: { ...s, menu }, effects: [{ type: "rejected", event: "key OK", why: "an emergency test is running" }] };
  return { state: { ...s, menu, notice: "", emergencyTest: { running: true, result: "" } }, effects: [{ type: "emergency-test" }] };
}

/**
 * The shell's result: the test line is free again, the result shows as the notice and as a menu line under the test
 * line; when the Location menu is open on the test line, the cursor moves onto the result (a long one scrolls there).
 * `items` gives the Location menu's lines (location-entry.ts).
 */
export function emergencyTestResult(s: PhoneState, ok: boolean, message: string, items: (s: PhoneState) => MenuItem[]): Step {
  const line = testResultLine(ok, message);
  const next: PhoneState = { ...s, emergencyTest: { running: false, result: line }, notice: line };
  const m = s.menu;
  if (m && m.stack[m.stack.length - 1] === "location" && items(s)[m.cursor]?.value === TEST_VALUE) {
    const at = items(next).findIndex((i) => i.value === TEST_RESULT_VALUE);
    if (at >= 0) return { state: { ...next, menu: { ...m, cursor: at } }, effects: [] };
  }
  return { state: next, effects: [] };
}

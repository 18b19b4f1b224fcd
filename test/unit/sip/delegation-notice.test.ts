import assert from "node:assert/strict";
import { DELEGATION_CONTENT_TYPE, formatDelegationNotice, isDelegationContentType, parseDelegationNotice } from "../../../src/sip/delegation-notice.js";

describe("delegation notices (phone-to-phone MESSAGE bodies)", () => {
  it("round-trips each kind", () => {
    const answered = { kind: "delegate-answered" as const, boss: "1001", caller: "1003", callerName: "Carol Caller", delegate: "1002" };
    assert.deepEqual(parseDelegationNotice(formatDelegationNotice(answered)), { ok: true, notice: answered });
    for (const kind of ["delegate-added", "delegate-removed"] as const) {
      const n = { kind, boss: "1001", bossName: "Alice" };
      assert.deepEqual(parseDelegationNotice(formatDelegationNotice(n)), { ok: true, notice: n });
    }
    assert.deepEqual(parseDelegationNotice(JSON.stringify({ kind: "delegate-removed", boss: "1001" })), { ok: true, notice: { kind: "delegate-removed", boss: "1001" } });
  });

  it("a withheld caller (empty number) is allowed; an empty callerName is dropped; unknown extra fields are ignored", () => {
    const r = parseDelegationNotice(JSON.stringify({ kind: "delegate-answered", boss: "1001", caller: "", callerName: "", delegate: "1002", extra: [1] }));
    assert.deepEqual(r, { ok: true, notice: { kind: "delegate-answered", boss: "1001", caller: "", delegate: "1002" } });
  });

  it("unknown kinds are ignored, not errors (a newer phone may add kinds)", () => {
    assert.deepEqual(parseDelegationNotice(JSON.stringify({ kind: "delegate-ring-mode", boss: "1001", mode: "after-10s" })), { ok: false, ignored: true, kind: "delegate-ring-mode" });
  });

  it("malformed notices come back with clear errors, never thrown", () => {
    const err = (body: string): string => {
      const r = parseDelegationNotice(body);
      assert.ok(!r.ok && !r.ignored, `refused: ${body}`);
      return r.ok || r.ignored ? "" : r.error;
    };
    assert.match(err("{"), /not JSON/);
    assert.match(err("[1,2]"), /not a JSON object/);
    assert.match(err("null"), /not a JSON object/);
    assert.match(err(JSON.stringify({ boss: "1001" })), /no 'kind'/);
    assert.match(err(JSON.stringify({ kind: "delegate-answered", boss: "1001", caller: "1003" })), /'delegate-answered' needs 'delegate'/);
    assert.match(err(JSON.stringify({ kind: "delegate-answered", boss: "1001", caller: 1003, delegate: "1002" })), /'caller' must be a string \(got number\)/);
    assert.match(err(JSON.stringify({ kind: "delegate-added", boss: " " })), /'boss' is empty/);
    assert.match(err(JSON.stringify({ kind: "delegate-added", boss: "1001", bossName: ["A"] })), /'bossName' must be a string \(got an array\)/);
    assert.match(err(JSON.stringify({ kind: "delegate-added", boss: "1".repeat(300) })), /'boss' is too long/);
    assert.match(err(" ".repeat(9000)), /too long/);
    assert.throws(() => formatDelegationNotice({ kind: "delegate-added", boss: "" }), /'boss' is empty/);
  });

  it("knows its content type with parameters and in any case", () => {
    assert.equal(DELEGATION_CONTENT_TYPE, "application/vnd.deskphone.delegation+json");
    assert.equal(isDelegationContentType("Application/VND.deskphone.delegation+json; charset=utf-8"), true);
    assert.equal(isDelegationContentType("text/plain"), false);
  });
});

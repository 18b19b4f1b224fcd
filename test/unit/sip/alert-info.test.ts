// Distinctive ring from the caller's PBX: Alert-Info values to ring patterns.
import assert from "node:assert/strict";
import { ringFromAlertInfo } from "../../../src/sip/sip-phone.js";

describe("Alert-Info to ring pattern", () => {
  it("maps the Bellcore distinctive-ring names PBXs send, as info= or in the URI", () => {
    assert.equal(ringFromAlertInfo("<http://127.0.0.1>;info=Bellcore-dr2"), "double");
    assert.equal(ringFromAlertInfo("<http://www.notused.com>;info=bellcore-dr3"), "triple");
    assert.equal(ringFromAlertInfo("<http://pbx/Bellcore-dr4>"), "short");
    assert.equal(ringFromAlertInfo("<http://pbx>;info=Bellcore-dr1"), "standard");
  });

  it("rings an internal call double (RFC 7462 urn:alert:source:internal, or info=alert-internal); anything else normally", () => {
    assert.equal(ringFromAlertInfo("<urn:alert:source:internal>"), "double");
    assert.equal(ringFromAlertInfo("<http://x>;info=alert-internal"), "double");
    assert.equal(ringFromAlertInfo("<urn:alert:service:normal>"), undefined);
    assert.equal(ringFromAlertInfo(""), undefined);
  });
});

import assert from "node:assert/strict";
import { buildDialogInfo, DialogInfoTracker, lineStateOf, parseDialogInfo, type DialogEntry, type DialogInfo } from "../../../src/sip/dialog-info.js";
import { answeredElsewhere } from "../../../src/sip/sip-phone.js";

const NS = "urn:ietf:params:xml:ns:dialog-info";

function parsed(xml: string): DialogInfo {
  const r = parseDialogInfo(xml);
  assert.ok(r.ok, r.ok ? "" : r.error);
  return r.info;
}

function error(xml: string): string {
  const r = parseDialogInfo(xml);
  assert.equal(r.ok, false, "refused");
  return r.ok ? "" : r.error;
}

describe("dialog-info documents (RFC 4235)", () => {
  it("round-trips what the notifier builds: entity, version, full state, dialogs with direction, tags and identities (escaped)", () => {
    const info: DialogInfo = {
      entity: "sip:1001@pbx.example.com",
      version: 3,
      state: "full",
      dialogs: [
        { id: "call-1", state: "confirmed", direction: "recipient", callId: "a84b4c76e66710@pc33", localTag: "1928301774", remoteTag: "456248", local: { uri: "sip:1001@pbx.example.com", display: "Alice" }, remote: { uri: "sip:1003@example.net", display: 'Carol "C" <&>' } },
        { id: "call-2", state: "trying", direction: "initiator" },
      ],
    };
    const xml = buildDialogInfo(info);
    assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\r\n<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:1001@pbx\.example\.com">/);
    assert.match(xml, /display="Carol &quot;C&quot; &lt;&amp;&gt;"/);
    assert.deepEqual(parsed(xml), info);
  });

  it("reads a document from another implementation: default namespace or a prefix, extra elements, no direction, target only", () => {
    const info = parsed(`<?xml version="1.0"?>
<d:dialog-info xmlns:d="${NS}" version="0" state="partial" entity="sip:alice@example.com">
  <d:dialog id="as7d900as8" call-id="a84b4c76e66710" local-tag="1928301774" remote-tag="456248">
    <d:state event="replaced">terminated</d:state>
    <d:duration>274</d:duration>
    <d:remote><d:target uri="sip:bob@example.com"/></d:remote>
    <x:extra xmlns:x="urn:example:x">ignored</x:extra>
  </d:dialog>
</d:dialog-info>`);
    assert.equal(info.state, "partial");
    assert.equal(info.dialogs[0].state, "terminated");
    assert.equal(info.dialogs[0].direction, undefined);
    assert.deepEqual(info.dialogs[0].remote, { uri: "sip:bob@example.com" });
    assert.deepEqual(parsed(`<dialog-info xmlns="${NS}" version="7" state="full" entity="sip:a@b"/>`).dialogs, []);
  });

  it("refuses malformed bodies with words that say what is wrong, and never throws", () => {
    assert.match(error(""), /empty/);
    assert.match(error("<dialog-info"), /not well-formed XML/);
    assert.match(error(`<presence xmlns="urn:ietf:params:xml:ns:pidf"/>`), /root element is <presence>/);
    assert.match(error(`<dialog-info version="0" state="full" entity="sip:a@b"/>`), /not in the urn:ietf:params:xml:ns:dialog-info namespace/);
    assert.match(error(`<dialog-info xmlns="${NS}" state="full" entity="sip:a@b"/>`), /has no version/);
    assert.match(error(`<dialog-info xmlns="${NS}" version="-1" state="full" entity="sip:a@b"/>`), /version '-1'/);
    assert.match(error(`<dialog-info xmlns="${NS}" version="1" state="all" entity="sip:a@b"/>`), /state 'all'/);
    assert.match(error(`<dialog-info xmlns="${NS}" version="1" state="full"/>`), /no entity/);
    assert.match(error(`<dialog-info xmlns="${NS}" version="1" state="full" entity="e"><dialog><state>early</state></dialog></dialog-info>`), /<dialog> has no id/);
    assert.match(error(`<dialog-info xmlns="${NS}" version="1" state="full" entity="e"><dialog id="x"/></dialog-info>`), /id="x"> has no <state>/);
    assert.match(error(`<dialog-info xmlns="${NS}" version="1" state="full" entity="e"><dialog id="x"><state>ringing</state></dialog></dialog-info>`), /unknown state 'ringing'/);
    assert.match(error(`<dialog-info xmlns="${NS}" version="1" state="full" entity="e"><dialog id="x" direction="out"><state>early</state></dialog></dialog-info>`), /unknown direction 'out'/);
    assert.match(error("x".repeat(300 * 1024)), /too large/);
    assert.throws(() => buildDialogInfo({ entity: "e", version: -1, state: "full", dialogs: [] }), /non-negative/);
  });

  it("one line state: busy on any confirmed dialog or a call the user places; ringing on a call to the user; idle otherwise", () => {
    const d = (state: DialogEntry["state"], direction?: DialogEntry["direction"]): DialogEntry => ({ id: Math.random().toString(), state, ...(direction ? { direction } : {}) });
    assert.equal(lineStateOf([]), "idle");
    assert.equal(lineStateOf([d("terminated"), d("terminated", "initiator")]), "idle");
    assert.equal(lineStateOf([d("early", "recipient")]), "ringing");
    assert.equal(lineStateOf([d("early")]), "ringing", "no direction: a ringing dialog");
    assert.equal(lineStateOf([d("early", "recipient"), d("confirmed", "recipient")]), "busy");
    assert.equal(lineStateOf([d("trying", "initiator")]), "busy", "placing a call is not ringing");
    assert.equal(lineStateOf([d("proceeding", "initiator"), d("early", "recipient")]), "busy");
  });

  it("the watcher's tracker: full replaces, partial updates by id, older versions are ignored, a new subscription starts over", () => {
    const t = new DialogInfoTracker();
    const doc = (version: number, state: "full" | "partial", dialogs: DialogEntry[]): DialogInfo => ({ entity: "sip:1001@x", version, state, dialogs });
    assert.equal(t.apply(doc(0, "partial", [{ id: "a", state: "early" }])), false, "partial before any full: ignored");
    assert.equal(t.apply(doc(0, "full", [{ id: "a", state: "early", direction: "recipient" }])), true);
    assert.equal(t.state, "ringing");
    assert.equal(t.apply(doc(1, "partial", [{ id: "a", state: "confirmed", direction: "recipient" }])), true);
    assert.equal(t.state, "busy");
    assert.equal(t.apply(doc(1, "full", [])), false, "same version again: ignored");
    assert.equal(t.apply(doc(0, "full", [])), false, "older: ignored");
    assert.equal(t.state, "busy");
    assert.equal(t.apply(doc(2, "partial", [{ id: "a", state: "terminated" }])), true);
    assert.equal(t.state, "idle");
    assert.deepEqual(t.current, []);
    t.reset();
    assert.equal(t.apply(doc(0, "full", [{ id: "b", state: "confirmed" }])), true, "versions start again with a new subscription");
    assert.equal(t.state, "busy");
  });
});

describe("a CANCEL's Reason (RFC 3326)", () => {
  it("answered elsewhere: SIP cause 200, or the words; a plain cancel or another cause is not", () => {
    assert.equal(answeredElsewhere(['SIP;cause=200;text="Call completed elsewhere"']), true);
    assert.equal(answeredElsewhere(["SIP ; cause = 200"]), true);
    assert.equal(answeredElsewhere(['Q.850;cause=16;text="Terminated", SIP;cause=200']), true);
    assert.equal(answeredElsewhere(['Q.850;cause=26;text="Call completed elsewhere"']), true);
    assert.equal(answeredElsewhere([]), false);
    assert.equal(answeredElsewhere(['SIP;cause=487;text="Request Terminated"']), false);
    assert.equal(answeredElsewhere(["Q.850;cause=200"]), false);
    assert.equal(answeredElsewhere(["SIP;cause=2000"]), false);
  });
});

// The header a boss's phone names the real caller with, on the legs it places to its delegates (delegate-fork.ts).
import assert from "node:assert/strict";
import { CALLER_HEADER, NameAddrUri, allowsRefer, forkCallerOf } from "../../../src/sip/delegate-fork.js";

describe("Deskphone-Caller (the real caller on a boss's phone's leg to a delegate)", () => {
  it("is named Deskphone-Caller", () => {
    assert.equal(CALLER_HEADER, "Deskphone-Caller");
  });

  it("reads a name-addr: the URI, its user as the number, the display name", () => {
    assert.deepEqual(forkCallerOf('"Carol Caller" <sip:1003@127.0.0.1>'), { uri: "sip:1003@127.0.0.1", number: "1003", name: "Carol Caller" });
    assert.deepEqual(forkCallerOf("<sip:+15125550100@pbx.example.com;user=phone>"), { uri: "sip:+15125550100@pbx.example.com;user=phone", number: "+15125550100" });
    assert.equal(forkCallerOf('"Say \\"hi\\"" <sip:1003@lab>')?.name, 'Say "hi"', "quoted-string escapes undone");
  });

  it("a caller takes REFER when its Allow lists it, or when it sent no Allow", () => {
    assert.equal(allowsRefer(["INVITE, ACK, CANCEL, BYE, REFER, NOTIFY"]), true);
    assert.equal(allowsRefer(["INVITE, ACK", "bye,refer"]), true, "several headers, any case");
    assert.equal(allowsRefer([]), true, "no Allow says nothing");
    assert.equal(allowsRefer(["INVITE, ACK, CANCEL, BYE"]), false);
    assert.equal(allowsRefer(["INVITE, ACK, REFERX"]), false);
  });

  it("a Refer-To target with Replaces is written in angle brackets (RFC 3261 §20)", () => {
    const u = new NameAddrUri("sip", "1002", "pbx.example.com", undefined, {}, { Replaces: [encodeURIComponent("abc@h;to-tag=1;from-tag=2")] });
    assert.equal(u.toString(), "<sip:1002@pbx.example.com?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>");
  });

  it("absent or not a name-addr: nothing (the call shows as from whoever sent it)", () => {
    assert.equal(forkCallerOf(undefined), undefined);
    assert.equal(forkCallerOf(""), undefined);
    assert.equal(forkCallerOf("not an address <<"), undefined);
  });
});

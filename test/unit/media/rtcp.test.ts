// RTCP: compound SR/RR + SDES packets both ways, loss and jitter per RFC 3550 appendix A, round-trip time from LSR/DLSR.
import assert from "node:assert/strict";
import { buildRtcp, ntpMiddle, parseRtcp, ReceiverStats, roundTripMs } from "../../../src/media/rtcp.js";

describe("RTCP", () => {
  it("builds an SR with a report block and an SDES CNAME, and parses it back", () => {
    const blk = { ssrc: 0xabcdef01, fractionLost: 0.25, cumulativeLost: 12, highestSeq: 70000, jitter: 80, lsr: 0x12345678, dlsr: 65536 };
    const pkt = buildRtcp(42, "phone@example", [blk], { ntpMs: 1_700_000_000_123, rtpTimestamp: 999, packets: 50, octets: 8000 });
    assert.equal(pkt.length % 4, 0);
    const [sr, ...rest] = parseRtcp(pkt);
    assert.equal(rest.length, 0, "the SDES is skipped");
    assert.equal(sr.type, "sr");
    assert.equal(sr.ssrc, 42);
    assert.ok(Math.abs(sr.sender!.ntpMs - 1_700_000_000_123) < 1);
    assert.deepEqual({ ...sr.sender, ntpMs: 0 }, { ntpMs: 0, rtpTimestamp: 999, packets: 50, octets: 8000 });
    assert.deepEqual(sr.reports, [blk]);
    assert.deepEqual(parseRtcp(buildRtcp(7, "x", [])), [{ type: "rr", ssrc: 7, reports: [] }]);
    assert.deepEqual(parseRtcp(Buffer.from("not rtcp at all")), []);
  });

  it("counts loss (with sequence wrap) and interval fraction lost", () => {
    const r = new ReceiverStats(1, 8000);
    for (let i = 0; i < 100; i++) if (i % 10 !== 3) r.packet((65500 + i) & 0xffff, i * 160, i * 20);
    const b = r.report(2000);
    assert.equal(b.cumulativeLost, 10);
    assert.ok(Math.abs(b.fractionLost - 0.1) < 0.01);
    assert.equal(b.highestSeq, 65500 + 99);
    assert.equal(r.report(2100).fractionLost, 0, "nothing new lost since the last report");
  });

  it("estimates interarrival jitter: zero for a steady stream, about the spread for a jittery one", () => {
    const steady = new ReceiverStats(1, 8000);
    for (let i = 0; i < 200; i++) steady.packet(i, i * 160, i * 20);
    assert.ok(steady.jitter < 1);
    const jittery = new ReceiverStats(1, 8000);
    for (let i = 0; i < 500; i++) jittery.packet(i, i * 160, i * 20 + (i % 2 ? 10 : 0));
    assert.ok(Math.abs(jittery.jitter / 8 - 10) < 2, `about 10 ms (${jittery.jitter / 8})`);
  });

  it("computes the round-trip time from LSR and DLSR", () => {
    const srSent = 1_700_000_000_000;
    const blk = { ssrc: 1, fractionLost: 0, cumulativeLost: 0, highestSeq: 0, jitter: 0, lsr: ntpMiddle(srSent), dlsr: 65536 / 2 }; // held 500 ms
    const rtt = roundTripMs(blk, srSent + 540);
    assert.ok(rtt !== null && Math.abs(rtt - 40) < 1, `40 ms (${rtt})`);
    assert.equal(roundTripMs({ ...blk, lsr: 0 }, srSent), null);
  });
});

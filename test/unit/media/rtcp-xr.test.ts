// RTCP XR VoIP Metrics (RFC 3611 §4.7): byte layout and scaling both ways, compound walking, malformed input, the
// burst/gap state machine of §4.7.2 / Appendix A.2 on a hand-worked loss pattern; and the RFC 6035 vq-rtcpxr body.
import assert from "node:assert/strict";
import { buildRtcp, parseRtcp } from "../../../src/media/rtcp.js";
import { BurstGapTracker, buildXrVoip, findXr, parseXr, type VoipMetrics } from "../../../src/media/rtcp-xr.js";
import { buildVqSessionReport, parseVqParams, parseVqSessionReport, remoteMetricsFromXr, type CallQualityReport } from "../../../src/media/vq-report.js";

const metrics = (over: Partial<VoipMetrics> = {}): VoipMetrics => ({
  ssrc: 0x1357ef01,
  lossRate: 0.05,
  discardRate: 0.02,
  burstDensity: 0.5,
  gapDensity: 4 / 256,
  burstDurationMs: 120,
  gapDurationMs: 5000,
  roundTripDelayMs: 200,
  endSystemDelayMs: 140,
  signalLevelDbm: -18,
  noiseLevelDbm: -50,
  rerl: 55,
  gmin: 16,
  rFactor: 88,
  extRFactor: NaN,
  mosLq: 4.1,
  mosCq: 4.0,
  rxConfig: { plc: "standard", jitterBufferAdaptive: true, jitterBufferRate: 2 },
  jbNominalMs: 40,
  jbMaximumMs: 80,
  jbAbsMaxMs: 120,
  ...over,
});

describe("RTCP XR VoIP Metrics", () => {
  it("lays out the XR header and the VoIP Metrics block per RFC 3611 §2 and §4.7", () => {
    const pkt = buildXrVoip(0xa1b2c3d4, metrics());
    assert.equal(pkt.length, 44, "8-byte XR header + 36-byte block");
    assert.equal(pkt[0], 0x80, "V=2, P=0");
    assert.equal(pkt[1], 207);
    assert.equal(pkt.readUInt16BE(2), 10, "length in words minus one");
    assert.equal(pkt.readUInt32BE(4), 0xa1b2c3d4);
    // the block starts at byte 8
    assert.equal(pkt[8], 7, "BT=7");
    assert.equal(pkt.readUInt16BE(10), 8, "block length = 8");
    assert.equal(pkt.readUInt32BE(12), 0x1357ef01);
    // §4.7.1: x 256, integer part (0.05 * 256 = 12.8 -> 12; 0.02 * 256 = 5.12 -> 5)
    assert.equal(pkt[16], 12, "loss rate");
    assert.equal(pkt[17], 5, "discard rate");
    assert.equal(pkt[18], 128, "burst density");
    assert.equal(pkt[19], 4, "gap density");
    assert.equal(pkt.readUInt16BE(20), 120, "burst duration");
    assert.equal(pkt.readUInt16BE(22), 5000, "gap duration");
    assert.equal(pkt.readUInt16BE(24), 200, "round trip delay");
    assert.equal(pkt.readUInt16BE(26), 140, "end system delay");
    assert.equal(pkt.readInt8(28), -18, "signal level, signed");
    assert.equal(pkt.readInt8(29), -50, "noise level, signed");
    assert.equal(pkt[30], 55, "RERL");
    assert.equal(pkt[31], 16, "Gmin");
    assert.equal(pkt[32], 88, "R factor");
    assert.equal(pkt[33], 127, "ext R factor unavailable");
    assert.equal(pkt[34], 41, "MOS-LQ x 10");
    assert.equal(pkt[35], 40, "MOS-CQ x 10");
    assert.equal(pkt[36], 0b11_11_0010, "RX config: PLC standard, JBA adaptive, rate 2");
    assert.equal(pkt[37], 0, "reserved");
    assert.deepEqual([pkt.readUInt16BE(38), pkt.readUInt16BE(40), pkt.readUInt16BE(42)], [40, 80, 120]);
  });

  it("parses back what it builds, in natural units quantised by the wire scaling", () => {
    const xr = parseXr(buildXrVoip(42, metrics()));
    assert.deepEqual(xr, { senderSsrc: 42, voip: [metrics({ lossRate: 12 / 256, discardRate: 5 / 256 })] });
    const v = xr!.voip[0];
    assert.ok(Number.isNaN(v.extRFactor), "127 reads as NaN (unavailable)");
    assert.equal(v.mosLq, 4.1);
  });

  it("encodes unavailable and out-of-range values per §4.7.4-4.7.6, and ignores invalid ones on the wire", () => {
    const pkt = buildXrVoip(1, metrics({ signalLevelDbm: NaN, noiseLevelDbm: NaN, rerl: NaN, rFactor: NaN, mosLq: NaN, mosCq: 7, lossRate: 1.5, burstDurationMs: 1e6, rxConfig: { plc: "disabled", jitterBufferAdaptive: false, jitterBufferRate: 99 } }));
    assert.deepEqual([pkt[28], pkt[29], pkt[30], pkt[32], pkt[34]], [127, 127, 127, 127, 127]);
    assert.equal(pkt[35], 50, "MOS clamps to 5.0");
    assert.equal(pkt[16], 255, "loss rate limited to 255");
    assert.equal(pkt.readUInt16BE(20), 0xffff);
    assert.equal(pkt[36], 0b01_10_1111, "PLC disabled, JBA non-adaptive, rate clamped to 15");
    const v = parseXr(pkt)!.voip[0];
    assert.equal(v.rxConfig.plc, "disabled");
    assert.equal(v.rxConfig.jitterBufferAdaptive, false);
    for (const f of ["signalLevelDbm", "noiseLevelDbm", "rerl", "rFactor", "mosLq"] as const) assert.ok(Number.isNaN(v[f]), f);
    // a sender that puts R = 120 or MOS = 9 on the wire: outside the valid ranges, so ignored
    const bad = Buffer.from(pkt);
    bad[32] = 120;
    bad[35] = 9;
    const w = parseXr(bad)!.voip[0];
    assert.ok(Number.isNaN(w.rFactor) && Number.isNaN(w.mosCq));
  });

  it("skips blocks of other types by their length", () => {
    const voip = buildXrVoip(9, metrics());
    // a Receiver Reference Time block (BT=4, block length 2: an NTP timestamp) before the VoIP block
    const rrt = Buffer.from([4, 0, 0, 2, 0xe0, 0, 0, 0, 0, 0, 0, 0]);
    const head = Buffer.from(voip.subarray(0, 8));
    head.writeUInt16BE((8 + rrt.length + 36) / 4 - 1, 2);
    const pkt = Buffer.concat([head, rrt, voip.subarray(8)]);
    const xr = parseXr(pkt);
    assert.equal(xr?.voip.length, 1);
    assert.equal(xr.voip[0].ssrc, 0x1357ef01);
    assert.deepEqual(parseXr(Buffer.concat([head.subarray(0, 2), Buffer.from([0, 4]), head.subarray(4), rrt])), { senderSsrc: 9, voip: [] });
  });

  it("finds XR packets inside a compound RR + SDES + XR packet", () => {
    const rr = buildRtcp(42, "phone@example", [{ ssrc: 7, fractionLost: 0, cumulativeLost: 0, highestSeq: 100, jitter: 3, lsr: 0, dlsr: 0 }]);
    const compound = Buffer.concat([rr, buildXrVoip(42, metrics()), buildXrVoip(42, metrics({ ssrc: 8 }))]);
    const found = findXr(compound);
    assert.deepEqual(found.map((x) => [x.senderSsrc, x.voip[0].ssrc]), [[42, 0x1357ef01], [42, 8]]);
    assert.equal(parseRtcp(compound)[0].type, "rr", "the RR parser still walks past the XR");
    assert.equal(parseXr(compound), null, "parseXr reads one XR packet, and this one starts with an RR");
    assert.equal(findXr(new Uint8Array(compound)).length, 2, "a plain Uint8Array works too");
  });

  it("returns null for malformed packets rather than throwing", () => {
    const pkt = buildXrVoip(1, metrics());
    assert.equal(parseXr(pkt.subarray(0, 40)), null, "truncated: declared length runs past the data");
    const longer = Buffer.from(pkt);
    longer.writeUInt16BE(11, 2);
    assert.equal(parseXr(Buffer.concat([longer, Buffer.from([9, 0, 0, 5])])), null, "a trailing block header promising more than is there");
    const blockPast = Buffer.from(pkt);
    blockPast.writeUInt16BE(9, 10);
    assert.equal(parseXr(blockPast), null, "block runs past the packet");
    const shortVoip = Buffer.from([0x80, 207, 0, 2, 0, 0, 0, 1, 7, 0, 0, 0]);
    assert.equal(parseXr(shortVoip), null, "a VoIP block of one word");
    const badPad = Buffer.from(pkt);
    badPad[0] |= 0x20;
    badPad[43] = 200;
    assert.equal(parseXr(badPad), null, "padding count larger than the packet");
    const v1 = Buffer.from(pkt);
    v1[0] = 0x40;
    assert.equal(parseXr(v1), null, "version 1");
    assert.equal(parseXr(new Uint8Array(0)), null);
    assert.equal(parseXr(Buffer.from("not rtcp at all")), null);
    assert.deepEqual(findXr(pkt.subarray(0, 40)), []);
    assert.deepEqual(findXr(Buffer.concat([pkt, Buffer.from([0x80, 207, 0, 50])])).length, 1, "stops at a truncated trailer");
  });
});

describe("Burst/gap tracker (RFC 3611 §4.7.2, Appendix A.2)", () => {
  it("counts transitions on a hand-worked loss pattern", () => {
    // Gmin = 16, 20 ms packets. R = received, L = lost. Pattern and the counters after each step (pkt = received run,
    // lost = losses in the current burst; both start at 0):
    //   20 R                 pkt = 20
    //   L                    pkt >= 16, lost (0) != 1 -> c13 = 1; lost = 1; c11 += 20 -> 20
    //   L                    pkt = 0 < 16 -> lost = 2; c33 = 1
    //   3 R, L               pkt = 3 < 16 -> lost = 3; c23 = 1; c22 += 3 - 1 -> 2
    //   20 R, L              pkt >= 16, lost (3) != 1 -> c13 = 2; lost = 1; c11 -> 40
    //   20 R, L              pkt >= 16, lost == 1 (the previous loss stood alone) -> c14 = 1; c11 -> 60
    //   10 R                 pending: not counted until the next loss
    // c11 = 60, c13 = 2, c14 = 1, c22 = 2, c23 = 1, c33 = 1; c31 = c13 = 2, c32 = c23 = 1
    // ctotal = 60 + 1 + 2 + 2 + 1 + 2 + 1 + 1 = 70
    // p32 = c32 / (c31 + c32 + c33) = 1/4;  p23 = 1 - c22 / (c22 + c23) = 1/3
    // burst density = p23 / (p23 + p32) = (1/3) / (7/12) = 4/7;  gap density = c14 / (c11 + c14) = 1/61
    // gap duration = (c11 + c14 + c13) * 20 / c13 = 63 * 20 / 2 = 630 ms;  burst = 70 * 20 / 2 - 630 = 70 ms
    const t = new BurstGapTracker(20);
    const run = (n: number, received: boolean) => {
      for (let i = 0; i < n; i++) t.packet(received);
    };
    run(20, true);
    run(2, false);
    run(3, true);
    run(1, false);
    run(20, true);
    run(1, false);
    run(20, true);
    run(1, false);
    run(10, true);
    const d = t.densities();
    assert.ok(Math.abs(d.burstDensity - 4 / 7) < 1e-12, `${d.burstDensity}`);
    assert.ok(Math.abs(d.gapDensity - 1 / 61) < 1e-12, `${d.gapDensity}`);
    assert.ok(Math.abs(d.gapDurationMs - 630) < 1e-9);
    assert.ok(Math.abs(d.burstDurationMs - 70) < 1e-9);
    assert.equal(t.gmin, 16);
    // into the XR block: floor(256 * 4/7) = 146, floor(256 / 61) = 4
    const pkt = buildXrVoip(1, metrics({ ...d }));
    assert.deepEqual([pkt[18], pkt[19], pkt.readUInt16BE(20), pkt.readUInt16BE(22)], [146, 4, 70, 630]);
  });

  it("reports no burst for a loss-free stream, the whole of it one gap", () => {
    const t = new BurstGapTracker(20);
    for (let i = 0; i < 500; i++) t.packet(true);
    assert.deepEqual(t.densities(), { burstDensity: 0, gapDensity: 0, burstDurationMs: 0, gapDurationMs: 10_000 });
    assert.deepEqual(new BurstGapTracker().densities(), { burstDensity: 0, gapDensity: 0, burstDurationMs: 0, gapDurationMs: 0 });
  });
});

describe("RFC 6035 vq-rtcpxr session report", () => {
  const report = (over: Partial<CallQualityReport> = {}): CallQualityReport => ({
    callId: "6dg37f1890463@alice.example.org",
    localId: "Alice <sip:alice@atlanta.example.org>",
    remoteId: "Bill <sip:bill@biloxi.example.org>",
    start: new Date("2024-10-10T18:23:43Z"),
    stop: new Date("2024-10-10T18:26:02Z"),
    local: { addr: "10.10.1.100", port: 5000, ssrc: 0x2468abcd },
    remote: { addr: "11.1.1.150", port: 5002, ssrc: 0x1357ef },
    codec: { pt: 0, name: "PCMU", clockRate: 8000, frameMs: 20, framesPerPacket: 1, plc: "standard", silenceSuppression: false },
    jitterBuffer: { adaptive: true, rate: 2, nominalMs: 40, maxMs: 80, absMaxMs: 120 },
    loss: { networkLossRate: 0.05, jbDiscardRate: 0.02 },
    burstGap: { burstDensity: 0, burstDurationMs: 0, gapDensity: 0.02, gapDurationMs: 500, gmin: 16 },
    delay: { roundTripMs: 200, endSystemMs: 140, oneWayMs: 240, symmOneWayMs: 200, interArrivalJitterMs: 2, meanAbsJitterMs: 10 },
    quality: { rLq: 88, rCq: 85, mosLq: 4.1, mosCq: 4.0, estimator: "G.107" },
    ...over,
  });

  it("writes the RFC 6035 syntax: type line first, SessionInfo, LocalMetrics, CRLF line ends", () => {
    const body = buildVqSessionReport(report());
    assert.ok(body.startsWith("VQSessionReport: CallTerm\r\n"));
    assert.ok(body.endsWith("\r\n"));
    assert.ok(!body.replace(/\r\n/g, "").includes("\n") && !body.replace(/\r\n/g, "").includes("\r"), "no bare LF or CR");
    assert.deepEqual(body.split("\r\n").slice(0, -1), [
      "VQSessionReport: CallTerm",
      "CallID: 6dg37f1890463@alice.example.org",
      "LocalID: Alice <sip:alice@atlanta.example.org>",
      "RemoteID: Bill <sip:bill@biloxi.example.org>",
      "OrigID: Alice <sip:alice@atlanta.example.org>",
      "LocalAddr: IP=10.10.1.100 PORT=5000 SSRC=0x2468abcd",
      "RemoteAddr: IP=11.1.1.150 PORT=5002 SSRC=0x001357ef",
      "LocalMetrics:",
      "Timestamps:START=2024-10-10T18:23:43Z STOP=2024-10-10T18:26:02Z",
      "SessionDesc:PT=0 PD=PCMU SR=8000 FD=20 FPP=1 PPS=50 PLC=3 SSUP=off",
      "JitterBuffer:JBA=3 JBR=2 JBN=40 JBM=80 JBX=120",
      "PacketLoss:NLR=5.0 JDR=2.0",
      "BurstGapLoss:BLD=0.0 BD=0 GLD=2.0 GD=500 GMIN=16",
      "Delay:RTD=200 ESD=140 OWD=240 SOWD=200 IAJ=2 MAJ=10",
      "QualityEst:RLQ=88 RCQ=85 MOSLQ=4.1 MOSCQ=4.0 QoEEstAlg=G.107",
    ]);
  });

  it("round-trips through the parser, with RemoteMetrics from the far end's XR block", () => {
    const far = parseXr(buildXrVoip(0x1357ef, metrics({ ssrc: 0x2468abcd, lossRate: 0.1, mosLq: 3.9, mosCq: 3.7, rFactor: 80 })))!.voip[0];
    const body = buildVqSessionReport(report({ origId: "Bill <sip:bill@biloxi.example.org>", dialogId: "6dg37f1890463@alice.example.org;to-tag=8472761;from-tag=9123dh311", remoteMetrics: remoteMetricsFromXr(far) }));
    const p = parseVqSessionReport(body);
    assert.equal(p.type, "VQSessionReport");
    assert.equal(p.event, "CallTerm");
    assert.equal(p.callId, "6dg37f1890463@alice.example.org");
    assert.equal(p.session.OrigID, "Bill <sip:bill@biloxi.example.org>");
    assert.equal(p.session.DialogID, "6dg37f1890463@alice.example.org;to-tag=8472761;from-tag=9123dh311");
    assert.deepEqual(parseVqParams(p.session.LocalAddr), { IP: "10.10.1.100", PORT: "5000", SSRC: "0x2468abcd" });
    assert.equal(parseInt(parseVqParams(p.session.RemoteAddr).SSRC, 16), 0x1357ef);
    assert.deepEqual(p.local.Timestamps, { START: "2024-10-10T18:23:43Z", STOP: "2024-10-10T18:26:02Z" });
    assert.equal(new Date(p.local.Timestamps.STOP).getTime(), report().stop.getTime());
    assert.deepEqual(p.local.PacketLoss, { NLR: "5.0", JDR: "2.0" });
    assert.equal(Number(p.local.QualityEst.MOSLQ), 4.1);
    assert.equal(p.local.Signal, undefined, "no signal figures locally: no line");
    assert.ok(p.remote);
    assert.deepEqual(p.remote.Timestamps, p.local.Timestamps);
    assert.deepEqual(p.remote.SessionDesc, { PT: "0", PD: "PCMU", SR: "8000", FD: "20", FPP: "1", PPS: "50", PLC: "3", SSUP: "off" });
    // 0.1 -> 25/256 on the wire -> 9.765625 %
    assert.deepEqual(p.remote.PacketLoss, { NLR: "9.8", JDR: "2.0" });
    assert.deepEqual(p.remote.BurstGapLoss, { BLD: "50.0", BD: "120", GLD: "1.6", GD: "5000", GMIN: "16" });
    assert.deepEqual(p.remote.Delay, { RTD: "200", ESD: "140" });
    assert.deepEqual(p.remote.Signal, { SL: "-18", NL: "-50", RERL: "55" });
    assert.deepEqual(p.remote.QualityEst, { RCQ: "80", MOSLQ: "3.9", MOSCQ: "3.7" }, "the unavailable ext R factor is left out");
    const order = ["CallID:", "LocalAddr:", "RemoteAddr:", "LocalMetrics:", "RemoteMetrics:", "DialogID:"].map((s) => body.indexOf("\r\n" + s));
    assert.ok(order.every((i, k) => i > 0 && (k === 0 || i > order[k - 1])), `ABNF order: ${order}`);
  });

  it("reads a body written by another phone: LF line ends, folded lines, quoted FMTP", () => {
    const body = [
      "VQSessionReport : CallTerm",
      "CallID: 1890463548@alice.example.org",
      "LocalMetrics:",
      "Timestamps:START=2004-10-10T18:23:43Z STOP=2004-10-10T18:26:02Z",
      "SessionDesc:PT=18 PD=G729 SR=8000 FD=20 FO=20 FPP=2 PPS=50",
      ' FMTP="annexb=no" PLC=3 SSUP=on',
      "PacketLoss:NLR=5.0 JDR=2.0",
      "",
    ].join("\n");
    const p = parseVqSessionReport(body);
    assert.equal(p.type, "VQSessionReport");
    assert.equal(p.event, "CallTerm");
    assert.equal(p.callId, "1890463548@alice.example.org");
    assert.equal(p.local.SessionDesc.FMTP, "annexb=no");
    assert.equal(p.local.SessionDesc.SSUP, "on");
    assert.equal(p.local.PacketLoss.JDR, "2.0");
    assert.equal(p.remote, undefined);
  });
});

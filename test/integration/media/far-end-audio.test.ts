// Audio both ways between the phone (simulated board, 16 kHz pipeline) and a real baresip through Kamailio: each side
// plays a tone into its microphone and the other side's recording is measured (frequency and level). In G.711 and in
// G.722, where a tone above 4 kHz (which no narrowband call can carry) must come through both ways; and in SRTP over
// TLS signalling, where a key spoiled on the way gives silence and counted errors, and plain RTP is refused.
import assert from "node:assert/strict";
import { freePort, startRegistrar, type Registrar } from "../../../src/lab/registrar.js";
import { FarPhone } from "../../../src/lab/far-phone.js";
import { dominantHz, rmsDbfs, toneDbfs } from "../../../src/hal/emul/pcm-analysis.js";
import { PhoneProcess } from "../../support/phone-process.js";
import { readWav } from "../../support/wav.js";
import { startImpairedRelay } from "../../support/rtp-impairment.js";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { startSipp } from "../../../src/lab/sipp.js";

const scenarios = fileURLToPath(new URL("./scenarios/", import.meta.url));

const USERS = [
  { user: "1001", password: "pw-1001" },
  { user: "1002", password: "pw-1002" },
  { user: "1090", password: "pw-1090" },
  { user: "1003", password: "pw-1003" },
];

interface MediaState {
  media: Array<{ codec: string | null; srtp: boolean; packets: { sent: number; received: number; badPackets: number; srtpErrors: number }; jitter: { concealed: number; late: number; targetMs: number; delayMs: number } }>;
}

describe("audio both ways with baresip (G.711 and G.722)", function () {
  this.timeout(60000);
  let k: Registrar;
  let far: FarPhone | undefined;
  let phone: PhoneProcess | undefined;

  before(async () => {
    k = await startRegistrar({ users: USERS, lifetimeS: 900 });
  });
  after(async () => k?.stop());
  afterEach(async () => {
    await phone?.stop();
    await far?.stop();
    phone = far = undefined;
  });

  const bundle = (o: CallOptions): Record<string, unknown> => ({
    version: 1,
    accounts: [{ user: "1001", password: "pw-1001", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: o.tls ? k.tlsPort : k.tcpPort, transport: o.tls ? "tls" : "tcp" }] }],
    trustedCAs: [k.caFile],
    sip: { retryFirstMs: 200, retryMaxMs: 1000, pingMs: 0 },
    media: { ...(o.srtp ? { srtp: o.srtp } : {}), ...(o.collector ? { qualityCollector: o.collector } : {}) },
  });

  interface CallOptions {
    codecs: Array<"PCMU" | "PCMA" | "G722">;
    tls?: boolean;
    /** The phone's policy. */
    srtp?: "required";
    /** baresip's. */
    mediaenc?: "srtp-mand";
    /** Where the phone PUBLISHes its end-of-call quality report. */
    collector?: string;
  }

  /** Runs `body` with a second Kamailio that makes `edits` to the SDP it relays; the peers and it stop after. */
  async function throughEditingProxy(edits: NonNullable<Parameters<typeof startRegistrar>[0]["sdpEdits"]>, body: () => Promise<void>): Promise<void> {
    const bad = await startRegistrar({ users: USERS, lifetimeS: 300, sdpEdits: edits });
    const saved = k;
    k = bad;
    try {
      await body();
    } finally {
      k = saved;
      await phone?.stop();
      await far?.stop();
      phone = far = undefined;
      await bad.stop();
    }
  }

  /** baresip 1002 and the phone, both registered; the phone off hook. */
  async function phones(o: CallOptions, farHz: number): Promise<PhoneProcess> {
    // baresip stays on TCP: it cannot take a TLS connection from Kamailio without a server certificate of its own
    // (the phone's leg, where the keys are the phone's concern, is TLS)
    far = await FarPhone.start({ user: "1002", password: "pw-1002", registrar: { port: k.tcpPort, transport: "tcp" }, answer: "auto", toneHz: farHz, codecs: o.codecs, caFile: k.caFile, ...(o.mediaenc ? { mediaenc: o.mediaenc } : {}) });
    await far.registered();
    phone = await PhoneProcess.registered(bundle(o));
    await phone.cmd("set_hook", { state: "off" });
    return phone;
  }

  /**
   * A call from the phone to baresip: baresip plays `farHz`, the phone's handset microphone gets `phoneHz`. Returns
   * what the phone's earpiece played and what baresip recorded of the phone.
   */
  async function talk(o: CallOptions, farHz: number, phoneHz: number) {
    const phone = await phones(o, farHz);
    if (!far) throw new Error("no far end");
    await phone.keys("1002");
    await phone.keys("SEND");
    await phone.until("connected", (x) => x.calls[0]?.state === "connected");
    await phone.cmd("audio_inject", { path: "handset", tone: { hz: phoneHz, ms: 3000, dbfs: -12 } });
    await new Promise((r) => setTimeout(r, 400)); // the jitter buffers fill
    const heard = await phone.cmd<{ dominant_hz: number; rms_dbfs: number; rate: number }>("audio_capture", { path: "handset", ms: 1000 });
    const media = (await phone.cmd<MediaState>("get_state")).media[0];
    await new Promise((r) => setTimeout(r, 1000));
    await phone.keys("END");
    await phone.until("idle", (x) => x.calls.length === 0);
    await far.waitFor("CALL_CLOSED", 5000, () => true, 0);
    // baresip's sndfile module wrote what it decoded from the phone ("-dec.wav")
    const files = await far.recordings();
    const dec = files.find((f) => f.endsWith("-dec.wav"));
    assert.ok(dec, `baresip recorded the phone's audio (files: ${files.join(", ")})`);
    const rec = await readWav(dec);
    // skip the start (before the phone's tone began) and the very end
    const mid = rec.pcm.subarray(Math.floor(rec.rate * 0.8), Math.floor(rec.rate * 2.2));
    return { heard, media, far: { hz: dominantHz(mid, rec.rate), dbfs: rmsDbfs(mid), rate: rec.rate } };
  }

  it("G.711: the phone hears baresip's 1 kHz tone and baresip hears the phone's 700 Hz tone, at about the level sent", async () => {
    const r = await talk({ codecs: ["PCMU"] }, 1000, 700);
    assert.equal(r.media.codec, "PCMU");
    assert.ok(Math.abs(r.heard.dominant_hz - 1000) < 15, `the phone heard ${r.heard.dominant_hz} Hz`);
    // baresip's tone file is at 0.3 of full scale (about -13.5 dBFS RMS); the phone plays it back as received
    assert.ok(r.heard.rms_dbfs > -20 && r.heard.rms_dbfs < -8, `the phone heard it at ${r.heard.rms_dbfs} dBFS`);
    assert.ok(Math.abs(r.far.hz - 700) < 15, `baresip heard ${r.far.hz} Hz`);
    assert.ok(r.far.dbfs > -18 && r.far.dbfs < -10, `baresip heard the -12 dBFS tone at ${r.far.dbfs.toFixed(1)} dBFS (RMS of a sine is 3 dB under its peak)`);
    assert.equal(r.media.jitter.concealed, 0, "nothing concealed on loopback");
  });

  it("G.722: wideband both ways, a 6 kHz tone from baresip and a 5 kHz tone from the phone come through", async () => {
    const r = await talk({ codecs: ["G722"] }, 6000, 5000);
    assert.equal(r.media.codec, "G722");
    assert.equal(r.heard.rate, 16000);
    assert.ok(Math.abs(r.heard.dominant_hz - 6000) < 20, `the phone heard ${r.heard.dominant_hz} Hz`);
    assert.ok(r.heard.rms_dbfs > -22 && r.heard.rms_dbfs < -8, `the phone heard it at ${r.heard.rms_dbfs} dBFS`);
    assert.equal(r.far.rate, 16000, "baresip decoded wideband");
    assert.ok(Math.abs(r.far.hz - 5000) < 20, `baresip heard ${r.far.hz} Hz`);
    assert.ok(r.far.dbfs > -20 && r.far.dbfs < -10, `baresip heard the -12 dBFS tone at ${r.far.dbfs.toFixed(1)} dBFS`);
  });

  it("3-way conference: CONF, dial 1003, SEND, CONF: the phone hears both far ends; 1003 hears 1002 and the phone's user", async () => {
    const p = await phones({ codecs: ["PCMU"] }, 1000);
    const far3 = await FarPhone.start({ user: "1003", password: "pw-1003", registrar: { port: k.tcpPort, transport: "tcp" }, answer: "auto", toneHz: 700, codecs: ["PCMU"] });
    try {
      await far3.registered();
      await p.keys("1002");
      await p.keys("SEND");
      await p.until("1002 connected", (x) => x.calls[0]?.state === "connected");
      await p.keys("CONF");
      await p.until("1002 held", (x) => x.calls[0]?.state === "held");
      await p.keys("1003");
      await p.keys("SEND");
      await p.until("1003 connected", (x) => x.calls.some((c) => c.number === "1003" && c.state === "connected"));
      await p.keys("CONF");
      const s = await p.until("conference", (x) => (x as unknown as { conference: number[] | null }).conference?.length === 2 && x.calls.every((c) => c.state === "connected"));
      assert.equal(s.calls.length, 2);
      assert.match(await p.screen(), /Conference/);
      await p.cmd("audio_inject", { path: "handset", tone: { hz: 400, ms: 3000, dbfs: -12 } });
      await new Promise((r) => setTimeout(r, 600));
      const heard = await p.cmd<{ pcm: string; rate: number }>("audio_capture", { path: "handset", ms: 1000 });
      const pcm = new Int16Array(Buffer.from(heard.pcm, "base64").buffer.slice(0));
      for (const hz of [1000, 700]) assert.ok(toneDbfs(pcm, heard.rate, hz) > -25, `the phone hears ${hz} Hz (${toneDbfs(pcm, heard.rate, hz).toFixed(1)} dBFS)`);
      await new Promise((r) => setTimeout(r, 1000));
      await p.keys("END");
      await p.until("idle", (x) => x.calls.length === 0);
      if (!far) throw new Error("no far end");
      // 1003 (never held) hears 1002 through the phone's mix, and the user. (1002 was held and resumed: baresip 1.0
      // stops recording what it decodes at a re-INVITE, so its recording cannot tell; the router's unit test covers
      // the mix toward both calls.)
      for (const [f, other] of [[far3, 1000]] as const) {
        await f.waitFor("CALL_CLOSED", 5000, () => true, 0);
        const dec = (await f.recordings()).find((x) => x.endsWith("-dec.wav"));
        assert.ok(dec, "baresip recorded the call");
        const rec = await readWav(dec);
        // the last second of the call, when all three talked
        const tail = rec.pcm.subarray(Math.max(0, rec.pcm.length - Math.floor(rec.rate * 1.2)), rec.pcm.length - Math.floor(rec.rate * 0.2));
        assert.ok(toneDbfs(tail, rec.rate, other) > -25, `the far end hears the other far end at ${other} Hz (${toneDbfs(tail, rec.rate, other).toFixed(1)} dBFS)`);
        assert.ok(toneDbfs(tail, rec.rate, 400) > -25, `and the phone's user at 400 Hz (${toneDbfs(tail, rec.rate, 400).toFixed(1)} dBFS)`);
      }
    } finally {
      await far3.stop();
    }
  });

  it("PUBLISHes the end-of-call quality report (RFC 6035 vq-rtcpxr) to the collector the config names", async () => {
    // sipp registers as 1090 and then waits for the report
    const port = await freePort();
    const reg = await startSipp({ scenario: path.join(scenarios, "../../sip/scenarios/register.xml"), remote: `127.0.0.1:${k.udpPort}`, port, keys: { user: "1090" }, args: ["-au", "1090", "-ap", "pw-1090"], timeoutS: 10 });
    assert.equal((await reg.done).code, 0, "sipp registered as the collector");
    const collector = await startSipp({ scenario: path.join(scenarios, "uas-quality-collector.xml"), port, timeoutS: 40 });
    try {
      await talk({ codecs: ["PCMU"], collector: "sip:1090@127.0.0.1" }, 1000, 700);
      const r = await collector.done;
      assert.equal(r.code, 0, `the collector got a valid report: ${r.errors}\n${r.messages.slice(-3000)}`);
      assert.match(r.messages, /LocalAddr: IP=127\.0\.0\.1 PORT=\d+ SSRC=0x[0-9A-Fa-f]{8}/);
      assert.match(r.messages, /PacketLoss:NLR=0\.0 /, "no loss on loopback");
    } finally {
      collector.stop();
    }
  });

  it("through a relay losing 5% of baresip's packets and delaying each by 0-80 ms, the tone is still heard (concealment)", async () => {
    const relay = await startImpairedRelay({ lossToA: 0.05, jitterMsToA: 40, seed: 7 });
    // Kamailio points each side's media at the relay: the phone's offer at the port standing for the phone, baresip's
    // answer at the one standing for baresip (ports are five digits on both sides, so the edit keeps the length)
    const edits = { requests: [{ find: "m=audio [0-9]{5} ", replace: `m=audio ${relay.portForB} ` }], replies: [{ find: "m=audio [0-9]{5} ", replace: `m=audio ${relay.portForA} ` }] };
    try {
      await throughEditingProxy(edits, async () => {
        let rtpPort = await freePort();
        while (rtpPort < 10000 || rtpPort > 65000) rtpPort = await freePort();
        far = await FarPhone.start({ user: "1002", password: "pw-1002", registrar: { port: k.tcpPort, transport: "tcp" }, answer: "auto", toneHz: 1000, codecs: ["PCMU"], rtpPort: rtpPort & ~1 });
        await far.registered();
        const p = (phone = await PhoneProcess.registered(bundle({ codecs: ["PCMU"] })));
        await p.cmd("set_hook", { state: "off" });
        await p.keys("1002");
        await p.keys("SEND");
        await p.until("connected", (x) => x.calls[0]?.state === "connected");
        await new Promise((r) => setTimeout(r, 2500)); // the jitter buffer adapts to the jitter
        const heard = await p.cmd<{ dominant_hz: number; rms_dbfs: number }>("audio_capture", { path: "handset", ms: 1500 });
        const m = (await p.cmd<MediaState>("get_state")).media[0];
        assert.ok(relay.stats.lostToA >= 3 && relay.stats.toA > 150, `the relay carried the call and lost some (${JSON.stringify(relay.stats)})`);
        assert.ok(Math.abs(heard.dominant_hz - 1000) < 15, `the tone is heard at ${heard.dominant_hz} Hz`);
        assert.ok(heard.rms_dbfs > -22, `at a level near the sent one (${heard.rms_dbfs} dBFS)`);
        assert.ok(m.jitter.concealed > 0, `lost packets were concealed (${m.jitter.concealed} frames)`);
        // enough delay to ride out the jitter, not more than the jitter needs (80 ms spread plus a frame or two)
        assert.ok(m.jitter.delayMs >= 20 && m.jitter.delayMs <= 160, `the jitter buffer's delay (${JSON.stringify(m.jitter)})`);
        await p.keys("END");
        await p.until("idle", (x) => x.calls.length === 0);
      });
    } finally {
      await relay.close();
    }
  });

  describe("SRTP (AES_CM_128_HMAC_SHA1_80, SDES keys over TLS)", () => {
    it("the phone (SRTP required) and baresip (mediaenc=srtp-mand) hear each other; the phone says the call is encrypted", async () => {
      const r = await talk({ codecs: ["PCMU"], tls: true, srtp: "required", mediaenc: "srtp-mand" }, 1000, 700);
      assert.equal(r.media.srtp, true);
      assert.equal(r.media.packets.srtpErrors, 0);
      assert.ok(Math.abs(r.heard.dominant_hz - 1000) < 15, `the phone heard ${r.heard.dominant_hz} Hz`);
      assert.ok(Math.abs(r.far.hz - 700) < 15, `baresip heard ${r.far.hz} Hz`);
    });

    it("a key spoiled on the way (by the proxy) gives silence and counted SRTP errors, not noise or a crash", async () => {
      // a second Kamailio that rewrites the start of baresip's key in its answer, as a broken middlebox would
      await throughEditingProxy({ replies: [{ find: "inline:[A-Za-z0-9+/]{4}", replace: "inline:AAAA" }] }, async () => {
          const p = await phones({ codecs: ["PCMU"], tls: true, srtp: "required", mediaenc: "srtp-mand" }, 1000);
          await p.keys("1002");
          await p.keys("SEND");
          await p.until("connected", (x) => x.calls[0]?.state === "connected");
          await new Promise((r) => setTimeout(r, 500));
          const heard = await p.cmd<{ rms_dbfs: number | null }>("audio_capture", { path: "handset", ms: 600 });
          assert.ok((heard.rms_dbfs ?? -Infinity) < -60, `silence, not decrypted noise (${heard.rms_dbfs} dBFS)`);
          const m = (await p.cmd<MediaState>("get_state")).media[0];
          assert.ok(m.packets.srtpErrors > 20, `every packet from baresip failed its check (${m.packets.srtpErrors} errors)`);
          assert.equal(m.packets.received, 0, "no packet reached the decoder");
          // the phone works on: the call ends normally
          await p.keys("END");
          await p.until("idle", (x) => x.calls.length === 0);
      });
    });

    it("plain RTP is refused when SRTP is required: the call to a far end without SRTP fails, nothing is heard in the clear", async () => {
      const p = await phones({ codecs: ["PCMU"], tls: true, srtp: "required" }, 1000);
      await p.keys("1002");
      await p.keys("SEND");
      const s = await p.until("the call failed", (x) => x.calls.length === 0 || x.mode === "ended", 15000);
      assert.notEqual(s.calls[0]?.state, "connected");
      assert.equal((await p.cmd<MediaState>("get_state")).media.length, 0, "no media session stays open");
    });
  });
});

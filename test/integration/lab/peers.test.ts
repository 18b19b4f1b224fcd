// The real peers of the lab against each other: Kamailio as registrar/proxy, two baresips calling through it with real
// audio, TLS registration, a Kamailio crash and restart, and sipp as a UAC.
import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import { startKamailio, type Kamailio } from "../../../src/lab/kamailio.js";
import { startBaresip, type Baresip, type SipTransport } from "../../../src/lab/baresip.js";
import { runSipp } from "../../../src/lab/sipp.js";
import { freePort, freePorts, tryBind } from "../../../src/lab/ports.js";

const USERS = [
  { user: "1001", password: "secret1001" },
  { user: "1002", password: "secret1002" },
];

interface Wav {
  rate: number;
  channels: number;
  samples: Int16Array;
}

/** A PCM S16LE WAV file (chunks walked; a data size left at 0 or too large by an unclosed writer means "to the end"). */
function parseWav(buf: Buffer): Wav {
  assert.equal(buf.toString("ascii", 0, 4), "RIFF", "not a RIFF file");
  assert.equal(buf.toString("ascii", 8, 12), "WAVE", "not a WAVE file");
  let off = 12;
  let rate = 0;
  let channels = 0;
  let bits = 0;
  while (off + 8 <= buf.length) {
    const id = buf.toString("ascii", off, off + 4);
    let size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === "fmt ") {
      assert.equal(buf.readUInt16LE(body), 1, "not PCM");
      channels = buf.readUInt16LE(body + 2);
      rate = buf.readUInt32LE(body + 4);
      bits = buf.readUInt16LE(body + 14);
    } else if (id === "data") {
      assert.equal(bits, 16, "not 16-bit");
      if (size === 0 || body + size > buf.length) size = buf.length - body;
      const n = Math.floor(size / 2);
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = buf.readInt16LE(body + i * 2);
      return { rate, channels, samples };
    }
    off = body + size + (size % 2);
  }
  throw new Error("WAV without a data chunk");
}

function rms(s: Int16Array): number {
  let sum = 0;
  for (const v of s) sum += v * v;
  return s.length ? Math.sqrt(sum / s.length) : 0;
}

/** The dominant frequency of a pure tone, by counting rising zero crossings. */
function toneHz(s: Int16Array, rate: number): number {
  let crossings = 0;
  for (let i = 1; i < s.length; i++) if (s[i - 1] < 0 && s[i] >= 0) crossings++;
  return (crossings * rate) / s.length;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("lab peers: Kamailio, baresip, sipp on loopback", function () {
  this.timeout(30000);
  let k: Kamailio;
  let phones: Baresip[] = [];

  async function phone(user: string, transport: SipTransport, answerMode: "auto" | "manual", toneHz?: number): Promise<Baresip> {
    const u = USERS.find((x) => x.user === user);
    assert.ok(u);
    const port = transport === "tls" ? k.tlsPort : transport === "tcp" ? k.tcpPort : k.udpPort;
    const p = await startBaresip({ account: { user, password: u.password, registrar: { host: "127.0.0.1", port, transport }, answerMode }, toneHz, caFile: k.caFile });
    phones.push(p);
    return p;
  }

  before(async function () {
    k = await startKamailio({ users: USERS });
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed") {
      for (const p of phones) console.error(`--- baresip ${p.uri} log ---\n${(await p.log()).slice(-3000)}`);
      console.error(`--- kamailio log ---\n${(await k.log()).slice(-4000)}`);
    }
    await Promise.all(phones.map((p) => p.stop()));
    phones = [];
  });

  after(async function () {
    await k?.stop();
  });

  it("finds free ports: single ones and spaced blocks free on UDP and TCP", async function () {
    const u = await freePort("udp");
    const t = await freePort("tcp");
    assert.notEqual(await tryBind("udp", u), null);
    assert.notEqual(await tryBind("tcp", t), null);
    const block = await freePorts(3, { spacing: 2 });
    assert.deepEqual(block.map((p) => p - block[0]), [0, 2, 4]);
    for (let p = block[0]; p < block[0] + 6; p++) {
      assert.notEqual(await tryBind("udp", p), null, `udp ${p}`);
      assert.notEqual(await tryBind("tcp", p), null, `tcp ${p}`);
    }
  });

  it("calls 1001 (UDP) -> 1002 (TCP, auto answer) through Kamailio with audio both ways", async function () {
    const caller = await phone("1001", "udp", "manual", 1000);
    const callee = await phone("1002", "tcp", "auto", 440);
    await Promise.all([caller.registered(), callee.registered()]);

    const mark = caller.mark();
    const r = await caller.dial("sip:1002@127.0.0.1");
    assert.equal(r.ok, true, `dial: ${r.data}`);
    const [out, inc] = await Promise.all([caller.waitFor("CALL_ESTABLISHED", undefined, 5000, mark), callee.waitFor("CALL_ESTABLISHED", undefined, 5000)]);
    assert.equal(out.direction, "outgoing");
    assert.equal(inc.direction, "incoming");
    assert.match(String(inc.peeruri), /^sip:1001@127\.0\.0\.1/);

    await sleep(1500); // 1.5 s of audio
    const m2 = callee.mark();
    await caller.hangup();
    await caller.waitFor("CALL_CLOSED", undefined, 5000, mark);
    await callee.waitFor("CALL_CLOSED", undefined, 5000, m2);

    // the callee heard the caller's 1000 Hz tone
    let recs: string[] = [];
    let wav: Wav | undefined;
    for (let i = 0; i < 40; i++) {
      recs = await callee.recordings();
      if (recs.length) {
        wav = parseWav(await fs.readFile(recs[0]));
        if (wav.samples.length >= 8000) break;
      }
      await sleep(50);
    }
    assert.equal(recs.length, 1, "one recording of received audio");
    assert.ok(wav);
    assert.equal(wav.rate, 8000);
    assert.equal(wav.channels, 1);
    assert.ok(wav.samples.length >= 8000, `at least 1 s of audio, got ${wav.samples.length} samples`);
    const level = rms(wav.samples);
    assert.ok(level > 1000, `received audio is not silent: RMS ${level.toFixed(0)}`);
    const hz = toneHz(wav.samples.subarray(1600), 8000);
    assert.ok(Math.abs(hz - 1000) < 50, `received tone is ~1000 Hz, got ${hz.toFixed(0)}`);
    // and the caller heard the callee's 440 Hz
    const back = parseWav(await fs.readFile((await caller.recordings())[0]));
    assert.ok(rms(back.samples) > 1000, "the caller heard audio too");
  });

  it("answers a call by hand (manual answer mode) and reports CALL_INCOMING", async function () {
    const callee = await phone("1001", "udp", "manual");
    const caller = await phone("1002", "tcp", "auto");
    await Promise.all([caller.registered(), callee.registered()]);
    const m = callee.mark();
    await caller.dial("sip:1001@127.0.0.1");
    await callee.waitFor("CALL_INCOMING", undefined, 5000, m);
    await callee.answer();
    await Promise.all([callee.waitFor("CALL_ESTABLISHED", undefined, 5000, m), caller.waitFor("CALL_ESTABLISHED", undefined, 5000)]);
    await callee.hangup();
    await caller.waitFor("CALL_CLOSED", undefined, 5000);
  });

  it("registers a baresip over TLS (Kamailio's self-signed certificate as CA)", async function () {
    const pem = await fs.readFile(k.caFile, "utf8");
    assert.match(pem, /BEGIN CERTIFICATE/);
    const p = await phone("1001", "tls", "auto");
    await p.registered(5000);
    const ok = await p.waitFor("REGISTER_OK", undefined, 5000);
    assert.match(String(ok.accountaor), /^sip:1001@127\.0\.0\.1/);
    assert.match(await p.log(), /TLS/);
  });

  it("answers 404 for an unknown user, 480 for a known one not registered, and OPTIONS to itself with 200 (sipp UAC)", async function () {
    const scenario = (ruri: string, code: number): string => `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="options">
  <send>
    <![CDATA[
      OPTIONS ${ruri} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:probe@[local_ip]:[local_port]>;tag=[call_number]
      To: <${ruri}>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="${code}"/>
</scenario>
`;
    const remote = `127.0.0.1:${k.udpPort}`;
    const self = await runSipp({ scenario: scenario(`sip:127.0.0.1:${k.udpPort}`, 200), remote, timeoutMs: 5000 });
    assert.equal(self.code, 0, `OPTIONS to Kamailio: ${self.errors}`);
    assert.match(self.messages, /SIP\/2\.0 200 OK/);
    const unknown = await runSipp({ scenario: scenario(`sip:9999@127.0.0.1:${k.udpPort}`, 404), remote, timeoutMs: 5000 });
    assert.equal(unknown.code, 0, `unknown user: ${unknown.errors}`);
    const absent = await runSipp({ scenario: scenario(`sip:1002@127.0.0.1:${k.udpPort}`, 480), remote, timeoutMs: 5000 });
    assert.equal(absent.code, 0, `known user not registered: ${absent.errors}`);
    // a scenario that expects the wrong answer fails with a reason
    const wrong = await runSipp({ scenario: scenario(`sip:127.0.0.1:${k.udpPort}`, 404), remote, timeoutMs: 3000 });
    assert.notEqual(wrong.code, 0);
  });

  it("survives a crash: kill(), restart() on the same ports, registrations gone, phones register again", async function () {
    const before = await phone("1002", "udp", "auto");
    await before.registered();
    const ports = [k.udpPort, k.tcpPort, k.tlsPort];
    await k.kill();
    await k.restart();
    assert.deepEqual([k.udpPort, k.tcpPort, k.tlsPort], ports);
    assert.match(await k.log(), /kamailio start.*\n[\s\S]*kamailio start/, "the log holds both runs");

    const after = await phone("1001", "tcp", "manual");
    await after.registered(5000);
    // 1002's registration died with the old process: 480
    const m = after.mark();
    await after.dial("sip:1002@127.0.0.1");
    const closed = await after.waitFor("CALL_CLOSED", undefined, 5000, m);
    assert.match(String(closed.param), /480/);
    // 1002 registers again (uareg = re-register now) and can be called
    await before.command("uareg", "600").catch(() => undefined);
    await sleep(300);
    const m2 = after.mark();
    await sleep(1000); // sndfile names recordings by the second
    await after.dial("sip:1002@127.0.0.1");
    await after.waitFor("CALL_ESTABLISHED", undefined, 5000, m2);
    await after.hangup();
  });
});

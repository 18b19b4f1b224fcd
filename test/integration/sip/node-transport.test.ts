// The SIP transport on real sockets: TLS checks named in the error, CRLF keep-alive dropping a dead connection,
// Content-Length framing across TCP segments.
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../../src/base/clock.js";
import { silentLogger } from "../../../src/base/log.js";
import { NodeTransport, type TransportTarget } from "../../../src/sip/transport/node-transport.js";

const run = promisify(execFile);

async function certFor(dir: string, san: string): Promise<{ key: string; cert: string }> {
  const key = path.join(dir, "key.pem");
  const cert = path.join(dir, "cert.pem");
  await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=test", "-addext", `subjectAltName=${san}`]);
  return { key: await fs.readFile(key, "utf8"), cert: await fs.readFile(cert, "utf8") };
}

function transport(target: TransportTarget, extra: Partial<ConstructorParameters<typeof NodeTransport>[1]> = {}): NodeTransport {
  return new NodeTransport(undefined, { clock: new ManualClock(), log: silentLogger(), target: () => target, keepAliveMs: 0, ...extra });
}

describe("SIP transport on real sockets", function () {
  this.timeout(20000);
  let dir: string;
  const servers: net.Server[] = [];
  before(async () => (dir = await fs.mkdtemp(path.join(os.tmpdir(), "sip-transport-"))));
  after(async () => {
    for (const s of servers) s.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function listen(server: net.Server): Promise<number> {
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    return (server.address() as net.AddressInfo).port;
  }

  it("TLS: a certificate for another name fails the host name check, and says so", async () => {
    const { key, cert } = await certFor(dir, "DNS:other.example");
    const port = await listen(tls.createServer({ key, cert }, (s) => s.on("error", () => undefined)));
    const t = transport({ protocol: "TLS", host: "127.0.0.1", port, serverName: "pbx.example.com" }, { caCerts: [cert] });
    await assert.rejects(t.connect(), /does not name 'pbx\.example\.com' \(host name check failed/);
    const ok = transport({ protocol: "TLS", host: "127.0.0.1", port, serverName: "other.example" }, { caCerts: [cert] });
    await ok.connect();
    assert.equal(ok.isConnected(), true);
    await ok.dispose();
  });

  it("CRLF keep-alive: a connection that never answers the ping is dropped; one that pongs stays", async () => {
    const silent = await listen(net.createServer((s) => s.on("error", () => undefined)));
    const ponging = await listen(net.createServer((s) => s.on("data", (d) => d.toString() === "\r\n\r\n" && s.write("\r\n"))));
    for (const [port, answers] of [
      [silent, false],
      [ponging, true],
    ] as const) {
      const clock = new ManualClock();
      const t = new NodeTransport(undefined, { clock, log: silentLogger(), target: () => ({ protocol: "TCP", host: "127.0.0.1", port }), keepAliveMs: 1000, keepAliveTimeoutMs: 500 });
      let lost: Error | undefined;
      t.onDisconnect = (e) => (lost = e);
      await t.connect();
      clock.advance(1000); // ping
      await new Promise((r) => setTimeout(r, 100)); // the pong, if any, arrives on the real socket
      clock.advance(600); // past the deadline
      assert.equal(t.isConnected(), answers, `port ${port}`);
      if (!answers) assert.match(String(lost?.message), /no answer to the CRLF keep-alive/);
      await t.dispose();
    }
  });

  it("frames messages by Content-Length across TCP segments, and drops a stream with no Content-Length", async () => {
    const body = "Grüße aus dem Labor";
    const msg = `MESSAGE sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKx\r\nCSeq: 1 MESSAGE\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const port = await listen(
      net.createServer((s) => {
        const b = Buffer.from(msg + msg + "OPTIONS sip:x SIP/2.0\r\nVia: x\r\n\r\n");
        let i = 0;
        const step = (): void => {
          if (i >= b.length) return;
          s.write(b.subarray(i, i + 7));
          i += 7;
          setImmediate(step);
        };
        step();
      }),
    );
    const t = transport({ protocol: "TCP", host: "127.0.0.1", port });
    const got: string[] = [];
    t.onMessage = (m) => got.push(m);
    const dropped = new Promise<Error | undefined>((r) => (t.onDisconnect = r));
    await t.connect();
    const e = await dropped;
    assert.deepEqual(got, [msg, msg]);
    assert.match(String(e?.message), /closed/);
  });
});

// The service's CA: made once (keys 0600), reused, the TLS certificate reissued when its names change; phone CSRs
// checked (syntax, signature, key type) and turned into 1-year clientAuth certificates with CN = device id.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import { webcrypto, X509Certificate } from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import * as x509 from "@peculiar/x509";
import { ManualClock } from "../../../../src/base/clock.js";
import { openDeviceCa, CsrError } from "../../../../src/provisioning/server/device-ca.js";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
/** The key pair type @peculiar/x509 declares (WebCrypto's, which node's types spell differently). */
type X509Keys = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"];

type Alg = { name: string; namedCurve?: string; modulusLength?: number; publicExponent?: Uint8Array; hash: string };
const P256: Alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const rsa = (bits: number): Alg => ({ name: "RSASSA-PKCS1-v1_5", modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" });

async function csrPem(alg: Alg): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(alg as webcrypto.EcKeyGenParams, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: "CN=phone", keys: keys as unknown as X509Keys, signingAlgorithm: alg });
  return csr.toString("pem");
}

describe("device CA", function () {
  this.timeout(20000);
  let dir: string;
  const clock = new ManualClock(0, Date.UTC(2026, 2, 1));
  beforeEach(async () => (dir = await fs.mkdtemp(path.join(os.tmpdir(), "device-ca-"))));
  afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

  it("creates an EC P-256 CA (10 years) and a server certificate for the configured names, keys 0600", async () => {
    const ca = await openDeviceCa(dir, { tlsNames: ["localhost", "127.0.0.1"], clock });
    const caCert = new X509Certificate(ca.caPem);
    assert.equal(caCert.ca, true);
    assert.equal(caCert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    const years = (Date.parse(caCert.validTo) - Date.parse(caCert.validFrom)) / (365.25 * 24 * 3600e3);
    assert.ok(years > 9.9 && years < 10.1, String(years));
    const server = new X509Certificate(ca.serverCertPem);
    assert.ok(server.checkIssued(caCert) && server.verify(caCert.publicKey));
    assert.equal(server.checkHost("localhost"), "localhost");
    assert.equal(server.checkIP("127.0.0.1"), "127.0.0.1");
    for (const f of ["ca-key.pem", "server-key.pem"]) assert.equal((await fs.stat(path.join(dir, f))).mode & 0o777, 0o600, f);
    assert.deepEqual((await fs.readdir(dir)).sort(), ["ca-cert.pem", "ca-key.pem", "server-cert.pem", "server-key.pem"]);
  });

  it("reuses the CA and server certificate on the next start, and reissues the server's when its names change", async () => {
    const a = await openDeviceCa(dir, { tlsNames: ["localhost", "127.0.0.1"], clock });
    const b = await openDeviceCa(dir, { tlsNames: ["127.0.0.1", "localhost"], clock });
    assert.equal(b.caPem, a.caPem);
    assert.equal(b.serverCertPem, a.serverCertPem);
    const c = await openDeviceCa(dir, { tlsNames: ["localhost", "127.0.0.1", "prov.example.com"], clock });
    assert.equal(c.caPem, a.caPem);
    assert.notEqual(c.serverCertPem, a.serverCertPem);
    assert.equal(new X509Certificate(c.serverCertPem).checkHost("prov.example.com"), "prov.example.com");
  });

  for (const [label, alg] of [
    ["EC P-256", P256],
    ["RSA 2048", rsa(2048)],
  ] as const) {
    it(`issues a 1-year clientAuth certificate with CN = device id to a ${label} request`, async () => {
      const ca = await openDeviceCa(dir, { tlsNames: ["localhost"], clock });
      const csr = await ca.checkCsr(await csrPem(alg));
      const issued = await ca.issueClientCertificate(csr, "7d0c6a52-3c4e-4a57-9a43-0b7a8f0f2d11");
      const cert = new X509Certificate(issued.pem);
      assert.equal(cert.subject, "CN=7d0c6a52-3c4e-4a57-9a43-0b7a8f0f2d11");
      assert.ok(cert.checkIssued(new X509Certificate(ca.caPem)) && cert.verify(new X509Certificate(ca.caPem).publicKey));
      assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.2"]);
      assert.equal(cert.ca, false);
      const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / (24 * 3600e3);
      assert.equal(Math.round(days), 365);
      assert.ok(Date.parse(cert.validFrom) <= clock.wallNow());
      assert.equal(issued.serial, cert.serialNumber.toLowerCase());
      assert.match(issued.serial, /^[0-9a-f]{32}$/);
      assert.equal(issued.sha256, cert.fingerprint256.replace(/:/g, "").toLowerCase());
      const again = await ca.issueClientCertificate(csr, "other");
      assert.notEqual(again.serial, issued.serial, "serials are random");
    });
  }

  it("refuses a request that is not PEM, not PKCS#10, badly signed, or has a weak or unexpected key, saying which", async () => {
    const ca = await openDeviceCa(dir, { tlsNames: ["localhost"], clock });
    const refusal = async (pem: string): Promise<string> => {
      try {
        await ca.checkCsr(pem);
      } catch (e) {
        assert.ok(e instanceof CsrError);
        return e.message;
      }
      return "accepted";
    };
    assert.match(await refusal("hello"), /^csr: not a PEM certificate request/);
    assert.match(await refusal("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"), /^csr: not a valid PKCS#10 certificate request/);
    assert.match(await refusal(ca.caPem.replace(/CERTIFICATE/g, "CERTIFICATE REQUEST")), /^csr: not a valid PKCS#10/);
    assert.equal(await refusal(await csrPem({ name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" })), "csr: an EC key must be on P-256 (this one is on secp384r1)");
    assert.equal(await refusal(await csrPem(rsa(1024))), "csr: an RSA key must have 2048 bits or more (this one has 1024)");
    // flip a byte of the signature (the DER's last bytes)
    const good = await csrPem(P256);
    const der = Buffer.from(good.replace(/-----[^-]+-----|\s/g, ""), "base64");
    der[der.length - 3] ^= 0x01;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.match(await refusal(tampered), /^csr: (the signature does not match the request's key|the signature cannot be checked)/);
  });
});

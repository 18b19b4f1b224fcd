// The service's own certificate authority: an EC P-256 key and a self-signed CA certificate (10 years), made on first
// start in the data directory, which signs the service's TLS certificate (for the names and addresses in its config,
// reissued when they change or near expiry) and the phones' client certificates (1 year, random serial, CN = device id,
// clientAuth) from the PKCS#10 requests they send at sign-in. Keys are written 0600 and atomically.
import { webcrypto, createPublicKey, randomBytes, X509Certificate as NodeX509 } from "node:crypto";
import { promises as fs } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import * as x509 from "@peculiar/x509";
import { writeFileAtomic } from "../../base/atomic-file.js";
import { createSystemClock, type Clock } from "../../base/clock.js";

const EC: webcrypto.EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGN: webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
const DAY = 24 * 3600 * 1000;
const CA_DAYS = 3650;
const SERVER_DAYS = 397;
const CLIENT_DAYS = 365;
/** A server certificate this close to its end is reissued at start. */
const RENEW_DAYS = 30;

export const CA_KEY_FILE = "ca-key.pem";
export const CA_CERT_FILE = "ca-cert.pem";
export const SERVER_KEY_FILE = "server-key.pem";
export const SERVER_CERT_FILE = "server-cert.pem";

type Crypto = typeof webcrypto;
const crypto = webcrypto as unknown as Crypto;

/** @peculiar/x509 works on a WebCrypto provider: node's. */
function provider(): void {
  x509.cryptoProvider.set(crypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
}

/** A request the service refuses; the message says which check failed (for a 400). */
export class CsrError extends Error {
  override name = "CsrError";
}

export interface IssuedCertificate {
  pem: string;
  /** Hexadecimal, lower case. */
  serial: string;
  /** SHA-256 of the DER, hexadecimal, lower case. */
  sha256: string;
  notAfter: Date;
}

export interface DeviceCa {
  readonly caPem: string;
  readonly serverKeyPem: string;
  readonly serverCertPem: string;
  /** Checks a PEM PKCS#10 request (syntax, signature, key type); throws CsrError with the reason. */
  checkCsr(pem: string): Promise<x509.Pkcs10CertificateRequest>;
  /** Issues a client certificate for `deviceId` to the key of a checked request. */
  issueClientCertificate(csr: x509.Pkcs10CertificateRequest, deviceId: string): Promise<IssuedCertificate>;
}

const toPem = (der: ArrayBuffer, label: string): string => `-----BEGIN ${label}-----\n${Buffer.from(der).toString("base64").replace(/.{1,64}/g, "$&\n")}-----END ${label}-----\n`;

function fromPem(pem: string, label: string): Buffer {
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  if (!m) throw new Error(`not a PEM ${label}`);
  return Buffer.from(m[1]!.replace(/\s+/g, ""), "base64");
}

/** A positive random serial of 16 bytes (RFC 5280: at most 20 octets, unpredictable). */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x10; // positive and no leading zero octet
  return b.toString("hex");
}

const sha256Of = (pem: string): string => new NodeX509(pem).fingerprint256.replace(/:/g, "").toLowerCase();

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

async function importEcKey(pem: string): Promise<webcrypto.CryptoKey> {
  return crypto.subtle.importKey("pkcs8", fromPem(pem, "PRIVATE KEY"), EC, false, ["sign"]);
}

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey(EC, true, ["sign", "verify"]);
}

async function privatePem(key: webcrypto.CryptoKey): Promise<string> {
  return toPem((await crypto.subtle.exportKey("pkcs8", key)) as ArrayBuffer, "PRIVATE KEY");
}

/** The SAN entries for the configured names: an IP address as such, anything else as a DNS name. */
const sanOf = (names: string[]): x509.JsonGeneralNames => names.map((n) => (net.isIP(n) ? { type: "ip" as const, value: n } : { type: "dns" as const, value: n }));

/** The names a certificate's SAN holds, sorted, as "dns:x" / "ip:y". */
function sanNames(cert: x509.X509Certificate): string[] {
  const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
  return (ext?.names.toJSON() ?? []).map((n) => `${n.type}:${n.value}`).sort();
}

export interface DeviceCaOptions {
  /** DNS names and IP addresses the service answers on (its TLS certificate's subjectAltName). */
  tlsNames: string[];
  clock?: Clock;
  /** Subject of the CA (default "CN=Deskphone provisioning CA"). */
  caName?: string;
}

/** Loads the CA from `dir`, creating it (and the server certificate) on first start. */
export async function openDeviceCa(dir: string, opts: DeviceCaOptions): Promise<DeviceCa> {
  provider();
  const clock = opts.clock ?? createSystemClock();
  const now = (): Date => new Date(clock.wallNow());
  const caKeyFile = path.join(dir, CA_KEY_FILE);
  const caCertFile = path.join(dir, CA_CERT_FILE);
  const serverKeyFile = path.join(dir, SERVER_KEY_FILE);
  const serverCertFile = path.join(dir, SERVER_CERT_FILE);

  let caKey: webcrypto.CryptoKey;
  let caCert: x509.X509Certificate;
  if ((await exists(caKeyFile)) && (await exists(caCertFile))) {
    caKey = await importEcKey(await fs.readFile(caKeyFile, "utf8"));
    caCert = new x509.X509Certificate(await fs.readFile(caCertFile, "utf8"));
  } else {
    const keys = await newKeys();
    const start = new Date(now().getTime() - 3600_000); // an hour of slack for clocks behind ours
    caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: opts.caName ?? "CN=Deskphone provisioning CA",
      notBefore: start,
      notAfter: new Date(start.getTime() + CA_DAYS * DAY),
      signingAlgorithm: SIGN,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    // the key first: a crash between the two leaves no certificate without its key
    await writeFileAtomic(caKeyFile, await privatePem(keys.privateKey), { mode: 0o600 });
    await writeFileAtomic(caCertFile, caCert.toString("pem") + "\n");
    caKey = await importEcKey(await fs.readFile(caKeyFile, "utf8"));
  }
  const caPem = caCert.toString("pem") + "\n";
  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const authorityKeyId = caKeyId ? new x509.AuthorityKeyIdentifierExtension(caKeyId) : await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey);

  // the server's TLS certificate, for the configured names
  const wanted = sanOf(opts.tlsNames)
    .map((n) => `${n.type}:${n.value}`)
    .sort();
  let serverKeyPem: string | undefined;
  let serverCertPem: string | undefined;
  if ((await exists(serverKeyFile)) && (await exists(serverCertFile))) {
    const pem = await fs.readFile(serverCertFile, "utf8");
    const cert = new x509.X509Certificate(pem);
    const fresh = cert.notAfter.getTime() - now().getTime() > RENEW_DAYS * DAY;
    const same = JSON.stringify(sanNames(cert)) === JSON.stringify(wanted);
    const ours = await cert.verify({ publicKey: caCert.publicKey, signatureOnly: true });
    if (fresh && same && ours) {
      serverKeyPem = await fs.readFile(serverKeyFile, "utf8");
      serverCertPem = pem;
    }
  }
  if (!serverKeyPem || !serverCertPem) {
    const keys = await newKeys();
    const start = new Date(now().getTime() - 3600_000);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: `CN=${opts.tlsNames[0] ?? "localhost"}`,
      issuer: caCert.subject,
      notBefore: start,
      notAfter: new Date(start.getTime() + SERVER_DAYS * DAY),
      signingAlgorithm: SIGN,
      publicKey: keys.publicKey,
      signingKey: caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(sanOf(opts.tlsNames)),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        authorityKeyId,
      ],
    });
    serverKeyPem = await privatePem(keys.privateKey);
    serverCertPem = cert.toString("pem") + "\n";
    await writeFileAtomic(serverKeyFile, serverKeyPem, { mode: 0o600 });
    await writeFileAtomic(serverCertFile, serverCertPem);
  }

  return {
    caPem,
    serverKeyPem,
    serverCertPem,

    async checkCsr(pem: string): Promise<x509.Pkcs10CertificateRequest> {
      provider();
      if (!/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/.test(pem)) throw new CsrError("csr: not a PEM certificate request (expected -----BEGIN CERTIFICATE REQUEST-----)");
      let csr: x509.Pkcs10CertificateRequest;
      try {
        csr = new x509.Pkcs10CertificateRequest(pem.replace(/(BEGIN|END) NEW CERTIFICATE REQUEST/g, "$1 CERTIFICATE REQUEST"));
      } catch (e) {
        throw new CsrError(`csr: not a valid PKCS#10 certificate request (${(e as Error).message})`);
      }
      let key;
      try {
        key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: "der", type: "spki" });
      } catch (e) {
        throw new CsrError(`csr: unreadable public key (${(e as Error).message})`);
      }
      const d = key.asymmetricKeyDetails ?? {};
      if (key.asymmetricKeyType === "ec") {
        if (d.namedCurve !== "prime256v1") throw new CsrError(`csr: an EC key must be on P-256 (this one is on ${d.namedCurve ?? "an unknown curve"})`);
      } else if (key.asymmetricKeyType === "rsa") {
        if ((d.modulusLength ?? 0) < 2048) throw new CsrError(`csr: an RSA key must have 2048 bits or more (this one has ${d.modulusLength ?? "?"})`);
      } else {
        throw new CsrError(`csr: the key must be EC P-256 or RSA 2048+ (this one is ${key.asymmetricKeyType ?? "unknown"})`);
      }
      let good = false;
      try {
        good = await csr.verify();
      } catch (e) {
        throw new CsrError(`csr: the signature cannot be checked (${(e as Error).message})`);
      }
      if (!good) throw new CsrError("csr: the signature does not match the request's key");
      return csr;
    },

    async issueClientCertificate(csr: x509.Pkcs10CertificateRequest, deviceId: string): Promise<IssuedCertificate> {
      provider();
      const rsa = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: "der", type: "spki" }).asymmetricKeyType === "rsa";
      const start = new Date(now().getTime() - 3600_000);
      const serial = randomSerial();
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial,
        subject: `CN=${deviceId}`,
        issuer: caCert.subject,
        notBefore: start,
        notAfter: new Date(start.getTime() + CLIENT_DAYS * DAY),
        signingAlgorithm: SIGN,
        publicKey: csr.publicKey,
        signingKey: caKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | (rsa ? x509.KeyUsageFlags.keyEncipherment : 0), true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
          await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
          authorityKeyId,
        ],
      });
      const pem = cert.toString("pem") + "\n";
      return { pem, serial: cert.serialNumber.toLowerCase(), sha256: sha256Of(pem), notAfter: cert.notAfter };
    },
  };
}

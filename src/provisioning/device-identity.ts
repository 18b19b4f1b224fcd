// The phone's own identity toward the provisioning service: an EC P-256 key pair made on the phone (the private key
// never leaves it) and a PKCS#10 certificate request for the service to sign; later, checks that the certificate the
// service returned is for this key and from the service's CA. @peculiar/x509 over Node's WebCrypto.
import { createPrivateKey, webcrypto, X509Certificate as NodeX509 } from "node:crypto";
import * as x509 from "@peculiar/x509";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export interface DeviceKey {
  /** PKCS#8 PEM. A secret: stored 0600, never logged. */
  privateKeyPem: string;
  /** PKCS#10 PEM. */
  csrPem: string;
}

/** A new key pair and a CSR naming the phone (`name`: e.g. its MAC or serial; the service sets the real identity). */
export async function makeDeviceKey(name: string): Promise<DeviceKey> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as unknown as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]["keys"];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${name.replace(/[,=+<>#;\\"]/g, "_")}`, keys, signingAlgorithm: ALG });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey as unknown as webcrypto.CryptoKey);
  const b64 = Buffer.from(pkcs8).toString("base64").replace(/.{1,64}/g, "$&\n");
  return { privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${b64}-----END PRIVATE KEY-----\n`, csrPem: csr.toString("pem") };
}

/**
 * Why `certPem` cannot be this phone's certificate, or null when it can: it must parse, be signed by `caPem`, be in
 * its validity period, and carry the public key of `privateKeyPem`.
 */
export function checkDeviceCertificate(certPem: string, caPem: string, privateKeyPem: string, now = new Date()): string | null {
  let cert: NodeX509;
  let ca: NodeX509;
  try {
    cert = new NodeX509(certPem);
    ca = new NodeX509(caPem);
  } catch (e) {
    return `unreadable certificate (${(e as Error).message})`;
  }
  if (!cert.verify(ca.publicKey)) return "the certificate is not signed by the service's CA";
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) return `the certificate is not valid now (${cert.validFrom} - ${cert.validTo})`;
  if (!cert.checkPrivateKey(createPrivateKey(privateKeyPem))) return "the certificate is for another key";
  return null;
}


/**
 * Test certificates for client assertions: a fresh self-signed RSA certificate and its PKCS#8 key,
 * as a `kubernetes.io/tls` Secret would hold them. Tests only (the build leaves testing/ out).
 */
// @peculiar/x509 resolves its ASN.1 providers through tsyringe, which needs this polyfill first.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** A PEM certificate and its private key. */
export interface TestCertificate {
  certificatePem: string;
  privateKeyPem: string;
}

/** A self-signed RSA-2048 certificate valid for a day around now, with its PKCS#8 key. */
export async function selfSignedRsaCertificate(
  commonName = "datatrails-operator-test",
): Promise<TestCertificate> {
  const algorithm = {
    name: "RSASSA-PKCS1-v1_5",
    hash: "SHA-256",
    publicExponent: new Uint8Array([1, 0, 1]),
    modulusLength: 2048,
  };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString("hex"),
    name: `CN=${commonName}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * 60 * 60 * 1000),
    signingAlgorithm: algorithm,
    keys,
  });
  const der = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    certificatePem: cert.toString("pem"),
    privateKeyPem: x509.PemConverter.encode(der, "PRIVATE KEY"),
  };
}

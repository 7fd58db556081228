/**
 * Certificates for the local control plane: a CA, a serving certificate for 127.0.0.1, an admin
 * client certificate in system:masters, and the service-account signing key pair. Everything is
 * made fresh per control plane and lives only in its temporary directory.
 */
// @peculiar/x509 resolves its ASN.1 providers through tsyringe, which needs this polyfill first.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const oneDayMs = 24 * 60 * 60 * 1000;

/** PEM-encoded material the control plane and its clients need. */
export interface ControlPlaneCerts {
  caCert: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountPublicKey: string;
  serviceAccountPrivateKey: string;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

async function publicKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("spki", key);
  return x509.PemConverter.encode(der, "PUBLIC KEY");
}

function validity(): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  // Back-dated a little so that a clock a few seconds off does not reject the certificate.
  return { notBefore: new Date(now - 60_000), notAfter: new Date(now + 7 * oneDayMs) };
}

async function leaf(
  ca: { cert: x509.X509Certificate; keys: CryptoKeyPair },
  subject: string,
  usage: "server" | "client",
): Promise<{ cert: string; key: string }> {
  const keys = await newKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension([
      usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
    ]),
  ];
  if (usage === "server") {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        { type: "ip", value: "127.0.0.1" },
        { type: "dns", value: "localhost" },
      ]),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    subject,
    issuer: ca.cert.subject,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: algorithm,
    extensions,
    ...validity(),
  });
  return { cert: cert.toString("pem"), key: await privateKeyPem(keys.privateKey) };
}

/** Makes a fresh set of certificates and keys for one control plane. */
export async function makeControlPlaneCerts(): Promise<ControlPlaneCerts> {
  const caKeys = await newKeys();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=datatrails-operator-envtest-ca",
    keys: caKeys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
    ...validity(),
  });
  const ca = { cert: caCert, keys: caKeys };
  const serving = await leaf(ca, "CN=kube-apiserver", "server");
  const admin = await leaf(ca, "CN=envtest-admin, O=system:masters", "client");
  const sa = await newKeys();
  return {
    caCert: caCert.toString("pem"),
    servingCert: serving.cert,
    servingKey: serving.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    serviceAccountPublicKey: await publicKeyPem(sa.publicKey),
    serviceAccountPrivateKey: await privateKeyPem(sa.privateKey),
  };
}

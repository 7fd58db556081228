/**
 * A control plane for a cluster with a node, where pods must reach the API server as in any
 * cluster: etcd and kube-apiserver (the binaries of src/envtest) with the ServiceAccount admission
 * plugin on (pods get their token volume), a serving certificate for 127.0.0.1, the node's address
 * and the `kubernetes` Service's 10.0.0.1, and the node's address advertised, so that the `kubernetes`
 * Service's endpoint is <node address>:<port>. kube-apiserver listens on 127.0.0.1 only; a TCP relay
 * in this process listens on the node's bridge address and passes the bytes to it, so nothing listens
 * on any interface but loopback and the test's bridge.
 *
 * The envtest control plane (src/envtest) cannot serve here: it turns ServiceAccount admission off
 * and its certificate names 127.0.0.1 only.
 */
import "reflect-metadata";
import { spawn, type ChildProcess } from "node:child_process";
import { webcrypto } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import { stringify } from "yaml";
import { controlPlaneBinDir } from "../../src/envtest/control-plane.ts";
import { freePort } from "../../src/envtest/ports.ts";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** A running control plane for a node. */
export interface ClusterControlPlane {
  kubeconfigPath: string;
  /** ca.crt (also the pods' root CA) and sa.key, for the controller-manager. */
  certDir: string;
  /** The directory of etcd, kube-apiserver and kubectl. */
  binDir: string;
  stop(): Promise<void>;
}

async function pem(kind: "pkcs8" | "spki", key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey(kind, key);
  return x509.PemConverter.encode(der, kind === "pkcs8" ? "PRIVATE KEY" : "PUBLIC KEY");
}

async function certificates(nodeIp: string) {
  const keys = () => webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const now = Date.now();
  const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) };
  const caKeys = await keys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=datatrails-operator-node-ca",
    keys: caKeys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
    ...validity,
  });
  const leaf = async (subject: string, server: boolean) => {
    const k = await keys();
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
      ]),
    ];
    if (server)
      extensions.push(
        new x509.SubjectAlternativeNameExtension([
          { type: "ip", value: "127.0.0.1" },
          { type: "ip", value: nodeIp },
          { type: "ip", value: "10.0.0.1" },
          { type: "dns", value: "localhost" },
          { type: "dns", value: "kubernetes.default.svc" },
        ]),
      );
    const cert = await x509.X509CertificateGenerator.create({
      subject,
      issuer: ca.subject,
      publicKey: k.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: algorithm,
      extensions,
      ...validity,
    });
    return { cert: cert.toString("pem"), key: await pem("pkcs8", k.privateKey) };
  };
  const sa = await keys();
  return {
    ca: ca.toString("pem"),
    serving: await leaf("CN=kube-apiserver", true),
    admin: await leaf("CN=node-admin, O=system:masters", false),
    // What kube-apiserver shows the kubelet (which trusts ca.crt) for `kubectl logs` and `exec`.
    kubeletClient: await leaf("CN=kube-apiserver-kubelet-client, O=system:masters", false),
    saPublic: await pem("spki", sa.publicKey),
    saPrivate: await pem("pkcs8", sa.privateKey),
  };
}

/** Starts etcd, kube-apiserver and the relay on the node's address; resolves once /readyz is 200. */
export async function startClusterControlPlane(nodeIp: string): Promise<ClusterControlPlane> {
  const binDir = controlPlaneBinDir();
  const dir = await mkdtemp(join(tmpdir(), "datatrails-cluster-"));
  const certDir = join(dir, "certs");
  await mkdir(certDir);
  const c = await certificates(nodeIp);
  const file = (name: string) => join(certDir, name);
  await writeFile(file("ca.crt"), c.ca);
  await writeFile(file("apiserver.crt"), c.serving.cert);
  await writeFile(file("apiserver.key"), c.serving.key, { mode: 0o600 });
  await writeFile(file("sa.pub"), c.saPublic);
  await writeFile(file("sa.key"), c.saPrivate, { mode: 0o600 });
  await writeFile(file("kubelet-client.crt"), c.kubeletClient.cert);
  await writeFile(file("kubelet-client.key"), c.kubeletClient.key, { mode: 0o600 });

  const children: ChildProcess[] = [];
  const launch = (name: string, binary: string, args: string[]) => {
    const fd = openSync(join(dir, `${name}.log`), "a");
    const child = spawn(join(binDir, binary), args, { stdio: ["ignore", fd, fd] });
    closeSync(fd);
    children.push(child);
  };
  process.once("exit", () => {
    for (const child of children) child.kill("SIGKILL");
  });
  const [etcdPort, peerPort] = [await freePort(), await freePort()];
  // The same port on the bridge (the relay) as on loopback (kube-apiserver): the advertised endpoint.
  const apiPort = await freePort();
  const etcd = `http://127.0.0.1:${etcdPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  launch("etcd", "etcd", [
    "--name=node",
    `--data-dir=${join(dir, "etcd")}`,
    `--listen-client-urls=${etcd}`,
    `--advertise-client-urls=${etcd}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=node=${peer}`,
    "--unsafe-no-fsync=true",
    "--log-level=warn",
  ]);
  launch("kube-apiserver", "kube-apiserver", [
    `--etcd-servers=${etcd}`,
    `--cert-dir=${certDir}`,
    `--secure-port=${apiPort}`,
    "--bind-address=127.0.0.1",
    `--advertise-address=${nodeIp}`,
    `--tls-cert-file=${file("apiserver.crt")}`,
    `--tls-private-key-file=${file("apiserver.key")}`,
    `--client-ca-file=${file("ca.crt")}`,
    `--kubelet-client-certificate=${file("kubelet-client.crt")}`,
    `--kubelet-client-key=${file("kubelet-client.key")}`,
    // The node's name resolves nowhere here; its InternalIP is the kubelet's address.
    "--kubelet-preferred-address-types=InternalIP",
    `--service-account-key-file=${file("sa.pub")}`,
    `--service-account-signing-key-file=${file("sa.key")}`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    "--service-cluster-ip-range=10.0.0.0/24",
    "--authorization-mode=Node,RBAC",
    "--allow-privileged=true",
  ]);

  const relay: Server = createServer((inbound) => {
    const outbound = connect(apiPort, "127.0.0.1");
    inbound.pipe(outbound).pipe(inbound);
    inbound.on("error", () => outbound.destroy());
    outbound.on("error", () => inbound.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    relay.once("error", reject);
    relay.listen(apiPort, nodeIp, () => resolve());
  });

  const kubeconfigPath = join(dir, "kubeconfig");
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  await writeFile(
    kubeconfigPath,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "node",
          cluster: { server: `https://127.0.0.1:${apiPort}`, "certificate-authority-data": b64(c.ca) },
        },
      ],
      users: [
        {
          name: "admin",
          user: { "client-certificate-data": b64(c.admin.cert), "client-key-data": b64(c.admin.key) },
        },
      ],
      contexts: [{ name: "node", context: { cluster: "node", user: "admin" } }],
      "current-context": "node",
    }),
    { mode: 0o600 },
  );

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    relay.close();
    for (const child of children.reverse()) {
      if (child.exitCode !== null) continue;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const ready = async () => {
    const { request } = await import("node:https");
    return new Promise<boolean>((resolve) => {
      const req = request(
        `https://127.0.0.1:${apiPort}/readyz`,
        { ca: c.ca, cert: c.admin.cert, key: c.admin.key, timeout: 2_000 },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        },
      );
      req.on("error", () => resolve(false));
      req.end();
    });
  };
  const deadline = Date.now() + 90_000;
  while (!(await ready())) {
    if (Date.now() > deadline || children.some((ch) => ch.exitCode !== null)) {
      const log = await readFile(join(dir, "kube-apiserver.log"), "utf8").catch(() => "");
      await stop();
      throw new Error(`kube-apiserver not ready:\n${log.split("\n").slice(-30).join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { kubeconfigPath, certDir, binDir, stop };
}

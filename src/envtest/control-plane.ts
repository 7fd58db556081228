/**
 * A real, local Kubernetes control plane (etcd + kube-apiserver) for tests and `dev`, started the
 * way controller-runtime's envtest starts one: fresh certificates, an admin client certificate in
 * system:masters, a kubeconfig, loopback ports chosen at random, etcd with --unsafe-no-fsync.
 *
 * The binaries come from KUBEBUILDER_ASSETS when set, otherwise from hack/controlplane/build.sh,
 * which builds them once from their Go modules and caches them outside git.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile, readFile, mkdir } from "node:fs/promises";
import { openSync, closeSync, existsSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { makeControlPlaneCerts, type ControlPlaneCerts } from "./certs.ts";
import { freePort } from "./ports.ts";

/** A running control plane and the means to reach and stop it. */
export interface ControlPlane {
  /** A client configuration for the admin user (system:masters). */
  kubeConfig: KubeConfig;
  /** The same configuration as a file, for kubectl, helm and child processes. */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port>; also the issuer (`iss`) of the ServiceAccount tokens it issues. */
  server: string;
  /** The CA (PEM) of the serving certificate, for clients that fetch the issuer's discovery. */
  caCertificate: string;
  /** The directory holding etcd, kube-apiserver and (when available) kubectl. */
  binDir: string;
  /** Stops kube-apiserver and starts it again on the same port; etcd keeps its data. */
  restartApiServer(): Promise<void>;
  /** Stops both processes and removes every file the control plane wrote. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options for {@link startControlPlane}. */
export interface ControlPlaneOptions {
  /** How long to wait for /readyz; default 60 s (the first start after a build is the slowest). */
  readyTimeoutMs?: number;
  /** Extra kube-apiserver flags, e.g. feature gates. */
  apiServerFlags?: string[];
}

const repoRoot = resolve(fileURLToPath(import.meta.url), "..", "..", "..");

/** Finds (or builds, once) the control-plane binaries and returns their directory. */
export function controlPlaneBinDir(): string {
  const script = join(repoRoot, "hack", "controlplane", "build.sh");
  if (!existsSync(script)) {
    const assets = process.env["KUBEBUILDER_ASSETS"];
    if (assets) return assets;
    throw new Error(`no ${script} and no KUBEBUILDER_ASSETS: cannot find etcd and kube-apiserver`);
  }
  return execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
}

interface Proc {
  child: ChildProcess;
  logPath: string;
  exited: Promise<number | null>;
}

function launch(binary: string, args: string[], logPath: string): Proc {
  const fd = openSync(logPath, "a");
  const child = spawn(binary, args, { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const exited = new Promise<number | null>((done) => {
    child.once("exit", (code) => done(code));
    child.once("error", () => done(-1));
  });
  return { child, logPath, exited };
}

async function logTail(path: string, lines = 30): Promise<string> {
  try {
    return (await readFile(path, "utf8")).split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

async function halt(proc: Proc | undefined, graceMs = 10_000): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill("SIGTERM");
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

function probe(url: string, certs: ControlPlaneCerts): Promise<number> {
  return new Promise((done) => {
    const req = request(
      url,
      { ca: certs.caCert, cert: certs.adminCert, key: certs.adminKey, timeout: 2_000 },
      (res) => {
        res.resume();
        done(res.statusCode ?? 0);
      },
    );
    req.on("error", () => done(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

async function waitReady(
  server: string,
  certs: ControlPlaneCerts,
  proc: Proc,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`kube-apiserver exited before it was ready:\n${await logTail(proc.logPath)}`);
    }
    if ((await probe(`${server}/readyz`, certs)) === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`kube-apiserver not ready after ${timeoutMs} ms:\n${await logTail(proc.logPath)}`);
}

/** Kills the children when this process dies without calling stop() (a crashed test worker). */
function watchdog(dir: string): ChildProcess {
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 $(cat "${dir}/pids") 2>/dev/null; rm -rf "${dir}"`;
  const dog = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
  dog.unref();
  return dog;
}

/** Starts etcd and kube-apiserver, waits until /readyz answers 200, and returns the handle. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binDir = controlPlaneBinDir();
  const dir = await mkdtemp(join(tmpdir(), "datatrails-envtest-"));
  const certDir = join(dir, "certs");
  await mkdir(certDir);
  const certs = await makeControlPlaneCerts();
  const file = (name: string) => join(certDir, name);
  await Promise.all([
    writeFile(file("ca.crt"), certs.caCert),
    writeFile(file("apiserver.crt"), certs.servingCert),
    writeFile(file("apiserver.key"), certs.servingKey, { mode: 0o600 }),
    writeFile(file("sa.pub"), certs.serviceAccountPublicKey),
    writeFile(file("sa.key"), certs.serviceAccountPrivateKey, { mode: 0o600 }),
  ]);

  const [etcdClientPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
  const server = `https://127.0.0.1:${apiPort}`;

  const procs: { etcd?: Proc; api?: Proc } = {};
  const recordPids = () =>
    writeFile(join(dir, "pids"), [procs.etcd, procs.api].map((p) => p?.child.pid ?? "").join(" "));
  const dog = watchdog(dir);

  procs.etcd = launch(
    join(binDir, "etcd"),
    [
      "--name=envtest",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=envtest=${peerUrl}`,
      "--unsafe-no-fsync=true",
      "--log-level=warn",
    ],
    join(dir, "etcd.log"),
  );

  const apiArgs = [
    `--etcd-servers=${etcdUrl}`,
    `--cert-dir=${certDir}`,
    `--secure-port=${apiPort}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--tls-cert-file=${file("apiserver.crt")}`,
    `--tls-private-key-file=${file("apiserver.key")}`,
    `--client-ca-file=${file("ca.crt")}`,
    `--service-account-key-file=${file("sa.pub")}`,
    `--service-account-signing-key-file=${file("sa.key")}`,
    // The first issuer is the one new tokens carry: the API server itself, so that a relying party
    // outside the cluster (the emulator's Azure AD checking a federated ServiceAccount token) can
    // fetch its discovery document and JWKS. The in-cluster name is still accepted.
    `--service-account-issuer=${server}`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-jwks-uri=${server}/openid/v1/jwks`,
    "--service-cluster-ip-range=10.0.0.0/24",
    "--authorization-mode=RBAC",
    "--allow-privileged=true",
    // The default reconciler refuses a loopback advertise address; envtest turns it off the same way.
    "--endpoint-reconciler-type=none",
    // No controller-manager runs, so nothing would create service accounts for pods.
    "--disable-admission-plugins=ServiceAccount",
    ...(options.apiServerFlags ?? []),
  ];
  const startApi = async () => {
    procs.api = launch(join(binDir, "kube-apiserver"), apiArgs, join(dir, "kube-apiserver.log"));
    await recordPids();
    await waitReady(server, certs, procs.api, options.readyTimeoutMs ?? 60_000);
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await halt(procs.api);
    await halt(procs.etcd);
    dog.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await recordPids();
    await startApi();
  } catch (err) {
    const etcdLog = await logTail(join(dir, "etcd.log"), 10);
    await stop();
    throw new Error(`${(err as Error).message}\netcd log:\n${etcdLog}`, { cause: err });
  }

  const kubeconfigPath = join(dir, "kubeconfig");
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  await writeFile(
    kubeconfigPath,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "envtest", cluster: { server, "certificate-authority-data": b64(certs.caCert) } }],
      users: [
        {
          name: "envtest-admin",
          user: { "client-certificate-data": b64(certs.adminCert), "client-key-data": b64(certs.adminKey) },
        },
      ],
      contexts: [{ name: "envtest", context: { cluster: "envtest", user: "envtest-admin" } }],
      "current-context": "envtest",
    }),
    { mode: 0o600 },
  );
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);

  return {
    kubeConfig,
    kubeconfigPath,
    server,
    caCertificate: certs.caCert,
    binDir,
    stop,
    async restartApiServer() {
      await halt(procs.api);
      await startApi();
    },
  };
}

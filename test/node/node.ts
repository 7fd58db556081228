/**
 * A real node on this machine for a control plane of the test's own: containerd, runc and the CNI
 * plugins from Debian; kubelet, kube-proxy, kube-controller-manager and kube-scheduler built from the
 * same pinned k8s.io/kubernetes as kube-apiserver (hack/node/build.sh); a sandbox image built here
 * (hack/node/pause-image.sh) and every other image imported with `ctr images import`, no registry.
 *
 * Pods get network namespaces of their own on a bridge this harness creates, with a /24 that is not
 * routed anywhere and no masquerading: no pod traffic leaves the machine. Everything lives under one
 * temporary directory; stop() deletes the pods through the API (so the kubelet tears their sandboxes
 * down through CNI), stops every process started here (found by that directory in their command
 * line, so containerd's shims too), unmounts what is mounted under it and removes the bridge.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import {
  deleteNewKubeChains,
  kubeChains,
  listNetns,
  makeNodeNetwork,
  mountsUnder,
  k8sCgroupsExist,
  killContainers,
  pidsMentioning,
  readKubeletSysctls,
  restoreSysctls,
  type NodeNetwork,
} from "./host.ts";
import { cniConfig, containerdConfig, kubeletConfiguration } from "./configs.ts";
import { freePort } from "../../src/envtest/ports.ts";

export { makeNodeNetwork, type NodeNetwork } from "./host.ts";

const run = promisify(execFile);
const repoRoot = join(import.meta.dirname, "..", "..");

/** What a node needs from the control plane it joins. */
export interface NodeOptions {
  /** The bridge to put pods on; by default the node makes one and removes it when it stops. */
  network?: NodeNetwork;
  /** An admin kubeconfig of the control plane (system:masters). */
  kubeconfigPath: string;
  /** The control plane's certificate directory: ca.crt and the service-account key sa.key. */
  certDir: string;
  /** Image archives (docker-archive or OCI) to import into containerd before the kubelet starts. */
  images?: string[];
  /** Also run kube-proxy (iptables mode). */
  kubeProxy?: boolean;
}

/** A running node. */
export interface RunningNode {
  name: string;
  /** The bridge's address, the node's InternalIP. */
  nodeIp: string;
  /** The sandbox image, as the kubelet's pods reference it. */
  pauseImage: string;
  /** Where each process logs, for failure messages. */
  logs: Record<string, string>;
  /** The last lines of one process's log. */
  tail(process: string, lines?: number): Promise<string>;
  /** The last lines of every container's log on this node, for failure messages. */
  podLogs(lines?: number): Promise<string>;
  stop(): Promise<void>;
}

/** The parts a node needs and what is missing, or undefined when all are there. */
export function nodeUnavailable(): string | undefined {
  if (process.platform !== "linux") return `a node needs Linux, not ${process.platform}`;
  if (process.getuid?.() !== 0) return "a node needs root (containerd, network namespaces, a bridge)";
  const missing = ["containerd", "ctr", "runc", "ip", "buildah", "podman", "go"].filter(
    (tool) => !onPath(tool),
  );
  if (!existsSync("/usr/lib/cni/bridge")) missing.push("/usr/lib/cni/bridge");
  if (missing.length > 0)
    return `${missing.join(", ")} missing (Debian: apt-get install -y containerd runc containernetworking-plugins iproute2 buildah podman)`;
  return undefined;
}

function onPath(tool: string): boolean {
  return (process.env["PATH"] ?? "").split(":").some((dir) => dir !== "" && existsSync(join(dir, tool)));
}

async function script(name: string): Promise<string[]> {
  const { stdout } = await run("bash", [join(repoRoot, "hack", "node", name)], {
    timeout: 1_800_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim().split("\n");
}

/** Builds (once) the node's Kubernetes binaries and returns their directory. */
export async function nodeBinDir(): Promise<string> {
  return (await script("build.sh"))[0] ?? "";
}

/** Waits until `check` is true, or throws with `what` and the log tail after `timeoutMs`. */
async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  why: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms:\n${await why()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts containerd, the kubelet, the scheduler, the controller-manager (and kube-proxy) and waits for Ready. */
export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const [binDir, [pauseTar = "", pauseImage = ""]] = await Promise.all([
    nodeBinDir(),
    script("pause-image.sh"),
  ]);
  const dir = await mkdtemp("/var/tmp/datatrails-node-");
  const suffix = dir
    .slice(-6)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "0");
  const name = `node-${suffix}`;
  const network = options.network ?? (await makeNodeNetwork());
  const { bridge, subnet, nodeIp } = network;
  const logs: Record<string, string> = {};
  const children: ChildProcess[] = [];
  const tail = async (proc: string, lines = 40) => {
    try {
      return (await readFile(logs[proc] ?? "", "utf8")).split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  };
  const launch = (proc: string, binary: string, args: string[]) => {
    logs[proc] = join(dir, `${proc}.log`);
    const fd = openSync(logs[proc], "a");
    const child = spawn(binary, args, { stdio: ["ignore", fd, fd] });
    closeSync(fd);
    children.push(child);
    return child;
  };

  // The pods' network namespaces are containerd's (/run/netns/cni-*); those that appear while this
  // node runs are its own, and go with it.
  const netnsBefore = new Set(listNetns());
  const sysctlsBefore = readKubeletSysctls();
  const cgroupsExisted = k8sCgroupsExist();
  const cniResults = "/var/lib/cni/results";
  const hostDirs = ["/var/lib/cni", "/var/lib/kubelet", "/run/containerd"].map((path) => ({
    path,
    existed: existsSync(path),
  }));
  const containerdSock = join(dir, "containerd", "containerd.sock");
  // The same for the iptables chains kube-proxy and the kubelet make (KUBE-*).
  const chainsBefore = await kubeChains();
  let proxyConfig: string | undefined;

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // The pods' containers, while containerd still answers: their CNI cache entries go below.
    const containerIds = await run(
      "ctr",
      ["--address", containerdSock, "-n", "k8s.io", "containers", "ls", "-q"],
      {
        timeout: 10_000,
      },
    ).then(
      (r) => r.stdout.split("\n").filter(Boolean),
      () => [] as string[],
    );
    for (const child of children.reverse()) if (child.exitCode === null) child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 2_000));
    // With the kubelet gone (it would start them again), the containers: they outlive their shims.
    await killContainers(containerIds, cgroupsExisted);
    for (const pid of pidsMentioning(dir)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const point of mountsUnder(dir)) await run("umount", ["-l", point]).catch(() => undefined);
    for (const netns of listNetns().filter((n) => !netnsBefore.has(n) && n.startsWith("cni-")))
      await run("ip", ["netns", "delete", netns]).catch(() => undefined);
    // kube-proxy's iptables chains (KUBE-*) go too, and whatever else of KUBE-* this node made.
    if (proxyConfig !== undefined)
      await run(join(binDir, "kube-proxy"), [`--config=${proxyConfig}`, "--cleanup"]).catch(() => undefined);
    await deleteNewKubeChains(chainsBefore);
    restoreSysctls(sysctlsBefore);
    if (options.network === undefined) await network.remove();
    // The kubelet links each container's log into /var/log/containers; the links into dir go.
    for (const link of existsSync("/var/log/containers") ? readdirSync("/var/log/containers") : []) {
      const path = join("/var/log/containers", link);
      const target = await readlink(path).catch(() => "");
      if (target.startsWith(`${dir}/`)) await rm(path, { force: true });
    }
    // libcni caches each attachment's result in /var/lib/cni/results, the kubelet makes its
    // device-plugin socket under /var/lib/kubelet and the shims theirs under /run/containerd/s,
    // whatever the root directories: this node's entries go, and so do those directories when this
    // node made them and they are empty now.
    for (const file of existsSync(cniResults) ? readdirSync(cniResults) : []) {
      if (containerIds.some((id) => file.includes(`-${id}-`)))
        await rm(join(cniResults, file), { force: true });
    }
    await rm("/var/lib/kubelet/device-plugins/kubelet.sock", { force: true });
    // A shim's socket is named by sha256(<containerd address>/<namespace>/<id>).
    for (const id of containerIds) {
      const name = createHash("sha256")
        .update(join(containerdSock, "k8s.io", id))
        .digest("hex");
      await rm(join("/run/containerd/s", name), { force: true });
    }
    for (const created of hostDirs.filter((d) => !d.existed).map((d) => d.path))
      await run("find", [created, "-depth", "-type", "d", "-empty", "-delete"]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };
  process.once("exit", () => {
    for (const child of children) child.kill("SIGKILL");
  });

  try {
    const cniConfDir = join(dir, "cni", "net.d");
    await mkdir(cniConfDir, { recursive: true });
    await writeFile(
      join(cniConfDir, "10-datatrails.conflist"),
      JSON.stringify(cniConfig({ bridge, subnet, nodeIp, dir })),
    );

    await mkdir(join(dir, "containerd"), { recursive: true });
    const toml = containerdConfig({ dir, containerdSock, pauseImage, cniConfDir });
    await writeFile(join(dir, "containerd", "config.toml"), toml);
    const containerd = launch("containerd", "containerd", [
      "--config",
      join(dir, "containerd", "config.toml"),
    ]);
    await until(
      "containerd's socket",
      () => existsSync(containerdSock) || containerd.exitCode !== null,
      30_000,
      () => tail("containerd"),
    );
    if (containerd.exitCode !== null) throw new Error(`containerd exited:\n${await tail("containerd")}`);

    for (const archive of [pauseTar, ...(options.images ?? [])]) {
      await run("ctr", ["--address", containerdSock, "-n", "k8s.io", "images", "import", archive], {
        timeout: 300_000,
        maxBuffer: 16 * 1024 * 1024,
      });
    }

    const kubeletDir = join(dir, "kubelet");
    const manifests = join(dir, "manifests");
    await mkdir(manifests, { recursive: true });
    await mkdir(kubeletDir, { recursive: true });
    const [kubeletPort, kubeletHealthz] = [await freePort(), await freePort()];
    const kubeletConfig = join(dir, "kubelet-config.yaml");
    await writeFile(
      kubeletConfig,
      stringify(
        kubeletConfiguration({
          dir,
          containerdSock,
          manifests,
          nodeIp,
          port: kubeletPort,
          healthzPort: kubeletHealthz,
          caFile: join(options.certDir, "ca.crt"),
        }),
      ),
    );
    launch("kubelet", join(binDir, "kubelet"), [
      `--config=${kubeletConfig}`,
      `--kubeconfig=${options.kubeconfigPath}`,
      `--root-dir=${kubeletDir}`,
      `--cert-dir=${join(kubeletDir, "pki")}`,
      `--hostname-override=${name}`,
      `--node-ip=${nodeIp}`,
      "--v=2",
    ]);
    // The kubelet sets a few kernel settings once as it starts; the machine gets its own back.
    const kubeletWants = { "vm/overcommit_memory": "1", "kernel/panic": "10", "kernel/panic_on_oops": "1" };
    const deadline = Date.now() + 60_000;
    while (
      Date.now() < deadline &&
      Object.entries(kubeletWants).some(([k, v]) => (readKubeletSysctls().get(k) ?? v) !== v)
    )
      await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1_000));
    restoreSysctls(sysctlsBefore);
    launch("kube-scheduler", join(binDir, "kube-scheduler"), [
      `--kubeconfig=${options.kubeconfigPath}`,
      `--authentication-kubeconfig=${options.kubeconfigPath}`,
      `--authorization-kubeconfig=${options.kubeconfigPath}`,
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      `--secure-port=${await freePort()}`,
    ]);
    launch("kube-controller-manager", join(binDir, "kube-controller-manager"), [
      `--kubeconfig=${options.kubeconfigPath}`,
      `--authentication-kubeconfig=${options.kubeconfigPath}`,
      `--authorization-kubeconfig=${options.kubeconfigPath}`,
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      `--secure-port=${await freePort()}`,
      `--service-account-private-key-file=${join(options.certDir, "sa.key")}`,
      `--root-ca-file=${join(options.certDir, "ca.crt")}`,
      "--use-service-account-credentials=false",
      "--controllers=*",
    ]);
    if (options.kubeProxy === true) {
      proxyConfig = join(dir, "kube-proxy-config.yaml");
      await writeFile(
        proxyConfig,
        stringify({
          apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
          kind: "KubeProxyConfiguration",
          clientConnection: { kubeconfig: options.kubeconfigPath },
          hostnameOverride: name,
          mode: "iptables",
          bindAddress: "127.0.0.1",
          healthzBindAddress: `127.0.0.1:${await freePort()}`,
          metricsBindAddress: `127.0.0.1:${await freePort()}`,
          // The machine's conntrack limits and timeouts are not this test's to change (0: leave them).
          conntrack: { maxPerCore: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
          clusterCIDR: subnet,
          // NodePorts on the bridge only, and no route_localnet change on the host.
          nodePortAddresses: [`${nodeIp}/32`],
          iptables: { localhostNodePorts: false },
        }),
      );
      launch("kube-proxy", join(binDir, "kube-proxy"), [`--config=${proxyConfig}`]);
    }
  } catch (err) {
    const why = `${(err as Error).message}\ncontainerd:\n${await tail("containerd", 15)}\nkubelet:\n${await tail("kubelet", 15)}`;
    await stop();
    throw new Error(why, { cause: err });
  }

  const podLogs = async (lines = 10) => {
    const root = join(dir, "pod-logs");
    const files = existsSync(root)
      ? readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
      : [];
    const parts: string[] = [];
    for (const f of files) {
      const text = await readFile(join(f.parentPath, f.name), "utf8").catch(() => "");
      parts.push(`${join(f.parentPath, f.name)}:\n${text.split("\n").slice(-lines).join("\n")}`);
    }
    return parts.join("\n");
  };
  return { name, nodeIp, pauseImage, logs, tail, podLogs, stop };
}

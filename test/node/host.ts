/**
 * What a test node changes on the machine outside its own directory, and how each change is found
 * and undone: its bridge, the pods' network namespaces, the KUBE-* iptables chains, its processes
 * (containerd's shims included, found by the node's directory in their command line) and mounts.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The node's bridge: a /24 routed nowhere else, the node's address its first host. */
export interface NodeNetwork {
  bridge: string;
  subnet: string;
  nodeIp: string;
  remove(): Promise<void>;
}

/**
 * Creates a bridge with a random /24 in 10.200.0.0/13 and the node's address on it. A caller that
 * needs the node's address before the node starts (a control plane advertising it) makes it first.
 */
export async function makeNodeNetwork(): Promise<NodeNetwork> {
  const id = randomBytes(3).toString("hex");
  const bridge = `dtbr${id}`;
  const octet2 = 200 + Math.floor(Math.random() * 8);
  const octet3 = Math.floor(Math.random() * 256);
  const nodeIp = `10.${octet2}.${octet3}.1`;
  await run("ip", ["link", "add", bridge, "type", "bridge"]);
  try {
    await run("ip", ["addr", "add", `${nodeIp}/24`, "dev", bridge]);
    await run("ip", ["link", "set", bridge, "up"]);
  } catch (err) {
    await run("ip", ["link", "delete", bridge]).catch(() => undefined);
    throw err;
  }
  const remove = async () => {
    await run("ip", ["link", "delete", bridge]).catch(() => undefined);
  };
  return { bridge, subnet: `10.${octet2}.${octet3}.0/24`, nodeIp, remove };
}

/** The pids whose command line mentions `dir`: every process of this node, shims included. */
export function pidsMentioning(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(dir)) pids.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return pids;
}

const iptablesTables = ["filter", "nat", "mangle"];

/** The KUBE-* chains in the host's iptables, as `table/chain`. */
export async function kubeChains(): Promise<Set<string>> {
  const chains = new Set<string>();
  for (const table of iptablesTables) {
    const { stdout } = await run("iptables", ["-t", table, "-S"]).catch(() => ({ stdout: "" }));
    for (const m of stdout.matchAll(/^-N (KUBE-\S+)$/gm)) chains.add(`${table}/${m[1] ?? ""}`);
  }
  return chains;
}

/** Deletes the KUBE-* chains that were not there before, and the rules that jump to them. */
export async function deleteNewKubeChains(before: Set<string>): Promise<void> {
  const added = [...(await kubeChains())].filter((c) => !before.has(c));
  for (const entry of added) {
    const [table = "", chain = ""] = entry.split("/");
    const { stdout } = await run("iptables", ["-t", table, "-S"]).catch(() => ({ stdout: "" }));
    for (const rule of stdout.split("\n").filter((r) => r.startsWith("-A ") && r.includes(`-j ${chain}`))) {
      await run("sh", ["-c", `iptables -t ${table} ${rule.replace(/^-A /, "-D ")}`]).catch(() => undefined);
    }
  }
  for (const entry of added) {
    const [table = "", chain = ""] = entry.split("/");
    await run("iptables", ["-t", table, "-F", chain]).catch(() => undefined);
  }
  for (const entry of added) {
    const [table = "", chain = ""] = entry.split("/");
    await run("iptables", ["-t", table, "-X", chain]).catch(() => undefined);
  }
}

/** The named network namespaces (/run/netns). */
export function listNetns(): string[] {
  return existsSync("/run/netns") ? readdirSync("/run/netns") : [];
}

/** Mount points under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * The kernel settings the kubelet writes once when it starts (protectKernelDefaults: false; with
 * true it refuses to start unless they already hold its values): vm.overcommit_memory=1,
 * kernel.panic=10, kernel.panic_on_oops=1 and others. They are the machine's, not the test's.
 */
const kubeletSysctls = [
  "vm/overcommit_memory",
  "vm/panic_on_oom",
  "kernel/panic",
  "kernel/panic_on_oops",
  "kernel/keys/root_maxkeys",
  "kernel/keys/root_maxbytes",
];

/** The current values of the settings the kubelet writes. */
export function readKubeletSysctls(): Map<string, string> {
  const values = new Map<string, string>();
  for (const key of kubeletSysctls) {
    try {
      values.set(key, readFileSync(`/proc/sys/${key}`, "utf8").trim());
    } catch {
      // not on this kernel
    }
  }
  return values;
}

/** Writes back settings read by {@link readKubeletSysctls}. */
export function restoreSysctls(values: Map<string, string>): void {
  for (const [key, value] of values) {
    try {
      if (readFileSync(`/proc/sys/${key}`, "utf8").trim() !== value) writeFileSync(`/proc/sys/${key}`, value);
    } catch {
      // read-only here, or gone
    }
  }
}

const cgroupRoot = "/sys/fs/cgroup";

/** containerd's cgroup parent for the k8s.io namespace (pods without QoS cgroups), per hierarchy. */
function k8sCgroupParents(): string[] {
  if (!existsSync(cgroupRoot)) return [];
  const hierarchies = readdirSync(cgroupRoot).map((h) => join(cgroupRoot, h, "k8s.io"));
  return [join(cgroupRoot, "k8s.io"), ...hierarchies].filter((p) => existsSync(p));
}

/** Whether containerd's k8s.io cgroup parent exists already (in any hierarchy). */
export function k8sCgroupsExist(): boolean {
  return k8sCgroupParents().length > 0;
}

/**
 * Kills every process in the containers' cgroups (a shim's death leaves its container running,
 * reparented) and removes those cgroups, then the k8s.io parent when this node made it.
 */
export async function killContainers(ids: string[], parentExisted: boolean): Promise<void> {
  // When this node made the parent, everything under it is this node's, listed by containerd or not.
  const groups = k8sCgroupParents().flatMap((parent) =>
    (parentExisted
      ? ids
      : readdirSync(parent, { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => e.name)
    )
      .map((id) => join(parent, id))
      .filter((g) => existsSync(g)),
  );
  for (let attempt = 0; attempt < 10; attempt++) {
    let alive = 0;
    for (const group of groups) {
      const pids = (() => {
        try {
          return readFileSync(join(group, "cgroup.procs"), "utf8").split("\n").filter(Boolean);
        } catch {
          return [];
        }
      })();
      for (const pid of pids) {
        alive++;
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // gone already
        }
      }
    }
    if (alive === 0) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  // A cgroup directory goes with rmdir once no process is left in it (its files go with it).
  for (const group of groups) await run("rmdir", [group]).catch(() => undefined);
  if (!parentExisted)
    for (const parent of k8sCgroupParents()) await run("rmdir", [parent]).catch(() => undefined);
}

/**
 * The node's configuration files: the CNI network (a bridge, host-local addresses, a route to the
 * Services' range only), containerd's (everything under the node's directory) and the kubelet's.
 */
import { join } from "node:path";

/** The CNI network list: pods on the node's bridge, routed to the Services' range and nowhere else. */
export function cniConfig(o: { bridge: string; subnet: string; nodeIp: string; dir: string }): object {
  return {
    cniVersion: "0.4.0",
    name: "datatrails-test",
    plugins: [
      {
        type: "bridge",
        bridge: o.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: o.subnet, gateway: o.nodeIp }]],
          // The Services' range through the node (kube-proxy), and no default route: a pod can
          // reach the bridge and the Services, nothing beyond this machine.
          routes: [{ dst: "10.0.0.0/24" }],
          dataDir: join(o.dir, "cni", "ipam"),
        },
      },
    ],
  };
}

/** containerd's config.toml: state, sockets and runc's state under the node's directory. */
export function containerdConfig(o: {
  dir: string;
  containerdSock: string;
  pauseImage: string;
  cniConfDir: string;
}): string {
  return `version = 2
root = "${join(o.dir, "containerd", "root")}"
state = "${join(o.dir, "containerd", "state")}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "${o.containerdSock}"

[ttrpc]
  address = "${join(o.dir, "containerd", "containerd.sock.ttrpc")}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(o.dir, "containerd", "opt")}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${o.pauseImage}"
  # Negative oom_score_adj is refused here; without this runc fails ("can't get final child's PID from pipe: EOF").
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # runc's state with the node's, not in /run/containerd/runc.
        Root = "${join(o.dir, "runc")}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${o.cniConfDir}"
`;
}

/** The KubeletConfiguration for this machine (cgroup v1, no QoS cgroups, no host firewall changes). */
export function kubeletConfiguration(o: {
  dir: string;
  containerdSock: string;
  manifests: string;
  nodeIp: string;
  port: number;
  healthzPort: number;
  caFile: string;
}): object {
  return {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    // This machine has cgroup v1 only.
    failCgroupV1: false,
    cgroupDriver: "cgroupfs",
    containerRuntimeEndpoint: `unix://${o.containerdSock}`,
    staticPodPath: o.manifests,
    address: o.nodeIp,
    port: o.port,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: o.healthzPort,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: false },
      x509: { clientCAFile: o.caFile },
    },
    authorization: { mode: "AlwaysAllow" },
    failSwapOn: false,
    // The machine's own disk and memory figures are not this test's to enforce.
    evictionHard: { "memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    localStorageCapacityIsolation: false,
    resolvConf: "",
    serializeImagePulls: false,
    clusterDomain: "cluster.local",
    clusterDNS: [],
    enforceNodeAllocatable: [],
    cgroupsPerQOS: false,
    // The host's firewall is not the kubelet's to change (KUBE-FIREWALL would drop non-local traffic to 127/8).
    makeIPTablesUtilChains: false,
    registerNode: true,
    // How often each pod is synced, and with it how often a changed Secret volume is rewritten:
    // the kubelet watches the Secret (configMapAndSecretChangeDetectionStrategy Watch, the
    // default), so its cache is current within moments, but the files are swapped only at the
    // pod's next sync, which comes 1 to 1.5 sync periods apart (jittered). The default, 1m, leaves
    // a new token up to about 90 s unseen: fine beside the 12 minutes a one-hour token has left at
    // refresh, too late for the test's one-minute tokens (12 to 20 s left). 5s: at most about 8 s.
    syncFrequency: "5s",
    podLogsDir: join(o.dir, "pod-logs"),
  };
}

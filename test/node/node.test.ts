/**
 * A real node on this machine: containerd + runc + CNI from Debian; kubelet, kube-proxy,
 * kube-scheduler and kube-controller-manager from the pinned Kubernetes module (test/node/node.ts),
 * joined to a control plane of this file's own (test/node/cluster.ts: the shared one must not start
 * running other files' Deployments, and its pods need their ServiceAccount tokens). One node serves
 * every case here, because kube-proxy's rules live in the machine's own iptables: two nodes at once
 * would rewrite each other's.
 *
 * - A Deployment of the locally built sandbox image is scheduled, its pod gets an address on the
 *   node's bridge, and it runs; kube-proxy writes the `kubernetes` Service's rules.
 * - The chart, as users install it: the image `make image` builds, imported into containerd (no
 *   registry), `helm install --wait` with pullPolicy Never into a namespace that enforces Pod Security
 *   "restricted". Both replicas run and are Ready (the kubelet probes /readyz over the pod network),
 *   they reach the API server through the `kubernetes` Service (kube-proxy) with the token the
 *   kubelet mounts, and one of them holds the Lease.
 * - The README's quickstart steps 3 to 5, its shell commands taken from README.md and run as
 *   written, against the emulator running in the cluster (test/node/emulator.ts) and the examples
 *   with DataTrails' address swapped for the emulator's Service (test/node/quickstart.ts).
 * - With one-minute tokens, the kubelet swaps the mounted token file in place: a pod reading it every
 *   second keeps succeeding across three refreshes, without a restart; the delays are printed.
 * - `helm upgrade` rolls the Deployment without more unavailable replicas than the
 *   PodDisruptionBudget allows, to one leader, and no token Secret's token expires meanwhile.
 * - `helm uninstall` leaves none of the chart's objects and no Lease (owned by the ServiceAccount,
 *   the garbage collector deletes it), and a reinstall leads at once.
 *
 * Where a part is missing the tests are skipped and say so: "SKIPPED: <what> because <why>".
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chartDir, helmBinary, valueArgs } from "../chart/helm.ts";
import { buildImage, imageName, podmanUnavailable, warnSkipped } from "../image/podman.ts";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { createConnection } from "../support/env.ts";
import { kubectlOk } from "../support/kubectl.ts";
import { startClusterControlPlane, type ClusterControlPlane } from "./cluster.ts";
import { connectionTo, deployEmulator, type InClusterEmulator } from "./emulator.ts";
import { makeNodeNetwork, nodeUnavailable, startNode, type NodeNetwork, type RunningNode } from "./node.ts";
import { watchRoll } from "./roll.ts";
import { examplesFor, quickstartShell, quickstartSteps } from "./quickstart.ts";
import { describeRefreshes, parseWatcherLog, refreshes, tokenWatcherPod } from "./token-file.ts";

const run = promisify(execFile);
const missing = nodeUnavailable();
if (missing !== undefined) warnSkipped("the node tests (test/node/node.test.ts)", missing);
const noPodman = missing === undefined ? await podmanUnavailable() : undefined;
if (noPodman !== undefined) warnSkipped("the chart on a node (test/node/node.test.ts)", noPodman);

const namespace = "datatrails-system";
let network: NodeNetwork | undefined;
let plane: ClusterControlPlane | undefined;
let node: RunningNode | undefined;
let scratch: string | undefined;
const kubectl = (args: string[], input?: object) =>
  kubectlOk(args, input, (plane as ClusterControlPlane).kubeconfigPath);
/** Who holds the chart's leader Lease ("" when nobody does or it is not there). */
const leaseHolder = async () =>
  await kubectl([
    "get",
    "lease",
    "dt-datatrails-operator",
    "-n",
    namespace,
    "-o",
    "jsonpath={.spec.holderIdentity}",
  ]).catch(() => "");
/** The names of the release's operator pods. */
const operatorPods = async () =>
  (
    await kubectl([
      "get",
      "pods",
      "-n",
      namespace,
      "-l",
      "app.kubernetes.io/instance=dt",
      "-o",
      "jsonpath={.items[*].metadata.name}",
    ])
  )
    .split(" ")
    .filter(Boolean);

beforeAll(async () => {
  if (missing !== undefined) return;
  scratch = await mkdtemp(join(tmpdir(), "node-test-"));
  const images: string[] = [];
  if (noPodman === undefined) {
    const archive = join(scratch, "operator.tar");
    await run(
      "podman",
      ["save", "--quiet", "--format", "docker-archive", "-o", archive, await buildImage()],
      {
        timeout: 300_000,
      },
    );
    images.push(archive);
    // examples/workload.yaml's image, which no registry serves here: a local stand-in of that name.
    const curl = await run("bash", [join(import.meta.dirname, "..", "..", "hack", "node", "curl-image.sh")], {
      timeout: 300_000,
    });
    images.push(curl.stdout.split("\n")[0] ?? "");
  }
  network = await makeNodeNetwork();
  plane = await startClusterControlPlane(network.nodeIp);
  node = await startNode({
    kubeconfigPath: plane.kubeconfigPath,
    certDir: plane.certDir,
    network,
    images,
    kubeProxy: true,
  });
}, 1_800_000);

afterAll(async () => {
  await node?.stop();
  await plane?.stop();
  await network?.remove();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function failureContext(): Promise<string> {
  const n = node as RunningNode;
  return `kubelet:\n${await n.tail("kubelet")}\ncontainerd:\n${await n.tail("containerd")}`;
}

async function context(): Promise<string> {
  const n = node as RunningNode;
  const pods = await kubectl(["get", "pods", "-A", "-o", "wide"]).catch((e: Error) => e.message);
  const events = await kubectl(["get", "events", "-n", namespace]).catch((e: Error) => e.message);
  return `pods:\n${pods}\nevents:\n${events}\ncontainers:\n${(await n.podLogs(5)).slice(-6000)}\nkubelet:\n${await n.tail("kubelet", 15)}`;
}

describe.skipIf(missing !== undefined)("a node on this machine", () => {
  it("registers and becomes Ready", async () => {
    const n = node as RunningNode;
    await expect
      .poll(
        async () =>
          await kubectl([
            "get",
            "node",
            n.name,
            "-o",
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
          ]).catch(() => ""),
        { timeout: 120_000, interval: 1_000 },
      )
      .toBe("True");
    const ip = await kubectl([
      "get",
      "node",
      n.name,
      "-o",
      'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}',
    ]);
    expect(ip).toBe(n.nodeIp);
  }, 180_000);

  it("runs a Deployment's pod on the bridge", async () => {
    const n = node as RunningNode;
    await kubectl(["create", "namespace", "node-test"]);
    await kubectl(["apply", "-f", "-"], {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "sleeper", namespace: "node-test" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "sleeper" } },
        template: {
          metadata: { labels: { app: "sleeper" } },
          spec: {
            automountServiceAccountToken: false,
            containers: [{ name: "sleeper", image: n.pauseImage, imagePullPolicy: "Never" }],
          },
        },
      },
    });
    try {
      await kubectl(["rollout", "status", "deployment/sleeper", "-n", "node-test", "--timeout=120s"]);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await failureContext()}`, { cause: err });
    }
    const pod = JSON.parse(
      await kubectl(["get", "pods", "-n", "node-test", "-l", "app=sleeper", "-o", "json"]),
    ) as {
      items: {
        spec: { nodeName: string };
        status: {
          phase: string;
          podIP: string;
          containerStatuses: { containerID: string; ready: boolean; state: { running?: object } }[];
        };
      }[];
    };
    const container = pod.items[0]?.status.containerStatuses[0];
    expect(container?.ready).toBe(true);
    expect(container?.state.running).toBeDefined();
    expect(container?.containerID).toMatch(/^containerd:\/\//);
    expect(pod.items).toHaveLength(1);
    expect(pod.items[0]?.spec.nodeName).toBe(n.name);
    expect(pod.items[0]?.status.phase).toBe("Running");
    const prefix = n.nodeIp.replace(/\.1$/, ".");
    expect(pod.items[0]?.status.podIP.startsWith(prefix), pod.items[0]?.status.podIP).toBe(true);
  }, 180_000);

  it("runs kube-proxy, which writes the Services into iptables", async () => {
    const n = node as RunningNode;
    // The `kubernetes` Service (10.0.0.1:443), whose endpoint is the address the control plane advertises.
    const rules = async () =>
      (await run("iptables", ["-t", "nat", "-S"]).catch(() => ({ stdout: "" }))).stdout;
    const deadline = Date.now() + 60_000;
    while (!(await rules()).includes(`${n.nodeIp}:`) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 1_000));
    const nat = await rules();
    expect(nat, `kube-proxy wrote no rule:\n${await n.tail("kube-proxy", 30)}`).toContain(
      "default/kubernetes:https cluster IP",
    );
    expect(nat).toMatch(new RegExp(`--to-destination ${n.nodeIp.replace(/\./g, "\\.")}:\\d+`));
  }, 90_000);
});

describe.skipIf(missing !== undefined || noPodman !== undefined)("the chart on a node", () => {
  let emulator: RunningEmulator | undefined;
  // The emulator in the cluster (the cases that follow the README), made by the first case that needs
  // it. One-minute tokens: the operator refreshes them every 40 to 48 s.
  let cluster: Promise<InClusterEmulator> | undefined;
  const inCluster = () => (cluster ??= deployEmulator(kubectl, imageName, 60));

  beforeAll(async () => {
    const p = plane as ClusterControlPlane;
    const n = node as RunningNode;
    await until(
      async () =>
        (await kubectl([
          "get",
          "node",
          n.name,
          "-o",
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]).catch(() => "")) === "True",
      120_000,
    );
    // DataTrails for the pods: the emulator on the node's bridge address, which pods reach directly.
    emulator = await startEmulator({ host: n.nodeIp });
    await kubectl(["create", "namespace", namespace]);
    await kubectl(["label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted"]);
    const [repository, tag] = imageName.split(/:(?=[^:/]+$)/);
    try {
      await run(
        await helmBinary(),
        [
          "install",
          "dt",
          chartDir,
          "--namespace",
          namespace,
          "--kubeconfig",
          p.kubeconfigPath,
          "--wait",
          "--timeout=4m",
          ...valueArgs({ "image.repository": repository, "image.tag": tag, "image.pullPolicy": "Never" }),
        ],
        { timeout: 300_000, env: { ...process.env, HOME: scratch ?? tmpdir() } },
      );
    } catch (err) {
      throw new Error(`helm install failed: ${(err as Error).message}\n${await context()}`, { cause: err });
    }
  }, 600_000);

  afterAll(async () => {
    await emulator?.close();
  });

  it("runs two Ready replicas of the image, one of them the leader", async () => {
    const ready = await kubectl([
      "get",
      "deployment",
      "dt-datatrails-operator",
      "-n",
      namespace,
      "-o",
      "jsonpath={.status.readyReplicas}",
    ]);
    expect(ready).toBe("2");
    const pods = await operatorPods();
    expect(pods).toHaveLength(2);
    await expect
      .poll(leaseHolder, { timeout: 60_000, interval: 1_000 })
      .toMatch(new RegExp(`^(${pods.join("|")})`));
  }, 120_000);

  it("hands the lease to another pod when the leader's pod is deleted, asking DataTrails for nothing", async () => {
    await expect.poll(leaseHolder, { timeout: 60_000, interval: 1_000 }).not.toBe("");
    const before = await leaseHolder();
    const leaderPod = (await operatorPods()).find((pod) => before.startsWith(pod));
    if (!leaderPod) throw new Error(`no pod holds the lease (holder ${before})`);
    const e = emulator as RunningEmulator;
    const tokensBefore = e.control.count("token");
    const deletedAt = Date.now();
    await kubectl(["delete", "pod", leaderPod, "-n", namespace, "--wait=false"]);
    await expect
      .poll(
        async () => {
          const now = await leaseHolder();
          return now !== "" && !now.startsWith(leaderPod);
        },
        { timeout: 90_000, interval: 500 },
      )
      .toBe(true);
    console.log(`leader handover on the node: ${Date.now() - deletedAt} ms after the leader pod was deleted`);
    // A new leader rebuilds its schedule from the Secrets and status: nothing is due, nothing is asked.
    expect(e.control.count("token") - tokensBefore).toBe(0);
    // The Deployment replaces the pod, so the cases after this one see two replicas again.
    await expect
      .poll(
        async () =>
          await kubectl([
            "get",
            "deployment",
            "dt-datatrails-operator",
            "-n",
            namespace,
            "-o",
            "jsonpath={.status.readyReplicas}",
          ]),
        { timeout: 180_000, interval: 1_000 },
      )
      .toBe("2");
  }, 300_000);

  it("makes an integration Ready; a workload calls DataTrails with the kubelet-mounted token; deleting it collects its Secrets", async () => {
    const p = plane as ClusterControlPlane;
    const n = node as RunningNode;
    const e = emulator as RunningEmulator;
    const team = "team-a";
    await kubectl(["create", "namespace", team]);
    await createConnection(team, e, p.kubeconfigPath);
    await kubectl(["apply", "-f", "-"], {
      apiVersion: "datatrails.ai/v1alpha1",
      kind: "DataTrailsIntegration",
      metadata: { name: "traffic-light-101", namespace: team },
      spec: { connectionRef: { name: "datatrails" }, displayName: "TrafficLight101" },
    });
    try {
      await kubectl([
        "wait",
        "--for=condition=Ready",
        "--timeout=120s",
        "-n",
        team,
        "datatrailsintegration/traffic-light-101",
      ]);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await context()}`, { cause: err });
    }

    // examples/workload.yaml's shape: the token Secret as a volume, read for the call.
    const call = `const fs = require("node:fs");
      const header = fs.readFileSync("/var/run/secrets/datatrails/bearer-token.txt", "utf8").trim();
      fetch(process.env.DATATRAILS_URL + "/archivist/v2/assets", { headers: { authorization: header.replace(/^Authorization: /, "") } })
        .then((r) => console.log("datatrails answered " + r.status), (err) => console.log("datatrails failed " + err));
      setInterval(() => {}, 1 << 30);`;
    await kubectl(["apply", "-f", "-"], {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "reader", namespace: team },
      spec: {
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } },
        containers: [
          {
            name: "client",
            image: imageName,
            imagePullPolicy: "Never",
            command: ["node", "-e", call],
            env: [{ name: "DATATRAILS_URL", value: e.url }],
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ["ALL"] },
            },
            volumeMounts: [{ name: "token", mountPath: "/var/run/secrets/datatrails", readOnly: true }],
          },
        ],
        volumes: [{ name: "token", secret: { secretName: "traffic-light-101-token" } }],
      },
    });
    await until(async () => (await n.podLogs(20)).includes("datatrails answered"), 90_000);
    expect(await n.podLogs(20)).toContain("datatrails answered 200");

    // What the integration owns (ownerReferences) goes with it: the controller-manager collects it.
    await kubectl(["delete", "pod", "reader", "-n", team, "--wait=false"]);
    await kubectl(["delete", "datatrailsintegration", "traffic-light-101", "-n", team, "--timeout=60s"]);
    await until(
      async () =>
        (await kubectl(["get", "secrets", "-n", team, "-o", "jsonpath={.items[*].metadata.name}"])).includes(
          "traffic-light-101",
        ) === false,
      60_000,
    );
    expect(await kubectl(["get", "bearertokens", "-n", team, "-o", "name"])).toBe("");
  }, 300_000);

  it("runs the README's quickstart steps 3 to 5 as written; the workload's curl with the mounted token gets assets", async () => {
    const p = plane as ClusterControlPlane;
    const e = await inCluster();
    // The commands run verbatim in a directory holding examples/ with DataTrails' address swapped
    // for the emulator's Service (the only change); the placeholders get the emulator's admin.
    const dir = await mkdtemp(join(scratch ?? tmpdir(), "quickstart-"));
    await examplesFor(dir, e.url);
    const sh = quickstartShell({ dir, kubeconfigPath: p.kubeconfigPath, binDir: p.binDir, ...e });
    let logs = "";
    const ran: string[] = [];
    for (const { step, commands } of await quickstartSteps([3, 4, 5])) {
      for (const command of commands) {
        ran.push(`${step}: ${command}`);
        if (command.startsWith("kubectl logs")) {
          // The pod may still be starting: the same command again until curl has printed an answer.
          await until(async () => /"assets"\s*:/.test((logs = await sh(command).catch(() => ""))), 120_000);
          continue;
        }
        try {
          await sh(command);
        } catch (err) {
          throw new Error(`step ${step}: ${(err as Error).message}\n${await context()}`, { cause: err });
        }
      }
    }
    console.log(`quickstart commands run:\n${ran.join("\n")}`);
    expect(ran.some((c) => c.includes("kubectl create secret generic datatrails-admin"))).toBe(true);
    expect(ran.some((c) => c.includes("kubectl apply -f examples/workload.yaml"))).toBe(true);
    const answer = JSON.parse(logs.split("\n").find((l) => l.startsWith("{")) ?? "{}") as {
      assets?: unknown;
    };
    expect(Array.isArray(answer.assets), logs).toBe(true);
  }, 420_000);

  it("swaps the token file in place: a pod reading it every second keeps succeeding across three refreshes", async () => {
    const e = await inCluster();
    const team = "token-swap";
    await kubectl(["apply", "-f", "-"], connectionTo(e, team));
    await kubectl([
      "wait",
      "--for=condition=Ready",
      "--timeout=120s",
      "-n",
      team,
      "datatrailsintegration/traffic-light-101",
    ]);
    await kubectl(
      ["apply", "-f", "-"],
      tokenWatcherPod({
        name: "watcher",
        namespace: team,
        image: imageName,
        url: e.url,
        secretName: "traffic-light-101-token",
      }),
    );
    const read = async () =>
      parseWatcherLog(await kubectl(["logs", "pod/watcher", "-n", team]).catch(() => ""));
    // The first token and three refreshes of it.
    await until(async () => (await read()).seen.length >= 4, 420_000);
    const { seen, calls } = await read();
    const swaps = refreshes(seen);
    console.log(describeRefreshes(swaps, "5s"));
    for (const r of swaps) expect(r.marginMs, JSON.stringify(r)).toBeGreaterThan(0);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.filter((c) => c !== "200")).toEqual([]);
    expect(
      await kubectl([
        "get",
        "pod",
        "watcher",
        "-n",
        team,
        "-o",
        "jsonpath={.status.containerStatuses[0].restartCount}",
      ]),
    ).toBe("0");
    await kubectl(["delete", "namespace", team, "--wait=false"]);
  }, 600_000);

  it("helm upgrade rolls the Deployment within the PodDisruptionBudget, to one leader, no token Secret ever expired", async () => {
    const p = plane as ClusterControlPlane;
    const e = await inCluster();
    const team = "rolling";
    await kubectl(["apply", "-f", "-"], connectionTo(e, team));
    await kubectl([
      "wait",
      "--for=condition=Ready",
      "--timeout=120s",
      "-n",
      team,
      "datatrailsintegration/traffic-light-101",
    ]);
    const selector = "app.kubernetes.io/instance=dt";
    const allowed = Number(
      await kubectl([
        "get",
        "pdb",
        "dt-datatrails-operator",
        "-n",
        namespace,
        "-o",
        "jsonpath={.spec.maxUnavailable}",
      ]),
    );
    const replicas = Number(
      await kubectl([
        "get",
        "deployment",
        "dt-datatrails-operator",
        "-n",
        namespace,
        "-o",
        "jsonpath={.spec.replicas}",
      ]),
    );
    const kc = new KubeConfig();
    kc.loadFromFile(p.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    // Throughout the roll: how many of the pods are Ready and not on their way out, and how long
    // every token Secret's token has left.
    const roll = watchRoll(core, namespace, selector);
    const rolled = String(Date.now());
    try {
      await run(
        await helmBinary(),
        [
          "upgrade",
          "dt",
          chartDir,
          "--namespace",
          namespace,
          "--kubeconfig",
          p.kubeconfigPath,
          "--reuse-values",
          "--wait",
          "--timeout=4m",
          ...valueArgs({ "podAnnotations.rolled": rolled }),
        ],
        { timeout: 300_000, env: { ...process.env, HOME: scratch ?? tmpdir() } },
      );
      await kubectl([
        "rollout",
        "status",
        "deployment/dt-datatrails-operator",
        "-n",
        namespace,
        "--timeout=180s",
      ]);
      const current = async () =>
        (await core.listNamespacedPod({ namespace, labelSelector: selector })).items.filter(
          (pod) =>
            pod.metadata?.deletionTimestamp === undefined && pod.metadata?.annotations?.["rolled"] === rolled,
        );
      await until(async () => {
        const names = (await current()).map((pod) => pod.metadata?.name ?? "");
        const h = await leaseHolder();
        return names.some((name) => h.startsWith(name));
      }, 120_000);
      // The new leader refreshes the team's token, so a refresh lost in the roll would show here.
      const rolledAt = Date.now();
      await until(
        async () =>
          Date.parse(
            await kubectl([
              "get",
              "secret",
              "traffic-light-101-token",
              "-n",
              team,
              "-o",
              "jsonpath={.metadata.annotations.datatrails\\.ai/issued-at}",
            ]),
          ) > rolledAt,
        120_000,
      );
    } catch (err) {
      await roll.stop();
      throw err;
    }
    const watched = await roll.stop();
    const pods = (await core.listNamespacedPod({ namespace, labelSelector: selector })).items.filter(
      (pod) => pod.metadata?.deletionTimestamp === undefined,
    );
    expect(pods).toHaveLength(replicas);
    for (const pod of pods) {
      expect(pod.metadata?.annotations?.["rolled"]).toBe(rolled);
      expect((pod.status?.conditions ?? []).find((c) => c.type === "Ready")?.status).toBe("True");
    }
    const leaders = [];
    for (const pod of pods) {
      const log = await kubectl(["logs", `pod/${pod.metadata?.name ?? ""}`, "-n", namespace]);
      if (log.includes('"became the leader"')) leaders.push(pod.metadata?.name);
    }
    console.log(
      `helm upgrade on the node: ${watched.samples} samples, at least ${watched.minReady} of ${replicas} replicas Ready throughout ` +
        `(the PDB allows ${allowed} unavailable); ${watched.tokenSecrets} token Secrets, the least time left ${watched.minLeftMs} ms`,
    );
    expect(leaders).toHaveLength(1);
    expect(watched.samples).toBeGreaterThan(0);
    expect(replicas - watched.minReady).toBeLessThanOrEqual(allowed);
    expect(watched.tokenSecrets).toBeGreaterThan(0);
    expect([...watched.expired]).toEqual([]);
    await kubectl(["delete", "namespace", team, "--wait=false"]);
  }, 600_000);

  // Last in the file: it takes away what the cases above use.
  it("helm uninstall leaves none of the chart's objects, no operator pod and no Lease behind; a reinstall leads at once", async () => {
    const p = plane as ClusterControlPlane;
    const helmRun = async (args: string[]) =>
      await run(await helmBinary(), [...args, "--namespace", namespace, "--kubeconfig", p.kubeconfigPath], {
        timeout: 300_000,
        env: { ...process.env, HOME: scratch ?? tmpdir() },
      });
    await until(async () => (await leaseHolder()) !== "", 60_000);
    // What each replica says while it stops: follow their logs through the uninstall.
    const said: string[] = [];
    const followers = (await operatorPods()).map((pod) => {
      const child = spawn(
        join(p.binDir, "kubectl"),
        ["--kubeconfig", p.kubeconfigPath, "logs", "-f", "--tail=0", `pod/${pod}`, "-n", namespace],
        {
          stdio: ["ignore", "pipe", "ignore"],
        },
      );
      child.stdout.on("data", (chunk: Buffer) => said.push(...chunk.toString().split("\n").filter(Boolean)));
      return child;
    });
    await helmRun(["uninstall", "dt", "--wait", "--timeout=3m"]);
    const left = async (kinds: string, scope: string[]) =>
      (
        await kubectl(["get", kinds, ...scope, "-l", "app.kubernetes.io/instance=dt", "-o", "name"]).catch(
          () => "",
        )
      ).trim();
    await until(async () => (await left("pods", ["-n", namespace])) === "", 120_000);
    for (const child of followers) child.kill();
    expect(
      await left("deployments,services,serviceaccounts,poddisruptionbudgets,roles,rolebindings,configmaps", [
        "-n",
        namespace,
      ]),
    ).toBe("");
    expect(await left("clusterroles,clusterrolebindings", [])).toBe("");

    // The Lease is the operator's own, not Helm's: the operator creates it owned by its
    // ServiceAccount (service-account.ts), so the garbage collector deletes it once Helm has
    // deleted the ServiceAccount, even though the leader's release came too late to be allowed
    // (Helm deletes the Role, RoleBinding and ServiceAccount in the same pass as the Deployment).
    const lease = said.filter((line) => /leader lease/.test(line));
    console.log(
      `while helm uninstall stopped the replicas they logged about the Lease:\n${lease.join("\n")}`,
    );
    const leaseLeft = async () =>
      (await kubectl(["get", "lease", "-n", namespace, "-o", "name"]).catch(() => "")).trim();
    await until(async () => (await leaseLeft()) === "", 120_000);
    expect(await leaseLeft()).toBe("");

    // A new install has no lease to wait out: one of its replicas leads as soon as it starts.
    const installedAt = Date.now();
    const [repository, tag] = imageName.split(/:(?=[^:/]+$)/);
    await helmRun([
      "install",
      "dt",
      chartDir,
      "--wait",
      "--timeout=4m",
      ...valueArgs({ "image.repository": repository, "image.tag": tag, "image.pullPolicy": "Never" }),
    ]);
    await until(async () => {
      const now = await leaseHolder();
      return (await operatorPods()).some((pod) => now.startsWith(pod));
    }, 120_000);
    console.log(`a reinstall led ${Date.now() - installedAt} ms after helm install began`);
  }, 600_000);
});

/** Polls `check` every second until it holds; throws after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms:\n${await context()}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

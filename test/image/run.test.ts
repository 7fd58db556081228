/**
 * The built image, run the way the chart's pod spec runs it: the Dockerfile built with podman
 * (hack/image/build.sh, on a Node base made locally), started by testcontainers through podman's
 * Docker-compatible API as uid 65532 with a read-only root file system, every capability dropped,
 * no-new-privileges and a small tmpfs /tmp (the chart's emptyDir). It reaches the test control
 * plane on 127.0.0.1 (host network, the kubeconfig mounted read-only) and an emulator started here,
 * answers /readyz, and makes a DataTrailsIntegration Ready.
 *
 * Without podman the tests are skipped and say so: "SKIPPED: <what> because <why>".
 */
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GenericContainer, Wait, type StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { createNamespaceWithConnection, deleteNamespace, uniqueName } from "../crash/support.ts";
import { installCrds, kubectlOk } from "../support/kubectl.ts";
import {
  buildImage,
  podmanUnavailable,
  startPodmanService,
  ulimits,
  warnSkipped,
  type PodmanService,
} from "./podman.ts";
import { freePort } from "../../src/envtest/ports.ts";

const noPodman = await podmanUnavailable();
if (noPodman !== undefined) warnSkipped("the image run test (test/image/run.test.ts)", noPodman);

/** testcontainers has no option for it: the pod's readOnlyRootFilesystem. */
class ReadOnlyRootContainer extends GenericContainer {
  protected override beforeContainerCreated(): Promise<void> {
    this.hostConfig.ReadonlyRootfs = true;
    return Promise.resolve();
  }
}

let service: PodmanService | undefined;
let emulator: RunningEmulator | undefined;
let container: StartedTestContainer | undefined;
let scratch: string | undefined;
const namespace = uniqueName("image-run");
let healthPort = 0;

beforeAll(async () => {
  if (noPodman !== undefined) return;
  const image = await buildImage();
  service = await startPodmanService();
  process.env["DOCKER_HOST"] = service.dockerHost;
  // The reaper is an image from a registry, which this machine cannot reach; afterAll stops the container.
  process.env["TESTCONTAINERS_RYUK_DISABLED"] = "true";

  await installCrds();
  emulator = await startEmulator();
  await createNamespaceWithConnection(namespace, emulator);

  // The kubeconfig is root's and 0600; the operator's user 65532 must be able to read its copy.
  scratch = mkdtempSync(join(tmpdir(), "image-run-"));
  const kubeconfig = join(scratch, "kubeconfig");
  copyFileSync(inject("kubeconfigPath"), kubeconfig);
  chmodSync(kubeconfig, 0o644);
  chmodSync(scratch, 0o755);

  healthPort = await freePort();
  const metricsPort = await freePort();
  container = await new ReadOnlyRootContainer(image)
    .withNetworkMode("host")
    .withUser("65532:65532")
    .withDroppedCapabilities("ALL")
    .withSecurityOpt("no-new-privileges")
    .withUlimits(ulimits)
    .withTmpFs({ "/tmp": "rw,size=16m" })
    .withBindMounts([{ source: kubeconfig, target: "/etc/datatrails/kubeconfig", mode: "ro" }])
    .withCommand([
      "run",
      "--kubeconfig=/etc/datatrails/kubeconfig",
      `--health-port=${healthPort}`,
      `--metrics-port=${metricsPort}`,
      "--bind-address=127.0.0.1",
      `--watch-namespaces=${namespace}`,
      "--no-leader-election",
    ])
    // The pull policy's default only pulls a missing image; this one is local, never pulled.
    .withWaitStrategy(Wait.forLogMessage(/operator started/))
    .withStartupTimeout(120_000)
    .start();
}, 900_000);

afterAll(async () => {
  await container?.stop({ timeout: 10_000 });
  await service?.stop();
  await emulator?.close();
  if (noPodman === undefined) await deleteNamespace(namespace);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Runs a command in the container and returns its output; fails on a non-zero exit. */
async function exec(command: string[]): Promise<string> {
  const result = await (container as StartedTestContainer).exec(command);
  expect(result.exitCode, result.output).toBe(0);
  return result.output;
}

describe.skipIf(noPodman !== undefined)("the image, run as the chart's pod runs it", () => {
  it("runs as 65532 with no capabilities, no-new-privileges and a read-only root", async () => {
    const status = await exec(["sh", "-c", "cat /proc/1/status"]);
    expect(status).toMatch(/^Uid:\s+65532\s+65532\s+65532\s+65532$/m);
    expect(status).toMatch(/^CapEff:\s+0+$/m);
    expect(status).toMatch(/^CapPrm:\s+0+$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    const write = await (container as StartedTestContainer).exec(["sh", "-c", "touch /app/x"]);
    expect(write.exitCode).not.toBe(0);
    expect(write.output).toContain("Read-only file system");
    await exec(["sh", "-c", "touch /tmp/x"]);
  });

  it("answers /readyz once its caches have synced", async () => {
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status, { timeout: 60_000 })
      .toBe(200);
  });

  it("makes a DataTrailsIntegration Ready against the emulator", async () => {
    const name = "traffic-light-101";
    await kubectlOk(["apply", "-f", "-"], {
      apiVersion: "datatrails.ai/v1alpha1",
      kind: "DataTrailsIntegration",
      metadata: { name, namespace },
      spec: { connectionRef: { name: "datatrails" }, displayName: "TrafficLight101" },
    });
    await kubectlOk([
      "wait",
      "--for=condition=Ready",
      "--timeout=90s",
      "-n",
      namespace,
      `datatrailsintegration/${name}`,
    ]);
    const token = await kubectlOk([
      "get",
      "secret",
      `${name}-token`,
      "-n",
      namespace,
      "-o",
      "jsonpath={.data.bearer-token\\.txt}",
    ]);
    expect(Buffer.from(token, "base64").toString()).toMatch(
      /^Authorization: Bearer [\w-]+\.[\w-]+\.[\w-]+\n?$/,
    );
  });
});

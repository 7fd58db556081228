/**
 * The image and the chart together on a real cluster (k3s in testcontainers): build the image from
 * the Dockerfile, load it into k3s, `helm install --wait` the chart into a namespace that enforces
 * Pod Security "restricted", and check that both replicas become Ready (caches synced), one holds
 * the Lease, and it logged "operator started".
 *
 * Needs a Docker engine. Without one the test is skipped, and says so loudly on stdout
 * ("SKIPPED: no Docker engine: <reason>"). It also needs @testcontainers/k3s, a devDependency to add
 * with `npm install --save-dev @testcontainers/k3s@^12.1.0`; where Docker exists and the package
 * does not, the test fails and says so (a missing tool is not a reason to skip).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { getContainerRuntimeClient, GenericContainer } from "testcontainers";
import { describe, expect, inject, it } from "vitest";
import { chartDir, helmOk, valueArgs } from "../chart/helm.ts";

const repoRoot = join(import.meta.dirname, "..", "..");
const k3sImage = "rancher/k3s:v1.31.2-k3s1";
const imageTag = "datatrails-operator:k3s-test";

/** Why no Docker engine can be used, or undefined when one answers. */
async function dockerUnavailable(): Promise<string | undefined> {
  try {
    const client = await getContainerRuntimeClient();
    return client.info.containerRuntime.host ? undefined : "the container runtime reports no host";
  } catch (err) {
    return err instanceof Error ? err.message.split("\n")[0] : String(err);
  }
}

const noDocker = await dockerUnavailable();
if (noDocker !== undefined) {
  console.log(`\n${"=".repeat(100)}\nSKIPPED: no Docker engine: ${noDocker}\n${"=".repeat(100)}\n`);
}

/** The parts of @testcontainers/k3s this test uses (it is loaded only where Docker exists). */
interface StartedK3s {
  getKubeConfig(): string;
  exec(command: string[]): Promise<{ exitCode: number; output: string }>;
  copyContentToContainer(contents: { content: Readable; target: string }[]): Promise<void>;
  stop(): Promise<unknown>;
}
interface K3sModule {
  K3sContainer: new (image: string) => { start(): Promise<StartedK3s> };
}

async function loadK3s(): Promise<K3sModule> {
  const name = "@testcontainers/k3s";
  try {
    return (await import(name)) as K3sModule;
  } catch (err) {
    throw new Error(`${name} is not installed: run \`npm install --save-dev @testcontainers/k3s@^12.1.0\``, {
      cause: err,
    });
  }
}

/** kubectl (the control plane's build) against the k3s cluster. */
function kubectlK3s(kubeconfig: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(inject("controlPlaneBinDir"), "kubectl"),
      ["--kubeconfig", kubeconfig, ...args],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`kubectl ${args.join(" ")}: ${stderr}`)),
    );
  });
}

describe("image + chart on k3s (testcontainers)", () => {
  it.skipIf(noDocker !== undefined)(
    "runs the built image with the chart: two Ready replicas, one leader",
    async () => {
      const { K3sContainer } = await loadK3s();
      await GenericContainer.fromDockerfile(repoRoot).build(imageTag, { deleteOnExit: false });
      const k3s = await new K3sContainer(k3sImage).start();
      try {
        const client = await getContainerRuntimeClient();
        const tar = (await client.container.dockerode.getImage(imageTag).get()) as Readable;
        await k3s.copyContentToContainer([{ content: tar, target: "/tmp/image.tar" }]);
        const imported = await k3s.exec(["k3s", "ctr", "images", "import", "/tmp/image.tar"]);
        expect(imported.exitCode, imported.output).toBe(0);

        const kubeconfig = join(mkdtempSync(join(tmpdir(), "k3s-")), "kubeconfig");
        writeFileSync(kubeconfig, k3s.getKubeConfig());
        const ns = "datatrails-system";
        await kubectlK3s(kubeconfig, ["create", "namespace", ns]);
        await kubectlK3s(kubeconfig, [
          "label",
          "namespace",
          ns,
          "pod-security.kubernetes.io/enforce=restricted",
        ]);
        await helmOk([
          "install",
          "dt",
          chartDir,
          "--namespace",
          ns,
          "--kubeconfig",
          kubeconfig,
          "--wait",
          "--timeout=5m",
          ...valueArgs({
            "image.repository": "datatrails-operator",
            "image.tag": "k3s-test",
            "image.pullPolicy": "Never",
          }),
        ]);
        const ready = await kubectlK3s(kubeconfig, [
          "get",
          "deployment",
          "dt-datatrails-operator",
          "-n",
          ns,
          "-o",
          "jsonpath={.status.readyReplicas}",
        ]);
        expect(ready).toBe("2");
        const pods = (
          await kubectlK3s(kubeconfig, [
            "get",
            "pods",
            "-n",
            ns,
            "-l",
            "app.kubernetes.io/instance=dt",
            "-o",
            "jsonpath={.items[*].metadata.name}",
          ])
        ).split(" ");
        await expect
          .poll(
            async () =>
              await kubectlK3s(kubeconfig, [
                "get",
                "lease",
                "dt-datatrails-operator",
                "-n",
                ns,
                "-o",
                "jsonpath={.spec.holderIdentity}",
              ]),
            { timeout: 60_000 },
          )
          .toMatch(new RegExp(`^(${pods.join("|")})_[0-9a-f]{8}$`));
        const logs = await kubectlK3s(kubeconfig, ["logs", "-n", ns, pods[0] ?? "", "--tail=-1"]);
        expect(logs).toContain("operator started");
      } finally {
        await k3s.stop();
      }
    },
    900_000,
  );
});

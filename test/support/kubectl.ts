/**
 * Runs the control plane's own kubectl against the test cluster, so tests exercise what users type.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { inject } from "vitest";
import { stringify } from "yaml";

/** What kubectl printed and how it exited. */
export interface KubectlResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl with the test kubeconfig; `input` goes to its stdin (objects are written as YAML). */
export function kubectl(args: string[], input?: string | object | object[]): KubectlResult {
  const text =
    input === undefined || typeof input === "string"
      ? input
      : (Array.isArray(input) ? input : [input]).map((doc) => stringify(doc)).join("---\n");
  const result = spawnSync(
    join(inject("controlPlaneBinDir"), "kubectl"),
    ["--kubeconfig", inject("kubeconfigPath"), ...args],
    {
      input: text,
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Runs kubectl and throws with its stderr when it fails. */
export function kubectlOk(args: string[], input?: string | object | object[]): string {
  const result = kubectl(args, input);
  if (result.status !== 0)
    throw new Error(`kubectl ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** Applies the generated CRDs (server-side, as a user would) and waits until they are established. */
export function installCrds(): void {
  const dir = join(import.meta.dirname, "..", "..", "crds");
  kubectlOk(["apply", "--server-side", "--field-manager=test-setup", "-f", dir]);
  kubectlOk(["wait", "--for=condition=Established", "--timeout=60s", "-f", dir]);
}

/**
 * Runs the control plane's own kubectl against the test cluster, so tests exercise what users type.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { inject } from "vitest";
import { stringify } from "yaml";

/** What kubectl printed and how it exited. */
export interface KubectlResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs kubectl with the test kubeconfig (or `kubeconfigPath`, for a control plane of the test's own);
 * `input` goes to its stdin (objects are written as YAML).
 * Asynchronous on purpose: tests run the operator in the same process, and a synchronous child
 * process would stop its event loop for as long as kubectl runs.
 */
export function kubectl(
  args: string[],
  input?: string | object | object[],
  kubeconfigPath: string = inject("kubeconfigPath"),
): Promise<KubectlResult> {
  const text =
    // YAML 1.1, as kubectl reads it: values such as y or on are quoted so they stay strings.
    input === undefined || typeof input === "string"
      ? input
      : (Array.isArray(input) ? input : [input])
          .map((doc) => stringify(doc, { version: "1.1" }))
          .join("---\n");
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(inject("controlPlaneBinDir"), "kubectl"),
      ["--kubeconfig", kubeconfigPath, ...args],
      {
        stdio: ["pipe", "pipe", "pipe"],
        timeout: 120_000,
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    // kubectl may exit before it reads its input (a command that takes none): the exit status says
    // how it went, and the broken pipe must not become an uncaught exception in the test worker.
    child.stdin.on("error", () => undefined);
    child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
    // kubectl may exit before reading its input (a command that takes none, or an early error):
    // the exit status tells what happened, so a broken pipe on stdin is not an error of its own.
    child.stdin.on("error", () => undefined);
    child.stdin.end(text ?? "");
  });
}

/** Runs kubectl and throws with its stderr when it fails. */
export async function kubectlOk(
  args: string[],
  input?: string | object | object[],
  kubeconfigPath: string = inject("kubeconfigPath"),
): Promise<string> {
  const result = await kubectl(args, input, kubeconfigPath);
  if (result.status !== 0)
    throw new Error(`kubectl ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** Sets one key of a Secret to `value` as a user would, with `kubectl patch` (a merge patch of `data`). */
export async function patchSecretValue(
  namespace: string,
  name: string,
  key: string,
  value: string,
): Promise<void> {
  await kubectlOk([
    "patch",
    "secret",
    name,
    "-n",
    namespace,
    "--type=merge",
    "-p",
    JSON.stringify({ data: { [key]: Buffer.from(value).toString("base64") } }),
  ]);
}

/** `kubectl wait --for=condition=<condition>` on objects (`kind/name`) of one namespace. */
export async function waitForCondition(
  namespace: string,
  objects: string | string[],
  condition: string,
  timeoutSeconds = 60,
): Promise<void> {
  const names = typeof objects === "string" ? [objects] : objects;
  await kubectlOk([
    "wait",
    `--for=condition=${condition}`,
    `--timeout=${timeoutSeconds}s`,
    "-n",
    namespace,
    ...names,
  ]);
}

/** Applies the generated CRDs (server-side, as a user would) and waits until they are established. */
export async function installCrds(kubeconfigPath: string = inject("kubeconfigPath")): Promise<void> {
  const dir = join(import.meta.dirname, "..", "..", "crds");
  await kubectlOk(
    ["apply", "--server-side", "--field-manager=test-setup", "-f", dir],
    undefined,
    kubeconfigPath,
  );
  await kubectlOk(
    ["wait", "--for=condition=Established", "--timeout=60s", "-f", dir],
    undefined,
    kubeconfigPath,
  );
}

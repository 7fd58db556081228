/**
 * The real helm binary (built once from its Go module by hack/helm/build.sh, or HELM_BIN) run on the
 * chart, and helpers to read what it renders. Helm's own state (repositories, cache, registry
 * config) goes to a temporary directory so that tests never touch the user's.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { inject } from "vitest";
import { parseAllDocuments } from "yaml";

const repoRoot = join(import.meta.dirname, "..", "..");
/** The chart under test. */
export const chartDir = join(repoRoot, "charts", "datatrails-operator");

let helmPath: Promise<string> | undefined;

/** The helm binary's path; builds it on first use (minutes, once per machine) unless it is cached. */
export function helmBinary(): Promise<string> {
  helmPath ??= promisify(execFile)("bash", [join(repoRoot, "hack", "helm", "build.sh")], {
    maxBuffer: 1 << 20,
    timeout: 600_000,
  }).then(({ stdout }) => stdout.trim());
  return helmPath;
}

const helmHome = mkdtempSync(join(tmpdir(), "helm-home-"));

/** What a command printed and how it exited. */
export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with `args`; `withCluster` adds the test control plane's kubeconfig. */
export async function helm(args: string[], options: { withCluster?: boolean } = {}): Promise<RunResult> {
  const bin = await helmBinary();
  const fullArgs = options.withCluster ? [...args, "--kubeconfig", inject("kubeconfigPath")] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, fullArgs, {
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 180_000,
      env: {
        PATH: process.env["PATH"] ?? "",
        HOME: helmHome,
        HELM_CACHE_HOME: join(helmHome, "cache"),
        HELM_CONFIG_HOME: join(helmHome, "config"),
        HELM_DATA_HOME: join(helmHome, "data"),
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

/** Runs helm and throws with its output when it fails. */
export async function helmOk(args: string[], options: { withCluster?: boolean } = {}): Promise<string> {
  const result = await helm(args, options);
  if (result.status !== 0)
    throw new Error(`helm ${args.join(" ")} failed (${result.status}):\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Values as helm arguments: `--set-json key=<JSON>` each, so strings with commas or dots stay whole. */
export function valueArgs(values: Record<string, unknown>): string[] {
  return Object.entries(values).flatMap(([key, value]) => ["--set-json", `${key}=${JSON.stringify(value)}`]);
}

/** A rendered Kubernetes object (loosely typed: tests read the fields they check). */
export interface Rendered {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** `helm template` of the chart as release `release` in `namespace`, as YAML text. */
export function renderYaml(
  release: string,
  namespace: string,
  values: Record<string, unknown> = {},
): Promise<string> {
  return helmOk(["template", release, chartDir, "--namespace", namespace, ...valueArgs(values)]);
}

/** The objects of a multi-document YAML text. */
export function objectsOf(yamlText: string): Rendered[] {
  return parseAllDocuments(yamlText)
    .map((d) => d.toJS() as Rendered | null)
    .filter((o): o is Rendered => o !== null);
}

/** `helm template` of the chart, parsed. */
export async function render(
  release: string,
  namespace: string,
  values: Record<string, unknown> = {},
): Promise<Rendered[]> {
  return objectsOf(await renderYaml(release, namespace, values));
}

/** The one object of `kind` (and `name`, when given); throws when there is not exactly one. */
export function only(objects: Rendered[], kind: string, name?: string): Rendered {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, rendered ${found.length}`);
  return found[0] as Rendered;
}

/** The operator container of a rendered Deployment, as far as the tests read it. */
export interface OperatorContainer {
  name: string;
  image: string;
  args: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: Record<string, unknown>;
}

/** The Deployment's operator container. */
export function operatorContainer(objects: Rendered[]): OperatorContainer {
  const deployment = only(objects, "Deployment") as unknown as {
    spec: { template: { spec: { containers: OperatorContainer[] } } };
  };
  const found = deployment.spec.template.spec.containers.find((c) => c.name === "operator");
  if (!found) throw new Error("the Deployment has no container named operator");
  return found;
}

/** The container's environment as a pod named `podName` in `namespace` would see it (Downward API filled in). */
export function podEnv(c: OperatorContainer, podName: string, namespace: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    if (field !== undefined && field !== "metadata.name" && field !== "metadata.namespace")
      throw new Error(`no test value for the Downward API field ${field}`);
    env[e.name] =
      field === "metadata.name" ? podName : field === "metadata.namespace" ? namespace : (e.value ?? "");
  }
  return env;
}

/**
 * A benchmark environment: its own control plane (etcd + kube-apiserver), the emulator in this
 * process, the CRDs, one namespace with an admin Secret and a DataTrailsConnection, and the
 * operator as a child process whose CPU and memory are read from /proc.
 */
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { startControlPlane, type ControlPlane } from "../../src/envtest/control-plane.ts";
import { startOperatorChild, type OperatorChild } from "./operator.ts";

export const repoRoot = resolve(import.meta.dirname, "..", "..");
export const group = "datatrails.ai";
export const version = "v1alpha1";

/** A running benchmark environment. */
export interface BenchEnv {
  plane: ControlPlane;
  emulator: RunningEmulator;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  namespace: string;
  kubectl(args: string[], input?: string | object | object[]): Promise<string>;
  /** Starts (another) operator process on the namespace. */
  /** `nodeOptions` replaces the chart's default NODE_OPTIONS (see bench/lib/operator.ts). */
  startOperator(extra?: {
    flags?: string[];
    nodeFlags?: string[];
    nodeOptions?: string;
  }): Promise<OperatorChild>;
  stop(): Promise<void>;
}

/** Options of {@link startBenchEnv}. */
export interface BenchEnvOptions {
  namespace?: string;
  /** expires_in of the emulator's tokens. */
  tokenTtlSeconds?: number;
  /** Flags every operator started here gets. */
  operatorFlags?: string[];
}

/** Runs kubectl from the control plane's bin dir; `input` objects are written as YAML 1.1. */
function kubectlRunner(plane: ControlPlane) {
  return (args: string[], input?: string | object | object[]): Promise<string> => {
    const text =
      input === undefined || typeof input === "string"
        ? input
        : (Array.isArray(input) ? input : [input])
            .map((doc) => stringify(doc, { version: "1.1" }))
            .join("---\n");
    return new Promise((done, fail) => {
      const child = spawn(join(plane.binDir, "kubectl"), ["--kubeconfig", plane.kubeconfigPath, ...args], {
        stdio: ["pipe", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (err += c.toString()));
      child.on("error", fail);
      child.on("close", (code) =>
        code === 0 ? done(out) : fail(new Error(`kubectl ${args.join(" ")}: ${code}: ${err}`)),
      );
      child.stdin.end(text ?? "");
    });
  };
}

/** Starts everything but the operator (call env.startOperator). */
export async function startBenchEnv(options: BenchEnvOptions = {}): Promise<BenchEnv> {
  const namespace = options.namespace ?? "bench";
  const plane = await startControlPlane({
    // The default in-flight limits (400/200) are for shared clusters; a benchmark is the only client.
    apiServerFlags: ["--max-requests-inflight=800", "--max-mutating-requests-inflight=400"],
  });
  const kubectl = kubectlRunner(plane);
  const emulator = await startEmulator({ tokenTtlSeconds: options.tokenTtlSeconds ?? 3600 });
  const crds = join(repoRoot, "crds");
  await kubectl(["apply", "--server-side", "--field-manager=bench", "-f", crds]);
  await kubectl(["wait", "--for=condition=Established", "--timeout=60s", "-f", crds]);
  await kubectl(["create", "namespace", namespace]);
  await kubectl(
    ["apply", "-f", "-"],
    [
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "datatrails-admin", namespace },
        stringData: { client_id: emulator.admin.clientId, client_secret: emulator.admin.clientSecret },
      },
      {
        apiVersion: `${group}/${version}`,
        kind: "DataTrailsConnection",
        metadata: { name: "datatrails", namespace },
        // The highest client-side limit the API allows: the benchmark measures the operator, not the limiter.
        spec: {
          url: emulator.url,
          credentialsSecretRef: { name: "datatrails-admin" },
          requestsPerSecond: 1000,
        },
      },
    ],
  );
  const children: OperatorChild[] = [];
  return {
    plane,
    emulator,
    core: plane.kubeConfig.makeApiClient(CoreV1Api),
    custom: plane.kubeConfig.makeApiClient(CustomObjectsApi),
    namespace,
    kubectl,
    async startOperator(extra = {}) {
      const child = startOperatorChild({
        kubeconfigPath: plane.kubeconfigPath,
        namespace,
        flags: [...(options.operatorFlags ?? []), ...(extra.flags ?? [])],
        nodeFlags: extra.nodeFlags ?? [],
        ...(extra.nodeOptions !== undefined ? { nodeOptions: extra.nodeOptions } : {}),
      });
      children.push(child);
      await child.started;
      return child;
    },
    async stop() {
      for (const c of children) await c.stop();
      await emulator.close();
      await plane.stop();
    },
  };
}

/** A DataTrailsIntegration on the bench connection. */
export function integrationManifest(namespace: string, name: string): Record<string, unknown> {
  return {
    apiVersion: `${group}/${version}`,
    kind: "DataTrailsIntegration",
    metadata: { name, namespace },
    spec: { connectionRef: { name: "datatrails" }, displayName: name },
  };
}

/** `prefix-00001`-style names. */
export function names(prefix: string, count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(from + i).padStart(5, "0")}`);
}

/** Runs `work` over `items` with at most `concurrency` at once. */
export async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Creates the integrations through the API, `concurrency` requests at a time. */
export async function createIntegrations(env: BenchEnv, list: readonly string[], concurrency = 32) {
  await pool(list, concurrency, async (name) => {
    await env.custom.createNamespacedCustomObject({
      group,
      version,
      namespace: env.namespace,
      plural: "datatrailsintegrations",
      body: integrationManifest(env.namespace, name),
    });
  });
}

/** Client credentials of a DataTrails application. */
export interface AppCredentials {
  clientId: string;
  clientSecret: string;
}

/**
 * Creates one application per name in the emulator through the App Registrations API (as a user
 * would, with the admin's token), `concurrency` at a time, and returns their credentials by name.
 */
export async function createApplications(
  env: BenchEnv,
  list: readonly string[],
  concurrency = 16,
): Promise<Map<string, AppCredentials>> {
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: env.emulator.admin.clientId,
    client_secret: env.emulator.admin.clientSecret,
  });
  const admin = (await (
    await fetch(`${env.emulator.url}/archivist/iam/v1/appidp/token`, { method: "POST", body: form })
  ).json()) as { access_token: string };
  const out = new Map<string, AppCredentials>();
  await pool(list, concurrency, async (name) => {
    const response = await fetch(`${env.emulator.url}/archivist/iam/v1/applications`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${admin.access_token}` },
      body: JSON.stringify({ display_name: name, custom_claims: {} }),
    });
    if (!response.ok) throw new Error(`creating application ${name}: HTTP ${response.status}`);
    const app = (await response.json()) as { client_id: string; credentials: { secret: string }[] };
    out.set(name, { clientId: app.client_id, clientSecret: app.credentials[0]?.secret ?? "" });
  });
  return out;
}

/** Requests the API server has served, by `VERB resource` (apiserver_request_total), watches excluded. */
export async function apiServerRequests(env: BenchEnv): Promise<Record<string, number>> {
  const text = await env.kubectl(["get", "--raw", "/metrics"]);
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const verb = /verb="([^"]*)"/.exec(line)?.[1] ?? "";
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? "";
    const sub = /subresource="([^"]*)"/.exec(line)?.[1] ?? "";
    if (verb === "WATCH" || resource === "" || resource === "leases") continue;
    const key = `${verb} ${resource}${sub ? `/${sub}` : ""}`;
    out[key] = (out[key] ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return out;
}

/** `after - before`, per key, per `per` objects, without zeros. */
export function perObject(after: Record<string, number>, before: Record<string, number>, per: number) {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = (v - (before[k] ?? 0)) / per;
    if (d > 0.001) out[k] = Math.round(d * 100) / 100;
  }
  return out;
}

/** What the operator asked DataTrails, from the emulator's counters: token requests, application writes and reads. */
export function dataTrailsCalls(calls: Record<string, number>) {
  const count = (name: string) => calls[name] ?? 0;
  return {
    tokenRequests: count("token"),
    applicationWrites:
      count("applications.create") +
      count("applications.update") +
      count("applications.delete") +
      count("applications.regenerateSecret"),
    applicationReads: count("applications.get") + count("applications.list"),
  };
}

/**
 * External Secrets Operator as the peer of bench/peer.ts: its binary and CRDs (hack/eso/build.sh
 * builds them once from the pinned Go module), the controller as a child process whose CPU and
 * memory are read from /proc, and the objects that make it refresh a DataTrails token: per token a
 * credentials Secret, a Webhook generator that POSTs the client-credentials form to the token
 * endpoint, and an ExternalSecret whose dataFrom is that generator.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { repoRoot, type AppCredentials } from "./env.ts";
import { controllerHandle, type ControllerHandle } from "./operator.ts";
import { freePort } from "../../src/envtest/ports.ts";

/** The ESO binary and the directory of its CRDs. */
export interface EsoBuild {
  bin: string;
  crds: string;
}

/**
 * Finds (or builds, once) ESO. The CRDs lie beside the binary in crds/ (as hack/eso/build.sh caches
 * them) unless ESO_CRDS names another directory.
 */
export function esoBuild(): EsoBuild {
  const bin = execFileSync("bash", [join(repoRoot, "hack", "eso", "build.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  const crds = process.env["ESO_CRDS"] ?? join(dirname(bin), "crds");
  if (!existsSync(crds)) throw new Error(`no ESO CRDs in ${crds}: set ESO_CRDS to their directory`);
  return { bin, crds };
}

/** A running ESO controller. */
export type EsoChild = ControllerHandle;

/**
 * Starts the ESO controller (the root command: no webhook, no cert controller) on one namespace,
 * without leader election, with `--concurrent=<concurrency>` and every other flag at its default.
 * Resolves once the ExternalSecret controller has started its workers (its caches are synced).
 */
export async function startEsoChild(options: {
  bin: string;
  kubeconfigPath: string;
  namespace: string;
  concurrency: number;
}): Promise<EsoChild> {
  const metricsPort = await freePort();
  const child = spawn(
    options.bin,
    [
      `--metrics-addr=127.0.0.1:${metricsPort}`,
      `--namespace=${options.namespace}`,
      `--concurrent=${options.concurrency}`,
    ],
    { env: { ...process.env, KUBECONFIG: options.kubeconfigPath }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const problems: string[] = [];
  const exited = new Promise<void>((done) => child.once("close", () => done()));
  const started = new Promise<void>((done, fail) => {
    const onLine = (text: string) => {
      let line: { level?: string; msg?: string; controller?: string; error?: string };
      try {
        line = JSON.parse(text) as typeof line;
      } catch {
        if (problems.length < 50) problems.push(text.slice(0, 400));
        return;
      }
      if (line.msg === "Starting workers" && line.controller === "externalsecret") done();
      else if (line.level === "error" && problems.length < 50)
        problems.push(`${line.msg ?? ""}: ${line.error ?? ""}`.slice(0, 400));
    };
    createInterface({ input: child.stdout }).on("line", onLine);
    createInterface({ input: child.stderr }).on("line", onLine);
    void exited.then(() => fail(new Error(`ESO exited before it started: ${problems.join("\n")}`)));
  });
  await started;
  return controllerHandle(child, exited, () => metricsPort, problems);
}

/** The credentials Secret of one token: the application's client id and secret. */
export function credentialsSecretManifest(
  namespace: string,
  name: string,
  credentials: AppCredentials,
): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Secret",
    // The label ESO's Webhook provider asks of the Secrets it reads.
    metadata: { name: `${name}-credentials`, namespace, labels: { "external-secrets.io/type": "webhook" } },
    stringData: { client_id: credentials.clientId, client_secret: credentials.clientSecret },
  };
}

/**
 * The Webhook generator of one token: the client-credentials form POSTed to the token endpoint, the
 * credentials from the Secret above. The result is the whole JSON answer (access_token, token_type,
 * expires_in become the target Secret's keys): ESO 0.16 wants the jsonPath to select an object, so
 * `$.access_token`, a string that is not JSON, would fail.
 */
export function webhookManifest(namespace: string, name: string, tokenUrl: string): Record<string, unknown> {
  const field = (key: string) => `{{ .credentials.${key} | urlquery }}`;
  return {
    apiVersion: "generators.external-secrets.io/v1alpha1",
    kind: "Webhook",
    metadata: { name, namespace },
    spec: {
      url: tokenUrl,
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `grant_type=client_credentials&client_id=${field("client_id")}&client_secret=${field("client_secret")}`,
      result: { jsonPath: "$" },
      secrets: [{ name: "credentials", secretRef: { name: `${name}-credentials` } }],
    },
  };
}

/** The ExternalSecret of one token: the generator's output into `<name>-token` every `refreshMs`. */
export function externalSecretManifest(
  namespace: string,
  name: string,
  refreshMs: number,
): Record<string, unknown> {
  return {
    apiVersion: "external-secrets.io/v1",
    kind: "ExternalSecret",
    metadata: { name, namespace },
    spec: {
      refreshInterval: `${refreshMs}ms`,
      target: { name: `${name}-token` },
      dataFrom: [
        {
          sourceRef: {
            generatorRef: { apiVersion: "generators.external-secrets.io/v1alpha1", kind: "Webhook", name },
          },
        },
      ],
    },
  };
}

/**
 * Helpers for the BearerToken tests: reading token Secrets and statuses, recording every
 * version of an object with a real watch, reading the operator's /metrics, and restarting the
 * in-process operator on the same namespaces. Nothing here prints a token or a secret.
 */
import { Writable } from "node:stream";
import { CustomObjectsApi, Watch, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { expect } from "vitest";
import { parseConfig } from "../../src/config.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics, type Metrics } from "../../src/observability/metrics.ts";
import { startOperator } from "../../src/operator.ts";
import type { TestEnv } from "../support/env.ts";
import { sumMetric } from "../support/metrics-text.ts";

/** A metav1.Condition as the tests read it. */
export interface Condition {
  type: string;
  status: string;
  reason: string;
  message?: string;
}

/** A BearerToken as the tests read it. */
export interface BearerTokenObject {
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; generation: number };
  spec: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
    tokenIssuedAt?: string;
    tokenExpiresAt?: string;
    nextRefreshAt?: string;
    consecutiveFailures?: number;
    lastFailure?: string;
  };
}

/** The condition of `type`, if present. */
export function conditionOf(obj: { status?: { conditions?: Condition[] } } | undefined, type: string) {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

/** A token Secret's data, decoded, and its annotations. */
export interface TokenSecret {
  resourceVersion: string;
  data: Record<string, string>;
  annotations: Record<string, string>;
}

/** Decodes a token Secret (the values stay in memory; never print them). */
export function decodeTokenSecret(secret: V1Secret): TokenSecret {
  return {
    resourceVersion: secret.metadata?.resourceVersion ?? "",
    data: Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    ),
    annotations: secret.metadata?.annotations ?? {},
  };
}

/** The token Secret, or undefined while it does not exist. */
export async function readTokenSecret(
  env: TestEnv,
  namespace: string,
  name: string,
): Promise<TokenSecret | undefined> {
  try {
    return decodeTokenSecret(await env.core.readNamespacedSecret({ name, namespace }));
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

/** The `exp` claim of a JWT in epoch milliseconds, read without verifying (the emulator verifies). */
export function jwtExpMs(jwt: string): number {
  const payload = jwt.split(".")[1] ?? "";
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: unknown };
  if (typeof claims.exp !== "number") throw new Error("the access token has no numeric exp claim");
  return claims.exp * 1000;
}

const group = "datatrails.ai";
const version = "v1alpha1";

/** Every BearerToken in `namespace`. */
export async function listBearerTokens(env: TestEnv, namespace: string): Promise<BearerTokenObject[]> {
  const api = env.kubeConfig.makeApiClient(CustomObjectsApi);
  const list = (await api.listNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: "bearertokens",
  })) as { items: BearerTokenObject[] };
  return list.items;
}

/** One BearerToken. */
export async function getBearerToken(env: TestEnv, namespace: string, name: string) {
  const api = env.kubeConfig.makeApiClient(CustomObjectsApi);
  return (await api.getNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: "bearertokens",
    name,
  })) as BearerTokenObject;
}

/** A version of a watched object and when the watch delivered it (epoch ms). */
export interface Seen<T> {
  atMs: number;
  phase: string;
  object: T;
}

/** A running watch that keeps every version it is sent. */
export interface Recorder<T> {
  versions: Seen<T>[];
  /** How many times the watch was resumed after the server ended it. */
  restarts(): number;
  stop(): void;
}

/**
 * Records every version of the objects at `path` (a real watch, so no write is missed the way a
 * poll could miss one), optionally narrowed by a field selector such as `metadata.name=x`. A watch
 * the server ends (a timeout, "storage is (re)initializing" just after a CRD is created) is resumed
 * from the last resourceVersion seen, so the history has no hole.
 */
export async function recordVersions<T extends { metadata?: { resourceVersion?: string } }>(
  kubeConfig: KubeConfig,
  path: string,
  fieldSelector?: string,
): Promise<Recorder<T>> {
  const versions: Seen<T>[] = [];
  const watch = new Watch(kubeConfig);
  let stopping = false;
  let restarts = 0;
  let resourceVersion: string | undefined;
  let controller: AbortController | undefined;
  const start = async (): Promise<void> => {
    let gone = false;
    controller = await watch.watch(
      path,
      {
        ...(fieldSelector ? { fieldSelector } : {}),
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      (phase, object: T & { code?: number }) => {
        if (phase === "ERROR") {
          // 410 Gone: the version is too old to resume from; start over (ADDED gives the current state).
          if (object.code === 410) gone = true;
          return;
        }
        resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
        versions.push({ atMs: Date.now(), phase, object });
      },
      () => {
        if (stopping) return;
        restarts += 1;
        if (gone) resourceVersion = undefined;
        resume();
      },
    );
  };
  const resume = (): void => {
    setTimeout(() => {
      if (!stopping) start().catch(resume);
    }, 100);
  };
  await start();
  return {
    versions,
    restarts: () => restarts,
    stop() {
      stopping = true;
      controller?.abort();
    },
  };
}

/** Sums the samples of a metric on the operator's real /metrics endpoint whose labels include `labels`. */
export async function metricSum(
  metricsPort: number,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return sumMetric(text, name, labels);
}

/** A controller's reconciles and its work queue's adds, from the operator's real /metrics. */
async function controllerWork(metricsPort: number, controller: string) {
  return {
    reconciles: await metricSum(metricsPort, "datatrails_reconcile_duration_seconds_count", { controller }),
    adds: await metricSum(metricsPort, "workqueue_adds_total", { name: controller }),
  };
}

/**
 * Waits until `controller` (`bearertoken` or `datatrailsintegration`) has done at least `atLeast`
 * reconciles and is quiet: every key its queue was given has been handled (reconciles = adds), and
 * two reads in a row, half a second apart, saw the same numbers (so no watch event was still on its
 * way). Returns the reconcile count.
 */
export async function waitForQuietController(
  metricsPort: number,
  controller: string,
  atLeast: number,
): Promise<number> {
  let previous = { reconciles: -1, adds: -1 };
  await expect
    .poll(
      async () => {
        const now = await controllerWork(metricsPort, controller);
        const quiet =
          now.reconciles >= atLeast &&
          now.reconciles === now.adds &&
          now.reconciles === previous.reconciles &&
          now.adds === previous.adds;
        previous = now;
        return quiet;
      },
      { timeout: 60_000, interval: 500 },
    )
    .toBe(true);
  return previous.reconciles;
}

/**
 * Stops the env's operator and starts a new one on the same namespaces with fresh metrics (its
 * logs join env.logs, for the hygiene check). The new operator replaces the old one in place
 * inside env.operator, so env.stop() stops the one that runs. Mirrors what startTestEnv does.
 */
export async function restartOperator(env: TestEnv, operatorFlags: string[] = []): Promise<Metrics> {
  await env.operator.stop();
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      env.logs.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const config = parseConfig({
    argv: [
      "--no-leader-election",
      "--health-port=0",
      "--metrics-port=0",
      "--bind-address=127.0.0.1",
      `--watch-namespaces=${env.namespaces.join(",")}`,
      "--max-backoff-ms=2000",
      ...operatorFlags,
    ],
    env: {},
  });
  const next = await startOperator({
    config,
    kubeConfig: env.kubeConfig,
    logger: createLogger({ level: "debug", destination }),
    metrics,
    onLostLeadership: () => {
      throw new Error("an operator without leader election lost leadership");
    },
  });
  Object.assign(env.operator, next);
  return metrics;
}

/** Creates an application with the emulator's App Registrations API (as the seeded admin). */
export async function createApplication(
  emulator: RunningEmulator,
  displayName: string,
): Promise<{ clientId: string; clientSecret: string }> {
  const tokenResponse = await fetch(`${emulator.url}/archivist/iam/v1/appidp/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: emulator.admin.clientId,
      client_secret: emulator.admin.clientSecret,
    }),
  });
  if (tokenResponse.status !== 200) throw new Error(`admin token: HTTP ${tokenResponse.status}`);
  const { access_token } = (await tokenResponse.json()) as { access_token: string };
  const created = await fetch(`${emulator.url}/archivist/iam/v1/applications`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${access_token}` },
    body: JSON.stringify({ display_name: displayName, custom_claims: {} }),
  });
  if (created.status !== 200) throw new Error(`create application: HTTP ${created.status}`);
  const app = (await created.json()) as { client_id: string; credentials: { secret: string }[] };
  return { clientId: app.client_id, clientSecret: app.credentials[0]?.secret ?? "" };
}

/** The per-second histogram of epoch-ms times, as `[second, count]` sorted by second. */
export function perSecond(timesMs: number[]): [number, number][] {
  const buckets = new Map<number, number>();
  for (const t of timesMs) {
    const second = Math.floor(t / 1000);
    buckets.set(second, (buckets.get(second) ?? 0) + 1);
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]);
}

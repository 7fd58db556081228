/**
 * A test environment on the shared control plane: the emulator over real HTTP, the CRDs, namespaces
 * of the test's own with an admin Secret and a DataTrailsConnection, and the operator running
 * in-process on those namespaces only, with every log line captured for the secrets-hygiene checks.
 */
import { Writable } from "node:stream";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";
import { parseConfig } from "../../src/config.ts";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../src/emulator/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics, type Metrics } from "../../src/observability/metrics.ts";
import { startOperator, type Operator } from "../../src/operator.ts";
import { findLeaks } from "./hygiene.ts";
import { installCrds, kubectlOk } from "./kubectl.ts";
import { clientSecretManifest, connectionManifest } from "./manifests.ts";

/** A running test environment. */
export interface TestEnv {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  emulator: RunningEmulator;
  operator: Operator;
  metrics: Metrics;
  /** Every log line the operator wrote. */
  logs: string[];
  namespaces: string[];
  /** Stops everything; throws when a secret leaked, else says how much the hygiene check searched. */
  stop(): Promise<HygieneSummary>;
}

/** What the secrets-hygiene check searched when the environment stopped (it found nothing). */
export interface HygieneSummary {
  logLines: number;
  metricsBytes: number;
}

/**
 * Starts the emulator and an operator that works only in `namespaces` (created here, each with a
 * connection), on the shared control plane or, given `kubeconfigPath`, on one of the test's own.
 */
export async function startTestEnv(
  namespaces: string[],
  operatorFlags: string[] = [],
  emulatorOptions: EmulatorOptions = {},
  kubeconfigPath: string = inject("kubeconfigPath"),
): Promise<TestEnv> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await installCrds(kubeconfigPath);
  const emulator = await startEmulator(emulatorOptions);
  for (const ns of namespaces) {
    await kubectlOk(["create", "namespace", ns], undefined, kubeconfigPath);
    await createConnection(ns, emulator, kubeconfigPath);
  }
  const { operator, metrics, logs, stopAndCheck } = await startInProcessOperator(
    kubeConfig,
    namespaces,
    [emulator.admin.clientSecret],
    operatorFlags,
  );
  return {
    kubeConfig,
    core,
    emulator,
    operator,
    metrics,
    logs,
    namespaces,
    async stop() {
      // Every file that runs the operator also proves it leaked nothing (and that there was something to read).
      const { summary, leaks } = await stopAndCheck();
      await emulator.close();
      for (const ns of namespaces)
        await kubectlOk(["delete", "namespace", ns, "--wait=false"], undefined, kubeconfigPath);
      throwOnLeaks(leaks);
      return summary;
    },
  };
}

/** The admin Secret and a DataTrailsConnection named `datatrails` in `namespace`. */
export async function createConnection(
  namespace: string,
  emulator: RunningEmulator,
  kubeconfigPath: string = inject("kubeconfigPath"),
): Promise<void> {
  await kubectlOk(
    ["apply", "-f", "-"],
    [
      clientSecretManifest(namespace, emulator.admin),
      connectionManifest(namespace, emulator.url, { requestsPerSecond: 100 }),
    ],
    kubeconfigPath,
  );
  await Promise.resolve();
}

/** An operator running in this process, and what its secrets-hygiene check needs. */
export interface InProcessOperator {
  operator: Operator;
  metrics: Metrics;
  /** Every log line the operator wrote. */
  logs: string[];
  /** Stops the operator and searches its logs, metrics and the namespaces' objects for secrets. */
  stopAndCheck: () => Promise<{ summary: HygieneSummary; leaks: Awaited<ReturnType<typeof findLeaks>> }>;
}

/**
 * Starts the operator in-process on `namespaces` of the control plane `kubeConfig` names, with every
 * log line captured; `secrets` are values besides the ones in the namespaces (e.g. the emulator's
 * admin secret) that must not appear in its logs or metrics.
 */
export async function startInProcessOperator(
  kubeConfig: KubeConfig,
  namespaces: string[],
  secrets: string[],
  flags: string[] = [],
): Promise<InProcessOperator> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: "debug", destination });
  const metrics = createMetrics({ defaultMetrics: false });
  const config = parseConfig({
    argv: [
      "--no-leader-election",
      "--health-port=0",
      "--metrics-port=0",
      "--bind-address=127.0.0.1",
      `--watch-namespaces=${namespaces.join(",")}`,
      "--max-backoff-ms=2000",
      ...flags,
    ],
    env: {},
  });
  const operator = await startOperator({
    config,
    kubeConfig,
    logger,
    metrics,
    onLostLeadership: () => {
      throw new Error("an operator without leader election lost leadership");
    },
  });
  return {
    operator,
    metrics,
    logs,
    stopAndCheck: async () => {
      await operator.stop();
      if (logs.length === 0)
        throw new Error("the operator wrote no log line: the hygiene check would prove nothing");
      const metricsText = await metrics.registry.metrics();
      const leaks = await findLeaks(kubeConfig, namespaces, logs, metricsText, secrets);
      return { summary: { logLines: logs.length, metricsBytes: metricsText.length }, leaks };
    },
  };
}

/** Throws, naming where (never what), when the hygiene check found a secret. */
export function throwOnLeaks(leaks: Awaited<ReturnType<typeof findLeaks>>): void {
  if (leaks.length > 0)
    throw new Error(`secrets leaked: ${leaks.map((l) => `${l.what} in ${l.where}`).join("; ")}`);
}

/**
 * The operator in-process for real-sync.test.ts, as test/support/env.ts runs it, on a control plane
 * and in namespaces Argo CD set up (env.ts creates its own namespaces and connections, which here
 * come from Git). Stopping it runs the same secrets-hygiene check over its logs and metrics.
 */
import { Writable } from "node:stream";
import type { KubeConfig } from "@kubernetes/client-node";
import { parseConfig } from "../../src/config.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { startOperator } from "../../src/operator.ts";
import { findLeaks } from "../support/hygiene.ts";

export interface InProcessOperator {
  /** Stops the operator; throws when a secret leaked into its logs, metrics or objects. */
  stop(): Promise<void>;
}

export async function startOperatorOn(
  kubeConfig: KubeConfig,
  namespaces: string[],
  emulator: RunningEmulator,
  flags: string[] = [],
): Promise<InProcessOperator> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString().split("\n").filter(Boolean));
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
      `--watch-namespaces=${namespaces.join(",")}`,
      "--max-backoff-ms=2000",
      ...flags,
    ],
    env: {},
  });
  const operator = await startOperator({
    config,
    kubeConfig,
    logger: createLogger({ level: "debug", destination }),
    metrics,
    onLostLeadership: () => {
      throw new Error("an operator without leader election lost leadership");
    },
  });
  let stopped = false;
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      await operator.stop();
      if (logs.length === 0)
        throw new Error("the operator wrote no log line: the hygiene check would prove nothing");
      const leaks = await findLeaks(kubeConfig, namespaces, logs, await metrics.registry.metrics(), [
        emulator.admin.clientSecret,
      ]);
      if (leaks.length > 0)
        throw new Error(`secrets leaked: ${leaks.map((l) => `${l.what} in ${l.where}`).join("; ")}`);
    },
  };
}

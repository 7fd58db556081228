/**
 * The floor of the burst benchmark: the least any controller must do per DataTrailsIntegration,
 * with no operator running. A watch hands each new integration to one of `concurrency` workers
 * (as an informer and work queue would), which makes exactly the minimal calls: create the
 * application, write the credentials Secret, get a token with the new credentials, write the
 * token Secret, patch the status to Ready. No crash marks, no verification, no child objects.
 *
 *   node bench/floor.ts [--count=1000] [--concurrency=8]
 */
import { tokenKeys } from "../src/api/v1alpha1/index.ts";
import { PatchStrategy, setHeaderOptions, type V1Secret } from "@kubernetes/client-node";
import {
  apiServerRequests,
  createIntegrations,
  group,
  names,
  perObject,
  startBenchEnv,
  version,
  type BenchEnv,
} from "./lib/env.ts";
import { intFlags, machine, progress, quantile, report, round } from "./lib/report.ts";
import { readyTracker, watchCollection, type IntegrationLike } from "./lib/watch.ts";

const form = (fields: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields),
});

async function token(url: string, clientId: string, clientSecret: string): Promise<string> {
  const res = await fetch(
    `${url}/archivist/iam/v1/appidp/token`,
    form({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret }),
  );
  if (res.status !== 200) throw new Error(`token: HTTP ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

function secret(namespace: string, name: string, data: Record<string, string>): V1Secret {
  return { metadata: { name, namespace }, type: "Opaque", stringData: data };
}

/** Runs the minimal controller on `env.namespace` until stopped; returns the stop function. */
export async function startFloor(env: BenchEnv, concurrency: number): Promise<() => void> {
  const url = env.emulator.url;
  const adminToken = await token(url, env.emulator.admin.clientId, env.emulator.admin.clientSecret);
  const queue: IntegrationLike[] = [];
  let wake: (() => void) | undefined;
  let stopped = false;
  const watching = await watchCollection<IntegrationLike & { metadata: { uid?: string } }>(
    env.plane.kubeConfig,
    `/apis/${group}/${version}/namespaces/${env.namespace}/datatrailsintegrations`,
    (e) => {
      if (e.phase !== "ADDED") return;
      queue.push(e.object);
      wake?.();
    },
  );
  const handle = async (o: IntegrationLike & { metadata: { uid?: string } }) => {
    const name = o.metadata.name;
    const ns = env.namespace;
    const created = await fetch(`${url}/archivist/iam/v1/applications`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({
        display_name: name,
        custom_claims: { k8s_integration_uid: o.metadata.uid ?? "" },
      }),
    });
    if (created.status !== 200) throw new Error(`create application: HTTP ${created.status}`);
    const app = (await created.json()) as { client_id: string; credentials: { secret: string }[] };
    const clientSecret = app.credentials[0]?.secret ?? "";
    await env.core.createNamespacedSecret({
      namespace: ns,
      body: secret(ns, `${name}-credentials`, { client_id: app.client_id, client_secret: clientSecret }),
    });
    const accessToken = await token(url, app.client_id, clientSecret);
    await env.core.createNamespacedSecret({
      namespace: ns,
      body: secret(ns, `${name}-token`, { [tokenKeys.accessToken]: accessToken }),
    });
    await env.custom.patchNamespacedCustomObjectStatus(
      {
        group,
        version,
        namespace: ns,
        plural: "datatrailsintegrations",
        name,
        body: {
          status: {
            conditions: [
              {
                type: "Ready",
                status: "True",
                reason: "Ready",
                message: "floor",
                observedGeneration: o.metadata.generation ?? 1,
                lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
              },
            ],
          },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  };
  const worker = async () => {
    while (!stopped) {
      const next = queue.shift();
      if (!next) {
        await new Promise<void>((done) => (wake = done));
        continue;
      }
      await handle(next);
    }
  };
  for (let i = 0; i < concurrency; i++) {
    worker().catch((err: unknown) => {
      process.stderr.write(`floor worker failed: ${String(err)}\n`);
      process.exitCode = 1;
    });
  }
  return () => {
    stopped = true;
    watching.stop();
    wake?.();
  };
}

/** One floor run on a fresh environment: seconds until all `count` integrations are Ready. */
export async function runFloor(count: number, concurrency: number) {
  const env = await startBenchEnv({ namespace: "floor" });
  try {
    const tracker = await readyTracker(env.plane.kubeConfig, env.namespace);
    const stop = await startFloor(env, concurrency);
    const requestsBefore = await apiServerRequests(env);
    const start = Date.now();
    await createIntegrations(env, names("floor", count));
    await tracker.waitFor(count, 30 * 60_000);
    const seconds = (Date.now() - start) / 1000;
    const latencies = [...tracker.readyAt.values()].map((t) => t - start);
    stop();
    tracker.stop();
    const kubeRequests = perObject(await apiServerRequests(env), requestsBefore, count);
    return { seconds, lastReadyP50Ms: quantile(latencies, 0.5), kubeRequests };
  } finally {
    await env.stop();
  }
}

if (import.meta.main) {
  const flags = intFlags({ count: 1000, concurrency: 8 });
  const m = machine();
  const log = progress(Date.now());
  log(`floor: ${flags.count} integrations, concurrency ${flags.concurrency}`);
  const r = await runFloor(flags.count, flags.concurrency);
  report("floor", m, flags, { floorSeconds: round(r.seconds), kubeRequestsPerIntegration: r.kubeRequests }, [
    `${flags.count} integrations Ready in ${round(r.seconds)} s through the minimal calls`,
  ]);
}

/**
 * Kubernetes misbehaves. On a control plane of this file's own (the shared one must not restart
 * under other files):
 * - the kube-apiserver is restarted R times while integrations are being created (etcd keeps the
 *   data; every watch is cut and every in-flight call fails): the operator restarts its informers,
 *   and afterwards every integration is Ready with no lost secret, orphan or duplicate;
 * - a concurrent writer rewrites the integrations and their credentials Secrets (read, then PUT with
 *   the resourceVersion it read) while integrations are created and rotated. The operator writes with
 *   merge patches and server-side apply, which carry no resourceVersion, so the conflicts fall on the
 *   writer whenever the operator wrote in between; its own writes keep bumping the resourceVersion
 *   under the operator. Everything converges, nothing is duplicated, each rotation regenerates once,
 *   and the writer's last annotation survives on every Secret (the operator touches only its fields).
 * A SIGKILLed leader with a second replica waiting is test/crash/leader-election.test.ts.
 */
import { CoreV1Api, CustomObjectsApi, type V1Secret } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rotateAnnotation } from "../../src/api/v1alpha1/index.ts";
import { startControlPlane, type ControlPlane } from "../../src/envtest/control-plane.ts";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectlOk } from "../support/kubectl.ts";
import { byScale, chaosSeed, countDamage, reportFigures, seededRandom } from "./support.ts";
import { integrationManifest } from "../support/manifests.ts";

const restartNs = "chaos-apiserver";
const conflictNs = "chaos-conflicts";
const seed = chaosSeed();
const random = seededRandom(seed);
let plane: ControlPlane;
let env: TestEnv;

beforeAll(async () => {
  console.log(`kube faults seed ${seed} (replay with CHAOS_SEED=${seed})`);
  plane = await startControlPlane();
  env = await startTestEnv([restartNs, conflictNs], [], {}, plane.kubeconfigPath);
}, 180_000);
afterAll(async () => {
  if (env) reportFigures("hygiene", undefined, { file: "kube-faults", leaks: 0, ...(await env.stop()) });
  await plane?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const kubectl = (args: string[], input?: object[]) => kubectlOk(args, input, plane.kubeconfigPath);

async function waitReady(namespace: string, names: string[], seconds: number): Promise<void> {
  await kubectl([
    "wait",
    "--for=condition=Ready",
    `--timeout=${seconds}s`,
    "-n",
    namespace,
    ...names.map((n) => `datatrailsintegration/${n}`),
  ]);
}

async function informerRestarts(): Promise<number> {
  return (await env.metrics.informerRestartsTotal.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function healthz(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${env.operator.healthPort}/healthz`);
  await res.arrayBuffer();
  return res.status;
}

describe("Kubernetes faults", () => {
  it("survives kube-apiserver restarts in the middle of creates", async () => {
    const restarts = byScale(2, 5);
    const names = Array.from({ length: byScale(20, 100) }, (_, i) => `restart-${i}`);
    const batches = Array.from({ length: restarts + 1 }, (_, b) =>
      names.filter((_, i) => i % (restarts + 1) === b),
    );
    const creates = () => env.emulator.control.count("applications.create");
    const delays: number[] = [];
    const downMs: number[] = [];
    const createsAtRestart: number[] = [];
    const started = Date.now();
    for (let r = 0; r < restarts; r++) {
      await kubectl(
        ["apply", "-f", "-"],
        (batches[r] ?? []).map((n) => integrationManifest(restartNs, n)),
      );
      const delay = random.int(100, 1500);
      delays.push(delay);
      await sleep(delay);
      createsAtRestart.push(creates());
      const down = Date.now();
      await plane.restartApiServer();
      downMs.push(Date.now() - down);
    }
    await kubectl(
      ["apply", "-f", "-"],
      (batches[restarts] ?? []).map((n) => integrationManifest(restartNs, n)),
    );
    await waitReady(restartNs, names, byScale(180, 600));
    const convergedMs = Date.now() - started;
    const damage = await countDamage(env.emulator, restartNs, plane.kubeconfigPath);
    const informers = await informerRestarts();
    const health = await healthz();

    reportFigures("kube-apiserver-restart", seed, {
      integrations: names.length,
      restarts,
      restartDelaysMs: delays.join(","),
      apiserverDownMs: downMs.join(","),
      createsAtRestart: createsAtRestart.join(","),
      informerRestarts: informers,
      creates: creates(),
      lost: damage.lost,
      orphans: damage.orphans,
      duplicates: damage.duplicates,
      mismatched: damage.mismatched,
      healthz: health,
      convergedMs,
    });
    expect(damage.items).toHaveLength(names.length);
    expect(damage).toMatchObject({ lost: 0, orphans: 0, duplicates: 0, mismatched: 0 });
    expect(creates(), "one create per integration").toBe(names.length);
    expect(informers, "the cut watches were restarted").toBeGreaterThanOrEqual(1);
    expect(health).toBe(200);
    expect(env.operator.isReady()).toBe(true);
  }, 900_000);

  it("converges with a concurrent writer causing resourceVersion conflicts", async () => {
    const names = Array.from({ length: byScale(10, 50) }, (_, i) => `conflict-${i}`);
    const writerSeconds = byScale(15, 60);
    const custom = env.kubeConfig.makeApiClient(CustomObjectsApi);
    const core = env.kubeConfig.makeApiClient(CoreV1Api);
    const ref = {
      group: "datatrails.ai",
      version: "v1alpha1",
      namespace: conflictNs,
      plural: "datatrailsintegrations",
    };
    const touched = "chaos.datatrails.ai/touched";
    /** The annotation value each Secret got from the writer's last successful write. */
    const lastWritten = new Map<string, string>();
    let writes = 0;
    let writerConflicts = 0;
    let running = true;

    // The writer: read, change an annotation of its own, PUT with the resourceVersion it read.
    const writer = (async () => {
      let n = 0;
      while (running) {
        const name = names[random.int(0, names.length - 1)] ?? "";
        n++;
        try {
          if (random.next() < 0.5) {
            const obj = (await custom.getNamespacedCustomObject({ ...ref, name })) as {
              metadata: { annotations?: Record<string, string> };
            };
            obj.metadata.annotations = { ...obj.metadata.annotations, [touched]: String(n) };
            await custom.replaceNamespacedCustomObject({ ...ref, name, body: obj });
          } else {
            const secret: V1Secret = await core.readNamespacedSecret({
              name: `${name}-credentials`,
              namespace: conflictNs,
            });
            secret.metadata = {
              ...secret.metadata,
              annotations: { ...secret.metadata?.annotations, [touched]: String(n) },
            };
            await core.replaceNamespacedSecret({
              name: `${name}-credentials`,
              namespace: conflictNs,
              body: secret,
            });
            lastWritten.set(`${name}-credentials`, String(n));
          }
          writes++;
        } catch (err) {
          const code = (err as { code?: number }).code;
          if (code === 409) writerConflicts++;
          else if (code !== 404) throw err;
        }
      }
    })();

    env.emulator.control.resetCounters();
    const retriesBefore = (await env.metrics.workqueueRetriesTotal.get()).values.reduce(
      (s, v) => s + v.value,
      0,
    );
    const started = Date.now();
    await kubectl(
      ["apply", "-f", "-"],
      names.map((n) => integrationManifest(conflictNs, n)),
    );
    await waitReady(conflictNs, names, 180);
    // Rotate every other one while the writer still runs.
    const rotated = names.filter((_, i) => i % 2 === 0);
    for (const name of rotated)
      await kubectl([
        "annotate",
        "-n",
        conflictNs,
        `datatrailsintegration/${name}`,
        `${rotateAnnotation}=chaos-1`,
      ]);
    const writerEnds = started + writerSeconds * 1000;
    while (Date.now() < writerEnds) await sleep(500);
    running = false;
    await writer;
    const regenerations = () => env.emulator.control.count("applications.regenerateSecret");
    await expect
      .poll(
        async () => {
          const items = (
            (await custom.listNamespacedCustomObject(ref)) as {
              items: {
                metadata: { name: string };
                status?: { lastRotateRequest?: string; pendingRotation?: unknown };
              }[];
            }
          ).items;
          return items.filter(
            (o) =>
              rotated.includes(o.metadata.name) &&
              o.status?.lastRotateRequest === "chaos-1" &&
              o.status.pendingRotation === undefined,
          ).length;
        },
        { timeout: 120_000, interval: 500 },
      )
      .toBe(rotated.length);
    await waitReady(conflictNs, names, 120);
    const convergedMs = Date.now() - started;
    const retries =
      (await env.metrics.workqueueRetriesTotal.get()).values.reduce((s, v) => s + v.value, 0) - retriesBefore;
    const damage = await countDamage(env.emulator, conflictNs, plane.kubeconfigPath);

    // The writer's annotation survives on every Secret and object it last wrote.
    const secrets = (await core.listNamespacedSecret({ namespace: conflictNs })).items.filter((s) =>
      s.metadata?.name?.endsWith("-credentials"),
    );
    const secretsTouched = lastWritten.size;
    const annotationsLost = secrets.filter(
      (s) =>
        lastWritten.has(s.metadata?.name ?? "") &&
        s.metadata?.annotations?.[touched] !== lastWritten.get(s.metadata?.name ?? ""),
    ).length;

    reportFigures("kube-conflicts", seed, {
      integrations: names.length,
      rotated: rotated.length,
      writerSeconds,
      writerWrites: writes,
      writerConflicts,
      operatorRetries: retries,
      creates: env.emulator.control.count("applications.create"),
      regenerations: regenerations(),
      lost: damage.lost,
      orphans: damage.orphans,
      duplicates: damage.duplicates,
      mismatched: damage.mismatched,
      secretsTouched,
      annotationsLost,
      convergedMs,
    });
    expect(writes, "the writer really wrote").toBeGreaterThan(names.length);
    expect(damage).toMatchObject({ lost: 0, orphans: 0, duplicates: 0, mismatched: 0 });
    expect(env.emulator.control.count("applications.create"), "one create per integration").toBe(
      names.length,
    );
    expect(regenerations(), "one regeneration per rotation request").toBe(rotated.length);
    expect(secretsTouched).toBeGreaterThan(0);
    expect(annotationsLost, "the writer's annotations were kept").toBe(0);
  }, 600_000);
});

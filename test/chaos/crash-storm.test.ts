/**
 * Invariants 1 and 2 under random crashes: N integrations are created in batches while the real
 * operator binary is SIGKILLed K times at seeded random moments (a fresh process follows each kill).
 * A last process then runs to the end, and the scenario counts:
 * - lost secrets: integrations whose credentials Secret does not get a token (HTTP 200) at the
 *   emulator's token endpoint;
 * - orphans: applications carrying the ownership claim of no existing integration;
 * - duplicates: integrations with more than one application (by claim or by display name).
 * All three must be 0, every integration Ready, and nothing leaked into the processes' logs, Events
 * or status. Short: 40 integrations, 5 kills; long (CHAOS_SCALE=long): 200 and 20.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import {
  createNamespaceWithConnection,
  deleteNamespace,
  uniqueName,
  waitForCondition,
} from "../crash/support.ts";
import { findLeaks } from "../support/hygiene.ts";
import { installCrds, kubectlOk } from "../support/kubectl.ts";
import {
  killOperatorProcesses,
  startOperatorProcess,
  type OperatorProcess,
} from "../support/operator-process.ts";
import { byScale, chaosSeed, countDamage, reportFigures, seededRandom } from "./support.ts";
import { integrationManifest } from "../support/manifests.ts";

const integrations = byScale(40, 200);
const kills = byScale(5, 20);
const seed = chaosSeed();
const random = seededRandom(seed);
const namespace = uniqueName("chaos-crash");
const leaseName = uniqueName("chaos-crash-lease");
const processes: OperatorProcess[] = [];
let emulator: RunningEmulator;

beforeAll(async () => {
  console.log(`crash storm seed ${seed} (replay with CHAOS_SEED=${seed})`);
  await installCrds();
  emulator = await startEmulator();
  await createNamespaceWithConnection(namespace, emulator);
});
afterAll(async () => {
  await killOperatorProcesses();
  await emulator?.close();
  await deleteNamespace(namespace);
});

async function startOperator(): Promise<OperatorProcess> {
  const proc = startOperatorProcess({
    watchNamespaces: [namespace],
    leaseName,
    leaseNamespace: namespace,
    flags: ["--max-backoff-ms=2000"],
  });
  processes.push(proc);
  await proc.started;
  return proc;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("SIGKILL at random moments while integrations are created", () => {
  it(`loses no secret, leaves no orphan and no duplicate (${integrations} integrations, ${kills} kills)`, async () => {
    const names = Array.from({ length: integrations }, (_, i) => `storm-${String(i).padStart(3, "0")}`);
    // K + 1 batches: one before each kill, the last for the process that runs to the end.
    const batches = Array.from({ length: kills + 1 }, (_, b) =>
      names.filter((_, i) => i % (kills + 1) === b),
    );
    const killDelays: number[] = [];
    // Creates and Ready integrations at each kill: proof that the kills land in the middle of the work.
    const createsAtKill: number[] = [];
    const started = Date.now();

    for (let k = 0; k < kills; k++) {
      const proc = await startOperator();
      const delay = random.int(100, 3000);
      killDelays.push(delay);
      // The batch is applied while the kill's timer runs: the process dies wherever it is.
      const applied = kubectlOk(
        ["apply", "-f", "-"],
        (batches[k] ?? []).map((n) => integrationManifest(namespace, n)),
      );
      await sleep(delay);
      proc.kill("SIGKILL");
      createsAtKill.push(emulator.control.count("applications.create"));
      const exit = await proc.exitedWithin(30_000);
      expect(exit.signal, `kill ${k + 1} must end the process:\n${proc.tail()}`).toBe("SIGKILL");
      await applied;
    }

    const last = await startOperator();
    await kubectlOk(
      ["apply", "-f", "-"],
      (batches[kills] ?? []).map((n) => integrationManifest(namespace, n)),
    );
    await waitForCondition(namespace, names, "Ready", byScale(240, 900));
    const convergedMs = Date.now() - started;

    const { items, apps, lost, orphans, duplicates, mismatched } = await countDamage(emulator, namespace);
    const creates = emulator.control.count("applications.create");
    const regenerations = emulator.control.count("applications.regenerateSecret");

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(inject("kubeconfigPath"));
    const logs = processes.flatMap((p) => [...p.stdout, ...p.stderr]);
    // The surviving process's metrics are searched too (the killed ones' died with them).
    const metricsPort = Number((await last.started)["metricsPort"]);
    const metricsText = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const leaks = await findLeaks(kubeConfig, [namespace], logs, metricsText, [emulator.admin.clientSecret]);

    reportFigures("crash-storm", seed, {
      integrations,
      kills,
      processes: processes.length,
      killDelaysMs: killDelays.join(","),
      createsAtKill: createsAtKill.join(","),
      creates,
      regenerations,
      lost,
      orphans,
      duplicates,
      mismatched,
      leaks: leaks.length,
      logLines: logs.length,
      metricsBytes: metricsText.length,
      convergedMs,
    });

    expect(items).toHaveLength(integrations);
    expect({ lost, orphans, duplicates, mismatched }).toEqual({
      lost: 0,
      orphans: 0,
      duplicates: 0,
      mismatched: 0,
    });
    // One application per integration, plus the seeded admin; never a second create for one object.
    expect(apps).toHaveLength(integrations + 1);
    expect(creates, "never a second create").toBe(integrations);
    expect(logs.length).toBeGreaterThan(0);
    expect(metricsText).toContain("datatrails_api_requests_total");
    expect(leaks.map((l) => `${l.what} in ${l.where}`)).toEqual([]);
  }, 1_200_000);
});

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
import { ownerClaimName } from "../../src/api/v1alpha1/index.ts";
import { sha256Hex, startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import {
  createNamespaceWithConnection,
  deleteNamespace,
  integration,
  tokenStatus,
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
import { byScale, chaosSeed, reportFigures, seededRandom } from "./support.ts";

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

interface Listed<T> {
  items: T[];
}
interface IntegrationItem {
  metadata: { name: string; uid: string };
  status?: { applicationIdentity?: string };
}
interface SecretItem {
  metadata: { name: string };
  data?: Record<string, string>;
}

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
        (batches[k] ?? []).map((n) => integration(namespace, n)),
      );
      await sleep(delay);
      proc.kill("SIGKILL");
      createsAtKill.push(emulator.control.count("applications.create"));
      const exit = await proc.exitedWithin(30_000);
      expect(exit.signal, `kill ${k + 1} must end the process:\n${proc.tail()}`).toBe("SIGKILL");
      await applied;
    }

    await startOperator();
    await kubectlOk(
      ["apply", "-f", "-"],
      (batches[kills] ?? []).map((n) => integration(namespace, n)),
    );
    await waitForCondition(namespace, names, "Ready", byScale(240, 900));
    const convergedMs = Date.now() - started;

    // Count what the storm left.
    const list = JSON.parse(
      await kubectlOk(["get", "datatrailsintegrations", "-n", namespace, "-o", "json"]),
    ) as Listed<IntegrationItem>;
    const secrets = JSON.parse(
      await kubectlOk(["get", "secrets", "-n", namespace, "-o", "json"]),
    ) as Listed<SecretItem>;
    const secretByName = new Map(secrets.items.map((s) => [s.metadata.name, s]));
    const uids = new Set(list.items.map((i) => i.metadata.uid));
    const apps = emulator.control.applications();

    let lost = 0;
    let duplicates = 0;
    let mismatched = 0;
    for (const item of list.items) {
      const owned = apps.filter((a) => a.customClaims[ownerClaimName] === item.metadata.uid);
      const named = apps.filter((a) => a.displayName === item.metadata.name);
      if (owned.length > 1 || named.length > 1) duplicates++;
      const data = secretByName.get(`${item.metadata.name}-credentials`)?.data ?? {};
      const clientId = Buffer.from(data["client_id"] ?? "", "base64").toString();
      const clientSecret = Buffer.from(data["client_secret"] ?? "", "base64").toString();
      if ((await tokenStatus(emulator, clientId, clientSecret)) !== 200) lost++;
      const app = owned[0];
      if (
        app === undefined ||
        app.clientId !== clientId ||
        app.secretSha256 !== sha256Hex(clientSecret) ||
        item.status?.applicationIdentity !== app.identity
      )
        mismatched++;
    }
    const orphans = apps.filter((a) => {
      const owner = a.customClaims[ownerClaimName];
      return owner !== undefined && !uids.has(owner);
    }).length;
    const creates = emulator.control.count("applications.create");
    const regenerations = emulator.control.count("applications.regenerateSecret");

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(inject("kubeconfigPath"));
    const logs = processes.flatMap((p) => [...p.stdout, ...p.stderr]);
    const leaks = await findLeaks(kubeConfig, [namespace], logs, "", [emulator.admin.clientSecret]);

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
      convergedMs,
    });

    expect(list.items).toHaveLength(integrations);
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
    expect(leaks.map((l) => `${l.what} in ${l.where}`)).toEqual([]);
  }, 1_200_000);
});

/**
 * The crash tests' harness: each case gets a namespace and an emulator of its own (so the request
 * counters are the case's own), operator processes on that namespace, and `crashAt`, which runs an
 * operator that SIGKILLs itself right after a given step.
 */
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../src/emulator/index.ts";
import { installCrds } from "../support/kubectl.ts";
import {
  killOperatorProcesses,
  startOperatorProcess,
  type OperatorProcess,
} from "../support/operator-process.ts";
import { createNamespaceWithConnection, deleteNamespace, uniqueName } from "./support.ts";

/** One crash case: its namespace, its emulator and the Lease its operators share. */
export interface CrashCase {
  namespace: string;
  emulator: RunningEmulator;
  leaseName: string;
}

/** Registers the file's hooks (CRDs before, processes and cases cleaned after each test). */
export function crashHarness(emulatorOptions: EmulatorOptions = {}) {
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    await installCrds();
  });
  afterEach(async () => {
    await killOperatorProcesses();
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  afterAll(async () => {
    await killOperatorProcesses();
  });

  async function newCase(prefix: string): Promise<CrashCase> {
    const emulator = await startEmulator(emulatorOptions);
    const namespace = uniqueName(prefix);
    cleanups.push(async () => {
      await emulator.close();
      await deleteNamespace(namespace);
    });
    await createNamespaceWithConnection(namespace, emulator);
    return { namespace, emulator, leaseName: uniqueName("crash-lease") };
  }

  /** A started operator process on the case's namespace, crashing at `crashAt` if given. */
  async function operator(c: CrashCase, crashAt?: string): Promise<OperatorProcess> {
    const proc = startOperatorProcess({
      watchNamespaces: [c.namespace],
      leaseName: c.leaseName,
      leaseNamespace: c.namespace,
      ...(crashAt !== undefined ? { crashAt } : {}),
      // A short backoff cap keeps the retries after a failed step quick.
      flags: ["--max-backoff-ms=2000", "--log-level=debug"],
    });
    await proc.started;
    return proc;
  }

  /**
   * Starts an operator that crashes at `step`, does what makes it reach the step, checks that it
   * died by SIGKILL (only its crash point sends one), and returns once the process is gone. The
   * caller checks that what the crash left behind is what that step leaves.
   */
  async function crashAt(c: CrashCase, step: string, trigger: () => Promise<unknown>): Promise<void> {
    const crashing = await operator(c, step);
    await trigger();
    const exit = await crashing.exitedWithin(60_000);
    expect(exit.signal, `the operator must die by its crash point ${step}:\n${crashing.tail()}`).toBe(
      "SIGKILL",
    );
  }

  return { newCase, operator, crashAt };
}

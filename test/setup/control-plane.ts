/**
 * Global setup for the integration project: one real control plane for the whole run. Test files
 * read its kubeconfig path with `inject("kubeconfigPath")` and isolate themselves by namespace.
 */
import type { TestProject } from "vitest/node";
import { startControlPlane, type ControlPlane } from "../../src/envtest/control-plane.ts";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfigPath: string;
    controlPlaneBinDir: string;
  }
}

let plane: ControlPlane | undefined;

export async function setup(project: TestProject): Promise<void> {
  const started = Date.now();
  plane = await startControlPlane();
  console.log(
    `control plane ready at ${plane.server} in ${Date.now() - started} ms (binaries: ${plane.binDir})`,
  );
  project.provide("kubeconfigPath", plane.kubeconfigPath);
  project.provide("controlPlaneBinDir", plane.binDir);
}

export async function teardown(): Promise<void> {
  await plane?.stop();
}

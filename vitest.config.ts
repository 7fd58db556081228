// Two projects: fast unit tests beside the code, and integration tests under test/ that share one
// real control plane (etcd + kube-apiserver) started by the global setup.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["default", "./test/setup/summary-reporter.ts"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/setup/control-plane.ts"],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          // Files share one control plane; each works in namespaces of its own.
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
    ],
  },
});

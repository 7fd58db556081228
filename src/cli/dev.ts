/**
 * `dev`: the whole thing on one machine, on embedded defaults. It starts a real control plane
 * (etcd + kube-apiserver), the DataTrails emulator, installs the CRDs, runs the operator, applies
 * examples/traffic-light-101.yaml, waits until it is Ready and prints how to use the token. Ctrl-C
 * stops everything. The operator's log goes to .dev/operator.log.
 */
import { execFileSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { copyFile, mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { Command } from "commander";
import { stringify } from "yaml";
import { group, version } from "../api/v1alpha1/index.ts";
import { parseConfig } from "../config.ts";
import { sleep, systemClock } from "../k8s/clock.ts";
import { KubeCustomObjects } from "../k8s/custom-objects.ts";
import { createLogger } from "../observability/logger.ts";
import { createMetrics } from "../observability/metrics.ts";
import { startOperator } from "../operator.ts";

const root = resolve(import.meta.dirname, "..", "..");

interface DevOptions {
  dir: string;
  example: boolean;
  once: boolean;
}

/** Builds the `dev` subcommand. */
export function devCommand(): Command {
  return new Command("dev")
    .description(
      "run a local control plane, the DataTrails emulator and the operator, with the example applied",
    )
    .option("--dir <path>", "where to write the kubeconfig and the operator log", ".dev")
    .option("--no-example", "do not apply examples/traffic-light-101.yaml")
    .option("--once", "stop everything and exit once the example is Ready (for CI)", false)
    .action(async (options: DevOptions) => {
      // Loaded lazily: the control-plane helper is a development tool and not in the image.
      const { startControlPlane } = await import("../envtest/control-plane.ts");
      const { startEmulator } = await import("../emulator/index.ts");
      const dir = resolve(options.dir);
      await mkdir(dir, { recursive: true });
      const say = (line: string) => process.stdout.write(`${line}\n`);

      const plane = await startControlPlane();
      const kubeconfig = join(dir, "kubeconfig");
      await copyFile(plane.kubeconfigPath, kubeconfig);
      const kubectl = (args: string[], input?: unknown) =>
        execFileSync(join(plane.binDir, "kubectl"), ["--kubeconfig", kubeconfig, ...args], {
          encoding: "utf8",
          input:
            input === undefined
              ? undefined
              : (Array.isArray(input) ? input : [input])
                  .map((doc) => stringify(doc, { version: "1.1" }))
                  .join("---\n"),
          stdio: ["pipe", "pipe", "inherit"],
        });
      say(`control plane ready at ${plane.server}`);

      const emulator = await startEmulator({ seedAssets: true });
      say(`DataTrails emulator at ${emulator.url}`);

      kubectl(["apply", "--server-side", "-f", join(root, "crds")]);
      kubectl(["wait", "--for=condition=Established", "-f", join(root, "crds")]);
      kubectl(
        ["apply", "-f", "-"],
        [
          {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "datatrails-admin", namespace: "default" },
            stringData: { client_id: emulator.admin.clientId, client_secret: emulator.admin.clientSecret },
          },
          {
            apiVersion: `${group}/${version}`,
            kind: "DataTrailsConnection",
            metadata: { name: "datatrails", namespace: "default" },
            spec: { url: emulator.url, credentialsSecretRef: { name: "datatrails-admin" } },
          },
        ],
      );

      const log = createWriteStream(join(dir, "operator.log"), { flags: "a" });
      const config = parseConfig({
        argv: ["--health-port=0", "--metrics-port=0", "--bind-address=127.0.0.1"],
        env: {},
      });
      const operator = await startOperator({
        config,
        kubeConfig: plane.kubeConfig,
        logger: createLogger({ level: "debug", destination: log }),
        metrics: createMetrics(),
        onLostLeadership: () => process.exit(1),
      });
      say(
        `operator running (log: ${join(dir, "operator.log")}, metrics: http://127.0.0.1:${operator.metricsPort}/metrics)`,
      );

      const stopAll = async () => {
        await operator.stop();
        await emulator.close();
        await plane.stop();
        log.end();
      };

      if (options.example) {
        kubectl(["apply", "-n", "default", "-f", join(root, "examples", "traffic-light-101.yaml")]);
        const objects = new KubeCustomObjects(plane.kubeConfig);
        const ref = { group, version, plural: "datatrailsintegrations" };
        for (let i = 0; ; i++) {
          const obj = await objects.get<
            KubernetesObject & { status?: { conditions?: { type: string; status: string }[] } }
          >(ref, "default", "traffic-light-101");
          if (obj?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) break;
          if (i > 600) {
            await stopAll();
            throw new Error("traffic-light-101 did not become Ready in 60 s; see the operator log");
          }
          await sleep(systemClock, 100);
        }
        say(
          [
            "",
            "traffic-light-101 is Ready. Try:",
            `  export KUBECONFIG=${kubeconfig}`,
            `  alias kubectl=${join(plane.binDir, "kubectl")}`,
            "  kubectl get datatrailsintegrations,bearertokens",
            "  kubectl get secret traffic-light-101-token -o jsonpath='{.data.bearer-token\\.txt}' | base64 -d > bearer-token.txt",
            `  curl -H @bearer-token.txt ${emulator.url}/archivist/v2/assets`,
            `Emulator admin: client_id=${emulator.admin.clientId} (secret in the Secret default/datatrails-admin)`,
          ].join("\n"),
        );
      }

      if (options.once) {
        await stopAll();
        say("stopped (--once)");
        return;
      }
      say("Ctrl-C stops everything.");
      await new Promise<void>((done) => {
        process.once("SIGINT", done);
        process.once("SIGTERM", done);
      });
      say("stopping");
      await stopAll();
    });
}

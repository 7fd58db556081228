/**
 * `dev`: a local environment on embedded defaults, for trying the operator without a cluster. It
 * starts a real control plane (etcd + kube-apiserver), writes its kubeconfig to .dev/kubeconfig,
 * and keeps everything running until Ctrl-C, then stops it all.
 */
import { mkdir, copyFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Command } from "commander";

/** Builds the `dev` subcommand. */
export function devCommand(): Command {
  return new Command("dev")
    .description(
      "start a local control plane (and, as they land, the emulator and the operator) until Ctrl-C",
    )
    .option("--dir <path>", "where to write the kubeconfig", ".dev")
    .action(async (options: { dir: string }) => {
      // Loaded lazily: the control-plane helper is a development tool and not in the image.
      const { startControlPlane } = await import("../envtest/control-plane.ts");
      const plane = await startControlPlane();
      const dir = resolve(options.dir);
      await mkdir(dir, { recursive: true });
      const kubeconfig = resolve(dir, "kubeconfig");
      await copyFile(plane.kubeconfigPath, kubeconfig);
      process.stdout.write(
        [
          `control plane ready at ${plane.server}`,
          `  export KUBECONFIG=${kubeconfig}`,
          `  ${plane.binDir}/kubectl get namespaces`,
          "This environment does not run the operator yet: only the control plane is started.",
          "Ctrl-C stops everything.",
          "",
        ].join("\n"),
      );
      await new Promise<void>((done) => {
        process.once("SIGINT", done);
        process.once("SIGTERM", done);
      });
      process.stdout.write("stopping\n");
      await plane.stop();
    });
}

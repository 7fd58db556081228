/**
 * The real promtool (built once from the Prometheus Go module by hack/promtool/build.sh, or
 * PROMTOOL_BIN) for the chart's alert tests. A build that fails throws with the build's own output:
 * the tests that need promtool fail and say why, they are never skipped.
 */
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { RunResult } from "./helm.ts";

const repoRoot = join(import.meta.dirname, "..", "..");
let promtoolPath: Promise<string> | undefined;

/** The promtool binary's path; builds it on first use (minutes, once per machine) unless cached. */
export function promtoolBinary(): Promise<string> {
  promtoolPath ??= promisify(execFile)("bash", [join(repoRoot, "hack", "promtool", "build.sh")], {
    maxBuffer: 8 << 20,
    timeout: 1_500_000,
  }).then(
    ({ stdout }) => stdout.trim(),
    (err: { stderr?: string; message: string }) => {
      throw new Error(
        `promtool could not be built by hack/promtool/build.sh (needs go and the Go module proxy, or PROMTOOL_BIN):\n${err.stderr ?? err.message}`,
      );
    },
  );
  return promtoolPath;
}

/** Runs promtool with `args` in `cwd`. */
export async function promtool(args: string[], cwd: string): Promise<RunResult> {
  const bin = await promtoolBinary();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

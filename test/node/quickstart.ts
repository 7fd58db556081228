/**
 * What the node tests take from the README and the examples, so that the quickstart a user follows
 * is the one that is tested: the shell commands of the README's "Quickstart on a real cluster"
 * steps, and copies of examples/ in which only the address of DataTrails is replaced.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const repoRoot = join(import.meta.dirname, "..", "..");

/** The commands of one numbered quickstart step, continuation lines joined, comments dropped. */
export interface QuickstartStep {
  step: number;
  commands: string[];
}

/** The `sh` blocks of the README's quickstart steps `steps`, in order. Throws when a step has none. */
export async function quickstartSteps(steps: number[]): Promise<QuickstartStep[]> {
  const readme = await readFile(join(repoRoot, "README.md"), "utf8");
  const start = readme.indexOf("## Quickstart on a real cluster");
  if (start < 0) throw new Error("README.md has no quickstart section");
  const rest = readme.slice(start + 3);
  const section = rest.slice(0, rest.search(/^## /m) >= 0 ? rest.search(/^## /m) : undefined);
  const parts = section.split(/^\*\*(\d+)\. /m);
  const byStep = new Map<number, string>();
  for (let i = 1; i + 1 < parts.length; i += 2) byStep.set(Number(parts[i]), parts[i + 1] ?? "");
  return steps.map((step) => {
    const text = byStep.get(step);
    if (text === undefined) throw new Error(`README.md's quickstart has no step ${step}`);
    const commands = [...text.matchAll(/^```sh\n([\s\S]*?)^```/gm)]
      .flatMap((block) => (block[1] ?? "").replace(/\\\n\s*/g, "").split("\n"))
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
    if (commands.length === 0) throw new Error(`README.md's quickstart step ${step} has no sh block`);
    return { step, commands };
  });
}

/** The hosted service the examples name; the tests put the emulator's address in its place. */
export const hostedUrl = "https://app.datatrails.ai";

/**
 * Copies examples/ into `dir`/examples, with `hostedUrl` replaced by `url` in connection.yaml and
 * workload.yaml (the only change). Throws if either no longer names it, so a changed example is noticed.
 */
export async function examplesFor(dir: string, url: string): Promise<void> {
  const from = join(repoRoot, "examples");
  const to = join(dir, "examples");
  await mkdir(to, { recursive: true });
  for (const name of await readdir(from)) {
    if (!name.endsWith(".yaml")) continue;
    if (name !== "connection.yaml" && name !== "workload.yaml") {
      await copyFile(join(from, name), join(to, name));
      continue;
    }
    const text = await readFile(join(from, name), "utf8");
    if (!text.includes(hostedUrl)) throw new Error(`examples/${name} no longer names ${hostedUrl}`);
    await writeFile(join(to, name), text.replaceAll(hostedUrl, url));
  }
}

/** `command` with the admin credentials in place of the README's placeholders, quoted for sh. */
export function withCredentials(command: string, clientId: string, clientSecret: string): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return command.replaceAll("<CLIENT_ID>", quote(clientId)).replaceAll("<SECRET>", quote(clientSecret));
}

/**
 * Runs a README command with `sh -c` in `dir`, as a user would at a shell with `kubectl` on PATH
 * and KUBECONFIG set; resolves to its stdout. A failure names the README's line (placeholders, not
 * credentials) and what it printed to stderr.
 */
export function quickstartShell(o: {
  dir: string;
  kubeconfigPath: string;
  binDir: string;
  clientId: string;
  clientSecret: string;
}): (command: string) => Promise<string> {
  const env = {
    ...process.env,
    KUBECONFIG: o.kubeconfigPath,
    PATH: `${o.binDir}:${process.env["PATH"] ?? ""}`,
  };
  return async (command) => {
    try {
      const line = withCredentials(command, o.clientId, o.clientSecret);
      return (await run("sh", ["-c", line], { cwd: o.dir, env, timeout: 180_000 })).stdout;
    } catch (err) {
      // The error's message (and so a cause) holds the command with the credentials.
      // eslint-disable-next-line preserve-caught-error
      throw new Error(`\`${command}\` failed: ${(err as { stderr?: string }).stderr ?? ""}`);
    }
  };
}

/**
 * The container engine the image tests use: rootful podman, driven through its Docker-compatible API
 * socket (`podman system service`) so that testcontainers works as it does with Docker. The image
 * itself is built by hack/image/build.sh (the Dockerfile, on a locally made Node base), the same
 * script `make image` runs; a warm build takes seconds.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const repoRoot = join(import.meta.dirname, "..", "..");

/** The name `make image` and these tests give the image. */
export const imageName = process.env["IMAGE"] ?? "localhost/datatrails-operator:dev";

/**
 * The rlimits every container gets: rootful podman inside a container cannot raise the defaults
 * (runc: "error setting rlimit type 7").
 */
export const ulimits = {
  nofile: { soft: 1024, hard: 1024 },
  nproc: { soft: 1024, hard: 1024 },
};

/** Why podman cannot be used here, or undefined when it answers. */
export async function podmanUnavailable(): Promise<string | undefined> {
  try {
    await run("podman", ["info", "--format", "{{.Host.CgroupsVersion}}"], { timeout: 30_000 });
    return undefined;
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === "ENOENT") return "podman is not installed (Debian: apt-get install -y podman buildah)";
    return (e.stderr ?? e.message).split("\n")[0];
  }
}

/** Prints a line that no one reading the output can miss. */
export function warnSkipped(what: string, why: string): void {
  console.warn(`\n${"=".repeat(100)}\nSKIPPED: ${what} because ${why}\n${"=".repeat(100)}\n`);
}

/** Builds the image (cached layers make a warm build quick) and returns its name. */
export async function buildImage(): Promise<string> {
  const { stdout } = await run("bash", [join(repoRoot, "hack", "image", "build.sh")], {
    env: { ...process.env, IMAGE: imageName },
    timeout: 900_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.trim();
}

/** A podman API service on a socket of its own, for testcontainers (DOCKER_HOST). */
export interface PodmanService {
  /** unix:///…/podman.sock */
  dockerHost: string;
  stop(): Promise<void>;
}

/** Starts `podman system service` on a private socket and waits until the socket exists. */
export async function startPodmanService(): Promise<PodmanService> {
  const dir = mkdtempSync(join(tmpdir(), "podman-api-"));
  const socket = join(dir, "podman.sock");
  const child: ChildProcess = spawn("podman", ["system", "service", "--time=0", `unix://${socket}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  process.once("exit", () => child.kill("SIGKILL"));
  const deadline = Date.now() + 30_000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null) throw new Error(`podman system service exited: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`podman system service made no socket in 30 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    dockerHost: `unix://${socket}`,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

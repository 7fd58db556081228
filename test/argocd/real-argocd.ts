/**
 * A real Argo CD for the tests that sync our objects with it (real-sync.test.ts): the application
 * controller, the repo server and the API server from one binary built out of Argo CD's Go module
 * (hack/argocd/build.sh), Redis from the machine (`redis-server`), and a Git repository served by
 * `git daemon`. Everything listens on 127.0.0.1 on free ports, runs as child processes with the
 * test control plane's kubeconfig, and is stopped by `stop()`.
 *
 * argocd-cm is the ConfigMap of docs/argocd.md, applied from the doc's own bytes, plus the test's
 * timings; the in-cluster destination (https://kubernetes.default.svc) reaches the test control
 * plane through ARGOCD_FAKE_IN_CLUSTER, which makes Argo CD read KUBECONFIG instead of a pod's
 * service account.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../src/envtest/ports.ts";

const run = promisify(execFile);
const repoRoot = join(import.meta.dirname, "..", "..");

/** The namespace Argo CD runs in, as in its own install manifests. */
export const argocdNamespace = "argocd";

/** Why Argo CD cannot run here (go or redis-server missing, or the build failed), or undefined. */
export function argocdUnavailable(): string | undefined {
  if (process.env["ARGOCD_BIN"] === undefined && !onPath("go"))
    return "go is not installed, and Argo CD is built from its Go module (or set ARGOCD_BIN)";
  if (!onPath("redis-server"))
    return "redis-server is not installed (Debian: apt-get install -y redis-server; `make test` does it as root)";
  if (!onPath("git")) return "git is not installed";
  return undefined;
}

function onPath(command: string): boolean {
  return (process.env["PATH"] ?? "").split(":").some((dir) => dir !== "" && existsSync(join(dir, command)));
}

/** Builds Argo CD once (cached outside git) and returns the binary's path; crds/ lies beside it. */
export function argocdBinary(): string {
  return execFileSync("bash", [join(repoRoot, "hack", "argocd", "build.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 3_600_000,
  }).trim();
}

/** The `argocd-cm` ConfigMap of docs/argocd.md, exactly as the doc writes it. */
export function documentedConfigMap(): string {
  const doc = readFileSync(join(repoRoot, "docs", "argocd.md"), "utf8");
  const block = /```yaml\n(apiVersion: v1\nkind: ConfigMap\n[\s\S]*?)```/.exec(doc)?.[1];
  if (block === undefined) throw new Error("docs/argocd.md has no argocd-cm ConfigMap block");
  return block;
}

interface Child {
  name: string;
  child: ChildProcess;
  logPath: string;
  exited: Promise<void>;
}

function startChild(
  name: string,
  command: string,
  args: string[],
  dir: string,
  env: NodeJS.ProcessEnv,
): Child {
  const logPath = join(dir, `${name}.log`);
  const fd = openSync(logPath, "a");
  const child = spawn(command, args, { cwd: dir, env, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  // A crashed test worker must not leave Argo CD running.
  process.once("exit", () => child.kill("SIGKILL"));
  return { name, child, logPath, exited };
}

/** The last lines a process wrote, for an error message. */
function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

async function waitUntil(what: string, check: () => Promise<boolean>, children: Child[], ms = 120_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    for (const c of children)
      if (c.child.exitCode !== null)
        throw new Error(
          `${c.name} exited (${c.child.exitCode}) while waiting for ${what}:\n${tail(c.logPath)}`,
        );
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`${what} not ready in ${ms} ms:\n${children.map((c) => tail(c.logPath)).join("\n")}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function answers(url: string): Promise<boolean> {
  const response = await fetch(url);
  return response.ok;
}

/** A Git repository served read-only over git:// on loopback; the test commits to its work tree. */
export interface GitServer {
  /** git://127.0.0.1:<port>/<name> */
  url: string;
  /** The work tree the test writes and commits in (the served repository itself). */
  workTree: string;
  /** Stages everything in the work tree and commits it; returns the new commit. */
  commit(message: string): Promise<string>;
}

/** Everything Argo CD needs beside the control plane, running. */
export interface RunningArgoCd {
  git: GitServer;
  /** http://127.0.0.1:<port>: argocd-server's REST API, authentication disabled. */
  serverUrl: string;
  /** The directory holding every process's log (`<name>.log`). */
  dir: string;
  /** Stops every process started here and removes their files. Safe to call twice. */
  stop(): Promise<void>;
}

export interface ArgoCdOptions {
  binary: string;
  kubeconfigPath: string;
  /** Runs kubectl against the test control plane. */
  kubectl: (args: string[], input?: string | object | object[]) => Promise<string>;
  /** Extra argocd-cm data the test needs (timings); the doc's keys are applied from the doc. */
  extraConfig?: Record<string, string>;
}

/**
 * Starts Redis, `git daemon` on a fresh repository, and Argo CD's repo server, application
 * controller and API server, after installing Argo CD's CRDs and its ConfigMaps and Secret.
 */
export async function startArgoCd(options: ArgoCdOptions): Promise<RunningArgoCd> {
  const dir = mkdtempSync(join(tmpdir(), "argocd-test-"));
  const children: Child[] = [];
  const stop = async () => {
    for (const c of children.reverse()) {
      if (c.child.exitCode === null && c.child.signalCode === null) {
        c.child.kill("SIGTERM");
        const killer = setTimeout(() => c.child.kill("SIGKILL"), 5_000);
        await c.exited;
        clearTimeout(killer);
      }
    }
    children.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { kubectl } = options;
    const crdDir = join(dirname(options.binary), "crds");
    await kubectl(["create", "namespace", argocdNamespace]);
    // The Application CRD is too large for client-side apply's last-applied annotation.
    await kubectl(["apply", "--server-side", "-f", crdDir]);
    // kubectl wait fails, rather than waits, on a CRD whose status has no conditions yet.
    for (let attempt = 1; ; attempt++) {
      const established = await kubectl([
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "-f",
        crdDir,
      ]).then(
        () => true,
        (err: unknown) => {
          if (attempt >= 20) throw err;
          return false;
        },
      );
      if (established) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await kubectl(["apply", "-n", argocdNamespace, "-f", "-"], documentedConfigMap());
    if (options.extraConfig !== undefined)
      await kubectl([
        "patch",
        "configmap",
        "argocd-cm",
        "-n",
        argocdNamespace,
        "--type=merge",
        "-p",
        JSON.stringify({ data: options.extraConfig }),
      ]);
    const labels = { "app.kubernetes.io/part-of": "argocd" };
    await kubectl(
      ["apply", "-n", argocdNamespace, "-f", "-"],
      [
        { apiVersion: "v1", kind: "Secret", metadata: { name: "argocd-secret", labels } },
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "argocd-rbac-cm", labels } },
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "argocd-cmd-params-cm", labels } },
        {
          apiVersion: "argoproj.io/v1alpha1",
          kind: "AppProject",
          metadata: { name: "default" },
          spec: {
            sourceRepos: ["*"],
            destinations: [{ server: "*", namespace: "*" }],
            clusterResourceWhitelist: [{ group: "*", kind: "*" }],
          },
        },
      ],
    );

    // Redis: Argo CD's cache, in memory only.
    const redisPort = await freePort();
    const redis = startChild(
      "redis",
      "redis-server",
      ["--bind", "127.0.0.1", "--port", String(redisPort), "--save", "", "--appendonly", "no", "--dir", dir],
      dir,
      process.env,
    );
    children.push(redis);

    // The Git repository, served read-only by git daemon.
    const gitRoot = join(dir, "git");
    const workTree = join(gitRoot, "manifests");
    mkdirSync(workTree, { recursive: true });
    const git = (args: string[]) => run("git", args, { cwd: workTree });
    await git(["init", "-q", "-b", "main"]);
    await git(["config", "user.email", "test@example.invalid"]);
    await git(["config", "user.name", "real-sync test"]);
    const gitPort = await freePort();
    const daemon = startChild(
      "git-daemon",
      "git",
      [
        "daemon",
        "--reuseaddr",
        "--export-all",
        "--listen=127.0.0.1",
        `--port=${gitPort}`,
        `--base-path=${gitRoot}`,
        gitRoot,
      ],
      dir,
      process.env,
    );
    children.push(daemon);

    // Argo CD's components: plaintext gRPC and HTTP between them, all on loopback.
    const home = join(dir, "home");
    mkdirSync(join(home, "tmp"), { recursive: true });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env["PATH"],
      HOME: home,
      TMPDIR: join(home, "tmp"),
      KUBECONFIG: options.kubeconfigPath,
      ARGOCD_FAKE_IN_CLUSTER: "true",
      ARGOCD_GPG_ENABLED: "false",
      ARGOCD_SSH_DATA_PATH: join(home, "ssh"),
      ARGOCD_TLS_DATA_PATH: join(home, "tls"),
      ARGOCD_GNUPGHOME: join(home, "gnupg"),
    };
    const redisFlag = `--redis=127.0.0.1:${redisPort}`;
    const repoPort = await freePort();
    const repoMetrics = await freePort();
    const repoServer = startChild(
      "repo-server",
      options.binary,
      [
        "repo-server",
        "--address=127.0.0.1",
        `--port=${repoPort}`,
        "--metrics-address=127.0.0.1",
        `--metrics-port=${repoMetrics}`,
        "--disable-tls",
        redisFlag,
      ],
      dir,
      env,
    );
    children.push(repoServer);
    await waitUntil("the repo server", () => answers(`http://127.0.0.1:${repoMetrics}/metrics`), children);

    const common = [
      `--kubeconfig=${options.kubeconfigPath}`,
      `--namespace=${argocdNamespace}`,
      `--repo-server=127.0.0.1:${repoPort}`,
      "--repo-server-plaintext",
      redisFlag,
    ];
    const controllerMetrics = await freePort();
    const controller = startChild(
      "application-controller",
      options.binary,
      [
        "application-controller",
        ...common,
        `--metrics-port=${controllerMetrics}`,
        "--status-processors=2",
        "--operation-processors=2",
        "--app-resync=10",
        "--self-heal-timeout-seconds=1",
      ],
      dir,
      env,
    );
    children.push(controller);
    await waitUntil(
      "the application controller",
      () => answers(`http://127.0.0.1:${controllerMetrics}/metrics`),
      children,
    );

    const serverPort = await freePort();
    const serverMetrics = await freePort();
    const staticAssets = join(dir, "static");
    mkdirSync(staticAssets);
    const server = startChild(
      "server",
      options.binary,
      [
        "server",
        ...common,
        "--insecure",
        "--disable-auth",
        "--address=127.0.0.1",
        `--port=${serverPort}`,
        "--metrics-address=127.0.0.1",
        `--metrics-port=${serverMetrics}`,
        `--staticassets=${staticAssets}`,
      ],
      dir,
      env,
    );
    children.push(server);
    const serverUrl = `http://127.0.0.1:${serverPort}`;
    await waitUntil("argocd-server", () => answers(`${serverUrl}/healthz`), children);

    return {
      git: {
        url: `git://127.0.0.1:${gitPort}/manifests`,
        workTree,
        async commit(message) {
          await git(["add", "-A"]);
          await git(["commit", "-q", "--allow-empty", "-m", message]);
          return (await git(["rev-parse", "HEAD"])).stdout.trim();
        },
      },
      serverUrl,
      dir,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

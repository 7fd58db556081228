/**
 * The container image, as far as it can be checked without a Docker engine: the Dockerfile's stages
 * are replayed in temporary directories (each stage's WORKDIR is a directory of its own), every COPY
 * from the build context must find its files there after .dockerignore, every COPY --from must find
 * what the earlier stage built, and the RUN steps really run: the TypeScript build, and `npm ci
 * --omit=dev` for the production tree. Then `node dist/main.js` starts from the runtime stage's
 * directory, made read-only like the pod's root file system, with the image's environment and only
 * production dependencies resolvable.
 *
 * One substitution: the builder's full `npm ci` is replaced by a link to the repository's
 * node_modules (installed from the same lock file), which saves a minute; the production tree is
 * installed for real.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { filesUnder, parseDockerIgnore, parseDockerfile, type Stage } from "./dockerfile.ts";

const run = promisify(execFile);
const repoRoot = join(import.meta.dirname, "..", "..");
const stages = parseDockerfile(readFileSync(join(repoRoot, "Dockerfile"), "utf8"));
const ignore = parseDockerIgnore(readFileSync(join(repoRoot, ".dockerignore"), "utf8"));
const runtime = stages.at(-1) as Stage;
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The value of the last instruction `keyword` in a stage. */
const last = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword).at(-1);

/** ENV instructions of a stage as a map (`ENV A=b C=d` form). */
function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of stage.instructions.filter((x) => x.keyword === "ENV")) {
    for (const pair of i.args) {
      const [key = "", value = ""] = pair.split("=", 2);
      env[key] = value.replace(/^"(.*)"$/, "$1");
    }
  }
  return env;
}

let work: string;
const stageDirs = new Map<string, string>();
let appDir: string;

/** Minimal environment for the replayed steps and the started operator: no NODE_PATH, no DATATRAILS_*. */
function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: `${dirname(process.execPath)}:${process.env["PATH"] ?? ""}`,
    HOME: process.env["HOME"] ?? "/tmp",
    npm_config_prefer_offline: "true",
    npm_config_update_notifier: "false",
    npm_config_loglevel: "error",
    ...extra,
  };
}

/** Replays one stage's WORKDIR, COPY and RUN instructions in a directory of its own. */
async function replay(stage: Stage, index: number): Promise<string> {
  const dir = join(work, stage.name ?? `stage-${index}`);
  mkdirSync(dir, { recursive: true });
  let workdir = "/";
  const local = (p: string) => join(dir, posix.relative(workdir, posix.resolve(workdir, p)));
  for (const i of stage.instructions) {
    if (i.keyword === "WORKDIR") workdir = posix.resolve(workdir, i.args[0] ?? "/");
    else if (i.keyword === "COPY") {
      const sources = i.args.slice(0, -1);
      const dest = i.args.at(-1) ?? ".";
      const from = i.flags["from"];
      for (const source of sources) {
        if (from !== undefined) {
          const fromDir = stageDirs.get(from);
          if (!fromDir) throw new Error(`COPY --from=${from}: no such earlier stage`);
          // Earlier stages use WORKDIR /app too (checked below), so /app/x is <stage dir>/x.
          const path = join(fromDir, posix.relative("/app", source));
          if (!existsSync(path)) throw new Error(`COPY --from=${from} ${source}: ${from} has no ${source}`);
          cpSync(path, dest.endsWith("/") ? join(local(dest), posix.basename(source)) : local(dest), {
            recursive: true,
            dereference: true,
          });
        } else {
          const path = source.replace(/^\.\//, "").replace(/\/$/, "");
          if (!existsSync(join(repoRoot, path))) throw new Error(`COPY ${source}: not in the repository`);
          const files = filesUnder(repoRoot, path).filter((f) => !ignore.excludes(f));
          if (files.length === 0) throw new Error(`COPY ${source}: .dockerignore leaves nothing of it`);
          for (const file of files) {
            const target = dest.endsWith("/")
              ? join(local(dest), posix.basename(path), posix.relative(path, file))
              : join(local(dest), posix.relative(path, file));
            mkdirSync(dirname(target), { recursive: true });
            cpSync(join(repoRoot, file), target);
          }
        }
      }
    } else if (i.keyword === "RUN") {
      if (/^npm ci(?!.*--omit=dev)/.test(i.raw)) {
        symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"));
        continue;
      }
      await run("sh", ["-c", i.raw], { cwd: dir, env: baseEnv(envOf(stage)), timeout: 240_000 });
    }
  }
  return dir;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "image-test-"));
  for (const [index, stage] of stages.entries()) {
    const dir = await replay(stage, index);
    if (stage.name) stageDirs.set(stage.name, dir);
    appDir = dir;
  }
  // The pod's root file system is read-only.
  await run("chmod", ["-R", "a-w", appDir]);
}, 300_000);

afterAll(async () => {
  if (!work) return;
  await run("chmod", ["-R", "u+w", work]);
  rmSync(work, { recursive: true, force: true });
});

describe("the Dockerfile", () => {
  it("builds on Node 24 from a pinned official tag, the version scripts/ensure-node.sh pins", () => {
    const pinned = /pinned="([^"]+)"/.exec(
      readFileSync(join(repoRoot, "scripts", "ensure-node.sh"), "utf8"),
    )?.[1];
    expect(pinned).toMatch(/^24\.\d+\.\d+$/);
    for (const stage of stages) expect(stage.image).toBe(`node:${pinned}-bookworm-slim`);
  });

  it("uses WORKDIR /app in every stage (COPY --from paths rely on it)", () => {
    for (const stage of stages) expect(last(stage, "WORKDIR")?.args).toEqual(["/app"]);
  });

  it("runs node dist/main.js run as 65532, with NODE_ENV=production, exposing the chart's ports", () => {
    expect(last(runtime, "USER")?.args[0]).toMatch(/^65532(:65532)?$/);
    expect(envOf(runtime)["NODE_ENV"]).toBe("production");
    expect(last(runtime, "ENTRYPOINT")).toMatchObject({ json: true, args: ["node", "dist/main.js"] });
    expect(last(runtime, "CMD")).toMatchObject({ json: true, args: ["run"] });
    expect(last(runtime, "EXPOSE")?.args).toEqual(["8080", "8081"]);
  });

  it("leaves tests, node_modules, dist and .git out of the build context", () => {
    for (const path of [
      "node_modules/zod/package.json",
      "dist/main.js",
      ".git/HEAD",
      "test/chart/helm.ts",
      "src/config.test.ts",
      ".dev/kubeconfig",
    ])
      expect(ignore.excludes(path), path).toBe(true);
    for (const path of ["package.json", "package-lock.json", "src/main.ts", "tsconfig.build.json"])
      expect(ignore.excludes(path), path).toBe(false);
  });

  it("ends with dist/, production node_modules and package.json in the runtime stage", () => {
    expect(existsSync(join(appDir, "dist", "main.js"))).toBe(true);
    expect(existsSync(join(appDir, "package.json"))).toBe(true);
    for (const dep of Object.keys(pkg.dependencies))
      expect(existsSync(join(appDir, "node_modules", dep, "package.json")), dep).toBe(true);
    for (const dev of ["typescript", "vitest", "eslint", "testcontainers"])
      expect(existsSync(join(appDir, "node_modules", dev)), dev).toBe(false);
  });
});

describe("the runtime stage, started as the image starts it", () => {
  const env = () => baseEnv(envOf(runtime));
  const node = (args: string[]) =>
    run(process.execPath, args, { cwd: appDir, env: env(), timeout: 60_000 }).then(
      (r) => ({ code: 0, ...r }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({
        code: err.code ?? -1,
        stdout: err.stdout ?? "",
        stderr: err.stderr ?? "",
      }),
    );

  it("has no node_modules above it to borrow from", () => {
    for (let dir = dirname(appDir); dir !== dirname(dir); dir = dirname(dir))
      expect(existsSync(join(dir, "node_modules")), dir).toBe(false);
  });

  it("prints the commands with --help and exits 0", async () => {
    const result = await node(["dist/main.js", "--help"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/run\b.*operator/);
  });

  it("prints every operator flag with run --help and exits 0", async () => {
    const result = await node(["dist/main.js", "run", "--help"]);
    expect(result.code, result.stderr).toBe(0);
    for (const flag of ["--watch-namespaces", "--leader-election", "--metrics-port", "--health-port"])
      expect(result.stdout).toContain(flag);
  });

  it("parses its configuration (a bad flag exits 2 naming it) with production dependencies only", async () => {
    const result = await node(["dist/main.js", "run", "--metrics-port=eighty"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("metricsPort");
  });

  it("cannot resolve any devDependency", async () => {
    const script = `for (const m of ${JSON.stringify(Object.keys(pkg.devDependencies))}) {
      try { import.meta.resolve(m); console.log("resolved " + m); } catch {}
    }`;
    const result = await node(["--input-type=module", "-e", script]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe("");
  });
});

/**
 * The emulator as users' CI gets it, with no clone: `npm pack` of a copy of the repository's package
 * inputs (no dist/: the prepack script builds it), the tarball installed into an empty directory with
 * `npm install` from the npm registry, then `npx datatrails-operator emulator --seed-assets --port 0`
 * answering a token request and an assets list over real HTTP, and stopping on SIGTERM to its process
 * group. (npx runs the bin under `sh -c`, and SIGTERM to npx's own pid alone leaves the emulator
 * running: docs/emulator.md says to stop the group, or to start node_modules/.bin/datatrails-operator.)
 * Slow (a TypeScript build and an install): about a minute.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repoRoot = join(import.meta.dirname, "..", "..");
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "emulator-tarball-"));
const source = join(work, "source");
const packed = join(work, "packed");
const user = join(work, "user");
let env: NodeJS.ProcessEnv;
let tarball: string;
let entries: string[];
const children: ChildProcess[] = [];

beforeAll(async () => {
  // The project's Node (scripts/ensure-node.sh), first on PATH for npm and npx as for a user's CI.
  const nodeDir = (await run("bash", [join(repoRoot, "scripts", "ensure-node.sh")])).stdout.trim();
  env = {
    ...process.env,
    PATH: `${nodeDir}:${process.env["PATH"] ?? ""}`,
    npm_config_update_notifier: "false",
  };
  // What a clean checkout holds for the package: no dist/, so only prepack can make it.
  mkdirSync(source);
  for (const f of [
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "tsconfig.build.json",
    "README.md",
    "src",
  ])
    cpSync(join(repoRoot, f), join(source, f), { recursive: true });
  symlinkSync(join(repoRoot, "node_modules"), join(source, "node_modules"));
  mkdirSync(packed);
  await run("npm", ["pack", "--pack-destination", packed, "--loglevel=error"], {
    cwd: source,
    env,
    maxBuffer: 16 << 20,
    timeout: 600_000,
  });
  const [file] = readdirSync(packed).filter((f) => f.endsWith(".tgz"));
  if (file === undefined) throw new Error(`npm pack wrote no tarball into ${packed}`);
  tarball = join(packed, file);
  entries = (await run("tar", ["tzf", tarball], { maxBuffer: 16 << 20 })).stdout.trim().split("\n");
  mkdirSync(user);
  await run("npm", ["init", "-y"], { cwd: user, env });
  await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", tarball], {
    cwd: user,
    env,
    maxBuffer: 16 << 20,
    timeout: 600_000,
  });
}, 1_200_000);

afterAll(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

describe("npm pack", () => {
  it("builds dist/ in prepack and ships it with the bin, and no sources or tests", () => {
    expect(existsSync(join(source, "dist", "main.js"))).toBe(true);
    expect(entries).toContain("package/dist/main.js");
    expect(entries).toContain("package/dist/cli/emulator.js");
    expect(entries).toContain("package/package.json");
    expect(
      entries.filter((e) => e.startsWith("package/src/") || e.endsWith(".ts") || e.includes(".test.")),
    ).toEqual([]);
    expect(entries.filter((e) => e.endsWith(".map"))).toEqual([]);
  });
});

describe("the installed tarball", () => {
  it("runs `npx datatrails-operator emulator --seed-assets --port 0`: a token, an assets list, a clean stop", async () => {
    const child = spawn(
      "npx",
      ["datatrails-operator", "emulator", "--seed-assets", "--port", "0", "--json"],
      {
        cwd: user,
        env,
        stdio: ["ignore", "pipe", "pipe"],
        // A process group of its own, so that stopping it stops npx, its sh and the emulator.
        detached: true,
      },
    );
    children.push(child);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    await expect.poll(() => stdout.includes("\n") || child.exitCode !== null, { timeout: 60_000 }).toBe(true);
    expect(child.exitCode, stderr).toBeNull();
    const details = JSON.parse(stdout.split("\n")[0] ?? "") as Record<string, string>;
    expect(details["url"]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const tokenAnswer = await fetch(String(details["tokenUrl"]), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: String(details["clientId"]),
        client_secret: String(details["clientSecret"]),
      }),
    });
    expect(tokenAnswer.status).toBe(200);
    const token = (await tokenAnswer.json()) as {
      access_token: string;
      token_type: string;
      expires_in: number;
    };
    expect(token.token_type.toLowerCase()).toBe("bearer");
    expect(token.expires_in).toBe(3600);
    expect(token.access_token.split(".")).toHaveLength(3);

    const assets = await fetch(`${details["url"]}/archivist/v2/assets?page_size=10`, {
      headers: { authorization: `Bearer ${token.access_token}` },
    });
    expect(assets.status).toBe(200);
    expect(((await assets.json()) as { assets: unknown[] }).assets).toHaveLength(4);
    const refused = await fetch(`${details["url"]}/archivist/v2/assets`);
    expect(refused.status).toBe(401);

    const exited = once(child, "exit");
    process.kill(-(child.pid ?? 0), "SIGTERM");
    await exited;
    // Every process of the group gone: nothing listens any more (a fresh connection is refused).
    await expect
      .poll(
        () =>
          fetch(`${details["url"]}/archivist/v2/assets`, { headers: { connection: "close" } }).then(
            () => "answered",
            () => "refused",
          ),
        { timeout: 20_000 },
      )
      .toBe("refused");
  });
});

describe("examples/ci/emulator.sh", () => {
  it("installs the tarball, takes a token and lists the four seeded assets", async () => {
    const { stdout } = await run("bash", [join(repoRoot, "examples", "ci", "emulator.sh"), tarball], {
      env,
      maxBuffer: 16 << 20,
      timeout: 600_000,
    });
    expect(stdout.trim().split("\n").at(-1)).toBe("4 assets");
  });
});

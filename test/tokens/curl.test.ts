/**
 * The DataTrails docs' usage, end to end: a DataTrailsIntegration's token Secret holds
 * bearer-token.txt, which a workload writes to a 0600 file and passes to real curl as `-H @file`.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectlOk, waitForCondition } from "../support/kubectl.ts";
import { jwtExpMs, readTokenSecret } from "./support.ts";
import { integrationManifest } from "../support/manifests.ts";

const run = promisify(execFile);
const ns = "it-tokens-curl";
let env: TestEnv;
let dir: string;

beforeAll(async () => {
  env = await startTestEnv([ns]);
  dir = await mkdtemp(join(tmpdir(), "bearer-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await env?.stop();
});

/** Real curl, asynchronous so the in-process operator keeps running; returns status and body. */
async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run("curl", ["-s", "-w", "\n%{http_code}", ...args], { timeout: 30_000 });
  const at = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
}

describe("the token Secret, used as the DataTrails docs say", () => {
  it("gives a bearer-token.txt that real curl -H @file accepts, and a new integration sees no assets", async () => {
    await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, "docs-usage"));
    await waitForCondition(ns, "datatrailsintegration/docs-usage", "Ready");
    const secret = await readTokenSecret(env, ns, "docs-usage-token");
    const jwt = secret?.data["access_token"] ?? "";
    const file = secret?.data["bearer-token.txt"] ?? "";

    // Exactly `Authorization: Bearer <jwt>` and a newline, the JWT being the published access_token.
    // Booleans only: a failure message must not print the token.
    expect(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(jwt)).toBe(true);
    expect(file === `Authorization: Bearer ${jwt}\n`).toBe(true);
    expect(jwtExpMs(jwt)).toBeGreaterThan(Date.now());

    const path = join(dir, "bearer-token.txt");
    await writeFile(path, file, { mode: 0o600 });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readFile(path, "utf8")) === file).toBe(true);

    // An asset exists, so the empty answer is the integration's view (no access policy), not an empty tenant.
    env.emulator.control.addAsset({
      arc_display_name: "Traffic light 101",
      arc_display_type: "Traffic Light",
    });
    const answer = await curl(["-H", `@${path}`, `${env.emulator.url}/archivist/v2/assets`]);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ assets: [], next_page_token: "" });

    // The header is what let curl in: the same request without it is refused.
    const anonymous = await curl([`${env.emulator.url}/archivist/v2/assets`]);
    expect(anonymous.status).toBe(401);
  });
});

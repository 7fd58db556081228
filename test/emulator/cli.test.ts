/**
 * The `emulator` subcommand as a process: it prints its URL and the seeded admin credentials,
 * serves the API with them, stops cleanly on SIGTERM, and refuses bad flags with exit code 2.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const launcher = join(import.meta.dirname, "run-cli.ts");
const children: ChildProcessWithoutNullStreams[] = [];

function start(args: string[]) {
  const child = spawn(process.execPath, [launcher, ...args], { stdio: "pipe" });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, stdout: () => stdout, stderr: () => stderr };
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

describe("datatrails-operator emulator", () => {
  it("prints its URL and admin credentials as JSON, serves with them, and stops on SIGTERM", async () => {
    const run = start(["--json", "--token-ttl-seconds", "120", "--seed-assets"]);
    await expect.poll(() => run.stdout().includes("\n"), { timeout: 20_000 }).toBe(true);
    const details = JSON.parse(run.stdout().split("\n")[0] ?? "") as Record<string, string>;
    expect(details["url"]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(details["clientSecret"]).toMatch(/^[0-9a-f]{64}$/);
    const token = await fetch(String(details["tokenUrl"]), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: String(details["clientId"]),
        client_secret: String(details["clientSecret"]),
      }),
    });
    const body = (await token.json()) as { access_token: string; expires_in: number };
    expect(body.expires_in).toBe(120);
    const assets = await fetch(`${details["url"]}/archivist/v2/assets`, {
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    expect(((await assets.json()) as { assets: unknown[] }).assets).toHaveLength(4);
    const exited = once(run.child, "exit");
    run.child.kill("SIGTERM");
    expect((await exited)[0]).toBe(0);
  });

  it("prints the admin credentials as text by default", async () => {
    const run = start([]);
    await expect.poll(() => run.stdout().includes("Ctrl-C"), { timeout: 20_000 }).toBe(true);
    expect(run.stdout()).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(run.stdout()).toMatch(/admin client_id: +[0-9a-f-]{36}\n/);
    expect(run.stdout()).toMatch(/admin client_secret: +[0-9a-f]{64}\n/);
    const exited = once(run.child, "exit");
    run.child.kill("SIGINT");
    expect((await exited)[0]).toBe(0);
  });

  it.each([
    [["--port", "99999"], "--port must be at most 65535"],
    [["--rate-limit", "fast"], "--rate-limit must read <requests>/<seconds>"],
  ])("refuses %j with exit code 2", async (args, message) => {
    const run = start(args);
    const [code] = (await once(run.child, "exit")) as [number | null];
    expect(code).toBe(2);
    expect(run.stderr()).toContain(message);
  });
});

/**
 * `make dev` end to end, as a newcomer runs it: its own control plane, the emulator, the CRDs, the
 * operator and the example, until the example is Ready (--once stops there).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, "..", "..", "src", "main.ts"), ...args],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.on("close", (code) => resolve({ code, out }));
  });
}

describe("dev", () => {
  it("brings the example to Ready on embedded defaults and stops cleanly", async () => {
    const dir = await mkdtemp(join(tmpdir(), "datatrails-dev-"));
    dirs.push(dir);
    const { code, out } = await run(["dev", "--once", "--dir", dir]);
    expect(out).toContain("traffic-light-101 is Ready");
    expect(out).toMatch(/curl -H @bearer-token\.txt http:\/\/127\.0\.0\.1:\d+\/archivist\/v2\/assets/);
    expect(out).toContain("stopped (--once)");
    expect(code).toBe(0);
  }, 120_000);
});

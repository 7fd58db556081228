/**
 * The DataTrails docs' walkthrough (walkthrough.sh), run for real with bash, curl and jq against the
 * emulator: an admin token, creating TrafficLight101 with custom claims, a token for it written to a
 * 0600 bearer file, the assets smoke test, and the token's custom claims decoded from its payload.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";

const run = promisify(execFile);

const script = join(import.meta.dirname, "walkthrough.sh");

describe("the docs' curl + jq walkthrough", () => {
  let emulator: RunningEmulator;
  let work: string;

  beforeAll(async () => {
    emulator = await startEmulator();
    work = await mkdtemp(join(tmpdir(), "walkthrough-"));
  });
  afterAll(async () => {
    await emulator.close();
    await rm(work, { recursive: true, force: true });
  });

  it("creates TrafficLight101, gets its token into a 0600 file and sees no assets", async () => {
    const bearerFile = join(work, "bearer-token.txt");
    const { stdout } = await run("bash", [script], {
      env: {
        PATH: process.env["PATH"] ?? "/usr/bin:/bin",
        URL: emulator.url,
        ADMIN_CLIENT_ID: emulator.admin.clientId,
        ADMIN_SECRET: emulator.admin.clientSecret,
        ADMIN_TOKEN_FILE: join(work, "admin-token.txt"),
        BEARER_TOKEN_FILE: bearerFile,
        WORK: work,
      },
    });
    const clientId = stdout.trim();
    expect(emulator.control.applications().find((a) => a.clientId === clientId)).toMatchObject({
      displayName: "TrafficLight101",
      customClaims: { serial_number: "TL1000000101", has_cyclist_light: "true" },
    });
    expect((await stat(bearerFile)).mode & 0o777).toBe(0o600);
    expect(emulator.control.count("token")).toBe(2);
  });
});

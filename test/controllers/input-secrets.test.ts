/**
 * Inputs that change are seen at once: the operator caches only its own Secrets, yet a user's admin
 * Secret that is fixed takes effect within seconds, not at the next retry of a long backoff. The
 * operator runs here with a long backoff cap, so only the Secret watch can explain a quick recovery.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectl, kubectlOk } from "../support/kubectl.ts";
import { clientSecretManifest, connectionManifest, integrationManifest } from "../support/manifests.ts";

const ns = "it-inputs";
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv([ns], ["--max-backoff-ms=600000"]);
});
afterAll(async () => {
  await env?.stop();
});

async function readyReason(name: string): Promise<string> {
  const out = await kubectl([
    "get",
    "datatrailsintegration",
    name,
    "-n",
    ns,
    "-o",
    'jsonpath={.status.conditions[?(@.type=="Ready")].reason}',
  ]);
  return out.stdout;
}

describe("a user's admin Secret", () => {
  it("fixed after a long run of failures is used within 10 s", async () => {
    const adminSecret = (clientSecret: string) =>
      clientSecretManifest(ns, { clientId: env.emulator.admin.clientId, clientSecret }, "wrong-admin");
    await kubectlOk(
      ["apply", "-f", "-"],
      [
        adminSecret("0".repeat(64)),
        connectionManifest(ns, env.emulator.url, { credentialsSecretRef: { name: "wrong-admin" } }, "wrong"),
        integrationManifest(ns, "waits", { connectionRef: { name: "wrong" }, displayName: "inputs-waits" }),
      ],
    );
    await expect.poll(() => readyReason("waits"), { timeout: 30_000 }).toBe("AdminUnauthorized");
    // Let the per-key backoff grow (5 ms doubling): after 25 s of failures the next retry is
    // more than 10 s away.
    await new Promise((resolve) => setTimeout(resolve, 25_000));
    const fixedAt = Date.now();
    await kubectlOk(["apply", "-f", "-"], adminSecret(env.emulator.admin.clientSecret));
    await expect
      .poll(() => readyReason("waits"), { timeout: 10_000, interval: 200 })
      .not.toBe("AdminUnauthorized");
    expect(Date.now() - fixedAt).toBeLessThan(10_000);
    expect(env.emulator.control.applications().filter((a) => a.displayName === "inputs-waits")).toHaveLength(
      1,
    );
  });
});

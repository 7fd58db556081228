/**
 * A token Secret a user edits is repaired, though the operator's cache keeps no token Secret's
 * values (cache-shape.ts): what it needs to notice the edit is computed from the values as the
 * edited Secret enters the cache. An edited token or bearer file makes the values disagree with
 * each other and with the digest annotation, so a new token is asked for and published, well formed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectlOk, patchSecretValue, waitForCondition } from "../support/kubectl.ts";
import { integrationManifest } from "../support/manifests.ts";
import { readTokenSecret, waitForQuietController, type TokenSecret } from "./support.ts";

const ns = "it-tokens-edited";
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv([ns]);
});
afterAll(async () => {
  await env?.stop();
});

/** Whether the Secret's values agree as the operator writes them. */
function wellFormed(s: TokenSecret | undefined): boolean {
  const token = s?.data["access_token"];
  return (
    !!token &&
    s.data["bearer-token.txt"] === `Authorization: Bearer ${token}\n` &&
    s.data["expires_at"] === s.annotations["datatrails.ai/expires-at"]
  );
}

describe("a token Secret edited by a user", () => {
  it.each([
    ["the token", "access_token", "forged"],
    ["the bearer file", "bearer-token.txt", "Authorization: Bearer forged\n"],
  ])(
    "is repaired when %s is edited, with a new token",
    async (_what, key, value) => {
      const name = `edited-${key.replace(/[^a-z]/g, "")}`;
      await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, name));
      await waitForCondition(ns, `datatrailsintegration/${name}`, "Ready", 120);
      await waitForQuietController(env.operator.metricsPort, "bearertoken", 1);
      const before = await readTokenSecret(env, ns, `${name}-token`);
      expect(wellFormed(before)).toBe(true);
      const tokens = env.emulator.control.count("token");

      await patchSecretValue(ns, `${name}-token`, key, value);
      await expect
        .poll(async () => wellFormed(await readTokenSecret(env, ns, `${name}-token`)), { timeout: 60_000 })
        .toBe(true);
      await waitForQuietController(env.operator.metricsPort, "bearertoken", 1);
      const after = await readTokenSecret(env, ns, `${name}-token`);
      expect(wellFormed(after)).toBe(true);
      expect(after?.data["access_token"]).not.toBe("forged");
      expect(after?.data["access_token"]).not.toBe(before?.data["access_token"]);
      expect(env.emulator.control.count("token")).toBe(tokens + 1);
    },
    180_000,
  );
});

/**
 * BearerToken spec.verify through the operator: a token is published only when it verifies against
 * the issuer's discovery document and JWKS; one that fails is kept out, with the reason in status
 * and in an Event.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubectlOk, waitForCondition } from "../support/kubectl.ts";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import {
  type BearerTokenSpecInput,
  bearerTokenManifest,
  dataTrailsIssuer,
  integrationManifest,
} from "../support/manifests.ts";

const ns = "it-verify";
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv([ns]);
  await kubectlOk(
    ["apply", "-f", "-"],
    integrationManifest(ns, "source", { displayName: "verify-source", token: { enabled: false } }),
  );
  await waitForCondition(ns, "datatrailsintegration/source", "Ready");
});
afterAll(async () => {
  await env?.stop();
});

const bearerToken = (name: string, verify: Partial<NonNullable<BearerTokenSpecInput["verify"]>>) =>
  bearerTokenManifest(ns, name, {
    dataTrails: dataTrailsIssuer("source-credentials"),
    verify: { discoveryUrl: `${env.emulator.url}/appidpv1/.well-known/openid-configuration`, ...verify },
  });

const readyOf = (name: string) =>
  kubectlOk([
    "get",
    "bearertoken",
    name,
    "-n",
    ns,
    "-o",
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}',
  ]);

describe("BearerToken verification", () => {
  it("publishes a token that verifies (signature via discovery + JWKS, iss, aud)", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      bearerToken("good", { audiences: [`${env.emulator.url}/archivist`] }),
    );
    await expect.poll(() => readyOf("good"), { timeout: 30_000 }).toBe("True/TokenValid");
    const secret = await env.core.readNamespacedSecret({ name: "good-token", namespace: ns });
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(["access_token", "bearer-token.txt", "expires_at"]);
  });

  it("keeps a token with the wrong audience out of the Secret and says why", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      bearerToken("wrong-aud", { audiences: ["https://someone-else.example"] }),
    );
    await expect.poll(() => readyOf("wrong-aud"), { timeout: 30_000 }).toBe("False/VerificationFailed");
    const status = await kubectlOk([
      "get",
      "bearertoken",
      "wrong-aud",
      "-n",
      ns,
      "-o",
      "jsonpath={.status.lastFailure}",
    ]);
    expect(status).toMatch(/aud .* includes none of https:\/\/someone-else\.example/);
    await expect(
      env.core.readNamespacedSecret({ name: "wrong-aud-token", namespace: ns }),
    ).rejects.toMatchObject({ code: 404 });
    await expect
      .poll(
        async () => kubectlOk(["get", "events.events.k8s.io", "-n", ns, "-o", "jsonpath={.items[*].reason}"]),
        { timeout: 20_000 },
      )
      .toContain("TokenRefreshFailed");
  });

  it("refuses a token whose roles lack a required one", async () => {
    await kubectlOk(
      ["apply", "-f", "-"],
      bearerToken("no-role", { requiredRoles: ["archivist_administrator"] }),
    );
    await expect.poll(() => readyOf("no-role"), { timeout: 30_000 }).toBe("False/VerificationFailed");
  });
});

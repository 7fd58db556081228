/**
 * Invariant 3 when the issuer is down: the token endpoint fails for longer than a refresh window.
 * The old token stays published, TokenReady stays True (RefreshFailing) while it is valid and turns
 * False (TokenExpired) once it is not, a Warning Event says so, and the token comes back by itself
 * once the endpoint answers again.
 */
import type { EventsV1Event, V1Secret } from "@kubernetes/client-node";
import { EventsV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectlOk, waitForCondition } from "../support/kubectl.ts";
import {
  conditionOf,
  decodeTokenSecret,
  getBearerToken,
  jwtExpMs,
  readTokenSecret,
  recordVersions,
  type BearerTokenObject,
} from "./support.ts";
import { integrationManifest } from "../support/manifests.ts";

const ns = "it-tokens-outage";
const name = "outage";
/** Short enough that an outage outlives the token within seconds; retries are then seconds apart. */
const ttlSeconds = 15;
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv([ns]);
  env.emulator.control.setTokenTtlSeconds(ttlSeconds);
});
afterAll(async () => {
  await env?.stop();
});

async function tokenReady() {
  return conditionOf(await getBearerToken(env, ns, name), "TokenReady");
}

describe("an issuer outage longer than the refresh window", () => {
  it("keeps the old token, says RefreshFailing until it expires, then TokenExpired, and recovers", async () => {
    await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, name));
    await waitForCondition(ns, `datatrailsintegration/${name}`, "Ready");
    const old = await readTokenSecret(env, ns, `${name}-token`);
    const oldToken = old?.data["access_token"] ?? "";
    const oldExpiresAt = Date.parse(old?.annotations["datatrails.ai/expires-at"] ?? "");
    expect(oldToken.length).toBeGreaterThan(0);
    expect(oldExpiresAt).toBeGreaterThan(Date.now());

    const secrets = await recordVersions<V1Secret>(
      env.kubeConfig,
      `/api/v1/namespaces/${ns}/secrets`,
      `metadata.name=${name}-token`,
    );
    const statuses = await recordVersions<BearerTokenObject>(
      env.kubeConfig,
      `/apis/datatrails.ai/v1alpha1/namespaces/${ns}/bearertokens`,
      `metadata.name=${name}`,
    );
    // Every token request fails from now on (the operator's admin calls too: DataTrails is down).
    env.emulator.control.failNext({ route: "token", status: 503, count: 1000 });

    await expect
      .poll(tokenReady, { timeout: 2 * ttlSeconds * 1000 })
      .toMatchObject({ status: "False", reason: "TokenExpired" });
    // The GET above may see the status before the watch recording it delivers that version.
    await expect
      .poll(() => statuses.versions.some((v) => conditionOf(v.object, "TokenReady")?.status === "False"), {
        timeout: 10_000,
      })
      .toBe(true);
    const outageSeenEndMs = Date.now();
    // The fault is still armed: every token request until now failed, for longer than a lifetime.
    const armed = env.emulator.control.describe()["faults"] as { fail: { remaining: number }[] };
    expect(armed.fail[0]?.remaining).toBeGreaterThan(0);

    // The Secret kept the old token through the whole outage.
    expect((await readTokenSecret(env, ns, `${name}-token`))?.resourceVersion).toBe(old?.resourceVersion);
    expect(secrets.versions.length).toBeGreaterThan(0);
    for (const v of secrets.versions)
      expect(decodeTokenSecret(v.object).data["access_token"] === oldToken).toBe(true);

    // Status: True (TokenValid, then RefreshFailing) while the old token was valid, False only after.
    const seen = statuses.versions
      .filter((v) => v.atMs <= outageSeenEndMs)
      .map((v) => ({ atMs: v.atMs, ready: conditionOf(v.object, "TokenReady") }));
    const failing = seen.filter((s) => s.ready?.reason === "RefreshFailing");
    expect(failing.length).toBeGreaterThan(0);
    for (const s of failing) {
      expect(s.ready?.status).toBe("True");
      expect(s.atMs).toBeLessThan(oldExpiresAt + 2000);
    }
    const firstFalse = seen.findIndex((s) => s.ready?.status === "False");
    expect(seen[firstFalse]?.ready?.reason).toBe("TokenExpired");
    expect(seen[firstFalse]?.atMs).toBeGreaterThanOrEqual(oldExpiresAt);
    for (const s of seen.slice(0, firstFalse)) expect(s.ready?.status).toBe("True");
    const failuresAtExpiry = (await getBearerToken(env, ns, name)).status?.consecutiveFailures ?? 0;
    expect(failuresAtExpiry).toBeGreaterThan(1);

    // A Warning Event says why, about the BearerToken.
    const events = env.kubeConfig.makeApiClient(EventsV1Api);
    await expect
      .poll(async () =>
        (await events.listNamespacedEvent({ namespace: ns })).items.filter(
          (e: EventsV1Event) =>
            e.reason === "TokenRefreshFailed" &&
            e.type === "Warning" &&
            e.regarding?.kind === "BearerToken" &&
            e.regarding.name === name,
        ),
      )
      .not.toHaveLength(0);

    // DataTrails is back: a new token, TokenValid again, without any nudge.
    env.emulator.control.clearFaults();
    const clearedAtMs = Date.now();
    await expect
      .poll(tokenReady, { timeout: 90_000, interval: 500 })
      .toMatchObject({ status: "True", reason: "TokenValid" });
    const recoveredMs = Date.now() - clearedAtMs;
    const fresh = await readTokenSecret(env, ns, `${name}-token`);
    expect(fresh?.data["access_token"] === oldToken).toBe(false);
    expect(jwtExpMs(fresh?.data["access_token"] ?? "")).toBeGreaterThan(Date.now());
    const status = (await getBearerToken(env, ns, name)).status;
    expect(status?.consecutiveFailures).toBeUndefined();
    expect(status?.lastFailure).toBeUndefined();
    await waitForCondition(ns, `datatrailsintegration/${name}`, "Ready");
    secrets.stop();
    statuses.stop();
    console.log(
      `outage: ${ttlSeconds} s tokens; ${failing.length} RefreshFailing status writes before expiry, ` +
        `${failuresAtExpiry} failed attempts by TokenExpired; recovered ${recoveredMs} ms after the endpoint came back`,
    );
  });
});

/**
 * Invariant 3 with short tokens: a DataTrailsIntegration's child BearerToken keeps `<name>-token`
 * fresh cycle after cycle, each refresh lands between 67 % and 80 % of the replaced token's
 * lifetime, and no reader ever finds an expired token in the Secret.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jitterFraction } from "../../src/tokens/schedule.ts";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectlOk } from "../support/kubectl.ts";
import {
  conditionOf,
  decodeTokenSecret,
  getBearerToken,
  jwtExpMs,
  readTokenSecret,
  recordVersions,
  type BearerTokenObject,
  type TokenSecret,
} from "./support.ts";
import type { V1Secret } from "@kubernetes/client-node";
import { integrationManifest } from "../support/manifests.ts";

const ns = "it-tokens-refresh";
const name = "cycles";
const ttlSeconds = 45;
const refreshesWanted = 3;
/** Sampling period of the reader that checks the Secret like a workload would. */
const sampleEveryMs = 200;
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv([ns]);
  env.emulator.control.setTokenTtlSeconds(ttlSeconds);
});
afterAll(async () => {
  if (process.env["DUMP_LOGS"])
    (await import("node:fs")).writeFileSync("/tmp/refresh-logs.txt", env.logs.join("\n"));
  await env?.stop();
});

/** A Secret sample that was not fit to use: when, and what was wrong (never the token). */
interface BadSample {
  atMs: number;
  problem: string;
}

/** Reads the Secret every 200 ms until stopped, keeping every sample whose token had expired. */
function startSampler() {
  const bad: BadSample[] = [];
  let samples = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const secret = await readTokenSecret(env, ns, `${name}-token`);
      const atMs = Date.now();
      if (secret?.data["access_token"]) {
        samples += 1;
        const expiresAt = Date.parse(secret.data["expires_at"] ?? "");
        if (!(expiresAt > atMs))
          bad.push({ atMs, problem: `expires_at ${secret.data["expires_at"]} passed` });
        if (!(jwtExpMs(secret.data["access_token"]) > atMs)) bad.push({ atMs, problem: "JWT exp passed" });
      }
      await sleep(sampleEveryMs);
    }
  })();
  return {
    bad,
    samples: () => samples,
    async stop() {
      running = false;
      await done;
    },
  };
}

/** The distinct tokens the Secret held, in order, each with when the watch first saw it. */
function distinctTokens(versions: { atMs: number; object: V1Secret }[]) {
  const tokens: { seenAtMs: number; secret: TokenSecret }[] = [];
  for (const v of versions) {
    const secret = decodeTokenSecret(v.object);
    const token = secret.data["access_token"];
    if (!token || token === tokens.at(-1)?.secret.data["access_token"]) continue;
    tokens.push({ seenAtMs: v.atMs, secret });
  }
  return tokens;
}

describe("refreshing short-lived tokens", () => {
  it(
    `keeps ${name}-token fresh for ${refreshesWanted} refreshes, each at 67–80 % of the lifetime`,
    { timeout: 170_000 },
    async () => {
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
      const sampler = startSampler();
      await kubectlOk(["apply", "-f", "-"], integrationManifest(ns, name));

      await expect
        .poll(() => distinctTokens(secrets.versions).length, { timeout: 160_000, interval: 1000 })
        .toBeGreaterThanOrEqual(refreshesWanted + 1);
      await sampler.stop();
      secrets.stop();
      statuses.stop();
      const endMs = Date.now();

      // No reader ever saw an expired token (neither expires_at nor the JWT's own exp).
      expect(sampler.samples()).toBeGreaterThan(100);
      expect(sampler.bad).toEqual([]);

      const tokens = distinctTokens(secrets.versions);
      const uid = (await getBearerToken(env, ns, name)).metadata.uid;
      const expected = 0.67 + 0.13 * jitterFraction(uid);
      const fractions: string[] = [];
      for (const [i, { secret }] of tokens.entries()) {
        const issuedAt = Date.parse(secret.annotations["datatrails.ai/issued-at"] ?? "");
        const expiresAt = Date.parse(secret.annotations["datatrails.ai/expires-at"] ?? "");
        // The published expiry is what the Secret says everywhere, and never later than the JWT's exp.
        expect(secret.data["expires_at"]).toBe(secret.annotations["datatrails.ai/expires-at"]);
        expect(expiresAt).toBeLessThanOrEqual(jwtExpMs(secret.data["access_token"] ?? ""));
        expect(expiresAt - issuedAt).toBeGreaterThan((ttlSeconds - 2) * 1000);
        const next = tokens[i + 1];
        // The Secret held this token until the next one arrived (or until the end): always unexpired.
        expect(next?.seenAtMs ?? endMs).toBeLessThan(expiresAt);
        if (!next) continue;
        const lifetime = expiresAt - issuedAt;
        const nextIssuedAt = Date.parse(next.secret.annotations["datatrails.ai/issued-at"] ?? "");
        // Annotations have whole seconds, hence a second of slack; a second more for the queue's reaction.
        expect(nextIssuedAt).toBeGreaterThanOrEqual(issuedAt + 0.67 * lifetime - 1000);
        expect(nextIssuedAt).toBeLessThanOrEqual(issuedAt + 0.8 * lifetime + 2000);
        expect(nextIssuedAt).toBeLessThanOrEqual(expiresAt);
        fractions.push(((nextIssuedAt - issuedAt) / lifetime).toFixed(3));
      }
      console.log(
        `refresh: ${tokens.length - 1} refreshes of ${ttlSeconds} s tokens at fractions ${fractions.join(", ")} ` +
          `(this object's point: ${expected.toFixed(3)}; annotations have whole seconds, ±${(1 / ttlSeconds).toFixed(3)}); ${sampler.samples()} samples, none expired`,
      );

      // The status said Ready all along once the first token was out, and ends up naming the last token.
      const afterFirst = statuses.versions.filter((v) => v.object.status?.tokenIssuedAt !== undefined);
      expect(afterFirst.length).toBeGreaterThan(0);
      for (const v of afterFirst) {
        expect(conditionOf(v.object, "TokenReady")).toMatchObject({ status: "True", reason: "TokenValid" });
      }
      await expect
        .poll(async () => (await getBearerToken(env, ns, name)).status?.tokenExpiresAt)
        .toBe(tokens.at(-1)?.secret.annotations["datatrails.ai/expires-at"]);
    },
  );
});

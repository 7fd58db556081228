/**
 * What a routine token refresh costs the API server (issue #16): at most two writes (the token
 * Secret's apply and the BearerToken's status) and no GET, for an integration's child token (its
 * credentials are the operator's own Secret) and for a user's BearerToken reading a user's Secret.
 * The operator reaches the control plane through a counting proxy (test/support/counting-proxy.ts),
 * so only its own requests are counted, whatever else runs on the shared control plane.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startCountingProxy, type CountingProxy } from "../support/counting-proxy.ts";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectlOk } from "../support/kubectl.ts";
import {
  bearerTokenManifest,
  clientSecretManifest,
  dataTrailsIssuer,
  integrationManifest,
} from "../support/manifests.ts";
import type { BearerTokenObject } from "./support.ts";

const ns = "it-tokens-requests";
const ttlSeconds = 30;
/** Refreshes each token makes inside the counted window. */
const refreshesEach = 3;
const tokens = ["counted", "byhand"];
let env: TestEnv;
let proxy: CountingProxy;
const direct = new KubeConfig();

beforeAll(async () => {
  direct.loadFromFile(inject("kubeconfigPath"));
  proxy = await startCountingProxy(inject("kubeconfigPath"));
  env = await startTestEnv([ns], [], {}, proxy.kubeconfigPath);
  env.emulator.control.setTokenTtlSeconds(ttlSeconds);
});
afterAll(async () => {
  await env?.stop();
  await proxy?.close();
});

/** Each token's Secret issued-at and status tokenIssuedAt, read past the proxy (not counted). */
async function observe(): Promise<{ issuedAt: string[]; settled: boolean }> {
  const core = direct.makeApiClient(CoreV1Api);
  const custom = direct.makeApiClient(CustomObjectsApi);
  const issuedAt: string[] = [];
  let settled = true;
  for (const name of tokens) {
    const secret = await core
      .readNamespacedSecret({ name: `${name}-token`, namespace: ns })
      .catch(() => undefined);
    const token = (await custom
      .getNamespacedCustomObject({
        group: "datatrails.ai",
        version: "v1alpha1",
        namespace: ns,
        plural: "bearertokens",
        name,
      })
      .catch(() => undefined)) as BearerTokenObject | undefined;
    const annotation = secret?.metadata?.annotations?.["datatrails.ai/issued-at"] ?? "";
    issuedAt.push(annotation);
    // The refresh is over once the status names the published token.
    const status = Date.parse(token?.status?.tokenIssuedAt ?? "");
    if (!annotation || Math.floor(status / 1000) !== Math.floor(Date.parse(annotation) / 1000))
      settled = false;
  }
  return { issuedAt, settled };
}

/** The proxy's counts at a moment when no refresh is half done (the same state before and after). */
async function countsBetweenRefreshes() {
  for (;;) {
    const before = await observe();
    const counts = proxy.counts();
    const after = await observe();
    if (before.settled && after.settled && before.issuedAt.join() === after.issuedAt.join())
      return { counts, issuedAt: after.issuedAt };
    await sleep(100);
  }
}

/** Requests for cluster-scoped resources, by the proxy's `VERB resource[/subresource]` key. */
const clusterScoped = /^\S+ (namespaces|clusterdatatrailsconnections)(\/|$)/;

describe("a routine refresh's requests", () => {
  it(
    `costs at most 2 writes and no GET (${refreshesEach} refreshes of ${tokens.length} tokens counted)`,
    { timeout: 240_000 },
    async () => {
      await kubectlOk(
        ["apply", "-f", "-"],
        [
          integrationManifest(ns, "counted"),
          clientSecretManifest(ns, env.emulator.admin, "byhand-creds"),
          bearerTokenManifest(ns, "byhand", {
            dataTrails: dataTrailsIssuer("byhand-creds", env.emulator.url),
          }),
        ],
      );
      // Past the create path and each token's first refresh: what follows is routine.
      await expect
        .poll(async () => (await observe()).issuedAt.every((at) => at !== ""), {
          timeout: 120_000,
          interval: 500,
        })
        .toBe(true);
      const first = (await observe()).issuedAt;
      await expect
        .poll(async () => (await observe()).issuedAt.every((at, i) => at !== "" && at !== first[i]), {
          timeout: 120_000,
          interval: 500,
        })
        .toBe(true);
      const start = await countsBetweenRefreshes();
      const seen = tokens.map((_, i) => new Set([start.issuedAt[i]]));
      await expect
        .poll(
          async () => {
            const now = await observe();
            now.issuedAt.forEach((at, i) => at && seen[i]?.add(at));
            return seen.every((s) => s.size > refreshesEach);
          },
          { timeout: 150_000, interval: 500 },
        )
        .toBe(true);
      const end = await countsBetweenRefreshes();
      end.issuedAt.forEach((at, i) => seen[i]?.add(at));
      const refreshes = seen.reduce((n, s) => n + s.size - 1, 0);

      const delta: Record<string, number> = {};
      for (const [k, v] of Object.entries(end.counts)) {
        const d = v - (start.counts[k] ?? 0);
        // Cluster-scoped requests are not this file's: other files' ClusterDataTrailsConnections on
        // the shared control plane make the connection controller read namespace labels now and then.
        if (d > 0 && !k.startsWith("WATCH ") && !clusterScoped.test(k)) delta[k] = d;
      }
      console.log(`requests over ${refreshes} refreshes: ${JSON.stringify(delta)}`);
      const sum = (f: (k: string) => boolean) =>
        Object.entries(delta).reduce((n, [k, v]) => (f(k) ? n + v : n), 0);
      const writes = sum((k) => /^(CREATE|PATCH|UPDATE|DELETE) /.test(k));
      expect(sum((k) => k.startsWith("GET "))).toBe(0);
      expect(writes).toBeLessThanOrEqual(2 * refreshes);
      // Per refresh: the token Secret's apply and the BearerToken's status, nothing of the integration's.
      expect(delta["PATCH secrets"]).toBe(refreshes);
      expect(delta["PATCH bearertokens/status"] ?? 0).toBeLessThanOrEqual(refreshes);
      expect(delta["PATCH datatrailsintegrations/status"]).toBeUndefined();
    },
  );
});

/**
 * Invariant 3's jitter: 1,000 BearerTokens created at once do not come back to the issuer in the
 * same second. Nothing waits for the refreshes: each object's schedule is read from its status
 * (tokenIssuedAt, tokenExpiresAt, nextRefreshAt) and bucketed per second. A correctness check of
 * the jitter, not a benchmark.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectlOk } from "../support/kubectl.ts";
import {
  conditionOf,
  createApplication,
  listBearerTokens,
  perSecond,
  type BearerTokenObject,
} from "./support.ts";
import { bearerTokenManifest, clientSecretManifest, dataTrailsIssuer } from "../support/manifests.ts";

const ns = "it-tokens-spread";
const count = 1000;
const batch = 250;
const ttlSeconds = 300;
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv([ns]);
  env.emulator.control.setTokenTtlSeconds(ttlSeconds);
});
afterAll(async () => {
  await env?.stop();
});

function scheduled(t: BearerTokenObject): boolean {
  return (
    conditionOf(t, "TokenReady")?.status === "True" &&
    t.status?.nextRefreshAt !== undefined &&
    t.status.tokenIssuedAt !== undefined &&
    t.status.tokenExpiresAt !== undefined
  );
}

/**
 * The histogram as text, one line per second from the first bucket to the last (empty seconds
 * included): the second (relative to `origin`), the count and a bar.
 */
function drawHistogram(title: string, buckets: [number, number][], origin: number): string {
  const counts = new Map(buckets);
  const first = buckets[0]?.[0] ?? 0;
  const last = buckets.at(-1)?.[0] ?? -1;
  const lines: string[] = [title];
  for (let second = first; second <= last; second++) {
    const n = counts.get(second) ?? 0;
    lines.push(`  ${String(second - origin).padStart(4)} s ${String(n).padStart(4)} ${"#".repeat(n)}`);
  }
  return lines.join("\n");
}

describe("refresh jitter", () => {
  it(
    `spreads the refreshes of ${count} tokens issued at once over the 67–80 % band`,
    { timeout: 170_000 },
    async () => {
      const app = await createApplication(env.emulator, "spread-shared");
      await kubectlOk(["apply", "-f", "-"], clientSecretManifest(ns, app, "shared-credentials"));
      const names = Array.from({ length: count }, (_, i) => `spread-${String(i).padStart(4, "0")}`);
      for (let i = 0; i < count; i += batch) {
        await kubectlOk(
          ["create", "-f", "-"],
          names.slice(i, i + batch).map((n) =>
            bearerTokenManifest(ns, n, {
              dataTrails: dataTrailsIssuer("shared-credentials", env.emulator.url),
            }),
          ),
        );
      }
      await expect
        .poll(async () => (await listBearerTokens(env, ns)).filter(scheduled).length, {
          timeout: 150_000,
          interval: 1000,
        })
        .toBe(count);

      const tokens = await listBearerTokens(env, ns);
      const times = tokens.map((t) => ({
        issued: Date.parse(t.status?.tokenIssuedAt ?? ""),
        expires: Date.parse(t.status?.tokenExpiresAt ?? ""),
        refresh: Date.parse(t.status?.nextRefreshAt ?? ""),
      }));
      // Each refresh point lies in its token's 67–80 % band (status times have whole seconds).
      for (const { issued, expires, refresh } of times) {
        const lifetime = expires - issued;
        expect(lifetime).toBeGreaterThan((ttlSeconds - 2) * 1000);
        expect(refresh).toBeGreaterThanOrEqual(issued + 0.67 * lifetime - 1000);
        expect(refresh).toBeLessThanOrEqual(issued + 0.8 * lifetime + 1000);
      }

      const windowSeconds = 0.13 * ttlSeconds;
      const mean = count / windowSeconds;
      // What the issuer will see: refreshes per wall-clock second.
      const wall = perSecond(times.map((t) => t.refresh));
      // The jitter alone, as if every token had been issued in the same second: the position in the band.
      const band = perSecond(times.map((t) => t.refresh - t.issued - 0.67 * (t.expires - t.issued)));
      const issuedSpan = perSecond(times.map((t) => t.issued)).length;
      const max = (h: [number, number][]) => Math.max(...h.map(([, n]) => n));
      console.log(
        [
          `spread: ${count} tokens of ${ttlSeconds} s issued over ${issuedSpan} s; band ${windowSeconds} s, ` +
            `mean ${mean.toFixed(1)}/s, limit ${(2 * mean).toFixed(1)}/s; ` +
            `busiest second: ${max(wall)} (wall clock), ${max(band)} (position in band)`,
          drawHistogram("refreshes per wall-clock second (0 = the first refresh):", wall, wall[0]?.[0] ?? 0),
          drawHistogram("refreshes per second of the band (0 = 67 % of the lifetime):", band, 0),
        ].join("\n"),
      );
      expect(max(wall)).toBeLessThanOrEqual(2 * mean);
      expect(max(band)).toBeLessThanOrEqual(2 * mean);
      // The band is used whole: refreshes in its first and last few seconds as well as in the middle.
      expect(band.length).toBeGreaterThanOrEqual(windowSeconds - 1);
    },
  );
});

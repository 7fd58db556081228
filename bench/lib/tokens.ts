/**
 * What a consumer of the token Secrets sees, whoever writes them: a watch on the Secrets named
 * `<name>-token` in a namespace records every write, when each Secret first held a valid token, every
 * new token, and the current token's `exp` (decoded from the JWT in `access_token`). Tokens are
 * neither kept nor printed: a new token is told apart by a SHA-256 of the Secret's value.
 */
import { createHash } from "node:crypto";
import type { KubeConfig, V1Secret } from "@kubernetes/client-node";
import { watchCollection } from "./watch.ts";

/** The key both writers put the token under. */
const tokenKey = "access_token";

/** The `exp` (epoch seconds) of a base64-encoded JWT, or undefined if it is not one. */
function expOf(base64Token: string): number | undefined {
  const payload = Buffer.from(base64Token, "base64").toString("utf8").split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: unknown }).exp;
    return typeof exp === "number" ? exp : undefined;
  } catch {
    return undefined;
  }
}

/** A running watch on the token Secrets. */
export interface TokenSecretWatch {
  /** Per Secret name, when it first held a token that was not yet expired. */
  firstValidAt: Map<string, number>;
  /** Every token a Secret held that differs from its previous one. */
  newTokens: { atMs: number; name: string }[];
  /** Every write (ADDED or MODIFIED) of a token Secret. */
  writes: { atMs: number; name: string }[];
  /** How many token Secrets hold a token past its `exp` at `nowMs`, and which. */
  expired(nowMs: number): string[];
  /** Resolves when `n` Secrets have held a valid token (rejects after `timeoutMs`). */
  waitForValid(n: number, timeoutMs: number): Promise<void>;
  stop(): void;
}

/** Watches the Secrets of `namespace` whose names end in `-token`. */
export async function watchTokenSecrets(
  kubeConfig: KubeConfig,
  namespace: string,
): Promise<TokenSecretWatch> {
  const firstValidAt = new Map<string, number>();
  const newTokens: { atMs: number; name: string }[] = [];
  const writes: { atMs: number; name: string }[] = [];
  const current = new Map<string, { digest: string; expMs: number }>();
  const waiters: { n: number; done: () => void }[] = [];
  const watching = await watchCollection<V1Secret>(
    kubeConfig,
    `/api/v1/namespaces/${namespace}/secrets`,
    (e) => {
      const name = e.object.metadata?.name ?? "";
      if (!name.endsWith("-token")) return;
      if (e.phase === "DELETED") {
        current.delete(name);
        return;
      }
      writes.push({ atMs: e.atMs, name });
      const value = e.object.data?.[tokenKey];
      if (value === undefined) return;
      const digest = createHash("sha256").update(value).digest("hex");
      const exp = expOf(value);
      if (digest !== current.get(name)?.digest) newTokens.push({ atMs: e.atMs, name });
      current.set(name, { digest, expMs: exp === undefined ? 0 : exp * 1000 });
      if (exp !== undefined && exp * 1000 > e.atMs && !firstValidAt.has(name)) {
        firstValidAt.set(name, e.atMs);
        for (const w of waiters.filter((x) => firstValidAt.size >= x.n)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.done();
        }
      }
    },
  );
  return {
    firstValidAt,
    newTokens,
    writes,
    expired: (nowMs) => [...current].filter(([, c]) => c.expMs <= nowMs).map(([name]) => name),
    waitForValid(n, timeoutMs) {
      if (firstValidAt.size >= n) return Promise.resolve();
      return new Promise((done, fail) => {
        const timer = setTimeout(
          () =>
            fail(new Error(`only ${firstValidAt.size} of ${n} token Secrets valid after ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          n,
          done: () => {
            clearTimeout(timer);
            done();
          },
        });
      });
    },
    stop: () => watching.stop(),
  };
}

/**
 * A KubeConfig whose API clients and watches share one connection pool.
 *
 * @kubernetes/client-node 2.x builds a new undici Agent for every request it authenticates
 * (KubeConfig.applySecurityAuthentication), so every GET, PATCH and apply opens a fresh TLS
 * connection with a fresh SecureContext, and leaves it to idle out. Profiling the burst benchmark
 * showed TLS set-up as the largest share of the operator's CPU time (docs/benchmarks.md). This
 * subclass keeps the library's authentication (headers, tokens, exec plugins are still applied to
 * every request) and only swaps the per-request Agent for the first one built for the same cluster
 * and user, so connections are kept alive and reused.
 *
 * It also asks the API server for uncompressed bodies (`Accept-Encoding: identity`). fetch asks for
 * gzip by default, and the API server then compresses watch streams and large lists, which the
 * operator must inflate again. A CPU profile of the steady-state benchmark put that inflation at
 * 3-4 % of the operator's busy time (docs/benchmarks.md, "Where the refresh CPU goes"), and the
 * API server spends CPU compressing as well. The operator runs next to its API server, so the bytes
 * saved are not worth the CPU.
 *
 * Like the library's own agent cache for watches, the pooled Agent keeps the TLS material it was
 * built with: a client certificate rotated on disk is picked up by a new process, not a running one.
 */
import { KubeConfig, type RequestContext } from "@kubernetes/client-node";

/** The dispatcher type of the client library's own undici. */
type Dispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>;

/** A KubeConfig that pools connections per cluster and user; `close()` ends them. */
export class PooledKubeConfig extends KubeConfig {
  readonly #pool = new Map<string, Dispatcher>();
  #beforeWrite: ((method: string) => void) | undefined;

  /**
   * A pooled copy of `base` (its clusters, users, contexts and current context). `beforeWrite` is
   * called before every request that is not a GET and may throw to refuse it (shard-gate.ts).
   */
  static from(base: KubeConfig, beforeWrite?: (method: string) => void): PooledKubeConfig {
    const pooled = new PooledKubeConfig();
    pooled.#beforeWrite = beforeWrite;
    pooled.loadFromOptions({
      clusters: base.clusters,
      users: base.users,
      contexts: base.contexts,
      currentContext: base.currentContext,
    });
    return pooled;
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    const method = String(context.getHttpMethod());
    if (this.#beforeWrite && method !== "GET") this.#beforeWrite(method);
    await super.applySecurityAuthentication(context);
    context.setHeaderParam("Accept-Encoding", "identity");
    const built = context.getDispatcher();
    // No dispatcher: a plain-HTTP cluster without TLS options; fetch's global pool serves it.
    if (built === undefined) return;
    const key = JSON.stringify([this.getCurrentCluster()?.server, this.getCurrentUser()?.name]);
    const shared = this.#pool.get(key);
    if (shared) context.setDispatcher(shared);
    else this.#pool.set(key, built);
  }

  /** How many pools are open (one per cluster and user used). */
  pools(): number {
    return this.#pool.size;
  }

  /** Ends every pooled connection, watches included. */
  async close(): Promise<void> {
    const pools = [...this.#pool.values()];
    this.#pool.clear();
    await Promise.all(pools.map((d) => d.destroy()));
  }
}

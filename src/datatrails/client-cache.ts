/**
 * One DataTrails client per admin connection (URL, credentials, rate limit), so that each keeps its
 * token, its keep-alive connections and its client-side rate limit across reconciles. Keyed by a
 * digest, so no credential is kept as a map key.
 */
import { createHash } from "node:crypto";
import type { Dispatcher } from "undici";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { DataTrailsApi, ResolvedConnection } from "./api.ts";
import { HttpDataTrailsApi } from "./http-api.ts";

/** What the cache builds its clients with. */
export interface ClientCacheOptions {
  timeoutMs: number;
  dispatcher: Dispatcher;
  logger: Logger;
  metrics: Metrics;
}

/** The client for a connection, made once per distinct connection. */
export function dataTrailsClientCache(o: ClientCacheOptions): (c: ResolvedConnection) => DataTrailsApi {
  const clients = new Map<string, DataTrailsApi>();
  return (c) => {
    const key = createHash("sha256")
      .update(JSON.stringify([c.url, c.clientId, c.clientSecret, c.requestsPerSecond]))
      .digest("hex");
    let client = clients.get(key);
    if (!client) {
      client = new HttpDataTrailsApi({
        baseUrl: c.url,
        credentials: { clientId: c.clientId, clientSecret: c.clientSecret },
        rateLimit: {
          requestsPerSecond: c.requestsPerSecond,
          burst: Math.max(1, Math.ceil(c.requestsPerSecond * 2)),
        },
        timeouts: { headersMs: o.timeoutMs, bodyMs: o.timeoutMs },
        logger: o.logger,
        dispatcher: o.dispatcher,
        observer: ({ operation, outcome, durationMs }) => {
          o.metrics.apiRequestsTotal.inc({ endpoint: operation, code: outcome });
          o.metrics.apiRequestDurationSeconds.observe({ endpoint: operation }, durationMs / 1000);
        },
      });
      clients.set(key, client);
    }
    return client;
  };
}

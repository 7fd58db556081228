/**
 * The probe and metrics endpoints the kubelet and Prometheus call: `/healthz` (liveness), `/readyz`
 * (readiness: caches synced; 503 before that, so a rolling update waits for a pod that can work) and
 * `/metrics`. Plain node:http: three routes do not need a framework, and this server must keep
 * answering while everything else is busy.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/** Options for {@link startHealthServer}. */
export interface HealthServerOptions {
  /** Port to listen on; 0 picks a free one (tests). */
  port: number;
  /** Address to bind; default all interfaces. */
  host?: string;
  /** Served at /metrics when given. */
  metrics?: { registry: Registry };
  /** Readiness: true once every informer cache has synced. */
  isReady: () => boolean;
  /** Liveness: false only when the process should be restarted. */
  isAlive: () => boolean;
}

/** A running health server. */
export interface HealthServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  /** Stops listening and closes idle connections. */
  close(): Promise<void>;
}

function answer(
  res: ServerResponse,
  status: number,
  body: string,
  contentType = "text/plain; charset=utf-8",
) {
  res.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
  res.end(body);
}

async function route(req: IncomingMessage, res: ServerResponse, options: HealthServerOptions): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") return answer(res, 405, "method not allowed\n");
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  switch (path) {
    case "/healthz":
    case "/livez":
      return options.isAlive() ? answer(res, 200, "ok\n") : answer(res, 503, "not alive\n");
    case "/readyz":
      return options.isReady() ? answer(res, 200, "ok\n") : answer(res, 503, "caches not synced\n");
    case "/metrics":
      if (!options.metrics) return answer(res, 404, "not found\n");
      return answer(res, 200, await options.metrics.registry.metrics(), options.metrics.registry.contentType);
    default:
      return answer(res, 404, "not found\n");
  }
}

/** Starts serving /healthz, /readyz and /metrics; resolves once listening. */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server = createServer((req, res) => {
    route(req, res, options).catch(() => {
      if (!res.headersSent) answer(res, 500, "internal error\n");
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

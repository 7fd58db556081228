/**
 * Helpers for the src/k8s integration tests: a client for the shared control plane, a namespace per
 * test file, a logger whose lines the test can read, and a TCP proxy that a test can cut to make the
 * API server unreachable for one client without stopping it for everyone.
 */
import { randomBytes } from "node:crypto";
import { createServer, connect, type Server, type Socket } from "node:net";
import { Writable } from "node:stream";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";
import { createLogger, type Logger } from "../../src/observability/logger.ts";

/** A client configuration for the shared test control plane. */
export function sharedKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(inject("kubeconfigPath"));
  return kc;
}

/** A DNS-label-safe unique name with a prefix. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

/** Creates a namespace and returns a function that deletes it. */
export async function createNamespace(kc: KubeConfig, name: string): Promise<() => Promise<void>> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name } } });
  return async () => {
    await core.deleteNamespace({ name });
  };
}

/** A logger that keeps its JSON lines for the test to inspect. */
export function capturingLogger(level: "warn" | "info" | "debug" = "debug"): {
  logger: Logger;
  lines: () => Record<string, unknown>[];
} {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level, destination });
  return {
    logger,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** The same user and cluster as `kc`, reached through a different server URL. */
export function kubeConfigVia(kc: KubeConfig, server: string): KubeConfig {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("no current cluster");
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: kc.getClusters().map((c) => (c.name === cluster.name ? { ...c, server } : c)),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
  return copy;
}

/** A TCP pass-through in front of the API server that a test can cut and restore. */
export interface TcpProxy {
  /** https://127.0.0.1:<port> */
  url: string;
  /** Drops every connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a proxy to the server of `kc` (TLS passes through, so certificates still verify). */
export async function startTcpProxy(kc: KubeConfig): Promise<TcpProxy> {
  const target = new URL(kc.getCurrentCluster()?.server ?? "");
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    const s = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => resolve());
    });
    const address = s.address();
    if (address && typeof address === "object") port = address.port;
    server = s;
  };
  const cut = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    url: `https://127.0.0.1:${port}`,
    cut,
    restore: listen,
    close: cut,
  };
}

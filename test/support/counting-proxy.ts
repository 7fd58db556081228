/**
 * A counting proxy in front of the test control plane: plain HTTP on a loopback port, forwarded to
 * the API server with the admin client certificate, each request counted as `VERB resource[/sub]`
 * with the verbs apiserver_request_total uses (GET, LIST, WATCH, CREATE, PATCH, UPDATE, DELETE;
 * a server-side apply, which the API server counts as APPLY, is a PATCH here).
 * Requests from kubectl are forwarded but not counted: what is counted is the operator's own
 * traffic, whatever else shares the control plane (test files run in parallel on it).
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { request } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";

/** A running proxy. */
export interface CountingProxy {
  /** A kubeconfig that reaches the control plane through the proxy. */
  kubeconfigPath: string;
  /** A copy of the counts so far. */
  counts(): Record<string, number>;
  /** Every counted request but watches, in the order answered, with when (epoch ms) it was answered. */
  answered(): readonly { kind: string; atMs: number }[];
  close(): Promise<void>;
}

/** `VERB resource[/subresource]` of a request, as apiserver_request_total names them. */
export function requestKind(method: string, url: string): string {
  const u = new URL(url, "http://proxy");
  const parts = u.pathname.split("/").filter(Boolean);
  // /api/v1/... or /apis/<group>/<version>/...
  const rest = parts[0] === "api" ? parts.slice(2) : parts[0] === "apis" ? parts.slice(3) : [];
  const scoped = rest[0] === "namespaces" && rest.length >= 3 ? rest.slice(2) : rest;
  const [resource = "", name, sub] = scoped;
  const verb =
    method === "GET"
      ? u.searchParams.get("watch") === "true" || u.searchParams.get("watch") === "1"
        ? "WATCH"
        : name === undefined
          ? "LIST"
          : "GET"
      : method === "POST"
        ? "CREATE"
        : method === "PUT"
          ? "UPDATE"
          : method;
  return `${verb} ${resource}${sub ? `/${sub}` : ""}`;
}

/** Starts a proxy to the control plane `kubeconfigPath` names. */
export async function startCountingProxy(kubeconfigPath: string): Promise<CountingProxy> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster || !user?.certData || !user.keyData || !cluster.caData)
    throw new Error("the counting proxy needs a kubeconfig with a CA and a client certificate");
  const target = new URL(cluster.server);
  const tls = {
    ca: Buffer.from(cluster.caData, "base64"),
    cert: Buffer.from(user.certData, "base64"),
    key: Buffer.from(user.keyData, "base64"),
  };
  const counts: Record<string, number> = {};
  const log: { kind: string; atMs: number }[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    if (!String(req.headers["user-agent"] ?? "").startsWith("kubectl")) {
      // Counted once answered, so that a count read after a change was seen includes its request.
      const kind = requestKind(req.method ?? "GET", req.url ?? "/");
      const count = () => void (counts[kind] = (counts[kind] ?? 0) + 1);
      if (kind.startsWith("WATCH ")) count();
      else
        res.on("finish", () => {
          count();
          log.push({ kind, atMs: Date.now() });
        });
    }
    const upstream = request(
      {
        ...tls,
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const dir = await mkdtemp(join(tmpdir(), "counting-proxy-"));
  const path = join(dir, "kubeconfig");
  await writeFile(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      // Plain HTTP on loopback: client-node allows it only with TLS verification off (there is no TLS).
      clusters: [
        { name: "proxy", cluster: { server: `http://127.0.0.1:${port}`, "insecure-skip-tls-verify": true } },
      ],
      users: [{ name: "proxy", user: {} }],
      contexts: [{ name: "proxy", context: { cluster: "proxy", user: "proxy" } }],
      "current-context": "proxy",
    }),
    { mode: 0o600 },
  );
  return {
    kubeconfigPath: path,
    counts: () => ({ ...counts }),
    answered: () => [...log],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

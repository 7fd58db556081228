import { afterEach, describe, expect, it } from "vitest";
import { startHealthServer, type HealthServer } from "./health.ts";
import { createMetrics } from "./metrics.ts";

describe("health server", () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const get = async (path: string, method = "GET") => {
    const res = await fetch(`http://127.0.0.1:${server?.port}${path}`, { method });
    return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
  };

  it.each([
    { name: "alive and ready", alive: true, ready: true, healthz: 200, readyz: 200 },
    { name: "caches not synced yet", alive: true, ready: false, healthz: 200, readyz: 503 },
    { name: "not alive", alive: false, ready: true, healthz: 503, readyz: 200 },
  ])("answers the probes when $name", async ({ alive, ready, healthz, readyz }) => {
    server = await startHealthServer({
      port: 0,
      host: "127.0.0.1",
      isAlive: () => alive,
      isReady: () => ready,
    });
    expect((await get("/healthz")).status).toBe(healthz);
    expect((await get("/readyz")).status).toBe(readyz);
  });

  it("follows readiness as it changes", async () => {
    let synced = false;
    server = await startHealthServer({
      port: 0,
      host: "127.0.0.1",
      isAlive: () => true,
      isReady: () => synced,
    });
    expect((await get("/readyz")).status).toBe(503);
    synced = true;
    expect((await get("/readyz")).status).toBe(200);
  });

  it("serves the registry at /metrics in the Prometheus text format", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.leaderElectionIsLeader.labels({ name: "datatrails-operator" }).set(1);
    server = await startHealthServer({
      port: 0,
      host: "127.0.0.1",
      metrics,
      isAlive: () => true,
      isReady: () => true,
    });
    const res = await get("/metrics");
    expect(res.status).toBe(200);
    expect(res.type).toContain("text/plain");
    expect(res.body).toContain('leader_election_is_leader{name="datatrails-operator"} 1');
  });

  it.each([
    { name: "an unknown path", path: "/nope", method: "GET", status: 404 },
    { name: "/metrics without a registry", path: "/metrics", method: "GET", status: 404 },
    { name: "a POST", path: "/healthz", method: "POST", status: 405 },
  ])("refuses $name", async ({ path, method, status }) => {
    server = await startHealthServer({
      port: 0,
      host: "127.0.0.1",
      isAlive: () => true,
      isReady: () => true,
    });
    expect((await get(path, method)).status).toBe(status);
  });
});

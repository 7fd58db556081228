import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createMetrics } from "./metrics.ts";

const operatorMetricNames = async () =>
  (await createMetrics({ defaultMetrics: false }).registry.getMetricsAsJSON()).map((m) => ({
    name: m.name,
    type: String(m.type),
  }));

describe("createMetrics", () => {
  it.each([
    { name: "datatrails_token_expiry_timestamp_seconds", type: "gauge" },
    { name: "datatrails_token_refresh_total", type: "counter" },
    { name: "datatrails_reconcile_duration_seconds", type: "histogram" },
    { name: "datatrails_api_requests_total", type: "counter" },
    { name: "datatrails_api_request_duration_seconds", type: "histogram" },
    { name: "workqueue_depth", type: "gauge" },
    { name: "workqueue_adds_total", type: "counter" },
    { name: "workqueue_retries_total", type: "counter" },
    { name: "workqueue_work_duration_seconds", type: "histogram" },
    { name: "informer_restarts_total", type: "counter" },
    { name: "leader_election_is_leader", type: "gauge" },
  ])("registers $name as a $type", async ({ name, type }) => {
    expect(await operatorMetricNames()).toContainEqual({ name, type });
  });

  it("adds Node's default metrics unless told not to", async () => {
    const withDefaults = await createMetrics().registry.metrics();
    expect(withDefaults).toContain("process_cpu_user_seconds_total");
    expect(await createMetrics({ defaultMetrics: false }).registry.metrics()).not.toContain("process_cpu");
  });

  it("keeps registries apart, so two instances do not clash", async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.informerRestartsTotal.labels({ informer: "secrets" }).inc();
    expect(await a.registry.metrics()).toContain('informer_restarts_total{informer="secrets"} 1');
    expect(await b.registry.metrics()).not.toContain('informer="secrets"');
  });

  it("renders the text exposition format with the documented labels", async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.apiRequestsTotal.labels({ endpoint: "POST /applications", code: "201" }).inc();
    m.tokenExpiryTimestampSeconds.labels({ namespace: "a", name: "t" }).set(1_700_000_000);
    const text = await m.registry.metrics();
    expect(text).toContain('datatrails_api_requests_total{endpoint="POST /applications",code="201"} 1');
    expect(text).toContain('datatrails_token_expiry_timestamp_seconds{namespace="a",name="t"} 1700000000');
  });
});

describe("docs/metrics.md", () => {
  const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "metrics.md"), "utf8");
  const rows = [...doc.matchAll(/^\|\s*`(\w+)`\s*\|\s*(\w+)\s*\|/gm)].map((m) => ({
    name: m[1],
    type: m[2],
  }));

  it("documents every operator metric with its type, and nothing else", async () => {
    const actual = await operatorMetricNames();
    expect([...rows].sort((x, y) => String(x.name).localeCompare(String(y.name)))).toEqual(
      [...actual].sort((x, y) => x.name.localeCompare(y.name)),
    );
  });
});

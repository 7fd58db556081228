/**
 * The two helpers the alert and dashboard tests rely on: the series names read from the operator's
 * real /metrics, and the metric names read from a PromQL expression.
 */
import { describe, expect, it } from "vitest";
import { exportedSeriesNames, metricNamesIn } from "./exported-metrics.ts";

describe("exportedSeriesNames", () => {
  it("reads counters, gauges and histogram series from the operator's /metrics, and Node's", async () => {
    const names = await exportedSeriesNames();
    for (const n of [
      "datatrails_token_refresh_total",
      "datatrails_token_expiry_timestamp_seconds",
      "datatrails_reconcile_duration_seconds_bucket",
      "datatrails_reconcile_duration_seconds_count",
      "leader_election_is_leader",
      "process_cpu_user_seconds_total",
    ])
      expect(names, n).toContain(n);
    expect(names).not.toContain("datatrails_reconcile_duration_seconds");
  });
});

describe("metricNamesIn", () => {
  it.each([
    {
      expr: "datatrails_token_expiry_timestamp_seconds - time() < 600",
      names: ["datatrails_token_expiry_timestamp_seconds"],
    },
    {
      expr: 'sum by (namespace, issuer) (increase(datatrails_token_refresh_total{result!="success"}[15m])) > 3',
      names: ["datatrails_token_refresh_total"],
    },
    {
      expr: 'histogram_quantile(0.99, sum by (le, endpoint) (rate(x_bucket{code=~"4..|5.."}[$__rate_interval])))',
      names: ["x_bucket"],
    },
    { expr: "max(a) == 0 or absent(b)", names: ["a", "b"] },
    { expr: "a / on(pod) group_left(node) b offset 5m > 1e9", names: ["a", "b"] },
    { expr: 'sum(c{namespace=~"$namespace"}) by (name)', names: ["c"] },
  ])("finds $names in $expr", ({ expr, names }) => {
    expect(metricNamesIn(expr).sort()).toEqual(names);
  });
});

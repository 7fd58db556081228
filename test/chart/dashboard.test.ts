/**
 * The chart's Grafana dashboard (grafanaDashboard.enabled): a ConfigMap carrying the sidecar's label
 * with files/grafana-dashboard.json, whose panels cover tokens, refreshes, DataTrails calls, work
 * queues and reconciles and the leader, and whose every PromQL expression names only metrics the
 * operator exports on /metrics.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { exportedSeriesNames, metricNamesIn } from "./exported-metrics.ts";
import { chartDir, helmOk, objectsOf, only, render, valueArgs } from "./helm.ts";

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: { refId: string; expr: string }[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
}

const dashboardFile = join(chartDir, "files", "grafana-dashboard.json");
let dashboard: Dashboard;
const expressions = () =>
  dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

beforeAll(async () => {
  const configMap = only(await render("dtg", "grafana", { "grafanaDashboard.enabled": true }), "ConfigMap");
  const data = configMap["data"] as Record<string, string>;
  expect(Object.keys(data)).toEqual(["datatrails-operator.json"]);
  dashboard = JSON.parse(data["datatrails-operator.json"] ?? "") as Dashboard;
});

describe("the dashboard ConfigMap", () => {
  it("passes helm lint --strict", async () => {
    const out = await helmOk([
      "lint",
      "--strict",
      chartDir,
      ...valueArgs({ "grafanaDashboard.enabled": true }),
    ]);
    expect(out).toContain("1 chart(s) linted, 0 chart(s) failed");
  });

  it("renders with examples/helm/monitoring-values.yaml: the dashboard, the rules, the monitor and the CRDs", async () => {
    const example = join(chartDir, "..", "..", "examples", "helm", "monitoring-values.yaml");
    const out = await helmOk(["lint", "--strict", chartDir, "-f", example]);
    expect(out).toContain("1 chart(s) linted, 0 chart(s) failed");
    const rendered = await helmOk(["template", "dtg", chartDir, "--namespace", "grafana", "-f", example]);
    const objects = objectsOf(rendered);
    for (const kind of ["ConfigMap", "PrometheusRule", "ServiceMonitor"])
      expect(
        objects.filter((o) => o.kind === kind),
        kind,
      ).toHaveLength(1);
    expect(objects.filter((o) => o.kind === "CustomResourceDefinition")).toHaveLength(4);
  });

  it("is not rendered unless grafanaDashboard.enabled", async () => {
    expect((await render("dtg", "grafana")).filter((o) => o.kind === "ConfigMap")).toEqual([]);
  });

  it("carries the sidecar label grafana_dashboard=1 by default", async () => {
    const configMap = only(await render("dtg", "grafana", { "grafanaDashboard.enabled": true }), "ConfigMap");
    expect(configMap.metadata).toMatchObject({
      name: "dtg-datatrails-operator-dashboard",
      namespace: "grafana",
      labels: { grafana_dashboard: "1", "app.kubernetes.io/instance": "dtg" },
    });
  });

  it("takes another sidecar label, annotations and namespace from values", async () => {
    const configMap = only(
      await render("dtg", "grafana", {
        "grafanaDashboard.enabled": true,
        "grafanaDashboard.sidecarLabel": "dashboards.example.com/load",
        "grafanaDashboard.sidecarLabelValue": "yes",
        "grafanaDashboard.labels": { team: "platform" },
        "grafanaDashboard.annotations": { grafana_folder: "Operators" },
        "grafanaDashboard.namespace": "observability",
      }),
      "ConfigMap",
    );
    expect(configMap.metadata.namespace).toBe("observability");
    expect(configMap.metadata.labels).toMatchObject({
      "dashboards.example.com/load": "yes",
      team: "platform",
    });
    expect(configMap.metadata.labels).not.toHaveProperty("grafana_dashboard");
    expect((configMap.metadata as { annotations?: object }).annotations).toEqual({
      grafana_folder: "Operators",
    });
  });

  it("holds the chart's dashboard file unchanged", () => {
    expect(dashboard).toEqual(JSON.parse(readFileSync(dashboardFile, "utf8")));
    expect(dashboard.uid).toBe("datatrails-operator");
  });
});

describe("the dashboard's panels", () => {
  it("have unique ids, and every non-row panel at least one query", () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels.filter((p) => p.type !== "row"))
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
  });

  it.each([
    { topic: "token expiry", metric: "datatrails_token_expiry_timestamp_seconds" },
    { topic: "token refreshes and failures", metric: "datatrails_token_refresh_total" },
    { topic: "DataTrails API calls and errors", metric: "datatrails_api_requests_total" },
    { topic: "DataTrails API latency", metric: "datatrails_api_request_duration_seconds_bucket" },
    { topic: "work queue depth", metric: "workqueue_depth" },
    { topic: "reconcile latency", metric: "datatrails_reconcile_duration_seconds_bucket" },
    { topic: "the leader", metric: "leader_election_is_leader" },
  ])("show $topic ($metric)", ({ metric }) => {
    expect(expressions().filter((e) => metricNamesIn(e.expr).includes(metric)).length).toBeGreaterThan(0);
  });

  it("query only metrics the operator exports on /metrics, in panels and template variables", async () => {
    const exported = await exportedSeriesNames();
    for (const { panel, expr } of expressions()) {
      const names = metricNamesIn(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      expect(
        names.filter((n) => !exported.has(n)),
        `${panel}: ${expr}`,
      ).toEqual([]);
    }
    const variableQueries = dashboard.templating.list
      .filter((v) => v.type === "query")
      .map((v) => (typeof v.query === "string" ? v.query : (v.query?.query ?? "")));
    expect(variableQueries.length).toBeGreaterThan(0);
    for (const q of variableQueries) {
      const metric = /^label_values\(\s*([^,\s]+)\s*,/.exec(q)?.[1] ?? "";
      expect(exported, q).toContain(metric);
    }
  });
});

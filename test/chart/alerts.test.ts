/**
 * The chart's PrometheusRule (prometheusRule.enabled): rendered by the real helm, its rules are those
 * of docs/operations.md, the real promtool accepts them (`check rules`) and its unit tests
 * (alerts.promtool-tests.yaml: each alert fires on a series that should fire it and not on one that
 * should not) pass (`test rules`), and every metric the rules name is one the operator exports.
 * promtool is built once by hack/promtool/build.sh; when it cannot be built these tests fail and
 * say why.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { exportedSeriesNames, metricNamesIn } from "./exported-metrics.ts";
import { only, render } from "./helm.ts";
import { promtool, promtoolBinary } from "./promtool.ts";

const repoRoot = join(import.meta.dirname, "..", "..");
const unitTests = join(import.meta.dirname, "alerts.promtool-tests.yaml");

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

async function renderedGroups(values: Record<string, unknown> = {}): Promise<RuleGroup[]> {
  const rule = only(
    await render("dta", "monitoring", { "prometheusRule.enabled": true, ...values }),
    "PrometheusRule",
  );
  return (rule["spec"] as { groups: RuleGroup[] }).groups;
}

/** The PrometheusRule shown in docs/operations.md's Alerts section. */
function documentedGroups(): RuleGroup[] {
  const doc = readFileSync(join(repoRoot, "docs", "operations.md"), "utf8");
  const block = /^## Alerts\n[\s\S]*?```yaml\n([\s\S]*?)```/m.exec(doc)?.[1];
  if (block === undefined) throw new Error("docs/operations.md has no yaml block under ## Alerts");
  return (parse(block) as { spec: { groups: RuleGroup[] } }).spec.groups;
}

/** A directory holding `groups` as rules.yaml and the unit tests beside it, as promtool reads them. */
function ruleDir(groups: RuleGroup[]): string {
  const dir = mkdtempSync(join(tmpdir(), "chart-alerts-"));
  writeFileSync(join(dir, "rules.yaml"), stringify({ groups }));
  copyFileSync(unitTests, join(dir, "tests.yaml"));
  return dir;
}

let groups: RuleGroup[];
const alerts = () => groups.flatMap((g) => g.rules);

beforeAll(async () => {
  // Built first, alone: the first build takes minutes, and its failure is the message every test shows.
  await promtoolBinary();
  groups = await renderedGroups();
}, 1_500_000);

describe("the PrometheusRule template", () => {
  it("renders no PrometheusRule unless prometheusRule.enabled", async () => {
    expect((await render("dta", "monitoring")).filter((o) => o.kind === "PrometheusRule")).toEqual([]);
  });

  it("carries prometheusRule.labels for the Prometheus's ruleSelector", async () => {
    const rule = only(
      await render("dta", "monitoring", {
        "prometheusRule.enabled": true,
        "prometheusRule.labels": { release: "kube-prometheus-stack" },
      }),
      "PrometheusRule",
    );
    expect(rule.metadata).toMatchObject({
      name: "dta-datatrails-operator",
      namespace: "monitoring",
      labels: { release: "kube-prometheus-stack", "app.kubernetes.io/instance": "dta" },
    });
  });

  it("holds exactly the alerts of docs/operations.md: names, expressions, for, labels, annotations", () => {
    expect(alerts().map((a) => a.alert)).toEqual([
      "DataTrailsTokenExpiringSoon",
      "DataTrailsTokenExpired",
      "DataTrailsClientSecretExpiring",
      "DataTrailsTokenRefreshFailing",
      "DataTrailsApiRejectingOperator",
      "DataTrailsOperatorNoLeader",
      "DataTrailsShardUnheld",
      "DataTrailsCorrectionsStopped",
      "DataTrailsOperatorInformerRestarts",
    ]);
    expect(groups).toEqual(documentedGroups());
  });

  it("names only metrics the operator exports on /metrics", async () => {
    const exported = await exportedSeriesNames();
    for (const a of alerts()) {
      const names = metricNamesIn(a.expr);
      expect(names.length, a.alert).toBeGreaterThan(0);
      expect(
        names.filter((n) => !exported.has(n)),
        `${a.alert}: ${a.expr}`,
      ).toEqual([]);
    }
  });
});

describe("promtool", () => {
  it("check rules accepts the rendered rules", async () => {
    const dir = ruleDir(groups);
    const result = await promtool(["check", "rules", "rules.yaml"], dir);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`SUCCESS: ${alerts().length} rules found`);
  });

  it("test rules: each alert fires on the series that should fire it and on no other", async () => {
    const dir = ruleDir(groups);
    const result = await promtool(["test", "rules", "tests.yaml"], dir);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("SUCCESS");
  });

  it("the unit tests expect each alert to fire at least once and to stay quiet at least once", () => {
    const tests = parse(readFileSync(unitTests, "utf8")) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const { alert } of alerts()) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert} fires in some test`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert} is quiet in some test`,
      ).toBe(true);
    }
  });

  it("test rules fails, naming the alert, when a rule's expression never fires", async () => {
    const broken = groups.map((g) => ({
      ...g,
      rules: g.rules.map((r) => (r.alert === "DataTrailsTokenExpired" ? { ...r, expr: "vector(1) > 2" } : r)),
    }));
    const result = await promtool(["test", "rules", "tests.yaml"], ruleDir(broken));
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toContain("DataTrailsTokenExpired");
  });
});

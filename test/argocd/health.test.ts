/**
 * The Argo CD health check (deploy/argocd/health.lua) in a real Lua 5.1 interpreter, on fixture
 * objects of every kind. Each fixture is also checked against the kind's zod schemas, so the
 * fixtures stay objects the operator could really have written.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { ZodType } from "zod";
import { bearerTokenSpec, bearerTokenStatus } from "../../src/api/v1alpha1/bearer-token.ts";
import {
  clusterConnectionSpec,
  connectionSpec,
  connectionStatus,
} from "../../src/api/v1alpha1/connection.ts";
import { integrationSpec, integrationStatus } from "../../src/api/v1alpha1/integration.ts";
import { healthScript, luaString, runHealthCheck, toLua } from "./lua.ts";

const fixtureDir = join(import.meta.dirname, "fixtures");
const load = (file: string) => parse(readFileSync(join(fixtureDir, file), "utf8")) as Record<string, unknown>;

// fixture → what Argo CD must show. `message` is the whole expected message.
const cases: { fixture: string; status: string; message: string }[] = [
  {
    fixture: "integration-ready.yaml",
    status: "Healthy",
    message: "Application, credentials and token are ready",
  },
  {
    fixture: "integration-stale-condition.yaml",
    status: "Progressing",
    message: "Waiting for the operator to observe generation 4",
  },
  {
    fixture: "integration-stale-status.yaml",
    status: "Progressing",
    message: "Waiting for the operator to observe generation 4",
  },
  {
    fixture: "integration-degraded.yaml",
    status: "Degraded",
    message: 'DataTrails rejected the admin credentials of connection "datatrails" (401)',
  },
  { fixture: "integration-reconciling.yaml", status: "Progressing", message: "Creating the application" },
  {
    fixture: "integration-no-status.yaml",
    status: "Progressing",
    message: "Waiting for the operator to report status",
  },
  { fixture: "integration-no-ready.yaml", status: "Progressing", message: "Waiting for the Ready condition" },
  {
    fixture: "integration-ready-unknown.yaml",
    status: "Progressing",
    message: "Waiting for the first token",
  },
  {
    fixture: "integration-deletion-blocked.yaml",
    status: "Degraded",
    message: 'Deletion waits: DataTrails is unreachable (connect ECONNREFUSED) — retrying "soon"',
  },
  {
    fixture: "integration-suspended.yaml",
    status: "Suspended",
    message:
      "Suspended (spec.suspend): nothing is written to DataTrails or to the Secrets; the published " +
      "credentials and token stay as they are.",
  },
  {
    fixture: "integration-resuming.yaml",
    status: "Progressing",
    message: "Waiting for the operator to observe generation 5",
  },
  {
    fixture: "bearertoken-suspended.yaml",
    status: "Suspended",
    message:
      "Suspended (spec.suspend): no token is requested and the token Secret is not written; the " +
      "published token expires at 2026-01-01T13:00:00Z.",
  },
  { fixture: "bearertoken-ready.yaml", status: "Healthy", message: "Token valid until 2026-01-01T13:00:00Z" },
  {
    fixture: "bearertoken-expired.yaml",
    status: "Degraded",
    message: "The token expired at 2026-01-01T13:00:00Z; the token endpoint answered 503",
  },
  {
    fixture: "bearertoken-stale.yaml",
    status: "Progressing",
    message: "Waiting for the operator to observe generation 2",
  },
  { fixture: "bearertoken-reconciling.yaml", status: "Progressing", message: "Requesting the first token" },
  {
    fixture: "bearertoken-no-status.yaml",
    status: "Progressing",
    message: "Waiting for the operator to report status",
  },
  {
    fixture: "connection-ready.yaml",
    status: "Healthy",
    message:
      "Connected to https://app.datatrails.ai as an OWNER (client ID d1fb6c87-faa9-4d56-b2fd-a5b70a9af065).",
  },
  {
    fixture: "connection-not-owner.yaml",
    status: "Degraded",
    message:
      "https://app.datatrails.ai issued a token for the admin credentials (client ID " +
      "d1fb6c87-faa9-4d56-b2fd-a5b70a9af065) but refused it an OWNER-only call (HTTP 403): the " +
      "integration is not an administrator; use one with the OWNER role.",
  },
  {
    fixture: "connection-stale.yaml",
    status: "Progressing",
    message: "Waiting for the operator to observe generation 2",
  },
  {
    fixture: "clusterconnection-ready.yaml",
    status: "Healthy",
    message:
      "Connected to https://app.datatrails.ai as an OWNER (client ID d1fb6c87-faa9-4d56-b2fd-a5b70a9af065).",
  },
  {
    fixture: "clusterconnection-rejected.yaml",
    status: "Degraded",
    message:
      "The token endpoint of https://app.datatrails.ai refused the admin credentials (client ID " +
      "d1fb6c87-faa9-4d56-b2fd-a5b70a9af065): unknown client or wrong secret (HTTP 401).",
  },
  {
    fixture: "clusterconnection-no-status.yaml",
    status: "Progressing",
    message: "Waiting for the operator to report status",
  },
];

/** Every kind the script is installed for, with the schemas its fixtures must satisfy. */
const schemas: Record<string, [ZodType, ZodType]> = {
  DataTrailsIntegration: [integrationSpec, integrationStatus],
  BearerToken: [bearerTokenSpec, bearerTokenStatus],
  DataTrailsConnection: [connectionSpec, connectionStatus],
  ClusterDataTrailsConnection: [clusterConnectionSpec, connectionStatus],
};

describe("Argo CD health check (deploy/argocd/health.lua, Lua 5.1)", () => {
  it.each(cases)("$fixture → $status", async ({ fixture, status, message }) => {
    expect(await runHealthCheck(load(fixture))).toEqual({ status, message });
  });

  it("has a case for every fixture, and fixtures of every kind", () => {
    const files = readdirSync(fixtureDir).filter((f) => f.endsWith(".yaml"));
    expect(cases.map((c) => c.fixture).sort()).toEqual(files.sort());
    const kinds = new Set(files.map((f) => load(f)["kind"]));
    expect([...kinds].sort()).toEqual(Object.keys(schemas).sort());
  });

  it.each(cases.map((c) => c.fixture))("%s is an object the schemas accept", (fixture) => {
    const obj = load(fixture);
    const [spec, status] = schemas[String(obj["kind"])] ?? [];
    if (!spec || !status) throw new Error(`${fixture}: no schemas for kind ${String(obj["kind"])}`);
    expect(spec.safeParse(obj["spec"]).error).toBeUndefined();
    if (obj["status"] !== undefined) expect(status.safeParse(obj["status"]).error).toBeUndefined();
  });

  it("treats a Ready condition without observedGeneration as not yet observed", async () => {
    const obj = load("integration-ready.yaml") as {
      status: { conditions: Record<string, unknown>[] };
    };
    for (const c of obj.status.conditions) delete c["observedGeneration"];
    expect((await runHealthCheck(obj)).status).toBe("Progressing");
  });

  it("is the script docs/argocd.md puts in argocd-cm, for every kind", () => {
    const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "argocd.md"), "utf8");
    const block = /```yaml\n(kind: ConfigMap[\s\S]*?|apiVersion: v1\nkind: ConfigMap[\s\S]*?)```/.exec(
      doc,
    )?.[1];
    const configMap = parse(block ?? "") as { data: Record<string, string> };
    const script = readFileSync(healthScript, "utf8");
    // The resource actions share the ConfigMap; test/argocd/actions.test.ts checks those keys.
    const health = Object.fromEntries(
      Object.entries(configMap.data).filter(([key]) => key.startsWith("resource.customizations.health.")),
    );
    expect(health).toEqual(
      Object.fromEntries(
        Object.keys(schemas).map((kind) => [`resource.customizations.health.datatrails.ai_${kind}`, script]),
      ),
    );
  });

  it("passes strings to Lua byte for byte", () => {
    expect(luaString('a"b\\c\n—')).toBe('"a\\034b\\092c\\010\\226\\128\\148"');
    expect(toLua({ a: [1, "x", true], b: null })).toBe('{["a"] = {1, "x", true}}');
  });
});

/**
 * The Argo CD resource actions (deploy/argocd/actions) in a real Lua 5.1 interpreter: discovery lists
 * refresh, rotate (integrations only), suspend and resume, each enabled when it makes sense; each
 * action returns the object with only its annotation or spec.suspend changed, and the result is
 * still an object the schemas accept. docs/argocd.md carries the same bytes in argocd-cm.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { bearerTokenSpec } from "../../src/api/v1alpha1/bearer-token.ts";
import { refreshAnnotation, rotateAnnotation } from "../../src/api/v1alpha1/constants.ts";
import { integrationSpec } from "../../src/api/v1alpha1/integration.ts";
import { actionsDir, runAction } from "./lua.ts";

const fixtureDir = join(import.meta.dirname, "fixtures");
type Obj = {
  kind: string;
  metadata: { annotations?: Record<string, string> } & Record<string, unknown>;
  spec: Record<string, unknown>;
} & Record<string, unknown>;
const load = (file: string) => parse(readFileSync(join(fixtureDir, file), "utf8")) as Obj;
/** What Argo CD's own restart action writes: UTC, whole seconds. */
const stamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** The actions each kind offers, in the order docs/argocd.md lists them. */
const offered: Record<string, string[]> = {
  DataTrailsIntegration: ["refresh", "rotate", "suspend", "resume"],
  BearerToken: ["refresh", "suspend", "resume"],
};

describe("Argo CD resource actions (deploy/argocd/actions, Lua 5.1)", () => {
  it.each([
    {
      name: "an active integration",
      fixture: "integration-ready.yaml",
      want: { refresh: false, rotate: false, suspend: false, resume: true },
    },
    {
      name: "a suspended integration",
      fixture: "integration-suspended.yaml",
      want: { refresh: true, rotate: true, suspend: true, resume: false },
    },
    {
      name: "an active BearerToken",
      fixture: "bearertoken-ready.yaml",
      want: { refresh: false, suspend: false, resume: true },
    },
    {
      name: "a suspended BearerToken",
      fixture: "bearertoken-suspended.yaml",
      want: { refresh: true, suspend: true, resume: false },
    },
  ])("discovery offers $name what it can do (true = disabled)", async ({ fixture, want }) => {
    const actions = (await runAction(load(fixture), "discovery.lua")) as Record<
      string,
      { disabled: boolean }
    >;
    expect(Object.fromEntries(Object.entries(actions).map(([k, v]) => [k, v.disabled]))).toEqual(want);
  });

  it.each([
    { action: "refresh", fixture: "integration-ready.yaml", annotation: refreshAnnotation },
    { action: "refresh", fixture: "bearertoken-ready.yaml", annotation: refreshAnnotation },
    { action: "rotate", fixture: "integration-ready.yaml", annotation: rotateAnnotation },
  ])("$action on $fixture sets $annotation to the current time, and nothing else", async (c) => {
    const before = load(c.fixture);
    const start = Math.floor(Date.now() / 1000) * 1000;
    const after = (await runAction(before, `${c.action}.lua`)) as Obj;
    const value = after.metadata.annotations?.[c.annotation] ?? "";
    expect(value).toMatch(stamp);
    expect(Date.parse(value)).toBeGreaterThanOrEqual(start);
    expect(Date.parse(value)).toBeLessThanOrEqual(Date.now());
    expect({ ...after, metadata: { ...after.metadata, annotations: undefined } }).toEqual({
      ...before,
      metadata: { ...before.metadata, annotations: undefined },
    });
  });

  it("keeps the annotations already there, and a new value differs from an old one", async () => {
    const before = load("integration-ready.yaml");
    before.metadata.annotations = { team: "a", [rotateAnnotation]: "2020-01-01T00:00:00Z" };
    const after = (await runAction(before, "rotate.lua")) as Obj;
    expect(after.metadata.annotations?.["team"]).toBe("a");
    expect(after.metadata.annotations?.[rotateAnnotation]).not.toBe("2020-01-01T00:00:00Z");
  });

  it.each([
    { action: "suspend", fixture: "integration-ready.yaml", suspend: true },
    { action: "resume", fixture: "integration-suspended.yaml", suspend: false },
    { action: "suspend", fixture: "bearertoken-ready.yaml", suspend: true },
    { action: "resume", fixture: "bearertoken-suspended.yaml", suspend: false },
  ])("$action on $fixture sets spec.suspend to $suspend, a spec the schema accepts", async (c) => {
    const before = load(c.fixture);
    const after = (await runAction(before, `${c.action}.lua`)) as Obj;
    expect(after).toEqual({ ...before, spec: { ...before.spec, suspend: c.suspend } });
    const schema = after.kind === "BearerToken" ? bearerTokenSpec : integrationSpec;
    expect(schema.safeParse(after.spec).error).toBeUndefined();
  });

  it("is what docs/argocd.md puts in argocd-cm, for both kinds", () => {
    const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "argocd.md"), "utf8");
    const block = /```yaml\n(apiVersion: v1\nkind: ConfigMap[\s\S]*?)```/.exec(doc)?.[1];
    const data = (parse(block ?? "") as { data: Record<string, string> }).data;
    const script = (file: string) => readFileSync(join(actionsDir, file), "utf8");
    for (const [kind, names] of Object.entries(offered)) {
      const value = data[`resource.customizations.actions.datatrails.ai_${kind}`];
      expect(value, kind).toBeDefined();
      expect(parse(value ?? "")).toEqual({
        "discovery.lua": script("discovery.lua"),
        definitions: names.map((name) => ({ name, "action.lua": script(`${name}.lua`) })),
      });
    }
  });
});

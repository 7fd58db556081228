import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crdFileName, crdYaml, customResourceDefinition, kinds, schemaOf } from "./crd.ts";
import { integrationSpec } from "./integration.ts";

const crdDir = join(import.meta.dirname, "..", "..", "..", "crds");

describe("generated CRDs", () => {
  it.each(kinds.map((k) => [k.kind, k] as const))(
    "crds/ holds the current %s (run `make crds` if not)",
    (_kind, def) => {
      expect(readFileSync(join(crdDir, crdFileName(def)), "utf8")).toBe(crdYaml(def));
    },
  );

  it("crds/ holds no file that no kind generates", () => {
    expect(readdirSync(crdDir).sort()).toEqual(kinds.map(crdFileName).sort());
  });

  it("carries no defaults, so the API server never adds fields Git does not have", () => {
    const text = JSON.stringify(kinds.map(customResourceDefinition));
    expect(text).not.toContain('"default"');
  });

  it("keeps the operator's defaults in the zod schema", () => {
    const spec = integrationSpec.parse({ connectionRef: { name: "c" }, displayName: "d" });
    expect(spec.deletionPolicy).toBe("Delete");
    expect(spec.connectionRef.kind).toBe("DataTrailsConnection");
  });

  it("describes every property, so kubectl explain has something to say", () => {
    const undocumented: string[] = [];
    const walk = (node: Record<string, unknown>, path: string) => {
      const props = node["properties"] as Record<string, Record<string, unknown>> | undefined;
      for (const [name, child] of Object.entries(props ?? {})) {
        if (typeof child["description"] !== "string") undocumented.push(`${path}.${name}`);
        walk(child, `${path}.${name}`);
        const items = child["items"] as Record<string, unknown> | undefined;
        if (items) walk(items, `${path}.${name}[]`);
      }
    };
    for (const def of kinds) {
      walk(schemaOf(def.spec), `${def.kind}.spec`);
      walk(schemaOf(def.status), `${def.kind}.status`);
    }
    expect(undocumented).toEqual([]);
  });
});

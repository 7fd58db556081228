import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConditionType, Reason, setCondition } from "./conditions.ts";

const doc = readFileSync(join(import.meta.dirname, "..", "..", "..", "docs", "conditions.md"), "utf8");
const [typesSection = "", reasonsSection = ""] = doc.split("## Reasons");
const firstColumn = (text: string) => [...text.matchAll(/^\|\s*`([A-Za-z]+)`\s*\|/gm)].map((m) => m[1]);

describe("condition vocabulary", () => {
  it("docs/conditions.md lists exactly the reasons in the code", () => {
    expect(firstColumn(reasonsSection).sort()).toEqual(Object.values(Reason).sort());
  });

  it("docs/conditions.md lists exactly the condition types in the code", () => {
    expect(firstColumn(typesSection).sort()).toEqual(Object.values(ConditionType).sort());
  });
});

describe("setCondition", () => {
  const t0 = new Date("2026-01-01T00:00:00Z");
  const t1 = new Date("2026-01-01T01:00:00Z");
  const base = { type: "Ready", reason: "Ready", message: "ok", observedGeneration: 1 } as const;

  it.each([
    ["keeps the transition time when the status does not flip", "True", "2026-01-01T00:00:00Z"],
    ["moves the transition time when the status flips", "False", "2026-01-01T01:00:00Z"],
  ] as const)("%s", (_name, status, expected) => {
    const first = setCondition(undefined, { ...base, status: "True" }, t0);
    const second = setCondition(first, { ...base, status }, t1);
    expect(second).toHaveLength(1);
    expect(second[0]?.lastTransitionTime).toBe(expected);
  });

  it("adds a condition of a new type beside the others", () => {
    const list = setCondition(
      setCondition(undefined, { ...base, status: "True" }, t0),
      { ...base, type: "TokenReady", status: "False" },
      t0,
    );
    expect(list.map((c) => c.type)).toEqual(["Ready", "TokenReady"]);
  });
});

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConditionType, findCondition, Reason, setCondition } from "./conditions.ts";
import { rfc3339, type Condition } from "./meta.ts";

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

const t0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const t1 = t0 + 60_000;
const condition = (over: Partial<Condition> = {}): Condition => ({
  type: "Ready",
  status: "True",
  reason: "Ready",
  message: "ok",
  observedGeneration: 1,
  lastTransitionTime: rfc3339(t0),
  ...over,
});

describe("setCondition, case by case", () => {
  it.each([
    {
      name: "adds a new type with lastTransitionTime = now",
      before: [] as Condition[],
      update: { type: "Ready", status: "False", reason: "Reconciling", message: "m", observedGeneration: 2 },
      expected: [
        condition({
          status: "False",
          reason: "Reconciling",
          message: "m",
          observedGeneration: 2,
          lastTransitionTime: rfc3339(t1),
        }),
      ],
    },
    {
      name: "keeps lastTransitionTime when only reason, message or generation change",
      before: [condition()],
      update: { type: "Ready", status: "True", reason: "TokenValid", message: "new", observedGeneration: 3 },
      expected: [condition({ reason: "TokenValid", message: "new", observedGeneration: 3 })],
    },
    {
      name: "moves lastTransitionTime when the status flips",
      before: [condition()],
      update: {
        type: "Ready",
        status: "False",
        reason: "RefreshFailing",
        message: "x",
        observedGeneration: 1,
      },
      expected: [
        condition({
          status: "False",
          reason: "RefreshFailing",
          message: "x",
          lastTransitionTime: rfc3339(t1),
        }),
      ],
    },
    {
      name: "leaves other types alone and keeps their order",
      before: [condition({ type: "CredentialsReady" }), condition()],
      update: {
        type: "TokenReady",
        status: "Unknown",
        reason: "Reconciling",
        message: "",
        observedGeneration: 1,
      },
      expected: [
        condition({ type: "CredentialsReady" }),
        condition(),
        {
          type: "TokenReady",
          status: "Unknown",
          reason: "Reconciling",
          message: "",
          observedGeneration: 1,
          lastTransitionTime: rfc3339(t1),
        },
      ],
    },
  ] as const)("$name", ({ before, update, expected }) => {
    const frozen = Object.freeze([...before]);
    expect(setCondition(frozen, update, new Date(t1))).toEqual(expected);
    expect(frozen).toEqual(before);
  });

  it("formats times as metav1.Time does (whole seconds, UTC)", () => {
    expect(rfc3339(t0 + 123)).toBe("2025-01-01T12:00:00Z");
  });

  it("finds a condition by type", () => {
    expect(findCondition([condition({ type: "TokenReady" })], "TokenReady")?.type).toBe("TokenReady");
    expect(findCondition(undefined, "Ready")).toBeUndefined();
  });
});

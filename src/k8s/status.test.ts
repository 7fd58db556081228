import { describe, expect, it } from "vitest";
import { rfc3339, type Condition } from "../api/v1alpha1/meta.ts";
import { statusChanged, statusMergePatch } from "./status.ts";

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

describe("statusChanged", () => {
  const base = {
    observedGeneration: 1,
    clientId: "abc",
    conditions: [condition(), condition({ type: "TokenReady" })],
  };

  it.each([
    { name: "identical", next: base, changed: false },
    {
      name: "only lastTransitionTime differs",
      next: {
        ...base,
        conditions: [condition({ lastTransitionTime: rfc3339(t1) }), condition({ type: "TokenReady" })],
      },
      changed: false,
    },
    {
      name: "conditions in another order",
      next: { ...base, conditions: [condition({ type: "TokenReady" }), condition()] },
      changed: false,
    },
    {
      name: "keys in another order",
      next: { conditions: base.conditions, clientId: "abc", observedGeneration: 1 },
      changed: false,
    },
    { name: "an undefined field", next: { ...base, nextRefreshAt: undefined }, changed: false },
    {
      name: "a reason changed",
      next: { ...base, conditions: [condition({ reason: "Other" }), condition({ type: "TokenReady" })] },
      changed: true,
    },
    {
      name: "a status flipped",
      next: {
        ...base,
        conditions: [
          condition({ status: "False", lastTransitionTime: rfc3339(t1) }),
          condition({ type: "TokenReady" }),
        ],
      },
      changed: true,
    },
    {
      name: "observedGeneration of a condition",
      next: {
        ...base,
        conditions: [condition({ observedGeneration: 2 }), condition({ type: "TokenReady" })],
      },
      changed: true,
    },
    { name: "a field added", next: { ...base, tokenExpiresAt: "2025-01-01T13:00:00Z" }, changed: true },
    { name: "a field removed", next: { observedGeneration: 1, conditions: base.conditions }, changed: true },
    { name: "a condition removed", next: { ...base, conditions: [condition()] }, changed: true },
  ])("$name → $changed", ({ next, changed }) => {
    expect(statusChanged(base, next)).toBe(changed);
  });

  it("treats a missing previous status as empty", () => {
    expect(statusChanged(undefined, {})).toBe(false);
    expect(statusChanged(undefined, { observedGeneration: 1 })).toBe(true);
  });
});

describe("statusMergePatch", () => {
  it.each([
    { name: "no previous: the status as is", previous: undefined, next: { a: 1 }, patch: { a: 1 } },
    {
      name: "a dropped field becomes null",
      previous: { a: 1, b: 2 },
      next: { a: 1 },
      patch: { a: 1, b: null },
    },
    {
      name: "nested objects are diffed",
      previous: { o: { x: 1, y: 2 } },
      next: { o: { x: 1 } },
      patch: { o: { x: 1, y: null } },
    },
    { name: "arrays are replaced whole", previous: { c: [1, 2] }, next: { c: [3] }, patch: { c: [3] } },
    { name: "undefined counts as dropped", previous: { a: 1 }, next: { a: undefined }, patch: { a: null } },
  ])("$name", ({ previous, next, patch }) => {
    expect(statusMergePatch(previous, next)).toEqual(patch);
  });
});

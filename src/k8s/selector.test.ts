import { describe, expect, it } from "vitest";
import { selectorMatches, selectorString, type LabelSelector } from "./selector.ts";

const labels = { team: "lights", env: "prod" };

describe("selectorMatches", () => {
  it.each<[string, LabelSelector, boolean]>([
    ["an empty selector", {}, true],
    ["matching matchLabels", { matchLabels: { team: "lights" } }, true],
    ["a differing matchLabels value", { matchLabels: { team: "cars" } }, false],
    [
      "In with the value",
      { matchExpressions: [{ key: "env", operator: "In", values: ["prod", "dev"] }] },
      true,
    ],
    ["In without the value", { matchExpressions: [{ key: "env", operator: "In", values: ["dev"] }] }, false],
    ["In on a missing label", { matchExpressions: [{ key: "zone", operator: "In", values: [""] }] }, false],
    [
      "NotIn with the value",
      { matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] },
      false,
    ],
    [
      "NotIn on a missing label",
      { matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] },
      true,
    ],
    ["Exists", { matchExpressions: [{ key: "team", operator: "Exists" }] }, true],
    [
      "DoesNotExist on a present label",
      { matchExpressions: [{ key: "team", operator: "DoesNotExist" }] },
      false,
    ],
    [
      "labels and expressions together (ANDed)",
      {
        matchLabels: { team: "lights" },
        matchExpressions: [{ key: "env", operator: "In", values: ["dev"] }],
      },
      false,
    ],
  ])("%s", (_name, selector, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });
});

describe("selectorString", () => {
  it.each<{ name: string; selector: LabelSelector; query: string }>([
    { name: "empty", selector: {}, query: "" },
    { name: "matchLabels, sorted", selector: { matchLabels: { b: "2", a: "1" } }, query: "a=1,b=2" },
    {
      name: "every operator",
      selector: {
        matchLabels: { app: "web" },
        matchExpressions: [
          { key: "env", operator: "In", values: ["prod", "dev"] },
          { key: "tier", operator: "NotIn", values: ["db"] },
          { key: "team", operator: "Exists" },
          { key: "legacy", operator: "DoesNotExist" },
        ],
      },
      query: "app=web,env in (dev,prod),tier notin (db),team,!legacy",
    },
  ])("$name", ({ selector, query }) => {
    expect(selectorString(selector)).toBe(query);
  });
});

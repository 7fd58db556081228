import { describe, expect, it } from "vitest";
import { ReferenceIndex } from "./reference-index.ts";

describe("ReferenceIndex", () => {
  it.each([
    {
      name: "two referrers of one Secret are both found",
      steps: [
        { referrer: "ns/a", refs: ["ns/s"] },
        { referrer: "ns/b", refs: ["ns/s", "ns/t"] },
      ],
      ref: "ns/s",
      want: ["ns/a", "ns/b"],
    },
    {
      name: "a referrer that stops naming a Secret is no longer found",
      steps: [
        { referrer: "ns/a", refs: ["ns/s"] },
        { referrer: "ns/a", refs: ["ns/t"] },
      ],
      ref: "ns/s",
      want: [],
    },
    {
      name: "a referrer naming nothing is forgotten",
      steps: [
        { referrer: "ns/a", refs: ["ns/s"] },
        { referrer: "ns/a", refs: [] },
      ],
      ref: "ns/s",
      want: [],
    },
  ])("$name", ({ steps, ref, want }) => {
    const index = new ReferenceIndex();
    for (const step of steps) index.set(step.referrer, step.refs);
    expect(index.referrersOf(ref).sort()).toEqual(want);
  });

  it("delete removes a referrer from every reference it held", () => {
    const index = new ReferenceIndex();
    index.set("ns/a", ["ns/s", "ns/t", "ns/s"]);
    expect(index.refsOf("ns/a")).toEqual(["ns/s", "ns/t"]);
    index.delete("ns/a");
    expect([index.referrersOf("ns/s"), index.referrersOf("ns/t"), index.refsOf("ns/a")]).toEqual([
      [],
      [],
      [],
    ]);
  });
});

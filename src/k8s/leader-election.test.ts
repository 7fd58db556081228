import { describe, expect, it } from "vitest";
import { leaseVerdict, observeLease, type LeaseRecord } from "./leader-election.ts";

const me = "pod-a_1234";
const record = (over: Partial<LeaseRecord> = {}): LeaseRecord => ({
  holderIdentity: "pod-b_5678",
  leaseDurationSeconds: 15,
  resourceVersion: "100",
  ...over,
});

describe("leaseVerdict", () => {
  it.each([
    {
      name: "no holder (released)",
      rec: record({ holderIdentity: "" }),
      observedAtMs: 0,
      nowMs: 1,
      verdict: "free",
    },
    {
      name: "held by us",
      rec: record({ holderIdentity: me }),
      observedAtMs: 0,
      nowMs: 999_999,
      verdict: "held-by-us",
    },
    {
      name: "held by another, just observed",
      rec: record(),
      observedAtMs: 1000,
      nowMs: 1000,
      verdict: "held-by-other",
    },
    {
      name: "held by another, 1 ms before expiry",
      rec: record(),
      observedAtMs: 1000,
      nowMs: 15_999,
      verdict: "held-by-other",
    },
    {
      name: "held by another, unchanged for its lease duration",
      rec: record(),
      observedAtMs: 1000,
      nowMs: 16_000,
      verdict: "expired",
    },
    {
      name: "the holder's duration is used, not ours",
      rec: record({ leaseDurationSeconds: 60 }),
      observedAtMs: 0,
      nowMs: 30_000,
      verdict: "held-by-other",
    },
    {
      name: "our duration when the lease gives none",
      rec: record({ leaseDurationSeconds: undefined }),
      observedAtMs: 0,
      nowMs: 10_000,
      verdict: "expired",
    },
  ] as const)("$name → $verdict", ({ rec, observedAtMs, nowMs, verdict }) => {
    const observation = { resourceVersion: rec.resourceVersion, observedAtMs };
    expect(leaseVerdict(rec, observation, me, nowMs, 10_000)).toBe(verdict);
  });
});

describe("observeLease (expiry is measured from local observation, not remote timestamps)", () => {
  it.each([
    { name: "first sight", previous: undefined, rv: "1", nowMs: 500, observedAtMs: 500 },
    {
      name: "unchanged lease keeps the old observation",
      previous: { resourceVersion: "1", observedAtMs: 100 },
      rv: "1",
      nowMs: 500,
      observedAtMs: 100,
    },
    {
      name: "a renewal (new resourceVersion) restarts the clock",
      previous: { resourceVersion: "1", observedAtMs: 100 },
      rv: "2",
      nowMs: 500,
      observedAtMs: 500,
    },
  ])("$name", ({ previous, rv, nowMs, observedAtMs }) => {
    expect(observeLease(record({ resourceVersion: rv }), previous, nowMs)).toEqual({
      resourceVersion: rv,
      observedAtMs,
    });
  });

  it("a holder that keeps renewing never expires, however skewed its clock", () => {
    let observation = observeLease(record({ resourceVersion: "1" }), undefined, 0);
    for (let step = 1; step <= 10; step++) {
      const nowMs = step * 10_000;
      observation = observeLease(record({ resourceVersion: String(step + 1) }), observation, nowMs);
      expect(
        leaseVerdict(record({ resourceVersion: String(step + 1) }), observation, me, nowMs, 15_000),
      ).toBe("held-by-other");
    }
  });
});

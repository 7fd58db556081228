import { describe, expect, it } from "vitest";
import type { WorkloadView } from "../../k8s/workloads.ts";
import type { RollFailure } from "./debounce.ts";
import { decideReload, type ReloadObserved, type TargetLookup } from "./decide.ts";

const key = "integration.reload.datatrails.ai/app";
const now = new Date("2025-03-01T12:00:00Z");
const timings = { pendingRecheckMs: 3_000, retryMs: 60_000 };

const workload = (
  name: string,
  version?: string,
  kind: WorkloadView["kind"] = "Deployment",
): WorkloadView => ({
  kind,
  namespace: "ns",
  name,
  uid: `uid-${name}`,
  templateAnnotations: version ? { [key]: version, other: "kept" } : { other: "kept" },
});
const found = (...workloads: WorkloadView[]): TargetLookup => ({
  target: `Deployment ${workloads[0]?.name ?? ""}`,
  state: "found",
  workloads,
});
const observed = (over: Partial<ReloadObserved>): ReloadObserved => ({
  current: "v2",
  recorded: { version: "v1" },
  annotationKey: key,
  lookups: [found(workload("web"))],
  rollFailure: () => undefined,
  ...over,
});
const forbidden: RollFailure = { code: "Forbidden", message: "patch Deployment ns/web: forbidden" };

describe("decideReload", () => {
  it.each([
    {
      name: "credentials not settled: nothing decided, the record kept",
      o: observed({ current: undefined }),
      rolls: [],
      record: { version: "v1" },
      condition: undefined,
    },
    {
      name: "the first look records the version without rolling",
      o: observed({ recorded: undefined }),
      rolls: [],
      record: { version: "v2" },
      condition: "True/Ready",
    },
    {
      name: "steady: the recorded version is current, nothing rolls",
      o: observed({ current: "v1" }),
      rolls: [],
      record: { version: "v1" },
      condition: "True/Ready",
    },
    {
      name: "rotated: a workload without the annotation rolls, the record waits",
      o: observed({}),
      rolls: ["web"],
      record: { version: "v1" },
      condition: "Unknown/Reconciling",
    },
    {
      name: "rotated: a workload with an old version rolls",
      o: observed({ lookups: [found(workload("web", "v1"))] }),
      rolls: ["web"],
      record: { version: "v1" },
      condition: "Unknown/Reconciling",
    },
    {
      name: "rolled (or a crash after the patch): the annotation matches, the version is recorded, no second roll",
      o: observed({ lookups: [found(workload("web", "v2"))] }),
      rolls: [],
      record: { version: "v2", rolledAt: "2025-03-01T12:00:00Z" },
      condition: "True/Ready",
    },
    {
      name: "a selector's workloads: only those behind roll",
      o: observed({ lookups: [found(workload("a", "v2"), workload("b", "v1"))] }),
      rolls: ["b"],
      record: { version: "v1" },
      condition: "Unknown/Reconciling",
    },
    {
      name: "a missing target does not hold the others back",
      o: observed({
        lookups: [found(workload("web", "v2")), { target: "Deployment gone", state: "missing" }],
      }),
      rolls: [],
      record: { version: "v2", rolledAt: "2025-03-01T12:00:00Z" },
      condition: "False/ReloadTargetNotFound",
    },
    {
      name: "a target that may not be read holds the record back",
      o: observed({
        lookups: [
          found(workload("web", "v2")),
          { target: "Deployment secret-app", state: "failed", failure: forbidden },
        ],
      }),
      rolls: [],
      record: { version: "v1" },
      condition: "False/ReloadForbidden",
    },
    {
      name: "a roll that was refused shows, and is asked for again",
      o: observed({ rollFailure: () => forbidden }),
      rolls: ["web"],
      record: { version: "v1" },
      condition: "False/ReloadForbidden",
    },
    {
      name: "another failure is ReloadFailed",
      o: observed({ rollFailure: () => ({ code: "Unavailable", message: "patch: 503" }) }),
      rolls: ["web"],
      record: { version: "v1" },
      condition: "False/ReloadFailed",
    },
  ])("$name", ({ o, rolls, record, condition }) => {
    const plan = decideReload(o, now, timings);
    expect(plan.rolls.map((w) => w.name)).toEqual(rolls);
    expect(plan.record).toEqual(record);
    expect(plan.condition ? `${plan.condition.status}/${plan.condition.reason}` : undefined).toBe(condition);
  });

  it("names the missing target and looks again later", () => {
    const plan = decideReload(
      observed({ lookups: [{ target: "StatefulSet db", state: "missing" }] }),
      now,
      timings,
    );
    expect(plan.condition?.message).toBe("Not found in this namespace: StatefulSet db.");
    expect(plan.requeueAfterMs).toBe(60_000);
  });

  it("looks again soon while rolls wait in the debouncer", () => {
    expect(decideReload(observed({}), now, timings).requeueAfterMs).toBe(3_000);
  });

  it("names the forbidden target and the error code", () => {
    const plan = decideReload(observed({ rollFailure: () => forbidden }), now, timings);
    expect(plan.condition?.message).toBe("Deployment web: Forbidden: patch Deployment ns/web: forbidden");
  });
});

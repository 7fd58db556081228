/**
 * The reload reconcile at its seam: an in-memory object, in-memory workloads (a fake behind the
 * Workloads port), the real debouncer on the fake clock, and the Events recorded.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { ReloadSpec } from "../../api/v1alpha1/index.ts";
import type { EventInput } from "../../k8s/events.ts";
import { KubeError } from "../../k8s/errors.ts";
import { createFakeClock } from "../../k8s/fake-clock.ts";
import { statusMergePatch } from "../../k8s/status.ts";
import type { WorkloadKind, WorkloadView, Workloads } from "../../k8s/workloads.ts";
import { createLogger } from "../../observability/logger.ts";
import { reloadReconciler, type ReloadSourceObject } from "./controller.ts";
import { createRollDebouncer } from "./debounce.ts";

const forbidden = (operation: string) =>
  new KubeError({ code: "Forbidden", operation, message: "forbidden" });

/** Workloads in memory; `refuse` makes every call on a kind fail with 403. */
class FakeWorkloads implements Workloads {
  readonly items = new Map<string, WorkloadView>();
  readonly labels = new Map<string, Record<string, string>>();
  readonly patches: { name: string; annotations: Record<string, string> }[] = [];
  readonly refuse = new Set<WorkloadKind>();

  add(kind: WorkloadKind, name: string, labels: Record<string, string> = {}) {
    const view = { kind, namespace: "ns", name, uid: `uid-${name}`, templateAnnotations: {} };
    this.items.set(`${kind}/${name}`, view);
    this.labels.set(`${kind}/${name}`, labels);
  }
  get(kind: WorkloadKind, _namespace: string, name: string) {
    if (this.refuse.has(kind)) return Promise.reject(forbidden(`get ${kind} ns/${name}`));
    return Promise.resolve(this.items.get(`${kind}/${name}`));
  }
  /** Understands `key=value` selectors, all these tests use. */
  list(kind: WorkloadKind, _namespace: string, selector: string) {
    if (this.refuse.has(kind)) return Promise.reject(forbidden(`list ${kind} in ns`));
    const [label = "", value] = selector.split("=");
    return Promise.resolve(
      [...this.items.entries()]
        .filter(([k, w]) => w.kind === kind && this.labels.get(k)?.[label] === value)
        .map(([, w]) => w),
    );
  }
  patchTemplateAnnotations(
    kind: WorkloadKind,
    _namespace: string,
    name: string,
    annotations: Readonly<Record<string, string>>,
  ) {
    const w = this.items.get(`${kind}/${name}`);
    if (!w)
      return Promise.reject(new KubeError({ code: "NotFound", operation: `patch ${kind}`, message: "gone" }));
    const next = { ...w, templateAnnotations: { ...w.templateAnnotations, ...annotations } };
    this.items.set(`${kind}/${name}`, next);
    this.patches.push({ name, annotations: { ...annotations } });
    return Promise.resolve(next);
  }
}

type Obj = ReloadSourceObject & { status: NonNullable<ReloadSourceObject["status"]> & { version?: string } };

function world(reload: ReloadSpec | undefined) {
  const clock = createFakeClock();
  const workloads = new FakeWorkloads();
  const events: { kind: string; name: string; event: EventInput }[] = [];
  const record = (obj: KubernetesObject, event: EventInput) =>
    void events.push({ kind: obj.kind ?? "", name: obj.metadata?.name ?? "", event });
  const obj: Obj = {
    metadata: { name: "app", namespace: "ns", uid: "uid-app", generation: 1 },
    spec: reload ? { reload } : {},
    status: { version: "v1" },
  };
  let writes = 0;
  let reads = 0;
  const debouncer = createRollDebouncer({
    clock,
    delayMs: 2_000,
    roll: async (workload, requests) => {
      const annotations = Object.fromEntries(requests.map((r) => [r.annotationKey, r.version]));
      await workloads.patchTemplateAnnotations(workload.kind, workload.namespace, workload.name, annotations);
    },
  });
  const reconcile = reloadReconciler<Obj>({
    kind: "DataTrailsIntegration",
    cached: () => obj,
    getObject: () => {
      reads++;
      return Promise.resolve(structuredClone(obj));
    },
    currentVersion: (o) => o.status.version,
    workloads,
    debouncer,
    writeStatus: (_o, previous, next) => {
      writes++;
      const patch = statusMergePatch(previous as Record<string, unknown>, next as Record<string, unknown>);
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete (obj.status as Record<string, unknown>)[k];
        else (obj.status as Record<string, unknown>)[k] = structuredClone(v);
      }
      return Promise.resolve();
    },
    events: { record },
    clock,
    logger: createLogger({ level: "silent" }),
    timings: { pendingRecheckMs: 3_000, retryMs: 60_000 },
  });
  const condition = () => obj.status.conditions?.find((c) => c.type === "ReloadReady");
  return { clock, workloads, events, obj, reconcile, condition, writes: () => writes, reads: () => reads };
}

const key = "integration.reload.datatrails.ai/app";

describe("reloadReconciler", () => {
  it("records the first version without rolling, then rolls once per rotation", async () => {
    const w = world({ targets: [{ kind: "Deployment", name: "web" }] });
    w.workloads.add("Deployment", "web");
    expect(await w.reconcile("ns/app")).toBeUndefined();
    expect(w.obj.status.reload).toEqual({ version: "v1" });
    expect(w.condition()).toMatchObject({ status: "True", reason: "Ready" });
    expect(w.workloads.patches).toEqual([]);

    w.obj.status.version = "v2";
    expect(await w.reconcile("ns/app")).toEqual({ requeueAfterMs: 3_000 });
    expect(await w.reconcile("ns/app")).toEqual({ requeueAfterMs: 3_000 });
    expect(w.condition()).toMatchObject({ status: "Unknown", reason: "Reconciling" });
    await w.clock.advance(2_000);
    expect(w.workloads.patches).toEqual([{ name: "web", annotations: { [key]: "v2" } }]);
    expect(await w.reconcile("ns/app")).toBeUndefined();
    expect(w.obj.status.reload).toEqual({ version: "v2", rolledAt: expect.any(String) as string });
    expect(w.condition()).toMatchObject({ status: "True", reason: "Ready" });
    await w.reconcile("ns/app");
    await w.clock.advance(10_000);
    expect(w.workloads.patches).toHaveLength(1);
  });

  it("reports ReloadForbidden without throwing when the operator may not list the kind", async () => {
    const w = world({ targets: [{ kind: "StatefulSet", selector: { matchLabels: { tier: "db" } } }] });
    w.workloads.add("StatefulSet", "db", { tier: "db" });
    await w.reconcile("ns/app");
    w.workloads.refuse.add("StatefulSet");
    w.obj.status.version = "v2";
    expect(await w.reconcile("ns/app")).toEqual({ requeueAfterMs: 60_000 });
    expect(w.condition()).toMatchObject({
      status: "False",
      reason: "ReloadForbidden",
      message: "StatefulSet tier=db: Forbidden: list StatefulSet in ns: forbidden",
    });
    expect(w.obj.status.reload).toEqual({ version: "v1" });
    expect(w.events.map((e) => `${e.kind}/${e.event.type}/${e.event.reason}`)).toEqual([
      "DataTrailsIntegration/Warning/ReloadForbidden",
    ]);
    // Allowed again: the roll the rotation owed is made.
    w.workloads.refuse.clear();
    await w.reconcile("ns/app");
    await w.clock.advance(2_000);
    expect(w.workloads.patches).toEqual([{ name: "db", annotations: { [key]: "v2" } }]);
  });

  it("drops its record and condition when spec.reload goes, and reads and writes nothing more after", async () => {
    const w = world({ targets: [{ kind: "Deployment", name: "web" }] });
    w.workloads.add("Deployment", "web");
    await w.reconcile("ns/app");
    w.obj.spec = {};
    await w.reconcile("ns/app");
    expect(w.obj.status.reload).toBeUndefined();
    expect(w.condition()).toBeUndefined();
    const writes = w.writes();
    const reads = w.reads();
    await w.reconcile("ns/app");
    expect(w.writes()).toBe(writes);
    expect(w.reads()).toBe(reads);
  });

  it("reads nothing for an object that never used spec.reload", async () => {
    const w = world(undefined);
    expect(await w.reconcile("ns/app")).toBeUndefined();
    expect(w.reads()).toBe(0);
    expect(w.writes()).toBe(0);
  });
});

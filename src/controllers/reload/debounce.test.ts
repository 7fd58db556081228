import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { KubeError } from "../../k8s/errors.ts";
import { createFakeClock } from "../../k8s/fake-clock.ts";
import { createRollDebouncer, type RollRequest, type WorkloadRef } from "./debounce.ts";

const web: WorkloadRef = { kind: "Deployment", namespace: "ns", name: "web" };
const db: WorkloadRef = { kind: "StatefulSet", namespace: "ns", name: "db" };
const source = (name: string): KubernetesObject => ({
  apiVersion: "datatrails.ai/v1alpha1",
  kind: "DataTrailsIntegration",
  metadata: { name, namespace: "ns", uid: `uid-${name}` },
});
const request = (workload: WorkloadRef, name: string, version: string): RollRequest => ({
  workload,
  source: source(name),
  annotationKey: `integration.reload.datatrails.ai/${name}`,
  version,
});

function setup(fail?: () => Error | undefined) {
  const clock = createFakeClock();
  const rolls: { workload: WorkloadRef; annotations: Record<string, string> }[] = [];
  const debouncer = createRollDebouncer({
    clock,
    delayMs: 2_000,
    roll: (workload, requests) => {
      rolls.push({
        workload,
        annotations: Object.fromEntries(requests.map((r) => [r.annotationKey, r.version])),
      });
      const err = fail?.();
      return err ? Promise.reject(err) : Promise.resolve();
    },
  });
  return { clock, rolls, debouncer };
}

describe("createRollDebouncer", () => {
  it("rolls a workload once for every request that arrives within the delay", async () => {
    const { clock, rolls, debouncer } = setup();
    debouncer.submit(request(web, "a", "v1"));
    await clock.advance(1_500);
    debouncer.submit(request(web, "b", "v7"));
    debouncer.submit(request(web, "a", "v1"));
    expect(rolls).toEqual([]);
    await clock.advance(500);
    expect(rolls).toEqual([
      {
        workload: web,
        annotations: {
          "integration.reload.datatrails.ai/a": "v1",
          "integration.reload.datatrails.ai/b": "v7",
        },
      },
    ]);
  });

  it("rolls different workloads separately", async () => {
    const { clock, rolls, debouncer } = setup();
    debouncer.submit(request(web, "a", "v1"));
    debouncer.submit(request(db, "a", "v1"));
    await clock.advance(2_000);
    expect(rolls.map((r) => r.workload)).toEqual([web, db]);
  });

  it("keeps the latest version an object asked for", async () => {
    const { clock, rolls, debouncer } = setup();
    debouncer.submit(request(web, "a", "v1"));
    debouncer.submit(request(web, "a", "v2"));
    await clock.advance(2_000);
    expect(rolls).toEqual([{ workload: web, annotations: { "integration.reload.datatrails.ai/a": "v2" } }]);
  });

  it("ignores a request repeated while its roll is in flight", async () => {
    const clock = createFakeClock();
    let release: () => void = () => undefined;
    let calls = 0;
    const debouncer = createRollDebouncer({
      clock,
      delayMs: 2_000,
      roll: () => {
        calls++;
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    debouncer.submit(request(web, "a", "v1"));
    await clock.advance(2_000);
    debouncer.submit(request(web, "a", "v1"));
    release();
    await clock.advance(5_000);
    expect(calls).toBe(1);
  });

  it("remembers why a roll failed until one succeeds", async () => {
    let failing = true;
    const { clock, debouncer } = setup(() =>
      failing
        ? new KubeError({ code: "Forbidden", operation: "patch Deployment ns/web", message: "forbidden" })
        : undefined,
    );
    debouncer.submit(request(web, "a", "v1"));
    await clock.advance(2_000);
    expect(debouncer.lastFailure(web)).toEqual({
      code: "Forbidden",
      message: expect.stringContaining("forbidden") as string,
    });
    expect(debouncer.lastFailure(db)).toBeUndefined();
    failing = false;
    debouncer.submit(request(web, "a", "v1"));
    await clock.advance(2_000);
    expect(debouncer.lastFailure(web)).toBeUndefined();
  });

  it("drops what waits when stopped", async () => {
    const { clock, rolls, debouncer } = setup();
    debouncer.submit(request(web, "a", "v1"));
    await debouncer.stop();
    await clock.advance(10_000);
    expect(rolls).toEqual([]);
    expect(clock.pendingTimers()).toBe(0);
  });
});

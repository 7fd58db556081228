import { describe, expect, it } from "vitest";
import { createMetrics } from "../observability/metrics.ts";
import { createFakeClock, type FakeClock } from "./fake-clock.ts";
import { createWorkQueue, type WorkQueueOptions, type WorkResult } from "./work-queue.ts";

type Key = string;

const fail = () => Promise.reject(new Error("boom"));

function setup(options: Partial<WorkQueueOptions> = {}) {
  const clock = createFakeClock(0);
  const queue = createWorkQueue<Key>({ name: "test", concurrency: 1, clock, ...options });
  return { clock, queue };
}

/** Records `key@time` for each handler call; the handler's behaviour per call comes from `reply`. */
function recorder(
  clock: FakeClock,
  reply: (key: Key, call: number) => WorkResult | Promise<WorkResult> = () => {},
) {
  const calls: string[] = [];
  let count = 0;
  const handler = async (key: Key) => {
    calls.push(`${key}@${clock.now()}`);
    return reply(key, ++count);
  };
  return { calls, handler };
}

describe("work queue", () => {
  it("processes a key added many times before a worker takes it once", async () => {
    const { clock, queue } = setup();
    queue.add("ns/a");
    queue.add("ns/a");
    queue.add("ns/a");
    expect(queue.length).toBe(1);
    const { calls, handler } = recorder(clock);
    queue.start(handler);
    await clock.advance(1000);
    expect(calls).toEqual(["ns/a@0"]);
  });

  it("never runs two handlers on one key; a key added while processed runs once more afterwards", async () => {
    const { clock, queue } = setup({ concurrency: 4 });
    const gate = Promise.withResolvers<void>();
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    queue.start(async () => {
      calls++;
      active++;
      maxActive = Math.max(maxActive, active);
      if (calls === 1) await gate.promise;
      active--;
    });
    queue.add("ns/a");
    await clock.flush();
    queue.add("ns/a");
    queue.add("ns/a");
    await clock.flush();
    expect(calls).toBe(1);
    gate.resolve();
    await clock.advance(10);
    expect(calls).toBe(2);
    expect(maxActive).toBe(1);
  });

  it.each([
    { name: "one worker", concurrency: 1, expected: 1 },
    { name: "two workers", concurrency: 2, expected: 2 },
    { name: "more workers than keys", concurrency: 10, expected: 5 },
  ])("runs at most `concurrency` handlers at once: $name", async ({ concurrency, expected }) => {
    const { clock, queue } = setup({ concurrency });
    let active = 0;
    let maxActive = 0;
    const done: string[] = [];
    queue.start(async (key) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 10));
      active--;
      done.push(key);
    });
    for (const key of ["a", "b", "c", "d", "e"]) queue.add(key);
    await clock.advance(100);
    expect(maxActive).toBe(expected);
    expect(done.sort()).toEqual(["a", "b", "c", "d", "e"]);
  });

  it.each([
    { name: "an earlier addAfter replaces a later one", delays: [100, 50], runsAt: [50] },
    { name: "a later addAfter does not delay an earlier one", delays: [50, 100], runsAt: [50] },
    { name: "equal delays run once", delays: [70, 70], runsAt: [70] },
  ])("keeps only the earliest scheduled time: $name", async ({ delays, runsAt }) => {
    const { clock, queue } = setup();
    const { calls, handler } = recorder(clock);
    queue.start(handler);
    for (const delay of delays) queue.addAfter("k", delay);
    await clock.advance(1000);
    expect(calls).toEqual(runsAt.map((t) => `k@${t}`));
  });

  it("makes a scheduled key due at once on add, and does not run it again at the scheduled time", async () => {
    const { clock, queue } = setup();
    const { calls, handler } = recorder(clock);
    queue.start(handler);
    queue.addAfter("k", 100);
    await clock.advance(10);
    queue.add("k");
    await clock.advance(1000);
    expect(calls).toEqual(["k@10"]);
  });

  it.each([
    { name: "5 ms doubling to the default cap", options: {}, expected: [5, 10, 20, 40, 80, 160] },
    {
      name: "capped at requeueMaxDelayMs",
      options: { requeueMaxDelayMs: 30 },
      expected: [5, 10, 20, 30, 30, 30],
    },
    {
      name: "a custom base",
      options: { requeueBaseDelayMs: 100, requeueMaxDelayMs: 250 },
      expected: [100, 200, 250, 250, 250, 250],
    },
  ])("retries a failing key with per-key exponential backoff: $name", async ({ options, expected }) => {
    const { clock, queue } = setup(options);
    const times: number[] = [];
    queue.start(() => {
      times.push(clock.now());
      return fail();
    });
    queue.add("k");
    await clock.advance(2000);
    const gaps = times.slice(1, expected.length + 1).map((t, i) => t - (times[i] ?? 0));
    expect(gaps).toEqual(expected);
  });

  it("backs off each key on its own", async () => {
    const { clock, queue } = setup({ concurrency: 2 });
    queue.start((key) => (key === "bad" ? fail() : Promise.resolve()));
    queue.add("bad");
    queue.add("good");
    await clock.advance(16);
    expect(queue.numRequeues("bad")).toBe(3);
    expect(queue.numRequeues("good")).toBe(0);
  });

  it.each([
    { name: "the low end", random: 0, expected: 50 },
    { name: "the middle", random: 0.5, expected: 100 },
    { name: "the high end", random: 0.999_999, expected: 150 },
  ])("spreads backoff by the jitter fraction: $name", async ({ random, expected }) => {
    const { clock, queue } = setup({ requeueBaseDelayMs: 100, requeueJitter: 0.5, random: () => random });
    const times: number[] = [];
    queue.start(() => {
      times.push(clock.now());
      return times.length === 1 ? fail() : Promise.resolve();
    });
    queue.add("k");
    await clock.advance(1000);
    expect(Math.round(times[1] ?? -1)).toBe(expected);
  });

  it("forgets the backoff and schedules the key when the handler returns requeueAfterMs", async () => {
    const { clock, queue } = setup();
    const { calls, handler } = recorder(clock, (_key, call) => {
      if (call <= 2) throw new Error("boom");
      if (call === 3) return { requeueAfterMs: 1000 };
    });
    queue.start(handler);
    queue.add("k");
    await clock.advance(15);
    expect(calls).toEqual(["k@0", "k@5", "k@15"]);
    expect(queue.numRequeues("k")).toBe(0);
    await clock.advance(2000);
    expect(calls).toEqual(["k@0", "k@5", "k@15", "k@1015"]);
  });

  it("forgets the backoff after a success", async () => {
    const { clock, queue } = setup();
    const { handler } = recorder(clock, (_key, call) => {
      if (call <= 3) throw new Error("boom");
    });
    queue.start(handler);
    queue.add("k");
    await clock.advance(5);
    expect(queue.numRequeues("k")).toBe(2);
    await clock.advance(100);
    expect(queue.numRequeues("k")).toBe(0);
  });

  it.each([
    { name: "zero", delay: 0 },
    { name: "negative", delay: -5000 },
    { name: "NaN", delay: Number.NaN },
  ])("treats a $name addAfter as an immediate add, once", async ({ delay }) => {
    const { clock, queue } = setup();
    const { calls, handler } = recorder(clock);
    queue.start(handler);
    queue.addAfter("k", delay);
    await clock.advance(10_000);
    expect(calls).toEqual(["k@0"]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it.each([
    { name: "zero", requeueAfterMs: 0 },
    { name: "negative", requeueAfterMs: -1 },
  ])(
    "does not hot-loop a handler that keeps returning a $name requeueAfterMs",
    async ({ requeueAfterMs }) => {
      const { clock, queue } = setup();
      const { calls, handler } = recorder(clock, () => ({ requeueAfterMs }));
      queue.start(handler);
      queue.add("k");
      await clock.advance(100);
      // Backed off like a failure: 0, 5, 15, 35, 75 within 100 ms, not thousands of calls.
      expect(calls).toEqual(["k@0", "k@5", "k@15", "k@35", "k@75"]);
    },
  );

  it("stops taking work on shutdown and waits for running handlers", async () => {
    const { clock, queue } = setup({ concurrency: 2 });
    const gate = Promise.withResolvers<void>();
    const { calls, handler } = recorder(clock, () => gate.promise);
    queue.start(handler);
    queue.add("a");
    queue.addAfter("b", 50);
    await clock.flush();
    let stopped = false;
    const stopping = queue.shutdown().then(() => (stopped = true));
    queue.add("c");
    await clock.advance(100);
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(stopped).toBe(true);
    expect(calls).toEqual(["a@0"]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("refuses a second start", () => {
    const { queue } = setup();
    queue.start(async () => {});
    expect(() => queue.start(async () => {})).toThrow(/started twice/);
  });

  it("reports depth, adds, retries and work duration", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const { clock, queue } = setup({ metrics, name: "q" });
    queue.add("a");
    queue.add("b");
    queue.add("a");
    expect((await metrics.workqueueDepth.get()).values).toEqual([{ labels: { name: "q" }, value: 2 }]);
    let failed = false;
    queue.start(async () => {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 250));
      if (!failed) {
        failed = true;
        throw new Error("boom");
      }
    });
    await clock.advance(2000);
    expect((await metrics.workqueueAddsTotal.get()).values[0]?.value).toBe(3);
    expect((await metrics.workqueueRetriesTotal.get()).values[0]?.value).toBe(1);
    expect((await metrics.workqueueDepth.get()).values[0]?.value).toBe(0);
    const duration = await metrics.workqueueWorkDurationSeconds.get();
    const count = duration.values.find((v) => v.metricName === "workqueue_work_duration_seconds_count");
    const sum = duration.values.find((v) => v.metricName === "workqueue_work_duration_seconds_sum");
    expect(count?.value).toBe(3);
    expect(sum?.value).toBeCloseTo(0.75);
  });
});

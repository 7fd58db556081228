import { describe, expect, it } from "vitest";
import { MockAgent, request } from "undici";
import { createFakeClock } from "./fake-clock.ts";
import { createShardGate, gatedDispatcher, isWriteMethod, ShardLostError } from "./shard-gate.ts";

describe("createShardGate", () => {
  it("lets a reconcile write while its shard was renewed within the deadline, and not after", async () => {
    const clock = createFakeClock();
    const gate = createShardGate(clock, 10_000);
    gate.renewed(1, clock.now());
    await gate.run(1, async () => {
      expect(() => gate.checkWrite("PATCH")).not.toThrow();
      // Paused past the deadline: no timer ran, the comparison at the write refuses it.
      await clock.advance(10_000);
      expect(() => gate.checkWrite("PATCH")).toThrow(ShardLostError);
    });
  });

  it("refuses writes for a shard never held, a closed one, and an object in no shard", async () => {
    const clock = createFakeClock();
    const gate = createShardGate(clock, 10_000);
    gate.renewed(0, clock.now());
    const writeIn = (shard: number | undefined) =>
      gate.run(shard, () => Promise.resolve().then(() => gate.checkWrite("PUT")));
    await expect(writeIn(2)).rejects.toThrow(/shard 2/);
    gate.close(0);
    await expect(writeIn(0)).rejects.toThrow(ShardLostError);
    await expect(writeIn(undefined)).rejects.toThrow(/no shard/);
  });

  it("does not gate work outside any shard (the Leases themselves)", () => {
    const gate = createShardGate(createFakeClock(), 10_000);
    expect(() => gate.checkWrite("PUT")).not.toThrow();
  });

  it("keeps the later renew when an older one reports late", () => {
    const clock = createFakeClock();
    const gate = createShardGate(clock, 10_000);
    gate.renewed(0, clock.now() + 5000);
    gate.renewed(0, clock.now());
    expect(gate.isOpen(0)).toBe(true);
  });

  it("drained resolves once the shard's running work has returned", async () => {
    const clock = createFakeClock();
    const gate = createShardGate(clock, 10_000);
    const work = Promise.withResolvers<void>();
    const running = gate.run(0, () => work.promise);
    let drained = false;
    void gate.drained(0).then(() => (drained = true));
    await clock.flush();
    expect(drained).toBe(false);
    work.resolve();
    await running;
    await clock.flush();
    expect(drained).toBe(true);
  });
});

describe("isWriteMethod", () => {
  it.each([
    { method: "GET", write: false },
    { method: "head", write: false },
    { method: "POST", write: true },
    { method: "PATCH", write: true },
    { method: "DELETE", write: true },
  ])("$method", ({ method, write }) => {
    expect(isWriteMethod(method)).toBe(write);
  });
});

describe("gatedDispatcher", () => {
  it("sends reads always and writes only while the shard's gate is open", async () => {
    const clock = createFakeClock();
    const gate = createShardGate(clock, 10_000);
    const mock = new MockAgent();
    mock.disableNetConnect();
    const pool = mock.get("http://datatrails.test");
    pool.intercept({ path: "/a", method: "GET" }).reply(200, "ok").persist();
    pool.intercept({ path: "/a", method: "POST" }).reply(201, "made").persist();
    const dispatcher = gatedDispatcher(mock, gate);
    const send = async (method: "GET" | "POST") =>
      (await request("http://datatrails.test/a", { method, dispatcher })).statusCode;
    gate.renewed(0, clock.now());
    await gate.run(0, async () => {
      expect(await send("POST")).toBe(201);
      await clock.advance(10_000);
      expect(await send("GET")).toBe(200);
      await expect(send("POST")).rejects.toThrow(ShardLostError);
    });
    await mock.close();
  });
});

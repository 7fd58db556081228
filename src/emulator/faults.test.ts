import { describe, expect, it } from "vitest";
import { Faults, FixedWindowLimiter } from "./faults.ts";

describe("fault switches", () => {
  it("fails the next N calls of the named route only", () => {
    const faults = new Faults();
    faults.failNext({ route: "applications.create", status: 503, count: 2 });
    expect(faults.takeFail("applications.get")).toBeUndefined();
    expect(faults.takeFail("applications.create")?.status).toBe(503);
    expect(faults.takeFail("applications.create")?.status).toBe(503);
    expect(faults.takeFail("applications.create")).toBeUndefined();
  });

  it("applies a rule without a route to any route, first armed first", () => {
    const faults = new Faults();
    faults.failNext({ status: 500 });
    faults.failNext({ status: 404 });
    expect(faults.takeFail("token")?.status).toBe(500);
    expect(faults.takeFail("assets.list")?.status).toBe(404);
  });

  it.each([
    ["drop", (f: Faults) => f.dropNext({ count: 2 }), (f: Faults) => f.takeDrop("token", "before")],
    [
      "drop after handling",
      (f: Faults) => f.dropNext({ count: 2, afterHandling: true }),
      (f: Faults) => f.takeDrop("token", "after") && !f.takeDrop("token", "before"),
    ],
    ["malformed", (f: Faults) => f.malformNext({ count: 2 }), (f: Faults) => f.takeMalformed("token")],
  ])("counts down %s", (_name, arm, take) => {
    const faults = new Faults();
    arm(faults);
    expect([take(faults), take(faults), take(faults)]).toEqual([true, true, false]);
  });

  it("prefers a route's latency to the global one, and clears both", () => {
    const faults = new Faults();
    faults.setLatency(100);
    faults.setLatency(500, "token");
    expect([faults.latencyFor("token"), faults.latencyFor("assets.list")]).toEqual([500, 100]);
    faults.clear();
    expect(faults.latencyFor("token")).toBe(0);
  });
});

describe("fixed-window rate limit", () => {
  it.each([
    ["no setting never limits", null, [0, 0, 0], [undefined, undefined, undefined]],
    [
      "the third in a window of two is refused",
      { limit: 2, windowSeconds: 10 },
      [0, 1_000, 2_000],
      [undefined, undefined, 8],
    ],
    [
      "a new window starts afresh",
      { limit: 1, windowSeconds: 1 },
      [0, 500, 1_000],
      [undefined, 0.5, undefined],
    ],
  ])("%s", (_name, setting, times, expected) => {
    const limiter = new FixedWindowLimiter();
    expect(times.map((t) => limiter.check(setting, t))).toEqual(expected);
  });
});

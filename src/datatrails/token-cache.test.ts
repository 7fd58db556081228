import { describe, expect, it } from "vitest";
import type { AccessToken } from "./api.ts";
import { SingleFlightToken } from "./token-cache.ts";

function token(name: string, obtainedMs: number, lifetimeS: number): AccessToken {
  return {
    accessToken: name,
    tokenType: "Bearer",
    expiresInSeconds: lifetimeS,
    obtainedAt: new Date(obtainedMs),
    expiresAt: new Date(obtainedMs + lifetimeS * 1000),
  };
}

function setup(lifetimeS = 3600) {
  const clock = { ms: 0 };
  let fetches = 0;
  const release: (() => void)[] = [];
  const cache = new SingleFlightToken(
    () =>
      new Promise<AccessToken>((resolve) => {
        fetches += 1;
        const t = token(`t${fetches}`, clock.ms, lifetimeS);
        release.push(() => resolve(t));
      }),
    () => clock.ms,
    300_000,
  );
  return { clock, cache, release, fetches: () => fetches };
}

describe("single-flight admin token", () => {
  it("shares one request among concurrent callers", async () => {
    const { cache, release, fetches } = setup();
    const all = Promise.all([cache.get(), cache.get(), cache.get()]);
    release.forEach((r) => r());
    expect((await all).map((t) => t.accessToken)).toEqual(["t1", "t1", "t1"]);
    expect(fetches()).toBe(1);
  });

  it.each([
    ["a one-hour token 5 min before expiry", 3600, 3600_000 - 300_000 - 1, 1],
    ["a one-hour token at 5 min before expiry", 3600, 3600_000 - 300_000, 2],
    ["a 10 s token before 80 % of its life", 10, 7_999, 1],
    ["a 10 s token at 80 % of its life", 10, 8_000, 2],
  ])("refreshes %s: %i fetches", async (_name, lifetimeS, advanceMs, expected) => {
    const { clock, cache, release, fetches } = setup(lifetimeS);
    const first = cache.get();
    release.shift()?.();
    await first;
    clock.ms += advanceMs;
    const second = cache.get();
    release.shift()?.();
    await second;
    expect(fetches()).toBe(expected);
  });

  it("drops a token a 401 refused, but not a newer one", async () => {
    const { cache, release, fetches } = setup();
    const first = cache.get();
    release.shift()?.();
    await first;
    cache.invalidate("t0");
    expect((await cache.get()).accessToken).toBe("t1");
    cache.invalidate("t1");
    const again = cache.get();
    release.shift()?.();
    expect((await again).accessToken).toBe("t2");
    expect(fetches()).toBe(2);
  });

  it("lets one caller give up without failing the shared request", async () => {
    const { cache, release } = setup();
    const controller = new AbortController();
    const impatient = cache.get(controller.signal);
    const patient = cache.get();
    controller.abort(new Error("gave up"));
    await expect(impatient).rejects.toThrow("gave up");
    release.shift()?.();
    expect((await patient).accessToken).toBe("t1");
  });

  it("fetches again after a failed request", async () => {
    let calls = 0;
    const cache = new SingleFlightToken(
      () => {
        calls += 1;
        return calls === 1 ? Promise.reject(new Error("down")) : Promise.resolve(token("ok", 0, 60));
      },
      () => 0,
      300_000,
    );
    await expect(cache.get()).rejects.toThrow("down");
    expect((await cache.get()).accessToken).toBe("ok");
  });
});

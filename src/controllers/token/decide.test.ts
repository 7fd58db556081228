import { describe, expect, it } from "vitest";
import { bearerTokenSpec, type BearerToken, type BearerTokenStatus } from "../../api/v1alpha1/index.ts";
import {
  afterFetch,
  afterRefresh,
  beforeFetch,
  planRefresh,
  reshapeStep,
  steadyStatus,
  tokenIsWorse,
} from "./decide.ts";
import { at, bearerToken, goodSecret, min, t0 } from "./decide.fixtures.ts";
import type { TokenObserved } from "./model.ts";

function token(status?: BearerTokenStatus, generation = 1): BearerToken {
  return bearerToken({ name: "tl-token", status, generation });
}

function observed(over: Partial<TokenObserved> = {}): TokenObserved {
  const object = over.object ?? token();
  return {
    object,
    spec: object.spec,
    secret: goodSecret,
    secretClaim: { state: "mine", adopted: false },
    inputs: { state: "ready", version: "creds/3" },
    ...over,
  };
}

describe("planRefresh", () => {
  it.each<[string, Partial<TokenObserved>, Date, string]>([
    ["no token Secret", { secret: undefined }, t0, "missing"],
    ["a Secret without a token", { secret: { ...goodSecret, hasToken: false } }, t0, "missing"],
    ["an expired token", {}, at(61 * min), "expired"],
    ["rotated credentials", { inputs: { state: "ready", version: "creds/4" } }, at(min), "inputsChanged"],
    ["a changed spec", { object: token(undefined, 2) }, at(min), "specChanged"],
    ["an edited token Secret", { secret: { ...goodSecret, wellFormed: false } }, at(min), "malformed"],
    ["a token past its refresh point", {}, at(50 * min), "due"],
  ])("fetches for %s", (_name, over, now, cause) => {
    expect(planRefresh(observed(over), now)).toEqual({ fetch: true, cause });
  });

  it("waits for a valid token until its refresh point, without fetching (a restart costs nothing)", () => {
    const plan = planRefresh(observed(), at(10 * min));
    expect(plan.fetch).toBe(false);
    if (!plan.fetch) {
      expect(plan.requeueAfterMs).toBeGreaterThanOrEqual(0.67 * 60 * min - 10 * min);
      expect(plan.requeueAfterMs).toBeLessThanOrEqual(0.8 * 60 * min - 10 * min);
    }
  });

  it("keeps the backoff after a failure even when an event arrives early", () => {
    const failing = token({ consecutiveFailures: 2, nextRefreshAt: at(50 * min + 30_000).toISOString() });
    expect(planRefresh(observed({ object: failing }), at(50 * min))).toEqual({
      fetch: false,
      requeueAfterMs: 30_000,
    });
  });

  it("tries rotated credentials at once, even while backing off", () => {
    const failing = token({ consecutiveFailures: 2, nextRefreshAt: at(50 * min + 30_000).toISOString() });
    const plan = planRefresh(
      observed({ object: failing, inputs: { state: "ready", version: "creds/9" } }),
      at(50 * min),
    );
    expect(plan).toEqual({ fetch: true, cause: "inputsChanged" });
  });
});

describe("planRefresh and the Secret's template (a reshape asks the issuer nothing)", () => {
  const recorded = { ...goodSecret, request: "r1" };
  it.each<{ name: string; over: Partial<TokenObserved>; fetch: boolean }>([
    {
      name: "a new generation with the same request digest (a template change) fetches nothing",
      over: { object: token(undefined, 2), secret: recorded, request: "r1" },
      fetch: false,
    },
    {
      name: "a new generation with another request digest fetches",
      over: { object: token(undefined, 2), secret: recorded, request: "r2" },
      fetch: true,
    },
    {
      name: "inputs recorded as <uid>/<resourceVersion> by earlier versions still match",
      over: { inputs: { state: "ready", version: "v2:abc", legacyVersion: "creds/3" } },
      fetch: false,
    },
  ])("$name", ({ over, fetch }) => {
    expect(planRefresh(observed(over), at(min)).fetch).toBe(fetch);
  });

  it("reshapes a Secret whose shape is stale, instead of fetching", () => {
    const step = beforeFetch(observed({ secret: { ...recorded, shapeCurrent: false } }), undefined, at(min));
    expect(step.kind).toBe("reshape");
  });

  it("writes the published token again, shaped by the template, with no fetch", () => {
    const object = token();
    object.spec = bearerTokenSpec.parse({
      ...object.spec,
      secretTemplate: { keys: { access_token: "jwt" }, renderings: ["Dotenv"] },
    });
    const o = observed({ object, spec: object.spec, secret: { ...recorded, shapeCurrent: false } });
    const step = reshapeStep(o, "h.p.s", at(min), 1000);
    expect(step.kind).toBe("publish");
    if (step.kind !== "publish") return;
    expect(step.create).toBe(false);
    expect(step.secret.data["jwt"]).toBe("h.p.s");
    expect(step.secret.data["access_token"]).toBeUndefined();
    expect(step.secret.data[".env"]).toBe(
      `DATATRAILS_TOKEN=h.p.s\nDATATRAILS_TOKEN_EXPIRES_AT=2026-03-01T01:00:00Z\n`,
    );
    expect(step.secret.annotations?.["datatrails.ai/issued-at"]).toBe("2026-03-01T00:00:00Z");
  });

  it("waits when there is no published token to reshape", () => {
    const o = observed({ secret: { ...recorded, shapeCurrent: false } });
    expect(reshapeStep(o, undefined, at(min), 1000).kind).toBe("wait");
  });
});

describe("afterRefresh", () => {
  it("publishes a new token, schedules its refresh and reports TokenValid", () => {
    const result = afterRefresh(
      observed({ secret: undefined }),
      { ok: true, accessToken: "h.p.s", issuedAt: t0, expiresAt: at(60 * min) },
      t0,
    );
    expect(result.publish).toBe(true);
    expect(result.requeueAfterMs).toBeGreaterThanOrEqual(0.67 * 60 * min);
    expect(result.requeueAfterMs).toBeLessThanOrEqual(0.8 * 60 * min);
    expect(result.status.tokenExpiresAt).toBe("2026-03-01T01:00:00Z");
    expect(result.status.conditions?.find((c) => c.type === "TokenReady")).toMatchObject({
      status: "True",
      reason: "TokenValid",
    });
  });

  it("keeps a still-valid token when the issuer fails: not published, True with RefreshFailing, retried before expiry", () => {
    const now = at(50 * min);
    const result = afterRefresh(
      observed(),
      { ok: false, kind: "unavailable", message: "503 from the issuer" },
      now,
    );
    expect(result.publish).toBe(false);
    expect(result.requeueAfterMs).toBeLessThanOrEqual((10 * min) / 3);
    expect(result.status.consecutiveFailures).toBe(1);
    expect(result.status.conditions?.find((c) => c.type === "TokenReady")).toMatchObject({
      status: "True",
      reason: "RefreshFailing",
    });
  });

  it("turns TokenReady False with TokenExpired once the kept token has expired", () => {
    const result = afterRefresh(
      observed(),
      { ok: false, kind: "unavailable", message: "connection refused" },
      at(61 * min),
    );
    expect(result.status.conditions?.find((c) => c.type === "TokenReady")).toMatchObject({
      status: "False",
      reason: "TokenExpired",
    });
  });

  it.each([
    ["rejected", "CredentialsRejected"],
    ["verification", "VerificationFailed"],
    ["unavailable", "RefreshFailing"],
    ["inputs", "SecretNotFound"],
  ] as const)("with no token ever, a %s failure reports %s", (kind, reason) => {
    const result = afterRefresh(observed({ secret: undefined }), { ok: false, kind, message: "m" }, t0);
    expect(result.status.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason,
    });
  });

  it("honours the issuer's Retry-After when it is longer than the backoff", () => {
    const result = afterRefresh(
      observed({ secret: undefined }),
      { ok: false, kind: "unavailable", message: "429", retryAfterMs: 45_000 },
      t0,
    );
    expect(result.requeueAfterMs).toBe(45_000);
  });

  it("counts consecutive failures and clears them on success", () => {
    const failing = token({ consecutiveFailures: 3, lastFailure: "x" });
    const result = afterRefresh(
      observed({ object: failing }),
      { ok: true, accessToken: "h.p.s", issuedAt: t0, expiresAt: at(60 * min) },
      t0,
    );
    expect(result.status.consecutiveFailures).toBeUndefined();
    expect(result.status.lastFailure).toBeUndefined();
  });
});

describe("steadyStatus", () => {
  it("rebuilds the schedule from the token Secret alone", () => {
    const status = steadyStatus(observed(), at(5 * min));
    expect(status.tokenExpiresAt).toBe("2026-03-01T01:00:00Z");
    expect(Date.parse(status.nextRefreshAt ?? "")).toBeGreaterThan(at(40 * min).getTime() - 1000);
    expect(status.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "True",
      reason: "TokenValid",
    });
  });
});

describe("a valid token is never replaced by a worse one", () => {
  // The published token: issued at t0, valid until t0 + 60 min; the refresh runs at t0 + 45 min.
  const now = at(45 * min);
  const earlier = {
    ok: true as const,
    accessToken: "h.p.s",
    issuedAt: at(-10 * min),
    expiresAt: at(50 * min),
  };
  const later = { ok: true as const, accessToken: "h.p.s", issuedAt: now, expiresAt: at(105 * min) };

  it.each<[string, TokenObserved, typeof earlier, Parameters<typeof tokenIsWorse>[2], Date, boolean]>([
    ["a scheduled refresh returning a token that ends sooner", observed(), earlier, "due", now, true],
    ["a scheduled refresh returning a token that ends later", observed(), later, "due", now, false],
    ["new credentials, whatever the expiry", observed(), earlier, "inputsChanged", now, false],
    ["a changed spec, whatever the expiry", observed(), earlier, "specChanged", now, false],
    ["no token published yet", observed({ secret: undefined }), earlier, "missing", now, false],
    ["the published token already expired", observed(), earlier, "due", at(61 * min), false],
  ])("%s: worse=%s", (_name, o, outcome, cause, when, expected) => {
    expect(tokenIsWorse(o, outcome, cause, when)).toBe(expected);
  });

  it("keeps the published token, reports RefreshFailing and retries before it expires", () => {
    const result = afterRefresh(observed(), earlier, now, undefined, "due");
    expect(result.publish).toBe(false);
    expect(result.status.tokenExpiresAt).toBeUndefined();
    expect(result.status.consecutiveFailures).toBe(1);
    expect(result.status.lastFailure).toMatch(/expiring at 2026-03-01T00:50:00Z, before the published one/);
    const ready = result.status.conditions?.find((c) => c.type === "TokenReady");
    expect(ready).toMatchObject({ status: "True", reason: "RefreshFailing" });
    expect(result.requeueAfterMs).toBeGreaterThan(0);
    expect(result.requeueAfterMs).toBeLessThanOrEqual(15 * min);
  });

  it("publishes a token that ends later", () => {
    const result = afterRefresh(observed(), later, now, undefined, "due");
    expect(result.publish).toBe(true);
    expect(result.status.tokenExpiresAt).toBe("2026-03-01T01:45:00Z");
  });
});

describe("beforeFetch", () => {
  it.each([
    {
      name: "a token Secret held by another object is refused, with an Event the first time",
      o: observed({ secretClaim: { state: "held", holder: { kind: "BearerToken", name: "x", uid: "u" } } }),
      problem: "Secret tl-token is held by BearerToken x",
      want: { kind: "refuse", reason: "SecretInUse", event: true },
    },
    {
      name: "a user's token Secret is refused",
      o: observed({ secretClaim: { state: "foreign" } }),
      problem: "Secret tl-token exists and was not created by the operator",
      want: { kind: "refuse", reason: "SecretNotOwned", event: true },
    },
    {
      name: "a refusal already stated records no second Event",
      o: observed({
        object: token({
          conditions: [
            {
              type: "TokenReady",
              status: "False",
              reason: "SecretNotOwned",
              message: "same",
              lastTransitionTime: "2026-03-01T00:00:00Z",
            },
          ],
        }),
        secretClaim: { state: "foreign" },
      }),
      problem: "same",
      want: { kind: "refuse", reason: "SecretNotOwned", event: false },
    },
    { name: "a valid token not due waits", o: observed(), problem: undefined, want: { kind: "wait" } },
    {
      name: "no token fetches",
      o: observed({ secret: undefined }),
      problem: undefined,
      want: { kind: "fetch" },
    },
  ])("$name", ({ o, problem, want }) => {
    const step = beforeFetch(o, problem, t0);
    expect(step.kind).toBe(want.kind);
    if (step.kind === "refuse") {
      expect(step.status.conditions?.find((c) => c.type === "TokenReady")?.reason).toBe(want.reason);
      expect(step.event !== undefined).toBe(want.event);
    }
  });
});

describe("afterFetch", () => {
  const issued = {
    ok: true,
    accessToken: "h.p.s",
    issuedAt: at(45 * min),
    expiresAt: at(105 * min),
  } as const;
  it.each([
    {
      name: "a routine refresh publishes without an Event",
      cause: "due",
      fetched: issued,
      want: ["publish", false],
    },
    {
      name: "a first token publishes with an Event",
      cause: "missing",
      fetched: issued,
      want: ["publish", true],
    },
    {
      name: "a failed refresh keeps the token, with a Warning",
      cause: "due",
      fetched: { ok: false, kind: "unavailable", message: "down" },
      want: ["keep", true],
    },
  ] as const)("$name", ({ cause, fetched, want }) => {
    const o = observed({
      object: token({
        conditions: [
          { type: "TokenReady", status: "True", reason: "TokenValid", message: "", lastTransitionTime: "x" },
        ],
      }),
    });
    const step = afterFetch(o, fetched, at(46 * min), cause);
    expect([step.kind, step.event !== undefined]).toEqual(want);
  });
});

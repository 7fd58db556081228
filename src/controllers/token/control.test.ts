/**
 * On-demand control of a BearerToken (docs/control.md): datatrails.ai/refresh-requested-at asks for
 * exactly one token request per value; spec.suspend stops every request and Secret write.
 */
import { describe, expect, it } from "vitest";
import { refreshAnnotation, type BearerToken, type BearerTokenStatus } from "../../api/v1alpha1/index.ts";
import { afterFetch, beforeFetch, planRefresh } from "./decide.ts";
import { at, bearerToken, goodSecret, min } from "./decide.fixtures.ts";
import type { TokenObserved } from "./model.ts";

const token = (
  opts: { status?: BearerTokenStatus; annotations?: Record<string, string>; suspend?: boolean } = {},
): BearerToken => bearerToken(opts);
const secret = goodSecret;

function observed(object: BearerToken, over: Partial<TokenObserved> = {}): TokenObserved {
  return {
    object,
    spec: object.spec,
    secret,
    secretClaim: { state: "mine", adopted: false },
    inputs: { state: "ready", version: "creds/3" },
    ...over,
  };
}

const suspendedCondition = {
  type: "Suspended",
  status: "True" as const,
  reason: "Suspended",
  message: "m",
  observedGeneration: 1,
  lastTransitionTime: "2026-02-01T00:00:00Z",
};
const issued = { ok: true, accessToken: "h.p.s", issuedAt: at(10 * min), expiresAt: at(70 * min) } as const;

describe("datatrails.ai/refresh-requested-at", () => {
  it.each([
    {
      name: "a new value fetches a valid token long before its refresh point",
      object: token({ annotations: { [refreshAnnotation]: "2026-03-01T00:10:00Z" } }),
      fetch: true,
    },
    {
      name: "the value already acted on fetches nothing",
      object: token({
        annotations: { [refreshAnnotation]: "2026-03-01T00:10:00Z" },
        status: { lastRefreshRequest: "2026-03-01T00:10:00Z" },
      }),
      fetch: false,
    },
    {
      name: "another value after one acted on fetches again (any string)",
      object: token({
        annotations: { [refreshAnnotation]: "again" },
        status: { lastRefreshRequest: "2026-03-01T00:10:00Z" },
      }),
      fetch: true,
    },
    {
      name: "a new value is answered at once even during a backoff",
      object: token({
        annotations: { [refreshAnnotation]: "now" },
        status: { consecutiveFailures: 2, nextRefreshAt: at(30 * min).toISOString() },
      }),
      fetch: true,
    },
    { name: "no annotation fetches nothing", object: token(), fetch: false },
  ])("$name", ({ object, fetch }) => {
    const plan = planRefresh(observed(object), at(10 * min));
    expect(plan.fetch).toBe(fetch);
    if (plan.fetch) expect(plan.cause).toBe("requested");
  });

  it.each([
    { name: "a published token", fetched: issued, kind: "publish" },
    {
      name: "a failed request",
      fetched: { ok: false, kind: "unavailable", message: "down" } as const,
      kind: "keep",
    },
  ])("records the value acted on after $name, with an Event naming it", ({ fetched, kind }) => {
    const o = observed(token({ annotations: { [refreshAnnotation]: "r1" } }));
    const step = afterFetch(o, fetched, at(10 * min), "requested");
    expect(step.kind).toBe(kind);
    expect(step.status.lastRefreshRequest).toBe("r1");
    if (kind === "publish") expect(step.event?.note).toContain(`${refreshAnnotation}=r1`);
    // Recorded, the same value asks for nothing more.
    const next = observed(
      token({ annotations: { [refreshAnnotation]: "r1" }, status: { lastRefreshRequest: "r1" } }),
    );
    expect(planRefresh(next, at(11 * min)).fetch).toBe(false);
  });
});

describe("spec.suspend", () => {
  it.each([
    { name: "a valid token", over: {} },
    { name: "a token past its refresh point", over: {}, now: at(55 * min) },
    { name: "an expired token", over: {}, now: at(61 * min) },
    { name: "no token Secret", over: { secret: undefined } },
    { name: "rotated credentials", over: { inputs: { state: "ready", version: "creds/9" } as const } },
  ])("fetches nothing and writes no Secret for $name", ({ over, now }) => {
    const step = beforeFetch(observed(token({ suspend: true }), over), undefined, now ?? at(10 * min));
    expect(step.kind).toBe("wait");
    if (step.kind !== "wait") return;
    const suspended = step.status.conditions?.find((c) => c.type === "Suspended");
    expect(suspended).toMatchObject({ status: "True", reason: "Suspended", observedGeneration: 1 });
    expect(step.status.nextRefreshAt).toBeUndefined();
    expect(step.event?.reason).toBe("Suspended");
  });

  it("lets a refresh request wait, unrecorded, and records no second Event", () => {
    const o = observed(
      token({
        suspend: true,
        annotations: { [refreshAnnotation]: "r1" },
        status: { conditions: [suspendedCondition] },
      }),
    );
    const step = beforeFetch(o, undefined, at(10 * min));
    expect(step.kind).toBe("wait");
    if (step.kind !== "wait") return;
    expect(step.status.lastRefreshRequest).toBeUndefined();
    expect(step.event).toBeUndefined();
    // The gauge keeps showing the published token.
    expect(step.expiresAt).toEqual(at(60 * min));
  });

  it("resumes where it left off: the condition goes, nothing is fetched before it is due", () => {
    const o = observed(token({ status: { conditions: [suspendedCondition] } }));
    const step = beforeFetch(o, undefined, at(10 * min));
    expect(step.kind).toBe("wait");
    if (step.kind === "wait")
      expect(step.status.conditions?.find((c) => c.type === "Suspended")).toBeUndefined();
  });

  it("resumes with the request that waited: one fetch, then recorded", () => {
    const o = observed(
      token({ annotations: { [refreshAnnotation]: "r1" }, status: { conditions: [suspendedCondition] } }),
    );
    expect(planRefresh(o, at(10 * min))).toEqual({ fetch: true, cause: "requested" });
    const step = afterFetch(o, issued, at(10 * min), "requested");
    expect(step.status.lastRefreshRequest).toBe("r1");
    expect(step.status.conditions?.find((c) => c.type === "Suspended")).toBeUndefined();
  });
});

describe("a request already answered, seen through a stale cache", () => {
  it("is not fetched again when the token Secret (read fresh) says its token answers it", () => {
    // The status in the cache does not show the request yet; the Secret written with the token does.
    const o = observed(token({ annotations: { [refreshAnnotation]: "r1" } }), {
      secret: { ...secret, refreshRequest: "r1" },
    });
    expect(planRefresh(o, at(10 * min)).fetch).toBe(false);
  });

  it("writes the request a published token answers onto the token Secret", () => {
    const o = observed(token({ annotations: { [refreshAnnotation]: "r1" } }));
    const step = afterFetch(o, issued, at(10 * min), "requested");
    if (step.kind !== "publish") throw new Error(`expected a publish, got ${step.kind}`);
    expect(step.secret.annotations?.["datatrails.ai/refresh-request"]).toBe("r1");
  });
});

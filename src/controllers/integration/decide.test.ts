import { describe, expect, it } from "vitest";
import {
  createStartedAnnotation,
  ownerClaimName,
  rfc3339,
  rotateAnnotation,
} from "../../api/v1alpha1/index.ts";
import {
  integrationSpec,
  type DataTrailsIntegration,
  type IntegrationStatus,
} from "../../api/v1alpha1/integration.ts";
import { decide } from "./decide.ts";
import {
  isSettled,
  needsSearch,
  needsSecretCheck,
  rotationDueAt,
  settledCheckDelayMs,
} from "./predicates.ts";
import { jitterFraction } from "../../tokens/schedule.ts";
import type { Action, ApplicationView, IntegrationObserved } from "./model.ts";
import {
  app,
  credentials,
  identity,
  now,
  object,
  observed,
  options,
  settled,
  tokenUrl,
  types,
  uid,
  url,
} from "./decide.fixtures.ts";

describe("decide: creating", () => {
  it.each<[string, IntegrationObserved, string[]]>([
    [
      "a new object gets a finalizer and a pending mark in one patch, then the create, the Secret and the token",
      observed(object({ finalizer: false }), { token: { exists: false, upToDate: false } }),
      ["MarkPendingCreate", "CreateApplication", "WriteCredentials", "Event:Created", "ApplyBearerToken"],
    ],
    [
      "a pending create whose search found nothing creates without marking again",
      observed(object({ status: { pendingCreate: { displayName: "TrafficLight101", startedAt: "x" } } }), {
        search: { state: "done", apps: [] },
      }),
      ["CreateApplication", "WriteCredentials", "Event:Created"],
    ],
    [
      "a pending create under an older display name is marked again with the new one",
      observed(object({ status: { pendingCreate: { displayName: "Old", startedAt: "x" } } }), {
        search: { state: "done", apps: [] },
      }),
      ["MarkPendingCreate", "CreateApplication", "WriteCredentials", "Event:Created"],
    ],
    [
      "a create started under the annotation whose search found nothing creates without marking again",
      observed(
        object({
          annotations: {
            [createStartedAnnotation]: JSON.stringify({ displayName: "TrafficLight101", startedAt: "x" }),
          },
        }),
        { search: { state: "done", apps: [] } },
      ),
      ["CreateApplication", "WriteCredentials", "Event:Created"],
    ],
    [
      "a create started under the annotation with an older display name marks the annotation again",
      observed(
        object({
          annotations: { [createStartedAnnotation]: JSON.stringify({ displayName: "Old", startedAt: "x" }) },
        }),
        { search: { state: "done", apps: [] } },
      ),
      ["MarkPendingCreate", "CreateApplication", "WriteCredentials", "Event:Created"],
    ],
    [
      "applications with the same name that carry no ownership claim are not ours: create",
      observed(object({ status: { pendingCreate: { displayName: "TrafficLight101", startedAt: "x" } } }), {
        search: { state: "done", apps: [app({ customClaims: { serial_number: "TL1" } })] },
      }),
      ["CreateApplication", "WriteCredentials", "Event:Created"],
    ],
  ])("%s", (_name, o, expected) => {
    expect(types(decide(o, now, options).actions)).toEqual(expected);
  });

  it("the first mark is the create-started annotation, written with the finalizer", () => {
    const plan = decide(
      observed(object({ finalizer: false }), { token: { exists: false, upToDate: false } }),
      now,
      options,
    );
    expect(plan.actions[0]).toEqual({
      type: "MarkPendingCreate",
      displayName: "TrafficLight101",
      at: rfc3339(now),
      into: "annotation",
      addFinalizer: true,
    });
  });

  it("a create-started annotation is pending until status records the identity, then it is history", () => {
    const annotations = {
      [createStartedAnnotation]: JSON.stringify({ displayName: "TrafficLight101", startedAt: "x" }),
    };
    expect(needsSearch(object({ annotations }), false)).toBe(true);
    expect(needsSearch(object({ annotations, status: { applicationIdentity: identity } }), false)).toBe(
      false,
    );
    expect(needsSearch(object({ annotations: { [createStartedAnnotation]: "not json" } }), false)).toBe(true);
  });

  it("creates with the user's claims plus the ownership claim", () => {
    const plan = decide(observed(object()), now, options);
    const create = plan.actions.find((a) => a.type === "CreateApplication");
    expect(create).toEqual({
      type: "CreateApplication",
      displayName: "TrafficLight101",
      customClaims: { serial_number: "TL1", [ownerClaimName]: uid },
    });
  });
});

describe("decide: crash recovery never creates twice", () => {
  const pending = { pendingCreate: { displayName: "TrafficLight101", startedAt: "2026-06-01T11:59:59Z" } };

  it("a created application whose secret was lost gets its secret regenerated", () => {
    const plan = decide(
      observed(object({ status: pending }), { search: { state: "done", apps: [app()] } }),
      now,
      options,
    );
    expect(types(plan.actions)).toEqual([
      "MarkPendingRotation",
      "RegenerateSecret",
      "WriteCredentials",
      "Event:SecretRecovered",
    ]);
    expect(plan.actions).toContainEqual({ type: "RegenerateSecret", identity, cause: "lost" });
    expect(plan.status.pendingCreate).toBeUndefined();
    expect(plan.status.applicationIdentity).toBe(identity);
  });

  it("a created application whose Secret was written keeps the secret once it is proven to work", () => {
    const plan = decide(
      observed(object({ status: pending }), {
        search: { state: "done", apps: [app()] },
        credentials,
        secretCheck: { state: "works" },
      }),
      now,
      options,
    );
    expect(types(plan.actions)).toEqual([]);
    expect(plan.status.credentialsSecretVersion).toBe("55");
  });

  it("extra applications carrying this object's UID are deleted as duplicates", () => {
    const dup = app({
      identity: "applications/00000000-0000-4000-8000-000000000000",
      clientId: "00000000-0000-4000-8000-000000000000",
    });
    const plan = decide(
      observed(object({ status: pending }), { search: { state: "done", apps: [app(), dup] } }),
      now,
      options,
    );
    expect(plan.actions).toContainEqual({
      type: "DeleteApplication",
      identity: dup.identity,
      cause: "duplicate",
    });
    expect(types(plan.actions)).not.toContain("CreateApplication");
  });

  it("a rotation interrupted after the regenerate regenerates again when the stored secret is rejected", () => {
    const plan = decide(
      observed(object({ status: { ...settled, pendingRotation: { startedAt: "x" } } }), {
        application: { state: "found", app: app() },
        credentials,
        secretCheck: { state: "rejected" },
      }),
      now,
      options,
    );
    expect(plan.actions).toContainEqual({ type: "RegenerateSecret", identity, cause: "rejected" });
    expect(types(plan.actions)).not.toContain("MarkPendingRotation");
  });

  it("a rotation interrupted after the Secret write finishes without another regenerate", () => {
    const plan = decide(
      observed(
        object({
          status: { ...settled, credentialsSecretVersion: "54", pendingRotation: { startedAt: "x" } },
        }),
        {
          application: { state: "found", app: app() },
          credentials,
          secretCheck: { state: "works" },
        },
      ),
      now,
      options,
    );
    expect(types(plan.actions)).toEqual([]);
    expect(plan.status.pendingRotation).toBeUndefined();
    expect(plan.status.credentialsSecretVersion).toBe("55");
  });
});

describe("decide: an on-demand rotation interrupted by a crash", () => {
  const requested = { [rotateAnnotation]: "r1" };
  const mark = {
    startedAt: "2026-06-01T11:00:00Z",
    previousValidFrom: "2026-01-01T00:00:00Z",
    request: "r1",
  };

  it("counts it done when the regenerate happened and the written secret works: no second regenerate", () => {
    const plan = decide(
      observed(
        object({
          status: { ...settled, credentialsSecretVersion: "54", pendingRotation: mark },
          annotations: requested,
        }),
        {
          application: { state: "found", app: app({ validFrom: "2026-06-01T11:00:01Z" }) },
          credentials,
          secretCheck: { state: "works" },
        },
      ),
      now,
      options,
    );
    expect(plan.actions).toEqual([]);
    expect(plan.status).toMatchObject({
      lastRotateRequest: "r1",
      secretRotatedAt: "2026-06-01T11:00:01Z",
      credentialsSecretVersion: "55",
    });
    expect(plan.status.pendingRotation).toBeUndefined();
  });

  it("regenerates without marking again when the crash came before the regenerate", () => {
    const plan = decide(
      observed(object({ status: { ...settled, pendingRotation: mark }, annotations: requested }), {
        application: { state: "found", app: app({ validFrom: "2026-01-01T00:00:00Z" }) },
        credentials,
        secretCheck: { state: "works" },
      }),
      now,
      options,
    );
    expect(types(plan.actions)).toEqual(["RegenerateSecret", "WriteCredentials", "Event:SecretRotated"]);
    expect(plan.status.lastRotateRequest).toBe("r1");
  });

  it("marks a new rotation with the secret's valid_from and the request it answers", () => {
    const plan = decide(
      observed(object({ status: settled, annotations: requested }), {
        application: { state: "found", app: app({ validFrom: "2026-01-01T00:00:00Z" }) },
        credentials,
      }),
      now,
      options,
    );
    expect(plan.actions[0]).toEqual({
      type: "MarkPendingRotation",
      at: "2026-06-01T12:00:00Z",
      previousValidFrom: "2026-01-01T00:00:00Z",
      request: "r1",
    });
  });
});

describe("decide: steady state and drift", () => {
  const found = { application: { state: "found", app: app() } as const, credentials };

  it("does nothing when all is in place, and is Ready", () => {
    const plan = decide(observed(object({ status: settled }), found), now, options);
    expect(plan.actions).toEqual([]);
    expect(plan.status.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "True",
      observedGeneration: 3,
    });
    expect(plan.requeueAfterMs).toBe(options.resyncIntervalMs);
  });

  it.each<[string, Partial<ApplicationView>, Action]>([
    [
      "renamed in DataTrails",
      { displayName: "Other" },
      { type: "PatchApplication", identity, displayName: "TrafficLight101" },
    ],
    [
      "claims edited in DataTrails (PATCH sends the whole map)",
      { customClaims: { serial_number: "TL2", [ownerClaimName]: uid } },
      { type: "PatchApplication", identity, customClaims: { serial_number: "TL1", [ownerClaimName]: uid } },
    ],
  ])("repairs an application %s", (_name, drift, expected) => {
    const plan = decide(
      observed(object({ status: settled }), { ...found, application: { state: "found", app: app(drift) } }),
      now,
      options,
    );
    expect(plan.actions[0]).toEqual(expected);
  });

  it("re-creates an application deleted in DataTrails, marking the create first", () => {
    const plan = decide(
      observed(object({ status: settled }), { application: { state: "missing" }, credentials }),
      now,
      options,
    );
    expect(types(plan.actions)).toEqual([
      "Event:ApplicationMissing",
      "MarkPendingCreate",
      "CreateApplication",
      "WriteCredentials",
      "Event:Created",
    ]);
  });

  it("rewrites the credentials Secret when its url keys drifted, keeping the secret", () => {
    const plan = decide(
      observed(object({ status: settled }), {
        ...found,
        credentials: { ...credentials, url: "https://evil" },
      }),
      now,
      options,
    );
    expect(plan.actions).toEqual([{ type: "WriteCredentials", url, tokenUrl, secretFrom: "existing" }]);
  });

  it("regenerates when the credentials Secret was deleted", () => {
    const plan = decide(
      observed(object({ status: settled }), { ...found, credentials: undefined }),
      now,
      options,
    );
    expect(plan.actions).toContainEqual({ type: "RegenerateSecret", identity, cause: "lost" });
  });

  it("stops with the connection's reason and touches nothing in DataTrails", () => {
    const plan = decide(
      observed(object({ finalizer: false }), {
        connection: { state: "failed", reason: "ConnectionNotAllowed", message: "no" },
      }),
      now,
      options,
    );
    expect(types(plan.actions)).toEqual(["AddFinalizer"]);
    expect(plan.failure?.reason).toBe("ConnectionNotAllowed");
    expect(plan.status.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "ConnectionNotAllowed",
    });
  });
});

describe("decide: adoption", () => {
  const adopt = { adopt: { identity } };

  it("adopts: takes the claims over (adding the ownership claim) and regenerates the unknown secret", () => {
    const plan = decide(
      observed(object({ spec: adopt }), {
        identity: { value: identity, source: "adopt" },
        application: { state: "found", app: app({ customClaims: {} }) },
        token: { exists: false, upToDate: false },
      }),
      now,
      options,
    );
    expect(types(plan.actions)).toEqual([
      "PatchApplication",
      "Event:Updated",
      "MarkPendingRotation",
      "RegenerateSecret",
      "WriteCredentials",
      "Event:SecretRotated",
      "ApplyBearerToken",
    ]);
  });

  it("refuses to create when the application to adopt does not exist", () => {
    const plan = decide(
      observed(object({ spec: adopt }), {
        identity: { value: identity, source: "adopt" },
        application: { state: "missing" },
      }),
      now,
      options,
    );
    expect(types(plan.actions)).toEqual([]);
    expect(plan.failure).toMatchObject({
      reason: "AdoptTargetNotFound",
      retryAfterMs: options.missingTargetRetryMs,
    });
  });
});

describe("decide: rotation", () => {
  const found = { application: { state: "found", app: app() } as const, credentials };

  it("rotates on a new datatrails.ai/rotate value and records it", () => {
    const plan = decide(
      observed(object({ status: settled, annotations: { [rotateAnnotation]: "1" } }), found),
      now,
      options,
    );
    expect(plan.actions).toContainEqual({ type: "RegenerateSecret", identity, cause: "requested" });
    expect(plan.status.lastRotateRequest).toBe("1");
  });

  it("does not rotate again for a value already acted on", () => {
    const plan = decide(
      observed(
        object({ status: { ...settled, lastRotateRequest: "1" }, annotations: { [rotateAnnotation]: "1" } }),
        found,
      ),
      now,
      options,
    );
    expect(plan.actions).toEqual([]);
  });

  it("rotates renewBeforeDays before valid_until, and not before", () => {
    const expiring = {
      application: { state: "found", app: app({ validUntil: "2026-06-20T00:00:00Z" }) } as const,
      credentials,
    };
    expect(decide(observed(object({ status: settled }), expiring), now, options).actions).toContainEqual({
      type: "RegenerateSecret",
      identity,
      cause: "expiring",
    });
    const later = {
      application: { state: "found", app: app({ validUntil: "2026-07-02T12:00:00Z" }) } as const,
      credentials,
    };
    const plan = decide(observed(object({ status: settled }), later), now, {
      ...options,
      resyncIntervalMs: 10 * 86_400_000,
    });
    expect(plan.actions).toEqual([]);
    expect(plan.requeueAfterMs).toBe(86_400_000);
  });

  it.each([
    [
      "BeforeExpiry, 30 days",
      { policy: "BeforeExpiry" as const, renewBeforeDays: 30 },
      "2026-12-02T00:00:00.000Z",
    ],
    ["Never", { policy: "Never" as const, renewBeforeDays: 30 }, undefined],
  ])("rotationDueAt under %s", (_name, secretRotation, expected) => {
    const spec = integrationSpec.parse({ connectionRef: { name: "dt" }, displayName: "x", secretRotation });
    expect(rotationDueAt(spec, "2027-01-01T00:00:00Z")?.toISOString()).toBe(expected);
  });
});

describe("decide: deletion", () => {
  it.each<[string, IntegrationObserved, string[]]>([
    [
      "Delete removes the application, then the finalizer",
      observed(object({ deleting: true, status: settled }), { application: { state: "found", app: app() } }),
      ["DeleteApplication", "RemoveFinalizer"],
    ],
    [
      "Orphan leaves the application",
      observed(object({ deleting: true, status: settled, spec: { deletionPolicy: "Orphan" } }), {
        identity: { value: identity, source: "status" },
      }),
      ["Event:Orphaned", "RemoveFinalizer"],
    ],
    [
      "an application already gone needs only the finalizer removed",
      observed(object({ deleting: true, status: settled }), { application: { state: "missing" } }),
      ["RemoveFinalizer"],
    ],
    [
      "a create in flight is found by its claim and deleted",
      observed(
        object({
          deleting: true,
          status: { pendingCreate: { displayName: "TrafficLight101", startedAt: "x" } },
        }),
        {
          search: { state: "done", apps: [app()] },
        },
      ),
      ["DeleteApplication", "RemoveFinalizer"],
    ],
    [
      "DataTrails down: deletion waits and says why",
      observed(object({ deleting: true, status: settled }), {
        application: { state: "failed", reason: "DataTrailsUnavailable", message: "503" },
      }),
      ["Event:DeleteBlocked"],
    ],
  ])("%s", (_name, o, expected) => {
    expect(types(decide(o, now, options).actions)).toEqual(expected);
  });
});

describe("decide: the token", () => {
  it("turns the token off: deletes the child and reports TokenDisabled", () => {
    const plan = decide(
      observed(object({ status: settled, spec: { token: { enabled: false } } }), {
        application: { state: "found", app: app() },
        credentials,
      }),
      now,
      options,
    );
    expect(plan.actions).toEqual([{ type: "DeleteBearerToken" }]);
    expect(plan.status.conditions?.find((c) => c.type === "TokenReady")).toMatchObject({
      status: "True",
      reason: "TokenDisabled",
    });
  });

  it("is not Ready while the child token is not", () => {
    const plan = decide(
      observed(object({ status: settled }), {
        application: { state: "found", app: app() },
        credentials,
        token: {
          exists: true,
          upToDate: true,
          ready: {
            type: "Ready",
            status: "False",
            reason: "TokenExpired",
            message: "expired",
            lastTransitionTime: "x",
          },
        },
      }),
      now,
      options,
    );
    expect(plan.status.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "TokenExpired",
    });
  });
});

describe("gather predicates", () => {
  it("searches only when a create is pending and no identity is known", () => {
    expect(needsSearch(object({ status: { pendingCreate: { startedAt: "x" } } }), false)).toBe(true);
    expect(needsSearch(object({ status: { pendingCreate: { startedAt: "x" } } }), true)).toBe(false);
    expect(needsSearch(object(), false)).toBe(false);
  });

  it.each([
    ["written by the operator and unchanged", settled, credentials, false],
    ["edited since the operator wrote it", { ...settled, credentialsSecretVersion: "54" }, credentials, true],
    [
      "unchanged but a rotation was in flight",
      { ...settled, pendingRotation: { startedAt: "x" } },
      credentials,
      true,
    ],
    ["for another client", settled, { ...credentials, clientId: "other" }, false],
  ])("checks a stored secret %s: %s", (_name, status, creds, expected) => {
    expect(needsSecretCheck(object({ status }), creds, app())).toBe(expected);
  });
});

describe("isSettled (a restart asks DataTrails nothing about these)", () => {
  const readyStatus: IntegrationStatus = {
    ...settled,
    observedGeneration: 3,
    secretValidUntil: "2027-01-01T00:00:00Z",
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "Ready",
        message: "",
        lastTransitionTime: "x",
        observedGeneration: 3,
      },
    ],
  };
  const child = { exists: true, upToDate: true };
  it.each<[string, DataTrailsIntegration, typeof credentials | undefined, boolean]>([
    ["Ready, as written, nothing pending", object({ status: readyStatus }), credentials, true],
    [
      "Ready for an older generation",
      object({ status: { ...readyStatus, observedGeneration: 2 } }),
      credentials,
      false,
    ],
    [
      "with an edited credentials Secret",
      object({ status: readyStatus }),
      { ...credentials, resourceVersion: "56" },
      false,
    ],
    ["without its credentials Secret", object({ status: readyStatus }), undefined, false],
    [
      "with a rotation asked for",
      object({ status: readyStatus, annotations: { [rotateAnnotation]: "2" } }),
      credentials,
      false,
    ],
    [
      "with a rotation due",
      object({ status: { ...readyStatus, secretValidUntil: "2026-06-15T00:00:00Z" } }),
      credentials,
      false,
    ],
    [
      "with a create pending",
      object({ status: { ...readyStatus, pendingCreate: { startedAt: "x" } } }),
      credentials,
      false,
    ],
    ["being deleted", object({ status: readyStatus, deleting: true }), credentials, false],
  ])("%s: %s", (_name, obj, creds, expected) => {
    expect(isSettled(obj, obj.spec, creds, child, now)).toBe(expected);
  });

  it("is not settled while its token child is missing", () => {
    const obj = object({ status: readyStatus });
    expect(isSettled(obj, obj.spec, credentials, { exists: false, upToDate: false }, now)).toBe(false);
  });
});

describe("settledCheckDelayMs (when a restarted operator first asks DataTrails about a settled object)", () => {
  it.each([
    [0, 600_000, 60_000],
    [0.5, 600_000, 330_000],
    [1, 600_000, 600_000],
    [-1, 600_000, 60_000],
    [2, 600_000, 600_000],
    [0, 5_000, 1_000],
  ])("fraction %s of a %s ms interval waits %s ms", (fraction, interval, expected) => {
    expect(settledCheckDelayMs(fraction, interval)).toBe(expected);
  });

  it("spreads many objects over the last nine tenths of the interval", () => {
    const delays = Array.from({ length: 1000 }, (_, i) =>
      settledCheckDelayMs(jitterFraction(`uid-${i}`), 600_000),
    );
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(60_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(600_000);
    const buckets = new Array<number>(9).fill(0);
    for (const d of delays) buckets[Math.min(8, Math.floor((d - 60_000) / 60_000))]! += 1;
    for (const b of buckets) expect(b).toBeGreaterThan(60);
  });
});

import { describe, expect, it } from "vitest";
import type { Condition, ConnectionStatus, DataTrailsConnection } from "../../api/v1alpha1/index.ts";
import {
  checkTiming,
  connectionIsSettled,
  decideConnection,
  firstCheckDelayMs,
  periodicCheckDelayMs,
  type ConnectionPlan,
} from "./decide.ts";
import type { ConnectionCheck } from "./gather.ts";

const t0 = new Date("2026-03-01T00:00:00Z");
const t1 = new Date("2026-03-01T00:10:00Z");
const resyncIntervalMs = 600_000;
const options = { resyncIntervalMs };
const url = "https://app.datatrails.ai";
const clientId = "d1fb6c87-faa9-4d56-b2fd-a5b70a9af065";

function ready(status: Condition["status"], reason: string, generation = 3, message = "m"): Condition {
  return {
    type: "Ready",
    status,
    reason,
    message,
    observedGeneration: generation,
    lastTransitionTime: "2026-02-01T00:00:00Z",
  };
}

function connection(status?: ConnectionStatus, generation = 3): DataTrailsConnection {
  return {
    apiVersion: "datatrails.ai/v1alpha1",
    kind: "DataTrailsConnection",
    metadata: { name: "datatrails", namespace: "team-a", uid: "uid-7", generation, resourceVersion: "9" },
    spec: {
      url,
      credentialsSecretRef: { name: "admin", clientIdKey: "client_id", clientSecretKey: "client_secret" },
      requestsPerSecond: 10,
    },
    ...(status ? { status } : {}),
  };
}

const connected: ConnectionCheck = { state: "connected", url, clientId };
const failedAt = (
  step: "token" | "owner",
  code: Extract<ConnectionCheck, { state: "failed" }>["code"],
  status?: number,
  retryAfterMs?: number,
): ConnectionCheck => ({
  state: "failed",
  step,
  url,
  clientId,
  code,
  message: `get token: HTTP ${status ?? "-"}`,
  ...(status !== undefined ? { status } : {}),
  ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
});

interface Case {
  name: string;
  check: ConnectionCheck;
  before?: ConnectionStatus;
  status: "True" | "False";
  reason: string;
  message: RegExp;
  event?: "Connected" | "ConnectionFailed";
  next: "periodic" | "backoff" | "never" | number;
}

const wasReady: ConnectionStatus = { observedGeneration: 3, conditions: [ready("True", "Ready")] };
const wasRejected: ConnectionStatus = {
  observedGeneration: 3,
  conditions: [ready("False", "CredentialsRejected")],
};

const cases: Case[] = [
  {
    name: "working OWNER credentials, first check",
    check: connected,
    status: "True",
    reason: "Ready",
    message: /^Connected to https:\/\/app\.datatrails\.ai as an OWNER \(client ID d1fb6c87/,
    event: "Connected",
    next: "periodic",
  },
  {
    name: "working credentials, already Ready: no Event",
    check: connected,
    before: wasReady,
    status: "True",
    reason: "Ready",
    message: /^Connected/,
    next: "periodic",
  },
  {
    name: "fixed credentials after a rejection",
    check: connected,
    before: wasRejected,
    status: "True",
    reason: "Ready",
    message: /^Connected/,
    event: "Connected",
    next: "periodic",
  },
  {
    name: "no admin Secret",
    check: { state: "secretMissing", secret: "team-a/admin", missingKeys: [] },
    before: wasReady,
    status: "False",
    reason: "SecretNotFound",
    message: /^Secret team-a\/admin not found\.$/,
    event: "ConnectionFailed",
    next: "backoff",
  },
  {
    name: "an admin Secret without client_secret",
    check: { state: "secretMissing", secret: "team-a/admin", missingKeys: ["client_secret"] },
    status: "False",
    reason: "SecretNotFound",
    message: /^Secret team-a\/admin has no client_secret\.$/,
    event: "ConnectionFailed",
    next: "backoff",
  },
  {
    name: "an admin Secret the operator may not read",
    check: { state: "secretMissing", secret: "vault/admin", missingKeys: [], unreadable: true },
    status: "False",
    reason: "SecretNotFound",
    message: /^Secret vault\/admin cannot be read/,
    event: "ConnectionFailed",
    next: "backoff",
  },
  {
    name: "401 at the token endpoint (unknown client or wrong secret alike)",
    check: failedAt("token", "Unauthenticated", 401),
    status: "False",
    reason: "CredentialsRejected",
    message:
      /refused the admin credentials \(client ID d1fb6c87-[^)]*\): unknown client or wrong secret \(HTTP 401\)/,
    event: "ConnectionFailed",
    next: "backoff",
  },
  {
    name: "still rejected: no second Event",
    check: failedAt("token", "Unauthenticated", 401),
    before: wasRejected,
    status: "False",
    reason: "CredentialsRejected",
    message: /unknown client or wrong secret/,
    next: "backoff",
  },
  {
    name: "a token but 403 on the OWNER-only call",
    check: failedAt("owner", "PermissionDenied", 403),
    before: wasRejected,
    status: "False",
    reason: "NotOwner",
    message: /refused it an OWNER-only call \(HTTP 403\): the integration is not an administrator/,
    event: "ConnectionFailed",
    next: "backoff",
  },
  {
    name: "503 at the token endpoint",
    check: failedAt("token", "Unavailable", 503),
    before: wasReady,
    status: "False",
    reason: "DataTrailsUnavailable",
    message:
      /^DataTrails at https:\/\/app\.datatrails\.ai could not be reached or failed: get token: HTTP 503$/,
    event: "ConnectionFailed",
    next: "backoff",
  },
  {
    name: "nothing listening",
    check: failedAt("token", "ConnectionFailed"),
    status: "False",
    reason: "DataTrailsUnavailable",
    message: /could not be reached/,
    event: "ConnectionFailed",
    next: "backoff",
  },
  {
    name: "a 500 on the OWNER-only call",
    check: failedAt("owner", "ServerError", 500),
    status: "False",
    reason: "DataTrailsUnavailable",
    message: /could not be reached or failed/,
    event: "ConnectionFailed",
    next: "backoff",
  },
  {
    name: "429 with a reset header",
    check: failedAt("owner", "RateLimited", 429, 30_000),
    before: wasReady,
    status: "False",
    reason: "RateLimited",
    message: /is rate limiting the admin credentials .* \(HTTP 429\)/,
    event: "ConnectionFailed",
    next: 30_000,
  },
  {
    name: "429 without one",
    check: failedAt("token", "RateLimited", 429),
    status: "False",
    reason: "RateLimited",
    message: /rate limiting/,
    event: "ConnectionFailed",
    next: "backoff",
  },
  {
    name: "an invalid spec",
    check: { state: "invalidSpec", message: "DataTrailsConnection datatrails is invalid: spec.url: bad" },
    status: "False",
    reason: "InvalidSpec",
    message: /spec\.url/,
    event: "ConnectionFailed",
    next: "never",
  },
];

function nextOf(plan: ConnectionPlan): Case["next"] {
  if ("backoff" in plan.next) return "backoff";
  if ("never" in plan.next) return "never";
  const periodic = periodicCheckDelayMs(0, resyncIntervalMs) <= plan.next.afterMs;
  return periodic && plan.next.afterMs <= resyncIntervalMs ? "periodic" : plan.next.afterMs;
}

describe("decideConnection", () => {
  it.each(cases)("$name → Ready=$status/$reason", (c) => {
    const plan = decideConnection(
      { kind: "DataTrailsConnection", object: connection(c.before), check: c.check },
      t1,
      options,
    );
    const condition = plan.status.conditions?.find((x) => x.type === "Ready");
    expect(condition).toMatchObject({ status: c.status, reason: c.reason, observedGeneration: 3 });
    expect(condition?.message).toMatch(c.message);
    expect(plan.status.observedGeneration).toBe(3);
    expect(plan.event?.reason).toBe(c.event);
    if (c.event === "ConnectionFailed") {
      expect(plan.event?.type).toBe("Warning");
      expect(plan.event?.note).toBe(`${c.reason}: ${condition?.message ?? ""}`);
    }
    if (c.event === "Connected") expect(plan.event?.type).toBe("Normal");
    expect(nextOf(plan)).toBe(c.next);
  });

  it.each([
    { name: "records the admin Secret's version it read", version: "42", expected: "42" },
    { name: "drops the version when there is no Secret", version: undefined, expected: undefined },
  ])("$name", ({ version, expected }) => {
    const object = connection({ ...wasReady, credentialsSecretVersion: "41" });
    const plan = decideConnection(
      {
        kind: "DataTrailsConnection",
        object,
        check: connected,
        ...(version ? { secretVersion: version } : {}),
      },
      t1,
      options,
    );
    expect(plan.status.credentialsSecretVersion).toBe(expected);
  });

  it("moves lastTransitionTime only when Ready flips", () => {
    const same = decideConnection(
      { kind: "DataTrailsConnection", object: connection(wasReady), check: connected },
      t1,
      options,
    );
    expect(same.status.conditions?.[0]?.lastTransitionTime).toBe("2026-02-01T00:00:00Z");
    const flipped = decideConnection(
      {
        kind: "DataTrailsConnection",
        object: connection(wasReady),
        check: failedAt("token", "Unauthenticated", 401),
      },
      t1,
      options,
    );
    expect(flipped.status.conditions?.[0]?.lastTransitionTime).toBe("2026-03-01T00:10:00Z");
  });

  it("states the new generation after a spec change", () => {
    const plan = decideConnection(
      { kind: "DataTrailsConnection", object: connection(wasReady, 4), check: connected },
      t0,
      options,
    );
    expect(plan.status.observedGeneration).toBe(4);
    expect(plan.status.conditions?.[0]?.observedGeneration).toBe(4);
    expect(plan.event).toBeUndefined();
  });
});

describe("connectionIsSettled", () => {
  it.each([
    { name: "Ready for the current generation", status: wasReady, generation: 3, settled: true },
    { name: "no status", status: undefined, generation: 3, settled: false },
    { name: "Ready for an older generation", status: wasReady, generation: 4, settled: false },
    {
      name: "Ready condition current, status.observedGeneration older",
      status: { observedGeneration: 2, conditions: [ready("True", "Ready", 3)] },
      generation: 3,
      settled: false,
    },
    { name: "Ready=False", status: wasRejected, generation: 3, settled: false },
  ])("$name → $settled", ({ status, generation, settled }) => {
    expect(connectionIsSettled(connection(status, generation))).toBe(settled);
  });
});

describe("checkTiming", () => {
  const settled: ConnectionStatus = { ...wasReady, credentialsSecretVersion: "41" };
  const nowMs = t1.getTime();
  it.each([
    { name: "never checked", status: undefined, version: "41", dueAtMs: undefined, check: true },
    {
      name: "the last check failed",
      status: { ...wasRejected, credentialsSecretVersion: "41" },
      version: "41",
      dueAtMs: nowMs + 60_000,
      check: true,
    },
    {
      name: "the admin Secret changed since the last check",
      status: settled,
      version: "42",
      dueAtMs: nowMs + 60_000,
      check: true,
    },
    {
      name: "the admin Secret is gone",
      status: settled,
      version: undefined,
      dueAtMs: nowMs + 60_000,
      check: true,
    },
    {
      name: "Ready before the Secret version was recorded",
      status: wasReady,
      version: "41",
      dueAtMs: nowMs + 60_000,
      check: true,
    },
    { name: "settled and due", status: settled, version: "41", dueAtMs: nowMs, check: true },
    {
      name: "settled, due in a minute",
      status: settled,
      version: "41",
      dueAtMs: nowMs + 60_000,
      check: false,
      afterMs: 60_000,
    },
  ])("$name → check $check", ({ status, version, dueAtMs, check, afterMs }) => {
    const timing = checkTiming(connection(status), version, dueAtMs, nowMs, options);
    expect(timing.check).toBe(check);
    if (!timing.check && afterMs !== undefined) expect(timing.afterMs).toBe(afterMs);
  });

  it("waits 10–100 % of the resync interval on the first look at a settled connection (a restart)", () => {
    const obj = connection({ ...wasReady, credentialsSecretVersion: "41" });
    const timing = checkTiming(obj, "41", undefined, nowMs, options);
    expect(timing).toEqual({ check: false, afterMs: firstCheckDelayMs(obj, options) });
  });
});

describe("check delays", () => {
  it.each([
    { name: "the lowest jitter", fraction: 0, ms: 540_000 },
    { name: "the highest jitter", fraction: 1, ms: 600_000 },
    { name: "a fraction out of range", fraction: 7, ms: 600_000 },
  ])(
    "a Ready connection is checked again after 90–100 % of the resync interval: $name",
    ({ fraction, ms }) => {
      expect(periodicCheckDelayMs(fraction, resyncIntervalMs)).toBe(ms);
    },
  );

  it("never loops on a tiny resync interval", () => {
    expect(periodicCheckDelayMs(0, 0)).toBe(1000);
  });

  it("spreads the first check after a restart over 10–100 % of the resync interval, fixed per object", () => {
    const delays = Array.from({ length: 50 }, (_, i) => {
      const obj = connection(wasReady);
      obj.metadata.uid = `uid-${i}`;
      return firstCheckDelayMs(obj, options);
    });
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(60_000);
      expect(d).toBeLessThanOrEqual(600_000);
    }
    expect(new Set(delays).size).toBeGreaterThan(40);
    expect(firstCheckDelayMs(connection(wasReady), options)).toBe(
      firstCheckDelayMs(connection(wasReady), options),
    );
  });
});

/**
 * Every error class of HttpDataTrailsApi, provoked at the emulator over real HTTP, and the retry
 * rules: idempotent calls retried (bounded, 429 waits honoured), create and regenerate-secret sent
 * exactly once whatever happens, proven by the emulator's request counters.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DataTrailsError, HttpDataTrailsApi, type DataTrailsErrorCode } from "../../src/datatrails/index.ts";
import { startEmulator, type RouteName, type RunningEmulator } from "../../src/emulator/index.ts";
import { clientFor, recordingSleep, rejectionOf } from "./support.ts";

let emulator: RunningEmulator;
let api: HttpDataTrailsApi;
const opened: HttpDataTrailsApi[] = [];

function client(
  over: ConstructorParameters<typeof HttpDataTrailsApi>[0] extends infer O ? Partial<O> : never,
) {
  const built = clientFor(emulator, over);
  opened.push(built);
  return built;
}

async function failure(promise: Promise<unknown>): Promise<DataTrailsError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(DataTrailsError);
  return error as DataTrailsError;
}

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  emulator.control.reset();
  api = client({});
});
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

describe("HTTP error statuses", () => {
  it("400 → InvalidArgument, with the operation, status, gRPC code and server message", async () => {
    const error = await failure(api.createApplication({ displayName: "a", customClaims: { jit_x: "1" } }));
    expect({
      code: error.code,
      status: error.status,
      grpcCode: error.grpcCode,
      retryable: error.retryable,
    }).toEqual({
      code: "InvalidArgument",
      status: 400,
      grpcCode: 3,
      retryable: false,
    });
    expect(error.message).toBe(
      'create application: HTTP 400 (gRPC 3): custom_claims.jit_x: custom claim "jit_x" must not start with jit_ or arc_',
    );
  });

  it("401 → Unauthenticated for a wrong admin secret, after one token request", async () => {
    const wrong = client({
      credentials: { clientId: emulator.admin.clientId, clientSecret: "0".repeat(64) },
    });
    const error = await failure(wrong.listApplicationsPage({}));
    expect([error.code, error.operation, error.status]).toEqual(["Unauthenticated", "get admin token", 401]);
    expect(emulator.control.count("token")).toBe(1);
    expect(emulator.control.count("applications.list")).toBe(0);
  });

  it("402 → QuotaExceeded, keeping the gRPC code 12 DataTrails sends with it", async () => {
    emulator.control.setApplicationQuota(1);
    const error = await failure(api.createApplication({ displayName: "a" }));
    expect([error.code, error.status, error.grpcCode]).toEqual(["QuotaExceeded", 402, 12]);
    expect(error.message).toMatch(/Payment Required$/);
  });

  it("403 → PermissionDenied for an integration that is not an OWNER", async () => {
    const plain = await api.createApplication({ displayName: "plain" });
    const weak = client({ credentials: { clientId: plain.clientId, clientSecret: plain.secret } });
    const error = await failure(weak.listApplicationsPage({}));
    expect([error.code, error.grpcCode]).toEqual(["PermissionDenied", 7]);
    expect(emulator.control.count("applications.list")).toBe(1);
  });

  it("404 → NotFound, not retried", async () => {
    const error = await failure(api.getApplication("00000000-0000-0000-0000-000000000000"));
    expect(error.code).toBe("NotFound");
    expect(emulator.control.count("applications.get")).toBe(1);
  });

  it.each([
    [500, "ServerError"],
    [503, "Unavailable"],
    [502, "Unavailable"],
  ] as const)("%i → %s after the bounded number of attempts", async (status, code) => {
    emulator.control.failNext({ route: "applications.get", status, count: 10 });
    const created = await api.createApplication({ displayName: "a" });
    const error = await failure(api.getApplication(created.identity));
    expect([error.code, error.retryable]).toEqual([code, true]);
    expect(emulator.control.count("applications.get")).toBe(4);
  });

  it("5xx then success: an idempotent call recovers", async () => {
    const created = await api.createApplication({ displayName: "a" });
    emulator.control.failNext({ route: "applications.update", status: 503, count: 2 });
    expect((await api.updateApplication(created.identity, { displayName: "b" })).displayName).toBe("b");
    expect(emulator.control.count("applications.update")).toBe(3);
  });
});

describe("429", () => {
  it("waits at least what Archivist-Rate-Limit-Reset / Retry-After ask, then succeeds", async () => {
    const { sleep, waits } = recordingSleep();
    const patient = client({ sleep });
    emulator.control.failNext({ route: "applications.list", status: 429, retryAfterSeconds: 3 });
    await patient.listApplicationsPage({});
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(3_000);
  });

  it("honours the emulator's real rate limit window (the wait moves the emulator's clock)", async () => {
    emulator.control.setRateLimit({ limit: 3, windowSeconds: 10 });
    const { sleep, waits } = recordingSleep((ms) => emulator.control.advanceClock(ms));
    const patient = client({ sleep });
    for (let i = 0; i < 4; i += 1) await patient.listApplicationsPage({});
    // The token request counts too: token, list, list, list → 429, wait for the reset, list, list.
    expect(waits.length).toBe(1);
    expect(waits[0]).toBeGreaterThanOrEqual(9_000);
    expect(emulator.control.count("applications.list")).toBe(5);
  });

  it("hands a wait longer than maxRetryAfterMs to the caller as RateLimited with retryAfterMs", async () => {
    const impatient = client({ retry: { maxRetryAfterMs: 1_000 } });
    emulator.control.failNext({ route: "applications.list", status: 429, retryAfterSeconds: 30 });
    const error = await failure(impatient.listApplicationsPage({}));
    expect([error.code, error.retryAfterMs, error.retryable]).toEqual(["RateLimited", 30_000, true]);
  });
});

describe("transport failures", () => {
  it("a response slower than the headers timeout → Timeout", async () => {
    const quick = client({
      timeouts: { headersMs: 200 },
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const created = await api.createApplication({ displayName: "a" });
    emulator.control.setLatency(10_000, "applications.get");
    const error = await failure(quick.getApplication(created.identity));
    expect([error.code, error.retryable]).toEqual(["Timeout", true]);
    expect(error.message).toContain("UND_ERR_HEADERS_TIMEOUT");
    expect(emulator.control.count("applications.get")).toBe(2);
  });

  it("a dropped connection → ConnectionFailed, and a GET recovers on retry", async () => {
    const created = await api.createApplication({ displayName: "a" });
    emulator.control.dropNext({ route: "applications.get" });
    expect((await api.getApplication(created.identity)).identity).toBe(created.identity);
    expect(emulator.control.count("applications.get")).toBe(2);
    emulator.control.dropNext({ route: "applications.get", count: 10 });
    expect((await failure(api.getApplication(created.identity))).code).toBe("ConnectionFailed");
  });

  it("a body that is not JSON → MalformedResponse, and a GET recovers on retry", async () => {
    const created = await api.createApplication({ displayName: "a" });
    emulator.control.malformNext({ route: "applications.get" });
    expect((await api.getApplication(created.identity)).identity).toBe(created.identity);
    emulator.control.malformNext({ route: "applications.get", count: 10 });
    const error = await failure(api.getApplication(created.identity));
    expect([error.code, error.message]).toEqual([
      "MalformedResponse",
      "get application: HTTP 200 with a body that is not JSON",
    ]);
  });

  it("nobody listening → ConnectionFailed", async () => {
    const nowhere = new HttpDataTrailsApi({
      baseUrl: "http://127.0.0.1:1",
      credentials: emulator.admin,
      retry: { maxAttempts: 1 },
    });
    opened.push(nowhere);
    expect((await failure(nowhere.listApplicationsPage({}))).code).toBe("ConnectionFailed");
  });

  it("the caller's AbortSignal → Aborted", async () => {
    emulator.control.setLatency(10_000, "applications.list");
    const controller = new AbortController();
    const pending = api.listApplicationsPage({}, { signal: controller.signal });
    await expect.poll(() => emulator.control.count("applications.list")).toBe(1);
    controller.abort();
    expect((await failure(pending)).code).toBe("Aborted");
  });

  it("an identity that is not one → InvalidRequest, nothing sent", async () => {
    expect((await failure(api.getApplication("../../assets"))).code).toBe("InvalidRequest");
    expect(emulator.control.count("token")).toBe(0);
  });
});

describe("create and regenerate-secret are never retried", () => {
  const faults: [string, (route: RouteName) => void, DataTrailsErrorCode][] = [
    ["a 503", (route) => emulator.control.failNext({ route, status: 503 }), "Unavailable"],
    ["a 500", (route) => emulator.control.failNext({ route, status: 500 }), "ServerError"],
    [
      "a 429",
      (route) => emulator.control.failNext({ route, status: 429, retryAfterSeconds: 1 }),
      "RateLimited",
    ],
    ["a 401", (route) => emulator.control.failNext({ route, status: 401 }), "Unauthenticated"],
    ["a dropped connection", (route) => emulator.control.dropNext({ route }), "ConnectionFailed"],
    [
      "an answer lost after the call took effect",
      (route) => emulator.control.dropNext({ route, afterHandling: true }),
      "ConnectionFailed",
    ],
    ["a malformed body", (route) => emulator.control.malformNext({ route }), "MalformedResponse"],
  ];

  it.each(faults)("create after %s: one request at the emulator", async (_name, arm, code) => {
    arm("applications.create");
    expect((await failure(api.createApplication({ displayName: "once" }))).code).toBe(code);
    expect(emulator.control.count("applications.create")).toBe(1);
  });

  it.each(faults)("regenerate-secret after %s: one request at the emulator", async (_name, arm, code) => {
    const created = await api.createApplication({ displayName: "a" });
    arm("applications.regenerateSecret");
    expect((await failure(api.regenerateSecret(created.identity))).code).toBe(code);
    expect(emulator.control.count("applications.regenerateSecret")).toBe(1);
  });

  it("a timed-out create is not resent either", async () => {
    const quick = client({ timeouts: { headersMs: 200 } });
    emulator.control.setLatency(10_000, "applications.create");
    expect((await failure(quick.createApplication({ displayName: "slow" }))).code).toBe("Timeout");
    expect(emulator.control.count("applications.create")).toBe(1);
  });

  it.each([
    ["unreadable", () => emulator.control.malformNext({ route: "applications.create" })],
    ["cut off", () => emulator.control.dropNext({ route: "applications.create", afterHandling: true })],
  ])("a create whose answer was %s did happen: it is found by display name", async (_name, arm) => {
    arm();
    await failure(api.createApplication({ displayName: "lost-answer" }));
    const found = [];
    for await (const app of api.listApplications({ displayName: "lost-answer" })) found.push(app);
    expect(found).toHaveLength(1);
  });

  it("a 401 on create drops the cached token, so the next call gets a fresh one", async () => {
    await api.listApplicationsPage({});
    emulator.control.failNext({ route: "applications.create", status: 401 });
    await failure(api.createApplication({ displayName: "a" }));
    await api.createApplication({ displayName: "a" });
    expect(emulator.control.count("token")).toBe(2);
    expect(emulator.control.count("applications.create")).toBe(2);
  });
});
